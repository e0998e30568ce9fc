// The store's behaviour behind MessageStore and AccountStore, the same
// suite for every backend: CTest runs it once on SQLite
// (tst_messagestore_sqlite) and once on a PostgreSQL it starts itself
// (tst_messagestore_postgresql, NATTER_TEST_POSTGRESQL_URL_FILE names the
// file holding its address). What only one backend has (SQLite's file, lock
// and WAL; PostgreSQL's several writers and lost connections) is tested in
// tst_sqlitemessagestore and tst_postgresstore.
#include "server/sqlmessagestore.h"
#include "tests/support/drafts.h"
#include "tests/support/storelocation.h"

#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;
using namespace TestDrafts;

namespace {

bool strictlyIncreasing(const QList<qint64> &values)
{
    return std::adjacent_find(values.begin(), values.end(), std::greater_equal<qint64>()) == values.end();
}

} // namespace

class TestMessageStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void keepsItsServerIdentity();
    void appendAssignsIncreasingIdsAndTimestamps();
    void sameClientIdIsStoredOnce();
    void emptyBatchIsFine();
    void latestBeforeAndAfter();
    void pageAroundAMessage();
    void directConversationIsSymmetric();
    void persistsAcrossReopen();
    void heldDirectMessagesAreReleasedOnce();
    void retentionDeletesTheOldestInBatches();
    void readMarkersNeverGoBackAndCountUnread();
    void readMarkersPerUserAreBounded();
    void changesTakeIncreasingSequenceNumbers();
    void repliesQuoteTheOriginalAsItIsNow();
    void searchFindsWordsWhateverTheirCaseAndAccents();
    void searchShowsOnlyWhatTheReaderMayRead();
    void accountsTokensAndInvites();
    void privateRoomsAndTheDirectory();
    void filesAreKeptOncePerContent();
    void thumbnailsCountInTheQuota();
    void aWriterConnectionSharesTheStore();

private:
    std::unique_ptr<SqlMessageStore> openStore();
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<TestStoreLocation> m_location;
};

void TestMessageStore::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_location = std::make_unique<TestStoreLocation>(m_dir->path());
    QVERIFY2(m_location->reset(), qPrintable(m_location->errorString()));
}

void TestMessageStore::cleanup()
{
    m_location.reset();
}

std::unique_ptr<SqlMessageStore> TestMessageStore::openStore()
{
    auto store = std::make_unique<SqlMessageStore>(m_location->location());
    if (!store->open()) {
        qWarning().noquote() << store->errorString();
        return nullptr;
    }
    return store;
}

void TestMessageStore::keepsItsServerIdentity()
{
    QString first;
    {
        const auto store = openStore();
        QVERIFY(store);
        first = store->serverId();
        QVERIFY(QRegularExpression(u"^[0-9a-f]{32}$"_s).match(first).hasMatch());
    }
    {
        const auto again = openStore();
        QVERIFY(again);
        QCOMPARE(again->serverId(), first); // for as long as the database lives
    }
    QVERIFY(m_location->reset());
    const auto other = openStore();
    QVERIFY(other);
    QVERIFY(other->serverId() != first);
}

void TestMessageStore::appendAssignsIncreasingIdsAndTimestamps()
{
    const auto store = openStore();
    QVERIFY(store);
    QCOMPARE(store->lastId(), 0);
    const auto first = store->append({roomDraft(u"one"_s), roomDraft(u"two"_s)});
    QVERIFY(first);
    QCOMPARE(first->size(), 2);
    QVERIFY(first->at(0).message.id > 0);
    QVERIFY(first->at(1).message.id > first->at(0).message.id);
    QVERIFY(first->at(0).message.timestamp.isValid());
    QCOMPARE(first->at(0).message.timestamp.timeSpec(), Qt::UTC);
    QVERIFY(!first->at(0).duplicate);
    const auto second = store->append({roomDraft(u"three"_s)});
    QVERIFY(second->at(0).message.id > first->at(1).message.id);
    QVERIFY(second->at(0).message.timestamp >= first->at(1).message.timestamp);
    QCOMPARE(store->lastId(), second->at(0).message.id);
}

