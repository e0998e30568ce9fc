#pragma once

#include "ui/messagedelegate.h"

#include <QListView>
#include <QPointer>
#include <QTimer>

QT_BEGIN_NAMESPACE
class QIdentityProxyModel;
class QMenu;
class QPushButton;
class QToolButton;
QT_END_NAMESPACE

namespace Natter {

class MessageListModel;
struct Message;

/// One conversation's messages, as a chat shows them: it sticks to the
/// bottom while the user is there, keeps what they read in place when older
/// messages go in above, fetches older history near the top and trims a long
/// backlog back at the bottom, offers "↓ N new messages" while they read
/// further up, and marks where the unread messages start.
///
/// Hovering a message shows a small action bar (react, reply, edit, delete,
/// copy link); the same actions are in its context menu. The view only
/// reports what the user asks for; the app decides and tells the server.
class ConversationView final : public QListView
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConversationView)

public:
    /// Back at the bottom, a conversation keeps at most this many loaded
    /// messages (older ones are fetched again when scrolled to): re-laying
    /// out a very long backlog is what costs, not scrolling it.
    static constexpr int MaxLoadedAtBottom = 1000;
    /// The emoji offered by the action bar's react button, in order.
    static QStringList quickReactions();
    /// Every emoji the reaction picker offers (the quick ones first).
    static QStringList reactionChoices();

    explicit ConversationView(QWidget *parent = nullptr);
    ~ConversationView() override;

    /// Shows a conversation's messages (owned by the client); nullptr shows none.
    void setMessages(MessageListModel *messages);
    MessageListModel *messages() const;
    MessageDelegate *messageDelegate() const { return m_delegate; }
    /// "↓ 3 new · Jump to latest" over the list while the user reads further up.
    QPushButton *jumpToLatestButton() const { return m_jumpButton; }
    /// The hover action bar (hidden unless the pointer is on a message).
    QWidget *actionBar() const { return m_actionBar; }
    /// The message the action bar is shown for (0: none).
    qint64 actionBarMessage() const { return m_actionId; }
    /// Whether the action bar offers deleting others' messages (the user owns this private room).
    void setCanDeleteOthers(bool can) { m_canDeleteOthers = can; }

    /// Back to the newest message, and staying there as others arrive.
    void scrollToLatest();
    bool isAtBottom() const { return m_stickToBottom; }
    /// Measures the rows about to be shown (the others may be estimated), and
    /// after a change of width keeps the row at the top where it was.
    void doItemsLayout() override;
    /// Scrolls a loaded message into the middle of the view and flashes it;
    /// false if it is not loaded.
    bool revealMessage(qint64 id);
    /// The message flashing now after revealMessage() (0: none).
    qint64 flashingMessage() const;
    /// The "New messages" divider goes above the first message of someone
    /// else after id (0: no divider); unread says how many of theirs follow it
    /// (for the pill, while they are not all loaded).
    void setReadMarker(qint64 id, int unread = 0, int mentions = 0);
    qint64 readMarker() const { return m_readMarker; }
    /// Opens the conversation where the user stopped: the first unread
    /// message at the top with the divider above it, not the bottom. Done
    /// when that message is loaded (now or as pages arrive: readMarkerWanted()
    /// asks for it) unless the user scrolls first.
    void openAtReadMarker();
    bool isOpeningAtReadMarker() const { return m_openAtMarker; }
    /// Messages of others below what the user has seen since the conversation
    /// was shown (the pill's N, and what is left unread).
    int unseenCount() const { return countUnseen(false); }
    /// Of those, the ones that mention the user.
    int unseenMentionCount() const { return countUnseen(true); }
    /// "@ 2" over the list while mentions of the user are below: jumps to the next.
    QPushButton *jumpToMentionButton() const { return m_mentionButton; }
    /// Reveals the next unseen mention of the user below what is on screen; false if none is loaded.
    bool revealNextMention();
    /// The newest message seen since the conversation was shown.
    qint64 seenUpTo() const { return m_seenUpTo; }
    /// The newest stored message whose row can be seen now (0: none).
    qint64 lastVisibleMessage() const;
    /// The row of a stored message in the view (invalid if not loaded).
    QModelIndex indexOfMessage(qint64 id) const;

    void copySelectedMessages();
    /// The context menu of a row, as the user would get it (for tests and keys).
    void showMessageMenu(const QPoint &position);

