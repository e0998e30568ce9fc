#include "server/sqlmessagestore.h"

#include "server/serverlogging.h"
#include "server/sqlaccountstore.h"
#include "server/walcheckpointer.h"

#include <sqlite3.h>

#include <QAtomicInteger>
#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QLockFile>
#include <QRegularExpression>
#include <QSet>
#include <QSqlDriver>
#include <QSqlError>
#include <QThread>
#include <QUrl>
#include <QUrlQuery>
#include <QVariant>

#include <algorithm>
#include <cstring>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

// One list of statements per schema version; migration N takes a file from
// user_version N-1 to N. Append only: never edit a released migration.
const QList<QList<QString>> &migrations()
{
    static const QList<QList<QString>> steps{
        // 1: messages of rooms and direct conversations, and direct messages held for offline users.
        {
            u"CREATE TABLE messages ("
            u" id INTEGER PRIMARY KEY,"     // assigned by the server, strictly increasing
            u" conversation TEXT NOT NULL," // '#room' or '@email\nemail' (sorted pair)
            u" recipient TEXT,"             // direct messages only
            u" sender_email TEXT NOT NULL,"
            u" sender_name TEXT NOT NULL,"
            u" text TEXT NOT NULL,"
            u" ts INTEGER NOT NULL," // ms since the epoch, UTC
            u" client_id TEXT)"_s,
            // latest N, page before id, after id: all one range scan of this index.
            u"CREATE INDEX messages_by_conversation ON messages (conversation, id)"_s,
            // idempotent sends: one row per sender and client id.
            u"CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_email, client_id)"
            u" WHERE client_id IS NOT NULL"_s,
            u"CREATE TABLE held_direct ("
            u" recipient TEXT NOT NULL,"
            u" message_id INTEGER NOT NULL REFERENCES messages (id),"
            u" PRIMARY KEY (recipient, message_id)) WITHOUT ROWID"_s,
        },
        // 2: accounts, device tokens and invites. Messages keep their senders;
        // an email with history but no account is claimed by its first sign-in.
        {
            u"CREATE TABLE accounts ("
            u" email TEXT PRIMARY KEY,"
            u" name TEXT NOT NULL,"
            u" password_hash TEXT," // libsodium Argon2id string; NULL: none set yet
            u" disabled INTEGER NOT NULL DEFAULT 0,"
            u" created_ts INTEGER NOT NULL) WITHOUT ROWID"_s,
            u"CREATE TABLE tokens ("
            u" id INTEGER PRIMARY KEY,"
            u" token_hash BLOB NOT NULL UNIQUE," // SHA-256 of the token; the token is never stored
            u" email TEXT NOT NULL,"
            u" device TEXT NOT NULL,"
            u" created_ts INTEGER NOT NULL,"
            u" last_used_ts INTEGER NOT NULL)"_s,
            u"CREATE INDEX tokens_by_email ON tokens (email)"_s,
            u"CREATE TABLE invites ("
            u" code TEXT PRIMARY KEY,"
            u" uses_left INTEGER NOT NULL,"
            u" expires_ts INTEGER NOT NULL," // 0: never
            u" created_ts INTEGER NOT NULL) WITHOUT ROWID"_s,
        },
        // 3: private rooms and their members. A room without a row is public.
        {
            u"CREATE TABLE private_rooms ("
            u" name TEXT PRIMARY KEY,"
            u" owner TEXT NOT NULL,"
            u" created_ts INTEGER NOT NULL) WITHOUT ROWID"_s,
            u"CREATE TABLE room_members ("
            u" room TEXT NOT NULL REFERENCES private_rooms (name),"
            u" email TEXT NOT NULL,"
            u" PRIMARY KEY (room, email)) WITHOUT ROWID"_s,
        },
        // 4: the chat's identity, made once: clients tell this chat from
        // another one that appears at the same address later.
        {
            u"CREATE TABLE server_identity (id TEXT NOT NULL)"_s,
            u"INSERT INTO server_identity (id) VALUES (lower(hex(randomblob(16))))"_s,
        },
        // 5: the rooms the server knows (for list_rooms), with their latest activity.
        {
            u"CREATE TABLE rooms (name TEXT PRIMARY KEY, last_ts INTEGER) WITHOUT ROWID"_s,
            u"INSERT INTO rooms (name, last_ts) SELECT substr(conversation, 2), MAX(ts) FROM messages"
            u" WHERE conversation LIKE '#%' GROUP BY conversation"_s,
            u"INSERT OR IGNORE INTO rooms (name, last_ts) SELECT name, NULL FROM private_rooms"_s,
        },
        // 6: edits, deletions, replies, mentions, reactions; read markers and mutes.
        // Every change to a message takes the next change sequence number
        // (changed), so that a client can resume the changes of a conversation.
        {
            u"ALTER TABLE messages ADD COLUMN edited_ts INTEGER"_s,
            u"ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0"_s,
            u"ALTER TABLE messages ADD COLUMN reply_to INTEGER"_s,
            u"ALTER TABLE messages ADD COLUMN reply_sender_email TEXT"_s,
            u"ALTER TABLE messages ADD COLUMN reply_sender_name TEXT"_s,
            u"ALTER TABLE messages ADD COLUMN reply_text TEXT"_s, // NULL with reply_to: the original is
                                                                  // deleted
            u"ALTER TABLE messages ADD COLUMN mentions TEXT"_s,   // emails, one per line
            u"ALTER TABLE messages ADD COLUMN has_reactions INTEGER NOT NULL DEFAULT 0"_s,
            u"ALTER TABLE messages ADD COLUMN changed INTEGER"_s, // change sequence number of the last change
            u"CREATE INDEX messages_by_change ON messages (conversation, changed) WHERE changed IS NOT NULL"_s,
            u"CREATE INDEX messages_by_reply ON messages (reply_to) WHERE reply_to IS NOT NULL"_s,
            u"CREATE TABLE reactions ("
            u" message_id INTEGER NOT NULL,"
            u" emoji TEXT NOT NULL,"
            u" email TEXT NOT NULL,"
            u" name TEXT NOT NULL,"
            u" ts INTEGER NOT NULL,"
            u" PRIMARY KEY (message_id, emoji, email)) WITHOUT ROWID"_s,
            u"CREATE TABLE conversation_state ("
            u" email TEXT NOT NULL,"
            u" conversation TEXT NOT NULL," // as in messages
            u" read_id INTEGER NOT NULL DEFAULT 0,"
            u" muted INTEGER NOT NULL DEFAULT 0,"
            u" PRIMARY KEY (email, conversation)) WITHOUT ROWID"_s,
        },
        // 7: full-text search. An external-content FTS5 index of the text,
        // kept in the transaction that changes a message (triggers for edits,
        // deletions and retention); words match whatever their case and accents.
        {
            u"CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id',"
            u" tokenize='unicode61 remove_diacritics 2')"_s,
            u"INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages"_s,
            // New messages are indexed by append() itself, in their transaction: a
            // trigger would do the same at less than half the speed.
            u"CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
            u" INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END"_s,
            u"CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN"
            u" INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);"
            u" INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text); END"_s,
        },
        // 8: files. A message may carry one (attachment: its JSON as on the
        // wire; file_id and thumbnail_id for access checks and reference
        // counts); files are kept once per SHA-256; uploads under way are
        // remembered so that they resume after a restart.
        {
            u"ALTER TABLE messages ADD COLUMN attachment TEXT"_s,
            u"ALTER TABLE messages ADD COLUMN file_id INTEGER"_s,
            u"ALTER TABLE messages ADD COLUMN thumbnail_id INTEGER"_s,
            u"CREATE INDEX messages_by_file ON messages (file_id) WHERE file_id IS NOT NULL"_s,
            u"CREATE INDEX messages_by_thumbnail ON messages (thumbnail_id) WHERE thumbnail_id IS NOT NULL"_s,
            u"CREATE INDEX messages_with_files_by_sender ON messages (sender_email) WHERE file_id IS NOT NULL"_s,
            u"CREATE TABLE files ("
            u" id INTEGER PRIMARY KEY,"
            u" sha256 TEXT NOT NULL UNIQUE,"
            u" size INTEGER NOT NULL,"
            u" mime TEXT NOT NULL,"
            u" owner TEXT NOT NULL,"
            u" created_ms INTEGER NOT NULL,"
            u" referenced INTEGER NOT NULL DEFAULT 0)"_s, // a message carried it once
            u"CREATE TABLE uploads ("
            u" id INTEGER PRIMARY KEY AUTOINCREMENT,"
            u" sender TEXT NOT NULL,"
            u" sender_name TEXT NOT NULL,"
            u" client_id TEXT NOT NULL,"
            u" room TEXT,"
            u" recipient TEXT,"
            u" name TEXT NOT NULL,"
            u" size INTEGER NOT NULL,"
            u" sha256 TEXT NOT NULL,"
            u" mime TEXT NOT NULL,"
            u" text TEXT NOT NULL,"
            u" reply_to INTEGER,"
            u" image_width INTEGER,"
            u" image_height INTEGER,"
            u" thumbnail_id INTEGER,"
            u" thumbnail INTEGER NOT NULL,"
            u" started_ms INTEGER NOT NULL,"
            u" UNIQUE (sender, client_id))"_s,
        },
        // 9: the directory in name order, read by key (list_people's "after"):
        // a page anywhere in 50,000 accounts without sorting them all.
        {
            u"CREATE INDEX accounts_by_name ON accounts (lower(name), email)"_s,
        },
    };
    return steps;
}

