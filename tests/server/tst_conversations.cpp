// Edit, delete, reply, react, read markers, mutes, changes and history
// around a message: every request valid and refused, every push reaching
// exactly who can read the conversation. Real QWebSocket clients against an
// in-process server.
#include "tests/support/testserver.h"

#include <functional>

using namespace Natter;
using namespace Natter::Protocol;
using Natter::Codec::ClientFrame;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(Natter::Protocol::ErrorCode)

class TestConversations : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void anEditReachesEveryReaderAndNobodyElse();
    void editsAreRefusedWhenNotAllowed_data();
    void editsAreRefusedWhenNotAllowed();
    void aDeletionLeavesATombstoneAndNoText();
    void theOwnerOfAPrivateRoomDeletesAnyMessage();
    void repliesQuoteTheOriginalAsItIsNow();
    void repliesStayInTheirConversation();
    void reactionsToggleAndSaySoToEachReader();
    void reactionsAreBounded();
    void aBurstOfReactionsReachesEachReaderOncePerPass();
    void directMessageChangesReachOnlyTheTwo();
    void aRemovedMemberCannotTouchThePrivateRoom();
    void resumeSeesEveryChangeOnce();
    void readMarkersFollowAcrossDevices();
    void unreadMentionsAreCountedApart();
    void muteIsKeptForEveryDevice();
    void markersAndMutesCountAgainstTheRateLimit();
    void historyAroundAMessage();
    void mentionsAreCarried();
    void searchFindsOnlyWhatTheReaderMayRead();
    void searchUnderstandsPrefixesPhrasesAndAccents();
    void searchFollowsEditsAndDeletionsAtOnce();
    void searchPagesWithoutRepeats();
    void searchFilters();
    void searchRefusesWhatWouldStallTheServer();
    void aLongSearchHoldsUpNobodyElse();
    void aSearchPastTheTimeLimitIsRefused();
    void busyReadersAnswerRateLimited();
    void leavingDuringASearchHarmsNobody();
    void badQueriesAreRefused_data();
    void badQueriesAreRefused();

private:
    /// Alice owns the private room #design, Bob is a member; both joined it.
    bool aliceAndBobInDesign(TestClient **alice, TestClient **bob);
    /// Searches as client and returns the answer.
    static std::optional<SearchResults> search(TestClient *client, const QString &text,
                                               std::function<void(SearchRequest &)> adjust = {});
    static QStringList textsOf(const SearchResults &results);
    TestClient *signedIn(const QString &name, const QString &email, const QStringList &rooms = {});
    /// Sends and waits for the sender's own copy.
    Message say(TestClient *client, const QString &room, const QString &text, qint64 replyTo = 0,
                const QString &to = {}, const QStringList &mentions = {});
    /// Waits for an error frame and returns its code.
    static std::optional<ErrorCode> errorOf(TestClient *client);

    std::unique_ptr<TestServer> m_server;
    QList<TestClient *> m_clients;
    int m_sent = 0;
};

void TestConversations::init()
{
    qRegisterMetaType<ErrorCode>();
    ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 0; // these tests send quickly; the rate limit has its own
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
}

void TestConversations::cleanup()
{
    qDeleteAll(m_clients);
    m_clients.clear();
    m_server.reset();
}

TestClient *TestConversations::signedIn(const QString &name, const QString &email, const QStringList &rooms)
{
    auto *client = new TestClient;
    m_clients.append(client);
    return client->signIn(m_server->port(), name, email, rooms) ? client : nullptr;
}

Message TestConversations::say(TestClient *client, const QString &room, const QString &text, qint64 replyTo,
                               const QString &to, const QStringList &mentions)
{
    const QString clientId = u"c-%1"_s.arg(++m_sent);
    SendMessage send{room, to, text, clientId};
    send.replyTo = replyTo;
    send.mentions = mentions;
    client->send(send);
    const bool arrived = QTest::qWaitFor(
        [&] {
            for (const auto &frame : client->frames) {
                if (const auto *receive = std::get_if<ReceiveMessage>(&frame);
                    receive && receive->message.clientId == clientId)
                    return true;
            }
            return false;
        },
        5000);
    if (!arrived)
        return {};
    for (qsizetype i = 0; i < client->frames.size(); ++i) {
        if (const auto *receive = std::get_if<ReceiveMessage>(&client->frames.at(i));
            receive && receive->message.clientId == clientId) {
            Message message = receive->message;
            client->frames.removeAt(i);
            return message;
        }
    }
    return {};
}

bool TestConversations::aliceAndBobInDesign(TestClient **alice, TestClient **bob)
{
    *alice = signedIn(u"Alice"_s, u"alice@example.org"_s);
    *bob = signedIn(u"Bob"_s, u"bob@example.org"_s);
    if (!*alice || !*bob)
        return false;
    (*alice)->send(CreateRoom{u"design"_s, true});
    if (!(*alice)->waitFor<History>())
        return false;
    (*alice)->send(InviteToRoom{u"design"_s, u"bob@example.org"_s});
    return (*bob)->waitFor<RoomInvitation>() && (*bob)->join(u"design"_s);
}

std::optional<ErrorCode> TestConversations::errorOf(TestClient *client)
{
    const std::optional<Error> error = client->waitFor<Error>();
    if (!error)
        return std::nullopt;
    return error->code;
}

void TestConversations::anEditReachesEveryReaderAndNobodyElse()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    TestClient *dave = signedIn(u"Dave"_s, u"dave@example.org"_s, {u"random"_s});
    QVERIFY(bob && carol && dave);
    const Message original = say(bob, u"general"_s, u"teh meeting is at 3"_s);
    QVERIFY(original.isStored());
    QVERIFY(carol->waitFor<ReceiveMessage>());

    bob->send(EditMessage{original.id, u"the meeting is at 3"_s, {}});
    for (TestClient *reader : {bob, carol}) {
        const std::optional<MessageChange> edited = reader->waitFor<MessageChange>();
        QVERIFY(edited);
        QCOMPARE(edited->kind, MessageChange::Kind::Edited);
        QCOMPARE(edited->message.id, original.id);
        QCOMPARE(edited->message.room, u"general"_s);
        QCOMPARE(edited->message.text, u"the meeting is at 3"_s);
        QCOMPARE(edited->message.timestamp, original.timestamp); // still where it was said
        QVERIFY(edited->message.edited.isValid());
        QVERIFY(edited->message.edited >= original.timestamp);
        QVERIFY(edited->changeSeq > 0);
    }
    // Dave is elsewhere: a ping round trip later, still nothing for him.
    dave->send(HistoryRequest{u"random"_s, {}, std::nullopt, std::nullopt, 1});
    QVERIFY(dave->waitFor<History>());
    QCOMPARE(dave->count<MessageChange>(), 0);

    // History and a newcomer see it as it is now.
    const QList<Message> history = carol->readConversation(u"general"_s);
    QCOMPARE(history.size(), 1);
    QCOMPARE(history.constFirst().text, u"the meeting is at 3"_s);
    QVERIFY(history.constFirst().edited.isValid());
    QCOMPARE(history.constFirst().clientId, original.clientId);
}

void TestConversations::editsAreRefusedWhenNotAllowed_data()
{
    QTest::addColumn<QString>("who");
    QTest::addColumn<qint64>("idOffset");
    QTest::addColumn<QString>("text");
    QTest::addColumn<ErrorCode>("code");
    QTest::newRow("someone else's") << u"carol"_s << qint64(0) << u"mine now"_s << ErrorCode::NotAllowed;
    QTest::newRow("unknown id") << u"bob"_s << qint64(1000) << u"hello"_s << ErrorCode::NoSuchMessage;
    QTest::newRow("in a room not joined") << u"dave"_s << qint64(0) << u"hello"_s << ErrorCode::NoSuchMessage;
    QTest::newRow("too long") << u"bob"_s << qint64(0) << QString(4001, u'x') << ErrorCode::TextTooLong;
    QTest::newRow("blank") << u"bob"_s << qint64(0) << u"  \n "_s << ErrorCode::BadText;
}

