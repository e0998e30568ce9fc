#include "app/chatclient.h"
#include "tests/support/testserver.h"

#include "tests/support/testclient.h"

#include <QAbstractItemModelTester>
#include <QCryptographicHash>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

using namespace Natter;
using namespace std::chrono_literals;
using State = ChatClient::State;
using Delivery = MessageListModel::DeliveryState;

class TestChatClient final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void signsInJoinsAndReceives();
    void ownMessageGoesFromSendingToSent();
    void directMessageOpensConversation();
    void scrollingBackFetchesOlderPages();
    void reconnectsAfterServerRestartWithoutLossOrDuplicates();
    void refusedMessageFailsAndCanBeRetried();
    void typingIsShownAndForgotten();
    void blankAndOverlongTextIsNotQueued();
    void invalidRoomNameIsRefused();
    void keepsTryingWhileTheServerIsDown();
    void givesUpOnASilentServer();
    void dropsAConnectionThatStopsAnswering();
    void privateRoomInviteAndRemoval();
    void refusedTokenAsksForThePasswordAgain();
    void changesThePasswordAndSignsOut();
    void roomRefusedOnRejoinIsClosed();
    void changesReachTheModelLiveAndAfterAbsence();
    void readMarkersAndMutesFollowTheOtherDevice();
    void aJumpBackSurvivesAReconnect();

private:
    static std::unique_ptr<ChatClient> makeClient(const QString &name, const QString &email)
    {
        auto client = std::make_unique<ChatClient>();
        client->setIdentity(User{name, email});
        client->setPassword(TestClient::defaultPassword());
        client->setReconnectDelays(20ms, 200ms);
        return client;
    }
    static int storedCopies(const QString &databasePath, const QString &text);
    /// Bob, signed in to the server with nothing open; null if he could not sign in.
    static std::unique_ptr<ChatClient> bobOnlineIn(const TestServer &server)
    {
        auto bob = makeClient(QStringLiteral("Bob"), QStringLiteral("bob@example.org"));
        bob->connectToServer(server.url());
        if (!QTest::qWaitFor([&] { return bob->state() == State::Online; }, 5000))
            return nullptr;
        return bob;
    }
    /// Alice, signed in to the server with #general open; null if she could not sign in.
    static std::unique_ptr<ChatClient> aliceOnlineIn(const TestServer &server)
    {
        auto alice = makeClient(QStringLiteral("Alice"), QStringLiteral("alice@example.org"));
        alice->openRoom(QStringLiteral("general"));
        alice->connectToServer(server.url());
        if (!QTest::qWaitFor([&] { return alice->state() == State::Online; }, 5000))
            return nullptr;
        return alice;
    }
};

int TestChatClient::storedCopies(const QString &databasePath, const QString &text)
{
    int count = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("check"));
        db.setDatabaseName(databasePath);
        if (db.open()) {
            QSqlQuery query(db);
            query.prepare(QStringLiteral("SELECT COUNT(*) FROM messages WHERE text = ?"));
            query.addBindValue(text);
            if (query.exec() && query.next())
                count = query.value(0).toInt();
        }
    }
    QSqlDatabase::removeDatabase(QStringLiteral("check"));
    return count;
}

void TestChatClient::signsInJoinsAndReceives()
{
    TestServer server;
    QVERIFY(server.start());
    auto alice = makeClient(QStringLiteral("Alice"), QStringLiteral("Alice@Example.org"));
    QVERIFY(alice->openRoom(QStringLiteral("General")));
    alice->connectToServer(server.url());
    QTRY_COMPARE(alice->state(), State::Online);
    QCOMPARE(alice->self().email, QStringLiteral("alice@example.org"));
    QCOMPARE(alice->serverName(), QStringLiteral("Test chat"));
    QTRY_COMPARE(alice->members(QStringLiteral("general")).size(), 1);

    TestClient bob;
    QVERIFY(signInAsBob(bob, server.port(), {QStringLiteral("general")}));
    QTRY_COMPARE(alice->members(QStringLiteral("general")).size(), 2);

    MessageListModel *messages = alice->messages(ConversationKey::room(QStringLiteral("general")));
    QVERIFY(messages);
    QAbstractItemModelTester tester(messages);
    QSignalSpy arrived(alice.get(), &ChatClient::messagesArrived);
    bob.send(Protocol::SendMessage{
        QStringLiteral("general"), {}, QStringLiteral("hi Alice"), QStringLiteral("b-1")});
    QTRY_COMPARE(messages->rowCount(), 1);
    const QModelIndex row = messages->index(0);
    QCOMPARE(row.data(MessageListModel::TextRole).toString(), QStringLiteral("hi Alice"));
    QCOMPARE(row.data(MessageListModel::SenderNameRole).toString(), QStringLiteral("Bob"));
    QCOMPARE(row.data(MessageListModel::SenderEmailRole).toString(), QStringLiteral("bob@example.org"));
    QCOMPARE(row.data(MessageListModel::IsOwnRole).toBool(), false);
    QVERIFY(row.data(MessageListModel::IdRole).toLongLong() > 0);
    QCOMPARE(arrived.count(), 1);
    QCOMPARE(arrived.at(0).at(0).value<ConversationKey>(), ConversationKey::room(QStringLiteral("general")));
}