// PostgreSQL's schema: what the SQLite migrations above make, in its types
// (BIGINT for ids and times, BYTEA for hashes), plus the sequences that give
// ids and change sequence numbers to every natterd sharing the database, and
// full-text search on a GIN index (words match whatever their case and
// accents, as in SQLite). Append only, like the SQLite list; the version is
// kept in natter_schema.
const QList<QList<QString>> &postgresMigrations()
{
    static const QList<QList<QString>> steps{
        {
            u"CREATE SEQUENCE message_ids"_s,
            u"CREATE SEQUENCE change_seqs"_s,
            u"CREATE TABLE messages ("
            u" id BIGINT PRIMARY KEY,"
            u" conversation TEXT NOT NULL,"
            u" recipient TEXT,"
            u" sender_email TEXT NOT NULL,"
            u" sender_name TEXT NOT NULL,"
            u" text TEXT NOT NULL,"
            u" ts BIGINT NOT NULL,"
            u" client_id TEXT,"
            u" edited_ts BIGINT,"
            u" deleted INTEGER NOT NULL DEFAULT 0,"
            u" reply_to BIGINT,"
            u" reply_sender_email TEXT,"
            u" reply_sender_name TEXT,"
            u" reply_text TEXT,"
            u" mentions TEXT,"
            u" has_reactions INTEGER NOT NULL DEFAULT 0,"
            u" changed BIGINT,"
            u" attachment TEXT,"
            u" file_id BIGINT,"
            u" thumbnail_id BIGINT)"_s,
            u"CREATE INDEX messages_by_conversation ON messages (conversation, id)"_s,
            u"CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_email, client_id)"
            u" WHERE client_id IS NOT NULL"_s,
            u"CREATE INDEX messages_by_change ON messages (conversation, changed) WHERE changed IS NOT NULL"_s,
            u"CREATE INDEX messages_by_reply ON messages (reply_to) WHERE reply_to IS NOT NULL"_s,
            u"CREATE INDEX messages_by_file ON messages (file_id) WHERE file_id IS NOT NULL"_s,
            u"CREATE INDEX messages_by_thumbnail ON messages (thumbnail_id) WHERE thumbnail_id IS NOT NULL"_s,
            u"CREATE INDEX messages_with_files_by_sender ON messages (sender_email) WHERE file_id IS NOT NULL"_s,
            u"CREATE TABLE held_direct ("
            u" recipient TEXT NOT NULL,"
            u" message_id BIGINT NOT NULL REFERENCES messages (id),"
            u" PRIMARY KEY (recipient, message_id))"_s,
            u"CREATE TABLE accounts ("
            u" email TEXT PRIMARY KEY,"
            u" name TEXT NOT NULL,"
            u" password_hash TEXT,"
            u" disabled INTEGER NOT NULL DEFAULT 0,"
            u" created_ts BIGINT NOT NULL)"_s,
            u"CREATE TABLE tokens ("
            u" id BIGSERIAL PRIMARY KEY,"
            u" token_hash BYTEA NOT NULL UNIQUE,"
            u" email TEXT NOT NULL,"
            u" device TEXT NOT NULL,"
            u" created_ts BIGINT NOT NULL,"
            u" last_used_ts BIGINT NOT NULL)"_s,
            u"CREATE INDEX tokens_by_email ON tokens (email)"_s,
            u"CREATE TABLE invites ("
            u" code TEXT PRIMARY KEY,"
            u" uses_left INTEGER NOT NULL,"
            u" expires_ts BIGINT NOT NULL,"
            u" created_ts BIGINT NOT NULL)"_s,
            u"CREATE TABLE private_rooms ("
            u" name TEXT PRIMARY KEY,"
            u" owner TEXT NOT NULL,"
            u" created_ts BIGINT NOT NULL)"_s,
            u"CREATE TABLE room_members ("
            u" room TEXT NOT NULL REFERENCES private_rooms (name),"
            u" email TEXT NOT NULL,"
            u" PRIMARY KEY (room, email))"_s,
            u"CREATE TABLE server_identity (id TEXT NOT NULL)"_s,
            u"INSERT INTO server_identity (id) VALUES (md5(random()::text || clock_timestamp()::text))"_s,
            u"CREATE TABLE rooms (name TEXT PRIMARY KEY, last_ts BIGINT)"_s,
            u"CREATE TABLE reactions ("
            u" message_id BIGINT NOT NULL,"
            u" emoji TEXT NOT NULL,"
            u" email TEXT NOT NULL,"
            u" name TEXT NOT NULL,"
            u" ts BIGINT NOT NULL,"
            u" PRIMARY KEY (message_id, emoji, email))"_s,
            u"CREATE TABLE conversation_state ("
            u" email TEXT NOT NULL,"
            u" conversation TEXT NOT NULL,"
            u" read_id BIGINT NOT NULL DEFAULT 0,"
            u" muted INTEGER NOT NULL DEFAULT 0,"
            u" PRIMARY KEY (email, conversation))"_s,
            u"CREATE TABLE files ("
            u" id BIGSERIAL PRIMARY KEY,"
            u" sha256 TEXT NOT NULL UNIQUE,"
            u" size BIGINT NOT NULL,"
            u" mime TEXT NOT NULL,"
            u" owner TEXT NOT NULL,"
            u" created_ms BIGINT NOT NULL,"
            u" referenced INTEGER NOT NULL DEFAULT 0)"_s,
            u"CREATE TABLE uploads ("
            u" id BIGSERIAL PRIMARY KEY,"
            u" sender TEXT NOT NULL,"
            u" sender_name TEXT NOT NULL,"
            u" client_id TEXT NOT NULL,"
            u" room TEXT,"
            u" recipient TEXT,"
            u" name TEXT NOT NULL,"
            u" size BIGINT NOT NULL,"
            u" sha256 TEXT NOT NULL,"
            u" mime TEXT NOT NULL,"
            u" text TEXT NOT NULL,"
            u" reply_to BIGINT,"
            u" image_width INTEGER,"
            u" image_height INTEGER,"
            u" thumbnail_id BIGINT,"
            u" thumbnail INTEGER NOT NULL,"
            u" started_ms BIGINT NOT NULL,"
            u" UNIQUE (sender, client_id))"_s,
            // Administration commands (another process, maybe another
            // machine) count their account changes here; servers poll it.
            u"CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)"_s,
            u"INSERT INTO counters (name, value) VALUES ('accounts', 0)"_s,
            // unaccent is a trusted extension: the database's owner may create it.
            u"CREATE EXTENSION IF NOT EXISTS unaccent"_s,
            u"CREATE TEXT SEARCH CONFIGURATION natter (COPY = simple)"_s,
            u"ALTER TEXT SEARCH CONFIGURATION natter ALTER MAPPING FOR hword, hword_part, word"
            u" WITH unaccent, simple"_s,
            u"CREATE INDEX messages_fts ON messages USING gin (to_tsvector('natter', text))"_s,
        },
        // 2: the directory in name order, read by key, as SQLite's 9.
        {
            u"CREATE INDEX accounts_by_name ON accounts (lower(name), email)"_s,
        },
    };
    return steps;
}

// readRow() reads them in this order.
constexpr auto SelectColumns =
    "SELECT id, conversation, recipient, sender_email, sender_name, text, ts, client_id, edited_ts, deleted,"
    " reply_to, reply_sender_email, reply_sender_name, reply_text, mentions, has_reactions, changed,"
    " attachment "
    "FROM messages ";

qint64 nowNotBefore(qint64 lastMs)
{
    return std::max(QDateTime::currentMSecsSinceEpoch(), lastMs);
}

} // namespace

SqlMessageStore::SqlMessageStore(QString location, OpenMode mode)
    : m_path(std::move(location))
    , m_mode(mode)
    , m_backend(backendOf(m_path))
{
    static QAtomicInteger<int> instances;
    m_connectionName = u"natter-store-%1"_s.arg(instances.fetchAndAddRelaxed(1));
}

SqlMessageStore::~SqlMessageStore()
{
    closeDatabase();
}

void SqlMessageStore::closeDatabase()
{
    m_checkpointer.reset(); // stops and joins the thread
    m_accounts.reset();
    resetStatements();
    if (m_db.isValid()) {
        m_db.close();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connectionName);
    }
    m_lock.reset();
    m_open = false;
}

void SqlMessageStore::resetStatements()
{
    m_insertMessage.reset();
    m_insertRichMessage.reset();
    m_findByClientId.reset();
    m_holdDirect.reset();
    m_historyLatest.reset();
    m_historyBefore.reset();
    m_historyAfter.reset();
    m_selectHeld.reset();
    m_releaseHeld.reset();
    m_touchRoom.reset();
    m_countHeld.reset();
    m_selectMessage.reset();
    m_indexMessages.reset();
    m_selectReactions.reset();
    m_countUnread.reset();
    m_countMentions.reset();
    m_takeIds.reset();
    m_lockConversation.reset();
}

bool SqlMessageStore::fail(const QString &what, const QSqlError &error)
{
    m_errorString = what + u": "_s + error.text();
    // SQLITE_FULL: the disk, or max_page_count; PostgreSQL's disk_full. (A
    // rollback after it succeeds and must not clear it: only a later success does.)
    m_full = m_full || error.nativeErrorCode() == (m_backend == Backend::SQLite ? "13"_L1 : "53100"_L1);
    // PostgreSQL may have gone (restarted, failed over, the network): the
    // next call finds out, and connects again if so.
    m_checkConnection = m_checkConnection || m_backend == Backend::PostgreSQL;
    qCWarning(lcNatterStore).noquote() << m_errorString;
    return false;
}

bool SqlMessageStore::setMaximumSize(qint64 bytes)
{
    if (!ready())
        return false;
    m_shared->maximumBytes = std::max<qint64>(bytes, 0);
    return applyMaximumSize();
}

void SqlMessageStore::stallForTesting()
{
    if (const int stallMs = m_shared->commitStallMs; stallMs > 0) {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        if (now - m_shared->lastStallMs >= m_shared->commitStallEveryMs) {
            m_shared->lastStallMs = now;
            QThread::msleep(stallMs);
        }
    }
}

void SqlMessageStore::setCommitStallForTesting(std::chrono::milliseconds stall,
                                               std::chrono::milliseconds every)
{
    m_shared->commitStallEveryMs = int(every.count());
    m_shared->commitStallMs = int(stall.count());
}

void SqlMessageStore::setSearchStallForTesting(std::chrono::milliseconds stall)
{
    m_shared->searchStallMs = int(stall.count());
}

bool SqlMessageStore::applyMaximumSize()
{
    const qint64 bytes = m_shared->maximumBytes;
    if (bytes == m_appliedMaximumBytes)
        return true;
    QSqlQuery query(m_db);
    if (!query.exec(u"PRAGMA page_size"_s) || !query.next())
        return fail(u"cannot read the page size"_s, query.lastError());
    const qint64 pageSize = std::max<qint64>(query.value(0).toLongLong(), 512);
    // SQLite's own ceiling when there is no cap.
    const qint64 pages = bytes > 0 ? std::max<qint64>(bytes / pageSize, 1) : 4294967294;
    if (!query.exec(u"PRAGMA max_page_count = %1"_s.arg(pages)))
        return fail(u"cannot limit the database size"_s, query.lastError());
    m_appliedMaximumBytes = bytes;
    qCInfo(lcNatterStore).noquote() << "database size limited to" << pages << "pages of" << pageSize
                                    << "bytes";
    return true;
}

SqlMessageStore::Backend SqlMessageStore::backendOf(const QString &location)
{
    return location.startsWith(u"postgresql://"_s) || location.startsWith(u"postgres://"_s)
               ? Backend::PostgreSQL
               : Backend::SQLite;
}

bool SqlMessageStore::open()
{
    if (m_open)
        return true;
    if (!(m_backend == Backend::PostgreSQL ? openPostgres() : openSqlite()))
        return false;
    if (!prepareStatements()) {
        const QString error = m_errorString;
        closeDatabase();
        m_errorString = error;
        return false;
    }
    m_accounts = std::make_unique<SqlAccountStore>(m_db, m_mode == OpenMode::Administration,
                                                   m_backend == Backend::PostgreSQL);
    if (m_backend == Backend::PostgreSQL)
        m_accounts->setReadyCheck([this](QString *error) {
            const bool ok = ready();
            if (!ok)
                *error = m_errorString;
            return ok;
        });
    if (m_backend == Backend::SQLite && m_path != u":memory:"_s && m_mode == OpenMode::Server) {
        m_checkpointer = std::make_unique<WalCheckpointer>(m_path, 200);
        m_checkpointer->start();
    }
    m_open = true;
    qCDebug(lcNatterStore).noquote() << "opened" << displayLocation() << "last id" << m_lastId;
    return true;
}

