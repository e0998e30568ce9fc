#pragma once

// Natter wire protocol, version 1. docs/protocol.md is the readable contract;
// this header is its single source in code.
//
// Transport: WebSocket text frames, UTF-8, one JSON object per frame.
//
//   frame   := { "type": <type name>, <fields of that type>... }
//   fields  := snake_case names; unknown fields are ignored (forward compatible)
//
// The first client frame must be "hello". The server answers "welcome" or an
// "error" frame. Every later request is answered by the events it causes or by
// an "error" frame naming the request's type (and its client_id, if any).
//
// Type names and error codes are append only: never rename, renumber or reuse.

#include "common/message.h"
#include "common/user.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace Natter::Protocol {

inline constexpr int Version = 1;
/// natterd's WebSocket port when none is given (an address without a port, an
/// invite link, a hosted chat); LAN discovery uses the same number over UDP.
inline constexpr quint16 DefaultPort = 5000;
inline constexpr int DefaultHistoryLimit = 50;
inline constexpr int MaxHistoryLimit = 200;
inline constexpr qsizetype MinPasswordLength = 8;
inline constexpr qsizetype MaxPasswordLength = 1024; ///< UTF-8 bytes
inline constexpr qsizetype MaxTokenLength = 128;
inline constexpr qsizetype MaxInviteLength = 64;
inline constexpr int DefaultListLimit = 50; ///< list_rooms, list_people
inline constexpr int MaxListLimit = 200;
inline constexpr int MaxListOffset = 100'000;
inline constexpr qsizetype MaxListPrefixLength = 64;  ///< UTF-8 bytes
inline constexpr qsizetype MaxListCursorLength = 320; ///< UTF-8 bytes of list_rooms' and list_people's after
inline constexpr int MaxWatchedUsers = 200;           ///< watch_presence
inline constexpr int MaxMentions = 50;                ///< emails in one message's mentions
inline constexpr int MaxReactionsPerMessage = 20;     ///< different emoji on one message
inline constexpr int MaxReactionUsers = 50;           ///< users listed per emoji on the wire (count has all)
inline constexpr qsizetype MaxEmojiBytes = 64;        ///< UTF-8 bytes of one reaction's emoji
inline constexpr int MaxUnreadCount = 999;            ///< unread counts stop here ("999 or more")
inline constexpr int DefaultChangesLimit = 100;
inline constexpr int MaxChangesLimit = 200;
inline constexpr qint64 MaxThumbnailBytes = 256 * 1024; ///< upload_begin with thumbnail: true
inline constexpr int MaxThumbnailSide = 1024;           ///< pixels, either side
inline constexpr int DefaultSearchLimit = 20;
inline constexpr int MaxSearchLimit = 50;
inline constexpr int MaxSearchResults = 1000;    ///< pages of one search reach this far
inline constexpr qsizetype MaxQueryLength = 256; ///< characters of a search query
inline constexpr qsizetype MaxCursorLength = 128;
inline constexpr qint64 MaxFileSize = qint64(1) << 53; ///< what a JSON number holds exactly
inline constexpr int MaxImageSide = 65535;             ///< pixels, width or height of an image attachment
/// A binary frame of a file transfer: this many bytes of big-endian upload or
/// download id, then the data.
inline constexpr int ChunkHeaderBytes = 8;

