#include "app/localserverhost.h"

#include "app/clientlogging.h"
#include "server/chatserver.h"
#include "server/discoveryresponder.h"
#include "server/sqlmessagestore.h"
#include "server/tlsidentity.h"
#include "server/transport.h"

#include <QDir>
#include <QEventLoop>
#include <QFileInfo>
#include <QNetworkInterface>
#include <QStandardPaths>
#include <QSysInfo>
#include <QThread>

#ifdef NATTER_HAVE_EPOLL
#include "server/epolleventdispatcher.h"
#endif

using namespace Qt::StringLiterals;

namespace Natter {

LocalServerHost::LocalServerHost(QObject *parent)
    : QObject(parent)
{}

LocalServerHost::~LocalServerHost()
{
    stop();
}

QString LocalServerHost::defaultDatabasePath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + u"/natter.db"_s;
}

bool LocalServerHost::start(const ServerConfig &config, const QString &databasePath,
                            std::optional<quint16> discoveryPort)
{
    stop();
    m_errorString.clear();
    m_warningString.clear();
    m_databasePath = databasePath;
    m_address = config.host;
    // A hosted chat is always encrypted, with a certificate kept beside its
    // history (so its fingerprint, which people compare, stays the same).
    ServerConfig tlsConfig = config;
    if (tlsConfig.filesPath.isEmpty())
        tlsConfig.filesPath = ServerConfig::filesPathFor(databasePath);
    if (!tlsConfig.tls) {
        QString error;
        tlsConfig.tls = TlsIdentity::loadOrCreateSelfSigned(
            databasePath, config.serverName.isEmpty() ? QSysInfo::machineHostName() : config.serverName,
            &error);
        if (!tlsConfig.tls) {
            m_errorString = tr("Cannot make the chat's certificate: %1").arg(error);
            return false;
        }
    }
    m_fingerprint = tlsConfig.tls->fingerprint();

    m_thread = new QThread;
    m_thread->setObjectName(u"natter-host"_s);
#ifdef NATTER_HAVE_EPOLL
    m_thread->setEventDispatcher(new EpollEventDispatcher);
#endif
    m_thread->start();

    // Everything the server owns is created, used and destroyed in its thread
    // (sockets and the SQLite connection are bound to the thread that made them).
    QObject anchor;
    anchor.moveToThread(m_thread);
    bool listening = false;
    QMetaObject::invokeMethod(
        &anchor,
        [&] {
            auto store = std::make_unique<SqlMessageStore>(databasePath);
            if (!store->open()) {
                m_errorString =
                    tr("Cannot open the chat database %1: %2").arg(databasePath, store->errorString());
                return;
            }
            Transport::raiseFileDescriptorLimit(); // a connection is a descriptor; 1,024 is soon reached
            auto *server = new ChatServer(tlsConfig, std::move(store));
            if (!server->listen()) {
                m_errorString =
                    config.port != 0 && server->errorString().contains(u"in use"_s, Qt::CaseInsensitive)
                        ? tr("Port %1 is already in use on this computer: another Natter (or another "
                             "program) is "
                             "hosting there. Join that chat, or host on another port.")
                              .arg(config.port)
                        : tr("Cannot host on port %1: %2").arg(config.port).arg(server->errorString());
                delete server;
                return;
            }
            m_server = server;
            m_port = server->serverPort();
            const auto count = [this, server] { m_connections = server->sessionCount(); };
            connect(server, &ChatServer::sessionOpened, server, count);
            connect(server, &ChatServer::sessionClosed, server, count);
            if (discoveryPort) {
                const QString name = config.serverName;
                const quint16 port = m_port;
                auto *discovery = new DiscoveryResponder([server, name, port] {
                    return Discovery::Announcement{Discovery::Version,
                                                   name,
                                                   port,
                                                   ChatServer::versionString(),
                                                   server->onlineUserCount(),
                                                   server->tlsFingerprint()};
                });
                if (discovery->listen(*discoveryPort)) {
                    m_discovery = discovery;
                    m_discoveryPort = discovery->port();
                } else {
                    m_warningString = discovery->errorString();
                    delete discovery;
                }
            }
            listening = true;
        },
        Qt::BlockingQueuedConnection);

    if (!listening) {
        qCWarning(lcNatterClientHost) << "hosting failed:" << m_errorString;
        m_thread->quit();
        m_thread->wait();
        delete m_thread;
        m_thread = nullptr;
        return false;
    }
    qCInfo(lcNatterClientHost) << "hosting on port" << m_port << "database" << databasePath;
    return true;
}

void LocalServerHost::stop()
{
    if (!m_thread)
        return;
    if (m_server) {
        ChatServer *server = m_server;
        DiscoveryResponder *discovery = m_discovery;
        QMetaObject::invokeMethod(
            server,
            [server, discovery] {
                delete discovery;
                // Wait, in the server's thread, for the clean shutdown: every
                // accepted message committed, every client told 1001.
                QEventLoop loop;
                QObject::connect(server, &ChatServer::shutdownFinished, &loop, &QEventLoop::quit);
                server->shutdown();
                loop.exec();
                delete server;
            },
            Qt::BlockingQueuedConnection);
    }
    m_server = nullptr;
    m_discovery = nullptr;
    m_port = 0;
    m_connections = 0;
    m_discoveryPort = 0;
    m_thread->quit();
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
}

QString LocalServerHost::issueToken(const User &user, const QString &device)
{
    if (!m_server)
        return {};
    QString token;
    ChatServer *server = m_server;
    QMetaObject::invokeMethod(
        server, [&] { token = server->issueToken(user, device); }, Qt::BlockingQueuedConnection);
    return token;
}

QString LocalServerHost::createInvite()
{
    if (!m_server)
        return {};
    QString code;
    ChatServer *server = m_server;
    QMetaObject::invokeMethod(
        server, [&] { code = server->createInvite(1, std::chrono::hours(24 * 7)); },
        Qt::BlockingQueuedConnection);
    return code;
}

QStringList LocalServerHost::shareableUrls() const
{
    QStringList urls;
    if (!m_port)
        return urls;
    // Bound to one address: that is the one to share.
    if (m_address != QHostAddress::Any && m_address != QHostAddress::AnyIPv4 &&
        m_address != QHostAddress::AnyIPv6)
        return {u"wss://%1:%2"_s.arg(m_address.toString()).arg(m_port)};
    const auto interfaces = QNetworkInterface::allInterfaces();
    for (const QNetworkInterface &interface : interfaces) {
        const auto flags = interface.flags();
        if (!flags.testFlag(QNetworkInterface::IsUp) || !flags.testFlag(QNetworkInterface::IsRunning) ||
            flags.testFlag(QNetworkInterface::IsLoopBack))
            continue;
        for (const QNetworkAddressEntry &entry : interface.addressEntries()) {
            const QHostAddress address = entry.ip();
            if (address.protocol() == QAbstractSocket::IPv4Protocol && !address.isLoopback())
                urls.append(u"wss://%1:%2"_s.arg(address.toString()).arg(m_port));
        }
    }
    return urls;
}

} // namespace Natter
