#include "app/appsettings.h"
#include "app/autostart.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace Natter;

class TestAppSettings final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTrips();
    void recentServersAreMostRecentFirstAndBounded();
    void conversationsAreKeptPerServer();
    void startOnLoginIsAnAutostartEntry();
};

void TestAppSettings::roundTrips()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("natter.ini"));
    const QUrl server(QStringLiteral("ws://192.168.1.20:5000"));
    const QList<AppSettings::OpenConversation> open{
        {ConversationKey::room(QStringLiteral("general")), {}},
        {ConversationKey::direct(QStringLiteral("bob@example.org")), QStringLiteral("Bob")}};
    {
        AppSettings settings = AppSettings::fromFile(path);
        settings.setIdentity(User{QStringLiteral("Zoë"), QStringLiteral("zoe@example.org")});
        settings.addRecentServer(server);
        settings.setOpenConversations(server, open);
        settings.setCurrentConversation(server, open.at(1).key.toString());
        settings.setWindowGeometry(QByteArray("geometry\0bytes", 14));
        settings.setHostName(QStringLiteral("Lab chat"));
        QVERIFY(settings.showSidebar() && settings.showMembers()); // by default
        settings.setPanes(true, false);
        settings.setServerId(QStringLiteral("192.168.1.20:5000"),
                             QStringLiteral("6f1c0d2e9a7b4c3d8e5f60718293a4b5"));
        settings.setHostedLastTime(true);
        QVERIFY(!settings.compactMessages() && settings.sortByActivity()); // by default
        QCOMPARE(settings.theme(), QStringLiteral("system"));
        settings.setCompactMessages(true);
        settings.setSortByActivity(false);
        settings.setTheme(QStringLiteral("dark"));
        QVERIFY(settings.notificationsEnabled() && !settings.keepRunningInTray()); // by default
        settings.setNotificationsEnabled(false);
        settings.setKeepRunningInTray(true);
        settings.setMutedConversations(server, {ConversationKey::room(QStringLiteral("random"))});
        Message unsent;
        unsent.to = QStringLiteral("bob@example.org");
        unsent.text = QStringLiteral("see you at 3?\nor 4");
        unsent.clientId = QStringLiteral("c-42");
        unsent.timestamp = QDateTime(QDate(2026, 11, 26), QTime(10, 15, 30, 123), Qt::UTC);
        settings.setOutbox(server, {unsent});
        settings.sync();
    }
    AppSettings settings = AppSettings::fromFile(path);
    QCOMPARE(settings.identity(), (User{QStringLiteral("Zoë"), QStringLiteral("zoe@example.org")}));
    QCOMPARE(settings.recentServers(), QList<QUrl>{server});
    QCOMPARE(settings.openConversations(server), open);
    QCOMPARE(settings.currentConversation(server), QStringLiteral("direct:bob@example.org"));
    QCOMPARE(settings.windowGeometry(), QByteArray("geometry\0bytes", 14));
    QCOMPARE(settings.hostName(), QStringLiteral("Lab chat"));
    QVERIFY(settings.showSidebar());
    QVERIFY(!settings.showMembers());
    QCOMPARE(settings.serverId(QStringLiteral("192.168.1.20:5000")),
             QStringLiteral("6f1c0d2e9a7b4c3d8e5f60718293a4b5"));
    QVERIFY(settings.serverId(QStringLiteral("192.168.1.21:5000")).isEmpty());
    QVERIFY(settings.hostedLastTime());
    QVERIFY(settings.compactMessages());
    QVERIFY(!settings.sortByActivity());
    QCOMPARE(settings.theme(), QStringLiteral("dark"));
    QVERIFY(!settings.notificationsEnabled());
    QVERIFY(settings.keepRunningInTray());
    QCOMPARE(settings.mutedConversations(server),
             QList<ConversationKey>{ConversationKey::room(QStringLiteral("random"))});
    QVERIFY(settings.mutedConversations(QUrl(QStringLiteral("ws://other:5000"))).isEmpty());
    const QList<Message> outbox = settings.outbox(server);
    QCOMPARE(outbox.size(), 1);
    QCOMPARE(outbox.at(0).to, QStringLiteral("bob@example.org"));
    QCOMPARE(outbox.at(0).text, QStringLiteral("see you at 3?\nor 4"));
    QCOMPARE(outbox.at(0).clientId, QStringLiteral("c-42"));
    QCOMPARE(outbox.at(0).timestamp, QDateTime(QDate(2026, 11, 26), QTime(10, 15, 30, 123), Qt::UTC));
    settings.setOutbox(server, {});
    QVERIFY(settings.outbox(server).isEmpty());
}

