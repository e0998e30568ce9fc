// Faults of a cluster with real processes: three natterd on one PostgreSQL and
// one Redis (CTest starts both), the desktop app's ChatClient told all three
// addresses (natter --server a,b,c). A natterd killed mid-burst, natterd
// restarted one by one (a rolling upgrade), PostgreSQL restarted: every
// message the people sent is in the database once and in every app once, in
// the database's order.
#include "app/chatclient.h"
#include "tests/support/natterdprocess.h"
#include "tests/support/storelocation.h"
#include "tests/support/testclient.h"

#include <QHash>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <array>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace {

const QString General = u"general"_s;

/// The texts of the room's whole conversation as the database has it, read
/// through reader's natterd (asked again while that natterd's own link to
/// the database is being made again after an outage).
QStringList readTexts(TestClient &reader)
{
    QList<Message> stored;
    for (int attempt = 0; attempt < 20 && stored.isEmpty(); ++attempt) {
        stored = reader.readConversation(General);
        if (stored.isEmpty())
            QTest::qWait(500); // natterd tries the database again at most every 5 s
    }
    QStringList texts;
    for (const Message &message : stored)
        texts.append(message.text);
    return texts;
}

/// The texts of the messages the server has stored (an id), in the model's order.
QStringList storedTexts(const MessageListModel *model)
{
    QStringList texts;
    for (int row = 0; model && row < model->rowCount(); ++row) {
        if (model->index(row).data(MessageListModel::IdRole).toLongLong() > 0)
            texts.append(model->index(row).data(MessageListModel::TextRole).toString());
    }
    return texts;
}

int storedCount(const MessageListModel *model, const QString &prefix)
{
    int n = 0;
    for (const QString &text : storedTexts(model))
        n += text.startsWith(prefix) ? 1 : 0;
    return n;
}

} // namespace

class TestClusterFaults final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void aNatterdKilledMidBurstLosesNothing();
    void aRollingRestartLosesNothing();
    void postgresRestartRefusesSendsThenTakesThemOnce();

private:
    /// A person in the app, on natterd `home` first, the other two as the chat's other addresses.
    ChatClient *person(const QString &name, int home);
    MessageListModel *general(ChatClient *client) const
    {
        return client->messages(ConversationKey::room(General));
    }
    /// Ann, Bob and Carol, each at home on natterd 0, 1, 2, online and in #general.
    bool threeInGeneral();
    /// Sends "NAME i" from each person every intervalMs, count of them each.
    void startTalking(int count, int intervalMs);
    /// Every message of the people once in the database (read through a natterd) and in every app.
    void verifyEveryMessageOnceEverywhere(int each);

    QTemporaryDir m_dir;
    std::unique_ptr<TestStoreLocation> m_store;
    std::array<std::unique_ptr<NatterdProcess>, 3> m_natterd;
    QList<ChatClient *> m_people;
    QHash<ChatClient *, QString> m_names;
    QHash<ChatClient *, int> m_said;
    QTimer m_talk;
};

void TestClusterFaults::init()
{
    QVERIFY(TestStoreLocation::isPostgres());
    m_store = std::make_unique<TestStoreLocation>(m_dir.path());
    QVERIFY2(m_store->reset(), qPrintable(m_store->errorString()));
    for (auto &natterd : m_natterd) {
        natterd = std::make_unique<NatterdProcess>(QStringLiteral(NATTERD_PATH), m_store->location());
        // The heartbeat's verdict of death sped up, as in tst_cluster; no rate limits for bursts.
        QVERIFY2(natterd->start({u"--redis"_s, TestStoreLocation::redisUrl(), u"--rate-limit"_s, u"0"_s,
                                 u"--max-input-rate"_s, u"0"_s, u"--name"_s, u"Team"_s}),
                 natterd->output().constData());
    }
}

void TestClusterFaults::cleanup()
{
    m_talk.stop();
    m_talk.disconnect();
    qDeleteAll(m_people);
    m_people.clear();
    m_names.clear();
    m_said.clear();
    for (auto &natterd : m_natterd) {
        if (natterd)
            natterd->terminate();
        natterd.reset();
    }
    m_store.reset();
}

ChatClient *TestClusterFaults::person(const QString &name, int home)
{
    auto *client = new ChatClient;
    m_people.append(client);
    m_names.insert(client, name);
    client->setIdentity(User{name, name.toLower() + u"@example.org"_s});
    client->setPassword(TestClient::defaultPassword());
    // Only moving to another address brings someone back quickly.
    client->setReconnectDelays(20s, 20s);
    const QUrl primary = m_natterd[home]->url();
    client->setAlternateServers(primary,
                                {m_natterd[(home + 1) % 3]->url(), m_natterd[(home + 2) % 3]->url()});
    client->connectToServer(primary);
    return client;
}

bool TestClusterFaults::threeInGeneral()
{
    const QStringList names{u"Ann"_s, u"Bob"_s, u"Carol"_s};
    for (int home = 0; home < 3; ++home) {
        ChatClient *client = person(names.at(home), home);
        if (!QTest::qWaitFor([client] { return client->state() == ChatClient::State::Online; }, 10000) ||
            !client->openRoom(General) || !QTest::qWaitFor([this, client] { return general(client); }, 10000))
            return false;
    }
    return true;
}

void TestClusterFaults::startTalking(int count, int intervalMs)
{
    connect(&m_talk, &QTimer::timeout, this, [this, count] {
        bool anyLeft = false;
        for (ChatClient *client : std::as_const(m_people)) {
            int &said = m_said[client];
            if (said < count) {
                client->sendMessage(ConversationKey::room(General),
                                    u"%1 %2"_s.arg(m_names.value(client)).arg(said));
                ++said;
            }
            anyLeft |= said < count;
        }
        if (!anyLeft)
            m_talk.stop();
    });
    m_talk.start(intervalMs);
}