void TestConversations::editsAreRefusedWhenNotAllowed()
{
    QFETCH(QString, who);
    QFETCH(qint64, idOffset);
    QFETCH(QString, text);
    QFETCH(ErrorCode, code);
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    TestClient *dave = signedIn(u"Dave"_s, u"dave@example.org"_s, {u"random"_s});
    QVERIFY(bob && carol && dave);
    const Message original = say(bob, u"general"_s, u"as it was"_s);
    QVERIFY(original.isStored());
    TestClient *editor = who == u"bob"_s ? bob : who == u"carol"_s ? carol : dave;
    editor->frames.clear();
    editor->send(EditMessage{original.id + idOffset, text, {}});
    QCOMPARE(errorOf(editor), std::optional<ErrorCode>(code));
    // Nothing changed, for anyone.
    QCOMPARE(bob->count<MessageChange>() + carol->count<MessageChange>() + dave->count<MessageChange>(), 0);
    const QList<Message> history = bob->readConversation(u"general"_s);
    QCOMPARE(history.size(), 1);
    QCOMPARE(history.constFirst().text, u"as it was"_s);
    QVERIFY(!history.constFirst().edited.isValid());
}

void TestConversations::aDeletionLeavesATombstoneAndNoText()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(bob && carol);
    const Message secret = say(bob, u"general"_s, u"my password is hunter2"_s);
    const Message after = say(bob, u"general"_s, u"oops"_s);
    QVERIFY(secret.isStored() && after.isStored());

    carol->frames.clear();
    carol->send(DeleteMessage{secret.id});
    QCOMPARE(errorOf(carol), std::optional<ErrorCode>(ErrorCode::NotAllowed)); // a public room has no owner

    bob->frames.clear();
    carol->frames.clear();
    bob->send(DeleteMessage{secret.id});
    for (TestClient *reader : {bob, carol}) {
        const std::optional<MessageChange> deleted = reader->waitFor<MessageChange>();
        QVERIFY(deleted);
        QCOMPARE(deleted->kind, MessageChange::Kind::Deleted);
        QCOMPARE(deleted->message.id, secret.id);
        QVERIFY(deleted->message.deleted);
        QVERIFY(deleted->message.text.isEmpty());
        QCOMPARE(deleted->by.email, u"bob@example.org"_s);
    }
    // The place is kept; the words are gone, from the database too.
    const QList<Message> history = carol->readConversation(u"general"_s);
    QCOMPARE(history.size(), 2);
    QVERIFY(history.at(0).deleted);
    QVERIFY(history.at(0).text.isEmpty());
    QCOMPARE(history.at(1).text, u"oops"_s);
    QCOMPARE(m_server->databaseValue(u"SELECT COUNT(*) FROM messages WHERE text LIKE '%hunter2%'"_s).toInt(),
             0);

    // A tombstone takes no more changes.
    bob->frames.clear();
    bob->send(EditMessage{secret.id, u"never mind"_s, {}});
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::NoSuchMessage));
    bob->send(DeleteMessage{secret.id});
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::NoSuchMessage));
    bob->send(React{secret.id, u"👍"_s, true});
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::NoSuchMessage));
    bob->send(SendMessage{u"general"_s, {}, u"re"_s, u"r-1"_s, secret.id});
    const std::optional<Error> refused = bob->waitFor<Error>();
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::NoSuchMessage);
    QCOMPARE(refused->clientId, u"r-1"_s); // the app marks that message failed
}

void TestConversations::theOwnerOfAPrivateRoomDeletesAnyMessage()
{
    TestClient *alice = nullptr;
    TestClient *bob = nullptr;
    QVERIFY(aliceAndBobInDesign(&alice, &bob));
    const Message spam = say(bob, u"design"_s, u"buy my stuff"_s);
    QVERIFY(spam.isStored());
    alice->frames.clear();
    bob->frames.clear();
    alice->send(DeleteMessage{spam.id});
    const std::optional<MessageChange> deleted = bob->waitFor<MessageChange>();
    QVERIFY(deleted);
    QCOMPARE(deleted->kind, MessageChange::Kind::Deleted);
    QCOMPARE(deleted->by.email, u"alice@example.org"_s);
    // The owner's own words are hers: a member cannot delete them.
    const Message rule = say(alice, u"design"_s, u"no spam"_s);
    bob->frames.clear();
    bob->send(DeleteMessage{rule.id});
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::NotAllowed));
}

void TestConversations::repliesQuoteTheOriginalAsItIsNow()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(bob && carol);
    const Message question = say(bob, u"general"_s, u"  Lunch at noon?\nOr at one.  "_s);
    carol->frames.clear();
    const Message answer = say(carol, u"general"_s, u"Noon!"_s, question.id);
    QVERIFY(answer.isStored());
    QCOMPARE(answer.reply.id, question.id);
    QCOMPARE(answer.reply.from.email, u"bob@example.org"_s);
    QCOMPARE(answer.reply.text, u"Lunch at noon?"_s); // the first line
    QVERIFY(!answer.reply.deleted);
    const std::optional<ReceiveMessage> atBob = bob->waitFor<ReceiveMessage>();
    QVERIFY(atBob);
    QCOMPARE(atBob->message.reply, answer.reply);

    // A long first line is shortened, and never cut inside a character.
    const Message long_ = say(bob, u"general"_s, QString(139, u'a') + u"😀 and more"_s);
    const Message reply2 = say(carol, u"general"_s, u"ok"_s, long_.id);
    QVERIFY(reply2.reply.text.size() <= 141);
    QVERIFY(reply2.reply.text.endsWith(u'…'));
    QVERIFY(!reply2.reply.text.at(reply2.reply.text.size() - 2).isHighSurrogate());

    // The original edited, then deleted: the reply follows.
    bob->send(EditMessage{question.id, u"Lunch at 12:30?"_s, {}});
    QVERIFY(carol->waitFor<MessageChange>());
    QList<Message> history = carol->readConversation(u"general"_s);
    QCOMPARE(history.at(1).reply.text, u"Lunch at 12:30?"_s);
    bob->send(DeleteMessage{question.id});
    QVERIFY(QTest::qWaitFor([&] { return carol->count<MessageChange>() > 0; }));
    history = carol->readConversation(u"general"_s);
    QVERIFY(history.at(1).reply.deleted);
    QVERIFY(history.at(1).reply.text.isEmpty());
    QCOMPARE(history.at(1).reply.id, question.id);
}

void TestConversations::repliesStayInTheirConversation()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s, u"random"_s});
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(bob && carol);
    const Message inRandom = say(bob, u"random"_s, u"over here"_s);
    const Message direct = say(bob, {}, u"psst"_s, 0, u"carol@example.org"_s);
    QVERIFY(inRandom.isStored() && direct.isStored());
    bob->frames.clear();
    // A reply in #general to a message of #random: refused.
    bob->send(SendMessage{u"general"_s, {}, u"re"_s, u"x-1"_s, inRandom.id});
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::NoSuchMessage));
    // Carol cannot quote #random, which she has not joined.
    carol->frames.clear();
    carol->send(SendMessage{u"general"_s, {}, u"re"_s, u"x-2"_s, inRandom.id});
    QCOMPARE(errorOf(carol), std::optional<ErrorCode>(ErrorCode::NoSuchMessage));
    // A direct reply answers within the direct conversation only.
    carol->frames.clear();
    const Message directReply = say(carol, {}, u"what?"_s, direct.id, u"bob@example.org"_s);
    QCOMPARE(directReply.reply.id, direct.id);
    QCOMPARE(directReply.reply.text, u"psst"_s);
    carol->send(SendMessage{u"general"_s, {}, u"re"_s, u"x-3"_s, direct.id});
    QCOMPARE(errorOf(carol), std::optional<ErrorCode>(ErrorCode::NoSuchMessage));
    QCOMPARE(bob->readConversation(u"general"_s).size(), 0);
}

