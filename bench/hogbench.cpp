// hogbench: one account asks for what costs natterd most, as fast as its
// limits allow, while another user chats.
//
//   bench/hogbench --natterd PATH [--messages 300000] [--accounts 50000] [--seconds 20]
//
// Seeds a database once (in $TMPDIR, reused while the counts are the same):
// messages of random words in #general and that many accounts. Each run
// copies it and starts natterd on the copy (127.0.0.1, --no-tls, default
// limits otherwise). Bob, in #lab, sends 15 messages a second and times each
// echo: first for --seconds alone (quiet), then for --seconds while Mallory,
// one account on four connections, spends her whole rate budget (default 20
// tokens/s, bursts of 200) on the requests that cost most: searches of 16
// three-letter prefixes (26 tokens), the last page of the directory (the
// costliest offset), and reactions on the newest message of #general, in
// turn. Prints one JSON line: Bob's echo p50/p99 quiet and busy, their
// ratio, Mallory's answered and refused requests, natterd's CPU seconds.
// Not a test: figures go to docs/performance.md (compare builds in
// alternated runs on one machine).
#include "bench/procstats.h"
#include "server/passwordhasher.h"
#include "server/sqlmessagestore.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <cstdio>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

QString token(const QString &email)
{
    return u"hogbench-token-"_s + email;
}

QStringList vocabulary()
{
    // 2,000 made-up words of 4 to 9 letters: every three-letter prefix matches many.
    QRandomGenerator random(7);
    QStringList words;
    for (int i = 0; i < 2000; ++i) {
        QString word;
        const int length = 4 + int(random.bounded(6));
        for (int j = 0; j < length; ++j)
            word.append(QChar(u'a' + int(random.bounded(26))));
        words.append(word);
    }
    return words;
}

bool seed(const QString &path, int messages, int accounts)
{
    SqlMessageStore store(path);
    if (!store.open()) {
        std::fprintf(stderr, "hogbench: %s\n", qPrintable(store.errorString()));
        return false;
    }
    const QStringList words = vocabulary();
    QRandomGenerator random(11);
    QList<MessageDraft> batch;
    for (int i = 0; i < messages; ++i) {
        QStringList text;
        for (int j = 0; j < 8; ++j)
            text.append(words.at(int(random.bounded(qsizetype(words.size())))));
        MessageDraft draft;
        draft.message.room = u"general"_s;
        draft.message.from = User{u"Someone %1"_s.arg(i % 50), u"someone%1@seed"_s.arg(i % 50)};
        draft.message.text = text.join(u' ');
        draft.message.clientId = u"seed-%1"_s.arg(i);
        batch.append(draft);
        if (batch.size() == 5000 || i == messages - 1) {
            if (!store.append(batch)) {
                std::fprintf(stderr, "hogbench: %s\n", qPrintable(store.errorString()));
                return false;
            }
            batch.clear();
        }
    }
    AccountStore *store_accounts = store.accounts();
    for (int i = 0; i < accounts; ++i) {
        const QString email = u"person%1@seed"_s.arg(i);
        if (!store_accounts->createAccount(
                Account{email, words.at(i % words.size()) + u' ' + QString::number(i), {}, false, {}})) {
            std::fprintf(stderr, "hogbench: %s\n", qPrintable(store_accounts->errorString()));
            return false;
        }
    }
    for (const QString &email : {u"bob@bench"_s, u"mallory@bench"_s}) {
        if (!store_accounts->createAccount(Account{email, email.section(u'@', 0, 0), {}, false, {}}) ||
            !store_accounts->addToken(email, PasswordHasher::tokenHash(token(email)), u"hogbench"_s))
            return false;
    }
    return true;
}

double percentile(QList<double> samples, double p)
{
    if (samples.isEmpty())
        return 0;
    std::sort(samples.begin(), samples.end());
    return samples.at(std::min<qsizetype>(samples.size() - 1, qsizetype(p * double(samples.size()))));
}

