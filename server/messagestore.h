#pragma once

#include "common/message.h"
#include "common/protocol.h"
#include "common/searchsyntax.h"
#include "server/accountstore.h"

#include <QList>
#include <QSet>
#include <QString>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace Natter {

/// One conversation: a room, or the direct conversation of two users.
struct ConversationId
{
    QString room;         ///< a room, or
    QString userA, userB; ///< the two people of a direct conversation (userA: the one asking)
    bool isDirect() const { return room.isEmpty(); }
    static ConversationId ofRoom(const QString &room) { return {room, {}, {}}; }
    static ConversationId between(const QString &a, const QString &b) { return {{}, a, b}; }
    /// The conversation a message belongs to, seen by viewer (who must be in it).
    static ConversationId of(const Message &message, const QString &viewer);
};

inline ConversationId ConversationId::of(const Message &message, const QString &viewer)
{
    if (!message.isDirect())
        return ofRoom(message.room);
    return between(viewer, message.from.email == viewer ? message.to : message.from.email);
}

/// Which slice of one conversation's history to read.
struct HistoryQuery
{
    QString room;                 ///< a room's history, or
    QString userA, userB;         ///< the direct conversation of two users
    std::optional<qint64> before; ///< only ids below this (older page), or
    std::optional<qint64> after;  ///< only ids above this (resume), or
    int limit = Protocol::DefaultHistoryLimit;
    std::optional<qint64> around = std::nullopt; ///< a page centred on this id, or none: the latest
};

struct HistoryPage
{
    QList<Message> messages; ///< oldest first, in their current state
    bool hasMore = false;    ///< more exist beyond the page in the direction read (older, for around)
    bool hasNewer = false;   ///< around: newer messages follow the page
};

/// The messages of one conversation changed after a change sequence number.
struct ChangesQuery
{
    ConversationId conversation;
    qint64 after = 0;
    int limit = Protocol::DefaultChangesLimit;
};

struct ChangesPage
{
    QList<Message> messages; ///< current state, in change order
    QList<qint64> seqs;      ///< the change sequence number of each
    qint64 lastSeq = 0;      ///< the change sequence number of the last one
    bool hasMore = false;
};

/// A full-text search over what one user may read.
struct SearchQuery
{
    QString reader;                     ///< the user searching: their direct conversations are searched
    QStringList rooms;                  ///< the rooms they may read (joined, or private ones they belong to)
    std::optional<ConversationId> only; ///< just this conversation
    QList<SearchSyntax::Term> terms;    ///< all must match
    QString from;                       ///< only from this email
    qint64 beforeMs = 0;                ///< 0: no bound
    qint64 afterMs = 0;                 ///< 0: no bound
    int limit = Protocol::MaxSearchResults;
};

/// A message after an edit, a deletion or a reaction.
struct MessageUpdate
{
    Message message;      ///< as it is now; reactions list every user (the server personalises them)
    qint64 changeSeq = 0; ///< the change's sequence number (0 if nothing changed)
    bool changed = false; ///< false: it was so already (a reaction given twice)
};

/// A message the server accepted, to be stored.
struct MessageDraft
{
    Message message;               ///< without id and timestamp
    bool holdForRecipient = false; ///< a direct message whose recipient is offline
};

struct StoredMessage
{
    Message message;
    bool duplicate = false; ///< the sender's client_id was stored before: this is the original
};

/// An upload under way: what upload_begin announced, kept so that it can
/// resume after a reconnect or a restart of the server.
struct UploadRecord
{
    qint64 id = 0;
    QString sender;     ///< email
    QString senderName; ///< as they were named when it began
    QString clientId;
    QString room; ///< the conversation its message goes to (neither for a thumbnail)
    QString to;
    QString name;
    qint64 size = 0;
    QString sha256;
    QString mime;
    QString text;
    qint64 replyTo = 0;
    ImageInfo image{};
    bool thumbnail = false;
    qint64 startedMs = 0;
};

/// A file kept whole: its bytes live in the file vault under their SHA-256.
struct FileRecord
{
    qint64 id = 0;
    QString sha256;
    qint64 size = 0;
    QString mime;
    QString owner; ///< who uploaded it first
};

/// Where messages live. The server talks to this interface only, so another
/// store (another database, an in-memory one) can be added without touching it.
class MessageStore
{
public:
    virtual ~MessageStore() = default;

    /// Stores a batch in one transaction and returns it with ids and
    /// timestamps, in order. Ids are strictly increasing. A draft whose sender
    /// and client id are already stored is not stored again; the original is
    /// returned with duplicate set. On failure nothing is stored.
    virtual std::optional<QList<StoredMessage>> append(const QList<MessageDraft> &drafts) = 0;

