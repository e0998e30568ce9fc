#include "tests/support/sqlitecheck.h"

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

using namespace Qt::StringLiterals;

QString sqliteIntegrity(const QString &path)
{
    const QString connection = u"integrity-check"_s;
    QString verdict;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, connection);
        db.setDatabaseName(path);
        if (!db.open()) {
            verdict = db.lastError().text();
        } else {
            QSqlQuery query(db);
            verdict = query.exec(u"PRAGMA integrity_check"_s) && query.next() ? query.value(0).toString()
                                                                              : query.lastError().text();
        }
    }
    QSqlDatabase::removeDatabase(connection);
    return verdict;
}