void TestChatClient::ownMessageGoesFromSendingToSent()
{
    TestServer server;
    QVERIFY(server.start());
    auto alice = aliceOnlineIn(server);
    QVERIFY(alice);
    TestClient bob;
    QVERIFY(signInAsBob(bob, server.port(), {QStringLiteral("general")}));

    MessageListModel *messages = alice->messages(ConversationKey::room(QStringLiteral("general")));
    QTRY_VERIFY(messages->rowCount() == 0);
    const QString clientId =
        alice->sendMessage(ConversationKey::room(QStringLiteral("general")), QStringLiteral("hello 👋"));
    QVERIFY(!clientId.isEmpty());
    QCOMPARE(messages->rowCount(), 1);
    QCOMPARE(messages->index(0).data(MessageListModel::IsOwnRole).toBool(), true);
    QCOMPARE(messages->deliveryStateAt(0), Delivery::Sending);
    QTRY_COMPARE(messages->deliveryStateAt(0), Delivery::Sent);
    QCOMPARE(messages->rowCount(), 1);

    const auto received = bob.waitFor<Protocol::ReceiveMessage>();
    QVERIFY(received);
    QCOMPARE(received->message.text, QStringLiteral("hello 👋"));
    QCOMPARE(received->message.clientId, clientId);
    QCOMPARE(received->message.from.name, QStringLiteral("Alice"));
}

void TestChatClient::directMessageOpensConversation()
{
    TestServer server;
    QVERIFY(server.start());
    auto alice = makeClient(QStringLiteral("Alice"), QStringLiteral("alice@example.org"));
    alice->connectToServer(server.url());
    QTRY_COMPARE(alice->state(), State::Online);

    TestClient bob;
    QVERIFY(signInAsBob(bob, server.port()));
    QSignalSpy opened(alice.get(), &ChatClient::conversationOpened);
    bob.send(Protocol::SendMessage{{}, QStringLiteral("alice@example.org"), QStringLiteral("psst"), {}});
    QTRY_COMPARE(opened.count(), 1);
    const ConversationKey key = ConversationKey::direct(QStringLiteral("bob@example.org"));
    QCOMPARE(opened.at(0).at(0).value<ConversationKey>(), key);
    QCOMPARE(alice->conversations()->title(key), QStringLiteral("Bob"));
    // The pushed message and the history read on opening overlap: shown once.
    QTRY_COMPARE(alice->messages(key)->rowCount(), 1);
    // Anything Bob sends later arrives after the history page: then we know
    // the page did not add the first message again.
    bob.send(Protocol::SendMessage{{}, QStringLiteral("alice@example.org"), QStringLiteral("hello?"), {}});
    QTRY_COMPARE(alice->messages(key)->rowCount(), 2);
    QCOMPARE(alice->messages(key)->messageAt(0).text, QStringLiteral("psst"));

    for (const char *own : {"psst", "hello?"}) { // Bob's own copies
        const auto echo = bob.waitFor<Protocol::ReceiveMessage>();
        QVERIFY(echo);
        QCOMPARE(echo->message.text, QString::fromUtf8(own));
    }
    alice->sendMessage(key, QStringLiteral("what?"));
    const auto reply = bob.waitFor<Protocol::ReceiveMessage>();
    QVERIFY(reply);
    QCOMPARE(reply->message.text, QStringLiteral("what?"));
    QTRY_COMPARE(alice->messages(key)->deliveryStateAt(2), Delivery::Sent);
    QVERIFY(reply->message.to == QStringLiteral("bob@example.org"));
}

void TestChatClient::scrollingBackFetchesOlderPages()
{
    TestServer server;
    QVERIFY(server.start());
    TestClient bob;
    QVERIFY(signInAsBob(bob, server.port(), {QStringLiteral("history")}));
    for (int i = 1; i <= 120; ++i)
        bob.send(Protocol::SendMessage{QStringLiteral("history"), {}, QStringLiteral("m%1").arg(i), {}});
    QTRY_COMPARE(bob.count<Protocol::ReceiveMessage>(), 120);

    auto alice = makeClient(QStringLiteral("Alice"), QStringLiteral("alice@example.org"));
    alice->openRoom(QStringLiteral("history"));
    alice->connectToServer(server.url());
    MessageListModel *messages = alice->messages(ConversationKey::room(QStringLiteral("history")));
    QTRY_COMPARE(messages->rowCount(), 50);
    QCOMPARE(messages->messageAt(0).text, QStringLiteral("m71"));
    QVERIFY(messages->canFetchMore({}));
    messages->fetchMore({});
    QTRY_COMPARE(messages->rowCount(), 100);
    QCOMPARE(messages->messageAt(0).text, QStringLiteral("m21"));
    messages->fetchMore({});
    QTRY_COMPARE(messages->rowCount(), 120);
    QCOMPARE(messages->messageAt(0).text, QStringLiteral("m1"));
    QCOMPARE(messages->messageAt(119).text, QStringLiteral("m120"));
    QVERIFY(!messages->canFetchMore({}));
}

