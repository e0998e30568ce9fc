// Who may sign in, and what an impostor gets: real QWebSocket clients against
// an in-process server on 127.0.0.1.
#include "server/chatserver.h"
#include "server/loginthrottle.h"
#include "server/serverlogging.h"
#include "server/sqlmessagestore.h"
#include "tests/support/rawwebsocket.h"
#include "tests/support/testclient.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;

namespace {

ServerConfig testConfig()
{
    ServerConfig config;
    config.host = QHostAddress::LocalHost;
    config.port = 0;
    config.passwordCost = PasswordHasher::Cost::Minimum;
    return config;
}

Hello helloFor(const QString &name, const QString &email)
{
    Hello hello;
    hello.user = User{name, email};
    return hello;
}

} // namespace

class TestSignIn : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void helloWithoutCredentialsIsRefusedAndClosed();
    void wrongPasswordGetsBadCredentialsAndNothingElse();
    void impostorConsumesNoHeldMessage();
    void impostorCannotRenameAnOnlineUser();
    void tokenSignsInAndOnlyForItsOwner();
    void framesSentBeforeWelcomeAreHandledAfterIt();
    void signOutRevokesOnlyThatDevice();
    void changingThePasswordSignsOutOtherDevices();
    void signOutClosesEveryConnectionOfThatToken();
    void changingThePasswordClosesAThiefWithThisDevicesToken();
    void reEnablingAnAccountDoesNotReviveItsTokens();
    void shortPasswordIsRefusedForANewAccount();
    void shortPasswordsAnswerAlikeWhetherOrNotTheEmailHasAnAccount();
    void inviteModeNeedsAValidInvite();
    void closedModeCreatesNoAccount();
    void disabledAccountIsClosedAtOnce();
    void failuresAndUnknownEmailsTakeTheSameTime();
    void lockoutAfterTenFailuresAndReleaseAfterTheWindow();
    void loginThrottleCountsWithinItsWindow();
    void aStrangersGuessesLockOutNoTokenNorAnotherAccount();
    void guessingOneAccountFromManyAddressesIsPaced();
    void aBurstOfGuessesDoesNotQueueOtherSignIns();
    void rateBudgetOutlivesTheConnection();
    void foreignOriginIsRefusedWith403_data();
    void foreignOriginIsRefusedWith403();
    void outsideStringsAreEscapedInTheLog();
    void connectionsPerAddressAreBounded();
    void connectionThatNeverSignsInIsClosed();
    void databaseFromBeforeAccountsIsClaimedOnFirstSignIn();
    void databaseFilesAreCreatedPrivate();

private:
    void startServer(const ServerConfig &config = testConfig());
    TestClient *client();
    TestClient *signedIn(const QString &name, const QString &email, const QString &password);
    QString dbPath() const { return m_dir->filePath(u"natter.db"_s); }
    /// Signs in as email with token on a new connection: the error code it is refused with.
    std::optional<ErrorCode> tokenRefusal(const QString &email, const QString &token);
    /// What `natterd user disable|enable` does: another process changes the database.
    bool setDisabledAsAdministrator(const QString &email, bool disabled);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<ChatServer> m_server;
    QList<TestClient *> m_clients;
};

void TestSignIn::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestSignIn::cleanup()
{
    qDeleteAll(m_clients);
    m_clients.clear();
    m_server.reset();
}

void TestSignIn::startServer(const ServerConfig &config)
{
    auto store = std::make_unique<SqlMessageStore>(dbPath());
    QVERIFY(store->open());
    m_server = std::make_unique<ChatServer>(config, std::move(store));
    QVERIFY2(m_server->listen(), qPrintable(m_server->errorString()));
}

TestClient *TestSignIn::client()
{
    auto *client = new TestClient;
    m_clients.append(client);
    if (!client->open(m_server->serverPort()))
        return nullptr;
    return client;
}

TestClient *TestSignIn::signedIn(const QString &name, const QString &email, const QString &password)
{
    TestClient *c = client();
    if (!c || !c->hello(name, email, password))
        return nullptr;
    return c;
}

std::optional<ErrorCode> TestSignIn::tokenRefusal(const QString &email, const QString &token)
{
    TestClient *c = client();
    if (!c)
        return std::nullopt;
    Hello hello = helloFor(u"Someone"_s, email);
    hello.token = token;
    c->send(hello);
    const std::optional<Error> error = c->waitFor<Error>();
    return error ? std::optional<ErrorCode>(error->code) : std::nullopt;
}

bool TestSignIn::setDisabledAsAdministrator(const QString &email, bool disabled)
{
    SqlMessageStore admin(dbPath(), SqlMessageStore::OpenMode::Administration);
    return admin.open() && admin.accounts()->setDisabled(email, disabled);
}

void TestSignIn::helloWithoutCredentialsIsRefusedAndClosed()
{
    startServer();
    TestClient *old = client();
    QVERIFY(old);
    old->send(helloFor(u"Old"_s, u"old@x.org"_s)); // a client from before accounts
    const auto error = old->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::CredentialsRequired);
    QVERIFY(old->waitForDisconnected());
    QCOMPARE(old->socket().closeCode(), QWebSocketProtocol::CloseCodePolicyViolated);
    QCOMPARE(old->count<Welcome>(), 0);
    QCOMPARE(m_server->onlineUserCount(), 0);
}

