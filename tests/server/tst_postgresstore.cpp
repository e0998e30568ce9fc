// What only the PostgreSQL store has: several natterd writing to one
// database, and a database that goes away and comes back. Runs on the
// PostgreSQL CTest starts (fixture "postgres").
#include "server/sqlmessagestore.h"
#include "server/tlsidentity.h"
#include "tests/support/drafts.h"
#include "tests/support/storelocation.h"

#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <thread>

using namespace Natter;
using namespace Qt::StringLiterals;
using namespace TestDrafts;

class TestPostgresStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void twoWritersNeverLetAResumeMissAMessage();
    void aLostConnectionIsFoundAndMadeAgain();
    void refusesWhileTheDatabaseIsDownAndRecoversAfter();
    void takesTlsSettingsFromTheAddress();

private:
    QString url() const { return m_location->location(); }
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<TestStoreLocation> m_location;
};

void TestPostgresStore::init()
{
    QVERIFY(TestStoreLocation::isPostgres());
    m_dir = std::make_unique<QTemporaryDir>();
    m_location = std::make_unique<TestStoreLocation>(m_dir->path());
    QVERIFY2(m_location->reset(), qPrintable(m_location->errorString()));
    SqlMessageStore migrated(url()); // the schema, before the writers race to make it
    QVERIFY2(migrated.open(), qPrintable(migrated.errorString()));
}

void TestPostgresStore::twoWritersNeverLetAResumeMissAMessage()
{
    // Two natterd (two stores, each on a thread and connection of its own)
    // write to one room as fast as they can, in batches that sometimes take
    // a direct conversation's lock too. A client resumes after the last id
    // it saw, again and again; others resume from random points of what was
    // seen. With ids taken before a lower one commits, the first client
    // would step over that one for good.
    constexpr int Batches = 300;
    std::atomic<int> running{2};
    std::atomic<int> failures{0};
    QList<qint64> written[2];
    const auto write = [&](int writer) {
        SqlMessageStore store(url());
        if (store.open()) {
            QRandomGenerator random(quint32(writer + 1));
            for (int batch = 0; batch < Batches; ++batch) {
                QList<MessageDraft> drafts;
                const int size = 1 + random.bounded(6);
                for (int i = 0; i < size; ++i)
                    drafts.append(roomDraft(u"w%1 b%2 m%3"_s.arg(writer).arg(batch).arg(i), Bob,
                                            u"w%1-%2-%3"_s.arg(writer).arg(batch).arg(i)));
                if (random.bounded(4) == 0)
                    drafts.insert(
                        random.bounded(drafts.size() + 1),
                        directDraft(u"aside"_s, Carol,
                                    User{u"Aside"_s, writer == 0 ? u"dave@x.org"_s : u"erin@x.org"_s}));
                const std::optional<QList<StoredMessage>> stored = store.append(drafts);
                if (!stored) {
                    qWarning().noquote() << "writer" << writer << store.errorString();
                    ++failures;
                    break;
                }
                for (const StoredMessage &message : *stored) {
                    if (!message.message.isDirect())
                        written[writer].append(message.message.id);
                }
            }
        } else {
            qWarning().noquote() << "writer" << writer << store.errorString();
            ++failures;
        }
        --running;
    };
    std::thread first(write, 0);
    std::thread second(write, 1);

    SqlMessageStore reader(url());
    QVERIFY(reader.open());
    QList<qint64> seen;
    QRandomGenerator random(7);
    int resumes = 0;
    int randomResumes = 0;
    bool consistent = true;
    const auto readAfter = [&](qint64 after, int limit) {
        HistoryQuery query;
        query.room = u"codeial"_s;
        query.after = after;
        query.limit = limit;
        const std::optional<HistoryPage> page = reader.history(query);
        return page ? idsOf(page->messages) : QList<qint64>{-1};
    };
    // Until both writers are done, then once more for what committed last.
    for (bool last = false; !last;) {
        last = running == 0;
        for (QList<qint64> page = readAfter(seen.isEmpty() ? 0 : seen.last(), 100); !page.isEmpty();
             page = readAfter(seen.last(), 100)) {
            seen.append(page);
            ++resumes;
        }
        if (!seen.isEmpty()) {
            // Another client resumes from a random point of the past: what
            // it gets up to the newest seen is exactly what was seen.
            const qsizetype from = random.bounded(int(seen.size()));
            const QList<qint64> page = readAfter(seen.at(from), 50);
            const QList<qint64> known = seen.mid(from + 1, page.size());
            consistent = consistent && page.mid(0, known.size()) == known;
            ++randomResumes;
        }
    }
    first.join();
    second.join();
    QCOMPARE(failures.load(), 0);
    QVERIFY(consistent);
    QList<qint64> all = written[0] + written[1];
    std::sort(all.begin(), all.end());
    qInfo() << all.size() << "messages from two writers," << resumes << "resumes," << randomResumes
            << "from random points";
    QVERIFY(all.size() >= 2 * Batches);
    QCOMPARE(seen.size(), all.size()); // none missed, none twice
    QCOMPARE(seen, all);
}

