#include "server/filevault.h"
#include "tests/support/hostileimages.h"
#include "tests/support/testclient.h"
#include "tests/support/testserver.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QRandomGenerator>
#include <QTest>
#include <QtEndian>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;

namespace {

QString sha256Hex(const QByteArray &data)
{
    return QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
}

QByteArray randomBytes(qsizetype size)
{
    QByteArray data(size, Qt::Uninitialized);
    QRandomGenerator generator(quint32(size) + 7);
    for (char &c : data)
        c = char(generator.bounded(256));
    return data;
}

/// The first bytes of a PNG as its header gives width and height.
QByteArray pngHeader(quint32 width, quint32 height)
{
    QByteArray png("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
    char size[8];
    qToBigEndian(width, size);
    qToBigEndian(height, size + 4);
    png.append(size, 8);
    png.append(QByteArray("\x08\x06\0\0\0", 5));
    png.append(QByteArray(200, '\0'));
    return png;
}

/// Descriptors of this process (the server runs in it) open on files in folder.
int descriptorsInto(const QString &folder)
{
    const QDir descriptors(u"/proc/self/fd"_s);
    const QString prefix = QFileInfo(folder).canonicalFilePath() + u'/';
    int count = 0;
    for (const QString &name : descriptors.entryList(QDir::System | QDir::Files | QDir::NoDotAndDotDot))
        count += QFileInfo(descriptors.filePath(name)).symLinkTarget().startsWith(prefix) ? 1 : 0;
    return count;
}

/// Files kept in a vault (its partial uploads aside).
QStringList keptFiles(const QString &root)
{
    QStringList kept;
    QDirIterator it(root, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        if (!path.contains(u"/partial/"_s))
            kept.append(path);
    }
    return kept;
}

} // namespace

class TestFiles : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void roundTrip_data();
    void roundTrip();
    void resumesAfterTheConnectionDropsMidUpload();
    void resumesAfterTheServerRestartsMidUpload();
    void finishedBeforeTheDropIsAnsweredWithItsMessage();
    void aDropRightAfterUploadDoneStoresItOnce();
    void downloadResumesFromAnOffset();
    void wrongChecksumKeepsNothing();
    void wrongSizeIsRefused();
    void chunksForAnotherUsersUploadAreRefused();
    void onlyReadersOfAMessageMayDownloadItsFile();
    void limitsAreEnforced();
    void thumbnailsAreSmallImages();
    void theSameBytesAreKeptOnceAndRemovedWithTheLastMessage();
    void chatIsNotQueuedBehindADownload();
    void binaryFramesOutsideAnUploadAreRefused();
    void filesBeyondFourGiB();

private:
    using Sent = TestClient::Upload;
    Sent upload(TestClient &client, const QByteArray &data, const UploadBegin &begin, qint64 stopAfter = -1)
    {
        return client.upload(data, begin, stopAfter);
    }
    static UploadBegin announce(const QByteArray &data, const QString &clientId,
                                const QString &room = u"files"_s)
    {
        UploadBegin begin = TestClient::announce(data, clientId, u"report.pdf"_s, room);
        begin.mime = u"application/pdf"_s;
        return begin;
    }
    static std::optional<QByteArray> download(TestClient &client, qint64 fileId, qint64 offset = 0,
                                              Error *refused = nullptr)
    {
        return client.download(fileId, offset, refused);
    }

    std::unique_ptr<TestServer> m_server;
    std::unique_ptr<TestClient> m_alice;
    std::unique_ptr<TestClient> m_bob;
};

void TestFiles::init()
{
    ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 0;
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    m_alice = std::make_unique<TestClient>();
    m_bob = std::make_unique<TestClient>();
    QVERIFY(m_alice->signIn(m_server->port(), u"Alice"_s, u"alice@example.org"_s, {u"files"_s}));
    QVERIFY(m_bob->signIn(m_server->port(), u"Bob"_s, u"bob@example.org"_s, {u"files"_s}));
}

void TestFiles::cleanup()
{
    m_alice.reset();
    m_bob.reset();
    m_server.reset();
}

