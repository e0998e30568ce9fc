#pragma once

#include "common/user.h"
#include "server/serverconfig.h"

#include <QHostAddress>
#include <QObject>
#include <QStringList>

#include <atomic>
#include <optional>

QT_BEGIN_NAMESPACE
class QThread;
QT_END_NAMESPACE

namespace Natter {

class ChatServer;
class DiscoveryResponder;

/// "Host a chat on this computer": runs the server library in-process, on a
/// thread of its own (with the epoll dispatcher on Linux) so a busy chat never
/// stalls the window, with its SQLite database in the app-data folder, and
/// answers LAN discovery for it.
class LocalServerHost final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(LocalServerHost)

public:
    explicit LocalServerHost(QObject *parent = nullptr);
    ~LocalServerHost() override;

    /// Opens the database and listens; blocks until the server listens or
    /// failed (errorString() then says why, e.g. the port is taken).
    /// discoveryPort nullopt: do not answer discovery.
    bool start(const ServerConfig &config, const QString &databasePath,
               std::optional<quint16> discoveryPort = quint16(5000));
    /// Closes every client (1001) after storing what was accepted; blocks
    /// until the server thread is gone.
    void stop();

    bool isRunning() const { return m_server != nullptr; }
    quint16 port() const { return m_port; }
    /// The SHA-256 fingerprint of the hosted chat's certificate (64 hex digits).
    QString fingerprint() const { return m_fingerprint; }
    /// 0 when discovery is off or its port could not be bound.
    quint16 discoveryPort() const { return m_discoveryPort; }
    QString errorString() const { return m_errorString; }
    /// A problem that does not stop hosting (discovery could not bind).
    QString warningString() const { return m_warningString; }
    QString databasePath() const { return m_databasePath; }
    /// WebSocket connections open to the hosted chat now (the host's own included).
    int connectionCount() const { return m_connections.load(); }

    /// ws://ADDRESS:PORT for each IPv4 address of this machine's up,
    /// non-loopback interfaces: what colleagues type to join.
    QStringList shareableUrls() const;
    /// The database file the app hosts with by default.
    static QString defaultDatabasePath();

    /// A session token for the host's own user on the hosted chat (creating
    /// its account if needed): the host signs in without a password. Empty if
    /// not running or the store failed.
    QString issueToken(const User &user, const QString &device);
    /// A new invite code for the hosted chat (one use, a week); empty if not running.
    QString createInvite();

private:
    QThread *m_thread = nullptr;
    ChatServer *m_server = nullptr;            // lives in m_thread
    DiscoveryResponder *m_discovery = nullptr; // lives in m_thread
    QHostAddress m_address;
    quint16 m_port = 0;
    quint16 m_discoveryPort = 0;
    QString m_errorString;
    QString m_warningString;
    QString m_databasePath;
    QString m_fingerprint;
    std::atomic<int> m_connections{0}; // written by the server thread
};

} // namespace Natter