/// A signed-in connection that joins one room and hands every frame to a callback.
class Client : public QObject
{
public:
    Client(quint16 port, const QString &email, const QString &room,
           std::function<void(const QJsonObject &)> onFrame)
        : m_onFrame(std::move(onFrame))
    {
        connect(&m_socket, &QWebSocket::connected, this, [this, email] {
            send({{u"type"_s, u"hello"_s},
                  {u"name"_s, email.section(u'@', 0, 0)},
                  {u"email"_s, email},
                  {u"protocol"_s, 1},
                  {u"token"_s, token(email)}});
        });
        connect(&m_socket, &QWebSocket::textMessageReceived, this, [this, room](const QString &text) {
            const QJsonObject frame = QJsonDocument::fromJson(text.toUtf8()).object();
            if (frame.value(u"type"_s) == u"welcome"_s)
                send({{u"type"_s, u"join_room"_s}, {u"room"_s, room}});
            m_onFrame(frame);
        });
        connect(&m_socket, &QWebSocket::disconnected, this, [this] { m_closed = true; });
        m_socket.open(QUrl(u"ws://127.0.0.1:%1"_s.arg(port)));
    }
    void send(const QJsonObject &frame)
    {
        m_socket.sendTextMessage(QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
    }
    bool closed() const { return m_closed; }

private:
    QWebSocket m_socket;
    std::function<void(const QJsonObject &)> m_onFrame;
    bool m_closed = false;
};

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    const QCommandLineOption natterdOption(u"natterd"_s, u"The natterd binary."_s, u"path"_s);
    const QCommandLineOption messagesOption(u"messages"_s, u"Messages in #general."_s, u"n"_s, u"300000"_s);
    const QCommandLineOption accountsOption(u"accounts"_s, u"Accounts in the directory."_s, u"n"_s,
                                            u"50000"_s);
    const QCommandLineOption secondsOption(u"seconds"_s, u"Seconds of each phase."_s, u"n"_s, u"20"_s);
    parser.addOptions({natterdOption, messagesOption, accountsOption, secondsOption});
    parser.addHelpOption();
    parser.process(app);
    const int messages = std::clamp(parser.value(messagesOption).toInt(), 1, 2'000'000);
    const int accounts = std::clamp(parser.value(accountsOption).toInt(), 1, 500'000);
    const int seconds = std::clamp(parser.value(secondsOption).toInt(), 2, 120);
    if (!parser.isSet(natterdOption)) {
        std::fprintf(stderr, "hogbench: give --natterd PATH\n");
        return 2;
    }

    const QString seedPath = QDir::temp().filePath(u"hogbench-%1-%2.db"_s.arg(messages).arg(accounts));
    if (!QFile::exists(seedPath)) {
        std::fprintf(stderr, "hogbench: seeding %s (once)\n", qPrintable(seedPath));
        if (!seed(seedPath + u".part"_s, messages, accounts) ||
            !QFile::rename(seedPath + u".part"_s, seedPath))
            return 1;
    }
    QTemporaryDir dir;
    const QString db = dir.filePath(u"natter.db"_s);
    if (!QFile::copy(seedPath, db))
        return 1;
    QFile::setPermissions(db, QFileDevice::ReadOwner | QFileDevice::WriteOwner);

    const quint16 port = quint16(40000 + QRandomGenerator::global()->bounded(20000));
    QProcess natterd;
    natterd.setProcessChannelMode(QProcess::MergedChannels);
    natterd.start(parser.value(natterdOption),
                  {u"--host"_s, u"127.0.0.1"_s, u"--port"_s, QString::number(port), u"--db"_s, db,
                   u"--no-tls"_s, u"--no-discovery"_s});
    QByteArray log;
    QElapsedTimer startup;
    startup.start();
    while (!log.contains("listening on") && startup.elapsed() < 60'000 &&
           natterd.state() != QProcess::NotRunning) {
        natterd.waitForReadyRead(100);
        log += natterd.readAll();
    }
    if (!log.contains("listening on")) {
        std::fprintf(stderr, "hogbench: natterd did not start:\n%s\n", log.constData());
        return 1;
    }
    const auto cpuOfNatterd = [&natterd] { return Bench::cpuSeconds(int(natterd.processId())); };

    // Bob: a message to #lab every 1/15 s; each echo's latency goes to the phase it was sent in.
    QElapsedTimer clock;
    clock.start();
    QHash<QString, qint64> sentAt; // client id -> ns
    QList<double> quiet, busy;
    bool hogging = false;
    int bobSent = 0;
    bool bobIn = false;
    Client bob(port, u"bob@bench"_s, u"lab"_s, [&](const QJsonObject &frame) {
        const QString type = frame.value(u"type"_s).toString();
        if (type == u"members"_s)
            bobIn = true;
        if (type != u"receive_message"_s)
            return;
        const QString id = frame.value(u"client_id"_s).toString();
        const auto it = sentAt.constFind(id);
        if (it == sentAt.cend())
            return;
        const double ms = double(clock.nsecsElapsed() - *it) / 1e6;
        (id.startsWith(u"busy"_s) ? busy : quiet).append(ms);
        sentAt.erase(it);
    });
    QTimer bobTimer;
    bobTimer.setTimerType(Qt::PreciseTimer);
    QObject::connect(&bobTimer, &QTimer::timeout, [&] {
        if (!bobIn)
            return;
        const QString id = u"%1-%2"_s.arg(hogging ? u"busy"_s : u"quiet"_s).arg(++bobSent);
        sentAt.insert(id, clock.nsecsElapsed());
        bob.send({{u"type"_s, u"send_message"_s},
                  {u"room"_s, u"lab"_s},
                  {u"text"_s, u"ping"_s},
                  {u"client_id"_s, id}});
    });
    bobTimer.start(1000 / 15);

    // Mallory: four connections of one account, her budget spent as it refills.
    const QStringList words = vocabulary();
    int answered = 0, refused = 0, closedEarly = 0;
    qint64 newest = 0;
    QList<Client *> mallory;
    QList<bool> idle;
    for (int i = 0; i < 4; ++i) {
        idle.append(false);
        mallory.append(new Client(port, u"mallory@bench"_s, u"general"_s, [&, i](const QJsonObject &frame) {
            const QString type = frame.value(u"type"_s).toString();
            if (type == u"history"_s) {
                for (const QJsonValue message : frame.value(u"messages"_s).toArray())
                    newest = std::max(newest, qint64(message.toObject().value(u"id"_s).toDouble()));
                if (frame.value(u"room"_s) != u"general"_s)
                    return; // an answer to nothing she asked
                idle[i] = true;
            } else if (type == u"search_results"_s || type == u"people"_s) {
                ++answered;
                idle[i] = true;
            } else if (type == u"error"_s) {
                ++refused;
                idle[i] = true;
            }
        }));
    }
    double tokens = 200; // her account's bucket, as the server keeps it
    qint64 lastRefillNs = 0;
    int turn = 0;
    bool reactOn = true;
    QTimer malloryTimer;
    QObject::connect(&malloryTimer, &QTimer::timeout, [&] {
        if (!hogging || newest == 0)
            return;
        const qint64 now = clock.nsecsElapsed();
        tokens = std::min(200.0, tokens + double(now - lastRefillNs) / 1e9 * 20.0);
        lastRefillNs = now;
        for (int i = 0; i < mallory.size(); ++i) {
            if (!idle[i])
                continue;
            QJsonObject request;
            double cost = 0;
            switch (turn % 3) {
            case 0: {
                QStringList terms;
                for (int t = 0; t < 16; ++t)
                    terms.append(
                        words.at(QRandomGenerator::global()->bounded(qsizetype(words.size()))).left(3) +
                        u'*');
                request = {{u"type"_s, u"search"_s}, {u"query"_s, terms.join(u' ')}, {u"limit"_s, 50}};
                cost = 26;
                break;
            }
            case 1:
                request = {{u"type"_s, u"list_people"_s},
                           {u"prefix"_s, u""_s},
                           {u"offset"_s, accounts - 50},
                           {u"limit"_s, 50}};
                cost = std::min(1.0 + (accounts - 50) / 100.0, 100.0);
                break;
            default:
                request = {{u"type"_s, u"react"_s},
                           {u"id"_s, newest},
                           {u"emoji"_s, u"\U0001F44D"_s},
                           {u"on"_s, reactOn}};
                reactOn = !reactOn;
                cost = 1;
                break;
            }
            if (tokens < cost)
                return;
            tokens -= cost;
            ++turn;
            idle[i] = cost == 1; // a reaction's answer goes to all four: she does not wait for it
            mallory.at(i)->send(request);
        }
    });
    malloryTimer.start(5);

    // Quiet, then busy.
    const auto waitFor = [](const std::function<bool()> &done, int ms) {
        QElapsedTimer timer;
        timer.start();
        while (!done() && timer.elapsed() < ms)
            QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        return done();
    };
    if (!waitFor([&] { return bobIn && newest > 0; }, 30'000)) {
        std::fprintf(stderr, "hogbench: the clients did not sign in\n");
        return 1;
    }
    waitFor([] { return false; }, seconds * 1000);
    const double cpuBefore = cpuOfNatterd();
    hogging = true;
    lastRefillNs = clock.nsecsElapsed();
    waitFor([] { return false; }, seconds * 1000);
    hogging = false;
    const double cpuBusy = cpuOfNatterd() - cpuBefore;
    waitFor([&] { return sentAt.isEmpty(); }, 30'000);
    for (const Client *client : std::as_const(mallory))
        closedEarly += client->closed() ? 1 : 0;

    const double quietP99 = percentile(quiet, 0.99);
    const double busyP99 = percentile(busy, 0.99);
    std::printf("{\"quiet_p50_ms\":%.2f,\"quiet_p99_ms\":%.2f,\"busy_p50_ms\":%.2f,\"busy_p99_ms\":%.2f,"
                "\"p99_ratio\":%.2f,\"bob_echoes\":%lld,\"bob_lost\":%lld,\"mallory_answered\":%d,"
                "\"mallory_refused\":%d,\"mallory_closed\":%d,\"natterd_cpu_s_busy\":%.2f}\n",
                percentile(quiet, 0.5), quietP99, percentile(busy, 0.5), busyP99,
                quietP99 > 0 ? busyP99 / quietP99 : 0.0, qlonglong(quiet.size() + busy.size()),
                qlonglong(sentAt.size()), answered, refused, closedEarly, cpuBusy);
    qDeleteAll(mallory);
    natterd.terminate();
    natterd.waitForFinished(10'000);
    return 0;
}
