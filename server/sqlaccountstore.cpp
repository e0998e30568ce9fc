#include "server/sqlaccountstore.h"

#include "server/serverlogging.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QSaveFile>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#ifdef Q_OS_UNIX
#include <cerrno>
#include <unistd.h>
#endif

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

QDateTime fromMs(const QVariant &value)
{
    if (value.isNull() || value.toLongLong() == 0)
        return {};
    return QDateTime::fromMSecsSinceEpoch(value.toLongLong(), Qt::UTC);
}

Account readAccount(const QSqlQuery &query)
{
    Account account;
    account.email = query.value(0).toString();
    account.name = query.value(1).toString();
    account.passwordHash = query.value(2).toString();
    account.disabled = query.value(3).toBool();
    account.created = fromMs(query.value(4));
    return account;
}

DeviceToken readToken(const QSqlQuery &query)
{
    DeviceToken token;
    token.id = query.value(0).toLongLong();
    token.email = query.value(1).toString();
    token.device = query.value(2).toString();
    token.created = fromMs(query.value(3));
    token.lastUsed = fromMs(query.value(4));
    return token;
}

constexpr auto AccountColumns = "SELECT email, name, password_hash, disabled, created_ts FROM accounts ";
constexpr auto TokenColumns = "SELECT id, email, device, created_ts, last_used_ts FROM tokens ";

} // namespace

SqlAccountStore::SqlAccountStore(QSqlDatabase db, bool signalChanges, bool postgres)
    : m_db(std::move(db))
    , m_statements(m_db)
    , m_signalChanges(signalChanges)
    , m_postgres(postgres)
{}

QString SqlAccountStore::changeSignalPath() const
{
    return m_db.databaseName() + u".accounts-changed"_s;
}

bool SqlAccountStore::signalChange(bool ok)
{
    if (!ok || !m_signalChanges)
        return ok;
    if (m_postgres) {
        CachedStatement query(m_statements);
        if (!exec(query, u"UPDATE counters SET value = value + 1 WHERE name = 'accounts'"_s, {}))
            m_noticeError = m_errorString;
        return ok;
    }
    // New contents each time (a time and a random number): the server
    // compares them, so two changes within a clock tick are two changes.
    QSaveFile file(changeSignalPath());
    if (!file.open(QIODevice::WriteOnly)) {
        m_noticeError = file.errorString();
        return ok;
    }
    file.write(QByteArray::number(QDateTime::currentMSecsSinceEpoch()) + ' ' +
               QByteArray::number(QRandomGenerator::system()->generate64()));
    if (!file.commit()) {
        m_noticeError = file.errorString();
        return ok;
    }
    QFile::setPermissions(changeSignalPath(), QFileDevice::ReadOwner | QFileDevice::WriteOwner);
#ifdef Q_OS_UNIX
    // Run as root beside a natterd that runs as its service user, the notice
    // would be root's and 0600: unreadable to natterd, which would never
    // notice. It belongs to whoever owns the database.
    const QFileInfo database(m_db.databaseName());
    const QFileInfo notice(changeSignalPath());
    if (database.exists() &&
        (notice.ownerId() != database.ownerId() || notice.groupId() != database.groupId()) &&
        ::chown(QFile::encodeName(notice.filePath()).constData(), database.ownerId(), database.groupId()) !=
            0)
        m_noticeError = u"%1 belongs to %2, the database to %3, and it cannot be given to them: %4"_s.arg(
            notice.filePath(), notice.owner(), database.owner(), qt_error_string(errno));
#endif
    return ok;
}

bool SqlAccountStore::fail(const QString &what, const QSqlError &error)
{
    m_errorString = what + u": "_s + error.text();
    qCWarning(lcNatterStore).noquote() << m_errorString;
    return false;
}

bool SqlAccountStore::exec(CachedStatement &query, const QString &sql, const QVariantList &values)
{
    if (m_readyCheck && !m_readyCheck(&m_errorString))
        return false;
    return query.exec(sql, values) || fail(u"cannot read or write accounts"_s, query.error());
}

bool SqlAccountStore::changedOne(CachedStatement &query, const QString &sql, const QVariantList &values)
{
    return exec(query, sql, values) && query->numRowsAffected() > 0;
}

AccountStore::Found SqlAccountStore::findAccount(const QString &email, Account *account)
{
    CachedStatement query(m_statements);
    if (!exec(query, QLatin1String(AccountColumns) + u"WHERE email = ?"_s, {email}))
        return Found::Error;
    if (!query->next())
        return Found::No;
    *account = readAccount(*query);
    return Found::Yes;
}

