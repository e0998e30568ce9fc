#include "common/discovery.h"

#include <QTest>

using namespace Natter;

class TestDiscoveryCodec final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTrips();
    void rejectsMalformedDatagrams_data();
    void rejectsMalformedDatagrams();
    void acceptsNewerVersions();
    void announcementsStaySmall();
};

void TestDiscoveryCodec::roundTrips()
{
    const auto query = Discovery::decodeQuery(Discovery::encodeQuery());
    QVERIFY(query);
    QCOMPARE(query->version, Discovery::Version);

    const Discovery::Announcement sent{
        1,    QStringLiteral("Alice's chat ☕"),
        5000, QStringLiteral("natterd 0.1.0"),
        7,    QStringLiteral("72d74d03310449cf738535f70919693a02e1b1caa271559dbbf6783911dff5d7")};
    const auto received = Discovery::decodeAnnouncement(Discovery::encodeAnnouncement(sent));
    QVERIFY(received);
    QCOMPARE(received->name, sent.name);
    QCOMPARE(received->port, sent.port);
    QCOMPARE(received->server, sent.server);
    QCOMPARE(received->users, 7);
    QCOMPARE(received->fingerprint, sent.fingerprint);
    // A server without TLS announces none.
    const auto plain = Discovery::decodeAnnouncement(Discovery::encodeAnnouncement(
        Discovery::Announcement{1, QStringLiteral("Old"), 5000, QStringLiteral("natterd 0.1.0"), 0, {}}));
    QVERIFY(plain && plain->fingerprint.isEmpty());
    // A query is not an announcement and the other way round.
    QVERIFY(!Discovery::decodeAnnouncement(Discovery::encodeQuery()));
    QVERIFY(!Discovery::decodeQuery(Discovery::encodeAnnouncement(sent)));
}

void TestDiscoveryCodec::rejectsMalformedDatagrams_data()
{
    QTest::addColumn<QByteArray>("datagram");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("not json") << QByteArray("hello?");
    QTest::newRow("array") << QByteArray(R"([{"natter":"server","v":1,"port":5000}])");
    QTest::newRow("no kind") << QByteArray(R"({"v":1,"port":5000})");
    QTest::newRow("other kind") << QByteArray(R"({"natter":"client","v":1,"port":5000})");
    QTest::newRow("no version") << QByteArray(R"({"natter":"server","port":5000})");
    QTest::newRow("version 0") << QByteArray(R"({"natter":"server","v":0,"port":5000})");
    QTest::newRow("version text") << QByteArray(R"({"natter":"server","v":"1","port":5000})");
    QTest::newRow("version fraction") << QByteArray(R"({"natter":"server","v":1.5,"port":5000})");
    QTest::newRow("no port") << QByteArray(R"({"natter":"server","v":1})");
    // Found by fuzz_discovery: NULs in "server" made a re-encoded announcement
    // outgrow its bound; names are shown, so they follow the display-name rules.
    QTest::newRow("NUL in the server")
        << QByteArray(R"({"natter":"server","v":1,"port":5000,"server":"natterd\u0000\u0000 0.1"})");
    QTest::newRow("right-to-left override in the name")
        << QByteArray(R"({"natter":"server","v":1,"port":5000,"name":"Alice\u202e tahc"})");
    QTest::newRow("port 0") << QByteArray(R"({"natter":"server","v":1,"port":0})");
    QTest::newRow("port too big") << QByteArray(R"({"natter":"server","v":1,"port":65536})");
    QTest::newRow("port text") << QByteArray(R"({"natter":"server","v":1,"port":"5000"})");
    QTest::newRow("name not text") << QByteArray(R"({"natter":"server","v":1,"port":5000,"name":42})");
    QTest::newRow("users not a number") << QByteArray(R"({"natter":"server","v":1,"port":5000,"users":"3"})");
    QTest::newRow("fingerprint not text") << QByteArray(R"({"natter":"server","v":1,"port":5000,"fp":7})");
    QTest::newRow("fingerprint too short")
        << QByteArray(R"({"natter":"server","v":1,"port":5000,"fp":"abcd"})");
    QTest::newRow("fingerprint not hex")
        << QByteArray(R"({"natter":"server","v":1,"port":5000,"fp":")" + QByteArray(64, 'z') + R"("})");
    QTest::newRow("oversize") << (QByteArray(R"({"natter":"server","v":1,"port":5000,"name":")") +
                                  QByteArray(Discovery::MaxDatagramBytes, 'x') + QByteArray(R"("})"));
}

void TestDiscoveryCodec::rejectsMalformedDatagrams()
{
    QFETCH(QByteArray, datagram);
    QVERIFY(!Discovery::decodeAnnouncement(datagram));
    QVERIFY(!Discovery::decodeQuery(datagram));
}

void TestDiscoveryCodec::acceptsNewerVersions()
{
    const auto answer = Discovery::decodeAnnouncement(
        QByteArray(R"({"natter":"server","v":2,"port":5001,"name":"Lab","tls":true})"));
    QVERIFY(answer);
    QCOMPARE(answer->version, 2);
    QCOMPARE(answer->port, 5001);
    QVERIFY(Discovery::decodeQuery(QByteArray(R"({"natter":"query","v":3,"want":"all"})")));
}

void TestDiscoveryCodec::announcementsStaySmall()
{
    // Control characters are escaped to six bytes each: the codec cuts until it fits.
    Discovery::Announcement big;
    big.name = QString(500, QChar(0x01));
    big.server = QString(500, u'é');
    big.port = 5000;
    big.fingerprint = QString(64, u'a');
    const QByteArray datagram = Discovery::encodeAnnouncement(big);
    // No larger than needed: a spoofed query reflects little.
    QVERIFY2(datagram.size() <= Discovery::MaxAnnouncementBytes, datagram.constData());
    const auto decoded = Discovery::decodeAnnouncement(datagram);
    QVERIFY(decoded);
    QVERIFY(decoded->name.size() <= Discovery::MaxNameLength);
    QCOMPARE(decoded->fingerprint, big.fingerprint); // the name gives way, the fingerprint stays
}

QTEST_GUILESS_MAIN(TestDiscoveryCodec)
#include "tst_discoverycodec.moc"
