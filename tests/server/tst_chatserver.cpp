#include "server/chatserver.h"
#ifdef NATTER_TEST_WITH_EPOLL
#include "server/epolleventdispatcher.h"
#endif
#include "server/sqlmessagestore.h"
#include "tests/support/rawwebsocket.h"
#include "tests/support/testclient.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <functional>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(Natter::Protocol::ErrorCode)

namespace {

/// A store that refuses to store: the server must then push nothing.
class FailingStore final : public MessageStore
{
public:
    std::optional<QList<StoredMessage>> append(const QList<MessageDraft> &) override { return std::nullopt; }
    std::optional<int> deleteOlderThan(qint64, int) override { return std::nullopt; }
    std::optional<int> heldCount(const QString &) override { return std::nullopt; }
    bool holdDirectMessages(const QString &, const QList<qint64> &) override { return false; }
    std::optional<HistoryPage> history(const HistoryQuery &) override { return HistoryPage{}; }
    std::optional<QList<Message>> heldDirectMessages(const QString &, qint64, int) override
    {
        return QList<Message>{};
    }
    bool releaseHeldDirectMessages(const QString &, const QList<qint64> &) override { return true; }
    qint64 lastId() const override { return 0; }
    std::optional<std::optional<Message>> message(qint64) override { return std::nullopt; }
    std::optional<MessageUpdate> editMessage(qint64, const QString &, const QStringList &) override
    {
        return std::nullopt;
    }
    std::optional<MessageUpdate> deleteMessage(qint64) override { return std::nullopt; }
    std::optional<MessageUpdate> react(qint64, const User &, const QString &, bool) override
    {
        return std::nullopt;
    }
    std::optional<ChangesPage> changes(const ChangesQuery &) override { return std::nullopt; }
    std::optional<QList<qint64>> search(const SearchQuery &) override { return std::nullopt; }
    std::optional<QList<SearchHit>> searchHits(const SearchQuery &, const QList<qint64> &) override
    {
        return std::nullopt;
    }
    qint64 lastChangeSeq() const override { return 0; }
    std::optional<ConversationState> markRead(const QString &, const ConversationId &, qint64) override
    {
        return std::nullopt;
    }
    std::optional<ConversationState> setMuted(const QString &, const ConversationId &, bool) override
    {
        return std::nullopt;
    }
    std::optional<QList<ConversationState>> conversationStates(const QString &) override
    {
        return QList<ConversationState>{};
    }
    QString serverId() const override { return QStringLiteral("00000000000000000000000000000000"); }
    AccountStore *accounts() override
    {
        // Accounts work; only messages fail.
        if (!m_accounts.isOpen())
            m_accounts.open();
        return m_accounts.accounts();
    }
    QString errorString() const override { return u"disk full"_s; }

private:
    SqlMessageStore m_accounts{u":memory:"_s};
};

ServerConfig testConfig()
{
    ServerConfig config;
    config.host = QHostAddress::LocalHost;
    config.port = 0;
    config.serverName = u"Test chat"_s;
    config.passwordCost = PasswordHasher::Cost::Minimum;
    return config;
}

MessageDraft draft(const QString &room, const QString &to, const User &from, const QString &text)
{
    MessageDraft draft;
    draft.message.room = room;
    draft.message.to = to;
    draft.message.from = from;
    draft.message.text = text;
    return draft;
}

} // namespace

class TestChatServer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void helloIsWelcomed();
    void joinTellsEveryoneAndSendsMembersAndHistory();
    void roomMessageReachesEveryMemberOnly();
    void idsIncreaseStrictly();
    void directMessageReachesBothUsersOnEveryConnection();
    void userLeftOnlyWhenLastConnectionGoes();
    void leaveRoomStopsDelivery();
    void directMessageToOfflineUserIsDeliveredOnConnect();
    void joinerGetsTheLatestFifty();
    void historyPagesBackAndResumesAfterAnId();
    void directHistory();
    void largeFramesUseEveryLengthEncoding();
    void sameClientIdIsStoredAndPushedOnce();
    void typingGoesToTheOthers();
    void badInputGetsAnErrorAndNobodyNotices_data();
    void badInputGetsAnErrorAndNobodyNotices();
    void requestsBeforeHelloAreRefused();
    void unknownProtocolVersionIsRefused();
    void roomsPerConnectionAreBounded();
    void binaryFramesAreRefused();
    void oversizeFrameClosesWith1009AtOnce();
    void oversizeTextFromARealClientCloses();
    void slowConsumerIsDropped();
    void rateLimitAnswersRateLimited();
    void silentPeerIsDroppedAndLivePeerKept();
    void handshakeTimesOut();
    void storeFailureIsReportedAndNothingPushed();
    void shutdownClosesClientsWith1001();
    void aHugeHistoryPageIsCutNotDropped();
    void heavyHistoryPagesCostTheirWeight();
    void aPingFloodFromANonReaderIsDropped();
    void endlessRefusedRequestsCloseTheConnection();
    void framesBeyondTheInputBudgetCloseTheConnection();
    void aMassDisconnectTellsWhoStaysOncePerLeaver();
    void retentionDeletesOldMessagesAtStart();
    void aLongBacklogOfHeldMessagesArrivesWhole();
    void heldMessagesAreCappedPerRecipient();
    void whatOnePersonStoresIsBoundedPerHour();
    void messagesHeldForUnclaimedAddressesAreBounded();
    void craftedFramesGetTheDocumentedAnswer_data();
    void craftedFramesGetTheDocumentedAnswer();
    void controlAndDirectionCharactersAreKeptAsText();
    void aStalledDiskDelaysOnlyTheSendersAnswers();
    void aDirectMessageFollowsItsRecipientDuringTheCommit();
    void aStalledChangeDelaysOnlyItsAuthorsAnswers();
    void heldMessagesAreDeliveredDuringAStalledCommit();

private:
    void startServer(const ServerConfig &config = testConfig());
    /// Starts a server whose commits of messages stall as a disk in fsync would (0 at first).
    SqlMessageStore *startStallableServer();
    /// How many rows the server's database holds with this client id (read beside it).
    int storedWithClientId(const QString &clientId);
    /// The number a SELECT COUNT(*) finds in the server's database (read beside it).
    int countInDatabase(const QString &select);
    TestClient *connectedClient(const QString &name, const QString &email, const QStringList &rooms = {});
    Message sendAndReceive(TestClient *sender, const QString &room, const QString &text);
    /// Stores count drafts made by make(i) in the database the server will open.
    bool storeBeforeStart(int count, const std::function<MessageDraft(int)> &make);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<ChatServer> m_server;
    QList<TestClient *> m_clients;
};

void TestChatServer::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestChatServer::cleanup()
{
    qDeleteAll(m_clients);
    m_clients.clear();
    m_server.reset();
}

void TestChatServer::startServer(const ServerConfig &config)
{
    auto store = std::make_unique<SqlMessageStore>(m_dir->filePath(u"natter.db"_s));
    QVERIFY(store->open());
    m_server = std::make_unique<ChatServer>(config, std::move(store));
    QVERIFY2(m_server->listen(), qPrintable(m_server->errorString()));
    QCOMPARE(m_server->serverAddress(), QHostAddress(QHostAddress::LocalHost));
}

SqlMessageStore *TestChatServer::startStallableServer()
{
    auto store = std::make_unique<SqlMessageStore>(m_dir->filePath(u"natter.db"_s));
    if (!store->open())
        return nullptr;
    SqlMessageStore *stallable = store.get();
    m_server = std::make_unique<ChatServer>(testConfig(), std::move(store));
    return m_server->listen() ? stallable : nullptr;
}

int TestChatServer::storedWithClientId(const QString &clientId)
{
    return countInDatabase(u"SELECT COUNT(*) FROM messages WHERE client_id = '%1'"_s.arg(clientId));
}

int TestChatServer::countInDatabase(const QString &select)
{
    int count = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"beside"_s);
        db.setDatabaseName(m_dir->filePath(u"natter.db"_s));
        if (db.open()) {
            QSqlQuery query(db);
            if (query.exec(select) && query.next())
                count = query.value(0).toInt();
        }
    }
    QSqlDatabase::removeDatabase(u"beside"_s);
    return count;
}

TestClient *TestChatServer::connectedClient(const QString &name, const QString &email,
                                            const QStringList &rooms)
{
    auto *client = new TestClient;
    m_clients.append(client);
    return client->signIn(m_server->serverPort(), name, email, rooms) ? client : nullptr;
}

bool TestChatServer::storeBeforeStart(int count, const std::function<MessageDraft(int)> &make)
{
    SqlMessageStore store(m_dir->filePath(u"natter.db"_s));
    if (!store.open())
        return false;
    QList<MessageDraft> drafts;
    for (int i = 0; i < count; ++i)
        drafts.append(make(i));
    return store.append(drafts).has_value();
}

