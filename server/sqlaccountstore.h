#pragma once

#include "server/accountstore.h"
#include "server/statementcache.h"

#include <QSqlDatabase>

#include <functional>

QT_BEGIN_NAMESPACE
class QSqlQuery;
class QSqlError;
QT_END_NAMESPACE

namespace Natter {

/// AccountStore on the connection of a SqlMessageStore (SQLite or
/// PostgreSQL), which creates and migrates the tables and owns this object.
class SqlAccountStore final : public AccountStore
{
public:
    /// signalChanges: this is another process beside the server (natterd's
    /// administration commands): revocations and disablements are signalled
    /// to the server through a file next to the database.
    /// signalChanges: changes that the server must notice (a disabled
    /// account, a revoked token) are counted where externalChangeCounter()
    /// reads them: a file beside SQLite's, a row of PostgreSQL's.
    explicit SqlAccountStore(QSqlDatabase db, bool signalChanges = false, bool postgres = false);
    Q_DISABLE_COPY_MOVE(SqlAccountStore)

    Found findAccount(const QString &email, Account *account) override;
    bool createAccount(const Account &account) override;
    bool setPasswordHash(const QString &email, const QString &hash) override;
    bool setName(const QString &email, const QString &name) override;
    bool setDisabled(const QString &email, bool disabled) override;
    std::optional<QList<Account>> accounts() override;
    std::optional<QList<Account>> findAccounts(const QString &prefix, int offset, int limit,
                                               const QString &after = {}) override;

    std::optional<qint64> addToken(const QString &email, const QByteArray &tokenHash,
                                   const QString &device) override;
    Found findToken(const QByteArray &tokenHash, DeviceToken *token) override;
    bool touchToken(qint64 id) override;
    bool revokeToken(qint64 id) override;
    std::optional<int> revokeTokens(const QString &email, qint64 keepId) override;
    std::optional<QList<DeviceToken>> tokens(const QString &email) override;

    bool createInvite(const Invite &invite) override;
    std::optional<QList<Invite>> invites() override;
    bool revokeInvite(const QString &code) override;
    bool isInviteValid(const QString &code) override;
    bool useInvite(const QString &code) override;

    std::optional<RoomAccess> roomAccess(const QString &room, bool checkHistory) override;
    bool createPrivateRoom(const QString &room, const QString &owner) override;
    std::optional<bool> isRoomMember(const QString &room, const QString &email) override;
    std::optional<QStringList> privateRoomsOf(const QString &email) override;
    bool addRoomMember(const QString &room, const QString &email) override;
    bool removeRoomMember(const QString &room, const QString &email) override;
    std::optional<QList<RoomEntry>> listRooms(const QString &prefix, const QString &email, int offset,
                                              int limit, const QString &after = {}) override;
    bool noteRoom(const QString &room) override;

    /// Changes when another process signalled a change of accounts or tokens
    /// (PRAGMA data_version would also change with the server's own writer
    /// connection's every commit).
    qint64 externalChangeCounter() override;

    /// Asked before every statement: false (and why) while the connection is
    /// lost. Without one, the connection is taken to be there.
    void setReadyCheck(std::function<bool(QString *error)> check) { m_readyCheck = std::move(check); }
    /// Forgets the prepared statements (the connection they were prepared on is gone).
    void resetStatements() { m_statements.clear(); }
    QString errorString() const override { return m_errorString; }
    QString changeNoticeError() const override { return m_noticeError; }

private:
    /// Runs one statement with positional values; false (and errorString) on failure.
    bool exec(CachedStatement &query, const QString &sql, const QVariantList &values);
    bool fail(const QString &what, const QSqlError &error);
    bool changedOne(CachedStatement &query, const QString &sql, const QVariantList &values);
    /// Tells the server (when signalChanges) that accounts or tokens changed; passes ok through.
    bool signalChange(bool ok);
    QString changeSignalPath() const;

    QSqlDatabase m_db;
    StatementCache m_statements;
    bool m_signalChanges = false;
    bool m_postgres = false;
    std::function<bool(QString *error)> m_readyCheck;
    QString m_errorString;
    QString m_noticeError;
    bool m_warnedUnreadableNotice = false;
};

} // namespace Natter
