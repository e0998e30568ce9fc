#include "common/messagelistmodel.h"

#include "common/logging.h"
#include "common/validation.h"

#include <algorithm>

namespace Natter {

namespace {

void sortUniqueById(QList<Message> &messages)
{
    std::sort(messages.begin(), messages.end(),
              [](const Message &a, const Message &b) { return a.id < b.id; });
    const auto end = std::unique(messages.begin(), messages.end(),
                                 [](const Message &a, const Message &b) { return a.id == b.id; });
    messages.erase(end, messages.end());
}

} // namespace

MessageListModel::MessageListModel(QObject *parent)
    : QAbstractListModel(parent)
{
    connect(this, &QAbstractItemModel::rowsInserted, this,
            [this](const QModelIndex &, int first, int last) { noteSenders(first, last); });
    connect(this, &QAbstractItemModel::rowsRemoved, this, &MessageListModel::recountSenders);
    connect(this, &QAbstractItemModel::modelReset, this, &MessageListModel::recountSenders);
}

void MessageListModel::noteSenders(int first, int last)
{
    bool newlyShared = false;
    for (int row = first; row <= last && row < m_rows.size(); ++row) {
        const User &from = m_rows.at(row).message.from;
        QSet<QString> &emails = m_emailsByName[from.name.toCaseFolded()];
        const qsizetype before = emails.size();
        emails.insert(from.email.toLower());
        newlyShared = newlyShared || (before == 1 && emails.size() == 2);
    }
    if (newlyShared && !m_rows.isEmpty())
        Q_EMIT dataChanged(index(0), index(int(m_rows.size()) - 1), {SenderLabelRole, LayoutKeyRole});
}

void MessageListModel::recountSenders()
{
    m_emailsByName.clear();
    noteSenders(0, int(m_rows.size()) - 1);
}

bool MessageListModel::sharesName(const User &sender) const
{
    const auto emails = m_emailsByName.constFind(sender.name.toCaseFolded());
    return emails != m_emailsByName.cend() && emails->size() > 1;
}

MessageListModel::~MessageListModel() = default;

int MessageListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant MessageListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows.at(index.row());
    const Message &message = row.message;
    switch (role) {
    case Qt::DisplayRole:
    case TextRole:
        return message.text;
    case IdRole:
        return message.id;
    case RoomRole:
        return message.room;
    case RecipientRole:
        return message.to;
    case SenderNameRole:
        return message.from.name;
    case SenderLabelRole:
        return sharesName(message.from)
                   ? QStringLiteral("%1 (%2)").arg(message.from.name,
                                                   Validation::displayableEmail(message.from.email))
                   : message.from.name;
    case SenderEmailRole:
        return message.from.email;
    case TimestampRole:
        return message.timestamp;
    case ClientIdRole:
        return message.clientId;
    case IsOwnRole:
        return !m_ownEmail.isEmpty() && message.from.email.compare(m_ownEmail, Qt::CaseInsensitive) == 0;
    case DeliveryStateRole:
        return QVariant::fromValue(row.state);
    case EditedRole:
        return message.edited;
    case IsDeletedRole:
        return message.deleted;
    case ReplyRole:
        return QVariant::fromValue(message.reply);
    case ReactionsRole:
        return QVariant::fromValue(message.reactions);
    case MentionsRole:
        return message.mentions;
    case MentionsMeRole:
        return !m_ownEmail.isEmpty() && message.mentions.contains(m_ownEmail, Qt::CaseInsensitive);
    case AttachmentRole:
        return QVariant::fromValue(message.attachment);
    case TransferRole:
        return QVariant::fromValue(transferAt(index.row()));
    case LayoutKeyRole: {
        RowLayoutKey key;
        key.id = message.id;
        key.clientId = message.clientId;
        key.senderEmail = message.from.email;
        key.timestampMs = message.timestamp.toMSecsSinceEpoch();
        key.own = !m_ownEmail.isEmpty() && message.from.email.compare(m_ownEmail, Qt::CaseInsensitive) == 0;
        key.delivery = key.own ? int(row.state) + 1 : 0;
        key.edited = message.edited.isValid();
        key.deleted = message.deleted;
        key.reply = message.reply.id > 0;
        key.reactions = !message.reactions.isEmpty();
        key.image = message.attachment.isImage();
        key.file = !key.image && (message.attachment.isValid() || !message.attachment.name.isEmpty());
        if (!row.revisionKnown) {
            size_t revision = 0;
            if (key.edited)
                revision = qHashMulti(revision, message.edited.toMSecsSinceEpoch());
            if (key.deleted)
                revision = qHashMulti(revision, 1);
            if (key.reply)
                revision = qHashMulti(revision, message.reply.id, message.reply.deleted, message.reply.text,
                                      message.reply.from.name);
            for (const Reaction &reaction : message.reactions)
                revision = qHashMulti(revision, reaction.emoji, reaction.count, reaction.mine);
            row.revision = revision;
            row.revisionKnown = true;
        }
        key.revision = row.revision;
        key.textLength = int(message.text.size());
        if (row.countedText != message.text.constData()) {
            row.countedText = message.text.constData();
            row.paragraphs = int(message.text.count(u'\n')) + 1;
        }
        key.paragraphs = row.paragraphs;
        return QVariant::fromValue(key);
    }
    default:
        return {};
    }
}