Message TestChatServer::sendAndReceive(TestClient *sender, const QString &room, const QString &text)
{
    sender->send(SendMessage{room, {}, text, {}});
    const auto received = sender->waitFor<ReceiveMessage>();
    return received ? received->message : Message{};
}

void TestChatServer::helloIsWelcomed()
{
    startServer();
    TestClient client;
    QVERIFY(client.open(m_server->serverPort()));
    client.send(Hello{User{u"Bob"_s, u"Bob@Example.ORG"_s}, 1, u"bob's password"_s, {}, u"laptop"_s, {}});
    const auto welcome = client.waitFor<Welcome>();
    QVERIFY(welcome);
    QCOMPARE(welcome->user.name, u"Bob"_s);
    QCOMPARE(welcome->user.email, u"bob@example.org"_s); // emails compare case-insensitively
    QCOMPARE(welcome->protocol, 1);
    QCOMPARE(welcome->server, u"natterd " NATTER_VERSION ""_s);
    QCOMPARE(welcome->serverName, u"Test chat"_s);
    QCOMPARE(welcome->limits.maxTextLength, 4000);
    QCOMPARE(welcome->limits.maxFrameBytes, 65536);
    // A first sign-in with a password creates the account and returns a token of 256 bits.
    QVERIFY(welcome->token.size() >= 43);
    QCOMPARE(m_server->onlineUserCount(), 1);
}

void TestChatServer::joinTellsEveryoneAndSendsMembersAndHistory()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bob);
    bob->send(JoinRoom{u"codeial"_s});
    const auto bobJoined = bob->waitFor<UserJoined>();
    QVERIFY(bobJoined);
    QCOMPARE(bobJoined->user.email, u"bob@x.org"_s);
    const auto members = bob->waitFor<Members>();
    QVERIFY(members);
    QCOMPARE(members->users.size(), 1);
    const auto history = bob->waitFor<History>();
    QVERIFY(history);
    QCOMPARE(history->room, u"codeial"_s);
    QVERIFY(history->messages.isEmpty());
    QVERIFY(!history->hasMore);

    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s);
    QVERIFY(carol);
    carol->send(JoinRoom{u"codeial"_s});
    const auto carolSeenByBob = bob->waitFor<UserJoined>();
    QVERIFY(carolSeenByBob);
    QCOMPARE(carolSeenByBob->user, (User{u"Carol"_s, u"carol@x.org"_s}));
    QCOMPARE(carolSeenByBob->room, u"codeial"_s);
    QVERIFY(carol->waitFor<UserJoined>());
    const auto carolMembers = carol->waitFor<Members>();
    QVERIFY(carolMembers);
    QCOMPARE(carolMembers->users.size(), 2);
    QCOMPARE(carolMembers->users.at(0).name, u"Bob"_s);
    QCOMPARE(carolMembers->users.at(1).name, u"Carol"_s);
}

void TestChatServer::roomMessageReachesEveryMemberOnly()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"codeial"_s});
    TestClient *dave = connectedClient(u"Dave"_s, u"dave@x.org"_s, {u"other"_s});
    QVERIFY(bob && carol && dave);
    bob->frames.clear();

    bob->send(SendMessage{u"codeial"_s, {}, u"hello"_s, u"b-1"_s});
    const auto atBob = bob->waitFor<ReceiveMessage>();
    const auto atCarol = carol->waitFor<ReceiveMessage>();
    QVERIFY(atBob && atCarol);
    QCOMPARE(atBob->message, atCarol->message);
    QCOMPARE(atBob->message.text, u"hello"_s);
    QCOMPARE(atBob->message.room, u"codeial"_s);
    QCOMPARE(atBob->message.from, (User{u"Bob"_s, u"bob@x.org"_s}));
    QCOMPARE(atBob->message.clientId, u"b-1"_s);
    QVERIFY(atBob->message.id > 0);
    QVERIFY(qAbs(atBob->message.timestamp.msecsTo(QDateTime::currentDateTimeUtc())) < 60'000);

    // Dave, in another room, gets nothing: his next frame is his own room's message.
    sendAndReceive(dave, u"other"_s, u"elsewhere"_s);
    QCOMPARE(dave->count<ReceiveMessage>(), 0);
    QVERIFY(dave->frames.isEmpty());
}

void TestChatServer::idsIncreaseStrictly()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    for (int i = 0; i < 30; ++i)
        bob->send(SendMessage{u"codeial"_s, {}, u"m%1"_s.arg(i), {}});
    QTRY_COMPARE(bob->count<ReceiveMessage>(), 30);
    qint64 last = 0;
    for (int i = 0; i < 30; ++i) {
        const auto received = bob->takeFirst<ReceiveMessage>();
        QCOMPARE(received->message.text, u"m%1"_s.arg(i)); // in the order sent
        QVERIFY(received->message.id > last);
        last = received->message.id;
    }
}

void TestChatServer::directMessageReachesBothUsersOnEveryConnection()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s);
    TestClient *bobPhone = connectedClient(u"Bob"_s, u"bob@x.org"_s);
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s);
    TestClient *carolPhone = connectedClient(u"Carol"_s, u"carol@x.org"_s);
    TestClient *dave = connectedClient(u"Dave"_s, u"dave@x.org"_s, {u"codeial"_s});
    QVERIFY(bob && bobPhone && carol && carolPhone && dave);

    bob->send(SendMessage{{}, u"Carol@X.org"_s, u"psst"_s, u"b-1"_s});
    for (TestClient *client : {bob, bobPhone, carol, carolPhone}) {
        const auto received = client->waitFor<ReceiveMessage>();
        QVERIFY(received);
        QCOMPARE(received->message.text, u"psst"_s);
        QCOMPARE(received->message.to, u"carol@x.org"_s);
        QVERIFY(received->message.room.isEmpty());
        QCOMPARE(received->message.from.email, u"bob@x.org"_s);
    }
    sendAndReceive(dave, u"codeial"_s, u"sync"_s);
    QVERIFY(dave->frames.isEmpty());
    QCOMPARE(carol->count<ReceiveMessage>(), 0); // exactly once each
}

void TestChatServer::userLeftOnlyWhenLastConnectionGoes()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"codeial"_s});
    QVERIFY(bob && carol);
    QVERIFY(bob->waitFor<UserJoined>()); // Carol
    TestClient *carolPhone = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"codeial"_s});
    QVERIFY(carolPhone);
    sendAndReceive(bob, u"codeial"_s, u"sync"_s);
    QCOMPARE(bob->count<UserJoined>(), 0); // Carol was a member already

    carolPhone->socket().close();
    sendAndReceive(bob, u"codeial"_s, u"sync"_s);
    QCOMPARE(bob->count<UserLeft>(), 0);

    carol->socket().close();
    const auto left = bob->waitFor<UserLeft>();
    QVERIFY(left);
    QCOMPARE(left->user.email, u"carol@x.org"_s);
    QCOMPARE(left->room, u"codeial"_s);
    QTRY_COMPARE(m_server->onlineUserCount(), 1);
}

void TestChatServer::leaveRoomStopsDelivery()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"codeial"_s});
    QVERIFY(bob && carol);
    carol->send(LeaveRoom{u"codeial"_s});
    QVERIFY(carol->waitFor<UserLeft>()); // acknowledged to the leaver
    const auto left = bob->waitFor<UserLeft>();
    QVERIFY(left);
    QCOMPARE(left->user.name, u"Carol"_s);

    sendAndReceive(bob, u"codeial"_s, u"after"_s);
    carol->send(SendMessage{u"codeial"_s, {}, u"still here?"_s, u"c-1"_s});
    const auto error = carol->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::NotInRoom);
    QCOMPARE(error->clientId, u"c-1"_s);
    QCOMPARE(carol->count<ReceiveMessage>(), 0);

    carol->send(LeaveRoom{u"codeial"_s});
    QCOMPARE(carol->waitFor<Error>()->code, ErrorCode::NotInRoom);
}

