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
            // The search index must hold exactly the messages' text (rank 1:
            // compared with the content table, not only with itself).
            if (verdict == u"ok"_s &&
                query.exec(u"SELECT 1 FROM sqlite_schema WHERE name = 'messages_fts'"_s) && query.next()) {
                query.finish();
                if (!query.exec(
                        u"INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)"_s))
                    verdict = u"search index: "_s + query.lastError().text();
            }
        }
    }
    QSqlDatabase::removeDatabase(connection);
    return verdict;
}
