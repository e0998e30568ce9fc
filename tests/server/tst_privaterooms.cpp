// Private rooms: members only, invited and removed by their owner, kept
// across restarts. Real QWebSocket clients against an in-process server.
#include "server/chatserver.h"
#include "server/sqlmessagestore.h"
#include "tests/support/testclient.h"

#include <QTemporaryDir>
#include <QTest>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;

class TestPrivateRooms : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void outsidersSeeNothing();
    void onlyTheOwnerInvitesAndRemoves();
    void invitedMemberIsToldAndMayJoin();
    void removalTakesEveryConnectionOutAtOnce();
    void aPublicRoomCannotBecomePrivate();
    void aSilentEmptyRoomCannotBeTakenOver();
    void membershipSurvivesARestart();

private:
    void startServer();
    TestClient *signedIn(const QString &name, const QString &email);
    /// Alice creates #design (private), Bob is a member, both joined.
    void aliceAndBobInDesign(TestClient **alice, TestClient **bob);

    QTemporaryDir m_dir;
    std::unique_ptr<ChatServer> m_server;
    quint16 m_port = 0;
    QList<TestClient *> m_clients;
};

void TestPrivateRooms::init()
{
    QVERIFY(m_dir.isValid());
    QFile::remove(m_dir.filePath(u"natter.db"_s));
    startServer();
}

void TestPrivateRooms::cleanup()
{
    qDeleteAll(m_clients);
    m_clients.clear();
    m_server.reset();
    m_port = 0;
    for (const QString &suffix : {u""_s, u"-wal"_s, u"-shm"_s})
        QFile::remove(m_dir.filePath(u"natter.db"_s + suffix));
}

void TestPrivateRooms::startServer()
{
    ServerConfig config;
    config.host = QHostAddress::LocalHost;
    config.port = m_port; // a restart comes back on the same port
    config.passwordCost = PasswordHasher::Cost::Minimum;
    auto store = std::make_unique<SqlMessageStore>(m_dir.filePath(u"natter.db"_s));
    QVERIFY(store->open());
    m_server = std::make_unique<ChatServer>(config, std::move(store));
    QVERIFY(m_server->listen());
    m_port = m_server->serverPort();
}

TestClient *TestPrivateRooms::signedIn(const QString &name, const QString &email)
{
    auto *client = new TestClient;
    m_clients.append(client);
    if (!client->open(m_port) || !client->hello(name, email))
        return nullptr;
    return client;
}

void TestPrivateRooms::aliceAndBobInDesign(TestClient **alice, TestClient **bob)
{
    *alice = signedIn(u"Alice"_s, u"alice@x.org"_s);
    *bob = signedIn(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(*alice && *bob);
    (*alice)->send(CreateRoom{u"design"_s, true});
    const auto members = (*alice)->waitFor<Members>();
    QVERIFY(members);
    QVERIFY(members->isPrivate);
    QCOMPARE(members->owner, u"alice@x.org"_s);
    QVERIFY((*alice)->waitFor<History>());
    (*alice)->send(InviteToRoom{u"design"_s, u"bob@x.org"_s});
    QVERIFY((*bob)->waitFor<RoomInvitation>());
    QVERIFY((*bob)->join(u"design"_s));
    (*alice)->frames.clear();
    (*bob)->frames.clear();
}

void TestPrivateRooms::outsidersSeeNothing()
{
    TestClient *alice = nullptr, *bob = nullptr;
    aliceAndBobInDesign(&alice, &bob);
    TestClient *eve = signedIn(u"Eve"_s, u"eve@x.org"_s);
    QVERIFY(eve);
    eve->send(JoinRoom{u"design"_s});
    const auto refused = eve->waitFor<Error>();
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::NotAMember);
    QCOMPARE(eve->count<Members>(), 0);
    QCOMPARE(eve->count<History>(), 0);
    eve->send(HistoryRequest{u"design"_s, {}, {}, 0, 50});
    QCOMPARE(eve->waitFor<Error>()->code, ErrorCode::NotInRoom);
    eve->send(SendMessage{u"design"_s, {}, u"let me in"_s, {}});
    QCOMPARE(eve->waitFor<Error>()->code, ErrorCode::NotInRoom);
    // What members say and do stays among them.
    bob->send(TypingRequest{u"design"_s, true, {}});
    bob->send(SendMessage{u"design"_s, {}, u"the plan"_s, {}});
    QVERIFY(alice->waitFor<TypingNotice>());
    QVERIFY(alice->waitFor<ReceiveMessage>());
    QVERIFY(bob->waitFor<ReceiveMessage>());
    QCOMPARE(eve->count<ReceiveMessage>() + eve->count<TypingNotice>() + eve->count<UserJoined>(), 0);
    // And nobody can take the name over.
    eve->send(CreateRoom{u"design"_s, true});
    QCOMPARE(eve->waitFor<Error>()->code, ErrorCode::RoomExists);
}

