#pragma once

#include "common/conversationlistmodel.h"
#include "common/message.h"
#include "common/protocol.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QThreadPool>

#include <memory>

QT_BEGIN_NAMESPACE
class QFile;
class QIODevice;
QT_END_NAMESPACE

namespace Natter {

class ServerConnection;

/// The client's half of file sharing: uploads a file (hashed first, off the
/// GUI thread) in chunks a window at a time, so that the chat frames this
/// client sends never wait behind more than that; downloads into NAME.part
/// and renames it once its SHA-256 is right. Both go on by themselves after a
/// reconnect, from where the server (or the .part file) is.
class FileTransferClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(FileTransferClient)

public:
    /// File bytes this client lets wait in its socket at most.
    static constexpr qint64 Window = 512 * 1024;

    explicit FileTransferClient(ServerConnection *connection, QObject *parent = nullptr);
    ~FileTransferClient() override;

    /// Thumbnails are made at most this many pixels on their longer side.
    static constexpr int ThumbnailEdge = 640;
    /// What sharing a file starts from.
    struct FileUpload
    {
        ConversationKey key;
        QString path;
        QString caption;
        QString clientId; ///< empty: a new one; an earlier one's: retries it (the server resumes)
        qint64 replyTo = 0;
    };
    /// The attachment a file will become, as far as it is known before the
    /// upload (no file id, no digest): name, size, type, and an image's size
    /// in pixels (read from its header). A null name: the file cannot be read.
    static Attachment describe(const QString &path);
    /// A small PNG or JPEG of an image (at most ThumbnailEdge on its longer
    /// side, within the server's thumbnail limit); empty if it is no image.
    static QByteArray thumbnailOf(const QString &path);

    /// Shares the file at a path in a conversation; returns the client id its
    /// message will carry (empty if the file cannot be read). An image gets a
    /// thumbnail, made and uploaded first.
    QString upload(const FileUpload &file);
    QString upload(const ConversationKey &key, const QString &path, const QString &caption = {})
    {
        return upload(FileUpload{key, path, caption, {}, 0});
    }
    void cancelUpload(const QString &clientId);
    /// Downloads a message's file to path (an existing path is replaced once
    /// the new file is whole and checked). An attachment without a digest (a
    /// thumbnail, known by its id only) is checked against the server's.
    void download(const Attachment &attachment, const QString &path);
    void cancelDownload(qint64 fileId);
    bool isUploading(const QString &clientId) const { return m_uploads.contains(clientId); }
    bool isDownloading(qint64 fileId) const { return m_downloads.contains(fileId); }

    // From ChatClient: the connection's life and the frames about transfers.
    void signedIn();
    void disconnected();
    void handle(const Protocol::UploadReady &ready);
    void handle(const Protocol::UploadComplete &complete);
    void handle(const Protocol::DownloadReady &ready);
    void handle(const Protocol::DownloadDone &done);
    /// True if the error was about a transfer (and was handled).
    bool handle(const Protocol::Error &error);
    void onBinary(const QByteArray &payload);

Q_SIGNALS:
    /// An upload's file is being read to hash it: bytes so far of total.
    void uploadPreparing(const QString &clientId, qint64 hashed, qint64 total);
    void uploadProgress(const QString &clientId, qint64 sent, qint64 total);
    void uploadFinished(const QString &clientId, qint64 fileId);
    void uploadFailed(const QString &clientId, const QString &message);
    void downloadProgress(qint64 fileId, qint64 received, qint64 total);
    void downloadFinished(qint64 fileId, const QString &path);
    void downloadFailed(qint64 fileId, const QString &message);
    /// An upload's thumbnail is on the server as this file (its bytes given:
    /// the sender's copy need not be downloaded).
    void thumbnailUploaded(const QString &clientId, qint64 thumbnailId, const QByteArray &data);

private:
    struct Upload
    {
        Protocol::UploadBegin begin;
        QString path;        ///< empty: the bytes are data
        QByteArray data;     ///< a thumbnail's bytes
        QString thumbnailOf; ///< a thumbnail: the client id of the upload it is for
        std::unique_ptr<QIODevice> source;
        qint64 uploadId = 0; ///< 0: not ready on this connection
        qint64 offset = 0;
        qint64 chunkBytes = 0;
        bool hashed = false;
        bool doneSent = false;
        bool waitingForThumbnail = false;
    };
    struct Download
    {
        Attachment attachment;
        QString path;
        std::unique_ptr<QFile> part;
        qint64 downloadId = 0; ///< 0: not asked on this connection
        bool checking = false;
    };

    bool isOnline() const;
    void announce(Upload &upload);
    void pump();
    void request(Download &download);
    void hashed(const QString &clientId, const QString &digest, const QByteArray &thumbnail);
    /// Announces an upload that is ready to go, if online.
    void announceIfReady(Upload &upload);
    void thumbnailDone(const QString &clientId, qint64 thumbnailId);
    void failUpload(const QString &clientId, const QString &message);
    void failDownload(qint64 fileId, const QString &message);
    void checked(qint64 fileId, bool ok);

    ServerConnection *m_connection;
    bool m_signedIn = false;
    QThreadPool m_workers;
    QHash<QString, std::shared_ptr<Upload>> m_uploads;    // by client id
    QHash<qint64, std::shared_ptr<Download>> m_downloads; // by file id
    QList<qint64> m_requested; // file ids asked for on this connection, not yet ready
};

} // namespace Natter
