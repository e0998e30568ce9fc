#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>

#include <optional>

namespace Natter {

/// A person who may sign in. The email is the identity (stored lowercased).
struct Account
{
    QString email;
    QString name;
    QString passwordHash; ///< libsodium's Argon2id string; empty: no password set yet
    bool disabled = false;
    QDateTime created;
};

/// One signed-in device of an account. The token itself is never stored,
/// only its SHA-256.
struct DeviceToken
{
    qint64 id = 0;
    QString email;
    QString device;
    QDateTime created;
    QDateTime lastUsed;
};

/// A code that lets a new account be created where registration needs one.
struct Invite
{
    QString code;
    int usesLeft = 1;
    QDateTime expires; ///< invalid: never
    QDateTime created;
};

/// Who may enter a room.
struct RoomAccess
{
    bool exists = false;    ///< it has history or is a private room
    bool isPrivate = false; ///< members only
    QString owner;          ///< a private room's owner
};

/// A room in the server's directory (list_rooms).
struct RoomEntry
{
    QString name;
    bool isPrivate = false;
    QDateTime lastActivity; ///< invalid: nothing said in it yet
};

/// Where accounts, device tokens, invites and private rooms' members live. Like MessageStore, the
/// server talks to this interface only.
class AccountStore
{
public:
    enum class Found
    {
        Yes,
        No,
        Error, ///< the store failed; errorString() says why
    };

    virtual ~AccountStore() = default;

    virtual Found findAccount(const QString &email, Account *account) = 0;
    /// False if the email has an account already (or the store failed).
    virtual bool createAccount(const Account &account) = 0;
    /// False if there is no such account.
    virtual bool setPasswordHash(const QString &email, const QString &hash) = 0;
    virtual bool setName(const QString &email, const QString &name) = 0;
    /// Disabling also revokes every token of the account: enabling it again
    /// asks for the password, so a token stolen before is worth nothing.
    virtual bool setDisabled(const QString &email, bool disabled) = 0;
    virtual std::optional<QList<Account>> accounts() = 0;
    /// Enabled accounts whose email, name or a word of the name starts with
    /// prefix (ASCII case-insensitive), by name; offset and limit page them,
    /// or (after, an email) the page after that account's place, read by key.
    virtual std::optional<QList<Account>> findAccounts(const QString &prefix, int offset, int limit,
                                                       const QString &after = {}) = 0;

    /// Stores a new device token by its hash; returns its id.
    virtual std::optional<qint64> addToken(const QString &email, const QByteArray &tokenHash,
                                           const QString &device) = 0;
    virtual Found findToken(const QByteArray &tokenHash, DeviceToken *token) = 0;
    virtual bool touchToken(qint64 id) = 0;
    /// False if there was no such token.
    virtual bool revokeToken(qint64 id) = 0;
    /// Revokes every token of the account except keepId (0 keeps none); returns how many.
    virtual std::optional<int> revokeTokens(const QString &email, qint64 keepId = 0) = 0;
    virtual std::optional<QList<DeviceToken>> tokens(const QString &email) = 0;

    virtual bool createInvite(const Invite &invite) = 0;
    virtual std::optional<QList<Invite>> invites() = 0;
    virtual bool revokeInvite(const QString &code) = 0;
    /// True if the code is valid now (known, uses left, not expired).
    virtual bool isInviteValid(const QString &code) = 0;
    /// Uses the code once; false if it is not valid.
    virtual bool useInvite(const QString &code) = 0;

    /// nullopt if the store failed.
    /// checkHistory: also find out whether a public room has history (exists);
    /// joining needs only whether it is private.
    virtual std::optional<RoomAccess> roomAccess(const QString &room, bool checkHistory) = 0;
    /// Makes a private room with its owner as first member; false if the name is taken.
    virtual bool createPrivateRoom(const QString &room, const QString &owner) = 0;
    virtual std::optional<bool> isRoomMember(const QString &room, const QString &email) = 0;
    /// The private rooms email is a member of, by name.
    virtual std::optional<QStringList> privateRoomsOf(const QString &email) = 0;
    virtual bool addRoomMember(const QString &room, const QString &email) = 0;
    /// False if the email was no member.
    virtual bool removeRoomMember(const QString &room, const QString &email) = 0;

    /// The rooms email may see (public ones, and private ones it is a member
    /// of) whose names start with prefix, by name; after: only those after that name.
    virtual std::optional<QList<RoomEntry>> listRooms(const QString &prefix, const QString &email, int offset,
                                                      int limit, const QString &after = {}) = 0;
    /// Puts a room people entered into the directory (nothing if it is there).
    virtual bool noteRoom(const QString &room) = 0;

    /// Changes whenever another process (natterd's administration commands)
    /// committed to the store; the server polls it to pick such changes up.
    virtual qint64 externalChangeCounter() = 0;

    /// Non-empty when a change was made but the running server(s) could not
    /// be told of it (administration commands beside a running natterd).
    virtual QString changeNoticeError() const { return {}; }
    virtual QString errorString() const = 0;
};

} // namespace Natter
