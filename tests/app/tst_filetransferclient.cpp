#include "app/chatclient.h"
#include "tests/support/testclient.h"
#include "tests/support/testserver.h"

#include <QFile>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;
using State = ChatClient::State;

namespace {

QByteArray randomBytes(qsizetype size, quint32 seed)
{
    QByteArray data(size, Qt::Uninitialized);
    QRandomGenerator generator(seed);
    for (char &c : data)
        c = char(generator.bounded(256));
    return data;
}

bool writeFile(const QString &path, const QByteArray &data)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(data) == data.size();
}

QByteArray readFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace

/// The desktop app's client library sharing and downloading files against a
/// real server: progress, the message the file becomes, a drop and a
/// restart mid-way, a damaged download, refusals.
class TestFileTransferClient : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void sharesAFileThatBecomesAMessage();
    void anUploadGoesOnAfterTheServerRestarts();
    void aDownloadGoesOnAfterAReconnect();
    void aPartLeftByAnEarlierRunIsResumed();
    void refusalsReachTheCaller();
    void aBigFileIsNotFetchedAsAPreview();
    void chatIsNotHeldBackByAnUpload();

private:
    std::unique_ptr<ChatClient> aliceOnline()
    {
        auto alice = std::make_unique<ChatClient>();
        alice->setIdentity(User{u"Alice"_s, u"alice@example.org"_s});
        alice->setPassword(TestClient::defaultPassword());
        alice->setReconnectDelays(20ms, 200ms);
        alice->openRoom(u"files"_s);
        alice->connectToServer(m_server->url());
        if (!QTest::qWaitFor([&] { return alice->state() == State::Online; }, 5000))
            return nullptr;
        return alice;
    }

    std::unique_ptr<TestServer> m_server;
    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestFileTransferClient::init()
{
    ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 0;
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    m_dir = std::make_unique<QTemporaryDir>();
}

void TestFileTransferClient::cleanup()
{
    m_server.reset();
    m_dir.reset();
}

void TestFileTransferClient::sharesAFileThatBecomesAMessage()
{
    const QByteArray data = randomBytes(2 * 1024 * 1024 + 3, 1);
    const QString path = m_dir->filePath(u"report.pdf"_s);
    QVERIFY(writeFile(path, data));
    TestClient bob;
    QVERIFY(bob.signIn(m_server->port(), u"Bob"_s, u"bob@example.org"_s, {u"files"_s}));
    const auto alice = aliceOnline();
    QVERIFY(alice);

    FileTransferClient *files = alice->files();
    QSignalSpy progress(files, &FileTransferClient::uploadProgress);
    QSignalSpy finished(files, &FileTransferClient::uploadFinished);
    const QString clientId = files->upload(ConversationKey::room(u"files"_s), path, u"the report"_s);
    QVERIFY(!clientId.isEmpty());
    QVERIFY(finished.wait(20000));
    QCOMPARE(finished.at(0).at(0).toString(), clientId);
    QVERIFY(progress.size() > 10);
    QCOMPARE(progress.constLast().at(1).toLongLong(), qint64(data.size()));

    // It is a message in the room, for Bob and in Alice's own model.
    const auto pushed = bob.waitFor<ReceiveMessage>();
    QVERIFY(pushed);
    QCOMPARE(pushed->message.attachment.name, u"report.pdf"_s);
    QCOMPARE(pushed->message.attachment.mime, u"application/pdf"_s);
    QCOMPARE(pushed->message.text, u"the report"_s);
    QCOMPARE(pushed->message.clientId, clientId);
    const MessageListModel *messages = alice->messages(ConversationKey::room(u"files"_s));
    QTRY_COMPARE(messages->rowCount(), 1);
    const Attachment attachment = messages->messageAt(0).attachment;
    QCOMPARE(attachment.size, qint64(data.size()));

    // Downloaded whole, checked, under the name asked for.
    QSignalSpy downloaded(files, &FileTransferClient::downloadFinished);
    const QString target = m_dir->filePath(u"saved.pdf"_s);
    files->download(attachment, target);
    QVERIFY(downloaded.wait(20000));
    QCOMPARE(downloaded.at(0).at(1).toString(), target);
    QCOMPARE(readFile(target), data);
    QVERIFY(!QFile::exists(target + u".part"_s));
}