void TestMessageStore::sameClientIdIsStoredOnce()
{
    const auto store = openStore();
    QVERIFY(store);
    const auto first = store->append({roomDraft(u"hello"_s, Bob, u"c-1"_s)});
    QVERIFY(first);
    // Same batch and a later batch: both answer with the original.
    const auto again =
        store->append({roomDraft(u"hello"_s, Bob, u"c-1"_s), roomDraft(u"hello"_s, Carol, u"c-1"_s),
                       roomDraft(u"hello again"_s, Bob, u"c-1"_s)});
    QVERIFY(again);
    QCOMPARE(again->at(0).message.id, first->at(0).message.id);
    QVERIFY(again->at(0).duplicate);
    QCOMPARE(again->at(0).message.timestamp, first->at(0).message.timestamp);
    QVERIFY(!again->at(1).duplicate); // another sender's c-1 is another message
    QVERIFY(again->at(1).message.id > first->at(0).message.id);
    QVERIFY(again->at(2).duplicate);
    QCOMPARE(again->at(2).message.text, u"hello"_s);
    const auto page = store->history(HistoryQuery{u"codeial"_s, {}, {}, {}, {}, 50});
    QCOMPARE(page->messages.size(), 2);
    const auto byClientId = store->messageByClientId(Bob.email, u"c-1"_s);
    QVERIFY(byClientId && *byClientId);
    QCOMPARE((*byClientId)->id, first->at(0).message.id);
}

void TestMessageStore::emptyBatchIsFine()
{
    const auto store = openStore();
    QVERIFY(store);
    const auto stored = store->append({});
    QVERIFY(stored);
    QVERIFY(stored->isEmpty());
}

void TestMessageStore::latestBeforeAndAfter()
{
    const auto store = openStore();
    QVERIFY(store);
    QList<MessageDraft> drafts;
    for (int i = 1; i <= 120; ++i)
        drafts.append(roomDraft(QString::number(i)));
    drafts.append(directDraft(u"not in the room"_s, Bob, Carol));
    const auto stored = store->append(drafts);
    QVERIFY(stored);
    const auto idOf = [&](int n) { return stored->at(n - 1).message.id; }; // the nth message

    HistoryQuery query;
    query.room = u"codeial"_s;
    query.limit = 50;
    auto page = store->history(query);
    QCOMPARE(page->messages.size(), 50);
    QCOMPARE(page->messages.first().id, idOf(71)); // the latest 50, oldest first
    QCOMPARE(page->messages.last().id, idOf(120));
    QVERIFY(strictlyIncreasing(idsOf(page->messages)));
    QVERIFY(page->hasMore);

    query.before = idOf(71);
    page = store->history(query);
    QCOMPARE(page->messages.first().id, idOf(21));
    QCOMPARE(page->messages.last().id, idOf(70));
    QVERIFY(page->hasMore);
    query.before = idOf(21);
    page = store->history(query);
    QCOMPARE(page->messages.size(), 20);
    QVERIFY(!page->hasMore);

    query.before.reset();
    query.after = idOf(100);
    page = store->history(query);
    QCOMPARE(page->messages.size(), 20);
    QCOMPARE(page->messages.first().id, idOf(101));
    QVERIFY(!page->hasMore);
    query.after = 0;
    query.limit = 10;
    page = store->history(query);
    QCOMPARE(page->messages.first().id, idOf(1));
    QCOMPARE(page->messages.last().id, idOf(10));
    QVERIFY(page->hasMore);
    QCOMPARE(page->messages.first().room, u"codeial"_s);
    QCOMPARE(page->messages.first().from, Bob);
    QCOMPARE(page->messages.first().text, u"1"_s);
}

void TestMessageStore::pageAroundAMessage()
{
    const auto store = openStore();
    QVERIFY(store);
    QList<MessageDraft> drafts;
    for (int i = 1; i <= 30; ++i)
        drafts.append(roomDraft(QString::number(i)));
    const auto stored = store->append(drafts);
    QVERIFY(stored);
    HistoryQuery query;
    query.room = u"codeial"_s;
    query.limit = 10;
    query.around = stored->at(14).message.id; // "15"
    const auto page = store->history(query);
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 10);
    QCOMPARE(page->messages.first().text, u"10"_s); // five before, the message, four after
    QCOMPARE(page->messages.at(5).text, u"15"_s);
    QCOMPARE(page->messages.last().text, u"19"_s);
    QVERIFY(page->hasMore);
    QVERIFY(page->hasNewer);
}

void TestMessageStore::directConversationIsSymmetric()
{
    const auto store = openStore();
    QVERIFY(store);
    QVERIFY(store->append({directDraft(u"hi Carol"_s, Bob, Carol), directDraft(u"hi Bob"_s, Carol, Bob),
                           directDraft(u"note to self"_s, Bob, Bob)}));
    HistoryQuery query;
    query.userA = Carol.email;
    query.userB = Bob.email;
    const auto page = store->history(query);
    QCOMPARE(page->messages.size(), 2);
    QCOMPARE(page->messages.at(0).to, Carol.email);
    QCOMPARE(page->messages.at(0).from, Bob);
    QVERIFY(page->messages.at(0).isDirect());
    QCOMPARE(page->messages.at(1).to, Bob.email);
    query.userA = query.userB = Bob.email;
    QCOMPARE(store->history(query)->messages.size(), 1);
}