void TestFiles::roundTrip_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("small") << randomBytes(1000);
    QTest::newRow("one chunk exactly") << randomBytes(64 * 1024 - 8);
    QTest::newRow("multi-chunk") << randomBytes(3 * 1024 * 1024 + 17);
    // Runs of zeros are kept as holes: in the middle, and at the end.
    QTest::newRow("zeros, then data") << QByteArray(2 * 1024 * 1024, '\0') + randomBytes(100'000);
    QTest::newRow("data, then zeros") << randomBytes(100'000) + QByteArray(2 * 1024 * 1024 + 5, '\0');
}

void TestFiles::roundTrip()
{
    QFETCH(QByteArray, data);
    const qsizetype size = data.size();
    UploadBegin begin = announce(data, u"f-1"_s);
    begin.text = u"the Q3 report"_s;
    const Sent sent = upload(*m_alice, data, begin);
    QVERIFY2(sent.complete, sent.error ? qPrintable(sent.error->message) : "no answer");

    // Pushed like any message, to everyone in the room, the sender too.
    for (TestClient *client : {m_alice.get(), m_bob.get()}) {
        const auto pushed = client->waitFor<ReceiveMessage>();
        QVERIFY(pushed);
        const Attachment &attachment = pushed->message.attachment;
        QCOMPARE(attachment.fileId, sent.complete->fileId);
        QCOMPARE(attachment.name, u"report.pdf"_s);
        QCOMPARE(attachment.size, qint64(size));
        QCOMPARE(attachment.sha256, sha256Hex(data));
        QCOMPARE(attachment.mime, u"application/pdf"_s);
        QCOMPARE(pushed->message.text, u"the Q3 report"_s);
    }
    QCOMPARE(m_alice->readConversation(u"files"_s).constLast().attachment.fileId, sent.complete->fileId);

    const std::optional<QByteArray> got = download(*m_bob, sent.complete->fileId);
    QVERIFY(got);
    QCOMPARE(got->size(), data.size());
    QCOMPARE(sha256Hex(*got), sha256Hex(data));

    // Kept under its digest, private to the server's user.
    const QString kept =
        FileVault(ServerConfig::filesPathFor(m_server->databasePath())).keptPath(sha256Hex(data));
    QVERIFY(QFileInfo::exists(kept));
    QCOMPARE(QFile::permissions(kept) & (QFileDevice::ReadOther | QFileDevice::ReadGroup),
             QFileDevice::Permissions());
}

void TestFiles::resumesAfterTheConnectionDropsMidUpload()
{
    const QByteArray data = randomBytes(2 * 1024 * 1024);
    const UploadBegin begin = announce(data, u"f-drop"_s);
    QVERIFY(!upload(*m_alice, data, begin, 700 * 1024).error);
    // Some of it arrived when the network fails (a reset loses what the
    // server's kernel still held for it).
    const QString partialFolder = ServerConfig::filesPathFor(m_server->databasePath()) + u"/partial"_s;
    QTRY_VERIFY(QDir(partialFolder).entryInfoList(QDir::Files).value(0).size() >= 256 * 1024);
    QCOMPARE(descriptorsInto(partialFolder), 1);
    m_alice->socket().abort();
    // Its descriptor goes with the connection (1,000 abandoned uploads kept 1,000 open for a day).
    QTRY_COMPARE(descriptorsInto(partialFolder), 0);

    TestClient again;
    QVERIFY(again.signIn(m_server->port(), u"Alice"_s, u"alice@example.org"_s, {u"files"_s}));
    again.send(begin);
    const auto ready = again.waitFor<UploadReady>();
    QVERIFY(ready);
    QVERIFY2(ready->offset >= 256 * 1024 && ready->offset <= 700 * 1024,
             qPrintable(QString::number(ready->offset)));
    again.frames.clear();
    const Sent sent = upload(again, data, begin);
    QVERIFY(sent.complete);
    const auto pushed = m_bob->waitFor<ReceiveMessage>();
    QVERIFY(pushed);
    QCOMPARE(pushed->message.attachment.sha256, sha256Hex(data));
    QCOMPARE(download(*m_bob, sent.complete->fileId), data);
    QCOMPARE(m_bob->count<ReceiveMessage>(), 0); // once
}

void TestFiles::resumesAfterTheServerRestartsMidUpload()
{
    const QByteArray data = randomBytes(1024 * 1024 + 5);
    const UploadBegin begin = announce(data, u"f-restart"_s);
    QVERIFY(!upload(*m_alice, data, begin, 300 * 1024).error);
    // The bytes reach the server before it stops.
    const QString partialFolder = ServerConfig::filesPathFor(m_server->databasePath()) + u"/partial"_s;
    QTRY_COMPARE(QDir(partialFolder).entryInfoList(QDir::Files).value(0).size(), qint64(300 * 1024));
    m_server->stop();
    QVERIFY(m_server->start());

    TestClient again;
    QVERIFY(again.signIn(m_server->port(), u"Alice"_s, u"alice@example.org"_s, {u"files"_s}));
    TestClient bob;
    QVERIFY(bob.signIn(m_server->port(), u"Bob"_s, u"bob@example.org"_s, {u"files"_s}));
    again.send(begin);
    const auto ready = again.waitFor<UploadReady>();
    QVERIFY(ready);
    QCOMPARE(ready->offset, qint64(300 * 1024));
    again.frames.clear();
    const Sent sent = upload(again, data, begin);
    QVERIFY(sent.complete);
    QVERIFY(bob.waitFor<ReceiveMessage>());
    QCOMPARE(download(bob, sent.complete->fileId), data);
    QVERIFY(QDir(partialFolder).entryList(QDir::Files).isEmpty());
}

void TestFiles::finishedBeforeTheDropIsAnsweredWithItsMessage()
{
    const QByteArray data = randomBytes(5000);
    const UploadBegin begin = announce(data, u"f-done"_s);
    const Sent sent = upload(*m_alice, data, begin);
    QVERIFY(sent.complete);
    const auto first = m_alice->waitFor<ReceiveMessage>();
    QVERIFY(first);
    // The client did not see the answer (it dropped) and begins again: no
    // second message, no second upload.
    m_alice->send(begin);
    const auto complete = m_alice->waitFor<UploadComplete>();
    QVERIFY(complete);
    QCOMPARE(complete->fileId, sent.complete->fileId);
    const auto again = m_alice->waitFor<ReceiveMessage>();
    QVERIFY(again);
    QCOMPARE(again->message.id, first->message.id);
    QCOMPARE(m_alice->readConversation(u"files"_s).size(), 1);
}

void TestFiles::aDropRightAfterUploadDoneStoresItOnce()
{
    // The connection goes while the server checks the bytes (or just before
    // it read upload_done): either way the file becomes one message, and
    // asking again after the reconnect gets the answer.
    const QByteArray data = randomBytes(16 * 1024 * 1024);
    const UploadBegin begin = announce(data, u"f-gone"_s);
    const Sent sent = upload(*m_alice, data, begin, data.size());
    QVERIFY(!sent.error);
    m_alice->send(UploadDone{sent.uploadId});
    m_alice->socket().flush();
    m_alice->socket().abort();

    TestClient again;
    QVERIFY(again.signIn(m_server->port(), u"Alice"_s, u"alice@example.org"_s, {u"files"_s}));
    qint64 fileId = 0;
    for (int attempt = 0; attempt < 3 && fileId == 0; ++attempt) {
        again.send(begin);
        QVERIFY(QTest::qWaitFor(
            [&] {
                return again.count<UploadComplete>() + again.count<UploadReady>() + again.count<Error>() > 0;
            },
            10000));
        QCOMPARE(again.count<Error>(), 0);
        if (const auto ready = again.takeFirst<UploadReady>()) {
            if (ready->offset < data.size()) {
                const Sent rest = again.upload(data, begin); // the rest of it
                QCOMPARE(rest.error, std::nullopt);
                fileId = rest.complete ? rest.complete->fileId : 0;
                continue;
            }
            again.send(UploadDone{ready->uploadId});
        }
        if (const auto complete = again.waitFor<UploadComplete>(20000))
            fileId = complete->fileId;
    }
    QVERIFY(fileId > 0);
    const auto pushed = m_bob->waitFor<ReceiveMessage>();
    QVERIFY(pushed);
    QCOMPARE(pushed->message.from.name, u"Alice"_s);
    QCOMPARE(again.readConversation(u"files"_s).size(), 1);
    QCOMPARE(again.download(fileId), data);
}

void TestFiles::downloadResumesFromAnOffset()
{
    const QByteArray data = randomBytes(500 * 1024);
    const Sent sent = upload(*m_alice, data, announce(data, u"f-off"_s));
    QVERIFY(sent.complete);
    QCOMPARE(download(*m_bob, sent.complete->fileId, 123'457), data.mid(123'457));
    QCOMPARE(download(*m_bob, sent.complete->fileId, data.size()), QByteArray());
    Error refused;
    QVERIFY(!download(*m_bob, sent.complete->fileId, data.size() + 1, &refused));
    QCOMPARE(refused.code, ErrorCode::BadField);
}

void TestFiles::wrongChecksumKeepsNothing()
{
    const QByteArray data = randomBytes(200 * 1024);
    UploadBegin begin = announce(data, u"f-bad"_s);
    begin.sha256 = sha256Hex("something else");
    const Sent sent = upload(*m_alice, data, begin);
    QVERIFY(sent.error);
    QCOMPARE(sent.error->code, ErrorCode::ChecksumMismatch);
    QCOMPARE(sent.error->clientId, u"f-bad"_s);
    QVERIFY(sent.error->uploadId > 0);
    QVERIFY(keptFiles(ServerConfig::filesPathFor(m_server->databasePath())).isEmpty());
    QVERIFY(QDir(ServerConfig::filesPathFor(m_server->databasePath()) + u"/partial"_s).isEmpty());
    QVERIFY(m_alice->readConversation(u"files"_s).isEmpty());
    QCOMPARE(m_bob->count<ReceiveMessage>(), 0);
}

void TestFiles::wrongSizeIsRefused()
{
    const QByteArray data = randomBytes(100 * 1024);
    // Fewer bytes than announced by upload_done.
    UploadBegin begin = announce(data, u"f-short"_s);
    begin.size = data.size() + 10;
    Sent sent = upload(*m_alice, data, begin);
    QVERIFY(sent.error);
    QCOMPARE(sent.error->code, ErrorCode::SizeMismatch);
    // More than announced.
    begin = announce(data, u"f-long"_s);
    begin.size = data.size() - 10;
    m_alice->send(begin);
    const auto ready = m_alice->waitFor<UploadReady>();
    QVERIFY(ready);
    for (qint64 offset = 0; offset < data.size(); offset += ready->chunkBytes)
        m_alice->socket().sendBinaryMessage(
            Codec::encodeChunk(ready->uploadId, data.mid(offset, ready->chunkBytes)));
    const auto refused = m_alice->waitFor<Error>();
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::SizeMismatch);
    QCOMPARE(refused->clientId, u"f-long"_s);
    QVERIFY(m_alice->readConversation(u"files"_s).isEmpty());
}

