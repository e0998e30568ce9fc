#include "app/chatclient.h"
#include "server/passwordhasher.h"
#include "server/sqlmessagestore.h"
#include "tests/support/faultproxy.h"
#include "tests/support/natterdprocess.h"
#include "tests/support/sqlitecheck.h"
#include "tests/support/testclient.h"
#include "tests/support/testserver.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QRandomGenerator>
#include <QSet>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <sys/resource.h>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

/// What natterd and the app's client survive: each case breaks something
/// underneath real clients and a real natterd, then checks that everything
/// acknowledged arrives once, in order, and that the server kept serving.
class TestFaults final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void networkDropWhileBothSidesSend_data();
    void networkDropWhileBothSidesSend();
    void halfOpenPeerIsDroppedAndItsMessagesHeld();
    void diskFullRefusesSendsAndRecovers();
    void lockedDatabaseRefusesSendsAndRecovers();
    void readOnlyDiskRefusesSendsAndRecovers();
    void damagedDatabaseAtStartIsLeftAlone();
    void clockSteppedBackAndForward();
    void killedFiveTimesMidBurstLosesNothingAcknowledged();
    void killedMidUploadShowsNothingAndResumes();
    void aCrowdArrivesAtOnceAndAThirdKeepsReconnecting();
    void slowConsumerIsDroppedAndResumesWithoutGap_data();
    void slowConsumerIsDroppedAndResumesWithoutGap();

private:
    QString dbPath() const { return m_dir->filePath(u"natter.db"_s); }
    std::unique_ptr<NatterdProcess> natterd() const
    {
        return std::make_unique<NatterdProcess>(QStringLiteral(NATTERD_PATH), dbPath());
    }
    static std::unique_ptr<ChatClient> appClient(const QString &name, const QString &email)
    {
        auto client = std::make_unique<ChatClient>();
        client->setIdentity(User{name, email});
        client->setPassword(TestClient::defaultPassword());
        client->setReconnectDelays(50ms, 500ms);
        client->setTimeouts(2s, 2s);
        return client;
    }
    /// The ids of a conversation's messages in the app's model, in row order;
    /// 0 for one still in the outbox.
    static QList<qint64> modelIds(const ChatClient &client, const ConversationKey &key);

    std::unique_ptr<QTemporaryDir> m_dir;
    qint64 m_baselineGrowthKiB = 0; // natterd's RSS growth in the slow consumer's baseline row
};

namespace {

QList<qint64> idsOf(const QList<Message> &messages)
{
    QList<qint64> ids;
    ids.reserve(messages.size());
    for (const Message &message : messages)
        ids.append(message.id);
    return ids;
}

/// VmRSS of a process, in KiB (Linux); 0 where unknown.
qint64 residentKiB(qint64 pid)
{
    QFile status(u"/proc/%1/status"_s.arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    }
    return 0;
}

bool strictlyIncreasing(const QList<qint64> &ids)
{
    return std::adjacent_find(ids.cbegin(), ids.cend(), std::greater_equal<>()) == ids.cend();
}

/// The messages of every receive_message the client got, in arrival order.
QList<Message> received(TestClient &client)
{
    QList<Message> messages;
    while (const auto frame = client.takeFirst<ReceiveMessage>())
        messages.append(frame->message);
    return messages;
}

/// One of a crowd: signs in with a token, joins its room, counts what it
/// receives; a churner reconnects by itself whenever it is cut off.
struct CrowdMember
{
    QWebSocket socket;
    QString email;
    QString room;
    bool churner = false;
    bool joined = false;
    int connects = 0;
    int received = 0; // receive_message frames
    int errors = 0;
    QSet<QString> acknowledged; // its own client ids, echoed
};

QString crowdToken(const QString &email)
{
    return u"crowd-token-"_s + email;
}

void send(QWebSocket &socket, const Codec::ClientFrame &frame)
{
    socket.sendTextMessage(QString::fromUtf8(Codec::encodeClientFrame(frame)));
}

void wire(CrowdMember &member, const QUrl &url, const bool &churning)
{
    QObject::connect(&member.socket, &QWebSocket::connected, &member.socket, [&member] {
        ++member.connects;
        Hello hello;
        hello.user = User{member.email.section(u'@', 0, 0), member.email};
        hello.token = crowdToken(member.email);
        send(member.socket, hello);
    });
    QObject::connect(&member.socket, &QWebSocket::textMessageReceived, &member.socket,
                     [&member](const QString &text) {
                         const auto decoded = Codec::decodeServerFrame(text.toUtf8());
                         if (!decoded.isOk())
                             return;
                         const auto &frame = decoded.value();
                         if (std::holds_alternative<Welcome>(frame)) {
                             send(member.socket, JoinRoom{member.room});
                         } else if (const auto *history = std::get_if<History>(&frame)) {
                             member.joined = member.joined || history->room == member.room;
                         } else if (const auto *message = std::get_if<ReceiveMessage>(&frame)) {
                             ++member.received;
                             if (message->message.from.email == member.email)
                                 member.acknowledged.insert(message->message.clientId);
                         } else if (std::holds_alternative<Error>(frame)) {
                             ++member.errors;
                         }
                     });
    QObject::connect(&member.socket, &QWebSocket::disconnected, &member.socket, [&member, url, &churning] {
        member.joined = false;
        if (member.churner && churning) // back after a random moment, as after a network hiccup
            QTimer::singleShot(QRandomGenerator::global()->bounded(200), &member.socket,
                               [&member, url] { member.socket.open(url); });
    });
    member.socket.open(url);
}

} // namespace