void TestChatClient::reconnectsAfterServerRestartWithoutLossOrDuplicates()
{
    TestServer server;
    QVERIFY(server.start());
    auto alice = aliceOnlineIn(server);
    QVERIFY(alice);
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    MessageListModel *messages = alice->messages(general);
    alice->sendMessage(general, QStringLiteral("before"));
    QTRY_COMPARE(messages->deliveryStateAt(0), Delivery::Sent);

    // Long waits: the test says when Alice comes back (reconnectNow()).
    alice->setReconnectDelays(60s, 60s);
    server.stop();
    QTRY_COMPARE(alice->state(), State::WaitingToReconnect);
    // Written while offline: shown as sending, sent once when back.
    alice->sendMessage(general, QStringLiteral("offline 1"));
    alice->sendMessage(general, QStringLiteral("offline 2"));
    QCOMPARE(messages->rowCount(), 3);
    QCOMPARE(messages->deliveryStateAt(2), Delivery::Sending);

    QVERIFY(server.start());
    // Bob talks before Alice is back: she must see it after resuming.
    TestClient bob;
    QVERIFY(signInAsBob(bob, server.port(), {QStringLiteral("general")}));
    for (int i = 1; i <= 3; ++i)
        bob.send(
            Protocol::SendMessage{QStringLiteral("general"), {}, QStringLiteral("missed %1").arg(i), {}});
    QTRY_COMPARE(bob.count<Protocol::ReceiveMessage>(), 3);

    QCOMPARE(alice->state(), State::WaitingToReconnect);
    QSignalSpy welcomed(alice.get(), &ChatClient::welcomed);
    alice->reconnectNow();
    QTRY_COMPARE(welcomed.count(), 1);
    QTRY_COMPARE(messages->rowCount(), 6);
    QTRY_COMPARE(messages->storedCount(), 6);
    QStringList texts;
    for (int row = 0; row < messages->rowCount(); ++row)
        texts.append(messages->messageAt(row).text);
    // In id order: what was stored before, Bob's missed messages, then the outbox.
    QCOMPARE(texts, (QStringList{QStringLiteral("before"), QStringLiteral("missed 1"),
                                 QStringLiteral("missed 2"), QStringLiteral("missed 3"),
                                 QStringLiteral("offline 1"), QStringLiteral("offline 2")}));
    // Bob got each outbox message once, and the server stored each once.
    QTRY_COMPARE(bob.count<Protocol::ReceiveMessage>(), 5);
    QCOMPARE(storedCopies(server.databasePath(), QStringLiteral("offline 1")), 1);
    QCOMPARE(storedCopies(server.databasePath(), QStringLiteral("offline 2")), 1);
    QCOMPARE(storedCopies(server.databasePath(), QStringLiteral("before")), 1);

    // A second drop and return changes nothing: no message doubles.
    server.stop();
    QTRY_COMPARE(alice->state(), State::WaitingToReconnect);
    QVERIFY(server.start());
    alice->reconnectNow();
    QTRY_COMPARE(welcomed.count(), 2);
    QTRY_COMPARE(alice->members(QStringLiteral("general")).size(), 1);
    QCOMPARE(messages->rowCount(), 6);
    QCOMPARE(storedCopies(server.databasePath(), QStringLiteral("offline 1")), 1);
}

void TestChatClient::refusedMessageFailsAndCanBeRetried()
{
    Natter::ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 20;
    config.rateBurst = 1;
    TestServer server(config);
    QVERIFY(server.start());
    auto alice = aliceOnlineIn(server);
    QVERIFY(alice);
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    MessageListModel *messages = alice->messages(general);
    QSignalSpy errors(alice.get(), &ChatClient::errorOccurred);

    alice->sendMessage(general, QStringLiteral("one"));
    const QString second = alice->sendMessage(general, QStringLiteral("two"));
    QTRY_COMPARE(messages->deliveryStateAt(1), Delivery::Failed);
    QTRY_COMPARE(messages->deliveryStateAt(0), Delivery::Sent); // refused at once, stored a moment later
    QTRY_COMPARE(errors.count(), 1);
    QVERIFY2(errors.at(0).at(0).toString().contains(QStringLiteral("too fast")),
             qPrintable(errors.at(0).at(0).toString()));

    // "Retry" sends it again with its client id, as the user would click
    // until the server's bucket has a token again (a twentieth of a second).
    alice->retry(general, second);
    QCOMPARE(messages->deliveryStateAt(1), Delivery::Sending);
    QTRY_VERIFY([&] {
        if (messages->deliveryStateAt(1) == Delivery::Failed)
            alice->retry(general, second);
        return messages->deliveryStateAt(1) == Delivery::Sent;
    }());
    QCOMPARE(messages->messageAt(1).text, QStringLiteral("two"));
    QCOMPARE(messages->rowCount(), 2);
}