void TestSignIn::wrongPasswordGetsBadCredentialsAndNothingElse()
{
    startServer();
    QVERIFY(signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s));
    TestClient *impostor = client();
    QVERIFY(impostor);
    Hello hello = helloFor(u"Alice"_s, u"ALICE@x.org"_s);
    hello.password = u"guessing right?"_s;
    impostor->send(hello);
    const auto error = impostor->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::BadCredentials);
    QCOMPARE(error->request, u"hello"_s);
    // Still not signed in: every other request is refused.
    impostor->send(JoinRoom{u"general"_s});
    QCOMPARE(impostor->waitFor<Error>()->code, ErrorCode::NotAuthenticated);
    impostor->send(HistoryRequest{{}, u"bob@x.org"_s, {}, {}, 50});
    QCOMPARE(impostor->waitFor<Error>()->code, ErrorCode::NotAuthenticated);
    QCOMPARE(impostor->count<Welcome>(), 0);
    QCOMPARE(impostor->count<History>(), 0);
}

void TestSignIn::impostorConsumesNoHeldMessage()
{
    startServer();
    // Carol has an account and is offline; Bob writes to her.
    TestClient *carol = signedIn(u"Carol"_s, u"carol@x.org"_s, u"carol's secret"_s);
    QVERIFY(carol);
    carol->socket().close();
    QVERIFY(carol->waitForDisconnected());
    QTRY_COMPARE(m_server->onlineUserCount(), 0);
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s, u"bob's secret!"_s);
    QVERIFY(bob);
    bob->send(SendMessage{{}, u"carol@x.org"_s, u"the door code is 4711"_s, {}});
    QVERIFY(bob->waitFor<ReceiveMessage>());

    // Someone claims to be Carol: wrong password, and then a made-up token.
    TestClient *impostor = client();
    Hello hello = helloFor(u"Carol"_s, u"carol@x.org"_s);
    hello.password = u"not carol's secret"_s;
    impostor->send(hello);
    QCOMPARE(impostor->waitFor<Error>()->code, ErrorCode::BadCredentials);
    hello.password.clear();
    hello.token = u"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"_s;
    impostor->send(hello);
    QCOMPARE(impostor->waitFor<Error>()->code, ErrorCode::BadCredentials);
    // ...and Bob's own token with Carol's email.
    TestClient *bobAsCarol = client();
    hello.token = bob->token;
    bobAsCarol->send(hello);
    QCOMPARE(bobAsCarol->waitFor<Error>()->code, ErrorCode::BadCredentials);
    QCOMPARE(impostor->count<ReceiveMessage>(), 0);
    QCOMPARE(bobAsCarol->count<ReceiveMessage>(), 0);

    // The real Carol still gets it, once.
    TestClient *realCarol = client();
    QVERIFY(realCarol->helloWithToken(u"Carol"_s, u"carol@x.org"_s, carol->token));
    const auto held = realCarol->waitFor<ReceiveMessage>();
    QVERIFY(held);
    QCOMPARE(held->message.text, u"the door code is 4711"_s);
}

void TestSignIn::impostorCannotRenameAnOnlineUser()
{
    startServer();
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    QVERIFY(alice && alice->join(u"general"_s));
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s, u"bob's secret!"_s);
    QVERIFY(bob && bob->join(u"general"_s));
    bob->frames.clear();

    TestClient *impostor = client();
    Hello hello = helloFor(u"Alice (IT admin)"_s, u"alice@x.org"_s);
    hello.password = u"wrong password"_s;
    impostor->send(hello);
    QCOMPARE(impostor->waitFor<Error>()->code, ErrorCode::BadCredentials);
    impostor->send(SendMessage{u"general"_s, {}, u"send me your password"_s, {}});
    QCOMPARE(impostor->waitFor<Error>()->code, ErrorCode::NotAuthenticated);

    // Bob saw nothing; Alice's name is hers.
    alice->send(SendMessage{u"general"_s, {}, u"still me"_s, {}});
    const auto received = bob->waitFor<ReceiveMessage>();
    QVERIFY(received);
    QCOMPARE(received->message.from.name, u"Alice"_s);
    QCOMPARE(received->message.text, u"still me"_s);
    QCOMPARE(bob->count<UserJoined>(), 0);
}

void TestSignIn::tokenSignsInAndOnlyForItsOwner()
{
    startServer();
    TestClient *first = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    QVERIFY(first);
    QVERIFY(first->token.size() >= 43); // 256 bits, base64url
    // The token signs in again, on another connection, and is not renewed.
    TestClient *again = client();
    QVERIFY(again->helloWithToken(u"Alice"_s, u"alice@x.org"_s, first->token));
    // The token is stored as a hash only.
    QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"inspect"_s);
    db.setDatabaseName(dbPath());
    QVERIFY(db.open());
    {
        QSqlQuery query(db);
        QVERIFY(query.exec(u"SELECT token_hash FROM tokens"_s));
        QVERIFY(query.next());
        QCOMPARE(query.value(0).toByteArray().size(), 32);
        QVERIFY(!query.value(0).toByteArray().contains(first->token.toLatin1()));
        QVERIFY(query.exec(u"SELECT password_hash FROM accounts"_s) && query.next());
        QVERIFY(query.value(0).toString().startsWith(u"$argon2id$"_s));
        QVERIFY(!query.value(0).toString().contains(u"alice's secret"_s));
    }
    db.close();
    db = QSqlDatabase();
    QSqlDatabase::removeDatabase(u"inspect"_s);
}