QList<qint64> TestFaults::modelIds(const ChatClient &client, const ConversationKey &key)
{
    QList<qint64> ids;
    if (const MessageListModel *messages = client.messages(key)) {
        for (int row = 0; row < messages->rowCount(); ++row)
            ids.append(messages->messageAt(row).id);
    }
    return ids;
}

void TestFaults::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestFaults::cleanup()
{
    m_dir.reset();
}

void TestFaults::networkDropWhileBothSidesSend_data()
{
    QTest::addColumn<bool>("blackhole");
    QTest::newRow("reset") << false;
    QTest::newRow("blackhole 5 s") << true;
}

void TestFaults::networkDropWhileBothSidesSend()
{
    QFETCH(bool, blackhole);
    const auto server = natterd();
    QVERIFY(server->start({u"--ping-interval"_s, u"1"_s, u"--idle-timeout"_s, u"3"_s}));
    FaultProxy proxy;
    QVERIFY(proxy.listen(server->port()));

    // Alice is the desktop app behind the bad link; Bob is on the server's own LAN.
    const auto general = ConversationKey::room(u"general"_s);
    const auto alice = appClient(u"Alice"_s, u"alice@example.org"_s);
    alice->openRoom(u"general"_s);
    alice->connectToServer(proxy.url());
    QTRY_COMPARE_WITH_TIMEOUT(alice->state(), ChatClient::State::Online, 10000);
    TestClient bob;
    QVERIFY(bob.open(server->port()) && bob.hello(u"Bob"_s, u"bob@example.org"_s) && bob.join(u"general"_s));
    QTRY_COMPARE(alice->members(u"general"_s).size(), 2);
    bob.frames.clear();

    // Both send one message every 20 ms; halfway through, the link breaks.
    constexpr int Each = 100;
    int sent = 0;
    QTimer sender;
    sender.setInterval(20ms);
    connect(&sender, &QTimer::timeout, this, [&] {
        alice->sendMessage(general, u"from Alice %1"_s.arg(sent));
        bob.send(SendMessage{u"general"_s, {}, u"from Bob %1"_s.arg(sent), u"bob-%1"_s.arg(sent)});
        if (++sent == Each)
            sender.stop();
    });
    sender.start();
    QTRY_VERIFY(sent >= Each / 2);
    QSignalSpy dropped(alice.get(), &ChatClient::stateChanged);
    if (blackhole) {
        proxy.blackhole();
        // Alice's keep-alive notices; the server's idle timeout drops her.
        QTRY_VERIFY_WITH_TIMEOUT(bob.count<UserLeft>() == 1, 10000);
        QVERIFY(alice->state() != ChatClient::State::Online);
        QTest::qWait(5000 - 3000); // the rest of a five-second outage, while Alice's retries hang
        proxy.pass();
    } else {
        proxy.resetAll();
    }
    QTRY_VERIFY_WITH_TIMEOUT(sent == Each, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(alice->state() == ChatClient::State::Online && alice->allOutgoing().isEmpty(),
                             20000);
    QVERIFY(!dropped.isEmpty());

    // Presence: Bob saw Alice leave and come back.
    QTRY_COMPARE_WITH_TIMEOUT(bob.count<UserJoined>(), 1, 10000);
    QCOMPARE(bob.takeFirst<UserLeft>()->user.email, u"alice@example.org"_s);
    QCOMPARE(bob.takeFirst<UserJoined>()->user.email, u"alice@example.org"_s);

    // The server holds each message once; Bob and Alice each saw all of them, in id order.
    TestClient check;
    QVERIFY(check.open(server->port()) && check.hello(u"Check"_s, u"check@example.org"_s) &&
            check.join(u"general"_s));
    QTRY_VERIFY_WITH_TIMEOUT(bob.count<ReceiveMessage>() == 2 * Each, 10000);
    const QList<Message> stored = check.readConversation(u"general"_s);
    QCOMPARE(stored.size(), 2 * Each);
    QSet<QString> texts;
    for (const Message &message : stored)
        texts.insert(message.text);
    QCOMPARE(texts.size(), 2 * Each); // no duplicates
    const QList<qint64> ids = idsOf(stored);
    QVERIFY(strictlyIncreasing(ids));
    QCOMPARE(idsOf(received(bob)), ids);
    QTRY_COMPARE_WITH_TIMEOUT(modelIds(*alice, general), ids, 10000);
}

void TestFaults::halfOpenPeerIsDroppedAndItsMessagesHeld()
{
    const auto server = natterd();
    QVERIFY(server->start({u"--ping-interval"_s, u"1"_s, u"--idle-timeout"_s, u"2"_s}));
    FaultProxy proxy;
    QVERIFY(proxy.listen(server->port()));
    TestClient carol;
    QVERIFY(carol.open(proxy.port()) && carol.hello(u"Carol"_s, u"carol@example.org"_s));
    TestClient bob;
    QVERIFY(bob.open(server->port()) && bob.hello(u"Bob"_s, u"bob@example.org"_s));
    bob.send(WatchPresence{{u"carol@example.org"_s}});
    const auto before = bob.waitFor<Presence>();
    QVERIFY(before && before->online);

    // Carol's laptop is gone from the network without a word: no FIN, no RST.
    proxy.blackhole();
    const auto after = bob.waitFor<Presence>(10000);
    QVERIFY(after);
    QVERIFY(!after->online);
    QCOMPARE(after->user.email, u"carol@example.org"_s);

    // What Bob says now is held for her, and reaches her next connection.
    bob.send(SendMessage{{}, u"carol@example.org"_s, u"call me when you're back"_s, u"b-1"_s});
    const auto sentCopy = bob.waitFor<ReceiveMessage>();
    QVERIFY(sentCopy);
    proxy.pass();
    TestClient carolAgain;
    QVERIFY(carolAgain.open(server->port()) && carolAgain.hello(u"Carol"_s, u"carol@example.org"_s));
    const auto held = carolAgain.waitFor<ReceiveMessage>();
    QVERIFY(held);
    QCOMPARE(held->message.id, sentCopy->message.id);
    QCOMPARE(held->message.text, u"call me when you're back"_s);
    QCOMPARE(carol.count<ReceiveMessage>(), 0); // the dead connection got nothing
}

void TestFaults::slowConsumerIsDroppedAndResumesWithoutGap_data()
{
    QTest::addColumn<bool>("slowReader");
    QTest::newRow("every reader healthy (baseline)") << false;
    QTest::newRow("a reader at 10 KiB/s") << true;
}

void TestFaults::slowConsumerIsDroppedAndResumesWithoutGap()
{
    QFETCH(bool, slowReader);
    const auto server = natterd();
    // A quarter-MiB queue so that the test moves a few MB, not tens.
    QVERIFY(server->start(
        {u"--max-queue"_s, u"262144"_s, u"--rate-limit"_s, u"0"_s, u"--max-input-rate"_s, u"0"_s}));
    const qint64 rssBefore = residentKiB(server->pid());
    FaultProxy proxy;
    QVERIFY(proxy.listen(server->port()));
    proxy.setThrottle(slowReader ? 10 * 1024 : 0);

    const auto busy = ConversationKey::room(u"busy"_s);
    const auto carol = appClient(u"Carol"_s, u"carol@example.org"_s);
    carol->setTimeouts(5s, 60s); // she reads slowly, she does not go away
    carol->openRoom(u"busy"_s);
    carol->connectToServer(proxy.url());
    QTRY_COMPARE_WITH_TIMEOUT(carol->state(), ChatClient::State::Online, 10000);
    TestClient bob;
    TestClient dave;
    QVERIFY(bob.open(server->port()) && bob.hello(u"Bob"_s, u"bob@example.org"_s) && bob.join(u"busy"_s));
    QVERIFY(dave.open(server->port()) && dave.hello(u"Dave"_s, u"dave@example.org"_s) &&
            dave.join(u"busy"_s));
    QTRY_COMPARE(carol->members(u"busy"_s).size(), 3);
    dave.frames.clear();
    proxy.setThrottle(0); // her next connection is a good one

    // 2,000 messages of 400 characters in two seconds: 1 MB, four times her
    // queue, that Dave (a healthy reader) takes in his stride.
    constexpr int Count = 2000;
    const QString filler(400, u'x');
    int sent = 0;
    QTimer sender;
    sender.setInterval(50ms);
    connect(&sender, &QTimer::timeout, this, [&] {
        for (int i = 0; i < 50 && sent < Count; ++i, ++sent)
            bob.send(SendMessage{u"busy"_s, {}, u"%1 %2"_s.arg(sent).arg(filler), u"b-%1"_s.arg(sent)});
        if (sent == Count)
            sender.stop();
    });
    QHash<qint64, qint64> arrivals; // when Dave's event loop saw each message
    connect(&dave.socket(), &QWebSocket::textMessageReceived, this, [&arrivals](const QString &text) {
        const auto frame = Codec::decodeServerFrame(text.toUtf8());
        if (const auto *message = frame.isOk() ? std::get_if<ReceiveMessage>(&frame.value()) : nullptr)
            arrivals.insert(message->message.id, QDateTime::currentMSecsSinceEpoch());
    });
    sender.start();
    QTRY_COMPARE_WITH_TIMEOUT(dave.count<ReceiveMessage>(), Count, 20000);
    const QList<Message> daveGot = received(dave);
    QList<qint64> latencies; // from the server's timestamp to Dave's event loop
    for (const Message &message : daveGot)
        latencies.append(arrivals.value(message.id) - message.timestamp.toMSecsSinceEpoch());
    std::sort(latencies.begin(), latencies.end());
    if (slowReader)
        QTRY_VERIFY_WITH_TIMEOUT(proxy.closedByServer() >= 1, 20000); // dropped at the queue cap
    else
        QCOMPARE(proxy.closedByServer(), 0);
    const qint64 rssAfter = residentKiB(server->pid());
    qInfo("bystander latency p50 %lld ms, p99 %lld ms; natterd RSS %lld -> %lld KiB", latencies.at(Count / 2),
          latencies.at(Count * 99 / 100), rssBefore, rssAfter);
    // Against the same load without the slow reader (an ASan build's RSS
    // grows with its quarantine either way): what it could not send is not kept.
    if (!slowReader)
        m_baselineGrowthKiB = rssAfter - rssBefore;
    else
        QVERIFY2(rssAfter - rssBefore < m_baselineGrowthKiB + 16 * 1024,
                 "the server kept what it could not send");

    // Carol comes back through a good link and reads what she missed: no gap, no duplicate.
    QTRY_VERIFY_WITH_TIMEOUT(carol->state() == ChatClient::State::Online, 20000);
    QTRY_COMPARE_WITH_TIMEOUT(modelIds(*carol, busy).size(), Count, 20000);
    QCOMPARE(modelIds(*carol, busy), idsOf(daveGot));
}

void TestFaults::diskFullRefusesSendsAndRecovers()
{
    TestServer server;
    QVERIFY(server.start());
    TestClient bob;
    TestClient carol;
    QVERIFY(bob.open(server.port()) && bob.hello(u"Bob"_s, u"bob@example.org"_s) && bob.join(u"general"_s));
    QVERIFY(carol.open(server.port()) && carol.hello(u"Carol"_s, u"carol@example.org"_s) &&
            carol.join(u"general"_s));
    bob.frames.clear();
    carol.frames.clear();

    // The disk fills up a little way from here (SQLite's max_page_count, as ENOSPC would).
    QVERIFY(server.store()->setMaximumSize(QFileInfo(server.databasePath()).size() + 256 * 1024));
    const QString text(2000, u'x');
    QSet<qint64> acknowledged;
    std::optional<Error> refused;
    int sent = 0;
    for (; sent < 1000 && !refused; ++sent) {
        bob.send(SendMessage{u"general"_s, {}, text, u"b-%1"_s.arg(sent)});
        QVERIFY(QTest::qWaitFor([&] { return bob.count<ReceiveMessage>() + bob.count<Error>() > 0; }, 5000));
        if (const auto echo = bob.takeFirst<ReceiveMessage>())
            acknowledged.insert(echo->message.id);
        refused = bob.takeFirst<Error>();
    }
    QVERIFY2(refused, "the disk never filled");
    QCOMPARE(refused->code, ErrorCode::StorageFull);
    QCOMPARE(refused->clientId, u"b-%1"_s.arg(sent - 1));
    QVERIFY(acknowledged.size() > 10);
    QVERIFY(bob.isConnected());

    // Still serving: history, presence, typing; Carol saw exactly what was acknowledged.
    const QList<Message> stored = carol.readConversation(u"general"_s);
    const QList<qint64> storedIds = idsOf(stored);
    QCOMPARE(QSet<qint64>(storedIds.cbegin(), storedIds.cend()), acknowledged);
    carol.send(WatchPresence{{u"bob@example.org"_s}});
    const auto presence = carol.waitFor<Presence>();
    QVERIFY(presence && presence->online);
    bob.send(TypingRequest{u"general"_s, true, {}});
    QVERIFY(carol.waitFor<TypingNotice>());

    // Room again (the operator freed space): the same message goes through, once, without a restart.
    QVERIFY(server.store()->setMaximumSize(0));
    carol.frames.clear();
    bob.send(SendMessage{u"general"_s, {}, text, refused->clientId});
    const auto stored2 = bob.waitFor<ReceiveMessage>();
    QVERIFY(stored2);
    QCOMPARE(stored2->message.clientId, refused->clientId);
    const auto pushed = carol.waitFor<ReceiveMessage>();
    QVERIFY(pushed);
    QCOMPARE(pushed->message.id, stored2->message.id);
    QCOMPARE(carol.readConversation(u"general"_s).size(), acknowledged.size() + 1);
}

void TestFaults::lockedDatabaseRefusesSendsAndRecovers()
{
    TestServer server;
    QVERIFY(server.start());
    TestClient bob;
    TestClient carol;
    QVERIFY(bob.open(server.port()) && bob.hello(u"Bob"_s, u"bob@example.org"_s) && bob.join(u"general"_s));
    QVERIFY(carol.open(server.port()) && carol.hello(u"Carol"_s, u"carol@example.org"_s) &&
            carol.join(u"general"_s));
    bob.send(SendMessage{u"general"_s, {}, u"before the lock"_s, u"b-1"_s});
    QVERIFY(carol.waitFor<ReceiveMessage>());
    bob.frames.clear();

    {
        // Someone opens the file with sqlite3 and starts a write transaction.
        QSqlDatabase other = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"locker"_s);
        other.setDatabaseName(server.databasePath());
        QVERIFY(other.open());
        QSqlQuery lock(other);
        QVERIFY(lock.exec(u"BEGIN IMMEDIATE"_s));

        bob.send(SendMessage{u"general"_s, {}, u"while locked"_s, u"b-2"_s});
        const auto refused = bob.waitFor<Error>();
        QVERIFY(refused);
        QCOMPARE(refused->code, ErrorCode::InternalError); // "try again"
        QCOMPARE(refused->clientId, u"b-2"_s);
        QCOMPARE(bob.count<ReceiveMessage>(), 0);
        // Reading goes on (WAL readers do not wait for a writer).
        const QList<Message> history = carol.readConversation(u"general"_s);
        QCOMPARE(history.size(), 1);
        QVERIFY(lock.exec(u"ROLLBACK"_s));
        lock = QSqlQuery();
        other.close();
    }
    QSqlDatabase::removeDatabase(u"locker"_s);

    bob.send(SendMessage{u"general"_s, {}, u"while locked"_s, u"b-2"_s});
    const auto stored = bob.waitFor<ReceiveMessage>();
    QVERIFY(stored);
    QCOMPARE(stored->message.clientId, u"b-2"_s);
    QCOMPARE(carol.readConversation(u"general"_s).size(), 2);
}

