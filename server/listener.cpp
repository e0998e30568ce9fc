#include "server/listener.h"

#include "server/proxyheader.h"
#include "server/serverlogging.h"

#include <QSocketNotifier>
#include <QSslSocket>
#include <QTimer>

#include <cerrno>

#ifdef Q_OS_UNIX
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

constexpr char ClientAddressProperty[] = "natterClientAddress";
constexpr char ClientPortProperty[] = "natterClientPort";
/// Connections of trusted proxies whose header has not come yet; more are closed.
constexpr int MaxWaitingForHeaders = 1024;

QHostAddress peerOf(qintptr descriptor, quint16 *port)
{
#ifdef Q_OS_UNIX
    sockaddr_storage storage{};
    socklen_t size = sizeof storage;
    if (::getpeername(int(descriptor), reinterpret_cast<sockaddr *>(&storage), &size) == 0) {
        QHostAddress address(reinterpret_cast<const sockaddr *>(&storage));
        if (storage.ss_family == AF_INET)
            *port = ntohs(reinterpret_cast<const sockaddr_in *>(&storage)->sin_port);
        else if (storage.ss_family == AF_INET6)
            *port = ntohs(reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_port);
        return address;
    }
#endif
    Q_UNUSED(descriptor);
    *port = 0;
    return {};
}

void closeDescriptor(qintptr descriptor)
{
#ifdef Q_OS_UNIX
    ::close(int(descriptor));
#endif
}

} // namespace

/// Reads a trusted proxy's PROXY header off a bare descriptor: what is read
/// is peeked first, and only the header's bytes are taken, so the client's
/// first bytes (its TLS ClientHello, its HTTP upgrade) stay for Qt's socket.
class Listener::ProxyHeaderWait final : public QObject
{
public:
    ProxyHeaderWait(Listener *listener, qintptr descriptor, QHostAddress proxy)
        : QObject(listener)
        , m_listener(listener)
        , m_descriptor(descriptor)
        , m_proxy(std::move(proxy))
        , m_notifier(descriptor, QSocketNotifier::Read, this)
    {
        m_listener->m_waits.insert(this);
        connect(&m_notifier, &QSocketNotifier::activated, this, &ProxyHeaderWait::read);
        QTimer::singleShot(listener->m_proxyHeaderTimeout, this,
                           [this] { fail(u"no PROXY header in time"_s); });
    }
    ~ProxyHeaderWait() override
    {
        m_listener->m_waits.remove(this);
        if (m_descriptor != -1)
            closeDescriptor(m_descriptor);
    }
    Q_DISABLE_COPY_MOVE(ProxyHeaderWait)

private:
    void read()
    {
#ifdef Q_OS_UNIX
        QByteArray peeked(ProxyHeader::MaxLength - m_header.size(), Qt::Uninitialized);
        const ssize_t got = ::recv(int(m_descriptor), peeked.data(), size_t(peeked.size()), MSG_PEEK);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (got <= 0) {
            fail(u"closed before its PROXY header"_s);
            return;
        }
        peeked.truncate(got);
        const ProxyHeader header = ProxyHeader::parse(QByteArray(m_header + peeked));
        switch (header.status) {
        case ProxyHeader::Status::Invalid:
            fail(header.error);
            return;
        case ProxyHeader::Status::NeedMore:
            // Everything so far is header: take it, and wait for the rest.
            if (!take(got))
                return;
            m_header += peeked;
            if (m_header.size() >= ProxyHeader::MaxLength)
                fail(u"a PROXY header too long"_s);
            return;
        case ProxyHeader::Status::Complete:
            if (!take(header.length - m_header.size()))
                return;
            m_notifier.setEnabled(false);
            const qintptr descriptor = std::exchange(m_descriptor, -1);
            if (header.source.isNull())
                m_listener->serve(descriptor, m_proxy, 0); // the proxy's own (a health check)
            else
                m_listener->serve(descriptor, header.source, header.sourcePort);
            deleteLater();
            return;
        }
#endif
    }

