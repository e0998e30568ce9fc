// The transport alone, under a ten-line echo layer instead of the chat
// server: connection limits, deadlines, heartbeats and output caps hold
// whatever protocol runs above them.

#include "server/connection.h"
#include "server/tlsidentity.h"
#include "server/transport.h"
#include "tests/support/rawwebsocket.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QWebSocket>
#include <QtEndian>

#include <sys/resource.h>
#include <unistd.h>

using namespace Natter;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace {

/// Echoes every text frame; "sign in" marks the connection signed in.
class EchoLayer final : public QObject
{
public:
    explicit EchoLayer(Transport *transport)
    {
        connect(transport, &Transport::connectionOpened, this, [this](Connection *connection) {
            connections.append(connection);
            connect(connection, &Connection::textReceived, this, [connection](const QByteArray &utf8) {
                if (utf8 == "sign in")
                    connection->setSignIn(Connection::SignIn::SignedIn);
                connection->sendWireFrame(Connection::wireFrame(utf8));
            });
            connect(connection, &Connection::closed, this, [this, connection] {
                connections.removeOne(connection);
                ++closed;
            });
        });
    }
    QList<Connection *> connections;
    int closed = 0;
};

ServerConfig loopbackConfig()
{
    ServerConfig config;
    config.host = QHostAddress::LocalHost;
    config.port = 0;
    return config;
}

QUrl urlOf(const Transport &transport)
{
    return QUrl(u"ws://127.0.0.1:%1"_s.arg(transport.serverPort()));
}

/// natterd's own self-signed identity, made once for the whole suite.
const TlsIdentity &testIdentity()
{
    static QTemporaryDir dir;
    static const std::optional<TlsIdentity> identity = [] {
        QString error;
        return TlsIdentity::loadOrCreateSelfSigned(dir.filePath(u"natter.db"_s), u"test"_s, &error);
    }();
    Q_ASSERT(identity);
    return *identity;
}

enum class Wire
{
    Plain,
    Tls,
};

/// Every bound of the transport holds over both of its paths: plain
/// connections served on their descriptors, TLS ones served by Qt.
void addWires()
{
    QTest::addColumn<Wire>("wire");
    QTest::newRow("ws") << Wire::Plain;
    QTest::newRow("wss") << Wire::Tls;
}

ServerConfig configFor(Wire wire)
{
    ServerConfig config = loopbackConfig();
    if (wire == Wire::Tls)
        config.tls = testIdentity();
    return config;
}

bool connectPeer(RawWebSocket &peer, Wire wire, quint16 port)
{
    if (!(wire == Wire::Tls ? peer.connectTls(port) : peer.connectTcp(port))) {
        qWarning() << "connect failed" << peer.tcp().errorString();
        return false;
    }
    if (!peer.upgrade()) {
        qWarning() << "upgrade failed" << peer.upgradeResponse();
        return false;
    }
    return true;
}

/// Opens a WebSocket from the address "from" and says whether the transport
/// let it through to the chat layer (it echoes) or refused it (1013).
bool admitted(RawWebSocket &peer, Transport &transport, const QHostAddress &from)
{
    if (!peer.connectTcp(transport.serverPort(), from) || !peer.upgrade())
        return false;
    peer.sendText("sign in");
    std::optional<quint16> closeCode;
    if (!QTest::qWaitFor([&] {
            closeCode = peer.readCloseCode();
            return closeCode || !peer.textsReceived().isEmpty();
        }))
        return false;
    return !closeCode && !peer.textsReceived().isEmpty();
}

/// A transport with one peer that has stopped reading (almost: one byte at a time).
struct PausedPeer
{
    explicit PausedPeer(qint64 maxQueuedBytes, Wire wire = Wire::Plain)
        : wire(wire)
        , transport([maxQueuedBytes, wire] {
            ServerConfig config = configFor(wire);
            config.maxQueuedBytes = maxQueuedBytes;
            return config;
        }())
        , layer(&transport)
    {}

    bool open()
    {
        if (!transport.listen() || !connectPeer(reader, wire, transport.serverPort()))
            return false;
        reader.tcp().setReadBufferSize(1);
        if (!QTest::qWaitFor([this] { return layer.connections.size() == 1; }))
            return false;
        connection = layer.connections.constFirst();
        return true;
    }

    Wire wire;
    Transport transport;
    EchoLayer layer;
    RawWebSocket reader;
    Connection *connection = nullptr;
};

} // namespace

class TransportTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void echoesFramesInOrder();
    void closesConnectionsThatNeverSignIn();
    void refusesConnectionsOverTheAddressLimit();
    void oneAddressCannotFillTheServer();
    void theLastQuarterIsKeptForOtherAddresses();
    void aTrustedProxyNamesTheClient_data() { addWires(); }
    void aTrustedProxyNamesTheClient();
    void nobodyElseMayNameAClient_data() { addWires(); }
    void nobodyElseMayNameAClient();
    void dropsPeersThatStopAnsweringPings();
    void dropsPeersThatIgnoreOurClose();
    void dropsPeersThatStopReading_data() { addWires(); }
    void dropsPeersThatStopReading();
    void dropsPeersThatPingAndNeverRead_data() { addWires(); }
    void dropsPeersThatPingAndNeverRead();
    void aPeerThatPausesGetsEveryFrameInOrder();
    void broadcastsOnSeveralThreadsArriveWholeAndInOrder();
    void answersPingsBetweenFramesInOrder();
    void aPeersCloseIsAnsweredAndItsPlaceFreed();
    void refusesForeignOrigins();
    void resumesAcceptingAfterRunningOutOfDescriptors_data();
    void resumesAcceptingAfterRunningOutOfDescriptors();
};

void TransportTest::echoesFramesInOrder()
{
    Transport transport(loopbackConfig());
    EchoLayer layer(&transport);
    QVERIFY2(transport.listen(), qPrintable(transport.errorString()));

    QWebSocket client;
    QStringList received;
    connect(&client, &QWebSocket::textMessageReceived, this,
            [&received](const QString &text) { received.append(text); });
    client.open(urlOf(transport));
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);
    for (int i = 0; i < 100; ++i)
        client.sendTextMessage(QString::number(i));
    QTRY_COMPARE(received.size(), 100);
    for (int i = 0; i < 100; ++i)
        QCOMPARE(received.at(i), QString::number(i));
    QCOMPARE(transport.connectionCount(), 1);

    client.close();
    QTRY_COMPARE(layer.closed, 1);
    QTRY_COMPARE(transport.tcpConnectionCount(), 0);
    QCOMPARE(transport.connectionCount(), 0);
}

void TransportTest::closesConnectionsThatNeverSignIn()
{
    ServerConfig config = loopbackConfig();
    config.helloTimeout = 300ms;
    Transport transport(config);
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());

    QWebSocket signedIn;
    signedIn.open(urlOf(transport));
    QTRY_COMPARE(signedIn.state(), QAbstractSocket::ConnectedState);
    QSignalSpy echoed(&signedIn, &QWebSocket::textMessageReceived);
    signedIn.sendTextMessage(u"sign in"_s);
    QTRY_COMPARE(echoed.size(), 1);

    // Opened after the signed-in one, so its deadline comes later.
    QWebSocket silent;
    QSignalSpy silentClosed(&silent, &QWebSocket::disconnected);
    silent.open(urlOf(transport));
    QTRY_COMPARE(silentClosed.size(), 1);
    QCOMPARE(silent.closeCode(), QWebSocketProtocol::CloseCodePolicyViolated);
    QVERIFY(silent.closeReason().contains(u"sign in"_s));
    QCOMPARE(signedIn.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(transport.connectionCount(), 1);
}

void TransportTest::refusesConnectionsOverTheAddressLimit()
{
    ServerConfig config = loopbackConfig();
    config.maxConnectionsPerAddress = 2;
    Transport transport(config);
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());

    QWebSocket first;
    QWebSocket second;
    first.open(urlOf(transport));
    second.open(urlOf(transport));
    QTRY_COMPARE(layer.connections.size(), 2);

    RawWebSocket third; // QWebSocket of Qt 6.4 reads 1013 as a protocol error
    QVERIFY(third.connectTcp(transport.serverPort()));
    QVERIFY(third.upgrade());
    QTRY_COMPARE(third.readCloseCode(), std::optional<quint16>(1013)); // try again later
    QCOMPARE(layer.connections.size(), 2);                             // the chat layer never saw it

    // A place that frees up can be taken again.
    first.close();
    QTRY_COMPARE(transport.tcpConnectionCount(), 1);
    QWebSocket fourth;
    fourth.open(urlOf(transport));
    QTRY_COMPARE(layer.connections.size(), 2);
    QTRY_COMPARE(fourth.state(), QAbstractSocket::ConnectedState);
}