void TestMessageStore::persistsAcrossReopen()
{
    qint64 lastId = 0;
    {
        const auto store = openStore();
        QVERIFY(store);
        const auto stored = store->append({roomDraft(u"kept"_s, Bob, u"c-1"_s), roomDraft(u"also kept"_s)});
        QVERIFY(stored);
        lastId = stored->at(1).message.id;
    }
    const auto store = openStore();
    QVERIFY(store);
    QCOMPARE(store->lastId(), lastId);
    const auto page = store->history(HistoryQuery{u"codeial"_s, {}, {}, {}, {}, 50});
    QCOMPARE(page->messages.size(), 2);
    QCOMPARE(page->messages.at(0).text, u"kept"_s);
    QCOMPARE(page->messages.at(0).clientId, u"c-1"_s);
    // Idempotency holds across restarts, and ids continue.
    const auto again = store->append({roomDraft(u"kept"_s, Bob, u"c-1"_s), roomDraft(u"new"_s)});
    QVERIFY(again->at(0).duplicate);
    QCOMPARE(again->at(0).message.id, page->messages.at(0).id);
    QVERIFY(again->at(1).message.id > lastId);
}

void TestMessageStore::heldDirectMessagesAreReleasedOnce()
{
    const auto store = openStore();
    QVERIFY(store);
    QVERIFY(store->append({directDraft(u"while you were out"_s, Bob, Carol, true),
                           directDraft(u"delivered live"_s, Bob, Carol, false),
                           directDraft(u"second"_s, Bob, Carol, true)}));
    // Read in pages past a cursor, they stay held until released.
    const auto page = store->heldDirectMessages(Carol.email, 0, 1);
    QVERIFY(page && page->size() == 1);
    const auto next = store->heldDirectMessages(Carol.email, page->constFirst().id, 100);
    QVERIFY(next && next->size() == 1);
    QCOMPARE(next->constFirst().text, u"second"_s);
    QCOMPARE(store->heldCount(Carol.email), 2);
    QCOMPARE(store->heldRecipients(), (QSet<QString>{Carol.email}));
    const auto first = store->takeHeldDirectMessages(Carol.email, 1); // a page at a time
    QVERIFY(first);
    QCOMPARE(first->size(), 1);
    QCOMPARE(first->at(0).text, u"while you were out"_s);
    const auto rest = store->takeHeldDirectMessages(Carol.email, 100);
    QVERIFY(rest);
    QCOMPARE(rest->size(), 1);
    QCOMPARE(rest->at(0).text, u"second"_s);
    QVERIFY(store->takeHeldDirectMessages(Carol.email, 100)->isEmpty());
    QVERIFY(store->takeHeldDirectMessages(Bob.email, 100)->isEmpty());
    // Held after all (Carol went offline before the commit), then deleted: never delivered.
    const auto late = store->append({directDraft(u"late"_s, Bob, Carol)});
    QVERIFY(late);
    QVERIFY(store->holdDirectMessages(Carol.email, {late->at(0).message.id}));
    QCOMPARE(store->heldCount(Carol.email), 1);
    QVERIFY(store->deleteMessage(late->at(0).message.id));
    QCOMPARE(store->heldCount(Carol.email), 0);
}

void TestMessageStore::retentionDeletesTheOldestInBatches()
{
    const auto store = openStore();
    QVERIFY(store);
    QList<MessageDraft> old;
    for (int i = 0; i < 2500; ++i)
        old.append(roomDraft(u"old %1"_s.arg(i)));
    old.append(directDraft(u"held long ago"_s, Bob, Carol, true));
    QVERIFY(store->append(old));
    const qint64 lastOld = store->lastId();
    // Forty days ago, as far as the store can tell.
    QVERIFY2(
        m_location->execute(
            u"UPDATE messages SET ts = ts - %1 WHERE id <= %2"_s.arg(40LL * 24 * 3600 * 1000).arg(lastOld)),
        qPrintable(m_location->errorString()));
    QVERIFY(store->append({roomDraft(u"recent"_s), directDraft(u"held today"_s, Bob, Carol, true)}));

    const qint64 cutoff = QDateTime::currentMSecsSinceEpoch() - 30LL * 24 * 3600 * 1000;
    QList<int> batches;
    for (std::optional<int> deleted = store->deleteOlderThan(cutoff, 1000); deleted && *deleted > 0;
         deleted = store->deleteOlderThan(cutoff, 1000))
        batches.append(*deleted);
    QCOMPARE(batches, (QList<int>{1000, 1000, 501}));
    QCOMPARE(m_location->value(u"SELECT COUNT(*) FROM messages"_s).toInt(), 2);
    HistoryQuery latest;
    latest.room = u"codeial"_s;
    const auto page = store->history(latest);
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 1);
    QCOMPARE(page->messages.at(0).text, u"recent"_s);
    // The held message that was too old went with its message; today's stays held.
    const auto held = store->takeHeldDirectMessages(Carol.email, 100);
    QVERIFY(held);
    QCOMPARE(held->size(), 1);
    QCOMPARE(held->at(0).text, u"held today"_s);
}