void TestFiles::chunksForAnotherUsersUploadAreRefused()
{
    const QByteArray data = randomBytes(100 * 1024);
    const UploadBegin begin = announce(data, u"f-mine"_s);
    QVERIFY(!upload(*m_alice, data, begin, 1000).error);
    // Bob guesses Alice's upload id (ids are small numbers) and writes into it.
    m_bob->frames.clear();
    m_bob->socket().sendBinaryMessage(Codec::encodeChunk(1, QByteArray(5000, 'x')));
    const auto refused = m_bob->waitFor<Error>();
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::BinaryNotSupported);
    // Alice's upload goes on untouched.
    const Sent sent = upload(*m_alice, data, begin);
    QVERIFY(sent.complete);
    QCOMPARE(download(*m_alice, sent.complete->fileId), data);
    // Nor may Bob finish or cancel it.
    m_bob->send(UploadDone{1});
    const auto notYours = m_bob->waitFor<Error>();
    QVERIFY(notYours);
    QCOMPARE(notYours->code, ErrorCode::NoSuchUpload);
}

void TestFiles::onlyReadersOfAMessageMayDownloadItsFile()
{
    TestClient carol;
    QVERIFY(carol.signIn(m_server->port(), u"Carol"_s, u"carol@example.org"_s, {u"general"_s}));
    const QByteArray inRoom = randomBytes(3000);
    const Sent roomFile = upload(*m_alice, inRoom, announce(inRoom, u"f-room"_s));
    QVERIFY(roomFile.complete);
    const QByteArray direct = randomBytes(4000);
    UploadBegin toBob = announce(direct, u"f-dm"_s);
    toBob.room.clear();
    toBob.to = u"bob@example.org"_s;
    const Sent directFile = upload(*m_alice, direct, toBob);
    QVERIFY(directFile.complete);
    QVERIFY(m_bob->waitFor<ReceiveMessage>());

    // Carol is not in #files and not in the direct conversation: one answer
    // for both, and for a file that does not exist.
    for (const qint64 id : {roomFile.complete->fileId, directFile.complete->fileId, qint64(999)}) {
        Error refused;
        QVERIFY(!download(carol, id, 0, &refused));
        QCOMPARE(refused.code, ErrorCode::NoSuchFile);
    }
    QCOMPARE(download(*m_bob, directFile.complete->fileId), direct);
    // Once she joins the room she may read its file, still not the direct one.
    QVERIFY(carol.join(u"files"_s));
    carol.frames.clear();
    QCOMPARE(download(carol, roomFile.complete->fileId), inRoom);
    QVERIFY(!download(carol, directFile.complete->fileId));
    // Bob leaves the room: checked on every request.
    m_bob->send(LeaveRoom{u"files"_s});
    QTRY_VERIFY(!download(*m_bob, roomFile.complete->fileId));
}

