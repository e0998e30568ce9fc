#include "server/filetransfers.h"

#include "common/codec.h"
#include "common/validation.h"
#include "server/chatserver.h"
#include "server/clientsession.h"
#include "server/serverconfig.h"
#include "server/serverlogging.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QRunnable>
#include <QtEndian>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Natter {

using namespace Protocol;

namespace {

constexpr auto DefaultMime = "application/octet-stream";

Error uploadError(ErrorCode code, const QString &message, QLatin1String request, qint64 uploadId,
                  const QString &clientId)
{
    Error error{code, message, request, clientId, {}};
    error.uploadId = uploadId;
    return error;
}

} // namespace

FileTransfers::FileTransfers(ChatServer *server, MessageStore *store, const ServerConfig &config)
    : QObject(server)
    , m_server(server)
    , m_store(store)
    , m_config(config)
    , m_vault(config.filesPath)
{
    m_clock.start();
    // Hashing a large file takes seconds: one at a time, off the event loop.
    m_workers.setMaxThreadCount(1);
    m_expiryTimer.setInterval(std::chrono::minutes(10));
    connect(&m_expiryTimer, &QTimer::timeout, this, [this] {
        expireAbandoned();
        collect();
    });
}

FileTransfers::~FileTransfers()
{
    m_workers.waitForDone();
}

bool FileTransfers::start(QString *error)
{
    if (!m_vault.isEnabled())
        return true;
    if (!m_vault.open(error))
        return false;
    expireAbandoned();
    collect();
    m_expiryTimer.start();
    return true;
}

int FileTransfers::openUploadCount(const QString &sender) const
{
    return int(std::count_if(m_uploads.cbegin(), m_uploads.cend(),
                             [&](const auto &upload) { return upload->record.sender == sender; }));
}

qint64 FileTransfers::openUploadBytes(const QString &sender) const
{
    qint64 bytes = 0;
    for (const auto &upload : m_uploads) {
        if (upload->record.sender == sender && !upload->record.thumbnail)
            bytes += upload->record.size;
    }
    return bytes;
}

void FileTransfers::answerReady(ClientSession *session, const Upload &upload)
{
    session->sendFrame(UploadReady{upload.record.id, upload.record.clientId, upload.received,
                                   m_config.maxFrameBytes - ChunkHeaderBytes});
}