void TestConversations::reactionsToggleAndSaySoToEachReader()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(bob && carol);
    const Message message = say(bob, u"general"_s, u"release is out"_s);
    carol->frames.clear();

    carol->send(React{message.id, u"🎉"_s, true});
    std::optional<MessageChange> atBob = bob->waitFor<MessageChange>();
    std::optional<MessageChange> atCarol = carol->waitFor<MessageChange>();
    QVERIFY(atBob && atCarol);
    QCOMPARE(atBob->kind, MessageChange::Kind::Reactions);
    QCOMPARE(atBob->message.reactions.size(), 1);
    QCOMPARE(atBob->message.reactions.at(0).emoji, u"🎉"_s);
    QCOMPARE(atBob->message.reactions.at(0).count, 1);
    QCOMPARE(atBob->message.reactions.at(0).users.at(0).name, u"Carol"_s);
    QVERIFY(!atBob->message.reactions.at(0).mine);
    QVERIFY(atCarol->message.reactions.at(0).mine); // each reader's own view
    QCOMPARE(atBob->message.text, u"release is out"_s);

    // Bob adds the same one and another (skin tones and flags are one emoji each).
    bob->send(React{message.id, u"🎉"_s, true});
    QVERIFY(bob->waitFor<MessageChange>());
    bob->send(React{message.id, u"👍🏽"_s, true});
    atBob = bob->waitFor<MessageChange>();
    QVERIFY(atBob);
    QCOMPARE(atBob->message.reactions.size(), 2);
    QCOMPARE(atBob->message.reactions.at(0).count, 2);
    QVERIFY(atBob->message.reactions.at(0).mine);
    QCOMPARE(atBob->message.reactions.at(1).emoji, u"👍🏽"_s);

    // The same reaction again changes nothing and tells nobody else.
    carol->frames.clear();
    bob->send(React{message.id, u"👍🏽"_s, true});
    const std::optional<MessageChange> same = bob->waitFor<MessageChange>();
    QVERIFY(same);
    QCOMPARE(same->message.reactions.at(1).count, 1);
    // Taken back: Carol sees the count fall.
    bob->send(React{message.id, u"🎉"_s, false});
    atCarol = carol->waitFor<MessageChange>();
    QVERIFY(atCarol);
    QCOMPARE(atCarol->message.reactions.at(0).count, 1);
    QVERIFY(atCarol->message.reactions.at(0).mine);
    QCOMPARE(carol->count<MessageChange>(), 0); // the repeat was never pushed to her

    // History carries the summary, personal to the reader.
    const QList<Message> history = carol->readConversation(u"general"_s);
    QCOMPARE(history.at(0).reactions.size(), 2);
    QVERIFY(history.at(0).reactions.at(0).mine);
    QVERIFY(!history.at(0).reactions.at(1).mine);
}

void TestConversations::aBurstOfReactionsReachesEachReaderOncePerPass()
{
    // Every reaction frame carries the whole message: 50 people reacting to
    // one sent it 50 times to every reader (14 s of server CPU for 1,000).
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(bob && carol);
    QList<TestClient *> voters;
    for (int i = 0; i < 18; ++i) {
        voters.append(signedIn(u"Voter %1"_s.arg(i), u"voter%1@example.org"_s.arg(i), {u"general"_s}));
        QVERIFY(voters.constLast());
    }
    const Message message = say(bob, u"general"_s, u"vote for lunch"_s);
    QVERIFY(QTest::qWaitFor([&] {
        return std::all_of(voters.cbegin(), voters.cend(),
                           [](TestClient *voter) { return voter->count<ReceiveMessage>() > 0; });
    }));
    carol->frames.clear();
    // Eighteen people click an emoji at once.
    for (int i = 0; i < 18; ++i) {
        const char32_t emoji = 0x1F600 + char32_t(i);
        voters.at(i)->send(React{message.id, QString::fromUcs4(&emoji, 1), true});
    }
    QList<MessageChange> seen;
    QVERIFY(QTest::qWaitFor([&] {
        while (const auto change = carol->takeFirst<MessageChange>())
            seen.append(*change);
        return !seen.isEmpty() && seen.constLast().message.reactions.size() == 18;
    }));
    QVERIFY2(seen.size() < 18, qPrintable(u"%1 pushes for 18 reactions"_s.arg(seen.size())));
    // In order, each newer than the one before.
    for (qsizetype i = 1; i < seen.size(); ++i)
        QVERIFY(seen.at(i).changeSeq > seen.at(i - 1).changeSeq);
    // An edit right after is not overtaken by a reaction state older than it.
    for (int i = 0; i < 18; ++i) {
        const char32_t emoji = 0x1F600 + char32_t(i);
        voters.at(i)->send(React{message.id, QString::fromUcs4(&emoji, 1), false});
    }
    bob->send(EditMessage{message.id, u"vote for dinner"_s, {}});
    // Every frame newer than the one before (nothing older overtakes), the
    // edit among them, and after it only states with the new text.
    QVERIFY(QTest::qWaitFor([&] {
        while (const auto change = carol->takeFirst<MessageChange>())
            seen.append(*change);
        return seen.constLast().message.reactions.isEmpty() &&
               seen.constLast().message.text == u"vote for dinner"_s;
    }));
    for (qsizetype i = 1; i < seen.size(); ++i)
        QVERIFY(seen.at(i).changeSeq > seen.at(i - 1).changeSeq);
    const auto edited = std::find_if(seen.cbegin(), seen.cend(), [](const MessageChange &change) {
        return change.kind == MessageChange::Kind::Edited;
    });
    QVERIFY(edited != seen.cend());
    QVERIFY(std::all_of(edited, seen.cend(), [](const MessageChange &change) {
        return change.message.text == u"vote for dinner"_s;
    }));
}

void TestConversations::reactionsAreBounded()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    QVERIFY(bob);
    const Message message = say(bob, u"general"_s, u"vote"_s);
    // Not one emoji: refused by the codec with bad_emoji.
    for (const QString &notAnEmoji : {u"ab"_s, u"👍👍"_s, u"a"_s, u"1"_s, u" "_s, u"👍\u200B"_s, QString()}) {
        bob->frames.clear();
        bob->send(React{message.id, notAnEmoji, true});
        QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::BadEmoji));
    }
    // Twenty different ones, and no more.
    const QList<uint> emoji{0x1F600, 0x1F601, 0x1F602, 0x1F603, 0x1F604, 0x1F605, 0x1F606,
                            0x1F607, 0x1F608, 0x1F609, 0x1F60A, 0x1F60B, 0x1F60C, 0x1F60D,
                            0x1F60E, 0x1F60F, 0x1F610, 0x1F611, 0x1F612, 0x1F613, 0x1F614};
    for (int i = 0; i < MaxReactionsPerMessage; ++i) {
        bob->send(
            React{message.id, QString::fromUcs4(reinterpret_cast<const char32_t *>(&emoji.at(i)), 1), true});
        QVERIFY(bob->waitFor<MessageChange>());
    }
    bob->send(
        React{message.id, QString::fromUcs4(reinterpret_cast<const char32_t *>(&emoji.last()), 1), true});
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::TooManyReactions));
    // One of the twenty again is fine (keycaps and flags are emoji too).
    bob->send(React{message.id, u"😀"_s, false});
    QVERIFY(bob->waitFor<MessageChange>());
    bob->send(React{message.id, u"1️⃣"_s, true});
    const std::optional<MessageChange> keycap = bob->waitFor<MessageChange>();
    QVERIFY(keycap);
    QCOMPARE(keycap->message.reactions.size(), MaxReactionsPerMessage);
}