void TestFaults::readOnlyDiskRefusesSendsAndRecovers()
{
    // The volume under the database turns read-only while natterd runs (what
    // ext4 does after an I/O error), then writable again once repaired.
    const QString flag = m_dir->filePath(u"read-only-now"_s);
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(u"LD_PRELOAD"_s, QStringLiteral(READONLY_DISK_PATH));
    environment.insert(u"NATTER_READONLY_DIR"_s, QFileInfo(dbPath()).absolutePath());
    environment.insert(u"NATTER_READONLY_FLAG"_s, flag);
    environment.insert(u"ASAN_OPTIONS"_s,
                       environment.value(u"ASAN_OPTIONS"_s) + u":verify_asan_link_order=0"_s);
    const auto server = natterd();
    server->setEnvironment(environment);
    QVERIFY(server->start());

    TestClient bob;
    TestClient carol;
    QVERIFY(bob.open(server->port()) && bob.hello(u"Bob"_s, u"bob@example.org"_s) && bob.join(u"general"_s));
    QVERIFY(carol.open(server->port()) && carol.hello(u"Carol"_s, u"carol@example.org"_s) &&
            carol.join(u"general"_s));
    bob.send(SendMessage{u"general"_s, {}, u"before"_s, u"b-1"_s});
    QVERIFY(carol.waitFor<ReceiveMessage>());
    bob.frames.clear();
    carol.frames.clear();

    QFile readOnly(flag);
    QVERIFY(readOnly.open(QIODevice::WriteOnly));
    readOnly.close();
    for (int i = 2; i <= 4; ++i) {
        bob.send(SendMessage{u"general"_s, {}, u"while read-only"_s, u"b-%1"_s.arg(i)});
        const auto refused = bob.waitFor<Error>();
        QVERIFY(refused);
        QCOMPARE(refused->code, ErrorCode::InternalError); // "try again"
        QCOMPARE(refused->clientId, u"b-%1"_s.arg(i));
    }
    QCOMPARE(bob.count<ReceiveMessage>(), 0);
    // Everything that only reads goes on: history, presence, typing, and
    // someone new signing in and joining.
    QCOMPARE(carol.readConversation(u"general"_s).size(), 1);
    carol.send(WatchPresence{{u"bob@example.org"_s}});
    const auto presence = carol.waitFor<Presence>();
    QVERIFY(presence && presence->online);
    bob.send(TypingRequest{u"general"_s, true, {}});
    QVERIFY(carol.waitFor<TypingNotice>());
    QCOMPARE(carol.count<ReceiveMessage>(), 0);
    QVERIFY(server->isRunning());

    QVERIFY(readOnly.remove()); // repaired: the next attempt goes through, once, without a restart
    for (int i = 2; i <= 4; ++i) {
        bob.send(SendMessage{u"general"_s, {}, u"while read-only"_s, u"b-%1"_s.arg(i)});
        const auto stored = bob.waitFor<ReceiveMessage>();
        QVERIFY(stored);
        QCOMPARE(stored->message.clientId, u"b-%1"_s.arg(i));
    }
    QTRY_COMPARE(carol.count<ReceiveMessage>(), 3);
    QCOMPARE(carol.readConversation(u"general"_s).size(), 4);
    QCOMPARE(server->terminate(), 0);
    QCOMPARE(sqliteIntegrity(dbPath()), u"ok"_s);
    QVERIFY2(server->output().contains("could not store"), server->output().constData());
}