void TestPostgresStore::aLostConnectionIsFoundAndMadeAgain()
{
    SqlMessageStore store(url());
    QVERIFY(store.open());
    QVERIFY(store.accounts()->createAccount(Account{u"bob@x.org"_s, u"Bob"_s, {}, false, {}}));
    QVERIFY(store.append({roomDraft(u"before"_s, Bob, u"c-1"_s)}));
    // An administrator ends natterd's session (as a restart or a failover would).
    QVERIFY2(
        m_location->execute(
            u"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'natterd'"_s),
        qPrintable(m_location->errorString()));
    // The next request fails with the reason; no crash, nothing half stored.
    QVERIFY(!store.append({roomDraft(u"during"_s, Bob, u"c-2"_s)}));
    QVERIFY(!store.errorString().isEmpty());
    // Then the store connects again by itself; a resend is stored once.
    QTRY_VERIFY_WITH_TIMEOUT(store.append({roomDraft(u"during"_s, Bob, u"c-2"_s)}), 10000);
    const auto again = store.append({roomDraft(u"during"_s, Bob, u"c-2"_s)});
    QVERIFY(again && again->at(0).duplicate);
    Account account;
    QCOMPARE(store.accounts()->findAccount(u"bob@x.org"_s, &account), AccountStore::Found::Yes);
    HistoryQuery query;
    query.room = u"codeial"_s;
    const auto page = store.history(query);
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 2);
    QCOMPARE(page->messages.at(1).text, u"during"_s);
}

void TestPostgresStore::refusesWhileTheDatabaseIsDownAndRecoversAfter()
{
    SqlMessageStore store(url());
    QVERIFY(store.open());
    QVERIFY(store.append({roomDraft(u"before"_s, Bob, u"c-1"_s)}));
    QVERIFY(TestStoreLocation::runServiceScript(u"postgres"_s, u"pause"_s));
    // While it is down every request is refused with the reason, quickly
    // (no request waits for a server that is not there), accounts too.
    for (int i = 0; i < 20; ++i) {
        QVERIFY(!store.append({roomDraft(u"while down"_s, Bob, u"c-2"_s)}));
        QVERIFY(!store.history(HistoryQuery{u"codeial"_s, {}, {}, {}, {}, 50}));
    }
    QVERIFY2(store.errorString().contains(u"unreachable"_s) || store.errorString().contains(u"connect"_s),
             qPrintable(store.errorString()));
    Account account;
    QCOMPARE(store.accounts()->findAccount(u"bob@x.org"_s, &account), AccountStore::Found::Error);
    const bool resumed = TestStoreLocation::runServiceScript(u"postgres"_s, u"resume"_s);
    QVERIFY(resumed);
    // Accepted again once it is back (the store tries every ≤ 5 s), stored once.
    QTRY_VERIFY_WITH_TIMEOUT(store.append({roomDraft(u"while down"_s, Bob, u"c-2"_s)}), 15000);
    const auto page = store.history(HistoryQuery{u"codeial"_s, {}, {}, {}, {}, 50});
    QVERIFY(page);
    QCOMPARE(page->messages.size(), 2);
    QCOMPARE(store.accounts()->findAccount(u"bob@x.org"_s, &account), AccountStore::Found::No);
}

void TestPostgresStore::takesTlsSettingsFromTheAddress()
{
    // The test server takes TLS with a certificate of its own (tests/support/postgres.sh).
    const QString ca = TestStoreLocation::postgresCaFile();
    QVERIFY2(QFile::exists(ca), qPrintable(ca));
    const auto with = [this](const QString &query) -> QString { return url() + u'?' + query; };
    SqlMessageStore plain(with(u"sslmode=disable"_s));
    QVERIFY2(plain.open(), qPrintable(plain.errorString()));
    QCOMPARE(plain.linkEncryption(), QString());

    // Checked against that certificate: encrypted, and a store as always.
    SqlMessageStore verified(
        with(u"sslmode=verify-full&sslrootcert="_s + QString::fromUtf8(QUrl::toPercentEncoding(ca))));
    QVERIFY2(verified.open(), qPrintable(verified.errorString()));
    QVERIFY2(verified.linkEncryption().startsWith(u"TLSv1."_s), qPrintable(verified.linkEncryption()));
    QVERIFY(verified.append({roomDraft(u"over TLS"_s, Bob, u"c-1"_s)}));
    const auto page = plain.history(HistoryQuery{u"codeial"_s, {}, {}, {}, {}, 50});
    QVERIFY(page && page->messages.size() == 1);

    // Checked against another authority: refused, and the reason said.
    QString error;
    const std::optional<TlsIdentity> other =
        TlsIdentity::loadOrCreateSelfSigned(m_dir->filePath(u"other.sqlite"_s), u"127.0.0.1"_s, &error);
    QVERIFY2(other, qPrintable(error));
    SqlMessageStore impostor(with(u"sslmode=verify-full&sslrootcert="_s + other->certificatePath));
    QVERIFY(!impostor.open());
    QVERIFY2(impostor.errorString().contains(u"certificate verify failed"_s),
             qPrintable(impostor.errorString()));

    // What it does not take is refused before any connection, with the reason.
    const QList<std::pair<QString, QString>> refused{
        {u"sslmode=sometimes"_s, u"sslmode=sometimes: PostgreSQL knows disable"_s},
        {u"password=secret"_s, u"takes only the settings sslmode"_s},
        {u"sslrootcert=a%20b"_s, u"sslrootcert needs a value without spaces"_s},
        {u"sslkey=x;sslmode=disable"_s, u"sslkey needs a value without spaces"_s},
    };
    for (const auto &[query, says] : refused) {
        SqlMessageStore store(with(query));
        QVERIFY2(!store.open(), qPrintable(query));
        QVERIFY2(store.errorString().contains(says), qPrintable(store.errorString()));
        QVERIFY2(!store.errorString().contains(u"secret"_s), qPrintable(store.errorString()));
    }
}

QTEST_GUILESS_MAIN(TestPostgresStore)
#include "tst_postgresstore.moc"
