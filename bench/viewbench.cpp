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
//
//   QT_QPA_PLATFORM=offscreen bench/viewbench --images [--rooms R] [--compact]
//
// Opening a room whose latest 50 messages include 20 images (screenshots as
// PNG, photos as JPEG thumbnails, as the app makes them, read from a cache
// folder on disk the way the app answers AttachmentImages::thumbnailNeeded):
// the time from showConversation() to the end of the first paint that shows
// the thumbnails of the images on screen, for R rooms each opened cold (no
// thumbnail in memory) and then again warm (switching back).
#include "bench/procstats.h"
#include "common/messagelistmodel.h"
#include "ui/attachmentimages.h"
#include "ui/conversationview.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QBuffer>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QListView>
#include <QPainter>
#include <QRandomGenerator>
#include <QScrollBar>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>
#include <utility>

using namespace Natter;
using Natter::Bench::rssKiB;

namespace {

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

/// Thumbnails as the app makes them: screenshots (PNG) and photos (JPEG), 640 px on their longer side.
QByteArray makeThumbnail(int i, QSize *size)
{
    const bool photo = i % 2 == 1;
    *size = i % 5 == 4 ? QSize(360, 640) : QSize(640, 360);
    QImage image(*size, QImage::Format_RGB32);
    QPainter painter(&image);
    QLinearGradient gradient(0, 0, size->width(), size->height());
    gradient.setColorAt(0, QColor::fromHsv((i * 37) % 360, 120, 200));
    gradient.setColorAt(1, QColor::fromHsv((i * 37 + 90) % 360, 160, 90));
    painter.fillRect(image.rect(), gradient);
    if (photo) { // a photo's grain: what makes it JPEG
        auto *random = QRandomGenerator::global();
        for (int n = 0; n < 20000; ++n)
            painter.fillRect(int(random->bounded(size->width())), int(random->bounded(size->height())), 2, 2,
                             QColor::fromRgb(random->generate()));
    } else { // a screenshot: flat areas and text
        painter.fillRect(QRect(20, 20, size->width() / 2, size->height() / 2), Qt::white);
        painter.setPen(Qt::black);
        for (int line = 0; line < 8; ++line)
            painter.drawText(30, 45 + line * 18,
                             QStringLiteral("Build %1: step %2 passed").arg(4700 + i).arg(line));
    }
    painter.end();
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, photo ? "JPEG" : "PNG", photo ? 85 : -1);
    return bytes;
}