void TestFaults::damagedDatabaseAtStartIsLeftAlone()
{
    const auto server = natterd();
    QVERIFY(server->start());
    {
        TestClient bob;
        QVERIFY(bob.open(server->port()) && bob.hello(u"Bob"_s, u"bob@example.org"_s) &&
                bob.join(u"general"_s));
        for (int i = 0; i < 200; ++i)
            bob.send(SendMessage{
                u"general"_s, {}, u"message %1 %2"_s.arg(i).arg(QString(200, u'x')), u"b-%1"_s.arg(i)});
        QTRY_COMPARE(bob.count<ReceiveMessage>(), 200);
    }
    QCOMPARE(server->terminate(), 0); // checkpointed: everything is in the main file

    // A disk error garbles the top page of the messages table (the search
    // index's pages hold blobs whose bytes only the index itself checks).
    qint64 pageSize = 0;
    qint64 rootPage = 0;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"peek"_s);
        db.setDatabaseName(dbPath());
        QVERIFY(db.open());
        QSqlQuery query(db);
        QVERIFY(query.exec(u"PRAGMA page_size"_s) && query.next());
        pageSize = query.value(0).toLongLong();
        QVERIFY(query.exec(u"SELECT rootpage FROM sqlite_schema WHERE name = 'messages'"_s) && query.next());
        rootPage = query.value(0).toLongLong();
    }
    QSqlDatabase::removeDatabase(u"peek"_s);
    QFile file(dbPath());
    QVERIFY(file.open(QIODevice::ReadWrite));
    QVERIFY(file.size() > 8 * 4096);
    QVERIFY(rootPage > 1);
    QVERIFY(file.seek((rootPage - 1) * pageSize)); // its header and cell pointers
    file.write(QByteArray(1000, '\x5a'));
    file.close();
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray damaged = file.readAll();
    file.close();

    QCOMPARE(server->start(), quint16(0));
    QCOMPARE(server->waitForExit(), 1);
    const QByteArray output = server->output();
    QVERIFY2(output.contains("is damaged") && output.contains(".recover"), output.constData());
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), damaged); // nothing written
    QVERIFY(!QFileInfo::exists(dbPath() + u"-wal"_s) || QFileInfo(dbPath() + u"-wal"_s).size() == 0);
}

