#include "server/sqlitemessagestore.h"

#include "server/serverlogging.h"
#include "server/sqliteaccountstore.h"
#include "server/walcheckpointer.h"

#include <QAtomicInteger>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QLockFile>
#include <QSet>
#include <QSqlError>
#include <QVariant>

#include <algorithm>

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
    };
    return steps;
}

constexpr auto SelectColumns =
    "SELECT id, conversation, recipient, sender_email, sender_name, text, ts, client_id "
    "FROM messages ";

} // namespace

SqliteMessageStore::SqliteMessageStore(QString path, OpenMode mode)
    : m_path(std::move(path))
    , m_mode(mode)
{
    static QAtomicInteger<int> instances;
    m_connectionName = u"natter-store-%1"_s.arg(instances.fetchAndAddRelaxed(1));
}

SqliteMessageStore::~SqliteMessageStore()
{
    closeDatabase();
}

void SqliteMessageStore::closeDatabase()
{
    m_checkpointer.reset(); // stops and joins the thread
    m_accounts.reset();
    m_insertMessage.reset();
    m_findByClientId.reset();
    m_holdDirect.reset();
    m_historyLatest.reset();
    m_historyBefore.reset();
    m_historyAfter.reset();
    m_selectHeld.reset();
    m_releaseHeld.reset();
    m_touchRoom.reset();
    m_countHeld.reset();
    if (m_db.isValid()) {
        m_db.close();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connectionName);
    }
    m_lock.reset();
    m_open = false;
}

bool SqliteMessageStore::fail(const QString &what, const QSqlError &error)
{
    m_errorString = what + u": "_s + error.text();
    // SQLITE_FULL: the disk, or max_page_count. (A rollback after it succeeds
    // and must not clear it: only a later success does.)
    m_full = m_full || error.nativeErrorCode() == "13"_L1;
    qCWarning(lcNatterStore).noquote() << m_errorString;
    return false;
}

bool SqliteMessageStore::setMaximumSize(qint64 bytes)
{
    if (!m_open)
        return false;
    QSqlQuery query(m_db);
    if (!query.exec(u"PRAGMA page_size"_s) || !query.next())
        return fail(u"cannot read the page size"_s, query.lastError());
    const qint64 pageSize = std::max<qint64>(query.value(0).toLongLong(), 512);
    // SQLite's own ceiling when there is no cap.
    const qint64 pages = bytes > 0 ? std::max<qint64>(bytes / pageSize, 1) : 4294967294;
    if (!query.exec(u"PRAGMA max_page_count = %1"_s.arg(pages)))
        return fail(u"cannot limit the database size"_s, query.lastError());
    qCInfo(lcNatterStore).noquote() << "database size limited to" << pages << "pages of" << pageSize
                                    << "bytes";
    return true;
}

bool SqliteMessageStore::open()
{
    if (m_open)
        return true;
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
    m_db.setConnectOptions(u"QSQLITE_BUSY_TIMEOUT=200"_s);
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
    if (!migrate()) {
        closeDatabase();
        return false;
    }

    QSqlQuery last(m_db);
    if (!last.exec(u"SELECT COALESCE(MAX(id), 0), COALESCE(MAX(ts), 0) FROM messages"_s) || !last.next()) {
        const QSqlError error = last.lastError();
        closeDatabase();
        return fail(u"cannot read %1"_s.arg(m_path), error);
    }
    m_lastId = last.value(0).toLongLong();
    m_lastTimestampMs = last.value(1).toLongLong();
    if (!last.exec(u"SELECT id FROM server_identity"_s) || !last.next()) {
        const QSqlError error = last.lastError();
        closeDatabase();
        return fail(u"cannot read %1"_s.arg(m_path), error);
    }
    m_serverId = last.value(0).toString();

    if (!prepare(m_insertMessage, u"INSERT INTO messages (id, conversation, recipient, sender_email, "
                                  u"sender_name, text, ts, client_id)"
                                  u" VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"_s) ||
        !prepare(m_findByClientId,
                 QLatin1String(SelectColumns) + u"WHERE sender_email = ? AND client_id = ?"_s) ||
        !prepare(m_holdDirect,
                 u"INSERT OR IGNORE INTO held_direct (recipient, message_id) VALUES (?, ?)"_s) ||
        !prepare(m_historyLatest,
                 QLatin1String(SelectColumns) + u"WHERE conversation = ? ORDER BY id DESC LIMIT ?"_s) ||
        !prepare(m_historyBefore, QLatin1String(SelectColumns) +
                                      u"WHERE conversation = ? AND id < ? ORDER BY id DESC LIMIT ?"_s) ||
        !prepare(m_historyAfter, QLatin1String(SelectColumns) +
                                     u"WHERE conversation = ? AND id > ? ORDER BY id ASC LIMIT ?"_s) ||
        !prepare(m_selectHeld,
                 u"SELECT m.id, m.conversation, m.recipient, m.sender_email, m.sender_name, m.text,"
                 u" m.ts, m.client_id FROM held_direct h JOIN messages m ON m.id = h.message_id"
                 u" WHERE h.recipient = ? ORDER BY h.message_id LIMIT ?"_s) ||
        !prepare(m_releaseHeld, u"DELETE FROM held_direct WHERE recipient = ? AND message_id <= ?"_s) ||
        !prepare(m_countHeld, u"SELECT COUNT(*) FROM held_direct WHERE recipient = ?"_s) ||
        !prepare(m_touchRoom, u"INSERT INTO rooms (name, last_ts) VALUES (?, ?)"
                              u" ON CONFLICT (name) DO UPDATE SET last_ts = excluded.last_ts"_s)) {
        closeDatabase();
        return false;
    }
    m_accounts = std::make_unique<SqliteAccountStore>(m_db);
    if (m_path != u":memory:"_s && m_mode == OpenMode::Server) {
        m_checkpointer = std::make_unique<WalCheckpointer>(m_path, 200);
        m_checkpointer->start();
    }
    m_open = true;
    qCDebug(lcNatterStore) << "opened" << m_path << "schema" << SchemaVersion << "last id" << m_lastId;
    return true;
}

