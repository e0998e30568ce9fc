// dropwalk: issue 12's "Done when", walked by a program with the real app.
//
//   QT_QPA_PLATFORM=offscreen bench/dropwalk [--size MiB] [--natterd PATH] [--no-restart]
//
// A natterd (the real binary, 127.0.0.1, a database in $TMPDIR) and two
// desktop apps, Alice's and Bob's (their real windows and controllers,
// offscreen). A file of --size MiB is dropped onto Alice's window as a file
// manager drops it; the bubble's progress line is printed as it changes by
// tenths; halfway natterd is killed (kill -9) and started again, and the
// upload goes on by itself. Bob's app then downloads it; its SHA-256 is
// compared with the original's. First, a screenshot is pasted into Alice's
// composer and the time until Bob's window paints its thumbnail is taken.
// Prints the walk and one JSON line. Not a test: figures go to docs/performance.md.
#include "app/appcontroller.h"
#include "tests/app/memorycredentialstore.h"
#include "ui/attachmentimages.h"
#include "ui/composer.h"
#include "ui/conversationview.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QClipboard>
#include <QCommandLineParser>
#include <QCryptographicHash>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QFile>
#include <QMimeData>
#include <QPainter>
#include <QProcess>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <cstdio>
#include <cstring>

using namespace Natter;

