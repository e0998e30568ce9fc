// soakclient: a long, gentle run against one natterd, watching it age.
//
// Starts the natterd it is given on 127.0.0.1 (a fresh database in a temporary
// folder), connects --clients users who chat in one room and now and then
// write to each other, cuts --churn of them off every --churn-every seconds
// (they come back within a second and resend what was not acknowledged, as the
// app does), and samples natterd every --sample-every seconds: resident memory,
// open descriptors, threads, WAL and database size. At the end natterd gets
// SIGTERM; what it prints then (a LeakSanitizer report, with an ASan build) is
// checked. Prints the samples as CSV (--out) and a summary; exits 1 if a
// message was lost or doubled, or natterd reported an error.
//
// Loopback only, bounded by --duration (at most 4 h). See bench/soak.sh.

#include "bench/benchaccounts.h"

#include "common/codec.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTimer>
#include <QWebSocket>

#include <csignal>
#include <cstdio>
#include <memory>
#include <vector>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;

namespace {

struct Options
{
    QString natterd;
    int clients = 50;
    int durationS = 1800;
    int churnEveryS = 30;
    double churn = 0.1;
    int sampleEveryS = 10;
    double messagesPerClientPerS = 0.5;
    QString out;
};

[[noreturn]] void usage(const char *problem)
{
    std::fprintf(stderr,
                 "soakclient: %s\n"
                 "usage: soakclient --natterd PATH [--clients 50] [--duration SEC] [--churn-every 30]\n"
                 "                  [--churn 0.1] [--sample-every 10] [--rate 0.5] [--out samples.csv]\n",
                 problem);
    std::exit(2);
}

Options parse(const QStringList &arguments)
{
    Options o;
    for (qsizetype i = 1; i < arguments.size(); ++i) {
        const QString &name = arguments.at(i);
        if (i + 1 >= arguments.size())
            usage("an option lacks its value");
        const QString value = arguments.at(++i);
        bool ok = true;
        if (name == u"--natterd"_s)
            o.natterd = value;
        else if (name == u"--clients"_s)
            o.clients = value.toInt(&ok);
        else if (name == u"--duration"_s)
            o.durationS = value.toInt(&ok);
        else if (name == u"--churn-every"_s)
            o.churnEveryS = value.toInt(&ok);
        else if (name == u"--churn"_s)
            o.churn = value.toDouble(&ok);
        else if (name == u"--sample-every"_s)
            o.sampleEveryS = value.toInt(&ok);
        else if (name == u"--rate"_s)
            o.messagesPerClientPerS = value.toDouble(&ok);
        else if (name == u"--out"_s)
            o.out = value;
        else
            usage("unknown option");
        if (!ok)
            usage("a number is not a number");
    }
    if (o.natterd.isEmpty())
        usage("which natterd? (--natterd PATH)");
    if (o.clients < 2 || o.clients > 1000 || o.durationS < 10 || o.durationS > 4 * 3600 ||
        o.churnEveryS < 1 || o.churn < 0 || o.churn > 1 || o.sampleEveryS < 1 ||
        o.messagesPerClientPerS <= 0 || o.messagesPerClientPerS > 20)
        usage("a value is out of range");
    return o;
}

QString emailOf(int i)
{
    return u"soak%1@example.org"_s.arg(i);
}

void send(QWebSocket &socket, const Codec::ClientFrame &frame)
{
    socket.sendTextMessage(QString::fromUtf8(Codec::encodeClientFrame(frame)));
}

/// A user who chats, and after a cut-off resends what was not acknowledged.
struct Talker
{
    int index = 0;
    QWebSocket socket;
    bool online = false;
    QHash<QString, SendMessage> unacknowledged; // by client id
    int sent = 0;
};

struct Sample
{
    qint64 seconds;
    qint64 rssKiB;
    int descriptors;
    int threads;
    qint64 walBytes;
    qint64 dbBytes;
};

qint64 statusValue(const QByteArray &status, const char *key)
{
    for (const QByteArray &line : status.split('\n')) {
        if (line.startsWith(key))
            return line.mid(qsizetype(qstrlen(key))).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

} // namespace

int main(int argc, char **argv)
{
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    const Options options = parse(arguments);

    QTemporaryDir dir;
    if (!dir.isValid())
        return 1;
    const QString db = dir.filePath(u"natter.db"_s);
    std::vector<std::string> emails;
    for (int i = 0; i < options.clients; ++i)
        emails.push_back(emailOf(i).toStdString());
    if (!provisionBenchAccounts(db.toStdString(), emails))
        return 1;

    QCoreApplication app(argc, argv);
    QProcess natterd;
    natterd.setProgram(options.natterd);
    natterd.setArguments({u"--host"_s, u"127.0.0.1"_s, u"--port"_s, u"0"_s, u"--db"_s, db, u"--no-tls"_s,
                          u"--no-discovery"_s});
    QByteArray natterdOutput;
    QObject::connect(&natterd, &QProcess::readyReadStandardOutput, &natterd,
                     [&] { natterdOutput += natterd.readAllStandardOutput(); });
    QObject::connect(&natterd, &QProcess::readyReadStandardError, &natterd,
                     [&] { natterdOutput += natterd.readAllStandardError(); });
    natterd.start();
    if (!natterd.waitForStarted())
        usage("natterd did not start");
    static const QRegularExpression listening(u"listening on 127\\.0\\.0\\.1:(\\d+)"_s);
    QElapsedTimer waited;
    waited.start();
    quint16 port = 0;
    while (port == 0 && waited.elapsed() < 60000 && natterd.state() == QProcess::Running) {
        natterd.waitForReadyRead(1000);
        natterdOutput += natterd.readAllStandardOutput() + natterd.readAllStandardError();
        const auto match = listening.match(QString::fromUtf8(natterdOutput));
        if (match.hasMatch())
            port = quint16(match.captured(1).toUInt());
    }
    if (port == 0) {
        std::fprintf(stderr, "%s", natterdOutput.constData());
        usage("natterd did not listen");
    }
    const QUrl url(u"ws://127.0.0.1:%1"_s.arg(port));
    const qint64 pid = natterd.processId();

    QSet<QString> acknowledged;
    int duplicates = 0;
    qint64 received = 0;
    int cuts = 0;
    std::vector<std::unique_ptr<Talker>> talkers;
    for (int i = 0; i < options.clients; ++i) {
        auto talker = std::make_unique<Talker>();
        talker->index = i;
        Talker *t = talker.get();
        QObject::connect(&t->socket, &QWebSocket::connected, &t->socket, [t] {
            Hello hello;
            hello.user = User{u"Soak %1"_s.arg(t->index), emailOf(t->index)};
            hello.token = QString::fromStdString(benchToken(emailOf(t->index).toStdString()));
            send(t->socket, hello);
        });
        QObject::connect(
            &t->socket, &QWebSocket::textMessageReceived, &t->socket, [&, t](const QString &text) {
                const auto decoded = Codec::decodeServerFrame(text.toUtf8());
                if (!decoded.isOk())
                    return;
                const auto &frame = decoded.value();
                if (std::holds_alternative<Welcome>(frame)) {
                    send(t->socket, JoinRoom{u"soak"_s});
                } else if (const auto *history = std::get_if<History>(&frame); history && !t->online) {
                    t->online = true; // joined: what was not acknowledged goes again, same client ids
                    for (const SendMessage &pending : std::as_const(t->unacknowledged))
                        send(t->socket, pending);
                } else if (const auto *message = std::get_if<ReceiveMessage>(&frame)) {
                    ++received;
                    if (message->message.from.email == emailOf(t->index) &&
                        t->unacknowledged.remove(message->message.clientId) == 1) {
                        if (acknowledged.contains(message->message.clientId))
                            ++duplicates;
                        acknowledged.insert(message->message.clientId);
                    }
                }
            });
        QObject::connect(&t->socket, &QWebSocket::disconnected, &t->socket, [t, url] {
            t->online = false;
            QTimer::singleShot(QRandomGenerator::global()->bounded(1000), &t->socket,
                               [t, url] { t->socket.open(url); });
        });
        t->socket.open(url);
        talkers.push_back(std::move(talker));
    }

    // Messages: one every 1/(clients*rate) s from a random online talker; one in five is direct.
    int sent = 0;
    QTimer talk;
    talk.setInterval(std::max(1, int(1000.0 / (options.clients * options.messagesPerClientPerS))));
    QObject::connect(&talk, &QTimer::timeout, &talk, [&] {
        auto *random = QRandomGenerator::global();
        Talker &t = *talkers.at(std::size_t(random->bounded(options.clients)));
        if (!t.online)
            return;
        SendMessage message;
        message.clientId = u"s%1-%2"_s.arg(t.index).arg(t.sent++);
        message.text = u"soak message %1 from %2"_s.arg(sent).arg(t.index);
        if (random->bounded(5) == 0)
            message.to = emailOf((t.index + 1 + random->bounded(options.clients - 1)) % options.clients);
        else
            message.room = u"soak"_s;
        t.unacknowledged.insert(message.clientId, message);
        send(t.socket, message);
        ++sent;
    });
    QTimer churn;
    churn.setInterval(options.churnEveryS * 1000);
    QObject::connect(&churn, &QTimer::timeout, &churn, [&] {
        const int count = std::max(1, int(options.clients * options.churn + 0.5));
        for (int i = 0; i < count; ++i) {
            Talker &t = *talkers.at(std::size_t(QRandomGenerator::global()->bounded(options.clients)));
            if (t.socket.state() == QAbstractSocket::ConnectedState) {
                t.socket.abort();
                ++cuts;
            }
        }
    });

    QElapsedTimer clock;
    clock.start();
    QList<Sample> samples;
    const auto sample = [&] {
        QFile status(u"/proc/%1/status"_s.arg(pid));
        const QByteArray text = status.open(QIODevice::ReadOnly) ? status.readAll() : QByteArray();
        samples.append(Sample{
            clock.elapsed() / 1000, statusValue(text, "VmRSS:"),
            int(QDir(u"/proc/%1/fd"_s.arg(pid)).entryList(QDir::Files | QDir::System).size()),
            int(statusValue(text, "Threads:")), QFileInfo(db + u"-wal"_s).size(), QFileInfo(db).size()});
        const Sample &last = samples.constLast();
        std::fprintf(stderr,
                     "soak: %5llds rss %lld KiB, %d fds, %d threads, wal %lld B, sent %d, acked %lld\n",
                     last.seconds, last.rssKiB, last.descriptors, last.threads, last.walBytes, sent,
                     qint64(acknowledged.size()));
    };
    QTimer sampler;
    sampler.setInterval(options.sampleEveryS * 1000);
    QObject::connect(&sampler, &QTimer::timeout, &sampler, sample);
    sample();
    talk.start();
    churn.start();
    sampler.start();
    QTimer::singleShot(options.durationS * 1000, &app, [&] {
        talk.stop();
        churn.stop();
        sampler.stop();
        sample();
        app.quit();
    });
    app.exec();

    // Drain: everyone back online and every message acknowledged (bounded).
    QElapsedTimer drain;
    drain.start();
    const auto pending = [&] {
        int n = 0;
        for (const auto &t : talkers)
            n += int(t->unacknowledged.size()) + (t->online ? 0 : 1);
        return n;
    };
    while (pending() > 0 && drain.elapsed() < 30000)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 100);
    const int lost = sent - int(acknowledged.size());

    for (const auto &t : talkers) {
        t->socket.disconnect();
        t->socket.close();
    }
    natterd.terminate();
    natterd.waitForFinished(60000);
    natterdOutput += natterd.readAllStandardOutput() + natterd.readAllStandardError();
    const bool sanitizerReport = natterdOutput.contains("LeakSanitizer") ||
                                 natterdOutput.contains("ERROR: AddressSanitizer") ||
                                 natterdOutput.contains("runtime error:");
    const bool cleanExit = natterd.exitStatus() == QProcess::NormalExit && natterd.exitCode() == 0;

    // What the database holds: each acknowledged message once, nothing else twice.
    qint64 stored = -1;
    qint64 distinct = -1;
    {
        QSqlDatabase check = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"check"_s);
        check.setDatabaseName(db);
        if (check.open()) {
            QSqlQuery query(check);
            if (query.exec(
                    u"SELECT COUNT(*), COUNT(DISTINCT sender_email || ' ' || client_id) FROM messages"_s) &&
                query.next()) {
                stored = query.value(0).toLongLong();
                distinct = query.value(1).toLongLong();
            }
        }
    }
    QSqlDatabase::removeDatabase(u"check"_s);
    duplicates += int(stored - distinct);