void TransportTest::oneAddressCannotFillTheServer()
{
    ServerConfig config = loopbackConfig();
    config.maxConnectionsPerAddress = 8;
    config.maxConnections = 24;
    Transport transport(config);
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());

    // 60 TCP connections from 127.0.0.1 that never start a handshake.
    std::vector<std::unique_ptr<RawWebSocket>> silent;
    for (int i = 0; i < 60; ++i) {
        silent.push_back(std::make_unique<RawWebSocket>());
        QVERIFY(silent.back()->connectTcp(transport.serverPort()));
    }
    // Its 8, and a few refusals waiting to be answered; the rest closed at once.
    QTRY_VERIFY(std::count_if(silent.cbegin(), silent.cend(), [](const auto &peer) {
                    return peer->tcp().state() == QAbstractSocket::UnconnectedState;
                }) >= 60 - 8 - 4);
    QVERIFY2(transport.tcpConnectionCount() <= 8 + 4,
             qPrintable(QString::number(transport.tcpConnectionCount())));

    // Other machines (other loopback addresses) still get in, one connection each.
    std::vector<std::unique_ptr<RawWebSocket>> others;
    for (int i = 0; i < 6; ++i) {
        others.push_back(std::make_unique<RawWebSocket>());
        QVERIFY(admitted(*others.back(), transport, QHostAddress(u"127.0.0.%1"_s.arg(2 + i))));
    }
}

void TransportTest::theLastQuarterIsKeptForOtherAddresses()
{
    ServerConfig config = loopbackConfig();
    config.maxConnectionsPerAddress = 100; // as behind a NAT
    config.maxConnections = 24;            // 6 kept for addresses that do not hold the most
    Transport transport(config);
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());
    std::vector<std::unique_ptr<RawWebSocket>> peers;
    int fromOne = 0;
    for (int i = 0; i < 24; ++i) {
        peers.push_back(std::make_unique<RawWebSocket>());
        fromOne += admitted(*peers.back(), transport, QHostAddress(u"127.0.0.1"_s)) ? 1 : 0;
    }
    QCOMPARE(fromOne, 18);
    for (int i = 0; i < 6; ++i) {
        peers.push_back(std::make_unique<RawWebSocket>());
        QVERIFY(admitted(*peers.back(), transport, QHostAddress(u"127.0.0.%1"_s.arg(2 + i))));
    }
    // Full now, for everyone.
    peers.push_back(std::make_unique<RawWebSocket>());
    QVERIFY(!admitted(*peers.back(), transport, QHostAddress(u"127.0.0.9"_s)));
}