void TestFileTransferClient::anUploadGoesOnAfterTheServerRestarts()
{
    const QByteArray data = randomBytes(24 * 1024 * 1024, 2);
    const QString path = m_dir->filePath(u"build.tar"_s);
    QVERIFY(writeFile(path, data));
    const auto alice = aliceOnline();
    QVERIFY(alice);
    FileTransferClient *files = alice->files();
    QSignalSpy progress(files, &FileTransferClient::uploadProgress);
    QSignalSpy finished(files, &FileTransferClient::uploadFinished);
    QSignalSpy failed(files, &FileTransferClient::uploadFailed);
    files->upload(ConversationKey::room(u"files"_s), path);
    // Part of the way, the server restarts.
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty() && progress.constLast().at(1).toLongLong() > 4 * 1024 * 1024,
                             20000);
    m_server->stop();
    QTRY_VERIFY(alice->state() != State::Online);
    QVERIFY(m_server->start());
    QVERIFY(finished.wait(30000));
    QCOMPARE(failed.size(), 0);
    // Once, and whole.
    TestClient bob;
    QVERIFY(bob.signIn(m_server->port(), u"Bob"_s, u"bob@example.org"_s, {u"files"_s}));
    const QList<Message> history = bob.readConversation(u"files"_s);
    QCOMPARE(history.size(), 1);
    QCOMPARE(bob.download(history.at(0).attachment.fileId), data);
}

void TestFileTransferClient::aDownloadGoesOnAfterAReconnect()
{
    const QByteArray data = randomBytes(24 * 1024 * 1024, 3);
    TestClient bob;
    QVERIFY(bob.signIn(m_server->port(), u"Bob"_s, u"bob@example.org"_s, {u"files"_s}));
    const UploadBegin begin = TestClient::announce(data, u"b-1"_s, u"video.mp4"_s, u"files"_s);
    QVERIFY(bob.upload(data, begin).complete);

    const auto alice = aliceOnline();
    QVERIFY(alice);
    const MessageListModel *messages = alice->messages(ConversationKey::room(u"files"_s));
    QTRY_COMPARE(messages->rowCount(), 1);
    FileTransferClient *files = alice->files();
    QSignalSpy finished(files, &FileTransferClient::downloadFinished);
    // The connection drops a little way in (from inside the progress report,
    // so the download cannot finish first), and comes back.
    qint64 droppedAt = -1;
    connect(files, &FileTransferClient::downloadProgress, this, [&](qint64, qint64 received) {
        if (droppedAt >= 0 || received < 2 * 1024 * 1024)
            return;
        droppedAt = received;
        alice->disconnectFromServer();
        QTimer::singleShot(50, alice.get(), [&] { alice->connectToServer(m_server->url()); });
    });
    const QString target = m_dir->filePath(u"video.mp4"_s);
    files->download(messages->messageAt(0).attachment, target);
    QVERIFY(finished.wait(30000));
    QVERIFY(droppedAt > 0 && droppedAt < data.size());
    QCOMPARE(readFile(target), data);
}

void TestFileTransferClient::aPartLeftByAnEarlierRunIsResumed()
{
    const QByteArray data = randomBytes(3 * 1024 * 1024, 5);
    TestClient bob;
    QVERIFY(bob.signIn(m_server->port(), u"Bob"_s, u"bob@example.org"_s, {u"files"_s}));
    const UploadBegin begin = TestClient::announce(data, u"b-2"_s, u"photo.jpg"_s, u"files"_s);
    const TestClient::Upload shared = bob.upload(data, begin);
    QVERIFY(shared.complete);
    // The app quit with the first megabyte downloaded.
    const QString target = m_dir->filePath(u"photo.jpg"_s);
    QVERIFY(writeFile(target + u".part"_s, data.left(1024 * 1024)));

    const auto alice = aliceOnline();
    QVERIFY(alice);
    QSignalSpy progress(alice->files(), &FileTransferClient::downloadProgress);
    QSignalSpy finished(alice->files(), &FileTransferClient::downloadFinished);
    alice->files()->download(
        Attachment{shared.complete->fileId, begin.name, begin.size, u"image/jpeg"_s, begin.sha256, {}},
        target);
    QVERIFY(finished.wait(20000));
    QVERIFY(progress.at(0).at(1).toLongLong() > 1024 * 1024); // it went on from there
    QCOMPARE(readFile(target), data);                         // a download from 0 appended would be longer
}

