#pragma once

#include "common/conversationlistmodel.h"
#include "ui/composerbar.h"
#include "ui/directorydialog.h"
#include "ui/messagedelegate.h"
#include "ui/theme.h"

#include <QMainWindow>
#include <QPointer>
#include <QTimer>
#include <QUrl>

#include <functional>

QT_BEGIN_NAMESPACE
class QAbstractItemModel;
class QLabel;
class QListView;
class QSortFilterProxyModel;
class QToolButton;
class QPushButton;
class QFrame;
class QLineEdit;
class QIdentityProxyModel;
QT_END_NAMESPACE

namespace Natter {

class AttachmentImages;
class Composer;
class ComposerBar;
class ConversationView;
class MessageListModel;
class SearchPanel;
class UploadSheet;

/// The chat window: conversations on the left (rooms, direct messages, with
/// unread counts), the current conversation in the middle (styled message
/// list, typing line, composer), who is in the room on the right, and the
/// connection's state always in the status bar.
///
/// It shows models and reports what the user asks for; it knows nothing of
/// sockets. The app connects its signals to the chat client.
class MainWindow final : public QMainWindow
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MainWindow)

public:
    enum class ConnectionIndicator
    {
        Online,
        Connecting,
        Offline,
    };
    Q_ENUM(ConnectionIndicator)

    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    /// The sidebar's conversations (a ConversationListModel or one with its roles).
    void setConversationModel(QAbstractItemModel *conversations);
    /// Who is in the current room (a MemberListModel).
    void setMemberModel(QAbstractItemModel *members);
    /// Shows a conversation's messages; nullptr shows the empty state.
    void showConversation(const ConversationKey &key, MessageListModel *messages);
    ConversationKey currentConversation() const { return m_current; }
    void setConversationHeader(const QString &title, const QString &subtitle);
    QString conversationSubtitle() const;
    void setConnectionStatus(ConnectionIndicator indicator, const QString &text,
                             bool canReconnectNow = false);
    void setServerTitle(const QString &title);
    /// Where others join a chat hosted here, and its certificate's fingerprint:
    /// in Chat Info (the status bar's button), not spelled out in the status bar.
    void setHostingAddresses(const QStringList &urls, const QString &fingerprint = {});
    /// What Chat Info shows now: where the chat is, and its certificate's fingerprint.
    QString chatInfoText() const;
    /// Opens Chat Info (non-modal): the addresses and fingerprint, to copy or read out.
    void showChatInfo();
    /// Narrow (one pane at a time): the conversation list is shown instead of a conversation.
    bool isShowingConversationList() const;
    /// "‹" in a narrow window's conversation header: back to the conversation list.
    QToolButton *backButton() const { return m_backButton; }
    /// The current room is private and this user owns it: members can be removed.
    void setRoomManageable(bool manageable);
    /// The lock in the status bar; the fingerprint (display form) in its tooltip.
    void setConnectionSecurity(bool encrypted, const QString &fingerprint);
    QString connectionSecurityText() const;
    void setTypingText(const QString &text);
    /// Answers for the room / people search of the open directory dialog (if any).
    void showRoomSearchResults(const Protocol::RoomList &list);
    void showPeopleSearchResults(const Protocol::People &people);
    /// The View menu's choice of side panes (remembered by the app); a narrow
    /// window hides them for as long as it is narrow.
    void setPanesShown(bool sidebar, bool members);
    /// Conversations by their latest message (the default) or in opening order.
    void setSortByActivity(bool byActivity);
    /// Applies a theme to the whole app and checks it in View → Theme.
    void setTheme(Theme theme);
    Theme theme() const;
    /// Slack-like rows (avatar, name, time, text) instead of bubbles.
    void setCompactMessages(bool compact);
    bool isCompactMessages() const;
    bool isSortedByActivity() const;
    bool isSidebarShown() const;
    bool isMembersShown() const;
    /// The directory dialog open now ("Join a Room", "New Direct Message"), if any.
    DirectoryDialog *directoryDialog() const { return m_directory; }
    /// Where inline images come from.
    void setAttachmentImages(AttachmentImages *images);
    /// The paperclip: asks for files to share in the current conversation.
    void chooseFiles();
    /// Shows what a paste, a drop or the paperclip would share (UploadSheet),
    /// and shares it in the conversation shown now only when the user says Send.
    void offerFiles(const QStringList &paths);
    void offerImage(const QImage &image);
    void offer(UploadSheet *sheet);
    /// A banner above the messages that stays until dismissed or replaced.
    void showError(const QString &message);
    void clearError();
    QString errorText() const;
    /// Counts showError() calls: who knows the count at some moment can tell
    /// whether the banner shown now came later.
    quint64 errorSerial() const { return m_errorSerial; }
    /// The signed-in user (the people directory lists them last).
    void setSelfEmail(const QString &email) { m_selfEmail = email; }

    /// Clears the composer after its text was accepted for sending.
    void messageAccepted();
    /// The drafts kept per conversation (by ConversationKey::toString()),
    /// the current conversation's as it is now.
    QHash<QString, ComposerBar::Draft> drafts() const;
    /// Drafts kept from an earlier run: the current conversation's goes
    /// into the composer now, the others' when they are opened.
    void setDrafts(const QHash<QString, ComposerBar::Draft> &drafts);
    /// Asked before the window closes; returning false keeps it open.
    void setCloseGuard(std::function<bool()> guard) { m_closeGuard = std::move(guard); }
    /// The message being edited was saved: leave editing.
    void editAccepted();
    void focusComposer();
    void scrollToBottom();
    /// Reply to / edit a loaded message of the current conversation (the
    /// composer says so above itself; Esc cancels).
    void startReply(qint64 id);
    void startEdit(qint64 id);
    void cancelComposerMode();
    /// The "New messages" divider goes below this message (0: none).
    /// "New messages" above the first of unread messages after id (ConversationView::setReadMarker()).
    void setReadMarker(qint64 id, int unread = 0, int mentions = 0);
    /// Scrolls to a loaded message of the current conversation and flashes it.
    bool revealMessage(qint64 id);
    /// Opens the search panel (Ctrl+K), with text in its field if given.
    void openSearch(const QString &text = {});
    /// An answer to searchRequested().
    void showSearchResults(const Protocol::SearchResults &results);
    SearchPanel *searchPanel() const { return m_searchPanel; }
    /// The user's newest message in the current conversation (0: none).
    qint64 lastOwnMessage() const;

    Composer *composer() const { return m_composer; }
    ConversationView *messageView() const { return m_messageView; }
    QListView *roomList() const { return m_roomList; }
    QListView *directList() const { return m_directList; }
    QListView *memberList() const { return m_memberList; }
    MessageDelegate *messageDelegate() const;
    QLabel *typingLabel() const { return m_typingLabel; }
    QLabel *statusLabel() const { return m_statusLabel; }
    /// Shown over a conversation without messages.
    QLabel *noMessagesLabel() const { return m_noMessagesLabel; }
    /// "↓ 3 new messages" over the list while the user reads further up.
    QPushButton *jumpToLatestButton() const;
    /// "Replying to …" / "Editing message" above the composer.
    QLabel *composerBannerLabel() const;
    bool isReplying() const;
    bool isEditing() const;

