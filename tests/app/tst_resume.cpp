// ChatClient's resume, against a scripted server instead of natterd: what
// it asks for after a drop, in which order, and what the models show after.

#include "app/chatclient.h"
#include "common/codec.h"
#include "tests/app/scriptedserver.h"

#include <QSignalSpy>
#include <QTest>
#include <QThread>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace {

const User Ann{u"Ann"_s, u"ann@example.org"_s};
const User Bob{u"Bob"_s, u"bob@example.org"_s};

template<typename Frame>
std::optional<Frame> decodeAs(const QString &text)
{
    const Codec::Result<Codec::ClientFrame> decoded = Codec::decodeClientFrame(text.toUtf8());
    if (!decoded.isOk() || !std::holds_alternative<Frame>(decoded.value()))
        return std::nullopt;
    return std::get<Frame>(decoded.value());
}

void say(ScriptedServer &server, const Codec::ServerFrame &frame)
{
    server.last()->sendTextMessage(QString::fromUtf8(Codec::encodeServerFrame(frame)));
}

Message fromBob(qint64 id, const QString &text)
{
    return Message{id, u"general"_s, {}, Bob, text, QDateTime::currentDateTimeUtc(), {}};
}

Welcome welcomeFor(const User &user)
{
    return Welcome{user, Version, u"scripted"_s, u"Scripted"_s, ServerLimits{4000, 65536, 200}, {}, {}};
}

QList<qint64> idsIn(const MessageListModel *model)
{
    QList<qint64> ids;
    for (int row = 0; row < model->rowCount(); ++row)
        ids.append(model->index(row).data(MessageListModel::IdRole).toLongLong());
    return ids;
}

} // namespace

class ResumeTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void asksForWhatItMissedAndResendsTheOutbox();
    void aFloodIsAppliedInBatchesInOrder();
    void aResumeReadsAgainWhatArrivedLiveJustBefore();
    void aStalledAppStillReadsAgainTheMomentBeforeTheStall();
    void aServerThatAlwaysHasMoreIsNotReadForever_data();
    void aServerThatAlwaysHasMoreIsNotReadForever();
    void textsLongerThanTheServersLimitAreCut();
};

namespace {

/// Ann's client with a token, reconnecting at once, connecting to server.
void connectAnn(ChatClient &client, ScriptedServer &server)
{
    client.setIdentity(Ann);
    client.setToken(u"token-1"_s);
    client.setReconnectDelays(10ms, 10ms);
    client.connectToServer(server.url());
}

/// Ann online with #general open on its first page, messages 1 and 2.
bool annInGeneral(ChatClient &client, ScriptedServer &server)
{
    connectAnn(client, server);
    if (!QTest::qWaitFor([&] { return server.received.size() == 1; }))
        return false;
    say(server, welcomeFor(Ann));
    if (!QTest::qWaitFor([&] { return client.state() == ChatClient::State::Online; }) ||
        !client.openRoom(u"general"_s) || !QTest::qWaitFor([&] { return server.received.size() == 2; }))
        return false;
    say(server, Members{u"general"_s, {Ann, Bob}, false, {}});
    say(server, History{u"general"_s, {}, {fromBob(1, u"one"_s), fromBob(2, u"two"_s)}, false});
    return QTest::qWaitFor([&] {
        const MessageListModel *model = client.messages(ConversationKey::room(u"general"_s));
        return model && model->rowCount() == 2;
    });
}

/// The connection drops; Ann's client comes back, is welcomed and resumes
/// #general (join, history, changes): its history request.
std::optional<HistoryRequest> resumeAfterDrop(ScriptedServer &server)
{
    const qsizetype sockets = server.sockets.size();
    const qsizetype received = server.received.size();
    server.last()->abort();
    if (!QTest::qWaitFor(
            [&] { return server.sockets.size() == sockets + 1 && server.received.size() == received + 1; }))
        return std::nullopt;
    say(server, welcomeFor(Ann));
    if (!QTest::qWaitFor([&] { return server.received.size() == received + 4; }))
        return std::nullopt;
    return decodeAs<HistoryRequest>(server.received.at(received + 2));
}

} // namespace