    bool take(qsizetype bytes)
    {
#ifdef Q_OS_UNIX
        QByteArray sink(bytes, Qt::Uninitialized);
        qsizetype done = 0;
        while (done < bytes) {
            const ssize_t got = ::recv(int(m_descriptor), sink.data() + done, size_t(bytes - done), 0);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                fail(u"its PROXY header could not be read"_s);
                return false;
            }
            done += got;
        }
#endif
        return true;
    }

    void fail(const QString &why)
    {
        if (m_descriptor == -1)
            return;
        qCInfo(lcNatterServer).noquote()
            << "closing a connection of trusted proxy" << m_proxy.toString() << "because of" << why;
        m_notifier.setEnabled(false);
        deleteLater(); // closes the descriptor
    }

    Listener *m_listener;
    qintptr m_descriptor;
    QHostAddress m_proxy;
    QSocketNotifier m_notifier;
    QByteArray m_header; ///< taken so far
};

Listener::Listener(QObject *parent)
    : QTcpServer(parent)
{}

Listener::~Listener()
{
    // Before the listener is half gone: each takes itself out of m_waits.
    const QSet<ProxyHeaderWait *> waits = m_waits;
    qDeleteAll(waits);
}

QString Listener::clientAddress(const QAbstractSocket *socket)
{
    const QVariant client = socket->property(ClientAddressProperty);
    return client.isValid() ? client.toString() : socket->peerAddress().toString();
}

quint16 Listener::clientPort(const QAbstractSocket *socket)
{
    const QVariant client = socket->property(ClientPortProperty);
    return client.isValid() ? quint16(client.toUInt()) : socket->peerPort();
}

bool Listener::isTrustedProxy(const QHostAddress &address) const
{
    return std::any_of(m_trustedProxies.cbegin(), m_trustedProxies.cend(),
                       [&address](const Subnet &subnet) { return address.isInSubnet(subnet); });
}

void Listener::incomingConnection(qintptr descriptor)
{
    quint16 port = 0;
    const QHostAddress peer = m_trustedProxies.isEmpty() ? QHostAddress() : peerOf(descriptor, &port);
    if (peer.isNull() || !isTrustedProxy(peer)) {
        serve(descriptor, {}, 0);
        return;
    }
    if (m_waits.size() >= MaxWaitingForHeaders) {
        closeDescriptor(descriptor);
        return;
    }
    new ProxyHeaderWait(this, descriptor, peer);
}

void Listener::serve(qintptr descriptor, const QHostAddress &client, quint16 clientPort)
{
    QTcpSocket *socket = m_tls ? new QSslSocket(this) : new QTcpSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        delete socket;
        closeDescriptor(descriptor);
        return;
    }
    if (!client.isNull()) {
        // Mapped IPv4 (::ffff:a.b.c.d) reads as a.b.c.d, as a direct client's would.
        bool isV4 = false;
        const quint32 v4 = client.toIPv4Address(&isV4);
        socket->setProperty(ClientAddressProperty, isV4 ? QHostAddress(v4).toString() : client.toString());
        socket->setProperty(ClientPortProperty, uint(clientPort));
    }
    if (!m_tls) {
        addPendingConnection(socket);
        Q_EMIT newConnection();
        return;
    }
    auto *tls = static_cast<QSslSocket *>(socket);
    tls->setSslConfiguration(*m_tls);
    connect(tls, &QSslSocket::encrypted, this, [this, tls] {
        tls->disconnect(this);
        addPendingConnection(tls);
        Q_EMIT newConnection();
    });
    // A failed handshake (a plain ws:// client, a scanner, a timeout) ends the socket.
    connect(tls, &QAbstractSocket::errorOccurred, this, [tls](QAbstractSocket::SocketError) {
        qCDebug(lcNatterServer).noquote()
            << "TLS handshake with" << clientAddress(tls) << "failed:" << tls->errorString();
        tls->abort();
        tls->deleteLater();
    });
    connect(tls, &QAbstractSocket::disconnected, this, [tls] { tls->deleteLater(); });
    Q_EMIT handshakeStarted(tls);
    if (tls->state() != QAbstractSocket::ConnectedState)
        return; // refused and closed at once
    tls->startServerEncryption();
}

} // namespace Natter
