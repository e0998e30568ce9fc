#include "common/conversationlistmodel.h"

#include "common/message.h"

#include <QHash>

#include <algorithm>

namespace Natter {

namespace {
constexpr QLatin1String RoomPrefix{"room:"};
constexpr QLatin1String DirectPrefix{"direct:"};
} // namespace

QString ConversationKey::toString() const
{
    return (isRoom() ? QString(RoomPrefix) : QString(DirectPrefix)) + name;
}

ConversationKey ConversationKey::fromString(const QString &text)
{
    if (text.startsWith(RoomPrefix))
        return room(text.mid(RoomPrefix.size()));
    if (text.startsWith(DirectPrefix))
        return direct(text.mid(DirectPrefix.size()));
    return {};
}

size_t qHash(const ConversationKey &key, size_t seed) noexcept
{
    return qHashMulti(seed, int(key.kind), key.name);
}

ConversationListModel::ConversationListModel(QObject *parent)
    : QAbstractListModel(parent)
{}

ConversationListModel::~ConversationListModel() = default;

int ConversationListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant ConversationListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
    case TitleRole:
        return row.title.isEmpty() ? row.key.name : row.title;
    case Qt::ToolTipRole:
        return row.key.name;
    case KindRole:
        return int(row.key.kind);
    case NameRole:
        return row.key.name;
    case UnreadCountRole:
        return row.unread;
    case MentionCountRole:
        return row.mentions;
    case PresenceRole:
        return row.presence;
    case KeyRole:
        return row.key.toString();
    case IsPrivateRole:
        return row.isPrivate;
    case PreviewRole:
        return row.preview;
    case DraftRole:
        return m_drafts.value(row.key);
    case LastActivityRole:
        return row.lastActivity;
    case IsMutedRole:
        return m_muted.contains(row.key);
    default:
        return {};
    }
}

QHash<int, QByteArray> ConversationListModel::roleNames() const
{
    return {{Qt::DisplayRole, "display"}, {KindRole, "kind"},
            {NameRole, "name"},           {TitleRole, "title"},
            {UnreadCountRole, "unread"},  {KeyRole, "key"},
            {IsPrivateRole, "isPrivate"}, {PreviewRole, "preview"},
            {DraftRole, "draft"},         {LastActivityRole, "lastActivity"},
            {IsMutedRole, "isMuted"},     {MentionCountRole, "mentions"}};
}

int ConversationListModel::indexOf(const ConversationKey &key) const
{
    for (int i = 0; i < m_rows.size(); ++i) {
        if (m_rows.at(i).key == key)
            return i;
    }
    return -1;
}

QList<ConversationKey> ConversationListModel::keys() const
{
    QList<ConversationKey> keys;
    keys.reserve(m_rows.size());
    for (const Row &row : m_rows)
        keys.append(row.key);
    return keys;
}

int ConversationListModel::add(const ConversationKey &key, const QString &title)
{
    if (const int existing = indexOf(key); existing >= 0) {
        if (!title.isEmpty())
            setTitle(key, title);
        return existing;
    }
    // Rooms before direct conversations; each group in opening order.
    int position = int(m_rows.size());
    if (key.isRoom()) {
        position = 0;
        while (position < m_rows.size() && m_rows.at(position).key.isRoom())
            ++position;
    }
    beginInsertRows({}, position, position);
    m_rows.insert(position, Row{key, title, 0, 0, false, 0, {}, {}});
    endInsertRows();
    return position;
}

bool ConversationListModel::remove(const ConversationKey &key)
{
    const int row = indexOf(key);
    if (row < 0)
        return false;
    const int unread = m_rows.at(row).unread;
    const int mentions = m_rows.at(row).mentions;
    beginRemoveRows({}, row, row);
    m_rows.removeAt(row);
    endRemoveRows();
    if (unread > 0)
        Q_EMIT totalUnreadChanged(totalUnread());
    if (mentions > 0)
        Q_EMIT totalMentionsChanged(totalMentions());
    return true;
}

void ConversationListModel::setTitle(const ConversationKey &key, const QString &title)
{
    const int row = indexOf(key);
    if (row < 0 || m_rows.at(row).title == title)
        return;
    m_rows[row].title = title;
    const QModelIndex changed = index(row);
    Q_EMIT dataChanged(changed, changed, {Qt::DisplayRole, TitleRole});
}

QString ConversationListModel::title(const ConversationKey &key) const
{
    const int row = indexOf(key);
    if (row < 0)
        return {};
    return m_rows.at(row).title.isEmpty() ? key.name : m_rows.at(row).title;
}

void ConversationListModel::setPrivate(const ConversationKey &key, bool isPrivate)
{
    const int row = indexOf(key);
    if (row < 0 || m_rows.at(row).isPrivate == isPrivate)
        return;
    m_rows[row].isPrivate = isPrivate;
    const QModelIndex changed = index(row);
    Q_EMIT dataChanged(changed, changed, {IsPrivateRole});
}

