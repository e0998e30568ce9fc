#pragma once

#include "app/filetransferclient.h"
#include "app/serverconnection.h"
#include "common/codec.h"
#include "common/conversationlistmodel.h"
#include "common/messagelistmodel.h"
#include "common/user.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QSet>
#include <QTimer>
#include <QUrl>

#include <chrono>
#include <optional>

namespace Natter {

/// The chat protocol's client: signing in, and everything the user has open
/// on one server (rooms, direct conversations, their messages and members).
///
/// Its ServerConnection keeps the WebSocket up (certificate, timeouts,
/// backoff); on every (re)connection the client says hello, rejoins the open
/// rooms, reads what was missed (history after the last id it has) and
/// resends the outbox with the same client ids, so nothing is lost or
/// doubled. It knows nothing of widgets; the app wires its models and
/// signals to the window.
class ChatClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ChatClient)

public:
    enum class State
    {
        Offline,            ///< not connected and not trying (never started, or stopped)
        Connecting,         ///< opening the WebSocket / waiting for welcome
        Online,             ///< welcomed: requests flow
        WaitingToReconnect, ///< the connection dropped; the next attempt is scheduled
    };
    Q_ENUM(State)

    explicit ChatClient(QObject *parent = nullptr);
    ~ChatClient() override;

    /// Who signs in. Takes effect on the next hello.
    void setIdentity(const User &user);
    User identity() const { return m_identity; }
    /// The server's view of the user after welcome (email lowercased).
    User self() const { return m_self; }

    /// The password for the next sign-in only: it is forgotten at welcome,
    /// when the server's session token takes its place (tokenChanged()).
    void setPassword(const QString &password);
    bool hasPassword() const { return !m_password.isEmpty(); }
    /// A session token from an earlier sign-in (kept by the app in the keychain).
    void setToken(const QString &token);
    QString token() const { return m_token; }
    /// Shown in the account's device list on the server.
    void setDeviceName(const QString &device) { m_deviceName = device; }
    /// An invite code, for servers that create accounts only with one.
    void setInviteCode(const QString &code) { m_inviteCode = code; }
    /// The SHA-256 fingerprint (64 hex digits) that a wss:// server's
    /// certificate must have when the system does not trust it: pinned on
    /// first use, or carried by an invite link. Empty: ask (certificateNeedsApproval()).
    void setPinnedFingerprint(const QString &fingerprint) { m_connection->setPinnedFingerprint(fingerprint); }
    QString pinnedFingerprint() const { return m_connection->pinnedFingerprint(); }
    /// The fingerprint of the server's certificate on this connection; empty over ws://.
    QString certificateFingerprint() const { return m_connection->certificateFingerprint(); }
    bool isEncrypted() const { return m_connection->isEncrypted(); }

    /// The chat expected at the server (its server_id from an earlier welcome;
    /// empty: any). Another one is not resumed: differentServer() instead.
    void setExpectedServerId(const QString &serverId) { m_expectedServerId = serverId; }
    /// The server_id of the last welcome (empty from servers that send none).
    QString serverId() const { return m_serverId; }
    /// Forgets every open conversation's messages, unsent ones included
    /// (they belonged to a chat that is not there any more); returns how many
    /// unsent ones were dropped. The conversations stay open.
    int forgetMessages();

    /// Revokes this device's token on the server, forgets it and disconnects.
    void signOut();
    /// Answered by passwordChanged() or errorOccurred().
    void changePassword(const QString &current, const QString &replacement);

    /// The connection under the client (backoff, timeouts, certificate pinning).
    ServerConnection *connection() const { return m_connection; }
    /// Shares files and downloads them, over this client's connection.
    FileTransferClient *files() const { return m_files; }
    /// See ServerConnection::setReconnectDelays().
    void setReconnectDelays(std::chrono::milliseconds first, std::chrono::milliseconds longest)
    {
        m_connection->setReconnectDelays(first, longest);
    }
    /// How much one conversation's catching up (a resume's history pages) may
    /// read before it stops and says so: a server that always says there is
    /// more must not make the app read forever.
    void setCatchUpLimits(int messages, qint64 bytes)
    {
        m_catchUpMessages = messages;
        m_catchUpBytes = bytes;
    }
    /// How long to wait for the WebSocket handshake and welcome, and for a pong.
    void setTimeouts(std::chrono::milliseconds connect, std::chrono::milliseconds keepAlive)
    {
        m_connection->setTimeouts(connect, keepAlive);
    }

    void connectToServer(const QUrl &url);
    /// The other addresses of the chat at primary (natter --server A,B): see
    /// ServerConnection::setAlternateUrls().
    void setAlternateServers(const QUrl &primary, const QList<QUrl> &alternates)
    {
        m_connection->setAlternateUrls(primary, alternates);
    }
    /// Closes the connection and stops reconnecting.
    void disconnectFromServer();
    /// Skips the wait of WaitingToReconnect.
    void reconnectNow() { m_connection->reconnectNow(); }

    State state() const { return m_state; }
    QUrl serverUrl() const { return m_connection->url(); }
    QString serverName() const { return m_serverName; }
    QString serverSoftware() const { return m_serverSoftware; }
    const Protocol::ServerLimits &limits() const { return m_limits; }
    int reconnectAttempt() const { return m_connection->attempt(); }
    /// Milliseconds left before the next attempt (WaitingToReconnect only).
    qint64 millisecondsUntilReconnect() const { return m_connection->millisecondsUntilReconnect(); }
    /// Why the last connection failed or dropped, for the status line.
    QString lastError() const { return m_connection->lastError(); }

    ConversationListModel *conversations() const { return m_conversations; }
    /// The messages of an open conversation; nullptr if it is not open.
    MessageListModel *messages(const ConversationKey &key) const;

    /// Opens (joins) a room; lowercases the name. Returns false and emits
    /// errorOccurred() for a name the protocol refuses.
    bool openRoom(const QString &room);
    /// Creates a private room (members only, owned by this user) and opens it.
    bool createPrivateRoom(const QString &room);
    bool isPrivateRoom(const QString &room) const { return m_privateRoomOwners.contains(room); }
    QString roomOwner(const QString &room) const { return m_privateRoomOwners.value(room); }
    /// The owner of a private room makes someone a member / takes them out.
    void inviteToRoom(const QString &room, const QString &email);
    void removeFromRoom(const QString &room, const QString &email);
    /// Leaves a room and forgets its messages.
    void closeRoom(const QString &room);
    /// Opens the direct conversation with a user.
    bool openDirect(const QString &email, const QString &name = {});
    void closeDirect(const QString &email);
    /// Rooms and direct conversations open now.
    QList<ConversationKey> openConversations() const { return m_conversations->keys(); }

    QList<User> members(const QString &room) const { return m_members.value(room); }
    /// Display names of the others typing in the conversation now.
    QStringList typingUsers(const ConversationKey &key) const;

    /// Queues a message (shown at once as "sending") and sends it when
    /// online. Returns its client id; an empty string (and errorOccurred())
    /// when the text is blank or too long, so the composer can keep it.
    /// replyTo: a stored message of the same conversation it answers (0: none);
    /// mentions: the emails of the people it calls by name.
    QString sendMessage(const ConversationKey &key, const QString &text, qint64 replyTo = 0,
                        const QStringList &mentions = {});
    /// Puts back a message that was still unsent when the app last quit (its
    /// conversation is opened if needed); it goes out with its client id once
    /// online, so it is stored at most once.
    void restoreOutgoing(const Message &message);
    /// Every conversation's unsent messages, oldest first per conversation.
    QList<Message> allOutgoing() const;
    /// Sends a failed message again with its client id (a file goes on from
    /// where the server has it).
    void retry(const ConversationKey &key, const QString &clientId);

    /// Shares a file: it shows at once as a pending message with its progress
    /// (an image at its size), goes up in the background, resumes by itself
    /// after a reconnect and becomes a stored message once the server has it
    /// whole. Returns its client id; empty (and errorOccurred()) if the file
    /// cannot be read or is larger than the server takes.
    /// A file of this user's, shared from path in an earlier run: its card
    /// opens that copy (in every conversation, as its messages load).
    void rememberLocalFile(qint64 fileId, const QString &path);
    QString sendFile(const ConversationKey &key, const QString &path, const QString &caption = {},
                     qint64 replyTo = 0);
    /// Stops an upload and takes its pending message away.
    void cancelUpload(const ConversationKey &key, const QString &clientId);
    /// Downloads a message's file to path; the bubbles carrying it show the
    /// progress (fileDownloaded() or errorOccurred() ends it).
    void downloadFile(const Attachment &attachment, const QString &path);
    void cancelDownload(qint64 fileId);
    /// Tells the room (or the other person) this user is (not) typing; repeats are throttled.
    void setTyping(const ConversationKey &key, bool active);

    /// Changes one of the user's stored messages (message_edited comes back
    /// to every device and updates the model). False when not online or the
    /// text is blank or too long (errorOccurred() says why).
    bool editMessage(qint64 id, const QString &text, const QStringList &mentions = {});
    /// Deletes a stored message (own, or any in a private room the user owns).
    bool deleteMessage(qint64 id);
    /// Gives (on) or takes back an emoji on a stored message.
    bool react(qint64 id, const QString &emoji, bool on);
    /// The user has read a conversation up to id (unreadAfter of others'
    /// messages follow it): the server keeps it and the user's other devices
    /// follow. Never moves back. Sending a message moves it too.
    void markRead(const ConversationKey &key, qint64 id, int unreadAfter = 0, int mentionsAfter = 0);
    /// Mutes a conversation on every device of the user.
    void setMuted(const ConversationKey &key, bool muted);
    /// Makes a message of an open conversation loaded (messageShown() tells
    /// when): at once if it is, else the page around it replaces the loaded
    /// rows. False if offline and not loaded.
    bool showMessage(const ConversationKey &key, qint64 id);
    /// Back to the latest messages after showMessage() left them (the model hasNewer()).
    void showLatest(const ConversationKey &key);
    /// Searches everything the user may read (searchFinished() answers).
    bool search(const Protocol::SearchRequest &request);
    /// The read marker, unread count and mute the server keeps for the user.
    Protocol::ConversationState conversationState(const ConversationKey &key) const;
    /// The server keeps a read marker or mute for the conversation: its unread count is the server's.
    bool hasConversationState(const ConversationKey &key) const { return m_states.contains(key); }

    /// Asks for the rooms this user may join whose names start with prefix
    /// (roomsListed() answers); a page of Protocol::DefaultListLimit from offset.
    void listRooms(const QString &prefix, int offset = 0);
    /// Asks for the people with an account here matching prefix (peopleListed() answers).
    void listPeople(const QString &prefix, int offset = 0);
    /// What the server said of a user whose direct conversation is open:
    /// online now, and whether the email has an account here at all.
    /// nullopt until it said (the client watches every open direct conversation).
    std::optional<Protocol::Presence> presence(const QString &email) const;

