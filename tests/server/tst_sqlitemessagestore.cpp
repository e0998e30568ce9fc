#include "server/sqlmessagestore.h"
#include "tests/support/drafts.h"

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
using namespace TestDrafts;

namespace {

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
    void refusesNewerSchema();
    void refusesGarbageFile();
    void refusesUnwritableFolder();
    void integrityHoldsAfterUse();
    void closingLeavesAnEmptyLog();
    void queriesUseTheConversationIndex();
    void migratesFromSchemaFive();

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
        SqlMessageStore store(path());
        QVERIFY2(store.open(), qPrintable(store.errorString()));
        QCOMPARE(store.schemaVersion(), SqlMessageStore::SchemaVersion);
        QCOMPARE(store.lastId(), 0);
        // Readers (a backup, the sqlite3 shell) may look; a second store may not open it.
        QCOMPARE(queryFile(path(), u"SELECT COUNT(*) FROM messages"_s).toInt(), 0);
        SqlMessageStore second(path());
        QVERIFY(!second.open());
        QVERIFY2(second.errorString().contains(u"in use by another process"_s),
                 qPrintable(second.errorString()));
    }
    QCOMPARE(queryFile(path(), u"PRAGMA journal_mode"_s).toString(), u"wal"_s);
}

void TestSqliteMessageStore::refusesNewerSchema()
{
    queryFile(path(), u"PRAGMA user_version = 99"_s); // a file from a future natterd
    QCOMPARE(queryFile(path(), u"PRAGMA user_version"_s).toInt(), 99);
    SqlMessageStore store(path());
    QVERIFY(!store.open());
    QVERIFY2(store.errorString().contains(u"newer"_s), qPrintable(store.errorString()));
}

void TestSqliteMessageStore::refusesGarbageFile()
{
    QFile file(path());
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(4096, 'x'));
    file.close();
    SqlMessageStore store(path());
    QVERIFY(!store.open());
    QVERIFY2(store.errorString().contains(u"not a usable SQLite database"_s),
             qPrintable(store.errorString()));
}

void TestSqliteMessageStore::refusesUnwritableFolder()
{
    QFile blocker(m_dir->filePath(u"file"_s));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    SqlMessageStore store(m_dir->filePath(u"file/sub/natter.db"_s)); // a file where a folder should be
    QVERIFY(!store.open());
    QVERIFY(!store.errorString().isEmpty());
}

void TestSqliteMessageStore::integrityHoldsAfterUse()
{
    {
        SqlMessageStore store(path());
        QVERIFY(store.open());
        QVERIFY(store.append({roomDraft(u"a"_s), directDraft(u"b"_s, Bob, Carol, true)}));
    }
    QCOMPARE(queryFile(path(), u"PRAGMA integrity_check"_s).toString(), u"ok"_s);
}

void TestSqliteMessageStore::closingLeavesAnEmptyLog()
{
    {
        SqlMessageStore store(path());
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

void TestSqliteMessageStore::queriesUseTheConversationIndex()
{
    {
        SqlMessageStore store(path()); // creates the schema
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

void TestSqliteMessageStore::migratesFromSchemaFive()
{
    // A file as the natterd before edits and reactions left it, with history.
    QVERIFY(SqlMessageStore::createWithSchema(path(), 5));
    QCOMPARE(queryFile(path(),
                       u"INSERT INTO messages (id, conversation, recipient, sender_email, sender_name, "
                       u"text, ts, client_id) VALUES (1, '#codeial', NULL, 'bob@x.org', 'Bob', 'old', "
                       u"1764000000000, 'c-1') RETURNING id"_s)
                 .toInt(),
             1);
    SqlMessageStore store(path());
    QVERIFY2(store.open(), qPrintable(store.errorString()));
    QCOMPARE(store.schemaVersion(), SqlMessageStore::SchemaVersion);
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

QTEST_GUILESS_MAIN(TestSqliteMessageStore)
void TestSqliteMessageStore::theWalStartsOverUnderSteadyCommits()
{
    // natterd's writer commits back to back under load while the server's
    // checkpointer thread copies the WAL back; SQLite starts the WAL over only
    // in a transaction that begins fully checkpointed. It must still happen,
    // or the WAL grows by tens of MB a second.
    SqlMessageStore server(path());
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
    SqlMessageStore server(path());
    QVERIFY(server.open());
    QVERIFY(server.accounts()->createAccount(Account{u"alice@x.org"_s, u"Alice"_s, {}, false, {}}));
    QString error;
    const std::unique_ptr<MessageStore> writer = server.writerFactory()(&error);
    QVERIFY2(writer, qPrintable(error));
    const qint64 before = server.accounts()->externalChangeCounter();
    QVERIFY(writer->append({roomDraft(u"hello"_s)}));
    QVERIFY(writer->accounts()->setName(u"alice@x.org"_s, u"Alice B."_s));
    QCOMPARE(server.accounts()->externalChangeCounter(), before);

    SqlMessageStore admin(path(), SqlMessageStore::OpenMode::Administration);
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
