// viewbench: how the real chat window copes with a very long room.
//
//   QT_QPA_PLATFORM=offscreen bench/viewbench [--messages N] [--page P] [--frames F] [--compact] [--rich]
//
// A room of N messages (mixed senders, lengths, links, emoji, days) is opened
// in MainWindow with its latest 50, as the app does, and then the user keeps
// scrolling to the top: each time the view asks for older history (fetchMore)
// and gets a page of P, until all N are loaded. Measured: the time per page
// (p50, max) as the backlog grows, the paint time of F frames scrolling down
// through the loaded backlog, a new message arriving while the user reads far
// up, going back to the bottom (where the window gives back all but the latest
// messages), a new message after that, and RSS. With --rich every message
// carries what issue 11 added: reactions (one to three chips), and every
// other one is a reply with its quote; some are edited, some mention the
// reader. Prints one JSON line. Not a
// test: figures go to docs/performance.md.
#include "common/messagelistmodel.h"
#include "ui/conversationview.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QListView>
#include <QScrollBar>

#include <algorithm>
#include <cstdio>
#include <utility>

using namespace Natter;

namespace {

qint64 rssKiB()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

bool g_rich = false;

Message makeMessage(qint64 id, const QDateTime &start)
{
    static const QList<User> people{{QStringLiteral("Alice"), QStringLiteral("alice@example.org")},
                                    {QStringLiteral("Bob"), QStringLiteral("bob@example.org")},
                                    {QStringLiteral("Carol"), QStringLiteral("carol@example.org")},
                                    {QStringLiteral("Dmitri"), QStringLiteral("dmitri@example.org")}};
    static const QStringList texts{
        QStringLiteral("ok"),
        QStringLiteral("Sounds good to me 👍"),
        QStringLiteral("The build is green again, see https://ci.example.org/builds/4711 for the details."),
        QStringLiteral(
            "Could someone review the change to the store? It touches the migration code and I would like "
            "a second pair of eyes before it goes in, especially on the part that rewrites old rows."),
        QStringLiteral("line one\nline two\nline three"),
        QStringLiteral("☕?"),
    };
    Message m;
    m.id = id;
    m.room = QStringLiteral("general");
    m.from = people.at(int((id * 7) % people.size()) / (id % 3 == 0 ? 1 : 2)); // runs of one sender
    m.text = texts.at(int((id * 13) % texts.size()));
    m.timestamp = start.addSecs(id * 37); // about 2,300 a day: day separators now and then
    if (g_rich) {
        static const QStringList emoji{QStringLiteral("👍"), QStringLiteral("🎉"), QStringLiteral("👀"),
                                       QStringLiteral("✅")};
        for (int i = 0; i <= id % 3; ++i)
            m.reactions.append(Reaction{emoji.at(int((id + i) % emoji.size())), int(1 + (id + i) % 4),
                                        people.mid(0, int(1 + (id + i) % 4)), i == 0 && id % 2 == 0});
        if (id % 2 == 0 && id > 3) {
            const Message original = [&] {
                const bool rich = std::exchange(g_rich, false);
                const Message o = makeMessage(id - 3, start);
                g_rich = rich;
                return o;
            }();
            m.reply = ReplyPreview{original.id, original.from, Message::previewOf(original.text), false};
        }
        if (id % 5 == 0)
            m.edited = m.timestamp.addSecs(20);
        if (id % 7 == 0) {
            m.mentions = {QStringLiteral("alice@example.org")};
            m.text = QStringLiteral("@Alice ") + m.text;
        }
    }
    return m;
}

} // namespace

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption messagesOption(QStringLiteral("messages"),
                                            QStringLiteral("Messages in the room."), QStringLiteral("n"),
                                            QStringLiteral("100000"));
    const QCommandLineOption pageOption(QStringLiteral("page"), QStringLiteral("Messages per history page."),
                                        QStringLiteral("n"), QStringLiteral("200"));
    const QCommandLineOption framesOption(QStringLiteral("frames"), QStringLiteral("Pages to scroll."),
                                          QStringLiteral("n"), QStringLiteral("300"));
    const QCommandLineOption compactOption(QStringLiteral("compact"),
                                           QStringLiteral("Compact rows instead of bubbles."));
    const QCommandLineOption richOption(
        QStringLiteral("rich"), QStringLiteral("Replies, reactions, edits and mentions on the messages."));
    parser.addOptions({messagesOption, pageOption, framesOption, compactOption, richOption});
    parser.process(app);
    g_rich = parser.isSet(richOption);
    const int total = parser.value(messagesOption).toInt();
    const int page = parser.value(pageOption).toInt();
    const int frames = parser.value(framesOption).toInt();
    const qint64 rssStart = rssKiB();
    const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-qint64(total + 100) * 37);

    MessageListModel model;
    model.setOwnEmail(QStringLiteral("alice@example.org"));
    QList<Message> latest;
    for (int id = std::max(1, total - 49); id <= total; ++id)
        latest.append(makeMessage(id, start));
    model.addMessages(latest);
    model.setHasOlder(total > 50);
    // The server's part: answer each request for older messages with a page.
    QObject::connect(&model, &MessageListModel::olderMessagesRequested, &model, [&](qint64 beforeId) {
        QList<Message> older;
        for (qint64 id = std::max<qint64>(1, beforeId - page); id < beforeId; ++id)
            older.append(makeMessage(id, start));
        model.prependOlder(older, !older.isEmpty() && older.constFirst().id > 1);
    });

    MainWindow window;
    window.setCompactMessages(parser.isSet(compactOption));
    window.resize(1100, 750);
    window.show();
    QCoreApplication::processEvents();
    QElapsedTimer timer;
    timer.start();
    window.showConversation(ConversationKey::room(QStringLiteral("general")), &model);
    QListView *view = window.messageView();
    QScrollBar *bar = view->verticalScrollBar();
    QCoreApplication::processEvents();
    view->viewport()->repaint();
    const double openMs = timer.nsecsElapsed() / 1e6;

    // Scroll to the top again and again: every time, a page of older history.
    QList<double> pageMs;
    timer.restart();
    while (model.canFetchMore({})) {
        QElapsedTimer one;
        one.start();
        bar->setValue(0); // fetches (MainWindow asks at the top) and re-lays out
        QCoreApplication::processEvents();
        view->viewport()->repaint();
        pageMs.append(one.nsecsElapsed() / 1e6);
    }
    const double loadAllMs = timer.nsecsElapsed() / 1e6;
    const int loaded = model.rowCount();
    std::sort(pageMs.begin(), pageMs.end());

    // Read down through the backlog, a page per frame.
    QList<double> frameMs;
    for (int i = 0; i < frames && bar->value() < bar->maximum(); ++i) {
        timer.restart();
        bar->setValue(bar->value() + view->viewport()->height());
        view->viewport()->repaint();
        frameMs.append(timer.nsecsElapsed() / 1e6);
    }
    std::sort(frameMs.begin(), frameMs.end());
    auto percentile = [](const QList<double> &sorted, double p) {
        return sorted.isEmpty()
                   ? 0.0
                   : sorted.at(std::min<qsizetype>(sorted.size() - 1, qsizetype(p * sorted.size())));
    };

    // A new message while the user reads far up.
    bar->setValue(bar->maximum() / 3);
    timer.restart();
    model.addMessages({makeMessage(total + 1, start)});
    QCoreApplication::processEvents();
    view->viewport()->repaint();
    const double appendFarUpMs = timer.nsecsElapsed() / 1e6;
    const double rssLoaded = rssKiB() / 1024.0;

    // Back to the bottom: the window gives the backlog back.
    timer.restart();
    window.scrollToBottom();
    QCoreApplication::processEvents();
    QCoreApplication::processEvents();
    view->viewport()->repaint();
    const double backToBottomMs = timer.nsecsElapsed() / 1e6;
    const int rowsAtBottom = model.rowCount();
    timer.restart();
    model.addMessages({makeMessage(total + 2, start)});
    QCoreApplication::processEvents();
    view->viewport()->repaint();
    const double appendAtBottomMs = timer.nsecsElapsed() / 1e6;

    std::printf(
        "{\"bench\":\"viewbench\",\"style\":\"%s\",\"rich\":%s,\"messages\":%d,\"page\":%d,\"open_ms\":%.1f,"
        "\"pages\":%lld,"
        "\"page_p50_ms\":%.1f,\"page_max_ms\":%.1f,\"load_all_s\":%.1f,\"rows_loaded\":%d,"
        "\"frames\":%lld,\"frame_p50_ms\":%.2f,\"frame_p99_ms\":%.2f,\"frame_max_ms\":%.2f,"
        "\"append_far_up_ms\":%.1f,\"rss_loaded_mib\":%.1f,\"back_to_bottom_ms\":%.1f,"
        "\"rows_at_bottom\":%d,\"append_at_bottom_ms\":%.1f,\"rss_growth_mib\":%.1f}\n",
        parser.isSet(compactOption) ? "compact" : "bubbles", g_rich ? "true" : "false", total, page, openMs,
        qlonglong(pageMs.size()), percentile(pageMs, 0.5), pageMs.isEmpty() ? 0.0 : pageMs.constLast(),
        loadAllMs / 1000, loaded, qlonglong(frameMs.size()), percentile(frameMs, 0.5),
        percentile(frameMs, 0.99), frameMs.isEmpty() ? 0.0 : frameMs.constLast(), appendFarUpMs, rssLoaded,
        backToBottomMs, rowsAtBottom, appendAtBottomMs, (rssKiB() - rssStart) / 1024.0);
    return 0;
}