void ResumeTest::asksForWhatItMissedAndResendsTheOutbox()
{
    ScriptedServer server;
    QVERIFY(server.listen());
    ChatClient client;
    connectAnn(client, server);

    // First connection: hello with the token, then the room and three messages.
    QTRY_COMPARE(server.received.size(), 1);
    const std::optional<Hello> hello = decodeAs<Hello>(server.received.at(0));
    QVERIFY(hello);
    QCOMPARE(hello->token, u"token-1"_s);
    QVERIFY(hello->password.isEmpty());
    say(server, welcomeFor(Ann));
    QTRY_COMPARE(client.state(), ChatClient::State::Online);

    QVERIFY(client.openRoom(u"general"_s));
    QTRY_COMPARE(server.received.size(), 2);
    QCOMPARE(decodeAs<JoinRoom>(server.received.at(1))->room, u"general"_s);
    say(server, Members{u"general"_s, {Ann, Bob}, false, {}});
    say(server,
        History{
            u"general"_s, {}, {fromBob(1, u"one"_s), fromBob(2, u"two"_s), fromBob(3, u"three"_s)}, false});
    const ConversationKey general = ConversationKey::room(u"general"_s);
    QTRY_COMPARE(client.messages(general)->rowCount(), 3);

    const QString clientId = client.sendMessage(general, u"are you there?"_s);
    QVERIFY(!clientId.isEmpty());
    QTRY_COMPARE(server.received.size(), 3);
    QCOMPARE(decodeAs<SendMessage>(server.received.at(2))->clientId, clientId);

    // The connection dies before the message is acknowledged; Bob speaks meanwhile.
    server.last()->abort();
    QTRY_COMPARE(server.sockets.size(), 2);
    QTRY_COMPARE(server.received.size(), 4);
    QCOMPARE(decodeAs<Hello>(server.received.at(3))->token, u"token-1"_s);
    say(server, welcomeFor(Ann));

    // Rejoin, read after the last id it has, ask for the changes since the
    // last one it saw, resend with the same client id: in that order.
    QTRY_COMPARE(server.received.size(), 8);
    QCOMPARE(decodeAs<JoinRoom>(server.received.at(4))->room, u"general"_s);
    const std::optional<HistoryRequest> resume = decodeAs<HistoryRequest>(server.received.at(5));
    QVERIFY(resume);
    QCOMPARE(resume->room, u"general"_s);
    QCOMPARE(resume->after, std::optional<qint64>(3));
    QVERIFY(!resume->before);
    const std::optional<ChangesRequest> changes = decodeAs<ChangesRequest>(server.received.at(6));
    QVERIFY(changes);
    QCOMPARE(changes->room, u"general"_s);
    QCOMPARE(changes->after, 0); // the first page said no change had been made
    const std::optional<SendMessage> resent = decodeAs<SendMessage>(server.received.at(7));
    QVERIFY(resent);
    QCOMPARE(resent->clientId, clientId);
    QCOMPARE(resent->text, u"are you there?"_s);

    // The server answers in order: the join's latest page, the resume page, the ack.
    QSignalSpy arrived(&client, &ChatClient::messagesArrived);
    say(server, Members{u"general"_s, {Ann, Bob}, false, {}});
    say(server,
        History{
            u"general"_s, {}, {fromBob(2, u"two"_s), fromBob(3, u"three"_s), fromBob(4, u"four"_s)}, false});
    say(server, History{u"general"_s, {}, {fromBob(4, u"four"_s)}, false});
    Message ack{5, u"general"_s, {}, Ann, u"are you there?"_s, QDateTime::currentDateTimeUtc(), clientId};
    say(server, ReceiveMessage{ack});
    MessageListModel *messages = client.messages(general);
    QTRY_COMPARE(idsIn(messages), (QList<qint64>{1, 2, 3, 4, 5}));
    QVERIFY(messages->outbox().isEmpty());
    QCOMPARE(arrived.size(), 0); // our own message is not "new from someone else"
}

void ResumeTest::aResumeReadsAgainWhatArrivedLiveJustBefore()
{
    // With several natterd, message 5 may arrive live a moment before 4 (each
    // natterd publishes its own): a drop in between must not skip 4.
    ScriptedServer server;
    QVERIFY(server.listen());
    ChatClient client;
    QVERIFY(annInGeneral(client, server));
    const ConversationKey general = ConversationKey::room(u"general"_s);
    say(server, ReceiveMessage{fromBob(3, u"three"_s)});
    say(server, ReceiveMessage{fromBob(5, u"five"_s)});
    QTRY_COMPARE(client.messages(general)->rowCount(), 4);

    const std::optional<HistoryRequest> resume = resumeAfterDrop(server);
    QVERIFY(resume);
    QCOMPARE(resume->after, std::optional<qint64>(2)); // from the oldest that just arrived live
    // Dropped again before the resume's pages came, a newer message pushed on
    // the way: the next resume still starts where this one did.
    say(server, ReceiveMessage{fromBob(6, u"six"_s)});
    QTRY_COMPARE(client.messages(general)->rowCount(), 5);
    const std::optional<HistoryRequest> again = resumeAfterDrop(server);
    QVERIFY(again);
    QCOMPARE(again->after, std::optional<qint64>(2));
    say(server, Members{u"general"_s, {Ann, Bob}, false, {}});
    say(server,
        History{
            u"general"_s, {}, {fromBob(3, u"three"_s), fromBob(4, u"four"_s), fromBob(5, u"five"_s)}, false});
    // The resume comes in pages: the next one goes on from this page's last
    // message, not from the newest the model has (5 came live; 4 did not).
    say(server, History{u"general"_s, {}, {fromBob(3, u"three"_s)}, true});
    QTRY_COMPARE(server.received.size(), 11);
    const std::optional<HistoryRequest> next = decodeAs<HistoryRequest>(server.received.at(10));
    QVERIFY(next);
    QCOMPARE(next->after, std::optional<qint64>(3));
    say(server, History{u"general"_s, {}, {fromBob(4, u"four"_s), fromBob(5, u"five"_s)}, false});
    QTRY_COMPARE(idsIn(client.messages(general)), (QList<qint64>{1, 2, 3, 4, 5, 6}));
}

