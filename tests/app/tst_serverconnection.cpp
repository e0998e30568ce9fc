// The client's connection alone, against scripted servers instead of
// natterd and without any model: backoff, timeouts, keep-alive, pinning.

#include "app/serverconnection.h"
#include "server/tlsidentity.h"
#include "tests/app/scriptedserver.h"

#include <QCryptographicHash>
#include <QSignalSpy>
#include <QSslConfiguration>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace {

using State = ServerConnection::State;

/// Completes the WebSocket handshake and then never says or answers anything.
class MuteServer final : public QObject
{
public:
    MuteServer()
    {
        connect(&server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = server.nextPendingConnection()) {
                connect(socket, &QTcpSocket::readyRead, socket, [socket] {
                    if (socket->property("upgraded").toBool()) {
                        socket->readAll(); // pings included: never answered
                        return;
                    }
                    if (!socket->canReadLine())
                        return;
                    const QByteArray request = socket->peek(socket->bytesAvailable());
                    if (!request.contains("\r\n\r\n"))
                        return;
                    socket->readAll();
                    QByteArray key;
                    for (const QByteArray &line : request.split('\n')) {
                        if (line.toLower().startsWith("sec-websocket-key:"))
                            key = line.mid(line.indexOf(':') + 1).trimmed();
                    }
                    const QByteArray accept =
                        QCryptographicHash::hash(QByteArray(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
                                                 QCryptographicHash::Sha1)
                            .toBase64();
                    socket->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                                  accept + "\r\n\r\n");
                    socket->setProperty("upgraded", true);
                });
            }
        });
    }
    QTcpServer server;
};

} // namespace

class ServerConnectionTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void sendsAndReceivesText();
    void reconnectsWithGrowingBackoff();
    void movesToTheChatsOtherAddressesAndBack();
    void timesOutAnUnansweredAttempt();
    void dropsAServerThatFallsSilent();
    void stopMeansNoRetry();
    void asksBeforeTrustingACertificate();
    void connectsToAPinnedCertificate();
    void refusesAChangedCertificate();
    void needsNoQuestionForACertificateTheSystemTrusts();

private:
    /// Makes server serve wss:// with identity's certificate.
    static void serveTls(ScriptedServer &server, const TlsIdentity &identity)
    {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setLocalCertificate(identity.certificate);
        tls.setPrivateKey(identity.key);
        server.server.setSslConfiguration(tls);
    }
    static std::optional<TlsIdentity> makeIdentity(const QTemporaryDir &dir)
    {
        QString error;
        return TlsIdentity::loadOrCreateSelfSigned(dir.filePath(u"chat.db"_s), u"127.0.0.1"_s, &error);
    }
};

void ServerConnectionTest::sendsAndReceivesText()
{
    ScriptedServer server;
    QVERIFY(server.listen());
    ServerConnection connection;
    QSignalSpy connected(&connection, &ServerConnection::connected);
    QStringList texts;
    connect(&connection, &ServerConnection::textReceived, this,
            [&texts](const QString &text) { texts.append(text); });

    connection.open(server.url());
    QCOMPARE(connection.state(), State::Connecting);
    QTRY_COMPARE(connected.size(), 1);
    QCOMPARE(connection.state(), State::Connected);
    QVERIFY(!connection.isEncrypted());
    connection.sendText(u"hello"_s);
    QTRY_COMPARE(server.received, QStringList{u"hello"_s});
    server.last()->sendTextMessage(u"welcome"_s);
    QTRY_COMPARE(texts, QStringList{u"welcome"_s});

    connection.close();
    QCOMPARE(connection.state(), State::Disconnected);
    connection.sendText(u"lost"_s); // nowhere to go, and no crash
}

void ServerConnectionTest::movesToTheChatsOtherAddressesAndBack()
{
    // One chat served by two natterd: the app was told both (--server A,B).
    auto first = std::make_unique<ScriptedServer>();
    ScriptedServer second;
    QVERIFY(first->listen() && second.listen());
    const QUrl firstUrl = first->url();
    ServerConnection connection;
    // A backoff long enough to tell "at once" from "after a wait".
    connection.setReconnectDelays(20s, 20s);
    connection.setAlternateUrls(firstUrl, {second.url()});
    QSignalSpy connected(&connection, &ServerConnection::connected);
    connection.open(firstUrl);
    QTRY_COMPARE(connected.size(), 1);
    connection.markReady();
    QCOMPARE(connection.currentUrl(), firstUrl);

    // The first natterd goes away: the app is on the second within a moment, not 10-20 s later.
    first.reset();
    QTRY_COMPARE_WITH_TIMEOUT(connected.size(), 2, 3000);
    QCOMPARE(connection.currentUrl(), second.url());
    QCOMPARE(connection.url(), firstUrl); // still the same chat, for tokens and settings
    connection.markReady();
    connection.sendText(u"on the second"_s);
    QTRY_COMPARE(second.received, QStringList{u"on the second"_s});

    // Both gone: after one quick try of each, the backoff waits as usual.
    second.server.close();
    second.last()->close(QWebSocketProtocol::CloseCodeGoingAway, u"restarting"_s);
    QTRY_COMPARE_WITH_TIMEOUT(connection.state(), State::WaitingToReconnect, 3000);
    QTRY_VERIFY_WITH_TIMEOUT(connection.millisecondsUntilReconnect() > 5000, 3000);

    // Another address only for the chat it was given for.
    ScriptedServer other;
    QVERIFY(other.listen());
    connection.open(other.url());
    QTRY_COMPARE(connected.size(), 3);
    QCOMPARE(connection.currentUrl(), other.url());
}