void TestMessageStore::readMarkersNeverGoBackAndCountUnread()
{
    const auto store = openStore();
    QVERIFY(store);
    const auto stored = store->append({roomDraft(u"1"_s, Carol), roomDraft(u"2"_s, Carol),
                                       roomDraft(u"mine"_s, Bob), roomDraft(u"3"_s, Carol)});
    QVERIFY(stored);
    const ConversationId room = ConversationId::ofRoom(u"codeial"_s);
    auto state = store->markRead(Bob.email, room, stored->at(0).message.id);
    QVERIFY(state);
    QCOMPARE(state->room, u"codeial"_s);
    QCOMPARE(state->readId, stored->at(0).message.id);
    QCOMPARE(state->unread, 2); // Bob's own message is not unread to him
    state = store->markRead(Bob.email, room, stored->at(3).message.id);
    QCOMPARE(state->unread, 0);
    state = store->markRead(Bob.email, room, stored->at(1).message.id); // another device, behind
    QCOMPARE(state->readId, stored->at(3).message.id);
    state = store->setMuted(Bob.email, room, true);
    QVERIFY(state && state->muted);
    QCOMPARE(state->readId, stored->at(3).message.id);
    const auto direct = store->markRead(Carol.email, ConversationId::between(Carol.email, Bob.email), 0);
    QVERIFY(direct);
    QCOMPARE(direct->with, Bob.email);
    const auto states = store->conversationStates(Bob.email);
    QVERIFY(states);
    QCOMPARE(states->size(), 1);
    QVERIFY(states->at(0).muted);
}

void TestMessageStore::readMarkersPerUserAreBounded()
{
    // Someone who reads in room after room keeps the markers read last (and
    // every mute); nobody else loses any.
    const auto store = openStore();
    QVERIFY(store);
    constexpr int Cap = SqlMessageStore::MaxConversationStates;
    QVERIFY(store->setMuted(u"alice@x.org"_s, ConversationId::ofRoom(u"muted"_s), true));
    QVERIFY(store->markRead(u"bob@x.org"_s, ConversationId::ofRoom(u"room-0"_s), 1));
    for (int i = 0; i < Cap + 20; ++i)
        QVERIFY(store->markRead(u"alice@x.org"_s, ConversationId::ofRoom(u"room-%1"_s.arg(i)), 100 + i));
    const auto states = store->conversationStates(u"alice@x.org"_s);
    QVERIFY(states);
    QCOMPARE(states->size(), Cap);
    QList<QString> rooms;
    for (const auto &state : *states)
        rooms.append(state.room);
    QVERIFY(rooms.contains(u"muted"_s));
    QVERIFY(rooms.contains(u"room-%1"_s.arg(Cap + 19)));
    QVERIFY(!rooms.contains(u"room-0"_s)); // read longest ago
    QCOMPARE(store->conversationStates(u"bob@x.org"_s)->size(), 1);
}