void ResumeTest::aStalledAppStillReadsAgainTheMomentBeforeTheStall()
{
    // natterd stamped 4 and 6 a moment apart, but the app was frozen (a
    // suspended laptop, a debugger) between reading them: by its own clock 4
    // is long past, yet 5 may still be on its way from another natterd.
    ScriptedServer server;
    QVERIFY(server.listen());
    ChatClient client;
    QVERIFY(annInGeneral(client, server));
    const ConversationKey general = ConversationKey::room(u"general"_s);
    const QDateTime stamp = QDateTime::currentDateTimeUtc();
    const auto stamped = [&](qint64 id, qint64 msAfter) {
        Message message = fromBob(id, u"message %1"_s.arg(id));
        message.timestamp = stamp.addMSecs(msAfter);
        return message;
    };
    say(server, ReceiveMessage{stamped(3, -5000)}); // old by natterd's clock
    say(server, ReceiveMessage{stamped(4, 0)});
    QTRY_COMPARE(client.messages(general)->rowCount(), 4);
    say(server, ReceiveMessage{stamped(6, 10)});
    QThread::msleep(2100); // the freeze itself, not a wait for something: 6 is read after it
    QTRY_COMPARE(client.messages(general)->rowCount(), 5);

    const std::optional<HistoryRequest> resume = resumeAfterDrop(server);
    QVERIFY(resume);
    // From 4 (natterd's moment before 6), not from 6 (the app's); 3 is old by both clocks.
    QCOMPARE(resume->after, std::optional<qint64>(3));
}

void ResumeTest::aServerThatAlwaysHasMoreIsNotReadForever_data()
{
    QTest::addColumn<bool>("movesOn");
    // A hostile server made the app read 189 pages (~2 GB) in 60 s, has_more always true.
    QTest::newRow("new messages without end") << true;
    QTest::newRow("the same page again and again") << false;
}

