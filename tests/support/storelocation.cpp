#include "tests/support/storelocation.h"

#include <QAtomicInteger>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSqlError>
#include <QSqlQuery>
#include <QUrl>
#include <QtDebug>

using namespace Qt::StringLiterals;

TestStoreLocation::TestStoreLocation(QString folder)
    : m_folder(std::move(folder))
{
    static QAtomicInteger<int> instances;
    m_connectionName = u"test-store-location-%1"_s.arg(instances.fetchAndAddRelaxed(1));
}

TestStoreLocation::~TestStoreLocation()
{
    if (m_db.isValid()) {
        m_db.close();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connectionName);
    }
}

bool TestStoreLocation::isPostgres()
{
    return qEnvironmentVariable("NATTER_TEST_STORE") == u"postgresql"_s;
}

QString TestStoreLocation::postgresUrl()
{
    const QString path = qEnvironmentVariable("NATTER_TEST_POSTGRESQL_URL_FILE");
    QFile file(path);
    if (path.isEmpty() || !file.open(QIODevice::ReadOnly)) {
        qWarning().noquote() << "no PostgreSQL for the tests: NATTER_TEST_POSTGRESQL_URL_FILE" << path
                             << "cannot be read (CTest's fixture tests/support/postgres.sh starts one)";
        return {};
    }
    return QString::fromUtf8(file.readAll()).trimmed();
}

QString TestStoreLocation::postgresCaFile()
{
    return QFileInfo(qEnvironmentVariable("NATTER_TEST_POSTGRESQL_URL_FILE")).dir().filePath(u"ca.pem"_s);
}

namespace {

QString firstLineOf(const QString &path)
{
    QFile file(path);
    if (path.isEmpty() || !file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(file.readLine()).trimmed();
}

} // namespace

QString TestStoreLocation::redisUrl()
{
    return firstLineOf(qEnvironmentVariable("NATTER_TEST_REDIS_URL_FILE"));
}

bool TestStoreLocation::runServiceScript(const QString &service, const QString &action)
{
    const char *variable =
        service == u"redis"_s ? "NATTER_TEST_REDIS_URL_FILE" : "NATTER_TEST_POSTGRESQL_URL_FILE";
    const QString state = QFileInfo(qEnvironmentVariable(variable)).absolutePath();
    QProcess script;
    script.setProcessChannelMode(QProcess::ForwardedChannels);
    script.start(QStringLiteral(NATTER_TEST_SCRIPTS_DIR) + u'/' + service + u".sh"_s, {action, state});
    return script.waitForFinished(60000) && script.exitStatus() == QProcess::NormalExit &&
           script.exitCode() == 0;
}

QString TestStoreLocation::location() const
{
    if (isPostgres())
        return postgresUrl();
    return QDir(m_folder).filePath(m_generation == 0 ? u"natter.db"_s : u"natter-%1.db"_s.arg(m_generation));
}

bool TestStoreLocation::connect()
{
    if (m_db.isValid() && m_db.isOpen())
        return true;
    if (isPostgres()) {
        const QUrl url(postgresUrl());
        m_db = QSqlDatabase::addDatabase(u"QPSQL"_s, m_connectionName);
        m_db.setHostName(url.host());
        m_db.setPort(url.port(5432));
        m_db.setUserName(url.userName());
        m_db.setDatabaseName(url.path().mid(1));
    } else {
        m_db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_connectionName);
        m_db.setDatabaseName(location());
        m_db.setConnectOptions(u"QSQLITE_BUSY_TIMEOUT=2000"_s);
    }
    if (!m_db.open()) {
        m_errorString = m_db.lastError().text();
        return false;
    }
    return true;
}

bool TestStoreLocation::reset()
{
    if (!isPostgres()) {
        // A file never used: the next location.
        if (m_db.isValid()) {
            m_db.close();
            m_db = QSqlDatabase();
            QSqlDatabase::removeDatabase(m_connectionName);
        }
        ++m_generation;
        return true;
    }
    return execute(u"DROP SCHEMA public CASCADE"_s) && execute(u"CREATE SCHEMA public"_s);
}

bool TestStoreLocation::execute(const QString &sql)
{
    if (!connect())
        return false;
    QSqlQuery query(m_db);
    if (!query.exec(sql)) {
        m_errorString = query.lastError().text();
        return false;
    }
    return true;
}

QVariant TestStoreLocation::value(const QString &sql)
{
    if (!connect())
        return m_errorString;
    QSqlQuery query(m_db);
    if (!query.exec(sql) || !query.next())
        return query.lastError().text();
    return query.value(0);
}
