#pragma once

#include "server/messagestore.h"

#include <QMutex>
#include <QObject>
#include <QThread>
#include <QWaitCondition>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

namespace Natter {

/// Runs the reads that cost the server most (a full-text search, a page deep
/// in the directory) on threads of their own, each with its own read-only
/// connection to the store, so that one person's expensive question never
/// holds up the event loop that carries everyone's messages.
///
/// Bounded everywhere: a few threads, a queue of at most maxQueued jobs (run()
/// says false beyond it: the server answers "busy"), and a time limit on the
/// reads of each job (the store's startQueryClock()). The server runs at most
/// one job per connection at a time. Jobs are taken in the order they come.
class StoreReaders final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StoreReaders)

public:
    /// Makes and opens a reader's store, on the thread that will use it.
    using Factory = MessageStore::WriterFactory;
    /// What a job hands back to run on this object's thread.
    using Completion = std::function<void()>;
    using Job = std::function<Completion(MessageStore &)>;

    StoreReaders(Factory factory, int threads, int maxQueued, QObject *parent = nullptr);
    /// Lets the jobs under way finish, drops the rest and their completions, joins the threads.
    ~StoreReaders() override;

    /// Starts the threads and opens their stores; false and errorString() if one could not.
    bool start();
    QString errorString() const { return m_errorString; }

    /// Queues job for the next free thread; its completion runs here once it
    /// is done. False (nothing queued) when maxQueued jobs wait already.
    bool run(Job job);

private:
    void work(MessageStore *store);

    Factory m_factory;
    int m_threadCount;
    int m_maxQueued;
    QString m_errorString;
    std::vector<std::unique_ptr<QThread>> m_threads;
    QMutex m_mutex; // guards what follows
    QWaitCondition m_wake;
    std::deque<Job> m_jobs;
    bool m_stopping = false;
};

} // namespace Natter
