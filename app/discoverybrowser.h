#pragma once

#include "common/discovery.h"

#include <QHostAddress>
#include <QObject>
#include <QTimer>
#include <QUrl>

QT_BEGIN_NAMESPACE
class QUdpSocket;
QT_END_NAMESPACE

namespace Natter {

/// A server that answered a discovery query.
struct DiscoveredServer
{
    QString name;   ///< the host's name for it; may be empty
    QUrl url;       ///< wss://ADDRESS:PORT (ws:// for a server without TLS), ADDRESS the one that answered
    QString server; ///< "natterd X.Y.Z"
    int users = 0;
    QString fingerprint; ///< what the announcement claims; shown and compared, never trusted
};

/// Finds Natter servers on the LAN: broadcasts a discovery query now and
/// then and reports each answer. Queries go to NATTER_DISCOVERY_ADDRESS when
/// it is set (127.255.255.255 in tests and trials here), otherwise to the
/// limited broadcast address.
class DiscoveryBrowser final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DiscoveryBrowser)

public:
    explicit DiscoveryBrowser(QObject *parent = nullptr);
    ~DiscoveryBrowser() override;

    /// Where queries go: the environment's choice, else 255.255.255.255.
    static QHostAddress queryAddress();

    void setPort(quint16 port) { m_port = port; }
    quint16 port() const { return m_port; }
    void setInterval(std::chrono::milliseconds interval) { m_timer.setInterval(interval); }

    /// Queries at once and then every interval until stop().
    bool start();
    void stop();
    bool isActive() const { return m_timer.isActive(); }
    QString errorString() const { return m_errorString; }

Q_SIGNALS:
    /// Emitted for every answer (the same server answers every round).
    void serverFound(const Natter::DiscoveredServer &server);

private:
    void query();
    void readPending();

    QUdpSocket *m_socket;
    QTimer m_timer;
    QHostAddress m_address;
    quint16 m_port = Discovery::DefaultPort;
    QString m_errorString;
};

} // namespace Natter
