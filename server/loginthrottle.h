#pragma once

#include <QHash>
#include <QList>
#include <QString>

namespace Natter {

/// Counts failed sign-ins per address: after maxFailures within window, the
/// address is refused for lockout. Time comes from the caller (milliseconds
/// of a monotonic clock), so tests can move it without sleeping.
class LoginThrottle
{
public:
    LoginThrottle(int maxFailures = 10, qint64 windowMs = 2 * 60'000, qint64 lockoutMs = 5 * 60'000)
        : m_maxFailures(maxFailures)
        , m_windowMs(windowMs)
        , m_lockoutMs(lockoutMs)
    {}

    bool isLocked(const QString &address, qint64 nowMs) const
    {
        const auto entry = m_entries.constFind(address);
        return entry != m_entries.cend() && entry->lockedUntilMs > nowMs;
    }

    /// Notes a failure; true when it is the one that locks the address (log it once).
    bool recordFailure(const QString &address, qint64 nowMs)
    {
        Entry &entry = m_entries[address];
        if (entry.lockedUntilMs > nowMs)
            return false;
        entry.failuresMs.removeIf([&](qint64 at) { return at <= nowMs - m_windowMs; });
        entry.failuresMs.append(nowMs);
        if (entry.failuresMs.size() < m_maxFailures)
            return false;
        entry.failuresMs.clear();
        entry.lockedUntilMs = nowMs + m_lockoutMs;
        return true;
    }

    /// Forgets addresses with nothing left to remember.
    void prune(qint64 nowMs)
    {
        m_entries.removeIf([&](const auto &it) {
            const Entry &entry = it.value();
            return entry.lockedUntilMs <= nowMs &&
                   (entry.failuresMs.isEmpty() || entry.failuresMs.constLast() <= nowMs - m_windowMs);
        });
    }

    qsizetype size() const { return m_entries.size(); }

private:
    struct Entry
    {
        QList<qint64> failuresMs;
        qint64 lockedUntilMs = 0;
    };
    int m_maxFailures;
    qint64 m_windowMs;
    qint64 m_lockoutMs;
    QHash<QString, Entry> m_entries;
};

} // namespace Natter