void TestFileTransferClient::refusalsReachTheCaller()
{
    const auto alice = aliceOnline();
    QVERIFY(alice);
    FileTransferClient *files = alice->files();
    // A room not joined here.
    const QString path = m_dir->filePath(u"notes.txt"_s);
    QVERIFY(writeFile(path, "notes"));
    QSignalSpy failed(files, &FileTransferClient::uploadFailed);
    const QString clientId = files->upload(ConversationKey::room(u"elsewhere"_s), path);
    QVERIFY(failed.wait());
    QCOMPARE(failed.at(0).at(0).toString(), clientId);
    QVERIFY(!files->isUploading(clientId));
    // A file that is not there.
    QVERIFY(files->upload(ConversationKey::room(u"files"_s), m_dir->filePath(u"missing"_s)).isEmpty());
    // A download of a file nobody shared.
    QSignalSpy downloadFailed(files, &FileTransferClient::downloadFailed);
    files->download(Attachment{4242, u"x"_s, 10, u"text/plain"_s, QString(64, u'0'), {}},
                    m_dir->filePath(u"x"_s));
    QVERIFY(downloadFailed.wait());
    QCOMPARE(downloadFailed.at(0).at(0).toLongLong(), qint64(4242));
    QVERIFY(!files->isDownloading(4242));
}

void TestFileTransferClient::aBigFileIsNotFetchedAsAPreview()
{
    // A message may name any file as its thumbnail; the app asks for a thumbnail without a
    // digest or size and must not take more than a thumbnail's worth.
    const QByteArray data = randomBytes(8 * 1024 * 1024, 5);
    TestClient bob;
    QVERIFY(bob.signIn(m_server->port(), u"Bob"_s, u"bob@example.org"_s, {u"files"_s}));
    const UploadBegin begin = TestClient::announce(data, u"b-2"_s, u"disk.img"_s, u"files"_s);
    QVERIFY(bob.upload(data, begin).complete);
    const auto alice = aliceOnline();
    QVERIFY(alice);
    const MessageListModel *messages = alice->messages(ConversationKey::room(u"files"_s));
    QTRY_COMPARE(messages->rowCount(), 1);
    const Attachment shared = messages->messageAt(0).attachment;

    FileTransferClient *files = alice->files();
    QSignalSpy failed(files, &FileTransferClient::downloadFailed);
    qint64 received = 0;
    connect(files, &FileTransferClient::downloadProgress, this,
            [&](qint64, qint64 bytes) { received = std::max(received, bytes); });
    const QString preview = m_dir->filePath(u"preview.png"_s);
    files->download(Attachment{shared.fileId, u"preview.png"_s, 0, u"image/png"_s, {}, {}}, preview);
    QVERIFY(failed.wait());
    QCOMPARE(failed.at(0).at(0).toLongLong(), shared.fileId);
    QVERIFY(!files->isDownloading(shared.fileId));
    QCOMPARE(received, 0);
    QVERIFY(!QFile::exists(preview));
    QVERIFY(!QFile::exists(preview + u".part"_s));

    // The server stopped sending it: the real download of the same file works on this connection.
    QSignalSpy finished(files, &FileTransferClient::downloadFinished);
    const QString target = m_dir->filePath(u"disk.img"_s);
    files->download(shared, target);
    QVERIFY(finished.wait(30000));
    QCOMPARE(readFile(target), data);
    QCOMPARE(alice->state(), State::Online);
}

void TestFileTransferClient::chatIsNotHeldBackByAnUpload()
{
    const QByteArray data = randomBytes(32 * 1024 * 1024, 4);
    const QString path = m_dir->filePath(u"big.bin"_s);
    QVERIFY(writeFile(path, data));
    TestClient bob;
    QVERIFY(bob.signIn(m_server->port(), u"Bob"_s, u"bob@example.org"_s, {u"files"_s}));
    const auto alice = aliceOnline();
    QVERIFY(alice);
    QSignalSpy progress(alice->files(), &FileTransferClient::uploadProgress);
    QSignalSpy finished(alice->files(), &FileTransferClient::uploadFinished);
    alice->files()->upload(ConversationKey::room(u"files"_s), path);
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty(), 20000);
    // A message typed during the upload reaches Bob before the file does.
    alice->sendMessage(ConversationKey::room(u"files"_s), u"sending you the build"_s);
    const auto said = bob.waitFor<ReceiveMessage>(20000);
    QVERIFY(said);
    QCOMPARE(said->message.text, u"sending you the build"_s);
    QVERIFY(finished.isEmpty());
    QVERIFY(finished.wait(30000));
}

QTEST_MAIN(TestFileTransferClient)
#include "tst_filetransferclient.moc"