/// Frame type names, as they appear in "type".
namespace Type {
// client -> server
inline constexpr QLatin1String Hello{"hello"};
inline constexpr QLatin1String JoinRoom{"join_room"};
inline constexpr QLatin1String LeaveRoom{"leave_room"};
inline constexpr QLatin1String SendMessage{"send_message"};
inline constexpr QLatin1String History{"history"}; // both directions
inline constexpr QLatin1String Typing{"typing"};   // both directions
inline constexpr QLatin1String SignOut{"sign_out"};
inline constexpr QLatin1String ChangePassword{"change_password"};
inline constexpr QLatin1String CreateRoom{"create_room"};
inline constexpr QLatin1String InviteToRoom{"invite_to_room"};
inline constexpr QLatin1String RemoveFromRoom{"remove_from_room"};
inline constexpr QLatin1String ListRooms{"list_rooms"};
inline constexpr QLatin1String ListPeople{"list_people"};
inline constexpr QLatin1String WatchPresence{"watch_presence"};
inline constexpr QLatin1String EditMessage{"edit_message"};
inline constexpr QLatin1String DeleteMessage{"delete_message"};
inline constexpr QLatin1String React{"react"};
inline constexpr QLatin1String MarkRead{"mark_read"};
inline constexpr QLatin1String Mute{"mute"};
inline constexpr QLatin1String Changes{"changes"}; // both directions
inline constexpr QLatin1String Search{"search"};
inline constexpr QLatin1String UploadBegin{"upload_begin"};
inline constexpr QLatin1String UploadDone{"upload_done"};
inline constexpr QLatin1String UploadCancel{"upload_cancel"};
inline constexpr QLatin1String Download{"download"};
inline constexpr QLatin1String DownloadCancel{"download_cancel"};
// server -> client
inline constexpr QLatin1String Welcome{"welcome"};
inline constexpr QLatin1String UserJoined{"user_joined"};
inline constexpr QLatin1String UserLeft{"user_left"};
inline constexpr QLatin1String Members{"members"};
inline constexpr QLatin1String ReceiveMessage{"receive_message"};
inline constexpr QLatin1String Error{"error"};
inline constexpr QLatin1String PasswordChanged{"password_changed"};
inline constexpr QLatin1String RoomInvitation{"room_invitation"};
inline constexpr QLatin1String RoomList{"room_list"};
inline constexpr QLatin1String People{"people"};
inline constexpr QLatin1String Presence{"presence"};
inline constexpr QLatin1String MessageEdited{"message_edited"};
inline constexpr QLatin1String MessageDeleted{"message_deleted"};
inline constexpr QLatin1String Reactions{"reactions"};
inline constexpr QLatin1String ReadMarker{"read_marker"};
inline constexpr QLatin1String Muted{"muted"};
inline constexpr QLatin1String SearchResults{"search_results"};
inline constexpr QLatin1String UploadReady{"upload_ready"};
inline constexpr QLatin1String UploadComplete{"upload_complete"};
inline constexpr QLatin1String DownloadReady{"download_ready"};
inline constexpr QLatin1String DownloadDone{"download_done"};
} // namespace Type

/// Stable error codes carried in "error" frames. Append only.
enum class ErrorCode
{
    BadJson,              ///< the frame is not valid JSON
    BadFrame,             ///< valid JSON, but not an object with a string "type"
    UnknownType,          ///< "type" names no client frame
    BadField,             ///< a field is missing, of the wrong type or out of range
    NotAuthenticated,     ///< a request before "hello"
    AlreadyAuthenticated, ///< "hello" twice on one connection
    UnsupportedProtocol,  ///< "hello" asked for a protocol version the server lacks
    BadName,              ///< display name empty, too long or with control characters
    BadEmail,             ///< email not of the documented form
    BadRoom,              ///< room name not of the documented form
    NotInRoom,            ///< the request needs the room joined on this connection
    BadText,              ///< message text empty or only white space
    TextTooLong,          ///< message text over the server's limit
    RateLimited,          ///< the user sends faster than the server allows
    BinaryNotSupported,   ///< a binary frame; the protocol is text frames only
    InternalError,        ///< the server could not store or serve the request
    TooManyRooms,         ///< join_room beyond the rooms one connection may have joined
    CredentialsRequired,  ///< "hello" without "password" or "token"; the connection is closed
    BadCredentials,       ///< unknown email, wrong password, or a token not (or no longer) valid
    TooManyAttempts,      ///< too many failed sign-ins from this address; try again later
    InviteRequired,       ///< the server creates accounts only with a valid invite code
    RegistrationClosed,   ///< the server creates no accounts; an administrator does
    AccountDisabled,      ///< an administrator disabled the account
    WeakPassword,         ///< a new password shorter than the server accepts
    NotAMember,           ///< a private room the user is not a member of
    NotRoomOwner,         ///< only the room's owner may invite or remove members
    RoomExists,           ///< create_room for a name that is taken
    NoSuchUser,           ///< invite_to_room for an email without an account
    InboxFull,            ///< a direct message to someone with too many held for them already
    StorageFull,          ///< the server's disk (or its size limit) is full: nothing was stored
    NoSuchMessage,        ///< no message with that id in a conversation the user may read (or it was deleted)
    NotAllowed,           ///< the message is someone else's: only its sender (or a room's owner) may do that
    BadEmoji,             ///< a reaction that is not one emoji
    TooManyReactions,     ///< a message has as many different emoji as it may have
    BadQuery,         ///< a search query that finds nothing by its form (unbalanced quote, no word, too long)
    FileTooLarge,     ///< upload_begin for more bytes than the server's --max-upload-bytes
    QuotaExceeded,    ///< the user's files would use more than their storage quota
    TooManyUploads,   ///< more uploads at once than the server allows one user
    NoSuchUpload,     ///< an upload id (or a binary frame's) that is not one of this user's open uploads
    SizeMismatch,     ///< an upload got more bytes than announced, or fewer by upload_done
    ChecksumMismatch, ///< the bytes received do not have the announced SHA-256: nothing was kept
    NoSuchFile,       ///< a file id that is unknown or in no message the user may read
    BadThumbnail,     ///< a thumbnail that is not a small PNG, JPEG, GIF or WebP image
};
inline constexpr ErrorCode LastErrorCode = ErrorCode::BadThumbnail;