void TestFaults::clockSteppedBackAndForward()
{
    // libfaketime moves natterd's wall clock by the offset in a file, read
    // again on every call, and leaves its monotonic clock alone: what an NTP
    // step or an administrator's `date -s` does to a running server.
    const QStringList found = QDir(u"/usr/lib"_s).entryList({u"*-linux-gnu"_s}, QDir::Dirs);
    QString library;
    for (const QString &triplet : found) {
        const QString candidate = u"/usr/lib/%1/faketime/libfaketime.so.1"_s.arg(triplet);
        if (QFileInfo::exists(candidate))
            library = candidate;
    }
    QVERIFY2(!library.isEmpty(), "libfaketime is missing: apt-get install faketime (./dev.sh does)");
    QFile offset(m_dir->filePath(u"offset"_s));
    const auto stepTo = [&offset](const QByteArray &spec) {
        return offset.open(QIODevice::WriteOnly | QIODevice::Truncate) && offset.write(spec) == spec.size() &&
               (offset.close(), true);
    };
    QVERIFY(stepTo("+0"));
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(u"LD_PRELOAD"_s, library);
    environment.insert(u"FAKETIME_TIMESTAMP_FILE"_s, offset.fileName());
    environment.insert(u"FAKETIME_NO_CACHE"_s, u"1"_s);
    environment.insert(u"FAKETIME_DONT_FAKE_MONOTONIC"_s, u"1"_s);
    // An ASan natterd wants its runtime first among the libraries; libfaketime
    // before it is fine (it only forwards the clock calls).
    environment.insert(u"ASAN_OPTIONS"_s,
                       environment.value(u"ASAN_OPTIONS"_s) + u":verify_asan_link_order=0"_s);
    const auto server = natterd();
    server->setEnvironment(environment);
    // Tight limits, so that a limiter or a timer on the wall clock would show.
    QVERIFY(server->start({u"--rate-limit"_s, u"5"_s, u"--rate-burst"_s, u"10"_s, u"--ping-interval"_s,
                           u"1"_s, u"--idle-timeout"_s, u"3"_s}));

    TestClient bob;
    TestClient carol;
    QVERIFY(bob.open(server->port()) && bob.hello(u"Bob"_s, u"bob@example.org"_s) && bob.join(u"general"_s));
    QVERIFY(carol.open(server->port()) && carol.hello(u"Carol"_s, u"carol@example.org"_s) &&
            carol.join(u"general"_s));
    carol.frames.clear();
    int sent = 0;
    const auto say = [&](int count) {
        for (int i = 0; i < count; ++i, ++sent)
            bob.send(SendMessage{u"general"_s, {}, u"message %1"_s.arg(sent), u"b-%1"_s.arg(sent)});
        return QTest::qWaitFor(
                   [&] { return carol.count<ReceiveMessage>() == sent || bob.count<Error>() > 0; }, 5000) &&
               bob.count<Error>() == 0;
    };
    QVERIFY(say(5));
    const qint64 realNow = QDateTime::currentMSecsSinceEpoch();

    QVERIFY(stepTo("-3600")); // an hour back
    QVERIFY(say(3));
    QVERIFY(stepTo("+3600")); // two hours on: idle timers and rate limits must not jump
    QVERIFY(say(2));
    // Longer than the idle timeout of the monotonic clock, in a server whose
    // wall clock said two hours passed: nobody is dropped, nothing refused.
    QTest::qWait(1500);
    QVERIFY(say(2));
    QVERIFY(bob.isConnected() && carol.isConnected());
    QCOMPARE(bob.count<Error>(), 0);

    // Ids and order as sent; time never runs backwards in a conversation.
    const QList<Message> got = received(carol);
    QCOMPARE(got.size(), sent);
    for (int i = 0; i < got.size(); ++i)
        QCOMPARE(got.at(i).text, u"message %1"_s.arg(i));
    QVERIFY(strictlyIncreasing(idsOf(got)));
    for (int i = 1; i < got.size(); ++i)
        QVERIFY(got.at(i).timestamp >= got.at(i - 1).timestamp);
    QVERIFY(got.constLast().timestamp.toMSecsSinceEpoch() > realNow + 3000 * 1000); // the step forward shows
    const QList<Message> history = carol.readConversation(u"general"_s);
    QCOMPARE(idsOf(history), idsOf(got));
}