void TestChatClient::typingIsShownAndForgotten()
{
    TestServer server;
    QVERIFY(server.start());
    auto alice = makeClient(QStringLiteral("Alice"), QStringLiteral("alice@example.org"));
    auto bob = makeClient(QStringLiteral("Bob"), QStringLiteral("bob@example.org"));
    for (ChatClient *client : {alice.get(), bob.get()}) {
        client->openRoom(QStringLiteral("general"));
        client->connectToServer(server.url());
    }
    QTRY_COMPARE(alice->members(QStringLiteral("general")).size(), 2);
    QTRY_COMPARE(bob->members(QStringLiteral("general")).size(), 2);

    bob->setTyping(ConversationKey::room(QStringLiteral("general")), true);
    QTRY_COMPARE(alice->typingUsers(ConversationKey::room(QStringLiteral("general"))),
                 QStringList{QStringLiteral("Bob")});
    bob->setTyping(ConversationKey::room(QStringLiteral("general")), false);
    QTRY_VERIFY(alice->typingUsers(ConversationKey::room(QStringLiteral("general"))).isEmpty());

    // Sending clears the sender's typing for the others.
    bob->setTyping(ConversationKey::room(QStringLiteral("general")), true);
    QTRY_COMPARE(alice->typingUsers(ConversationKey::room(QStringLiteral("general"))).size(), 1);
    bob->sendMessage(ConversationKey::room(QStringLiteral("general")), QStringLiteral("done"));
    QTRY_VERIFY(alice->typingUsers(ConversationKey::room(QStringLiteral("general"))).isEmpty());
    QVERIFY(bob->typingUsers(ConversationKey::room(QStringLiteral("general"))).isEmpty());
}

void TestChatClient::blankAndOverlongTextIsNotQueued()
{
    Natter::ServerConfig config = TestServer::defaultConfig();
    config.maxTextLength = 10;
    TestServer server(config);
    QVERIFY(server.start());
    auto alice = aliceOnlineIn(server);
    QVERIFY(alice);
    QCOMPARE(alice->limits().maxTextLength, 10);
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    QSignalSpy errors(alice.get(), &ChatClient::errorOccurred);
    QVERIFY(alice->sendMessage(general, QStringLiteral("  \n ")).isEmpty());
    QVERIFY(alice->sendMessage(general, QStringLiteral("eleven char")).isEmpty());
    QCOMPARE(errors.count(), 1);
    QVERIFY(errors.at(0).at(0).toString().contains(QStringLiteral("10")));
    QVERIFY(!alice->sendMessage(general, QStringLiteral("ten chars!")).isEmpty());
    QCOMPARE(alice->messages(general)->rowCount(), 1);
}

void TestChatClient::invalidRoomNameIsRefused()
{
    auto alice = makeClient(QStringLiteral("Alice"), QStringLiteral("alice@example.org"));
    QSignalSpy errors(alice.get(), &ChatClient::errorOccurred);
    QVERIFY(!alice->openRoom(QStringLiteral("no spaces allowed")));
    QVERIFY(!alice->openRoom(QStringLiteral("-dash-first")));
    QCOMPARE(errors.count(), 2);
    QCOMPARE(alice->conversations()->rowCount(), 0);
    QVERIFY(alice->openRoom(QStringLiteral("Team.Alpha")));
    QVERIFY(alice->messages(ConversationKey::room(QStringLiteral("team.alpha"))));
}

void TestChatClient::keepsTryingWhileTheServerIsDown()
{
    // Find a port nobody listens on, then let the client knock a few times.
    quint16 port = 0;
    {
        TestServer probe;
        QVERIFY(probe.start());
        port = probe.port();
    }
    auto alice = makeClient(QStringLiteral("Alice"), QStringLiteral("alice@example.org"));
    alice->setReconnectDelays(10ms, 40ms);
    alice->connectToServer(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port)));
    QTRY_VERIFY(alice->reconnectAttempt() >= 3);
    QVERIFY(alice->state() == State::WaitingToReconnect || alice->state() == State::Connecting);
    QVERIFY(!alice->lastError().isEmpty());
    // The wait never exceeds the longest delay.
    QVERIFY(alice->millisecondsUntilReconnect() <= 40);
    alice->disconnectFromServer();
    QCOMPARE(alice->state(), State::Offline);
}

void TestChatClient::givesUpOnASilentServer()
{
    // A peer that accepts TCP and then says nothing (a hung server, a
    // half-open connection): the attempt times out and the client tries again.
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
    QList<QTcpSocket *> held;
    connect(&silent, &QTcpServer::newConnection, &silent, [&] {
        while (QTcpSocket *socket = silent.nextPendingConnection())
            held.append(socket);
    });
    auto alice = makeClient(QStringLiteral("Alice"), QStringLiteral("alice@example.org"));
    alice->setTimeouts(100ms, 20s);
    QSignalSpy states(alice.get(), &ChatClient::stateChanged);
    alice->connectToServer(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(silent.serverPort())));
    QCOMPARE(alice->state(), State::Connecting);
    QTRY_VERIFY(alice->reconnectAttempt() >= 2);
    QCOMPARE(alice->lastError(), QStringLiteral("The server did not answer in time."));
    QVERIFY(held.size() >= 2);
    QVERIFY(states.count() >= 3); // Connecting → WaitingToReconnect → Connecting …
    alice->disconnectFromServer();
}