void FileTransfers::handle(ClientSession *session, const UploadBegin &begin)
{
    const QString &email = session->user().email;
    auto refuse = [&](ErrorCode code, const QString &message) {
        session->sendError(code, message, Type::UploadBegin, begin.clientId);
    };
    if (!m_vault.isEnabled()) {
        refuse(ErrorCode::InternalError, u"this server does not keep files"_s);
        return;
    }

    // The same client_id again: a resume after a drop, or an upload that
    // finished while the client was away.
    if (const auto known = m_uploadIds.constFind(uploadKey(email, begin.clientId));
        known != m_uploadIds.cend()) {
        const std::shared_ptr<Upload> upload = m_uploads.value(*known);
        if (upload->record.size == begin.size && upload->record.sha256 == begin.sha256 &&
            !upload->verifying) {
            if (!upload->file->isOpen()) {
                if (!upload->file->open(QIODevice::ReadWrite | QIODevice::Unbuffered)) {
                    qCWarning(lcNatterServer).noquote()
                        << "cannot open" << upload->file->fileName() << ":" << upload->file->errorString();
                    refuse(ErrorCode::InternalError, u"the upload could not be resumed; try again"_s);
                    return;
                }
                upload->file->seek(upload->received);
            }
            upload->session = session;
            upload->lastActiveMs = nowMs();
            answerReady(session, *upload);
            return;
        }
        if (upload->verifying) {
            // Asked again after a drop while the bytes are checked: the
            // answer goes to this connection when the check ends.
            upload->session = session;
            return;
        }
        discard(upload->record.id); // another file under the same client_id: start again
    }
    if (!begin.thumbnail) {
        const std::optional<std::optional<Message>> stored =
            m_store->messageByClientId(email, begin.clientId);
        if (!stored) {
            refuse(ErrorCode::InternalError, u"the upload could not be started; try again"_s);
            return;
        }
        if (*stored) {
            // Finished before the drop: its message is the answer.
            session->sendFrame(UploadComplete{0, begin.clientId, (*stored)->attachment.fileId});
            session->sendFrame(ReceiveMessage{**stored});
            return;
        }
    }

    if (begin.size > m_config.maxUploadBytes) {
        refuse(ErrorCode::FileTooLarge,
               u"this server takes files of at most %1 bytes"_s.arg(m_config.maxUploadBytes));
        return;
    }
    if (begin.thumbnail && (begin.size > MaxThumbnailBytes || !begin.mime.startsWith(u"image/"_s))) {
        refuse(ErrorCode::BadThumbnail,
               u"a thumbnail is an image of at most %1 bytes"_s.arg(MaxThumbnailBytes));
        return;
    }
    if (!begin.thumbnail && !m_server->checkSendable(session, begin.room, begin.to, begin.replyTo, begin.text,
                                                     Type::UploadBegin, begin.clientId))
        return;
    if (begin.image.thumbnailId > 0) {
        const std::optional<std::optional<FileRecord>> thumbnail = m_store->file(begin.image.thumbnailId);
        if (!thumbnail || !*thumbnail || (*thumbnail)->owner != email) {
            refuse(ErrorCode::NoSuchFile,
                   u"thumbnail %1 is not one you uploaded"_s.arg(begin.image.thumbnailId));
            return;
        }
    }
    if (openUploadCount(email) >= m_config.maxConcurrentUploadsPerUser) {
        refuse(ErrorCode::TooManyUploads, u"at most %1 uploads at once; finish or cancel one first"_s.arg(
                                              m_config.maxConcurrentUploadsPerUser));
        return;
    }
    if (!begin.thumbnail) {
        const std::optional<qint64> used = m_store->storageUsed(email);
        if (!used) {
            refuse(ErrorCode::InternalError, u"the upload could not be started; try again"_s);
            return;
        }
        if (*used + openUploadBytes(email) + begin.size > m_config.storageQuotaPerUser) {
            refuse(ErrorCode::QuotaExceeded,
                   u"your files would use more than the %1 bytes this server keeps for each person; "
                   u"delete some of your messages with files first"_s.arg(m_config.storageQuotaPerUser));
            return;
        }
    }
    if (!m_server->takeRateToken(session, Type::UploadBegin, begin.clientId))
        return;

    UploadRecord record;
    record.sender = email;
    record.senderName = session->user().name;
    record.clientId = begin.clientId;
    record.room = begin.room;
    record.to = begin.isDirect() ? Validation::normalizedEmail(begin.to) : QString();
    record.name = begin.name;
    record.size = begin.size;
    record.sha256 = begin.sha256;
    record.mime = begin.mime.isEmpty() ? QString::fromLatin1(DefaultMime) : begin.mime;
    record.text = begin.text;
    record.replyTo = begin.replyTo;
    record.image = begin.image;
    record.thumbnail = begin.thumbnail;
    record.startedMs = QDateTime::currentMSecsSinceEpoch();

    // A restart since the drop: the record and the bytes are on disk.
    const std::optional<std::optional<UploadRecord>> earlier = m_store->upload(email, begin.clientId);
    if (!earlier) {
        refuse(ErrorCode::InternalError, u"the upload could not be started; try again"_s);
        return;
    }
    auto upload = std::make_shared<Upload>();
    if (*earlier && (*earlier)->size == begin.size && (*earlier)->sha256 == begin.sha256) {
        upload->record = **earlier;
    } else {
        if (*earlier) {
            m_store->deleteUpload((*earlier)->id);
            QFile::remove(m_vault.partialPath((*earlier)->id));
        }
        const std::optional<qint64> id = m_store->createUpload(record);
        if (!id) {
            m_server->refuseStoreFailure(session, Type::UploadBegin, StoreFailure::of(*m_store),
                                         begin.clientId);
            return;
        }
        record.id = *id;
        upload->record = record;
    }
    upload->file = std::make_unique<QFile>(m_vault.partialPath(upload->record.id));
    if (!upload->file->open(QIODevice::ReadWrite | QIODevice::Unbuffered,
                            QFileDevice::ReadOwner | QFileDevice::WriteOwner)) {
        qCWarning(lcNatterServer).noquote()
            << "cannot open" << upload->file->fileName() << ":" << upload->file->errorString();
        m_store->deleteUpload(upload->record.id);
        refuse(ErrorCode::InternalError, u"the upload could not be started; try again"_s);
        return;
    }
    // Whatever came before the drop, but never more than announced.
    upload->received = std::min(upload->file->size(), upload->record.size);
    if (upload->received == 0)
        upload->hasher = std::make_unique<FileVault::Hasher>();
    upload->file->resize(upload->received);
    upload->file->seek(upload->received);
    upload->session = session;
    upload->lastActiveMs = nowMs();
    m_uploads.insert(upload->record.id, upload);
    m_uploadIds.insert(uploadKey(email, upload->record.clientId), upload->record.id);
    qCDebug(lcNatterServer).noquote()
        << email << "uploads" << upload->record.size << "bytes, from" << upload->received;
    answerReady(session, *upload);
}

