// The natter binary's command line, run for real with QProcess.
#include <QProcess>
#include <QTest>

class TestNatter final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void versionAndHelp();
    void usageErrors_data();
    void usageErrors();

private:
    static QProcess *run(const QStringList &arguments, QObject *parent)
    {
        auto *process = new QProcess(parent);
        process->start(QStringLiteral(NATTER_PATH), arguments);
        return process;
    }
};

void TestNatter::versionAndHelp()
{
    QProcess *version = run({QStringLiteral("--version")}, this);
    QVERIFY(version->waitForFinished(10000));
    QCOMPARE(version->exitCode(), 0);
    QCOMPARE(version->readAllStandardOutput().trimmed(), QByteArray("natter " NATTER_VERSION));

    QProcess *help = run({QStringLiteral("--help")}, this);
    QVERIFY(help->waitForFinished(10000));
    QCOMPARE(help->exitCode(), 0);
    const QByteArray text = help->readAllStandardOutput();
    // Chats are encrypted: the example address says wss://, as the app itself does.
    QVERIFY2(text.contains("wss://host:port") && !text.contains("ws://host"), text.constData());
    for (const char *option : {"--server", "--name", "--email", "--room", "--host", "--profile"})
        QVERIFY2(text.contains(option), option);
}

void TestNatter::usageErrors_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("unknown option") << QStringList{QStringLiteral("--bogus")} << QByteArray("Unknown option");
    QTest::newRow("not a websocket url")
        << QStringList{QStringLiteral("--server"), QStringLiteral("http://example.org")}
        << QByteArray("--server");
    QTest::newRow("bad email") << QStringList{QStringLiteral("--email"), QStringLiteral("nobody")}
                               << QByteArray("--email");
    QTest::newRow("blank name") << QStringList{QStringLiteral("--name"), QStringLiteral("   ")}
                                << QByteArray("--name");
    QTest::newRow("bad room") << QStringList{QStringLiteral("--room"), QStringLiteral("Not A Room")}
                              << QByteArray("--room");
    QTest::newRow("server and host") << QStringList{QStringLiteral("--host"), QStringLiteral("--server"),
                                                    QStringLiteral("ws://127.0.0.1:1")}
                                     << QByteArray("exclude");
    QTest::newRow("bad port") << QStringList{QStringLiteral("--port"), QStringLiteral("70000")}
                              << QByteArray("--port");
    QTest::newRow("stray argument") << QStringList{QStringLiteral("extra")} << QByteArray("unexpected");
    QTest::newRow("invite link without fingerprint")
        << QStringList{QStringLiteral("natter://127.0.0.1:5000/?invite=abc")} << QByteArray("invite link");
    QTest::newRow("password file missing")
        << QStringList{QStringLiteral("--password-file"), QStringLiteral("/nonexistent/password")}
        << QByteArray("--password-file");
}

void TestNatter::usageErrors()
{
    QFETCH(QStringList, arguments);
    QFETCH(QByteArray, message);
    QProcess *process = run(arguments, this);
    QVERIFY(process->waitForFinished(10000));
    QCOMPARE(process->exitStatus(), QProcess::NormalExit);
    QCOMPARE(process->exitCode(), 2);
    const QByteArray error = process->readAllStandardError();
    QVERIFY2(error.contains(message), error.constData());
    QVERIFY(error.contains("natter --help"));
}

QTEST_GUILESS_MAIN(TestNatter)
#include "tst_natter.moc"