void TestChatServer::directMessageToOfflineUserIsDeliveredOnConnect()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bob);
    bob->send(SendMessage{{}, u"dave@x.org"_s, u"welcome aboard"_s, {}});
    bob->send(SendMessage{{}, u"dave@x.org"_s, u"lunch?"_s, {}});
    QTRY_COMPARE(bob->count<ReceiveMessage>(), 2);

    TestClient dave;
    QVERIFY(dave.open(m_server->serverPort()));
    QVERIFY(dave.hello(u"Dave"_s, u"dave@x.org"_s));
    QTRY_COMPARE(dave.count<ReceiveMessage>(), 2);
    QCOMPARE(dave.takeFirst<ReceiveMessage>()->message.text, u"welcome aboard"_s);
    QCOMPARE(dave.takeFirst<ReceiveMessage>()->message.text, u"lunch?"_s);

    // Delivered once: a second device connecting later does not get them again.
    TestClient *davePhone = connectedClient(u"Dave"_s, u"dave@x.org"_s, {u"sync"_s});
    QVERIFY(davePhone);
    sendAndReceive(davePhone, u"sync"_s, u"sync"_s);
    QVERIFY(davePhone->frames.isEmpty());

    // Away again: what comes now waits for him too (the server knew he had
    // nothing waiting any more, and must learn that he has again).
    dave.socket().close();
    davePhone->socket().close();
    QTRY_COMPARE(m_server->onlineUserCount(), 1);
    bob->send(SendMessage{{}, u"dave@x.org"_s, u"still on for lunch?"_s, {}});
    QTRY_COMPARE(bob->count<ReceiveMessage>(), 3);
    TestClient daveAgain; // not connectedClient(): it forgets what came with the welcome
    QVERIFY(daveAgain.open(m_server->serverPort()) && daveAgain.hello(u"Dave"_s, u"dave@x.org"_s));
    QTRY_COMPARE(daveAgain.count<ReceiveMessage>(), 1);
    QCOMPARE(daveAgain.takeFirst<ReceiveMessage>()->message.text, u"still on for lunch?"_s);
}

void TestChatServer::joinerGetsTheLatestFifty()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    for (int i = 1; i <= 60; ++i)
        bob->send(SendMessage{u"codeial"_s, {}, u"m%1"_s.arg(i), {}});
    QTRY_COMPARE(bob->count<ReceiveMessage>(), 60);

    TestClient *dave = connectedClient(u"Dave"_s, u"dave@x.org"_s);
    QVERIFY(dave);
    QVERIFY(dave->join(u"codeial"_s));
    const auto history = dave->takeFirst<History>();
    QCOMPARE(history->messages.size(), 50);
    QCOMPARE(history->messages.first().text, u"m11"_s);
    QCOMPARE(history->messages.last().text, u"m60"_s);
    QVERIFY(history->hasMore);
}

void TestChatServer::historyPagesBackAndResumesAfterAnId()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    for (int i = 1; i <= 25; ++i)
        bob->send(SendMessage{u"codeial"_s, {}, u"m%1"_s.arg(i), {}});
    QTRY_COMPARE(bob->count<ReceiveMessage>(), 25);
    QList<qint64> ids;
    while (const auto received = bob->takeFirst<ReceiveMessage>())
        ids.append(received->message.id);

    bob->send(HistoryRequest{u"codeial"_s, {}, ids.at(20), std::nullopt, 10});
    auto page = bob->waitFor<History>();
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 10);
    QCOMPARE(page->messages.first().id, ids.at(10));
    QCOMPARE(page->messages.last().id, ids.at(19));
    QVERIFY(page->hasMore);

    // Resume: a client that saw up to m20 asks for what came after.
    bob->send(HistoryRequest{u"codeial"_s, {}, std::nullopt, ids.at(19), 3});
    page = bob->waitFor<History>();
    QCOMPARE(page->messages.size(), 3);
    QCOMPARE(page->messages.first().text, u"m21"_s);
    QVERIFY(page->hasMore);
    bob->send(HistoryRequest{u"codeial"_s, {}, std::nullopt, ids.at(22), 50});
    page = bob->waitFor<History>();
    QCOMPARE(page->messages.size(), 2);
    QVERIFY(!page->hasMore);

    bob->send(HistoryRequest{u"elsewhere"_s, {}, std::nullopt, std::nullopt, 50});
    QCOMPARE(bob->waitFor<Error>()->code, ErrorCode::NotInRoom);
}

void TestChatServer::directHistory()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s);
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s);
    QVERIFY(bob && carol);
    bob->send(SendMessage{{}, u"carol@x.org"_s, u"one"_s, {}});
    QVERIFY(carol->waitFor<ReceiveMessage>());
    carol->send(SendMessage{{}, u"bob@x.org"_s, u"two"_s, {}});
    QVERIFY(bob->waitFor<ReceiveMessage>());
    carol->send(HistoryRequest{{}, u"bob@x.org"_s, std::nullopt, std::nullopt, 50});
    const auto page = carol->waitFor<History>();
    QVERIFY(page);
    QCOMPARE(page->with, u"bob@x.org"_s);
    QCOMPARE(page->messages.size(), 2);
    QCOMPARE(page->messages.at(0).text, u"one"_s);
    QCOMPARE(page->messages.at(1).text, u"two"_s);
}

void TestChatServer::largeFramesUseEveryLengthEncoding()
{
    // Frames are framed by the server itself: payloads under 126 bytes, up to
    // 64 KiB (16-bit length) and beyond (64-bit length) must all arrive whole.
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    const QString text(3000, u'\u00e9'); // 6,000 UTF-8 bytes each
    for (int i = 0; i < 30; ++i)
        bob->send(SendMessage{u"codeial"_s, {}, text, {}});
    QTRY_COMPARE(bob->count<ReceiveMessage>(), 30); // ~6 KB frames
    QCOMPARE(bob->takeFirst<ReceiveMessage>()->message.text, text);
    bob->send(HistoryRequest{u"codeial"_s, {}, std::nullopt, std::nullopt, 200});
    const auto page = bob->waitFor<History>(); // ~180 KB
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 30);
    QCOMPARE(page->messages.last().text, text);
    QCOMPARE(bob->undecodable, 0);
    QVERIFY(bob->isConnected());
}

void TestChatServer::sameClientIdIsStoredAndPushedOnce()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"codeial"_s});
    QVERIFY(bob && carol);
    bob->send(SendMessage{u"codeial"_s, {}, u"only once"_s, u"b-42"_s});
    const auto original = bob->waitFor<ReceiveMessage>();
    QVERIFY(original);
    QVERIFY(carol->waitFor<ReceiveMessage>());

    // The resend after a reconnect, from a new connection of the same user.
    TestClient *bobAgain = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bobAgain);
    bobAgain->send(SendMessage{u"codeial"_s, {}, u"only once"_s, u"b-42"_s});
    const auto answer = bobAgain->waitFor<ReceiveMessage>();
    QVERIFY(answer);
    QCOMPARE(answer->message.id, original->message.id);
    QCOMPARE(answer->message.timestamp, original->message.timestamp);

    const Message marker = sendAndReceive(bobAgain, u"codeial"_s, u"marker"_s);
    QTRY_COMPARE(carol->count<ReceiveMessage>(), 1);
    QCOMPARE(carol->takeFirst<ReceiveMessage>()->message.id, marker.id); // no second copy
    carol->send(HistoryRequest{u"codeial"_s, {}, std::nullopt, std::nullopt, 50});
    QCOMPARE(carol->waitFor<History>()->messages.size(), 2);
}

void TestChatServer::typingGoesToTheOthers()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"codeial"_s});
    QVERIFY(bob && carol);
    bob->frames.clear();
    bob->send(TypingRequest{u"codeial"_s, true, {}});
    const auto typing = carol->waitFor<TypingNotice>();
    QVERIFY(typing);
    QCOMPARE(typing->user.name, u"Bob"_s);
    QCOMPARE(typing->room, u"codeial"_s);
    QVERIFY(typing->active);
    sendAndReceive(bob, u"codeial"_s, u"sync"_s);
    QCOMPARE(bob->count<TypingNotice>(), 0);

    bob->send(TypingRequest{u"elsewhere"_s, true, {}});
    QCOMPARE(bob->waitFor<Error>()->code, ErrorCode::NotInRoom);
}

void TestChatServer::badInputGetsAnErrorAndNobodyNotices_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<ErrorCode>("code");
    const QByteArray longText(4001, 'a');
    QTest::newRow("not json") << "}{"_ba << ErrorCode::BadJson;
    QTest::newRow("not an object") << R"(["hello"])"_ba << ErrorCode::BadFrame;
    QTest::newRow("unknown type") << R"({"type":"shout","room":"codeial"})"_ba << ErrorCode::UnknownType;
    QTest::newRow("missing field") << R"({"type":"send_message","room":"codeial"})"_ba << ErrorCode::BadField;
    QTest::newRow("wrong field type")
        << R"({"type":"join_room","room":["codeial"]})"_ba << ErrorCode::BadField;
    QTest::newRow("hello twice") << R"({"type":"hello","name":"M","email":"m@x.org"})"_ba
                                 << ErrorCode::AlreadyAuthenticated;
    QTest::newRow("room not joined") << R"({"type":"send_message","room":"secret","text":"hi"})"_ba
                                     << ErrorCode::NotInRoom;
    QTest::newRow("empty text") << R"({"type":"send_message","room":"codeial","text":""})"_ba
                                << ErrorCode::BadText;
    QTest::newRow("text too long") << QByteArray(R"({"type":"send_message","room":"codeial","text":")" +
                                                 longText + R"("})")
                                   << ErrorCode::TextTooLong;
    QTest::newRow("bad room") << R"({"type":"join_room","room":"No Spaces"})"_ba << ErrorCode::BadRoom;
    QTest::newRow("bad email") << R"({"type":"send_message","to":"carol","text":"hi"})"_ba
                               << ErrorCode::BadEmail;
    // 10,000 halves of a character and an x once passed as a two-character text.
    QByteArray lone = R"({"type":"send_message","room":"codeial","text":")";
    for (int i = 0; i < 10000; ++i)
        lone += R"(\udc00)";
    QTest::newRow("lone surrogates") << lone + R"(x"})" << ErrorCode::BadField;
}

