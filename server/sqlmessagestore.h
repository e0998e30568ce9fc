#pragma once

#include "server/messagestore.h"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QSqlDatabase>
#include <QSqlQuery>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

QT_BEGIN_NAMESPACE
class QLockFile;
QT_END_NAMESPACE

class QUrlQuery;

namespace Natter {

class SqlAccountStore;
class WalCheckpointer;

/// Messages in an SQL database, one of two:
/// - SQLite (the default): one file, WAL journal, one natterd per file (it
///   assigns ids in memory), schema versioned with PRAGMA user_version;
/// - PostgreSQL (a location postgresql://USER[:PASSWORD]@HOST:PORT/DB):
///   shared by several natterd, which take ids and change sequence numbers
///   from sequences while holding their conversation's lock until commit, so
///   that in every conversation ids commit in increasing order (a resume after
///   an id never misses one committed later); schema versioned in the table
///   natter_schema.
/// Both are migrated forward on open and behave the same behind MessageStore.
///
/// Not thread-safe: use it from the thread that opened it.
class SqlMessageStore final : public MessageStore
{
public:
    static constexpr int SchemaVersion = 9;

    enum class Backend
    {
        SQLite,
        PostgreSQL,
    };
    /// Which backend a --db location names.
    static Backend backendOf(const QString &location);

    enum class OpenMode
    {
        Server,         ///< the one natterd of this file: takes its lock, checkpoints the WAL
        Administration, ///< natterd's administration commands, beside a running server
        Writer,         ///< a Server's second connection, for its writer thread (writerFactory())
        Reader,         ///< a Server's read-only connection, for a reader thread (readerFactory())
    };

    /// location: an SQLite file, ":memory:" for a throw-away store, or a
    /// postgresql:// URL. A file and a missing folder are created for their
    /// owner only (0600 and 0700).
    explicit SqlMessageStore(QString location, OpenMode mode = OpenMode::Server);
    ~SqlMessageStore() override;
    Q_DISABLE_COPY_MOVE(SqlMessageStore)

    /// Opens (creating the file and its folder if needed) and migrates.
    bool open();
    bool isOpen() const { return m_open; }
    Backend backend() const { return m_backend; }
    /// Where the store is (a password left out).
    QString displayLocation() const;
    /// The schema version found in the file after open().
    int schemaVersion();
    /// PostgreSQL: the TLS version of the link to the server ("TLSv1.3"), as
    /// the server reports it; empty for a plain link (and for SQLite).
    QString linkEncryption() const { return m_linkEncryption; }