void TestChatClient::dropsAConnectionThatStopsAnswering()
{
    // A server that completes the handshake, says welcome, then goes silent
    // without closing (the laptop lid case, seen from the client): no pong
    // comes back, so the client drops the connection and reconnects.
    QTcpServer mute;
    QVERIFY(mute.listen(QHostAddress::LocalHost, 0));
    QList<QTcpSocket *> held;
    connect(&mute, &QTcpServer::newConnection, &mute, [&] {
        while (QTcpSocket *socket = mute.nextPendingConnection()) {
            held.append(socket);
            connect(socket, &QTcpSocket::readyRead, socket, [socket] {
                if (socket->property("upgraded").toBool())
                    return; // silence from now on: no pong, nothing
                const QByteArray request = socket->peek(8192);
                if (!request.contains("\r\n\r\n"))
                    return;
                socket->readAll();
                QByteArray key;
                for (const QByteArray &line : request.split('\n')) {
                    if (line.toLower().startsWith("sec-websocket-key:"))
                        key = line.mid(18).trimmed();
                }
                const QByteArray accept =
                    QCryptographicHash::hash(QByteArray(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
                                             QCryptographicHash::Sha1)
                        .toBase64();
                socket->write(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: " +
                    accept + "\r\n\r\n");
                const QByteArray welcome = Codec::encodeServerFrame(
                    Protocol::Welcome{User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")},
                                      1,
                                      QStringLiteral("natterd 0.1.0"),
                                      QStringLiteral("Mute"),
                                      {},
                                      {},
                                      {}});
                // One unmasked text frame; a welcome fits the 16-bit length form.
                QByteArray frame;
                frame.append(char(0x81)).append(char(126));
                frame.append(char(welcome.size() >> 8)).append(char(welcome.size() & 0xff));
                socket->write(frame + welcome);
                socket->setProperty("upgraded", true);
            });
        }
    });
    auto alice = makeClient(QStringLiteral("Alice"), QStringLiteral("alice@example.org"));
    alice->setTimeouts(5s, 300ms);
    alice->setReconnectDelays(60s, 60s);
    alice->connectToServer(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(mute.serverPort())));
    QTRY_COMPARE(alice->state(), State::Online);
    QCOMPARE(alice->serverName(), QStringLiteral("Mute"));
    QTRY_COMPARE(alice->state(), State::WaitingToReconnect);
    QCOMPARE(alice->lastError(), QStringLiteral("The server stopped answering."));
    alice->disconnectFromServer();
}

void TestChatClient::privateRoomInviteAndRemoval()
{
    TestServer server;
    QVERIFY(server.start());
    auto alice = aliceOnlineIn(server);
    QVERIFY(alice);
    auto bob = bobOnlineIn(server);
    QVERIFY(bob);

    // Alice makes a private room; it shows as private once the server confirms.
    QVERIFY(alice->createPrivateRoom(QStringLiteral("Design")));
    const ConversationKey design = ConversationKey::room(QStringLiteral("design"));
    QTRY_VERIFY(alice->isPrivateRoom(QStringLiteral("design")));
    QCOMPARE(alice->roomOwner(QStringLiteral("design")), QStringLiteral("alice@example.org"));
    const QModelIndex row = alice->conversations()->index(alice->conversations()->indexOf(design));
    QVERIFY(row.data(ConversationListModel::IsPrivateRole).toBool());

    // Invited, Bob's app opens it by itself and he can read and write.
    QSignalSpy invited(bob.get(), &ChatClient::roomInvitation);
    QSignalSpy confirmed(alice.get(), &ChatClient::memberInvited);
    QSignalSpy aliceInvited(alice.get(), &ChatClient::roomInvitation);
    alice->inviteToRoom(QStringLiteral("design"), QStringLiteral("Bob@Example.org"));
    QVERIFY(invited.wait());
    QCOMPARE(invited.at(0).at(0).toString(), QStringLiteral("design"));
    // Alice's app hears that it worked (and does not take it as an invitation of her own).
    QTRY_COMPARE(confirmed.size(), 1);
    QCOMPARE(confirmed.at(0).at(1).value<User>().email, QStringLiteral("bob@example.org"));
    QCOMPARE(aliceInvited.size(), 0);
    QTRY_VERIFY(bob->isPrivateRoom(QStringLiteral("design")));
    QTRY_COMPARE(alice->members(QStringLiteral("design")).size(), 2);
    bob->sendMessage(design, QStringLiteral("thanks for having me"));
    QTRY_COMPARE(alice->messages(design)->rowCount(), 1);

    // Removed, Bob's app closes the room and says why.
    QSignalSpy removed(bob.get(), &ChatClient::removedFromRoom);
    alice->removeFromRoom(QStringLiteral("design"), QStringLiteral("bob@example.org"));
    QVERIFY(removed.wait());
    QVERIFY(!bob->openConversations().contains(design));
    QTRY_COMPARE(alice->members(QStringLiteral("design")).size(), 1);
}

