#pragma once

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QString>
#include <QVariantList>

#include <memory>
#include <unordered_map>

namespace Natter {

/// Prepared statements of one database connection, kept between uses.
/// SQLite parses a statement's SQL every time it is prepared: for the short
/// reads of a sign-in and a join, parsing was about a third of their cost.
class StatementCache final
{
    Q_DISABLE_COPY_MOVE(StatementCache)

public:
    explicit StatementCache(QSqlDatabase db);
    ~StatementCache();

    /// sql's statement: a kept one, or prepared now (nullptr if it cannot be: see error).
    std::unique_ptr<QSqlQuery> take(const QString &sql, QSqlError *error);
    /// Resets query (no result set open, no read transaction held) and keeps it for sql.
    void giveBack(const QString &sql, std::unique_ptr<QSqlQuery> query);
    QSqlDatabase database() const { return m_db; }

private:
    QSqlDatabase m_db;
    std::unordered_map<QString, std::unique_ptr<QSqlQuery>> m_kept;
};

/// One use of a cached statement, as a QSqlQuery is used: exec() runs a
/// statement, next() and value() read its rows. Another exec(), or the end
/// of the scope, gives the statement back.
class CachedStatement final
{
    Q_DISABLE_COPY_MOVE(CachedStatement)

public:
    explicit CachedStatement(StatementCache &cache)
        : m_cache(cache)
    {}
    ~CachedStatement() { release(); }

    /// Runs sql with positional values; false with error() on failure.
    bool exec(const QString &sql, const QVariantList &values);
    QSqlError error() const { return m_error; }

    QSqlQuery *operator->() { return m_query.get(); }
    const QSqlQuery &operator*() const { return *m_query; }

private:
    void release();

    StatementCache &m_cache;
    QString m_sql;
    std::unique_ptr<QSqlQuery> m_query;
    QSqlError m_error;
};

} // namespace Natter