void TestChatServer::badInputGetsAnErrorAndNobodyNotices()
{
    QFETCH(QByteArray, frame);
    QFETCH(ErrorCode, code);
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    TestClient *mallory = connectedClient(u"Mallory"_s, u"m@x.org"_s, {u"codeial"_s});
    QVERIFY(bob && mallory);
    QVERIFY(bob->waitFor<UserJoined>());
    bob->frames.clear();

    mallory->sendRaw(frame);
    const auto error = mallory->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, code);
    QVERIFY(!error->message.isEmpty());

    // The connection stays usable, and the only thing Bob ever sees is the good message.
    const Message good = sendAndReceive(mallory, u"codeial"_s, u"sorry"_s);
    QCOMPARE(good.text, u"sorry"_s);
    const auto atBob = bob->waitFor<ReceiveMessage>();
    QVERIFY(atBob);
    QCOMPARE(atBob->message.id, good.id);
    QVERIFY(bob->frames.isEmpty());
    QCOMPARE(bob->undecodable, 0);

    // Nothing rejected was stored.
    bob->send(HistoryRequest{u"codeial"_s, {}, std::nullopt, std::nullopt, 50});
    QCOMPARE(bob->waitFor<History>()->messages.size(), 1);
}

void TestChatServer::requestsBeforeHelloAreRefused()
{
    startServer();
    TestClient client;
    QVERIFY(client.open(m_server->serverPort()));
    client.send(JoinRoom{u"codeial"_s});
    const auto error = client.waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::NotAuthenticated);
    QCOMPARE(error->request, u"join_room"_s);
    // Still usable: hello works afterwards.
    QVERIFY(client.hello(u"Late"_s, u"late@x.org"_s));
}

void TestChatServer::unknownProtocolVersionIsRefused()
{
    startServer();
    TestClient client;
    QVERIFY(client.open(m_server->serverPort()));
    Hello future;
    future.user = User{u"Future"_s, u"future@x.org"_s};
    future.protocol = 2;
    future.password = TestClient::defaultPassword();
    client.send(future);
    const auto error = client.waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::UnsupportedProtocol);
    QCOMPARE(m_server->onlineUserCount(), 0);
    QVERIFY(client.hello(u"Future"_s, u"future@x.org"_s)); // protocol 1 still works
}

void TestChatServer::roomsPerConnectionAreBounded()
{
    ServerConfig config = testConfig();
    config.maxRoomsPerConnection = 3;
    startServer(config);
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"a"_s, u"b"_s, u"c"_s});
    QVERIFY(bob);
    bob->send(JoinRoom{u"d"_s});
    const auto error = bob->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::TooManyRooms);
    QVERIFY(bob->join(u"a"_s)); // rejoining a joined room is not a new room
    bob->send(LeaveRoom{u"c"_s});
    QVERIFY(bob->waitFor<UserLeft>());
    QVERIFY(bob->join(u"d"_s));
}

void TestChatServer::binaryFramesAreRefused()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    bob->socket().sendBinaryMessage("{\"type\":\"join_room\",\"room\":\"x\"}");
    QCOMPARE(bob->waitFor<Error>()->code, ErrorCode::BinaryNotSupported);
    QCOMPARE(sendAndReceive(bob, u"codeial"_s, u"still fine"_s).text, u"still fine"_s);
}

void TestChatServer::oversizeFrameClosesWith1009AtOnce()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    RawWebSocket raw;
    QVERIFY(raw.connectTcp(m_server->serverPort()));
    QVERIFY(raw.upgrade());
    // Claim 1 GiB and send none of it: the server must not wait for (or buffer) the payload.
    raw.tcp().write(RawWebSocket::frameHeader(0x1, quint64(1) << 30));
    QVERIFY(raw.waitForDisconnected());
    QCOMPARE(raw.readCloseCode(), std::optional<quint16>(1009));
    QCOMPARE(sendAndReceive(bob, u"codeial"_s, u"unaffected"_s).text, u"unaffected"_s);
}

void TestChatServer::oversizeTextFromARealClientCloses()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    bob->sendRaw(QByteArray(R"({"type":"send_message","room":"codeial","text":")") +
                 QByteArray(70 * 1024, 'x') + "\"}");
    QVERIFY(bob->waitForDisconnected());
    QCOMPARE(bob->socket().closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
}

void TestChatServer::slowConsumerIsDropped()
{
    ServerConfig config = testConfig();
    config.maxQueuedBytes = 256 * 1024;
    config.rateLimit = 0;
    setInputRate(&config, 0);
    startServer(config);
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);

    RawWebSocket slow;
    QVERIFY(slow.connectTcp(m_server->serverPort()));
    QVERIFY(slow.upgrade());
    slow.sendText(R"({"type":"hello","name":"Sloth","email":"sloth@x.org","password":"sloth's secret"})");
    slow.sendText(R"({"type":"join_room","room":"codeial"})");
    QVERIFY(bob->waitFor<UserJoined>());
    slow.tcp().setReadBufferSize(4096); // and then never read: the kernel buffers fill up
    QSignalSpy closed(m_server.get(), &ChatServer::sessionClosed);

    const QString text(3000, u'x');
    int sent = 0;
    // Bounded: 5,000 messages of 3 KB (15 MB) is far more than loopback buffers hold.
    while (closed.isEmpty() && sent < 5000) {
        for (int i = 0; i < 100; ++i, ++sent)
            bob->send(SendMessage{u"codeial"_s, {}, text, {}});
        QVERIFY(QTest::qWaitFor([bob] { return bob->count<ReceiveMessage>() == 100; }, 10000));
        bob->frames.clear();
    }
    QVERIFY2(!closed.isEmpty(), "the server kept buffering for a client that does not read");
    QCOMPARE(m_server->sessionCount(), 1);
    QVERIFY(bob->isConnected());
    QCOMPARE(sendAndReceive(bob, u"codeial"_s, u"still here"_s).text, u"still here"_s);
}

void TestChatServer::rateLimitAnswersRateLimited()
{
    ServerConfig config = testConfig();
    config.rateLimit = 1;
    config.rateBurst = 5;
    startServer(config);
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    for (int i = 0; i < 10; ++i)
        bob->send(SendMessage{u"codeial"_s, {}, u"spam"_s, u"s-%1"_s.arg(i)});
    QTRY_COMPARE(bob->count<ReceiveMessage>() + bob->count<Error>(), 10);
    QVERIFY(bob->count<ReceiveMessage>() >= 5);
    QVERIFY(bob->count<ReceiveMessage>() <= 6); // the burst, plus at most one refilled token
    const auto error = bob->takeFirst<Error>();
    QCOMPARE(error->code, ErrorCode::RateLimited);
    QCOMPARE(error->request, u"send_message"_s);
    QVERIFY(error->clientId.startsWith(u"s-"_s));

    bob->send(HistoryRequest{u"codeial"_s, {}, std::nullopt, std::nullopt, 50});
    const auto history = bob->waitFor<History>();
    QCOMPARE(history->messages.size(), bob->count<ReceiveMessage>()); // refused ones were not stored
}

void TestChatServer::silentPeerIsDroppedAndLivePeerKept()
{
    ServerConfig config = testConfig();
    config.pingInterval = std::chrono::milliseconds(100);
    config.idleTimeout = std::chrono::milliseconds(400);
    startServer(config);
    TestClient *live = connectedClient(u"Bob"_s, u"bob@x.org"_s); // QWebSocket answers pings itself
    QVERIFY(live);
    RawWebSocket silent; // never answers
    QVERIFY(silent.connectTcp(m_server->serverPort()));
    QVERIFY(silent.upgrade());
    QVERIFY(silent.waitForDisconnected(5000));
    QVERIFY(silent.pingsReceived() >= 1); // it was asked before it was dropped
    // The live client was connected (and silent in chat terms) for longer than
    // the silent one; it stays because its pongs count as being heard from.
    QVERIFY(live->isConnected());
    QVERIFY(live->join(u"codeial"_s));
}