void TestFiles::limitsAreEnforced()
{
    cleanup();
    ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 0;
    config.maxUploadBytes = 1024 * 1024;
    config.storageQuotaPerUser = 1536 * 1024;
    config.maxConcurrentUploadsPerUser = 2;
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    TestClient alice;
    QVERIFY(alice.signIn(m_server->port(), u"Alice"_s, u"alice@example.org"_s, {u"files"_s}));

    const QByteArray big = randomBytes(1024 * 1024 + 1);
    Sent sent = upload(alice, big, announce(big, u"f-big"_s));
    QVERIFY(sent.error);
    QCOMPARE(sent.error->code, ErrorCode::FileTooLarge);

    const QByteArray first = randomBytes(1000 * 1024);
    QVERIFY(upload(alice, first, announce(first, u"f-1"_s)).complete);
    const QByteArray second = randomBytes(800 * 1024);
    sent = upload(alice, second, announce(second, u"f-2"_s));
    QVERIFY(sent.error);
    QCOMPARE(sent.error->code, ErrorCode::QuotaExceeded);

    // Two under way at once, not three.
    const QByteArray small = randomBytes(1000);
    QVERIFY(!upload(alice, small, announce(small, u"f-a"_s), 10).error);
    const Sent underWay = upload(alice, small, announce(small, u"f-b"_s), 10);
    QVERIFY(!underWay.error && underWay.uploadId > 0);
    sent = upload(alice, small, announce(small, u"f-c"_s), 10);
    QVERIFY(sent.error);
    QCOMPARE(sent.error->code, ErrorCode::TooManyUploads);
    alice.frames.clear();
    // Cancelling one makes room.
    alice.send(UploadCancel{underWay.uploadId});
    QVERIFY(!upload(alice, small, announce(small, u"f-c"_s), 10).error);
}