Q_SIGNALS:
    void conversationSelected(const Natter::ConversationKey &key);
    /// A conversation's draft changed: when the user leaves it, and a moment
    /// after they stop typing (an empty draft: none any more).
    void draftChanged(const Natter::ConversationKey &key, const Natter::ComposerBar::Draft &draft);
    /// replyTo: the message this one answers (0: none); mentions: the emails of those it calls by @name.
    void sendRequested(const Natter::ConversationKey &key, const QString &text, qint64 replyTo,
                       const QStringList &mentions);
    void editRequested(qint64 id, const QString &text, const QStringList &mentions);
    /// Asked after the user confirmed.
    void deleteRequested(qint64 id);
    void reactionToggled(qint64 id, const QString &emoji, bool on);
    /// Show this message of the conversation (a reply's original, a link, a search hit).
    void messageRequested(const Natter::ConversationKey &key, qint64 id);
    void copyLinkRequested(const Natter::ConversationKey &key, qint64 id);
    void searchRequested(const Natter::Protocol::SearchRequest &request);
    /// Back to the latest messages after a jump loaded older ones.
    void latestRequested(const Natter::ConversationKey &key);
    /// The user has seen the conversation up to id (it is on screen in the active window).
    void readUpTo(const Natter::ConversationKey &key, qint64 id);
    void retryRequested(const Natter::ConversationKey &key, const QString &clientId);
    /// Files to share in a conversation (chosen, dropped onto the window, or
    /// pasted), once the user said Send in the upload sheet; caption goes with the first.
    void filesAttached(const Natter::ConversationKey &key, const QStringList &paths, const QString &caption);
    /// An image pasted into the composer (a screenshot), sent from the upload sheet: share it as a PNG.
    void imageAttached(const Natter::ConversationKey &key, const QImage &image, const QString &caption);
    /// Something was asked of a message's file (open, show in folder, cancel, save as).
    void attachmentActionRequested(const Natter::ConversationKey &key,
                                   Natter::MessageDelegate::AttachmentAction action,
                                   const Natter::Message &message);
    void typingChanged(const Natter::ConversationKey &key, bool active);
    void joinRoomRequested(const QString &room);
    /// The directory dialog searches as the user types: answer with showRoomSearchResults().
    void roomSearchRequested(const QString &prefix);
    void peopleSearchRequested(const QString &prefix);
    void directMessageRequested(const QString &email, const QString &name);
    /// Ctrl+W or a row's ✕: close it (a room may ask first).
    void closeConversationRequested(const Natter::ConversationKey &key);
    /// "Leave room" / "Close conversation" chosen from a row's menu: said already, no question.
    void leaveConversationRequested(const Natter::ConversationKey &key);
    /// The user muted (or unmuted) a conversation's notifications from the sidebar.
    void muteRequested(const Natter::ConversationKey &key, bool muted);
    /// Chat → Settings…
    void settingsRequested();
    /// Chat → Quit: the app quits (closing the window may only hide it in the tray).
    void quitRequested();
    void reconnectRequested();
    void switchServerRequested();
    /// "Invite people…": show the link to the chat hosted here.
    void inviteRequested();
    void createPrivateRoomRequested(const QString &room);
    void changePasswordRequested(const QString &current, const QString &replacement);
    void signOutRequested();
    void inviteToRoomRequested(const QString &room, const QString &email);
    void removeFromRoomRequested(const QString &room, const QString &email);
    void linkActivated(const QUrl &url);
    void windowActivated();
    void closing();
    /// The user showed or hid a side pane (View menu).
    void panesChanged(bool sidebar, bool members);
    void sortByActivityChanged(bool byActivity);
    void themeChanged(Natter::Theme theme);
    void compactMessagesChanged(bool compact);