bool SqlMessageStore::addPostgresTlsOptions(const QUrlQuery &query, QStringList *options)
{
    // libpq's own names for its TLS settings; nothing else (a password
    // belongs in ~/.pgpass or PGPASSWORD, not in an address that is shown).
    static const QStringList Tls{u"sslmode"_s, u"sslrootcert"_s, u"sslcert"_s, u"sslkey"_s,
                                 u"sslcrl"_s,  u"sslcrldir"_s,   u"sslsni"_s};
    static const QStringList Modes{u"disable"_s, u"allow"_s,     u"prefer"_s,
                                   u"require"_s, u"verify-ca"_s, u"verify-full"_s};
    static const QRegularExpression Unsafe(u"[\\s'\\\\;]"_s);
    for (const auto &[key, value] : query.queryItems(QUrl::FullyDecoded)) {
        if (!Tls.contains(key)) {
            m_errorString =
                u"a PostgreSQL address takes only the settings %1, not %2"_s.arg(Tls.join(u", "_s), key);
            return false;
        }
        // The driver joins the options with spaces into one libpq string.
        if (value.isEmpty() || value.contains(Unsafe)) {
            m_errorString = u"the PostgreSQL setting %1 needs a value without spaces, quotes or ;"_s.arg(key);
            return false;
        }
        if (key == u"sslmode"_s && !Modes.contains(value)) {
            m_errorString = u"sslmode=%1: PostgreSQL knows %2"_s.arg(value, Modes.join(u", "_s));
            return false;
        }
        options->append(key + u'=' + value);
    }
    return true;
}

bool SqlMessageStore::openPostgres()
{
    const QUrl url(m_path, QUrl::StrictMode);
    const QString database = url.path().mid(1);
    if (!url.isValid() || url.host().isEmpty() || database.isEmpty() || database.contains(u'/')) {
        m_errorString = u"%1 is not a PostgreSQL address: postgresql://USER@HOST:PORT/DATABASE"_s.arg(
            url.toDisplayString(QUrl::RemovePassword));
        return false;
    }
    m_db = QSqlDatabase::addDatabase(u"QPSQL"_s, m_connectionName);
    if (!m_db.isValid()) {
        m_errorString = u"the Qt PostgreSQL driver (QPSQL, package libqt6sql6-psql) is not installed"_s;
        return false;
    }
    // A server that does not answer is given up on soon; the application's
    // name shows in pg_stat_activity.
    QStringList options{u"connect_timeout=5"_s, u"application_name=natterd"_s};
    if (!addPostgresTlsOptions(QUrlQuery(url), &options))
        return false;
    m_db.setHostName(url.host());
    m_db.setPort(url.port(5432));
    m_db.setDatabaseName(database);
    m_db.setUserName(url.userName());
    m_db.setPassword(url.password());
    m_db.setConnectOptions(options.join(u';'));
    if (!m_db.open()) {
        const QSqlError error = m_db.lastError();
        closeDatabase();
        return fail(u"cannot connect to %1"_s.arg(url.toDisplayString(QUrl::RemovePassword)), error);
    }
    if (!setUpPostgresSession()) {
        closeDatabase();
        return false;
    }
    if (m_mode == OpenMode::Server) {
        qCInfo(lcNatterStore).noquote()
            << "connected to" << displayLocation()
            << (m_linkEncryption.isEmpty() ? u"unencrypted"_s : u"over "_s + m_linkEncryption);
    }
    if (m_mode != OpenMode::Writer && m_mode != OpenMode::Reader && !migrate()) {
        closeDatabase();
        return false;
    }
    return true;
}

bool SqlMessageStore::setUpPostgresSession()
{
    QSqlQuery settings(m_db);
    // Times and text as this code writes and reads them, whatever the server's
    // defaults; PostgreSQL's notices ("already exists, skipping") are no news
    // to an operator.
    if (!settings.exec(u"SET TIME ZONE 'UTC'"_s) || !settings.exec(u"SET client_encoding = 'UTF8'"_s) ||
        !settings.exec(u"SET client_min_messages = warning"_s))
        return fail(u"cannot set up the connection"_s, settings.lastError());
    // A reader's connection writes nothing, and no statement of it runs past
    // the time limit of a job (the server's own connection is not limited).
    if (m_mode == OpenMode::Reader &&
        (!settings.exec(u"SET default_transaction_read_only = on"_s) ||
         (m_timeLimit.count() > 0 &&
          !settings.exec(u"SET statement_timeout = %1"_s.arg(qint64(m_timeLimit.count()))))))
        return fail(u"cannot set up the connection"_s, settings.lastError());
    // Whether the link is encrypted, as the server sees it (sslmode=prefer,
    // libpq's default, takes TLS only where the server offers it).
    m_linkEncryption.clear();
    if (settings.exec(u"SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl"_s) &&
        settings.next())
        m_linkEncryption = settings.value(0).toString();
    return true;
}

bool SqlMessageStore::ready()
{
    if (!m_open) {
        m_errorString = u"the store is not open"_s;
        return false;
    }
    return !m_checkConnection || reconnectIfLost();
}

bool SqlMessageStore::reconnectIfLost()
{
    if (!m_reconnectDelay.isValid()) {
        // A failure happened: was it the connection?
        if (QSqlQuery probe(m_db); probe.exec(u"SELECT 1"_s)) {
            m_checkConnection = false;
            return true;
        }
        qCWarning(lcNatterStore).noquote() << "lost the connection to" << displayLocation();
        m_reconnectDelayMs = 0;
        m_reconnectDelay.start();
    }
    if (!m_reconnectDelay.hasExpired(m_reconnectDelayMs)) {
        m_errorString = u"the database %1 is unreachable; trying again in %2 ms"_s.arg(displayLocation())
                            .arg(m_reconnectDelayMs - m_reconnectDelay.elapsed());
        return false;
    }
    // Statements prepared on the lost connection are gone with it.
    m_accounts->resetStatements();
    resetStatements();
    m_db.close();
    if (m_db.open() && setUpPostgresSession() && prepareStatements()) {
        qCInfo(lcNatterStore).noquote() << "connected to" << displayLocation() << "again";
        m_checkConnection = false;
        m_reconnectDelay.invalidate();
        return true;
    }
    if (!m_db.isOpen())
        fail(u"cannot connect to %1"_s.arg(displayLocation()), m_db.lastError());
    // Every attempt waits longer, up to 5 s: a database that is down is not
    // asked a hundred times a second by every natterd.
    m_reconnectDelayMs = std::clamp<qint64>(m_reconnectDelayMs * 2, 100, 5000);
    m_reconnectDelay.start();
    return false;
}

bool SqlMessageStore::openSqlite()
{
    if (m_path != u":memory:"_s) {
        const QFileInfo info(m_path);
        if (!info.exists() && m_mode == OpenMode::Administration) {
            m_errorString = u"%1 does not exist"_s.arg(m_path);
            return false;
        }
        if (!createPrivateFolder(info.absolutePath())) {
            m_errorString = u"cannot create the folder %1"_s.arg(info.absolutePath());
            return false;
        }
        if (info.exists() && !info.isFile()) {
            m_errorString = u"%1 is not a file"_s.arg(m_path);
            return false;
        }
        // History and accounts are private: SQLite creates the -wal and -shm
        // files with the permissions of the database file.
        if (!info.exists()) {
            QFile file(m_path);
            if (!file.open(QIODevice::WriteOnly | QIODevice::NewOnly,
                           QFileDevice::ReadOwner | QFileDevice::WriteOwner)) {
                m_errorString = u"cannot create %1: %2"_s.arg(m_path, file.errorString());
                return false;
            }
        } else if (m_mode == OpenMode::Server) {
            // A database made readable to others (by an older natterd, a copy,
            // a umask) is made private again, its WAL and shared memory with it.
            constexpr auto OwnerOnly = QFileDevice::ReadOwner | QFileDevice::WriteOwner;
            for (const QString &suffix : {QString(), u"-wal"_s, u"-shm"_s, u".accounts-changed"_s}) {
                const QString path = m_path + suffix;
                const QFileInfo file(path);
                if (!file.exists() ||
                    (file.permissions() & ~(OwnerOnly | QFileDevice::ReadUser | QFileDevice::WriteUser)) == 0)
                    continue;
                if (QFile::setPermissions(path, OwnerOnly))
                    qCInfo(lcNatterStore).noquote() << "made" << path << "readable by its owner only";
                else
                    qCWarning(lcNatterStore).noquote() << "cannot make" << path << "private";
            }
        }
    }
    if (m_path != u":memory:"_s && m_mode == OpenMode::Server) {
        // One natterd per database: ids are assigned in memory.
        m_lock = std::make_unique<QLockFile>(m_path + u".lock"_s);
        m_lock->setStaleLockTime(0); // only a live process holds it
        if (!m_lock->tryLock(0)) {
            qint64 pid = 0;
            QString host, application;
            m_lock->getLockInfo(&pid, &host, &application);
            m_errorString =
                u"%1 is in use by another process (%2, pid %3)"_s.arg(m_path, application).arg(pid);
            m_lock.reset();
            return false;
        }
        QFile::setPermissions(m_path + u".lock"_s, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    }
    m_db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_connectionName);
    if (!m_db.isValid()) {
        m_errorString = u"the Qt SQLite driver (QSQLITE) is not installed"_s;
        return false;
    }
    m_db.setDatabaseName(m_path);
    // The event loop's connection waits little for the write lock; the
    // writer thread's may wait longer (for a slow disk under the other
    // connection's commit), but a lock someone else keeps (sqlite3 left in a
    // transaction) is soon answered "try again".
    m_db.setConnectOptions(m_mode == OpenMode::Writer || m_mode == OpenMode::Reader
                               ? u"QSQLITE_BUSY_TIMEOUT=2000"_s
                               : u"QSQLITE_BUSY_TIMEOUT=200"_s);
    if (!m_db.open())
        return fail(u"cannot open %1"_s.arg(m_path), m_db.lastError());

    // The first statements are where a file that is not ours, or is taken, shows.
    const auto refuseUnusable = [this](const QSqlError &error) {
        if (error.nativeErrorCode() == u"5"_s) // SQLITE_BUSY
            return fail(u"%1 is in use by another process (is another natterd running on it?)"_s.arg(m_path),
                        error);
        return fail(u"%1 is not a usable SQLite database"_s.arg(m_path), error);
    };
    QSqlQuery pragma(m_db);
    if (m_mode == OpenMode::Server && m_path != u":memory:"_s) {
        // A damaged file is refused before anything writes to it (a journal
        // mode, a migration, a message): the operator's copy stays as it was,
        // for a backup to replace or sqlite3 .recover to rescue. quick_check
        // reads every page once (about a second per GB).
        QElapsedTimer timer;
        timer.start();
        if (!pragma.exec(u"PRAGMA quick_check(1)"_s) || !pragma.next()) {
            const QSqlError error = pragma.lastError();
            pragma = QSqlQuery();
            closeDatabase();
            return refuseUnusable(error);
        }
        if (const QString verdict = pragma.value(0).toString(); verdict != u"ok"_s) {
            pragma = QSqlQuery();
            closeDatabase();
            m_errorString =
                u"%1 is damaged (%2); natterd does not write to a damaged database. Restore "
                u"a backup, or rescue what is readable with: sqlite3 %1 .recover"_s.arg(m_path, verdict);
            return false;
        }
        qCDebug(lcNatterStore).noquote() << "integrity checked in" << timer.elapsed() << "ms";
    }
    // WAL + NORMAL: a commit survives the process being killed; only a power
    // loss may take the last few commits. Readers never block the writer.
    // A 64 MiB page cache keeps the hot index pages of a large history in
    // memory (+12 % stored messages/s on a million rows, bench/storebench).
    // No automatic checkpoints: they would run inside a commit, on the event
    // loop, and stall every client; WalCheckpointer does them on its own
    // thread and connection instead.
    const bool inMemory = m_path == u":memory:"_s;
    for (const QString &statement :
         {u"PRAGMA journal_mode=WAL"_s, u"PRAGMA synchronous=NORMAL"_s, u"PRAGMA cache_size=-65536"_s,
          inMemory || m_mode == OpenMode::Administration ? u"PRAGMA wal_autocheckpoint=1000"_s
                                                         : u"PRAGMA wal_autocheckpoint=0"_s}) {
        if (!pragma.exec(statement)) {
            const QSqlError error = pragma.lastError();
            closeDatabase();
            return refuseUnusable(error);
        }
    }
    if (m_mode == OpenMode::Writer) {
        m_sinceCheckpoint.start();
        // A WAL that grew in a burst is cut back to this when it starts over.
        if (!pragma.exec(u"PRAGMA journal_size_limit = %1"_s.arg(64 * 1024 * 1024))) {
            const QSqlError error = pragma.lastError();
            pragma = QSqlQuery();
            closeDatabase();
            return fail(u"cannot limit the WAL's size"_s, error);
        }
    }
    if (m_mode == OpenMode::Reader && (!pragma.exec(u"PRAGMA query_only = 1"_s) || !installTimeLimit())) {
        const QSqlError error = pragma.lastError();
        pragma = QSqlQuery();
        closeDatabase();
        return fail(u"cannot open a reader's connection"_s, error);
    }
    if (m_mode != OpenMode::Writer && m_mode != OpenMode::Reader &&
        !migrate()) { // the server's connection migrated it
        closeDatabase();
        return false;
    }
    return true;
}

