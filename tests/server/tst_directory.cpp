// Finding rooms and people, presence and typing in direct conversations:
// list_rooms, list_people, watch_presence and typing {to}. Real QWebSocket
// clients against an in-process server; each list shows a user only what
// they may see.
#include "server/chatserver.h"
#include "server/sqlmessagestore.h"
#include "tests/support/testclient.h"

#include <QTemporaryDir>
#include <QTest>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;

class TestDirectory : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void listsTheRoomsOneMayJoin();
    void pagesAndFiltersRooms();
    void listsPeopleByNameAndEmail();
    void watchesPresence();
    void saysWhenAnEmailHasNoAccount();
    void typingReachesTheOtherPersonOnly();
    void refusesBadRequests();
    void listsAndWatchesCountAgainstTheRateLimit();
    void deepDirectoryPagesCostMore();
    void theDirectoryPagesByKey();

private:
    TestClient *signedIn(const QString &name, const QString &email);
    /// A server of its own whose rate budget is burst requests (refilled
    /// too slowly to count), on database file name.
    std::unique_ptr<ChatServer> serverWithBudget(double burst, const QString &name);
    template<class T>
    static std::optional<T> answer(TestClient *client, const Codec::ClientFrame &request)
    {
        client->send(request);
        return client->waitFor<T>();
    }

    QTemporaryDir m_dir;
    std::unique_ptr<ChatServer> m_server;
    quint16 m_port = 0;
    QList<TestClient *> m_clients;
};

void TestDirectory::init()
{
    QVERIFY(m_dir.isValid());
    QFile::remove(m_dir.filePath(u"natter.db"_s));
    ServerConfig config;
    config.host = QHostAddress::LocalHost;
    config.port = 0;
    config.passwordCost = PasswordHasher::Cost::Minimum;
    auto store = std::make_unique<SqlMessageStore>(m_dir.filePath(u"natter.db"_s));
    QVERIFY(store->open());
    m_server = std::make_unique<ChatServer>(config, std::move(store));
    QVERIFY(m_server->listen());
    m_port = m_server->serverPort();
}

std::unique_ptr<ChatServer> TestDirectory::serverWithBudget(double burst, const QString &name)
{
    ServerConfig config;
    config.host = QHostAddress::LocalHost;
    config.port = 0;
    config.passwordCost = PasswordHasher::Cost::Minimum;
    config.rateLimit = 0.01;
    config.rateBurst = burst;
    auto store = std::make_unique<SqlMessageStore>(m_dir.filePath(name));
    if (!store->open())
        return nullptr;
    auto server = std::make_unique<ChatServer>(config, std::move(store));
    return server->listen() ? std::move(server) : nullptr;
}

void TestDirectory::cleanup()
{
    qDeleteAll(m_clients);
    m_clients.clear();
    m_server.reset();
    for (const QString &suffix : {u""_s, u"-wal"_s, u"-shm"_s})
        QFile::remove(m_dir.filePath(u"natter.db"_s + suffix));
}

TestClient *TestDirectory::signedIn(const QString &name, const QString &email)
{
    auto *client = new TestClient;
    m_clients.append(client);
    if (!client->open(m_port) || !client->hello(name, email))
        return nullptr;
    return client;
}

