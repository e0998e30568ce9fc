#include "server/sqlitemessagestore.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

const User Bob{u"Bob"_s, u"bob@x.org"_s};
const User Carol{u"Carol"_s, u"carol@x.org"_s};

MessageDraft roomDraft(const QString &text, const User &from = Bob, const QString &clientId = {})
{
    Message message;
    message.room = u"codeial"_s;
    message.from = from;
    message.text = text;
    message.clientId = clientId;
    return MessageDraft{message, false};
}

MessageDraft directDraft(const QString &text, const User &from, const User &to, bool hold = false)
{
    Message message;
    message.to = to.email;
    message.from = from;
    message.text = text;
    return MessageDraft{message, hold};
}

/// Runs one statement on its own connection and returns the first column of the first row.
QVariant queryFile(const QString &path, const QString &sql)
{
    QVariant result;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"inspect"_s);
        db.setDatabaseName(path);
        db.setConnectOptions(u"QSQLITE_BUSY_TIMEOUT=0"_s);
        if (db.open()) {
            QSqlQuery query(db);
            if (query.exec(sql) && query.next())
                result = query.value(0);
            else
                result = query.lastError().text();
        }
    }
    QSqlDatabase::removeDatabase(u"inspect"_s);
    return result;
}

} // namespace

class TestSqliteMessageStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void theWalStartsOverUnderSteadyCommits();
    void onlyAnotherProcessCountsAsAnAccountChange();
    void createsSchemaVersionOne();
    void keepsItsServerIdentity();
    void refusesNewerSchema();
    void refusesGarbageFile();
    void refusesUnwritableFolder();
    void appendAssignsIncreasingIdsAndTimestamps();
    void sameClientIdIsStoredOnce();
    void emptyBatchIsFine();
    void latestBeforeAndAfter();
    void directConversationIsSymmetric();
    void persistsAcrossReopen();
    void integrityHoldsAfterUse();
    void closingLeavesAnEmptyLog();
    void heldDirectMessagesAreReleasedOnce();
    void queriesUseTheConversationIndex();
    void retentionDeletesTheOldestInBatches();
    void migratesFromSchemaFive();
    void changesTakeIncreasingSequenceNumbers();
    void readMarkersPerUserAreBounded();

private:
    QString path() const { return m_dir->filePath(u"natter.db"_s); }
    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestSqliteMessageStore::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestSqliteMessageStore::createsSchemaVersionOne()
{
    {
        SqliteMessageStore store(path());
        QVERIFY2(store.open(), qPrintable(store.errorString()));
        QCOMPARE(store.schemaVersion(), SqliteMessageStore::SchemaVersion);
        QCOMPARE(store.lastId(), 0);
        // Readers (a backup, the sqlite3 shell) may look; a second store may not open it.
        QCOMPARE(queryFile(path(), u"SELECT COUNT(*) FROM messages"_s).toInt(), 0);
        SqliteMessageStore second(path());
        QVERIFY(!second.open());
        QVERIFY2(second.errorString().contains(u"in use by another process"_s),
                 qPrintable(second.errorString()));
    }
    QCOMPARE(queryFile(path(), u"PRAGMA journal_mode"_s).toString(), u"wal"_s);
}

void TestSqliteMessageStore::keepsItsServerIdentity()
{
    QString first;
    {
        SqliteMessageStore store(path());
        QVERIFY(store.open());
        first = store.serverId();
        QCOMPARE(first.size(), 32);
        QVERIFY(QRegularExpression(u"^[0-9a-f]{32}$"_s).match(first).hasMatch());
    }
    {
        SqliteMessageStore again(path());
        QVERIFY(again.open());
        QCOMPARE(again.serverId(), first); // for as long as the file lives
    }
    SqliteMessageStore other(m_dir->filePath(u"other.db"_s));
    QVERIFY(other.open());
    QVERIFY(other.serverId() != first);
}

void TestSqliteMessageStore::refusesNewerSchema()
{
    queryFile(path(), u"PRAGMA user_version = 99"_s); // a file from a future natterd
    QCOMPARE(queryFile(path(), u"PRAGMA user_version"_s).toInt(), 99);
    SqliteMessageStore store(path());
    QVERIFY(!store.open());
    QVERIFY2(store.errorString().contains(u"newer"_s), qPrintable(store.errorString()));
}