    virtual std::optional<HistoryPage> history(const HistoryQuery &query) = 0;

    /// Up to limit of the direct messages held for an offline recipient with
    /// ids above afterId, oldest first. They stay held until released.
    virtual std::optional<QList<Message>> heldDirectMessages(const QString &recipient, qint64 afterId,
                                                             int limit) = 0;
    /// The messages (ids) were delivered: they are not held any more.
    virtual bool releaseHeldDirectMessages(const QString &recipient, const QList<qint64> &ids) = 0;
    /// Reads and releases up to limit of the messages held for recipient.
    std::optional<QList<Message>> takeHeldDirectMessages(const QString &recipient, int limit)
    {
        std::optional<QList<Message>> held = heldDirectMessages(recipient, 0, limit);
        if (!held || held->isEmpty())
            return held;
        QList<qint64> ids;
        for (const Message &message : std::as_const(*held))
            ids.append(message.id);
        if (!releaseHeldDirectMessages(recipient, ids))
            return std::nullopt;
        return held;
    }

    /// Deletes up to batch of the oldest messages sent before cutoffMs (ms
    /// since the epoch, UTC), held direct messages among them; returns how
    /// many went. Called in small batches so the server keeps serving.
    virtual std::optional<int> deleteOlderThan(qint64 cutoffMs, int batch) = 0;

    /// How many direct messages are held for recipient.
    virtual std::optional<int> heldCount(const QString &recipient) = 0;
    /// The direct messages to or from email with ids above afterId, oldest
    /// first, at most limit (a cluster's catch-up; nullopt: failed or not kept).
    /// The newest id in the store now, whoever wrote it (lastId() is this store's own).
    virtual std::optional<qint64> newestId() { return lastId(); }
    virtual std::optional<QList<Message>> directMessagesAfter(const QString &email, qint64 afterId, int limit)
    {
        Q_UNUSED(email)
        Q_UNUSED(afterId)
        Q_UNUSED(limit)
        return std::nullopt;
    }
    /// Everyone with direct messages held now; nullopt if a store cannot say.
    virtual std::optional<QSet<QString>> heldRecipients() { return std::nullopt; }
    /// Holds stored direct messages for recipient after all (they went
    /// offline before the messages were committed).
    virtual bool holdDirectMessages(const QString &recipient, const QList<qint64> &ids) = 0;

    // ---- changes to stored messages: each in its own transaction, each
    // given the next change sequence number ----

    /// The message with this id as it is now (reactions included); an empty
    /// optional inside when there is none. nullopt: the store failed.
    virtual std::optional<std::optional<Message>> message(qint64 id) = 0;
    /// New text (and mentions) for a message that is not deleted; replies
    /// quoting it show the new first line.
    virtual std::optional<MessageUpdate> editMessage(qint64 id, const QString &text,
                                                     const QStringList &mentions) = 0;
    /// Leaves a tombstone: the text, mentions, reply and reactions are gone
    /// from the database, replies quoting it show it deleted, and a direct
    /// message still held for its recipient is not delivered.
    virtual std::optional<MessageUpdate> deleteMessage(qint64 id) = 0;
    /// Adds (on) or removes user's emoji on a message.
    virtual std::optional<MessageUpdate> react(qint64 id, const User &user, const QString &emoji,
                                               bool on) = 0;
    /// Messages of a conversation changed after query.after, in change order.
    virtual std::optional<ChangesPage> changes(const ChangesQuery &query) = 0;
    /// The ids of the messages that match, best first (bm25, then the most
    /// recent), at most query.limit; nullopt when the store failed.
    virtual std::optional<QList<qint64>> search(const SearchQuery &query) = 0;
    /// The messages of ids that still match query (one page of an earlier
    /// search), in that order, each with a snippet of its text.
    virtual std::optional<QList<Protocol::SearchHit>> searchHits(const SearchQuery &query,
                                                                 const QList<qint64> &ids) = 0;
    /// The highest change sequence number given so far, 0 if none.
    virtual qint64 lastChangeSeq() const = 0;

    // ---- per user and conversation ----

    /// Moves email's read marker in a conversation to id (never back); returns
    /// where it is now and what is unread after it.
    virtual std::optional<Protocol::ConversationState>
    markRead(const QString &email, const ConversationId &conversation, qint64 id) = 0;
    virtual std::optional<Protocol::ConversationState>
    setMuted(const QString &email, const ConversationId &conversation, bool muted) = 0;
    /// Every conversation email has a marker or a mute in.
    virtual std::optional<QList<Protocol::ConversationState>> conversationStates(const QString &email) = 0;