void FileTransfers::onBinary(ClientSession *session, const QByteArray &payload)
{
    const auto chunk = Codec::decodeChunk(payload);
    const std::shared_ptr<Upload> upload = chunk ? m_uploads.value(chunk->first) : nullptr;
    if (!session->isAuthenticated() || !upload || upload->session != session || upload->verifying) {
        // Nobody else's upload, and nothing that is not an upload's.
        session->sendError(ErrorCode::BinaryNotSupported,
                           upload ? u"binary frames carry the bytes of an upload this connection is sending"_s
                                  : u"binary frames carry only the bytes of an upload; send text"_s);
        return;
    }
    const QByteArrayView data = chunk->second;
    if (upload->received + data.size() > upload->record.size) {
        refuse(session, *upload, ErrorCode::SizeMismatch,
               u"more bytes than the %1 announced"_s.arg(upload->record.size), Type::UploadBegin);
        return;
    }
    // Runs of zeros (disk images, sparse files) are skipped, not written:
    // the file system keeps them as holes. upload_done sets the final size.
    const bool zeros = std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
    if (upload->hasher)
        upload->hasher->add(data);
    if (zeros) {
        upload->received += data.size();
        upload->lastActiveMs = nowMs();
        upload->file->seek(upload->received);
        return;
    }
    if (upload->file->write(data.data(), data.size()) != data.size()) {
        qCWarning(lcNatterServer).noquote()
            << "cannot write" << upload->file->fileName() << ":" << upload->file->errorString();
        const bool full = upload->file->error() == QFileDevice::ResourceError;
        refuse(session, *upload, full ? ErrorCode::StorageFull : ErrorCode::InternalError,
               full ? u"the server is out of disk space; the upload was not kept"_s
                    : u"the upload could not be written; try again"_s,
               Type::UploadBegin);
        return;
    }
    upload->received += data.size();
    upload->lastActiveMs = nowMs();
    // Every 8 MiB, the disk starts on what came: the final sync waits for little.
    constexpr qint64 WritebackStep = 8 << 20;
    if (upload->received - upload->writtenBack >= WritebackStep) {
        FileVault::startWriteback(upload->file->handle(), upload->writtenBack,
                                  upload->received - upload->writtenBack);
        upload->writtenBack = upload->received;
    }
}

void FileTransfers::refuse(ClientSession *session, const Upload &upload, ErrorCode code,
                           const QString &message, QLatin1String request)
{
    const Error error = uploadError(code, message, request, upload.record.id, upload.record.clientId);
    discard(upload.record.id);
    if (session)
        session->sendError(error);
}

void FileTransfers::discard(qint64 uploadId)
{
    const std::shared_ptr<Upload> upload = m_uploads.take(uploadId);
    if (upload) {
        m_uploadIds.remove(uploadKey(upload->record.sender, upload->record.clientId));
        if (upload->file)
            upload->file->close();
    }
    m_store->deleteUpload(uploadId);
    QFile::remove(m_vault.partialPath(uploadId));
}

