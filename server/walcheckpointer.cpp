#include "server/walcheckpointer.h"

#include "server/serverlogging.h"

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

using namespace Qt::StringLiterals;

namespace Natter {

WalCheckpointer::WalCheckpointer(QString databasePath, unsigned long intervalMs, QObject *parent)
    : QThread(parent)
    , m_path(std::move(databasePath))
    , m_intervalMs(intervalMs)
{}

WalCheckpointer::~WalCheckpointer()
{
    stop();
}

void WalCheckpointer::stop()
{
    {
        QMutexLocker locker(&m_mutex);
        m_stopping = true;
        m_wake.wakeAll();
    }
    wait();
}

void WalCheckpointer::run()
{
    const QString connectionName = u"natter-checkpoint-%1"_s.arg(quintptr(this), 0, 16);
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, connectionName);
        db.setDatabaseName(m_path);
        db.setConnectOptions(u"QSQLITE_BUSY_TIMEOUT=1000"_s);
        if (!db.open()) {
            qCWarning(lcNatterStore).noquote() << "checkpoints disabled:" << db.lastError().text();
        } else {
            QSqlQuery checkpoint(db);
            QMutexLocker locker(&m_mutex);
            while (!m_stopping) {
                m_wake.wait(&m_mutex, m_intervalMs);
                if (m_stopping)
                    break;
                locker.unlock();
                if (!checkpoint.exec(u"PRAGMA wal_checkpoint(PASSIVE)"_s))
                    qCWarning(lcNatterStore).noquote()
                        << "checkpoint failed:" << checkpoint.lastError().text();
                checkpoint.finish();
                locker.relock();
            }
            locker.unlock();
            // A last full pass so that a clean shutdown leaves a small WAL.
            checkpoint.exec(u"PRAGMA wal_checkpoint(TRUNCATE)"_s);
            checkpoint.finish();
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(connectionName);
}

} // namespace Natter