void TestAppSettings::recentServersAreMostRecentFirstAndBounded()
{
    QTemporaryDir dir;
    AppSettings settings = AppSettings::fromFile(dir.filePath(QStringLiteral("natter.ini")));
    for (int i = 0; i < AppSettings::MaxRecentServers + 3; ++i)
        settings.addRecentServer(QUrl(QStringLiteral("ws://10.0.0.%1:5000").arg(i)));
    settings.addRecentServer(QUrl(QStringLiteral("ws://10.0.0.5:5000")));
    const QList<QUrl> recent = settings.recentServers();
    QCOMPARE(recent.size(), AppSettings::MaxRecentServers);
    QCOMPARE(recent.at(0), QUrl(QStringLiteral("ws://10.0.0.5:5000")));
    QCOMPARE(recent.at(1), QUrl(QStringLiteral("ws://10.0.0.10:5000")));
    QCOMPARE(recent.count(QUrl(QStringLiteral("ws://10.0.0.5:5000"))), 1);
}

void TestAppSettings::conversationsAreKeptPerServer()
{
    QTemporaryDir dir;
    AppSettings settings = AppSettings::fromFile(dir.filePath(QStringLiteral("natter.ini")));
    const QUrl a(QStringLiteral("ws://10.0.0.1:5000"));
    const QUrl b(QStringLiteral("ws://10.0.0.2:5000"));
    settings.setOpenConversations(a, {{ConversationKey::room(QStringLiteral("alpha")), {}}});
    settings.setOpenConversations(b, {{ConversationKey::room(QStringLiteral("beta")), {}},
                                      {ConversationKey::room(QStringLiteral("gamma")), {}}});
    settings.setOpenConversations(a, {{ConversationKey::room(QStringLiteral("delta")), {}}});
    QCOMPARE(settings.openConversations(a).size(), 1);
    QCOMPARE(settings.openConversations(a).at(0).key.name, QStringLiteral("delta"));
    QCOMPARE(settings.openConversations(b).size(), 2);
    QVERIFY(settings.openConversations(QUrl(QStringLiteral("ws://10.0.0.3:5000"))).isEmpty());
}

void TestAppSettings::startOnLoginIsAnAutostartEntry()
{
    QTemporaryDir config;
    qputenv("XDG_CONFIG_HOME", config.path().toUtf8());
    QCOMPARE(Autostart::location(), config.filePath(QStringLiteral("autostart/org.natter.Natter.desktop")));
    QVERIFY(!Autostart::isEnabled());
    QString error;
    // A path with a space and a quote, as an installed app may have.
    const QString program = QStringLiteral("/opt/My Apps/natter \"beta\"/natter");
    QVERIFY2(Autostart::setEnabled(true, program, &error), qPrintable(error));
    QVERIFY(Autostart::isEnabled());
    QFile entry(Autostart::location());
    QVERIFY(entry.open(QIODevice::ReadOnly));
    const QString contents = QString::fromUtf8(entry.readAll());
    QVERIFY(contents.startsWith(QStringLiteral("[Desktop Entry]\n")));
    QVERIFY(contents.contains(QStringLiteral("\nType=Application\n")));
    QVERIFY2(contents.contains(QStringLiteral("\nExec=\"/opt/My Apps/natter \\\"beta\\\"/natter\"\n")),
             qPrintable(contents));
    QVERIFY(Autostart::setEnabled(false, program, &error));
    QVERIFY(!Autostart::isEnabled());
    QVERIFY(Autostart::setEnabled(false, program, &error)); // already off: fine
    // A folder that cannot be created is said, not ignored.
    QFile blocker(config.filePath(QStringLiteral("blocked")));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    qputenv("XDG_CONFIG_HOME", config.filePath(QStringLiteral("blocked")).toUtf8());
    QVERIFY(!Autostart::setEnabled(true, program, &error));
    QVERIFY(!error.isEmpty());
    qunsetenv("XDG_CONFIG_HOME");
}

QTEST_GUILESS_MAIN(TestAppSettings)
#include "tst_appsettings.moc"