void TestMessageStore::changesTakeIncreasingSequenceNumbers()
{
    auto store = openStore();
    QVERIFY(store);
    const auto stored = store->append({roomDraft(u"one"_s), roomDraft(u"two"_s), roomDraft(u"three"_s)});
    QVERIFY(stored);
    const qint64 one = stored->at(0).message.id;
    const qint64 two = stored->at(1).message.id;
    const qint64 three = stored->at(2).message.id;
    const std::optional<MessageUpdate> edited = store->editMessage(one, u"one!"_s, {});
    QVERIFY(edited && edited->changed);
    QCOMPARE(edited->message.text, u"one!"_s);
    QVERIFY(edited->message.edited.isValid());
    const std::optional<MessageUpdate> deleted = store->deleteMessage(two);
    QVERIFY(deleted && deleted->changed);
    // Nothing to change: nothing changed.
    const std::optional<MessageUpdate> again = store->react(three, Bob, u"👍"_s, false);
    QVERIFY(again);
    QVERIFY(!again->changed);
    const std::optional<MessageUpdate> reacted = store->react(three, Carol, u"👍"_s, true);
    QVERIFY(reacted && reacted->changed);
    QCOMPARE(reacted->message.reactions.size(), 1);
    QCOMPARE(reacted->message.reactions.at(0).users, (QList<User>{Carol}));
    const QList<qint64> seqs{edited->changeSeq, deleted->changeSeq, reacted->changeSeq};
    QVERIFY(seqs.at(0) > 0);
    QVERIFY(strictlyIncreasing(seqs));
    QCOMPARE(store->lastChangeSeq(), seqs.last());
    // A deleted message takes nothing more.
    QVERIFY(!store->editMessage(two, u"back"_s, {}));
    const std::optional<MessageUpdate> onDeleted = store->react(two, Bob, u"👍"_s, true);
    QVERIFY(onDeleted);
    QVERIFY(!onDeleted->changed);
    QVERIFY(onDeleted->message.reactions.isEmpty());
    ChangesQuery query;
    query.conversation = ConversationId::ofRoom(u"codeial"_s);
    std::optional<ChangesPage> page = store->changes(query);
    QVERIFY(page);
    QCOMPARE(page->seqs, seqs);
    QCOMPARE(page->messages.at(1).text, QString());
    QVERIFY(page->messages.at(1).deleted);
    query.after = seqs.at(0);
    query.limit = 1;
    page = store->changes(query);
    QCOMPARE(page->seqs, QList<qint64>{seqs.at(1)});
    QVERIFY(page->hasMore);
    // Kept across a reopen; the deleted text is nowhere in the database.
    store.reset();
    store = openStore();
    QVERIFY(store);
    QCOMPARE(store->lastChangeSeq(), seqs.last());
    QCOMPARE(m_location->value(u"SELECT COUNT(*) FROM messages WHERE text = 'two'"_s).toInt(), 0);
}

void TestMessageStore::repliesQuoteTheOriginalAsItIsNow()
{
    const auto store = openStore();
    QVERIFY(store);
    const auto original = store->append({roomDraft(u"first line\nsecond line"_s, Carol)});
    QVERIFY(original);
    const qint64 id = original->at(0).message.id;
    MessageDraft reply = roomDraft(u"agreed"_s);
    reply.message.reply.id = id;
    reply.message.mentions = QStringList{Carol.email};
    MessageDraft elsewhere = roomDraft(u"quoting across rooms"_s, Bob, {}, u"other"_s);
    elsewhere.message.reply.id = id;
    const auto replies = store->append({reply, elsewhere});
    QVERIFY(replies);
    QCOMPARE(replies->at(0).message.reply.text, u"first line"_s);
    QCOMPARE(replies->at(0).message.reply.from, Carol);
    QVERIFY(replies->at(1).message.reply.deleted); // another conversation's message is not quoted
    QVERIFY(store->editMessage(id, u"better line"_s, {}));
    auto stored = store->message(replies->at(0).message.id);
    QVERIFY(stored && *stored);
    QCOMPARE((*stored)->reply.text, u"better line"_s);
    QCOMPARE((*stored)->mentions, QStringList{Carol.email});
    QVERIFY(store->deleteMessage(id));
    stored = store->message(replies->at(0).message.id);
    QVERIFY((*stored)->reply.deleted);
    QVERIFY((*stored)->reply.text.isEmpty());
    QVERIFY(store->message(id + 1000) && !*store->message(id + 1000)); // none: an empty answer, no failure
}

void TestMessageStore::searchFindsWordsWhateverTheirCaseAndAccents()
{
    const auto store = openStore();
    QVERIFY(store);
    const auto stored =
        store->append({roomDraft(u"Le café est prêt"_s), roomDraft(u"nothing here"_s),
                       roomDraft(u"the Cafeteria opens at noon"_s, Carol), roomDraft(u"deleted café"_s)});
    QVERIFY(stored);
    QVERIFY(store->deleteMessage(stored->at(3).message.id));
    SearchQuery query;
    query.reader = Bob.email;
    query.rooms = QStringList{u"codeial"_s};
    query.terms = *SearchSyntax::parse(u"CAFE"_s);
    auto ids = store->search(query);
    QVERIFY(ids);
    QCOMPARE(*ids, QList<qint64>{stored->at(0).message.id});
    query.terms = *SearchSyntax::parse(u"caf*"_s);
    ids = store->search(query);
    QCOMPARE(ids->size(), 2);
    query.from = Carol.email;
    ids = store->search(query);
    QCOMPARE(*ids, QList<qint64>{stored->at(2).message.id});
    query.from.clear();
    query.terms = *SearchSyntax::parse(u"\"est prêt\""_s);
    ids = store->search(query);
    QCOMPARE(*ids, QList<qint64>{stored->at(0).message.id});
    // Whatever is typed is words, never the engine's query syntax.
    for (const QString &typed : {u"it's"_s, u"a & b | !c"_s, u"\"\\\\\""_s, u"x:* ("_s, u"NEAR(a b)"_s}) {
        const auto terms = SearchSyntax::parse(typed);
        if (!terms)
            continue;
        query.terms = *terms;
        QVERIFY2(store->search(query), qPrintable(typed + u": "_s + store->errorString()));
    }
    query.terms = *SearchSyntax::parse(u"prêt"_s);
    const auto hits = store->searchHits(query, {stored->at(0).message.id});
    QVERIFY(hits);
    QCOMPARE(hits->size(), 1);
    const Protocol::SearchHit &hit = hits->at(0);
    QCOMPARE(hit.message.text, u"Le café est prêt"_s);
    QVERIFY2(hit.snippet.contains(u"prêt"_s), qPrintable(hit.snippet));
    QCOMPARE(hit.highlights.size(), 1);
    QCOMPARE(hit.snippet.mid(hit.highlights.at(0).first, hit.highlights.at(0).second), u"prêt"_s);
}