bool SqlAccountStore::createAccount(const Account &account)
{
    CachedStatement query(m_statements);
    return changedOne(query,
                      u"INSERT INTO accounts (email, name, password_hash, disabled, created_ts)"
                      u" VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"_s,
                      {account.email, account.name,
                       account.passwordHash.isEmpty() ? QVariant() : QVariant(account.passwordHash),
                       account.disabled ? 1 : 0, nowMs()});
}

bool SqlAccountStore::setPasswordHash(const QString &email, const QString &hash)
{
    CachedStatement query(m_statements);
    return changedOne(query, u"UPDATE accounts SET password_hash = ? WHERE email = ?"_s, {hash, email});
}

bool SqlAccountStore::setName(const QString &email, const QString &name)
{
    CachedStatement query(m_statements);
    return changedOne(query, u"UPDATE accounts SET name = ? WHERE email = ?"_s, {name, email});
}

bool SqlAccountStore::setDisabled(const QString &email, bool disabled)
{
    {
        CachedStatement query(m_statements);
        if (!changedOne(query, u"UPDATE accounts SET disabled = ? WHERE email = ?"_s,
                        {disabled ? 1 : 0, email}))
            return false;
    }
    // Disabling revokes: enabling the account again must not bring a stolen
    // token back to life. Its owner signs in with the password again.
    if (disabled && !revokeTokens(email, 0))
        return false;
    return signalChange(true);
}

std::optional<QList<Account>> SqlAccountStore::accounts()
{
    CachedStatement query(m_statements);
    if (!exec(query, QLatin1String(AccountColumns) + u"ORDER BY email"_s, {}))
        return std::nullopt;
    QList<Account> result;
    while (query->next())
        result.append(readAccount(*query));
    return result;
}

std::optional<QList<Account>> SqlAccountStore::findAccounts(const QString &prefix, int offset, int limit,
                                                            const QString &after)
{
    // Not a null QString: that binds as NULL, and NULL matches nothing.
    const QString lower = prefix.isNull() ? u""_s : prefix.toLower();
    QVariantList values{lower, lower, lower, lower};
    // After an account: from its place in the index of (lower(name), email)
    // on, whatever the page's depth (an offset makes the store walk every
    // row before it).
    QString from;
    if (!after.isEmpty()) {
        from = u" AND (lower(name), email) > (SELECT lower(name), email FROM accounts WHERE email = ?)"_s;
        values.append(after);
    }
    values.append(limit);
    values.append(offset);
    CachedStatement query(m_statements);
    if (!exec(query,
              QLatin1String(AccountColumns) +
                  u"WHERE disabled = 0 AND (? = '' OR substr(email, 1, length(?)) = ?"
                  u" OR %1(' ' || lower(name), ' ' || CAST(? AS TEXT)) > 0)%2"
                  u" ORDER BY lower(name), email LIMIT ? OFFSET ?"_s.arg(
                      m_postgres ? u"strpos"_s : u"instr"_s, from),
              values))
        return std::nullopt;
    QList<Account> result;
    while (query->next())
        result.append(readAccount(*query));
    return result;
}

std::optional<qint64> SqlAccountStore::addToken(const QString &email, const QByteArray &tokenHash,
                                                const QString &device)
{
    CachedStatement query(m_statements);
    const qint64 now = nowMs();
    if (!exec(
            query,
            u"INSERT INTO tokens (token_hash, email, device, created_ts, last_used_ts) VALUES (?, ?, ?, ?, ?)"
            u" RETURNING id"_s,
            {tokenHash, email, device.isEmpty() ? u"unnamed device"_s : device, now, now}))
        return std::nullopt;
    if (!query->next()) {
        m_errorString = u"cannot read a new token's id"_s;
        return std::nullopt;
    }
    return query->value(0).toLongLong();
}

AccountStore::Found SqlAccountStore::findToken(const QByteArray &tokenHash, DeviceToken *token)
{
    CachedStatement query(m_statements);
    if (!exec(query, QLatin1String(TokenColumns) + u"WHERE token_hash = ?"_s, {tokenHash}))
        return Found::Error;
    if (!query->next())
        return Found::No;
    *token = readToken(*query);
    return Found::Yes;
}

