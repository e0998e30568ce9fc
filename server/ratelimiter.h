#pragma once

#include <QtGlobal>

#include <algorithm>

namespace Natter {

/// A token bucket: rate tokens a second, at most burst saved up. Time comes
/// from the caller (milliseconds of a monotonic clock) so tests control it.
class TokenBucket
{
public:
    TokenBucket() = default;
    TokenBucket(double rate, double burst, qint64 nowMs)
        : m_rate(rate)
        , m_burst(burst)
        , m_tokens(burst)
        , m_lastMs(nowMs)
    {}

    /// Takes amount tokens if there are that many. A rate of 0 means unlimited.
    bool tryTake(qint64 nowMs, double amount = 1.0)
    {
        if (m_rate <= 0)
            return true;
        refill(nowMs);
        if (m_tokens < amount)
            return false;
        m_tokens -= amount;
        return true;
    }

    /// Takes amount tokens whatever is left, into debt down to minus the
    /// burst: for what a request turned out to cost once it was answered
    /// (the tokens it took up front could not know).
    void charge(qint64 nowMs, double amount)
    {
        if (m_rate <= 0)
            return;
        refill(nowMs);
        m_tokens = std::max(-m_burst, m_tokens - amount);
    }

    /// True when the bucket is full again: forgetting it changes nothing.
    bool isFull(qint64 nowMs) const
    {
        return m_rate <= 0 || m_tokens + double(nowMs - m_lastMs) * m_rate / 1000.0 >= m_burst;
    }

private:
    void refill(qint64 nowMs)
    {
        if (nowMs > m_lastMs) {
            m_tokens = std::min(m_burst, m_tokens + double(nowMs - m_lastMs) * m_rate / 1000.0);
            m_lastMs = nowMs;
        }
    }

    double m_rate = 0;
    double m_burst = 0;
    double m_tokens = 0;
    qint64 m_lastMs = 0;
};

} // namespace Natter