bool SqlMessageStore::installTimeLimit()
{
    const QVariant handle = m_db.driver()->handle();
    if (!handle.isValid() || qstrcmp(handle.typeName(), "sqlite3*") != 0)
        return false;
    sqlite3 *db = *static_cast<sqlite3 *const *>(handle.constData());
    // Every thousand virtual-machine instructions SQLite asks whether to go
    // on: a clock read per thousand, a few percent of a search at most.
    sqlite3_progress_handler(
        db, 1000,
        [](void *store) -> int { return static_cast<SqlMessageStore *>(store)->queryTimedOut() ? 1 : 0; },
        this);
    return true;
}

void SqlMessageStore::startQueryClock()
{
    m_queryDeadline = m_timeLimit.count() > 0 ? QDeadlineTimer(m_timeLimit) : QDeadlineTimer::Forever;
}

bool SqlMessageStore::queryTimedOut() const
{
    return m_queryDeadline.hasExpired();
}

bool SqlMessageStore::prepareStatements()
{
    QSqlQuery last(m_db);
    if (!last.exec(
            u"SELECT COALESCE(MAX(id), 0), COALESCE(MAX(ts), 0), COALESCE(MAX(changed), 0) FROM messages"_s) ||
        !last.next()) {
        return fail(u"cannot read %1"_s.arg(displayLocation()), last.lastError());
    }
    m_lastId = last.value(0).toLongLong();
    m_lastTimestampMs = last.value(1).toLongLong();
    m_lastChangeSeq = last.value(2).toLongLong();
    if (!last.exec(u"SELECT id FROM server_identity"_s) || !last.next()) {
        return fail(u"cannot read %1"_s.arg(displayLocation()), last.lastError());
    }
    m_serverId = last.value(0).toString();

    // Two inserts: every value bound costs the Qt driver about as much as
    // SQLite's own work on it, and most messages are plain.
    if (!prepare(m_insertMessage, u"INSERT INTO messages (id, conversation, recipient, sender_email, "
                                  u"sender_name, text, ts, client_id)"
                                  u" VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"_s) ||
        !prepare(m_insertRichMessage,
                 u"INSERT INTO messages (id, conversation, recipient, sender_email, "
                 u"sender_name, text, ts, client_id, reply_to, reply_sender_email, "
                 u"reply_sender_name, reply_text, mentions)"
                 u" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"_s) ||
        !prepare(m_selectMessage, QLatin1String(SelectColumns) + u"WHERE id = ?"_s) ||
        // PostgreSQL's search index is kept by PostgreSQL itself.
        (m_backend == Backend::SQLite &&
         !prepare(m_indexMessages, u"INSERT INTO messages_fts (rowid, text)"
                                   u" SELECT id, text FROM messages WHERE id BETWEEN ? AND ?"_s)) ||
        !prepare(m_selectReactions, u"SELECT emoji, email, name FROM reactions WHERE message_id = ?"
                                    u" ORDER BY ts, emoji, email"_s) ||
        !prepare(m_countUnread, u"SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE conversation = ?"
                                u" AND id > ? AND sender_email != ? AND deleted = 0 LIMIT ?) AS unread"_s) ||
        // Of those, the ones that mention the user ("\n"-separated emails, lower case).
        !prepare(m_countMentions,
                 u"SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE conversation = ? AND id > ?"
                 u" AND sender_email != ? AND deleted = 0 AND mentions IS NOT NULL"
                 u" AND ('\n' || mentions || '\n') LIKE ? ESCAPE '!' LIMIT ?) AS mentioned"_s) ||
        !prepare(m_findByClientId,
                 QLatin1String(SelectColumns) + u"WHERE sender_email = ? AND client_id = ?"_s) ||
        !prepare(m_holdDirect,
                 u"INSERT INTO held_direct (recipient, message_id) VALUES (?, ?) ON CONFLICT DO NOTHING"_s) ||
        !prepare(m_historyLatest,
                 QLatin1String(SelectColumns) + u"WHERE conversation = ? ORDER BY id DESC LIMIT ?"_s) ||
        !prepare(m_historyBefore, QLatin1String(SelectColumns) +
                                      u"WHERE conversation = ? AND id < ? ORDER BY id DESC LIMIT ?"_s) ||
        !prepare(m_historyAfter, QLatin1String(SelectColumns) +
                                     u"WHERE conversation = ? AND id > ? ORDER BY id ASC LIMIT ?"_s) ||
        !prepare(m_selectHeld, QLatin1String(SelectColumns) +
                                   u"WHERE id IN (SELECT message_id FROM held_direct WHERE recipient = ?"
                                   u" AND message_id > ? ORDER BY message_id LIMIT ?) ORDER BY id"_s) ||
        !prepare(m_releaseHeld, u"DELETE FROM held_direct WHERE recipient = ? AND message_id = ?"_s) ||
        !prepare(m_countHeld, u"SELECT COUNT(*) FROM held_direct WHERE recipient = ?"_s) ||
        !prepare(m_touchRoom, u"INSERT INTO rooms (name, last_ts) VALUES (?, ?)"
                              u" ON CONFLICT (name) DO UPDATE SET last_ts = excluded.last_ts"_s) ||
        (m_backend == Backend::PostgreSQL &&
         (!prepare(m_takeIds, u"SELECT nextval('message_ids') FROM generate_series(1, ?)"_s) ||
          !prepare(m_lockConversation, u"SELECT pg_advisory_xact_lock(?)"_s))))
        return false;
    return true;
}

bool SqlMessageStore::createPrivateFolder(const QString &path)
{
    if (QFileInfo::exists(path))
        return QFileInfo(path).isDir();
    // Create the missing parents as usual, the folder itself for its owner only.
    const QFileInfo info(path);
    if (!QDir().mkpath(info.absolutePath()))
        return false;
    return QDir().mkdir(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner) ||
           QFileInfo(path).isDir();
}

AccountStore *SqlMessageStore::accounts()
{
    return m_accounts.get();
}

bool SqlMessageStore::prepare(std::optional<QSqlQuery> &query, const QString &sql)
{
    query.emplace(m_db);
    query->setForwardOnly(true);
    if (!query->prepare(sql))
        return fail(u"cannot prepare a statement"_s, query->lastError());
    return true;
}

QString SqlMessageStore::displayLocation() const
{
    if (m_backend == Backend::PostgreSQL)
        return QUrl(m_path).toDisplayString(QUrl::RemovePassword);
    return m_path;
}

int SqlMessageStore::schemaVersion()
{
    QSqlQuery query(m_db);
    if (!query.exec(m_backend == Backend::PostgreSQL ? u"SELECT version FROM natter_schema"_s
                                                     : u"PRAGMA user_version"_s) ||
        !query.next())
        return -1;
    return query.value(0).toInt();
}

bool SqlMessageStore::migratePostgres()
{
    // Every natterd of a cluster may start at once: the first to take the
    // lock migrates, the others then find the schema current.
    if (!m_db.transaction())
        return fail(u"cannot start the migration"_s, m_db.lastError());
    QSqlQuery query(m_db);
    const auto rollback = [&](const QString &what) {
        const QSqlError error = query.lastError();
        query = QSqlQuery();
        m_db.rollback();
        return fail(what, error);
    };
    if (!query.exec(u"SELECT pg_advisory_xact_lock(%1)"_s.arg(SchemaLockKey)) ||
        !query.exec(u"CREATE TABLE IF NOT EXISTS natter_schema (version INTEGER NOT NULL)"_s) ||
        !query.exec(
            u"INSERT INTO natter_schema (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM natter_schema)"_s) ||
        !query.exec(u"SELECT version FROM natter_schema"_s) || !query.next())
        return rollback(u"cannot read the schema version of %1"_s.arg(displayLocation()));
    const int found = query.value(0).toInt();
    const auto &steps = postgresMigrations();
    if (found > steps.size()) {
        query = QSqlQuery();
        m_db.rollback();
        m_errorString = u"%1 has schema version %2, newer than this natterd knows (%3); "
                        u"use a newer natterd"_s.arg(displayLocation())
                            .arg(found)
                            .arg(steps.size());
        return false;
    }
    for (int version = found + 1; version <= steps.size(); ++version) {
        for (const QString &statement : steps.at(version - 1)) {
            if (!query.exec(statement))
                return rollback(u"migration to schema %1 failed"_s.arg(version));
        }
        if (!query.exec(u"UPDATE natter_schema SET version = %1"_s.arg(version)))
            return rollback(u"migration to schema %1 failed"_s.arg(version));
        qCInfo(lcNatterStore).noquote() << "migrating" << displayLocation() << "to schema" << version;
    }
    query = QSqlQuery();
    if (!m_db.commit()) {
        const QSqlError error = m_db.lastError();
        m_db.rollback();
        return fail(u"the migration failed"_s, error);
    }
    return true;
}

