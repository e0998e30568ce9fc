#pragma once

#include <QByteArray>
#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QUrl>

#include <chrono>
#include <memory>

/// A TCP proxy on 127.0.0.1 between real clients and a real server, that
/// breaks the network on demand: pass, reset, blackhole, delay, throttle, cut
/// after N bytes. It reads from a side only as fast as it forwards, so TCP's
/// own back-pressure reaches the sender as it would over a bad link.
class FaultProxy final : public QObject
{
    Q_OBJECT

public:
    explicit FaultProxy(QObject *parent = nullptr);
    ~FaultProxy() override;

    /// Listens on a free loopback port and relays to 127.0.0.1:targetPort.
    bool listen(quint16 targetPort);
    quint16 port() const { return m_server.serverPort(); }
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port())); }

    /// Relays every byte again; what a blackhole held goes on its way.
    void pass();
    /// Every open link is reset (RST to both ends); new ones pass.
    void resetAll();
    /// Nothing goes through either way, and nothing is closed: packets lost
    /// on a dead route. New connections are accepted and hang the same way.
    void blackhole();
    /// Every chunk waits this long before it is forwarded.
    void setDelay(std::chrono::milliseconds delay);
    /// Server-to-client bytes per second on each new link (0: unlimited).
    void setThrottle(qint64 bytesPerSecond) { m_throttle = bytesPerSecond; }
    /// Each new link is reset once this many bytes went through it (0: never).
    void setCutAfter(qint64 bytes) { m_cutAfter = bytes; }

    bool isBlackholed() const { return m_blackhole; }
    /// Links open now, and accepted in all.
    int openLinks() const;
    int acceptedLinks() const { return m_accepted; }
    /// Links the server closed or reset (the proxy and the client had not).
    int closedByServer() const { return m_closedByServer; }

private:
    struct Link;
    void accept();
    void pump();
    void pump(Link &link);
    void forward(Link &link, QTcpSocket &from, QTcpSocket &to, bool toClient);
    void finish(Link &link);
    static void reset(QTcpSocket &socket);
    static bool connectLikeASlowLink(QTcpSocket &socket, quint16 port);

    QTcpServer m_server;
    quint16 m_target = 0;
    std::vector<std::unique_ptr<Link>> m_links;
    QTimer m_ticker; // delay and throttle
    bool m_blackhole = false;
    std::chrono::milliseconds m_delay{0};
    qint64 m_throttle = 0;
    qint64 m_cutAfter = 0;
    int m_accepted = 0;
    int m_closedByServer = 0;
};
