#include "common/fingerprint.h"
#include "common/invitelink.h"

#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;

class TestInviteLink : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTrips();
    void parsesWhatPeoplePaste_data();
    void parsesWhatPeoplePaste();
    void fingerprintsReadAloud();
};

namespace {
const QString Fp = u"72d74d03310449cf738535f70919693a02e1b1caa271559dbbf6783911dff5d7"_s;
}

void TestInviteLink::roundTrips()
{
    const InviteLink link{u"192.168.1.20"_s, 5001, u"Xy_-42"_s, Fp};
    const QString text = link.toString();
    QCOMPARE(text, u"natter://192.168.1.20:5001/?invite=Xy_-42&fp="_s + Fp);
    const auto parsed = InviteLink::parse(text);
    QVERIFY(parsed);
    QCOMPARE(parsed->host, link.host);
    QCOMPARE(parsed->port, link.port);
    QCOMPARE(parsed->invite, link.invite);
    QCOMPARE(parsed->fingerprint, Fp);
    QCOMPARE(parsed->serverUrl(), QUrl(u"wss://192.168.1.20:5001"_s));
    // Without an invite code (open registration) it still pins.
    const auto open = InviteLink::parse(InviteLink{u"lab-box"_s, 5000, {}, Fp}.toString());
    QVERIFY(open && open->invite.isEmpty() && open->fingerprint == Fp);
}

void TestInviteLink::parsesWhatPeoplePaste_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::newRow("with spaces around") << u"  natter://h:5000/?fp="_s + Fp + u"\n"_s << true;
    QTest::newRow("upper-case fingerprint") << u"natter://h/?fp="_s + Fp.toUpper() << true;
    QTest::newRow("default port") << u"natter://h/?invite=a&fp="_s + Fp << true;
    QTest::newRow("no fingerprint") << u"natter://h:5000/?invite=abc"_s << false;
    QTest::newRow("short fingerprint") << u"natter://h:5000/?fp=abcd"_s << false;
    QTest::newRow("another scheme") << u"https://h:5000/?fp="_s + Fp << false;
    QTest::newRow("no host") << u"natter:///?fp="_s + Fp << false;
    QTest::newRow("invite with spaces") << u"natter://h/?invite=a%20b&fp="_s + Fp << false;
    QTest::newRow("just text") << u"hello"_s << false;
}

void TestInviteLink::parsesWhatPeoplePaste()
{
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QCOMPARE(InviteLink::parse(text).has_value(), valid);
}

void TestInviteLink::fingerprintsReadAloud()
{
    QCOMPARE(Fingerprint::display(Fp),
             u"72D7 4D03 3104 49CF 7385 35F7 0919 693A 02E1 B1CA A271 559D BBF6 7839 11DF F5D7"_s);
    QCOMPARE(
        Fingerprint::normalized(
            u"72:D7:4D:03:31:04:49:CF:73:85:35:F7:09:19:69:3A:02:E1:B1:CA:A2:71:55:9D:BB:F6:78:39:11:DF:F5:D7"_s),
        Fp);
    QVERIFY(Fingerprint::normalized(u"xyz"_s).isEmpty());
}

QTEST_GUILESS_MAIN(TestInviteLink)
#include "tst_invitelink.moc"
