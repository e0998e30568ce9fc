#include "ui/conversationview.h"

#include "common/messagelistmodel.h"
#include "ui/emoji.h"
#include "ui/messagedelegate.h"
#include "ui/uilogging.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QContextMenuEvent>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QIdentityProxyModel>
#include <QKeyEvent>
#include <QMenu>
#include <QPushButton>
#include <QScrollBar>
#include <QToolButton>
#include <QWidgetAction>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

/// The message list as the view sees it: rows are editable (a read-only
/// editor makes any part of the text selectable), and Qt's automatic
/// fetch-at-the-bottom is off: a chat fetches older messages at the top.
class MessageViewProxy final : public QIdentityProxyModel
{
public:
    using QIdentityProxyModel::QIdentityProxyModel;
    Qt::ItemFlags flags(const QModelIndex &index) const override
    {
        return QIdentityProxyModel::flags(index) | Qt::ItemIsEditable;
    }
    bool canFetchMore(const QModelIndex &) const override { return false; }
    void fetchMore(const QModelIndex &) override {}
};

constexpr int FlashMs = 1600;

} // namespace

QStringList ConversationView::reactionChoices()
{
    // The quick ones first (the first row), then what teams react with most.
    return quickReactions() +
           QStringList{u"👎"_s,    u"🙏"_s, u"👏"_s,    u"🔥"_s, u"💯"_s,    u"🚀"_s, u"🤔"_s,   u"😅"_s,
                       u"😍"_s,    u"🙌"_s, u"💪"_s,    u"👌"_s, u"😡"_s,    u"❌"_s, u"⚠️"_s, u"💡"_s,
                       u"☕"_s,    u"🍕"_s, u"🍜"_s,    u"🎂"_s, u"⭐"_s,    u"🐛"_s, u"📌"_s,      u"👋"_s,
                       u"🤝"_s, u"😎"_s, u"🥳"_s, u"😴"_s, u"🤷"_s, u"🙈"_s, u"💬"_s,      u"🏁"_s};
}

void ConversationView::addReactionGrid(QMenu *menu, qint64 id)
{
    // A grid of emoji buttons inside the menu: one click reacts and closes it.
    auto *grid = new QWidget(menu);
    grid->setObjectName(u"reactionGrid"_s);
    auto *layout = new QGridLayout(grid);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(0);
    const QStringList choices = reactionChoices();
    for (qsizetype i = 0; i < choices.size(); ++i) {
        const QString emoji = choices.at(i);
        auto *button = new QToolButton(grid);
        button->setText(emoji);
        button->setToolTip(emoji);
        button->setAccessibleName(tr("React with %1").arg(emoji));
        button->setAutoRaise(true);
        QFont font = Emoji::font(button->font()); // in colour
        font.setPointSizeF(font.pointSizeF() * 1.25);
        button->setFont(font);
        connect(button, &QToolButton::clicked, this, [this, menu, id, emoji] {
            menu->close();
            Q_EMIT reactionToggled(id, emoji, true);
        });
        layout->addWidget(button, int(i / 8), int(i % 8));
    }
    auto *action = new QWidgetAction(menu);
    action->setDefaultWidget(grid);
    menu->addAction(action);
}

QStringList ConversationView::quickReactions()
{
    return {u"👍"_s, u"❤️"_s, u"😂"_s, u"🎉"_s, u"😮"_s, u"😢"_s, u"👀"_s, u"✅"_s};
}