void ServerConnectionTest::reconnectsWithGrowingBackoff()
{
    ScriptedServer server;
    QVERIFY(server.listen());
    ServerConnection connection;
    connection.setReconnectDelays(40ms, 160ms);
    QSignalSpy connected(&connection, &ServerConnection::connected);
    QSignalSpy disconnected(&connection, &ServerConnection::disconnected);
    connection.open(server.url());
    QTRY_COMPARE(connected.size(), 1);

    // Never marked ready: each drop waits longer, up to the ceiling.
    const qint64 ceilings[] = {40, 80, 160, 160};
    for (int drop = 0; drop < 4; ++drop) {
        server.last()->close(QWebSocketProtocol::CloseCodeGoingAway, u"restarting"_s);
        QTRY_COMPARE(disconnected.size(), drop + 1);
        QCOMPARE(connection.state(), State::WaitingToReconnect);
        QCOMPARE(connection.attempt(), drop + 1);
        QCOMPARE(connection.lastError(), u"restarting"_s);
        // The timer is a coarse one: Qt may let it run up to 5 % late.
        const qint64 wait = connection.millisecondsUntilReconnect();
        QVERIFY2(wait <= ceilings[drop] * 105 / 100 + 1, qPrintable(QString::number(wait)));
        QTRY_COMPARE(connected.size(), drop + 2);
    }
    // Signed in: the next drop starts from the first delay again.
    connection.markReady();
    QCOMPARE(connection.attempt(), 0);
    QVERIFY(connection.lastError().isEmpty());
    server.last()->close();
    QTRY_COMPARE(connection.state(), State::WaitingToReconnect);
    QCOMPARE(connection.attempt(), 1);
    QVERIFY(connection.millisecondsUntilReconnect() <= 40 * 105 / 100 + 1);

    QTRY_COMPARE(connected.size(), 6);

    // reconnectNow() skips the wait.
    connection.setReconnectDelays(60s, 60s);
    server.last()->close();
    QTRY_COMPARE(disconnected.size(), 6);
    QCOMPARE(connection.state(), State::WaitingToReconnect);
    QVERIFY(connection.millisecondsUntilReconnect() > 1000);
    connection.reconnectNow();
    QTRY_COMPARE(connected.size(), 7);
}

void ServerConnectionTest::timesOutAnUnansweredAttempt()
{
    QTcpServer blackHole; // accepts TCP, never answers the upgrade
    QVERIFY(blackHole.listen(QHostAddress::LocalHost, 0));
    ServerConnection connection;
    connection.setTimeouts(200ms, 10s);
    connection.setReconnectDelays(60s, 60s);
    connection.open(QUrl(u"ws://127.0.0.1:%1"_s.arg(blackHole.serverPort())));
    QTRY_COMPARE(connection.state(), State::WaitingToReconnect);
    QCOMPARE(connection.lastError(), ServerConnection::tr("The server did not answer in time."));
}

void ServerConnectionTest::dropsAServerThatFallsSilent()
{
    MuteServer server;
    QVERIFY(server.server.listen(QHostAddress::LocalHost, 0));
    ServerConnection connection;
    connection.setTimeouts(10s, 300ms);
    connection.setReconnectDelays(60s, 60s);
    QSignalSpy connected(&connection, &ServerConnection::connected);
    connection.open(QUrl(u"ws://127.0.0.1:%1"_s.arg(server.server.serverPort())));
    QTRY_COMPARE(connected.size(), 1);
    connection.markReady(); // as if welcomed: only the keep-alive watches now
    QTRY_COMPARE(connection.state(), State::WaitingToReconnect);
    QCOMPARE(connection.lastError(), ServerConnection::tr("The server stopped answering."));
}

void ServerConnectionTest::stopMeansNoRetry()
{
    ScriptedServer server;
    QVERIFY(server.listen());
    ServerConnection connection;
    connection.setReconnectDelays(10ms, 10ms);
    QSignalSpy connected(&connection, &ServerConnection::connected);
    connection.open(server.url());
    QTRY_COMPARE(connected.size(), 1);
    connection.stop(u"bad password"_s);
    QCOMPARE(connection.state(), State::Disconnected);
    QCOMPARE(connection.lastError(), u"bad password"_s);
    QCOMPARE(connection.millisecondsUntilReconnect(), 0);
    // The server sees the close; nothing comes back after it.
    QTRY_VERIFY(server.last()->state() == QAbstractSocket::UnconnectedState);
    QCOMPARE(connection.state(), State::Disconnected);
    QCOMPARE(connected.size(), 1);
    QCOMPARE(server.sockets.size(), 1);
}