void TestConversations::directMessageChangesReachOnlyTheTwo()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s);
    TestClient *bobPhone = signedIn(u"Bob"_s, u"bob@example.org"_s);
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s);
    TestClient *dave = signedIn(u"Dave"_s, u"dave@example.org"_s);
    QVERIFY(bob && bobPhone && carol && dave);
    const Message direct = say(bob, {}, u"the code is 4512"_s, 0, u"carol@example.org"_s);
    QVERIFY(carol->waitFor<ReceiveMessage>());
    QVERIFY(bobPhone->waitFor<ReceiveMessage>());

    // Dave knows the id but not the conversation: the same answer as for no message.
    for (const ClientFrame &attempt :
         {ClientFrame(EditMessage{direct.id, u"x"_s, {}}), ClientFrame(DeleteMessage{direct.id}),
          ClientFrame(React{direct.id, u"👀"_s, true})}) {
        dave->send(attempt);
        QCOMPARE(errorOf(dave), std::optional<ErrorCode>(ErrorCode::NoSuchMessage));
    }
    dave->send(HistoryRequest{{}, u"carol@example.org"_s, std::nullopt, std::nullopt, 50, direct.id});
    QCOMPARE(errorOf(dave), std::optional<ErrorCode>(ErrorCode::NoSuchMessage));

    carol->send(React{direct.id, u"👍"_s, true});
    for (TestClient *reader : {bob, bobPhone, carol}) {
        const std::optional<MessageChange> change = reader->waitFor<MessageChange>();
        QVERIFY(change);
        QCOMPARE(change->message.to, u"carol@example.org"_s);
        QCOMPARE(change->message.from.email, u"bob@example.org"_s);
    }
    bob->send(EditMessage{direct.id, u"the code is 4513"_s, {}});
    for (TestClient *reader : {bob, bobPhone, carol})
        QVERIFY(reader->waitFor<MessageChange>());
    QCOMPARE(dave->count<MessageChange>(), 0);
    // Carol may react to Bob's message but not edit or delete it.
    carol->send(DeleteMessage{direct.id});
    QCOMPARE(errorOf(carol), std::optional<ErrorCode>(ErrorCode::NotAllowed));
}

void TestConversations::aRemovedMemberCannotTouchThePrivateRoom()
{
    TestClient *alice = nullptr;
    TestClient *bob = nullptr;
    QVERIFY(aliceAndBobInDesign(&alice, &bob));
    const Message own = say(bob, u"design"_s, u"my draft"_s);
    alice->send(RemoveFromRoom{u"design"_s, u"bob@example.org"_s});
    QVERIFY(QTest::qWaitFor([&] {
        for (const auto &frame : bob->frames) {
            if (const auto *left = std::get_if<UserLeft>(&frame);
                left && left->user.email == u"bob@example.org"_s)
                return true;
        }
        return false;
    }));
    bob->frames.clear();
    alice->frames.clear();
    for (const ClientFrame &attempt :
         {ClientFrame(EditMessage{own.id, u"x"_s, {}}), ClientFrame(DeleteMessage{own.id}),
          ClientFrame(React{own.id, u"👀"_s, true})}) {
        bob->send(attempt);
        QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::NoSuchMessage));
    }
    bob->send(MarkRead{u"design"_s, {}, own.id});
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::NotInRoom));
    bob->send(ChangesRequest{u"design"_s, {}, 0, 100});
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::NotInRoom));
    QCOMPARE(alice->count<MessageChange>(), 0);
}

void TestConversations::resumeSeesEveryChangeOnce()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    QVERIFY(bob);
    QList<Message> said;
    for (int i = 0; i < 6; ++i)
        said.append(say(bob, u"general"_s, u"message %1"_s.arg(i)));
    // Carol reads the room, then goes away.
    qint64 seen = 0;
    {
        TestClient carol;
        QVERIFY(carol.open(m_server->port()) && carol.hello(u"Carol"_s, u"carol@example.org"_s));
        carol.send(JoinRoom{u"general"_s});
        const std::optional<History> page = carol.waitFor<History>();
        QVERIFY(page);
        QCOMPARE(page->messages.size(), 6);
        seen = page->changeSeq;
    }
    // Meanwhile: edits, a deletion, reactions; one message changed twice.
    bob->send(EditMessage{said.at(1).id, u"message 1, edited"_s, {}});
    bob->send(React{said.at(2).id, u"👍"_s, true});
    bob->send(DeleteMessage{said.at(3).id});
    bob->send(EditMessage{said.at(1).id, u"message 1, edited twice"_s, {}});
    bob->send(React{said.at(4).id, u"👀"_s, true});
    bob->send(React{said.at(4).id, u"👀"_s, false});
    // Five or six pushes: the two reactions on message 4 may go out as one
    // (reactions of one pass are pushed once, in their latest state).
    QVERIFY(QTest::qWaitFor([&] {
        return bob->count<MessageChange>() >= 5 &&
               std::any_of(bob->frames.cbegin(), bob->frames.cend(), [&](const auto &frame) {
                   const auto *change = std::get_if<MessageChange>(&frame);
                   return change && change->message.id == said.at(4).id &&
                          change->message.reactions.isEmpty();
               });
    }));

    TestClient carol;
    QVERIFY(carol.open(m_server->port()) && carol.hello(u"Carol"_s, u"carol@example.org"_s));
    QVERIFY(carol.join(u"general"_s));
    carol.frames.clear();
    // Pages of two: no change missed, none twice, each message as it is now.
    QHash<qint64, Message> changed;
    qint64 after = seen;
    int pages = 0;
    for (;;) {
        carol.send(ChangesRequest{u"general"_s, {}, after, 2});
        const std::optional<Changes> page = carol.waitFor<Changes>();
        QVERIFY(page);
        ++pages;
        for (const Message &message : page->messages) {
            QVERIFY2(!changed.contains(message.id), "a change came twice");
            changed.insert(message.id, message);
        }
        QVERIFY(page->changeSeq >= after);
        after = page->changeSeq;
        if (!page->hasMore)
            break;
        QVERIFY(pages < 10);
    }
    QCOMPARE(changed.size(), 4); // messages 1, 2, 3 and 4
    QCOMPARE(changed.value(said.at(1).id).text, u"message 1, edited twice"_s);
    QCOMPARE(changed.value(said.at(2).id).reactions.size(), 1);
    QVERIFY(changed.value(said.at(3).id).deleted);
    QVERIFY(changed.value(said.at(4).id).reactions.isEmpty());
    // Nothing after the last one: an empty page that keeps the place.
    carol.send(ChangesRequest{u"general"_s, {}, after, 100});
    const std::optional<Changes> none = carol.waitFor<Changes>();
    QVERIFY(none);
    QVERIFY(none->messages.isEmpty());
    QCOMPARE(none->changeSeq, after);
    // The same after a restart: sequence numbers are stored.
    carol.socket().abort();
    m_server->stop();
    QVERIFY(m_server->start());
    TestClient again;
    QVERIFY(again.open(m_server->port()) && again.hello(u"Carol"_s, u"carol@example.org"_s) &&
            again.join(u"general"_s));
    again.frames.clear();
    again.send(ChangesRequest{u"general"_s, {}, seen, 100});
    const std::optional<Changes> all = again.waitFor<Changes>();
    QVERIFY(all);
    QCOMPARE(all->messages.size(), 4);
    QCOMPARE(all->changeSeq, after);
}