void FileTransfers::handle(ClientSession *session, const UploadDone &done)
{
    const std::shared_ptr<Upload> upload = m_uploads.value(done.uploadId);
    if (!upload || upload->record.sender != session->user().email) {
        session->sendError(uploadError(ErrorCode::NoSuchUpload, u"no upload %1 of yours"_s.arg(done.uploadId),
                                       Type::UploadDone, done.uploadId, {}));
        return;
    }
    if (upload->verifying)
        return; // asked twice: one answer comes
    if (upload->received != upload->record.size) {
        refuse(session, *upload, ErrorCode::SizeMismatch,
               u"%1 bytes arrived of the %2 announced"_s.arg(upload->received).arg(upload->record.size),
               Type::UploadDone);
        return;
    }
    upload->session = session;
    upload->verifying = true;
    if (upload->file->size() != upload->record.size && !upload->file->resize(upload->record.size)) {
        refuse(session, *upload, ErrorCode::StorageFull,
               u"the server is out of disk space; the upload was not kept"_s, Type::UploadDone);
        return;
    }
    upload->file->close();
    const QString path = upload->file->fileName();
    const qint64 size = upload->record.size;
    const qint64 id = upload->record.id;
    // Hashed as it came (else now, after a restart) and synced on the worker:
    // seconds for a large file, during which the event loop serves everyone.
    std::optional<QString> hashed;
    if (upload->hasher)
        hashed = std::exchange(upload->hasher, nullptr)->finish();
    m_workers.start(QRunnable::create([this, path, size, id, hashed] {
        std::optional<QString> digest = hashed ? hashed : FileVault::sha256Of(path, size);
        if (digest && !FileVault::sync(path))
            digest.reset();
        QMetaObject::invokeMethod(
            this, [this, id, digest] { verified(id, digest); }, Qt::QueuedConnection);
    }));
}

void FileTransfers::verified(qint64 uploadId, const std::optional<QString> &digest)
{
    const std::shared_ptr<Upload> upload = m_uploads.value(uploadId);
    if (!upload)
        return; // cancelled meanwhile
    ClientSession *session = upload->session;
    const UploadRecord record = upload->record;
    if (!digest) {
        refuse(session, *upload, ErrorCode::InternalError, u"the upload could not be read back; try again"_s,
               Type::UploadDone);
        return;
    }
    if (*digest != record.sha256) {
        refuse(session, *upload, ErrorCode::ChecksumMismatch,
               u"the bytes received do not have the SHA-256 announced; nothing was kept"_s, Type::UploadDone);
        return;
    }
    const QString partial = m_vault.partialPath(uploadId);
    if (record.thumbnail && !FileVault::looksLikeSmallImage(partial, MaxThumbnailBytes, MaxThumbnailSide)) {
        refuse(session, *upload, ErrorCode::BadThumbnail,
               u"a thumbnail is a PNG, JPEG, GIF or WebP image of at most %1 pixels a side"_s.arg(
                   MaxThumbnailSide),
               Type::UploadDone);
        return;
    }
    QString error;
    if (!m_vault.keep(partial, record.sha256, &error)) {
        qCWarning(lcNatterServer).noquote() << error;
        refuse(session, *upload, ErrorCode::InternalError, u"the upload could not be kept; try again"_s,
               Type::UploadDone);
        return;
    }
    const std::optional<FileRecord> file =
        m_store->addFile(FileRecord{0, record.sha256, record.size, record.mime, record.sender});
    if (!file) {
        refuse(session, *upload, m_store->isFull() ? ErrorCode::StorageFull : ErrorCode::InternalError,
               u"the upload could not be recorded; try again"_s, Type::UploadDone);
        collectSoon();
        return;
    }
    m_uploads.remove(uploadId);
    m_uploadIds.remove(uploadKey(record.sender, record.clientId));
    m_store->deleteUpload(uploadId);
    if (session)
        session->sendFrame(UploadComplete{uploadId, record.clientId, file->id});
    qCInfo(lcNatterServer).noquote() << record.sender << "shared a file of" << record.size << "bytes";
    if (record.thumbnail)
        return;

    Message message;
    message.room = record.room;
    message.to = record.to;
    message.from = User{record.senderName, record.sender};
    message.text = record.text;
    message.clientId = record.clientId;
    message.reply.id = record.replyTo;
    message.attachment =
        Attachment{file->id, record.name, record.size, record.mime, record.sha256, record.image};
    // The conversation is checked again on the connection that finished it
    // (the sender may have left the room meanwhile). A sender who dropped
    // during the check was allowed when the upload began: the message is
    // stored, and their next upload_begin of it is answered with it.
    if (session && !m_server->checkSendable(session, record.room, record.to, record.replyTo, record.text,
                                            Type::UploadDone, record.clientId)) {
        collectSoon();
        return;
    }
    m_server->enqueueSend(session, std::move(message));
}