bool SqlAccountStore::touchToken(qint64 id)
{
    CachedStatement query(m_statements);
    return exec(query, u"UPDATE tokens SET last_used_ts = ? WHERE id = ?"_s, {nowMs(), id});
}

bool SqlAccountStore::revokeToken(qint64 id)
{
    CachedStatement query(m_statements);
    return signalChange(changedOne(query, u"DELETE FROM tokens WHERE id = ?"_s, {id}));
}

std::optional<int> SqlAccountStore::revokeTokens(const QString &email, qint64 keepId)
{
    CachedStatement query(m_statements);
    if (!exec(query, u"DELETE FROM tokens WHERE email = ? AND id != ?"_s, {email, keepId}))
        return std::nullopt;
    signalChange(true);
    return query->numRowsAffected();
}

std::optional<QList<DeviceToken>> SqlAccountStore::tokens(const QString &email)
{
    CachedStatement query(m_statements);
    if (!exec(query, QLatin1String(TokenColumns) + u"WHERE email = ? ORDER BY id"_s, {email}))
        return std::nullopt;
    QList<DeviceToken> result;
    while (query->next())
        result.append(readToken(*query));
    return result;
}

bool SqlAccountStore::createInvite(const Invite &invite)
{
    CachedStatement query(m_statements);
    return changedOne(query,
                      u"INSERT INTO invites (code, uses_left, expires_ts, created_ts) VALUES (?, ?, ?, ?)"
                      u" ON CONFLICT DO NOTHING"_s,
                      {invite.code, invite.usesLeft,
                       invite.expires.isValid() ? invite.expires.toMSecsSinceEpoch() : qint64(0), nowMs()});
}

std::optional<QList<Invite>> SqlAccountStore::invites()
{
    CachedStatement query(m_statements);
    if (!exec(query, u"SELECT code, uses_left, expires_ts, created_ts FROM invites ORDER BY created_ts"_s,
              {}))
        return std::nullopt;
    QList<Invite> result;
    while (query->next()) {
        Invite invite;
        invite.code = query->value(0).toString();
        invite.usesLeft = query->value(1).toInt();
        invite.expires = fromMs(query->value(2));
        invite.created = fromMs(query->value(3));
        result.append(invite);
    }
    return result;
}

bool SqlAccountStore::revokeInvite(const QString &code)
{
    CachedStatement query(m_statements);
    return changedOne(query, u"DELETE FROM invites WHERE code = ?"_s, {code});
}

bool SqlAccountStore::isInviteValid(const QString &code)
{
    CachedStatement query(m_statements);
    return exec(
               query,
               u"SELECT 1 FROM invites WHERE code = ? AND uses_left > 0 AND (expires_ts = 0 OR expires_ts > ?)"_s,
               {code, nowMs()}) &&
           query->next();
}

bool SqlAccountStore::useInvite(const QString &code)
{
    CachedStatement query(m_statements);
    return changedOne(query,
                      u"UPDATE invites SET uses_left = uses_left - 1"
                      u" WHERE code = ? AND uses_left > 0 AND (expires_ts = 0 OR expires_ts > ?)"_s,
                      {code, nowMs()});
}

std::optional<RoomAccess> SqlAccountStore::roomAccess(const QString &room, bool checkHistory)
{
    CachedStatement query(m_statements);
    if (!exec(query, u"SELECT owner FROM private_rooms WHERE name = ?"_s, {room}))
        return std::nullopt;
    if (query->next())
        return RoomAccess{true, true, query->value(0).toString()};
    if (!checkHistory)
        return RoomAccess{false, false, {}};
    // A public room exists once someone entered it (the directory keeps every
    // room entered, also once it fell silent and empty) or something was said
    // in it (messages use '#room'): nobody else may take its name.
    if (!exec(query, u"SELECT 1 FROM rooms WHERE name = ?"_s, {room}))
        return std::nullopt;
    if (query->next())
        return RoomAccess{true, false, {}};
    if (!exec(query, u"SELECT 1 FROM messages WHERE conversation = ? LIMIT 1"_s, {QString(u'#' + room)}))
        return std::nullopt;
    return RoomAccess{query->next(), false, {}};
}