void TestFiles::thumbnailsAreSmallImages()
{
    // A thumbnail first, then the image that names it.
    const QByteArray thumbnail = pngHeader(320, 180);
    UploadBegin thumb = announce(thumbnail, u"t-1"_s);
    thumb.room.clear();
    thumb.thumbnail = true;
    thumb.mime = u"image/png"_s;
    thumb.name = u"thumbnail.png"_s;
    const Sent thumbSent = upload(*m_alice, thumbnail, thumb);
    QVERIFY2(thumbSent.complete, thumbSent.error ? qPrintable(thumbSent.error->message) : "no answer");
    QCOMPARE(m_bob->count<ReceiveMessage>(), 0); // no message carries a thumbnail alone

    const QByteArray image = pngHeader(3200, 1800) + randomBytes(100 * 1024);
    UploadBegin full = announce(image, u"i-1"_s);
    full.mime = u"image/png"_s;
    full.name = u"screenshot.png"_s;
    full.image = ImageInfo{3200, 1800, thumbSent.complete->fileId};
    QVERIFY(upload(*m_alice, image, full).complete);
    const auto pushed = m_bob->waitFor<ReceiveMessage>();
    QVERIFY(pushed);
    QCOMPARE(pushed->message.attachment.image, (ImageInfo{3200, 1800, thumbSent.complete->fileId}));
    QCOMPARE(download(*m_bob, thumbSent.complete->fileId), thumbnail); // readable through the message

    // Not an image, too large, or too many pixels: refused.
    // A JPEG or WebP whose size hides (junk before the frame header, which
    // decoders skip; no image chunk) could declare any size: refused too.
    for (const QByteArray &bad : {QByteArray("GIF? no, a text file with an image/png label"),
                                  pngHeader(4000, 10), HostileImages::greyJpeg(8000, 8000, 1),
                                  HostileImages::greyJpeg(65535, 65535, 1), HostileImages::greyJpeg(1025, 10),
                                  HostileImages::webpLossless(4000, 10), HostileImages::webpWithoutSize()}) {
        UploadBegin wrong = announce(bad, u"t-bad-%1"_s.arg(bad.size()));
        wrong.room.clear();
        wrong.thumbnail = true;
        wrong.mime = u"image/png"_s;
        const Sent refused = upload(*m_alice, bad, wrong);
        QVERIFY(refused.error);
        QCOMPARE(refused.error->code, ErrorCode::BadThumbnail);
    }
    // Sized where decoders read it and small enough: taken.
    for (const QByteArray &good :
         {HostileImages::greyJpeg(320, 180), HostileImages::webpLossless(640, 360)}) {
        UploadBegin fine = announce(good, u"t-good-%1"_s.arg(good.size()));
        fine.room.clear();
        fine.thumbnail = true;
        fine.mime = u"image/jpeg"_s;
        const Sent taken = upload(*m_alice, good, fine);
        QVERIFY(!taken.error);
    }
    // Nobody may name another person's thumbnail as theirs.
    const QByteArray other = pngHeader(10, 10);
    UploadBegin borrowed = announce(other, u"i-borrowed"_s);
    borrowed.image = ImageInfo{10, 10, thumbSent.complete->fileId};
    const Sent refused = upload(*m_bob, other, borrowed);
    QVERIFY(refused.error);
    QCOMPARE(refused.error->code, ErrorCode::NoSuchFile);
}

