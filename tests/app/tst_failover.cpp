// The desktop app's ChatClient told two addresses of one chat (natter
// --server A,B) served by two natterd of a cluster (one PostgreSQL, one
// Redis: CTest starts both). When its natterd goes away it is on the other
// within a moment, signed in with the same token, and resumes: nothing said
// meanwhile is missing or shown twice.
#include "app/chatclient.h"
#include "tests/support/testserver.h"

#include <QSignalSpy>
#include <QTest>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace {

QList<qint64> storedIds(const MessageListModel *model)
{
    QList<qint64> ids;
    for (int row = 0; row < model->rowCount(); ++row) {
        const qint64 id = model->index(row).data(MessageListModel::IdRole).toLongLong();
        if (id > 0)
            ids.append(id);
    }
    return ids;
}

QStringList texts(const MessageListModel *model)
{
    QStringList found;
    for (int row = 0; row < model->rowCount(); ++row)
        found.append(model->index(row).data(MessageListModel::TextRole).toString());
    return found;
}

} // namespace

class TestFailover : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void theAppMovesToTheOtherNatterdAndResumes();
};

void TestFailover::theAppMovesToTheOtherNatterdAndResumes()
{
    QVERIFY(TestStoreLocation::isPostgres());
    ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 0;
    config.cluster = testRedisAddress();
    TestServer first(config);
    TestServer second(config, TestServer::Database::Shared);
    QVERIFY(first.start() && second.start());
    QTRY_VERIFY(first.server()->isClusterConnected() && second.server()->isClusterConnected());

    ChatClient ann;
    ann.setIdentity(User{u"Ann"_s, u"ann@example.org"_s});
    ann.setPassword(TestClient::defaultPassword());
    // A backoff this long would show: only moving to the other address brings Ann back quickly.
    ann.setReconnectDelays(20s, 20s);
    ann.setAlternateServers(first.url(), {second.url()});
    ann.connectToServer(first.url());
    QTRY_COMPARE(ann.state(), ChatClient::State::Online);
    QVERIFY(ann.openRoom(u"general"_s));
    const ConversationKey general = ConversationKey::room(u"general"_s);
    QTRY_VERIFY(ann.messages(general));
    MessageListModel *model = ann.messages(general);

    TestClient bob;
    QVERIFY(bob.signIn(second.port(), u"Bob"_s, u"bob@example.org"_s, {u"general"_s}));
    bob.send(SendMessage{u"general"_s, {}, u"before"_s, u"b-1"_s});
    QTRY_COMPARE(texts(model), QStringList{u"before"_s});

    // Ann's natterd goes away; Bob keeps talking on his.
    QSignalSpy welcomed(&ann, &ChatClient::welcomed);
    first.stop();
    for (int i = 0; i < 10; ++i)
        bob.send(SendMessage{u"general"_s, {}, u"during %1"_s.arg(i), u"b-d%1"_s.arg(i)});
    QTRY_COMPARE_WITH_TIMEOUT(welcomed.size(), 1, 5000); // on the other natterd, with her token
    QCOMPARE(ann.serverUrl(), first.url());              // the same chat for the app
    QTRY_COMPARE(model->rowCount(), 11);
    ann.sendMessage(general, u"hello from the other natterd"_s);
    QTRY_COMPARE(bob.count<ReceiveMessage>(), 12);

    // Exactly the conversation Bob reads, each message once, in order.
    const QList<Message> conversation = bob.readConversation(u"general"_s);
    QList<qint64> expected;
    for (const Message &message : conversation)
        expected.append(message.id);
    QTRY_COMPARE(storedIds(model), expected);
    QCOMPARE(texts(model).first(), u"before"_s);
    QCOMPARE(texts(model).last(), u"hello from the other natterd"_s);
}

QTEST_MAIN(TestFailover)
#include "tst_failover.moc"
