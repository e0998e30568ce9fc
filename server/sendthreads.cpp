#include "server/sendthreads.h"

#include "server/serverlogging.h"

#include <cerrno>
#include <system_error>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif
#ifdef Q_OS_LINUX
#include <pthread.h>
#endif

namespace Natter {

namespace {

// Writes taken at a time: enough to make the atomic counter cheap, few
// enough that the threads finish at nearly the same time.
constexpr qsizetype Chunk = 16;

} // namespace

SendThreads::SendThreads(int threads)
    : m_threads(std::max(threads, 1))
{}

SendThreads::~SendThreads()
{
    {
        const std::lock_guard locker(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    for (std::thread &helper : m_helpers)
        helper.join();
}

void SendThreads::startHelpers()
{
    m_started = true;
    for (int i = 1; i < m_threads; ++i) {
        try {
            m_helpers.emplace_back([this, i] {
#ifdef Q_OS_LINUX
                pthread_setname_np(pthread_self(),
                                   QByteArray("natter-send-" + QByteArray::number(i)).constData());
#else
                Q_UNUSED(i);
#endif
                helperLoop();
            });
        } catch (const std::system_error &error) {
            // Out of threads or memory: the calling thread sends their share.
            qCWarning(lcNatterServer) << "cannot start a thread to send on:" << error.what();
            return;
        }
    }
}

void SendThreads::send(std::span<Write> writes)
{
    if (m_threads > 1 && !m_started && qsizetype(writes.size()) >= MinParallelWrites)
        startHelpers();
    if (m_helpers.empty() || qsizetype(writes.size()) < MinParallelWrites) {
        for (Write &write : writes)
            sendNow(write);
        return;
    }
    {
        const std::lock_guard locker(m_mutex);
        m_writes = writes;
        m_next = 0;
        ++m_pass;
        m_open = true;
    }
    m_wake.notify_all();
    work();
    std::unique_lock locker(m_mutex);
    // A helper that has not woken yet finds the pass closed and sleeps on:
    // only chunks already being sent are waited for.
    m_open = false;
    m_finished.wait(locker, [this] { return m_working == 0; });
    m_writes = {};
}

void SendThreads::work()
{
    const qsizetype count = qsizetype(m_writes.size());
    for (;;) {
        const qsizetype first = m_next.fetch_add(Chunk, std::memory_order_relaxed);
        if (first >= count)
            return;
        const qsizetype end = std::min(first + Chunk, count);
        for (qsizetype i = first; i < end; ++i)
            sendNow(m_writes[size_t(i)]);
    }
}

void SendThreads::helperLoop()
{
    quint64 seen = 0;
    std::unique_lock locker(m_mutex);
    for (;;) {
        m_wake.wait(locker, [this, seen] { return m_stopping || (m_open && m_pass != seen); });
        if (m_stopping)
            return;
        seen = m_pass;
        ++m_working;
        locker.unlock();
        work();
        locker.lock();
        if (--m_working == 0)
            m_finished.notify_all();
    }
}

void SendThreads::sendNow(Write &write)
{
#ifdef Q_OS_UNIX
    while (write.descriptor != -1 && write.sent < write.bytes.size()) {
        const ssize_t n = ::send(write.descriptor, write.bytes.data() + write.sent,
                                 size_t(write.bytes.size() - write.sent), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            write.sent += n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            return; // full (the rest waits in the socket's buffer) or an error (the socket reports it)
    }
#else
    Q_UNUSED(write);
#endif
}

} // namespace Natter
