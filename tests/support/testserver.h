#pragma once

#include "server/chatserver.h"
#include "server/sqlmessagestore.h"

#include "tests/support/storelocation.h"
#include "tests/support/testclient.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

/// An in-process natter server on 127.0.0.1 with its database in a temporary
/// folder (or, NATTER_TEST_STORE=postgresql, in the tests' PostgreSQL, emptied
/// first); stop() and start() again keep the port and the history, like a
/// restarted natterd.
class TestServer
{
public:
    /// Another natterd of a cluster shares the PostgreSQL database of the first: it is not emptied.
    enum class Database
    {
        Fresh,
        Shared,
    };
    explicit TestServer(Natter::ServerConfig config = defaultConfig(), Database database = Database::Fresh)
        : m_config(std::move(config))
    {
        if (TestStoreLocation::isPostgres() && database == Database::Fresh && !m_location.reset())
            qWarning().noquote() << "cannot empty the test database:" << m_location.errorString();
    }
    ~TestServer() { stop(); }

    static Natter::ServerConfig defaultConfig()
    {
        Natter::ServerConfig config;
        config.host = QHostAddress::LocalHost;
        config.port = 0;
        config.serverName = QStringLiteral("Test chat");
        config.shutdownGrace = std::chrono::milliseconds(500);
        config.passwordCost = Natter::PasswordHasher::Cost::Minimum;
        return config;
    }

    bool start()
    {
        auto store = std::make_unique<Natter::SqlMessageStore>(m_location.location());
        if (!store->open()) {
            qWarning().noquote() << store->errorString();
            return false;
        }
        m_store = store.get();
        Natter::ServerConfig config = m_config;
        if (config.filesPath.isEmpty())
            config.filesPath = Natter::ServerConfig::filesPathFor(databasePath());
        if (m_port != 0)
            config.port = m_port; // a restart comes back where it was
        m_server = std::make_unique<Natter::ChatServer>(config, std::move(store));
        if (!m_server->listen())
            return false;
        m_port = m_server->serverPort();
        return true;
    }

    /// Clean shutdown: clients are told 1001, the store is closed.
    void stop()
    {
        if (!m_server)
            return;
        QSignalSpy finished(m_server.get(), &Natter::ChatServer::shutdownFinished);
        m_server->shutdown();
        finished.wait(5000);
        m_server.reset();
        m_store = nullptr;
    }

    /// As kill -9 would: no shutdown, nobody told (the process is gone).
    void kill()
    {
        m_server.reset();
        m_store = nullptr;
    }

    Natter::ChatServer *server() const { return m_server.get(); }
    /// The running server's store (owned by the server); nullptr when stopped.
    Natter::SqlMessageStore *store() const { return m_store; }
    quint16 port() const { return m_port; }
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(m_port)); }
    /// The SQLite file (SQLite only); shared files are kept beside it either way.
    QString databasePath() const { return m_dir.filePath(QStringLiteral("natter.db")); }
    /// The first column of the first row of a query of the database, on a connection of its own.
    QVariant databaseValue(const QString &sql) { return m_location.value(sql); }

private:
    Natter::ServerConfig m_config;
    QTemporaryDir m_dir;
    TestStoreLocation m_location{m_dir.path()};
    std::unique_ptr<Natter::ChatServer> m_server;
    Natter::SqlMessageStore *m_store = nullptr;
    quint16 m_port = 0;
};

/// The Redis CTest started for the cluster tests (fixture "redis").
inline Natter::RedisAddress testRedisAddress()
{
    QString error;
    const std::optional<Natter::RedisAddress> address =
        Natter::RedisAddress::parse(TestStoreLocation::redisUrl(), &error);
    if (!address)
        qFatal("no Redis for the tests (NATTER_TEST_REDIS_URL_FILE): %s", qPrintable(error));
    return *address;
}

/// Connects a test client as Bob (bob@example.org) and joins the rooms; over
/// wss:// when the server's certificate fingerprint is given.
inline bool signInAsBob(TestClient &bob, quint16 port, const QStringList &rooms = {},
                        const QString &fingerprint = {})
{
    const bool opened = fingerprint.isEmpty() ? bob.open(port) : bob.openTls(port, fingerprint);
    if (!opened || !bob.hello(QStringLiteral("Bob"), QStringLiteral("bob@example.org")))
        return false;
    for (const QString &room : rooms) {
        if (!bob.join(room))
            return false;
    }
    return true;
}