ConversationView::ConversationView(QWidget *parent)
    : QListView(parent)
    , m_proxy(new MessageViewProxy(this))
    , m_delegate(new MessageDelegate(this))
    , m_jumpButton(new QPushButton(this))
    , m_mentionButton(new QPushButton(this))
    , m_actionBar(new QWidget(viewport()))
{
    setAccessibleName(tr("Messages"));
    setItemDelegate(m_delegate);
    setModel(m_proxy);
    setFrameShape(QFrame::NoFrame);
    setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    verticalScrollBar()->setSingleStep(fontMetrics().height() * 2);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setResizeMode(QListView::Adjust);
    setSelectionMode(QAbstractItemView::ExtendedSelection);
    setEditTriggers(QAbstractItemView::DoubleClicked);
    setMouseTracking(true);
    viewport()->setAttribute(Qt::WA_Hover); // compact rows show their time on hover
    setWordWrap(true);
    connect(m_delegate, &MessageDelegate::heightsCorrected, this, &ConversationView::relayoutMeasured);
    connect(m_delegate, &MessageDelegate::linkActivated, this, &ConversationView::linkActivated);
    connect(m_delegate, &MessageDelegate::retryRequested, this, &ConversationView::retryRequested);
    connect(m_delegate, &MessageDelegate::reactionToggled, this, &ConversationView::reactionToggled);
    connect(m_delegate, &MessageDelegate::originalRequested, this, &ConversationView::originalRequested);
    connect(m_delegate, &MessageDelegate::attachmentActionRequested, this,
            [this](const QModelIndex &index, MessageDelegate::AttachmentAction action) {
                if (m_messages && index.isValid())
                    Q_EMIT attachmentActionRequested(
                        action, m_messages->messageAt(m_proxy->mapToSource(index).row()));
            });

    QScrollBar *scrollBar = verticalScrollBar();
    connect(scrollBar, &QScrollBar::rangeChanged, this, &ConversationView::onScrollRangeChanged);
    connect(scrollBar, &QScrollBar::valueChanged, this, [this, scrollBar](int value) {
        noteSeen(); // what was on screen before the scroll
        if (!m_prepending)
            m_stickToBottom = value >= scrollBar->maximum() - 4;
        fetchOlderIfNeeded();
        fetchNewerIfNeeded();
        if (m_stickToBottom)
            QMetaObject::invokeMethod(this, &ConversationView::trimIfAtBottom, Qt::QueuedConnection);
        updateJumpButton();
        hideActionBar();
        Q_EMIT visibleMessagesChanged();
    });
    connect(m_proxy, &QAbstractItemModel::rowsAboutToBeInserted, this,
            [this](const QModelIndex &, int first, int last) { onRowsAboutToBeInserted(first, last); });
    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, &ConversationView::visibleMessagesChanged,
            Qt::QueuedConnection);
    connect(m_proxy, &QAbstractItemModel::rowsAboutToBeRemoved, this, &ConversationView::hideActionBar);
    // A message deleted under the pointer takes its actions with it.
    connect(m_proxy, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex &topLeft, const QModelIndex &bottomRight) {
                if (m_actionId <= 0)
                    return;
                const QModelIndex shown = indexOfMessage(m_actionId);
                if (shown.isValid() && shown.row() >= topLeft.row() && shown.row() <= bottomRight.row() &&
                    shown.data(MessageListModel::IsDeletedRole).toBool())
                    hideActionBar();
            });
    connect(m_proxy, &QAbstractItemModel::modelReset, this, [this] {
        // A page read around a message is not the end of the conversation.
        m_stickToBottom = !(m_messages && m_messages->hasNewer());
        hideActionBar();
        if (!tryOpenAtReadMarker())
            updateJumpButton();
    });
    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, [this] {
        if (m_openAtMarker)
            QMetaObject::invokeMethod(this, &ConversationView::tryOpenAtReadMarker, Qt::QueuedConnection);
        else
            applyReadMarker();
    });
    // What was on screen is seen: the pill counts what is below it (updated
    // where the rows or the scroll position change, not twice per frame).
    connect(this, &ConversationView::visibleMessagesChanged, this, &ConversationView::noteSeen);

    m_mentionButton->setObjectName(u"jumpToMention"_s);
    m_mentionButton->setCursor(Qt::PointingHandCursor);
    m_mentionButton->setToolTip(tr("Jump to the next message that mentions you"));
    m_mentionButton->hide();
    connect(m_mentionButton, &QPushButton::clicked, this, [this] {
        if (!revealNextMention() && m_messages && m_messages->hasNewer())
            verticalScrollBar()->setValue(verticalScrollBar()->maximum()); // the next page holds it
    });

    m_jumpButton->setObjectName(u"jumpToLatest"_s);
    m_jumpButton->setCursor(Qt::PointingHandCursor);
    m_jumpButton->setToolTip(tr("Jump to the latest message (End)"));
    m_jumpButton->hide();
    connect(m_jumpButton, &QPushButton::clicked, this, [this] {
        if (m_messages && m_messages->hasNewer())
            Q_EMIT latestRequested(); // the latest messages are not loaded: the app reloads them
        else
            scrollToLatest();
    });

    auto *copy = new QAction(tr("Copy Selected Messages"), this);
    copy->setShortcut(QKeySequence::Copy);
    copy->setShortcutContext(Qt::WidgetShortcut);
    connect(copy, &QAction::triggered, this, &ConversationView::copySelectedMessages);
    addAction(copy);

    // The hover action bar: small flat buttons over the message's top corner.
    m_actionBar->setObjectName(u"messageActions"_s);
    m_actionBar->setAutoFillBackground(true);
    m_actionBar->setBackgroundRole(QPalette::Window);
    auto *barLayout = new QHBoxLayout(m_actionBar);
    barLayout->setContentsMargins(2, 2, 2, 2);
    barLayout->setSpacing(0);
    const auto button = [this, barLayout](const QString &name, const QString &text, const QString &tip) {
        auto *b = new QToolButton(m_actionBar);
        b->setObjectName(name);
        b->setText(text);
        b->setToolTip(tip);
        b->setAccessibleName(tip);
        b->setAutoRaise(true);
        b->setFocusPolicy(Qt::NoFocus);
        barLayout->addWidget(b);
        return b;
    };
    m_reactButton = button(u"reactAction"_s, u"☺"_s, tr("Add reaction"));
    m_replyButton = button(u"replyAction"_s, u"↩"_s, tr("Reply"));
    m_editButton = button(u"editAction"_s, u"✎"_s, tr("Edit"));
    m_deleteButton = button(u"deleteAction"_s, u"🗑"_s, tr("Delete"));
    m_linkButton = button(u"linkAction"_s, u"🔗"_s, tr("Copy link"));
    connect(m_reactButton, &QToolButton::clicked, this, [this] {
        showReactionMenu(m_actionId, m_reactButton->mapToGlobal(QPoint(0, m_reactButton->height())));
    });
    connect(m_replyButton, &QToolButton::clicked, this, [this] { Q_EMIT replyRequested(m_actionId); });
    connect(m_editButton, &QToolButton::clicked, this, [this] { Q_EMIT editRequested(m_actionId); });
    connect(m_deleteButton, &QToolButton::clicked, this, [this] { Q_EMIT deleteRequested(m_actionId); });
    connect(m_linkButton, &QToolButton::clicked, this, [this] { Q_EMIT copyLinkRequested(m_actionId); });
    m_actionBar->hide();

    m_flashTimer.setSingleShot(true);
    m_flashTimer.setInterval(FlashMs);
    connect(&m_flashTimer, &QTimer::timeout, this, [this] {
        m_delegate->setFlashing(0);
        viewport()->update();
    });
}