void TestConversations::readMarkersFollowAcrossDevices()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    TestClient *carolLaptop = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    TestClient *carolDesktop = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(bob && carolLaptop && carolDesktop);
    QList<Message> said;
    for (int i = 0; i < 5; ++i)
        said.append(say(bob, u"general"_s, u"news %1"_s.arg(i)));
    const Message direct = say(bob, {}, u"did you see?"_s, 0, u"carol@example.org"_s);
    carolDesktop->frames.clear();
    carolLaptop->frames.clear();

    carolLaptop->send(MarkRead{u"general"_s, {}, said.at(2).id});
    const std::optional<ReadMarker> followed = carolDesktop->waitFor<ReadMarker>();
    QVERIFY(followed);
    QCOMPARE(followed->state.room, u"general"_s);
    QCOMPARE(followed->state.readId, said.at(2).id);
    QCOMPARE(followed->state.unread, 2);
    // Never backwards (an old device catching up).
    carolDesktop->send(MarkRead{u"general"_s, {}, said.at(0).id});
    const std::optional<ReadMarker> kept = carolLaptop->waitFor<ReadMarker>();
    QVERIFY(kept);
    QCOMPARE(kept->state.readId, said.at(2).id);
    // Direct conversations too; Carol's own messages are never unread.
    say(carolLaptop, {}, u"yes"_s, 0, u"bob@example.org"_s);
    carolLaptop->send(MarkRead{{}, u"bob@example.org"_s, 1}); // read nothing yet
    QVERIFY(carolDesktop->waitFor<ReadMarker>());
    // Bob is not told Carol's markers.
    QCOMPARE(bob->count<ReadMarker>(), 0);

    // A third device starts where the others are.
    TestClient phone;
    QVERIFY(phone.open(m_server->port()));
    phone.send(
        Hello{User{u"Carol"_s, u"carol@example.org"_s}, Version, TestClient::defaultPassword(), {}, {}, {}});
    const std::optional<Welcome> welcome = phone.waitFor<Welcome>(20000);
    QVERIFY(welcome);
    QCOMPARE(welcome->conversations.size(), 2);
    const ConversationState general = welcome->conversations.at(0).room == u"general"_s
                                          ? welcome->conversations.at(0)
                                          : welcome->conversations.at(1);
    const ConversationState withBob = welcome->conversations.at(0).room == u"general"_s
                                          ? welcome->conversations.at(1)
                                          : welcome->conversations.at(0);
    QCOMPARE(general.readId, said.at(2).id);
    QCOMPARE(general.unread, 2);
    QCOMPARE(withBob.with, u"bob@example.org"_s);
    QCOMPARE(withBob.unread, 1); // "did you see?", not her own "yes"
    Q_UNUSED(direct);
}

void TestConversations::unreadMentionsAreCountedApart()
{
    // Carol's badge says how many of her unread messages call her by name:
    // her own email only (not one that contains it, nor a LIKE pattern).
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    TestClient *laptop = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    TestClient *desktop = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(bob && laptop && desktop);
    const Message first = say(bob, u"general"_s, u"morning"_s);
    say(bob, u"general"_s, u"@Carol the report?"_s, 0, {}, {u"carol@example.org"_s});
    say(bob, u"general"_s, u"@Carol and @Dan"_s, 0, {}, {u"dan@example.org"_s, u"Carol@Example.org"_s});
    say(bob, u"general"_s, u"@Caroline"_s, 0, {}, {u"xcarol@example.org"_s, u"carol@example.orgx"_s});
    const Message gone = say(bob, u"general"_s, u"@Carol never mind"_s, 0, {}, {u"carol@example.org"_s});
    say(bob, u"general"_s, u"lunch?"_s);
    bob->send(DeleteMessage{gone.id});
    QVERIFY(bob->waitFor<MessageChange>());
    desktop->frames.clear();

    laptop->send(MarkRead{u"general"_s, {}, first.id});
    const std::optional<ReadMarker> followed = desktop->waitFor<ReadMarker>();
    QVERIFY(followed);
    QCOMPARE(followed->state.unread, 4);
    QCOMPARE(followed->state.mentions, 2);

    // At sign-in too; and an older client reading the frame sees what it knew.
    TestClient phone;
    QVERIFY(phone.open(m_server->port()));
    phone.send(
        Hello{User{u"Carol"_s, u"carol@example.org"_s}, Version, TestClient::defaultPassword(), {}, {}, {}});
    const std::optional<Welcome> welcome = phone.waitFor<Welcome>(20000);
    QVERIFY(welcome);
    QCOMPARE(welcome->conversations.size(), 1);
    QCOMPARE(welcome->conversations.at(0).unread, 4);
    QCOMPARE(welcome->conversations.at(0).mentions, 2);
    // Read to the end: none left.
    laptop->send(MarkRead{u"general"_s, {}, gone.id + 1});
    const std::optional<ReadMarker> done = desktop->waitFor<ReadMarker>();
    QVERIFY(done);
    QCOMPARE(done->state.unread, 0);
    QCOMPARE(done->state.mentions, 0);
}

void TestConversations::muteIsKeptForEveryDevice()
{
    TestClient *laptop = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    TestClient *desktop = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(laptop && desktop);
    laptop->send(MuteRequest{u"general"_s, {}, true});
    for (TestClient *device : {laptop, desktop}) {
        const std::optional<Muted> muted = device->waitFor<Muted>();
        QVERIFY(muted);
        QCOMPARE(muted->room, u"general"_s);
        QVERIFY(muted->muted);
    }
    laptop->send(MuteRequest{{}, u"bob@example.org"_s, true});
    QVERIFY(desktop->waitFor<Muted>());
    laptop->send(MuteRequest{{}, u"bob@example.org"_s, false});
    QVERIFY(desktop->waitFor<Muted>());
    // Not in the room: refused.
    laptop->send(MuteRequest{u"random"_s, {}, true});
    QCOMPARE(errorOf(laptop), std::optional<ErrorCode>(ErrorCode::NotInRoom));

    // Kept across a restart, told at sign-in.
    m_server->stop();
    QVERIFY(m_server->start());
    TestClient phone;
    QVERIFY(phone.open(m_server->port()));
    phone.send(
        Hello{User{u"Carol"_s, u"carol@example.org"_s}, Version, TestClient::defaultPassword(), {}, {}, {}});
    const std::optional<Welcome> welcome = phone.waitFor<Welcome>(20000);
    QVERIFY(welcome);
    QCOMPARE(welcome->conversations.size(), 2);
    for (const ConversationState &state : welcome->conversations)
        QCOMPARE(state.muted, state.room == u"general"_s);
}

void TestConversations::markersAndMutesCountAgainstTheRateLimit()
{
    // Each marker and mute is a write: a client cannot make the server write
    // faster than it may send messages.
    ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 5;
    config.rateBurst = 5;
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    TestClient *alice = signedIn(u"Alice"_s, u"alice@x.org"_s, {u"design"_s});
    QVERIFY(alice);
    for (int i = 1; i <= 30; ++i)
        alice->send(MarkRead{u"design"_s, {}, i});
    for (int i = 0; i < 10; ++i)
        alice->send(MuteRequest{u"design"_s, {}, i % 2 == 0});
    const std::optional<ErrorCode> refused = errorOf(alice);
    QVERIFY(refused);
    QCOMPARE(*refused, ErrorCode::RateLimited);
    QVERIFY(alice->isConnected()); // refused, not dropped
}