void TestChatClient::refusedTokenAsksForThePasswordAgain()
{
    TestServer server;
    QVERIFY(server.start());
    auto alice = aliceOnlineIn(server);
    QVERIFY(alice);
    QVERIFY(!alice->token().isEmpty());
    QVERIFY(!alice->hasPassword()); // forgotten once the token came
    alice->disconnectFromServer();
    // A token the server does not know (revoked elsewhere): refused, forgotten, the app is asked.
    alice->setToken(QStringLiteral("revoked-elsewhere"));
    QSignalSpy refused(alice.get(), &ChatClient::signInFailed);
    QSignalSpy tokens(alice.get(), &ChatClient::tokenChanged);
    alice->connectToServer(server.url());
    QVERIFY(refused.wait());
    QCOMPARE(refused.at(0).at(0).value<Protocol::ErrorCode>(), Protocol::ErrorCode::BadCredentials);
    QCOMPARE(tokens.count(), 1);
    QVERIFY(tokens.at(0).at(0).toString().isEmpty());
    QTRY_COMPARE(alice->state(), State::Offline); // no retrying with what cannot work
    // With the password again, a new token.
    alice->setPassword(TestClient::defaultPassword());
    alice->connectToServer(server.url());
    QTRY_COMPARE(alice->state(), State::Online);
    QVERIFY(!alice->token().isEmpty());
}

void TestChatClient::changesThePasswordAndSignsOut()
{
    TestServer server;
    QVERIFY(server.start());
    auto alice = aliceOnlineIn(server);
    QVERIFY(alice);
    QSignalSpy errors(alice.get(), &ChatClient::errorOccurred);
    QSignalSpy changed(alice.get(), &ChatClient::passwordChanged);
    alice->changePassword(QStringLiteral("not my password"), QStringLiteral("a brand new one"));
    QVERIFY(errors.wait());
    QCOMPARE(changed.count(), 0);
    const QString oldToken = alice->token();
    QSignalSpy renewed(alice.get(), &ChatClient::tokenChanged);
    alice->changePassword(TestClient::defaultPassword(), QStringLiteral("a brand new one"));
    QVERIFY(changed.wait());
    QCOMPARE(alice->state(), State::Online); // this device stays signed in
    // ... under a new token: the server revoked the old one, which a thief may hold.
    QCOMPARE(renewed.count(), 1);
    QVERIFY(!alice->token().isEmpty());
    QVERIFY(alice->token() != oldToken);
    alice->disconnectFromServer();
    QTRY_COMPARE(alice->state(), State::Offline);
    alice->connectToServer(server.url());
    QTRY_COMPARE(alice->state(), State::Online);

    // Signing out: the token is forgotten and the server no longer takes it.
    const QString token = alice->token();
    QSignalSpy tokens(alice.get(), &ChatClient::tokenChanged);
    alice->signOut();
    QCOMPARE(tokens.count(), 1);
    QVERIFY(alice->token().isEmpty());
    QTRY_COMPARE(alice->state(), State::Offline);
    TestClient reuse;
    QVERIFY(reuse.open(server.port()));
    Protocol::Hello hello;
    hello.user = User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")};
    hello.token = token;
    reuse.send(hello);
    QCOMPARE(reuse.waitFor<Protocol::Error>()->code, Protocol::ErrorCode::BadCredentials);
    QVERIFY(reuse.hello(QStringLiteral("Alice"), QStringLiteral("alice@example.org"),
                        QStringLiteral("a brand new one")));
}

void TestChatClient::roomRefusedOnRejoinIsClosed()
{
    TestServer server;
    QVERIFY(server.start());
    auto alice = aliceOnlineIn(server);
    QVERIFY(alice);
    auto bob = bobOnlineIn(server);
    QVERIFY(bob);
    QVERIFY(alice->createPrivateRoom(QStringLiteral("design")));
    QTRY_VERIFY(alice->isPrivateRoom(QStringLiteral("design")));
    alice->inviteToRoom(QStringLiteral("design"), QStringLiteral("bob@example.org"));
    QTRY_VERIFY(bob->isPrivateRoom(QStringLiteral("design")));

    // Bob is offline while Alice removes him; when he is back, his app asks to rejoin and is refused.
    server.stop();
    QTRY_VERIFY(bob->state() != State::Online);
    QVERIFY(server.start());
    QTRY_COMPARE(alice->state(), State::Online);
    QTRY_VERIFY(alice->isPrivateRoom(QStringLiteral("design")));
    bob->disconnectFromServer();
    alice->removeFromRoom(QStringLiteral("design"), QStringLiteral("bob@example.org"));
    QTRY_COMPARE(alice->members(QStringLiteral("design")).size(), 1);
    QSignalSpy refused(bob.get(), &ChatClient::roomRefused);
    QSignalSpy errors(bob.get(), &ChatClient::errorOccurred);
    bob->connectToServer(server.url());
    QVERIFY(refused.wait());
    QCOMPARE(refused.at(0).at(0).toString(), QStringLiteral("design"));
    QVERIFY(!bob->openConversations().contains(ConversationKey::room(QStringLiteral("design"))));
    QVERIFY(errors.constLast().at(0).toString().contains(QStringLiteral("private room")));
    QCOMPARE(bob->state(), State::Online); // the rest goes on
}