void TestFiles::theSameBytesAreKeptOnceAndRemovedWithTheLastMessage()
{
    const QByteArray data = randomBytes(50 * 1024);
    const Sent first = upload(*m_alice, data, announce(data, u"f-x"_s));
    const Sent second = upload(*m_bob, data, announce(data, u"f-y"_s));
    QVERIFY(first.complete && second.complete);
    QCOMPARE(first.complete->fileId, second.complete->fileId);
    const QString root = ServerConfig::filesPathFor(m_server->databasePath());
    QCOMPARE(keptFiles(root).size(), 1);

    const QList<Message> messages = m_alice->readConversation(u"files"_s);
    QCOMPARE(messages.size(), 2);
    m_alice->send(DeleteMessage{messages.at(0).id});
    QVERIFY(m_alice->waitFor<MessageChange>());
    // Still carried by Bob's message.
    QCOMPARE(download(*m_alice, first.complete->fileId), data);
    QCOMPARE(keptFiles(root).size(), 1);
    m_bob->send(DeleteMessage{messages.at(1).id});
    QVERIFY(m_bob->waitFor<MessageChange>());
    QTRY_VERIFY(keptFiles(root).isEmpty());
    Error refused;
    m_bob->frames.clear();
    QVERIFY(!download(*m_bob, first.complete->fileId, 0, &refused));
    QCOMPARE(refused.code, ErrorCode::NoSuchFile);
}

void TestFiles::chatIsNotQueuedBehindADownload()
{
    const QByteArray data = randomBytes(24 * 1024 * 1024);
    const Sent sent = upload(*m_alice, data, announce(data, u"f-big"_s));
    QVERIFY(sent.complete);
    QVERIFY(m_bob->waitFor<ReceiveMessage>());
    m_bob->send(DownloadRequest{sent.complete->fileId, 0});
    const auto ready = m_bob->waitFor<DownloadReady>();
    QVERIFY(ready);
    m_alice->send(SendMessage{u"files"_s, {}, u"did you get it?"_s, u"m-1"_s});
    // The message arrives while the file is still coming, not after it.
    QVERIFY(QTest::qWaitFor([&] { return m_bob->count<ReceiveMessage>() > 0; }, 10000));
    QCOMPARE(m_bob->count<DownloadDone>(), 0);
    QVERIFY(m_bob->downloaded.value(ready->downloadId).size() < data.size());
    QVERIFY(m_bob->waitFor<DownloadDone>(30000));
    QCOMPARE(sha256Hex(m_bob->downloaded.value(ready->downloadId)), sha256Hex(data));
}

