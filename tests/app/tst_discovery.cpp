// LAN discovery end to end on loopback: a DiscoveryResponder (what natterd and
// a hosted chat run) and the app's DiscoveryBrowser, talking through
// NATTER_DISCOVERY_ADDRESS = 127.255.255.255 as CTest sets it.
#include "app/discoverybrowser.h"
#include "server/discoveryresponder.h"

#include <QNetworkDatagram>
#include <QSignalSpy>
#include <QTest>
#include <QUdpSocket>

using namespace Natter;

class TestDiscovery final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void browserFindsAResponder();
    void responderIgnoresMalformedQueries();
    void browserIgnoresMalformedAnswers();
    void refusesAnUnusableDiscoveryAddress();
    void oneSenderCannotUseUpTheAnswers();

private:
    static Discovery::Announcement announcement()
    {
        return Discovery::Announcement{
            Discovery::Version,
            QStringLiteral("Alice's chat"),
            5123,
            QStringLiteral("natterd 0.1.0"),
            3,
            QStringLiteral("72d74d03310449cf738535f70919693a02e1b1caa271559dbbf6783911dff5d7")};
    }
};

void TestDiscovery::initTestCase()
{
    // Discovery traffic from tests goes to loopback and nowhere else.
    QCOMPARE(DiscoveryBrowser::queryAddress(), QHostAddress(QStringLiteral("127.255.255.255")));
}

void TestDiscovery::browserFindsAResponder()
{
    DiscoveryResponder responder(&announcement);
    QVERIFY2(responder.listen(0), qPrintable(responder.errorString()));
    DiscoveryBrowser browser;
    browser.setPort(responder.port());
    QSignalSpy found(&browser, &DiscoveryBrowser::serverFound);
    QVERIFY2(browser.start(), qPrintable(browser.errorString()));
    QTRY_VERIFY(found.count() >= 1);
    const auto server = found.at(0).at(0).value<DiscoveredServer>();
    QCOMPARE(server.name, QStringLiteral("Alice's chat"));
    QCOMPARE(server.url, QUrl(QStringLiteral("wss://127.0.0.1:5123"))); // it announces a certificate
    QCOMPARE(server.fingerprint,
             QStringLiteral("72d74d03310449cf738535f70919693a02e1b1caa271559dbbf6783911dff5d7"));
    QCOMPARE(server.server, QStringLiteral("natterd 0.1.0"));
    QCOMPARE(server.users, 3);

    // It keeps asking while the dialog is open, so late servers show up too.
    browser.setInterval(std::chrono::milliseconds(20));
    browser.start();
    QTRY_VERIFY(found.count() >= 3);
    browser.stop();
    QVERIFY(!browser.isActive());
}

void TestDiscovery::responderIgnoresMalformedQueries()
{
    DiscoveryResponder responder(&announcement);
    QVERIFY(responder.listen(0));
    QSignalSpy answered(&responder, &DiscoveryResponder::queryAnswered);
    QUdpSocket peer;
    QVERIFY(peer.bind(QHostAddress::LocalHost, 0));
    const QHostAddress target(QStringLiteral("127.0.0.1"));
    const QList<QByteArray> junk{
        QByteArray("not json"),
        QByteArray("[1,2]"),
        QByteArray(R"({"natter":"server","v":1,"port":5000})"), // an answer, not a query
        QByteArray(R"({"natter":"query"})"),                    // no version
        QByteArray(R"({"natter":"query","v":0})"),
        QByteArray(R"({"natter":"query","v":"1"})"),
        QByteArray(R"({"natter":"query","v":1,"pad":")") + QByteArray(600, 'x') +
            QByteArray(R"("})"), // oversize
        QByteArray(1, '\0'),
    };
    for (const QByteArray &datagram : junk)
        peer.writeDatagram(datagram, target, responder.port());
    // Then a good one: it is the only one answered (loopback keeps the order).
    peer.writeDatagram(Discovery::encodeQuery(), target, responder.port());
    QTRY_VERIFY(peer.hasPendingDatagrams());
    const QNetworkDatagram reply = peer.receiveDatagram();
    const auto decoded = Discovery::decodeAnnouncement(reply.data());
    QVERIFY(decoded);
    QCOMPARE(decoded->port, 5123);
    QCOMPARE(answered.count(), 1);
    QVERIFY(!peer.hasPendingDatagrams());
}

void TestDiscovery::oneSenderCannotUseUpTheAnswers()
{
    DiscoveryResponder responder(&announcement);
    QVERIFY(responder.listen(0));
    QSignalSpy answered(&responder, &DiscoveryResponder::queryAnswered);
    const QHostAddress target(QStringLiteral("127.0.0.1"));
    // A flood from one source (or spoofed as one victim) gets a handful of answers...
    QUdpSocket flooder;
    QVERIFY(flooder.bind(QHostAddress(QStringLiteral("127.0.0.1")), 0));
    for (int i = 0; i < 50; ++i)
        flooder.writeDatagram(Discovery::encodeQuery(), target, responder.port());
    // ...and someone else on the network, asking after the flood, is still answered.
    QUdpSocket colleague;
    QVERIFY(colleague.bind(QHostAddress(QStringLiteral("127.0.0.2")), 0));
    colleague.writeDatagram(Discovery::encodeQuery(), target, responder.port());
    QTRY_VERIFY(!answered.isEmpty() && answered.constLast().at(0).value<QHostAddress>() ==
                                           QHostAddress(QStringLiteral("127.0.0.2")));
    // Loopback keeps the order: the whole flood was read before the colleague's query.
    QCOMPARE(answered.count(), 5);
}

void TestDiscovery::browserIgnoresMalformedAnswers()
{
    // A fake responder that first answers garbage, then a real announcement.
    QUdpSocket fake;
    QVERIFY(fake.bind(QHostAddress::AnyIPv4, 0));
    connect(&fake, &QUdpSocket::readyRead, &fake, [&fake] {
        while (fake.hasPendingDatagrams()) {
            const QNetworkDatagram query = fake.receiveDatagram();
            if (!Discovery::decodeQuery(query.data()))
                continue;
            fake.writeDatagram(QByteArray("garbage"), query.senderAddress(), quint16(query.senderPort()));
            fake.writeDatagram(QByteArray(R"({"natter":"server","v":1,"port":70000})"), query.senderAddress(),
                               quint16(query.senderPort()));
            fake.writeDatagram(Discovery::encodeAnnouncement(announcement()), query.senderAddress(),
                               quint16(query.senderPort()));
        }
    });
    DiscoveryBrowser browser;
    browser.setPort(fake.localPort());
    QSignalSpy found(&browser, &DiscoveryBrowser::serverFound);
    QVERIFY(browser.start());
    browser.stop(); // one round only
    QTRY_COMPARE(found.count(), 1);
    QCOMPARE(found.at(0).at(0).value<DiscoveredServer>().url.port(), 5123);
}

void TestDiscovery::refusesAnUnusableDiscoveryAddress()
{
    const QByteArray saved = qgetenv(Discovery::AddressVariable);
    qputenv(Discovery::AddressVariable, "not-an-address");
    DiscoveryBrowser browser;
    const bool started = browser.start();
    qputenv(Discovery::AddressVariable, saved);
    QVERIFY(!started);
    QVERIFY(browser.errorString().contains(QStringLiteral("NATTER_DISCOVERY_ADDRESS")));
    QVERIFY(!browser.isActive());
}

QTEST_GUILESS_MAIN(TestDiscovery)
#include "tst_discovery.moc"