void TestSqliteMessageStore::refusesGarbageFile()
{
    QFile file(path());
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(4096, 'x'));
    file.close();
    SqliteMessageStore store(path());
    QVERIFY(!store.open());
    QVERIFY2(store.errorString().contains(u"not a usable SQLite database"_s),
             qPrintable(store.errorString()));
}

void TestSqliteMessageStore::refusesUnwritableFolder()
{
    QFile blocker(m_dir->filePath(u"file"_s));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    SqliteMessageStore store(m_dir->filePath(u"file/sub/natter.db"_s)); // a file where a folder should be
    QVERIFY(!store.open());
    QVERIFY(!store.errorString().isEmpty());
}

void TestSqliteMessageStore::appendAssignsIncreasingIdsAndTimestamps()
{
    SqliteMessageStore store(path());
    QVERIFY(store.open());
    const auto first = store.append({roomDraft(u"one"_s), roomDraft(u"two"_s)});
    QVERIFY(first);
    QCOMPARE(first->size(), 2);
    QCOMPARE(first->at(0).message.id, 1);
    QCOMPARE(first->at(1).message.id, 2);
    QVERIFY(first->at(0).message.timestamp.isValid());
    QCOMPARE(first->at(0).message.timestamp.timeSpec(), Qt::UTC);
    QVERIFY(!first->at(0).duplicate);
    const auto second = store.append({roomDraft(u"three"_s)});
    QCOMPARE(second->at(0).message.id, 3);
    QVERIFY(second->at(0).message.timestamp >= first->at(1).message.timestamp);
    QCOMPARE(store.lastId(), 3);
}

void TestSqliteMessageStore::sameClientIdIsStoredOnce()
{
    SqliteMessageStore store(path());
    QVERIFY(store.open());
    const auto first = store.append({roomDraft(u"hello"_s, Bob, u"c-1"_s)});
    QVERIFY(first);
    // Same batch and a later batch: both answer with the original.
    const auto again =
        store.append({roomDraft(u"hello"_s, Bob, u"c-1"_s), roomDraft(u"hello"_s, Carol, u"c-1"_s),
                      roomDraft(u"hello again"_s, Bob, u"c-1"_s)});
    QVERIFY(again);
    QCOMPARE(again->at(0).message.id, first->at(0).message.id);
    QVERIFY(again->at(0).duplicate);
    QCOMPARE(again->at(0).message.timestamp, first->at(0).message.timestamp);
    QVERIFY(!again->at(1).duplicate); // another sender's c-1 is another message
    QCOMPARE(again->at(1).message.id, 2);
    QVERIFY(again->at(2).duplicate);
    QCOMPARE(again->at(2).message.text, u"hello"_s);
    const auto page = store.history(HistoryQuery{u"codeial"_s, {}, {}, {}, {}, 50});
    QCOMPARE(page->messages.size(), 2);
}

void TestSqliteMessageStore::emptyBatchIsFine()
{
    SqliteMessageStore store(path());
    QVERIFY(store.open());
    const auto stored = store.append({});
    QVERIFY(stored);
    QVERIFY(stored->isEmpty());
}

void TestSqliteMessageStore::latestBeforeAndAfter()
{
    SqliteMessageStore store(path());
    QVERIFY(store.open());
    QList<MessageDraft> drafts;
    for (int i = 1; i <= 120; ++i)
        drafts.append(roomDraft(QString::number(i)));
    drafts.append(directDraft(u"not in the room"_s, Bob, Carol));
    QVERIFY(store.append(drafts));

    HistoryQuery query;
    query.room = u"codeial"_s;
    query.limit = 50;
    auto page = store.history(query);
    QCOMPARE(page->messages.size(), 50);
    QCOMPARE(page->messages.first().id, 71); // the latest 50, oldest first
    QCOMPARE(page->messages.last().id, 120);
    QVERIFY(page->hasMore);

    query.before = 71;
    page = store.history(query);
    QCOMPARE(page->messages.first().id, 21);
    QCOMPARE(page->messages.last().id, 70);
    QVERIFY(page->hasMore);
    query.before = 21;
    page = store.history(query);
    QCOMPARE(page->messages.size(), 20);
    QVERIFY(!page->hasMore);

    query.before.reset();
    query.after = 100;
    page = store.history(query);
    QCOMPARE(page->messages.size(), 20);
    QCOMPARE(page->messages.first().id, 101);
    QVERIFY(!page->hasMore);
    query.after = 0;
    query.limit = 10;
    page = store.history(query);
    QCOMPARE(page->messages.first().id, 1);
    QCOMPARE(page->messages.last().id, 10);
    QVERIFY(page->hasMore);
    QCOMPARE(page->messages.first().room, u"codeial"_s);
    QCOMPARE(page->messages.first().from, Bob);
}