void TestSignIn::framesSentBeforeWelcomeAreHandledAfterIt()
{
    startServer();
    TestClient *bob = client();
    Hello hello = helloFor(u"Bob"_s, u"bob@x.org"_s);
    hello.password = u"bob's secret!"_s;
    bob->send(hello);
    // Not waiting for welcome, as a browser console script would not.
    bob->send(JoinRoom{u"general"_s});
    bob->send(SendMessage{u"general"_s, {}, u"first words"_s, u"b-1"_s});
    const auto received = bob->waitFor<ReceiveMessage>();
    QVERIFY(received);
    QCOMPARE(received->message.text, u"first words"_s);
    QCOMPARE(bob->count<Error>(), 0);
}

void TestSignIn::signOutRevokesOnlyThatDevice()
{
    startServer();
    TestClient *laptop = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    TestClient *phone = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    QVERIFY(laptop && phone);
    QVERIFY(laptop->token != phone->token);
    laptop->send(SignOut{});
    QVERIFY(laptop->waitForDisconnected());
    QCOMPARE(laptop->socket().closeCode(), QWebSocketProtocol::CloseCodeNormal);
    QVERIFY(phone->isConnected());
    QCOMPARE(tokenRefusal(u"alice@x.org"_s, laptop->token),
             std::optional<ErrorCode>(ErrorCode::BadCredentials));
    TestClient *phoneAgain = client();
    QVERIFY(phoneAgain->helloWithToken(u"Alice"_s, u"alice@x.org"_s, phone->token));
}

void TestSignIn::changingThePasswordSignsOutOtherDevices()
{
    startServer();
    TestClient *laptop = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    TestClient *phone = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    QVERIFY(laptop && phone);
    laptop->send(ChangePassword{u"wrong one"_s, u"a brand new secret"_s});
    QCOMPARE(laptop->waitFor<Error>()->code, ErrorCode::BadCredentials);
    laptop->send(ChangePassword{u"alice's secret"_s, u"short"_s});
    QCOMPARE(laptop->waitFor<Error>()->code, ErrorCode::WeakPassword);
    laptop->send(ChangePassword{u"alice's secret"_s, u"a brand new secret"_s});
    QVERIFY(laptop->waitFor<PasswordChanged>());
    QVERIFY(phone->waitForDisconnected());
    QVERIFY(laptop->isConnected());
    TestClient *phoneAgain = client();
    Hello hello = helloFor(u"Alice"_s, u"alice@x.org"_s);
    hello.token = phone->token;
    phoneAgain->send(hello);
    QCOMPARE(phoneAgain->waitFor<Error>()->code, ErrorCode::BadCredentials);
    QVERIFY(signedIn(u"Alice"_s, u"alice@x.org"_s, u"a brand new secret"_s));
    TestClient *old = client();
    hello.token.clear();
    hello.password = u"alice's secret"_s;
    old->send(hello);
    QCOMPARE(old->waitFor<Error>()->code, ErrorCode::BadCredentials);
}

void TestSignIn::signOutClosesEveryConnectionOfThatToken()
{
    startServer();
    TestClient *laptop = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    TestClient *phone = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    QVERIFY(laptop && phone);
    // Someone copied the laptop's token and signed in with it.
    TestClient *thief = client();
    QVERIFY(thief->helloWithToken(u"Alice"_s, u"alice@x.org"_s, laptop->token));
    laptop->send(SignOut{});
    QVERIFY(laptop->waitForDisconnected());
    QVERIFY(thief->waitForDisconnected());
    QCOMPARE(thief->socket().closeReason(), u"signed out"_s);
    // Alice's phone has a token of its own: it stays, and hears a message.
    QVERIFY(phone->isConnected());
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s, u"bob's secret!"_s);
    QVERIFY(bob);
    bob->send(SendMessage{{}, u"alice@x.org"_s, u"still there?"_s, u"b-1"_s});
    QCOMPARE(phone->waitFor<ReceiveMessage>()->message.text, u"still there?"_s);
}

void TestSignIn::changingThePasswordClosesAThiefWithThisDevicesToken()
{
    startServer();
    TestClient *laptop = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    QVERIFY(laptop);
    TestClient *thief = client();
    QVERIFY(thief->helloWithToken(u"Alice"_s, u"alice@x.org"_s, laptop->token));
    laptop->send(ChangePassword{u"alice's secret"_s, u"a brand new secret"_s});
    const auto changed = laptop->waitFor<PasswordChanged>();
    QVERIFY(changed);
    QVERIFY(thief->waitForDisconnected());
    QVERIFY(laptop->isConnected());
    // The laptop got a new token; the old one (the thief's copy) is dead.
    QVERIFY(changed->token.size() >= 43);
    QVERIFY(changed->token != laptop->token);
    QCOMPARE(tokenRefusal(u"alice@x.org"_s, laptop->token),
             std::optional<ErrorCode>(ErrorCode::BadCredentials));
    TestClient *laptopLater = client();
    QVERIFY(laptopLater->helloWithToken(u"Alice"_s, u"alice@x.org"_s, changed->token));
    // The laptop's connection is still Alice's, under its new token: signing
    // out there revokes the new one.
    laptop->send(SignOut{});
    QVERIFY(laptop->waitForDisconnected());
    QVERIFY(laptopLater->waitForDisconnected());
}

