#pragma once

#include "common/codec.h"
#include "server/loginthrottle.h"
#include "server/messagestore.h"
#include "server/ratelimiter.h"
#include "server/serverconfig.h"

#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>

#include <functional>
#include <limits>
#include <memory>

namespace Natter {

class ClientSession;
class Connection;
class FileTransfers;
class Transport;
class PasswordHasher;
class RedisBus;
class StoreReaders;
class StoreWriter;
struct AppendReport;

/// The chat server: signs clients in, keeps who is in which room, stores
/// every accepted message and pushes it to everyone concerned once it is
/// committed. The observer of the design: sessions subscribe by joining
/// rooms and saying hello; the server fans events out to them. The bytes
/// below the chat protocol (TLS, handshakes, limits, heartbeats, batching)
/// are its Transport's.
///
/// Single-threaded: everything runs in the thread that owns the server.
class ChatServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ChatServer)

public:
    ChatServer(ServerConfig config, std::unique_ptr<MessageStore> store, QObject *parent = nullptr);
    ~ChatServer() override;

    /// Starts listening on config().host:config().port (port 0 picks a free one).
    bool listen();
    QString errorString() const { return m_errorString; }
    quint16 serverPort() const;
    QHostAddress serverAddress() const;
    bool isTls() const;
    /// In a cluster (--redis): linked to the others now.
    bool isClusterConnected() const;
    /// The served certificate's SHA-256 (64 hex digits); empty without TLS.
    QString tlsFingerprint() const;
    /// Serves new connections with another certificate (SIGHUP); open ones keep theirs.
    void reloadTls(const TlsIdentity &identity);
    const ServerConfig &config() const { return m_config; }

    int sessionCount() const { return int(m_sessions.size()); }
    int onlineUserCount() const { return int(m_users.size()); }
    /// Open TCP connections, handshakes and refused ones still closing included.
    int connectionCount() const;

    /// Closes every client with 1001 (going away) after storing what was
    /// accepted; emits shutdownFinished() once all are gone or the grace
    /// period ran out.
    void shutdown();

    /// "natterd X.Y.Z"
    static QString versionString();

    /// Creates the account if needed (without a password) and a device token
    /// for it: how the desktop app signs its own user in to the chat it hosts.
    /// Returns the token, or an empty string if the store failed.
    QString issueToken(const User &user, const QString &device);
    /// A new invite code for uses accounts, valid for validity; empty if the store failed.
    QString createInvite(int uses, std::chrono::seconds validity);

    /// Checks accounts and tokens again now (the server also does so every
    /// second when another process changed them): connections of disabled
    /// accounts and of revoked tokens are closed.
    void applyAccountChanges();

    /// The milliseconds of the server's monotonic clock, moved forward by
    /// offsetMs: lets tests pass the sign-in lockout without sleeping.
    void advanceClockForTesting(qint64 offsetMs) { m_clockOffsetMs += offsetMs; }

Q_SIGNALS:
    void sessionOpened();
    void sessionClosed();
    /// A run of --retention-days deletion has finished.
    void retentionApplied();
    void shutdownFinished();

