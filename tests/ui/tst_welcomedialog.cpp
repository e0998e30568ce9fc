#include "ui/welcomedialog.h"

#include <QComboBox>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

using namespace Natter;

class TestWelcomeDialog final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parsesServerAddresses_data();
    void parsesServerAddresses();
    void asksForAValidIdentity();
    void joinsAnAddressTypedIn();
    void joinsADiscoveredServer();
    void joinsAnInviteLinkPastedIn();
    void hosts();
    void enterInTheAddressFieldJoins();
    void saysSoWhenNoChatIsFound();
    void offersHostingFirstToAHost();
};

void TestWelcomeDialog::parsesServerAddresses_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QUrl>("url");
    QTest::newRow("bare host") << QStringLiteral("192.168.1.20")
                               << QUrl(QStringLiteral("wss://192.168.1.20:5000"));
    QTest::newRow("host and port") << QStringLiteral(" lab-box:5001 ")
                                   << QUrl(QStringLiteral("wss://lab-box:5001"));
    QTest::newRow("ws url") << QStringLiteral("ws://10.0.0.2:6000/")
                            << QUrl(QStringLiteral("ws://10.0.0.2:6000/"));
    QTest::newRow("ipv6") << QStringLiteral("ws://[::1]:5000") << QUrl(QStringLiteral("ws://[::1]:5000"));
    QTest::newRow("http") << QStringLiteral("http://example.org") << QUrl();
    QTest::newRow("empty") << QStringLiteral("   ") << QUrl();
    QTest::newRow("no host") << QStringLiteral("ws://:5000") << QUrl();
}

void TestWelcomeDialog::parsesServerAddresses()
{
    QFETCH(QString, text);
    QFETCH(QUrl, url);
    QCOMPARE(WelcomeDialog::parseServerAddress(text), url);
}

void TestWelcomeDialog::asksForAValidIdentity()
{
    WelcomeDialog dialog;
    dialog.show();
    dialog.addressEdit()->setEditText(QStringLiteral("127.0.0.1:5000"));
    QSignalSpy accepted(&dialog, &QDialog::accepted);
    dialog.joinButton()->click();
    QCOMPARE(accepted.count(), 0);
    QVERIFY(dialog.errorText().contains(QStringLiteral("name")));

    dialog.nameEdit()->setText(QStringLiteral("Alice"));
    dialog.emailEdit()->setText(QStringLiteral("not an email"));
    dialog.hostButton()->click();
    QCOMPARE(accepted.count(), 0);
    QVERIFY(dialog.errorText().contains(QStringLiteral("email")));
}

void TestWelcomeDialog::joinsAnAddressTypedIn()
{
    WelcomeDialog dialog;
    dialog.setIdentity(User{QStringLiteral("Alice"), QStringLiteral("Alice@Example.org")});
    dialog.show();
    QSignalSpy accepted(&dialog, &QDialog::accepted);
    dialog.addressEdit()->setEditText(QStringLiteral("http://nope"));
    dialog.joinButton()->click();
    QCOMPARE(accepted.count(), 0);
    QVERIFY(dialog.errorText().contains(QStringLiteral("address")));

    dialog.addressEdit()->setEditText(QString());
    QTest::keyClicks(dialog.addressEdit()->lineEdit(), QStringLiteral("192.168.1.20"));
    dialog.joinButton()->click();
    QCOMPARE(accepted.count(), 1);
    QCOMPARE(dialog.choice(), WelcomeDialog::Choice::Join);
    QCOMPARE(dialog.serverUrl(), QUrl(QStringLiteral("wss://192.168.1.20:5000")));
    QCOMPARE(dialog.identity().email, QStringLiteral("alice@example.org"));
}

void TestWelcomeDialog::joinsAnInviteLinkPastedIn()
{
    WelcomeDialog dialog;
    dialog.setIdentity(User{QStringLiteral("Bob"), QStringLiteral("bob@example.org")});
    dialog.show();
    QVERIFY(!dialog.inviteLink());
    const QString fp(64, QLatin1Char('c'));
    dialog.addressEdit()->setEditText(QStringLiteral(" natter://192.168.1.20:5001/?invite=abc&fp=") + fp);
    dialog.passwordEdit()->setText(QStringLiteral("bob's password"));
    dialog.setHostAccess(WelcomeDialog::HostAccess::InviteOnly);
    dialog.joinButton()->click();
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    QCOMPARE(dialog.serverUrl(), QUrl(QStringLiteral("wss://192.168.1.20:5001")));
    QVERIFY(dialog.inviteLink());
    QCOMPARE(dialog.inviteLink()->invite, QStringLiteral("abc"));
    QCOMPARE(dialog.inviteLink()->fingerprint, fp);
    QCOMPARE(dialog.password(), QStringLiteral("bob's password"));
    QCOMPARE(dialog.passwordEdit()->echoMode(), QLineEdit::Password);
    QCOMPARE(dialog.hostAccess(), WelcomeDialog::HostAccess::InviteOnly);
    // Every registration mode of natterd is offered for hosting.
    auto *access = dialog.findChild<QComboBox *>(QStringLiteral("hostAccess"));
    QVERIFY(access);
    QCOMPARE(access->count(), 3);
    dialog.setHostAccess(WelcomeDialog::HostAccess::Closed);
    QCOMPARE(dialog.hostAccess(), WelcomeDialog::HostAccess::Closed);
}

