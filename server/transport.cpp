#include "server/transport.h"

#include "server/connection.h"
#include "server/listener.h"
#include "server/sendthreads.h"
#include "server/serverlogging.h"

#include <QHostInfo>
#include <QNetworkInterface>
#include <QSslCipher>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>
#include <QWebSocket>
#include <QWebSocketCorsAuthenticator>
#include <QWebSocketServer>

#ifdef Q_OS_UNIX
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#endif

#include <algorithm>
#include <limits>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

QString peerKey(const QHostAddress &address, quint16 port)
{
    return address.toString() + u'/' + QString::number(port);
}

/// The properties a socket carries from admit() to the end of its WebSocket handshake.
constexpr char RefusalProperty[] = "natterRefusal";
constexpr char AdmittedProperty[] = "natterAdmitted";

QSslConfiguration serverTlsConfiguration(const TlsIdentity &identity)
{
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setLocalCertificate(identity.certificate);
    configuration.setPrivateKey(identity.key);
    configuration.setProtocol(QSsl::TlsV1_2OrLater); // 1.3 where both ends have it
    // TLS 1.2 with forward secrecy and AEAD only (no CBC, no SHA-1 MACs, no
    // static RSA); TLS 1.3's suites are all AEAD.
    QList<QSslCipher> ciphers;
    for (const QSslCipher &cipher : QSslConfiguration::supportedCiphers()) {
        const QString name = cipher.name();
        const bool aead = name.contains(u"GCM"_s) || name.contains(u"CHACHA20"_s);
        if (cipher.protocol() == QSsl::TlsV1_3 || (aead && name.startsWith(u"ECDHE-"_s)))
            ciphers.append(cipher);
    }
    configuration.setCiphers(ciphers);
    configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
    return configuration;
}

Listener *makeListener(const ServerConfig &config, QObject *parent)
{
    auto *listener = new Listener(parent);
    if (config.tls)
        listener->setSslConfiguration(serverTlsConfiguration(*config.tls));
    listener->setTrustedProxies(config.trustedProxies);
    listener->setProxyHeaderTimeout(config.handshakeTimeout);
    return listener;
}

} // namespace

/// Lives as a child of one TCP socket and gives its place back when it dies.
/// A child object, not a connection to destroyed(): QWebSocket's upgrade
/// disconnects every connection to the socket's signals.
class ConnectionCount final : public QObject
{
public:
    ConnectionCount(QTcpSocket *socket, Transport *transport, QString address)
        : QObject(socket)
        , m_transport(transport)
        , m_address(std::move(address))
    {}
    ~ConnectionCount() override
    {
        if (m_transport)
            m_transport->releaseTcpConnection(m_address);
    }
    Q_DISABLE_COPY_MOVE(ConnectionCount)

private:
    QPointer<Transport> m_transport;
    QString m_address;
};