void FileTransfers::handle(ClientSession *session, const UploadCancel &cancel)
{
    const std::shared_ptr<Upload> upload = m_uploads.value(cancel.uploadId);
    if (!upload || upload->record.sender != session->user().email) {
        session->sendError(uploadError(ErrorCode::NoSuchUpload,
                                       u"no upload %1 of yours"_s.arg(cancel.uploadId), Type::UploadCancel,
                                       cancel.uploadId, {}));
        return;
    }
    discard(cancel.uploadId);
}

bool FileTransfers::mayRead(ClientSession *session, const FileRecord &file)
{
    const QString &email = session->user().email;
    if (file.owner == email)
        return true;
    const std::optional<QList<Message>> carriers = m_store->messagesWithFile(file.id, 500);
    if (!carriers)
        return false;
    return std::any_of(carriers->cbegin(), carriers->cend(), [&](const Message &message) {
        return !message.deleted && (message.isDirect() ? message.from.email == email || message.to == email
                                                       : session->isInRoom(message.room));
    });
}

void FileTransfers::handle(ClientSession *session, const DownloadRequest &request)
{
    auto refuse = [&](ErrorCode code, const QString &message) {
        session->sendError(code, message, Type::Download);
    };
    const std::optional<std::optional<FileRecord>> file = m_store->file(request.fileId);
    if (!file) {
        refuse(ErrorCode::InternalError, u"the file could not be read; try again"_s);
        return;
    }
    // One answer for "no such file" and "not yours to read".
    if (!*file || !mayRead(session, **file)) {
        refuse(ErrorCode::NoSuchFile, u"no file %1 in a conversation you have open"_s.arg(request.fileId));
        return;
    }
    if (request.offset > (*file)->size) {
        refuse(ErrorCode::BadField, u"\"offset\" is beyond the end of the file"_s);
        return;
    }
    Downloads &downloads = m_downloads[session];
    if (downloads.queue.size() >= MaxDownloadsPerConnection) {
        refuse(ErrorCode::RateLimited,
               u"at most %1 downloads at once on one connection"_s.arg(MaxDownloadsPerConnection));
        return;
    }
    auto download = std::make_shared<Download>();
    download->id = m_nextDownloadId++;
    download->file = **file;
    download->source = std::make_unique<QFile>(m_vault.keptPath((*file)->sha256));
    if (!download->source->open(QIODevice::ReadOnly) || !download->source->seek(request.offset)) {
        qCWarning(lcNatterServer).noquote() << "cannot read" << download->source->fileName();
        refuse(ErrorCode::InternalError, u"the file could not be read; try again"_s);
        return;
    }
    download->remaining = (*file)->size - request.offset;
    session->sendFrame(DownloadReady{download->id, (*file)->id, (*file)->size, request.offset,
                                     (*file)->sha256, (*file)->mime});
    downloads.queue.append(download);
    if (!downloads.written) {
        downloads.written = connect(session->connection(), &Connection::bytesWritten, this,
                                    [this, session] { pump(session); });
    }
    pump(session);
}

void FileTransfers::handle(ClientSession *session, const DownloadCancel &cancel)
{
    const auto downloads = m_downloads.find(session);
    if (downloads != m_downloads.end()) {
        const qsizetype removed = downloads->queue.removeIf(
            [&](const std::shared_ptr<Download> &download) { return download->id == cancel.downloadId; });
        if (removed > 0)
            return;
    }
    Error error{ErrorCode::NoSuchFile,
                u"no download %1 on this connection"_s.arg(cancel.downloadId),
                Type::DownloadCancel,
                {},
                {}};
    error.downloadId = cancel.downloadId;
    session->sendError(error);
}

