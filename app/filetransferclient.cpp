#include "app/filetransferclient.h"

#include "app/clientlogging.h"
#include "app/serverconnection.h"
#include "common/codec.h"
#include "common/sha256.h"
#include "common/validation.h"

#include <QBuffer>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QImageReader>
#include <QMimeDatabase>
#include <QPainter>
#include <QRunnable>
#include <QUuid>

#include <functional>

using namespace Qt::StringLiterals;

namespace Natter {

using namespace Protocol;

namespace {

/// The SHA-256 of a file's first size bytes; empty if it cannot be read
/// whole. progress(bytes) is called every 64 MiB.
QString sha256Of(const QString &path, qint64 size, const std::function<void(qint64)> &progress = {})
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    Sha256 hash;
    QByteArray buffer(1 << 20, Qt::Uninitialized);
    qint64 left = size;
    while (left > 0) {
        const qint64 read = file.read(buffer.data(), std::min<qint64>(left, buffer.size()));
        if (read <= 0)
            return {};
        hash.add(QByteArrayView(buffer.constData(), read));
        left -= read;
        if (progress && ((size - left) & ((64 << 20) - 1)) == 0)
            progress(size - left);
    }
    return hash.finish();
}

} // namespace

FileTransferClient::FileTransferClient(ServerConnection *connection, QObject *parent)
    : QObject(parent)
    , m_connection(connection)
{
    m_workers.setMaxThreadCount(1);
    connect(m_connection, &ServerConnection::bytesWritten, this, &FileTransferClient::pump);
}

FileTransferClient::~FileTransferClient()
{
    m_workers.waitForDone();
}

bool FileTransferClient::isOnline() const
{
    return m_signedIn && m_connection->state() == ServerConnection::State::Connected;
}

Attachment FileTransferClient::describe(const QString &path)
{
    const QFileInfo info(path);
    Attachment attachment;
    if (!info.isFile() || !info.isReadable())
        return attachment;
    attachment.name = Validation::shareableFileName(info.fileName());
    attachment.size = info.size();
    attachment.mime = QMimeDatabase().mimeTypeForFile(info).name();
    if (attachment.mime.startsWith(u"image/"_s)) {
        QImageReader reader(path);
        reader.setAutoTransform(true);
        QSize size = reader.size();
        if (reader.transformation().testFlag(QImageIOHandler::TransformationRotate90))
            size.transpose();
        // Larger than any screen a protocol client is asked to show: shared as a plain file.
        if (size.isValid() && reader.canRead() && size.width() <= Protocol::MaxImageSide &&
            size.height() <= Protocol::MaxImageSide)
            attachment.image = ImageInfo{size.width(), size.height(), 0};
    }
    return attachment;
}