void TestChatServer::handshakeTimesOut()
{
    ServerConfig config = testConfig();
    config.handshakeTimeout = std::chrono::milliseconds(200);
    startServer(config);
    // Bob completed his handshake before the idle socket arrived, so any timer
    // wrongly left on him would fire before the idle socket's.
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    RawWebSocket idle;
    QVERIFY(idle.connectTcp(m_server->serverPort()));
    QVERIFY(idle.waitForDisconnected(5000));
    QVERIFY(bob->isConnected());
    QCOMPARE(sendAndReceive(bob, u"codeial"_s, u"still here"_s).text, u"still here"_s);
}

void TestChatServer::storeFailureIsReportedAndNothingPushed()
{
    m_server = std::make_unique<ChatServer>(testConfig(), std::make_unique<FailingStore>());
    QVERIFY(m_server->listen());
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"codeial"_s});
    QVERIFY(bob && carol);
    bob->send(SendMessage{u"codeial"_s, {}, u"lost?"_s, u"b-1"_s});
    const auto error = bob->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::InternalError);
    QCOMPARE(error->clientId, u"b-1"_s);
    carol->send(TypingRequest{u"codeial"_s, true, {}});
    QVERIFY(bob->waitFor<TypingNotice>());
    QCOMPARE(bob->count<ReceiveMessage>(), 0);
    QCOMPARE(carol->count<ReceiveMessage>(), 0);
}

void TestChatServer::shutdownClosesClientsWith1001()
{
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    QSignalSpy finished(m_server.get(), &ChatServer::shutdownFinished);
    m_server->shutdown();
    QVERIFY(bob->waitForDisconnected());
    QCOMPARE(bob->socket().closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QTRY_COMPARE(finished.size(), 1);
}

void TestChatServer::heavyHistoryPagesCostTheirWeight()
{
    // A 44-byte request for a 1 MiB page, 146 times a second, kept a core
    // busy: history pages were not rate-limited at all. Now a page costs a
    // token per 64 KiB beyond the first 64 KiB, after it is answered.
    QVERIFY(storeBeforeStart(200, [](int) {
        return draft(u"codeial"_s, {}, User{u"Mallory"_s, u"m@x.org"_s}, QString(4000, QChar(1)));
    }));
    ServerConfig config = testConfig();
    config.rateLimit = 1;
    config.rateBurst = 40;
    startServer(config);
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s}); // a 1 MiB page: 15 tokens
    QVERIFY(bob);
    int pages = 0;
    std::optional<Error> refused;
    for (int i = 0; i < 20 && !refused; ++i) {
        bob->send(HistoryRequest{u"codeial"_s, {}, std::nullopt, std::nullopt, 200});
        QVERIFY(QTest::qWaitFor([bob] { return bob->count<History>() + bob->count<Error>() > 0; }));
        pages += bob->takeFirst<History>() ? 1 : 0;
        refused = bob->takeFirst<Error>();
    }
    QVERIFY2(refused, "twenty pages of 1 MiB in a row were all answered");
    QCOMPARE(refused->code, ErrorCode::RateLimited);
    QCOMPARE(refused->request, u"history"_s);
    QVERIFY2(pages >= 1 && pages <= 3,
             qPrintable(QString::number(pages))); // 40 tokens: the join's page and two more
    QVERIFY(bob->isConnected());
}

void TestChatServer::aHugeHistoryPageIsCutNotDropped()
{
    // 200 messages of 4,000 control characters: 24 KB each as JSON, 4.8 MB a
    // page of 200, more than --max-queue. It used to close the reader (1006),
    // and the app, which asks exactly this on resume, looped forever.
    QVERIFY(storeBeforeStart(200, [](int) {
        return draft(u"codeial"_s, {}, User{u"Mallory"_s, u"m@x.org"_s}, QString(4000, QChar(1)));
    }));
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    QList<qint64> ids;
    qint64 after = 0;
    int pages = 0;
    for (bool more = true; more; ++pages) {
        QVERIFY(pages < 50);
        bob->send(HistoryRequest{u"codeial"_s, {}, std::nullopt, after, 200});
        const auto page = bob->waitFor<History>();
        QVERIFY2(page, "the reader was dropped");
        QVERIFY(!page->messages.isEmpty());
        qint64 bytes = 0;
        for (const Message &message : page->messages) {
            ids.append(message.id);
            bytes += Codec::encodeServerFrame(ReceiveMessage{message}).size();
        }
        QVERIFY2(bytes <= 1024 * 1024, qPrintable(QString::number(bytes)));
        after = page->messages.constLast().id;
        more = page->hasMore;
    }
    QVERIFY(bob->isConnected());
    QVERIFY(pages > 4); // cut into pages of at most 1 MiB
    QCOMPARE(ids.size(), 200);
    for (qsizetype i = 1; i < ids.size(); ++i)
        QVERIFY(ids.at(i) > ids.at(i - 1)); // in order, nothing twice, nothing skipped
    // Reading back from the newest keeps the newest and says there is more.
    bob->send(HistoryRequest{u"codeial"_s, {}, ids.constLast() + 1, std::nullopt, 200});
    const auto latest = bob->waitFor<History>();
    QVERIFY(latest);
    QVERIFY(latest->hasMore);
    QVERIFY(latest->messages.size() < 200);
    QCOMPARE(latest->messages.constLast().id, ids.constLast());
}

void TestChatServer::aPingFloodFromANonReaderIsDropped()
{
    // Qt writes the pongs itself; they used to bypass the queue cap (21 -> 66
    // MB in 8 s, never dropped).
    ServerConfig config = testConfig();
    config.maxQueuedBytes = 64 * 1024;
    startServer(config);
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    RawWebSocket flood;
    QVERIFY(flood.connectTcp(m_server->serverPort()));
    QVERIFY(flood.upgrade());
    flood.sendText(R"({"type":"hello","name":"Pinger","email":"pinger@x.org","password":"pinger's secret"})");
    QTRY_COMPARE(m_server->sessionCount(), 2);
    flood.tcp().setReadBufferSize(4096); // and then never read
    QSignalSpy closed(m_server.get(), &ChatServer::sessionClosed);
    const QByteArray ping = RawWebSocket::frame(0x9, QByteArray(125, 'p'));
    // Bounded: 100,000 pings (13 MB of pongs) is far more than loopback buffers hold.
    for (int sent = 0; closed.isEmpty() && sent < 100000; sent += 500) {
        for (int i = 0; i < 500; ++i)
            flood.tcp().write(ping);
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5); // the server reads, and answers
    }
    QTRY_VERIFY2(!closed.isEmpty(), "the server kept buffering pongs for a client that does not read");
    QCOMPARE(m_server->sessionCount(), 1);
    QCOMPARE(sendAndReceive(bob, u"codeial"_s, u"still here"_s).text, u"still here"_s);
}

void TestChatServer::endlessRefusedRequestsCloseTheConnection()
{
    // 50,000 refused frames used to be answered one by one, the connection kept.
    ServerConfig config = testConfig();
    config.refusalsPerSecond = 1;
    config.refusalBurst = 20;
    startServer(config);
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    TestClient *mallory = connectedClient(u"Mallory"_s, u"m@x.org"_s, {u"codeial"_s});
    QVERIFY(bob && mallory);
    for (int i = 0; i < 200; ++i)
        mallory->sendRaw(R"({"type":"send_message","room":"secret","text":"let me in"})"_ba);
    QVERIFY(mallory->waitForDisconnected());
    QCOMPARE(mallory->socket().closeCode(), QWebSocketProtocol::CloseCodePolicyViolated);
    const int answered = mallory->count<Error>();
    QVERIFY2(answered >= 20 && answered <= 22, qPrintable(QString::number(answered)));
    QCOMPARE(sendAndReceive(bob, u"codeial"_s, u"still here"_s).text, u"still here"_s);
    // A few mistakes now and then are nothing: Bob is refused once and stays.
    bob->sendRaw(R"({"type":"join_room","room":"No Spaces"})"_ba);
    QVERIFY(bob->waitFor<Error>());
    QVERIFY(bob->isConnected());
}

void TestChatServer::framesBeyondTheInputBudgetCloseTheConnection()
{
    // 64 KiB frames of tiny JSON tokens cost milliseconds each to parse:
    // about 420 a second from one socket used to saturate the server.
    ServerConfig config = testConfig();
    setInputRate(&config, 64 * 1024); // 1 MiB at once, then 64 KiB a second
    startServer(config);
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    TestClient *mallory = connectedClient(u"Mallory"_s, u"m@x.org"_s, {u"codeial"_s});
    QVERIFY(bob && mallory);
    QByteArray tokens = "[";
    while (tokens.size() < 60 * 1024)
        tokens += "1,";
    tokens += "1]";
    int sent = 0;
    for (; sent < 100 && mallory->isConnected(); ++sent) {
        mallory->sendRaw(tokens);
        QCoreApplication::processEvents();
    }
    QVERIFY(mallory->waitForDisconnected());
    QCOMPARE(mallory->socket().closeCode(), QWebSocketProtocol::CloseCodePolicyViolated);
    QVERIFY2(mallory->count<Error>() <= 18, qPrintable(QString::number(mallory->count<Error>())));
    QCOMPARE(sendAndReceive(bob, u"codeial"_s, u"still here"_s).text, u"still here"_s);
}