namespace {

QString g_natterd;
QString g_db;
quint16 g_port = 0;

bool startNatterd(QProcess &natterd)
{
    natterd.setProcessChannelMode(QProcess::MergedChannels);
    natterd.start(g_natterd,
                  {QStringLiteral("--host"), QStringLiteral("127.0.0.1"), QStringLiteral("--port"),
                   QString::number(g_port), QStringLiteral("--db"), g_db, QStringLiteral("--no-tls"),
                   QStringLiteral("--no-discovery"), QStringLiteral("--registration"), QStringLiteral("open"),
                   QStringLiteral("--max-upload-bytes"), QString::number(8LL << 30)});
    return natterd.waitForStarted() && QTest::qWaitFor(
                                           [&natterd] {
                                               natterd.waitForReadyRead(50);
                                               return natterd.readAll().contains("listening on");
                                           },
                                           10'000);
}

std::unique_ptr<AppController> makeApp(const QString &name, const QString &folder)
{
    ClientOptions options;
    options.server = QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(g_port));
    options.identity = User{name, name.toLower() + QStringLiteral("@example.org")};
    options.room = QStringLiteral("general");
    options.discovery = false;
    options.password = QStringLiteral("correct horse battery");
    auto app = std::make_unique<AppController>(AppSettings::fromFile(folder + u'/' + name + u".ini"), options,
                                               std::make_unique<MemoryCredentialStore>());
    app->client()->setReconnectDelays(std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
    return app;
}

QByteArray sha256Of(const QString &path)
{
    QFile file(path);
    QCryptographicHash hash(QCryptographicHash::Sha256);
    return file.open(QIODevice::ReadOnly) && hash.addData(&file) ? hash.result().toHex() : QByteArray();
}

} // namespace

int main(int argc, char *argv[])
{
    QApplication application(argc, argv);
    QStandardPaths::setTestModeEnabled(true); // the apps' caches under ~/.qttest
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption sizeOption(QStringLiteral("size"), QStringLiteral("MiB to drop."),
                                        QStringLiteral("n"), QStringLiteral("2048"));
    const QCommandLineOption natterdOption(QStringLiteral("natterd"), QStringLiteral("The natterd binary."),
                                           QStringLiteral("path"), QStringLiteral(NATTERD_PATH));
    const QCommandLineOption noRestartOption(QStringLiteral("no-restart"),
                                             QStringLiteral("Do not restart natterd."));
    parser.addOptions({sizeOption, natterdOption, noRestartOption});
    parser.process(application);
    const qint64 size = parser.value(sizeOption).toLongLong() * 1024 * 1024;
    g_natterd = parser.value(natterdOption);
    QTemporaryDir dir(QDir::tempPath() + QStringLiteral("/natter-dropwalk.XXXXXX"));
    g_db = dir.filePath(QStringLiteral("natter.db"));
    g_port = quint16(40000 + QRandomGenerator::global()->bounded(20000));

    // The file: a build's worth of bytes (no runs of zeros the server would keep as holes).
    const QString path = dir.filePath(QStringLiteral("build-4711.tar"));
    {
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly))
            return 1;
        QByteArray block(1 << 20, Qt::Uninitialized);
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(block.data()), block.size() / 4);
        for (qint64 at = 0; at < size; at += block.size()) {
            std::memcpy(block.data(), &at, sizeof at); // every MiB different
            file.write(block.constData(), std::min<qint64>(block.size(), size - at));
        }
    }
    const QByteArray original = sha256Of(path);

    auto natterd = std::make_unique<QProcess>();
    if (!startNatterd(*natterd)) {
        std::fprintf(stderr, "natterd did not start\n");
        return 1;
    }
    auto alice = makeApp(QStringLiteral("Alice"), dir.path());
    auto bob = makeApp(QStringLiteral("Bob"), dir.path());
    if (!alice->start() || !bob->start() ||
        !QTest::qWaitFor(
            [&] {
                return alice->client()->state() == ChatClient::State::Online &&
                       bob->client()->state() == ChatClient::State::Online;
            },
            10'000)) {
        std::fprintf(stderr, "the apps did not sign in\n");
        return 1;
    }
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    MessageListModel *alices = alice->client()->messages(general);
    MessageListModel *bobs = bob->client()->messages(general);
    const auto last = [](MessageListModel *model) {
        return model->rowCount() > 0 ? model->messageAt(model->rowCount() - 1) : Message{};
    };

    // 1. A screenshot pasted into the composer, inline for Bob.
    QImage screenshot(1920, 1080, QImage::Format_RGB32);
    {
        QPainter painter(&screenshot);
        painter.fillRect(screenshot.rect(), QColor(30, 60, 114));
        painter.fillRect(QRect(200, 150, 900, 600), Qt::white);
        painter.setPen(Qt::black);
        painter.drawText(QRect(220, 170, 860, 560), QStringLiteral("Build 4711: all green"));
    }
    QGuiApplication::clipboard()->setImage(screenshot);
    QElapsedTimer clock;
    clock.start();
    alice->window()->composer()->paste();
    QWidget *bobsList = bob->window()->messageView()->viewport();
    const bool inline_ = QTest::qWaitFor(
        [&] {
            const Attachment shared = last(bobs).attachment;
            if (!shared.isImage())
                return false;
            bobsList->repaint();
            return bob->attachmentImages()->hasThumbnail(shared.image.thumbnailId);
        },
        10'000);
    bobsList->repaint();
    const double pasteMs = clock.nsecsElapsed() / 1e6;
    std::printf("pasted a 1920x1080 screenshot: inline in Bob's window after %.0f ms\n", pasteMs);

    // 2. The big file, dropped onto Alice's window.
    QMimeData data;
    data.setUrls({QUrl::fromLocalFile(path)});
    const QPoint at = alice->window()->rect().center();
    QDragEnterEvent enter(at, Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(alice->window(), &enter);
    QDropEvent drop(at, Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(alice->window(), &drop);
    if (!drop.isAccepted() || alices->outbox().size() != 1) {
        std::fprintf(stderr, "the drop was not taken\n");
        return 1;
    }
    const Message pending = alices->outbox().at(0);
    clock.restart();
    int shownTenth = -1;
    bool restarted = parser.isSet(noRestartOption);
    double restartAtS = 0;
    qint64 resumedFrom = -1;
    qint64 lastDone = 0;
    while (!last(bobs).attachment.isValid() || last(bobs).attachment.name != pending.attachment.name) {
        QTest::qWait(50);
        if (clock.elapsed() > 600'000) {
            std::fprintf(stderr, "the upload did not finish in 10 minutes\n");
            return 1;
        }
        int row = alices->rowCount() - 1;
        if (row < 0 || alices->messageAt(row).clientId != pending.clientId)
            continue; // stored already
        const Transfer transfer = alices->transferAt(row);
        if (resumedFrom < 0 && restarted && !parser.isSet(noRestartOption) && transfer.done > 0 &&
            transfer.done != lastDone)
            resumedFrom = transfer.done;
        lastDone = transfer.done;
        const int tenth = transfer.total > 0 ? int(transfer.done * 10 / transfer.total) : 0;
        if (tenth != shownTenth) {
            shownTenth = tenth;
            std::printf("%6.1f s  %s\n", clock.elapsed() / 1000.0,
                        qPrintable(MessageDelegate::transferText(pending.attachment, transfer)));
            std::fflush(stdout);
        }
        if (!restarted && transfer.done * 2 >= transfer.total) {
            restarted = true;
            restartAtS = clock.elapsed() / 1000.0;
            ::kill(pid_t(natterd->processId()), SIGKILL);
            natterd->waitForFinished();
            std::printf("%6.1f s  natterd killed (kill -9) at %s; starting it again\n", restartAtS,
                        qPrintable(QLocale().formattedDataSize(transfer.done)));
            natterd = std::make_unique<QProcess>();
            if (!startNatterd(*natterd)) {
                std::fprintf(stderr, "natterd did not start again\n");
                return 1;
            }
            lastDone = -1;
        }
    }
    const double uploadS = clock.nsecsElapsed() / 1e9;
    const Attachment arrived = last(bobs).attachment;
    std::printf("%6.1f s  stored; Bob sees %s (%s)\n", uploadS, qPrintable(arrived.name),
                qPrintable(QLocale().formattedDataSize(arrived.size)));

    // 3. Bob downloads it (as Save As does) and the bytes are compared.
    const QString saved = dir.filePath(QStringLiteral("bob-build-4711.tar"));
    QSignalSpy downloaded(bob->client(), &ChatClient::fileDownloaded);
    clock.restart();
    bob->client()->downloadFile(arrived, saved);
    if (!QTest::qWaitFor([&] { return !downloaded.isEmpty(); }, 600'000)) {
        std::fprintf(stderr, "the download did not finish\n");
        return 1;
    }
    const double downloadS = clock.nsecsElapsed() / 1e9;
    const QByteArray received = sha256Of(saved);
    const bool same = received == original && QString::fromLatin1(original) == arrived.sha256;
    std::printf("downloaded in %.1f s; SHA-256 %s %s\n", downloadS, received.left(16).constData(),
                same ? "matches the original" : "DIFFERS from the original");
    std::printf("{\"bench\":\"dropwalk\",\"size_mib\":%lld,\"paste_inline_ms\":%.0f,\"inline\":%s,"
                "\"upload_s\":%.1f,\"upload_mb_s\":%.0f,\"restart_at_s\":%.1f,\"resumed_from_mib\":%.0f,"
                "\"download_s\":%.1f,\"download_mb_s\":%.0f,\"sha256_ok\":%s}\n",
                size >> 20, pasteMs, inline_ ? "true" : "false", uploadS, size / 1e6 / uploadS, restartAtS,
                resumedFrom / 1048576.0, downloadS, size / 1e6 / downloadS, same ? "true" : "false");
    natterd->terminate();
    natterd->waitForFinished();
    return same && inline_ ? 0 : 1;
}
