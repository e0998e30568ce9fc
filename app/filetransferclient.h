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

    /// Shares the file at path in a conversation; returns the client id its
    /// message will carry (empty if the file cannot be read).
    QString upload(const ConversationKey &key, const QString &path, const QString &caption = {},
                   const QString &mime = {}, const ImageInfo &image = {});
    void cancelUpload(const QString &clientId);
    /// Downloads a message's file to path (an existing path is replaced once
    /// the new file is whole and checked).
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
    void uploadProgress(const QString &clientId, qint64 sent, qint64 total);
    void uploadFinished(const QString &clientId, qint64 fileId);
    void uploadFailed(const QString &clientId, const QString &message);
    void downloadProgress(qint64 fileId, qint64 received, qint64 total);
    void downloadFinished(qint64 fileId, const QString &path);
    void downloadFailed(qint64 fileId, const QString &message);

private:
    struct Upload
    {
        Protocol::UploadBegin begin;
        QString path;
        std::unique_ptr<QFile> file;
        qint64 uploadId = 0; ///< 0: not ready on this connection
        qint64 offset = 0;
        qint64 chunkBytes = 0;
        bool hashed = false;
        bool doneSent = false;
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