void TestConversations::historyAroundAMessage()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s, u"random"_s});
    QVERIFY(bob);
    QList<Message> said;
    for (int i = 0; i < 30; ++i)
        said.append(say(bob, i % 3 == 0 ? u"random"_s : u"general"_s, u"m%1"_s.arg(i)));
    QList<Message> general;
    for (const Message &message : std::as_const(said)) {
        if (message.room == u"general"_s)
            general.append(message);
    }
    bob->frames.clear();
    const qint64 target = general.at(10).id;
    bob->send(HistoryRequest{u"general"_s, {}, std::nullopt, std::nullopt, 6, target});
    std::optional<History> page = bob->waitFor<History>();
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 6);
    QCOMPARE(page->messages.at(3).id, target); // three before it, then it and two after
    QCOMPARE(page->messages.at(0).id, general.at(7).id);
    QCOMPARE(page->messages.at(5).id, general.at(12).id);
    QVERIFY(page->hasMore);
    QVERIFY(page->hasNewer);
    // Near the end there is nothing newer.
    bob->send(HistoryRequest{u"general"_s, {}, std::nullopt, std::nullopt, 6, general.last().id});
    page = bob->waitFor<History>();
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 4);
    QCOMPARE(page->messages.last().id, general.last().id);
    QVERIFY(!page->hasNewer);
    // A message of another conversation is not a place in this one.
    bob->send(HistoryRequest{u"general"_s, {}, std::nullopt, std::nullopt, 6, said.at(0).id});
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::NoSuchMessage));
    // around excludes before and after.
    bob->sendRaw(R"({"type":"history","room":"general","around":5,"before":9})");
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::BadField));
}

void TestConversations::mentionsAreCarried()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(bob && carol);
    SendMessage send{u"general"_s, {}, u"@Carol can you review?"_s, u"m-1"_s};
    send.mentions = {u"Carol@Example.org"_s};
    bob->send(send);
    const std::optional<ReceiveMessage> atCarol = carol->waitFor<ReceiveMessage>();
    QVERIFY(atCarol);
    QCOMPARE(atCarol->message.mentions, QStringList{u"carol@example.org"_s}); // as the server spells emails
    // Edits carry their own mentions.
    bob->send(EditMessage{atCarol->message.id,
                          u"@Carol @Dave can you review?"_s,
                          {u"carol@example.org"_s, u"dave@example.org"_s}});
    const std::optional<MessageChange> edited = carol->waitFor<MessageChange>();
    QVERIFY(edited);
    QCOMPARE(edited->message.mentions.size(), 2);
    // Not emails: refused.
    bob->frames.clear();
    bob->sendRaw(R"({"type":"send_message","room":"general","text":"hi","mentions":["carol"]})");
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::BadEmail));
    QString tooMany = u"["_s;
    for (int i = 0; i <= MaxMentions; ++i)
        tooMany += u"\"u%1@x.org\","_s.arg(i);
    tooMany.chop(1);
    bob->sendRaw(
        u"{\"type\":\"send_message\",\"room\":\"general\",\"text\":\"hi\",\"mentions\":%1]}"_s.arg(tooMany)
            .toUtf8());
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::BadField));
}

std::optional<SearchResults> TestConversations::search(TestClient *client, const QString &text,
                                                       std::function<void(SearchRequest &)> adjust)
{
    SearchRequest request;
    request.query = text;
    if (adjust)
        adjust(request);
    client->send(request);
    return client->waitFor<SearchResults>();
}

QStringList TestConversations::textsOf(const SearchResults &results)
{
    QStringList texts;
    for (const SearchHit &hit : results.results)
        texts.append(hit.message.text);
    texts.sort();
    return texts;
}

void TestConversations::searchFindsOnlyWhatTheReaderMayRead()
{
    TestClient *alice = signedIn(u"Alice"_s, u"alice@example.org"_s, {u"general"_s});
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(alice && bob && carol);
    say(alice, u"general"_s, u"budget in general"_s);
    say(alice, {}, u"budget between Alice and Bob"_s, 0, u"bob@example.org"_s);
    say(bob, {}, u"budget between Bob and Carol"_s, 0, u"carol@example.org"_s);
    alice->send(CreateRoom{u"board"_s, true});
    QVERIFY(alice->waitFor<History>());
    alice->send(InviteToRoom{u"board"_s, u"carol@example.org"_s});
    QVERIFY(carol->waitFor<RoomInvitation>());
    say(alice, u"board"_s, u"budget of the board"_s);
    alice->send(CreateRoom{u"hr"_s, true});
    QVERIFY(alice->waitFor<History>());
    say(alice, u"hr"_s, u"budget of hr"_s);
    say(alice, u"general"_s, u"nothing to see"_s);

    // Carol belongs to #board without having it open here: she may read it.
    std::optional<SearchResults> found = search(carol, u"budget"_s);
    QVERIFY(found);
    QCOMPARE(textsOf(*found), (QStringList{u"budget between Bob and Carol"_s, u"budget in general"_s,
                                           u"budget of the board"_s}));
    QCOMPARE(found->query, u"budget"_s);
    for (const SearchHit &hit : found->results) {
        QVERIFY(!hit.highlights.isEmpty());
        const auto [start, length] = hit.highlights.constFirst();
        QCOMPARE(hit.snippet.mid(start, length), u"budget"_s); // marked by offsets, not markup
    }
    // Removed from #board: its messages are gone from her results.
    alice->send(RemoveFromRoom{u"board"_s, u"carol@example.org"_s});
    alice->send(HistoryRequest{u"general"_s, {}, std::nullopt, std::nullopt, 1});
    QVERIFY(alice->waitFor<History>());
    found = search(carol, u"budget"_s);
    QVERIFY(found);
    QCOMPARE(textsOf(*found), (QStringList{u"budget between Bob and Carol"_s, u"budget in general"_s}));
    // Alice sees her rooms and conversations, Bob his.
    found = search(bob, u"budget"_s);
    QVERIFY(found);
    QCOMPARE(textsOf(*found), (QStringList{u"budget between Alice and Bob"_s,
                                           u"budget between Bob and Carol"_s, u"budget in general"_s}));
    // Only one conversation, when asked; a room not joined here is refused.
    found = search(carol, u"budget"_s, [](SearchRequest &r) { r.with = u"bob@example.org"_s; });
    QVERIFY(found);
    QCOMPARE(textsOf(*found), QStringList{u"budget between Bob and Carol"_s});
    carol->send(SearchRequest{u"budget"_s, u"hr"_s, {}, {}, {}, {}, 20, {}});
    QCOMPARE(errorOf(carol), std::optional<ErrorCode>(ErrorCode::NotInRoom));
}

void TestConversations::searchUnderstandsPrefixesPhrasesAndAccents()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    QVERIFY(bob);
    say(bob, u"general"_s, u"Crème brûlée for dessert"_s);
    say(bob, u"general"_s, u"creme brulee again"_s);
    say(bob, u"general"_s, u"the next quarter looks good"_s);
    say(bob, u"general"_s, u"quarter of the next one"_s);
    say(bob, u"general"_s, u"DEPLOYMENT tonight"_s);
    say(bob, u"general"_s, u"what's up? C++ and Qt 6.4"_s);

    std::optional<SearchResults> found = search(bob, u"crème"_s);
    QVERIFY(found);
    QCOMPARE(found->results.size(), 2); // with and without accents
    found = search(bob, u"CREME BRULEE"_s);
    QVERIFY(found);
    QCOMPARE(found->results.size(), 2);
    found = search(bob, u"deploy*"_s);
    QVERIFY(found);
    QCOMPARE(textsOf(*found), QStringList{u"DEPLOYMENT tonight"_s});
    found = search(bob, u"deploy"_s);
    QVERIFY(found);
    QVERIFY(found->results.isEmpty()); // a word, not a prefix
    found = search(bob, u"\"next quarter\""_s);
    QVERIFY(found);
    QCOMPARE(textsOf(*found), QStringList{u"the next quarter looks good"_s});
    found = search(bob, u"next quarter"_s);
    QVERIFY(found);
    QCOMPARE(found->results.size(), 2); // both words, anywhere
    // What people type, punctuation and all, is never FTS syntax.
    for (const QString &typed : {u"what's"_s, u"C++"_s, u"qt 6.4"_s, u"NEAR(next quarter)"_s, u"up? OR"_s}) {
        found = search(bob, typed);
        QVERIFY2(found, qPrintable(typed));
    }
    QCOMPARE(search(bob, u"what's"_s)->results.size(), 1);
}