void TestPrivateRooms::onlyTheOwnerInvitesAndRemoves()
{
    TestClient *alice = nullptr, *bob = nullptr;
    aliceAndBobInDesign(&alice, &bob);
    TestClient *eve = signedIn(u"Eve"_s, u"eve@x.org"_s);
    QVERIFY(eve);
    bob->send(InviteToRoom{u"design"_s, u"eve@x.org"_s});
    QCOMPARE(bob->waitFor<Error>()->code, ErrorCode::NotRoomOwner);
    bob->send(RemoveFromRoom{u"design"_s, u"alice@x.org"_s});
    QCOMPARE(bob->waitFor<Error>()->code, ErrorCode::NotRoomOwner);
    alice->send(InviteToRoom{u"design"_s, u"nobody@x.org"_s});
    QCOMPARE(alice->waitFor<Error>()->code, ErrorCode::NoSuchUser);
    alice->send(RemoveFromRoom{u"design"_s, u"alice@x.org"_s});
    QCOMPARE(alice->waitFor<Error>()->code, ErrorCode::BadField);
    alice->send(InviteToRoom{u"general"_s, u"eve@x.org"_s}); // public: nothing to invite to
    QCOMPARE(alice->waitFor<Error>()->code, ErrorCode::BadRoom);
    eve->send(JoinRoom{u"design"_s});
    QCOMPARE(eve->waitFor<Error>()->code, ErrorCode::NotAMember);
}

void TestPrivateRooms::invitedMemberIsToldAndMayJoin()
{
    TestClient *alice = nullptr, *bob = nullptr;
    aliceAndBobInDesign(&alice, &bob);
    TestClient *carol = signedIn(u"Carol"_s, u"carol@x.org"_s);
    TestClient *carolPhone = signedIn(u"Carol"_s, u"carol@x.org"_s);
    QVERIFY(carol && carolPhone);
    alice->send(InviteToRoom{u"design"_s, u"Carol@X.org"_s});
    for (TestClient *device : {carol, carolPhone}) {
        const auto invitation = device->waitFor<RoomInvitation>();
        QVERIFY(invitation);
        QCOMPARE(invitation->room, u"design"_s);
        QCOMPARE(invitation->by.email, u"alice@x.org"_s);
        QVERIFY(invitation->member.email.isEmpty()); // for them
    }
    // The owner is told it worked, and whom it was for; the other member hears nothing.
    const auto confirmation = alice->waitFor<RoomInvitation>();
    QVERIFY(confirmation);
    QCOMPARE(confirmation->room, u"design"_s);
    QCOMPARE(confirmation->member, (User{u"Carol"_s, u"carol@x.org"_s}));
    QVERIFY(carol->join(u"design"_s));
    QVERIFY(bob->waitFor<UserJoined>());
    QVERIFY(!bob->takeFirst<RoomInvitation>());
    QCOMPARE(carol->takeFirst<Members>()->users.size(), 3);
}