void TestSignIn::reEnablingAnAccountDoesNotReviveItsTokens()
{
    startServer();
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    QVERIFY(alice);
    // natterd user disable, then user enable, from another process.
    QVERIFY(setDisabledAsAdministrator(u"alice@x.org"_s, true));
    QVERIFY(alice->waitForDisconnected(3000));
    QVERIFY(setDisabledAsAdministrator(u"alice@x.org"_s, false));
    {
        SqlMessageStore admin(dbPath(), SqlMessageStore::OpenMode::Administration);
        QVERIFY(admin.open());
        QCOMPARE(admin.accounts()->tokens(u"alice@x.org"_s)->size(), 0);
    }
    QCOMPARE(tokenRefusal(u"alice@x.org"_s, alice->token),
             std::optional<ErrorCode>(ErrorCode::BadCredentials));
    // Alice herself signs in with her password.
    QVERIFY(signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s));
}

void TestSignIn::shortPasswordIsRefusedForANewAccount()
{
    startServer();
    TestClient *c = client();
    Hello hello = helloFor(u"Eve"_s, u"eve@x.org"_s);
    hello.password = u"1234567"_s;
    c->send(hello);
    QCOMPARE(c->waitFor<Error>()->code, ErrorCode::WeakPassword);
    QVERIFY(c->hello(u"Eve"_s, u"eve@x.org"_s, u"12345678"_s)); // eight will do
}

void TestSignIn::shortPasswordsAnswerAlikeWhetherOrNotTheEmailHasAnAccount()
{
    startServer();
    QVERIFY(signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s));
    for (const QString &email : {u"alice@x.org"_s, u"nobody@x.org"_s}) {
        TestClient *c = client();
        Hello hello = helloFor(u"Someone"_s, email);
        hello.password = u"1234567"_s;
        c->send(hello);
        const auto error = c->waitFor<Error>();
        QVERIFY(error);
        QCOMPARE(error->code, ErrorCode::WeakPassword);
        QCOMPARE(error->message, u"a password has at least 8 characters"_s);
    }
}

void TestSignIn::inviteModeNeedsAValidInvite()
{
    ServerConfig config = testConfig();
    config.registration = ServerConfig::Registration::Invite;
    startServer(config);
    // An invite for one account, made by an administrator (natterd invite create).
    {
        SqlMessageStore admin(dbPath(), SqlMessageStore::OpenMode::Administration);
        QVERIFY(admin.open());
        Invite invite;
        invite.code = u"welcome-aboard"_s;
        invite.usesLeft = 1;
        QVERIFY(admin.accounts()->createInvite(invite));
    }
    TestClient *noInvite = client();
    Hello hello = helloFor(u"Dan"_s, u"dan@x.org"_s);
    hello.password = u"dan's secret!"_s;
    noInvite->send(hello);
    const auto refused = noInvite->waitFor<Error>();
    QCOMPARE(refused->code, ErrorCode::BadCredentials);
    QVERIFY(refused->message.contains(u"invite"_s));
    TestClient *wrongInvite = client();
    hello.invite = u"guessed"_s;
    wrongInvite->send(hello);
    QCOMPARE(wrongInvite->waitFor<Error>()->code, ErrorCode::BadCredentials);
    TestClient *dan = client();
    hello.invite = u"welcome-aboard"_s;
    dan->send(hello);
    QVERIFY(dan->waitFor<Welcome>());
    // Used up: a second person cannot use it.
    TestClient *erin = client();
    Hello second = helloFor(u"Erin"_s, u"erin@x.org"_s);
    second.password = u"erin's secret"_s;
    second.invite = u"welcome-aboard"_s;
    erin->send(second);
    QCOMPARE(erin->waitFor<Error>()->code, ErrorCode::BadCredentials);
    // Dan signs in again without one.
    QVERIFY(signedIn(u"Dan"_s, u"dan@x.org"_s, u"dan's secret!"_s));
}

void TestSignIn::closedModeCreatesNoAccount()
{
    ServerConfig config = testConfig();
    config.registration = ServerConfig::Registration::Closed;
    startServer(config);
    TestClient *c = client();
    Hello hello = helloFor(u"Fay"_s, u"fay@x.org"_s);
    hello.password = u"fay's secret!"_s;
    c->send(hello);
    QCOMPARE(c->waitFor<Error>()->code, ErrorCode::BadCredentials);
    SqlMessageStore admin(dbPath(), SqlMessageStore::OpenMode::Administration);
    QVERIFY(admin.open());
    Account account;
    QCOMPARE(admin.accounts()->findAccount(u"fay@x.org"_s, &account), AccountStore::Found::No);
}

void TestSignIn::disabledAccountIsClosedAtOnce()
{
    startServer();
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s);
    QVERIFY(alice);
    QVERIFY(setDisabledAsAdministrator(u"alice@x.org"_s, true));
    QElapsedTimer noticed;
    noticed.start();
    QVERIFY(alice->waitForDisconnected(3000));
    QVERIFY2(noticed.elapsed() < 1500, "a disabled user is disconnected within a second or so");
    QCOMPARE(alice->socket().closeReason(), u"account disabled"_s);
    // Disabling revoked the token; the password says why.
    TestClient *again = client();
    Hello hello = helloFor(u"Alice"_s, u"alice@x.org"_s);
    hello.token = alice->token;
    again->send(hello);
    QCOMPARE(again->waitFor<Error>()->code, ErrorCode::BadCredentials);
    TestClient *withPassword = client();
    hello.token.clear();
    hello.password = u"alice's secret"_s;
    withPassword->send(hello);
    QCOMPARE(withPassword->waitFor<Error>()->code, ErrorCode::AccountDisabled);
}