/// The wire name of an error code, e.g. "bad_json".
QString errorCodeName(ErrorCode code);
/// The code for a wire name, or nullopt for a name this version does not know.
std::optional<ErrorCode> errorCodeFromName(QStringView name);

// ---- client -> server -------------------------------------------------------

/// hello {name, email, protocol?, password | token, device?, invite?}
///
/// Exactly one of password and token proves who the user is. A password
/// sign-in creates the account on first use where the server allows it and
/// returns a new session token in welcome; later sign-ins use that token.
struct Hello
{
    User user;
    int protocol = Version;
    QString password; ///< never logged, never stored in the clear
    QString token;    ///< a session token from an earlier welcome
    QString device;   ///< a name for this device, shown in the user's token list
    QString invite;   ///< an invite code, where registration needs one
};

/// create_room {room, private?}: a private room is for its members only; the
/// creator owns it. Answered like join_room (the creator joins it).
struct CreateRoom
{
    QString room;
    bool isPrivate = false;
};

/// invite_to_room {room, email}: the owner of a private room adds a member.
struct InviteToRoom
{
    QString room;
    QString email;
};

/// remove_from_room {room, email}: the owner removes a member, whose
/// connections leave the room at once.
struct RemoveFromRoom
{
    QString room;
    QString email;
};

/// sign_out {}: revokes this device's token and closes the connection.
struct SignOut
{};

/// change_password {password, new_password}: every other device's token is
/// revoked and its connections closed; answered by password_changed.
struct ChangePassword
{
    QString password;
    QString newPassword;
};

/// join_room {room}
struct JoinRoom
{
    QString room;
};

/// leave_room {room}
struct LeaveRoom
{
    QString room;
};

/// send_message {room | to, text, client_id?, reply_to?, mentions?}
struct SendMessage
{
    QString room;
    QString to;
    QString text;
    QString clientId;
    qint64 replyTo = 0;     ///< > 0: answers that message of the same conversation
    QStringList mentions{}; ///< emails of the people called by name (at most MaxMentions)
    bool isDirect() const { return room.isEmpty(); }
};

/// edit_message {id, text, mentions?}: the sender changes the text of their
/// message; pushed as message_edited to everyone who can read it.
struct EditMessage
{
    qint64 id = 0;
    QString text;
    QStringList mentions{};
};

/// delete_message {id}: the sender (or the owner of the private room it was
/// said in) deletes a message; a tombstone keeps its place.
struct DeleteMessage
{
    qint64 id = 0;
};

/// react {id, emoji, on}: adds (on) or takes back the user's emoji on a message.
struct React
{
    qint64 id = 0;
    QString emoji;
    bool on = true;
};

