// pollbench: the seed's argument measured — the same chat over HTTP polling
// and long polling, to hold against natterd's WebSocket push.
//
//   bench/pollbench --mode poll|longpoll [--clients N] [--rooms R] [--duration SEC] [--interval MS]
//
// Starts this program again as a minimal HTTP/1.1 chat server on 127.0.0.1
// (Qt's QTcpServer on natterd's epoll dispatcher, keep-alive connections, R
// rooms, each keeping its last 100 messages in memory) in which a message is
// said in every room once a second; client i waits in room i mod R. With
// --mode poll each client asks "GET /messages?room=K&after=ID" every
// --interval ms (1000 by default, their phases spread evenly) and gets an
// answer at once, usually an empty list; with --mode longpoll each asks again
// as soon as it has an answer, and the server holds a request until a message
// arrives (or 30 s pass). Measured over the measured seconds: the server's CPU
// (utime + stime from /proc), the requests it answered, and the latency of
// every message at every client (from the server's clock when it was said to
// the client's when it arrived; the same monotonic clock). natterd's side is
// `natterbench fanout --senders 1 --rooms R --rate 1`.
// Prints one JSON line. Not a test: figures go to docs/performance.md;
// bench/pushpoll.sh runs the whole comparison and bench/pushpollplot.py turns
// its runs into the table there and docs/push-vs-polling.svg.
#include "bench/procstats.h"
#include "server/epolleventdispatcher.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QHostAddress>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <vector>

using namespace Natter;

namespace {

qint64 monotonicUs()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return qint64(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
}

void raiseDescriptorLimit()
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

// ---- the server ----

struct Said
{
    qint64 id;
    qint64 atUs;
};

class PollServer : public QObject
{
public:
    PollServer(bool longPoll, int rooms)
        : m_longPoll(longPoll)
        , m_said(size_t(rooms))
        , m_lastIds(size_t(rooms), 0)
    {
        m_server.setListenBacklogSize(4096);
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection()) {
                socket->setParent(this);
                connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onReadable(socket); });
                connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
                    m_waiting.erase(std::remove_if(m_waiting.begin(), m_waiting.end(),
                                                   [socket](const Waiting &w) { return w.socket == socket; }),
                                    m_waiting.end());
                    socket->deleteLater();
                });
            }
        });
        m_say.setInterval(1000);
        connect(&m_say, &QTimer::timeout, this, &PollServer::say);
        m_say.start();
        m_expire.setInterval(1000);
        connect(&m_expire, &QTimer::timeout, this, [this] {
            const qint64 now = monotonicUs();
            m_waiting.erase(std::remove_if(m_waiting.begin(), m_waiting.end(),
                                           [this, now](const Waiting &w) {
                                               if (now - w.sinceUs <= 30'000'000)
                                                   return false;
                                               answer(w.socket, w.room, w.after);
                                               return true;
                                           }),
                            m_waiting.end());
        });
        m_expire.start();
    }

    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    quint16 port() const { return m_server.serverPort(); }

private:
    struct Waiting
    {
        QTcpSocket *socket;
        int room;
        qint64 after;
        qint64 sinceUs;
    };

    void say()
    {
        // A message in every room; the ones waiting in long polls get theirs.
        const qint64 now = monotonicUs();
        for (size_t room = 0; room < m_said.size(); ++room) {
            m_said[room].push_back(Said{++m_lastIds[room], now});
            if (m_said[room].size() > 100)
                m_said[room].pop_front();
        }
        for (const Waiting &waiting : std::exchange(m_waiting, {}))
            answer(waiting.socket, waiting.room, waiting.after);
    }

    void onReadable(QTcpSocket *socket)
    {
        // Requests are "GET /messages?after=ID HTTP/1.1" with a few headers; a
        // client sends the next one only after its answer.
        QByteArray &buffer = m_buffers[socket];
        buffer += socket->readAll();
        for (qsizetype end = buffer.indexOf("\r\n\r\n"); end >= 0; end = buffer.indexOf("\r\n\r\n")) {
            const QByteArray request = buffer.left(end);
            buffer.remove(0, end + 4);
            // "GET /messages?room=K&after=ID HTTP/1.1"
            const qsizetype roomAt = request.indexOf("room=");
            const qsizetype at = request.indexOf("after=");
            const int room =
                roomAt < 0 ? 0 : request.mid(roomAt + 5, request.indexOf('&', roomAt) - roomAt - 5).toInt();
            const qint64 after =
                at < 0 ? 0 : request.mid(at + 6, request.indexOf(' ', at) - at - 6).toLongLong();
            if (room < 0 || size_t(room) >= m_said.size()) {
                socket->write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                continue;
            }
            const std::deque<Said> &said = m_said[size_t(room)];
            if (m_longPoll && (said.empty() || said.back().id <= after))
                m_waiting.push_back(Waiting{socket, room, after, monotonicUs()});
            else
                answer(socket, room, after);
        }
    }

    void answer(QTcpSocket *socket, int room, qint64 after)
    {
        QByteArray body = "[";
        for (const Said &said : m_said[size_t(room)]) {
            if (said.id <= after)
                continue;
            if (body.size() > 1)
                body += ',';
            body += "{\"id\":" + QByteArray::number(said.id) +
                    ",\"said_us\":" + QByteArray::number(said.atUs) +
                    ",\"from\":\"bob@example.org\",\"text\":\"The build of main went green again.\"}";
        }
        body += ']';
        const QByteArray response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                    QByteArray::number(body.size()) + "\r\n\r\n" + body;
        socket->write(response);
    }

    QTcpServer m_server;
    bool m_longPoll;
    QTimer m_say;
    QTimer m_expire;
    std::vector<std::deque<Said>> m_said; // per room
    std::vector<qint64> m_lastIds;
    std::vector<Waiting> m_waiting;
    QHash<QTcpSocket *, QByteArray> m_buffers;
};

