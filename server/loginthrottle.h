#pragma once

#include <QHash>
#include <QList>
#include <QString>

namespace Natter {

/// Counts failed sign-ins per key (an address, an account, both): after
/// maxFailures within window, the key is refused for lockout. Time comes from
/// the caller (milliseconds of a monotonic clock), so tests can move it
/// without sleeping.
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

/// Paces password guesses at one account from anywhere: after maxFailures
/// within window (from any number of addresses), the account takes one
/// password attempt per pace until lockout has passed since. A guesser with
/// eight addresses is slowed to the pace; the owner is refused only for
/// moments, never for long, and a signed-in device (a token) never.
class AccountPacer
{
public:
    AccountPacer(int maxFailures, qint64 windowMs, qint64 lockoutMs, qint64 paceMs)
        : m_failures(maxFailures, windowMs, lockoutMs)
        , m_paceMs(paceMs)
    {}

    /// Whether a password attempt for account may be checked now (and, if
    /// the account is paced, takes its turn).
    bool mayTry(const QString &account, qint64 nowMs)
    {
        if (!m_failures.isLocked(account, nowMs))
            return true;
        qint64 &next = m_nextTryMs[account];
        if (next > nowMs)
            return false;
        next = nowMs + m_paceMs;
        return true;
    }

    /// Notes a wrong password for account; true when the account starts to be paced.
    bool recordFailure(const QString &account, qint64 nowMs)
    {
        return m_failures.recordFailure(account, nowMs);
    }

    void prune(qint64 nowMs)
    {
        m_failures.prune(nowMs);
        m_nextTryMs.removeIf([nowMs](const auto &it) { return it.value() <= nowMs; });
    }

private:
    LoginThrottle m_failures;
    qint64 m_paceMs;
    QHash<QString, qint64> m_nextTryMs;
};

} // namespace Natter