void TestSqliteMessageStore::directConversationIsSymmetric()
{
    SqliteMessageStore store(path());
    QVERIFY(store.open());
    QVERIFY(store.append({directDraft(u"hi Carol"_s, Bob, Carol), directDraft(u"hi Bob"_s, Carol, Bob),
                          directDraft(u"note to self"_s, Bob, Bob)}));
    HistoryQuery query;
    query.userA = Carol.email;
    query.userB = Bob.email;
    const auto page = store.history(query);
    QCOMPARE(page->messages.size(), 2);
    QCOMPARE(page->messages.at(0).to, Carol.email);
    QCOMPARE(page->messages.at(0).from, Bob);
    QVERIFY(page->messages.at(0).isDirect());
    QCOMPARE(page->messages.at(1).to, Bob.email);
    query.userA = query.userB = Bob.email;
    QCOMPARE(store.history(query)->messages.size(), 1);
}

void TestSqliteMessageStore::persistsAcrossReopen()
{
    {
        SqliteMessageStore store(path());
        QVERIFY(store.open());
        QVERIFY(store.append({roomDraft(u"kept"_s, Bob, u"c-1"_s), roomDraft(u"also kept"_s)}));
    }
    SqliteMessageStore store(path());
    QVERIFY(store.open());
    QCOMPARE(store.schemaVersion(), SqliteMessageStore::SchemaVersion);
    QCOMPARE(store.lastId(), 2);
    const auto page = store.history(HistoryQuery{u"codeial"_s, {}, {}, {}, {}, 50});
    QCOMPARE(page->messages.size(), 2);
    QCOMPARE(page->messages.at(0).text, u"kept"_s);
    QCOMPARE(page->messages.at(0).clientId, u"c-1"_s);
    // Idempotency holds across restarts, and ids continue.
    const auto again = store.append({roomDraft(u"kept"_s, Bob, u"c-1"_s), roomDraft(u"new"_s)});
    QVERIFY(again->at(0).duplicate);
    QCOMPARE(again->at(0).message.id, 1);
    QCOMPARE(again->at(1).message.id, 3);
}

void TestSqliteMessageStore::integrityHoldsAfterUse()
{
    {
        SqliteMessageStore store(path());
        QVERIFY(store.open());
        QVERIFY(store.append({roomDraft(u"a"_s), directDraft(u"b"_s, Bob, Carol, true)}));
    }
    QCOMPARE(queryFile(path(), u"PRAGMA integrity_check"_s).toString(), u"ok"_s);
}

void TestSqliteMessageStore::closingLeavesAnEmptyLog()
{
    {
        SqliteMessageStore store(path());
        QVERIFY(store.open());
        QList<MessageDraft> drafts;
        for (int i = 0; i < 2000; ++i)
            drafts.append(roomDraft(u"message %1"_s.arg(i)));
        QVERIFY(store.append(drafts));
        QVERIFY(QFileInfo(path() + u"-wal"_s).size() > 0);
    }
    // The checkpointer's last pass moved everything into the database file.
    QCOMPARE(QFileInfo(path() + u"-wal"_s).size(), 0);
    QCOMPARE(queryFile(path(), u"SELECT COUNT(*) FROM messages"_s).toInt(), 2000);
}