Transport::Transport(const ServerConfig &config, QObject *parent)
    : QObject(parent)
    , m_tls(config.tls)
    , m_host(config.host)
    , m_port(config.port)
    , m_handshakeTimeout(config.handshakeTimeout)
    , m_helloTimeout(config.helloTimeout)
    , m_pingInterval(config.pingInterval)
    , m_idleTimeout(config.idleTimeout)
    , m_maxConnectionsPerAddress(config.maxConnectionsPerAddress)
    , m_maxConnections(config.maxConnections)
    , m_allowedOrigins([&config] {
        QList<Origin> origins;
        for (const QString &origin : config.allowedOrigins) {
            if (const std::optional<Origin> parsed = parseOrigin(origin))
                origins.append(*parsed);
        }
        return origins;
    }())
    , m_maxFrameBytes(config.maxFrameBytes)
    , m_maxQueuedBytes(config.maxQueuedBytes)
    , m_config(config)
    , m_tcpServer(makeListener(config, this))
    , m_webSocketServer(
          new QWebSocketServer(u"natterd " NATTER_VERSION ""_s, QWebSocketServer::NonSecureMode, this))
    , m_sendThreads(std::make_unique<SendThreads>(config.sendThreads > 0 ? config.sendThreads
                                                                         : QThread::idealThreadCount()))
{
    m_clock.start();
    // TCP is accepted here (to switch Nagle off and count connections from
    // the first byte); the WebSocket server does the upgrade only.
    m_tcpServer->setListenBacklogSize(config.listenBacklog);
    m_tcpServer->setMaxPendingConnections(std::numeric_limits<int>::max());
    m_webSocketServer->setMaxPendingConnections(std::numeric_limits<int>::max());
    connect(m_tcpServer, &QTcpServer::newConnection, this, &Transport::acceptTcpConnections);
    if (m_tcpServer->isTls()) {
        // Counted, limited and timed from the start of the TLS handshake: the
        // handshake timeout covers TLS and the WebSocket upgrade together.
        connect(m_tcpServer, &Listener::handshakeStarted, this, [this](QSslSocket *socket) {
            if (!admit(socket))
                return; // closed at once; the listener starts no handshake on it
            m_handshakes.insert(peerKey(socket->peerAddress(), socket->peerPort()),
                                Handshake{socket, nowMs() + m_handshakeTimeout.count(), {}});
            if (!m_deadlineTimer.isActive())
                m_deadlineTimer.start();
        });
    }
    // Out of descriptors, accept() fails; Qt then pauses accepting and never
    // resumes (and its socket engine keeps that first error: every later
    // batch of accepts ends in it again). Pause, try again after a back-off
    // (50 ms doubling to 2 s), say so once per episode, and once descriptors
    // are back, open a fresh listening socket (the backlog was drained).
    m_acceptRetry.setSingleShot(true);
    connect(&m_acceptRetry, &QTimer::timeout, this, [this] {
        if (!descriptorsAvailable()) {
            pauseAccepting(m_tcpServer->errorString());
            return;
        }
        m_tcpServer->resumeAccepting();
        acceptingAgain();
    });
    connect(m_tcpServer, &QTcpServer::acceptError, this, &Transport::onAcceptError);
    connect(m_webSocketServer, &QWebSocketServer::newConnection, this, &Transport::acceptWebSockets);
    connect(m_webSocketServer, &QWebSocketServer::originAuthenticationRequired, this,
            &Transport::checkOrigin);

    // One timer for all deadlines and one for all heartbeats, not one per connection.
    m_deadlineTimer.setInterval(
        std::clamp(m_handshakeTimeout / 4, std::chrono::milliseconds(20), std::chrono::milliseconds(1000)));
    connect(&m_deadlineTimer, &QTimer::timeout, this, &Transport::expireDeadlines);
    m_heartbeatTimer.setInterval(std::max(m_pingInterval / 3, std::chrono::milliseconds(20)));
    connect(&m_heartbeatTimer, &QTimer::timeout, this, &Transport::heartbeat);
}

Transport::~Transport()
{
    // Connections go first, silently: the chat layer above is gone already.
    const QSet<Connection *> connections = std::exchange(m_connections, {});
    for (Connection *connection : connections)
        delete connection;
}

qint64 Transport::raiseFileDescriptorLimit()
{
#ifdef Q_OS_UNIX
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<qint64>::max() : qint64(limit.rlim_cur);
#else
    return -1;
#endif
}

bool Transport::listen()
{
    if (!m_tcpServer->listen(m_host, m_port)) {
        m_errorString = u"cannot listen on %1 port %2: %3"_s.arg(m_host.toString())
                            .arg(m_port)
                            .arg(m_tcpServer->errorString());
        return false;
    }
    m_heartbeatTimer.start();
    return true;
}

quint16 Transport::serverPort() const
{
    return m_tcpServer->serverPort();
}

QHostAddress Transport::serverAddress() const
{
    return m_tcpServer->serverAddress();
}

void Transport::reloadTls(const TlsIdentity &identity)
{
    if (!m_tcpServer->isTls())
        return;
    m_tcpServer->setSslConfiguration(serverTlsConfiguration(identity));
    m_tls = identity;
    qCInfo(lcNatterServer).noquote() << "now serving the certificate" << identity.fingerprint();
}

void Transport::stopAccepting()
{
    m_accepting = false;
    m_tcpServer->close();
    m_heartbeatTimer.stop();
}

void Transport::dropAll(const QString &why)
{
    for (Connection *connection : std::as_const(m_connections))
        connection->drop(why);
}

