#include "server/storewriter.h"

#include "server/serverlogging.h"

using namespace Qt::StringLiterals;

namespace Natter {

StoreWriter::StoreWriter(Factory factory, QObject *parent)
    : QObject(parent)
    , m_factory(std::move(factory))
{
    m_thread.setObjectName(u"natter-store-writer"_s);
}

StoreWriter::~StoreWriter()
{
    if (!m_thread.isRunning())
        return;
    // Queued after every job: they all finish first, then the connection
    // closes on the thread that opened it.
    QMetaObject::invokeMethod(
        m_context,
        [this] {
            m_store.reset();
            delete m_context;
        },
        Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

bool StoreWriter::start()
{
    m_context = new QObject;
    m_context->moveToThread(&m_thread);
    m_thread.start();
    QMetaObject::invokeMethod(
        m_context, [this] { m_store = m_factory(&m_errorString); }, Qt::BlockingQueuedConnection);
    if (m_store)
        return true;
    QMetaObject::invokeMethod(
        m_context, [this] { delete m_context; }, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    return false;
}

void StoreWriter::append(QList<MessageDraft> drafts, std::chrono::microseconds wait)
{
    Q_ASSERT(!m_busy);
    m_busy = true;
    {
        QMutexLocker locker(&m_mutex);
        m_appendDone = false;
    }
    QMetaObject::invokeMethod(
        m_context,
        [this, drafts = std::move(drafts)] {
            AppendReport report;
            report.stored = m_store->append(drafts);
            if (!report.stored) {
                report.errorString = m_store->errorString();
                report.full = m_store->isFull();
            }
            complete(
                [this, report = std::move(report)] {
                    m_busy = false;
                    Q_EMIT appended(report);
                },
                true);
        },
        Qt::QueuedConnection);
    if (wait.count() <= 0)
        return;
    {
        QMutexLocker locker(&m_mutex);
        const QDeadlineTimer deadline(std::chrono::duration_cast<std::chrono::nanoseconds>(wait),
                                      Qt::PreciseTimer);
        while (!m_appendDone && !deadline.hasExpired())
            m_appendDoneChanged.wait(&m_mutex, deadline);
        if (!m_appendDone)
            return; // a slow commit: reported when it is done
    }
    runCompletions(); // what was done before it first, then its report
}

void StoreWriter::post(std::function<void(MessageStore &)> job)
{
    QMetaObject::invokeMethod(
        m_context, [this, job = std::move(job)] { job(*m_store); }, Qt::QueuedConnection);
}

void StoreWriter::run(std::function<Completion(MessageStore &)> job)
{
    QMetaObject::invokeMethod(
        m_context, [this, job = std::move(job)] { complete(job(*m_store), false); }, Qt::QueuedConnection);
}

void StoreWriter::waitForIdle()
{
    QMetaObject::invokeMethod(
        m_context, [] {}, Qt::BlockingQueuedConnection);
    runCompletions();
}

void StoreWriter::complete(Completion completion, bool isAppend)
{
    bool first = false;
    {
        QMutexLocker locker(&m_mutex);
        first = m_completions.isEmpty();
        m_completions.append(std::move(completion));
        if (isAppend) {
            m_appendDone = true;
            m_appendDoneChanged.wakeAll();
        }
    }
    if (first) // one trip through the event loop runs all that queue meanwhile
        QMetaObject::invokeMethod(this, &StoreWriter::runCompletions, Qt::QueuedConnection);
}

void StoreWriter::runCompletions()
{
    for (;;) {
        Completion next;
        {
            QMutexLocker locker(&m_mutex);
            if (m_completions.isEmpty())
                return;
            next = m_completions.takeFirst();
        }
        next();
    }
}

} // namespace Natter
