#pragma once

#include <QSslConfiguration>
#include <QTcpServer>

QT_BEGIN_NAMESPACE
class QSslSocket;
QT_END_NAMESPACE

namespace Natter {

/// Accepts TCP connections and starts TLS on each at once; a socket becomes
/// a pending connection (newConnection()) once it is encrypted, and is
/// deleted if its handshake fails.
///
/// Qt 6.4's QSslServer was tried first: it waits for a readyRead to sniff
/// the ClientHello, and with a client that sends its whole ClientHello in
/// one segment the handshake then stalled until the client sent more.
class TlsServer final : public QTcpServer
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TlsServer)

public:
    explicit TlsServer(QObject *parent = nullptr);
    ~TlsServer() override;

    /// Used for connections accepted from now on.
    void setSslConfiguration(const QSslConfiguration &configuration) { m_configuration = configuration; }
    QSslConfiguration sslConfiguration() const { return m_configuration; }

Q_SIGNALS:
    /// A connection was accepted and its TLS handshake began (count it, time it).
    void handshakeStarted(QSslSocket *socket);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    QSslConfiguration m_configuration;
};

} // namespace Natter