void TestChatServer::aMassDisconnectTellsWhoStaysOncePerLeaver()
{
    // Dropping 1,000 connections of one room at once used to stall the loop
    // for 1.1 s: each leaver's user_left went to every other leaver still
    // listed (quadratic), and each removal shifted the room's list.
    ServerConfig config = testConfig();
    config.maxConnectionsPerAddress = 1000;
    startServer(config);
    constexpr int Leavers = 100;
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    QList<TestClient *> leavers;
    for (int i = 0; i < Leavers; ++i) {
        TestClient *client = connectedClient(u"L%1"_s.arg(i), u"l%1@x.org"_s.arg(i), {u"codeial"_s});
        QVERIFY(client);
        leavers.append(client);
    }
    QTRY_COMPARE(bob->count<UserJoined>(), Leavers);
    QElapsedTimer timer;
    timer.start();
    for (TestClient *client : std::as_const(leavers))
        client->socket().abort();
    QTRY_COMPARE(m_server->sessionCount(), 1);
    QTRY_COMPARE(bob->count<UserLeft>(), Leavers);
    qInfo("%d connections dropped at once: %lld ms until Bob was told of all", Leavers, timer.elapsed());
    QSet<QString> told;
    for (const auto &frame : std::as_const(bob->frames)) {
        if (const auto *left = std::get_if<UserLeft>(&frame))
            told.insert(left->user.email);
    }
    QCOMPARE(told.size(), Leavers); // each once
    QCOMPARE(sendAndReceive(bob, u"codeial"_s, u"still here"_s).text, u"still here"_s);
    // Leaving and coming back in one pass: told in that order.
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"codeial"_s});
    QVERIFY(carol);
    QVERIFY(bob->waitFor<UserJoined>());
    bob->frames.clear();
    carol->send(LeaveRoom{u"codeial"_s});
    carol->send(JoinRoom{u"codeial"_s});
    QVERIFY(bob->waitFor<UserJoined>());
    QCOMPARE(bob->count<UserLeft>(), 1);
    QVERIFY(std::holds_alternative<UserLeft>(bob->frames.constFirst()));
}

void TestChatServer::retentionDeletesOldMessagesAtStart()
{
    // One client could add 80 MB in 13 s, and nothing ever went.
    QVERIFY(storeBeforeStart(1500, [](int i) {
        return draft(u"codeial"_s, {}, User{u"Bob"_s, u"bob@x.org"_s}, u"old %1"_s.arg(i));
    }));
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"age"_s);
        db.setDatabaseName(m_dir->filePath(u"natter.db"_s));
        QVERIFY(db.open());
        QSqlQuery age(db);
        QVERIFY(age.exec(u"UPDATE messages SET ts = ts - %1"_s.arg(8LL * 24 * 3600 * 1000)));
    }
    QSqlDatabase::removeDatabase(u"age"_s);
    ServerConfig config = testConfig();
    config.retentionDays = 7;
    startServer(config);
    QSignalSpy applied(m_server.get(), &ChatServer::retentionApplied);
    QVERIFY(applied.wait());
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s);
    QVERIFY(carol);
    carol->send(JoinRoom{u"codeial"_s});
    const auto history = carol->waitFor<History>();
    QVERIFY(history);
    QVERIFY(history->messages.isEmpty()); // all eight days old
    QCOMPARE(sendAndReceive(carol, u"codeial"_s, u"fresh"_s).text, u"fresh"_s);
}

void TestChatServer::aLongBacklogOfHeldMessagesArrivesWhole()
{
    // 300 held direct messages of 4,000 control characters: 7 MB, more than
    // --max-queue. All of them used to be released and pushed at once at
    // sign-in, the reader was dropped, and what was released was gone.
    QVERIFY(storeBeforeStart(300, [](int i) {
        MessageDraft held = draft({}, u"carol@x.org"_s, User{u"Bob"_s, u"bob@x.org"_s},
                                  QString(3990, QChar(1)) + QString::number(i));
        held.holdForRecipient = true;
        return held;
    }));
    startServer();
    auto *carol = new TestClient; // not connectedClient(): it forgets what came with the welcome
    m_clients.append(carol);
    QVERIFY(carol->open(m_server->serverPort()) && carol->hello(u"Carol"_s, u"carol@x.org"_s));
    QVERIFY(QTest::qWaitFor(
        [carol] { return carol->count<ReceiveMessage>() == 300 || !carol->isConnected(); }, 30000));
    QVERIFY2(carol->isConnected(), "the reader was dropped");
    QCOMPARE(carol->count<ReceiveMessage>(), 300);
    qint64 previous = 0;
    for (const auto &frame : std::as_const(carol->frames)) {
        if (const auto *received = std::get_if<ReceiveMessage>(&frame)) {
            QVERIFY(received->message.id > previous); // oldest first, once each
            previous = received->message.id;
        }
    }
}

void TestChatServer::heldMessagesAreCappedPerRecipient()
{
    // Direct messages for someone who never comes used to pile up forever.
    ServerConfig config = testConfig();
    config.maxHeldPerRecipient = 3;
    startServer(config);
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bob);
    for (int i = 0; i < 5; ++i)
        bob->send(SendMessage{{}, u"carol@x.org"_s, u"hello %1"_s.arg(i), u"c-%1"_s.arg(i)});
    QVERIFY(QTest::qWaitFor([bob] { return bob->count<ReceiveMessage>() + bob->count<Error>() == 5; }, 5000));
    QCOMPARE(bob->count<ReceiveMessage>(), 3);
    const auto refused = bob->waitFor<Error>();
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::InboxFull);
    QCOMPARE(refused->clientId, u"c-3"_s);
    // Carol comes, reads the three; there is room again.
    auto *carol = new TestClient;
    m_clients.append(carol);
    QVERIFY(carol->open(m_server->serverPort()) && carol->hello(u"Carol"_s, u"carol@x.org"_s));
    QTRY_COMPARE(carol->count<ReceiveMessage>(), 3);
    carol->socket().close();
    QTRY_COMPARE(m_server->sessionCount(), 1);
    bob->frames.clear();
    bob->send(SendMessage{{}, u"carol@x.org"_s, u"are you there?"_s, u"c-9"_s});
    const auto stored = bob->waitFor<ReceiveMessage>();
    QVERIFY(stored);
    QCOMPARE(stored->message.clientId, u"c-9"_s);
    QCOMPARE(bob->count<Error>(), 0);
}

void TestChatServer::whatOnePersonStoresIsBoundedPerHour()
{
    // One address with four accounts wrote ~5.9 GB an hour within the message rate.
    ServerConfig config = testConfig();
    config.writeMiBPerHour = 40'000.0 / (1024 * 1024); // ten messages of 4,000 characters
    startServer(config);
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    for (int i = 0; i < 12; ++i)
        bob->send(SendMessage{u"codeial"_s, {}, QString(4000, u'x'), u"w-%1"_s.arg(i)});
    QVERIFY(QTest::qWaitFor([bob] { return bob->count<ReceiveMessage>() + bob->count<Error>() == 12; }));
    QCOMPARE(bob->count<ReceiveMessage>(), 10);
    const auto refused = bob->waitFor<Error>();
    QCOMPARE(refused->code, ErrorCode::RateLimited);
    QCOMPARE(refused->clientId, u"w-10"_s);
    QVERIFY2(refused->message.contains(u"in the last hour"_s), qPrintable(refused->message));
    QCOMPARE(countInDatabase(u"SELECT COUNT(*) FROM messages"_s), 10);
    // A short word still costs its length only; another account has its own budget.
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"codeial"_s});
    QVERIFY(carol);
    QCOMPARE(sendAndReceive(carol, u"codeial"_s, u"hi"_s).text, u"hi"_s);
}

void TestChatServer::messagesHeldForUnclaimedAddressesAreBounded()
{
    // 200 direct messages to 200 made-up addresses were all held, each
    // under --max-held, which counts per recipient.
    ServerConfig config = testConfig();
    config.heldForStrangersPerHour = 5;
    startServer(config);
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s); // has an account, then leaves
    QVERIFY(carol);
    carol->socket().close();
    QTRY_COMPARE(m_server->sessionCount(), 0);
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bob);
    for (int i = 0; i < 8; ++i)
        bob->send(SendMessage{{}, u"nobody%1@x.org"_s.arg(i), u"hello"_s, u"s-%1"_s.arg(i)});
    QVERIFY(QTest::qWaitFor([bob] { return bob->count<ReceiveMessage>() + bob->count<Error>() == 8; }));
    QCOMPARE(bob->count<ReceiveMessage>(), 5);
    const auto refused = bob->waitFor<Error>();
    QCOMPARE(refused->code, ErrorCode::RateLimited);
    QCOMPARE(refused->clientId, u"s-5"_s);
    QVERIFY2(refused->message.contains(u"nobody5@x.org has no account"_s), qPrintable(refused->message));
    QCOMPARE(countInDatabase(u"SELECT COUNT(*) FROM held_direct"_s), 5);
    // Someone with an account is written to as before, offline or not.
    bob->frames.clear();
    bob->send(SendMessage{{}, u"carol@x.org"_s, u"are you there?"_s, u"c-1"_s});
    const auto held = bob->waitFor<ReceiveMessage>();
    QVERIFY(held);
    QCOMPARE(held->message.clientId, u"c-1"_s);
    QCOMPARE(countInDatabase(u"SELECT COUNT(*) FROM held_direct"_s), 6);
}