    if (!options.out.isEmpty()) {
        QFile out(options.out);
        if (out.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            out.write("seconds,rss_kib,fds,threads,wal_bytes,db_bytes\n");
            for (const Sample &s : std::as_const(samples))
                out.write(QByteArray::number(s.seconds) + ',' + QByteArray::number(s.rssKiB) + ',' +
                          QByteArray::number(s.descriptors) + ',' + QByteArray::number(s.threads) + ',' +
                          QByteArray::number(s.walBytes) + ',' + QByteArray::number(s.dbBytes) + '\n');
        }
    }
    std::printf(
        "{\"clients\":%d,\"duration_s\":%d,\"sent\":%d,\"acknowledged\":%lld,\"lost\":%d,"
        "\"stored\":%lld,\"duplicates\":%d,\"received\":%lld,\"cut_off\":%d,\"natterd_clean_exit\":%s,"
        "\"sanitizer_report\":%s}\n",
        options.clients, options.durationS, sent, qint64(acknowledged.size()), lost, stored, duplicates,
        received, cuts, cleanExit ? "true" : "false", sanitizerReport ? "true" : "false");
    if (sanitizerReport)
        std::fprintf(stderr, "%s", natterdOutput.constData());
    return lost == 0 && duplicates == 0 && stored == acknowledged.size() && cleanExit && !sanitizerReport ? 0
                                                                                                          : 1;
}