Q_SIGNALS:
    /// A file the user shared from path is stored as fileId (to be remembered across restarts).
    void fileShared(qint64 fileId, const QString &path);
    void stateChanged(Natter::ChatClient::State state);
    /// Signed in (first time or after a reconnect).
    void welcomed();
    /// Something the user should read: a refused request, a lost connection.
    void errorOccurred(const QString &message);
    /// A download of downloadFile() is whole and checked at path.
    void fileDownloaded(const Natter::Attachment &attachment, const QString &path);
    void membersChanged(const QString &room);
    void typingChanged(const Natter::ConversationKey &key);
    void roomsListed(const Natter::Protocol::RoomList &list);
    void peopleListed(const Natter::Protocol::People &people);
    /// A watched user came online or went away (or the first answer came).
    void presenceChanged(const QString &email);
    /// New messages from someone else were pushed (not history): for unread
    /// counts and notifications. Once per conversation and batch: what came
    /// in one read from the socket is applied to the model as one insertion,
    /// after which this is emitted with those of others (oldest first).
    void messagesArrived(const Natter::ConversationKey &key, const QList<Natter::Message> &messages);
    /// Messages from others that were said while this client was away,
    /// read on resume (oldest first): unread, like pushed ones.
    void messagesMissed(const Natter::ConversationKey &key, const QList<Natter::Message> &messages);
    /// A conversation was opened because a message arrived in it.
    void conversationOpened(const Natter::ConversationKey &key);
    /// The server issued a token (store it), or it was refused or revoked (empty: forget it).
    void tokenChanged(const QString &token);
    /// The server refused the sign-in; the client stopped trying. Ask the user.
    void signInFailed(Natter::Protocol::ErrorCode code, const QString &message);
    void passwordChanged();
    /// by made us a member of a private room (now open).
    void roomInvitation(const QString &room, const Natter::User &by);
    /// The server confirms that member, whom we invited, is now a member of our private room.
    void memberInvited(const QString &room, const Natter::User &member);
    /// The owner of a private room removed us: it was closed.
    void removedFromRoom(const QString &room);
    /// The server refused to let us into a room (private, too many rooms, name taken): it was closed.
    void roomRefused(const QString &room);
    /// A wss:// server showed a certificate that neither the system trusts nor
    /// matches the pin: changed is false on first contact (ask the user),
    /// true when a pinned fingerprint differs (warn: someone may be in the
    /// middle). The client stopped; connectToServer() again after pinning.
    void certificateNeedsApproval(const QString &fingerprint, bool changed);
    /// A different chat (serverId) answered than the one expected: the client
    /// stopped without resuming anything. Ask; forgetMessages() before joining it.
    void differentServer(const QString &serverId);
    /// A loaded message was edited, deleted or reacted to (the model has it already).
    void messageChanged(const Natter::ConversationKey &key, const Natter::Message &message);
    /// showMessage()'s message is loaded in the conversation's model.
    void messageShown(const Natter::ConversationKey &key, qint64 id);
    /// The server refused a search (bad_query, rate_limited…): why, for the user.
    void searchFailed(const QString &message);
    /// The answer to search().
    void searchFinished(const Natter::Protocol::SearchResults &results);
    /// The read marker, unread count or mute of a conversation changed (on this or another device).
    void conversationStateChanged(const Natter::ConversationKey &key);