protected:
    void changeEvent(QEvent *event) override;
    void closeEvent(QCloseEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dragMoveEvent(QDragMoveEvent *event) override;
    void dragLeaveEvent(QDragLeaveEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    QWidget *createSidebar();
    QWidget *createConversationPane();
    QWidget *createMemberPane();
    void createMenus();
    void selectConversation(const QModelIndex &index);
    void moveConversation(int step);
    /// The conversations in the order the sidebar shows them: rooms, then direct ones.
    QList<ConversationKey> sidebarOrder() const;
    void askJoinRoom();
    void askCreatePrivateRoom();
    void askChangePassword();
    void askInviteToRoom(const QString &room);
    void askDirectMessage();
    void showKeyboardShortcuts();
    void openDirectory(DirectoryDialog::Kind kind);
    void confirmDelete(qint64 id);
    void reportRead();
    void syncSelection();
    /// "No messages in #room yet" over an empty conversation.
    void updateNoMessages();
    void updatePanes();

    /// Signals carry copies of it (ConversationKey(m_current)): a receiver
    /// that switches conversations changes it while still using the key.
    bool m_opening = false; // in showConversation(): nothing is read yet
    ConversationKey m_current;
    quint64 m_errorSerial = 0;
    QString m_selfEmail;
    QHash<QString, ComposerBar::Draft> m_drafts; // by ConversationKey::toString()
    QTimer m_draftTimer;                         // the current draft, a moment after a change
    /// Keeps draft as key's, and says so if it changed.
    void noteDraft(const ConversationKey &key, const ComposerBar::Draft &draft);
    QAbstractItemModel *m_conversations = nullptr;
    QSortFilterProxyModel *m_rooms;
    QSortFilterProxyModel *m_directs;
    QPointer<MessageListModel> m_messages; // owned by the client, which may drop it first

    QLabel *m_serverTitle = nullptr;
    QListView *m_roomList = nullptr;
    QListView *m_directList = nullptr;
    QLabel *m_conversationTitle = nullptr;
    QLabel *m_conversationSubtitle = nullptr;
    QFrame *m_errorBanner = nullptr;
    QLabel *m_errorLabel = nullptr;
    ConversationView *m_messageView = nullptr;
    QLabel *m_emptyLabel = nullptr;
    QLabel *m_noMessagesLabel = nullptr;
    QLabel *m_typingLabel = nullptr;
    Composer *m_composer = nullptr;
    ComposerBar *m_composerBar = nullptr;
    SearchPanel *m_searchPanel = nullptr;
    QLineEdit *m_headerSearch = nullptr;
    QWidget *m_memberPane = nullptr;
    QWidget *m_sidebar = nullptr;
    QAction *m_showSidebarAction = nullptr;
    QAction *m_showMembersAction = nullptr;
    QAction *m_sortByActivityAction = nullptr;
    QAction *m_compactAction = nullptr;
    QList<QAction *> m_themeActions;
    QListView *m_memberList = nullptr;
    QLabel *m_statusDot = nullptr;
    QLabel *m_securityLabel = nullptr;
    QLabel *m_statusLabel = nullptr;
    QPushButton *m_reconnectButton = nullptr;
    QToolButton *m_chatInfoButton = nullptr;
    QToolButton *m_backButton = nullptr;
    QWidget *m_conversationPane = nullptr;
    QStringList m_hostUrls;
    QString m_hostFingerprint;       // display form; empty: not hosting here
    QString m_connectionFingerprint; // display form of the server's certificate; empty: none
    bool m_sidebarWanted = true;     // View → Show Sidebar, in a window wide enough for both
    bool m_listPage = false;         // narrow: the conversation list is shown, not a conversation
    bool m_canManageRoom = false;    // the current room is private and ours
    std::function<bool()> m_closeGuard;
    QPointer<DirectoryDialog> m_directory;
};

} // namespace Natter

Q_DECLARE_METATYPE(Natter::ComposerBar::Draft)