void TestChatClient::changesReachTheModelLiveAndAfterAbsence()
{
    TestServer server;
    QVERIFY(server.start());
    auto alice = aliceOnlineIn(server);
    QVERIFY(alice);
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    MessageListModel *messages = alice->messages(general);
    TestClient bob;
    QVERIFY(signInAsBob(bob, server.port(), {QStringLiteral("general")}));
    bob.send(Protocol::SendMessage{QStringLiteral("general"), {}, QStringLiteral("lunch at noon?"), {}});
    bob.send(Protocol::SendMessage{QStringLiteral("general"), {}, QStringLiteral("or at one"), {}});
    QTRY_COMPARE(messages->rowCount(), 2);
    const qint64 first = messages->messageAt(0).id;
    const qint64 second = messages->messageAt(1).id;

    // Live: an edit and a reaction land in the model as they happen.
    QSignalSpy changed(alice.get(), &ChatClient::messageChanged);
    bob.send(Protocol::EditMessage{first, QStringLiteral("lunch at 12:30?"), {}});
    QTRY_COMPARE(messages->messageAt(0).text, QStringLiteral("lunch at 12:30?"));
    QVERIFY(messages->index(0).data(MessageListModel::EditedRole).toDateTime().isValid());
    QVERIFY(alice->react(first, QStringLiteral("👍"), true));
    QTRY_COMPARE(messages->messageAt(0).reactions.size(), 1);
    QVERIFY(messages->messageAt(0).reactions.at(0).mine);
    QVERIFY(changed.size() >= 2);

    // Away: Bob deletes one and edits the other; back, the model shows it all.
    alice->setReconnectDelays(60s, 60s);
    server.stop();
    QTRY_COMPARE(alice->state(), State::WaitingToReconnect);
    QVERIFY(server.start());
    TestClient bob2;
    QVERIFY(signInAsBob(bob2, server.port(), {QStringLiteral("general")}));
    bob2.send(Protocol::DeleteMessage{first});
    bob2.send(Protocol::EditMessage{second, QStringLiteral("or at one, edited"), {}});
    QTRY_COMPARE(bob2.count<Protocol::MessageChange>(), 2);
    alice->reconnectNow();
    QTRY_VERIFY(messages->messageAt(0).deleted);
    QTRY_COMPARE(messages->messageAt(1).text, QStringLiteral("or at one, edited"));
    QCOMPARE(messages->rowCount(), 2); // changed in place, nothing added
    QVERIFY(messages->messageAt(0).text.isEmpty());
    QVERIFY(messages->index(0).data(MessageListModel::IsDeletedRole).toBool());

    // The sidebar's preview follows an edit of the last message, and keeps nothing of a deleted one.
    ConversationListModel *conversations = alice->conversations();
    const QModelIndex row = conversations->index(conversations->indexOf(general));
    QCOMPARE(row.data(ConversationListModel::PreviewRole).toString(),
             QStringLiteral("Bob: or at one, edited"));
    bob2.send(Protocol::DeleteMessage{second});
    QTRY_COMPARE(row.data(ConversationListModel::PreviewRole).toString(),
                 QStringLiteral("Bob: Message deleted"));
}