void TransportTest::aTrustedProxyNamesTheClient()
{
    QFETCH(Wire, wire);
    ServerConfig config = configFor(wire);
    config.trustedProxies = {QHostAddress::parseSubnet(u"127.0.0.0/30"_s)};
    config.maxConnectionsPerAddress = 2;
    config.handshakeTimeout = 500ms;
    Transport transport(config);
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());
    // HAProxy (send-proxy / send-proxy-v2) carries people from three desks.
    const auto through = [&](RawWebSocket &peer, const QByteArray &header) {
        const bool connected = wire == Wire::Tls ? peer.connectTls(transport.serverPort(), header)
                                                 : (peer.connectTcp(transport.serverPort()) &&
                                                    peer.tcp().write(header) == header.size());
        if (!connected || !peer.upgrade())
            return false;
        peer.sendText("sign in");
        return QTest::qWaitFor([&peer] { return !peer.textsReceived().isEmpty() || peer.readCloseCode(); }) &&
               !peer.textsReceived().isEmpty();
    };
    RawWebSocket ann, ann2, ann3, bob, carol;
    QVERIFY(through(ann, "PROXY TCP4 192.0.2.10 10.0.0.11 40001 5000\r\n"));
    QCOMPARE(layer.connections.constLast()->address(), u"192.0.2.10"_s);
    QCOMPARE(layer.connections.constLast()->peer(), u"192.0.2.10:40001"_s);
    QVERIFY(through(ann2, "PROXY TCP4 192.0.2.10 10.0.0.11 40002 5000\r\n"));
    QVERIFY(through(bob, "PROXY TCP6 2001:db8::20 2001:db8::1 40003 5000\r\n"));
    QCOMPARE(layer.connections.constLast()->address(), u"2001:db8::20"_s);
    // The per-address limit counts Ann's desk, not the proxy: her third is refused, Carol is not.
    QVERIFY(!through(ann3, "PROXY TCP4 192.0.2.10 10.0.0.11 40004 5000\r\n"));
    QCOMPARE(ann3.readCloseCode(), std::optional<quint16>(1013));
    QVERIFY(through(carol, "PROXY TCP4 192.0.2.30 10.0.0.11 40005 5000\r\n"));
    QCOMPARE(layer.connections.size(), 4);
    // The proxy's own health check (LOCAL) keeps the proxy's address.
    RawWebSocket check;
    QVERIFY(through(check, QByteArray("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16)));
    QCOMPARE(layer.connections.constLast()->address(), u"127.0.0.1"_s);
    // A trusted proxy's connection without a header is closed, not served as the proxy.
    RawWebSocket bare;
    QVERIFY(!through(bare, {}));
    QCOMPARE(layer.connections.size(), 5);
}

void TransportTest::nobodyElseMayNameAClient()
{
    QFETCH(Wire, wire);
    ServerConfig config = configFor(wire);
    config.trustedProxies = {QHostAddress::parseSubnet(u"127.0.0.1/32"_s)};
    Transport transport(config);
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());
    // From 127.0.0.2, not a trusted proxy, a PROXY header is nobody's word:
    // the connection is not served (its header is no HTTP, no TLS).
    RawWebSocket liar;
    const QByteArray lie("PROXY TCP4 192.0.2.99 10.0.0.11 40001 5000\r\n");
    const QHostAddress from(u"127.0.0.2"_s);
    if (wire == Wire::Tls) {
        QVERIFY(!liar.connectTls(transport.serverPort(), lie, from));
    } else {
        QVERIFY(liar.connectTcp(transport.serverPort(), from));
        liar.tcp().write(lie);
        QVERIFY(!liar.upgrade());
    }
    QCOMPARE(layer.connections.size(), 0);
    // ... and without one it is served as itself.
    RawWebSocket honest;
    QVERIFY(admitted(honest, transport, from) || wire == Wire::Tls);
    if (wire == Wire::Plain)
        QCOMPARE(layer.connections.constLast()->address(), u"127.0.0.2"_s);
}

void TransportTest::dropsPeersThatStopAnsweringPings()
{
    ServerConfig config = loopbackConfig();
    config.pingInterval = 60ms;
    config.idleTimeout = 300ms;
    Transport transport(config);
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());

    RawWebSocket mute; // never answers a ping
    QVERIFY(mute.connectTcp(transport.serverPort()));
    QVERIFY(mute.upgrade());
    QTRY_COMPARE(layer.connections.size(), 1);
    QTRY_COMPARE(layer.closed, 1);
    QVERIFY(mute.pingsReceived() >= 1);
    QVERIFY(mute.waitForDisconnected());
    QTRY_COMPARE(transport.tcpConnectionCount(), 0);
}

void TransportTest::dropsPeersThatIgnoreOurClose()
{
    ServerConfig config = loopbackConfig();
    config.helloTimeout = 100ms;
    config.pingInterval = 60ms;
    config.idleTimeout = 400ms;
    Transport transport(config);
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());

    // Never signs in, and answers the close for not signing in with more pings, never its own close.
    RawWebSocket stubborn;
    QVERIFY(stubborn.connectTcp(transport.serverPort()));
    QVERIFY(stubborn.upgrade());
    QTimer pinger;
    connect(&pinger, &QTimer::timeout, &stubborn,
            [&stubborn] { stubborn.tcp().write(RawWebSocket::frame(0x9, "still here")); });
    pinger.start(20ms);
    QTRY_COMPARE(stubborn.readCloseCode(), std::optional<quint16>(1008));
    QTRY_COMPARE_WITH_TIMEOUT(layer.closed, 1, 3000);
    QVERIFY(stubborn.waitForDisconnected());
    QTRY_COMPARE(transport.tcpConnectionCount(), 0);
}