void ResumeTest::aServerThatAlwaysHasMoreIsNotReadForever()
{
    QFETCH(bool, movesOn);
    ScriptedServer server;
    QVERIFY(server.listen());
    ChatClient client;
    client.setCatchUpLimits(500, 64 * 1024 * 1024);
    QSignalSpy errors(&client, &ChatClient::errorOccurred);
    QVERIFY(annInGeneral(client, server));
    const ConversationKey general = ConversationKey::room(u"general"_s);
    std::optional<HistoryRequest> request = resumeAfterDrop(server);
    QVERIFY(request);
    say(server, Members{u"general"_s, {Ann, Bob}, false, {}});
    say(server, History{u"general"_s, {}, {fromBob(1, u"one"_s), fromBob(2, u"two"_s)}, false}); // the join's
    int pages = 0;
    qint64 next = 3;
    for (; pages < 50; ++pages) {
        QList<Message> page;
        const qint64 first = movesOn ? next : 3;
        for (qint64 id = first; id < first + 100; ++id)
            page.append(fromBob(id, u"more %1"_s.arg(id)));
        next = first + 100;
        const qsizetype asked = server.received.size();
        say(server, History{u"general"_s, {}, page, true});
        // The app asks for the next page, or stops and says so.
        QVERIFY(QTest::qWaitFor([&] { return server.received.size() > asked || !errors.isEmpty(); }));
        if (!errors.isEmpty())
            break;
    }
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors.at(0).at(0).toString().contains(u"Stopped catching up on #general"_s),
             qPrintable(errors.at(0).at(0).toString()));
    QCOMPARE(pages, movesOn ? 4 : 1); // 500 messages, or a page that does not move on
    QVERIFY(client.messages(general)->rowCount() <= 2 + 500);
    // What came live still comes.
    say(server, ReceiveMessage{fromBob(100'000, u"live"_s)});
    QTRY_COMPARE(client.messages(general)
                     ->index(client.messages(general)->rowCount() - 1)
                     .data(MessageListModel::IdRole)
                     .toLongLong(),
                 100'000);
}

void ResumeTest::textsLongerThanTheServersLimitAreCut()
{
    // A rogue server's 1 MiB one-line message froze the app for 83 s.
    ScriptedServer server;
    QVERIFY(server.listen());
    ChatClient client;
    QVERIFY(annInGeneral(client, server)); // the server said: 4,000 characters at most
    const ConversationKey general = ConversationKey::room(u"general"_s);
    say(server, ReceiveMessage{fromBob(3, QString(1024 * 1024, u'x'))});
    say(server, History{u"general"_s, {}, {fromBob(4, QString(5000, u'y'))}, false});
    QTRY_COMPARE(client.messages(general)->rowCount(), 4);
    for (int row = 2; row < 4; ++row) {
        const QString text = client.messages(general)->index(row).data(MessageListModel::TextRole).toString();
        QCOMPARE(text.size(), 4001);
        QVERIFY(text.endsWith(u"…"_s));
    }
}

void ResumeTest::aFloodIsAppliedInBatchesInOrder()
{
    ScriptedServer server;
    QVERIFY(server.listen());
    ChatClient client;
    client.setIdentity(Ann);
    client.setToken(u"token-1"_s);
    client.connectToServer(server.url());
    QTRY_COMPARE(server.received.size(), 1);
    say(server, welcomeFor(Ann));
    QTRY_COMPARE(client.state(), ChatClient::State::Online);
    QVERIFY(client.openRoom(u"general"_s));
    QTRY_COMPARE(server.received.size(), 2);
    say(server, Members{u"general"_s, {Ann, Bob}, false, {}});
    say(server, History{u"general"_s, {}, {fromBob(1, u"one"_s)}, false});
    const ConversationKey general = ConversationKey::room(u"general"_s);
    MessageListModel *messages = client.messages(general);
    QTRY_COMPARE(messages->rowCount(), 1);

    // Bob is typing, then his script floods the room; the server also pushes
    // an edit of one of the flood's messages in the same burst.
    say(server, TypingNotice{u"general"_s, Bob, true, {}});
    QTRY_COMPARE(client.typingUsers(general).size(), 1);
    QSignalSpy inserted(messages, &QAbstractItemModel::rowsInserted);
    QSignalSpy arrived(&client, &ChatClient::messagesArrived);
    QSignalSpy typing(&client, &ChatClient::typingChanged);
    constexpr int Flood = 500;
    for (qint64 id = 2; id < Flood + 2; ++id) {
        say(server, ReceiveMessage{fromBob(id, u"flood %1"_s.arg(id))});
        if (id % 50 == 0) { // edited at once: in the same read as the message, mostly
            Message edited = fromBob(id, u"flood %1, edited"_s.arg(id));
            edited.edited = QDateTime::currentDateTimeUtc();
            say(server, MessageChange{MessageChange::Kind::Edited, edited, id / 50, {}});
        }
    }
    QTRY_COMPARE(messages->rowCount(), Flood + 1);

    // Every message, in id order, the edit applied to the message it came after.
    QList<qint64> expected;
    for (qint64 id = 1; id < Flood + 2; ++id)
        expected.append(id);
    QCOMPARE(idsIn(messages), expected);
    for (int row = 49; row < Flood + 1; row += 50)
        QCOMPARE(messages->index(row).data(MessageListModel::TextRole).toString(),
                 u"flood %1, edited"_s.arg(row + 1));
    // Applied in batches (one per read from the socket), not once per message.
    QVERIFY2(inserted.size() < Flood / 10, qPrintable(QString::number(inserted.size())));
    QCOMPARE(arrived.size(), inserted.size());
    int announced = 0;
    qint64 previous = 1;
    for (const QList<QVariant> &signal : std::as_const(arrived)) {
        QCOMPARE(signal.at(0).value<ConversationKey>(), general);
        for (const Message &message : signal.at(1).value<QList<Message>>()) {
            QCOMPARE(message.id, previous + 1); // oldest first, none twice
            previous = message.id;
            ++announced;
        }
    }
    QCOMPARE(announced, Flood);
    // Bob's first message ended his typing, once.
    QVERIFY(client.typingUsers(general).isEmpty());
    QCOMPARE(typing.size(), 1);
}

QTEST_GUILESS_MAIN(ResumeTest)
#include "tst_resume.moc"