void Transport::onAcceptError()
{
    m_tcpServer->pauseAccepting();
    if (descriptorsAvailable()) {
        // The error is Qt's stale one, or it has passed: a fresh listening
        // socket accepts from here on.
        const QHostAddress address = m_tcpServer->serverAddress();
        const quint16 port = m_tcpServer->serverPort();
        m_tcpServer->close();
        if (m_tcpServer->listen(address, port)) {
            acceptingAgain();
            return;
        }
        qCWarning(lcNatterServer).noquote() << "cannot listen again:" << m_tcpServer->errorString();
    }
    pauseAccepting(m_tcpServer->errorString());
}

void Transport::pauseAccepting(const QString &why)
{
    m_tcpServer->pauseAccepting();
    if (m_acceptFailures++ == 0) {
        qCWarning(lcNatterServer).noquote()
            << "cannot accept connections:" << why << "- paused, retrying with back-off";
        Q_EMIT acceptingChanged(true, why);
    }
    m_acceptRetry.start(std::min(2000, 50 << std::min(m_acceptFailures - 1, 6)));
}

void Transport::acceptingAgain()
{
    if (m_acceptFailures == 0)
        return;
    qCWarning(lcNatterServer) << "accepting connections again after" << m_acceptFailures << "failed tries";
    m_acceptFailures = 0;
    Q_EMIT acceptingChanged(false, {});
}

bool Transport::descriptorsAvailable()
{
#ifdef Q_OS_UNIX
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != EMFILE && errno != ENFILE;
    ::close(fd);
#endif
    return true;
}

void Transport::acceptTcpConnections()
{
    while (QTcpSocket *socket = m_tcpServer->nextPendingConnection()) {
        if (!m_accepting) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        if (!socket->property(AdmittedProperty).toBool() && !admit(socket))
            continue;
        const QString key = peerKey(socket->peerAddress(), socket->peerPort());
        const qint64 deadline = m_handshakes.contains(key) ? m_handshakes.value(key).deadlineMs
                                                           : nowMs() + m_handshakeTimeout.count();
        m_handshakes.insert(key, Handshake{socket, deadline, socket->property(RefusalProperty).toString()});
        m_webSocketServer->handleConnection(socket);
    }
    if (!m_handshakes.isEmpty() && !m_deadlineTimer.isActive())
        m_deadlineTimer.start();
    // Qt's socket engine reports only the first error it ever saw: after one
    // EAGAIN, EMFILE too reads as "temporary", accepting is not paused and
    // the listening socket's notifier fires forever (100 % CPU). So look
    // before Qt's next accept(): with no descriptor left, pause.
    if (!descriptorsAvailable())
        pauseAccepting(u"out of file descriptors"_s);
}

bool Transport::admit(QTcpSocket *socket)
{
    socket->setProperty(AdmittedProperty, true);
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    const QString address = Listener::clientAddress(socket);
    const int fromAddress = m_connectionsByAddress.value(address);
    // A refused connection is answered 1013 once its handshake is done, so
    // that a real client can tell "try again later" from a broken network;
    // meanwhile it holds a place. Only a few such places per address and in
    // all: past them, a connection is closed at once (600 half-open
    // connections from one address filled the whole server).
    constexpr int AnsweredRefusalsPerAddress = 4;
    constexpr int AnsweredRefusals = 64;
    QString refusal;
    bool closeNow = false;
    if (fromAddress >= m_maxConnectionsPerAddress) {
        refusal = u"too many connections from your address; try again later"_s;
        closeNow = fromAddress >= m_maxConnectionsPerAddress + AnsweredRefusalsPerAddress;
    } else if (m_tcpConnectionCount >= m_maxConnections) {
        refusal = u"the server is full; try again later"_s;
        closeNow = m_tcpConnectionCount >= m_maxConnections + AnsweredRefusals;
    } else if (m_tcpConnectionCount >= m_maxConnections - reservedConnections() && fromAddress > 0 &&
               fromAddress >= m_largestAddressCount) {
        // The last quarter is kept for the addresses that do not hold the most.
        refusal = u"the server is nearly full; try again later"_s;
    }
    if (!refusal.isEmpty()) {
        logRefusalOnce(address, refusal);
        if (closeNow) {
            socket->abort();
            socket->deleteLater();
            return false;
        }
        socket->setProperty(RefusalProperty, refusal);
    }
    countAddress(address, +1);
    ++m_tcpConnectionCount;
    new ConnectionCount(socket, this, address); // counted until the socket is gone, however it goes
    return true;
}

