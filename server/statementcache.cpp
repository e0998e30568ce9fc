#include "server/statementcache.h"

#include <QSqlError>

namespace Natter {

StatementCache::StatementCache(QSqlDatabase db)
    : m_db(std::move(db))
{}

StatementCache::~StatementCache() = default;

std::unique_ptr<QSqlQuery> StatementCache::take(const QString &sql, QSqlError *error)
{
    if (const auto kept = m_kept.find(sql); kept != m_kept.end()) {
        std::unique_ptr<QSqlQuery> query = std::move(kept->second);
        m_kept.erase(kept);
        return query;
    }
    auto query = std::make_unique<QSqlQuery>(m_db);
    query->setForwardOnly(true);
    if (!query->prepare(sql)) {
        *error = query->lastError();
        return nullptr;
    }
    return query;
}

void StatementCache::giveBack(const QString &sql, std::unique_ptr<QSqlQuery> query, quint64 generation)
{
    if (generation != m_generation)
        return;
    query->finish();
    // A statement used twice at once (nested) was prepared twice: keep one.
    m_kept.try_emplace(sql, std::move(query));
}

bool CachedStatement::exec(const QString &sql, const QVariantList &values)
{
    release();
    m_generation = m_cache.generation();
    m_query = m_cache.take(sql, &m_error);
    if (!m_query) {
        m_query = std::make_unique<QSqlQuery>(m_cache.database()); // inactive: next() is false
        return false;
    }
    m_sql = sql;
    for (int i = 0; i < values.size(); ++i)
        m_query->bindValue(i, values.at(i));
    if (!m_query->exec()) {
        m_error = m_query->lastError();
        return false;
    }
    return true;
}

void CachedStatement::release()
{
    if (m_query && !m_sql.isEmpty())
        m_cache.giveBack(m_sql, std::move(m_query), m_generation);
    m_query.reset();
    m_sql.clear();
}

} // namespace Natter
