#pragma once

#include "server/messagestore.h"

#include <QSqlDatabase>
#include <QSqlQuery>

#include <memory>
#include <optional>

QT_BEGIN_NAMESPACE
class QLockFile;
QT_END_NAMESPACE

namespace Natter {

class SqliteAccountStore;
class WalCheckpointer;

/// The default store: one SQLite file, WAL journal, schema versioned with
/// PRAGMA user_version and migrated forward on open.
///
/// Not thread-safe: use it from the thread that opened it.
class SqliteMessageStore final : public MessageStore
{
public:
    static constexpr int SchemaVersion = 5;

    enum class OpenMode
    {
        Server,         ///< the one natterd of this file: takes its lock, checkpoints the WAL
        Administration, ///< natterd's administration commands, beside a running server
    };

    /// path may be ":memory:" for a throw-away store. The file and a missing
    /// folder are created for their owner only (0600 and 0700).
    explicit SqliteMessageStore(QString path, OpenMode mode = OpenMode::Server);
    ~SqliteMessageStore() override;
    Q_DISABLE_COPY_MOVE(SqliteMessageStore)

    /// Opens (creating the file and its folder if needed) and migrates.
    bool open();
    bool isOpen() const { return m_open; }
    /// The schema version found in the file after open().
    int schemaVersion();

    std::optional<QList<StoredMessage>> append(const QList<MessageDraft> &drafts) override;
    std::optional<HistoryPage> history(const HistoryQuery &query) override;
    std::optional<QList<Message>> takeHeldDirectMessages(const QString &recipient, int limit) override;
    std::optional<int> deleteOlderThan(qint64 cutoffMs, int batch) override;
    std::optional<int> heldCount(const QString &recipient) override;
    qint64 lastId() const override { return m_lastId; }
    QString serverId() const override { return m_serverId; }
    AccountStore *accounts() override;
    QString errorString() const override { return m_errorString; }
    bool isFull() const override { return m_full; }

    /// Caps the database file at about bytes (0: no cap), as a full disk
    /// would: writes beyond it fail with isFull() until old messages go
    /// (retention) or the cap is raised. False if the store is not open.
    bool setMaximumSize(qint64 bytes);

    /// The key that names a conversation in the messages table.
    static QString roomKey(const QString &room);
    static QString directKey(const QString &a, const QString &b);

private:
    bool migrate();
    static bool createPrivateFolder(const QString &path);
    bool prepare(std::optional<QSqlQuery> &query, const QString &sql);
    bool fail(const QString &what, const QSqlError &error);
    Message readMessage(const QSqlQuery &query) const;
    void closeDatabase();

    QString m_path;
    OpenMode m_mode;
    QString m_connectionName;
    std::unique_ptr<SqliteAccountStore> m_accounts;
    std::unique_ptr<QLockFile> m_lock;
    std::unique_ptr<WalCheckpointer> m_checkpointer;
    QSqlDatabase m_db;
    bool m_open = false;
    QString m_errorString;
    bool m_full = false;
    qint64 m_lastId = 0;
    QString m_serverId;
    qint64 m_lastTimestampMs = 0;

    std::optional<QSqlQuery> m_insertMessage;
    std::optional<QSqlQuery> m_findByClientId;
    std::optional<QSqlQuery> m_holdDirect;
    std::optional<QSqlQuery> m_historyLatest;
    std::optional<QSqlQuery> m_historyBefore;
    std::optional<QSqlQuery> m_historyAfter;
    std::optional<QSqlQuery> m_selectHeld;
    std::optional<QSqlQuery> m_releaseHeld;
    std::optional<QSqlQuery> m_touchRoom;
    std::optional<QSqlQuery> m_countHeld; // per direct message to an offline user not counted yet
};

} // namespace Natter