void TransportTest::dropsPeersThatStopReading()
{
    QFETCH(Wire, wire);
    PausedPeer peer(256 * 1024, wire);
    QVERIFY(peer.open());
    Connection *connection = peer.connection;
    const QByteArray frame = Connection::wireFrame(QByteArray(16 * 1024, 'x'));
    // Written pass by pass, until the kernel's buffers are full too and the cap is reached.
    int sent = 0;
    for (; sent < 4096 && connection->sendWireFrame(frame); ++sent) {
        if (sent % 8 == 7)
            QCoreApplication::processEvents();
    }
    QVERIFY2(sent < 4096, "a peer that reads nothing was sent 64 MiB");
    QVERIFY(connection->isDropping());
    QTRY_COMPARE(peer.layer.closed, 1);
}

void TransportTest::dropsPeersThatPingAndNeverRead()
{
    // Each ping is answered with a pong as long as itself: a peer that pings
    // with 100-byte payloads and never reads makes the server queue them.
    QFETCH(Wire, wire);
    PausedPeer peer(256 * 1024, wire);
    QVERIFY(peer.open());
    const QByteArray ping = RawWebSocket::frame(0x9, QByteArray(125, 'p'));
    int sent = 0;
    // 40,000 pongs are 5 MiB: far past the cap and the kernel's buffers.
    for (; sent < 40000 && peer.layer.closed == 0; ++sent) {
        peer.reader.tcp().write(ping);
        if (sent % 64 == 63)
            QCoreApplication::processEvents();
        if (sent % 512 == 511)
            QTest::qWait(1); // lets the server read and answer
    }
    QTRY_COMPARE(peer.layer.closed, 1);
    QVERIFY2(sent < 40000, qPrintable(u"a peer that never reads got %1 pongs queued"_s.arg(sent)));
}

void TransportTest::aPeerThatPausesGetsEveryFrameInOrder()
{
    // Frames go to the kernel directly while nothing waits in the socket's
    // buffer; what the kernel does not take waits there, and what follows
    // queues behind it. A reader that pauses long enough to fill the
    // kernel's buffers, with pongs among our frames (Qt answers pings
    // itself, past Connection), must still get every frame whole and in order.
    PausedPeer peer(256 * 1024 * 1024);
    QVERIFY(peer.open());
    Connection *connection = peer.connection;
    RawWebSocket &reader = peer.reader;
    const auto text = [](int i) -> QByteArray {
        return QByteArray::number(i) + ':' + QByteArray(16 * 1024, char('a' + i % 26));
    };
    int sent = 0;
    int pings = 0;
    const auto sendSome = [&] {
        for (int i = 0; i < 8; ++i, ++sent) {
            if (!connection->sendWireFrame(Connection::wireFrame(text(sent))))
                return false;
        }
        if (sent % 40 == 0) {
            reader.tcp().write(RawWebSocket::frame(0x9, QByteArray::number(sent)));
            ++pings;
        }
        QCoreApplication::processEvents();
        return true;
    };
    // Until the kernel's buffers are full and frames wait in Qt's.
    while (connection->queuedBytes() < 64 * 1024 && sent < 8192)
        QVERIFY(sendSome());
    QVERIFY2(connection->queuedBytes() >= 64 * 1024, "128 MiB went into the kernel's buffers");
    // The reader reads again while more frames come: none may overtake those waiting.
    reader.tcp().setReadBufferSize(0);
    for (const int end = sent + 400; sent < end;)
        QVERIFY(sendSome());
    QTRY_COMPARE_WITH_TIMEOUT(reader.textsReceived().size(), sent, 10000);
    const QList<QByteArray> texts = reader.textsReceived();
    for (int i = 0; i < sent; ++i)
        QVERIFY2(texts.at(i) == text(i), qPrintable(u"frame %1 of %2 differs"_s.arg(i).arg(sent)));
    QTRY_COMPARE(reader.pongsReceived(), pings);
    QCOMPARE(connection->queuedBytes(), 0);
    QCOMPARE(peer.layer.closed, 0);
}