void TestChatServer::craftedFramesGetTheDocumentedAnswer_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("closeCode");     // 0: the connection stays
    QTest::addColumn<QByteArray>("answer"); // in the error frame, when the connection stays

    auto masked = [](quint8 first, const QByteArray &payload) {
        QByteArray frame = RawWebSocket::frame(first & 0x0f, payload);
        frame[0] = char(first);
        return frame;
    };
    QTest::newRow("invalid UTF-8") << RawWebSocket::frame(0x1, "{\"type\":\"\xff\xfe\"}") << 1007
                                   << QByteArray();
    // RFC 6455 §5.1: a server closes with 1002 (Qt 6.4's own reader accepted them).
    QTest::newRow("unmasked") << QByteArray("\x81\x02{}") << 1002 << QByteArray();
    QTest::newRow("reserved opcode") << RawWebSocket::frame(0x3, "x") << 1002 << QByteArray();
    QTest::newRow("RSV1 without an extension") << masked(0xc1, "{}") << 1002 << QByteArray();
    QTest::newRow("control frame over 125 bytes")
        << RawWebSocket::frame(0x9, QByteArray(200, 'p')) << 1002 << QByteArray();
    QTest::newRow("a new message inside a fragmented one")
        << masked(0x01, "{\"ty") + masked(0x81, "pe\":1}") << 1002 << QByteArray();
    QByteArray pieces = masked(0x01, "[");
    for (int i = 0; i < 9998; ++i)
        pieces += masked(0x00, "1,");
    pieces += masked(0x80, "1]");
    QTest::newRow("10,000 continuation frames") << pieces << 0 << QByteArray("bad_frame");
    QTest::newRow("JSON nested 10,000 deep")
        << RawWebSocket::frame(0x1, QByteArray(10000, '[') + QByteArray(10000, ']')) << 0
        << QByteArray("bad_json");
    QTest::newRow("a number of 1,000 digits")
        << RawWebSocket::frame(0x1,
                               R"({"type":"history","room":"codeial","limit":)" + QByteArray(1000, '9') + "}")
        << 0 << QByteArray("bad_json"); // Qt's parser refuses it
    QTest::newRow("60 KiB of tiny tokens")
        << RawWebSocket::frame(0x1, "[" + QByteArray(30000, '1').replace("1", "1,") + "1]") << 0
        << QByteArray("bad_frame");
}

void TestChatServer::craftedFramesGetTheDocumentedAnswer()
{
    QFETCH(QByteArray, bytes);
    QFETCH(int, closeCode);
    QFETCH(QByteArray, answer);
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    QVERIFY(bob);
    RawWebSocket raw;
    QVERIFY(raw.connectTcp(m_server->serverPort()));
    QVERIFY(raw.upgrade());
    raw.sendText(R"({"type":"hello","name":"Crafty","email":"crafty@x.org","password":"crafty's secret"})");
    QTRY_VERIFY(!raw.textsReceived().isEmpty()); // welcome
    raw.tcp().write(bytes);
    if (closeCode != 0) {
        QVERIFY(raw.waitForDisconnected());
        QCOMPARE(raw.readCloseCode().value_or(0), quint16(closeCode));
    } else {
        QTRY_COMPARE(raw.textsReceived().size(), 2);
        QVERIFY2(raw.textsReceived().at(1).contains(QByteArray("\"" + answer + "\"")),
                 raw.textsReceived().at(1).constData());
        QCOMPARE(raw.tcp().state(), QAbstractSocket::ConnectedState);
    }
    QCOMPARE(bob->count<ReceiveMessage>(), 0); // nothing stored, nothing pushed
    QCOMPARE(sendAndReceive(bob, u"codeial"_s, u"still here"_s).text, u"still here"_s);
}

void TestChatServer::controlAndDirectionCharactersAreKeptAsText()
{
    // NUL and U+202E (right-to-left override) in a text: stored and sent back
    // exactly, as text (clients show them harmlessly, never as markup).
    startServer();
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"codeial"_s});
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"codeial"_s});
    QVERIFY(bob && carol);
    const QString text = u"a"_s + QChar(0) + u"b\u202e<b>c</b>"_s;
    bob->send(SendMessage{u"codeial"_s, {}, text, {}});
    const auto received = carol->waitFor<ReceiveMessage>();
    QVERIFY(received);
    QCOMPARE(received->message.text, text);
    carol->send(HistoryRequest{u"codeial"_s, {}, std::nullopt, std::nullopt, 10});
    const auto history = carol->waitFor<History>();
    QVERIFY(history);
    QCOMPARE(history->messages.constLast().text, text);
}

// Built twice: with Qt's own event dispatcher, and with the epoll one natterd uses.
int main(int argc, char *argv[])
{
#ifdef NATTER_TEST_WITH_EPOLL
    QCoreApplication::setEventDispatcher(new Natter::EpollEventDispatcher);
#endif
    QCoreApplication app(argc, argv);
    TestChatServer test;
    return QTest::qExec(&test, argc, argv);
}
void TestChatServer::aStalledDiskDelaysOnlyTheSendersAnswers()
{
    SqlMessageStore *store = startStallableServer();
    QVERIFY(store);
    TestClient *alice = connectedClient(u"Alice"_s, u"alice@x.org"_s, {u"general"_s});
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"general"_s});
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"general"_s, u"lab"_s});
    TestClient *dave = connectedClient(u"Dave"_s, u"dave@x.org"_s);
    QVERIFY(alice && bob && carol && dave);
    sendAndReceive(carol, u"lab"_s, u"the lab has a history"_s);
    for (TestClient *client : {alice, bob, carol, dave})
        client->frames.clear();

    // Every commit of messages now holds the write lock for 1.5 s, as a disk
    // stuck in fsync would.
    store->setCommitStallForTesting(std::chrono::milliseconds(1500));
    alice->send(SendMessage{u"general"_s, {}, u"on a slow disk"_s, u"a-1"_s});
    alice->send(HistoryRequest{u"general"_s, {}, std::nullopt, std::nullopt, 10});
    bob->send(TypingRequest{u"general"_s, true, {}});
    carol->send(HistoryRequest{u"general"_s, {}, std::nullopt, std::nullopt, 10});
    dave->send(JoinRoom{u"lab"_s});

    // Everyone else is answered while Alice's message is being committed.
    QVERIFY(carol->waitFor<TypingNotice>());
    const auto carolsPage = carol->waitFor<History>();
    QVERIFY(carolsPage);
    QVERIFY(std::none_of(carolsPage->messages.cbegin(), carolsPage->messages.cend(),
                         [](const Message &message) { return message.clientId == u"a-1"_s; }));
    const auto davesPage = dave->waitFor<History>();
    QVERIFY(davesPage);
    QCOMPARE(davesPage->messages.size(), 1);
    QCOMPARE(carol->count<ReceiveMessage>(), 0); // still being committed
    QCOMPARE(alice->count<ReceiveMessage>(), 0);
    QCOMPARE(alice->count<History>(), 0); // hers waits for her message

    // Pushed once committed, never before.
    const auto pushed = carol->waitFor<ReceiveMessage>(10000);
    QVERIFY(pushed);
    QCOMPARE(pushed->message.clientId, u"a-1"_s);
    QCOMPARE(storedWithClientId(u"a-1"_s), 1);
    // Alice's history request saw the message she sent before it, and came
    // after its acknowledgement.
    QTRY_COMPARE_WITH_TIMEOUT(alice->count<History>(), 1, 10000);
    const auto firstOf = [alice](auto holds) {
        return std::find_if(alice->frames.cbegin(), alice->frames.cend(),
                            [holds](const Codec::ServerFrame &frame) { return holds(frame); }) -
               alice->frames.cbegin();
    };
    QVERIFY(firstOf([](const auto &f) { return std::holds_alternative<ReceiveMessage>(f); }) <
            firstOf([](const auto &f) { return std::holds_alternative<History>(f); }));
    const auto alicesPage = alice->takeFirst<History>();
    QVERIFY(!alicesPage->messages.isEmpty());
    QCOMPARE(alicesPage->messages.constLast().clientId, u"a-1"_s);
    store->setCommitStallForTesting(std::chrono::milliseconds(0));
}

