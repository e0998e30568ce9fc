#pragma once

#include <QHostAddress>
#include <QList>
#include <QSet>
#include <QSslConfiguration>
#include <QTcpServer>

#include <chrono>
#include <optional>

QT_BEGIN_NAMESPACE
class QSslSocket;
QT_END_NAMESPACE

namespace Natter {

/// natterd's listening socket. It accepts TCP connections and, on each:
///
/// - from an address given with --trusted-proxy, first reads the PROXY
///   protocol header (v1 or v2) that the proxy sends before anything else,
///   on the bare descriptor (no byte of the client's is taken), and notes the
///   client it names on the socket (clientAddress(), clientPort()); a
///   trusted proxy's connection without a valid header is closed;
/// - with TLS, starts the handshake at once; the socket becomes a pending
///   connection (newConnection()) once encrypted, and is deleted if its
///   handshake fails. Without TLS it is pending at once.
///
/// Qt 6.4's QSslServer was tried first for TLS: it waits for a readyRead to
/// sniff the ClientHello, and with a client that sends its whole ClientHello
/// in one segment the handshake then stalled until the client sent more.
class Listener final : public QTcpServer
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Listener)

public:
    /// An address or a network (address/prefix), as --trusted-proxy takes them.
    using Subnet = std::pair<QHostAddress, int>;

    explicit Listener(QObject *parent = nullptr);
    ~Listener() override;

    /// TLS on every connection accepted from now on (none without this).
    void setSslConfiguration(const QSslConfiguration &configuration) { m_tls = configuration; }
    bool isTls() const { return m_tls.has_value(); }

    void setTrustedProxies(const QList<Subnet> &proxies) { m_trustedProxies = proxies; }
    /// How long a trusted proxy has to send its header.
    void setProxyHeaderTimeout(std::chrono::milliseconds timeout) { m_proxyHeaderTimeout = timeout; }

    /// The client a socket accepted here carries: the one its proxy named,
    /// or its peer.
    static QString clientAddress(const QAbstractSocket *socket);
    static quint16 clientPort(const QAbstractSocket *socket);

Q_SIGNALS:
    /// A TLS connection was accepted and its handshake began (count it, time it).
    void handshakeStarted(QSslSocket *socket);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    class ProxyHeaderWait;
    bool isTrustedProxy(const QHostAddress &address) const;
    /// Makes the Qt socket for descriptor and starts TLS or hands it on.
    void serve(qintptr descriptor, const QHostAddress &client, quint16 clientPort);

    std::optional<QSslConfiguration> m_tls;
    QList<Subnet> m_trustedProxies;
    std::chrono::milliseconds m_proxyHeaderTimeout{10'000};
    QSet<ProxyHeaderWait *> m_waits; ///< trusted proxies' connections whose header has not come yet
};

} // namespace Natter
