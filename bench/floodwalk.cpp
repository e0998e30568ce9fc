// floodwalk: the desktop app in a room that floods.
//
//   QT_QPA_PLATFORM=offscreen bench/floodwalk [--messages N] [--natterd PATH]
//
// A natterd (the real binary, 127.0.0.1, a database in $TMPDIR, no rate
// limit) and Bob's desktop app (its real window and controller, offscreen,
// in #general). A second process (this program with --send) signs in as
// Alice and sends N messages to #general as fast as the socket takes them.
// Measured in Bob's app, from the flood's first message to the last one on
// screen: the longest time the message view went without a paint (a frozen
// or blank window), how long after the flood's end (Alice's copy of her last
// message came back from the server) Bob's view painted that last message,
// whether the view ever painted with no message row on screen, the CPU time
// of Bob's process, and its RSS. Prints one JSON line. Not a test: figures go
// to docs/performance.md.
#include "app/appcontroller.h"
#include "bench/procstats.h"
#include "common/messagelistmodel.h"
#include "tests/app/memorycredentialstore.h"
#include "ui/conversationview.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QListView>
#include <QProcess>
#include <QRandomGenerator>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QWebSocket>

#include <cstdio>
#include <ctime>

using namespace Natter;
using Natter::Bench::cpuSeconds;
using Natter::Bench::rssKiB;