/// mark_read {room | with, id}: the user has read a conversation up to id;
/// the user's other connections follow (read_marker).
struct MarkRead
{
    QString room;
    QString with;
    qint64 id = 0;
    bool isDirect() const { return room.isEmpty(); }
};

/// mute {room | with, muted}: no notifications for a conversation, on every
/// device of the user (stored by the server).
struct MuteRequest
{
    QString room;
    QString with;
    bool muted = true;
    bool isDirect() const { return room.isEmpty(); }
};

/// changes {room | with, after, limit?}: the messages of a conversation that
/// were edited, deleted or reacted to after change sequence number after, in
/// their current state (resume).
struct ChangesRequest
{
    QString room;
    QString with;
    qint64 after = 0;
    int limit = DefaultChangesLimit;
    bool isDirect() const { return room.isEmpty(); }
};

/// history {room | with, before?, after?, limit?}
///
/// Without before/after: the latest messages. With before: the page of older
/// messages just before that id. With after: the messages just after that id
/// (resume after a reconnect). before and after exclude each other.
struct HistoryRequest
{
    QString room;
    QString with;
    std::optional<qint64> before;
    std::optional<qint64> after; ///< 0 reads from the very first message
    int limit = DefaultHistoryLimit;
    std::optional<qint64> around = std::nullopt; ///< a page centred on this message (jump to it)
    bool isDirect() const { return room.isEmpty(); }
};

/// typing {room, active} | typing {to, active}: in a room, or to the other
/// person of a direct conversation.
struct TypingRequest
{
    QString room;
    bool active = false;
    QString to;
    bool isDirect() const { return room.isEmpty(); }
};

/// list_rooms {prefix?, offset?, limit?}: the rooms this user may join (public
/// ones, and private ones they are a member of), by name; answered by room_list.
struct ListRooms
{
    QString prefix; ///< names starting with it (case-insensitive); empty: all
    int offset = 0;
    int limit = DefaultListLimit;
    QString after = {}; ///< the previous page's next: the page after it, read by key (offset 0)
};

/// list_people {prefix?, offset?, limit?}: everyone with an account here whose
/// name or email starts with prefix, by name; answered by people.
struct ListPeople
{
    QString prefix;
    int offset = 0;
    int limit = DefaultListLimit;
    QString after = {}; ///< the previous page's next: the page after it, read by key (offset 0)
};

/// watch_presence {emails}: this connection is told (presence) when these
/// users come online or go offline; replaces the list given before.
struct WatchPresence
{
    QStringList emails;
};

/// search {query, room | with?, from?, before?, after?, limit?, cursor?}: the
/// messages the user may read that match query, best first; answered by
/// search_results. Query syntax: words (all must match, any form of accents
/// and case), word* (a prefix), "an exact phrase".
struct SearchRequest
{
    QString query;
    QString room;     ///< only this room (joined on this connection), or
    QString with;     ///< only the direct conversation with this email
    QString from;     ///< only messages from this email
    QDateTime before; ///< only messages sent before this time
    QDateTime after;  ///< only messages sent at or after this time
    int limit = DefaultSearchLimit;
    QString cursor; ///< from an earlier search_results: the next page
};

/// upload_begin {client_id, name, size, sha256, mime?, room | to, text?,
/// reply_to?, image?} | upload_begin {client_id, name, size, sha256, mime?,
/// thumbnail: true}: starts (or, with the same client_id, resumes) an upload.
/// Answered by upload_ready; then binary frames of ChunkHeaderBytes of the
/// upload id and the next bytes, in order; then upload_done. A thumbnail is a
/// small image for another upload's image.thumbnail_id: no message carries it.
struct UploadBegin
{
    QString clientId; ///< required: names the upload across reconnects, and its message
    QString name;
    qint64 size = 0;
    QString sha256;
    QString mime; ///< empty: application/octet-stream
    QString room;
    QString to;
    QString text; ///< a caption; may be empty
    qint64 replyTo = 0;
    ImageInfo image{};
    bool thumbnail = false;
    bool isDirect() const { return room.isEmpty(); }
};