private:
    struct UserState
    {
        User user;
        QList<ClientSession *> sessions;
    };
    struct Room
    {
        QList<ClientSession *> sessions;        // broadcast order is no promise: removal swaps in the last
        QHash<ClientSession *, qsizetype> slot; // where each session is in sessions
        QHash<QString, int> connectionsByUser;  // email -> sessions of that user in the room
        bool isPrivate = false;                 // read from the store when the room is entered
        QString owner;
        /// In a cluster: the members on other natterd (email -> natterd -> user there).
        QHash<QString, QHash<QByteArray, User>> remote;
        void add(ClientSession *session);
        void remove(ClientSession *session);
        /// A member here or on another natterd.
        bool hasMember(const QString &email) const
        {
            return connectionsByUser.contains(email) || remote.contains(email);
        }
    };
    QHash<QString, QList<User>> m_departures; // room -> members gone in this pass
    bool m_departuresQueued = false;
    QTimer m_retentionTimer;
    qint64 m_retentionDeleted = 0;   // in this run of batches
    bool m_retentionRunning = false; // a batch is with the store
    static constexpr int RetentionBatch = 1000;
    QHash<QString, int> m_heldCounts; // recipient -> messages held for them, as last counted
    /// Everyone who may have held messages (a superset: retention may have
    /// taken some); nullopt when the store cannot say, then every sign-in looks.
    std::optional<QSet<QString>> m_mayHaveHeld;
    bool m_heldRecipientsRead = false;
    struct PendingSend
    {
        QPointer<ClientSession> origin;
        Message message;
    };

    void onConnectionOpened(Connection *connection);
    void sweep();
    void onTextFrame(ClientSession *session, const QByteArray &utf8);
    void dispatch(ClientSession *session, const QByteArray &utf8);
    void handleFrame(ClientSession *session, const Codec::ClientFrame &frame);
    /// Whether a frame must wait until its connection's messages are
    /// committed: all but a plain send_message and typing.
    static bool waitsForCommit(const Codec::ClientFrame &frame);
    /// Handles a session's frames that waited for its messages to be committed.
    void runFramesWaitingForCommit(ClientSession *session);
    void onDisconnected(ClientSession *session);

    void handle(ClientSession *session, const Protocol::Hello &hello);
    void handle(ClientSession *session, const Protocol::JoinRoom &join);
    void handle(ClientSession *session, const Protocol::LeaveRoom &leave);
    void handle(ClientSession *session, const Protocol::SendMessage &send);
    void handle(ClientSession *session, const Protocol::HistoryRequest &request);
    void handle(ClientSession *session, const Protocol::TypingRequest &typing);
    void handle(ClientSession *session, const Protocol::SignOut &signOut);
    void handle(ClientSession *session, const Protocol::ChangePassword &change);
    void handle(ClientSession *session, const Protocol::CreateRoom &create);
    void handle(ClientSession *session, const Protocol::InviteToRoom &invite);
    void handle(ClientSession *session, const Protocol::RemoveFromRoom &remove);
    void handle(ClientSession *session, const Protocol::ListRooms &list);
    void handle(ClientSession *session, const Protocol::ListPeople &list);
    void handle(ClientSession *session, const Protocol::WatchPresence &watch);
    // Changes to messages and per-user conversation state (conversationchanges.cpp).
    void handle(ClientSession *session, const Protocol::EditMessage &edit);
    void handle(ClientSession *session, const Protocol::DeleteMessage &remove);
    void handle(ClientSession *session, const Protocol::React &react);
    void handle(ClientSession *session, const Protocol::MarkRead &mark);
    void handle(ClientSession *session, const Protocol::MuteRequest &mute);
    void handle(ClientSession *session, const Protocol::ChangesRequest &request);
    void handle(ClientSession *session, const Protocol::SearchRequest &search);
    // Files (filetransfers.cpp).
    void handle(ClientSession *session, const Protocol::UploadBegin &begin);
    void handle(ClientSession *session, const Protocol::UploadDone &done);
    void handle(ClientSession *session, const Protocol::UploadCancel &cancel);
    void handle(ClientSession *session, const Protocol::DownloadRequest &request);
    void handle(ClientSession *session, const Protocol::DownloadCancel &cancel);
    /// Whether the session may say text in a room or to someone now (the room
    /// joined here, the text short enough, a reply to a message of the same
    /// conversation); otherwise answers request with an error.
    bool checkSendable(ClientSession *session, const QString &room, const QString &to, qint64 replyTo,
                       const QString &text, QLatin1String request, const QString &clientId);
    /// Queues an accepted message for the next group commit; it is pushed once stored.
    void enqueueSend(ClientSession *session, Message message);
    /// The message id names if this connection may read it (its room joined
    /// here, or a direct message of this user) and it is not deleted;
    /// otherwise answers request with an error and returns nullopt.
    std::optional<Message> readableMessage(ClientSession *session, qint64 id, QLatin1String request,
                                           const QString &clientId = {});
    /// Pushes a changed message to every connection here that can read its
    /// conversation (onlyReader: to that user's only), each with its reader's
    /// own view of the reactions; and (fromCluster false) to the cluster.
    /// Pushes a reaction change at the end of this pass, with the others of
    /// the same message (the latest state once).
    void pushReactionsLater(const Protocol::MessageChange &change);
    void pushPendingReactions();
    void pushChange(const Protocol::MessageChange &change, const QString &onlyReader = {},
                    bool fromCluster = false);

    // The cluster (cluster.cpp): what happens here is published once per
    // event on the channel of its room or of each user it is for; each
    // natterd subscribes to the rooms and users it has connections of, and
    // delivers what others publish to them.
    void followRoom(const QString &room, bool follow);
    void followUser(const QString &email, bool follow);
    void follow(const QByteArray &channel, bool follow);
    /// The user's last connection here closed: their channel is followed a
    /// while longer (clusterDeadAfter), and a direct message that comes for
    /// them meanwhile (sent by a natterd that still saw them here) is held
    /// for them here unless they are online on another natterd.
    void unfollowUserLater(const QString &email);
    void holdForAbsentRecipient(const QString &email, const Message &message);
    QHash<QString, qint64> m_unfollowAt; ///< email -> when its channel may be left (ms)
    /// What this natterd delivered of a room's messages, or of one user's
    /// direct ones, lately: every id above floor is in recent (ms, id).
    struct DeliveryLog
    {
        qint64 floor = 0;
        QList<std::pair<qint64, qint64>> recent;
    };
    QHash<QString, DeliveryLog> m_roomDeliveries;   ///< room -> log
    QHash<QString, DeliveryLog> m_directDeliveries; ///< email -> log of their direct messages
    void noteDelivered(DeliveryLog &log, qint64 id);
    /// Notes id in the log of key, if there is one (a room or person here).
    void noteDelivered(QHash<QString, DeliveryLog> &logs, const QString &key, qint64 id)
    {
        if (const auto log = logs.find(key); log != logs.end())
            noteDelivered(*log, id);
    }
    /// A room or person newly here: what came before now, the join's history
    /// or the held messages bring.
    void startDeliveryLog(QHash<QString, DeliveryLog> &logs, const QString &key);
    /// A natterd died (it may have committed messages it never published) or
    /// Redis came back (what others published meanwhile was not heard): the
    /// messages of every room and person here that this natterd did not
    /// deliver are read from the database and delivered now.
    void catchUpWithCluster(const char *why);
    bool m_clusterWasLinked = false; ///< Redis was reached once: a link after is a return
    /// The messages after log's floor that it does not list, oldest first.
    template<typename Read>
    void catchUp(DeliveryLog &log, Read read, const QList<ClientSession *> sessions);
    /// If this natterd's subscription to room is not confirmed yet, runs then
    /// (holding session's later requests until it has) and returns true:
    /// a join's history is read only once every newer message will arrive.
    bool whenFollowing(const QString &room, ClientSession *session,
                       std::function<void(ClientSession *)> then);
    void publishMessage(const Message &message, const QByteArray &json, bool held);
    void publishChange(const Protocol::MessageChange &change);
    void publishTyping(const Protocol::TypingNotice &notice);
    // Room members across the cluster: each natterd publishes who is first
    // in or last out of a room on it, and everyone it has in a room when it
    // starts following the room (the others answer with theirs).
    void publishMembership(const QString &room, const User &user, bool joined);
    void publishRoomMembers(const QString &room, char kind);
    void mergeRemoteMembers(const QByteArray &instance, const Protocol::Members &members);
    /// A room member removed by its owner: their connections on every natterd leave.
    void publishRemoval(const QString &room, const User &user);
    /// A frame for every connection of one user, on whichever natterd (a read
    /// marker, a mute, an invitation).
    void publishToUser(const QString &email, const QByteArray &json);
    /// The user's tokens changed (password changed): every natterd closes the
    /// user's connections whose token is gone.
    void publishTokensChanged(const QString &email);
    /// false if the store could not be read.
    bool closeRevokedSessionsOf(const QString &email);
    void publish(const QByteArray &channel, char kind, const QByteArray &flags, const QByteArray &json);
    void onClusterMessage(const QByteArray &channel, const QByteArray &payload);
    // Presence across the cluster: each natterd publishes who comes and goes
    // on it, a heartbeat, and (when asked, after a reconnect) everyone it
    // has; a natterd not heard of for clusterDeadAfter is taken for dead.
    void onPresenceMessage(const QByteArray &payload);
    void publishPresence(const QByteArray &line);
    void publishPresenceState();
    void presenceHeartbeat();
    /// One person came or went on this natterd: the cluster hears of it, and
    /// watchers here of a change for the cluster as a whole.
    void localPresenceChanged(const User &user, bool online);
    /// Another natterd's person came (name non-empty) or went.
    void remotePresence(const QByteArray &instance, const QString &email, const QString &name, bool online);
    void forgetInstance(const QByteArray &instance);
    bool isOnlineAnywhere(const QString &email) const;
    QHash<QString, QHash<QByteArray, QString>> m_remoteOnline; ///< email -> natterd -> name there
    QHash<QByteArray, qint64> m_instancesHeard;                ///< natterd -> when last heard (ms)
    QTimer m_heartbeatTimer;
    RedisBus *m_cluster = nullptr;
    QByteArray m_instanceId; ///< random, per process: what this natterd published comes back to it
    /// The message as reader sees it: whether they reacted, and at most
    /// MaxReactionUsers names per emoji.
    static void personalize(Message *message, const QString &reader);
    static void personalize(QList<Message> *messages, const QString &reader);
    /// A change for the store's writer connection; what it returns runs on
    /// the event loop with the session that asked (nullptr if it has gone).
    using StoreJob = std::function<std::function<void(ClientSession *)>(MessageStore &)>;
    /// Runs job off the event loop (on the writer's thread, when there is
    /// one) and then its answer, in order with the session's other answers:
    /// the session's later requests wait for it as they do for its messages,
    /// and a stalled disk holds up no one else.
    void changeStore(ClientSession *session, StoreJob job);
    /// changeStore() for a store call that answers an optional: if it has
    /// none, the session is refused request (storage_full or
    /// internal_error); otherwise done(session, value) runs on the event loop.
    template<typename Write, typename Done>
    void changeStore(ClientSession *session, QLatin1String request, Write write, Done done);
    /// Lets what waited for the session's write go on.
    void settle(ClientSession *session);
    /// The last change sequence number the store reported committed.
    qint64 lastChangeSeq() const;
    /// Answers a refused store write: storage_full or internal_error.
    void refuseStoreFailure(ClientSession *session, QLatin1String request, const StoreFailure &failure,
                            const QString &clientId = {});
    /// The conversation a request names: a room joined on this connection
    /// (else not_in_room is answered) or the direct one with an email.
    std::optional<ConversationId> requestedConversation(ClientSession *session, const QString &room,
                                                        const QString &with, QLatin1String request);
    Protocol::Presence presenceOf(const QString &email) const;
    /// Tells the connections watching user that they came online or went away.
    void announcePresence(const User &user, bool online);
    /// The private room's access for an owner's request; nullopt (and an error sent) otherwise.
    std::optional<RoomAccess> ownedPrivateRoom(ClientSession *session, const QString &room,
                                               QLatin1String request);

    void signInWithToken(ClientSession *session, const Protocol::Hello &hello, const QString &email);
    void signInWithPassword(ClientSession *session, const Protocol::Hello &hello, const QString &email);
    void registerAccount(ClientSession *session, const Protocol::Hello &hello, const QString &email);
    /// Answers a hello with an error; bad_credentials for a password given
    /// for guessedEmail counts towards the lockouts of the address, the
    /// account and both (a token that is not valid does not: nobody guesses 256 bits).
    void refuseSignIn(ClientSession *session, Protocol::ErrorCode code, const QString &message,
                      const QString &guessedEmail = {});
    /// Whether a password sign-in (or check) for email from the session's
    /// address may go on; answers too_many_attempts if not.
    bool mayTryPassword(ClientSession *session, const QString &email, QLatin1String request);
    void recordWrongPassword(ClientSession *session, const QString &email);
    /// An account write nobody waits for (a token's last use, a new name):
    /// done by the writer thread when there is one.
    void writeAccountsLater(std::function<void(AccountStore &)> write);
    void handOverAccountWrites();
    void completeSignIn(ClientSession *session, const Protocol::Hello &hello, const Account &account,
                        qint64 tokenId, const QString &newToken);
    QString badCredentialsMessage() const;
    /// Closes (1008, reason) the connections of email for which which() is true.
    void closeSessionsOf(const QString &email, const QString &reason,
                         const std::function<bool(const ClientSession *)> &which);
    void sendHistory(ClientSession *session, const HistoryQuery &query, QLatin1String request);
    /// Keeps as many messages of a history page as fit the page budget, in
    /// the reading direction (forward: oldest first), setting hasMore if any are left.
    void trimToBudget(QList<Message> *messages, bool *hasMore, bool forward) const;
    /// Trims a page read around an id from whichever end is farther from it.
    void trimAroundToBudget(QList<Message> *messages, qint64 around, bool *hasMore, bool *hasNewer) const;
    qint64 pageBudget() const;
    /// Takes cost tokens (a message: 1; a request that costs the server more:
    /// more) from the session's account and address budgets; answers
    /// rate_limited and says false when they are spent.
    bool takeRateToken(ClientSession *session, const QString &request, const QString &clientId,
                       double cost = 1.0);
    /// A read that runs on a reader thread (with its own connection to the
    /// store, within the time limit) and hands back what to do with its
    /// result on the event loop.
    using ReadJob = std::function<std::function<void()>(MessageStore &)>;
    /// Runs job off the event loop (here and now without reader threads),
    /// then its completion, if the session is still open; the session's
    /// next frames wait for it. When the readers are busy, answers request
    /// rate_limited instead.
    void readOffLoop(ClientSession *session, QLatin1String request, ReadJob job);
    /// The account's and the address's rate budgets of a session.
    std::pair<TokenBucket *, TokenBucket *> rateBucketsOf(ClientSession *session);
    /// Takes weight tokens from both, into debt if need be: for what an answer turned out to cost.
    void chargeRate(ClientSession *session, double weight);
    /// Takes units of text from the sender's account's and address's hourly
    /// write budgets and, for a direct message to an address without an
    /// account (held until it is claimed), one from the sender's budget for
    /// those; answers rate_limited and says false when one is spent.
    bool takeWriteBudget(ClientSession *session, const QString &to, qsizetype units, const QString &clientId);
    /// What a directory page costs: the rows the store skips to reach it.
    double directoryCost(int offset) const;
    void removeFromRoom(ClientSession *session, const QString &room);
    /// Sends the user_left frames of this pass's departures from room (all
    /// rooms if empty) to who is still there. Deferred to the end of the pass:
    /// when a thousand connections drop at once, most would-be recipients
    /// are leaving too, and each would have been told of every other.
    void flushDepartures(const QString &room = {});
    /// Deletes a batch of messages past --retention-days; goes on in the next
    /// pass while there are more.
    void applyRetention();
    void retentionBatchDone(std::optional<int> deleted, const StoreFailure &failure);
    /// Sends the direct messages held for the session's user, a page at a
    /// time while its connection keeps up.
    void deliverHeld(ClientSession *session, qint64 afterId = 0);
    /// Reads up to limit of the messages held for email past afterId; nullopt (logged) if the store failed.
    std::optional<QList<Message>> readHeld(const QString &email, qint64 afterId, int limit);
    /// The held messages were delivered: released on the writer's thread (or now, without one).
    void releaseHeldOnes(const QString &email, const QList<Message> &delivered);
    /// Direct messages for email were put into the held table.
    void noteHeld(const QString &email);
    /// Messages held for recipient (cached; nullopt if the store cannot say).
    std::optional<int> heldCount(const QString &recipient);
    QList<User> membersOf(const Room &room) const;
    /// Hands the accepted messages to the store (the writer thread's, when
    /// there is one and it is not busy; else stored here and now).
    void flushPendingSends();
    /// Flushes at the end of this pass, or when the commit window since the last commit has passed.
    void scheduleFlush();
    void onAppended(const AppendReport &report);
    /// Pushes a batch the store reported on (or refuses it).
    void completeBatch(const QList<PendingSend> &batch, const QList<MessageDraft> &drafts,
                       const AppendReport &report);
    /// Counts sends as done for their connections and lets what waited for them go on.
    void settle(const QList<PendingSend> &sends);
    /// Sends the direct messages held for an online user to all their connections.
    void releaseHeld(const QString &email);
    void deliver(const Message &message, const QByteArray &wireFrame, bool toRecipient = true);
    static void sendToAll(const QList<ClientSession *> &sessions, const QByteArray &wireFrame);
    qint64 nowMs() const { return m_clock.elapsed() + m_clockOffsetMs; }

    friend class FileTransfers;

    ServerConfig m_config;
    std::unique_ptr<MessageStore> m_store;
    std::unique_ptr<StoreWriter> m_writer;   // commits messages off the event loop; none for ":memory:"
    std::unique_ptr<StoreReaders> m_readers; // the expensive reads, off the event loop; none for ":memory:"
    QList<std::function<void(AccountStore &)>> m_accountWrites; // for the writer, at the end of this pass
    FileTransfers *m_files; // a child; declared after m_store, which it uses
    Transport *m_transport;
    QString m_errorString;
    QElapsedTimer m_clock;
    QTimer m_sweepTimer;
    QTimer m_shutdownTimer;
    QTimer m_commitTimer;
    QTimer m_accountWatchTimer;
    qint64 m_accountChanges = -1;
    qint64 m_clockOffsetMs = 0;
    PasswordHasher *m_hasher;
    LoginThrottle m_throttle;                      ///< wrong passwords per address, any account
    LoginThrottle m_pairThrottle;                  ///< ... per address and account
    AccountPacer m_accountPacer;                   ///< ... per account, from anywhere
    QHash<QString, TokenBucket> m_accountBuckets;  // by email: outlive connections
    QHash<QString, TokenBucket> m_addressBuckets;  // by IP address
    QHash<QString, TokenBucket> m_writeBudgets;    // text stored, by email and by "@" + address
    QHash<QString, TokenBucket> m_strangerBudgets; // held messages to unclaimed addresses, by sender
    qint64 m_lastCommitNs = std::numeric_limits<qint64>::min() / 2;

    QSet<ClientSession *> m_sessions;
    QHash<QString, UserState> m_users;                // online users by email
    QHash<QString, Room> m_rooms;                     // rooms with at least one member
    QHash<QString, QSet<ClientSession *>> m_watchers; // email -> connections watching its presence
    QList<PendingSend> m_pendingSends;                // accepted, not yet handed to the store
    QList<PendingSend> m_sendsInFlight;               // with the writer thread
    QList<MessageDraft> m_draftsInFlight;
    QHash<QString, int> m_heldInFlight; // recipient -> messages held for them with the writer thread
    bool m_flushScheduled = false;
    qint64 m_lastChangeSeq = 0; // reported by changes through the writer
    /// Reaction changes of this pass, by message: each frame carries the
    /// whole message, so only its latest state goes out, once, at the end of
    /// the pass (50 people reacting to one message sent it 50 times to every reader).
    QHash<qint64, Protocol::MessageChange> m_pendingReactions;
    quint64 m_searchCount = 0; // numbers each search, so that a cursor names the one it pages
    bool m_shuttingDown = false;
};

} // namespace Natter