void TestSqliteMessageStore::heldDirectMessagesAreReleasedOnce()
{
    SqliteMessageStore store(path());
    QVERIFY(store.open());
    QVERIFY(store.append({directDraft(u"while you were out"_s, Bob, Carol, true),
                          directDraft(u"delivered live"_s, Bob, Carol, false),
                          directDraft(u"second"_s, Bob, Carol, true)}));
    // Read in pages past a cursor, they stay held until released.
    const auto page = store.heldDirectMessages(Carol.email, 0, 1);
    QVERIFY(page && page->size() == 1);
    const auto next = store.heldDirectMessages(Carol.email, page->constFirst().id, 100);
    QVERIFY(next && next->size() == 1);
    QCOMPARE(next->constFirst().text, u"second"_s);
    QCOMPARE(store.heldCount(Carol.email), 2);
    const auto first = store.takeHeldDirectMessages(Carol.email, 1); // a page at a time
    QVERIFY(first);
    QCOMPARE(first->size(), 1);
    QCOMPARE(first->at(0).text, u"while you were out"_s);
    const auto rest = store.takeHeldDirectMessages(Carol.email, 100);
    QVERIFY(rest);
    QCOMPARE(rest->size(), 1);
    QCOMPARE(rest->at(0).text, u"second"_s);
    QVERIFY(store.takeHeldDirectMessages(Carol.email, 100)->isEmpty());
    QVERIFY(store.takeHeldDirectMessages(Bob.email, 100)->isEmpty());
}

void TestSqliteMessageStore::queriesUseTheConversationIndex()
{
    {
        SqliteMessageStore store(path()); // creates the schema
        QVERIFY(store.open());
    }
    // Latest N, page before an id, after an id: each one range scan of (conversation, id).
    const QStringList queries{
        u"SELECT id FROM messages WHERE conversation = '#a' ORDER BY id DESC LIMIT 51"_s,
        u"SELECT id FROM messages WHERE conversation = '#a' AND id < 5 ORDER BY id DESC LIMIT 51"_s,
        u"SELECT id FROM messages WHERE conversation = '#a' AND id > 5 ORDER BY id ASC LIMIT 51"_s,
    };
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"plan"_s);
        db.setDatabaseName(path());
        QVERIFY(db.open());
        for (const QString &sql : queries) {
            QSqlQuery query(db);
            QVERIFY(query.exec(u"EXPLAIN QUERY PLAN "_s + sql));
            QString plan;
            while (query.next())
                plan += query.value(3).toString() + u'\n';
            QVERIFY2(plan.contains(u"USING INDEX messages_by_conversation"_s) ||
                         plan.contains(u"USING COVERING INDEX messages_by_conversation"_s),
                     qPrintable(plan));
            QVERIFY2(!plan.contains(u"TEMP B-TREE"_s), qPrintable(plan)); // no sort step
        }
    }
    QSqlDatabase::removeDatabase(u"plan"_s);
}

void TestSqliteMessageStore::retentionDeletesTheOldestInBatches()
{
    SqliteMessageStore store(path());
    QVERIFY(store.open());
    QList<MessageDraft> old;
    for (int i = 0; i < 2500; ++i)
        old.append(roomDraft(u"old %1"_s.arg(i)));
    old.append(directDraft(u"held long ago"_s, Bob, Carol, true));
    QVERIFY(store.append(old));
    const qint64 lastOld = store.lastId();
    // Forty days ago, as far as the store can tell.
    queryFile(path(),
              u"UPDATE messages SET ts = ts - %1 WHERE id <= %2"_s.arg(40LL * 24 * 3600 * 1000).arg(lastOld));
    QVERIFY(store.append({roomDraft(u"recent"_s), directDraft(u"held today"_s, Bob, Carol, true)}));

    const qint64 cutoff = QDateTime::currentMSecsSinceEpoch() - 30LL * 24 * 3600 * 1000;
    QList<int> batches;
    for (std::optional<int> deleted = store.deleteOlderThan(cutoff, 1000); deleted && *deleted > 0;
         deleted = store.deleteOlderThan(cutoff, 1000))
        batches.append(*deleted);
    QCOMPARE(batches, (QList<int>{1000, 1000, 501}));
    QCOMPARE(queryFile(path(), u"SELECT COUNT(*) FROM messages"_s).toInt(), 2);
    HistoryQuery latest;
    latest.room = u"codeial"_s;
    const auto page = store.history(latest);
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 1);
    QCOMPARE(page->messages.at(0).text, u"recent"_s);
    // The held message that was too old went with its message; today's stays held.
    const auto held = store.takeHeldDirectMessages(Carol.email, 100);
    QVERIFY(held);
    QCOMPARE(held->size(), 1);
    QCOMPARE(held->at(0).text, u"held today"_s);
    QCOMPARE(queryFile(path(), u"PRAGMA integrity_check"_s).toString(), u"ok"_s);
}