void FileTransfers::pump(ClientSession *session)
{
    // Chat first: file chunks go out only while less than a window waits on
    // this connection, so a chat frame queued now is never behind more.
    const auto downloads = m_downloads.find(session);
    if (downloads == m_downloads.end())
        return;
    const qint64 chunkBytes = m_config.maxFrameBytes - ChunkHeaderBytes;
    QByteArray payload;
    while (!downloads->queue.isEmpty() && session->queuedBytes() < Window && !session->isDropping()) {
        const std::shared_ptr<Download> download = downloads->queue.takeFirst();
        const qint64 length = std::min(chunkBytes, download->remaining);
        payload.resize(ChunkHeaderBytes + length);
        qToBigEndian(quint64(download->id), payload.data());
        if (length > 0 && download->source->read(payload.data() + ChunkHeaderBytes, length) != length) {
            qCWarning(lcNatterServer).noquote() << "cannot read" << download->source->fileName();
            Error error{
                ErrorCode::InternalError, u"the file could not be read; try again"_s, Type::Download, {}, {}};
            error.downloadId = download->id;
            session->sendError(error);
            continue;
        }
        download->remaining -= length;
        if (length > 0)
            session->connection()->sendBinary(payload);
        if (download->remaining == 0)
            session->sendFrame(DownloadDone{download->id});
        else
            downloads->queue.append(download); // round robin between downloads
    }
    if (downloads->queue.isEmpty()) {
        disconnect(downloads->written);
        m_downloads.erase(downloads);
    }
}

void FileTransfers::onSessionClosed(ClientSession *session)
{
    // Downloads end with their connection; uploads wait for the sender to
    // come back (or expire), their bytes on disk.
    if (const auto downloads = m_downloads.find(session); downloads != m_downloads.end()) {
        disconnect(downloads->written);
        m_downloads.erase(downloads);
    }
    for (const auto &upload : std::as_const(m_uploads)) {
        if (upload->session == session) {
            upload->session = nullptr;
            // Its descriptor goes with the connection (a thousand abandoned
            // uploads kept a thousand open for a day); a resume reopens it.
            if (upload->file && !upload->verifying)
                upload->file->close();
        }
    }
}

void FileTransfers::collectSoon()
{
    if (m_collectQueued || !m_vault.isEnabled())
        return;
    m_collectQueued = true;
    QMetaObject::invokeMethod(this, &FileTransfers::collect, Qt::QueuedConnection);
}

void FileTransfers::collect()
{
    m_collectQueued = false;
    if (!m_vault.isEnabled())
        return;
    const qint64 graceMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(m_config.abandonedUploadAge).count();
    const std::optional<QList<FileRecord>> unused =
        m_store->unreferencedFiles(QDateTime::currentMSecsSinceEpoch() - graceMs, 1000);
    if (!unused)
        return;
    for (const FileRecord &file : *unused) {
        const std::optional<bool> forgotten = m_store->forgetFile(file.id);
        if (forgotten && *forgotten) {
            m_vault.remove(file.sha256);
            qCDebug(lcNatterServer).noquote() << "removed file" << file.id << "that no message carries";
        }
    }
    if (unused->size() == 1000)
        collectSoon();
}

void FileTransfers::expireAbandoned()
{
    const qint64 ageMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(m_config.abandonedUploadAge).count();
    // In memory: untouched this long (an upload going on for days is not abandoned).
    QList<qint64> idle;
    for (const auto &upload : std::as_const(m_uploads)) {
        // One whose sender never sent a byte and went away is not coming
        // back for it: it goes at the next sweep (10 to 20 minutes).
        const bool neverStarted = upload->received == 0 && !upload->session;
        const qint64 limitMs = neverStarted ? std::min<qint64>(ageMs, 10 * 60'000) : ageMs;
        if (!upload->verifying && nowMs() - upload->lastActiveMs > limitMs)
            idle.append(upload->record.id);
    }
    for (const qint64 id : std::as_const(idle))
        discard(id);
    // On disk: begun that long ago and not being sent now.
    const std::optional<QList<UploadRecord>> old =
        m_store->uploadsStartedBefore(QDateTime::currentMSecsSinceEpoch() - ageMs);
    if (old) {
        for (const UploadRecord &upload : *old) {
            if (!m_uploads.contains(upload.id))
                discard(upload.id);
        }
    }
    // Partial files without a record (a crash between the two).
    const QDir partial(m_vault.root() + u"/partial"_s);
    for (const QString &name : partial.entryList(QDir::Files)) {
        bool ok = false;
        const qint64 id = name.toLongLong(&ok);
        if (!ok || !m_uploads.contains(id)) {
            const QFileInfo info(partial.filePath(name));
            if (info.lastModified().msecsTo(QDateTime::currentDateTime()) > ageMs)
                QFile::remove(info.filePath());
        }
    }
}

} // namespace Natter
