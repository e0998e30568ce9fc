// RedisBus against a real redis-server (CTest's fixture "redis",
// tests/support/redis.sh, on 127.0.0.1).
#include "server/redisbus.h"
#include "tests/support/testserver.h"

#include <QSignalSpy>
#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;

class TestRedisBus : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void readsItsAddress_data();
    void readsItsAddress();
    void twoBusesExchangeMessagesOfAnyBytesInOrder();
    void commandsAreAnsweredOnTheEventLoop();
    void comesBackAfterRedisRestartsAndSubscribesAgain();
    void anUnreachableRedisIsTriedAgainWithoutBlocking();
    void signsInWithItsCredentialsAndOnlyThen();
};

void TestRedisBus::readsItsAddress_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QByteArray>("user");
    QTest::addColumn<QByteArray>("password");
    QTest::newRow("host and port") << u"redis://10.0.0.5:6380"_s << u"10.0.0.5"_s << 6380 << QByteArray()
                                   << QByteArray();
    QTest::newRow("default port") << u"redis://cache.example.org"_s << u"cache.example.org"_s << 6379
                                  << QByteArray() << QByteArray();
    QTest::newRow("password") << u"redis://:s%40cret@cache:6380"_s << u"cache"_s << 6380 << QByteArray()
                              << "s@cret"_ba;
    QTest::newRow("user and password") << u"redis://natter:pw@cache"_s << u"cache"_s << 6379 << "natter"_ba
                                       << "pw"_ba;
    QTest::newRow("not redis") << u"http://x:1"_s << QString() << 0 << QByteArray() << QByteArray();
    QTest::newRow("no host") << u"redis://:6379"_s << QString() << 0 << QByteArray() << QByteArray();
    QTest::newRow("a path") << u"redis://x:1/db"_s << QString() << 0 << QByteArray() << QByteArray();
    QTest::newRow("garbage") << u"redis//"_s << QString() << 0 << QByteArray() << QByteArray();
}

void TestRedisBus::readsItsAddress()
{
    QFETCH(QString, url);
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(QByteArray, user);
    QFETCH(QByteArray, password);
    QString error;
    const std::optional<RedisAddress> address = RedisAddress::parse(url, &error);
    QCOMPARE(address.has_value(), !host.isEmpty());
    if (address) {
        QCOMPARE(address->host, host);
        QCOMPARE(int(address->port), port);
        QCOMPARE(address->user, user);
        QCOMPARE(address->password, password);
    } else {
        QVERIFY(error.contains(u"HOST:PORT"_s));
    }
}

void TestRedisBus::twoBusesExchangeMessagesOfAnyBytesInOrder()
{
    RedisBus listener(testRedisAddress());
    RedisBus speaker(testRedisAddress());
    QSignalSpy received(&listener, &RedisBus::messageReceived);
    listener.subscribe("natter:test"_ba);
    listener.start();
    speaker.start();
    QTRY_VERIFY(listener.isConnected() && speaker.isConnected());
    const QByteArray binary("\0\x01\xff{\"type\":\"x\"}\r\n", 17);
    QVERIFY(speaker.publish("natter:test"_ba, binary));
    for (int i = 0; i < 200; ++i)
        QVERIFY(speaker.publish("natter:test"_ba, QByteArray::number(i)));
    QVERIFY(speaker.publish("natter:other"_ba, "not for the listener"_ba));
    QTRY_COMPARE(received.size(), 201);
    QCOMPARE(received.at(0).at(0).toByteArray(), "natter:test"_ba);
    QCOMPARE(received.at(0).at(1).toByteArray(), binary);
    for (int i = 0; i < 200; ++i)
        QCOMPARE(received.at(i + 1).at(1).toByteArray(), QByteArray::number(i));
    // Its own publishes come back too (every natterd delivers to its own connections from there).
    QVERIFY(listener.publish("natter:test"_ba, "mine"_ba));
    QTRY_COMPARE(received.size(), 202);
    listener.unsubscribe("natter:test"_ba);
    QVERIFY(speaker.publish("natter:test"_ba, "after"_ba));
    // A marker through another channel shows the one before it was not delivered.
    listener.subscribe("natter:marker"_ba);
    QTRY_VERIFY(listener.isConnected());
    QVERIFY(speaker.publish("natter:marker"_ba, "marker"_ba));
    QTRY_COMPARE(received.size(), 203);
    QCOMPARE(received.last().at(1).toByteArray(), "marker"_ba);
}