void TestChatServer::aStalledChangeDelaysOnlyItsAuthorsAnswers()
{
    SqlMessageStore *store = startStallableServer();
    QVERIFY(store);
    TestClient *alice = connectedClient(u"Alice"_s, u"alice@x.org"_s, {u"general"_s});
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"general"_s});
    TestClient *carol = connectedClient(u"Carol"_s, u"carol@x.org"_s, {u"general"_s});
    QVERIFY(alice && bob && carol);
    const Message original = sendAndReceive(alice, u"general"_s, u"lunch at noon"_s);
    QVERIFY(carol->waitFor<ReceiveMessage>());
    for (TestClient *client : {alice, bob, carol})
        client->frames.clear();

    // Alice edits while the disk is stuck, then says more and reads back.
    store->setCommitStallForTesting(std::chrono::milliseconds(1500));
    alice->send(EditMessage{original.id, u"lunch at one"_s, {}});
    alice->send(SendMessage{u"general"_s, {}, u"sorry, moved"_s, u"a-2"_s});
    alice->send(HistoryRequest{u"general"_s, {}, std::nullopt, std::nullopt, 10});
    bob->send(TypingRequest{u"general"_s, true, {}});
    carol->send(HistoryRequest{u"general"_s, {}, std::nullopt, std::nullopt, 10});

    // Everyone else is answered while the edit is being committed: the event
    // loop does not wait for the disk.
    QVERIFY(carol->waitFor<TypingNotice>());
    const auto carolsPage = carol->waitFor<History>();
    QVERIFY(carolsPage);
    QCOMPARE(carolsPage->messages.constLast().text, u"lunch at noon"_s);
    QCOMPARE(carol->count<MessageChange>(), 0);
    QCOMPARE(alice->count<MessageChange>(), 0);

    // Then, in the order Alice asked: the edit, her message, her page.
    const auto changed = carol->waitFor<MessageChange>(10000);
    QVERIFY(changed);
    QCOMPARE(changed->message.text, u"lunch at one"_s);
    QVERIFY(changed->changeSeq > 0);
    QVERIFY(carol->waitFor<ReceiveMessage>(10000));
    QTRY_COMPARE_WITH_TIMEOUT(alice->count<History>(), 1, 10000);
    const auto indexOf = [alice](auto holds) {
        return std::find_if(alice->frames.cbegin(), alice->frames.cend(),
                            [holds](const Codec::ServerFrame &frame) { return holds(frame); }) -
               alice->frames.cbegin();
    };
    const auto change = indexOf([](const auto &f) { return std::holds_alternative<MessageChange>(f); });
    const auto receive = indexOf([](const auto &f) { return std::holds_alternative<ReceiveMessage>(f); });
    const auto page = indexOf([](const auto &f) { return std::holds_alternative<History>(f); });
    QVERIFY(change < receive);
    QVERIFY(receive < page);
    const auto alicesPage = alice->takeFirst<History>();
    QCOMPARE(alicesPage->messages.size(), 2);
    QCOMPARE(alicesPage->messages.constFirst().text, u"lunch at one"_s);
    QCOMPARE(alicesPage->messages.constLast().clientId, u"a-2"_s);
    // A later page tells where the changes feed stands: past the edit.
    QVERIFY(alicesPage->changeSeq >= changed->changeSeq);
    store->setCommitStallForTesting(std::chrono::milliseconds(0));
}

void TestChatServer::heldMessagesAreDeliveredDuringAStalledCommit()
{
    SqlMessageStore *store = startStallableServer();
    QVERIFY(store);
    TestClient *alice = connectedClient(u"Alice"_s, u"alice@x.org"_s, {u"general"_s});
    TestClient *bob = connectedClient(u"Bob"_s, u"bob@x.org"_s, {u"general"_s});
    QVERIFY(alice && bob);
    TestClient carol;
    QVERIFY(carol.open(m_server->serverPort()) && carol.hello(u"Carol"_s, u"carol@x.org"_s));
    const QString carolsToken = carol.token;
    carol.socket().close();
    QTRY_COMPARE(m_server->onlineUserCount(), 2);
    alice->send(SendMessage{{}, u"carol@x.org"_s, u"see you at 3"_s, u"a-1"_s});
    QVERIFY(alice->waitFor<ReceiveMessage>()); // stored, and held for Carol
    QCOMPARE(countInDatabase(u"SELECT COUNT(*) FROM held_direct"_s), 1);
    alice->frames.clear();

    // A commit is stuck on the disk when Carol signs in: she gets what
    // waited for her at once, not after it (nor never).
    store->setCommitStallForTesting(std::chrono::milliseconds(1500));
    alice->send(SendMessage{u"general"_s, {}, u"on a slow disk"_s, u"a-2"_s});
    alice->send(TypingRequest{u"general"_s, true, {}});
    QVERIFY(bob->waitFor<TypingNotice>()); // so the message is with the writer
    TestClient carolAgain;
    QVERIFY(carolAgain.open(m_server->serverPort()) &&
            carolAgain.helloWithToken(u"Carol"_s, u"carol@x.org"_s, carolsToken));
    const auto held = carolAgain.waitFor<ReceiveMessage>();
    QVERIFY(held);
    QCOMPARE(held->message.clientId, u"a-1"_s);
    QCOMPARE(bob->count<ReceiveMessage>(), 0); // the stalled commit is not done yet
    QVERIFY(bob->waitFor<ReceiveMessage>(10000));
    store->setCommitStallForTesting(std::chrono::milliseconds(0));
    // And it is not held any more once the writer is through.
    QTRY_COMPARE(countInDatabase(u"SELECT COUNT(*) FROM held_direct"_s), 0);
    QCOMPARE(carolAgain.count<ReceiveMessage>(), 0); // and it came once
}

void TestChatServer::aDirectMessageFollowsItsRecipientDuringTheCommit()
{
    SqlMessageStore *store = startStallableServer();
    QVERIFY(store);
    TestClient *alice = connectedClient(u"Alice"_s, u"alice@x.org"_s);
    QVERIFY(alice);
    TestClient bob;
    QVERIFY(bob.open(m_server->serverPort()) && bob.hello(u"Bob"_s, u"bob@x.org"_s));
    const QString bobsToken = bob.token;
    bob.socket().close();
    QTRY_COMPARE(m_server->onlineUserCount(), 1);

    // Bob is away when Alice sends, and signs in while it is being committed:
    // his sign-in found nothing held yet, and still he gets it, once.
    store->setCommitStallForTesting(std::chrono::milliseconds(1500));
    alice->send(SendMessage{{}, u"bob@x.org"_s, u"are you there?"_s, u"a-1"_s});
    TestClient bobAgain;
    QVERIFY(bobAgain.open(m_server->serverPort()) &&
            bobAgain.helloWithToken(u"Bob"_s, u"bob@x.org"_s, bobsToken));
    QCOMPARE(alice->count<ReceiveMessage>(), 0); // signed in before the commit
    const auto arrived = bobAgain.waitFor<ReceiveMessage>(10000);
    QVERIFY(arrived);
    QCOMPARE(arrived->message.clientId, u"a-1"_s);
    QVERIFY(alice->waitFor<ReceiveMessage>());

    // Bob is online when Alice sends, and gone before it is committed: it
    // waits for him as if he had been away.
    alice->send(SendMessage{{}, u"bob@x.org"_s, u"never mind"_s, u"a-2"_s});
    alice->send(TypingRequest{{}, true, u"bob@x.org"_s}); // not held up by the commit
    QVERIFY(bobAgain.waitFor<TypingNotice>());            // so the message is with the writer
    bobAgain.socket().close();
    QTRY_COMPARE(m_server->onlineUserCount(), 1);
    QCOMPARE(alice->count<ReceiveMessage>(), 0); // left before the commit
    QVERIFY(alice->waitFor<ReceiveMessage>(10000));
    store->setCommitStallForTesting(std::chrono::milliseconds(0));

    TestClient bobLater;
    QVERIFY(bobLater.open(m_server->serverPort()) &&
            bobLater.helloWithToken(u"Bob"_s, u"bob@x.org"_s, bobsToken));
    const auto held = bobLater.waitFor<ReceiveMessage>();
    QVERIFY(held);
    QCOMPARE(held->message.clientId, u"a-2"_s); // and not a-1 again
    // Nothing else comes (a request answered after sign-in's deliveries).
    bobLater.send(HistoryRequest{{}, u"alice@x.org"_s, std::nullopt, std::nullopt, 10});
    const auto page = bobLater.waitFor<History>();
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 2);
    QCOMPARE(bobLater.count<ReceiveMessage>(), 0);
}

#include "tst_chatserver.moc"