bool SqlMessageStore::migrate()
{
    if (m_backend == Backend::PostgreSQL)
        return migratePostgres();
    const int found = schemaVersion();
    if (found < 0)
        return fail(u"%1 is not a usable SQLite database"_s.arg(m_path), m_db.lastError());
    const auto &steps = migrations();
    static_assert(SchemaVersion >= 1);
    if (found > steps.size()) {
        m_errorString = u"%1 has schema version %2, newer than this natterd knows (%3); "
                        u"use a newer natterd"_s.arg(m_path)
                            .arg(found)
                            .arg(steps.size());
        return false;
    }
    for (int version = found + 1; version <= steps.size(); ++version) {
        if (!m_db.transaction())
            return fail(u"cannot start the migration"_s, m_db.lastError());
        QSqlQuery query(m_db);
        for (const QString &statement : steps.at(version - 1)) {
            if (!query.exec(statement)) {
                const QSqlError error = query.lastError();
                m_db.rollback();
                return fail(u"migration to schema %1 failed"_s.arg(version), error);
            }
        }
        if (!query.exec(u"PRAGMA user_version = %1"_s.arg(version)) || !m_db.commit()) {
            const QSqlError error = query.lastError().isValid() ? query.lastError() : m_db.lastError();
            m_db.rollback();
            return fail(u"migration to schema %1 failed"_s.arg(version), error);
        }
        qCInfo(lcNatterStore) << "migrated" << m_path << "to schema" << version;
    }
    return true;
}

bool SqlMessageStore::createWithSchema(const QString &path, int version)
{
    const QString connection = u"natter-schema-%1"_s.arg(version);
    bool ok = version >= 1 && version <= migrations().size();
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, connection);
        db.setDatabaseName(path);
        ok = ok && db.open();
        QSqlQuery query(db);
        for (int step = 0; ok && step < version; ++step) {
            for (const QString &statement : migrations().at(step))
                ok = ok && query.exec(statement);
        }
        ok = ok && query.exec(u"PRAGMA user_version = %1"_s.arg(version));
        query = QSqlQuery();
        db.close();
    }
    QSqlDatabase::removeDatabase(connection);
    return ok;
}

QString SqlMessageStore::roomKey(const QString &room)
{
    return u'#' + room;
}

QString SqlMessageStore::directKey(const QString &a, const QString &b)
{
    return a < b ? u'@' + a + u'\n' + b : u'@' + b + u'\n' + a;
}

SqlMessageStore::Row SqlMessageStore::readRow(const QSqlQuery &query) const
{
    Row row;
    Message &message = row.message;
    message.id = query.value(0).toLongLong();
    const QString conversation = query.value(1).toString();
    if (conversation.startsWith(u'#'))
        message.room = conversation.mid(1);
    else
        message.to = query.value(2).toString();
    message.from.email = query.value(3).toString();
    message.from.name = query.value(4).toString();
    message.text = query.value(5).toString();
    message.timestamp = QDateTime::fromMSecsSinceEpoch(query.value(6).toLongLong(), Qt::UTC);
    message.clientId = query.value(7).toString();
    if (const QVariant edited = query.value(8); !edited.isNull())
        message.edited = QDateTime::fromMSecsSinceEpoch(edited.toLongLong(), Qt::UTC);
    message.deleted = query.value(9).toBool();
    if (const QVariant replyTo = query.value(10); !replyTo.isNull()) {
        message.reply.id = replyTo.toLongLong();
        message.reply.from = User{query.value(12).toString(), query.value(11).toString()};
        const QVariant replyText = query.value(13);
        message.reply.deleted = replyText.isNull();
        message.reply.text = replyText.toString();
    }
    if (const QString mentions = query.value(14).toString(); !mentions.isEmpty())
        message.mentions = mentions.split(u'\n');
    row.hasReactions = query.value(15).toBool();
    row.changed = query.value(16).toLongLong();
    if (const QString attachment = query.value(17).toString(); !attachment.isEmpty()) {
        if (const std::optional<Attachment> parsed =
                Attachment::fromJson(QJsonDocument::fromJson(attachment.toUtf8()).object(), nullptr))
            message.attachment = *parsed;
    }
    return row;
}

bool SqlMessageStore::readMessages(QSqlQuery &query, QList<Message> *messages, qint64 *lastChanged)
{
    QList<qsizetype> withReactions;
    while (query.next()) {
        Row row = readRow(query);
        if (row.hasReactions)
            withReactions.append(messages->size());
        if (lastChanged)
            *lastChanged = row.changed;
        messages->append(std::move(row.message));
    }
    query.finish();
    for (const qsizetype at : std::as_const(withReactions)) {
        if (!loadReactions(&(*messages)[at]))
            return false;
    }
    return true;
}

bool SqlMessageStore::loadReactions(Message *message)
{
    QSqlQuery &select = *m_selectReactions;
    select.bindValue(0, message->id);
    if (!select.exec())
        return fail(u"cannot read reactions"_s, select.lastError());
    message->reactions.clear();
    while (select.next()) {
        const QString emoji = select.value(0).toString();
        const User user{select.value(2).toString(), select.value(1).toString()};
        auto reaction = std::find_if(message->reactions.begin(), message->reactions.end(),
                                     [&](const Reaction &r) { return r.emoji == emoji; });
        if (reaction == message->reactions.end()) {
            message->reactions.append(Reaction{emoji, 0, {}, false});
            reaction = message->reactions.end() - 1;
        }
        ++reaction->count;
        reaction->users.append(user);
    }
    select.finish();
    return true;
}

bool SqlMessageStore::beginWrite()
{
    if (!ready())
        return false;
    m_full = false;
    if (m_backend == Backend::PostgreSQL) {
        // PostgreSQL's writers do not wait for one another: rows and the
        // conversation locks of lockConversations() do.
        return m_db.transaction() || fail(u"cannot begin a transaction"_s, m_db.lastError());
    }
    if (!applyMaximumSize())
        return false;
    // IMMEDIATE: the write lock now (waiting the busy timeout for it). A
    // transaction that read first could not take it after the writer
    // thread's connection committed, and would fail instead of waiting.
    if (QSqlQuery begin(m_db); !begin.exec(u"BEGIN IMMEDIATE"_s))
        return fail(u"cannot begin a transaction"_s, begin.lastError());
    return true;
}

std::optional<QList<StoredMessage>> SqlMessageStore::append(const QList<MessageDraft> &drafts)
{
    if (!beginWrite())
        return std::nullopt;
    auto rollback = [this](const QString &what, const QSqlError &error) {
        fail(what, error);
        m_db.rollback();
        return std::nullopt;
    };

    // One timestamp per batch, never earlier than the last stored one, so
    // that time order and id order agree even if the clock steps back.
    const qint64 nowMs = std::max(QDateTime::currentMSecsSinceEpoch(), m_lastTimestampMs);
    const QDateTime now = QDateTime::fromMSecsSinceEpoch(nowMs, Qt::UTC);
    // SQLite: the one natterd of the file counts on from the last id.
    // PostgreSQL: ids from the shared sequence, taken while holding the
    // locks of the batch's conversations (to its commit), so that another
    // natterd's message to one of them takes a higher id and commits after.
    qint64 nextId = m_lastId + 1;
    QList<qint64> sequenceIds;
    if (m_backend == Backend::PostgreSQL && !drafts.isEmpty()) {
        QStringList conversations;
        for (const MessageDraft &draft : drafts)
            conversations.append(conversationKeyOf(draft.message));
        if (!lockConversations(conversations)) {
            m_db.rollback();
            return std::nullopt;
        }
        QSqlQuery &take = *m_takeIds;
        take.bindValue(0, int(drafts.size()));
        if (!take.exec())
            return rollback(u"cannot take message ids"_s, take.lastError());
        while (take.next())
            sequenceIds.append(take.value(0).toLongLong());
        take.finish();
        std::sort(sequenceIds.begin(), sequenceIds.end());
        if (sequenceIds.size() != drafts.size())
            return rollback(u"cannot take message ids"_s, take.lastError());
    }
    qint64 lastStoredId = m_lastId;

    QList<StoredMessage> stored;
    stored.reserve(drafts.size());
    QSet<QString> roomsSpoken;
    const qint64 firstId = nextId;
    for (qsizetype at = 0; at < drafts.size(); ++at) {
        const Message &message = drafts.at(at).message;
        const bool holdForRecipient = drafts.at(at).holdForRecipient;
        if (!sequenceIds.isEmpty())
            nextId = sequenceIds.at(at);
        const bool direct = message.isDirect();
        const bool rich = message.reply.id > 0 || !message.mentions.isEmpty();
        QSqlQuery &insert = rich ? *m_insertRichMessage : *m_insertMessage;
        insert.bindValue(0, nextId);
        insert.bindValue(1, direct ? directKey(message.from.email, message.to) : roomKey(message.room));
        insert.bindValue(2, direct ? QVariant(message.to) : QVariant());
        insert.bindValue(3, message.from.email);
        insert.bindValue(4, message.from.name);
        insert.bindValue(5, message.text.isNull() ? u""_s : message.text); // a file's caption may be empty
        insert.bindValue(6, nowMs);
        insert.bindValue(7, message.clientId.isEmpty() ? QVariant() : QVariant(message.clientId));
        ReplyPreview reply;
        if (message.reply.id > 0) {
            // The preview as the original is now, read in this transaction:
            // a deletion just before is never quoted.
            reply.id = message.reply.id;
            reply.deleted = true;
            QSqlQuery &original = *m_selectMessage;
            original.bindValue(0, reply.id);
            if (!original.exec())
                return rollback(u"cannot read a replied-to message"_s, original.lastError());
            if (original.next()) {
                const Row row = readRow(original);
                if (original.value(1).toString() ==
                    insert.boundValue(1).toString()) { // the same conversation
                    reply.from = row.message.from;
                    reply.deleted = row.message.deleted;
                    reply.text = row.message.deleted ? QString() : Message::previewOf(row.message.text);
                }
            }
            original.finish();
        }
        if (rich) {
            insert.bindValue(8, reply.id > 0 ? QVariant(reply.id) : QVariant());
            insert.bindValue(9, reply.id > 0 ? QVariant(reply.from.email) : QVariant());
            insert.bindValue(10, reply.id > 0 ? QVariant(reply.from.name) : QVariant());
            insert.bindValue(11, reply.id > 0 && !reply.deleted ? QVariant(reply.text) : QVariant());
            insert.bindValue(12, message.mentions.isEmpty() ? QVariant()
                                                            : QVariant(message.mentions.join(u'\n')));
        }
        if (!insert.exec())
            return rollback(u"cannot store a message"_s, insert.lastError());

        if (insert.numRowsAffected() == 0) {
            // The sender's client id is stored already: hand back the original.
            QSqlQuery &find = *m_findByClientId;
            find.bindValue(0, message.from.email);
            find.bindValue(1, message.clientId);
            if (!find.exec() || !find.next())
                return rollback(u"cannot read a stored message"_s, find.lastError());
            Row original = readRow(find);
            find.finish();
            if (original.hasReactions && !loadReactions(&original.message)) {
                m_db.rollback();
                return std::nullopt;
            }
            stored.append(StoredMessage{std::move(original.message), true});
            continue;
        }
        if (holdForRecipient && direct) {
            QSqlQuery &hold = *m_holdDirect;
            hold.bindValue(0, message.to);
            hold.bindValue(1, nextId);
            if (!hold.exec())
                return rollback(u"cannot hold a direct message"_s, hold.lastError());
        }
        if (message.attachment.isValid()) {
            const qint64 thumbnail = message.attachment.image.thumbnailId;
            if (!execute(u"UPDATE messages SET attachment = ?, file_id = ?, thumbnail_id = ? WHERE id = ?"_s,
                         {QString::fromUtf8(
                              QJsonDocument(message.attachment.toJson()).toJson(QJsonDocument::Compact)),
                          message.attachment.fileId, thumbnail > 0 ? QVariant(thumbnail) : QVariant(),
                          nextId}) ||
                !execute(u"UPDATE files SET referenced = 1 WHERE id IN (?, ?)"_s,
                         {message.attachment.fileId, thumbnail})) {
                m_db.rollback();
                return std::nullopt;
            }
        }
        if (!direct)
            roomsSpoken.insert(message.room);
        Message result = message;
        lastStoredId = nextId;
        result.id = nextId++;
        result.timestamp = now;
        result.reply = reply;
        stored.append(StoredMessage{std::move(result), false});
    }
    if (m_backend == Backend::SQLite && nextId > firstId) {
        // Into the search index, in the same transaction: the new ids are
        // contiguous (a resent message takes none), so one statement.
        QSqlQuery &index = *m_indexMessages;
        index.bindValue(0, firstId);
        index.bindValue(1, nextId - 1);
        if (!index.exec())
            return rollback(u"cannot index messages for search"_s, index.lastError());
    }
    for (const QString &room : std::as_const(roomsSpoken)) {
        QSqlQuery &touch = *m_touchRoom;
        touch.bindValue(0, room);
        touch.bindValue(1, nowMs);
        if (!touch.exec())
            return rollback(u"cannot note a room's activity"_s, touch.lastError());
    }
    stallForTesting();
    if (!m_db.commit())
        return rollback(u"cannot commit"_s, m_db.lastError());
    m_lastId = std::max(m_lastId, lastStoredId);
    m_lastTimestampMs = nowMs;
    if (m_backend == Backend::SQLite && m_mode == OpenMode::Writer && m_sinceCheckpoint.hasExpired(1000)) {
        // SQLite starts the WAL over only in a write transaction that began
        // with every frame already copied back. Under a steady stream of
        // commits the checkpointer thread never finishes between two of
        // them, and the WAL grew by ~80 MB a second at 8,000 messages/s. A
        // passive checkpoint here, once a second, copies the little it left
        // (on this thread, never the event loop's), so the next transaction
        // starts the WAL over.
        if (QSqlQuery checkpoint(m_db); !checkpoint.exec(u"PRAGMA wal_checkpoint(PASSIVE)"_s))
            qCWarning(lcNatterStore).noquote() << "checkpoint failed:" << checkpoint.lastError().text();
        m_sinceCheckpoint.start();
    }
    return stored;
}