QHash<int, QByteArray> MessageListModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractListModel::roleNames();
    names.insert({
        {IdRole, "id"},
        {RoomRole, "room"},
        {RecipientRole, "recipient"},
        {SenderNameRole, "senderName"},
        {SenderEmailRole, "senderEmail"},
        {TextRole, "text"},
        {TimestampRole, "timestamp"},
        {ClientIdRole, "clientId"},
        {IsOwnRole, "isOwn"},
        {DeliveryStateRole, "deliveryState"},
        {EditedRole, "edited"},
        {IsDeletedRole, "isDeleted"},
        {ReplyRole, "reply"},
        {ReactionsRole, "reactions"},
        {MentionsRole, "mentions"},
        {MentionsMeRole, "mentionsMe"},
        {AttachmentRole, "attachment"},
        {TransferRole, "transfer"},
        {LayoutKeyRole, "layoutKey"},
    });
    return names;
}

bool MessageListModel::canFetchMore(const QModelIndex &parent) const
{
    return !parent.isValid() && m_hasOlder && !m_fetchingOlder;
}

void MessageListModel::fetchMore(const QModelIndex &parent)
{
    if (!canFetchMore(parent))
        return;
    m_fetchingOlder = true;
    Q_EMIT olderMessagesRequested(firstStoredId());
}

void MessageListModel::setOwnEmail(const QString &email)
{
    if (email == m_ownEmail)
        return;
    m_ownEmail = email;
    if (!m_rows.isEmpty())
        Q_EMIT dataChanged(index(0), index(int(m_rows.size()) - 1), {IsOwnRole});
    Q_EMIT ownEmailChanged();
}

void MessageListModel::addOutgoing(const Message &message)
{
    Q_ASSERT(!message.clientId.isEmpty() && !message.isStored());
    const int row = int(m_rows.size());
    beginInsertRows({}, row, row);
    m_rows.append(Row{message, DeliveryState::Sending});
    endInsertRows();
}

void MessageListModel::addMessages(const QList<Message> &messages)
{
    QList<Message> fresh;
    fresh.reserve(messages.size());
    for (const Message &message : messages) {
        if (!message.isStored() || findStored(message.id) >= 0 || reconcileOutbox(message))
            continue;
        fresh.append(message);
    }
    if (m_hasNewer) {
        // Past the page shown there is a gap: what lies beyond it comes with fetchNewer().
        const qint64 last = lastStoredId();
        fresh.removeIf([last](const Message &message) { return message.id > last; });
    }
    if (fresh.isEmpty())
        return;
    sortUniqueById(fresh);

    if (fresh.first().id > lastStoredId()) {
        // The common case: everything is newer than what we have. One insertion.
        const int first = m_storedCount;
        beginInsertRows({}, first, first + int(fresh.size()) - 1);
        for (qsizetype i = 0; i < fresh.size(); ++i)
            m_rows.insert(first + i, Row{fresh.at(i), DeliveryState::Sent});
        m_storedCount += int(fresh.size());
        endInsertRows();
        return;
    }
    // Out of order (a gap filled after a reconnect): insert each where it belongs.
    for (const Message &message : std::as_const(fresh)) {
        const int position = storedInsertPosition(message.id);
        beginInsertRows({}, position, position);
        m_rows.insert(position, Row{message, DeliveryState::Sent});
        ++m_storedCount;
        endInsertRows();
    }
}

