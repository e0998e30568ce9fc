#pragma once

#include <QByteArrayView>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace Natter {

/// Hands a pass's output to the kernel on several threads at once.
///
/// When one event reaches a thousand members, most of what it costs is the
/// kernel's: each send() copies the frame, and to a peer on the same machine
/// (or behind the same bridge) runs the receiving side of TCP on the sending
/// thread too. One thread sends all of it while the other cores idle. Here
/// the event loop's thread and the helpers take the writes in chunks until
/// none are left; the event loop's thread then waits only for chunks already
/// started. Nothing but send() runs on the helpers: no Qt object is touched
/// off the event loop's thread, so what the chat does stays single-threaded
/// (presence, typing and resume need no locks).
class SendThreads final
{
    Q_DISABLE_COPY_MOVE(SendThreads)

public:
    /// One socket's bytes for this pass; sent says how many the kernel took.
    struct Write
    {
        int descriptor = -1;
        QByteArrayView bytes;
        qsizetype sent = 0;
    };

    /// Fewer writes than this in a pass are sent by the calling thread
    /// alone: waking a helper costs more than it saves.
    static constexpr qsizetype MinParallelWrites = 64;

    /// threads in all, the caller's included (at least 1; 1 starts no
    /// helper). Helpers start with the first pass that needs them.
    explicit SendThreads(int threads);
    ~SendThreads();

    /// The threads wanted (helpers that could not be started are not missed:
    /// the caller sends their share).
    int threadCount() const { return m_threads; }

    /// Gives each write's bytes to the kernel, as much as it takes now
    /// without blocking, and returns when all are done.
    void send(std::span<Write> writes);

    /// One write, on the calling thread: send() without blocking until the
    /// kernel's buffer is full or an error (left for the socket's owner to find).
    static void sendNow(Write &write);

private:
    void startHelpers();
    void helperLoop();
    /// Takes chunks of the current writes until none are left.
    void work();

    int m_threads;
    bool m_started = false;
    std::vector<std::thread> m_helpers; // plain threads: no event loop, no descriptors of their own
    // The standard library's, not Qt's: ThreadSanitizer sees them whole.
    std::mutex m_mutex;
    std::condition_variable m_wake;     // helpers: a new pass, or stop
    std::condition_variable m_finished; // the caller: a helper finished its chunks
    std::span<Write> m_writes;          // this pass's, while m_open
    std::atomic<qsizetype> m_next{0};
    quint64 m_pass = 0;  // counts passes, so that a helper takes part in each once
    int m_working = 0;   // helpers sending chunks of this pass
    bool m_open = false; // helpers may still join this pass
    bool m_stopping = false;
};

} // namespace Natter