    std::optional<QList<StoredMessage>> append(const QList<MessageDraft> &drafts) override;
    std::optional<HistoryPage> history(const HistoryQuery &query) override;
    std::optional<qint64> newestId() override;
    std::optional<QList<Message>> directMessagesAfter(const QString &email, qint64 afterId,
                                                      int limit) override;
    std::optional<QList<Message>> heldDirectMessages(const QString &recipient, qint64 afterId,
                                                     int limit) override;
    bool releaseHeldDirectMessages(const QString &recipient, const QList<qint64> &ids) override;
    std::optional<int> deleteOlderThan(qint64 cutoffMs, int batch) override;
    std::optional<int> heldCount(const QString &recipient) override;
    std::optional<QSet<QString>> heldRecipients() override;
    bool holdDirectMessages(const QString &recipient, const QList<qint64> &ids) override;
    /// A connection in Writer mode to the same file, sharing the size cap
    /// (max_page_count is per connection); none for ":memory:".
    WriterFactory writerFactory() const override;
    WriterFactory readerFactory(std::chrono::milliseconds timeLimit) const override;
    void startQueryClock() override;
    bool queryTimedOut() const override;
    std::optional<std::optional<Message>> message(qint64 id) override;
    std::optional<MessageUpdate> editMessage(qint64 id, const QString &text,
                                             const QStringList &mentions) override;
    std::optional<MessageUpdate> deleteMessage(qint64 id) override;
    std::optional<MessageUpdate> react(qint64 id, const User &user, const QString &emoji, bool on) override;
    std::optional<ChangesPage> changes(const ChangesQuery &query) override;
    std::optional<QList<qint64>> search(const SearchQuery &query) override;
    std::optional<QList<Protocol::SearchHit>> searchHits(const SearchQuery &query,
                                                         const QList<qint64> &ids) override;
    qint64 lastChangeSeq() const override { return m_lastChangeSeq; }
    std::optional<Protocol::ConversationState>
    markRead(const QString &email, const ConversationId &conversation, qint64 id) override;
    std::optional<Protocol::ConversationState>
    setMuted(const QString &email, const ConversationId &conversation, bool muted) override;
    /// Read markers and mutes kept per user (the oldest read give way first).
    static constexpr int MaxConversationStates = 1000;
    std::optional<QList<Protocol::ConversationState>> conversationStates(const QString &email) override;
    std::optional<std::optional<Message>> messageByClientId(const QString &sender,
                                                            const QString &clientId) override;
    std::optional<qint64> createUpload(const UploadRecord &upload) override;
    std::optional<std::optional<UploadRecord>> upload(const QString &sender,
                                                      const QString &clientId) override;
    bool deleteUpload(qint64 id) override;
    std::optional<QList<UploadRecord>> uploadsStartedBefore(qint64 ms) override;
    std::optional<FileRecord> addFile(const FileRecord &file) override;
    std::optional<std::optional<FileRecord>> file(qint64 id) override;
    std::optional<QList<Message>> messagesWithFile(qint64 fileId, int limit) override;
    std::optional<qint64> storageUsed(const QString &sender) override;
    std::optional<QList<FileRecord>> unreferencedFiles(qint64 createdBeforeMs, int limit) override;
    std::optional<bool> forgetFile(qint64 id) override;
    qint64 lastId() const override { return m_lastId; }
    QString serverId() const override { return m_serverId; }
    AccountStore *accounts() override;
    QString errorString() const override { return m_errorString; }
    bool isFull() const override { return m_full; }

    /// Caps the database file at about bytes (0: no cap), as a full disk
    /// would: writes beyond it fail with isFull() until old messages go
    /// (retention) or the cap is raised. False if the store is not open.
    bool setMaximumSize(qint64 bytes);

    /// Makes a commit of messages, or of a change to one (edit, deletion,
    /// reaction), wait stall while it holds the write lock,
    /// as a stalling disk would (the writer connection too): every commit, or
    /// with every > 0 the first one after each such period. Tests and
    /// benchmarks only (natterd: NATTERD_COMMIT_STALL_FOR_TESTING=MS[/PERIOD_MS]).
    void setCommitStallForTesting(std::chrono::milliseconds stall,
                                  std::chrono::milliseconds every = std::chrono::milliseconds(0));
    /// Makes every search wait stall before it reads (on whichever connection
    /// runs it), as one over a huge history would take. Tests only.
    void setSearchStallForTesting(std::chrono::milliseconds stall);

    /// Makes a database file as a natterd of schema version `version` left it
    /// (for migration tests: open() then migrates it like a real one).
    static bool createWithSchema(const QString &path, int version);