void TestDirectory::listsTheRoomsOneMayJoin()
{
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s);
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(alice && bob);
    QVERIFY(alice->join(u"general"_s));
    QVERIFY(bob->join(u"general"_s));
    alice->send(SendMessage{u"general"_s, {}, u"hello"_s, u"a-1"_s});
    QVERIFY(alice->waitFor<ReceiveMessage>());
    QVERIFY(alice->join(u"quiet"_s)); // entered, nothing said yet
    alice->send(CreateRoom{u"secret"_s, true});
    QVERIFY(alice->waitFor<History>());

    // Bob sees the public rooms, with who is in them now and their last message; not Alice's private one.
    const auto forBob = answer<RoomList>(bob, ListRooms{});
    QVERIFY(forBob);
    QCOMPARE(forBob->rooms.size(), 2);
    QCOMPARE(forBob->rooms.at(0).room, u"general"_s);
    QCOMPARE(forBob->rooms.at(0).online, 2);
    QVERIFY(!forBob->rooms.at(0).isPrivate);
    QVERIFY(forBob->rooms.at(0).lastActivity.isValid());
    QVERIFY(qAbs(forBob->rooms.at(0).lastActivity.secsTo(QDateTime::currentDateTimeUtc())) < 60);
    QCOMPARE(forBob->rooms.at(1).room, u"quiet"_s);
    QCOMPARE(forBob->rooms.at(1).online, 1);
    QVERIFY(!forBob->rooms.at(1).lastActivity.isValid());
    QVERIFY(!forBob->hasMore);

    // Alice, a member, sees it marked private.
    const auto forAlice = answer<RoomList>(alice, ListRooms{});
    QVERIFY(forAlice);
    QCOMPARE(forAlice->rooms.size(), 3);
    QCOMPARE(forAlice->rooms.at(2).room, u"secret"_s);
    QVERIFY(forAlice->rooms.at(2).isPrivate);

    // Invited, Bob sees it too; everyone gone, the rooms stay listed (with nobody in them).
    alice->send(InviteToRoom{u"secret"_s, u"bob@x.org"_s});
    QVERIFY(bob->waitFor<RoomInvitation>());
    qDeleteAll(m_clients);
    m_clients.clear();
    TestClient *carol = signedIn(u"Carol"_s, u"carol@x.org"_s);
    QVERIFY(carol);
    const auto forCarol = answer<RoomList>(carol, ListRooms{});
    QVERIFY(forCarol);
    QCOMPARE(forCarol->rooms.size(), 2);
    QCOMPARE(forCarol->rooms.at(0).online, 0);
    TestClient *bobAgain = signedIn(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bobAgain);
    QCOMPARE(answer<RoomList>(bobAgain, ListRooms{})->rooms.size(), 3);
}

void TestDirectory::pagesAndFiltersRooms()
{
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s);
    QVERIFY(alice);
    for (const QString &room : {u"design"_s, u"dev"_s, u"devops"_s, u"docs"_s, u"general"_s})
        QVERIFY(alice->join(room));
    const auto dev = answer<RoomList>(alice, ListRooms{u"DEV"_s, 0, 10});
    QVERIFY(dev);
    QCOMPARE(dev->prefix, u"DEV"_s); // as asked: answers to a search being typed can be told apart
    QCOMPARE(dev->rooms.size(), 2);
    QCOMPARE(dev->rooms.at(0).room, u"dev"_s);
    QCOMPARE(dev->rooms.at(1).room, u"devops"_s);

    const auto first = answer<RoomList>(alice, ListRooms{u"d"_s, 0, 2});
    QVERIFY(first);
    QCOMPARE(first->rooms.size(), 2);
    QVERIFY(first->hasMore);
    const auto second = answer<RoomList>(alice, ListRooms{u"d"_s, 2, 2});
    QVERIFY(second);
    QCOMPARE(second->offset, 2);
    QCOMPARE(second->rooms.size(), 2);
    QCOMPARE(second->rooms.at(1).room, u"docs"_s);
    QVERIFY(!second->hasMore);
}

void TestDirectory::listsPeopleByNameAndEmail()
{
    TestClient *alice = signedIn(u"Alice Smith"_s, u"alice@x.org"_s);
    QVERIFY(alice);
    {
        TestClient bob;
        QVERIFY(bob.open(m_port) && bob.hello(u"Bob Jones"_s, u"bob@x.org"_s));
    } // Bob has an account, and is gone again
    TestClient *carol = signedIn(u"Carol Jonas"_s, u"carol@y.org"_s);
    QVERIFY(carol);

    const auto everyone = answer<People>(alice, ListPeople{});
    QVERIFY(everyone);
    QCOMPARE(everyone->people.size(), 3);
    QCOMPARE(everyone->people.at(0).user, (User{u"Alice Smith"_s, u"alice@x.org"_s}));
    QVERIFY(everyone->people.at(0).online);
    QCOMPARE(everyone->people.at(1).user.email, u"bob@x.org"_s);
    QVERIFY(!everyone->people.at(1).online);
    QCOMPARE(everyone->people.at(2).user.email, u"carol@y.org"_s);
    QVERIFY(everyone->people.at(2).online);

    // A word of the name, or the start of the email; case does not matter.
    const auto jo = answer<People>(alice, ListPeople{u"jo"_s, 0, 50});
    QVERIFY(jo);
    QCOMPARE(jo->people.size(), 2);
    const auto byEmail = answer<People>(alice, ListPeople{u"CAROL@"_s, 0, 50});
    QVERIFY(byEmail);
    QCOMPARE(byEmail->people.size(), 1);
    QCOMPARE(byEmail->people.at(0).user.name, u"Carol Jonas"_s);
    const auto page = answer<People>(alice, ListPeople{{}, 1, 1});
    QVERIFY(page);
    QCOMPARE(page->people.size(), 1);
    QCOMPARE(page->people.at(0).user.email, u"bob@x.org"_s);
    QVERIFY(page->hasMore);

    // A disabled account is nobody to find.
    SqlMessageStore admin(m_dir.filePath(u"natter.db"_s), SqlMessageStore::OpenMode::Administration);
    QVERIFY(admin.open());
    QVERIFY(admin.accounts()->setDisabled(u"bob@x.org"_s, true));
    const auto afterwards = answer<People>(alice, ListPeople{u"b"_s, 0, 50});
    QVERIFY(afterwards);
    QVERIFY(afterwards->people.isEmpty());
}