void TestConversations::searchFollowsEditsAndDeletionsAtOnce()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    QVERIFY(bob);
    const Message message = say(bob, u"general"_s, u"the password is swordfish"_s);
    QCOMPARE(search(bob, u"swordfish"_s)->results.size(), 1);
    bob->send(EditMessage{message.id, u"the password is in the vault"_s, {}});
    QVERIFY(bob->waitFor<MessageChange>());
    QCOMPARE(search(bob, u"swordfish"_s)->results.size(), 0);
    const std::optional<SearchResults> vault = search(bob, u"vault"_s);
    QCOMPARE(vault->results.size(), 1);
    QVERIFY(vault->results.at(0).message.edited.isValid()); // as it is now
    bob->send(DeleteMessage{message.id});
    QVERIFY(bob->waitFor<MessageChange>());
    QCOMPARE(search(bob, u"vault"_s)->results.size(), 0);
    QCOMPARE(search(bob, u"password"_s)->results.size(), 0);
}

void TestConversations::searchPagesWithoutRepeats()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    QVERIFY(bob);
    for (int i = 0; i < 7; ++i)
        say(bob, u"general"_s, u"release %1 notes"_s.arg(i) + QString(i, u'!'));
    say(bob, u"general"_s, u"unrelated"_s);
    QSet<qint64> seen;
    QString cursor;
    int pages = 0;
    do {
        const std::optional<SearchResults> page = search(bob, u"release"_s, [&cursor](SearchRequest &r) {
            r.limit = 3;
            r.cursor = cursor;
        });
        QVERIFY(page);
        QVERIFY(page->results.size() <= 3);
        for (const SearchHit &hit : page->results) {
            QVERIFY2(!seen.contains(hit.message.id), "a result came twice");
            seen.insert(hit.message.id);
        }
        cursor = page->cursor;
        // Messages arriving meanwhile do not disturb the pages.
        say(bob, u"general"_s, u"release news"_s);
        ++pages;
    } while (!cursor.isEmpty() && pages < 10);
    QCOMPARE(seen.size(), 7);
    QCOMPARE(pages, 3);
    // A cursor pages the latest search of its connection only.
    const std::optional<SearchResults> first =
        search(bob, u"release"_s, [](SearchRequest &r) { r.limit = 2; });
    QVERIFY(first && !first->cursor.isEmpty());
    QVERIFY(search(bob, u"notes"_s));
    bob->send(SearchRequest{u"release"_s, {}, {}, {}, {}, {}, 2, first->cursor});
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::BadQuery));
    TestClient *other = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    QVERIFY(other);
    other->send(SearchRequest{u"notes"_s, {}, {}, {}, {}, {}, 2, first->cursor});
    QCOMPARE(errorOf(other), std::optional<ErrorCode>(ErrorCode::BadQuery));
}

void TestConversations::searchFilters()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s, u"random"_s});
    TestClient *carol = signedIn(u"Carol"_s, u"carol@example.org"_s, {u"general"_s});
    QVERIFY(bob && carol);
    say(bob, u"general"_s, u"lunch from bob"_s);
    say(carol, u"general"_s, u"lunch from carol"_s);
    say(bob, u"random"_s, u"lunch in random"_s);
    std::optional<SearchResults> found =
        search(bob, u"lunch"_s, [](SearchRequest &r) { r.from = u"Carol@Example.org"_s; });
    QCOMPARE(textsOf(*found), QStringList{u"lunch from carol"_s});
    found = search(bob, u"lunch"_s, [](SearchRequest &r) { r.room = u"random"_s; });
    QCOMPARE(textsOf(*found), QStringList{u"lunch in random"_s});
    found = search(bob, u"lunch"_s,
                   [](SearchRequest &r) { r.before = QDateTime::currentDateTimeUtc().addDays(-1); });
    QVERIFY(found->results.isEmpty());
    found = search(bob, u"lunch"_s,
                   [](SearchRequest &r) { r.after = QDateTime::currentDateTimeUtc().addDays(-1); });
    QCOMPARE(found->results.size(), 3);
    bob->sendRaw(R"({"type":"search","query":"lunch","before":"2026-12-01"})");
    QVERIFY(bob->waitFor<SearchResults>());
    bob->sendRaw(R"({"type":"search","query":"lunch","before":"yesterday"})");
    QCOMPARE(errorOf(bob), std::optional<ErrorCode>(ErrorCode::BadField));
}

void TestConversations::badQueriesAreRefused_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::newRow("unbalanced quote") << R"({"type":"search","query":"\"next quarter"})"_ba;
    QTest::newRow("no word") << R"({"type":"search","query":"!!! ** \"\""})"_ba;
    QTest::newRow("empty") << R"({"type":"search","query":""})"_ba;
    QTest::newRow("too long") << QByteArray(R"({"type":"search","query":")" + QByteArray(257, 'a') + R"("})");
    QTest::newRow("a cursor from nowhere") << R"({"type":"search","query":"a","cursor":"x1.2.3"})"_ba;
    QTest::newRow("a cursor of no search") << R"({"type":"search","query":"a","cursor":"1.20"})"_ba;
}

void TestConversations::badQueriesAreRefused()
{
    QFETCH(QByteArray, frame);
    TestClient *bob = signedIn(u"Bob"_s, u"bob@example.org"_s, {u"general"_s});
    QVERIFY(bob);
    say(bob, u"general"_s, u"a message"_s);
    bob->sendRaw(frame);
    const std::optional<Error> error = bob->waitFor<Error>();
    QVERIFY(error);
    QCOMPARE(error->code, ErrorCode::BadQuery);
    QCOMPARE(error->request, u"search"_s);
    // The connection goes on.
    QCOMPARE(search(bob, u"message"_s)->results.size(), 1);
}

void TestConversations::searchRefusesWhatWouldStallTheServer()
{
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s);
    QVERIFY(bob && bob->join(u"general"_s));
    say(bob, u"general"_s, u"abacus abbey abbot"_s);
    // 85 one-letter prefixes took 1.65 s on 300,000 messages, on the one thread.
    QStringList letters;
    for (int i = 0; i < 85; ++i)
        letters.append(QString(QChar(u'a' + i % 26)) + u'*');
    for (const QString &query : {u"a*"_s, u"ab*"_s, letters.join(u' '), QString(u"word "_s).repeated(17)}) {
        SearchRequest request;
        request.query = query;
        bob->send(request);
        const auto refused = bob->waitFor<Error>();
        QVERIFY2(refused, qPrintable(query));
        QCOMPARE(refused->code, ErrorCode::BadQuery);
        QCOMPARE(bob->count<SearchResults>(), 0);
    }
    const auto found = search(bob, u"abb*"_s);
    QVERIFY(found);
    QCOMPARE(found->results.size(), 1);
    // A search costs what ten messages do: a burst of them runs out long
    // before the 200 messages a burst allows (this suite's server has no
    // rate limit: one with the default one).
    TestServer withLimits(TestServer::defaultConfig());
    QVERIFY(withLimits.start());
    TestClient carol;
    QVERIFY(carol.open(withLimits.port()) && carol.hello(u"Carol"_s, u"carol@x.org"_s));
    bob = &carol;
    int answered = 0;
    std::optional<Error> limited;
    for (int i = 0; i < 40 && !limited; ++i) {
        SearchRequest request;
        request.query = u"abacus"_s;
        bob->send(request);
        QVERIFY(QTest::qWaitFor([bob] { return bob->count<SearchResults>() + bob->count<Error>() > 0; }));
        answered += bob->takeFirst<SearchResults>() ? 1 : 0;
        limited = bob->takeFirst<Error>();
    }
    QVERIFY2(limited, qPrintable(u"%1 searches in a row were all answered"_s.arg(answered)));
    QCOMPARE(limited->code, ErrorCode::RateLimited);
    QVERIFY2(answered < 20, qPrintable(QString::number(answered)));
}

