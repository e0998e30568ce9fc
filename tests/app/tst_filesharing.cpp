// Sharing files from the desktop app end to end (QT_QPA_PLATFORM=offscreen):
// two real apps (Alice's and Bob's windows and controllers) on an in-process
// server on 127.0.0.1, doing what people do: paste a screenshot, drop files,
// open what others sent, save it, cancel, and carry on across a restart.
#include "app/appcontroller.h"
#include "app/filecache.h"
#include "tests/app/memorycredentialstore.h"
#include "tests/support/testserver.h"
#include "ui/attachmentimages.h"
#include "ui/composer.h"
#include "ui/conversationview.h"
#include "ui/imageviewer.h"
#include "ui/mainwindow.h"
#include "ui/translations.h"
#include "ui/uploadsheet.h"

#include <QAbstractButton>
#include <QClipboard>
#include <QCryptographicHash>
#include <QDesktopServices>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QGuiApplication>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QMimeData>
#include <QPainter>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>

using namespace Natter;
using State = ChatClient::State;

/// Records what the app asks the desktop to open, instead of opening it.
class OpenedUrls final : public QObject
{
    Q_OBJECT
public:
    QList<QUrl> urls;
public Q_SLOTS:
    void open(const QUrl &url) { urls.append(url); }
};

class TestFileSharing final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();
    void cleanup();
    void pastedScreenshotShowsInlineForTheOtherPerson();
    void droppedFilesGoUpWithProgressAndOpenOnTheOtherSide();
    void anUploadWaitsForTheServerAndGoesOnByItself();
    void anUploadCutOffSaysPausedNotAFrozenSpeed();
    void ownFilesStillOpenAfterARestart();
    void cancellingAnUploadTakesItsMessageAway();
    void closingAConversationStopsItsUploads();
    void tooLargeFilesAreRefusedBeforeTheyStart();
    void aRefusedUploadSaysWhyAndCanBeRetried();

private:
    std::unique_ptr<AppController> makeApp(const QString &name, const QString &email);
    /// Alice's and Bob's apps, both online in #general.
    bool startBoth();
    QString writeFile(const QString &name, qint64 size);
    static Message lastMessage(MessageListModel *model);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<TestServer> m_server;
    std::unique_ptr<AppController> m_alice;
    std::unique_ptr<AppController> m_bob;
    OpenedUrls m_opened;
    const ConversationKey m_general = ConversationKey::room(QStringLiteral("general"));
};

void TestFileSharing::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true); // the cache under ~/.qttest, not the user's
    installTranslations(qApp);
    QDesktopServices::setUrlHandler(QStringLiteral("file"), &m_opened, "open");
}

void TestFileSharing::cleanupTestCase()
{
    QDesktopServices::unsetUrlHandler(QStringLiteral("file"));
}

void TestFileSharing::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_server = std::make_unique<TestServer>();
    QVERIFY(m_server->start());
    m_opened.urls.clear();
}

void TestFileSharing::cleanup()
{
    m_alice.reset();
    m_bob.reset();
    m_server.reset();
    m_dir.reset();
}

std::unique_ptr<AppController> TestFileSharing::makeApp(const QString &name, const QString &email)
{
    ClientOptions options;
    options.server = m_server->url();
    options.identity = User{name, email};
    options.room = QStringLiteral("general");
    options.discovery = false;
    options.password = TestClient::defaultPassword();
    auto app = std::make_unique<AppController>(AppSettings::fromFile(m_dir->filePath(name + u".ini")),
                                               options, std::make_unique<MemoryCredentialStore>());
    app->client()->setReconnectDelays(std::chrono::milliseconds(20), std::chrono::milliseconds(200));
    return app;
}

bool TestFileSharing::startBoth()
{
    m_alice = makeApp(QStringLiteral("Alice"), QStringLiteral("alice@example.org"));
    m_bob = makeApp(QStringLiteral("Bob"), QStringLiteral("bob@example.org"));
    if (!m_alice->start() || !m_bob->start())
        return false;
    return QTest::qWaitFor(
        [this] {
            return m_alice->client()->state() == State::Online && m_bob->client()->state() == State::Online &&
                   m_alice->window()->currentConversation() == m_general &&
                   m_bob->window()->currentConversation() == m_general;
        },
        10'000);
}

QString TestFileSharing::writeFile(const QString &name, qint64 size)
{
    const QString path = m_dir->filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return {};
    QByteArray block(64 * 1024, Qt::Uninitialized);
    for (qint64 left = size; left > 0; left -= block.size()) {
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(block.data()), block.size() / 4);
        file.write(block.constData(), std::min<qint64>(left, block.size()));
    }
    return path;
}