void TestFaults::killedFiveTimesMidBurstLosesNothingAcknowledged()
{
    // Bob writes to a room and to two people at once: Carol, online, and
    // Dave, who never connects (his messages are held). natterd is killed
    // (SIGKILL: no shutdown, no final commit) in the middle of each burst.
    const auto server = natterd();
    QSet<QString> acknowledged; // client ids Bob got his copy of
    constexpr int Rounds = 5;
    constexpr int Burst = 900; // per round: 300 each to the room, Carol and Dave
    int late = 0;              // rounds whose burst was all acknowledged before the kill
    for (int round = 0; round < Rounds; ++round) {
        QVERIFY(server->start({u"--rate-limit"_s, u"0"_s, u"--max-input-rate"_s, u"0"_s}));
        TestClient bob;
        TestClient carol;
        QVERIFY(bob.open(server->port()) && bob.hello(u"Bob"_s, u"bob@example.org"_s) &&
                bob.join(u"general"_s));
        QVERIFY(carol.open(server->port()) && carol.hello(u"Carol"_s, u"carol@example.org"_s));
        for (int i = 0; i < Burst; ++i) {
            const QString id = u"r%1.%2-%3"_s.arg(round).arg(late).arg(i);
            switch (i % 3) {
            case 0:
                bob.send(SendMessage{u"general"_s, {}, id, id});
                break;
            case 1:
                bob.send(SendMessage{{}, u"carol@example.org"_s, id, id});
                break;
            default:
                bob.send(SendMessage{{}, u"dave@example.org"_s, id, id});
            }
        }
        QVERIFY(QTest::qWaitFor([&bob] { return bob.count<ReceiveMessage>() >= Burst / 5; }, 20000));
        server->kill();
        QVERIFY(bob.waitForDisconnected());
        const int before = int(acknowledged.size());
        while (const auto echo = bob.takeFirst<ReceiveMessage>())
            acknowledged.insert(echo->message.clientId);
        // A fast pass can store the whole burst in one commit before the
        // kill lands: such a round put nothing at stake, so it is run again
        // (with new client ids), a bounded number of times.
        if (acknowledged.size() - before == Burst) {
            QVERIFY2(++late <= Rounds, "the kill came after the whole burst, round after round");
            --round;
        }
    }

    QVERIFY(server->start());
    const auto readAll = [&](const QString &name, const QString &email, const QString &room,
                             const QString &with) {
        TestClient reader;
        if (!reader.open(server->port()) || !reader.hello(name, email) ||
            (!room.isEmpty() && !reader.join(room)))
            return QList<Message>();
        return reader.readConversation(room, with);
    };
    const QList<Message> all = readAll(u"Bob"_s, u"bob@example.org"_s, u"general"_s, {}) +
                               readAll(u"Bob"_s, u"bob@example.org"_s, {}, u"carol@example.org"_s) +
                               readAll(u"Bob"_s, u"bob@example.org"_s, {}, u"dave@example.org"_s);
    QHash<QString, int> copies;
    for (const Message &message : all)
        ++copies[message.clientId];
    for (const QString &clientId : std::as_const(acknowledged))
        QVERIFY2(copies.value(clientId) == 1, qPrintable(clientId));
    for (auto it = copies.cbegin(); it != copies.cend(); ++it)
        QVERIFY2(it.value() == 1, qPrintable(it.key())); // nothing twice, acknowledged or not

    // Dave comes at last: every message held for him arrives, once.
    TestClient dave;
    QVERIFY(dave.open(server->port()) && dave.hello(u"Dave"_s, u"dave@example.org"_s));
    const int heldForDave = int(std::count_if(
        all.cbegin(), all.cend(), [](const Message &m) { return m.to == u"dave@example.org"_s; }));
    QTRY_COMPARE_WITH_TIMEOUT(dave.count<ReceiveMessage>(), heldForDave, 10000);
    QCOMPARE(server->terminate(), 0);

    QCOMPARE(sqliteIntegrity(dbPath()), u"ok"_s);
    qInfo("%lld acknowledged across %d kills, %lld stored, none lost or doubled", qint64(acknowledged.size()),
          Rounds + late, qint64(all.size()));
}