// ---- the clients ----

class Clients : public QObject
{
public:
    Clients(quint16 port, int count, int rooms, bool longPoll, int intervalMs)
        : m_port(port)
        , m_rooms(rooms)
        , m_longPoll(longPoll)
        , m_intervalUs(qint64(intervalMs) * 1000)
    {
        m_clients.resize(count);
        m_tick.setInterval(5);
        connect(&m_tick, &QTimer::timeout, this, &Clients::tick);
    }

    void start()
    {
        // Connected a few hundred at a time; the pollers' phases spread over the interval.
        const qint64 now = monotonicUs();
        for (int i = 0; i < int(m_clients.size()); ++i) {
            Client &client = m_clients[i];
            client.socket = new QTcpSocket(this);
            client.dueUs = now + 2'000'000 + m_intervalUs * i / int(m_clients.size());
            client.room = i % m_rooms;
            connect(client.socket, &QTcpSocket::readyRead, this, [this, i] { onReadable(i); });
            client.socket->connectToHost(QHostAddress::LocalHost, m_port);
            if (i % 200 == 199)
                QCoreApplication::processEvents();
        }
        m_tick.start();
    }

    void startMeasuring()
    {
        m_measuring = true;
        m_latenciesUs.clear();
    }
    void stopMeasuring() { m_measuring = false; }
    std::vector<qint64> &latencies() { return m_latenciesUs; }
    qint64 requests() const { return m_requests; }
    int connected() const
    {
        return int(std::count_if(m_clients.cbegin(), m_clients.cend(), [](const Client &client) {
            return client.socket->state() == QAbstractSocket::ConnectedState;
        }));
    }

private:
    struct Client
    {
        QTcpSocket *socket = nullptr;
        QByteArray buffer;
        qint64 lastId = -1; // -1: not started (the first answer only says where the room is)
        qint64 dueUs = 0;
        int room = 0;
        bool asking = false;
    };

    void ask(Client &client)
    {
        client.asking = true;
        ++m_requests;
        client.socket->write("GET /messages?room=" + QByteArray::number(client.room) +
                             "&after=" + QByteArray::number(std::max<qint64>(client.lastId, 0)) +
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n");
    }

    void tick()
    {
        const qint64 now = monotonicUs();
        for (Client &client : m_clients) {
            if (client.asking || now < client.dueUs ||
                client.socket->state() != QAbstractSocket::ConnectedState)
                continue;
            client.dueUs += m_intervalUs;
            ask(client);
        }
    }

    void onReadable(int index)
    {
        Client &client = m_clients[index];
        client.buffer += client.socket->readAll();
        const qsizetype headerEnd = client.buffer.indexOf("\r\n\r\n");
        if (headerEnd < 0)
            return;
        const qsizetype lengthAt = client.buffer.indexOf("Content-Length: ");
        const qint64 length =
            client.buffer.mid(lengthAt + 16, client.buffer.indexOf('\r', lengthAt) - lengthAt - 16)
                .toLongLong();
        if (client.buffer.size() < headerEnd + 4 + length)
            return;
        const QByteArray body = client.buffer.mid(headerEnd + 4, length);
        client.buffer.remove(0, headerEnd + 4 + length);
        client.asking = false;
        const qint64 now = monotonicUs();
        for (qsizetype at = body.indexOf("\"id\":"); at >= 0; at = body.indexOf("\"id\":", at + 1)) {
            const qint64 id = body.mid(at + 5, body.indexOf(',', at) - at - 5).toLongLong();
            const qsizetype saidAt = body.indexOf("\"said_us\":", at);
            const qint64 said = body.mid(saidAt + 10, body.indexOf(',', saidAt) - saidAt - 10).toLongLong();
            if (client.lastId >= 0 && id > client.lastId && m_measuring)
                m_latenciesUs.push_back(now - said);
            client.lastId = std::max(client.lastId, id);
        }
        client.lastId = std::max<qint64>(client.lastId, 0);
        if (m_longPoll)
            ask(client);
    }

    quint16 m_port;
    int m_rooms;
    bool m_longPoll;
    qint64 m_intervalUs;
    std::vector<Client> m_clients;
    QTimer m_tick;
    bool m_measuring = false;
    std::vector<qint64> m_latenciesUs;
    qint64 m_requests = 0;
};

} // namespace