void TestMessageStore::searchShowsOnlyWhatTheReaderMayRead()
{
    const auto store = openStore();
    QVERIFY(store);
    const auto stored =
        store->append({roomDraft(u"secret plan"_s, Carol, {}, u"private"_s),
                       directDraft(u"secret between us"_s, Bob, Carol),
                       directDraft(u"secret for Dave"_s, Carol, User{u"Dave"_s, u"dave@x.org"_s}),
                       roomDraft(u"public secret"_s)});
    QVERIFY(stored);
    SearchQuery query;
    query.reader = Bob.email;
    query.rooms = QStringList{u"codeial"_s};
    query.terms = *SearchSyntax::parse(u"secret"_s);
    auto ids = store->search(query);
    QVERIFY(ids);
    std::sort(ids->begin(), ids->end());
    QCOMPARE(*ids, (QList<qint64>{stored->at(1).message.id, stored->at(3).message.id}));
    query.only = ConversationId::between(Bob.email, Carol.email);
    QCOMPARE(*store->search(query), QList<qint64>{stored->at(1).message.id});
    // A page of ids asked for later shows only what still matches and may be read.
    query.only.reset();
    const auto hits = store->searchHits(
        query, {stored->at(0).message.id, stored->at(2).message.id, stored->at(3).message.id});
    QVERIFY(hits);
    QCOMPARE(hits->size(), 1);
    QCOMPARE(hits->at(0).message.id, stored->at(3).message.id);
}

void TestMessageStore::accountsTokensAndInvites()
{
    const auto store = openStore();
    QVERIFY(store);
    AccountStore *accounts = store->accounts();
    QVERIFY(accounts);
    QVERIFY(accounts->createAccount(Account{Bob.email, u"Bob Builder"_s, u"$argon2id$hash"_s, false, {}}));
    QVERIFY(!accounts->createAccount(Account{Bob.email, u"Impostor"_s, {}, false, {}}));
    QVERIFY(accounts->createAccount(Account{Carol.email, u"Carol Singer"_s, {}, false, {}}));
    Account account;
    QCOMPARE(accounts->findAccount(Bob.email, &account), AccountStore::Found::Yes);
    QCOMPARE(account.name, u"Bob Builder"_s);
    QCOMPARE(account.passwordHash, u"$argon2id$hash"_s);
    QVERIFY(account.created.isValid());
    QCOMPARE(accounts->findAccount(u"nobody@x.org"_s, &account), AccountStore::Found::No);
    QCOMPARE(accounts->findAccount(Carol.email, &account), AccountStore::Found::Yes);
    QVERIFY(account.passwordHash.isEmpty());
    QVERIFY(accounts->setName(Carol.email, u"Carol Choir"_s));
    QVERIFY(!accounts->setPasswordHash(u"nobody@x.org"_s, u"x"_s));
    const auto found = accounts->findAccounts(u"cho"_s, 0, 10); // a word of the name
    QVERIFY(found);
    QCOMPARE(found->size(), 1);
    QCOMPARE(found->at(0).email, Carol.email);
    QCOMPARE(accounts->findAccounts(u"bob@"_s, 0, 10)->size(), 1);
    QCOMPARE(accounts->findAccounts(QString(), 0, 10)->size(), 2);
    QVERIFY(accounts->setDisabled(Carol.email, true));
    QCOMPARE(accounts->findAccounts(QString(), 0, 10)->size(), 1);

    const QByteArray hash(32, '\xfe'); // every byte value must survive
    const auto tokenId = accounts->addToken(Bob.email, hash, u"laptop"_s);
    QVERIFY(tokenId);
    const auto second = accounts->addToken(Bob.email, QByteArray(32, '\0'), QString());
    QVERIFY(second && *second > *tokenId);
    DeviceToken token;
    QCOMPARE(accounts->findToken(hash, &token), AccountStore::Found::Yes);
    QCOMPARE(token.id, *tokenId);
    QCOMPARE(token.device, u"laptop"_s);
    QVERIFY(accounts->touchToken(*tokenId));
    QCOMPARE(accounts->tokens(Bob.email)->size(), 2);
    QCOMPARE(accounts->revokeTokens(Bob.email, *tokenId), 1);
    QVERIFY(accounts->revokeToken(*tokenId));
    QVERIFY(!accounts->revokeToken(*tokenId));
    QCOMPARE(accounts->findToken(hash, &token), AccountStore::Found::No);

    QVERIFY(accounts->createInvite(Invite{u"code-1"_s, 2, {}, {}}));
    QVERIFY(!accounts->createInvite(Invite{u"code-1"_s, 5, {}, {}}));
    QVERIFY(accounts->createInvite(Invite{u"expired"_s, 1, QDateTime::currentDateTimeUtc().addSecs(-1), {}}));
    QVERIFY(!accounts->isInviteValid(u"expired"_s));
    QVERIFY(accounts->useInvite(u"code-1"_s));
    QVERIFY(accounts->useInvite(u"code-1"_s));
    QVERIFY(!accounts->useInvite(u"code-1"_s)); // no uses left
    QCOMPARE(accounts->invites()->size(), 2);
    QVERIFY(accounts->revokeInvite(u"expired"_s));
    QCOMPARE(accounts->invites()->size(), 1);
}