void ConversationListModel::setDraft(const ConversationKey &key, const QString &text)
{
    const QString line = Message::previewOf(text, 200);
    if (m_drafts.value(key) == line)
        return;
    if (line.isEmpty())
        m_drafts.remove(key);
    else
        m_drafts.insert(key, line);
    if (const int row = indexOf(key); row >= 0) {
        const QModelIndex changed = index(row);
        Q_EMIT dataChanged(changed, changed, {DraftRole});
    }
}

void ConversationListModel::setLastMessage(const ConversationKey &key, const QString &senderName,
                                           const QString &text, const QDateTime &time)
{
    const int row = indexOf(key);
    if (row < 0)
        return;
    // One line: the first non-blank line of the text, white space folded.
    QString line;
    for (const QString &candidate : text.split(u'\n')) {
        line = candidate.simplified();
        if (!line.isEmpty())
            break;
    }
    line.truncate(200);
    QString preview;
    if (senderName.isEmpty())
        preview = tr("You: %1").arg(line);
    else if (key.isRoom())
        preview = tr("%1: %2").arg(senderName, line);
    else
        preview = line;
    Row &target = m_rows[row];
    if (target.preview == preview && target.lastActivity == time)
        return;
    target.preview = preview;
    target.lastActivity = time;
    const QModelIndex changed = index(row);
    Q_EMIT dataChanged(changed, changed, {PreviewRole, LastActivityRole});
}

void ConversationListModel::setUnread(int row, int unread, int mentions)
{
    mentions = std::clamp(mentions, 0, unread);
    Row &target = m_rows[row];
    if (target.unread == unread && target.mentions == mentions)
        return;
    const bool unreadChanged = target.unread != unread;
    const bool mentionsChanged = target.mentions != mentions;
    target.unread = unread;
    target.mentions = mentions;
    const QModelIndex changed = index(row);
    Q_EMIT dataChanged(changed, changed, {UnreadCountRole, MentionCountRole});
    if (unreadChanged)
        Q_EMIT totalUnreadChanged(totalUnread());
    if (mentionsChanged)
        Q_EMIT totalMentionsChanged(totalMentions());
}

void ConversationListModel::incrementUnread(const ConversationKey &key, int count, int mentions)
{
    if (const int row = indexOf(key); row >= 0 && count > 0)
        setUnread(row, m_rows.at(row).unread + count, m_rows.at(row).mentions + mentions);
}

void ConversationListModel::clearUnread(const ConversationKey &key)
{
    if (const int row = indexOf(key); row >= 0)
        setUnread(row, 0, 0);
}

void ConversationListModel::setUnreadCount(const ConversationKey &key, int unread, int mentions)
{
    if (const int row = indexOf(key); row >= 0)
        setUnread(row, std::max(0, unread), mentions);
}

int ConversationListModel::unreadCount(const ConversationKey &key) const
{
    const int row = indexOf(key);
    return row < 0 ? 0 : m_rows.at(row).unread;
}

void ConversationListModel::setPresence(const ConversationKey &key, bool online)
{
    const int row = indexOf(key);
    if (row < 0 || key.isRoom())
        return;
    const int presence = online ? 1 : 2;
    if (m_rows.at(row).presence == presence)
        return;
    m_rows[row].presence = presence;
    const QModelIndex changed = index(row);
    Q_EMIT dataChanged(changed, changed, {PresenceRole});
}

int ConversationListModel::mentionCount(const ConversationKey &key) const
{
    const int row = indexOf(key);
    return row < 0 ? 0 : m_rows.at(row).mentions;
}

int ConversationListModel::totalMentions() const
{
    int total = 0;
    for (const Row &row : m_rows)
        total += row.mentions;
    return total;
}

int ConversationListModel::totalUnread() const
{
    int total = 0;
    for (const Row &row : m_rows)
        total += m_muted.contains(row.key) ? 0 : row.unread;
    return total;
}

void ConversationListModel::setMuted(const ConversationKey &key, bool muted)
{
    if (!key.isValid() || m_muted.contains(key) == muted)
        return;
    if (muted)
        m_muted.insert(key);
    else
        m_muted.remove(key);
    if (const int row = indexOf(key); row >= 0) {
        const QModelIndex changed = index(row);
        Q_EMIT dataChanged(changed, changed, {IsMutedRole});
        if (m_rows.at(row).unread > 0)
            Q_EMIT totalUnreadChanged(totalUnread());
    }
}

QList<ConversationKey> ConversationListModel::mutedKeys() const
{
    QList<ConversationKey> keys(m_muted.cbegin(), m_muted.cend());
    std::sort(keys.begin(), keys.end(),
              [](const ConversationKey &a, const ConversationKey &b) { return a.toString() < b.toString(); });
    return keys;
}

} // namespace Natter
