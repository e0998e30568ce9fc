#pragma once

#include <QByteArray>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QUrl>

/// The real natterd binary as a child process, on a free loopback port, plain
/// ws:// and without discovery unless the arguments say otherwise.
class NatterdProcess
{
public:
    NatterdProcess(QString program, QString databasePath)
        : m_program(std::move(program))
        , m_databasePath(std::move(databasePath))
    {}
    ~NatterdProcess() { kill(); }
    NatterdProcess(const NatterdProcess &) = delete;
    NatterdProcess &operator=(const NatterdProcess &) = delete;

    /// Extra environment (e.g. LD_PRELOAD of libfaketime) for the next start.
    void setEnvironment(const QProcessEnvironment &environment) { m_environment = environment; }
    /// Starts natterd and waits for "listening on"; returns the port, 0 when it
    /// did not come up (see output() and exitCode()). A restart reuses the port.
    quint16 start(const QStringList &extraArguments = {});
    /// SIGTERM, and waits for the exit; returns the exit code (-1: it did not end).
    int terminate();
    /// SIGKILL: no shutdown, no final commit, as a power cut.
    void kill();

    QProcess &process() { return m_process; }
    qint64 pid() const { return m_process.processId(); }
    quint16 port() const { return m_port; }
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(m_port)); }
    /// Everything natterd wrote to standard output and error so far.
    QByteArray output();
    bool isRunning() const { return m_process.state() != QProcess::NotRunning; }
    /// Waits for natterd to end on its own; returns its exit code (-1: still running).
    int waitForExit(int timeoutMs = 10000);

private:
    QString m_program;
    QString m_databasePath;
    QProcessEnvironment m_environment = QProcessEnvironment::systemEnvironment();
    QProcess m_process;
    QByteArray m_output;
    quint16 m_port = 0;
};