void TransportTest::answersPingsBetweenFramesInOrder()
{
    Transport transport(loopbackConfig());
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());
    RawWebSocket peer;
    QVERIFY(peer.connectTcp(transport.serverPort()));
    QVERIFY(peer.upgrade());
    // In one write, a ping between two halves of a fragmented message and between whole ones.
    peer.tcp().write(RawWebSocket::frame(0x1, "one") + RawWebSocket::frame(0x9, "are you there") +
                     RawWebSocket::frame(0x1, "two").replace(0, 1, "\x01") /* no FIN */ +
                     RawWebSocket::frame(0x9, "") + RawWebSocket::frame(0x0, " halves") /* FIN */ +
                     RawWebSocket::frame(0x1, "three"));
    QTRY_COMPARE(peer.textsReceived().size(), 3);
    QCOMPARE(peer.textsReceived(), (QList<QByteArray>{"one", "two halves", "three"}));
    QTRY_COMPARE(peer.pongsReceived(), 2);
    QCOMPARE(transport.connectionCount(), 1);
}

void TransportTest::aPeersCloseIsAnsweredAndItsPlaceFreed()
{
    Transport transport(loopbackConfig());
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());
    RawWebSocket peer;
    QVERIFY(peer.connectTcp(transport.serverPort()));
    QVERIFY(peer.upgrade());
    QTRY_COMPARE(layer.connections.size(), 1);
    QByteArray close(2, Qt::Uninitialized);
    qToBigEndian(quint16(4000), close.data());
    peer.tcp().write(RawWebSocket::frame(0x1, "last words") + RawWebSocket::frame(0x8, close + "done"));
    // The echo, then the server's close with the peer's code, then the end of the stream.
    QVERIFY(peer.waitForDisconnected());
    QCOMPARE(peer.textsReceived(), QList<QByteArray>{"last words"});
    QCOMPARE(peer.readCloseCode(), std::optional<quint16>(4000));
    QTRY_COMPARE(layer.closed, 1);
    QCOMPARE(transport.connectionCount(), 0);
    QTRY_COMPARE(transport.tcpConnectionCount(), 0);
}

void TransportTest::refusesForeignOrigins()
{
    Transport transport(loopbackConfig());
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());

    RawWebSocket page;
    QVERIFY(page.connectTcp(transport.serverPort()));
    QVERIFY(!page.upgrade("Origin: https://elsewhere.example\r\n"));
    QVERIFY2(page.upgradeResponse().startsWith("HTTP/1.1 403"), page.upgradeResponse().constData());

    RawWebSocket ownPage;
    QVERIFY(ownPage.connectTcp(transport.serverPort()));
    QVERIFY(
        ownPage.upgrade("Origin: http://127.0.0.1:" + QByteArray::number(transport.serverPort()) + "\r\n"));
    QTRY_COMPARE(layer.connections.size(), 1);
}

void TransportTest::resumesAcceptingAfterRunningOutOfDescriptors_data()
{
    QTest::addColumn<bool>("connectedBefore");
    // A fresh listening socket reports EMFILE: Qt pauses accepting for good.
    QTest::newRow("first accept") << false;
    // After any earlier accept, Qt's socket engine keeps the first error it
    // saw (EAGAIN) and reports EMFILE as that: no pause, and the notifier
    // fires forever (100 % CPU).
    QTest::newRow("after a connection") << true;
}