Message TestFileSharing::lastMessage(MessageListModel *model)
{
    return model->rowCount() > 0 ? model->messageAt(model->rowCount() - 1) : Message{};
}

void TestFileSharing::pastedScreenshotShowsInlineForTheOtherPerson()
{
    QVERIFY(startBoth());
    // A screenshot on the clipboard, pasted into Alice's composer.
    QImage screenshot(1280, 720, QImage::Format_RGB32);
    QPainter painter(&screenshot);
    painter.fillRect(screenshot.rect(), QColor(40, 90, 160));
    painter.fillRect(QRect(100, 100, 400, 300), Qt::white);
    painter.end();
    QGuiApplication::clipboard()->setImage(screenshot);
    QElapsedTimer clock;
    clock.start();
    m_alice->window()->composer()->paste();
    QVERIFY(m_alice->window()->composer()->toPlainText().isEmpty()); // shared, not pasted as text
    // The sheet shows what is about to leave; Enter sends it.
    auto *sheet = m_alice->window()->findChild<UploadSheet *>();
    QVERIFY(sheet);
    QTest::keyClick(sheet->captionEdit(), Qt::Key_Return);

    // Bob's window shows it inline: an image at its size, its thumbnail fetched when painted.
    MessageListModel *bobs = m_bob->client()->messages(m_general);
    QTRY_VERIFY2(lastMessage(bobs).attachment.isImage(), qPrintable(m_alice->window()->errorText()));
    const Attachment shared = lastMessage(bobs).attachment;
    QCOMPARE(shared.image.width, 1280);
    QCOMPARE(shared.image.height, 720);
    QCOMPARE(shared.mime, QStringLiteral("image/png"));
    QVERIFY(shared.image.thumbnailId > 0);
    QVERIFY(shared.name.endsWith(QStringLiteral(".png")));
    m_bob->window()->messageView()->viewport()->grab(); // painted as on screen
    QTRY_VERIFY(m_bob->attachmentImages()->hasThumbnail(shared.image.thumbnailId));
    qInfo("pasted screenshot inline on the other side after %lld ms", qint64(clock.elapsed()));
    const QModelIndex row = m_bob->window()->messageView()->indexOfMessage(lastMessage(bobs).id);
    QStyleOptionViewItem option;
    option.initFrom(m_bob->window()->messageView()->viewport());
    option.rect = m_bob->window()->messageView()->visualRect(row);
    const MessageDelegate::Layout layout = m_bob->window()->messageDelegate()->layout(option, row);
    QVERIFY(layout.image);
    QVERIFY(qAbs(layout.attachment.width() * 720 - layout.attachment.height() * 1280) <= 1280);

    // Alice's own copy needs no download, and stays hers only.
    MessageListModel *alices = m_alice->client()->messages(m_general);
    QTRY_VERIFY(lastMessage(alices).isStored());
    const Transfer own = alices->downloadTransfer(lastMessage(alices).attachment.fileId);
    QVERIFY(QFileInfo::exists(own.localPath));
    QCOMPARE(QFile::permissions(own.localPath) & 0x0777, QFileDevice::ReadUser | QFileDevice::WriteUser);
    QVERIFY(own.localPath.startsWith(m_alice->fileCache().folder()));

    // Clicking it opens the viewer: the thumbnail, then the whole image, fitted.
    m_bob->openAttachment(m_general, lastMessage(bobs));
    ImageViewer *viewer = m_bob->imageViewer(shared.fileId);
    QVERIFY(viewer);
    QTRY_VERIFY(viewer->hasFullImage());
    QCOMPARE(viewer->currentImage().size(), QSize(1280, 720));
    QVERIFY(viewer->isFitted());
    QVERIFY(viewer->zoom() <= 1.0);
    viewer->setZoom(2.0);
    QVERIFY(!viewer->isFitted());
    viewer->close();
}

