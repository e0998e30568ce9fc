// wss:// end to end: natterd's certificate, pinning, plain clients, slow
// handshakes, and a certificate reloaded under open connections.
#include "server/chatserver.h"
#include "server/sqlmessagestore.h"
#include "server/tlsidentity.h"
#include "tests/support/rawwebsocket.h"
#include "tests/support/testclient.h"

#include <QFileInfo>
#include <QSignalSpy>
#include <QSslCipher>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;

class TestTls : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void selfSignedIdentityIsMadeOnceAndKept();
    void mismatchedKeyIsRefused();
    void pinnedClientChatsOverTls();
    void differentCertificateIsRefusedByTheClient();
    void plainClientFailsCleanlyAndServerIsUnaffected();
    void slowTlsHandshakeIsCut();
    void reloadKeepsOpenConnections();
    void onlyForwardSecretAeadSuitesAreOffered();

private:
    void startServer(ServerConfig config = {});
    TestClient *signedInOverTls(const QString &name, const QString &email);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<ChatServer> m_server;
    QList<TestClient *> m_clients;
    QString m_fingerprint;
};

void TestTls::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestTls::cleanup()
{
    qDeleteAll(m_clients);
    m_clients.clear();
    m_server.reset();
}

void TestTls::startServer(ServerConfig config)
{
    config.host = QHostAddress::LocalHost;
    config.port = 0;
    config.passwordCost = PasswordHasher::Cost::Minimum;
    const QString db = m_dir->filePath(u"natter.db"_s);
    if (!config.tls) {
        QString error;
        config.tls = TlsIdentity::loadOrCreateSelfSigned(db, u"test"_s, &error);
        QVERIFY2(config.tls, qPrintable(error));
    }
    m_fingerprint = config.tls->fingerprint();
    auto store = std::make_unique<SqlMessageStore>(db);
    QVERIFY(store->open());
    m_server = std::make_unique<ChatServer>(config, std::move(store));
    QVERIFY2(m_server->listen(), qPrintable(m_server->errorString()));
    QVERIFY(m_server->isTls());
}

TestClient *TestTls::signedInOverTls(const QString &name, const QString &email)
{
    auto *client = new TestClient;
    m_clients.append(client);
    if (!client->openTls(m_server->serverPort(), m_fingerprint) ||
        !client->hello(name, email, TestClient::defaultPassword()))
        return nullptr;
    return client;
}

void TestTls::selfSignedIdentityIsMadeOnceAndKept()
{
    const QString db = m_dir->filePath(u"sub/natter.db"_s);
    QString error;
    const auto first = TlsIdentity::loadOrCreateSelfSigned(db, u"Alice's chat"_s, &error);
    QVERIFY2(first, qPrintable(error));
    QCOMPARE(first->fingerprint().size(), 64);
    QCOMPARE(first->key.algorithm(), QSsl::Ec);
    QVERIFY(first->certificate.subjectInfo(QSslCertificate::CommonName).contains(u"Alice's chat"_s));
    QVERIFY(first->certificate.expiryDate() > QDateTime::currentDateTimeUtc().addYears(9));
    // The key is its owner's only.
    const auto others =
        QFileDevice::ReadGroup | QFileDevice::WriteGroup | QFileDevice::ReadOther | QFileDevice::WriteOther;
    QCOMPARE(QFileInfo(TlsIdentity::selfSignedKeyPath(db)).permissions() & others,
             QFileDevice::Permissions());
    // The next start finds the same one: the fingerprint people compared stays.
    const auto again = TlsIdentity::loadOrCreateSelfSigned(db, u"another name"_s, &error);
    QVERIFY(again);
    QCOMPARE(again->fingerprint(), first->fingerprint());
}

void TestTls::mismatchedKeyIsRefused()
{
    QString error;
    const auto a = TlsIdentity::loadOrCreateSelfSigned(m_dir->filePath(u"a/natter.db"_s), u"a"_s, &error);
    const auto b = TlsIdentity::loadOrCreateSelfSigned(m_dir->filePath(u"b/natter.db"_s), u"b"_s, &error);
    QVERIFY(a && b);
    QVERIFY(!TlsIdentity::load(a->certificatePath, b->keyPath, &error));
    QVERIFY2(error.contains(u"does not belong"_s), qPrintable(error));
    QVERIFY(!TlsIdentity::load(m_dir->filePath(u"missing.pem"_s), b->keyPath, &error));
    QVERIFY(!TlsIdentity::load(a->keyPath, a->keyPath, &error)); // a key is no certificate
}

void TestTls::pinnedClientChatsOverTls()
{
    startServer();
    TestClient *bob = signedInOverTls(u"Bob"_s, u"bob@x.org"_s);
    TestClient *carol = signedInOverTls(u"Carol"_s, u"carol@x.org"_s);
    QVERIFY(bob && carol);
    QCOMPARE(bob->peerFingerprint(), m_fingerprint);
    QVERIFY(bob->join(u"general"_s) && carol->join(u"general"_s));
    carol->frames.clear();
    bob->send(SendMessage{u"general"_s, {}, u"over TLS"_s, u"b-1"_s});
    const auto received = carol->waitFor<ReceiveMessage>();
    QVERIFY(received);
    QCOMPARE(received->message.text, u"over TLS"_s);
    QCOMPARE(bob->socket().sslConfiguration().sessionProtocol(), QSsl::TlsV1_3);
}