void TestMessageStore::privateRoomsAndTheDirectory()
{
    const auto store = openStore();
    QVERIFY(store);
    AccountStore *accounts = store->accounts();
    QVERIFY(accounts->createPrivateRoom(u"board"_s, Carol.email));
    QVERIFY(!accounts->createPrivateRoom(u"board"_s, Bob.email)); // taken
    QVERIFY(accounts->noteRoom(u"codeial"_s));
    QVERIFY(accounts->noteRoom(u"codeial"_s));
    QVERIFY(accounts->noteRoom(u"cooking"_s));
    QVERIFY(store->append({roomDraft(u"hi"_s)}));
    auto access = accounts->roomAccess(u"board"_s, true);
    QVERIFY(access && access->isPrivate);
    QCOMPARE(access->owner, Carol.email);
    access = accounts->roomAccess(u"codeial"_s, true);
    QVERIFY(access && access->exists && !access->isPrivate);
    // Entered, nothing said in it yet: it exists all the same (nobody may make it private).
    access = accounts->roomAccess(u"cooking"_s, true);
    QVERIFY(access && access->exists && !access->isPrivate);
    access = accounts->roomAccess(u"nobody-was-here"_s, true);
    QVERIFY(access && !access->exists);
    QCOMPARE(accounts->isRoomMember(u"board"_s, Bob.email), false);
    auto rooms = accounts->listRooms(QString(), Bob.email, 0, 10);
    QVERIFY(rooms);
    QCOMPARE(rooms->size(), 2); // not the private one
    QCOMPARE(rooms->at(0).name, u"codeial"_s);
    QVERIFY(rooms->at(0).lastActivity.isValid());
    QVERIFY(!rooms->at(1).lastActivity.isValid());
    QVERIFY(accounts->addRoomMember(u"board"_s, Bob.email));
    QCOMPARE(accounts->isRoomMember(u"board"_s, Bob.email), true);
    QCOMPARE(accounts->privateRoomsOf(Bob.email), QStringList{u"board"_s});
    rooms = accounts->listRooms(u"bo"_s, Bob.email, 0, 10);
    QCOMPARE(rooms->size(), 1);
    QVERIFY(rooms->at(0).isPrivate);
    QVERIFY(accounts->removeRoomMember(u"board"_s, Bob.email));
    QVERIFY(!accounts->removeRoomMember(u"board"_s, Bob.email));
    QCOMPARE(accounts->listRooms(u"co"_s, Bob.email, 1, 10)->size(), 1); // paged
}

