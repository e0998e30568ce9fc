#pragma once

#include "common/message.h"

#include <QAbstractListModel>

#include <QHash>
#include <QList>
#include <QSet>
#include <optional>

namespace Natter {

/// A file on its way to or from the server, as a message's bubble shows it.
struct Transfer
{
    enum class Kind
    {
        None,     ///< nothing moves (a finished download still has localPath)
        Upload,   ///< an outbox row's file going up
        Download, ///< a stored message's file coming down
    };
    Kind kind = Kind::None;
    qint64 done = 0;           ///< bytes
    qint64 total = 0;          ///< bytes
    qint64 bytesPerSecond = 0; ///< lately; 0 while unknown (waiting, hashing, offline)
    QString error;             ///< why it stopped (empty: it did not fail)
    QString localPath;         ///< a whole local copy (downloaded, or the sender's own file)
    qint64 prepared = 0;       ///< an upload's bytes hashed before it starts
    bool paused = false;       ///< waiting for the connection to the server to come back
    bool isActive() const { return kind != Kind::None; }
    friend bool operator==(const Transfer &, const Transfer &) = default;
};

/// What a view needs to place a row, and to know when its height changes, in
/// one call (MessageListModel::LayoutKeyRole): a relayout asks it of every row.
struct RowLayoutKey
{
    qint64 id = 0;
    QString clientId;
    QString senderEmail;
    qint64 timestampMs = 0;
    size_t revision = 0; ///< of what edits, deletions, reply quotes and reactions change
    int textLength = 0;  ///< characters
    int paragraphs = 1;  ///< lines of the text as written
    int delivery = 0;    ///< own rows: DeliveryState + 1; others' 0
    bool own = false;
    bool reply = false;
    bool reactions = false;
    bool image = false;
    bool file = false; ///< a file that is not an image
    bool edited = false;
    bool deleted = false;
};

/// The messages of one conversation (a room or a direct conversation), oldest
/// first, ready for a QListView.
///
/// Rows are the stored messages in id order, followed by the outbox: the
/// user's own messages not yet acknowledged by the server. When the server
/// echoes an outbox message (same client id), that row becomes the stored
/// message in place; a message seen twice (resume after a reconnect, history
/// overlapping a push) is kept once. The model exposes meaning only (roles);
/// how rows look is the delegate's business.
///
/// Older history arrives through the fetchMore() protocol: the model asks for
/// it with olderMessagesRequested(), the owner answers with prependOlder().
class MessageListModel final : public QAbstractListModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MessageListModel)
    Q_PROPERTY(QString ownEmail READ ownEmail WRITE setOwnEmail NOTIFY ownEmailChanged)

