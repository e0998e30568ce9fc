#include "server/epolleventdispatcher.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QThread>
#include <QTimer>

using namespace Natter;

class TestEpollEventDispatcher : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void isInstalled();
    void singleShotTimerFiresOnTime();
    void repeatingTimerRepeatsUntilStopped();
    void zeroIntervalTimerDoesNotStarveOthers();
    void remainingTimeAndRegisteredTimers();
    void timerKilledByAnEarlierCallbackDoesNotFire();
    void restartedTimersLeaveNothingBehind();
    void postedEventsAreDelivered();
    void otherThreadsWakeTheLoop();
    void socketsCarryAMegabyteBothWays();
    void descriptorReuseWithinOnePass();
    void nestedEventLoopQuits();

private:
    EpollEventDispatcher *dispatcher() const
    {
        return qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance());
    }
};

void TestEpollEventDispatcher::isInstalled()
{
    QVERIFY(dispatcher());
}

void TestEpollEventDispatcher::singleShotTimerFiresOnTime()
{
    QElapsedTimer clock;
    clock.start();
    QTimer timer;
    timer.setSingleShot(true);
    QSignalSpy fired(&timer, &QTimer::timeout);
    timer.start(50);
    QVERIFY(fired.wait(5000));
    QVERIFY2(clock.elapsed() >= 49, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(fired.size(), 1);
}

void TestEpollEventDispatcher::repeatingTimerRepeatsUntilStopped()
{
    QTimer timer;
    QSignalSpy fired(&timer, &QTimer::timeout);
    timer.start(5);
    QTRY_VERIFY(fired.size() >= 5);
    timer.stop();
    const qsizetype count = fired.size();
    QTimer later;
    later.setSingleShot(true);
    QSignalSpy laterFired(&later, &QTimer::timeout);
    later.start(40); // eight periods of the stopped timer
    QVERIFY(laterFired.wait(5000));
    QCOMPARE(fired.size(), count);
}

void TestEpollEventDispatcher::zeroIntervalTimerDoesNotStarveOthers()
{
    QTimer busy;
    QSignalSpy busyFired(&busy, &QTimer::timeout);
    busy.start(0);
    QTimer other;
    other.setSingleShot(true);
    QSignalSpy otherFired(&other, &QTimer::timeout);
    other.start(20);
    QVERIFY(otherFired.wait(5000));
    QVERIFY(busyFired.size() > 1);
}

void TestEpollEventDispatcher::remainingTimeAndRegisteredTimers()
{
    QObject owner;
    const int id = owner.startTimer(1000);
    QVERIFY(id > 0);
    const int remaining = dispatcher()->remainingTime(id);
    QVERIFY2(remaining > 900 && remaining <= 1000, qPrintable(QString::number(remaining)));
    const auto timers = dispatcher()->registeredTimers(&owner);
    QCOMPARE(timers.size(), 1);
    QCOMPARE(timers.first().timerId, id);
    QCOMPARE(timers.first().interval, 1000);
    owner.killTimer(id);
    QCOMPARE(dispatcher()->remainingTime(id), -1);
    QVERIFY(dispatcher()->registeredTimers(&owner).isEmpty());
}

void TestEpollEventDispatcher::timerKilledByAnEarlierCallbackDoesNotFire()
{
    QTimer first;
    QTimer second;
    first.setSingleShot(true);
    second.setSingleShot(true);
    QSignalSpy secondFired(&second, &QTimer::timeout);
    bool firstFired = false;
    connect(&first, &QTimer::timeout, this, [&] {
        firstFired = true;
        second.stop();
    });
    first.start(10);
    second.start(10);
    QTRY_VERIFY(firstFired);
    QTimer later;
    later.setSingleShot(true);
    QSignalSpy laterFired(&later, &QTimer::timeout);
    later.start(30);
    QVERIFY(laterFired.wait(5000));
    // Both were due in the same pass; the first ran first and stopped the second.
    QCOMPARE(secondFired.size(), 0);
}

void TestEpollEventDispatcher::restartedTimersLeaveNothingBehind()
{
    // QWebSocket restarts its wait for the rest of a frame on every partial
    // read: 40-byte pieces from many peers restart timers ~100,000 times a
    // second. Each restart used to leave a stale deadline that every pass of
    // the loop walked until it came due (62 % CPU against 17 % for Qt's own).
    const qsizetype before = dispatcher()->pendingDeadlines();
    QTimer waitForMore;
    waitForMore.setSingleShot(true);
    QSignalSpy fired(&waitForMore, &QTimer::timeout);
    for (int i = 0; i < 100'000; ++i)
        waitForMore.start(5000 + i % 7);
    QCOMPARE(dispatcher()->pendingDeadlines(), before + 1);
    QObject owner;
    for (int i = 0; i < 1000; ++i)
        owner.startTimer(60'000);
    QCOMPARE(dispatcher()->pendingDeadlines(), before + 1001);
    QVERIFY(dispatcher()->unregisterTimers(&owner));
    QCOMPARE(dispatcher()->pendingDeadlines(), before + 1);
    waitForMore.start(10); // the one live deadline still fires
    QVERIFY(fired.wait(5000));
    QCOMPARE(fired.size(), 1);
    QCOMPARE(dispatcher()->pendingDeadlines(), before);
}

void TestEpollEventDispatcher::postedEventsAreDelivered()
{
    int calls = 0;
    for (int i = 0; i < 100; ++i)
        QMetaObject::invokeMethod(
            this, [&calls] { ++calls; }, Qt::QueuedConnection);
    QTRY_COMPARE(calls, 100);
}

void TestEpollEventDispatcher::otherThreadsWakeTheLoop()
{
    // The main loop blocks in epoll_wait with no timer due; only the eventfd can wake it.
    int calls = 0;
    QThread *thread = QThread::create([this, &calls] {
        QMetaObject::invokeMethod(
            this, [&calls] { ++calls; }, Qt::QueuedConnection);
    });
    thread->start();
    QTRY_COMPARE_WITH_TIMEOUT(calls, 1, 5000);
    QVERIFY(thread->wait(5000));
    delete thread;
}

void TestEpollEventDispatcher::socketsCarryAMegabyteBothWays()
{
    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QTRY_VERIFY(server.hasPendingConnections());
    QTcpSocket *peer = server.nextPendingConnection();
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);

    // Echo everything back: exercises read notifiers and the write notifier on and off.
    connect(peer, &QTcpSocket::readyRead, peer, [peer] { peer->write(peer->readAll()); });
    QByteArray sent(1024 * 1024, Qt::Uninitialized);
    for (qsizetype i = 0; i < sent.size(); ++i)
        sent[i] = char(i * 31 % 251);
    client.write(sent);
    QByteArray received;
    connect(&client, &QTcpSocket::readyRead, &client, [&] { received += client.readAll(); });
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), sent.size(), 10000);
    QCOMPARE(received, sent);

    QSignalSpy disconnected(&client, &QTcpSocket::disconnected);
    peer->disconnectFromHost();
    QVERIFY(disconnected.wait(5000));
}