void TestMessageStore::thumbnailsCountInTheQuota()
{
    // A thumbnail is a file too (up to 256 KiB): it was left out of the sum.
    const auto store = openStore();
    QVERIFY(store);
    const auto photo = store->addFile(FileRecord{0, QString(64, u'b'), 5000, u"image/png"_s, Bob.email});
    const auto thumbnail = store->addFile(FileRecord{0, QString(64, u'c'), 300, u"image/png"_s, Bob.email});
    QVERIFY(photo && thumbnail);
    MessageDraft carrying = roomDraft(u"a photo"_s);
    carrying.message.attachment =
        Attachment{photo->id,      u"photo.png"_s,    5000,
                   u"image/png"_s, QString(64, u'b'), ImageInfo{640, 480, thumbnail->id}};
    QVERIFY(store->append({carrying}));
    QCOMPARE(store->storageUsed(Bob.email), 5300);
    QCOMPARE(store->storageUsed(Carol.email), 0);
}

void TestMessageStore::filesAreKeptOncePerContent()
{
    const auto store = openStore();
    QVERIFY(store);
    const QString sha = QString(64, u'a');
    const auto file = store->addFile(FileRecord{0, sha, 1234, u"image/png"_s, Bob.email});
    QVERIFY(file);
    QVERIFY(file->id > 0);
    const auto same = store->addFile(FileRecord{0, sha, 1234, u"image/png"_s, Carol.email});
    QVERIFY(same);
    QCOMPARE(same->id, file->id);
    QCOMPARE(same->owner, Bob.email); // who uploaded it first

    UploadRecord upload;
    upload.sender = Bob.email;
    upload.senderName = Bob.name;
    upload.clientId = u"u-1"_s;
    upload.room = u"codeial"_s;
    upload.name = u"photo.png"_s;
    upload.size = 1234;
    upload.sha256 = sha;
    upload.mime = u"image/png"_s;
    upload.startedMs = 1000;
    const auto uploadId = store->createUpload(upload);
    QVERIFY(uploadId && *uploadId > 0);
    auto found = store->upload(Bob.email, u"u-1"_s);
    QVERIFY(found && *found);
    QCOMPARE((*found)->id, *uploadId);
    QCOMPARE((*found)->name, u"photo.png"_s);
    QCOMPARE(store->uploadsStartedBefore(2000)->size(), 1);
    QVERIFY(store->deleteUpload(*uploadId));
    found = store->upload(Bob.email, u"u-1"_s);
    QVERIFY(found && !*found);

    MessageDraft carrying = roomDraft(u"look"_s);
    carrying.message.attachment = Attachment{file->id, u"photo.png"_s, 1234, u"image/png"_s, sha, {}};
    const auto stored = store->append({carrying});
    QVERIFY(stored);
    const auto message = store->message(stored->at(0).message.id);
    QVERIFY(message && *message);
    QCOMPARE((*message)->attachment, carrying.message.attachment);
    QCOMPARE(store->messagesWithFile(file->id, 10)->size(), 1);
    QCOMPARE(store->storageUsed(Bob.email), 1234);
    QCOMPARE(store->storageUsed(Carol.email), 0);
    QVERIFY(store->unreferencedFiles(QDateTime::currentMSecsSinceEpoch() + 1000, 10)->isEmpty());
    QVERIFY(store->deleteMessage(stored->at(0).message.id));
    const auto unreferenced = store->unreferencedFiles(0, 10);
    QVERIFY(unreferenced);
    QCOMPARE(unreferenced->size(), 1); // referred to once, and no more
    QCOMPARE(store->forgetFile(file->id), true);
    QVERIFY(store->file(file->id) && !*store->file(file->id));
}

void TestMessageStore::aWriterConnectionSharesTheStore()
{
    // natterd commits messages on a writer thread's own connection and reads
    // on the event loop's: each sees the other's commits.
    const auto store = openStore();
    QVERIFY(store);
    const MessageStore::WriterFactory factory = store->writerFactory();
    QVERIFY(factory);
    QString error;
    const std::unique_ptr<MessageStore> writer = factory(&error);
    QVERIFY2(writer, qPrintable(error));
    const auto stored = writer->append({roomDraft(u"from the writer"_s)});
    QVERIFY(stored);
    const auto page = store->history(HistoryQuery{u"codeial"_s, {}, {}, {}, {}, 50});
    QVERIFY(page);
    QCOMPARE(idsOf(page->messages), QList<qint64>{stored->at(0).message.id});
    const auto edited = store->editMessage(stored->at(0).message.id, u"edited on the loop"_s, {});
    QVERIFY(edited);
    QCOMPARE(writer->message(stored->at(0).message.id)->value().text, u"edited on the loop"_s);
    const auto next = writer->append({roomDraft(u"second"_s)});
    QVERIFY(next && next->at(0).message.id > stored->at(0).message.id);
}

QTEST_GUILESS_MAIN(TestMessageStore)
#include "tst_messagestore.moc"