void TestFaults::killedMidUploadShowsNothingAndResumes()
{
    QByteArray data(6 * 1024 * 1024, Qt::Uninitialized);
    for (qsizetype i = 0; i < data.size(); ++i)
        data[i] = char(i * 7919 % 251);
    const UploadBegin begin = TestClient::announce(data, u"up-1"_s, u"build.tar.gz"_s, u"general"_s);
    const QString vault = dbPath() + u".files"_s;
    const auto keptFiles = [&vault] {
        QStringList kept;
        for (const QFileInfo &folder : QDir(vault).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot)) {
            if (folder.fileName() != u"partial"_s)
                kept += QDir(folder.filePath()).entryList(QDir::Files);
        }
        return kept;
    };

    const auto server = natterd();
    QVERIFY(server->start({u"--max-input-rate"_s, u"0"_s}));
    {
        TestClient alice;
        QVERIFY(alice.signIn(server->port(), u"Alice"_s, u"alice@example.org"_s, {u"general"_s}));
        QVERIFY(!alice.upload(data, begin, 4 * 1024 * 1024).error);
        // Killed with part of it on the server's disk.
        QTRY_VERIFY(QDir(vault + u"/partial"_s).entryInfoList(QDir::Files).value(0).size() >= 1024 * 1024);
        server->kill();
        QVERIFY(alice.waitForDisconnected());
    }

    QVERIFY(server->start({u"--max-input-rate"_s, u"0"_s}));
    TestClient bob;
    QVERIFY(bob.signIn(server->port(), u"Bob"_s, u"bob@example.org"_s, {u"general"_s}));
    QVERIFY(bob.readConversation(u"general"_s).isEmpty()); // nothing half-uploaded is visible
    QVERIFY(keptFiles().isEmpty());

    TestClient alice;
    QVERIFY(alice.signIn(server->port(), u"Alice"_s, u"alice@example.org"_s, {u"general"_s}));
    const TestClient::Upload resumed = alice.upload(data, begin);
    QVERIFY2(resumed.complete, resumed.error ? qPrintable(resumed.error->message) : "no answer");
    QVERIFY2(resumed.offset >= 1024 * 1024 && resumed.offset <= 4 * 1024 * 1024,
             qPrintable(QString::number(resumed.offset)));
    const auto pushed = bob.waitFor<ReceiveMessage>();
    QVERIFY(pushed);
    QCOMPARE(pushed->message.attachment.sha256, begin.sha256);
    QCOMPARE(bob.download(resumed.complete->fileId), data);
    QCOMPARE(keptFiles().size(), 1);
    QVERIFY(QDir(vault + u"/partial"_s).entryList(QDir::Files).isEmpty());
    QCOMPARE(server->terminate(), 0);
    QCOMPARE(sqliteIntegrity(dbPath()), u"ok"_s);
    qInfo("resumed at %lld of %lld bytes after kill -9", resumed.offset, qint64(data.size()));
}