void TestFiles::binaryFramesOutsideAnUploadAreRefused()
{
    for (const QByteArray &payload : {QByteArray("abc"), Codec::encodeChunk(77, "data")}) {
        m_bob->socket().sendBinaryMessage(payload);
        const auto refused = m_bob->waitFor<Error>();
        QVERIFY(refused);
        QCOMPARE(refused->code, ErrorCode::BinaryNotSupported);
    }
    QVERIFY(m_bob->isConnected());
}

void TestFiles::filesBeyondFourGiB()
{
    // 4 GiB and 1 MiB, never on disk whole: zeros (holes in sparse files) and
    // a random tail. The zeros arrive as if before a restart; the tail is sent.
    const qint64 zeros = qint64(4) << 30;
    const QByteArray tail = randomBytes(1024 * 1024);
    FileVault::Hasher expected;
    const QByteArray block(1 << 20, '\0');
    for (qint64 at = 0; at < zeros; at += block.size())
        expected.add(block);
    expected.add(tail);
    UploadBegin begin = announce({}, u"f-huge"_s);
    begin.name = u"disk.img"_s;
    begin.size = zeros + tail.size();
    begin.sha256 = expected.finish();
    qint64 partialId = 0;

    cleanup();
    ServerConfig config = TestServer::defaultConfig();
    config.maxUploadBytes = qint64(8) << 30;
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    {
        TestClient first;
        QVERIFY(first.signIn(m_server->port(), u"Alice"_s, u"alice@example.org"_s, {u"files"_s}));
        const Sent started = upload(first, {}, begin, 0);
        QVERIFY2(!started.error && started.uploadId > 0,
                 started.error ? qPrintable(started.error->message) : "");
        partialId = started.uploadId;
    }
    m_server->stop();
    const QString partial =
        ServerConfig::filesPathFor(m_server->databasePath()) + u"/partial/%1"_s.arg(partialId);
    QVERIFY(QFile::resize(partial, zeros)); // what came before the restart, as a hole
    QVERIFY(m_server->start());

    TestClient alice;
    QVERIFY(alice.signIn(m_server->port(), u"Alice"_s, u"alice@example.org"_s, {u"files"_s}));
    TestClient bob;
    QVERIFY(bob.signIn(m_server->port(), u"Bob"_s, u"bob@example.org"_s, {u"files"_s}));
    alice.send(begin);
    const auto ready = alice.waitFor<UploadReady>();
    QVERIFY(ready);
    QCOMPARE(ready->offset, zeros); // beyond 32 bits
    for (qint64 at = 0; at < tail.size(); at += ready->chunkBytes)
        alice.socket().sendBinaryMessage(
            Codec::encodeChunk(ready->uploadId, tail.mid(at, ready->chunkBytes)));
    alice.send(UploadDone{ready->uploadId});
    const auto complete = alice.waitFor<UploadComplete>(60000);
    QVERIFY(complete);
    const auto pushed = bob.waitFor<ReceiveMessage>();
    QVERIFY(pushed);
    QCOMPARE(pushed->message.attachment.size, zeros + tail.size());

    // The tail, read from beyond 4 GiB.
    bob.send(DownloadRequest{complete->fileId, zeros});
    const auto downloadReady = bob.waitFor<DownloadReady>();
    QVERIFY(downloadReady);
    QCOMPARE(downloadReady->size, zeros + tail.size());
    QCOMPARE(downloadReady->offset, zeros);
    QVERIFY(bob.waitFor<DownloadDone>(30000));
    QCOMPARE(bob.downloaded.value(downloadReady->downloadId), tail);
}

QTEST_GUILESS_MAIN(TestFiles)
#include "tst_files.moc"
