#pragma once

#include <QSqlDatabase>
#include <QString>
#include <QVariant>

/// Where a test's store lives: an SQLite file in a folder of the test's, or
/// (NATTER_TEST_STORE=postgresql) the PostgreSQL that CTest started, whose
/// address is in the file NATTER_TEST_POSTGRESQL_URL_FILE names.
class TestStoreLocation final
{
public:
    explicit TestStoreLocation(QString folder);
    ~TestStoreLocation();
    Q_DISABLE_COPY_MOVE(TestStoreLocation)

    static bool isPostgres();
    /// The PostgreSQL test server's address, empty (and a warning) if there is none.
    static QString postgresUrl();
    /// The PostgreSQL test server's own certificate (it takes TLS), beside its address.
    static QString postgresCaFile();
    /// The Redis test server's address (NATTER_TEST_REDIS_URL_FILE), empty if there is none.
    static QString redisUrl();
    /// Runs tests/support/SERVICE.sh ACTION (postgres or redis; pause, resume)
    /// on the server CTest started for the tests; true if it worked.
    static bool runServiceScript(const QString &service, const QString &action);

    /// What SqlMessageStore and natterd --db take.
    QString location() const;
    /// Makes the store empty, as never opened (no store may be open on it):
    /// a new SQLite file, or PostgreSQL's schema dropped.
    bool reset();
    /// Runs a statement beside the store (on a connection of its own).
    bool execute(const QString &sql);
    /// The first column of the first row of a query beside the store.
    QVariant value(const QString &sql);
    QString errorString() const { return m_errorString; }

private:
    bool connect();

    QString m_folder;
    int m_generation = 0;
    QString m_connectionName;
    QSqlDatabase m_db;
    QString m_errorString;
};
