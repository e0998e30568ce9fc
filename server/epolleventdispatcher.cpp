#include "server/epolleventdispatcher.h"

#include "server/serverlogging.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QThread>
#include <QTimerEvent>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>
#include <limits>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace Natter {

namespace {

constexpr quint32 ReadEvents = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
constexpr quint32 WriteEvents = EPOLLOUT | EPOLLHUP | EPOLLERR;

} // namespace

EpollEventDispatcher::EpollEventDispatcher(QObject *parent)
    : QAbstractEventDispatcher(parent)
{
    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    m_wakeFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m_epoll < 0 || m_wakeFd < 0)
        qFatal("EpollEventDispatcher: cannot create epoll or eventfd descriptors");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = m_wakeFd;
    epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wakeFd, &event);
}

EpollEventDispatcher::~EpollEventDispatcher()
{
    ::close(m_wakeFd);
    ::close(m_epoll);
}

qint64 EpollEventDispatcher::nowMs() const
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return qint64(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

void EpollEventDispatcher::wakeUp()
{
    // Events posted from this thread are seen by the next processEvents()
    // anyway; only another thread needs the kernel to interrupt epoll_wait.
    if (QThread::currentThread() == thread()) {
        m_postedFromOwnThread = true;
        return;
    }
    const quint64 one = 1;
    [[maybe_unused]] const ssize_t written = ::write(m_wakeFd, &one, sizeof one);
}

void EpollEventDispatcher::interrupt()
{
    m_interrupted.storeRelease(1);
    const quint64 one = 1;
    [[maybe_unused]] const ssize_t written = ::write(m_wakeFd, &one, sizeof one);
}

// ---- sockets ---------------------------------------------------------------

void EpollEventDispatcher::registerSocketNotifier(QSocketNotifier *notifier)
{
    const qintptr fd = notifier->socket();
    Notifiers &notifiers = m_notifiers[fd];
    switch (notifier->type()) {
    case QSocketNotifier::Read:
        notifiers.read = notifier;
        break;
    case QSocketNotifier::Write:
        notifiers.write = notifier;
        break;
    case QSocketNotifier::Exception:
        notifiers.exception = notifier;
        break;
    }
    markDirty(fd, notifiers);
}

void EpollEventDispatcher::unregisterSocketNotifier(QSocketNotifier *notifier)
{
    const qintptr fd = notifier->socket();
    auto it = m_notifiers.find(fd);
    if (it == m_notifiers.end())
        return;
    if (it->read == notifier)
        it->read = nullptr;
    else if (it->write == notifier)
        it->write = nullptr;
    else if (it->exception == notifier)
        it->exception = nullptr;
    if (!it->read && !it->write && !it->exception) {
        // The descriptor is likely to be closed next and its number reused
        // within this pass: leave the interest list now, not lazily, so that a
        // new socket with the same number starts from a clean slate.
        if (it->events != 0) {
            epoll_event event{};
            epoll_ctl(m_epoll, EPOLL_CTL_DEL, int(fd), &event);
        }
        const bool dirty = it->dirty;
        m_notifiers.erase(it);
        if (dirty)
            m_dirtyDescriptors.removeOne(fd);
        return;
    }
    markDirty(fd, *it);
}

void EpollEventDispatcher::markDirty(qintptr fd, Notifiers &notifiers)
{
    // Qt switches a socket's write notifier on for every write and off once
    // the data is out, often within one pass of the loop. Changes are applied
    // to the kernel only before the next wait, so such pairs cost nothing.
    if (!notifiers.dirty) {
        notifiers.dirty = true;
        m_dirtyDescriptors.append(fd);
    }
}

void EpollEventDispatcher::applyInterestChanges()
{
    for (qintptr fd : std::as_const(m_dirtyDescriptors)) {
        const auto it = m_notifiers.find(fd);
        if (it == m_notifiers.end())
            continue;
        it->dirty = false;
        quint32 wanted = 0;
        if (it->read)
            wanted |= EPOLLIN | EPOLLRDHUP;
        if (it->write)
            wanted |= EPOLLOUT;
        if (it->exception)
            wanted |= EPOLLPRI;
        if (wanted != it->events) {
            epoll_event event{};
            event.events = wanted;
            event.data.fd = int(fd);
            int result = 0;
            if (wanted == 0) {
                result = epoll_ctl(m_epoll, EPOLL_CTL_DEL, int(fd), &event);
            } else {
                // The descriptor may have been closed and reused since the kernel last saw it.
                result = epoll_ctl(m_epoll, it->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, int(fd), &event);
                if (result != 0 && errno == ENOENT)
                    result = epoll_ctl(m_epoll, EPOLL_CTL_ADD, int(fd), &event);
                else if (result != 0 && errno == EEXIST)
                    result = epoll_ctl(m_epoll, EPOLL_CTL_MOD, int(fd), &event);
            }
            // A descriptor closed before its notifier went away is out of the set already.
            if (result != 0 && errno != EBADF && errno != ENOENT && errno != EPERM)
                qCWarning(lcNatterServer) << "epoll_ctl failed for descriptor" << fd << "errno" << errno;
            it->events = wanted;
        }
        if (!it->read && !it->write && !it->exception)
            m_notifiers.erase(it);
    }
    m_dirtyDescriptors.clear();
}

void EpollEventDispatcher::activate(qintptr fd, quint32 events)
{
    // Each notifier is looked up again right before it is activated: the
    // previous activation may have disabled or deleted it.
    auto send = [this, fd](QSocketNotifier *Notifiers::*which) {
        const auto it = m_notifiers.constFind(fd);
        if (it == m_notifiers.cend())
            return;
        if (QSocketNotifier *notifier = (*it).*which) {
            QEvent event(QEvent::SockAct);
            QCoreApplication::sendEvent(notifier, &event);
        }
    };
    if (events & EPOLLPRI)
        send(&Notifiers::exception);
    if (events & ReadEvents)
        send(&Notifiers::read);
    if (events & WriteEvents)
        send(&Notifiers::write);
}

// ---- timers ----------------------------------------------------------------

void EpollEventDispatcher::scheduleTimer(Timer &timer, qint64 fromMs)
{
    timer.deadlineMs = fromMs + timer.intervalMs;
    timer.entry = m_deadlines.emplace(timer.deadlineMs, timer.id);
}

void EpollEventDispatcher::removeTimer(QHash<int, Timer>::iterator timer)
{
    // Erased at once, never left stale: Qt restarts some timers on every read
    // (QWebSocket's wait for the rest of a frame, for one), and stale entries
    // would pile up and be walked on every pass of the loop.
    m_deadlines.erase(timer->entry);
    m_timers.erase(timer);
}

void EpollEventDispatcher::registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                                         QObject *object)
{
    const auto existing = m_timers.find(timerId);
    if (existing != m_timers.end())
        removeTimer(existing);
    Timer &timer = m_timers[timerId];
    timer = Timer{timerId, interval, timerType, object, 0, {}};
    scheduleTimer(timer, nowMs());
}