void TestSqliteMessageStore::migratesFromSchemaFive()
{
    // A file as the natterd before edits and reactions left it, with history.
    QVERIFY(SqliteMessageStore::createWithSchema(path(), 5));
    QCOMPARE(queryFile(path(),
                       u"INSERT INTO messages (id, conversation, recipient, sender_email, sender_name, "
                       u"text, ts, client_id) VALUES (1, '#codeial', NULL, 'bob@x.org', 'Bob', 'old', "
                       u"1764000000000, 'c-1') RETURNING id"_s)
                 .toInt(),
             1);
    SqliteMessageStore store(path());
    QVERIFY2(store.open(), qPrintable(store.errorString()));
    QCOMPARE(store.schemaVersion(), SqliteMessageStore::SchemaVersion);
    HistoryQuery query;
    query.room = u"codeial"_s;
    const std::optional<HistoryPage> page = store.history(query);
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 1);
    QCOMPARE(page->messages.at(0).text, u"old"_s);
    QVERIFY(page->messages.at(0).isPlain());
    QCOMPARE(store.lastChangeSeq(), 0);
    // The old message takes the new changes.
    const std::optional<MessageUpdate> edited = store.editMessage(1, u"new"_s, {});
    QVERIFY(edited);
    QCOMPARE(edited->changeSeq, 1);
    QVERIFY(store.react(1, User{u"Carol"_s, u"carol@x.org"_s}, u"👍"_s, true));
    const std::optional<std::optional<Message>> now = store.message(1);
    QVERIFY(now && *now);
    QCOMPARE((*now)->text, u"new"_s);
    QCOMPARE((*now)->reactions.size(), 1);
    QCOMPARE((*now)->clientId, u"c-1"_s);
}