int runImages(int rooms, bool compact)
{
    constexpr int Images = 20;
    QTemporaryDir cache;
    QList<QSize> sizes;
    qint64 cacheBytes = 0;
    for (int i = 0; i < Images; ++i) {
        QSize size;
        const QByteArray bytes = makeThumbnail(i, &size);
        QFile file(cache.filePath(QString::number(i)));
        if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size())
            return 1;
        sizes.append(size);
        cacheBytes += bytes.size();
    }
    MainWindow window;
    window.setCompactMessages(compact);
    window.resize(1100, 750);
    window.show();
    QCoreApplication::processEvents();
    QListView *view = window.messageView();
    const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-3600);

    QList<double> coldMs;
    QList<double> warmMs;
    int onScreen = 0;
    int painted = 0;
    std::vector<std::unique_ptr<MessageListModel>> models;
    std::vector<std::unique_ptr<AttachmentImages>> stores;
    for (int room = 0; room < rooms; ++room) {
        auto model = std::make_unique<MessageListModel>();
        model->setOwnEmail(QStringLiteral("alice@example.org"));
        QList<Message> messages;
        for (int n = 0; n < 50; ++n) {
            Message message = makeMessage(room * 1000 + n + 1, start);
            if (n % 5 < 2) { // 20 of 50: images, every other few messages
                const int image = (n / 5) * 2 + n % 5;
                const QSize size = sizes.at(image) * 3; // the image itself is larger than its thumbnail
                message.attachment = Attachment{
                    room * 1000 + n + 1, QStringLiteral("image-%1.png").arg(image),
                    2'000'000,           QStringLiteral("image/png"),
                    QString(64, u'a'),   ImageInfo{size.width(), size.height(), room * 1000 + 500 + image}};
            }
            messages.append(message);
        }
        model->addMessages(messages);
        auto images = std::make_unique<AttachmentImages>();
        AttachmentImages *store = images.get();
        // As the app answers: the thumbnail from the cache folder on disk.
        QObject::connect(store, &AttachmentImages::thumbnailNeeded, store, [&cache, store](qint64 id) {
            QFile file(cache.filePath(QString::number(id % 1000 - 500)));
            if (file.open(QIODevice::ReadOnly))
                store->setThumbnail(id, file.readAll());
        });
        window.setAttachmentImages(store);
        QElapsedTimer timer;
        timer.start();
        window.showConversation(ConversationKey::room(QStringLiteral("room%1").arg(room)), model.get());
        QCoreApplication::processEvents();
        view->viewport()->repaint(); // asks for the thumbnails on screen
        QCoreApplication::processEvents();
        view->viewport()->repaint(); // shows them
        coldMs.append(timer.nsecsElapsed() / 1e6);
        // What is on screen now: every image there has its thumbnail.
        for (int row = 0; row < model->rowCount(); ++row) {
            const QModelIndex index = view->model()->index(row, 0);
            if (!view->viewport()->rect().intersects(view->visualRect(index)))
                continue;
            const Attachment attachment = model->messageAt(row).attachment;
            if (!attachment.isImage())
                continue;
            ++onScreen;
            painted += store->hasThumbnail(attachment.image.thumbnailId) ? 1 : 0;
        }
        models.push_back(std::move(model));
        stores.push_back(std::move(images));
    }
    // Switching back: the thumbnails are in memory.
    for (int room = 0; room < rooms; ++room) {
        window.setAttachmentImages(stores.at(room).get());
        QElapsedTimer timer;
        timer.start();
        window.showConversation(ConversationKey::room(QStringLiteral("room%1").arg(room)),
                                models.at(room).get());
        QCoreApplication::processEvents();
        view->viewport()->repaint();
        warmMs.append(timer.nsecsElapsed() / 1e6);
    }
    // The first room also loads the image plugins (PNG, JPEG) and their libraries.
    const double firstMs = coldMs.constFirst();
    std::sort(coldMs.begin(), coldMs.end());
    std::sort(warmMs.begin(), warmMs.end());
    std::printf("{\"bench\":\"viewbench-images\",\"style\":\"%s\",\"rooms\":%d,\"messages\":50,\"images\":%d,"
                "\"thumbnail_kib_avg\":%.0f,\"images_on_screen\":%d,\"thumbnails_painted\":%d,"
                "\"open_first_ms\":%.1f,\"open_cold_p50_ms\":%.1f,\"open_cold_max_ms\":%.1f,"
                "\"open_warm_p50_ms\":%.1f,"
                "\"open_warm_max_ms\":%.1f}\n",
                compact ? "compact" : "bubbles", rooms, Images, cacheBytes / 1024.0 / Images, onScreen,
                painted, firstMs, coldMs.at(coldMs.size() / 2), coldMs.constLast(),
                warmMs.at(warmMs.size() / 2), warmMs.constLast());
    return painted == onScreen ? 0 : 1;
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
    const QCommandLineOption imagesOption(
        QStringLiteral("images"), QStringLiteral("Open rooms of 50 messages with 20 images instead."));
    const QCommandLineOption roomsOption(QStringLiteral("rooms"), QStringLiteral("Rooms to open (--images)."),
                                         QStringLiteral("n"), QStringLiteral("20"));
    parser.addOptions(
        {messagesOption, pageOption, framesOption, compactOption, richOption, imagesOption, roomsOption});
    parser.process(app);
    if (parser.isSet(imagesOption))
        return runImages(std::max(1, parser.value(roomsOption).toInt()), parser.isSet(compactOption));
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

    // The user makes the window narrower, then wider again, with everything loaded.
    bar->setValue(bar->maximum() / 2);
    QList<double> resizeMs;
    for (const int width : {900, 1100, 700, 1100}) {
        timer.restart();
        window.resize(width, 750);
        QCoreApplication::processEvents();
        view->viewport()->repaint();
        resizeMs.append(timer.nsecsElapsed() / 1e6);
    }
    std::sort(resizeMs.begin(), resizeMs.end());

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
        "\"rows_at_bottom\":%d,\"append_at_bottom_ms\":%.1f,\"rss_growth_mib\":%.1f,"
        "\"resize_p50_ms\":%.1f,\"resize_max_ms\":%.1f}\n",
        parser.isSet(compactOption) ? "compact" : "bubbles", g_rich ? "true" : "false", total, page, openMs,
        qlonglong(pageMs.size()), percentile(pageMs, 0.5), pageMs.isEmpty() ? 0.0 : pageMs.constLast(),
        loadAllMs / 1000, loaded, qlonglong(frameMs.size()), percentile(frameMs, 0.5),
        percentile(frameMs, 0.99), frameMs.isEmpty() ? 0.0 : frameMs.constLast(), appendFarUpMs, rssLoaded,
        backToBottomMs, rowsAtBottom, appendAtBottomMs, (rssKiB() - rssStart) / 1024.0,
        percentile(resizeMs, 0.5), resizeMs.constLast());
    return 0;
}