std::optional<HistoryPage> SqlMessageStore::history(const HistoryQuery &query)
{
    if (!ready())
        return std::nullopt;
    const QString conversation =
        query.room.isEmpty() ? directKey(query.userA, query.userB) : roomKey(query.room);
    HistoryPage page;
    if (query.around) {
        // Half before the message, the message and the rest after it.
        const int older = query.limit / 2;
        const int newer = query.limit - older; // the message itself included
        QSqlQuery &before = *m_historyBefore;
        before.bindValue(0, conversation);
        before.bindValue(1, *query.around);
        before.bindValue(2, older + 1);
        QList<Message> earlier;
        if (!before.exec() || !readMessages(before, &earlier)) {
            fail(u"cannot read history"_s, before.lastError());
            return std::nullopt;
        }
        QSqlQuery &after = *m_historyAfter;
        after.bindValue(0, conversation);
        after.bindValue(1, *query.around - 1);
        after.bindValue(2, newer + 1);
        QList<Message> later;
        if (!after.exec() || !readMessages(after, &later)) {
            fail(u"cannot read history"_s, after.lastError());
            return std::nullopt;
        }
        page.hasMore = earlier.size() > older;
        page.hasNewer = later.size() > newer;
        earlier.resize(std::min<qsizetype>(earlier.size(), older));
        later.resize(std::min<qsizetype>(later.size(), newer));
        std::reverse(earlier.begin(), earlier.end());
        page.messages = earlier + later;
        return page;
    }
    QSqlQuery &select = query.after ? *m_historyAfter : query.before ? *m_historyBefore : *m_historyLatest;
    int position = 0;
    select.bindValue(position++, conversation);
    if (query.after)
        select.bindValue(position++, *query.after);
    else if (query.before)
        select.bindValue(position++, *query.before);
    select.bindValue(position, query.limit + 1); // one more tells whether there is more
    page.messages.reserve(query.limit + 1);
    if (!select.exec() || !readMessages(select, &page.messages)) {
        fail(u"cannot read history"_s, select.lastError());
        return std::nullopt;
    }
    if (page.messages.size() > query.limit) {
        page.hasMore = true;
        page.messages.removeLast();
    }
    if (!query.after)
        std::reverse(page.messages.begin(), page.messages.end());
    return page;
}

std::optional<qint64> SqlMessageStore::newestId()
{
    if (!ready())
        return std::nullopt;
    QSqlQuery select(m_db);
    if (!select.exec(u"SELECT COALESCE(MAX(id), 0) FROM messages"_s) || !select.next()) {
        fail(u"cannot read the newest id"_s, select.lastError());
        return std::nullopt;
    }
    return select.value(0).toLongLong();
}

std::optional<QList<Message>> SqlMessageStore::directMessagesAfter(const QString &email, qint64 afterId,
                                                                   int limit)
{
    if (!ready())
        return std::nullopt;
    // Rare (a natterd died, Redis came back) and recent: a range of the
    // primary key, not worth a prepared statement.
    QSqlQuery select(m_db);
    select.prepare(QLatin1String(SelectColumns) +
                   u"WHERE id > ? AND recipient IS NOT NULL AND (recipient = ? OR sender_email = ?)"
                   u" ORDER BY id LIMIT ?"_s);
    select.addBindValue(afterId);
    select.addBindValue(email);
    select.addBindValue(email);
    select.addBindValue(limit);
    QList<Message> messages;
    if (!select.exec() || !readMessages(select, &messages)) {
        fail(u"cannot read direct messages"_s, select.lastError());
        return std::nullopt;
    }
    return messages;
}

std::optional<QList<Message>> SqlMessageStore::heldDirectMessages(const QString &recipient, qint64 afterId,
                                                                  int limit)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery &select = *m_selectHeld;
    select.bindValue(0, recipient);
    select.bindValue(1, afterId);
    select.bindValue(2, limit);
    if (!select.exec()) {
        fail(u"cannot read held direct messages"_s, select.lastError());
        return std::nullopt;
    }
    QList<Message> messages;
    const bool read = readMessages(select, &messages);
    select.finish(); // no read transaction stays open
    if (!read) {
        fail(u"cannot read held direct messages"_s, select.lastError());
        return std::nullopt;
    }
    return messages;
}

bool SqlMessageStore::releaseHeldDirectMessages(const QString &recipient, const QList<qint64> &ids)
{
    if (!ready())
        return false;
    if (ids.isEmpty())
        return true;
    if (!beginWrite())
        return false;
    QSqlQuery &release = *m_releaseHeld;
    for (const qint64 id : ids) {
        release.bindValue(0, recipient);
        release.bindValue(1, id);
        if (!release.exec()) {
            fail(u"cannot release held direct messages"_s, release.lastError());
            m_db.rollback();
            return false;
        }
    }
    if (!m_db.commit()) {
        fail(u"cannot commit"_s, m_db.lastError());
        m_db.rollback();
        return false;
    }
    return true;
}

bool SqlMessageStore::holdDirectMessages(const QString &recipient, const QList<qint64> &ids)
{
    if (!ready())
        return false;
    QSqlQuery &hold = *m_holdDirect;
    for (const qint64 id : ids) {
        hold.bindValue(0, recipient);
        hold.bindValue(1, id);
        if (!hold.exec())
            return fail(u"cannot hold a direct message"_s, hold.lastError());
    }
    return true;
}

MessageStore::WriterFactory SqlMessageStore::readerFactory(std::chrono::milliseconds timeLimit) const
{
    if (!m_open || (m_backend == Backend::SQLite && m_path == u":memory:"_s) || m_mode != OpenMode::Server)
        return {};
    return [path = m_path, shared = m_shared, timeLimit](QString *error) -> std::unique_ptr<MessageStore> {
        auto reader = std::make_unique<SqlMessageStore>(path, OpenMode::Reader);
        reader->m_shared = shared;
        reader->m_timeLimit = timeLimit;
        if (!reader->open()) {
            *error = reader->errorString();
            return nullptr;
        }
        return reader;
    };
}

MessageStore::WriterFactory SqlMessageStore::writerFactory() const
{
    if (!m_open || (m_backend == Backend::SQLite && m_path == u":memory:"_s) || m_mode != OpenMode::Server)
        return {};
    return [path = m_path, shared = m_shared](QString *error) -> std::unique_ptr<MessageStore> {
        auto writer = std::make_unique<SqlMessageStore>(path, OpenMode::Writer);
        writer->m_shared = shared;
        if (!writer->open()) {
            *error = writer->errorString();
            return nullptr;
        }
        return writer;
    };
}

std::optional<int> SqlMessageStore::deleteOlderThan(qint64 cutoffMs, int batch)
{
    // Ids grow with time: the oldest rows come first in id order, so each
    // batch is a short scan from the start, never the whole table.
    if (!ready())
        return std::nullopt;
    if (!beginWrite())
        return std::nullopt;
    QSqlQuery last(m_db);
    last.prepare(
        u"SELECT MAX(id) FROM (SELECT id FROM messages WHERE ts < ? ORDER BY id LIMIT ?) AS oldest"_s);
    last.bindValue(0, cutoffMs);
    last.bindValue(1, batch);
    if (!last.exec() || !last.next()) {
        m_db.rollback();
        fail(u"cannot find old messages"_s, last.lastError());
        return std::nullopt;
    }
    if (last.value(0).isNull()) {
        m_db.rollback();
        return 0;
    }
    const qint64 upTo = last.value(0).toLongLong();
    QSqlQuery held(m_db);
    held.prepare(u"DELETE FROM held_direct WHERE message_id IN"
                 u" (SELECT id FROM messages WHERE id <= ? AND ts < ?)"_s);
    held.bindValue(0, upTo);
    held.bindValue(1, cutoffMs);
    QSqlQuery reactions(m_db);
    reactions.prepare(u"DELETE FROM reactions WHERE message_id IN"
                      u" (SELECT id FROM messages WHERE id <= ? AND ts < ?)"_s);
    reactions.bindValue(0, upTo);
    reactions.bindValue(1, cutoffMs);
    QSqlQuery messages(m_db);
    messages.prepare(u"DELETE FROM messages WHERE id <= ? AND ts < ?"_s);
    messages.bindValue(0, upTo);
    messages.bindValue(1, cutoffMs);
    if (!held.exec() || !reactions.exec() || !messages.exec()) {
        m_db.rollback();
        fail(u"cannot delete old messages"_s,
             messages.lastError().isValid() ? messages.lastError() : held.lastError());
        return std::nullopt;
    }
    const int deleted = messages.numRowsAffected();
    if (!m_db.commit()) {
        m_db.rollback();
        fail(u"cannot commit the deletion of old messages"_s, m_db.lastError());
        return std::nullopt;
    }
    return deleted;
}