void MessageListModel::prependOlder(const QList<Message> &messages, bool hasMore)
{
    m_fetchingOlder = false;
    m_hasOlder = hasMore;
    const qint64 first = firstStoredId();
    QList<Message> older;
    older.reserve(messages.size());
    for (const Message &message : messages) {
        if (message.isStored() && (first == 0 || message.id < first))
            older.append(message);
    }
    if (older.isEmpty())
        return;
    sortUniqueById(older);

    beginInsertRows({}, 0, int(older.size()) - 1);
    // QList keeps free space at its front for prepends: a page costs its own
    // size, not the length of the conversation (scrolling back through a long
    // room stays linear).
    for (auto it = older.crbegin(); it != older.crend(); ++it)
        m_rows.prepend(Row{*it, DeliveryState::Sent});
    m_storedCount += int(older.size());
    endInsertRows();
}

void MessageListModel::setHasOlder(bool hasOlder)
{
    // A fresh statement of fact also ends a fetch that will not be answered
    // (the connection dropped), so the view can ask again later.
    m_hasOlder = hasOlder;
    m_fetchingOlder = false;
}

void MessageListModel::setDeliveryState(const QString &clientId, DeliveryState state)
{
    const int row = findOutbox(clientId);
    if (row < 0 || m_rows.at(row).state == state)
        return;
    m_rows[row].state = state;
    const QModelIndex changed = index(row);
    Q_EMIT dataChanged(changed, changed, {DeliveryStateRole});
}

bool MessageListModel::removeOutgoing(const QString &clientId)
{
    const int row = findOutbox(clientId);
    if (row < 0)
        return false;
    beginRemoveRows({}, row, row);
    m_rows.removeAt(row);
    endRemoveRows();
    m_uploads.remove(clientId);
    return true;
}

Transfer MessageListModel::transferAt(int row) const
{
    const Message &message = m_rows.at(row).message;
    if (!message.isStored())
        return m_uploads.value(message.clientId);
    return message.attachment.isValid() ? m_downloads.value(message.attachment.fileId) : Transfer{};
}

void MessageListModel::setUploadTransfer(const QString &clientId, const Transfer &transfer)
{
    const int row = findOutbox(clientId);
    if (row < 0)
        return;
    m_uploads.insert(clientId, transfer);
    transferChanged({row});
}

void MessageListModel::setDownloadTransfer(qint64 fileId, const Transfer &transfer)
{
    QList<int> rows;
    for (int row = 0; row < m_storedCount; ++row) {
        if (m_rows.at(row).message.attachment.fileId == fileId)
            rows.append(row);
    }
    if (transfer == Transfer{})
        m_downloads.remove(fileId);
    else
        m_downloads.insert(fileId, transfer);
    transferChanged(rows);
}

void MessageListModel::transferChanged(const QList<int> &rows)
{
    for (const int row : rows) {
        const QModelIndex changed = index(row);
        Q_EMIT dataChanged(changed, changed, {TransferRole});
    }
}

std::optional<Message> MessageListModel::storedMessage(qint64 id) const
{
    const int row = findStored(id);
    if (row < 0)
        return std::nullopt;
    return m_rows.at(row).message;
}

bool MessageListModel::updateMessage(const Message &current)
{
    // Replies quote the first line of what they answer, as it is now.
    for (int row = 0; row < m_storedCount; ++row) {
        ReplyPreview &reply = m_rows[row].message.reply;
        if (reply.id != current.id)
            continue;
        reply.deleted = current.deleted;
        reply.text = current.deleted ? QString() : Message::previewOf(current.text);
        m_rows[row].revisionKnown = false;
        const QModelIndex changed = index(row);
        Q_EMIT dataChanged(changed, changed, {ReplyRole});
    }
    const int row = findStored(current.id);
    if (row < 0)
        return false;
    m_rows[row].message = current;
    m_rows[row].revisionKnown = false;
    const QModelIndex changed = index(row);
    Q_EMIT dataChanged(changed, changed);
    return true;
}

QList<Message> MessageListModel::outbox() const
{
    QList<Message> messages;
    for (qsizetype i = m_storedCount; i < m_rows.size(); ++i)
        messages.append(m_rows.at(i).message);
    return messages;
}