bool EpollEventDispatcher::unregisterTimer(int timerId)
{
    const auto it = m_timers.find(timerId);
    if (it == m_timers.end())
        return false;
    removeTimer(it);
    return true;
}

bool EpollEventDispatcher::unregisterTimers(QObject *object)
{
    bool any = false;
    for (auto it = m_timers.begin(); it != m_timers.end();) {
        if (it->object == object) {
            m_deadlines.erase(it->entry);
            it = m_timers.erase(it);
            any = true;
        } else {
            ++it;
        }
    }
    return any;
}

QList<QAbstractEventDispatcher::TimerInfo> EpollEventDispatcher::registeredTimers(QObject *object) const
{
    QList<TimerInfo> timers;
    for (const Timer &timer : m_timers) {
        if (timer.object == object)
            timers.append(TimerInfo(timer.id, int(timer.intervalMs), timer.type));
    }
    return timers;
}

int EpollEventDispatcher::remainingTime(int timerId)
{
    const auto it = m_timers.constFind(timerId);
    if (it == m_timers.cend())
        return -1;
    return int(qMax<qint64>(0, it->deadlineMs - nowMs()));
}

int EpollEventDispatcher::fireTimers()
{
    const qint64 now = nowMs();
    // Take everything due first, then reschedule, then fire: a zero-interval
    // timer is due again at once and must not keep this loop going, and a
    // callback may register or kill timers.
    QList<int> due;
    while (!m_deadlines.empty() && m_deadlines.begin()->first <= now) {
        due.append(m_deadlines.begin()->second);
        m_deadlines.erase(m_deadlines.begin());
    }
    for (int id : std::as_const(due)) {
        Timer &timer = m_timers[id];
        // From the scheduled deadline, not from now, so that periodic timers do
        // not drift; but never into the past after a long stall.
        scheduleTimer(timer, timer.deadlineMs + timer.intervalMs > now ? timer.deadlineMs : now);
    }
    int fired = 0;
    for (int id : std::as_const(due)) {
        const auto timer = m_timers.constFind(id);
        if (timer == m_timers.cend())
            continue; // killed by an earlier callback of this pass
        QTimerEvent event(id);
        QCoreApplication::sendEvent(timer->object, &event);
        ++fired;
    }
    return fired;
}

// ---- the loop --------------------------------------------------------------

int EpollEventDispatcher::waitTimeoutMs(QEventLoop::ProcessEventsFlags flags) const
{
    if (!(flags & QEventLoop::WaitForMoreEvents) || m_interrupted.loadAcquire())
        return 0;
    if (m_deadlines.empty())
        return -1;
    return int(std::clamp<qint64>(m_deadlines.begin()->first - nowMs(), 0, std::numeric_limits<int>::max()));
}

bool EpollEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags)
{
    m_interrupted.storeRelease(0);
    Q_EMIT awake();
    m_postedFromOwnThread = false;
    QCoreApplication::sendPostedEvents();
    if (m_interrupted.loadAcquire())
        return false;

    applyInterestChanges();
    // Something posted while we delivered posted events: do not block.
    const int timeout = m_postedFromOwnThread ? 0 : waitTimeoutMs(flags);
    if (timeout != 0)
        Q_EMIT aboutToBlock();

    std::array<epoll_event, 512> events;
    int ready = 0;
    do {
        ready = epoll_wait(m_epoll, events.data(), int(events.size()), timeout);
    } while (ready < 0 && errno == EINTR);
    if (timeout != 0)
        Q_EMIT awake();

    int handled = 0;
    for (int i = 0; i < ready; ++i) {
        const int fd = events[i].data.fd;
        if (fd == m_wakeFd) {
            quint64 value = 0;
            [[maybe_unused]] const ssize_t n = ::read(m_wakeFd, &value, sizeof value);
            continue;
        }
        if (flags & QEventLoop::ExcludeSocketNotifiers)
            continue; // level-triggered: they are reported again next time
        activate(fd, events[i].events);
        ++handled;
    }
    if (!m_interrupted.loadAcquire())
        handled += fireTimers();
    return handled > 0;
}

} // namespace Natter
