#pragma once

#include "server/ratelimiter.h"
#include "server/serverconfig.h"

#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>
#include <QWebSocketProtocol>

#include <memory>

QT_BEGIN_NAMESPACE
class QTcpServer;
class QTcpSocket;
class QWebSocket;
class QWebSocketCorsAuthenticator;
class QWebSocketServer;
QT_END_NAMESPACE

namespace Natter {

class Connection;
class Listener;
class SendThreads;

/// natterd's side of the wire, below the chat protocol: it accepts TCP,
/// runs TLS and the WebSocket handshake, enforces the handshake and hello
/// deadlines, the per-address and total connection limits and the Origin
/// check, pings silent connections and drops dead ones, and writes each
/// connection's output once per pass of the event loop.
///
/// What is left for the chat layer (ChatServer) is connectionOpened() and
/// the text frames of each Connection.
class Transport final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Transport)

public:
    /// Reads host, port, tls, listenBacklog, the timeouts, the connection
    /// limits, allowedOrigins, maxFrameBytes and maxQueuedBytes of config.
    explicit Transport(const ServerConfig &config, QObject *parent = nullptr);
    ~Transport() override;

    bool listen();
    QString errorString() const { return m_errorString; }
    quint16 serverPort() const;
    QHostAddress serverAddress() const;
    bool isTls() const { return m_tls.has_value(); }
    /// The served certificate's SHA-256 (64 hex digits); empty without TLS.
    QString tlsFingerprint() const { return m_tls ? m_tls->fingerprint() : QString(); }
    /// Serves new connections with another certificate; open ones keep theirs.
    void reloadTls(const TlsIdentity &identity);

    /// Open TCP connections, handshakes and refused ones still closing included.
    int tcpConnectionCount() const { return m_tcpConnectionCount; }
    /// WebSocket connections handed to the chat layer and not closed yet.
    int connectionCount() const { return int(m_connections.size()); }

    /// Stops accepting and pinging: the server is going down.
    void stopAccepting();
    /// Drops every connection at once.
    void dropAll(const QString &why);
    /// Writes every connection's queued output now, not at the end of the pass.
    void flushAll();

    /// Accepting stopped after an accept error (out of file descriptors,
    /// typically) and resumes by itself after a back-off.
    bool isAcceptingPaused() const { return m_acceptRetry.isActive(); }

    /// Raises this process's soft limit of open file descriptors to its hard
    /// limit (each connection is one); returns the limit now in effect.
    static qint64 raiseFileDescriptorLimit();

Q_SIGNALS:
    /// A WebSocket is open; its frames follow as the connection's textReceived().
    void connectionOpened(Natter::Connection *connection);
    /// Accepting paused after an error (why) or, with an empty why, works again.
    void acceptingChanged(bool paused, const QString &why);

private:
    /// The address's share of what all its connections may send.
    bool admitAddressInput(const QString &address, qint64 bytes, qint64 nowMs);
    void onAcceptError();
    /// Stops accepting until descriptors are back (checked with back-off); said once.
    void pauseAccepting(const QString &why);
    void acceptingAgain();
    /// Whether this process could open another file descriptor now.
    static bool descriptorsAvailable();

    friend class Connection;
    friend class ConnectionCount;
    struct Handshake
    {
        QPointer<QTcpSocket> socket;
        qint64 deadlineMs;
        QString refusal; ///< non-empty: close with 1013 and this reason once the handshake is done
    };

    qint64 nowMs() const { return m_clock.elapsed(); }
    void acceptTcpConnections();
    /// Counts a new TCP connection against the limits (a refused one is
    /// answered 1013 after its handshake); false if it was closed at once.
    bool admit(QTcpSocket *socket);
    /// The share of --max-connections kept for the addresses that do not hold the most.
    int reservedConnections() const;
    void countAddress(const QString &address, int change);
    void acceptWebSockets();
    /// Serves a plain connection on its descriptor from here on (deleting
    /// both sockets); nullptr if it stays with Qt (TLS, out of descriptors).
    Connection *takeOver(QWebSocket *socket, QTcpSocket *tcp);
    void expireDeadlines();
    void heartbeat();
    bool isOriginAllowed(const QString &origin) const;
    void checkOrigin(QWebSocketCorsAuthenticator *authenticator) const;
    void logRefusalOnce(const QString &address, const QString &why);
    void releaseTcpConnection(const QString &address);
    void onClosed(Connection *connection);
    /// A connection has output for this pass: write it at the end of the pass.
    void queueFlush(Connection *connection);

    std::optional<TlsIdentity> m_tls;
    QHostAddress m_host;
    quint16 m_port;
    std::chrono::milliseconds m_handshakeTimeout;
    std::chrono::milliseconds m_helloTimeout;
    std::chrono::milliseconds m_pingInterval;
    std::chrono::milliseconds m_idleTimeout;
    int m_maxConnectionsPerAddress;
    int m_maxConnections;
    struct Origin
    {
        QString scheme; ///< http or https
        QString host;   ///< lower case; an address in its one spelling
        int port;
        bool operator==(const Origin &) const = default;
    };
    static std::optional<Origin> parseOrigin(const QString &origin);
    bool isOwnHost(const QString &host) const;
    QList<Origin> m_allowedOrigins;
    qint64 m_maxFrameBytes;
    qint64 m_maxQueuedBytes;
    ServerConfig m_config; ///< the input budgets of connections

    Listener *m_tcpServer;
    QWebSocketServer *m_webSocketServer;
    QString m_errorString;
    QElapsedTimer m_clock;
    QTimer m_deadlineTimer;
    QTimer m_heartbeatTimer;
    QTimer m_acceptRetry;     ///< after an accept error, when to try again
    int m_acceptFailures = 0; ///< in a row: the back-off doubles, and it is logged once
    bool m_accepting = true;

    QHash<QString, Handshake> m_handshakes;     // by peer "address/port"
    QHash<QString, int> m_connectionsByAddress; // open TCP connections, handshakes included
    QHash<int, int> m_addressesByCount;         // count -> how many addresses hold that many
    int m_largestAddressCount = 0;
    int m_tcpConnectionCount = 0;
    QHash<QString, qint64> m_refusalsLoggedMs; // address -> when a refusal was last logged
    QHash<QString, TokenBucket> m_inputByAddress;
    QSet<Connection *> m_connections;
    QList<Connection *> m_unflushed; // connections with frames queued in this pass
    std::unique_ptr<SendThreads> m_sendThreads;
    QByteArray m_readBuffer; ///< what connections served on their descriptors read into, one at a time
    bool m_flushScheduled = false;
};

} // namespace Natter