bool SqliteMessageStore::createPrivateFolder(const QString &path)
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

AccountStore *SqliteMessageStore::accounts()
{
    return m_accounts.get();
}

bool SqliteMessageStore::prepare(std::optional<QSqlQuery> &query, const QString &sql)
{
    query.emplace(m_db);
    query->setForwardOnly(true);
    if (!query->prepare(sql))
        return fail(u"cannot prepare a statement"_s, query->lastError());
    return true;
}

int SqliteMessageStore::schemaVersion()
{
    QSqlQuery query(m_db);
    if (!query.exec(u"PRAGMA user_version"_s) || !query.next())
        return -1;
    return query.value(0).toInt();
}

bool SqliteMessageStore::migrate()
{
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

QString SqliteMessageStore::roomKey(const QString &room)
{
    return u'#' + room;
}

QString SqliteMessageStore::directKey(const QString &a, const QString &b)
{
    return a < b ? u'@' + a + u'\n' + b : u'@' + b + u'\n' + a;
}

Message SqliteMessageStore::readMessage(const QSqlQuery &query) const
{
    Message message;
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
    return message;
}

std::optional<QList<StoredMessage>> SqliteMessageStore::append(const QList<MessageDraft> &drafts)
{
    if (!m_open) {
        m_errorString = u"the store is not open"_s;
        return std::nullopt;
    }
    m_full = false;
    if (!m_db.transaction()) {
        fail(u"cannot begin a transaction"_s, m_db.lastError());
        return std::nullopt;
    }
    auto rollback = [this](const QString &what, const QSqlError &error) {
        fail(what, error);
        m_db.rollback();
        return std::nullopt;
    };

    // One timestamp per batch, never earlier than the last stored one, so
    // that time order and id order agree even if the clock steps back.
    const qint64 nowMs = std::max(QDateTime::currentMSecsSinceEpoch(), m_lastTimestampMs);
    const QDateTime now = QDateTime::fromMSecsSinceEpoch(nowMs, Qt::UTC);
    qint64 nextId = m_lastId + 1;

    QList<StoredMessage> stored;
    stored.reserve(drafts.size());
    QSet<QString> roomsSpoken;
    QSqlQuery &insert = *m_insertMessage;
    for (const MessageDraft &draft : drafts) {
        const Message &message = draft.message;
        const bool direct = message.isDirect();
        insert.bindValue(0, nextId);
        insert.bindValue(1, direct ? directKey(message.from.email, message.to) : roomKey(message.room));
        insert.bindValue(2, direct ? QVariant(message.to) : QVariant());
        insert.bindValue(3, message.from.email);
        insert.bindValue(4, message.from.name);
        insert.bindValue(5, message.text);
        insert.bindValue(6, nowMs);
        insert.bindValue(7, message.clientId.isEmpty() ? QVariant() : QVariant(message.clientId));
        if (!insert.exec())
            return rollback(u"cannot store a message"_s, insert.lastError());

        if (insert.numRowsAffected() == 0) {
            // The sender's client id is stored already: hand back the original.
            QSqlQuery &find = *m_findByClientId;
            find.bindValue(0, message.from.email);
            find.bindValue(1, message.clientId);
            if (!find.exec() || !find.next())
                return rollback(u"cannot read a stored message"_s, find.lastError());
            stored.append(StoredMessage{readMessage(find), true});
            find.finish();
            continue;
        }
        if (draft.holdForRecipient && direct) {
            QSqlQuery &hold = *m_holdDirect;
            hold.bindValue(0, message.to);
            hold.bindValue(1, nextId);
            if (!hold.exec())
                return rollback(u"cannot hold a direct message"_s, hold.lastError());
        }
        if (!direct)
            roomsSpoken.insert(message.room);
        Message result = message;
        result.id = nextId++;
        result.timestamp = now;
        stored.append(StoredMessage{std::move(result), false});
    }
    for (const QString &room : std::as_const(roomsSpoken)) {
        QSqlQuery &touch = *m_touchRoom;
        touch.bindValue(0, room);
        touch.bindValue(1, nowMs);
        if (!touch.exec())
            return rollback(u"cannot note a room's activity"_s, touch.lastError());
    }
    if (!m_db.commit())
        return rollback(u"cannot commit"_s, m_db.lastError());
    m_lastId = nextId - 1;
    m_lastTimestampMs = nowMs;
    return stored;
}

std::optional<HistoryPage> SqliteMessageStore::history(const HistoryQuery &query)
{
    if (!m_open) {
        m_errorString = u"the store is not open"_s;
        return std::nullopt;
    }
    QSqlQuery &select = query.after ? *m_historyAfter : query.before ? *m_historyBefore : *m_historyLatest;
    int position = 0;
    select.bindValue(position++,
                     query.room.isEmpty() ? directKey(query.userA, query.userB) : roomKey(query.room));
    if (query.after)
        select.bindValue(position++, *query.after);
    else if (query.before)
        select.bindValue(position++, *query.before);
    select.bindValue(position, query.limit + 1); // one more tells whether there is more
    if (!select.exec()) {
        fail(u"cannot read history"_s, select.lastError());
        return std::nullopt;
    }
    HistoryPage page;
    page.messages.reserve(query.limit + 1);
    while (select.next())
        page.messages.append(readMessage(select));
    select.finish();
    if (page.messages.size() > query.limit) {
        page.hasMore = true;
        page.messages.removeLast();
    }
    if (!query.after)
        std::reverse(page.messages.begin(), page.messages.end());
    return page;
}

std::optional<QList<Message>> SqliteMessageStore::takeHeldDirectMessages(const QString &recipient, int limit)
{
    if (!m_open) {
        m_errorString = u"the store is not open"_s;
        return std::nullopt;
    }
    QSqlQuery &select = *m_selectHeld;
    select.bindValue(0, recipient);
    select.bindValue(1, limit);
    if (!select.exec()) {
        fail(u"cannot read held direct messages"_s, select.lastError());
        return std::nullopt;
    }
    QList<Message> messages;
    while (select.next())
        messages.append(readMessage(select));
    select.finish();
    if (messages.isEmpty())
        return messages;
    QSqlQuery &release = *m_releaseHeld;
    release.bindValue(0, recipient);
    release.bindValue(1, messages.constLast().id);
    if (!release.exec()) {
        fail(u"cannot release held direct messages"_s, release.lastError());
        return std::nullopt;
    }
    return messages;
}

std::optional<int> SqliteMessageStore::deleteOlderThan(qint64 cutoffMs, int batch)
{
    // Ids grow with time: the oldest rows come first in id order, so each
    // batch is a short scan from the start, never the whole table.
    if (!m_open) {
        m_errorString = u"the store is not open"_s;
        return std::nullopt;
    }
    if (!m_db.transaction()) {
        fail(u"cannot start a transaction"_s, m_db.lastError());
        return std::nullopt;
    }
    QSqlQuery last(m_db);
    last.prepare(u"SELECT MAX(id) FROM (SELECT id FROM messages WHERE ts < ? ORDER BY id LIMIT ?)"_s);
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
    QSqlQuery messages(m_db);
    messages.prepare(u"DELETE FROM messages WHERE id <= ? AND ts < ?"_s);
    messages.bindValue(0, upTo);
    messages.bindValue(1, cutoffMs);
    if (!held.exec() || !messages.exec()) {
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

std::optional<int> SqliteMessageStore::heldCount(const QString &recipient)
{
    if (!m_open) {
        m_errorString = u"the store is not open"_s;
        return std::nullopt;
    }
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

} // namespace Natter