Q_SIGNALS:
    void linkActivated(const QUrl &url);
    /// The user clicked "Retry" on a message that failed to send.
    void retryRequested(const QString &clientId);
    void directMessageRequested(const QString &email, const QString &name);
    void replyRequested(qint64 id);
    void editRequested(qint64 id);
    void deleteRequested(qint64 id);
    /// Copy a link to the message (the app knows the conversation's address).
    void copyLinkRequested(qint64 id);
    void reactionToggled(qint64 id, const QString &emoji, bool on);
    /// A reply's quote was clicked: show the message it answers.
    void originalRequested(qint64 id);
    /// Printable keys typed while the list has focus (they belong in the composer).
    void textTyped(const QString &text);
    /// Something was asked of a message's shared file (its card, its image, the context menu).
    void attachmentActionRequested(Natter::MessageDelegate::AttachmentAction action,
                                   const Natter::Message &message);
    /// "↓ Latest" was clicked while a page read around a message is shown.
    void latestRequested();
    /// The rows on screen changed (scrolled, resized, messages arrived).
    void visibleMessagesChanged();
    /// Opening at the read marker needs the page around message id (older than what is loaded).
    void readMarkerWanted(qint64 id);

protected:
    void keyPressEvent(QKeyEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    /// Lays out again after rows on screen were measured (MessageDelegate::heightsCorrected).
    void relayoutMeasured();
    void mouseMoveEvent(QMouseEvent *event) override;
    void leaveEvent(QEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    /// A plain click reads (opens links, chips, files): it selects nothing.
    /// Shift/Ctrl+click, the keyboard and the context menu select, for copying.
    QItemSelectionModel::SelectionFlags selectionCommand(const QModelIndex &index,
                                                         const QEvent *event = nullptr) const override;
    void contextMenuEvent(QContextMenuEvent *event) override;

private:
    QStyleOptionViewItem optionFor(const QModelIndex &index) const;
    void onRowsAboutToBeInserted(int first, int last);
    void updateJumpButton();
    void onScrollRangeChanged();
    void fetchOlderIfNeeded();
    void fetchNewerIfNeeded();
    void trimIfAtBottom();
    void updateActionBar(const QPoint &position);
    void hideActionBar();
    void showReactionMenu(qint64 id, const QPoint &globalPosition);
    void addReactionGrid(QMenu *menu, qint64 id);
    bool canDelete(const QModelIndex &index) const;
    /// The first stored row whose id is greater than id (rowCount() if none).
    int firstStoredRowAfter(qint64 id) const;
    /// The marker the delegate draws: past the user's own messages right after m_readMarker.
    void applyReadMarker();
    bool tryOpenAtReadMarker();
    int countUnseen(bool mentionsOnly) const;
    void noteSeen();

    QIdentityProxyModel *m_proxy;
    QPointer<MessageListModel> m_messages; // owned by the client, which may drop it first
    MessageDelegate *m_delegate;
    QPushButton *m_jumpButton;
    QPushButton *m_mentionButton;
    QWidget *m_actionBar;
    QToolButton *m_reactButton;
    QToolButton *m_replyButton;
    QToolButton *m_editButton;
    QToolButton *m_deleteButton;
    QToolButton *m_linkButton;
    qint64 m_actionId = 0;
    bool m_canDeleteOthers = false;
    QTimer m_flashTimer;
    qint64 m_readMarker = 0;
    int m_unreadAtMarker = 0;   // others' messages after the marker when it was set (the server's count)
    int m_mentionsAtMarker = 0; // of those, the ones mentioning the user
    qint64 m_seenUpTo = 0;      // the newest message on screen since the conversation was shown
    bool m_openAtMarker = false;
    bool m_markerPageAsked = false; // readMarkerWanted() said once for this opening
    bool m_stickToBottom = true;
    bool m_anchorNextLayout = false; // the width changed: keep the top row in place
    bool m_prepending = false;
    int m_distanceFromBottom = 0;
};

} // namespace Natter