ConversationView::~ConversationView() = default;

void ConversationView::setMessages(MessageListModel *messages)
{
    if (messages == m_messages && m_proxy->sourceModel() == messages)
        return;
    m_messages = messages;
    m_proxy->setSourceModel(messages);
    m_delegate->setFlashing(0);
    m_stickToBottom = true;
    m_openAtMarker = false;
    m_seenUpTo = 0;
    hideActionBar();
    scrollToBottom();
}

MessageListModel *ConversationView::messages() const
{
    return m_messages;
}

void ConversationView::scrollToLatest()
{
    m_openAtMarker = false;
    m_stickToBottom = true;
    scrollToBottom();
    updateJumpButton();
}

QModelIndex ConversationView::indexOfMessage(qint64 id) const
{
    if (!m_messages || id <= 0)
        return {};
    // Stored messages are in id order: a binary search over the rows.
    int low = 0;
    int high = m_messages->storedCount() - 1;
    while (low <= high) {
        const int middle = (low + high) / 2;
        const qint64 at = m_proxy->index(middle, 0).data(MessageListModel::IdRole).toLongLong();
        if (at == id)
            return m_proxy->index(middle, 0);
        if (at < id)
            low = middle + 1;
        else
            high = middle - 1;
    }
    return {};
}

bool ConversationView::revealMessage(qint64 id)
{
    const QModelIndex index = indexOfMessage(id);
    if (!index.isValid())
        return false;
    m_stickToBottom = false;
    scrollTo(index, QAbstractItemView::PositionAtCenter);
    m_stickToBottom = verticalScrollBar()->value() >= verticalScrollBar()->maximum() - 4;
    setCurrentIndex(index);
    m_delegate->setFlashing(id);
    m_flashTimer.start();
    viewport()->update();
    updateJumpButton();
    return true;
}

qint64 ConversationView::flashingMessage() const
{
    return m_delegate->flashing();
}