int main(int argc, char *argv[])
{
    raiseDescriptorLimit();
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication application(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption modeOption(QStringLiteral("mode"), QStringLiteral("poll or longpoll."),
                                        QStringLiteral("mode"), QStringLiteral("poll"));
    const QCommandLineOption clientsOption(QStringLiteral("clients"), QStringLiteral("Waiting clients."),
                                           QStringLiteral("n"), QStringLiteral("1000"));
    const QCommandLineOption durationOption(QStringLiteral("duration"), QStringLiteral("Measured seconds."),
                                            QStringLiteral("s"), QStringLiteral("20"));
    const QCommandLineOption intervalOption(QStringLiteral("interval"), QStringLiteral("Polling interval."),
                                            QStringLiteral("ms"), QStringLiteral("1000"));
    const QCommandLineOption serveOption(QStringLiteral("serve"),
                                         QStringLiteral("(internal) Be the server."));
    const QCommandLineOption roomsOption(QStringLiteral("rooms"),
                                         QStringLiteral("Rooms, each with a message a second (default 1)."),
                                         QStringLiteral("n"), QStringLiteral("1"));
    parser.addOptions({modeOption, clientsOption, durationOption, intervalOption, roomsOption, serveOption});
    parser.process(application);
    const bool longPoll = parser.value(modeOption) == QLatin1String("longpoll");
    if (!longPoll && parser.value(modeOption) != QLatin1String("poll")) {
        std::fprintf(stderr, "pollbench: --mode is poll or longpoll\n");
        return 2;
    }

    const int rooms = std::clamp(parser.value(roomsOption).toInt(), 1, 1000);
    if (parser.isSet(serveOption)) {
        PollServer server(longPoll, rooms);
        if (!server.listen())
            return 1;
        std::printf("listening on %u\n", unsigned(server.port()));
        std::fflush(stdout);
        return QCoreApplication::exec();
    }

    const int count = std::clamp(parser.value(clientsOption).toInt(), 1, 20000);
    const int duration = std::clamp(parser.value(durationOption).toInt(), 1, 120);
    const int intervalMs = std::clamp(parser.value(intervalOption).toInt(), 10, 60'000);
    QProcess server;
    server.start(QCoreApplication::applicationFilePath(),
                 {QStringLiteral("--serve"), QStringLiteral("--mode"), parser.value(modeOption),
                  QStringLiteral("--rooms"), QString::number(rooms)});
    if (!server.waitForReadyRead(10'000)) {
        std::fprintf(stderr, "pollbench: the server did not start\n");
        return 1;
    }
    const quint16 port = quint16(server.readAllStandardOutput().trimmed().split(' ').value(2).toUInt());
    Clients clients(port, count, rooms, longPoll, intervalMs);
    clients.start();
    // A warm-up: everyone connected and through a few rounds.
    QElapsedTimer wait;
    wait.start();
    while (wait.elapsed() < 6'000)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    const int connected = clients.connected();
    const double cpuBefore = Bench::cpuSeconds(server.processId());
    const qint64 requestsBefore = clients.requests();
    clients.startMeasuring();
    wait.restart();
    while (wait.elapsed() < duration * 1000)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    clients.stopMeasuring();
    const double cpu = Bench::cpuSeconds(server.processId()) - cpuBefore;
    const double rss = double(Bench::rssKiB(server.processId())) / 1024.0;
    const qint64 requests = clients.requests() - requestsBefore;
    server.kill();
    server.waitForFinished();

    std::vector<qint64> &latencies = clients.latencies();
    std::sort(latencies.begin(), latencies.end());
    const auto percentile = [&latencies](double p) {
        return latencies.empty() ? 0.0
                                 : double(latencies.at(std::min(latencies.size() - 1,
                                                                size_t(p * double(latencies.size()))))) /
                                       1000.0;
    };
    const double messages = double(duration); // one a second
    std::printf(
        "{\"bench\":\"pollbench\",\"mode\":\"%s\",\"clients\":%d,\"rooms\":%d,\"connected\":%d,\"interval_"
        "ms\":%d,"
        "\"duration_s\":%d,\"server_cpu_s\":%.3f,\"server_cpu_pct\":%.1f,\"requests_per_s\":%.0f,"
        "\"deliveries\":%zu,\"expected_deliveries\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
        "\"server_rss_mib\":%.1f}\n",
        longPoll ? "longpoll" : "poll", count, rooms, connected, intervalMs, duration, cpu,
        100.0 * cpu / duration, double(requests) / duration, latencies.size(), messages * count,
        percentile(0.5), percentile(0.99), latencies.empty() ? 0.0 : double(latencies.back()) / 1000.0, rss);
    return connected == count ? 0 : 1;
}