void TestEpollEventDispatcher::descriptorReuseWithinOnePass()
{
    // Close a socket and open another within one pass of the loop: the new
    // one often gets the same descriptor number and must still be watched.
    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost));
    for (int round = 0; round < 20; ++round) {
        auto *first = new QTcpSocket;
        first->connectToHost(QHostAddress::LocalHost, server.serverPort());
        QTRY_COMPARE(first->state(), QAbstractSocket::ConnectedState);
        QTRY_VERIFY(server.hasPendingConnections());
        delete server.nextPendingConnection();
        delete first;
        QTcpSocket second;
        second.connectToHost(QHostAddress::LocalHost, server.serverPort());
        QTRY_COMPARE(second.state(), QAbstractSocket::ConnectedState);
        QTRY_VERIFY(server.hasPendingConnections());
        QTcpSocket *peer = server.nextPendingConnection();
        peer->write("ping");
        QTRY_COMPARE(second.bytesAvailable(), 4);
        delete peer;
    }
}

void TestEpollEventDispatcher::nestedEventLoopQuits()
{
    QEventLoop loop;
    QTimer::singleShot(10, &loop, &QEventLoop::quit);
    QElapsedTimer clock;
    clock.start();
    loop.exec();
    QVERIFY(clock.elapsed() < 5000);
}

int main(int argc, char *argv[])
{
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    TestEpollEventDispatcher test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_epolleventdispatcher.moc"