std::optional<QSet<QString>> SqlMessageStore::heldRecipients()
{
    if (!ready())
        return std::nullopt;
    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    if (!query.exec(u"SELECT DISTINCT recipient FROM held_direct"_s)) {
        fail(u"cannot read who has held direct messages"_s, query.lastError());
        return std::nullopt;
    }
    QSet<QString> recipients;
    while (query.next())
        recipients.insert(query.value(0).toString());
    return recipients;
}

std::optional<int> SqlMessageStore::heldCount(const QString &recipient)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery &count = *m_countHeld;
    count.bindValue(0, recipient);
    if (!count.exec() || !count.next()) {
        fail(u"cannot count held direct messages"_s, count.lastError());
        return std::nullopt;
    }
    const int held = count.value(0).toInt();
    count.finish();
    return held;
}

std::optional<std::optional<Message>> SqlMessageStore::message(qint64 id)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery &select = *m_selectMessage;
    select.bindValue(0, id);
    QList<Message> found;
    if (!select.exec() || !readMessages(select, &found)) {
        fail(u"cannot read a message"_s, select.lastError());
        return std::nullopt;
    }
    if (found.isEmpty())
        return std::optional<Message>();
    return std::optional<Message>(found.constFirst());
}

bool SqlMessageStore::execute(const QString &sql, const QVariantList &values, int *rowsAffected)
{
    QSqlQuery query(m_db);
    if (!query.prepare(sql))
        return fail(u"cannot prepare a statement"_s, query.lastError());
    for (int i = 0; i < values.size(); ++i)
        query.bindValue(i, values.at(i));
    if (!query.exec())
        return fail(u"cannot change a message"_s, query.lastError());
    if (rowsAffected)
        *rowsAffected = query.numRowsAffected();
    return true;
}

std::optional<MessageUpdate> SqlMessageStore::changeMessage(qint64 id,
                                                            const std::function<bool(qint64, bool *)> &change)
{
    if (!beginWrite())
        return std::nullopt;
    qint64 seq = m_lastChangeSeq + 1;
    if (m_backend == Backend::PostgreSQL) {
        // As for ids: the conversation's lock before its next change number,
        // so that its changes commit in the order of their numbers.
        QSqlQuery &select = *m_selectMessage;
        select.bindValue(0, id);
        if (!select.exec()) {
            fail(u"cannot read a message"_s, select.lastError());
            m_db.rollback();
            return std::nullopt;
        }
        const QString conversation = select.next() ? select.value(1).toString() : QString();
        select.finish();
        if (conversation.isEmpty()) {
            m_db.rollback();
            m_errorString = u"message %1 does not exist or is deleted"_s.arg(id);
            return std::nullopt;
        }
        QSqlQuery take(m_db);
        if (!lockConversations({conversation}) || !take.exec(u"SELECT nextval('change_seqs')"_s) ||
            !take.next()) {
            if (take.lastError().isValid())
                fail(u"cannot take a change number"_s, take.lastError());
            take = QSqlQuery();
            m_db.rollback();
            return std::nullopt;
        }
        seq = take.value(0).toLongLong();
    }
    bool changed = true;
    if (!change(seq, &changed)) {
        m_db.rollback();
        return std::nullopt;
    }
    stallForTesting();
    if (!m_db.commit()) {
        fail(u"cannot commit"_s, m_db.lastError());
        m_db.rollback();
        return std::nullopt;
    }
    if (changed)
        m_lastChangeSeq = std::max(m_lastChangeSeq, seq);
    const std::optional<std::optional<Message>> now = message(id);
    if (!now || !*now)
        return std::nullopt;
    return MessageUpdate{**now, changed ? seq : 0, changed};
}

std::optional<MessageUpdate> SqlMessageStore::editMessage(qint64 id, const QString &text,
                                                          const QStringList &mentions)
{
    return changeMessage(id, [&](qint64 seq, bool *) {
        const qint64 nowMs = nowNotBefore(m_lastTimestampMs);
        int rows = 0;
        if (!execute(u"UPDATE messages SET text = ?, mentions = ?, edited_ts = ?, changed = ?"
                     u" WHERE id = ? AND deleted = 0"_s,
                     {text, mentions.isEmpty() ? QVariant() : QVariant(mentions.join(u'\n')), nowMs, seq, id},
                     &rows))
            return false;
        if (rows == 0) {
            m_errorString = u"message %1 does not exist or is deleted"_s.arg(id);
            return false;
        }
        // Replies quote the first line as it is now.
        return execute(u"UPDATE messages SET reply_text = ? WHERE reply_to = ?"_s,
                       {Message::previewOf(text), id});
    });
}

std::optional<MessageUpdate> SqlMessageStore::deleteMessage(qint64 id)
{
    return changeMessage(id, [&](qint64 seq, bool *) {
        int rows = 0;
        if (!execute(u"UPDATE messages SET text = '', mentions = NULL, edited_ts = NULL, reply_to = NULL,"
                     u" reply_sender_email = NULL, reply_sender_name = NULL, reply_text = NULL,"
                     u" has_reactions = 0, attachment = NULL, file_id = NULL, thumbnail_id = NULL,"
                     u" deleted = 1, changed = ? WHERE id = ? AND deleted = 0"_s,
                     {seq, id}, &rows))
            return false;
        if (rows == 0) {
            m_errorString = u"message %1 does not exist or is deleted"_s.arg(id);
            return false;
        }
        return execute(u"DELETE FROM reactions WHERE message_id = ?"_s, {id}) &&
               execute(u"DELETE FROM held_direct WHERE message_id = ?"_s, {id}) &&
               execute(u"UPDATE messages SET reply_text = NULL WHERE reply_to = ?"_s, {id});
    });
}

std::optional<MessageUpdate> SqlMessageStore::react(qint64 id, const User &user, const QString &emoji,
                                                    bool on)
{
    return changeMessage(id, [&](qint64 seq, bool *changed) {
        int rows = 0;
        const bool done =
            on ? execute(u"INSERT INTO reactions (message_id, emoji, email, name, ts)"
                         u" SELECT id, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT)"
                         u" FROM messages WHERE id = ? AND deleted = 0 ON CONFLICT DO NOTHING"_s,
                         {emoji, user.email, user.name, QDateTime::currentMSecsSinceEpoch(), id}, &rows)
               : execute(u"DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND email = ?"_s,
                         {id, emoji, user.email}, &rows);
        if (!done)
            return false;
        *changed = rows > 0;
        if (!*changed)
            return true;
        return execute(u"UPDATE messages SET changed = ?,"
                       u" has_reactions = CASE WHEN EXISTS (SELECT 1 FROM reactions WHERE message_id = ?) "
                       u"THEN 1 ELSE 0 END"
                       u" WHERE id = ?"_s,
                       {seq, id, id});
    });
}

std::optional<ChangesPage> SqlMessageStore::changes(const ChangesQuery &query)
{
    if (!ready())
        return std::nullopt;
    const ConversationId &conversation = query.conversation;
    QSqlQuery select(m_db);
    select.setForwardOnly(true);
    select.prepare(QLatin1String(SelectColumns) +
                   u"WHERE conversation = ? AND changed > ? ORDER BY changed LIMIT ?"_s);
    select.bindValue(0, conversation.isDirect() ? directKey(conversation.userA, conversation.userB)
                                                : roomKey(conversation.room));
    select.bindValue(1, query.after);
    select.bindValue(2, query.limit + 1);
    ChangesPage page;
    if (!select.exec()) {
        fail(u"cannot read changes"_s, select.lastError());
        return std::nullopt;
    }
    // The sequence numbers, to know where the page ends.
    QList<qint64> seqs;
    QList<qsizetype> withReactions;
    while (select.next()) {
        Row row = readRow(select);
        seqs.append(row.changed);
        if (row.hasReactions)
            withReactions.append(page.messages.size());
        page.messages.append(std::move(row.message));
    }
    select.finish();
    for (const qsizetype at : std::as_const(withReactions)) {
        if (!loadReactions(&page.messages[at]))
            return std::nullopt;
    }
    if (page.messages.size() > query.limit) {
        page.hasMore = true;
        page.messages.removeLast();
        seqs.removeLast();
    }
    page.lastSeq = seqs.isEmpty() ? query.after : seqs.constLast();
    page.seqs = std::move(seqs);
    return page;
}

QString SqlMessageStore::conversationKeyOf(const Message &message)
{
    return message.isDirect() ? directKey(message.from.email, message.to) : roomKey(message.room);
}