void TestFileSharing::droppedFilesGoUpWithProgressAndOpenOnTheOtherSide()
{
    QVERIFY(startBoth());
    const QString report = writeFile(QStringLiteral("report.pdf"), 3 * 1024 * 1024 + 17);
    const QString notes = writeFile(QStringLiteral("notes.txt"), 1000);
    MessageListModel *alices = m_alice->client()->messages(m_general);
    QSignalSpy transfers(alices, &QAbstractItemModel::dataChanged);
    // Dropped onto Alice's window: nothing leaves until she says Send in the sheet, with a caption.
    MainWindow *window = m_alice->window();
    QVERIFY(window->currentConversation() == m_general);
    QMimeData dragged;
    dragged.setUrls({QUrl::fromLocalFile(report), QUrl::fromLocalFile(notes)});
    const QPoint at = window->messageView()->viewport()->rect().center();
    QDragEnterEvent enter(at, Qt::CopyAction, &dragged, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(window, &enter);
    QDropEvent drop(at, Qt::CopyAction, &dragged, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(window, &drop);
    auto *sheet = window->findChild<UploadSheet *>();
    QVERIFY(sheet);
    QCOMPARE(alices->outbox().size(), 0);
    QTest::keyClicks(sheet->captionEdit(), QStringLiteral("Q3 numbers"));
    QTest::keyClick(sheet->captionEdit(), Qt::Key_Return);

    // Two pending messages at once, each with its file's name and size, then both stored.
    QCOMPARE(alices->outbox().size(), 2);
    QCOMPARE(alices->outbox().at(0).attachment.name, QStringLiteral("report.pdf"));
    QCOMPARE(alices->transferAt(alices->rowCount() - 2).kind, Transfer::Kind::Upload);
    QTRY_COMPARE(alices->outbox().size(), 0);
    QVERIFY(std::any_of(transfers.cbegin(), transfers.cend(), [](const QList<QVariant> &change) {
        return change.at(2).value<QList<int>>().contains(MessageListModel::TransferRole);
    }));

    MessageListModel *bobs = m_bob->client()->messages(m_general);
    QTRY_COMPARE(bobs->storedCount(), 2);
    Message pdf = bobs->messageAt(0);
    if (pdf.attachment.name != QStringLiteral("report.pdf"))
        pdf = bobs->messageAt(1);
    QCOMPARE(pdf.attachment.size, 3 * 1024 * 1024 + 17);
    QCOMPARE(pdf.text, QStringLiteral("Q3 numbers")); // the caption goes with the first file

    // Bob opens it: downloaded into his cache (his only), checked, handed to the desktop.
    m_bob->openAttachment(m_general, pdf);
    QTRY_VERIFY2(m_opened.urls.size() == 1, qPrintable(m_bob->window()->errorText()));
    const QString local = m_opened.urls.at(0).toLocalFile();
    QVERIFY(local.startsWith(m_bob->fileCache().folder()));
    QFile original(report);
    QFile arrived(local);
    QVERIFY(original.open(QIODevice::ReadOnly) && arrived.open(QIODevice::ReadOnly));
    QCOMPARE(QCryptographicHash::hash(arrived.readAll(), QCryptographicHash::Sha256),
             QCryptographicHash::hash(original.readAll(), QCryptographicHash::Sha256));
    QCOMPARE(QFile::permissions(local) & 0x0777, QFileDevice::ReadUser | QFileDevice::WriteUser);
    QCOMPARE(QFile::permissions(QFileInfo(local).absolutePath()) & 0x0777,
             QFileDevice::ReadUser | QFileDevice::WriteUser | QFileDevice::ExeUser);
    // The card now offers Open and Show in Folder; opening again needs no download.
    const Transfer done = bobs->downloadTransfer(pdf.attachment.fileId);
    QCOMPARE(done.localPath, local);
    QVERIFY(!done.isActive());
    m_bob->openAttachment(m_general, pdf);
    QCOMPARE(m_opened.urls.size(), 2);

    // Where no program opens the file, Natter says so and offers its folder.
    QList<QUrl> handed;
    m_bob->setFileOpener([&handed](const QUrl &url) {
        handed.append(url);
        return QFileInfo(url.toLocalFile()).isDir(); // a file manager, but nothing for PDFs
    });
    m_bob->openAttachment(m_general, pdf);
    auto *box = m_bob->window()->findChild<QMessageBox *>(QStringLiteral("noProgram"));
    QVERIFY(box);
    QVERIFY2(box->text().contains(QStringLiteral("report.pdf")), qPrintable(box->text()));
    QPushButton *folder = nullptr;
    for (QAbstractButton *button : box->buttons()) {
        if (button->text() == QStringLiteral("Show in Folder"))
            folder = qobject_cast<QPushButton *>(button);
    }
    QVERIFY(folder);
    folder->click();
    QCOMPARE(handed.size(), 2);
    QCOMPARE(handed.at(1), QUrl::fromLocalFile(QFileInfo(local).absolutePath()));
    m_bob->setFileOpener([](const QUrl &url) { return QDesktopServices::openUrl(url); });
}

void TestFileSharing::anUploadWaitsForTheServerAndGoesOnByItself()
{
    QVERIFY(startBoth());
    // The server goes away; Alice shares a file meanwhile: it waits in its bubble, then goes up by itself.
    m_server->stop();
    QTRY_VERIFY(m_alice->client()->state() != State::Online);
    const QString build = writeFile(QStringLiteral("build.tar.gz"), 5 * 1024 * 1024);
    m_alice->shareFiles(m_general, {build});
    MessageListModel *alices = m_alice->client()->messages(m_general);
    QCOMPARE(alices->outbox().size(), 1);
    const Transfer waiting = alices->transferAt(alices->rowCount() - 1);
    QCOMPARE(waiting.kind, Transfer::Kind::Upload);
    QCOMPARE(waiting.total, 5 * 1024 * 1024);
    QCOMPARE(MessageDelegate::transferText(alices->outbox().at(0).attachment, waiting),
             QStringLiteral("Preparing…"));

    QVERIFY(m_server->start());
    QTRY_COMPARE_WITH_TIMEOUT(alices->outbox().size(), 0, 15'000);
    MessageListModel *bobs = m_bob->client()->messages(m_general);
    QTRY_VERIFY_WITH_TIMEOUT(lastMessage(bobs).attachment.name == QStringLiteral("build.tar.gz"), 15'000);
    QFile file(build);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(
        lastMessage(bobs).attachment.sha256,
        QString::fromLatin1(QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256).toHex()));
}

void TestFileSharing::anUploadCutOffSaysPausedNotAFrozenSpeed()
{
    QVERIFY(startBoth());
    MainWindow *window = m_alice->window();
    auto *security = window->findChild<QLabel *>(QStringLiteral("connectionSecurity"));
    QVERIFY(security);
    const QString build = writeFile(QStringLiteral("dataset.bin"), 32 * 1024 * 1024);
    m_alice->shareFiles(m_general, {build});
    MessageListModel *alices = m_alice->client()->messages(m_general);
    const auto upload = [alices] { return alices->transferAt(alices->rowCount() - 1); };
    QTRY_VERIFY_WITH_TIMEOUT(upload().done > 0, 15'000);
    // The server goes away mid-upload.
    m_server->stop();
    QTRY_VERIFY(m_alice->client()->state() != State::Online);
    QCOMPARE(alices->outbox().size(), 1);
    const Transfer paused = upload();
    QVERIFY(paused.paused);
    QCOMPARE(paused.bytesPerSecond, 0);
    const QString text = MessageDelegate::transferText(alices->outbox().at(0).attachment, paused);
    QVERIFY2(text.endsWith(QStringLiteral("Paused — waiting for the server")) && !text.contains(u'/'),
             qPrintable(text));
    // And the status bar does not say "Encrypted" about a connection there is not.
    QVERIFY(window->statusBar()->isVisible());
    QVERIFY(!security->isVisible());

    // Back: it goes on by itself, and the label with it.
    QVERIFY(m_server->start());
    QTRY_VERIFY_WITH_TIMEOUT(!upload().paused || alices->outbox().isEmpty(), 15'000);
    QTRY_COMPARE_WITH_TIMEOUT(alices->outbox().size(), 0, 30'000);
    QTRY_VERIFY(security->isVisible());
}

void TestFileSharing::ownFilesStillOpenAfterARestart()
{
    QVERIFY(startBoth());
    const QString plan = writeFile(QStringLiteral("plan.odt"), 200 * 1024);
    m_alice->shareFiles(m_general, {plan});
    MessageListModel *alices = m_alice->client()->messages(m_general);
    QTRY_COMPARE(alices->outbox().size(), 0);
    const Message shared = lastMessage(alices);
    QCOMPARE(shared.attachment.name, QStringLiteral("plan.odt"));
    QCOMPARE(alices->downloadTransfer(shared.attachment.fileId).localPath, plan);

    // Alice quits and starts again: her card still opens her copy (Open,
    // Show in Folder), with nothing downloaded.
    m_alice->saveSettings();
    m_alice.reset();
    m_alice = makeApp(QStringLiteral("Alice"), QStringLiteral("alice@example.org"));
    QVERIFY(m_alice->start());
    QTRY_COMPARE(m_alice->client()->state(), State::Online);
    alices = m_alice->client()->messages(m_general);
    QTRY_VERIFY(alices->storedMessage(shared.id).has_value());
    const QModelIndex row = m_alice->window()->messageView()->indexOfMessage(shared.id);
    QVERIFY(row.isValid());
    QCOMPARE(row.data(MessageListModel::TransferRole).value<Transfer>().localPath, plan);
    m_opened.urls.clear();
    m_alice->openAttachment(m_general, *alices->storedMessage(shared.id));
    QTRY_COMPARE(m_opened.urls.size(), 1);
    QCOMPARE(m_opened.urls.at(0), QUrl::fromLocalFile(plan));
}

void TestFileSharing::cancellingAnUploadTakesItsMessageAway()
{
    QVERIFY(startBoth());
    m_server->stop();
    QTRY_VERIFY(m_alice->client()->state() != State::Online);
    const QString path = writeFile(QStringLiteral("big.iso"), 1024 * 1024);
    m_alice->shareFiles(m_general, {path});
    MessageListModel *alices = m_alice->client()->messages(m_general);
    QCOMPARE(alices->outbox().size(), 1);
    const Message pending = alices->outbox().at(0);
    QVERIFY(m_alice->client()->files()->isUploading(pending.clientId));
    // ✕ on the pending bubble (as its click or context menu asks).
    Q_EMIT m_alice->window()->attachmentActionRequested(m_general, MessageDelegate::AttachmentAction::Cancel,
                                                        pending);
    QCOMPARE(alices->outbox().size(), 0);
    QVERIFY(!m_alice->client()->files()->isUploading(pending.clientId));
    // Back online, nothing goes up, and nothing shows for Bob.
    QVERIFY(m_server->start());
    QTRY_COMPARE(m_alice->client()->state(), State::Online);
    QTRY_COMPARE(m_bob->client()->state(), State::Online);
    m_alice->client()->sendMessage(m_general, QStringLiteral("never mind"));
    MessageListModel *bobs = m_bob->client()->messages(m_general);
    QTRY_COMPARE(lastMessage(bobs).text, QStringLiteral("never mind"));
    QCOMPARE(bobs->storedCount(), 1);
}

void TestFileSharing::closingAConversationStopsItsUploads()
{
    QVERIFY(startBoth());
    const ConversationKey withBob = ConversationKey::direct(QStringLiteral("bob@example.org"));
    QVERIFY(m_alice->client()->openDirect(withBob.name, QStringLiteral("Bob")));
    m_server->stop();
    QTRY_VERIFY(m_alice->client()->state() != State::Online);
    // One file for Bob alone, one for the room; then Alice closes the conversation with Bob.
    m_alice->shareFiles(withBob, {writeFile(QStringLiteral("private.pdf"), 512 * 1024)});
    m_alice->shareFiles(m_general, {writeFile(QStringLiteral("public.pdf"), 512 * 1024)});
    const Message forBob = m_alice->client()->messages(withBob)->outbox().at(0);
    const Message forRoom = m_alice->client()->messages(m_general)->outbox().at(0);
    QVERIFY(m_alice->client()->files()->isUploading(forBob.clientId));
    Q_EMIT m_alice->window()->closeConversationRequested(withBob); // as its ✕ asks
    QVERIFY(!m_alice->client()->files()->isUploading(forBob.clientId));
    QVERIFY(m_alice->client()->files()->isUploading(forRoom.clientId));

    // Back online: the room's file arrives, the closed conversation's never does.
    QVERIFY(m_server->start());
    MessageListModel *bobsRoom = m_bob->client()->messages(m_general);
    QTRY_VERIFY_WITH_TIMEOUT(lastMessage(bobsRoom).attachment.name == QStringLiteral("public.pdf"), 15'000);
    const ConversationKey withAlice = ConversationKey::direct(QStringLiteral("alice@example.org"));
    QVERIFY(m_alice->client()->openDirect(withBob.name, QStringLiteral("Bob")));
    m_alice->client()->sendMessage(withBob, QStringLiteral("sent the slides in #general instead"));
    QTRY_VERIFY(m_bob->client()->messages(withAlice) != nullptr);
    MessageListModel *bobsDirect = m_bob->client()->messages(withAlice);
    QTRY_COMPARE(lastMessage(bobsDirect).text, QStringLiteral("sent the slides in #general instead"));
    QCOMPARE(bobsDirect->storedCount(), 1);
    QVERIFY(!lastMessage(bobsDirect).attachment.isValid());
}

void TestFileSharing::tooLargeFilesAreRefusedBeforeTheyStart()
{
    ServerConfig config = TestServer::defaultConfig();
    config.maxUploadBytes = 64 * 1024;
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    QVERIFY(startBoth());
    const QString path = writeFile(QStringLiteral("too big.bin"), 64 * 1024 + 1);
    QSignalSpy errors(m_alice->client(), &ChatClient::errorOccurred);
    m_alice->shareFiles(m_general, {path});
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors.at(0).at(0).toString().contains(QStringLiteral("too big.bin")),
             qPrintable(errors.at(0).at(0).toString()));
    QCOMPARE(m_alice->client()->messages(m_general)->outbox().size(), 0);
    QVERIFY(m_alice->window()->errorText().contains(QStringLiteral("too big.bin")));
}

void TestFileSharing::aRefusedUploadSaysWhyAndCanBeRetried()
{
    ServerConfig config = TestServer::defaultConfig();
    config.storageQuotaPerUser = 100 * 1024;
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    QVERIFY(startBoth());
    const QString path = writeFile(QStringLiteral("photos.zip"), 200 * 1024);
    m_alice->shareFiles(m_general, {path});
    MessageListModel *alices = m_alice->client()->messages(m_general);
    QCOMPARE(alices->outbox().size(), 1);
    const int row = alices->rowCount() - 1;
    // Refused: the bubble says why (and offers Retry), so does the banner; nothing reaches Bob.
    QTRY_COMPARE(alices->deliveryStateAt(row), MessageListModel::DeliveryState::Failed);
    QVERIFY2(alices->transferAt(row).error.contains(QStringLiteral("delete some of your messages")),
             qPrintable(alices->transferAt(row).error));
    QVERIFY(!alices->transferAt(row).isActive());
    QVERIFY(m_alice->window()->errorText().contains(QStringLiteral("A file was not sent")));
    // Retry (the footer's "Retry"): it goes again, and is refused again with the same reason.
    Q_EMIT m_alice->window()->retryRequested(m_general, alices->outbox().at(0).clientId);
    QCOMPARE(alices->deliveryStateAt(row), MessageListModel::DeliveryState::Sending);
    QCOMPARE(alices->transferAt(row).kind, Transfer::Kind::Upload);
    QTRY_COMPARE(alices->deliveryStateAt(row), MessageListModel::DeliveryState::Failed);
    QCOMPARE(m_bob->client()->messages(m_general)->storedCount(), 0);
    // The file gone before a retry: said, not a crash.
    QVERIFY(QFile::remove(path));
    Q_EMIT m_alice->window()->retryRequested(m_general, alices->outbox().at(0).clientId);
    QCOMPARE(alices->deliveryStateAt(row), MessageListModel::DeliveryState::Failed);
    QVERIFY(!alices->transferAt(row).error.isEmpty());
}

QTEST_MAIN(TestFileSharing)
#include "tst_filesharing.moc"