void TestSignIn::failuresAndUnknownEmailsTakeTheSameTime()
{
    // The real cost, so that the hash (not the noise) is what is measured.
    ServerConfig config = testConfig();
    config.passwordCost = PasswordHasher::Cost::Interactive;
    config.passwordHashingInBackground = false; // what is compared is the work, not the scheduler
    config.registration = ServerConfig::Registration::Closed;
    config.signInFailureLimit = 1000;
    startServer(config);
    {
        SqlMessageStore admin(dbPath(), SqlMessageStore::OpenMode::Administration);
        QVERIFY(admin.open());
        const QString hash = PasswordHasher(PasswordHasher::Cost::Interactive).hashNow(u"the real one"_s);
        QVERIFY(admin.accounts()->createAccount(Account{u"known@x.org"_s, u"Known"_s, hash, false, {}}));
    }
    TestClient *c = client();
    QVERIFY(c);
    auto timeOne = [c](const QString &email) {
        Hello hello = helloFor(u"Someone"_s, email);
        hello.password = u"a wrong password"_s;
        QElapsedTimer timer;
        timer.start();
        c->send(hello);
        const auto error = c->waitFor<Error>(10000);
        const qint64 ns = timer.nsecsElapsed();
        return error && error->code == ErrorCode::BadCredentials ? ns : qint64(-1);
    };
    QList<qint64> wrongPassword, unknownEmail;
    for (int i = 0; i < 20; ++i) {
        wrongPassword.append(timeOne(u"known@x.org"_s));
        unknownEmail.append(timeOne(u"nobody%1@x.org"_s.arg(i)));
    }
    QVERIFY(!wrongPassword.contains(-1) && !unknownEmail.contains(-1));
    auto median = [](QList<qint64> values) {
        std::sort(values.begin(), values.end());
        return double(values.at(values.size() / 2));
    };
    const double a = median(wrongPassword);
    const double b = median(unknownEmail);
    const double difference = std::abs(a - b) / std::max(a, b);
    QVERIFY2(difference < 0.30,
             qPrintable(u"medians %1 ms and %2 ms differ by %3 %"_s.arg(a / 1e6).arg(b / 1e6).arg(difference *
                                                                                                  100)));
}

void TestSignIn::lockoutAfterTenFailuresAndReleaseAfterTheWindow()
{
    startServer();
    QVERIFY(signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s));
    TestClient *guesser = client();
    Hello hello = helloFor(u"Alice"_s, u"alice@x.org"_s);
    for (int i = 0; i < 10; ++i) {
        hello.password = u"guess number %1"_s.arg(i);
        guesser->send(hello);
        QCOMPARE(guesser->waitFor<Error>()->code, ErrorCode::BadCredentials);
    }
    // Locked: even the right password is refused now, from this address.
    hello.password = u"alice's secret"_s;
    guesser->send(hello);
    QCOMPARE(guesser->waitFor<Error>()->code, ErrorCode::TooManyAttempts);
    QCOMPARE(guesser->count<Welcome>(), 0);
    // Five minutes later (an injected clock, not a sleep) it is let in again.
    m_server->advanceClockForTesting(5 * 60'000 + 1);
    guesser->send(hello);
    QVERIFY(guesser->waitFor<Welcome>());
}

void TestSignIn::aStrangersGuessesLockOutNoTokenNorAnotherAccount()
{
    // Everyone here shares one address, as behind a NAT or a proxy.
    startServer();
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s, u"bob's secret!"_s);
    QVERIFY(signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s));
    TestClient *guesser = client();
    Hello hello = helloFor(u"Alice"_s, u"alice@x.org"_s);
    for (int i = 0; i < 11; ++i) {
        hello.password = u"guess number %1"_s.arg(i);
        guesser->send(hello);
        QCOMPARE(guesser->waitFor<Error>()->code,
                 i < 10 ? ErrorCode::BadCredentials : ErrorCode::TooManyAttempts);
    }
    // Bob's app signs in again with its token.
    TestClient *bobAgain = client();
    QVERIFY(bobAgain->helloWithToken(u"Bob"_s, u"bob@x.org"_s, bob->token));
    // Carol, at the next desk, signs in (here: registers) with her password.
    QVERIFY(signedIn(u"Carol"_s, u"carol@x.org"_s, u"carol's secret"_s));
    // Alice's own password from this address waits out the lockout; her token does not.
    hello.password = u"alice's secret"_s;
    guesser->send(hello);
    QCOMPARE(guesser->waitFor<Error>()->code, ErrorCode::TooManyAttempts);
}

