#pragma once

// What the benchmarks read of a process from /proc (Linux): resident memory and
// CPU time. pid 0 is the calling process.

#include <QByteArray>
#include <QFile>
#include <QList>
#include <QString>

#include <unistd.h>

namespace Natter::Bench {

inline QString procPath(qint64 pid, const char *file)
{
    return pid == 0 ? QStringLiteral("/proc/self/%1").arg(QLatin1String(file))
                    : QStringLiteral("/proc/%1/%2").arg(pid).arg(QLatin1String(file));
}

/// VmRSS in KiB, -1 if it cannot be read.
inline qint64 rssKiB(qint64 pid = 0)
{
    QFile status(procPath(pid, "status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

/// utime + stime in seconds, -1 if it cannot be read.
inline double cpuSeconds(qint64 pid = 0)
{
    QFile stat(procPath(pid, "stat"));
    if (!stat.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray line = stat.readAll();
    // After "pid (comm) ": state is field 0, utime field 11, stime field 12.
    const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
    return double(fields.value(11).toLongLong() + fields.value(12).toLongLong()) /
           double(sysconf(_SC_CLK_TCK));
}

} // namespace Natter::Bench