void TestChatClient::readMarkersAndMutesFollowTheOtherDevice()
{
    TestServer server;
    QVERIFY(server.start());
    auto laptop = aliceOnlineIn(server);
    auto desktop = aliceOnlineIn(server);
    QVERIFY(laptop && desktop);
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    TestClient bob;
    QVERIFY(signInAsBob(bob, server.port(), {QStringLiteral("general")}));
    for (int i = 0; i < 3; ++i)
        bob.send(Protocol::SendMessage{QStringLiteral("general"), {}, QStringLiteral("news %1").arg(i), {}});
    QTRY_COMPARE(laptop->messages(general)->rowCount(), 3);
    QTRY_COMPARE(desktop->messages(general)->rowCount(), 3);

    QSignalSpy followed(desktop.get(), &ChatClient::conversationStateChanged);
    laptop->markRead(general, laptop->messages(general)->messageAt(1).id);
    QTRY_COMPARE(desktop->conversationState(general).readId, laptop->messages(general)->messageAt(1).id);
    QCOMPARE(desktop->conversationState(general).unread, 1);
    QVERIFY(!followed.isEmpty());
    laptop->setMuted(general, true);
    QTRY_VERIFY(desktop->conversationState(general).muted);
    QTRY_VERIFY(laptop->conversationState(general).muted);

    // A device that signs in later starts where the others are.
    auto phone = aliceOnlineIn(server);
    QVERIFY(phone);
    QCOMPARE(phone->conversationState(general).readId, laptop->messages(general)->messageAt(1).id);
    QVERIFY(phone->conversationState(general).muted);

    // Reading message after message sends one marker a moment later, not one each.
    for (int i = 3; i < 6; ++i)
        bob.send(Protocol::SendMessage{QStringLiteral("general"), {}, QStringLiteral("news %1").arg(i), {}});
    QTRY_COMPARE(laptop->messages(general)->rowCount(), 6);
    QSignalSpy markers(desktop.get(), &ChatClient::conversationStateChanged);
    for (int row = 2; row < 6; ++row)
        laptop->markRead(general, laptop->messages(general)->messageAt(row).id);
    QTRY_COMPARE(desktop->conversationState(general).readId, laptop->messages(general)->messageAt(5).id);
    QCOMPARE(markers.count(), 1);
    QCOMPARE(desktop->conversationState(general).unread, 0);

    // A search the server cannot read is answered where it was asked, not as a general error.
    QSignalSpy failed(laptop.get(), &ChatClient::searchFailed);
    QSignalSpy errors(laptop.get(), &ChatClient::errorOccurred);
    Protocol::SearchRequest search;
    search.query = QStringLiteral("\"unbalanced");
    QVERIFY(laptop->search(search));
    QTRY_COMPARE(failed.count(), 1);
    QCOMPARE(errors.count(), 0);
}

void TestChatClient::aJumpBackSurvivesAReconnect()
{
    // Alice jumps far back in a long room (a reply's original), the server
    // restarts while she reads there, Bob talks meanwhile: once back, scrolling
    // down reaches the latest message with no gap and no duplicate.
    ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 0;
    TestServer server(config);
    QVERIFY(server.start());
    auto alice = aliceOnlineIn(server);
    QVERIFY(alice);
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    MessageListModel *messages = alice->messages(general);
    TestClient bob;
    QVERIFY(signInAsBob(bob, server.port(), {QStringLiteral("general")}));
    for (int i = 1; i <= 150; ++i)
        bob.send(Protocol::SendMessage{
            QStringLiteral("general"), {}, QStringLiteral("m%1").arg(i), QStringLiteral("c%1").arg(i)});
    QTRY_COMPARE(messages->lastStoredId(), 150);
    messages->trimToLatest(50); // as the view does back at the bottom: message 5 is not loaded

    QSignalSpy shown(alice.get(), &ChatClient::messageShown);
    QVERIFY(alice->showMessage(general, 5));
    QTRY_COMPARE(shown.count(), 1);
    QCOMPARE(shown.at(0).at(1).toLongLong(), 5);
    QVERIFY(messages->storedMessage(5));
    QVERIFY(messages->hasNewer());
    QVERIFY(messages->lastStoredId() < 150);
    // Already loaded: answered at once.
    QVERIFY(alice->showMessage(general, 6));
    QCOMPARE(shown.count(), 2);

    alice->setReconnectDelays(60s, 60s);
    server.stop();
    QTRY_COMPARE(alice->state(), State::WaitingToReconnect);
    QVERIFY(server.start());
    TestClient bob2;
    QVERIFY(signInAsBob(bob2, server.port(), {QStringLiteral("general")}));
    bob2.send(Protocol::SendMessage{
        QStringLiteral("general"), {}, QStringLiteral("while away"), QStringLiteral("away")});
    QVERIFY(bob2.waitFor<Protocol::ReceiveMessage>().has_value());
    alice->reconnectNow();
    QTRY_COMPARE(alice->state(), State::Online);
    // Scrolling down fetches what follows the page until the end.
    for (int guard = 0; guard < 10 && messages->hasNewer(); ++guard) {
        const qint64 last = messages->lastStoredId();
        messages->fetchNewer();
        QTRY_VERIFY(messages->lastStoredId() > last || !messages->hasNewer());
    }
    QVERIFY(!messages->hasNewer());
    QTRY_COMPARE(messages->lastStoredId(), 151);
    for (int row = 1; row < messages->storedCount(); ++row)
        QCOMPARE(messages->messageAt(row).id, messages->messageAt(row - 1).id + 1); // no gap, no duplicate
    // Live again: a new message is appended.
    bob2.send(
        Protocol::SendMessage{QStringLiteral("general"), {}, QStringLiteral("live"), QStringLiteral("live")});
    QTRY_COMPARE(messages->lastStoredId(), 152);

    // Jump back again, and "latest" brings the latest page instead of the old one.
    messages->trimToLatest(50);
    QVERIFY(alice->showMessage(general, 3));
    QTRY_VERIFY(messages->storedMessage(3).has_value());
    QVERIFY(messages->hasNewer());
    alice->showLatest(general);
    QTRY_COMPARE(messages->lastStoredId(), 152);
    QVERIFY(!messages->hasNewer());
    QVERIFY(!messages->storedMessage(3));
}

QTEST_GUILESS_MAIN(TestChatClient)
#include "tst_chatclient.moc"