void TestSignIn::guessingOneAccountFromManyAddressesIsPaced()
{
    ServerConfig config = testConfig();
    config.signInAccountPace = std::chrono::minutes(1); // far longer than the test takes
    startServer(config);
    QVERIFY(signedIn(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s));
    // Eight machines (loopback addresses) guess Alice's password, two each.
    auto attempt = [this](const QString &from, const QString &password) -> std::optional<ErrorCode> {
        RawWebSocket raw;
        if (!raw.connectTcp(m_server->serverPort(), QHostAddress(from)) || !raw.upgrade())
            return ErrorCode::InternalError;
        Hello hello = helloFor(u"Alice"_s, u"alice@x.org"_s);
        hello.password = password;
        raw.sendText(Codec::encodeClientFrame(hello));
        std::optional<ErrorCode> answer = ErrorCode::InternalError; // none came
        (void)QTest::qWaitFor([&] {
            for (const QByteArray &text : raw.textsReceived()) {
                const auto frame = Codec::decodeServerFrame(text);
                if (!frame.isOk())
                    continue;
                if (std::holds_alternative<Error>(frame.value()))
                    answer = std::get<Error>(frame.value()).code;
                else if (std::holds_alternative<Welcome>(frame.value()))
                    answer = std::nullopt; // signed in: no error
                else
                    continue;
                return true;
            }
            return false;
        });
        return answer;
    };
    for (int i = 0; i < 10; ++i)
        QCOMPARE(attempt(u"127.0.0.%1"_s.arg(2 + i / 2), u"wrong guess %1"_s.arg(i)),
                 ErrorCode::BadCredentials);
    // Paced now: one attempt a minute, from wherever it comes.
    QCOMPARE(attempt(u"127.0.0.20"_s, u"wrong guess 10"_s), ErrorCode::BadCredentials);
    QCOMPARE(attempt(u"127.0.0.21"_s, u"wrong guess 11"_s), ErrorCode::TooManyAttempts);
    QCOMPARE(attempt(u"127.0.0.22"_s, u"alice's secret"_s), ErrorCode::TooManyAttempts);
    // Alice's own devices with tokens are not paced; her password gets its turn a minute later.
    m_server->advanceClockForTesting(60'001);
    QCOMPARE(attempt(u"127.0.0.23"_s, u"alice's secret"_s), std::optional<ErrorCode>());
}

void TestSignIn::loginThrottleCountsWithinItsWindow()
{
    LoginThrottle throttle(10, 120'000, 300'000);
    const QString address = u"192.0.2.7"_s;
    // Nine failures, then a pause longer than the window: the count starts again.
    for (int i = 0; i < 9; ++i)
        QVERIFY(!throttle.recordFailure(address, 1000 + i));
    QVERIFY(!throttle.recordFailure(address, 1000 + 121'000));
    QVERIFY(!throttle.isLocked(address, 1000 + 121'000));
    for (int i = 0; i < 8; ++i)
        QVERIFY(!throttle.recordFailure(address, 130'000 + i));
    QVERIFY(throttle.recordFailure(address, 130'010)); // the tenth within two minutes locks, once
    QVERIFY(!throttle.recordFailure(address, 130'020));
    QVERIFY(throttle.isLocked(address, 130'010 + 299'999));
    QVERIFY(!throttle.isLocked(u"192.0.2.8"_s, 130'010));
    QVERIFY(!throttle.isLocked(address, 130'010 + 300'000));
    throttle.prune(130'010 + 300'000 + 120'000);
    QCOMPARE(throttle.size(), 0);
}

void TestSignIn::aBurstOfGuessesDoesNotQueueOtherSignIns()
{
    // A real sign-in waited 9 s behind a burst of 64 wrong guesses: the
    // hashes ran first come, first served. Now a request waits only behind
    // those queued for its own address and account.
    PasswordHasher hasher(PasswordHasher::Cost::Interactive, false);
    hasher.setThreadCountForTesting(1);
    const QString hash = hasher.hashNow(u"the real one"_s);
    QStringList order;
    QObject context;
    const PasswordHasher::Keys attacker{u"@10.0.0.66"_s, u"alice@x.org"_s};
    hasher.verify(
        hash, u"guess 0"_s, &context, [&order](bool) { order.append(u"guess"_s); }, attacker);
    for (int i = 1; i < 10; ++i)
        hasher.verify(
            hash, u"guess %1"_s.arg(i), &context, [&order](bool) { order.append(u"guess"_s); }, attacker);
    hasher.verify(hash, u"the real one"_s, &context,
                  [&order](bool matches) { order.append(matches ? u"bob"_s : u"bob refused"_s); },
                  {u"@10.0.0.7"_s, u"bob@x.org"_s});
    QTRY_COMPARE_WITH_TIMEOUT(order.size(), 11, 30000);
    QVERIFY2(order.indexOf(u"bob"_s) >= 0 && order.indexOf(u"bob"_s) <= 2, qPrintable(order.join(u", "_s)));
}

void TestSignIn::rateBudgetOutlivesTheConnection()
{
    ServerConfig config = testConfig();
    config.rateLimit = 1;
    config.rateBurst = 3;
    startServer(config);
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s, u"bob's secret!"_s);
    QVERIFY(bob && bob->join(u"general"_s));
    for (int i = 0; i < 3; ++i)
        bob->send(SendMessage{u"general"_s, {}, u"spam %1"_s.arg(i), {}});
    QTRY_COMPARE(bob->count<ReceiveMessage>(), 3);
    const QString token = bob->token;
    bob->socket().close();
    QVERIFY(bob->waitForDisconnected());
    // Reconnecting does not refill the burst.
    TestClient *again = client();
    QVERIFY(again->helloWithToken(u"Bob"_s, u"bob@x.org"_s, token) && again->join(u"general"_s));
    again->send(SendMessage{u"general"_s, {}, u"more spam"_s, {}});
    QCOMPARE(again->waitFor<Error>()->code, ErrorCode::RateLimited);
}

void TestSignIn::foreignOriginIsRefusedWith403_data()
{
    QTest::addColumn<QByteArray>("origin");
    QTest::addColumn<bool>("allowed");
    QTest::newRow("none (a native client)") << QByteArray() << true;
    // PORT is the server's port. Its own pages: its scheme, a name of this host, its port.
    QTest::newRow("the server's own page") << "http://127.0.0.1:PORT"_ba << true;
    QTest::newRow("the server's own page, named") << "http://localhost:PORT"_ba << true;
    QTest::newRow("the server's own page, in capitals") << "HTTP://LOCALHOST:PORT"_ba << true;
    QTest::newRow("the server's own page, 127.1") << "http://127.1:PORT"_ba << true;
    QTest::newRow("an allowed origin") << "https://chat.example.org"_ba << true;
    QTest::newRow("an allowed origin, its port said") << "https://CHAT.example.org:443"_ba << true;
    QTest::newRow("a foreign page") << "http://evil.example"_ba << false;
    // Any other page on this computer is not the server's (issue 30's probe).
    QTest::newRow("localhost, another port") << "http://localhost:9999"_ba << false;
    QTest::newRow("127.0.0.1, port 1") << "http://127.0.0.1:1"_ba << false;
    QTest::newRow("[::1], another port") << "http://[::1]:8080"_ba << false;
    QTest::newRow("127.1, no port") << "http://127.1"_ba << false;
    QTest::newRow("2130706433, no port") << "http://2130706433"_ba << false;
    QTest::newRow("HTTP://LOCALHOST, no port") << "HTTP://LOCALHOST"_ba << false;
    QTest::newRow("the right port, the wrong scheme") << "https://127.0.0.1:PORT"_ba << false;
    QTest::newRow("an allowed origin, another port") << "https://chat.example.org:8443"_ba << false;
    QTest::newRow("with a path") << "http://127.0.0.1:PORT/chat"_ba << false;
    QTest::newRow("a look-alike of an allowed one") << "https://chat.example.org.evil.example"_ba << false;
    QTest::newRow("null") << "null"_ba << false;
}

void TestSignIn::foreignOriginIsRefusedWith403()
{
    QFETCH(QByteArray, origin);
    QFETCH(bool, allowed);
    ServerConfig config = testConfig();
    config.allowedOrigins = {u"https://chat.example.org"_s};
    startServer(config);
    origin.replace("PORT", QByteArray::number(m_server->serverPort()));
    RawWebSocket raw;
    QVERIFY(raw.connectTcp(m_server->serverPort()));
    const bool upgraded = raw.upgrade(origin.isEmpty() ? QByteArray() : "Origin: " + origin + "\r\n");
    QCOMPARE(upgraded, allowed);
    if (!allowed) {
        QVERIFY2(raw.upgradeResponse().startsWith("HTTP/1.1 403"), raw.upgradeResponse().constData());
        QVERIFY(!raw.upgradeResponse().contains(origin));
    }
}

void TestSignIn::outsideStringsAreEscapedInTheLog()
{
    QCOMPARE(forLog(u"http://a\x1b[2J\r\nFAKE natter.server: admin signed in\u202e"_s),
             u"http://a\\x1b[2J\\x0d\\x0aFAKE natter.server: admin signed in\\u202e"_s);
    QCOMPARE(forLog(u"back\\slash"_s), u"back\\\\slash"_s);
    QCOMPARE(forLog(QString(300, u'x')).size(), 201); // cut, and said so
    // The refused Origin reaches the log escaped.
    startServer();
    QTest::ignoreMessage(QtInfoMsg, "refused a handshake from origin http://evil.example/\\x09x");
    RawWebSocket raw;
    QVERIFY(raw.connectTcp(m_server->serverPort()));
    QVERIFY(!raw.upgrade("Origin: http://evil.example/\tx\r\n"));
}

void TestSignIn::connectionsPerAddressAreBounded()
{
    ServerConfig config = testConfig();
    config.maxConnectionsPerAddress = 3;
    startServer(config);
    QList<TestClient *> three;
    for (int i = 0; i < 3; ++i) {
        TestClient *c = client();
        QVERIFY(c);
        three.append(c);
    }
    // The fourth is refused with 1013 (try again later). A raw client reads the
    // code: Qt 6.4's QWebSocket reports close codes it does not know as 1002.
    RawWebSocket fourth;
    QVERIFY(fourth.connectTcp(m_server->serverPort()));
    QVERIFY(fourth.upgrade());
    QTRY_VERIFY(fourth.readCloseCode().has_value());
    QCOMPARE(*fourth.readCloseCode(), quint16(1013));
    QVERIFY(fourth.waitForDisconnected());
    // A place frees up when one leaves.
    three.constFirst()->socket().close();
    QVERIFY(three.constFirst()->waitForDisconnected());
    QTRY_COMPARE(m_server->connectionCount(), 2);
    TestClient *later = client();
    QVERIFY(later && later->hello(u"Late"_s, u"late@x.org"_s, u"late but here"_s));
}

void TestSignIn::connectionThatNeverSignsInIsClosed()
{
    ServerConfig config = testConfig();
    config.helloTimeout = std::chrono::milliseconds(300);
    startServer(config);
    TestClient *signedInClient = signedIn(u"Bob"_s, u"bob@x.org"_s, u"bob's secret!"_s);
    QVERIFY(signedInClient);
    TestClient *lurker = client();
    QVERIFY(lurker);
    // Pings (which QWebSocket answers) do not count as signing in.
    QSignalSpy pongs(&lurker->socket(), &QWebSocket::pong);
    lurker->socket().ping();
    QVERIFY(pongs.wait());
    QVERIFY(lurker->waitForDisconnected(3000));
    QCOMPARE(lurker->socket().closeCode(), QWebSocketProtocol::CloseCodePolicyViolated);
    QVERIFY(signedInClient->isConnected());
}

void TestSignIn::databaseFromBeforeAccountsIsClaimedOnFirstSignIn()
{
    // A database as issue 2's natterd left it: schema 1, history, no accounts.
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"old"_s);
        db.setDatabaseName(dbPath());
        QVERIFY(db.open());
        QSqlQuery query(db);
        for (const QString &statement :
             {u"CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation TEXT NOT NULL, recipient TEXT,"
              u" sender_email TEXT NOT NULL, sender_name TEXT NOT NULL, text TEXT NOT NULL, ts INTEGER NOT "
              u"NULL,"
              u" client_id TEXT)"_s,
              u"CREATE INDEX messages_by_conversation ON messages (conversation, id)"_s,
              u"CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_email, client_id)"
              u" WHERE client_id IS NOT NULL"_s,
              u"CREATE TABLE held_direct (recipient TEXT NOT NULL, message_id INTEGER NOT NULL REFERENCES"
              u" messages (id), PRIMARY KEY (recipient, message_id)) WITHOUT ROWID"_s,
              u"INSERT INTO messages VALUES (1, '#general', NULL, 'gus@x.org', 'Gus', 'from before', "
              u"1700000000000,"
              u" 'g-1')"_s,
              u"PRAGMA user_version = 1"_s})
            QVERIFY2(query.exec(statement), qPrintable(query.lastError().text()));
        db.close();
    }
    QSqlDatabase::removeDatabase(u"old"_s);
    startServer();
    // Gus signs in (claiming his email) and reads what he wrote before.
    TestClient *gus = signedIn(u"Gus"_s, u"gus@x.org"_s, u"gus's new password"_s);
    QVERIFY(gus);
    gus->send(JoinRoom{u"general"_s});
    const auto history = gus->waitFor<History>();
    QVERIFY(history);
    QCOMPARE(history->messages.size(), 1);
    QCOMPARE(history->messages.constFirst().text, u"from before"_s);
    QCOMPARE(history->messages.constFirst().from, (User{u"Gus"_s, u"gus@x.org"_s}));
    // From now on the email is his.
    TestClient *other = client();
    Hello hello = helloFor(u"Gus"_s, u"gus@x.org"_s);
    hello.password = u"someone else's"_s;
    other->send(hello);
    QCOMPARE(other->waitFor<Error>()->code, ErrorCode::BadCredentials);
}

void TestSignIn::databaseFilesAreCreatedPrivate()
{
    const QString path = m_dir->filePath(u"fresh/folder/natter.db"_s);
    {
        SqlMessageStore store(path);
        QVERIFY(store.open());
        QVERIFY(store.append({MessageDraft{
            Message{0, u"general"_s, {}, User{u"A"_s, u"a@x.org"_s}, u"hi"_s, {}, {}}, false}}));
        const auto owner = QFileDevice::ReadOwner | QFileDevice::WriteOwner;
        for (const QString &file : QStringList{path, path + u"-wal"_s, path + u"-shm"_s, path + u".lock"_s}) {
            QVERIFY2(QFileInfo::exists(file), qPrintable(file));
            const auto permissions =
                QFileInfo(file).permissions() & (QFileDevice::ReadGroup | QFileDevice::WriteGroup |
                                                 QFileDevice::ReadOther | QFileDevice::WriteOther | owner);
            QCOMPARE(permissions, owner);
        }
        const auto folder = QFileInfo(m_dir->filePath(u"fresh/folder"_s)).permissions();
        QVERIFY(!(folder & (QFileDevice::ReadGroup | QFileDevice::ReadOther | QFileDevice::ExeOther)));
    }
    // A database that others could read (an older natterd, a copy made with
    // a loose umask) is made private again at the next start, WAL included.
    const auto everyone =
        QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther;
    for (const QString &file : QStringList{path, path + u"-wal"_s, path + u"-shm"_s})
        QVERIFY(!QFileInfo::exists(file) || QFile::setPermissions(file, everyone));
    QVERIFY(QFile::setPermissions(path, everyone));
    SqlMessageStore again(path);
    QVERIFY(again.open());
    for (const QString &file : QStringList{path, path + u"-wal"_s, path + u"-shm"_s}) {
        if (!QFileInfo::exists(file))
            continue;
        QVERIFY2(!(QFileInfo(file).permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther)),
                 qPrintable(file));
    }
}

QTEST_GUILESS_MAIN(TestSignIn)
#include "tst_signin.moc"