void TestClusterFaults::verifyEveryMessageOnceEverywhere(int each)
{
    const int total = each * int(m_people.size());
    // The database's conversation, read through a natterd that was never stopped or is back.
    TestClient reader;
    QVERIFY(reader.signIn(m_natterd[1]->port(), u"Reader"_s, u"reader@example.org"_s, {General}));
    const QStringList inDatabase = readTexts(reader);
    for (ChatClient *client : std::as_const(m_people)) {
        if (!QTest::qWaitFor([&] { return storedTexts(general(client)).size() == total; }, 60000)) {
            QStringList missing = inDatabase;
            for (const QString &text : storedTexts(general(client)))
                missing.removeOne(text);
            qWarning() << m_names.value(client) << "misses" << missing << "; the database has"
                       << inDatabase.size();
        }
        QCOMPARE(storedTexts(general(client)).size(), total);
    }
    QCOMPARE(inDatabase.size(), total);
    QCOMPARE(QSet<QString>(inDatabase.cbegin(), inDatabase.cend()).size(), total); // each once
    for (ChatClient *client : std::as_const(m_people)) {
        for (int i = 0; i < each; ++i)
            QVERIFY(inDatabase.contains(u"%1 %2"_s.arg(m_names.value(client)).arg(i)));
        QCOMPARE(storedTexts(general(client)), inDatabase); // each app: the same, in the same order
    }
}

void TestClusterFaults::aNatterdKilledMidBurstLosesNothing()
{
    QVERIFY(threeInGeneral());
    ChatClient *ann = m_people.at(0);
    QSignalSpy annWelcomed(ann, &ChatClient::welcomed);
    constexpr int Each = 300;
    startTalking(Each, 5);
    // Ann's natterd dies while everyone talks: some of hers are stored, more are on their way.
    QVERIFY(QTest::qWaitFor([&] { return storedCount(general(ann), u"Ann "_s) >= 60; }, 20000));
    m_natterd[0]->kill();
    QVERIFY2(m_said.value(ann) < Each, "the kill came after the burst: nothing was tested");
    QTRY_COMPARE_WITH_TIMEOUT(annWelcomed.size(), 1, 5000); // on another natterd
    QTRY_VERIFY_WITH_TIMEOUT(!m_talk.isActive(), 20000);
    verifyEveryMessageOnceEverywhere(Each);
}

void TestClusterFaults::aRollingRestartLosesNothing()
{
    QVERIFY(threeInGeneral());
    ChatClient *ann = m_people.at(0);
    constexpr int Each = 250;
    startTalking(Each, 20); // five seconds of talk
    // Each natterd in turn: stopped as an upgrade stops it (SIGTERM), its
    // people move on, it starts again on its port; then the next.
    for (int i = 0; i < 3; ++i) {
        QSignalSpy welcomed(m_people.at(i), &ChatClient::welcomed); // at home on natterd i
        QVERIFY(QTest::qWaitFor([&] { return m_said.value(ann) >= (i + 1) * Each / 5; }, 10000));
        QCOMPARE(m_natterd[i]->terminate(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(welcomed.size(), 1, 5000);
        QVERIFY2(m_natterd[i]->start({u"--redis"_s, TestStoreLocation::redisUrl(), u"--rate-limit"_s, u"0"_s,
                                      u"--max-input-rate"_s, u"0"_s, u"--name"_s, u"Team"_s}),
                 m_natterd[i]->output().constData());
    }
    QVERIFY2(m_talk.isActive(), "the restarts outlasted the talk: not a rolling restart under load");
    QTRY_VERIFY_WITH_TIMEOUT(!m_talk.isActive(), 20000);
    verifyEveryMessageOnceEverywhere(Each);
}

void TestClusterFaults::postgresRestartRefusesSendsThenTakesThemOnce()
{
    ChatClient *ann = person(u"Ann"_s, 0);
    QTRY_COMPARE(ann->state(), ChatClient::State::Online);
    QVERIFY(ann->openRoom(General));
    QTRY_VERIFY(general(ann));
    TestClient bob;
    QVERIFY(bob.signIn(m_natterd[1]->port(), u"Bob"_s, u"bob@example.org"_s, {General}));

    // The database goes away: natterd answers at once that it could not store it.
    QVERIFY(TestStoreLocation::runServiceScript(u"postgres"_s, u"pause"_s));
    bob.send(SendMessage{General, {}, u"while the database is away"_s, u"pg-1"_s});
    const std::optional<Error> refused = bob.waitFor<Error>(10000);
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::InternalError);
    QCOMPARE(refused->clientId, u"pg-1"_s);
    QVERIFY(TestStoreLocation::runServiceScript(u"postgres"_s, u"resume"_s));

    // Back: the same message sent again (as the app's outbox does) is taken,
    // once however often it comes, and reaches Ann on another natterd.
    bool accepted = false;
    for (int attempt = 0; attempt < 40 && !accepted; ++attempt) {
        bob.send(SendMessage{General, {}, u"while the database is away"_s, u"pg-1"_s});
        accepted = bob.waitFor<ReceiveMessage>(500).has_value();
    }
    QVERIFY2(accepted, "natterd did not take messages again after PostgreSQL came back");
    bob.send(SendMessage{General, {}, u"while the database is away"_s, u"pg-1"_s});
    QTRY_COMPARE(storedTexts(general(ann)), QStringList{u"while the database is away"_s});
    QCOMPARE(readTexts(bob), QStringList{u"while the database is away"_s});
}

QTEST_MAIN(TestClusterFaults)
#include "tst_clusterfaults.moc"