namespace {

quint16 g_port = 0;

/// The same clock in both processes.
qint64 monotonicMs()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return qint64(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

QByteArray frame(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

/// Alice: signs in, joins #general, sends count messages at once, and prints
/// the monotonic clock (ms) when the server has sent the last one back.
int sendFlood(int count)
{
    QWebSocket socket;
    bool started = false;
    QObject::connect(&socket, &QWebSocket::connected, &socket, [&socket] {
        socket.sendTextMessage(QString::fromUtf8(frame({{u"type"_qs, u"hello"_qs},
                                                        {u"name"_qs, u"Alice"_qs},
                                                        {u"email"_qs, u"alice@example.org"_qs},
                                                        {u"protocol"_qs, 1},
                                                        {u"password"_qs, u"correct horse battery"_qs}})));
    });
    QObject::connect(&socket, &QWebSocket::textMessageReceived, &socket, [&](const QString &text) {
        const QJsonObject object = QJsonDocument::fromJson(text.toUtf8()).object();
        const QString type = object.value(u"type"_qs).toString();
        if (type == u"welcome"_qs) {
            socket.sendTextMessage(
                QString::fromUtf8(frame({{u"type"_qs, u"join_room"_qs}, {u"room"_qs, u"general"_qs}})));
        } else if (type == u"members"_qs && !started) {
            started = true; // in the room: go
            for (int n = 0; n < count; ++n) {
                socket.sendTextMessage(QString::fromUtf8(frame(
                    {{u"type"_qs, u"send_message"_qs},
                     {u"room"_qs, u"general"_qs},
                     {u"text"_qs,
                      u"Flood message %1: the build of branch feature/%2 went green"_qs.arg(n).arg(n % 97)},
                     {u"client_id"_qs, u"flood-%1"_qs.arg(n)}})));
            }
            socket.flush();
        } else if (type == u"receive_message"_qs) {
            if (object.value(u"client_id"_qs).toString() == u"flood-%1"_qs.arg(count - 1)) {
                std::printf("%lld\n", monotonicMs());
                std::fflush(stdout);
                QCoreApplication::quit();
            }
        } else if (type == u"error"_qs) {
            std::fprintf(stderr, "error: %s\n", qPrintable(text));
        }
    });
    socket.open(QUrl(u"ws://127.0.0.1:%1"_qs.arg(g_port)));
    return QCoreApplication::exec();
}

/// Paints of the message view: when, and whether a message row was on screen.
class PaintWatch : public QObject
{
public:
    explicit PaintWatch(QListView *view)
        : m_view(view)
    {
        view->viewport()->installEventFilter(this);
    }
    QList<qint64> times;
    int blankPaints = 0;

protected:
    bool eventFilter(QObject *object, QEvent *event) override
    {
        if (event->type() == QEvent::Paint && object == m_view->viewport()) {
            times.append(monotonicMs());
            if (m_view->model() && m_view->model()->rowCount() > 0 &&
                !m_view->indexAt(QPoint(10, m_view->viewport()->height() - 10)).isValid() &&
                !m_view->indexAt(QPoint(10, 10)).isValid())
                ++blankPaints;
        }
        return false;
    }

private:
    QListView *m_view;
};

} // namespace

int main(int argc, char *argv[])
{
    QApplication application(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption messagesOption(u"messages"_qs, u"Messages in the flood."_qs, u"n"_qs,
                                            u"20000"_qs);
    const QCommandLineOption natterdOption(u"natterd"_qs, u"The natterd binary."_qs, u"path"_qs,
                                           QStringLiteral(NATTERD_PATH));
    const QCommandLineOption sendOption(u"send"_qs, u"(internal) Be Alice on this port."_qs, u"port"_qs);
    parser.addOptions({messagesOption, natterdOption, sendOption});
    parser.process(application);
    const int count = parser.value(messagesOption).toInt();
    if (parser.isSet(sendOption)) {
        g_port = quint16(parser.value(sendOption).toUInt());
        return sendFlood(count);
    }

    QTemporaryDir dir;
    g_port = quint16(40000 + QRandomGenerator::global()->bounded(20000));
    QProcess natterd;
    natterd.setProcessChannelMode(QProcess::MergedChannels);
    natterd.start(parser.value(natterdOption),
                  {u"--host"_qs, u"127.0.0.1"_qs, u"--port"_qs, QString::number(g_port), u"--db"_qs,
                   dir.filePath(u"natter.db"_qs), u"--no-tls"_qs, u"--no-discovery"_qs, u"--registration"_qs,
                   u"open"_qs, u"--rate-limit"_qs, u"0"_qs, u"--max-input-rate"_qs, u"0"_qs});
    if (!natterd.waitForStarted() || !QTest::qWaitFor(
                                         [&natterd] {
                                             natterd.waitForReadyRead(50);
                                             return natterd.readAll().contains("listening on");
                                         },
                                         10'000)) {
        std::fprintf(stderr, "natterd did not start\n");
        return 1;
    }

    ClientOptions options;
    options.server = QUrl(u"ws://127.0.0.1:%1"_qs.arg(g_port));
    options.identity = User{u"Bob"_qs, u"bob@example.org"_qs};
    options.room = u"general"_qs;
    options.discovery = false;
    options.password = u"correct horse battery"_qs;
    AppController bob(AppSettings::fromFile(dir.filePath(u"bob.ini"_qs)), options,
                      std::make_unique<MemoryCredentialStore>());
    const ConversationKey general = ConversationKey::room(u"general"_qs);
    if (!bob.start() || !QTest::qWaitFor(
                            [&bob, &general] {
                                return bob.client()->state() == ChatClient::State::Online &&
                                       bob.window()->currentConversation() == general;
                            },
                            10'000)) {
        std::fprintf(stderr, "Bob's app did not come online\n");
        return 1;
    }
    bob.window()->resize(1000, 700);
    QTest::qWait(200);
    MessageListModel *model = bob.client()->messages(general);
    QListView *view = bob.window()->messageView();
    PaintWatch paints(view);

    const double cpuBefore = cpuSeconds();
    QProcess alice;
    alice.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    alice.start(QCoreApplication::applicationFilePath(),
                {u"--send"_qs, QString::number(g_port), u"--messages"_qs, QString::number(count)});
    const QString last = u"Flood message %1:"_qs.arg(count - 1);
    qint64 firstArrival = 0;
    qint64 lastPainted = 0;
    QObject::connect(model, &QAbstractItemModel::rowsInserted, model, [&] {
        if (firstArrival == 0)
            firstArrival = monotonicMs();
    });
    // The last message is on screen once a paint happens with it as the bottom row.
    const bool done = QTest::qWaitFor(
        [&] {
            const QModelIndex bottom = view->indexAt(QPoint(10, view->viewport()->height() - 10));
            const QModelIndex above = view->indexAt(QPoint(10, view->viewport()->height() - 40));
            const auto shows = [&last](const QModelIndex &index) {
                return index.isValid() && index.data(MessageListModel::TextRole).toString().startsWith(last);
            };
            if (lastPainted == 0 && (shows(bottom) || shows(above)) && !paints.times.isEmpty() &&
                paints.times.last() >= firstArrival)
                lastPainted = paints.times.last();
            return lastPainted != 0;
        },
        120'000);
    alice.waitForFinished(30'000);
    const qint64 floodEnd = alice.readAllStandardOutput().trimmed().toLongLong();
    const double cpu = cpuSeconds() - cpuBefore;
    if (!done || floodEnd == 0) {
        std::fprintf(stderr, "the flood did not arrive (%d rows, done %d, end %lld)\n%s\n", model->rowCount(),
                     int(done), floodEnd, natterd.readAll().constData());
        return 1;
    }
    qint64 longestGap = 0;
    qint64 previous = firstArrival;
    for (qint64 time : std::as_const(paints.times)) {
        if (time < firstArrival)
            continue;
        if (time > lastPainted)
            break;
        longestGap = std::max(longestGap, time - previous);
        previous = time;
    }
    std::printf("{\"messages\": %d, \"flood_ms\": %lld, \"shown_after_end_ms\": %lld, "
                "\"longest_without_paint_ms\": %lld, \"paints\": %lld, \"blank_paints\": %d, "
                "\"cpu_s\": %.2f, \"rss_mib\": %.1f, \"rows\": %d}\n",
                count, floodEnd - firstArrival, lastPainted - floodEnd, longestGap,
                qint64(std::count_if(paints.times.cbegin(), paints.times.cend(),
                                     [&](qint64 t) { return t >= firstArrival && t <= lastPainted; })),
                paints.blankPaints, cpu, double(rssKiB()) / 1024.0, model->rowCount());
    natterd.terminate();
    natterd.waitForFinished(10'000);
    return 0;
}