void TestFaults::aCrowdArrivesAtOnceAndAThirdKeepsReconnecting()
{
    constexpr int Crowd = 2000;
    constexpr int Rooms = 20;
    rlimit files{};
    QVERIFY(::getrlimit(RLIMIT_NOFILE, &files) == 0);
    QVERIFY2(files.rlim_max >= rlim_t(Crowd + 200), "the hard descriptor limit is too low for the crowd");
    files.rlim_cur = files.rlim_max;
    QVERIFY(::setrlimit(RLIMIT_NOFILE, &files) == 0);

    QStringList emails;
    for (int i = 0; i < Crowd; ++i)
        emails.append(u"user%1@example.org"_s.arg(i));
    {
        // Accounts with tokens, as returning users have: the crowd costs handshakes, not 2,000 Argon2 hashes.
        SqlMessageStore store(dbPath());
        QVERIFY(store.open());
        for (const QString &email : std::as_const(emails)) {
            QVERIFY(
                store.accounts()->createAccount(Account{email, email.section(u'@', 0, 0), {}, false, {}}));
            QVERIFY(
                store.accounts()->addToken(email, PasswordHasher::tokenHash(crowdToken(email)), u"crowd"_s));
        }
    }
    const auto server = natterd();
    // Everyone comes from 127.0.0.1 here: lift the per-address limits that a real crowd spreads over many.
    QVERIFY(server->start({u"--max-connections-per-address"_s, u"5000"_s, u"--max-input-rate"_s, u"0"_s}));

    bool churning = true;
    std::vector<std::unique_ptr<CrowdMember>> crowd;
    QElapsedTimer arrival;
    arrival.start();
    for (int i = 0; i < Crowd; ++i) {
        auto member = std::make_unique<CrowdMember>();
        member->email = emails.at(i);
        member->room = u"room%1"_s.arg(i % Rooms);
        member->churner = i % 3 == 0;
        wire(*member, server->url(), churning);
        crowd.push_back(std::move(member));
    }
    const qint64 openedMs = arrival.elapsed();
    const auto joinedCount = [&crowd] {
        return int(std::count_if(crowd.cbegin(), crowd.cend(), [](const auto &m) { return m->joined; }));
    };
    QTRY_COMPARE_WITH_TIMEOUT(joinedCount(), Crowd, 60000);
    const qint64 allJoinedMs = arrival.elapsed();

    // For a minute, the churners drop at random (about ten a second) and come
    // back, while the others talk: one message every 50 ms from one of them.
    QHash<QString, int> sentPerRoom;
    int sent = 0;
    int cuts = 0;
    QTimer chaos;
    chaos.setInterval(50ms);
    QObject::connect(&chaos, &QTimer::timeout, &chaos, [&] {
        auto *random = QRandomGenerator::global();
        CrowdMember &victim = *crowd.at(std::size_t(random->bounded(Crowd / 3)) * 3);
        if (victim.socket.state() == QAbstractSocket::ConnectedState && random->bounded(2) == 0) {
            victim.socket.abort();
            ++cuts;
        }
        const std::size_t speaker = std::size_t(random->bounded(Crowd));
        CrowdMember &talker = *crowd.at(speaker % 3 == 0 ? speaker + 1 : speaker);
        send(talker.socket, SendMessage{talker.room, {}, u"message %1"_s.arg(sent), u"m-%1"_s.arg(sent)});
        ++sent;
        ++sentPerRoom[talker.room];
    });
    chaos.start();
    QTest::qWait(60000); // the minute of churn itself, not a wait for something
    chaos.stop();
    churning = false; // the last ones cut off come back below
    for (const auto &member : crowd) {
        if (member->churner && member->socket.state() == QAbstractSocket::UnconnectedState)
            member->socket.open(server->url());
    }

    // Everyone ends joined; every message was acknowledged to its sender and
    // reached every member of its room who never left.
    QTRY_COMPARE_WITH_TIMEOUT(joinedCount(), Crowd, 60000);
    QVERIFY(server->isRunning());
    QTRY_COMPARE_WITH_TIMEOUT(([&crowd] {
                                  int n = 0;
                                  for (const auto &member : crowd)
                                      n += int(member->acknowledged.size());
                                  return n;
                              }()),
                              sent, 20000);
    for (const auto &member : crowd) {
        QCOMPARE(member->errors, 0);
        if (!member->churner)
            QTRY_COMPARE_WITH_TIMEOUT(member->received, sentPerRoom.value(member->room), 10000);
    }
    int reconnects = 0;
    for (const auto &member : crowd)
        reconnects += member->connects - 1;
    qInfo("%d clients opened in %lld ms, all joined after %lld ms; %d cut off, %d reconnects, %d messages, "
          "natterd RSS %lld KiB",
          Crowd, openedMs, allJoinedMs, cuts, reconnects, sent, residentKiB(server->pid()));
    QVERIFY(reconnects >= cuts);
    QCOMPARE(server->terminate(), 0);
}

QTEST_MAIN(TestFaults)

#include "tst_faults.moc"