bool SqlMessageStore::lockConversations(QStringList conversations)
{
    // Locked in one order (their keys') by every natterd: no deadlock.
    QList<qint64> keys;
    for (const QString &conversation : std::as_const(conversations)) {
        const QByteArray digest = QCryptographicHash::hash(conversation.toUtf8(), QCryptographicHash::Sha256);
        qint64 key = 0;
        std::memcpy(&key, digest.constData(), sizeof key);
        keys.append(key);
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    QSqlQuery &lock = *m_lockConversation;
    for (const qint64 key : std::as_const(keys)) {
        lock.bindValue(0, key);
        if (!lock.exec())
            return fail(u"cannot lock a conversation"_s, lock.lastError());
        lock.finish();
    }
    return true;
}

QString SqlMessageStore::conversationKey(const ConversationId &conversation)
{
    return conversation.isDirect() ? directKey(conversation.userA, conversation.userB)
                                   : roomKey(conversation.room);
}

std::optional<Protocol::ConversationState> SqlMessageStore::conversationState(const QString &email,
                                                                              const QString &key)
{
    QSqlQuery select(m_db);
    select.prepare(u"SELECT read_id, muted FROM conversation_state WHERE email = ? AND conversation = ?"_s);
    select.bindValue(0, email);
    select.bindValue(1, key);
    if (!select.exec()) {
        fail(u"cannot read a read marker"_s, select.lastError());
        return std::nullopt;
    }
    Protocol::ConversationState state;
    if (key.startsWith(u'#')) {
        state.room = key.mid(1);
    } else {
        const QStringList pair = key.mid(1).split(u'\n');
        state.with = pair.value(0) == email ? pair.value(1) : pair.value(0);
    }
    if (select.next()) {
        state.readId = select.value(0).toLongLong();
        state.muted = select.value(1).toBool();
    }
    select.finish();
    QSqlQuery &count = *m_countUnread;
    count.bindValue(0, key);
    count.bindValue(1, state.readId);
    count.bindValue(2, email);
    count.bindValue(3, Protocol::MaxUnreadCount);
    if (!count.exec() || !count.next()) {
        fail(u"cannot count unread messages"_s, count.lastError());
        return std::nullopt;
    }
    state.unread = count.value(0).toInt();
    count.finish();
    if (state.unread > 0) {
        QString pattern = email;
        pattern.replace(u'!', u"!!"_s).replace(u'%', u"!%"_s).replace(u'_', u"!_"_s);
        QSqlQuery &mentioned = *m_countMentions;
        mentioned.bindValue(0, key);
        mentioned.bindValue(1, state.readId);
        mentioned.bindValue(2, email);
        mentioned.bindValue(3, QString(u"%\n"_s + pattern + u"\n%"_s));
        mentioned.bindValue(4, Protocol::MaxUnreadCount);
        if (!mentioned.exec() || !mentioned.next()) {
            fail(u"cannot count unread mentions"_s, mentioned.lastError());
            return std::nullopt;
        }
        state.mentions = mentioned.value(0).toInt();
        mentioned.finish();
    }
    return state;
}

std::optional<Protocol::ConversationState>
SqlMessageStore::markRead(const QString &email, const ConversationId &conversation, qint64 id)
{
    if (!ready())
        return std::nullopt;
    const QString key = conversationKey(conversation);
    if (!execute(u"INSERT INTO conversation_state (email, conversation, read_id) VALUES (?, ?, ?)"
                 u" ON CONFLICT (email, conversation) DO UPDATE SET read_id ="
                 u" CASE WHEN excluded.read_id > conversation_state.read_id THEN excluded.read_id"
                 u" ELSE conversation_state.read_id END"_s,
                 {email, key, id}) ||
        !trimConversationStates(email))
        return std::nullopt;
    return conversationState(email, key);
}

std::optional<Protocol::ConversationState>
SqlMessageStore::setMuted(const QString &email, const ConversationId &conversation, bool muted)
{
    if (!ready())
        return std::nullopt;
    const QString key = conversationKey(conversation);
    if (!execute(u"INSERT INTO conversation_state (email, conversation, muted) VALUES (?, ?, ?)"
                 u" ON CONFLICT (email, conversation) DO UPDATE SET muted = excluded.muted"_s,
                 {email, key, muted ? 1 : 0}) ||
        !trimConversationStates(email))
        return std::nullopt;
    return conversationState(email, key);
}

bool SqlMessageStore::trimConversationStates(const QString &email)
{
    // A user who has read thousands of conversations (rooms come and go)
    // keeps the markers of the MaxConversationStates read most recently
    // (highest ids), muted ones first: each welcome carries them all.
    QSqlQuery count(m_db);
    count.prepare(u"SELECT COUNT(*) FROM conversation_state WHERE email = ?"_s);
    count.bindValue(0, email);
    if (!count.exec() || !count.next())
        return fail(u"cannot count read markers"_s, count.lastError());
    if (count.value(0).toInt() <= MaxConversationStates)
        return true;
    count.finish();
    return execute(u"DELETE FROM conversation_state WHERE email = ? AND conversation NOT IN ("
                   u"SELECT conversation FROM conversation_state WHERE email = ?"
                   u" ORDER BY muted DESC, read_id DESC LIMIT ?)"_s,
                   {email, email, MaxConversationStates});
}

std::optional<QList<Protocol::ConversationState>> SqlMessageStore::conversationStates(const QString &email)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery select(m_db);
    select.prepare(u"SELECT conversation FROM conversation_state WHERE email = ? ORDER BY conversation"_s);
    select.bindValue(0, email);
    if (!select.exec()) {
        fail(u"cannot read read markers"_s, select.lastError());
        return std::nullopt;
    }
    QStringList keys;
    while (select.next())
        keys.append(select.value(0).toString());
    select.finish();
    QList<Protocol::ConversationState> states;
    for (const QString &key : std::as_const(keys)) {
        const std::optional<Protocol::ConversationState> state = conversationState(email, key);
        if (!state)
            return std::nullopt;
        states.append(*state);
    }
    return states;
}

namespace {

/// How many of the most recent matches a search ranks.
constexpr int SearchCandidates = 5000;

/// The FTS5 query for parsed terms: each quoted (so nothing a user types is
/// FTS5 syntax), all required.
QString ftsQuery(const QList<SearchSyntax::Term> &terms)
{
    QStringList parts;
    for (const SearchSyntax::Term &term : terms) {
        QString quoted = u'"' + QString(term.text).replace(u'"', u"\"\""_s) + u'"';
        if (term.prefix)
            quoted += u'*';
        parts.append(quoted);
    }
    return parts.join(u' ');
}

/// The PostgreSQL tsquery for parsed terms: each a quoted lexeme (so nothing
/// a user types is tsquery syntax; the words of a phrase follow one another),
/// all required.
QString tsQuery(const QList<SearchSyntax::Term> &terms)
{
    QStringList parts;
    for (const SearchSyntax::Term &term : terms) {
        QString quoted = u'\'' + QString(term.text).replace(u'\\', u"\\\\"_s).replace(u'\'', u"''"_s) + u'\'';
        if (term.prefix)
            quoted += u":*"_s;
        parts.append(quoted);
    }
    return parts.join(u" & "_s);
}

/// Splits a snippet marked with \x01 (start) and \x02 (end) into the plain
/// text and the ranges that matched.
Protocol::SearchHit markedSnippet(const QString &marked)
{
    Protocol::SearchHit hit;
    int start = -1;
    for (const QChar c : marked) {
        if (c == u'\x01') {
            start = int(hit.snippet.size());
        } else if (c == u'\x02') {
            if (start >= 0 && hit.snippet.size() > start)
                hit.highlights.append({start, int(hit.snippet.size()) - start});
            start = -1;
        } else {
            hit.snippet += c;
        }
    }
    return hit;
}

} // namespace

bool SqlMessageStore::runSearch(const SearchQuery &query, const QList<qint64> *ids, QSqlQuery *select)
{
    // Only what the reader may read: the rooms given, their own direct conversations.
    const bool postgres = m_backend == Backend::PostgreSQL;
    QString access = u"(m.recipient IS NOT NULL AND (m.sender_email = ? OR m.recipient = ?))"_s;
    QVariantList values{postgres ? tsQuery(query.terms) : ftsQuery(query.terms), query.reader, query.reader};
    if (!query.rooms.isEmpty()) {
        access += u" OR m.conversation IN ("_s + QStringList(query.rooms.size(), u"?"_s).join(u',') + u')';
        for (const QString &room : query.rooms)
            values.append(roomKey(room));
    }
    QString where = (postgres ? u"to_tsvector('natter', m.text) @@ to_tsquery('natter', ?)"_s
                              : u"messages_fts MATCH ?"_s) +
                    u" AND m.deleted = 0 AND ("_s + access + u')';
    if (query.only) {
        where += u" AND m.conversation = ?"_s;
        values.append(conversationKey(*query.only));
    }
    if (!query.from.isEmpty()) {
        where += u" AND m.sender_email = ?"_s;
        values.append(query.from);
    }
    if (query.beforeMs > 0) {
        where += u" AND m.ts < ?"_s;
        values.append(query.beforeMs);
    }
    if (query.afterMs > 0) {
        where += u" AND m.ts >= ?"_s;
        values.append(query.afterMs);
    }
    QString sql;
    if (ids) {
        where += (postgres ? u" AND m.id IN ("_s : u" AND messages_fts.rowid IN ("_s) +
                 QStringList(ids->size(), u"?"_s).join(u',') + u')';
        for (const qint64 id : *ids)
            values.append(id);
        // The columns readRow() reads, and the text with its matches marked.
        const QString columns =
            u"SELECT m.id, m.conversation, m.recipient, m.sender_email, m.sender_name, m.text, m.ts, "
            u"m.client_id,"
            u" m.edited_ts, m.deleted, m.reply_to, m.reply_sender_email, m.reply_sender_name, m.reply_text,"
            u" m.mentions, m.has_reactions, m.changed, "_s;
        if (postgres) {
            values.prepend(values.constFirst()); // the query again, for the marks: its parameter comes first
            sql = columns +
                  u"ts_headline('natter', m.text, to_tsquery('natter', ?), 'StartSel=' || chr(1) ||"
                  u" ', StopSel=' || chr(2) || ', MaxWords=16, MinWords=6, MaxFragments=1, "
                  u"FragmentDelimiter=…')"
                  u" FROM messages m WHERE "_s +
                  where;
        } else {
            sql = columns +
                  u"snippet(messages_fts, 0, char(1), char(2), '…', 16)"
                  u" FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE "_s +
                  where;
        }
    } else if (postgres) {
        values.prepend(values.constFirst()); // the query again, for the rank
        sql = u"SELECT id FROM (SELECT m.id AS id, ts_rank(to_tsvector('natter', m.text),"
              u" to_tsquery('natter', ?)) AS score FROM messages m WHERE "_s +
              where + u" ORDER BY m.id DESC LIMIT ?) AS recent ORDER BY score DESC, id DESC LIMIT ?"_s;
        values.append(SearchCandidates);
        values.append(query.limit);
    } else {
        // Ranked among the most recent matches only: a word in every tenth
        // message of a million would otherwise be scored 100,000 times per
        // search. FTS5 walks its matches newest first and stops there.
        sql = u"SELECT id FROM (SELECT m.id AS id, bm25(messages_fts) AS score FROM messages_fts"
              u" JOIN messages m ON m.id = messages_fts.rowid WHERE "_s +
              where +
              u" ORDER BY messages_fts.rowid DESC LIMIT ?) AS recent ORDER BY score, id DESC LIMIT ?"_s;
        values.append(SearchCandidates);
        values.append(query.limit);
    }
    select->setForwardOnly(true);
    if (!select->prepare(sql))
        return fail(u"cannot prepare a search"_s, select->lastError());
    for (int i = 0; i < values.size(); ++i)
        select->bindValue(i, values.at(i));
    if (!select->exec())
        return fail(u"cannot search"_s, select->lastError());
    return true;
}

std::optional<QList<qint64>> SqlMessageStore::search(const SearchQuery &query)
{
    if (!ready())
        return std::nullopt;
    if (const int stallMs = m_shared->searchStallMs; stallMs > 0) {
        // PostgreSQL: a statement that takes that long (statement_timeout cancels it).
        if (m_backend == Backend::SQLite)
            QThread::msleep(stallMs);
        else if (QSqlQuery sleep(m_db); !sleep.exec(u"SELECT pg_sleep(%1)"_s.arg(stallMs / 1000.0))) {
            fail(u"cannot search"_s, sleep.lastError());
            return std::nullopt;
        }
    }
    QSqlQuery select(m_db);
    if (!runSearch(query, nullptr, &select))
        return std::nullopt;
    QList<qint64> ids;
    while (select.next())
        ids.append(select.value(0).toLongLong());
    return ids;
}

std::optional<QList<Protocol::SearchHit>> SqlMessageStore::searchHits(const SearchQuery &query,
                                                                      const QList<qint64> &ids)
{
    if (!ready())
        return std::nullopt;
    if (ids.isEmpty())
        return QList<Protocol::SearchHit>{};
    QSqlQuery select(m_db);
    if (!runSearch(query, &ids, &select))
        return std::nullopt;
    QHash<qint64, Protocol::SearchHit> found;
    while (select.next()) {
        Row row = readRow(select);
        if (row.hasReactions && !loadReactions(&row.message))
            return std::nullopt;
        QString marked = select.value(17).toString();
        Protocol::SearchHit hit;
        if (row.message.text.contains(u'\x01') || row.message.text.contains(u'\x02'))
            hit.snippet = marked.remove(u'\x01').remove(u'\x02'); // the markers would be ambiguous
        else
            hit = markedSnippet(marked);
        hit.message = std::move(row.message);
        found.insert(hit.message.id, std::move(hit));
    }
    select.finish();
    QList<Protocol::SearchHit> hits;
    for (const qint64 id : ids) {
        if (const auto hit = found.constFind(id); hit != found.cend())
            hits.append(*hit);
    }
    return hits;
}

} // namespace Natter