void ServerConnectionTest::asksBeforeTrustingACertificate()
{
    QTemporaryDir dir;
    const std::optional<TlsIdentity> identity = makeIdentity(dir);
    QVERIFY(identity);
    ScriptedServer server(QWebSocketServer::SecureMode);
    serveTls(server, *identity);
    QVERIFY(server.listen());

    ServerConnection connection;
    connection.setReconnectDelays(10ms, 10ms);
    QSignalSpy approval(&connection, &ServerConnection::certificateNeedsApproval);
    QSignalSpy connected(&connection, &ServerConnection::connected);
    connection.open(server.url(u"wss"_s));
    QTRY_COMPARE(approval.size(), 1);
    QCOMPARE(approval.at(0).at(0).toString(), identity->fingerprint());
    QCOMPARE(approval.at(0).at(1).toBool(), false); // first contact, not a change
    QTRY_COMPARE(connection.state(), State::Disconnected);
    QCOMPARE(connection.lastError(), ServerConnection::tr("The server's certificate needs your approval."));
    QCOMPARE(connected.size(), 0);
}

void ServerConnectionTest::connectsToAPinnedCertificate()
{
    QTemporaryDir dir;
    const std::optional<TlsIdentity> identity = makeIdentity(dir);
    QVERIFY(identity);
    ScriptedServer server(QWebSocketServer::SecureMode);
    serveTls(server, *identity);
    QVERIFY(server.listen());

    ServerConnection connection;
    connection.setPinnedFingerprint(identity->fingerprint());
    QSignalSpy approval(&connection, &ServerConnection::certificateNeedsApproval);
    QSignalSpy connected(&connection, &ServerConnection::connected);
    connection.open(server.url(u"wss"_s));
    QTRY_COMPARE(connected.size(), 1);
    QVERIFY(connection.isEncrypted());
    QCOMPARE(connection.certificateFingerprint(), identity->fingerprint());
    QCOMPARE(approval.size(), 0);
}

void ServerConnectionTest::refusesAChangedCertificate()
{
    QTemporaryDir dir;
    QTemporaryDir otherDir;
    const std::optional<TlsIdentity> identity = makeIdentity(dir);
    const std::optional<TlsIdentity> impostor = makeIdentity(otherDir);
    QVERIFY(identity && impostor);
    QVERIFY(identity->fingerprint() != impostor->fingerprint());
    ScriptedServer server(QWebSocketServer::SecureMode);
    serveTls(server, *impostor);
    QVERIFY(server.listen());

    ServerConnection connection;
    connection.setPinnedFingerprint(identity->fingerprint());
    connection.setReconnectDelays(10ms, 10ms);
    QSignalSpy approval(&connection, &ServerConnection::certificateNeedsApproval);
    connection.open(server.url(u"wss"_s));
    QTRY_COMPARE(approval.size(), 1);
    QCOMPARE(approval.at(0).at(0).toString(), impostor->fingerprint());
    QCOMPARE(approval.at(0).at(1).toBool(), true);
    QTRY_COMPARE(connection.state(), State::Disconnected);
    QCOMPARE(connection.lastError(),
             ServerConnection::tr("The server's certificate has changed: not connected."));
}

void ServerConnectionTest::needsNoQuestionForACertificateTheSystemTrusts()
{
    QTemporaryDir dir;
    const std::optional<TlsIdentity> identity = makeIdentity(dir);
    QVERIFY(identity);
    ScriptedServer server(QWebSocketServer::SecureMode);
    serveTls(server, *identity);
    QVERIFY(server.listen());

    // As if an authority the system trusts had issued it (for 127.0.0.1): no pin, no question.
    const QSslConfiguration systemDefault = QSslConfiguration::defaultConfiguration();
    QSslConfiguration trusting = systemDefault;
    trusting.addCaCertificate(identity->certificate);
    QSslConfiguration::setDefaultConfiguration(trusting);
    ServerConnection connection;
    QSignalSpy approval(&connection, &ServerConnection::certificateNeedsApproval);
    QSignalSpy connected(&connection, &ServerConnection::connected);
    connection.open(server.url(u"wss"_s));
    const bool wasConnected = QTest::qWaitFor([&] { return connected.size() == 1 || !approval.isEmpty(); });
    QSslConfiguration::setDefaultConfiguration(systemDefault);
    QVERIFY(wasConnected);
    QCOMPARE(approval.size(), 0);
    QCOMPARE(connected.size(), 1);
    QCOMPARE(connection.certificateFingerprint(), identity->fingerprint());
}

QTEST_GUILESS_MAIN(ServerConnectionTest)
#include "tst_serverconnection.moc"
