// The PROXY protocol header natterd reads from trusted proxies: every form
// HAProxy sends, cut at every byte, and what must be refused.
#include "server/proxyheader.h"

#include <QTest>
#include <QtEndian>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

const QByteArray V2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

QByteArray v2(quint8 versionCommand, quint8 family, const QByteArray &body)
{
    QByteArray header = V2Signature;
    header.append(char(versionCommand));
    header.append(char(family));
    const quint16 length = qToBigEndian(quint16(body.size()));
    header.append(reinterpret_cast<const char *>(&length), 2);
    return header + body;
}

QByteArray v2Inet(const char *source, quint16 sourcePort, const QByteArray &tlvs = {})
{
    QByteArray body;
    const quint32 from = qToBigEndian(QHostAddress(QString::fromLatin1(source)).toIPv4Address());
    const quint32 to = qToBigEndian(QHostAddress(u"10.0.0.11"_s).toIPv4Address());
    const quint16 fromPort = qToBigEndian(sourcePort);
    const quint16 toPort = qToBigEndian(quint16(5000));
    body.append(reinterpret_cast<const char *>(&from), 4);
    body.append(reinterpret_cast<const char *>(&to), 4);
    body.append(reinterpret_cast<const char *>(&fromPort), 2);
    body.append(reinterpret_cast<const char *>(&toPort), 2);
    return v2(0x21, 0x11, body + tlvs);
}

} // namespace

class TestProxyHeader final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void readsEveryFormAndLeavesTheClientsBytes_data();
    void readsEveryFormAndLeavesTheClientsBytes();
    void everyPrefixAsksForMore();
    void refusesWhatIsNotAHeader_data();
    void refusesWhatIsNotAHeader();
};

void TestProxyHeader::readsEveryFormAndLeavesTheClientsBytes_data()
{
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<QString>("source");
    QTest::addColumn<int>("port");
    QTest::newRow("v1 TCP4") << QByteArray("PROXY TCP4 192.0.2.7 10.0.0.11 51234 5000\r\n") << u"192.0.2.7"_s
                             << 51234;
    QTest::newRow("v1 TCP6") << QByteArray("PROXY TCP6 2001:db8::7 2001:db8::1 40000 5000\r\n")
                             << u"2001:db8::7"_s << 40000;
    QTest::newRow("v1 UNKNOWN") << QByteArray("PROXY UNKNOWN\r\n") << QString() << 0;
    QTest::newRow("v1 longest") << QByteArray("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                                              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n")
                                << u"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"_s << 65535;
    QTest::newRow("v2 INET") << v2Inet("198.51.100.9", 443) << u"198.51.100.9"_s << 443;
    QTest::newRow("v2 INET with TLVs") << v2Inet("198.51.100.9", 443,
                                                 QByteArray("\x04\x00\x03"
                                                            "abc",
                                                            6))
                                       << u"198.51.100.9"_s << 443;
    QByteArray inet6(36, '\0');
    inet6[0] = char(0x20);
    inet6[1] = char(0x01);
    inet6[15] = char(0x07);
    inet6[32] = char(0x9c);
    inet6[33] = char(0x40);
    QTest::newRow("v2 INET6") << v2(0x21, 0x21, inet6) << u"2001::7"_s << 40000;
    QTest::newRow("v2 LOCAL (a health check)") << v2(0x20, 0x00, {}) << QString() << 0;
    QTest::newRow("v2 UNSPEC") << v2(0x21, 0x00, QByteArray(4, 'x')) << QString() << 0;
}

void TestProxyHeader::readsEveryFormAndLeavesTheClientsBytes()
{
    QFETCH(QByteArray, header);
    QFETCH(QString, source);
    QFETCH(int, port);
    // The client's first bytes follow at once; none of them is taken.
    const QByteArray client("GET / HTTP/1.1\r\nHost: natter\r\n\r\n");
    const ProxyHeader parsed = ProxyHeader::parse(QByteArray(header + client));
    QCOMPARE(parsed.status, ProxyHeader::Status::Complete);
    QCOMPARE(parsed.length, header.size());
    QCOMPARE(parsed.source.isNull() ? QString() : parsed.source.toString(), source);
    QCOMPARE(int(parsed.sourcePort), port);
}

void TestProxyHeader::everyPrefixAsksForMore()
{
    for (const QByteArray &header :
         {QByteArray("PROXY TCP4 192.0.2.7 10.0.0.11 51234 5000\r\n"), v2Inet("192.0.2.7", 51234)}) {
        for (qsizetype cut = 0; cut < header.size(); ++cut)
            QVERIFY2(ProxyHeader::parse(header.first(cut)).status == ProxyHeader::Status::NeedMore,
                     qPrintable(u"cut at %1 of %2"_s.arg(cut).arg(header.size())));
        QCOMPARE(ProxyHeader::parse(header).status, ProxyHeader::Status::Complete);
    }
}

void TestProxyHeader::refusesWhatIsNotAHeader_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("an HTTP request") << QByteArray("GET / HTTP/1.1\r\n");
    QTest::newRow("a TLS ClientHello") << QByteArray("\x16\x03\x01\x02\x00", 5);
    QTest::newRow("v1 without CRLF within 107 bytes") << QByteArray("PROXY TCP4 ") + QByteArray(120, '1');
    QTest::newRow("v1 with NUL and LF inside")
        << QByteArray("PROXY TCP4 192.0.2.7 10.0\0\n.0.11 1 2\r\n", 39);
    QTest::newRow("v1 with LF only") << QByteArray("PROXY TCP4 192.0.2.7 10.0.0.11 1 2\n");
    QTest::newRow("v1 short form of IPv4") << QByteArray("PROXY TCP4 127.1 10.0.0.11 1 2\r\n");
    QTest::newRow("v1 IPv6 said to be TCP4") << QByteArray("PROXY TCP4 ::1 ::1 1 2\r\n");
    QTest::newRow("v1 port too big") << QByteArray("PROXY TCP4 192.0.2.7 10.0.0.11 65536 2\r\n");
    QTest::newRow("v1 port with a sign") << QByteArray("PROXY TCP4 192.0.2.7 10.0.0.11 +1 2\r\n");
    QTest::newRow("v1 missing a field") << QByteArray("PROXY TCP4 192.0.2.7 10.0.0.11 1\r\n");
    QTest::newRow("v1 UDP") << QByteArray("PROXY UDP4 192.0.2.7 10.0.0.11 1 2\r\n");
    QTest::newRow("v2 version 3") << v2(0x31, 0x11, QByteArray(12, '\0'));
    QTest::newRow("v2 command 2") << v2(0x22, 0x11, QByteArray(12, '\0'));
    QTest::newRow("v2 UDP") << v2(0x21, 0x12, QByteArray(12, '\0'));
    QTest::newRow("v2 INET too short") << v2(0x21, 0x11, QByteArray(11, '\0'));
    QTest::newRow("v2 INET6 too short") << v2(0x21, 0x21, QByteArray(35, '\0'));
    QTest::newRow("v2 UNIX") << v2(0x21, 0x31, QByteArray(216, '\0'));
    QTest::newRow("v2 longer than natterd takes") << v2(0x21, 0x11, QByteArray(600, '\0')).first(16);
}

void TestProxyHeader::refusesWhatIsNotAHeader()
{
    QFETCH(QByteArray, bytes);
    const ProxyHeader parsed = ProxyHeader::parse(bytes);
    QCOMPARE(parsed.status, ProxyHeader::Status::Invalid);
    QVERIFY(!parsed.error.isEmpty());
}

QTEST_APPLESS_MAIN(TestProxyHeader)
#include "tst_proxyheader.moc"
