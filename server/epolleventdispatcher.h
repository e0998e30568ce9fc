#pragma once

#include <QAbstractEventDispatcher>
#include <QAtomicInteger>
#include <QHash>

#include <map>

namespace Natter {

/// A Linux event dispatcher on epoll, for threads that own many sockets.
///
/// Qt's stock dispatchers (glib's and Qt's own Unix one) hand the whole list
/// of watched descriptors to poll() on every pass of the event loop, so each
/// wake-up costs time proportional to the number of open connections: with
/// 10,000 idle clients, a trickle of messages makes the server busy. epoll
/// keeps the interest list in the kernel and reports only the ready sockets,
/// so a pass costs what actually happened.
///
/// Install before the QCoreApplication is created (main thread) or before a
/// QThread starts (QThread::setEventDispatcher). Public Qt API only.
class EpollEventDispatcher final : public QAbstractEventDispatcher
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EpollEventDispatcher)

public:
    explicit EpollEventDispatcher(QObject *parent = nullptr);
    ~EpollEventDispatcher() override;

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;

    void registerSocketNotifier(QSocketNotifier *notifier) override;
    void unregisterSocketNotifier(QSocketNotifier *notifier) override;

    void registerTimer(int timerId, qint64 interval, Qt::TimerType timerType, QObject *object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject *object) override;
    QList<TimerInfo> registeredTimers(QObject *object) const override;
    int remainingTime(int timerId) override;

    /// Deadlines the dispatcher keeps: one per registered timer, however often
    /// timers are restarted or killed (for tests).
    qsizetype pendingDeadlines() const { return qsizetype(m_deadlines.size()); }

    void wakeUp() override;
    void interrupt() override;

private:
    struct Notifiers
    {
        QSocketNotifier *read = nullptr;
        QSocketNotifier *write = nullptr;
        QSocketNotifier *exception = nullptr;
        quint32 events = 0; // what the kernel's interest list holds for this descriptor
        bool dirty = false; // notifiers changed since the interest list was last updated
    };
    using Deadlines = std::multimap<qint64, int>; // deadline -> timer id
    struct Timer
    {
        int id;
        qint64 intervalMs;
        Qt::TimerType type;
        QObject *object;
        qint64 deadlineMs;
        Deadlines::iterator entry; // this timer's one entry in m_deadlines
    };

    void markDirty(qintptr fd, Notifiers &notifiers);
    void applyInterestChanges();
    void activate(qintptr fd, quint32 events);
    int fireTimers();
    qint64 nowMs() const;
    int waitTimeoutMs(QEventLoop::ProcessEventsFlags flags) const;
    void scheduleTimer(Timer &timer, qint64 fromMs);
    void removeTimer(QHash<int, Timer>::iterator timer);

    int m_epoll = -1;
    int m_wakeFd = -1;
    QAtomicInteger<int> m_interrupted = 0;
    bool m_postedFromOwnThread = false;
    QList<qintptr> m_dirtyDescriptors;
    QHash<qintptr, Notifiers> m_notifiers;
    QHash<int, Timer> m_timers;
    Deadlines m_deadlines;
};

} // namespace Natter