    // ---- files (a store without them answers nullopt) ----

    /// The message sender stored with clientId, if any (an upload finished before a drop).
    virtual std::optional<std::optional<Message>> messageByClientId(const QString &sender,
                                                                    const QString &clientId)
    {
        Q_UNUSED(sender)
        Q_UNUSED(clientId)
        return std::nullopt;
    }
    /// Records a new upload; returns its id.
    virtual std::optional<qint64> createUpload(const UploadRecord &upload)
    {
        Q_UNUSED(upload)
        return std::nullopt;
    }
    /// sender's upload named clientId, if there is one.
    virtual std::optional<std::optional<UploadRecord>> upload(const QString &sender, const QString &clientId)
    {
        Q_UNUSED(sender)
        Q_UNUSED(clientId)
        return std::nullopt;
    }
    virtual bool deleteUpload(qint64 id)
    {
        Q_UNUSED(id)
        return false;
    }
    /// Uploads begun before ms (ms since the epoch): abandoned.
    virtual std::optional<QList<UploadRecord>> uploadsStartedBefore(qint64 ms)
    {
        Q_UNUSED(ms)
        return std::nullopt;
    }
    /// Records a file whose bytes were verified; a file with the same SHA-256
    /// is the same file (returned, and kept for another day even if nothing
    /// refers to it yet).
    virtual std::optional<FileRecord> addFile(const FileRecord &file)
    {
        Q_UNUSED(file)
        return std::nullopt;
    }
    virtual std::optional<std::optional<FileRecord>> file(qint64 id)
    {
        Q_UNUSED(id)
        return std::nullopt;
    }
    /// Up to limit of the messages (not deleted) that carry the file or its
    /// thumbnail, newest first: who may read one of them may download it.
    virtual std::optional<QList<Message>> messagesWithFile(qint64 fileId, int limit)
    {
        Q_UNUSED(fileId)
        Q_UNUSED(limit)
        return std::nullopt;
    }
    /// Bytes of the files sender's messages carry (their quota).
    virtual std::optional<qint64> storageUsed(const QString &sender)
    {
        Q_UNUSED(sender)
        return std::nullopt;
    }
    /// Files no message or upload refers to: once referred to and no more (its
    /// messages deleted), or never and recorded before createdBeforeMs.
    virtual std::optional<QList<FileRecord>> unreferencedFiles(qint64 createdBeforeMs, int limit)
    {
        Q_UNUSED(createdBeforeMs)
        Q_UNUSED(limit)
        return std::nullopt;
    }
    /// Forgets a file if it is still unreferenced; true if it went.
    virtual std::optional<bool> forgetFile(qint64 id)
    {
        Q_UNUSED(id)
        return std::nullopt;
    }

    /// Makes (on the calling thread) a second, opened connection to this
    /// store for a writer thread that does every append() from then on, or
    /// nullptr and *error. A store that cannot (one in memory) answers none:
    /// the server then stores messages on its own thread.
    using WriterFactory = std::function<std::unique_ptr<MessageStore>(QString *error)>;
    virtual WriterFactory writerFactory() const { return {}; }
    /// Likewise a read-only connection for a reader thread (StoreReaders):
    /// every read of a job begun with startQueryClock() fails once
    /// timeLimit has passed (0: no limit). None for a store in memory.
    virtual WriterFactory readerFactory(std::chrono::milliseconds timeLimit) const
    {
        Q_UNUSED(timeLimit)
        return {};
    }
    /// A reader's connection: the time limit starts now, for every read until the next call.
    virtual void startQueryClock() {}
    /// Whether the time limit has passed since startQueryClock() (a read that failed: for it).
    virtual bool queryTimedOut() const { return false; }

    /// The highest id stored so far, 0 for an empty store.
    virtual qint64 lastId() const = 0;

    /// This chat's identity (32 hex digits), made with the store and never changed.
    virtual QString serverId() const = 0;

    /// The accounts kept beside the messages; nullptr until the store is open.
    virtual AccountStore *accounts() = 0;

    virtual QString errorString() const = 0;
    /// Whether the last failure was for want of space (the disk, or the
    /// store's size limit): worth telling the sender so, and it passes by
    /// itself once there is room again.
    virtual bool isFull() const { return false; }
};

/// What a store call that failed said, read on the thread that made it.
struct StoreFailure
{
    QString errorString;
    bool full = false;

    static StoreFailure of(const MessageStore &store) { return {store.errorString(), store.isFull()}; }
};

} // namespace Natter