public:
    enum Role
    {
        IdRole = Qt::UserRole + 1, ///< qint64, 0 while in the outbox
        RoomRole,                  ///< QString, empty for direct messages
        RecipientRole,             ///< QString email, direct messages only
        SenderNameRole,            ///< QString
        SenderEmailRole,           ///< QString
        TextRole,                  ///< QString, plain text
        TimestampRole,             ///< QDateTime UTC; the time queued while in the outbox
        ClientIdRole,              ///< QString
        IsOwnRole,                 ///< bool: sent by the user of ownEmail
        DeliveryStateRole,         ///< DeliveryState
        EditedRole,                ///< QDateTime UTC of the last edit; invalid: never edited
        IsDeletedRole,             ///< bool: a tombstone, the text is gone
        ReplyRole,                 ///< Natter::ReplyPreview; id 0: not a reply
        ReactionsRole,             ///< QList<Natter::Reaction>, "mine" as the server said
        MentionsRole,              ///< QStringList of emails
        MentionsMeRole,            ///< bool: ownEmail is among the mentions
        AttachmentRole,            ///< Natter::Attachment; fileId 0 and no name: none (an outbox
                                   ///< row's file has a name, and a file id once uploaded)
        TransferRole,              ///< Natter::Transfer of the row's file
        LayoutKeyRole,             ///< Natter::RowLayoutKey
        /// QString: the sender's name, with their email when someone else in
        /// the rows goes by the same name (a copied "Alice" is told apart).
        SenderLabelRole,
    };
    Q_ENUM(Role)

    enum class DeliveryState
    {
        Sending, ///< in the outbox, waiting for the server
        Sent,    ///< stored by the server
        Failed,  ///< the server refused it, or it could not be sent; can be retried
    };
    Q_ENUM(DeliveryState)

    explicit MessageListModel(QObject *parent = nullptr);
    ~MessageListModel() override;

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;
    bool canFetchMore(const QModelIndex &parent) const override;
    void fetchMore(const QModelIndex &parent) override;

    QString ownEmail() const { return m_ownEmail; }
    void setOwnEmail(const QString &email);

    /// Appends one of the user's own messages to the outbox (state Sending).
    /// The message needs a client id and no server id.
    void addOutgoing(const Message &message);

    /// Merges stored messages (pushed or from history after an id): known ids
    /// are skipped, outbox rows with the same client id become Sent in place,
    /// the rest go in id order, one insertion for a contiguous batch.
    void addMessages(const QList<Message> &messages);

    /// Inserts a page of older messages at the top, in one batch, and records
    /// whether the server has still older ones.
    void prependOlder(const QList<Message> &messages, bool hasMore);

    /// Whether older history than the first row exists on the server. Also
    /// ends a pending fetchMore() that will not be answered.
    void setHasOlder(bool hasOlder);
    bool hasOlder() const { return m_hasOlder; }

    /// Replaces the stored messages with a page read around one message (a
    /// jump to a reply's original or a search hit); the outbox stays. While
    /// newer messages exist past the page (hasNewer), pushed ones are left to
    /// fetchNewer(): appending them would hide the gap.
    void showPage(const QList<Message> &messages, bool hasOlder, bool hasNewer);
    bool hasNewer() const { return m_hasNewer; }
    /// Asks for the page after the last row (newerMessagesRequested()) once.
    void fetchNewer();
    /// The answer to newerMessagesRequested(): appended, and whether still newer ones exist.
    void appendNewer(const QList<Message> &messages, bool hasMore);

    void setDeliveryState(const QString &clientId, DeliveryState state);
    /// Removes an outbox row (an upload the user cancelled); false if there is none.
    bool removeOutgoing(const QString &clientId);

    /// How an outbox row's file upload goes (a default Transfer: it is not moving).
    void setUploadTransfer(const QString &clientId, const Transfer &transfer);
    Transfer uploadTransfer(const QString &clientId) const { return m_uploads.value(clientId); }
    /// How the download of a file goes, for every loaded row that carries it.
    void setDownloadTransfer(qint64 fileId, const Transfer &transfer);
    Transfer transferAt(int row) const;
    /// What is known of a file's download here (its local copy, once whole).
    Transfer downloadTransfer(qint64 fileId) const { return m_downloads.value(fileId); }

    /// A stored message changed (edited, deleted, reacted to): its row takes
    /// the new state, and replies quoting it show its new first line (or that
    /// it is deleted). False if the message is not loaded here; the replies
    /// are updated all the same.
    bool updateMessage(const Message &current);

    /// The messages still waiting for the server, in the order they were written.
    QList<Message> outbox() const;
    /// The highest stored id (0 if none): "resume after this".
    qint64 lastStoredId() const;
    /// The message with this id is in the model (not an outbox one).
    bool hasStored(qint64 id) const { return findStored(id) >= 0; }
    /// A loaded stored message by id (nullopt if not loaded).
    std::optional<Message> storedMessage(qint64 id) const;
    /// The lowest stored id (0 if none): "older than this".
    qint64 firstStoredId() const;
    int storedCount() const { return m_storedCount; }

    const Message &messageAt(int row) const { return m_rows.at(row).message; }
    DeliveryState deliveryStateAt(int row) const { return m_rows.at(row).state; }

    void clear();
    /// Forgets all but the latest keep stored messages (the outbox stays), in
    /// one removal, and marks older history as available again: a view that
    /// has returned to the bottom gives back what was scrolled through.
    void trimToLatest(int keep);

Q_SIGNALS:
    void ownEmailChanged();
    /// The view wants messages older than beforeId; answer with prependOlder().
    void olderMessagesRequested(qint64 beforeId);
    /// The view reached the end of a page read around a message: answer with appendNewer().
    void newerMessagesRequested(qint64 afterId);

private:
    /// Counts the senders of rows first..last by name; when a name comes to
    /// be shared, every row's label changes.
    void noteSenders(int first, int last);
    void recountSenders();
    bool sharesName(const User &sender) const;
    struct Row
    {
        Message message;
        DeliveryState state = DeliveryState::Sent;
        // The text's paragraphs, counted for the text at countedText (a
        // relayout asks every row; an edit brings a new string).
        mutable const QChar *countedText = nullptr;
        mutable int paragraphs = 1;
        // RowLayoutKey::revision, until the message changes.
        mutable bool revisionKnown = false;
        mutable size_t revision = 0;
    };

    int findStored(qint64 id) const;
    int storedInsertPosition(qint64 id) const;
    int findOutbox(const QString &clientId) const;
    bool reconcileOutbox(const Message &message);

    void transferChanged(const QList<int> &rows);

    QList<Row> m_rows;
    QHash<QString, QSet<QString>> m_emailsByName; // case-folded name -> emails of senders in the rows
    QHash<QString, Transfer> m_uploads;           // by client id
    QHash<qint64, Transfer> m_downloads;          // by file id
    int m_storedCount = 0; // rows [0, m_storedCount) are stored, the rest is the outbox
    QString m_ownEmail;
    bool m_hasOlder = false;
    bool m_fetchingOlder = false;
    bool m_hasNewer = false;
    bool m_fetchingNewer = false;
};

} // namespace Natter

Q_DECLARE_METATYPE(Natter::Transfer)
Q_DECLARE_METATYPE(Natter::RowLayoutKey)
