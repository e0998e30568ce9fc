#include "tests/support/natterdprocess.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;

quint16 NatterdProcess::start(const QStringList &extraArguments)
{
    kill();
    m_output.clear();
    m_process.setProgram(m_program);
    m_process.setProcessEnvironment(m_environment);
    m_process.setProcessChannelMode(QProcess::MergedChannels);
    QStringList arguments{u"--host"_s, u"127.0.0.1"_s, u"--port"_s, QString::number(m_port),
                          u"--db"_s,   m_databasePath};
    if (!extraArguments.contains(u"--discovery-port"_s))
        arguments << u"--no-discovery"_s;
    if (!extraArguments.contains(u"--tls-cert"_s))
        arguments << u"--no-tls"_s;
    m_process.setArguments(arguments + extraArguments);
    m_process.start();
    if (!m_process.waitForStarted())
        return 0;
    static const QRegularExpression listening(u"listening on 127\\.0\\.0\\.1:(\\d+)"_s);
    QRegularExpressionMatch match;
    const bool ended = QTest::qWaitFor(
        [&] {
            match = listening.match(QString::fromUtf8(output()));
            return match.hasMatch() || m_process.state() == QProcess::NotRunning;
        },
        10000);
    if (!ended || !match.hasMatch())
        return 0;
    m_port = quint16(match.captured(1).toUInt());
    return m_port;
}

QByteArray NatterdProcess::output()
{
    m_output += m_process.readAll();
    return m_output;
}

int NatterdProcess::waitForExit(int timeoutMs)
{
    if (m_process.state() != QProcess::NotRunning && !m_process.waitForFinished(timeoutMs))
        return -1;
    output();
    return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
}

int NatterdProcess::terminate()
{
    if (m_process.state() == QProcess::NotRunning)
        return m_process.exitCode();
    m_process.terminate();
    return waitForExit();
}

void NatterdProcess::kill()
{
    if (m_process.state() == QProcess::NotRunning)
        return;
    m_process.kill();
    m_process.waitForFinished(5000);
    output();
}