void TransportTest::resumesAcceptingAfterRunningOutOfDescriptors()
{
    QFETCH(bool, connectedBefore);
    ServerConfig config = loopbackConfig();
    config.pingInterval = 300ms; // the heartbeat looks every 100 ms
    Transport transport(config);
    EchoLayer layer(&transport);
    QVERIFY2(transport.listen(), qPrintable(transport.errorString()));
    if (connectedBefore) {
        QWebSocket first;
        first.open(urlOf(transport));
        QTRY_COMPARE(first.state(), QAbstractSocket::ConnectedState);
        first.close();
        QTRY_COMPARE(layer.closed, 1);
    }
    QSignalSpy changed(&transport, &Transport::acceptingChanged);
    rlimit saved{};
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &saved), 0);
    QWebSocket client;
    client.open(urlOf(transport)); // its socket exists from here on
    // The kernel hands out the lowest free descriptor: a limit at it leaves
    // none for the server's accept().
    const int lowestFree = dup(0);
    QVERIFY(lowestFree >= 0);
    close(lowestFree);
    rlimit tight = saved;
    tight.rlim_cur = rlim_t(lowestFree);
    QCOMPARE(setrlimit(RLIMIT_NOFILE, &tight), 0);
    const bool paused = QTest::qWaitFor([&] { return !changed.isEmpty(); }, 5000);
    QCOMPARE(setrlimit(RLIMIT_NOFILE, &saved), 0); // before any QVERIFY can return
    QVERIFY(paused);
    QCOMPARE(changed.at(0).at(0).toBool(), true);
    QVERIFY(!changed.at(0).at(1).toString().isEmpty());
    QVERIFY(transport.isAcceptingPaused());
    // Descriptors are back: the waiting client is accepted without anyone's help.
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(changed.size(), 2);
    QCOMPARE(changed.at(1).at(0).toBool(), false);
    client.sendTextMessage(u"sign in"_s);
    QSignalSpy echoed(&client, &QWebSocket::textMessageReceived);
    QVERIFY(echoed.wait());
}

void TransportTest::broadcastsOnSeveralThreadsArriveWholeAndInOrder()
{
    ServerConfig config = loopbackConfig();
    config.sendThreads = 3;
    config.maxQueuedBytes = 64 * 1024 * 1024;
    config.maxConnectionsPerAddress = 1000;
    Transport transport(config);
    EchoLayer layer(&transport);
    QVERIFY(transport.listen());
    constexpr int Peers = 100;
    std::vector<std::unique_ptr<RawWebSocket>> peers;
    for (int i = 0; i < Peers; ++i) {
        peers.push_back(std::make_unique<RawWebSocket>());
        QVERIFY(peers.back()->connectTcp(transport.serverPort()));
        QVERIFY(peers.back()->upgrade());
        peers.back()->sendText("sign in");                // echoed: the first frame each receives
        peers.back()->tcp().setReadBufferSize(16 * 1024); // reads slowly: the kernel's buffers fill
    }
    QTRY_COMPARE(layer.connections.size(), Peers);
    const auto allReceived = [&peers](qsizetype count) {
        return std::all_of(peers.cbegin(), peers.cend(), [count](const std::unique_ptr<RawWebSocket> &peer) {
            return peer->textsReceived().size() == count;
        });
    };
    QTRY_VERIFY(allReceived(1));

    // Rounds of one frame to every peer, each round flushed at the end of its
    // pass; some are more than the kernel takes at once, and go partly
    // directly and partly through the socket's own buffer.
    constexpr int Rounds = 30;
    for (int round = 0; round < Rounds; ++round) {
        for (qsizetype i = 0; i < layer.connections.size(); ++i) {
            QByteArray text = QByteArray::number(round) + ' ';
            // A few peers get two frames of 4 MiB at the end: more than the
            // kernel's buffers hold for a peer that does not read.
            const bool big = i % 20 == 0 && round >= Rounds - 2;
            text.append(QByteArray(big ? 4 * 1024 * 1024 : 1 + (round * 1499 + int(i) * 97) % 600, 'x'));
            QVERIFY(layer.connections.at(i)->sendWireFrame(Connection::wireFrame(text)));
        }
        QCoreApplication::processEvents(); // the flush at the end of the pass
    }
    for (const std::unique_ptr<RawWebSocket> &peer : peers)
        peer->tcp().setReadBufferSize(0); // now they read all
    QTRY_VERIFY_WITH_TIMEOUT(allReceived(1 + Rounds), 20000);
    for (const std::unique_ptr<RawWebSocket> &peer : peers) {
        const QList<QByteArray> texts = peer->textsReceived().sliced(1);
        for (int round = 0; round < Rounds; ++round) {
            QVERIFY(texts.at(round).startsWith(QByteArray(QByteArray::number(round) + ' ')));
            QVERIFY(texts.at(round).sliced(texts.at(round).indexOf(' ') + 1).count('x') ==
                    texts.at(round).size() - texts.at(round).indexOf(' ') - 1);
        }
    }
    QCOMPARE(layer.closed, 0);
}

QTEST_GUILESS_MAIN(TransportTest)
#include "tst_transport.moc"