void TestTls::differentCertificateIsRefusedByTheClient()
{
    startServer();
    auto *client = new TestClient;
    m_clients.append(client);
    // Pinned to another certificate: the client refuses to go on.
    QVERIFY(!client->openTls(m_server->serverPort(), QString(64, u'0')));
    QCOMPARE(client->certificateRefusals, 1);
    QVERIFY(!client->isConnected());
    QCOMPARE(m_server->onlineUserCount(), 0);
}

void TestTls::plainClientFailsCleanlyAndServerIsUnaffected()
{
    startServer();
    TestClient *bob = signedInOverTls(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bob && bob->join(u"general"_s));
    // A ws:// client on the wss:// port.
    TestClient plain;
    QVERIFY(!plain.open(m_server->serverPort()));
    QVERIFY(!plain.isConnected());
    QTRY_COMPARE(m_server->connectionCount(), 1);
    bob->frames.clear();
    bob->send(SendMessage{u"general"_s, {}, u"still fine"_s, {}});
    QVERIFY(bob->waitFor<ReceiveMessage>());
}

void TestTls::slowTlsHandshakeIsCut()
{
    ServerConfig config;
    config.handshakeTimeout = std::chrono::milliseconds(300);
    startServer(config);
    // Connects and never starts TLS.
    QTcpSocket silent;
    silent.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
    QVERIFY(silent.waitForConnected());
    QTRY_COMPARE(m_server->connectionCount(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(silent.state(), QAbstractSocket::UnconnectedState, 3000);
    QTRY_COMPARE(m_server->connectionCount(), 0);
}

void TestTls::reloadKeepsOpenConnections()
{
    startServer();
    TestClient *bob = signedInOverTls(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bob && bob->join(u"general"_s));
    const QString before = m_fingerprint;
    QString error;
    const auto renewed =
        TlsIdentity::loadOrCreateSelfSigned(m_dir->filePath(u"renewed/natter.db"_s), u"t"_s, &error);
    QVERIFY(renewed);
    m_server->reloadTls(*renewed);
    QCOMPARE(m_server->tlsFingerprint(), renewed->fingerprint());
    // The open connection goes on.
    bob->frames.clear();
    bob->send(SendMessage{u"general"_s, {}, u"after the reload"_s, {}});
    QVERIFY(bob->waitFor<ReceiveMessage>());
    // New connections see the new certificate; the old pin no longer fits.
    m_fingerprint = renewed->fingerprint();
    TestClient *carol = signedInOverTls(u"Carol"_s, u"carol@x.org"_s);
    QVERIFY(carol);
    QCOMPARE(carol->peerFingerprint(), renewed->fingerprint());
    auto *stale = new TestClient;
    m_clients.append(stale);
    QVERIFY(!stale->openTls(m_server->serverPort(), before));
}

void TestTls::onlyForwardSecretAeadSuitesAreOffered()
{
    startServer();
    const auto handshake = [this](QSsl::SslProtocol protocol, const QString &cipher) {
        QSslSocket client;
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        configuration.setProtocol(protocol);
        if (!cipher.isEmpty()) {
            const QSslCipher only(cipher);
            if (only.isNull())
                return std::pair{false, QSslCipher()};
            configuration.setCiphers({only});
        }
        configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
        client.setSslConfiguration(configuration);
        client.connectToHostEncrypted(u"127.0.0.1"_s, m_server->serverPort());
        (void)QTest::qWaitFor(
            [&client] { return client.isEncrypted() || client.state() == QAbstractSocket::UnconnectedState; },
            5000);
        return std::pair{client.isEncrypted(), client.sessionCipher()};
    };
    // A client that offers only CBC with SHA-1 (as the probe found taken) gets no connection.
    QVERIFY(!QSslCipher(u"ECDHE-ECDSA-AES128-SHA"_s).isNull());
    QVERIFY(!handshake(QSsl::TlsV1_2, u"ECDHE-ECDSA-AES128-SHA"_s).first);
    QVERIFY(!QSslCipher(u"ECDHE-ECDSA-AES256-SHA384"_s).isNull());
    QVERIFY(!handshake(QSsl::TlsV1_2, u"ECDHE-ECDSA-AES256-SHA384"_s).first);
    // TLS 1.2 with an AEAD suite is fine; a client that can, gets TLS 1.3.
    const auto [gcm, gcmCipher] = handshake(QSsl::TlsV1_2, u"ECDHE-ECDSA-AES128-GCM-SHA256"_s);
    QVERIFY(gcm);
    QCOMPARE(gcmCipher.name(), u"ECDHE-ECDSA-AES128-GCM-SHA256"_s);
    const auto [modern, modernCipher] = handshake(QSsl::TlsV1_2OrLater, {});
    QVERIFY(modern);
    QCOMPARE(modernCipher.protocol(), QSsl::TlsV1_3);
}

QTEST_GUILESS_MAIN(TestTls)
#include "tst_tls.moc"
