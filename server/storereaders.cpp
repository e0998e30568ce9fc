#include "server/storereaders.h"

#include "server/serverlogging.h"

#include <QSemaphore>

using namespace Qt::StringLiterals;

namespace Natter {

StoreReaders::StoreReaders(Factory factory, int threads, int maxQueued, QObject *parent)
    : QObject(parent)
    , m_factory(std::move(factory))
    , m_threadCount(std::max(threads, 1))
    , m_maxQueued(std::max(maxQueued, 1))
{}

StoreReaders::~StoreReaders()
{
    {
        QMutexLocker locker(&m_mutex);
        m_stopping = true;
        m_jobs.clear();
        m_wake.wakeAll();
    }
    for (const std::unique_ptr<QThread> &thread : m_threads)
        thread->wait();
    // Completions still queued for this object go with it.
}

bool StoreReaders::start()
{
    QSemaphore opened;
    QMutex errorMutex;
    bool failed = false;
    for (int i = 0; i < m_threadCount; ++i) {
        std::unique_ptr<QThread> thread(QThread::create([this, &opened, &errorMutex, &failed] {
            QString error;
            // Made, used and closed on this thread: a database connection belongs to one.
            const std::unique_ptr<MessageStore> store = m_factory(&error);
            if (!store) {
                QMutexLocker locker(&errorMutex);
                failed = true;
                m_errorString = error;
            }
            opened.release();
            if (store)
                work(store.get());
        }));
        thread->setObjectName(u"natter-store-reader-%1"_s.arg(i));
        thread->start();
        m_threads.push_back(std::move(thread));
    }
    opened.acquire(m_threadCount);
    if (!failed)
        return true;
    {
        QMutexLocker locker(&m_mutex);
        m_stopping = true;
        m_wake.wakeAll();
    }
    for (const std::unique_ptr<QThread> &thread : m_threads)
        thread->wait();
    m_threads.clear();
    return false;
}

bool StoreReaders::run(Job job)
{
    QMutexLocker locker(&m_mutex);
    if (m_stopping || qsizetype(m_jobs.size()) >= m_maxQueued)
        return false;
    m_jobs.push_back(std::move(job));
    m_wake.wakeOne();
    return true;
}

void StoreReaders::work(MessageStore *store)
{
    for (;;) {
        Job job;
        {
            QMutexLocker locker(&m_mutex);
            while (m_jobs.empty() && !m_stopping)
                m_wake.wait(&m_mutex);
            if (m_stopping)
                return;
            job = std::move(m_jobs.front());
            m_jobs.pop_front();
        }
        store->startQueryClock();
        Completion completion = job(*store);
        if (completion)
            QMetaObject::invokeMethod(this, std::move(completion), Qt::QueuedConnection);
    }
}

} // namespace Natter