QByteArray FileTransferClient::thumbnailOf(const QString &path)
{
    QImageReader reader(path);
    reader.setAutoTransform(true);
    const QSize size = reader.size();
    if (!size.isValid())
        return {};
    // Decoded at the thumbnail's size where the format can (JPEG): a photo's
    // full size is never in memory.
    if (reader.transformation() == QImageIOHandler::TransformationNone &&
        (size.width() > ThumbnailEdge || size.height() > ThumbnailEdge))
        reader.setScaledSize(size.scaled(ThumbnailEdge, ThumbnailEdge, Qt::KeepAspectRatio));
    QImage image = reader.read();
    if (image.isNull())
        return {};
    if (image.width() > ThumbnailEdge || image.height() > ThumbnailEdge)
        image = image.scaled(ThumbnailEdge, ThumbnailEdge, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    // PNG keeps transparency (and a screenshot's text sharp); JPEG when that is too big.
    QByteArray bytes;
    const auto encode = [&bytes](const QImage &picture, const char *format, int quality) {
        bytes.clear();
        QBuffer buffer(&bytes);
        buffer.open(QIODevice::WriteOnly);
        return picture.save(&buffer, format, quality) && bytes.size() <= Protocol::MaxThumbnailBytes;
    };
    if (encode(image, "PNG", -1))
        return bytes;
    QImage opaque(image.size(), QImage::Format_RGB32);
    opaque.fill(Qt::white);
    QPainter(&opaque).drawImage(0, 0, image);
    for (const int quality : {85, 70, 50}) {
        if (encode(opaque, "JPEG", quality))
            return bytes;
    }
    return encode(opaque.scaled(opaque.size() / 2, Qt::KeepAspectRatio, Qt::SmoothTransformation), "JPEG", 60)
               ? bytes
               : QByteArray();
}

QString FileTransferClient::upload(const FileUpload &file)
{
    const Attachment described = describe(file.path);
    if (described.name.isEmpty())
        return {};
    auto upload = std::make_shared<Upload>();
    upload->path = file.path;
    UploadBegin &begin = upload->begin;
    begin.clientId = file.clientId.isEmpty() ? u"f-"_s + QUuid::createUuid().toString(QUuid::Id128).left(16)
                                             : file.clientId;
    if (m_uploads.contains(begin.clientId))
        return begin.clientId; // going already
    begin.name = described.name;
    begin.size = described.size;
    begin.mime = described.mime;
    if (file.key.isRoom())
        begin.room = file.key.name;
    else
        begin.to = file.key.name;
    begin.text = file.caption;
    begin.replyTo = file.replyTo;
    begin.image = described.image;
    m_uploads.insert(begin.clientId, upload);
    const QString clientId = begin.clientId;
    const qint64 size = begin.size;
    const QString path = file.path;
    const bool image = described.isImage();
    // Hashed (and an image's thumbnail made) off the GUI thread: a 2 GB build takes seconds.
    m_workers.start(QRunnable::create([this, clientId, path, size, image] {
        const QString digest = sha256Of(path, size, [this, clientId, size](qint64 hashed) {
            QMetaObject::invokeMethod(
                this, [this, clientId, hashed, size] { Q_EMIT uploadPreparing(clientId, hashed, size); },
                Qt::QueuedConnection);
        });
        const QByteArray thumbnail = image ? thumbnailOf(path) : QByteArray();
        QMetaObject::invokeMethod(
            this, [this, clientId, digest, thumbnail] { hashed(clientId, digest, thumbnail); },
            Qt::QueuedConnection);
    }));
    return clientId;
}

void FileTransferClient::hashed(const QString &clientId, const QString &digest, const QByteArray &thumbnail)
{
    const auto upload = m_uploads.value(clientId);
    if (!upload)
        return; // cancelled meanwhile
    if (digest.isEmpty()) {
        failUpload(clientId, tr("The file could not be read."));
        return;
    }
    upload->begin.sha256 = digest;
    upload->hashed = true;
    if (!thumbnail.isEmpty()) {
        // The thumbnail goes first: the message names it, and shows at once.
        auto small = std::make_shared<Upload>();
        small->data = thumbnail;
        small->thumbnailOf = clientId;
        UploadBegin &begin = small->begin;
        begin.clientId = clientId + u"-t"_s;
        begin.thumbnail = true;
        begin.size = thumbnail.size();
        begin.sha256 = Sha256::of(thumbnail);
        begin.mime = thumbnail.startsWith("\x89PNG") ? u"image/png"_s : u"image/jpeg"_s;
        begin.name = begin.mime == u"image/png"_s ? u"thumbnail.png"_s : u"thumbnail.jpg"_s;
        small->hashed = true;
        upload->waitingForThumbnail = true;
        m_uploads.insert(begin.clientId, small);
        announceIfReady(*small);
    }
    announceIfReady(*upload);
}

void FileTransferClient::announceIfReady(Upload &upload)
{
    if (upload.hashed && !upload.waitingForThumbnail && isOnline())
        announce(upload);
}

void FileTransferClient::thumbnailDone(const QString &clientId, qint64 thumbnailId)
{
    const auto upload = m_uploads.value(clientId);
    if (!upload || !upload->waitingForThumbnail)
        return;
    upload->waitingForThumbnail = false;
    upload->begin.image.thumbnailId = thumbnailId;
    announceIfReady(*upload);
}

void FileTransferClient::announce(Upload &upload)
{
    upload.uploadId = 0;
    upload.doneSent = false;
    m_connection->sendText(QString::fromUtf8(Codec::encodeClientFrame(upload.begin)));
}

void FileTransferClient::cancelUpload(const QString &clientId)
{
    const auto upload = m_uploads.take(clientId);
    if (upload && upload->uploadId > 0 && isOnline())
        m_connection->sendText(QString::fromUtf8(Codec::encodeClientFrame(UploadCancel{upload->uploadId})));
    if (upload && upload->waitingForThumbnail)
        cancelUpload(clientId + u"-t"_s);
}

void FileTransferClient::handle(const UploadReady &ready)
{
    const auto upload = m_uploads.value(ready.clientId);
    if (!upload)
        return;
    if (!upload->source) {
        if (upload->path.isEmpty())
            upload->source = std::make_unique<QBuffer>(&upload->data);
        else
            upload->source = std::make_unique<QFile>(upload->path);
        if (!upload->source->open(QIODevice::ReadOnly)) {
            upload->source.reset();
            failUpload(ready.clientId, tr("The file could not be read."));
            return;
        }
    }
    upload->uploadId = ready.uploadId;
    upload->offset = ready.offset;
    upload->chunkBytes = ready.chunkBytes;
    upload->source->seek(ready.offset);
    pump();
}

void FileTransferClient::pump()
{
    if (!isOnline())
        return;
    // Chat first: file bytes only while little waits in the socket, and the
    // uploads take turns a chunk at a time.
    bool sent = true;
    while (sent && m_connection->unwrittenBytes() < Window) {
        sent = false;
        for (const auto &upload : std::as_const(m_uploads)) {
            if (upload->uploadId == 0 || upload->doneSent || m_connection->unwrittenBytes() >= Window)
                continue;
            const qint64 length = std::min(upload->chunkBytes, upload->begin.size - upload->offset);
            if (length > 0) {
                const QByteArray data = upload->source->read(length);
                if (data.size() != length) {
                    failUpload(upload->begin.clientId, tr("The file changed or could not be read."));
                    return; // m_uploads changed: the next bytesWritten() goes on
                }
                m_connection->sendBinary(Codec::encodeChunk(upload->uploadId, data));
                upload->offset += length;
                if (upload->thumbnailOf.isEmpty())
                    Q_EMIT uploadProgress(upload->begin.clientId, upload->offset, upload->begin.size);
                sent = true;
            }
            if (upload->offset == upload->begin.size) {
                upload->doneSent = true;
                m_connection->sendText(
                    QString::fromUtf8(Codec::encodeClientFrame(UploadDone{upload->uploadId})));
            }
        }
    }
}

void FileTransferClient::handle(const UploadComplete &complete)
{
    const auto upload = m_uploads.take(complete.clientId);
    if (!upload)
        return;
    if (!upload->thumbnailOf.isEmpty()) {
        Q_EMIT thumbnailUploaded(upload->thumbnailOf, complete.fileId, upload->data);
        thumbnailDone(upload->thumbnailOf, complete.fileId);
        return;
    }
    Q_EMIT uploadFinished(complete.clientId, complete.fileId);
}

void FileTransferClient::failUpload(const QString &clientId, const QString &message)
{
    const auto upload = m_uploads.take(clientId);
    if (!upload)
        return;
    qCInfo(lcNatterClientNet).noquote() << "upload" << clientId << "failed:" << message;
    if (!upload->thumbnailOf.isEmpty()) {
        thumbnailDone(upload->thumbnailOf, 0); // the image goes without one
        return;
    }
    if (upload->waitingForThumbnail)
        cancelUpload(clientId + u"-t"_s);
    Q_EMIT uploadFailed(clientId, message);
}

void FileTransferClient::download(const Attachment &attachment, const QString &path)
{
    if (m_downloads.contains(attachment.fileId))
        return;
    auto download = std::make_shared<Download>();
    download->attachment = attachment;
    download->path = path;
    download->part = std::make_unique<QFile>(path + u".part"_s);
    // Someone else's file: the user's only until they decide otherwise.
    if (!download->part->open(QIODevice::ReadWrite, QFileDevice::ReadOwner | QFileDevice::WriteOwner)) {
        Q_EMIT downloadFailed(attachment.fileId, tr("%1 cannot be written.").arg(download->part->fileName()));
        return;
    }
    if (download->part->size() > attachment.size && !attachment.sha256.isEmpty())
        download->part->resize(0); // not this file's
    m_downloads.insert(attachment.fileId, download);
    if (isOnline())
        request(*download);
}

void FileTransferClient::request(Download &download)
{
    download.part->seek(download.part->size()); // resume from what arrived
    m_requested.append(download.attachment.fileId);
    m_connection->sendText(QString::fromUtf8(
        Codec::encodeClientFrame(DownloadRequest{download.attachment.fileId, download.part->size()})));
}

void FileTransferClient::cancelDownload(qint64 fileId)
{
    const auto download = m_downloads.take(fileId);
    if (!download)
        return;
    if (download->downloadId > 0 && isOnline())
        m_connection->sendText(
            QString::fromUtf8(Codec::encodeClientFrame(DownloadCancel{download->downloadId})));
    download->part->remove();
}

void FileTransferClient::handle(const DownloadReady &ready)
{
    m_requested.removeOne(ready.fileId);
    const auto download = m_downloads.value(ready.fileId);
    if (!download || ready.offset != download->part->pos())
        return;
    download->downloadId = ready.downloadId;
    if (download->attachment.sha256.isEmpty()) {
        // A thumbnail: no message names its size and digest; the server's are checked. A
        // message can name any file as its thumbnail: nothing larger than one is fetched.
        if (ready.size > Protocol::MaxThumbnailBytes) {
            if (isOnline())
                m_connection->sendText(
                    QString::fromUtf8(Codec::encodeClientFrame(DownloadCancel{ready.downloadId})));
            download->part->remove();
            failDownload(download->attachment.fileId, tr("The preview is larger than a preview can be."));
            return;
        }
        download->attachment.sha256 = ready.sha256;
        download->attachment.size = ready.size;
    }
}

void FileTransferClient::onBinary(const QByteArray &payload)
{
    const auto chunk = Codec::decodeChunk(payload);
    if (!chunk)
        return;
    for (const auto &download : std::as_const(m_downloads)) {
        if (download->downloadId != chunk->first)
            continue;
        if (download->part->pos() + chunk->second.size() > download->attachment.size) {
            // More than the file holds: never written to disk.
            failDownload(download->attachment.fileId, tr("The file arrived damaged; try again."));
            return;
        }
        if (download->part->write(chunk->second.data(), chunk->second.size()) != chunk->second.size()) {
            failDownload(download->attachment.fileId, tr("The disk is full or the file cannot be written."));
            return;
        }
        Q_EMIT downloadProgress(download->attachment.fileId, download->part->pos(),
                                download->attachment.size);
        return;
    }
}

void FileTransferClient::handle(const DownloadDone &done)
{
    for (const auto &download : std::as_const(m_downloads)) {
        if (download->downloadId != done.downloadId)
            continue;
        download->downloadId = 0;
        download->checking = true;
        download->part->flush();
        const qint64 fileId = download->attachment.fileId;
        const QString part = download->part->fileName();
        const qint64 size = download->attachment.size;
        const QString expected = download->attachment.sha256;
        m_workers.start(QRunnable::create([this, fileId, part, size, expected] {
            const bool ok = QFileInfo(part).size() == size && sha256Of(part, size) == expected;
            QMetaObject::invokeMethod(
                this, [this, fileId, ok] { checked(fileId, ok); }, Qt::QueuedConnection);
        }));
        return;
    }
}

void FileTransferClient::checked(qint64 fileId, bool ok)
{
    const auto download = m_downloads.value(fileId);
    if (!download)
        return;
    if (!ok) {
        download->part->remove();
        failDownload(fileId, tr("The file arrived damaged; try again."));
        return;
    }
    download->part->close();
    QFile::remove(download->path);
    if (!download->part->rename(download->path)) {
        failDownload(fileId, tr("%1 cannot be written.").arg(download->path));
        return;
    }
    m_downloads.remove(fileId);
    Q_EMIT downloadFinished(fileId, download->path);
}

void FileTransferClient::failDownload(qint64 fileId, const QString &message)
{
    if (!m_downloads.remove(fileId))
        return;
    qCInfo(lcNatterClientNet).noquote() << "download of file" << fileId << "failed:" << message;
    Q_EMIT downloadFailed(fileId, message);
}

bool FileTransferClient::handle(const Error &error)
{
    if (!error.clientId.isEmpty() && m_uploads.contains(error.clientId)) {
        failUpload(error.clientId, error.message);
        return true;
    }
    if (error.downloadId > 0) {
        for (const auto &download : std::as_const(m_downloads)) {
            if (download->downloadId == error.downloadId) {
                failDownload(download->attachment.fileId, error.message);
                return true;
            }
        }
    }
    // A refused download request names no download: requests are answered in order.
    if (error.request == Type::Download && !m_requested.isEmpty()) {
        failDownload(m_requested.takeFirst(), error.message);
        return true;
    }
    return false;
}

void FileTransferClient::signedIn()
{
    m_signedIn = true;
    // Everything goes on from where it was: the server says where.
    for (const auto &upload : std::as_const(m_uploads))
        announceIfReady(*upload);
    for (const auto &download : std::as_const(m_downloads)) {
        if (!download->checking)
            request(*download);
    }
}

void FileTransferClient::disconnected()
{
    m_signedIn = false;
    m_requested.clear();
    for (const auto &upload : std::as_const(m_uploads))
        upload->uploadId = 0;
    for (const auto &download : std::as_const(m_downloads))
        download->downloadId = 0;
}

} // namespace Natter