    /// The key that names a conversation in the messages table.
    static QString roomKey(const QString &room);
    static QString directKey(const QString &a, const QString &b);
    static QString conversationKey(const ConversationId &conversation);
    static QString conversationKeyOf(const Message &message);

private:
    /// Sleeps as setCommitStallForTesting() asked, if it did.
    void stallForTesting();
    bool openSqlite();
    bool openPostgres();
    /// The TLS settings of a postgresql:// address's query (libpq's names), checked, onto options.
    bool addPostgresTlsOptions(const QUrlQuery &query, QStringList *options);
    /// Reads where the store stands and prepares the statements used most.
    bool prepareStatements();
    void resetStatements();
    bool setUpPostgresSession();
    /// SQLite Reader: a query stops (SQLITE_INTERRUPT) once the job's time limit has passed.
    bool installTimeLimit();
    /// Open, and (PostgreSQL, after a failure) still connected or connected again.
    bool ready();
    bool reconnectIfLost();
    bool migrate();
    bool migratePostgres();
    /// PostgreSQL: takes the locks of conversations (keys as in messages)
    /// until the transaction ends.
    bool lockConversations(QStringList conversations);
    /// The advisory lock natterds migrate a PostgreSQL database under.
    static constexpr qint64 SchemaLockKey = 0x4e61747465720001; // "Natter", 1
    static bool createPrivateFolder(const QString &path);
    bool prepare(std::optional<QSqlQuery> &query, const QString &sql);
    bool fail(const QString &what, const QSqlError &error);
    struct Row
    {
        Message message;
        bool hasReactions = false;
        qint64 changed = 0;
    };
    Row readRow(const QSqlQuery &query) const;
    /// Reads every row of query, and the reactions of those that have some.
    bool readMessages(QSqlQuery &query, QList<Message> *messages, qint64 *lastChanged = nullptr);
    std::optional<QList<UploadRecord>> readUploads(QSqlQuery &query);
    static QList<FileRecord> readFiles(QSqlQuery &query);
    bool loadReactions(Message *message);
    bool execute(const QString &sql, const QVariantList &values, int *rowsAffected = nullptr);
    bool trimConversationStates(const QString &email);
    /// Begins a write transaction (false and errorString() if the store is not open or busy).
    bool beginWrite();
    /// Runs change in a transaction with the next change sequence number and
    /// reads the message back; change sets *changed false if it did nothing.
    std::optional<MessageUpdate> changeMessage(qint64 id, const std::function<bool(qint64, bool *)> &change);
    std::optional<Protocol::ConversationState> conversationState(const QString &email, const QString &key);
    /// Runs a search: the ranked ids, or (ids given) those messages with snippets.
    bool runSearch(const SearchQuery &query, const QList<qint64> *ids, QSqlQuery *select);
    void closeDatabase();

    /// Settings every connection to the file follows (the server's and its writer's).
    struct Shared
    {
        std::atomic<qint64> maximumBytes{0};
        std::atomic<int> commitStallMs{0};
        std::atomic<int> commitStallEveryMs{0};
        std::atomic<qint64> lastStallMs{0};
        std::atomic<int> searchStallMs{0};
    };
    /// Applies the shared size cap to this connection if it changed.
    bool applyMaximumSize();

    QString m_path;
    OpenMode m_mode;
    Backend m_backend;
    std::shared_ptr<Shared> m_shared = std::make_shared<Shared>();
    qint64 m_appliedMaximumBytes = 0;
    QString m_linkEncryption;
    QElapsedTimer m_sinceCheckpoint;          // Writer: its own checkpoints, so that the WAL restarts
    std::chrono::milliseconds m_timeLimit{0}; // Reader: of each job's reads
    QDeadlineTimer m_queryDeadline{QDeadlineTimer::Forever};
    QString m_connectionName;
    std::unique_ptr<SqlAccountStore> m_accounts;
    std::unique_ptr<QLockFile> m_lock;
    std::unique_ptr<WalCheckpointer> m_checkpointer;
    QSqlDatabase m_db;
    bool m_open = false;
    QString m_errorString;
    bool m_full = false;
    qint64 m_lastId = 0;
    QString m_serverId;
    qint64 m_lastTimestampMs = 0;
    qint64 m_lastChangeSeq = 0;
    // PostgreSQL: a failure is followed by a check of the connection, a lost
    // one by attempts to connect again, each after a longer delay.
    bool m_checkConnection = false;
    QElapsedTimer m_reconnectDelay; // valid: the connection is lost
    qint64 m_reconnectDelayMs = 0;

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
    std::optional<QSqlQuery> m_selectMessage;
    std::optional<QSqlQuery> m_indexMessages;
    std::optional<QSqlQuery> m_insertRichMessage; // with a reply or mentions
    std::optional<QSqlQuery> m_selectReactions;
    std::optional<QSqlQuery> m_countUnread;
    std::optional<QSqlQuery> m_countMentions;
    std::optional<QSqlQuery> m_takeIds;          // PostgreSQL
    std::optional<QSqlQuery> m_lockConversation; // PostgreSQL
};

} // namespace Natter