void TestDirectory::watchesPresence()
{
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s);
    QVERIFY(alice);
    {
        TestClient bob;
        QVERIFY(bob.open(m_port) && bob.hello(u"Bob"_s, u"bob@x.org"_s));
    }
    alice->send(WatchPresence{{u"Bob@X.org"_s}});
    auto first = alice->waitFor<Presence>();
    QVERIFY(first);
    QCOMPARE(first->user, (User{u"Bob"_s, u"bob@x.org"_s}));
    QVERIFY(!first->online);
    QVERIFY(first->known);

    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bob);
    auto online = alice->waitFor<Presence>();
    QVERIFY(online && online->online);
    // A second connection of Bob's changes nothing; the last one leaving does.
    TestClient *bobPhone = signedIn(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bobPhone);
    m_clients.removeOne(bob);
    delete bob;
    m_clients.removeOne(bobPhone);
    delete bobPhone;
    auto away = alice->waitFor<Presence>();
    QVERIFY(away && !away->online);
    QCOMPARE(alice->count<Presence>(), 0);

    // Watching nobody: no more news of Bob.
    alice->send(WatchPresence{{}});
    TestClient *bobBack = signedIn(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bobBack);
    QVERIFY(alice->join(u"general"_s)); // a round trip after Bob's sign-in
    QCOMPARE(alice->count<Presence>(), 0);
}

void TestDirectory::saysWhenAnEmailHasNoAccount()
{
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s);
    QVERIFY(alice);
    alice->send(WatchPresence{{u"bob@exampel.org"_s}}); // a typo
    const auto presence = alice->waitFor<Presence>();
    QVERIFY(presence);
    QVERIFY(!presence->known);
    QVERIFY(!presence->online);
}

void TestDirectory::typingReachesTheOtherPersonOnly()
{
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s);
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s);
    TestClient *carol = signedIn(u"Carol"_s, u"carol@x.org"_s);
    QVERIFY(alice && bob && carol);
    alice->send(TypingRequest{{}, true, u"bob@x.org"_s});
    const auto typing = bob->waitFor<TypingNotice>();
    QVERIFY(typing);
    QVERIFY(typing->room.isEmpty());
    QCOMPARE(typing->to, u"bob@x.org"_s);
    QCOMPARE(typing->user.email, u"alice@x.org"_s);
    QVERIFY(typing->active);
    QVERIFY(carol->join(u"general"_s)); // a round trip: nothing came meanwhile
    QCOMPARE(carol->count<TypingNotice>(), 0);
    QCOMPARE(alice->count<TypingNotice>(), 0);
}

void TestDirectory::refusesBadRequests()
{
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s);
    QVERIFY(alice);
    QStringList many;
    for (int i = 0; i <= MaxWatchedUsers; ++i)
        many.append(u"user%1@x.org"_s.arg(i));
    alice->send(WatchPresence{many});
    auto error = alice->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::BadField);
    alice->sendRaw(R"({"type":"list_rooms","limit":100000})");
    error = alice->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::BadField);
    alice->sendRaw(R"({"type":"list_people","prefix":")" + QByteArray(100, 'x') + R"("})");
    error = alice->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::BadField);
    alice->sendRaw(R"({"type":"typing","to":"not an email","active":true})");
    error = alice->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::BadEmail);
    // Still served after all of it.
    QVERIFY(answer<RoomList>(alice, ListRooms{}));
}

void TestDirectory::listsAndWatchesCountAgainstTheRateLimit()
{
    // A server of its own, with a budget of three requests.
    const std::unique_ptr<ChatServer> server = serverWithBudget(3, u"limited.db"_s);
    QVERIFY(server);
    TestClient alice;
    QVERIFY(alice.open(server->serverPort()) && alice.hello(u"Alice"_s, u"alice@x.org"_s));
    alice.send(WatchPresence{{u"bob@x.org"_s}});
    QVERIFY(alice.waitFor<Presence>());
    alice.send(ListPeople{});
    QVERIFY(alice.waitFor<People>());
    alice.send(ListRooms{});
    QVERIFY(alice.waitFor<RoomList>());
    alice.send(WatchPresence{{u"carol@x.org"_s}});
    const auto refused = alice.waitFor<Error>();
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::RateLimited);
    QCOMPARE(refused->request, u"watch_presence"_s);
    QCOMPARE(alice.count<Presence>(), 0);
}