void TestConversations::aLongSearchHoldsUpNobodyElse()
{
    // 30 searches of 1.65 s each from one account held the one event-loop
    // thread for 59 s: another user's echo waited as long.
    TestClient *ann = signedIn(u"Ann"_s, u"ann@x.org"_s, {u"general"_s});
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s, {u"general"_s});
    QVERIFY(ann && bob);
    say(ann, u"general"_s, u"the quarterly numbers"_s);
    ann->frames.clear();
    m_server->store()->setSearchStallForTesting(std::chrono::milliseconds(1500));
    SearchRequest request;
    request.query = u"quarterly"_s;
    ann->send(request);
    ann->send(SendMessage{u"general"_s, {}, u"after my search"_s, u"ann-after"_s});

    // Bob is answered while Ann's search is read.
    QCOMPARE(say(bob, u"general"_s, u"meanwhile"_s).text, u"meanwhile"_s);
    QCOMPARE(ann->count<SearchResults>(), 0);
    const auto indexOf = [ann](const std::function<bool(const Codec::ServerFrame &)> &holds) {
        const auto it = std::find_if(ann->frames.cbegin(), ann->frames.cend(), holds);
        return it == ann->frames.cend() ? qsizetype(-1) : it - ann->frames.cbegin();
    };
    const auto isHers = [](const Codec::ServerFrame &frame) {
        const auto *received = std::get_if<ReceiveMessage>(&frame);
        return received && received->message.clientId == u"ann-after"_s;
    };
    QCOMPARE(indexOf(isHers), -1); // what she sent after the search waits for its answer

    // Then her answers, in the order she asked.
    QVERIFY(ann->waitFor<SearchResults>(10000));
    QTRY_VERIFY(indexOf(isHers) >= 0);
    QVERIFY(indexOf([](const Codec::ServerFrame &frame) {
                return std::holds_alternative<SearchResults>(frame);
            }) < indexOf(isHers));
    m_server->store()->setSearchStallForTesting(std::chrono::milliseconds(0));
}

void TestConversations::aSearchPastTheTimeLimitIsRefused()
{
    ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 0;
    config.readTimeLimit = std::chrono::milliseconds(300);
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    TestClient *ann = signedIn(u"Ann"_s, u"ann@x.org"_s, {u"general"_s});
    QVERIFY(ann);
    // Enough matches that reading them takes SQLite past its first progress check.
    for (int i = 0; i < 300; ++i)
        ann->send(SendMessage{u"general"_s, {}, u"quarterly report %1"_s.arg(i), u"q-%1"_s.arg(i)});
    QTRY_COMPARE_WITH_TIMEOUT(ann->count<ReceiveMessage>(), 300, 20000);

    m_server->store()->setSearchStallForTesting(std::chrono::milliseconds(600));
    SearchRequest request;
    request.query = u"quarterly"_s;
    ann->send(request);
    const auto refused = ann->waitFor<Error>(10000);
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::BadQuery);
    QVERIFY2(refused->message.contains(u"too long"_s), qPrintable(refused->message));
    QCOMPARE(ann->count<SearchResults>(), 0);

    // The reader's connection is fine for the next one.
    m_server->store()->setSearchStallForTesting(std::chrono::milliseconds(0));
    const auto found = search(ann, u"quarterly"_s);
    QVERIFY(found);
    QVERIFY(!found->results.isEmpty());
}

void TestConversations::busyReadersAnswerRateLimited()
{
    ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 0;
    config.readerThreads = 1;
    config.maxQueuedReads = 1;
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    QList<TestClient *> people;
    for (const QString &name : {u"Ann"_s, u"Bob"_s, u"Carol"_s, u"Dan"_s}) {
        TestClient *client = signedIn(name, name.toLower() + u"@x.org"_s, {u"general"_s});
        QVERIFY(client);
        people.append(client);
    }
    say(people.constFirst(), u"general"_s, u"the quarterly numbers"_s);
    m_server->store()->setSearchStallForTesting(std::chrono::milliseconds(1000));
    SearchRequest request;
    request.query = u"quarterly"_s;
    for (TestClient *client : std::as_const(people)) {
        client->frames.clear();
        client->send(request);
    }
    // One runs, one waits, the others are told the server is busy, at once.
    int refused = 0;
    for (TestClient *client : std::as_const(people)) {
        QVERIFY(QTest::qWaitFor(
            [client] { return client->count<SearchResults>() + client->count<Error>() > 0; }, 10000));
        if (const auto error = client->takeFirst<Error>()) {
            QCOMPARE(error->code, ErrorCode::RateLimited);
            QVERIFY2(error->message.contains(u"busy"_s), qPrintable(error->message));
            ++refused;
        }
    }
    QVERIFY2(refused >= 2 && refused <= 3, qPrintable(QString::number(refused)));
    QCOMPARE(people.constFirst()->count<SearchResults>(), 1); // the first is always among those answered

    // Once they are free, everyone is answered again.
    m_server->store()->setSearchStallForTesting(std::chrono::milliseconds(0));
    for (TestClient *client : std::as_const(people)) {
        client->frames.clear();
        const auto found = search(client, u"quarterly"_s);
        QVERIFY(found);
        QCOMPARE(found->results.size(), 1);
    }
}

void TestConversations::leavingDuringASearchHarmsNobody()
{
    TestClient *ann = signedIn(u"Ann"_s, u"ann@x.org"_s, {u"general"_s});
    TestClient *bob = signedIn(u"Bob"_s, u"bob@x.org"_s, {u"general"_s});
    QVERIFY(ann && bob);
    say(ann, u"general"_s, u"the quarterly numbers"_s);
    m_server->store()->setSearchStallForTesting(std::chrono::milliseconds(500));
    SearchRequest request;
    request.query = u"quarterly"_s;
    ann->send(request);
    ann->send(SendMessage{u"general"_s, {}, u"never handled"_s, u"gone-1"_s});
    ann->socket().abort(); // gone while the reader works for her
    QTRY_COMPARE(m_server->server()->sessionCount(), 1);
    // Her answer has nobody to go to; Bob's search comes after it on the same reader.
    const auto found = search(bob, u"quarterly"_s);
    QVERIFY(found);
    QCOMPARE(found->results.size(), 1);
    m_server->store()->setSearchStallForTesting(std::chrono::milliseconds(0));
    QCOMPARE(say(bob, u"general"_s, u"still here"_s).text, u"still here"_s);
    QCOMPARE(m_server->databaseValue(u"SELECT COUNT(*) FROM messages WHERE client_id = 'gone-1'"_s).toInt(),
             0);
}

QTEST_GUILESS_MAIN(TestConversations)
#include "tst_conversations.moc"