private:
    enum class HistoryKind
    {
        Latest, ///< the page join_room answers with, or a first direct read
        After,  ///< resume
        Before, ///< scrolling back
        Around, ///< a jump to a message that is not loaded
        Newer,  ///< scrolling down through history after a jump
    };
    struct LiveArrival
    {
        qint64 at = 0;      // when it arrived, ms of a steady clock
        qint64 stampMs = 0; // when natterd took it (ms since the epoch; 0: unknown)
        qint64 id = 0;
    };
    struct Conversation
    {
        MessageListModel *messages = nullptr; // child of the client
        qint64 wantedMessage = 0;             // showMessage() waits for the page around it
        QList<HistoryKind> pendingHistory;    // answered in order on one connection
        bool resumed = false;                 // messages were there before this connection
        bool createPrivate = false;           // the first entry creates it as a private room
        qint64 changeSeq = 0;                 // every change up to this one is in the model
        // The last messages that arrived live: a resume reads again from the
        // oldest of the last LiveOverlapMs, since with several natterd a
        // message may arrive a moment after a newer one (each natterd
        // publishes its own).
        QList<LiveArrival> recentLive;
        // Where a resume began whose pages have not all come: a resume on the
        // next connection starts there at the latest (what came live on the
        // way is newer than what the pages still owed).
        std::optional<qint64> unfinishedResume;
        // This catching up so far (pages of "after"): bounded by the limits.
        qint64 catchUpAfter = 0; // the id the last page was asked after
        int caughtUpMessages = 0;
        qint64 caughtUpBytes = 0;
    };
    static constexpr qint64 LiveOverlapMs = 2000;
    /// Whether older arrived within LiveOverlapMs of newest: by this app's
    /// clock, or by natterd's stamps (a stalled app, a suspended laptop, reads
    /// in one go what natterd sent over seconds: the messages just before the
    /// stall still count as the last moment's).
    static bool overlaps(const LiveArrival &older, const LiveArrival &newest);
    /// Where the resume of conversation starts: after its newest message but
    /// for those that arrived within LiveOverlapMs of the newest arrival.
    static qint64 resumePoint(const Conversation &conversation);

    void setState(State state);
    void onConnectionStateChanged(ServerConnection::State state);
    void onConnected();
    void onDisconnected();
    void onTextMessage(const QString &text);
    /// The longest text shown: the server's limit, at most 100,000 characters.
    qsizetype textCeiling() const;
    /// Cuts every message text in frame to textCeiling() ("…" says so).
    void capTexts(Codec::ServerFrame &frame) const;
    void forgetConnectionState();

    void handle(const Protocol::Welcome &welcome);
    void handle(const Protocol::UserJoined &joined);
    void handle(const Protocol::UserLeft &left);
    void handle(const Protocol::Members &members);
    void handle(const Protocol::History &history);
    void handle(const Protocol::ReceiveMessage &receive);
    /// Applies the pushed messages held for this pass to their models (one
    /// insertion per conversation). Called at the end of the pass, and before
    /// anything that must see them (another frame, a state change).
    void applyArrivals();
    void handle(const Protocol::TypingNotice &typing);
    void handle(const Protocol::RoomList &list) { Q_EMIT roomsListed(list); }
    void handle(const Protocol::People &people) { Q_EMIT peopleListed(people); }
    void handle(const Protocol::Presence &presence);
    /// Tells the server whose presence to report: the people of the open direct conversations.
    void watchDirectPeople();
    void handle(const Protocol::Error &error);
    void handle(const Protocol::PasswordChanged &changed);
    void handle(const Protocol::RoomInvitation &invitation);
    void handle(const Protocol::MessageChange &change);
    void handle(const Protocol::Changes &changes);
    void handle(const Protocol::ReadMarker &marker);
    void handle(const Protocol::Muted &muted);
    void handle(const Protocol::SearchResults &results) { Q_EMIT searchFinished(results); }
    void handle(const Protocol::UploadReady &ready);
    void handle(const Protocol::UploadComplete &complete);
    void handle(const Protocol::DownloadReady &ready);
    void handle(const Protocol::DownloadDone &done);
    void setConversationState(const Protocol::ConversationState &state);
    /// Not blank and within the server's length; says why not (errorOccurred()).
    bool isSendable(const QString &text);
    static ConversationKey keyOf(const QString &room, const QString &with);

    Conversation &addConversation(const ConversationKey &key, const QString &title);
    void removeConversation(const ConversationKey &key);
    /// Opens a room; createPrivate: its first entry creates it as a private room.
    bool enterRoom(const QString &room, bool createPrivate);
    void subscribe(const ConversationKey &key, Conversation &conversation);
    void requestHistory(const ConversationKey &key, HistoryKind kind, qint64 id = 0);
    void sendOutbox(const ConversationKey &key, const Message &message);
    void watchTransfers();
    /// Speed of a transfer, and whether the bubble should be told now
    /// (at most ten times a second, and at the end).
    bool meter(const QString &id, qint64 done, qint64 total, qint64 *bytesPerSecond);
    void showDownload(qint64 fileId, const Transfer &transfer);
    void send(const Codec::ClientFrame &frame);
    bool isOnline() const { return m_state == State::Online; }
    void clearTyping();

    ServerConnection *m_connection;
    FileTransferClient *m_files;
    State m_state = State::Offline;
    User m_identity;
    User m_self;
    QString m_password;
    QString m_token;
    QString m_deviceName;
    QString m_inviteCode;
    QString m_expectedServerId;
    QString m_serverId;
    QString m_serverName;
    QString m_serverSoftware;
    Protocol::ServerLimits m_limits;

    ConversationListModel *m_conversations;
    QHash<ConversationKey, Conversation> m_open;
    QHash<QString, QList<User>> m_members;                        // by room
    QHash<QString, QString> m_privateRoomOwners;                  // private rooms open now -> owner email
    QHash<ConversationKey, Protocol::ConversationState> m_states; // read markers, unread, mutes
    QHash<ConversationKey, QHash<QString, QString>> m_typing;     // conversation -> email -> name
    QHash<ConversationKey, QElapsedTimer> m_typingSent;           // conversation -> since our last "active"
    QHash<QString, Protocol::Presence> m_presence;                // email -> as last reported
    QStringList m_watched;                        // the emails watch_presence gave on this connection
    QHash<QString, ConversationKey> m_outboxKeys; // client id -> conversation
    QHash<QString, QString> m_uploadPaths;        // client id of an outbox file -> its path
    QHash<qint64, QString> m_localFiles;          // file id -> a local copy the user shared it from
    QHash<qint64, Attachment> m_downloading;      // file id -> what downloadFile() was given
    struct Meter
    {
        QElapsedTimer clock;
        qint64 bytes = 0;    // at the clock's last restart
        qint64 shownMs = -1; // when the bubble was last told
        double rate = 0;
    };
    QHash<QString, Meter> m_meters; // "u" + client id, "d" + file id
    QTimer m_typingExpiry;
    QList<ConversationKey> m_arrivalOrder;             // conversations with arrivals, first first
    QHash<ConversationKey, QList<Message>> m_arrivals; // pushed in this pass, not in a model yet
    bool m_arrivalsQueued = false;
    /// Read markers go out together a moment after reading stops (each is a write on the server).
    QTimer m_markTimer;
    QHash<ConversationKey, qint64> m_unsentMarks;
    void sendReadMarks();
    QHash<ConversationKey, QHash<QString, qint64>> m_typingSince; // conversation -> email -> ms of m_clock
    QElapsedTimer m_clock;
    int m_catchUpMessages = 20'000;
    qint64 m_catchUpBytes = 128LL * 1024 * 1024;
};

} // namespace Natter