void TestDirectory::deepDirectoryPagesCostMore()
{
    // A page deep in the directory makes the store skip every row before it:
    // one such page costs what a hundred first pages do.
    const std::unique_ptr<ChatServer> server = serverWithBudget(200, u"deep.db"_s);
    QVERIFY(server);
    TestClient alice;
    QVERIFY(alice.open(server->serverPort()) && alice.hello(u"Alice"_s, u"alice@x.org"_s));
    QVERIFY(answer<People>(&alice, ListPeople{{}, 0, 50}));
    QVERIFY(answer<People>(&alice, ListPeople{{}, 49'000, 50}));
    alice.send(ListPeople{{}, 49'000, 50});
    const auto refused = alice.waitFor<Error>();
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::RateLimited);
    QCOMPARE(refused->request, u"list_people"_s);
    alice.send(ListRooms{{}, 20'000, 50});
    QCOMPARE(alice.waitFor<Error>()->request, u"list_rooms"_s);
    // First pages still come: they cost one token each.
    QVERIFY(answer<People>(&alice, ListPeople{{}, 0, 50}));
}

void TestDirectory::theDirectoryPagesByKey()
{
    // An offset makes the store walk every row before the page (offset
    // 49,000 of 50,000 accounts cost 396 ms); "after" starts at the previous
    // page's last entry, by the index, at the cost of a first page.
    {
        SqlMessageStore seed(m_dir.filePath(u"keyset.db"_s));
        QVERIFY(seed.open());
        for (int i = 0; i < 130; ++i) {
            const QString number = u"%1"_s.arg(i, 3, 10, QChar(u'0'));
            QVERIFY(seed.accounts()->createAccount(
                Account{u"p%1@x.org"_s.arg(number), u"Person %1"_s.arg(number), {}, false, {}}));
        }
        for (int i = 0; i < 70; ++i)
            QVERIFY(seed.accounts()->noteRoom(u"room-%1"_s.arg(i, 3, 10, QChar(u'0'))));
    }
    // Eight tokens: four pages of people and three of rooms, one each, whatever their depth.
    const std::unique_ptr<ChatServer> server = serverWithBudget(8, u"keyset.db"_s);
    QVERIFY(server);
    TestClient alice;
    QVERIFY(alice.open(server->serverPort()) && alice.hello(u"Alice"_s, u"alice@x.org"_s));

    QStringList emails;
    QString after;
    for (int pages = 0; pages == 0 || !after.isEmpty(); ++pages) {
        QVERIFY(pages < 4);
        const auto page = answer<People>(&alice, ListPeople{{}, 0, 50, after});
        QVERIFY(page);
        for (const Person &person : page->people)
            emails.append(person.user.email);
        QCOMPARE(page->hasMore, !page->next.isEmpty());
        after = page->next;
    }
    QStringList expected{u"alice@x.org"_s}; // "alice" comes before "person ..."
    for (int i = 0; i < 130; ++i)
        expected.append(u"p%1@x.org"_s.arg(i, 3, 10, QChar(u'0')));
    QCOMPARE(emails, expected); // everyone once, in order

    QStringList rooms;
    after.clear();
    for (int pages = 0; pages == 0 || !after.isEmpty(); ++pages) {
        QVERIFY(pages < 3);
        const auto page = answer<RoomList>(&alice, ListRooms{{}, 0, 30, after});
        QVERIFY(page);
        for (const RoomSummary &room : page->rooms)
            rooms.append(room.room);
        after = page->next;
    }
    QCOMPARE(rooms.size(), 70);
    QCOMPARE(rooms.constFirst(), u"room-000"_s);
    QCOMPARE(rooms.constLast(), u"room-069"_s);
    QCOMPARE(QSet<QString>(rooms.cbegin(), rooms.cend()).size(), 70);

    // Both ways of paging at once is a mistake, and says so.
    alice.send(ListPeople{{}, 50, 50, u"p010@x.org"_s});
    const auto refused = alice.waitFor<Error>();
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::BadField);
    QCOMPARE(refused->request, u"list_people"_s);
}

QTEST_GUILESS_MAIN(TestDirectory)
#include "tst_directory.moc"
