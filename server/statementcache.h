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
    /// Resets query (no result set open, no read transaction held) and keeps
    /// it for sql, unless it was taken before the last clear().
    void giveBack(const QString &sql, std::unique_ptr<QSqlQuery> query, quint64 generation);
    /// Counts clear()s.
    quint64 generation() const { return m_generation; }
    QSqlDatabase database() const { return m_db; }
    /// Forgets every kept statement, and those in use once they are given back
    /// (the connection they were prepared on is gone).
    void clear()
    {
        m_kept.clear();
        ++m_generation;
    }

private:
    QSqlDatabase m_db;
    std::unordered_map<QString, std::unique_ptr<QSqlQuery>> m_kept;
    quint64 m_generation = 0;
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
    quint64 m_generation = 0;
    QSqlError m_error;
};

} // namespace Natter