void ConversationView::setReadMarker(qint64 id, int unread, int mentions)
{
    m_readMarker = std::max<qint64>(id, 0);
    m_unreadAtMarker = m_readMarker > 0 ? std::max(unread, 0) : 0;
    m_mentionsAtMarker = m_readMarker > 0 ? std::clamp(mentions, 0, m_unreadAtMarker) : 0;
    if (m_readMarker > 0)
        m_seenUpTo = m_readMarker; // what follows is new until it is on screen
    else
        m_openAtMarker = false;
    applyReadMarker();
    updateJumpButton();
}

int ConversationView::firstStoredRowAfter(qint64 id) const
{
    // Stored messages are in id order (the outbox follows them).
    int low = 0;
    int high = m_messages ? m_messages->storedCount() : 0;
    while (low < high) {
        const int middle = (low + high) / 2;
        if (m_proxy->index(middle, 0).data(MessageListModel::IdRole).toLongLong() <= id)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

void ConversationView::applyReadMarker()
{
    // The line goes above what someone else wrote: the user's own messages
    // right after the marker (sent from another device, or before a restart
    // moved it) are not news to them.
    qint64 drawn = m_readMarker;
    if (m_readMarker > 0 && m_messages) {
        const int stored = m_messages->storedCount();
        for (int row = firstStoredRowAfter(m_readMarker); row < stored; ++row) {
            const QModelIndex index = m_proxy->index(row, 0);
            if (!index.data(MessageListModel::IsOwnRole).toBool())
                break;
            drawn = index.data(MessageListModel::IdRole).toLongLong();
        }
    }
    if (m_delegate->readMarker() == drawn)
        return;
    m_delegate->setReadMarker(drawn);
    scheduleDelayedItemsLayout(); // the divider's row changes height
    viewport()->update();
}

void ConversationView::openAtReadMarker()
{
    m_openAtMarker = m_readMarker > 0;
    m_markerPageAsked = false;
    if (m_openAtMarker)
        tryOpenAtReadMarker();
}

bool ConversationView::tryOpenAtReadMarker()
{
    if (!m_openAtMarker || !m_messages)
        return false;
    applyReadMarker();
    const qint64 drawn = m_delegate->readMarker();
    const int row = firstStoredRowAfter(drawn);
    if (row >= m_messages->storedCount())
        return false; // nothing after it loaded yet (the page is on its way)
    const qint64 oldest = m_proxy->index(0, 0).data(MessageListModel::IdRole).toLongLong();
    if (row == 0 && oldest > drawn + 1 && m_messages->hasOlder()) {
        // The first unread is older than the loaded page: ask for the page around the marker.
        if (!std::exchange(m_markerPageAsked, true))
            Q_EMIT readMarkerWanted(m_readMarker);
        return false;
    }
    m_openAtMarker = false;
    m_stickToBottom = false;
    executeDelayedItemsLayout();
    m_seenUpTo = m_readMarker; // nothing after it was on screen yet
    scrollTo(m_proxy->index(row, 0), QAbstractItemView::PositionAtTop);
    QScrollBar *scrollBar = verticalScrollBar();
    m_stickToBottom = !m_messages->hasNewer() && scrollBar->value() >= scrollBar->maximum() - 4;
    noteSeen();
    updateJumpButton();
    Q_EMIT visibleMessagesChanged();
    return true;
}

void ConversationView::noteSeen()
{
    // At the bottom of the latest messages everything loaded has been on screen.
    if (m_messages && m_stickToBottom && isVisible() && !m_messages->hasNewer())
        m_seenUpTo = std::max(m_seenUpTo, m_messages->lastStoredId());
    else
        m_seenUpTo = std::max(m_seenUpTo, lastVisibleMessage());
}

int ConversationView::countUnseen(bool mentionsOnly) const
{
    if (!m_messages || m_seenUpTo <= 0)
        return 0; // nothing was seen here yet to be newer than
    // Others' loaded messages below what was seen; while a page read around
    // the marker is shown, the server's count of what follows it says more.
    const int stored = m_messages->storedCount();
    const int hint = mentionsOnly ? m_mentionsAtMarker : m_unreadAtMarker;
    const bool partial = m_messages->hasNewer() && hint > 0 && m_readMarker > 0;
    int below = 0;
    int seenSinceMarker = 0;
    for (int row = firstStoredRowAfter(partial ? std::min(m_seenUpTo, m_readMarker) : m_seenUpTo);
         row < stored; ++row) {
        const QModelIndex index = m_proxy->index(row, 0);
        if (index.data(MessageListModel::IsOwnRole).toBool() ||
            (mentionsOnly && !index.data(MessageListModel::MentionsMeRole).toBool()))
            continue;
        if (index.data(MessageListModel::IdRole).toLongLong() > m_seenUpTo)
            ++below;
        else
            ++seenSinceMarker;
    }
    if (partial)
        below = std::max(below, hint - seenSinceMarker);
    return below;
}

bool ConversationView::revealNextMention()
{
    if (!m_messages)
        return false;
    const qint64 after = std::max(m_seenUpTo, lastVisibleMessage());
    const int stored = m_messages->storedCount();
    for (int row = firstStoredRowAfter(after); row < stored; ++row) {
        const QModelIndex index = m_proxy->index(row, 0);
        if (!index.data(MessageListModel::IsOwnRole).toBool() &&
            index.data(MessageListModel::MentionsMeRole).toBool())
            return revealMessage(index.data(MessageListModel::IdRole).toLongLong());
    }
    return false;
}

qint64 ConversationView::lastVisibleMessage() const
{
    if (!m_messages || !isVisible())
        return 0;
    QModelIndex index = indexAt(QPoint(1, viewport()->height() - 1));
    if (!index.isValid() && m_proxy->rowCount() > 0) // the rows end above the bottom edge
        index = m_proxy->index(m_proxy->rowCount() - 1, 0);
    for (; index.isValid(); index = index.siblingAtRow(index.row() - 1)) {
        if (const qint64 id = index.data(MessageListModel::IdRole).toLongLong(); id > 0)
            return id;
    }
    return 0;
}

void ConversationView::onRowsAboutToBeInserted(int first, int last)
{
    const QScrollBar *scrollBar = verticalScrollBar();
    m_prepending = first == 0 && m_proxy->rowCount() > 0;
    m_distanceFromBottom = scrollBar->maximum() - scrollBar->value();
    if (!m_prepending && !m_stickToBottom)
        QMetaObject::invokeMethod(this, &ConversationView::updateJumpButton, Qt::QueuedConnection);
    Q_UNUSED(last)
}

void ConversationView::updateJumpButton()
{
    const QScrollBar *scrollBar = verticalScrollBar();
    const bool farUp = scrollBar->maximum() - scrollBar->value() > 2 * viewport()->height();
    noteSeen();
    const int unseen = m_stickToBottom ? 0 : unseenCount();
    const bool detached = m_messages && m_messages->hasNewer();
    const bool show = m_messages && (detached || (!m_stickToBottom && (unseen > 0 || farUp)));
    if (show) {
        // Laid out again only when its words change: this runs on every scroll.
        if (const QString text =
                unseen == 0 ? tr("↓ Latest") : tr("↓ %n new · Jump to latest", nullptr, unseen);
            text != m_jumpButton->text()) {
            m_jumpButton->setText(text);
            m_jumpButton->adjustSize();
        }
        const QRect area = viewport()->geometry();
        const int margin = fontMetrics().height();
        m_jumpButton->move(area.right() - m_jumpButton->width() - margin,
                           area.bottom() - m_jumpButton->height() - margin);
        m_jumpButton->raise();
    }
    m_jumpButton->setVisible(show);
    // Mentions below get a way of their own to them, above the pill.
    const int mentions = m_stickToBottom ? 0 : unseenMentionCount();
    if (mentions > 0) {
        if (const QString text = tr("@ %n mention(s)", nullptr, mentions); text != m_mentionButton->text()) {
            m_mentionButton->setText(text);
            m_mentionButton->adjustSize();
        }
        const QRect area = viewport()->geometry();
        const int margin = fontMetrics().height();
        const int bottom = show ? m_jumpButton->y() - margin / 2 : area.bottom() - margin;
        m_mentionButton->move(area.right() - m_mentionButton->width() - margin,
                              bottom - m_mentionButton->height());
        m_mentionButton->raise();
    }
    m_mentionButton->setVisible(mentions > 0);
}

void ConversationView::onScrollRangeChanged()
{
    QScrollBar *scrollBar = verticalScrollBar();
    if (m_stickToBottom) {
        scrollBar->setValue(scrollBar->maximum());
    } else if (m_prepending) {
        // Older messages went in above: keep what the user was reading in place.
        scrollBar->setValue(scrollBar->maximum() - m_distanceFromBottom);
    }
    m_prepending = false;
    fetchOlderIfNeeded();
    fetchNewerIfNeeded();
    if (m_stickToBottom)
        QMetaObject::invokeMethod(this, &ConversationView::trimIfAtBottom, Qt::QueuedConnection);
}

void ConversationView::fetchOlderIfNeeded()
{
    // Near the top (or nothing to scroll yet): ask the model for older history.
    if (!m_messages || !isVisible())
        return;
    const QScrollBar *scrollBar = verticalScrollBar();
    if (scrollBar->value() <= viewport()->height() / 2 && m_messages->canFetchMore({})) {
        qCDebug(lcNatterUi) << "near the top: asking for older messages";
        m_messages->fetchMore({});
    }
}

void ConversationView::fetchNewerIfNeeded()
{
    // Near the end of a page read around a message: the next page.
    if (!m_messages || !isVisible() || !m_messages->hasNewer())
        return;
    const QScrollBar *scrollBar = verticalScrollBar();
    if (scrollBar->value() >= scrollBar->maximum() - viewport()->height() / 2)
        m_messages->fetchNewer();
}

void ConversationView::trimIfAtBottom()
{
    if (m_messages && m_stickToBottom && !m_messages->hasNewer() &&
        m_messages->storedCount() > MaxLoadedAtBottom) {
        qCDebug(lcNatterUi) << "back at the bottom: keeping the latest" << MaxLoadedAtBottom / 2 << "of"
                            << m_messages->storedCount() << "loaded messages";
        m_messages->trimToLatest(MaxLoadedAtBottom / 2);
    }
}

void ConversationView::copySelectedMessages()
{
    QModelIndexList selected = selectionModel()->selectedIndexes();
    std::sort(selected.begin(), selected.end(),
              [](const QModelIndex &a, const QModelIndex &b) { return a.row() < b.row(); });
    QStringList texts;
    for (const QModelIndex &index : std::as_const(selected)) {
        if (!index.data(MessageListModel::IsDeletedRole).toBool())
            texts.append(index.data(MessageListModel::TextRole).toString());
    }
    if (!texts.isEmpty())
        QGuiApplication::clipboard()->setText(texts.join(u'\n'));
}

QStyleOptionViewItem ConversationView::optionFor(const QModelIndex &index) const
{
    QStyleOptionViewItem option;
    option.initFrom(viewport());
    option.rect = visualRect(index);
    option.font = font();
    option.widget = this;
    return option;
}

bool ConversationView::canDelete(const QModelIndex &index) const
{
    return index.data(MessageListModel::IsOwnRole).toBool() || m_canDeleteOthers;
}

void ConversationView::showMessageMenu(const QPoint &position)
{
    const QModelIndex index = indexAt(position);
    if (!index.isValid())
        return;
    if (!selectionModel()->isSelected(index))
        setCurrentIndex(index);
    const QUrl link = m_delegate->linkAt(optionFor(index), index, position);
    const qint64 id = index.data(MessageListModel::IdRole).toLongLong();
    const bool deleted = index.data(MessageListModel::IsDeletedRole).toBool();
    const bool isOwn = index.data(MessageListModel::IsOwnRole).toBool();

    QMenu menu(this);
    menu.setObjectName(u"messageMenu"_s);
    if (id > 0 && !deleted) {
        QMenu *react = menu.addMenu(tr("Add Reaction"));
        react->setObjectName(u"reactionMenu"_s);
        addReactionGrid(react, id);
        menu.addAction(tr("Reply"), this, [this, id] { Q_EMIT replyRequested(id); });
        if (isOwn)
            menu.addAction(tr("Edit"), this, [this, id] { Q_EMIT editRequested(id); });
        if (canDelete(index))
            menu.addAction(tr("Delete…"), this, [this, id] { Q_EMIT deleteRequested(id); });
        menu.addSeparator();
    }
    if (const Message message = m_messages->messageAt(m_proxy->mapToSource(index).row());
        !deleted && (message.attachment.isValid() || !message.attachment.name.isEmpty())) {
        // What the file's card offers, and saving a copy elsewhere.
        const auto transfer = index.data(MessageListModel::TransferRole).value<Transfer>();
        const auto request = [this, message](MessageDelegate::AttachmentAction action) {
            return [this, message, action] { Q_EMIT attachmentActionRequested(action, message); };
        };
        if (transfer.isActive()) {
            menu.addAction(transfer.kind == Transfer::Kind::Upload ? tr("Cancel Upload")
                                                                   : tr("Cancel Download"),
                           this, request(MessageDelegate::AttachmentAction::Cancel));
        }
        if (id > 0) {
            menu.addAction(message.attachment.isImage() ? tr("View Image") : tr("Open"), this,
                           request(MessageDelegate::AttachmentAction::Open));
            menu.addAction(tr("Save As…"), this, request(MessageDelegate::AttachmentAction::SaveAs));
            if (!transfer.localPath.isEmpty() && !transfer.isActive())
                menu.addAction(tr("Show in Folder"), this,
                               request(MessageDelegate::AttachmentAction::ShowInFolder));
        }
        menu.addSeparator();
    }
    if (!deleted) {
        menu.addAction(tr("Copy Text"), this, &ConversationView::copySelectedMessages);
        menu.addAction(tr("Select Text…"), this, [this, index] { edit(index); });
    }
    if (id > 0)
        menu.addAction(tr("Copy Link to Message"), this, [this, id] { Q_EMIT copyLinkRequested(id); });
    if (link.isValid())
        menu.addAction(tr("Copy Link"), this,
                       [link] { QGuiApplication::clipboard()->setText(link.toString()); });
    const QString sender = index.data(MessageListModel::SenderLabelRole).toString();
    const QString email = index.data(MessageListModel::SenderEmailRole).toString();
    if (!isOwn)
        menu.addAction(tr("Message %1 Directly").arg(sender), this,
                       [this, email, sender] { Q_EMIT directMessageRequested(email, sender); });
    if (isOwn && index.data(MessageListModel::DeliveryStateRole).value<MessageListModel::DeliveryState>() ==
                     MessageListModel::DeliveryState::Failed) {
        const QString clientId = index.data(MessageListModel::ClientIdRole).toString();
        menu.addAction(tr("Retry Sending"), this, [this, clientId] { Q_EMIT retryRequested(clientId); });
    }
    menu.exec(viewport()->mapToGlobal(position));
}

void ConversationView::showReactionMenu(qint64 id, const QPoint &globalPosition)
{
    if (id <= 0)
        return;
    QMenu menu(this);
    menu.setObjectName(u"reactionMenu"_s);
    addReactionGrid(&menu, id);
    menu.exec(globalPosition);
}

void ConversationView::updateActionBar(const QPoint &position)
{
    const QModelIndex index = indexAt(position);
    const qint64 id = index.isValid() ? index.data(MessageListModel::IdRole).toLongLong() : 0;
    if (id <= 0 || index.data(MessageListModel::IsDeletedRole).toBool() || state() == EditingState) {
        hideActionBar();
        return;
    }
    if (id == m_actionId && m_actionBar->isVisible())
        return;
    m_actionId = id;
    const bool own = index.data(MessageListModel::IsOwnRole).toBool();
    m_editButton->setVisible(own);
    m_deleteButton->setVisible(canDelete(index));
    m_actionBar->adjustSize();
    // Over the bubble's top edge, on the side away from the avatar, never
    // over its words: above them, or beside a short bubble when there is no
    // room above (the top row).
    const MessageDelegate::Layout l = m_delegate->layout(optionFor(index), index);
    const QRect row = visualRect(index);
    const QRect bubble = l.bubble.translated(row.topLeft());
    const QRect words = (l.text.isNull() ? l.bubble : l.text).translated(row.topLeft());
    const QSize bar = m_actionBar->size();
    int x = own ? bubble.left() : bubble.right() - bar.width();
    x = std::clamp(x, 0, std::max(0, viewport()->width() - bar.width()));
    int y = std::min(bubble.top() - bar.height() / 2, words.top() - bar.height());
    if (y < 0) {
        y = bubble.top();
        x = own ? bubble.left() - bar.width() - 2 : bubble.right() + 2;
        if (x < 0 || x + bar.width() > viewport()->width()) { // no room beside either: below it
            x = std::clamp(own ? bubble.right() - bar.width() : bubble.left(), 0,
                           std::max(0, viewport()->width() - bar.width()));
            y = bubble.bottom() + 2;
        }
    }
    m_actionBar->move(x, y);
    m_actionBar->show();
    m_actionBar->raise();
}

void ConversationView::hideActionBar()
{
    m_actionId = 0;
    m_actionBar->hide();
}

void ConversationView::mouseMoveEvent(QMouseEvent *event)
{
    QListView::mouseMoveEvent(event);
    updateActionBar(event->position().toPoint());
}

void ConversationView::leaveEvent(QEvent *event)
{
    QListView::leaveEvent(event);
    // Moving onto the bar itself leaves the viewport: keep it then.
    if (!m_actionBar->underMouse())
        hideActionBar();
}

void ConversationView::contextMenuEvent(QContextMenuEvent *event)
{
    // From the keyboard (the Menu key, Shift+F10): the menu of the current
    // message, where it is, not of whatever lies under the viewport's centre.
    QPoint position = event->pos();
    if (event->reason() == QContextMenuEvent::Keyboard && currentIndex().isValid()) {
        scrollTo(currentIndex());
        position = visualRect(currentIndex()).center();
    }
    showMessageMenu(position);
    event->accept();
}

void ConversationView::wheelEvent(QWheelEvent *event)
{
    m_openAtMarker = false; // the user has taken over
    hideActionBar();
    QListView::wheelEvent(event);
}

QItemSelectionModel::SelectionFlags ConversationView::selectionCommand(const QModelIndex &index,
                                                                       const QEvent *event) const
{
    if (event && (event->type() == QEvent::MouseButtonPress || event->type() == QEvent::MouseButtonRelease ||
                  event->type() == QEvent::MouseMove || event->type() == QEvent::MouseButtonDblClick)) {
        const auto *mouse = static_cast<const QMouseEvent *>(event);
        const bool plain = !(mouse->modifiers() & (Qt::ShiftModifier | Qt::ControlModifier));
        if (plain && (mouse->button() == Qt::LeftButton || mouse->buttons() & Qt::LeftButton))
            return QItemSelectionModel::Clear; // no band left behind by reading
    }
    return QListView::selectionCommand(index, event);
}

void ConversationView::mousePressEvent(QMouseEvent *event)
{
    m_openAtMarker = false;
    QListView::mousePressEvent(event);
}

void ConversationView::relayoutMeasured()
{
    // Rows on screen were measured and differ from their estimates: lay out
    // again, keeping what the user reads in place.
    m_anchorNextLayout = true;
    doItemsLayout();
}

void ConversationView::doItemsLayout()
{
    const QAbstractItemModel *rows = model();
    if (!rows || rows->rowCount() == 0) {
        QListView::doItemsLayout();
        return;
    }
    // The rows that will be on screen: at the bottom the last ones, else from
    // the one at the top (kept there).
    const QModelIndex top = m_stickToBottom ? QModelIndex() : indexAt(QPoint(viewport()->width() / 2, 1));
    const int onScreen = viewport()->height() / std::max(1, fontMetrics().height()) + 4;
    const int count = rows->rowCount();
    if (top.isValid())
        m_delegate->setMeasuredRows(top.row(), top.row() + onScreen);
    else
        m_delegate->setMeasuredRows(count - onScreen, count - 1);
    const bool anchor = std::exchange(m_anchorNextLayout, false) && top.isValid();
    const int topBefore = anchor ? visualRect(top).top() : 0;
    QListView::doItemsLayout();
    if (anchor) {
        QScrollBar *scrollBar = verticalScrollBar();
        scrollBar->setValue(scrollBar->value() + visualRect(top).top() - topBefore);
    }
}

void ConversationView::resizeEvent(QResizeEvent *event)
{
    if (event->size().width() != event->oldSize().width())
        m_anchorNextLayout = true;
    QListView::resizeEvent(event);
    hideActionBar();
    updateJumpButton();
    Q_EMIT visibleMessagesChanged();
}

void ConversationView::keyPressEvent(QKeyEvent *event)
{
    // Typing while the message list has focus goes to the composer.
    if (!event->text().isEmpty() && event->text().at(0).isPrint() &&
        !(event->modifiers() & (Qt::ControlModifier | Qt::AltModifier | Qt::MetaModifier))) {
        Q_EMIT textTyped(event->text());
        return;
    }
    m_openAtMarker = false;
    if (event->key() == Qt::Key_End && event->modifiers() == Qt::NoModifier) {
        scrollToLatest();
        return;
    }
    QListView::keyPressEvent(event);
}

} // namespace Natter
