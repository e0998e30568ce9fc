#pragma once

#include "common/message.h"
#include "common/protocol.h"
#include "server/accountstore.h"

#include <QList>
#include <QString>

#include <optional>

namespace Natter {

/// Which slice of one conversation's history to read.
struct HistoryQuery
{
    QString room;                 ///< a room's history, or
    QString userA, userB;         ///< the direct conversation of two users
    std::optional<qint64> before; ///< only ids below this (older page), or
    std::optional<qint64> after;  ///< only ids above this (resume), or neither: the latest
    int limit = Protocol::DefaultHistoryLimit;
};

struct HistoryPage
{
    QList<Message> messages; ///< oldest first
    bool hasMore = false;    ///< more exist beyond the page in the direction read
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

    /// Up to limit of the direct messages held for an offline recipient,
    /// oldest first; they are released (not held any more) by this call.
    virtual std::optional<QList<Message>> takeHeldDirectMessages(const QString &recipient, int limit) = 0;

    /// Deletes up to batch of the oldest messages sent before cutoffMs (ms
    /// since the epoch, UTC), held direct messages among them; returns how
    /// many went. Called in small batches so the server keeps serving.
    virtual std::optional<int> deleteOlderThan(qint64 cutoffMs, int batch) = 0;

    /// How many direct messages are held for recipient.
    virtual std::optional<int> heldCount(const QString &recipient) = 0;

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

} // namespace Natter
