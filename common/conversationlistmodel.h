#pragma once

#include <QAbstractListModel>
#include <QDateTime>
#include <QList>
#include <QSet>

namespace Natter {

/// Which conversation: a room by name, or the direct conversation with a user
/// by email.
struct ConversationKey
{
    enum class Kind
    {
        Room,
        Direct,
    };
    Kind kind = Kind::Room;
    QString name; ///< room name, or the other user's (lowercase) email

    static ConversationKey room(const QString &name) { return {Kind::Room, name}; }
    static ConversationKey direct(const QString &email) { return {Kind::Direct, email}; }
    bool isRoom() const { return kind == Kind::Room; }
    bool isValid() const { return !name.isEmpty(); }
    /// "room:general" or "direct:bob@example.org", for settings and hashing.
    QString toString() const;
    static ConversationKey fromString(const QString &text);
    friend bool operator==(const ConversationKey &, const ConversationKey &) = default;
};

size_t qHash(const ConversationKey &key, size_t seed = 0) noexcept;

/// The conversations the user has open: joined rooms first, then direct
/// conversations, each group in the order they were opened. Carries meaning
/// only (title, unread count); the sidebar decides how it looks.
class ConversationListModel final : public QAbstractListModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConversationListModel)

public:
    enum Role
    {
        KindRole = Qt::UserRole + 1, ///< ConversationKey::Kind as int
        NameRole,                    ///< QString: room name or email
        TitleRole,                   ///< QString: room name or the user's display name
        UnreadCountRole,             ///< int
        KeyRole,                     ///< QString: ConversationKey::toString()
        IsPrivateRole,               ///< bool: a private room (members only)
        PreviewRole,      ///< QString: the last message's first line ("Bob: …" in rooms); plain text
        LastActivityRole, ///< QDateTime (UTC): the last message's time; invalid: none yet
        IsMutedRole,      ///< bool: no notifications, not in the total unread count
        DraftRole,        ///< QString: what the user left written here (its first line); empty: none
        MentionCountRole, ///< int: of the unread messages, those that mention the user
        PresenceRole,     ///< int, direct conversations: 0 not known, 1 online, 2 offline
    };
    Q_ENUM(Role)

    explicit ConversationListModel(QObject *parent = nullptr);
    ~ConversationListModel() override;

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    /// Adds the conversation if it is not there; returns its row. A title
    /// given for an existing direct conversation replaces the old one.
    int add(const ConversationKey &key, const QString &title = {});
    bool remove(const ConversationKey &key);
    bool contains(const ConversationKey &key) const { return indexOf(key) >= 0; }
    int indexOf(const ConversationKey &key) const;
    ConversationKey keyAt(int row) const { return m_rows.at(row).key; }
    QList<ConversationKey> keys() const;

    void setTitle(const ConversationKey &key, const QString &title);
    /// Whether the other person of a direct conversation is signed in now.
    void setPresence(const ConversationKey &key, bool online);
    void setPrivate(const ConversationKey &key, bool isPrivate);
    /// What the user left written in the conversation (empty: nothing), for
    /// "Draft: …" in its row. Kept for conversations not listed yet.
    void setDraft(const ConversationKey &key, const QString &text);
    /// The conversation's latest message, for its preview and its place in
    /// an activity order (senderName empty: the user's own).
    void setLastMessage(const ConversationKey &key, const QString &senderName, const QString &text,
                        const QDateTime &time);
    QString title(const ConversationKey &key) const;
    /// A muted conversation still counts its unread messages, but notifies
    /// nobody and stays out of totalUnread(). Kept for conversations not open now.
    void setMuted(const ConversationKey &key, bool muted);
    bool isMuted(const ConversationKey &key) const { return m_muted.contains(key); }
    QList<ConversationKey> mutedKeys() const;
    /// count more unread messages, mentions of them mentioning the user.
    void incrementUnread(const ConversationKey &key, int count = 1, int mentions = 0);
    void clearUnread(const ConversationKey &key);
    /// What is unread now (and how much of it mentions the user), as the
    /// window or another device (through the server) says.
    void setUnreadCount(const ConversationKey &key, int unread, int mentions = 0);
    int unreadCount(const ConversationKey &key) const;
    int mentionCount(const ConversationKey &key) const;
    int totalUnread() const;
    /// Unread mentions everywhere, muted conversations too (a mention calls).
    int totalMentions() const;

Q_SIGNALS:
    void totalUnreadChanged(int total);
    void totalMentionsChanged(int total);

private:
    struct Row
    {
        ConversationKey key;
        QString title;
        int unread = 0;
        int mentions = 0;
        bool isPrivate = false;
        int presence = 0;
        QString preview;
        QDateTime lastActivity;
    };
    void setUnread(int row, int unread, int mentions);

    QList<Row> m_rows;
    QSet<ConversationKey> m_muted;
    QHash<ConversationKey, QString> m_drafts;
};

} // namespace Natter