void TestWelcomeDialog::joinsADiscoveredServer()
{
    WelcomeDialog dialog;
    dialog.setIdentity(User{QStringLiteral("Bob"), QStringLiteral("bob@example.org")});
    dialog.show();
    QCOMPARE(dialog.discoveredServerCount(), 0);
    const QUrl url(QStringLiteral("ws://127.0.0.1:5123"));
    dialog.addDiscoveredServer(QStringLiteral("Alice's chat"), url, QStringLiteral("3 online"));
    dialog.addDiscoveredServer(QStringLiteral("Alice's chat"), url,
                               QStringLiteral("4 online")); // answered again
    QCOMPARE(dialog.discoveredServerCount(), 1);
    QCOMPARE(dialog.serverList()->count(), 1); // the "looking" placeholder is gone
    QVERIFY(dialog.serverList()->item(0)->text().contains(QStringLiteral("4 online")));

    QSignalSpy accepted(&dialog, &QDialog::accepted);
    Q_EMIT dialog.serverList()->itemActivated(dialog.serverList()->item(0));
    QCOMPARE(accepted.count(), 1);
    QCOMPARE(dialog.serverUrl(), url);
}

void TestWelcomeDialog::hosts()
{
    WelcomeDialog dialog;
    dialog.setIdentity(User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")});
    dialog.show();
    QSignalSpy accepted(&dialog, &QDialog::accepted);
    dialog.hostButton()->click();
    QCOMPARE(accepted.count(), 1);
    QCOMPARE(dialog.choice(), WelcomeDialog::Choice::Host);
}

QTEST_MAIN(TestWelcomeDialog)
void TestWelcomeDialog::enterInTheAddressFieldJoins()
{
    WelcomeDialog dialog;
    dialog.setIdentity(User{QStringLiteral("Bob"), QStringLiteral("bob@example.org")});
    dialog.setPreferHosting(true); // even when Host is the default button
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    dialog.addressEdit()->setEditText(QStringLiteral("192.168.1.20:5001"));
    QTest::keyClick(dialog.addressEdit()->lineEdit(), Qt::Key_Return);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    QCOMPARE(dialog.choice(), WelcomeDialog::Choice::Join);
    QCOMPARE(dialog.serverUrl(), QUrl(QStringLiteral("wss://192.168.1.20:5001")));
}

void TestWelcomeDialog::saysSoWhenNoChatIsFound()
{
    WelcomeDialog dialog;
    dialog.setSearchTimeout(std::chrono::milliseconds(50));
    dialog.show();
    QCOMPARE(dialog.serverList()->count(), 1);
    QCOMPARE(dialog.serverList()->item(0)->text(), WelcomeDialog::tr("Looking for chats…"));
    QTRY_VERIFY(dialog.serverList()->item(0)->text() != WelcomeDialog::tr("Looking for chats…"));
    QVERIFY(dialog.serverList()->item(0)->text().contains(WelcomeDialog::tr("No chats found")));
    // Found later after all: the notice goes.
    dialog.addDiscoveredServer(QStringLiteral("Lab"), QUrl(QStringLiteral("wss://10.0.0.5:5000")), {});
    QCOMPARE(dialog.serverList()->count(), 1);
    QCOMPARE(dialog.discoveredServerCount(), 1);
}

void TestWelcomeDialog::offersHostingFirstToAHost()
{
    WelcomeDialog dialog;
    dialog.setIdentity(User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")});
    dialog.setRecentServers({QUrl(QStringLiteral("wss://10.0.0.5:5000"))});
    dialog.setPreferHosting(true);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    QVERIFY(dialog.hostButton()->isDefault());
    QVERIFY(!dialog.joinButton()->isDefault());
    QVERIFY(dialog.addressEdit()->currentText().isEmpty()); // recent ones stay in the drop-down
    QCOMPARE(dialog.addressEdit()->count(), 1);
    QTest::keyClick(&dialog, Qt::Key_Return);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    QCOMPARE(dialog.choice(), WelcomeDialog::Choice::Host);
}

#include "tst_welcomedialog.moc"