bool SqlAccountStore::createPrivateRoom(const QString &room, const QString &owner)
{
    if (!m_db.transaction())
        return fail(u"cannot begin a transaction"_s, m_db.lastError());
    CachedStatement query(m_statements);
    if (!changedOne(
            query,
            u"INSERT INTO private_rooms (name, owner, created_ts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"_s,
            {room, owner, nowMs()}) ||
        !changedOne(query, u"INSERT INTO room_members (room, email) VALUES (?, ?)"_s, {room, owner}) ||
        !exec(query, u"INSERT INTO rooms (name, last_ts) VALUES (?, NULL) ON CONFLICT DO NOTHING"_s,
              {room})) {
        m_db.rollback();
        return false;
    }
    return m_db.commit() || fail(u"cannot commit"_s, m_db.lastError());
}

std::optional<bool> SqlAccountStore::isRoomMember(const QString &room, const QString &email)
{
    CachedStatement query(m_statements);
    if (!exec(query, u"SELECT 1 FROM room_members WHERE room = ? AND email = ?"_s, {room, email}))
        return std::nullopt;
    return query->next();
}

std::optional<QStringList> SqlAccountStore::privateRoomsOf(const QString &email)
{
    CachedStatement query(m_statements);
    if (!exec(query, u"SELECT room FROM room_members WHERE email = ? ORDER BY room"_s, {email}))
        return std::nullopt;
    QStringList rooms;
    while (query->next())
        rooms.append(query->value(0).toString());
    return rooms;
}

std::optional<QList<RoomEntry>> SqlAccountStore::listRooms(const QString &prefix, const QString &email,
                                                           int offset, int limit, const QString &after)
{
    QVariantList values{prefix.isNull() ? u""_s : prefix, prefix.isNull() ? u""_s : prefix, email};
    if (!after.isEmpty())
        values.append(after);
    values.append(limit);
    values.append(offset);
    CachedStatement query(m_statements);
    if (!exec(query,
              u"SELECT r.name, p.name IS NOT NULL, r.last_ts FROM rooms r LEFT JOIN private_rooms p ON "
              u"p.name = r.name"
              u" WHERE substr(r.name, 1, length(?)) = ?"
              u" AND (p.name IS NULL OR EXISTS (SELECT 1 FROM room_members m WHERE m.room = r.name AND "
              u"m.email = ?))%1"
              u" ORDER BY r.name LIMIT ? OFFSET ?"_s.arg(after.isEmpty() ? QString() : u" AND r.name > ?"_s),
              values))
        return std::nullopt;
    QList<RoomEntry> result;
    while (query->next()) {
        RoomEntry entry{query->value(0).toString(), query->value(1).toBool(), {}};
        if (!query->value(2).isNull())
            entry.lastActivity = QDateTime::fromMSecsSinceEpoch(query->value(2).toLongLong(), Qt::UTC);
        result.append(entry);
    }
    return result;
}

bool SqlAccountStore::noteRoom(const QString &room)
{
    // Read first: a room of the directory needs no write, which would wait
    // for the write lock while the writer thread commits messages.
    CachedStatement query(m_statements);
    if (!exec(query, u"SELECT 1 FROM rooms WHERE name = ?"_s, {room}))
        return false;
    if (query->next())
        return true;
    return exec(query, u"INSERT INTO rooms (name, last_ts) VALUES (?, NULL) ON CONFLICT DO NOTHING"_s,
                {room});
}

bool SqlAccountStore::addRoomMember(const QString &room, const QString &email)
{
    CachedStatement query(m_statements);
    return exec(query, u"INSERT INTO room_members (room, email) VALUES (?, ?) ON CONFLICT DO NOTHING"_s,
                {room, email});
}

bool SqlAccountStore::removeRoomMember(const QString &room, const QString &email)
{
    CachedStatement query(m_statements);
    return changedOne(query, u"DELETE FROM room_members WHERE room = ? AND email = ?"_s, {room, email});
}

qint64 SqlAccountStore::externalChangeCounter()
{
    if (m_postgres) {
        CachedStatement query(m_statements);
        if (!exec(query, u"SELECT value FROM counters WHERE name = 'accounts'"_s, {}) || !query->next())
            return 0;
        return query->value(0).toLongLong();
    }
    QFile file(changeSignalPath());
    if (!file.open(QIODevice::ReadOnly)) {
        // None signalled yet, or one this process may not read: say so once.
        if (file.exists() && !std::exchange(m_warnedUnreadableNotice, true))
            qCWarning(lcNatterStore).noquote()
                << "cannot read" << file.fileName() << "(" << file.errorString()
                << "): changes made by natterd's commands are noticed only after a restart";
        return 0;
    }
    return qint64(qHash(file.read(256)));
}

} // namespace Natter
