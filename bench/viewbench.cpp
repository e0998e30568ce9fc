// viewbench: how the real chat window copes with a very long room.
//
//   QT_QPA_PLATFORM=offscreen bench/viewbench [--messages N] [--frames F]
//
// Fills one conversation with N messages (mixed senders, lengths, links,
// emoji, days), shows it in MainWindow, and measures: the first layout, the
// paint time of F frames scrolling up a page at a time from the bottom, the
// time to take a page of 50 older messages at the top (the fetchMore path),
// the time to append one new message, and the process's RSS. Prints one JSON
// line. Not a test: figures go to docs/performance.md.
#include "mainwindow.h"
#include "messagelistmodel.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QListView>
#include <QScrollBar>

#include <algorithm>
#include <cstdio>

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
    const QCommandLineOption framesOption(QStringLiteral("frames"), QStringLiteral("Pages to scroll."),
                                          QStringLiteral("n"), QStringLiteral("300"));
    parser.addOptions({messagesOption, framesOption});
    parser.process(app);
    const int total = parser.value(messagesOption).toInt();
    const int frames = parser.value(framesOption).toInt();
    const qint64 rssStart = rssKiB();

    const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-qint64(total + 100) * 37);
    MessageListModel model;
    model.setOwnEmail(QStringLiteral("alice@example.org"));
    QElapsedTimer timer;
    timer.start();
    // As it arrives: pages of 200, newest first, like scrolling back through history.
    const int page = 200;
    const int olderHeld = 50; // kept back to prepend later
    for (int end = total; end > olderHeld; end -= page) {
        QList<Message> batch;
        for (int id = std::max(olderHeld + 1, end - page + 1); id <= end; ++id)
            batch.append(makeMessage(id, start));
        if (end == total)
            model.addMessages(batch);
        else
            model.prependOlder(batch, true);
    }
    const double fillMs = timer.nsecsElapsed() / 1e6;

    MainWindow window;
    window.resize(1100, 750);
    window.show();
    QCoreApplication::processEvents();
    timer.restart();
    window.showConversation(ConversationKey::room(QStringLiteral("general")), &model);
    QListView *view = window.messageView();
    view->doItemsLayout();
    window.scrollToBottom();
    QCoreApplication::processEvents();
    view->viewport()->repaint();
    const double firstLayoutMs = timer.nsecsElapsed() / 1e6;

    // Scroll up a page at a time, painting every frame.
    QScrollBar *bar = view->verticalScrollBar();
    QList<double> frameMs;
    for (int i = 0; i < frames && bar->value() > 0; ++i) {
        timer.restart();
        bar->setValue(bar->value() - view->viewport()->height());
        view->viewport()->repaint();
        frameMs.append(timer.nsecsElapsed() / 1e6);
    }
    std::sort(frameMs.begin(), frameMs.end());
    auto percentile = [&frameMs](double p) {
        return frameMs.isEmpty()
                   ? 0.0
                   : frameMs.at(std::min<qsizetype>(frameMs.size() - 1, qsizetype(p * frameMs.size())));
    };

    // A page of older history arrives at the top while the user reads there.
    QList<Message> older;
    for (int id = 1; id <= olderHeld; ++id)
        older.append(makeMessage(id, start));
    bar->setValue(0);
    timer.restart();
    model.prependOlder(older, false);
    QCoreApplication::processEvents();
    view->viewport()->repaint();
    const double prependMs = timer.nsecsElapsed() / 1e6;

    // A new message at the bottom while the user is there.
    window.scrollToBottom();
    QCoreApplication::processEvents();
    timer.restart();
    model.addMessages({makeMessage(total + 1, start)});
    QCoreApplication::processEvents();
    view->viewport()->repaint();
    const double appendMs = timer.nsecsElapsed() / 1e6;

    std::printf(
        "{\"bench\":\"viewbench\",\"messages\":%d,\"rows\":%d,\"fill_ms\":%.1f,\"first_layout_ms\":%.1f,"
        "\"frames\":%lld,\"frame_p50_ms\":%.2f,\"frame_p99_ms\":%.2f,\"frame_max_ms\":%.2f,"
        "\"prepend50_ms\":%.1f,\"append1_ms\":%.1f,\"rss_mib\":%.1f,\"rss_growth_mib\":%.1f}\n",
        total, model.rowCount(), fillMs, firstLayoutMs, qlonglong(frameMs.size()), percentile(0.5),
        percentile(0.99), frameMs.isEmpty() ? 0.0 : frameMs.constLast(), prependMs, appendMs,
        rssKiB() / 1024.0, (rssKiB() - rssStart) / 1024.0);
    return 0;
}
