#include "tests/support/faultproxy.h"

#include <algorithm>

#ifdef Q_OS_UNIX
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace {

constexpr qint64 ChunkBytes = 64 * 1024; // read at most this much ahead of the peer
constexpr std::chrono::milliseconds Tick{10};

} // namespace

struct FaultProxy::Link
{
    std::unique_ptr<QTcpSocket> client;
    QTcpSocket server;
    struct Delayed
    {
        qint64 dueMs;
        QByteArray bytes;
        bool toClient;
    };
    QList<Delayed> delayed;
    QElapsedTimer clock;
    qint64 lastRefillMs = 0;
    qint64 credit = 0; // throttle: bytes the client side may receive now
    qint64 throttle = 0;
    qint64 cutAfter = 0;
    qint64 relayed = 0;
    bool serverUp = false;
    bool clientGone = false;
    bool serverGone = false;
    bool done = false;
};

FaultProxy::FaultProxy(QObject *parent)
    : QObject(parent)
{
    connect(&m_server, &QTcpServer::newConnection, this, &FaultProxy::accept);
    m_ticker.setInterval(Tick);
    connect(&m_ticker, &QTimer::timeout, this, qOverload<>(&FaultProxy::pump));
}

FaultProxy::~FaultProxy()
{
    m_server.close();
    for (const auto &link : m_links) {
        link->client->disconnect(this);
        link->server.disconnect(this);
    }
}

bool FaultProxy::listen(quint16 targetPort)
{
    m_target = targetPort;
    if (!m_server.listen(QHostAddress::LocalHost, 0))
        return false;
    m_ticker.start();
    return true;
}

void FaultProxy::pass()
{
    m_blackhole = false;
    pump();
}

void FaultProxy::blackhole()
{
    m_blackhole = true;
}

void FaultProxy::setDelay(std::chrono::milliseconds delay)
{
    m_delay = delay;
}

void FaultProxy::resetAll()
{
    for (const auto &link : m_links) {
        if (link->done)
            continue;
        reset(*link->client);
        reset(link->server);
        link->done = true;
    }
    m_links.clear();
}

int FaultProxy::openLinks() const
{
    return int(std::count_if(m_links.cbegin(), m_links.cend(), [](const auto &link) { return !link->done; }));
}

void FaultProxy::reset(QTcpSocket &socket)
{
#ifdef Q_OS_UNIX
    // A zero linger time makes close() send RST instead of FIN.
    if (socket.socketDescriptor() != -1) {
        const linger hard{1, 0};
        ::setsockopt(int(socket.socketDescriptor()), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
#endif
    socket.abort();
}

bool FaultProxy::connectLikeASlowLink(QTcpSocket &socket, quint16 port)
{
#ifdef Q_OS_UNIX
    // Over loopback the MSS is 64 KiB and the kernel's buffers grow to MBs,
    // so a slow reader would not back up into the server for a long while.
    // An Ethernet MSS and a small fixed receive buffer make the server see
    // what it sees behind a slow link: a small window that fills.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    const int mss = 1460;
    const int buffer = 16 * 1024;
    ::setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0 ||
        !socket.setSocketDescriptor(fd)) {
        ::close(fd);
        return false;
    }
    return true;
#else
    socket.connectToHost(QHostAddress::LocalHost, port);
    return socket.waitForConnected(5000);
#endif
}

void FaultProxy::accept()
{
    while (QTcpSocket *accepted = m_server.nextPendingConnection()) {
        ++m_accepted;
        auto link = std::make_unique<Link>();
        link->client.reset(accepted);
        accepted->setParent(nullptr);
        link->clock.start();
        link->throttle = m_throttle;
        link->cutAfter = m_cutAfter;
        link->client->setReadBufferSize(ChunkBytes);
        link->server.setReadBufferSize(ChunkBytes);
        Link *raw = link.get();
        connect(raw->client.get(), &QTcpSocket::readyRead, this, [this, raw] { pump(*raw); });
        connect(&raw->server, &QTcpSocket::readyRead, this, [this, raw] { pump(*raw); });
        connect(&raw->server, &QTcpSocket::connected, this, [this, raw] {
            raw->serverUp = true;
            pump(*raw);
        });
        connect(raw->client.get(), &QTcpSocket::disconnected, this, [this, raw] {
            raw->clientGone = true;
            pump(*raw);
        });
        connect(&raw->server, &QTcpSocket::disconnected, this, [this, raw] {
            if (!raw->clientGone && !raw->done)
                ++m_closedByServer;
            raw->serverGone = true;
            pump(*raw);
        });
        connect(&raw->server, &QTcpSocket::errorOccurred, this, [this, raw](QAbstractSocket::SocketError) {
            if (!raw->serverUp) // refused: the client sees a reset, as from a closed port
                raw->serverGone = true;
            pump(*raw);
        });
        if (raw->throttle == 0) {
            raw->server.connectToHost(QHostAddress::LocalHost, m_target);
        } else if (connectLikeASlowLink(raw->server, m_target)) {
            raw->serverUp = true;
            raw->server.setReadBufferSize(raw->throttle); // a second's worth
        } else {
            reset(*raw->client);
            raw->done = true;
        }
        m_links.push_back(std::move(link));
    }
}

void FaultProxy::pump()
{
    for (const auto &link : m_links)
        pump(*link);
    m_links.erase(std::remove_if(m_links.begin(), m_links.end(), [](const auto &link) { return link->done; }),
                  m_links.end());
}

void FaultProxy::pump(Link &link)
{
    if (link.done || m_blackhole)
        return;
    const qint64 now = link.clock.elapsed();
    if (link.throttle > 0) {
        link.credit = std::min(link.credit + (now - link.lastRefillMs) * link.throttle / 1000,
                               std::max<qint64>(link.throttle / 10, 1));
        link.lastRefillMs = now;
    }
    while (!link.delayed.isEmpty() && link.delayed.constFirst().dueMs <= now) {
        const Link::Delayed chunk = link.delayed.takeFirst();
        (chunk.toClient ? *link.client : link.server).write(chunk.bytes);
    }
    if (link.serverUp) {
        forward(link, *link.client, link.server, false);
        if (link.done)
            return;
        forward(link, link.server, *link.client, true);
        if (link.done)
            return;
    }
    // A side that closed closes the other once what it sent went through.
    if (!link.delayed.isEmpty())
        return;
    const bool serverDrained = link.server.bytesAvailable() == 0;
    const bool clientDrained = link.client->bytesAvailable() == 0;
    if (link.serverGone && serverDrained) {
        if (link.serverUp)
            link.client->disconnectFromHost();
        else
            reset(*link.client);
        link.done = true;
    } else if (link.clientGone && clientDrained) {
        link.server.disconnectFromHost();
        link.done = true;
    }
}

void FaultProxy::forward(Link &link, QTcpSocket &from, QTcpSocket &to, bool toClient)
{
    qint64 amount = from.bytesAvailable();
    if (toClient && link.throttle > 0)
        amount = std::min(amount, link.credit);
    if (link.cutAfter > 0)
        amount = std::min(amount, link.cutAfter - link.relayed);
    if (amount <= 0)
        return;
    const QByteArray bytes = from.read(amount);
    link.relayed += bytes.size();
    if (toClient)
        link.credit -= bytes.size();
    if (m_delay.count() > 0)
        link.delayed.append({link.clock.elapsed() + m_delay.count(), bytes, toClient});
    else
        to.write(bytes);
    if (link.cutAfter > 0 && link.relayed >= link.cutAfter) {
        to.flush();
        reset(*link.client);
        reset(link.server);
        link.done = true;
    }
}
