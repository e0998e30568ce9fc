// SendThreads alone, on socket pairs: every write's bytes reach its socket
// whole and in order, whichever thread sent them, and a full socket takes
// what fits and says so.

#include "server/sendthreads.h"

#include <QTest>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <vector>

using namespace Natter;

namespace {

/// A connected pair of local stream sockets; [0] is written, [1] read.
struct SocketPair
{
    SocketPair()
    {
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds.data()) != 0)
            fds = {-1, -1};
    }
    ~SocketPair()
    {
        for (int fd : fds) {
            if (fd != -1)
                ::close(fd);
        }
    }
    Q_DISABLE_COPY_MOVE(SocketPair)

    /// Everything readable now (the reading end is non-blocking).
    QByteArray readAll() const
    {
        QByteArray all;
        char buffer[65536];
        for (;;) {
            const ssize_t n = ::recv(fds[1], buffer, sizeof buffer, MSG_DONTWAIT);
            if (n <= 0)
                return all;
            all.append(buffer, n);
        }
    }

    std::array<int, 2> fds{};
};

QByteArray payload(int pass, int socket, qsizetype size)
{
    QByteArray bytes = QByteArray::number(pass) + ':' + QByteArray::number(socket) + ';';
    while (bytes.size() < size)
        bytes.append(char('a' + (pass + socket + bytes.size()) % 26));
    return bytes;
}

} // namespace

class SendThreadsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void everyWriteReachesItsSocketInOrder_data();
    void everyWriteReachesItsSocketInOrder();
    void aFullSocketTakesWhatFits();
};

void SendThreadsTest::everyWriteReachesItsSocketInOrder_data()
{
    QTest::addColumn<int>("threads");
    QTest::addColumn<int>("sockets");
    QTest::newRow("the caller alone") << 1 << 200;
    QTest::newRow("three threads, few writes (the caller's)") << 3 << int(SendThreads::MinParallelWrites - 1);
    QTest::newRow("three threads") << 3 << 300;
}

void SendThreadsTest::everyWriteReachesItsSocketInOrder()
{
    QFETCH(int, threads);
    QFETCH(int, sockets);
    SendThreads sender(threads);
    QCOMPARE(sender.threadCount(), threads);
    std::vector<std::unique_ptr<SocketPair>> pairs;
    for (int i = 0; i < sockets; ++i) {
        pairs.push_back(std::make_unique<SocketPair>());
        QVERIFY(pairs.back()->fds[0] != -1);
    }
    std::vector<QByteArray> expected(static_cast<size_t>(sockets));
    std::vector<QByteArray> received(static_cast<size_t>(sockets));
    for (int pass = 0; pass < 40; ++pass) {
        std::vector<QByteArray> bytes;
        std::vector<SendThreads::Write> writes;
        for (int i = 0; i < sockets; ++i)
            bytes.push_back(payload(pass, i, 16 + (pass * 37 + i * 11) % 700));
        for (int i = 0; i < sockets; ++i)
            writes.push_back({pairs[size_t(i)]->fds[0], bytes[size_t(i)]});
        sender.send(writes);
        for (int i = 0; i < sockets; ++i) {
            QCOMPARE(writes[size_t(i)].sent, bytes[size_t(i)].size()); // small: the kernel takes all
            expected[size_t(i)] += bytes[size_t(i)];
            received[size_t(i)] += pairs[size_t(i)]->readAll();
        }
    }
    for (int i = 0; i < sockets; ++i)
        QCOMPARE(received[size_t(i)], expected[size_t(i)]);
}

void SendThreadsTest::aFullSocketTakesWhatFits()
{
    SendThreads sender(2);
    std::vector<std::unique_ptr<SocketPair>> pairs;
    for (qsizetype i = 0; i < SendThreads::MinParallelWrites; ++i) {
        pairs.push_back(std::make_unique<SocketPair>());
        QVERIFY(pairs.back()->fds[0] != -1);
    }
    // One socket is offered far more than its buffers hold; it takes part,
    // the call returns (never blocks), and the rest goes in later passes.
    const QByteArray big = payload(0, 0, 8 * 1024 * 1024);
    const QByteArray small = payload(0, 1, 100);
    QByteArray received;
    qsizetype offset = 0;
    int passes = 0;
    while (offset < big.size()) {
        std::vector<SendThreads::Write> writes;
        writes.push_back({pairs[0]->fds[0], QByteArrayView(big).sliced(offset)});
        for (size_t i = 1; i < pairs.size(); ++i)
            writes.push_back({pairs[i]->fds[0], small});
        sender.send(writes);
        if (passes == 0) {
            QVERIFY(writes[0].sent > 0);
            QVERIFY(writes[0].sent < big.size());
        }
        for (size_t i = 1; i < writes.size(); ++i)
            QCOMPARE(writes[i].sent, small.size());
        offset += writes[0].sent;
        received += pairs[0]->readAll();
        QVERIFY(++passes < 10'000);
    }
    received += pairs[0]->readAll();
    QCOMPARE(received.size(), big.size());
    QVERIFY(received == big);
}

QTEST_GUILESS_MAIN(SendThreadsTest)
#include "tst_sendthreads.moc"