/// upload_done {upload_id}: every byte was sent; the server checks size and
/// SHA-256, keeps the file and (unless a thumbnail) stores the message.
struct UploadDone
{
    qint64 uploadId = 0;
};

/// upload_cancel {upload_id}: the server forgets the upload and its bytes.
struct UploadCancel
{
    qint64 uploadId = 0;
};

/// download {file_id, offset?}: sends a file from offset on; answered by
/// download_ready, binary frames of ChunkHeaderBytes of the download id and
/// the next bytes, then download_done.
struct DownloadRequest
{
    qint64 fileId = 0;
    qint64 offset = 0;
};

/// download_cancel {download_id}
struct DownloadCancel
{
    qint64 downloadId = 0;
};

// ---- server -> client -------------------------------------------------------

/// Limits a client should respect; sent in welcome.
struct ServerLimits
{
    qsizetype maxTextLength = 0;
    qint64 maxFrameBytes = 0;
    int historyLimit = MaxHistoryLimit;
    qint64 maxUploadBytes = 0; ///< the largest file upload_begin takes (0: not said)
};

/// Where a user is in one conversation: read up to, unread since, muted.
struct ConversationState
{
    QString room;      ///< a room, or
    QString with;      ///< the direct conversation with this email
    qint64 readId = 0; ///< the highest id the user has read (on any device)
    int unread = 0;    ///< messages of others after it (at most MaxUnreadCount)
    int mentions = 0;  ///< of those, the ones that mention the user (added later; 0 from older servers)
    bool muted = false;
    bool isDirect() const { return room.isEmpty(); }
    friend bool operator==(const ConversationState &, const ConversationState &) = default;
};

/// welcome {user, protocol, server, name, limits, token?, server_id?, conversations?}
struct Welcome
{
    User user;
    int protocol = Version;
    QString server;     ///< "natterd X.Y.Z"
    QString serverName; ///< the display name the host chose
    ServerLimits limits;
    QString token;    ///< a new session token, after a password sign-in only
    QString serverId; ///< this chat's identity: the same for as long as its history lives
    QList<ConversationState> conversations{}; ///< read markers, unread counts, mutes
};

/// password_changed {token?}: the answer to change_password. Every token of
/// the account was revoked, the asking device's too; token is its new one.
struct PasswordChanged
{
    QString token;
};

/// user_joined {room, user}
struct UserJoined
{
    QString room;
    User user;
};

/// user_left {room, user}
struct UserLeft
{
    QString room;
    User user;
};

/// members {room, users, private?, owner?}
struct Members
{
    QString room;
    QList<User> users;
    bool isPrivate = false; ///< a private room: members only
    QString owner;          ///< its owner's email (private rooms)
};

/// room_invitation {room, by, member?}: you were made a member of a private
/// room; with member, the owner's confirmation that member was.
struct RoomInvitation
{
    QString room;
    User by;
    User member; ///< empty email: the invitation is for the receiver
};

/// history {room | with, messages, has_more, has_newer?, change_seq?}; messages oldest first.
struct History
{
    QString room;
    QString with;
    QList<Message> messages;
    bool hasMore = false;
    bool hasNewer = false; ///< a page read around an id: newer messages follow it
    qint64 changeSeq = 0;  ///< the page shows every change up to this sequence number
};

/// message_edited | message_deleted | reactions: a message changed; the
/// frame carries it as it is now. changeSeq orders the changes of its
/// conversation (resume with changes {after}).
struct MessageChange
{
    enum class Kind
    {
        Edited,
        Deleted,
        Reactions,
    };
    Kind kind = Kind::Edited;
    Message message;
    qint64 changeSeq = 0;
    User by; ///< message_deleted: who deleted it (the sender, or the room's owner)
};

/// changes {room | with, messages, change_seq, has_more}: the answer to changes.
struct Changes
{
    QString room;
    QString with;
    QList<Message> messages; ///< in their current state, in the order they changed
    qint64 changeSeq = 0;    ///< ask for changes after this next
    bool hasMore = false;
};

