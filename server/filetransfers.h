#pragma once

#include "common/protocol.h"
#include "server/filevault.h"
#include "server/messagestore.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QThreadPool>
#include <QTimer>

#include <memory>

QT_BEGIN_NAMESPACE
class QFile;
QT_END_NAMESPACE

namespace Natter {

class ChatServer;
class ClientSession;
struct ServerConfig;

/// Files shared in messages: uploads in chunks over the chat connection
/// (resumable after a drop or a restart, verified by size and SHA-256 before
/// anything is visible), downloads flow-controlled so that chat frames never
/// wait behind more than a window of file bytes, access checked on every
/// request against the messages that carry a file, and files removed once
/// no message carries them. Part of the ChatServer, on its thread; the slow
/// work (hashing, syncing to disk) runs on a worker thread.
class FileTransfers final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(FileTransfers)

public:
    /// Bytes of file chunks one connection may have queued: chat frames
    /// queued after them wait at most this much.
    static constexpr qint64 Window = 256 * 1024;
    static constexpr int MaxDownloadsPerConnection = 8;
    static constexpr qint64 MaxThumbnailBytes = Protocol::MaxThumbnailBytes;
    static constexpr int MaxThumbnailSide = Protocol::MaxThumbnailSide;

    FileTransfers(ChatServer *server, MessageStore *store, const ServerConfig &config);
    ~FileTransfers() override;

    /// Creates the vault's folders and discards uploads abandoned while the
    /// server was down; false with *error when the folders cannot be made.
    bool start(QString *error);

    void handle(ClientSession *session, const Protocol::UploadBegin &begin);
    void handle(ClientSession *session, const Protocol::UploadDone &done);
    void handle(ClientSession *session, const Protocol::UploadCancel &cancel);
    void handle(ClientSession *session, const Protocol::DownloadRequest &request);
    void handle(ClientSession *session, const Protocol::DownloadCancel &cancel);
    void onBinary(ClientSession *session, const QByteArray &payload);
    void onSessionClosed(ClientSession *session);
    /// Removes the files no message carries any more (soon, in a later pass).
    void collectSoon();

    /// Uploads held in memory now (for tests).
    int activeUploads() const { return int(m_uploads.size()); }

private:
    struct Upload
    {
        UploadRecord record;
        QPointer<ClientSession> session; ///< the connection sending its bytes now
        std::unique_ptr<QFile> file;     ///< the partial file, open for appending
        qint64 received = 0;
        qint64 lastActiveMs = 0;
        bool verifying = false;
        /// The SHA-256 of the bytes so far, as they arrive: no second pass at
        /// the end. Missing after a restart (the worker hashes the file then).
        std::unique_ptr<FileVault::Hasher> hasher;
        qint64 writtenBack = 0; ///< bytes handed to the disk's writeback so far
    };
    struct Download
    {
        qint64 id = 0;
        FileRecord file;
        std::unique_ptr<QFile> source;
        qint64 remaining = 0;
    };
    struct Downloads
    {
        QList<std::shared_ptr<Download>> queue; ///< served in turn, a chunk each
        QMetaObject::Connection written;
    };

    static QString uploadKey(const QString &sender, const QString &clientId)
    {
        return sender + u'\n' + clientId;
    }
    void answerReady(ClientSession *session, const Upload &upload);
    /// Ends an upload: forgets it, its record and its bytes.
    void discard(qint64 uploadId);
    /// Refuses an upload's request (and discards it when it cannot go on).
    void refuse(ClientSession *session, const Upload &upload, Protocol::ErrorCode code,
                const QString &message, QLatin1String request);
    void verified(qint64 uploadId, const std::optional<QString> &digest);
    void pump(ClientSession *session);
    bool mayRead(ClientSession *session, const FileRecord &file);
    void collect();
    void expireAbandoned();
    qint64 openUploadBytes(const QString &sender) const;
    int openUploadCount(const QString &sender) const;
    qint64 nowMs() const { return m_clock.elapsed(); }

    ChatServer *m_server;
    MessageStore *m_store;
    const ServerConfig &m_config;
    FileVault m_vault;
    QThreadPool m_workers;
    QElapsedTimer m_clock;
    QTimer m_expiryTimer;
    bool m_collectQueued = false;
    QHash<qint64, std::shared_ptr<Upload>> m_uploads; // by id
    QHash<QString, qint64> m_uploadIds;               // uploadKey() -> id
    QHash<ClientSession *, Downloads> m_downloads;
    qint64 m_nextDownloadId = 1;
};

} // namespace Natter
