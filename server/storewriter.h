#pragma once

#include "server/messagestore.h"

#include <QMutex>
#include <QObject>
#include <QThread>
#include <QWaitCondition>

#include <chrono>

#include <functional>
#include <memory>
#include <optional>

namespace Natter {

/// What a batch handed to the StoreWriter became.
struct AppendReport
{
    std::optional<QList<StoredMessage>> stored; ///< nullopt: nothing was stored
    QString errorString;                        ///< why, when nothing was
    bool full = false;                          ///< for want of space
};

/// Commits messages on a thread of its own, with its own connection to the
/// store, so that a slow disk (a laptop's, a cloud volume's, one busy with a
/// checkpoint's fsync) delays acknowledgements and never the event loop.
///
/// One batch at a time: the server hands over what it accepted, keeps
/// serving, and hands over everything that queued meanwhile when appended()
/// reports the batch (group commit by construction). The store is made, used
/// and destroyed on the writer's thread; this object lives on the caller's.
class StoreWriter final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StoreWriter)

public:
    /// Makes and opens the writer's store on the writer's thread; nullptr
    /// and *error if it could not.
    using Factory = std::function<std::unique_ptr<MessageStore>(QString *error)>;

    explicit StoreWriter(Factory factory, QObject *parent = nullptr);
    /// Finishes the batch under way (its report is not emitted), closes the
    /// store and joins the thread.
    ~StoreWriter() override;

    /// Starts the thread and opens the store there; false and errorString() if it could not.
    bool start();
    QString errorString() const { return m_errorString; }

    /// Hands a batch over; appended() reports it. At most one at a time.
    /// Waits up to wait for the commit: one that is done by then is reported
    /// before this returns, without a trip through the event loop (on a
    /// busy two-core machine each trip may wait for a time slice); a slower
    /// one (a stalled disk) is reported when it is done, while the event
    /// loop goes on.
    void append(QList<MessageDraft> drafts, std::chrono::microseconds wait = std::chrono::microseconds(0));
    bool isBusy() const { return m_busy; }
    /// Runs job on the writer's store after what was handed over before it
    /// (writes that must not wait for the store's lock on the event loop:
    /// the room directory). Nothing is reported.
    void post(std::function<void(MessageStore &)> job);

    /// What a job hands back to run on this object's thread once it is done.
    using Completion = std::function<void()>;
    /// Runs job on the writer's store after what was handed over before it,
    /// and then, on this object's thread, the completion it returns. Every
    /// completion and every appended() report comes in the order its job
    /// ran on the writer (the order they were handed over): an edit handed
    /// over before a batch of messages is reported before them.
    void run(std::function<Completion(MessageStore &)> job);

    /// Waits until everything handed over is done and runs every completion
    /// and the report of the batch under way, if any, before returning: for
    /// shutdown.
    void waitForIdle();

Q_SIGNALS:
    void appended(const Natter::AppendReport &report);

private:
    /// On the writer's thread: queues a job's completion for this object's thread.
    void complete(Completion completion, bool isAppend);
    /// Runs the completions that are done, one at a time and in order (a
    /// completion may hand over more work and wait for it: it goes on where
    /// this left off).
    void runCompletions();

    Factory m_factory;
    QThread m_thread;
    QObject *m_context = nullptr;          // lives on m_thread: what jobs are queued to
    std::unique_ptr<MessageStore> m_store; // used on m_thread only
    QString m_errorString;
    bool m_busy = false;
    QMutex m_mutex; // guards m_completions and m_appendDone
    QWaitCondition m_appendDoneChanged;
    QList<Completion> m_completions; // done on the writer, in order, until run here
    bool m_appendDone = false;       // the batch under way is among m_completions
};

} // namespace Natter