void TestPrivateRooms::removalTakesEveryConnectionOutAtOnce()
{
    TestClient *alice = nullptr, *bob = nullptr;
    aliceAndBobInDesign(&alice, &bob);
    TestClient *bobPhone = signedIn(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bobPhone && bobPhone->join(u"design"_s));
    bobPhone->frames.clear();
    alice->send(RemoveFromRoom{u"design"_s, u"bob@x.org"_s});
    for (TestClient *device : {bob, bobPhone}) {
        const auto left = device->waitFor<UserLeft>();
        QVERIFY(left);
        QCOMPARE(left->user.email, u"bob@x.org"_s);
    }
    QVERIFY(alice->waitFor<UserLeft>()); // the others see him go
    alice->send(SendMessage{u"design"_s, {}, u"now that Bob is gone"_s, {}});
    QVERIFY(alice->waitFor<ReceiveMessage>());
    bob->send(JoinRoom{u"design"_s});
    QCOMPARE(bob->waitFor<Error>()->code, ErrorCode::NotAMember);
    QCOMPARE(bob->count<ReceiveMessage>() + bobPhone->count<ReceiveMessage>(), 0);
    bobPhone->send(TypingRequest{u"design"_s, true, {}});
    QCOMPARE(bobPhone->waitFor<Error>()->code, ErrorCode::NotInRoom);
}

void TestPrivateRooms::aPublicRoomCannotBecomePrivate()
{
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s);
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(alice && bob && bob->join(u"general"_s));
    alice->send(CreateRoom{u"general"_s, true}); // people are in it
    QCOMPARE(alice->waitFor<Error>()->code, ErrorCode::RoomExists);
    bob->send(SendMessage{u"general"_s, {}, u"history makes it public"_s, {}});
    QVERIFY(bob->waitFor<ReceiveMessage>());
    bob->send(LeaveRoom{u"general"_s});
    QVERIFY(bob->waitFor<UserLeft>());
    alice->send(CreateRoom{u"general"_s, true}); // nobody in it, but its history is public
    QCOMPARE(alice->waitFor<Error>()->code, ErrorCode::RoomExists);
    // A public create_room is a plain join.
    alice->send(CreateRoom{u"general"_s, false});
    const auto members = alice->waitFor<Members>();
    QVERIFY(members && !members->isPrivate);
}

void TestPrivateRooms::aSilentEmptyRoomCannotBeTakenOver()
{
    // Bob's class met in #lobby: nothing said there yet (or its history
    // gone with retention), and everyone left. Mallory may not make it hers.
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s);
    TestClient *mallory = signedIn(u"Mallory"_s, u"mallory@x.org"_s);
    QVERIFY(bob && mallory && bob->join(u"lobby"_s));
    bob->send(LeaveRoom{u"lobby"_s});
    QVERIFY(bob->waitFor<UserLeft>());
    mallory->send(CreateRoom{u"lobby"_s, true});
    QCOMPARE(mallory->waitFor<Error>()->code, ErrorCode::RoomExists);
    // Not after a restart either.
    qDeleteAll(m_clients);
    m_clients.clear();
    m_server.reset();
    startServer();
    mallory = signedIn(u"Mallory"_s, u"mallory@x.org"_s);
    bob = signedIn(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(mallory && bob);
    mallory->send(CreateRoom{u"lobby"_s, true});
    QCOMPARE(mallory->waitFor<Error>()->code, ErrorCode::RoomExists);
    // Bob still gets in.
    QVERIFY(bob->join(u"lobby"_s));
    const auto members = bob->takeFirst<Members>();
    QVERIFY(members && !members->isPrivate);
}

void TestPrivateRooms::membershipSurvivesARestart()
{
    TestClient *alice = nullptr, *bob = nullptr;
    aliceAndBobInDesign(&alice, &bob);
    signedIn(u"Eve"_s, u"eve@x.org"_s); // an account, not a member
    qDeleteAll(m_clients);
    m_clients.clear();
    m_server.reset();
    startServer();
    TestClient *bobAgain = signedIn(u"Bob"_s, u"bob@x.org"_s);
    TestClient *eve = signedIn(u"Eve"_s, u"eve@x.org"_s);
    QVERIFY(bobAgain && eve);
    QVERIFY(bobAgain->join(u"design"_s));
    const auto members = bobAgain->takeFirst<Members>();
    QVERIFY(members && members->isPrivate);
    QCOMPARE(members->owner, u"alice@x.org"_s);
    eve->send(JoinRoom{u"design"_s});
    QCOMPARE(eve->waitFor<Error>()->code, ErrorCode::NotAMember);
}

QTEST_GUILESS_MAIN(TestPrivateRooms)
#include "tst_privaterooms.moc"