/// One search hit: the message as it is now, and a fragment of its text with
/// the matches marked by offsets (never by markup: the text stays plain).
struct SearchHit
{
    Message message;
    QString snippet;                         ///< a fragment of the text; "…" where cut
    QList<std::pair<int, int>> highlights{}; ///< (start, length) in UTF-16 units of snippet
    friend bool operator==(const SearchHit &, const SearchHit &) = default;
};

/// search_results {query, results, cursor?}
struct SearchResults
{
    QString query; ///< as asked: answers to an older query can be told apart
    QList<SearchHit> results;
    QString cursor; ///< empty: no more pages
};

/// read_marker {room | with, id, unread}: the user read this far on another device.
struct ReadMarker
{
    ConversationState state;
};

/// muted {room | with, muted}: the user muted or unmuted a conversation (on any device).
struct Muted
{
    QString room;
    QString with;
    bool muted = false;
};

/// upload_ready {upload_id, client_id, offset, chunk_bytes}: send the bytes
/// from offset on (0 for a new upload; what arrived before, after a reconnect),
/// in binary frames of at most chunk_bytes of data each.
struct UploadReady
{
    qint64 uploadId = 0;
    QString clientId;
    qint64 offset = 0;
    qint64 chunkBytes = 0;
};

/// upload_complete {upload_id, client_id, file_id}: the file is kept. For a
/// message's file, receive_message follows (to everyone, the sender too).
/// upload_id is 0 when the upload had finished before the client began it
/// again (after a drop): its stored message follows, to this connection.
struct UploadComplete
{
    qint64 uploadId = 0;
    QString clientId;
    qint64 fileId = 0;
};

/// download_ready {download_id, file_id, size, offset, sha256, mime}
struct DownloadReady
{
    qint64 downloadId = 0;
    qint64 fileId = 0;
    qint64 size = 0;
    qint64 offset = 0;
    QString sha256;
    QString mime;
};

/// download_done {download_id}: every byte from offset to size was sent.
struct DownloadDone
{
    qint64 downloadId = 0;
};

/// receive_message {id, room | to, from, text, ts, client_id?}
struct ReceiveMessage
{
    Message message;
};

/// typing {room, user, active} | typing {to, user, active}: user is (not)
/// typing in the room, or in their direct conversation with to (you).
struct TypingNotice
{
    QString room;
    User user;
    bool active = false;
    QString to;
};

/// One room in a room_list.
struct RoomSummary
{
    QString room;
    bool isPrivate = false;
    int online = 0;         ///< people in it now
    QDateTime lastActivity; ///< its latest message; invalid: none yet
    friend bool operator==(const RoomSummary &, const RoomSummary &) = default;
};

/// room_list {prefix, offset, rooms, has_more}
struct RoomList
{
    QString prefix; ///< as asked: answers to a search being typed can be told apart
    int offset = 0;
    QList<RoomSummary> rooms;
    bool hasMore = false;
    QString next = {}; ///< with has_more: the after of the next page
};

/// One user in people.
struct Person
{
    User user;
    bool online = false;
    friend bool operator==(const Person &, const Person &) = default;
};

/// people {prefix, offset, users, has_more}
struct People
{
    QString prefix;
    int offset = 0;
    QList<Person> people;
    bool hasMore = false;
    QString next = {}; ///< with has_more: the after of the next page
};

/// presence {user, online, known}: the answer to watch_presence (one per
/// email) and every later change. known is false for an email without an
/// account here: direct messages to it wait until someone signs in with it.
struct Presence
{
    User user;
    bool online = false;
    bool known = true;
};

/// error {code, message, request?, client_id?}
struct Error
{
    ErrorCode code = ErrorCode::InternalError;
    QString message;
    QString request;       ///< the type of the request that failed, when known
    QString clientId;      ///< the client_id of the failed send_message, when given
    QString room;          ///< the room a refused join_room or create_room named
    qint64 uploadId = 0;   ///< the upload a refusal ends, when it is one
    qint64 downloadId = 0; ///< the download a refusal ends, when it is one
};

} // namespace Natter::Protocol