void TestRedisBus::commandsAreAnsweredOnTheEventLoop()
{
    RedisBus bus(testRedisAddress());
    bus.start();
    QTRY_VERIFY(bus.isConnected());
    QList<RedisReply> replies;
    QVERIFY(bus.command({"SET"_ba, "natter:test:key"_ba, "value"_ba},
                        [&](const RedisReply &r) { replies.append(r); }));
    QVERIFY(bus.command({"GET"_ba, "natter:test:key"_ba}, [&](const RedisReply &r) { replies.append(r); }));
    QVERIFY(bus.command({"INCRBY"_ba, "natter:test:count"_ba, "5"_ba},
                        [&](const RedisReply &r) { replies.append(r); }));
    QVERIFY(bus.command({"NO-SUCH-COMMAND"_ba}, [&](const RedisReply &r) { replies.append(r); }));
    QVERIFY(bus.command({"MGET"_ba, "natter:test:key"_ba, "natter:test:none"_ba},
                        [&](const RedisReply &r) { replies.append(r); }));
    QCOMPARE(replies.size(), 0); // nothing blocks: the answers come later
    QTRY_COMPARE(replies.size(), 5);
    QVERIFY(replies.at(0).ok);
    QCOMPARE(replies.at(1).string, "value"_ba);
    QCOMPARE(replies.at(2).integer, 5);
    QVERIFY(!replies.at(3).ok);
    QVERIFY(!replies.at(3).string.isEmpty());
    QCOMPARE(replies.at(4).array, (QList<QByteArray>{"value"_ba, QByteArray()}));
}

void TestRedisBus::comesBackAfterRedisRestartsAndSubscribesAgain()
{
    RedisBus listener(testRedisAddress());
    RedisBus speaker(testRedisAddress());
    QSignalSpy received(&listener, &RedisBus::messageReceived);
    QSignalSpy changes(&listener, &RedisBus::connectedChanged);
    listener.subscribe("natter:restart"_ba);
    listener.start();
    speaker.start();
    QTRY_VERIFY(listener.isConnected() && speaker.isConnected());
    QVERIFY(TestStoreLocation::runServiceScript(u"redis"_s, u"pause"_s));
    QTRY_VERIFY(!listener.isConnected() && !speaker.isConnected());
    QCOMPARE(changes.last().at(0).toBool(), false);
    QVERIFY(!speaker.publish("natter:restart"_ba, "lost"_ba)); // refused, not queued
    QVERIFY(TestStoreLocation::runServiceScript(u"redis"_s, u"resume"_s));
    // Tried again every ≤ 5 s; the subscription is made again by itself.
    QTRY_VERIFY_WITH_TIMEOUT(listener.isConnected() && speaker.isConnected(), 12000);
    QCOMPARE(changes.last().at(0).toBool(), true);
    QVERIFY(speaker.publish("natter:restart"_ba, "back"_ba));
    QTRY_COMPARE(received.size(), 1);
    QCOMPARE(received.at(0).at(1).toByteArray(), "back"_ba);
}

void TestRedisBus::anUnreachableRedisIsTriedAgainWithoutBlocking()
{
    // A port nothing listens on (the fixture's own, plus one... taken from a closed socket).
    RedisBus bus(RedisAddress{u"127.0.0.1"_s, 1, {}, {}});
    QElapsedTimer timer;
    timer.start();
    bus.start();
    QVERIFY(timer.elapsed() < 1000);
    QVERIFY(!bus.isConnected());
    QVERIFY(!bus.publish("x"_ba, "y"_ba));
    QVERIFY(!bus.command({"PING"_ba}));
    bool ticked = false;
    QTimer::singleShot(300, [&] { ticked = true; });
    QTRY_VERIFY(ticked); // the event loop runs meanwhile
    QVERIFY(!bus.isConnected());
}

void TestRedisBus::signsInWithItsCredentialsAndOnlyThen()
{
    // An ACL user of its own on the test Redis (the default user stays open
    // for the other tests), allowed pub/sub on natter:* only.
    const QByteArray user = "natter-test-" + QByteArray::number(QCoreApplication::applicationPid());
    RedisBus admin(testRedisAddress());
    admin.start();
    QTRY_VERIFY(admin.isConnected());
    QSignalSpy created(&admin, &RedisBus::connectedChanged);
    bool accepted = false;
    QVERIFY(admin.command({"ACL"_ba, "SETUSER"_ba, user, "on"_ba, ">right password"_ba, "&natter:*"_ba,
                           "+@pubsub"_ba, "+ping"_ba},
                          [&accepted](const RedisReply &reply) { accepted = reply.ok; }));
    QTRY_VERIFY(accepted);

    RedisAddress wrong = testRedisAddress();
    wrong.user = user;
    wrong.password = "wrong password";
    RedisBus refused(wrong);
    refused.subscribe("natter:auth"_ba);
    refused.start();
    RedisAddress right = wrong;
    right.password = "right password";
    RedisBus listener(right);
    QSignalSpy received(&listener, &RedisBus::messageReceived);
    listener.subscribe("natter:auth"_ba);
    listener.start();
    QTRY_VERIFY(listener.isConnected());
    QVERIFY(admin.publish("natter:auth"_ba, "for the signed-in"_ba));
    QTRY_COMPARE(received.size(), 1);
    // The wrong password never links (it is tried again, refused each time).
    QVERIFY(!refused.isConnected());
    QVERIFY(!refused.publish("natter:auth"_ba, "from a stranger"_ba));

    bool deleted = false;
    QVERIFY(admin.command({"ACL"_ba, "DELUSER"_ba, user},
                          [&deleted](const RedisReply &reply) { deleted = reply.ok; }));
    QTRY_VERIFY(deleted);
}

QTEST_GUILESS_MAIN(TestRedisBus)
#include "tst_redisbus.moc"