qint64 MessageListModel::lastStoredId() const
{
    return m_storedCount > 0 ? m_rows.at(m_storedCount - 1).message.id : 0;
}

qint64 MessageListModel::firstStoredId() const
{
    return m_storedCount > 0 ? m_rows.at(0).message.id : 0;
}

void MessageListModel::trimToLatest(int keep)
{
    const int drop = m_storedCount - std::max(0, keep);
    if (drop <= 0)
        return;
    beginRemoveRows({}, 0, drop - 1);
    m_rows.remove(0, drop);
    m_storedCount -= drop;
    endRemoveRows();
    m_hasOlder = true;
    m_fetchingOlder = false;
}

void MessageListModel::showPage(const QList<Message> &messages, bool hasOlder, bool hasNewer)
{
    QList<Message> page;
    page.reserve(messages.size());
    for (const Message &message : messages) {
        if (message.isStored())
            page.append(message);
    }
    sortUniqueById(page);
    beginResetModel();
    m_rows.remove(0, m_storedCount);
    for (qsizetype i = 0; i < page.size(); ++i)
        m_rows.insert(i, Row{page.at(i), DeliveryState::Sent});
    m_storedCount = int(page.size());
    m_hasOlder = hasOlder;
    m_fetchingOlder = false;
    m_hasNewer = hasNewer;
    m_fetchingNewer = false;
    endResetModel();
}

void MessageListModel::fetchNewer()
{
    if (!m_hasNewer || m_fetchingNewer)
        return;
    m_fetchingNewer = true;
    Q_EMIT newerMessagesRequested(lastStoredId());
}

void MessageListModel::appendNewer(const QList<Message> &messages, bool hasMore)
{
    // Once the gap is closed it stays closed: a late answer (a resume's
    // pages closed it first) must not open it again, or pushed messages
    // would be left out.
    const bool stillNewer = m_hasNewer && hasMore;
    m_hasNewer = false; // so addMessages() takes them
    addMessages(messages);
    m_hasNewer = stillNewer;
    m_fetchingNewer = false;
}

void MessageListModel::clear()
{
    beginResetModel();
    m_rows.clear();
    m_uploads.clear();
    m_downloads.clear();
    m_storedCount = 0;
    m_hasOlder = false;
    m_fetchingOlder = false;
    m_hasNewer = false;
    m_fetchingNewer = false;
    endResetModel();
}

int MessageListModel::storedInsertPosition(qint64 id) const
{
    const auto begin = m_rows.cbegin();
    const auto it = std::lower_bound(begin, begin + m_storedCount, id,
                                     [](const Row &row, qint64 value) { return row.message.id < value; });
    return int(it - begin);
}

int MessageListModel::findStored(qint64 id) const
{
    const int position = storedInsertPosition(id);
    return position < m_storedCount && m_rows.at(position).message.id == id ? position : -1;
}

int MessageListModel::findOutbox(const QString &clientId) const
{
    if (clientId.isEmpty())
        return -1;
    for (int row = m_storedCount; row < m_rows.size(); ++row) {
        if (m_rows.at(row).message.clientId == clientId)
            return row;
    }
    return -1;
}

bool MessageListModel::reconcileOutbox(const Message &message)
{
    const int from = findOutbox(message.clientId);
    if (from < 0 || message.from.email.compare(m_ownEmail, Qt::CaseInsensitive) != 0)
        return false;
    const int to = storedInsertPosition(message.id);
    if (from != to) {
        // Rows of others arrived after this one was written: move it up to its place.
        beginMoveRows({}, from, from, {}, to);
        m_rows.move(from, to);
        endMoveRows();
    }
    m_rows[to] = Row{message, DeliveryState::Sent};
    ++m_storedCount;
    // The sender's own file is the stored one: it needs no download.
    if (const Transfer upload = m_uploads.take(message.clientId);
        !upload.localPath.isEmpty() && message.attachment.isValid() &&
        !m_downloads.contains(message.attachment.fileId))
        m_downloads.insert(message.attachment.fileId,
                           Transfer{Transfer::Kind::None, 0, 0, 0, {}, upload.localPath});
    const QModelIndex changed = index(to);
    Q_EMIT dataChanged(changed, changed);
    qCDebug(lcNatterModel) << "outbox message" << message.clientId << "stored as" << message.id;
    return true;
}

} // namespace Natter