void TestSqliteMessageStore::readMarkersPerUserAreBounded()
{
    // Someone who reads in room after room keeps the markers read last (and
    // every mute); nobody else loses any.
    auto store = std::make_unique<SqliteMessageStore>(path());
    QVERIFY(store->open());
    constexpr int Cap = SqliteMessageStore::MaxConversationStates;
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

void TestSqliteMessageStore::changesTakeIncreasingSequenceNumbers()
{
    auto store = std::make_unique<SqliteMessageStore>(path());
    QVERIFY(store->open());
    const User bob{u"Bob"_s, u"bob@x.org"_s};
    const auto stored =
        store->append({roomDraft(u"one"_s, bob), roomDraft(u"two"_s, bob), roomDraft(u"three"_s, bob)});
    QVERIFY(stored);
    const qint64 first = stored->at(0).message.id;
    QCOMPARE(store->editMessage(first, u"one!"_s, {})->changeSeq, 1);
    QCOMPARE(store->deleteMessage(first + 1)->changeSeq, 2);
    // Nothing to change: no number taken.
    const std::optional<MessageUpdate> again = store->react(first + 2, bob, u"👍"_s, false);
    QVERIFY(again);
    QVERIFY(!again->changed);
    QCOMPARE(store->react(first + 2, bob, u"👍"_s, true)->changeSeq, 3);
    QCOMPARE(store->lastChangeSeq(), 3);
    // A deleted message takes nothing more.
    QVERIFY(!store->editMessage(first + 1, u"back"_s, {}));
    const std::optional<MessageUpdate> onDeleted = store->react(first + 1, bob, u"👍"_s, true);
    QVERIFY(onDeleted);
    QVERIFY(!onDeleted->changed);
    QVERIFY(onDeleted->message.reactions.isEmpty());
    ChangesQuery query;
    query.conversation = ConversationId::ofRoom(u"codeial"_s);
    const std::optional<ChangesPage> page = store->changes(query);
    QVERIFY(page);
    QCOMPARE(page->seqs, (QList<qint64>{1, 2, 3}));
    QCOMPARE(page->messages.at(1).text, QString());
    QVERIFY(page->messages.at(1).deleted);
    // Kept across a reopen; the deleted text is nowhere in the file.
    store.reset(); // the lock goes with it
    store = std::make_unique<SqliteMessageStore>(path());
    QVERIFY(store->open());
    QCOMPARE(store->lastChangeSeq(), 3);
    QCOMPARE(queryFile(path(), u"SELECT COUNT(*) FROM messages WHERE text = 'two'"_s).toInt(), 0);
}

QTEST_GUILESS_MAIN(TestSqliteMessageStore)
void TestSqliteMessageStore::theWalStartsOverUnderSteadyCommits()
{
    // natterd's writer commits back to back under load while the server's
    // checkpointer thread copies the WAL back; SQLite starts the WAL over only
    // in a transaction that begins fully checkpointed. It must still happen,
    // or the WAL grows by tens of MB a second.
    SqliteMessageStore server(path());
    QVERIFY(server.open());
    const MessageStore::WriterFactory factory = server.writerFactory();
    QVERIFY(factory);
    QString error;
    const std::unique_ptr<MessageStore> writer = factory(&error);
    QVERIFY2(writer, qPrintable(error));
    QVERIFY(writer->append({roomDraft(u"first"_s)}));

    // The WAL header's salts change each time it starts over.
    const auto salts = [this] {
        QFile wal(path() + u"-wal"_s);
        return wal.open(QIODevice::ReadOnly) ? wal.read(24).mid(16) : QByteArray();
    };
    const QByteArray first = salts();
    QCOMPARE(first.size(), 8);
    QElapsedTimer clock;
    clock.start();
    int commits = 0;
    while (salts() == first && clock.elapsed() < 10'000) {
        QVERIFY(writer->append({roomDraft(u"message %1"_s.arg(commits)), roomDraft(u"and another"_s)}));
        ++commits;
    }
    QVERIFY2(salts() != first, qPrintable(u"never started over in %1 commits"_s.arg(commits)));
    QCOMPARE(
        server.history(HistoryQuery{u"codeial"_s, {}, {}, std::nullopt, std::nullopt, 1})->messages.size(),
        1);
}

void TestSqliteMessageStore::onlyAnotherProcessCountsAsAnAccountChange()
{
    // The server checks every connection's account when the counter moves:
    // its own writer's commits must not move it, an administrator's must.
    SqliteMessageStore server(path());
    QVERIFY(server.open());
    QVERIFY(server.accounts()->createAccount(Account{u"alice@x.org"_s, u"Alice"_s, {}, false, {}}));
    QString error;
    const std::unique_ptr<MessageStore> writer = server.writerFactory()(&error);
    QVERIFY2(writer, qPrintable(error));
    const qint64 before = server.accounts()->externalChangeCounter();
    QVERIFY(writer->append({roomDraft(u"hello"_s)}));
    QVERIFY(writer->accounts()->setName(u"alice@x.org"_s, u"Alice B."_s));
    QCOMPARE(server.accounts()->externalChangeCounter(), before);

    SqliteMessageStore admin(path(), SqliteMessageStore::OpenMode::Administration);
    QVERIFY(admin.open());
    QVERIFY(admin.accounts()->setDisabled(u"alice@x.org"_s, true));
    const qint64 afterDisable = server.accounts()->externalChangeCounter();
    QVERIFY(afterDisable != before);
    QVERIFY(admin.accounts()->setDisabled(u"alice@x.org"_s, false));
    QVERIFY(server.accounts()->externalChangeCounter() != afterDisable);
    QCOMPARE(QFile::permissions(path() + u".accounts-changed"_s),
             QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadUser |
                 QFileDevice::WriteUser);
}

#include "tst_sqlitemessagestore.moc"