int Transport::reservedConnections() const
{
    return m_maxConnections >= 8 ? m_maxConnections / 4 : 0;
}

void Transport::countAddress(const QString &address, int change)
{
    // How many addresses hold each count, to know the largest count in O(1):
    // counts move by one at a time.
    auto count = m_connectionsByAddress.find(address);
    const int before = count == m_connectionsByAddress.end() ? 0 : *count;
    const int after = before + change;
    if (before > 0 && --m_addressesByCount[before] == 0) {
        m_addressesByCount.remove(before);
        if (before == m_largestAddressCount && after < before)
            m_largestAddressCount = after;
    }
    if (after > 0) {
        ++m_addressesByCount[after];
        m_largestAddressCount = std::max(m_largestAddressCount, after);
    }
    if (after <= 0) {
        if (count != m_connectionsByAddress.end())
            m_connectionsByAddress.erase(count);
    } else if (count == m_connectionsByAddress.end()) {
        m_connectionsByAddress.insert(address, after);
    } else {
        *count = after;
    }
}

void Transport::releaseTcpConnection(const QString &address)
{
    --m_tcpConnectionCount;
    if (m_connectionsByAddress.contains(address))
        countAddress(address, -1);
}

void Transport::logRefusalOnce(const QString &address, const QString &why)
{
    // Once per address per minute, however hard it tries.
    const qint64 now = nowMs();
    auto logged = m_refusalsLoggedMs.find(address);
    if (logged != m_refusalsLoggedMs.end() && now - *logged < 60'000)
        return;
    if (m_refusalsLoggedMs.size() > 10'000)
        m_refusalsLoggedMs.removeIf([now](const auto &it) { return now - it.value() >= 60'000; });
    m_refusalsLoggedMs.insert(address, now);
    qCWarning(lcNatterServer).noquote() << "refusing connections from" << address << ":" << why;
}

std::optional<Transport::Origin> Transport::parseOrigin(const QString &origin)
{
    // scheme://host[:port] and nothing else, as browsers send it.
    const QUrl url(origin, QUrl::StrictMode);
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || (scheme != u"http"_s && scheme != u"https"_s) || url.host().isEmpty() ||
        !url.userInfo().isEmpty() || !(url.path().isEmpty() || url.path() == u"/"_s) || url.hasQuery() ||
        url.hasFragment())
        return std::nullopt;
    Origin parsed{scheme, url.host().toLower(), url.port(scheme == u"https"_s ? 443 : 80)};
    // One spelling of an address: 127.1 and 2130706433 are 127.0.0.1.
    if (const QHostAddress address(parsed.host); !address.isNull())
        parsed.host = address.toString();
    return parsed;
}

bool Transport::isOwnHost(const QString &host) const
{
    if (host == u"localhost"_s || host == QHostInfo::localHostName().toLower())
        return true;
    const QHostAddress address(host);
    if (address.isNull())
        return false;
    if (address.isLoopback() || address == m_tcpServer->serverAddress())
        return true;
    const QList<QHostAddress> own = QNetworkInterface::allAddresses();
    return std::any_of(own.cbegin(), own.cend(), [&](const QHostAddress &a) { return a.isEqual(address); });
}

bool Transport::isOriginAllowed(const QString &origin) const
{
    // Native clients send no Origin. A browser always does: only pages of the
    // server itself (its scheme, one of its host names, its port) or of
    // origins the operator allowed may connect, so that a page the user
    // happens to open elsewhere — on another port of this computer too —
    // cannot talk to the chat for them.
    if (origin.isEmpty())
        return true;
    const std::optional<Origin> parsed = parseOrigin(origin);
    if (!parsed)
        return false;
    if (std::find(m_allowedOrigins.cbegin(), m_allowedOrigins.cend(), *parsed) != m_allowedOrigins.cend())
        return true;
    return parsed->scheme == (m_tls ? u"https"_s : u"http"_s) && parsed->port == m_tcpServer->serverPort() &&
           isOwnHost(parsed->host);
}

void Transport::checkOrigin(QWebSocketCorsAuthenticator *authenticator) const
{
    const bool allowed = isOriginAllowed(authenticator->origin());
    if (!allowed)
        qCInfo(lcNatterServer).noquote()
            << "refused a handshake from origin" << forLog(authenticator->origin());
    authenticator->setAllowed(allowed);
}

void Transport::expireDeadlines()
{
    const qint64 now = nowMs();
    for (auto it = m_handshakes.begin(); it != m_handshakes.end();) {
        if (!it->socket) {
            it = m_handshakes.erase(it);
        } else if (it->deadlineMs <= now) {
            qCInfo(lcNatterServer) << "handshake timed out for" << it.key();
            it->socket->abort();
            it->socket->deleteLater();
            it = m_handshakes.erase(it);
        } else {
            ++it;
        }
    }
    // Connections that have not signed in within the hello timeout of their handshake.
    const qint64 helloDeadline = now - m_helloTimeout.count();
    bool waitingForHello = false;
    for (Connection *connection : std::as_const(m_connections)) {
        if (connection->signIn() == Connection::SignIn::SignedIn || connection->isDropping())
            continue;
        if (connection->openedMs() <= helloDeadline &&
            connection->signIn() == Connection::SignIn::NotSignedIn)
            connection->close(QWebSocketProtocol::CloseCodePolicyViolated,
                              u"sign in within %1 s"_s.arg(double(m_helloTimeout.count()) / 1000.0));
        else
            waitingForHello = true;
    }
    if (m_handshakes.isEmpty() && !waitingForHello)
        m_deadlineTimer.stop();
}

void Transport::acceptWebSockets()
{
    while (QWebSocket *socket = m_webSocketServer->nextPendingConnection()) {
        const Handshake handshake = m_handshakes.take(peerKey(socket->peerAddress(), socket->peerPort()));
        if (!m_accepting || !handshake.socket) {
            socket->close(QWebSocketProtocol::CloseCodeGoingAway, u"the server is shutting down"_s);
            socket->deleteLater();
            continue;
        }
        if (!handshake.refusal.isEmpty()) {
            // Ours until it is gone (with the transport at the latest), and its
            // TCP socket with it: QWebSocket does not own the socket it came from.
            socket->setParent(this);
            connect(socket, &QObject::destroyed, handshake.socket.data(), &QObject::deleteLater);
            socket->close(QWebSocketProtocol::CloseCode(1013), handshake.refusal); // try again later
            connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
            // A peer that never answers the close must not keep its place.
            QTimer::singleShot(std::chrono::seconds(1), socket, [socket] {
                socket->abort();
                socket->deleteLater();
            });
            continue;
        }
        if (Connection *direct = takeOver(socket, handshake.socket)) {
            m_connections.insert(direct);
            qCDebug(lcNatterServer).noquote() << "connection from" << direct->peer();
            Q_EMIT connectionOpened(direct);
            continue;
        }
        // Qt's defaults allow ~2 GiB frames; a larger frame than ours closes
        // the connection with 1009 as soon as its header is read.
        socket->setMaxAllowedIncomingFrameSize(quint64(m_maxFrameBytes));
        socket->setMaxAllowedIncomingMessageSize(quint64(m_maxFrameBytes));
        // Read a few frames at a time, not everything the kernel holds: a
        // client uploading a file has megabytes waiting, and one pass of the
        // event loop must not spend milliseconds on them while others wait.
        if (handshake.socket)
            handshake.socket->setReadBufferSize(4 * m_maxFrameBytes);

        auto *connection = new Connection(this, socket, handshake.socket, nowMs());
        m_connections.insert(connection);
        qCDebug(lcNatterServer).noquote() << "connection from" << connection->peer();
        Q_EMIT connectionOpened(connection);
    }
    if (!m_deadlineTimer.isActive())
        m_deadlineTimer.start(); // it also closes connections that never sign in
}

Connection *Transport::takeOver(QWebSocket *socket, QTcpSocket *tcp)
{
    if (m_tls || !tcp || tcp->socketDescriptor() == -1)
        return nullptr;
    // The handshake's answer is still in Qt's buffer: it goes first. (Should
    // the kernel not take all of it, Qt keeps serving the connection.)
    tcp->flush();
    if (tcp->bytesToWrite() > 0)
        return nullptr;
    // Our own descriptor for the connection, so that Qt's sockets can go
    // without ending it. Out of descriptors, Qt keeps serving it.
    const int descriptor = ::fcntl(int(tcp->socketDescriptor()), F_DUPFD_CLOEXEC, 0);
    if (descriptor == -1)
        return nullptr;
    const int flags = ::fcntl(descriptor, F_GETFL);
    ::fcntl(descriptor, F_SETFL, flags | O_NONBLOCK);
    if (m_readBuffer.isEmpty())
        m_readBuffer.resize(64 * 1024);
    // A client may send right behind its handshake, before QWebSocket has read anything.
    QByteArray early = tcp->readAll();
    auto *connection = new Connection(this, descriptor, Listener::clientAddress(tcp),
                                      Listener::clientPort(tcp), std::move(early), nowMs());
    // The connection keeps its place in the limits from here on.
    const QObjectList children = tcp->children();
    for (QObject *child : children) {
        if (dynamic_cast<ConnectionCount *>(child))
            child->setParent(connection);
    }
    // Aborting closes only Qt's descriptor (the connection stays open on
    // ours) and leaves QWebSocket unconnected, so that deleting it sends no
    // close frame.
    socket->disconnect(this);
    socket->abort();
    delete socket;
    delete tcp;
    return connection;
}

void Transport::onClosed(Connection *connection)
{
    if (!m_connections.remove(connection))
        return;
    Q_EMIT connection->closed();
    connection->deleteLater();
}

bool Transport::admitAddressInput(const QString &address, qint64 bytes, qint64 nowMs)
{
    auto bucket = m_inputByAddress.find(address);
    if (bucket == m_inputByAddress.end())
        bucket = m_inputByAddress.insert(address, TokenBucket(m_config.addressInputBytesPerSecond,
                                                              m_config.addressInputBurstBytes, nowMs));
    return bucket->tryTake(nowMs, double(bytes));
}

void Transport::heartbeat()
{
    // A full budget is as good as none.
    m_inputByAddress.removeIf([this, now = nowMs()](const auto &it) { return it.value().isFull(now); });
    // Descriptors can also run out under us (the store, TLS): a spinning
    // accept is caught here at the latest.
    if (!isAcceptingPaused() && !descriptorsAvailable())
        pauseAccepting(u"out of file descriptors"_s);
    const qint64 now = nowMs();
    const qint64 pingAfter = m_pingInterval.count();
    const qint64 dropAfter = m_idleTimeout.count();
    for (Connection *connection : std::as_const(m_connections)) {
        const qint64 silent = now - connection->lastHeardMs();
        if (silent >= dropAfter)
            connection->drop(u"it did not answer pings for %1 ms"_s.arg(silent));
        else if (silent >= pingAfter)
            connection->ping();
    }
}

void Transport::queueFlush(Connection *connection)
{
    m_unflushed.append(connection);
    // Once per pass of the event loop, after every frame that arrived in it
    // was handled: a member who is told of ten joins gets one write().
    if (m_flushScheduled)
        return;
    m_flushScheduled = true;
    QMetaObject::invokeMethod(this, &Transport::flushAll, Qt::QueuedConnection);
}

void Transport::flushAll()
{
    m_flushScheduled = false;
    // flush() cannot queue connections, but take the list anyway so that it
    // is never iterated while it changes.
    const QList<Connection *> connections = std::exchange(m_unflushed, {});
    if (m_sendThreads->threadCount() > 1 && connections.size() >= SendThreads::MinParallelWrites) {
        // A broadcast's frames go to the kernel on every thread at once;
        // flush() then writes what it did not take, on this thread.
        std::vector<SendThreads::Write> writes;
        std::vector<Connection *> writers;
        writes.reserve(size_t(connections.size()));
        writers.reserve(size_t(connections.size()));
        for (Connection *connection : connections) {
            const int descriptor = connection->directDescriptor();
            if (descriptor == -1 || connection->pendingBytes().isEmpty())
                continue;
            writes.push_back({descriptor, connection->pendingBytes()});
            writers.push_back(connection);
        }
        m_sendThreads->send(writes);
        for (size_t i = 0; i < writes.size(); ++i)
            writers[i]->tookDirectly(writes[i].sent);
    }
    for (Connection *connection : connections)
        connection->flush();
}

} // namespace Natter
