#pragma once

#include <QMutex>
#include <QThread>
#include <QWaitCondition>

namespace Natter {

/// Copies an SQLite database's write-ahead log back into the database file
/// from a thread of its own, with its own connection.
///
/// SQLite's automatic checkpoint runs inside whichever commit crosses the
/// threshold, so on natterd's event loop every few thousand messages one
/// commit stalled every client for milliseconds (the p99 latency). A passive
/// checkpoint on another connection never blocks the writer.
class WalCheckpointer final : public QThread
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WalCheckpointer)

public:
    WalCheckpointer(QString databasePath, unsigned long intervalMs, QObject *parent = nullptr);
    ~WalCheckpointer() override;

    /// Asks the thread to finish its current checkpoint and stop; waits for it.
    void stop();

protected:
    void run() override;

private:
    QString m_path;
    unsigned long m_intervalMs;
    QMutex m_mutex;
    QWaitCondition m_wake;
    bool m_stopping = false;
};

} // namespace Natter
