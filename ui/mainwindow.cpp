#include "ui/mainwindow.h"

#include "common/fingerprint.h"
#include "common/memberlistmodel.h"
#include "common/messagelistmodel.h"
#include "common/validation.h"
#include "ui/attachmentimages.h"
#include "ui/closebutton.h"
#include "ui/composer.h"
#include "ui/composerbar.h"
#include "ui/conversationview.h"
#include "ui/elidedlabel.h"
#include "ui/messagedelegate.h"
#include "ui/plaintext.h"
#include "ui/searchpanel.h"
#include "ui/sidebardelegates.h"
#include "ui/typography.h"
#include "ui/uilogging.h"
#include "ui/uploadsheet.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIdentityProxyModel>
#include <QInputDialog>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPainter>
#include <QPolygonF>
#include <QPushButton>
#include <QResizeEvent>
#include <QScopedValueRollback>
#include <QScrollBar>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

QLabel *sectionLabel(const QString &text, QWidget *parent)
{
    auto *label = new QLabel(text, parent);
    label->setFont(scaledFont(label->font(), TypeScale::Meta, true));
    label->setForegroundRole(QPalette::PlaceholderText);
    return label;
}

/// A sidebar section's title that folds its list away and back ("▾ ROOMS" / "▸ ROOMS").
QToolButton *sectionToggle(const QString &text, QWidget *list, QWidget *parent)
{
    auto *button = new QToolButton(parent);
    button->setObjectName(list->objectName() + u"Toggle"_s);
    button->setFont(scaledFont(button->font(), TypeScale::Meta, true));
    button->setForegroundRole(QPalette::PlaceholderText);
    button->setAutoRaise(true);
    button->setToolButtonStyle(Qt::ToolButtonTextOnly);
    button->setCursor(Qt::PointingHandCursor);
    // (Not a checkable button: a checked one draws pressed.)
    const auto label = [text](bool open) -> QString { return (open ? u"▾ "_s : u"▸ "_s) + text; };
    button->setText(label(true));
    button->setToolTip(QObject::tr("Show or hide %1").arg(text.toLower()));
    QObject::connect(button, &QToolButton::clicked, list, [button, list, label] {
        const bool open = !list->isVisibleTo(list->parentWidget());
        button->setText(label(open));
        list->setVisible(open);
    });
    return button;
}

/// A sidebar list as tall as its rows (the space below stays free), down to
/// three rows when the sidebar is short, scrolling then.
void fitToRows(QListView *list)
{
    const int rows = list->model() ? list->model()->rowCount() : 0;
    const int rowHeight = rows > 0 ? list->sizeHintForRow(0) : list->fontMetrics().height() * 2;
    const int frame = 2 * list->frameWidth();
    const int all = std::max(1, rows) * rowHeight + frame + 2;
    list->setMaximumHeight(all);
    list->setMinimumHeight(std::min(all, 3 * rowHeight + frame));
}

QToolButton *addButton(const QString &tip, QWidget *parent)
{
    auto *button = new QToolButton(parent);
    button->setText(u"+"_s);
    button->setToolTip(tip);
    button->setAccessibleName(tip);
    button->setAutoRaise(true);
    return button;
}

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_rooms(new QSortFilterProxyModel(this))
    , m_directs(new QSortFilterProxyModel(this))
{
    setWindowTitle(tr("Natter"));
    setAcceptDrops(true);
    m_rooms->setFilterRole(ConversationListModel::KindRole);
    m_rooms->setFilterFixedString(QString::number(int(ConversationKey::Kind::Room)));
    m_directs->setFilterRole(ConversationListModel::KindRole);
    m_directs->setFilterFixedString(QString::number(int(ConversationKey::Kind::Direct)));

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->setObjectName(u"mainSplitter"_s);
    m_sidebar = createSidebar();
    splitter->addWidget(m_sidebar);
    splitter->addWidget(createConversationPane());
    splitter->addWidget(createMemberPane());
    m_searchPanel = new SearchPanel(splitter);
    m_searchPanel->hide();
    splitter->addWidget(m_searchPanel);
    splitter->setStretchFactor(3, 0);
    connect(m_searchPanel, &SearchPanel::searchRequested, this, &MainWindow::searchRequested);
    connect(m_searchPanel, &SearchPanel::resultActivated, this, &MainWindow::messageRequested);
    connect(m_searchPanel, &SearchPanel::closed, this, [this] {
        m_headerSearch->show(); // one search field at a time
        updatePanes();
        focusComposer();
    });
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    splitter->setStretchFactor(2, 0);
    splitter->setChildrenCollapsible(false);
    const int em = fontMetrics().averageCharWidth();
    splitter->setSizes({em * 36, em * 80, em * 28}); // room for previews and "(you)"
    setCentralWidget(splitter);
    // Below this the message column would be too narrow to read; the side
    // panes give way before it does (updatePanes()).
    setMinimumSize(em * 56, fontMetrics().height() * 22);

    m_statusDot = new QLabel(this);
    m_statusLabel = new ElidedLabel(this); // a long server name ends in "…", not mid-word
    m_statusLabel->setObjectName(u"connectionStatus"_s);
    m_statusLabel->setTextFormat(Qt::PlainText); // it names the server, which the server chose
    m_securityLabel = new QLabel(this);
    m_securityLabel->setObjectName(u"connectionSecurity"_s);
    m_securityLabel->setTextFormat(Qt::PlainText);
    m_securityLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_reconnectButton = new QPushButton(tr("Reconnect now"), this);
    m_reconnectButton->setFlat(true);
    m_reconnectButton->hide();
    connect(m_reconnectButton, &QPushButton::clicked, this, &MainWindow::reconnectRequested);
    // Where the chat is and its fingerprint live in Chat Info: a status bar
    // that spelled them out cut words in any window but a wide one.
    m_chatInfoButton = new QToolButton(this);
    m_chatInfoButton->setObjectName(u"chatInfoButton"_s);
    m_chatInfoButton->setText(tr("Chat info"));
    m_chatInfoButton->setToolTip(tr("Where others join this chat, and its certificate's fingerprint"));
    m_chatInfoButton->setAutoRaise(true);
    m_chatInfoButton->hide();
    connect(m_chatInfoButton, &QToolButton::clicked, this, &MainWindow::showChatInfo);
    statusBar()->addWidget(m_statusDot);
    statusBar()->addWidget(m_statusLabel, 1);
    statusBar()->addWidget(m_securityLabel);
    statusBar()->addWidget(m_reconnectButton);
    statusBar()->addPermanentWidget(m_chatInfoButton);
    setConnectionStatus(ConnectionIndicator::Offline, tr("Offline"));

    createMenus();
    setSortByActivity(true);
    showConversation({}, nullptr);
    resize(em * 175, fontMetrics().height() * 50);
}

MainWindow::~MainWindow() = default;

QWidget *MainWindow::createSidebar()
{
    auto *sidebar = new QWidget(this);
    sidebar->setObjectName(u"sidebar"_s);
    auto *layout = new QVBoxLayout(sidebar);
    layout->setContentsMargins(6, 8, 0, 6);

    m_serverTitle = new QLabel(tr("Natter"), sidebar);
    m_serverTitle->setTextFormat(Qt::PlainText);
    m_serverTitle->setFont(scaledFont(m_serverTitle->font(), TypeScale::Title, true));
    m_serverTitle->setWordWrap(true);
    layout->addWidget(m_serverTitle);
    layout->addSpacing(6);

    auto makeList = [sidebar](QSortFilterProxyModel *model, const QString &name) {
        auto *list = new QListView(sidebar);
        list->setObjectName(name);
        list->setModel(model);
        list->setItemDelegate(new ConversationDelegate(list));
        list->setFrameShape(QFrame::NoFrame);
        list->setEditTriggers(QAbstractItemView::NoEditTriggers);
        list->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
        list->setUniformItemSizes(true);
        list->viewport()->setAutoFillBackground(false);
        return list;
    };

    // Each section as tall as its rows and folding away, not fixed halves.
    m_roomList = makeList(m_rooms, u"roomList"_s);
    m_roomList->setAccessibleName(tr("Rooms"));
    auto *roomsHeader = new QHBoxLayout;
    roomsHeader->addWidget(sectionToggle(tr("ROOMS"), m_roomList, sidebar));
    roomsHeader->addStretch();
    QToolButton *joinButton = addButton(tr("Join or create a room"), sidebar);
    connect(joinButton, &QToolButton::clicked, this, &MainWindow::askJoinRoom);
    roomsHeader->addWidget(joinButton);
    layout->addLayout(roomsHeader);
    layout->addWidget(m_roomList, 1);

    m_directList = makeList(m_directs, u"directList"_s);
    m_directList->setAccessibleName(tr("Direct messages"));
    auto *directHeader = new QHBoxLayout;
    directHeader->addWidget(sectionToggle(tr("DIRECT MESSAGES"), m_directList, sidebar));
    directHeader->addStretch();
    QToolButton *directButton = addButton(tr("Start a direct conversation"), sidebar);
    connect(directButton, &QToolButton::clicked, this, &MainWindow::askDirectMessage);
    directHeader->addWidget(directButton);
    layout->addLayout(directHeader);
    layout->addWidget(m_directList, 1);
    layout->addStretch(1);

    for (QListView *list : {m_roomList, m_directList}) {
        fitToRows(list);
        for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
            connect(list->model(), signal, list, [list] { fitToRows(list); });
        connect(list->model(), &QAbstractItemModel::modelReset, list, [list] { fitToRows(list); });
        connect(list->model(), &QAbstractItemModel::layoutChanged, list, [list] { fitToRows(list); });
        connect(list, &QListView::clicked, this, &MainWindow::selectConversation);
        connect(list, &QListView::activated, this, &MainWindow::selectConversation);
        list->setContextMenuPolicy(Qt::CustomContextMenu);
        connect(list, &QListView::customContextMenuRequested, this, [this, list](const QPoint &position) {
            const QModelIndex index = list->indexAt(position);
            if (!index.isValid())
                return;
            const ConversationKey key =
                ConversationKey::fromString(index.data(ConversationListModel::KeyRole).toString());
            QMenu menu(this);
            if (key.isRoom() && index.data(ConversationListModel::IsPrivateRole).toBool())
                menu.addAction(tr("Invite to Room…"), this, [this, key] { askInviteToRoom(key.name); });
            QAction *mute = menu.addAction(tr("&Mute Notifications"));
            mute->setCheckable(true);
            mute->setChecked(index.data(ConversationListModel::IsMutedRole).toBool());
            connect(mute, &QAction::triggered, this,
                    [this, key](bool muted) { Q_EMIT muteRequested(key, muted); });
            menu.addSeparator();
            menu.addAction(key.isRoom() ? tr("Leave room") : tr("Close conversation"), this,
                           [this, key] { Q_EMIT leaveConversationRequested(key); });
            menu.exec(list->viewport()->mapToGlobal(position));
        });
    }
    return sidebar;
}

QWidget *MainWindow::createConversationPane()
{
    auto *pane = new QWidget(this);
    m_conversationPane = pane;
    auto *layout = new QVBoxLayout(pane);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);

    auto *header = new QWidget(pane);
    header->setObjectName(u"conversationHeader"_s);
    auto *headerLayout = new QVBoxLayout(header);
    headerLayout->setContentsMargins(12, 8, 12, 8);
    headerLayout->setSpacing(0);
    m_conversationTitle = new QLabel(header);
    m_conversationTitle->setTextFormat(Qt::PlainText); // another person's name, in a direct conversation
    m_conversationTitle->setFont(scaledFont(m_conversationTitle->font(), TypeScale::Title, true));
    m_conversationSubtitle = new QLabel(header);
    m_conversationSubtitle->setTextFormat(Qt::PlainText);
    m_conversationSubtitle->setFont(scaledFont(m_conversationSubtitle->font(), TypeScale::Meta));
    m_conversationSubtitle->setForegroundRole(QPalette::PlaceholderText);
    headerLayout->addWidget(m_conversationTitle);
    headerLayout->addWidget(m_conversationSubtitle);
    auto *headerRow = new QHBoxLayout;
    headerRow->setContentsMargins(0, 0, 12, 0);
    // In a narrow window, one pane at a time: back to the conversation list.
    m_backButton = new QToolButton(pane);
    m_backButton->setObjectName(u"backToConversations"_s);
    m_backButton->setText(u"‹"_s);
    m_backButton->setFont(scaledFont(m_backButton->font(), TypeScale::Title, true));
    m_backButton->setAutoRaise(true);
    m_backButton->setToolTip(tr("Conversations (Ctrl+Shift+S)"));
    m_backButton->setAccessibleName(tr("Back to the conversations"));
    m_backButton->hide();
    connect(m_backButton, &QToolButton::clicked, this, [this] {
        m_listPage = true;
        updatePanes();
    });
    headerRow->addWidget(m_backButton, 0, Qt::AlignVCenter);
    headerRow->addWidget(header, 1);
    // The way into search for those who do not know Ctrl+K: typing here opens the panel.
    m_headerSearch = new QLineEdit(pane);
    m_headerSearch->setObjectName(u"headerSearch"_s);
    m_headerSearch->setPlaceholderText(tr("Search (Ctrl+K)"));
    m_headerSearch->setAccessibleName(tr("Search messages"));
    m_headerSearch->setMaximumWidth(fontMetrics().averageCharWidth() * 28);
    m_headerSearch->installEventFilter(this);
    connect(m_headerSearch, &QLineEdit::textEdited, this, [this](const QString &text) {
        openSearch(text);
        m_headerSearch->clear();
    });
    headerRow->addWidget(m_headerSearch, 0, Qt::AlignVCenter);
    layout->addLayout(headerRow);

    auto *line = new QFrame(pane);
    line->setFrameShape(QFrame::HLine);
    line->setFrameShadow(QFrame::Sunken);
    layout->addWidget(line);

    m_errorBanner = new QFrame(pane);
    m_errorBanner->setObjectName(u"errorBanner"_s);
    m_errorBanner->setAutoFillBackground(true);
    QPalette bannerPalette = m_errorBanner->palette();
    const bool dark = bannerPalette.color(QPalette::Window).lightnessF() < 0.5;
    bannerPalette.setColor(QPalette::Window, dark ? QColor(0x5c, 0x2b, 0x29) : QColor(0xfd, 0xec, 0xea));
    bannerPalette.setColor(QPalette::WindowText, dark ? QColor(0xff, 0xda, 0xd6) : QColor(0x8c, 0x1d, 0x18));
    m_errorBanner->setPalette(bannerPalette);
    auto *bannerLayout = new QHBoxLayout(m_errorBanner);
    bannerLayout->setContentsMargins(12, 6, 6, 6);
    m_errorLabel = new QLabel(m_errorBanner);
    m_errorLabel->setWordWrap(true);
    m_errorLabel->setTextFormat(Qt::PlainText);
    bannerLayout->addWidget(m_errorLabel, 1);
    QToolButton *dismiss = makeCloseButton(tr("Dismiss"), tr("Dismiss"), m_errorBanner);
    connect(dismiss, &QToolButton::clicked, this, &MainWindow::clearError);
    bannerLayout->addWidget(dismiss);
    m_errorBanner->hide();
    layout->addWidget(m_errorBanner);

    m_messageView = new ConversationView(pane);
    m_messageView->setObjectName(u"messageView"_s);
    connect(m_messageView, &ConversationView::linkActivated, this, &MainWindow::linkActivated);
    connect(m_messageView, &ConversationView::retryRequested, this,
            [this](const QString &clientId) { Q_EMIT retryRequested(ConversationKey(m_current), clientId); });
    connect(m_messageView, &ConversationView::directMessageRequested, this,
            &MainWindow::directMessageRequested);
    connect(m_messageView, &ConversationView::textTyped, this, [this](const QString &text) {
        if (m_composer->isEnabled()) {
            m_composer->setFocus();
            m_composer->insertPlainText(text);
        }
    });
    connect(m_messageView, &ConversationView::replyRequested, this, &MainWindow::startReply);
    connect(m_messageView, &ConversationView::editRequested, this, &MainWindow::startEdit);
    connect(m_messageView, &ConversationView::deleteRequested, this, &MainWindow::confirmDelete);
    connect(m_messageView, &ConversationView::reactionToggled, this, &MainWindow::reactionToggled);
    connect(m_messageView, &ConversationView::originalRequested, this,
            [this](qint64 id) { Q_EMIT messageRequested(ConversationKey(m_current), id); });
    connect(m_messageView, &ConversationView::copyLinkRequested, this,
            [this](qint64 id) { Q_EMIT copyLinkRequested(ConversationKey(m_current), id); });
    connect(m_messageView, &ConversationView::visibleMessagesChanged, this, &MainWindow::reportRead);
    connect(m_messageView, &ConversationView::latestRequested, this,
            [this] { Q_EMIT latestRequested(ConversationKey(m_current)); });
    layout->addWidget(m_messageView, 1);

    // An empty conversation says so, over the (empty) list.
    m_noMessagesLabel = new QLabel(m_messageView->viewport());
    m_noMessagesLabel->setObjectName(u"noMessages"_s);
    m_noMessagesLabel->setAlignment(Qt::AlignCenter);
    m_noMessagesLabel->setWordWrap(true);
    m_noMessagesLabel->setTextFormat(Qt::PlainText);
    m_noMessagesLabel->setForegroundRole(QPalette::PlaceholderText);
    m_noMessagesLabel->setAttribute(Qt::WA_TransparentForMouseEvents);
    auto *noMessagesLayout = new QVBoxLayout(m_messageView->viewport());
    noMessagesLayout->addWidget(m_noMessagesLabel);
    m_noMessagesLabel->hide();
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved}) {
        connect(m_messageView->model(), signal, this, &MainWindow::updateNoMessages);
    }
    connect(m_messageView->model(), &QAbstractItemModel::modelReset, this, &MainWindow::updateNoMessages);
    // The message being answered or edited was deleted (by its author elsewhere, or the room's owner).
    connect(m_messageView->model(), &QAbstractItemModel::dataChanged, this, [this] {
        if (m_composerBar->mode() == ComposerBar::Mode::Normal)
            return;
        const QModelIndex target = m_messageView->indexOfMessage(m_composerBar->target());
        if (target.isValid() && target.data(MessageListModel::IsDeletedRole).toBool()) {
            const bool editing = m_composerBar->mode() == ComposerBar::Mode::Edit;
            m_composerBar->cancelMode();
            showError(
                editing ? tr("The message you were editing was deleted.")
                        : tr("The message you were replying to was deleted; what you wrote is still here."));
        }
    });

    m_emptyLabel = new QLabel(pane);
    m_emptyLabel->setAlignment(Qt::AlignCenter);
    m_emptyLabel->setWordWrap(true);
    m_emptyLabel->setForegroundRole(QPalette::PlaceholderText);
    layout->addWidget(m_emptyLabel, 1);

    m_typingLabel = new QLabel(pane);
    m_typingLabel->setTextFormat(Qt::PlainText); // "<b>Boss</b> is typing…" stays as typed
    m_typingLabel->setObjectName(u"typingLabel"_s);
    m_typingLabel->setForegroundRole(QPalette::PlaceholderText);
    m_typingLabel->setContentsMargins(14, 0, 12, 0);
    QFont typingFont = scaledFont(m_typingLabel->font(), TypeScale::Meta);
    typingFont.setItalic(true);
    m_typingLabel->setFont(typingFont);
    m_typingLabel->setMinimumHeight(QFontMetrics(typingFont).height() + 2);
    layout->addWidget(m_typingLabel);

    m_composerBar = new ComposerBar(pane);
    m_composer = m_composerBar->composer();
    layout->addWidget(m_composerBar);
    connect(m_composerBar, &ComposerBar::sendRequested, this,
            [this](const QString &text, qint64 replyTo, const QStringList &mentions) {
                if (m_current.isValid())
                    Q_EMIT sendRequested(ConversationKey(m_current), text, replyTo, mentions);
            });
    connect(m_composerBar, &ComposerBar::editRequested, this, &MainWindow::editRequested);
    connect(m_composerBar, &ComposerBar::editLastRequested, this, [this] {
        if (const qint64 id = lastOwnMessage(); id > 0)
            startEdit(id);
    });
    connect(m_composerBar, &ComposerBar::typingChanged, this, [this](bool active) {
        if (m_current.isValid())
            Q_EMIT typingChanged(ConversationKey(m_current), active);
    });
    // A draft per conversation: kept when the user switches away (a half-
    // written direct message once went to #general with the next Enter).
    m_draftTimer.setSingleShot(true);
    m_draftTimer.setInterval(500);
    connect(&m_draftTimer, &QTimer::timeout, this, [this] {
        if (m_current.isValid())
            noteDraft(m_current, m_composerBar->draft());
    });
    connect(m_composer, &QPlainTextEdit::textChanged, &m_draftTimer, qOverload<>(&QTimer::start));
    connect(m_composerBar, &ComposerBar::modeChanged, &m_draftTimer, qOverload<>(&QTimer::start));
    connect(m_composerBar, &ComposerBar::attachRequested, this, &MainWindow::chooseFiles);
    connect(m_composerBar, &ComposerBar::filesAttached, this, &MainWindow::offerFiles);
    connect(m_composerBar, &ComposerBar::imagePasted, this, &MainWindow::offerImage);
    connect(m_messageView, &ConversationView::attachmentActionRequested, this,
            [this](MessageDelegate::AttachmentAction action, const Message &message) {
                if (m_current.isValid())
                    Q_EMIT attachmentActionRequested(ConversationKey(m_current), action, message);
            });
    return pane;
}

QWidget *MainWindow::createMemberPane()
{
    m_memberPane = new QWidget(this);
    m_memberPane->setObjectName(u"memberPane"_s);
    auto *layout = new QVBoxLayout(m_memberPane);
    layout->setContentsMargins(0, 8, 6, 6);
    layout->addWidget(sectionLabel(tr("MEMBERS ONLINE"), m_memberPane));
    m_memberList = new QListView(m_memberPane);
    m_memberList->setObjectName(u"memberList"_s);
    m_memberList->setAccessibleName(tr("Members"));
    m_memberList->setItemDelegate(new MemberDelegate(m_memberList));
    m_memberList->setFrameShape(QFrame::NoFrame);
    m_memberList->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_memberList->setUniformItemSizes(true);
    m_memberList->setToolTip(tr("Double-click a member to send a direct message"));
    m_memberList->viewport()->setAutoFillBackground(false);
    layout->addWidget(m_memberList, 1);
    auto startDirect = [this](const QModelIndex &index) {
        if (index.isValid())
            Q_EMIT directMessageRequested(index.data(MemberListModel::EmailRole).toString(),
                                          index.data(Qt::DisplayRole).toString());
    };
    connect(m_memberList, &QListView::activated, this, startDirect);
    m_memberList->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_memberList, &QListView::customContextMenuRequested, this,
            [this, startDirect](const QPoint &position) {
                const QModelIndex index = m_memberList->indexAt(position);
                if (!index.isValid())
                    return;
                QMenu menu(this);
                menu.addAction(tr("Send direct message"), this, [index, startDirect] { startDirect(index); });
                const ConversationKey current = currentConversation();
                if (m_canManageRoom && current.isRoom() &&
                    !index.data(MemberListModel::IsSelfRole).toBool()) {
                    const QString email = index.data(MemberListModel::EmailRole).toString();
                    menu.addAction(tr("Remove from Room"), this, [this, current, email] {
                        Q_EMIT removeFromRoomRequested(current.name, email);
                    });
                }
                menu.exec(m_memberList->viewport()->mapToGlobal(position));
            });
    return m_memberPane;
}

void MainWindow::createMenus()
{
    QMenu *chat = menuBar()->addMenu(tr("&Chat"));
    chat->addAction(tr("&Join or Create Room…"), QKeySequence(Qt::CTRL | Qt::Key_J), this,
                    &MainWindow::askJoinRoom);
    chat->addAction(tr("New &Private Room…"), this, &MainWindow::askCreatePrivateRoom);
    chat->addAction(tr("&Direct Message…"), QKeySequence(Qt::CTRL | Qt::Key_D), this,
                    &MainWindow::askDirectMessage);
    chat->addAction(tr("&Leave or Close Conversation"), QKeySequence(Qt::CTRL | Qt::Key_W), this, [this] {
        // A copy: closing changes m_current while the receivers still use the key.
        const ConversationKey current = m_current;
        if (current.isValid())
            Q_EMIT closeConversationRequested(current);
    });
    chat->addSeparator();
    chat->addAction(tr("&Reconnect"), QKeySequence(Qt::CTRL | Qt::Key_R), this,
                    &MainWindow::reconnectRequested);
    chat->addAction(tr("&Invite People…"), this, &MainWindow::inviteRequested);
    chat->addAction(tr("&Switch Server…"), this, &MainWindow::switchServerRequested);
    chat->addAction(tr("Change &Password…"), this, &MainWindow::askChangePassword);
    chat->addAction(tr("Sign &Out"), this, &MainWindow::signOutRequested);
    chat->addSeparator();
    QAction *settings = chat->addAction(tr("S&ettings…"), QKeySequence(Qt::CTRL | Qt::Key_Comma), this,
                                        &MainWindow::settingsRequested);
    settings->setMenuRole(QAction::PreferencesRole);
    chat->addSeparator();
    QAction *quit = chat->addAction(tr("&Quit"), QKeySequence::Quit, this, &MainWindow::quitRequested);
    quit->setMenuRole(QAction::QuitRole);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("&Previous Conversation"), QKeySequence(Qt::ALT | Qt::Key_Up), this,
                    [this] { moveConversation(-1); });
    view->addAction(tr("&Next Conversation"), QKeySequence(Qt::ALT | Qt::Key_Down), this,
                    [this] { moveConversation(1); });
    view->addAction(tr("Focus &Composer"), QKeySequence(Qt::CTRL | Qt::Key_L), this,
                    &MainWindow::focusComposer);
    view->addAction(tr("&Search Messages…"), QKeySequence(Qt::CTRL | Qt::Key_K), this,
                    [this] { openSearch(); });
    view->addSeparator();
    m_showSidebarAction = view->addAction(tr("Show &Sidebar"));
    m_showSidebarAction->setCheckable(true);
    m_showSidebarAction->setChecked(true);
    m_showSidebarAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    m_showMembersAction = view->addAction(tr("Show &Members"));
    m_showMembersAction->setCheckable(true);
    m_showMembersAction->setChecked(true);
    m_showMembersAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M));
    m_compactAction = view->addAction(tr("&Compact Messages"));
    m_compactAction->setCheckable(true);
    connect(m_compactAction, &QAction::triggered, this, [this](bool compact) { // the user's choice
        setCompactMessages(compact);
        Q_EMIT compactMessagesChanged(compact);
    });
    QMenu *themes = view->addMenu(tr("&Theme"));
    auto *themeGroup = new QActionGroup(this);
    for (const auto &[theme, label] :
         {std::pair{Theme::System, tr("Follow the &System")}, std::pair{Theme::Light, tr("&Light")},
          std::pair{Theme::Dark, tr("&Dark")}}) {
        QAction *action = themes->addAction(label);
        action->setCheckable(true);
        action->setData(QVariant::fromValue(theme));
        action->setChecked(theme == Theme::System);
        themeGroup->addAction(action);
        connect(action, &QAction::triggered, this, [this, theme] {
            setTheme(theme);
            Q_EMIT themeChanged(theme);
        });
        m_themeActions.append(action);
    }
    m_sortByActivityAction = view->addAction(tr("Sort by Recent &Activity"));
    m_sortByActivityAction->setCheckable(true);
    connect(m_sortByActivityAction, &QAction::toggled, this, [this](bool byActivity) {
        setSortByActivity(byActivity);
        Q_EMIT sortByActivityChanged(byActivity);
    });
    // Show Sidebar always does something: in a narrow window it switches
    // between the list and the conversation; else it shows or hides the list.
    connect(m_showSidebarAction, &QAction::toggled, this, [this](bool shown) {
        if (width() < fontMetrics().averageCharWidth() * 84) {
            m_listPage = shown;
            updatePanes();
            return;
        }
        m_sidebarWanted = shown;
        updatePanes();
        Q_EMIT panesChanged(isSidebarShown(), isMembersShown());
    });
    connect(m_showMembersAction, &QAction::toggled, this, [this] {
        updatePanes();
        Q_EMIT panesChanged(isSidebarShown(), isMembersShown());
    });
    for (int i = 1; i <= 9; ++i) {
        auto *jump = new QAction(tr("Go to Conversation %1").arg(i), this);
        jump->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_0 + i)));
        connect(jump, &QAction::triggered, this, [this, i] {
            const QList<ConversationKey> keys = sidebarOrder();
            if (i - 1 < keys.size())
                Q_EMIT conversationSelected(keys.at(i - 1));
        });
        addAction(jump);
    }

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard Shortcuts"), QKeySequence(Qt::CTRL | Qt::Key_Slash), this,
                    &MainWindow::showKeyboardShortcuts);
    help->addAction(tr("&About Natter"), this, [this] {
        QMessageBox::about(this, tr("About Natter"),
                           tr("<h3>Natter %1</h3><p>Chat on your local network: rooms, direct messages and "
                              "history, hosted by one computer or a natterd server.</p>")
                               .arg(QCoreApplication::applicationVersion()));
    });
}

void MainWindow::showKeyboardShortcuts()
{
    // Read from the actions themselves, so the list cannot drift from what the keys do.
    auto *dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setObjectName(u"keyboardShortcuts"_s);
    dialog->setWindowTitle(tr("Keyboard Shortcuts"));
    auto *layout = new QVBoxLayout(dialog);
    auto *table = new QTableWidget(0, 2, dialog);
    table->setHorizontalHeaderLabels({tr("Action"), tr("Keys")});
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionMode(QAbstractItemView::NoSelection);
    table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    table->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    auto addRow = [table](const QString &what, const QKeySequence &keys) {
        const int row = table->rowCount();
        table->insertRow(row);
        table->setItem(row, 0, new QTableWidgetItem(QString(what).remove(u'&').remove(u'…')));
        table->setItem(row, 1, new QTableWidgetItem(keys.toString(QKeySequence::NativeText)));
    };
    QSet<QAction *> listed;
    const QList<QAction *> menus = menuBar()->actions();
    for (QAction *menuAction : menus) {
        if (!menuAction->menu())
            continue;
        const QList<QAction *> actions = menuAction->menu()->actions();
        for (QAction *action : actions) {
            if (!action->shortcut().isEmpty() && !listed.contains(action)) {
                addRow(action->text(), action->shortcut());
                listed.insert(action);
            }
        }
    }
    // Then those without a menu entry (Ctrl+1…9, the message list's Copy).
    const QList<QAction *> others = findChildren<QAction *>();
    for (QAction *action : others) {
        if (!action->shortcut().isEmpty() && !listed.contains(action) && !action->text().isEmpty()) {
            addRow(action->text(), action->shortcut());
            listed.insert(action);
        }
    }
    layout->addWidget(table);
    auto *composerKeys = new QLabel(
        tr("In the message field: Enter sends, Shift+Enter starts a new line, Up (when empty) edits "
           "your last message, Esc cancels a reply or an edit, @ names someone."),
        dialog);
    composerKeys->setWordWrap(true);
    layout->addWidget(composerKeys);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    layout->addWidget(buttons);
    dialog->resize(fontMetrics().averageCharWidth() * 60, fontMetrics().height() * 30);
    dialog->open();
}

void MainWindow::setConversationModel(QAbstractItemModel *conversations)
{
    m_conversations = conversations;
    m_rooms->setSourceModel(conversations);
    m_directs->setSourceModel(conversations);
    connect(conversations, &QAbstractItemModel::rowsInserted, this, &MainWindow::syncSelection);
    connect(conversations, &QAbstractItemModel::rowsRemoved, this, &MainWindow::syncSelection);
}

void MainWindow::setMemberModel(QAbstractItemModel *members)
{
    m_memberList->setModel(members);
    m_composer->setMemberModel(members);
}

void MainWindow::showConversation(const ConversationKey &key, MessageListModel *messages)
{
    const bool changed = !(key == m_current) || messages != m_messages;
    // Shown at the bottom for a moment: not read yet (the app may open it at the first unread).
    const QScopedValueRollback opening(m_opening, true);
    const ConversationKey previous = m_current;
    m_current = key;
    m_messages = messages;
    if (changed) {
        m_messageView->setMessages(messages);
        m_messageView->setReadMarker(0);
        // What was written here stays here; what was written there comes back.
        m_draftTimer.stop();
        if (previous.isValid())
            noteDraft(previous, m_composerBar->draft());
        m_composerBar->restoreDraft(m_drafts.value(key.toString()));
        clearError(); // it was about the conversation left behind
    }
    const bool has = messages != nullptr;
    m_messageView->setVisible(has);
    m_emptyLabel->setVisible(!has);
    m_emptyLabel->setText(tr("Join a room to start chatting: press Ctrl+J, or click + next to ROOMS."));
    m_composer->setEnabled(has);
    m_composerBar->sendButton()->setEnabled(has);
    m_memberPane->setEnabled(has && key.isRoom());
    updateNoMessages();
    m_composer->setPlaceholderText(!has           ? QString()
                                   : key.isRoom() ? tr("Message #%1").arg(key.name)
                                                  : tr("Message %1").arg(key.name));
    // QPlainTextEdit (Qt 6.4) repaints its placeholder only when the text changes.
    m_composer->viewport()->update();
    if (!has)
        setConversationHeader(tr("No conversation"), QString());
    syncSelection();
    if (key.isValid())
        m_listPage = false; // chosen: a narrow window shows it
    updatePanes();
    if (changed) {
        scrollToBottom();
        // Read once the app has placed it (at the bottom, or where the user stopped).
        QMetaObject::invokeMethod(this, &MainWindow::reportRead, Qt::QueuedConnection);
    }
}

void MainWindow::updateNoMessages()
{
    const bool empty = m_messages && m_messages->rowCount() == 0 && !m_messages->hasOlder();
    if (empty) {
        m_noMessagesLabel->setText(m_current.isRoom()
                                       ? tr("No messages in #%1 yet. Say hello!").arg(m_current.name)
                                       : tr("This is the start of your conversation with %1.")
                                             .arg(m_conversationTitle->text().isEmpty()
                                                      ? m_current.name
                                                      : m_conversationTitle->text()));
    }
    m_noMessagesLabel->setVisible(empty);
}

void MainWindow::syncSelection()
{
    // One current conversation across both lists.
    for (auto [list, proxy] : {std::pair{m_roomList, m_rooms}, std::pair{m_directList, m_directs}}) {
        QModelIndex match;
        for (int row = 0; row < proxy->rowCount(); ++row) {
            const QModelIndex index = proxy->index(row, 0);
            if (index.data(ConversationListModel::KeyRole).toString() == m_current.toString())
                match = index;
        }
        // Not behind a QSignalBlocker: the view repaints from these signals,
        // and without them it kept highlighting rows that were no longer selected.
        if (match.isValid()) {
            list->selectionModel()->setCurrentIndex(match, QItemSelectionModel::ClearAndSelect);
        } else {
            list->selectionModel()->clear();
        }
    }
}

void MainWindow::selectConversation(const QModelIndex &index)
{
    if (!index.isValid())
        return;
    const ConversationKey key =
        ConversationKey::fromString(index.data(ConversationListModel::KeyRole).toString());
    if (key.isValid())
        Q_EMIT conversationSelected(key);
}

QList<ConversationKey> MainWindow::sidebarOrder() const
{
    QList<ConversationKey> keys;
    for (const QSortFilterProxyModel *list : {m_rooms, m_directs}) {
        for (int row = 0; row < list->rowCount(); ++row)
            keys.append(ConversationKey::fromString(
                list->index(row, 0).data(ConversationListModel::KeyRole).toString()));
    }
    return keys;
}

void MainWindow::moveConversation(int step)
{
    const QList<ConversationKey> keys = sidebarOrder();
    if (keys.isEmpty())
        return;
    const qsizetype current = keys.indexOf(m_current);
    const qsizetype size = keys.size();
    const qsizetype next = current < 0 ? 0 : ((current + step) % size + size) % size;
    Q_EMIT conversationSelected(keys.at(next));
}

void MainWindow::setTheme(Theme theme)
{
    for (QAction *action : std::as_const(m_themeActions))
        action->setChecked(action->data().value<Theme>() == theme);
    applyTheme(theme); // every widget gets a PaletteChange and repaints; the delegates drop their caches
}

void MainWindow::setCompactMessages(bool compact)
{
    m_compactAction->setChecked(compact);
    const auto style = compact ? MessageDelegate::Style::Compact : MessageDelegate::Style::Bubbles;
    if (m_messageView->messageDelegate()->style() == style)
        return;
    m_messageView->messageDelegate()->setStyle(style);
    m_messageView->doItemsLayout(); // every row has a new height
    m_messageView->viewport()->update();
}

bool MainWindow::isCompactMessages() const
{
    return m_messageView->messageDelegate()->style() == MessageDelegate::Style::Compact;
}

Theme MainWindow::theme() const
{
    for (QAction *action : m_themeActions) {
        if (action->isChecked())
            return action->data().value<Theme>();
    }
    return Theme::System;
}

void MainWindow::setSortByActivity(bool byActivity)
{
    const QSignalBlocker blocker(m_sortByActivityAction);
    m_sortByActivityAction->setChecked(byActivity);
    // Rooms and direct conversations each by their latest message, or in the
    // order they were opened.
    for (QSortFilterProxyModel *list : {m_rooms, m_directs}) {
        list->setSortRole(ConversationListModel::LastActivityRole);
        list->sort(byActivity ? 0 : -1, Qt::DescendingOrder);
    }
    syncSelection();
}

bool MainWindow::isSortedByActivity() const
{
    return m_sortByActivityAction->isChecked();
}

void MainWindow::setPanesShown(bool sidebar, bool members)
{
    const QSignalBlocker sidebarBlocker(m_showSidebarAction);
    const QSignalBlocker membersBlocker(m_showMembersAction);
    m_sidebarWanted = sidebar;
    m_showSidebarAction->setChecked(sidebar);
    m_showMembersAction->setChecked(members);
    updatePanes();
}

bool MainWindow::isSidebarShown() const
{
    return m_sidebarWanted;
}

bool MainWindow::isMembersShown() const
{
    return m_showMembersAction->isChecked();
}

void MainWindow::updatePanes()
{
    // What the View menu asks for, as far as the width allows: the members go
    // first, then the sidebar, so the messages keep a readable column.
    if (!m_conversationPane || !m_sidebar || !m_memberPane)
        return; // still being built
    const int em = fontMetrics().averageCharWidth();
    const bool narrow = width() < em * 84;
    m_backButton->setVisible(narrow);
    if (narrow) {
        // Too narrow for two panes: one at a time, as phone-sized chats do —
        // the list (with nothing chosen yet, or after "‹") or the conversation.
        const bool list = m_listPage || !m_current.isValid();
        m_sidebar->setVisible(list);
        m_conversationPane->setVisible(!list);
        m_memberPane->setVisible(false);
    } else {
        m_conversationPane->setVisible(true);
        // The search panel, while open, takes the members' place.
        // A direct conversation has no members to list: no empty pane beside it.
        m_memberPane->setVisible(isMembersShown() && width() >= em * 118 &&
                                 !(m_current.isValid() && !m_current.isRoom()) &&
                                 !(m_searchPanel && m_searchPanel->isVisible()));
        m_sidebar->setVisible(m_sidebarWanted);
    }
    // The menu's check mark says what is shown.
    const QSignalBlocker blocker(m_showSidebarAction);
    m_showSidebarAction->setChecked(m_sidebar->isVisibleTo(this));
}

bool MainWindow::isShowingConversationList() const
{
    return m_sidebar->isVisibleTo(this) && !m_conversationPane->isVisibleTo(this);
}

void MainWindow::resizeEvent(QResizeEvent *event)
{
    QMainWindow::resizeEvent(event);
    updatePanes();
}

QString MainWindow::conversationSubtitle() const
{
    return m_conversationSubtitle->isHidden() ? QString() : m_conversationSubtitle->text();
}

void MainWindow::setConversationHeader(const QString &title, const QString &subtitle)
{
    m_conversationTitle->setText(title);
    m_conversationSubtitle->setText(subtitle);
    m_conversationSubtitle->setVisible(!subtitle.isEmpty());
    setWindowTitle(title.isEmpty() ? tr("Natter") : tr("%1 — Natter").arg(title));
    updateNoMessages(); // a direct conversation's hint names the person
    // ... and so does its composer: "Message Bob", not his email.
    if (m_messages && m_current.isValid() && !m_current.isRoom() && !title.isEmpty()) {
        m_composer->setPlaceholderText(tr("Message %1").arg(title));
        m_composer->viewport()->update();
    }
}

void MainWindow::setConnectionStatus(ConnectionIndicator indicator, const QString &text, bool canReconnectNow)
{
    QColor color;
    switch (indicator) {
    case ConnectionIndicator::Online:
        color = QColor(0x2e, 0xa0, 0x43);
        break;
    case ConnectionIndicator::Connecting:
        color = QColor(0xe0, 0x9b, 0x1a);
        break;
    case ConnectionIndicator::Offline:
        color = QColor(0xd0, 0x3a, 0x2f);
        break;
    }
    m_statusDot->setText(u"●"_s);
    QPalette palette = m_statusDot->palette();
    palette.setColor(QPalette::WindowText, color);
    m_statusDot->setPalette(palette);
    m_statusLabel->setText(text);
    m_statusLabel->setToolTip(PlainText::toolTip(text)); // it names the server, as the server chose
    m_reconnectButton->setVisible(canReconnectNow);
    // "Encrypted" describes a connection: without one it would be untrue.
    m_securityLabel->setVisible(indicator == ConnectionIndicator::Online &&
                                !m_securityLabel->text().isEmpty());
}

void MainWindow::setServerTitle(const QString &title)
{
    m_serverTitle->setText(title);
}

void MainWindow::setHostingAddresses(const QStringList &urls, const QString &fingerprint)
{
    m_hostUrls = urls;
    m_hostFingerprint = urls.isEmpty() ? QString() : fingerprint;
    m_chatInfoButton->setVisible(!m_hostUrls.isEmpty() || !m_connectionFingerprint.isEmpty());
    if (!m_hostUrls.isEmpty())
        m_chatInfoButton->setText(tr("Hosting · Chat info"));
    else
        m_chatInfoButton->setText(tr("Chat info"));
}

QString MainWindow::chatInfoText() const
{
    QStringList parts;
    if (!m_hostUrls.isEmpty())
        parts.append(tr("This computer hosts the chat. Others join at:\n%1").arg(m_hostUrls.join(u'\n')));
    const QString fingerprint = !m_hostFingerprint.isEmpty() ? m_hostFingerprint : m_connectionFingerprint;
    if (!fingerprint.isEmpty())
        parts.append(tr("Certificate fingerprint (SHA-256) — those who join see the same the first time; "
                        "compare it with them, for example by reading it out:\n%1")
                         .arg(Fingerprint::displayLines(fingerprint)));
    return parts.join(u"\n\n"_s);
}

void MainWindow::showChatInfo()
{
    auto *box =
        new QMessageBox(QMessageBox::Information, tr("Chat Info"), chatInfoText(), QMessageBox::Close, this);
    box->setObjectName(u"chatInfo"_s);
    box->setTextFormat(Qt::PlainText);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->setAttribute(Qt::WA_DeleteOnClose);
    if (!m_hostUrls.isEmpty()) {
        QPushButton *copy = box->addButton(tr("Copy Address"), QMessageBox::ActionRole);
        // ActionRole buttons close the box: the address is copied as it goes.
        connect(copy, &QPushButton::clicked, this, [this] {
            QGuiApplication::clipboard()->setText(m_hostUrls.constFirst());
            statusBar()->showMessage(tr("Address copied"), 3000);
        });
    }
    box->open();
}

QString MainWindow::connectionSecurityText() const
{
    return m_securityLabel->text();
}

void MainWindow::setConnectionSecurity(bool encrypted, const QString &fingerprint)
{
    m_connectionFingerprint = encrypted ? fingerprint : QString();
    m_chatInfoButton->setVisible(!m_hostUrls.isEmpty() || !m_connectionFingerprint.isEmpty());
    if (encrypted) {
        m_securityLabel->setText(tr("🔒 Encrypted"));
        m_securityLabel->setToolTip(tr("The connection is encrypted (TLS). The server's certificate has the "
                                       "SHA-256 fingerprint\n%1")
                                        .arg(fingerprint));
    } else {
        m_securityLabel->setText(tr("Not encrypted"));
        m_securityLabel->setToolTip(
            tr("This connection is not encrypted: others on the network can read it."));
    }
}

void MainWindow::setTypingText(const QString &text)
{
    m_typingLabel->setText(text);
}

void MainWindow::showError(const QString &message)
{
    ++m_errorSerial;
    m_errorLabel->setText(message);
    m_errorBanner->show();
}

void MainWindow::clearError()
{
    m_errorLabel->clear();
    m_errorBanner->hide();
}

QString MainWindow::errorText() const
{
    return m_errorBanner->isVisible() ? m_errorLabel->text() : QString();
}

void MainWindow::noteDraft(const ConversationKey &key, const ComposerBar::Draft &draft)
{
    const QString name = key.toString();
    if (draft.isEmpty() ? m_drafts.remove(name) == 0 : m_drafts.value(name) == draft)
        return;
    if (!draft.isEmpty())
        m_drafts.insert(name, draft);
    Q_EMIT draftChanged(key, draft);
}

QHash<QString, ComposerBar::Draft> MainWindow::drafts() const
{
    QHash<QString, ComposerBar::Draft> drafts = m_drafts;
    if (m_current.isValid()) {
        if (const ComposerBar::Draft current = m_composerBar->draft(); current.isEmpty())
            drafts.remove(m_current.toString());
        else
            drafts.insert(m_current.toString(), current);
    }
    return drafts;
}

void MainWindow::setDrafts(const QHash<QString, ComposerBar::Draft> &drafts)
{
    m_drafts = drafts;
    if (m_current.isValid())
        m_composerBar->restoreDraft(m_drafts.value(m_current.toString()));
    m_draftTimer.stop();
}

void MainWindow::messageAccepted()
{
    m_composerBar->accepted();
    m_messageView->scrollToLatest();
}

void MainWindow::focusComposer()
{
    m_composer->setFocus(Qt::ShortcutFocusReason);
}

MessageDelegate *MainWindow::messageDelegate() const
{
    return m_messageView->messageDelegate();
}

QPushButton *MainWindow::jumpToLatestButton() const
{
    return m_messageView->jumpToLatestButton();
}

void MainWindow::scrollToBottom()
{
    m_messageView->scrollToLatest();
}

void MainWindow::openSearch(const QString &text)
{
    m_memberPane->hide();
    m_headerSearch->hide(); // the panel's field takes over: one search field at a time
    if (!m_searchPanel->isVisible()) {
        // Room for the results, taken from the messages' column.
        auto *splitter = static_cast<QSplitter *>(centralWidget());
        QList<int> sizes = splitter->sizes();
        const int wanted = fontMetrics().averageCharWidth() * 52;
        const int index = splitter->indexOf(m_searchPanel);
        const int conversation = splitter->indexOf(m_messageView->parentWidget());
        if (index >= 0 && conversation >= 0 && sizes.at(index) < wanted) {
            sizes[conversation] = std::max(0, sizes.at(conversation) - (wanted - sizes.at(index)));
            sizes[index] = wanted;
            m_searchPanel->show();
            splitter->setSizes(sizes);
        }
    }
    if (!text.isEmpty()) {
        m_searchPanel->field()->setText(text);
        m_searchPanel->open();
        m_searchPanel->field()->deselect();
        m_searchPanel->field()->end(false);
        return;
    }
    m_searchPanel->open();
}

void MainWindow::showSearchResults(const Protocol::SearchResults &results)
{
    m_searchPanel->showResults(results);
}

bool MainWindow::eventFilter(QObject *watched, QEvent *event)
{
    // A click into the header's search field opens the panel.
    if (watched == m_headerSearch && event->type() == QEvent::MouseButtonPress) {
        openSearch();
        return true;
    }
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::reportRead()
{
    // Read means seen: the conversation on screen in the active window.
    // Not while it is being opened, nor while it waits for the page where the user stopped.
    if (m_opening || m_messageView->isOpeningAtReadMarker() || !m_messages || !m_current.isValid() ||
        !isActiveWindow() || isMinimized() || !m_messageView->isVisible())
        return;
    if (const qint64 id = m_messageView->lastVisibleMessage(); id > 0)
        Q_EMIT readUpTo(ConversationKey(m_current), id);
}

void MainWindow::setReadMarker(qint64 id, int unread, int mentions)
{
    m_messageView->setReadMarker(id, unread, mentions);
}

bool MainWindow::revealMessage(qint64 id)
{
    return m_messageView->revealMessage(id);
}

qint64 MainWindow::lastOwnMessage() const
{
    if (!m_messages)
        return 0;
    for (int row = m_messages->storedCount() - 1; row >= 0; --row) {
        const QModelIndex index = m_messages->index(row);
        if (index.data(MessageListModel::IsOwnRole).toBool() &&
            !index.data(MessageListModel::IsDeletedRole).toBool())
            return index.data(MessageListModel::IdRole).toLongLong();
    }
    return 0;
}

void MainWindow::startReply(qint64 id)
{
    const QModelIndex index = m_messageView->indexOfMessage(id);
    if (!index.isValid() || index.data(MessageListModel::IsDeletedRole).toBool())
        return;
    m_composerBar->startReply(id, index.data(MessageListModel::SenderNameRole).toString(),
                              index.data(MessageListModel::TextRole).toString());
}

void MainWindow::startEdit(qint64 id)
{
    const QModelIndex index = m_messageView->indexOfMessage(id);
    if (!index.isValid() || !index.data(MessageListModel::IsOwnRole).toBool() ||
        index.data(MessageListModel::IsDeletedRole).toBool())
        return;
    m_composerBar->startEdit(id, index.data(MessageListModel::TextRole).toString(),
                             index.data(MessageListModel::MentionsRole).toStringList());
}

void MainWindow::cancelComposerMode()
{
    m_composerBar->cancelMode();
}

void MainWindow::editAccepted()
{
    m_composerBar->accepted();
}

bool MainWindow::isReplying() const
{
    return m_composerBar->mode() == ComposerBar::Mode::Reply;
}

bool MainWindow::isEditing() const
{
    return m_composerBar->mode() == ComposerBar::Mode::Edit;
}

QLabel *MainWindow::composerBannerLabel() const
{
    return m_composerBar->bannerLabel();
}

void MainWindow::confirmDelete(qint64 id)
{
    const QModelIndex index = m_messageView->indexOfMessage(id);
    if (!index.isValid())
        return;
    const bool own = index.data(MessageListModel::IsOwnRole).toBool();
    auto *box = new QMessageBox(QMessageBox::Question, tr("Delete Message?"),
                                own ? tr("Delete this message for everyone? This cannot be undone.")
                                    : tr("Delete %1's message for everyone? This cannot be undone.")
                                          .arg(index.data(MessageListModel::SenderNameRole).toString()),
                                QMessageBox::Cancel, this);
    box->setObjectName(u"confirmDelete"_s);
    box->setTextFormat(Qt::PlainText);
    QPushButton *remove = box->addButton(tr("Delete"), QMessageBox::DestructiveRole);
    box->setDefaultButton(QMessageBox::Cancel);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::buttonClicked, this, [this, id, remove](QAbstractButton *clicked) {
        if (clicked == remove)
            Q_EMIT deleteRequested(id);
    });
    box->open();
}
void MainWindow::askJoinRoom()
{
    openDirectory(DirectoryDialog::Kind::Rooms);
}

void MainWindow::openDirectory(DirectoryDialog::Kind kind)
{
    if (m_directory)
        m_directory->close();
    auto *dialog = new DirectoryDialog(kind, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setSelfEmail(m_selfEmail);
    m_directory = dialog;
    if (kind == DirectoryDialog::Kind::Rooms) {
        connect(dialog, &DirectoryDialog::searchRequested, this, &MainWindow::roomSearchRequested);
        connect(dialog, &DirectoryDialog::roomChosen, this, &MainWindow::joinRoomRequested);
    } else {
        connect(dialog, &DirectoryDialog::searchRequested, this, &MainWindow::peopleSearchRequested);
        connect(dialog, &DirectoryDialog::personChosen, this, &MainWindow::directMessageRequested);
    }
    dialog->open();
}

void MainWindow::showRoomSearchResults(const Protocol::RoomList &list)
{
    if (m_directory && m_directory->kind() == DirectoryDialog::Kind::Rooms)
        m_directory->setRooms(list.prefix, list.rooms, list.hasMore);
}

void MainWindow::showPeopleSearchResults(const Protocol::People &people)
{
    if (m_directory && m_directory->kind() == DirectoryDialog::Kind::People)
        m_directory->setPeople(people.prefix, people.people, people.hasMore);
}

void MainWindow::askInviteToRoom(const QString &room)
{
    bool ok = false;
    const QString email = QInputDialog::getText(
        this, tr("Invite to Room"),
        tr("Email address of the person to make a member of the private room #%1:").arg(room),
        QLineEdit::Normal, QString(), &ok);
    if (ok && !email.trimmed().isEmpty())
        Q_EMIT inviteToRoomRequested(room, email.trimmed());
}

void MainWindow::setRoomManageable(bool manageable)
{
    m_canManageRoom = manageable;
    m_messageView->setCanDeleteOthers(manageable);
}

void MainWindow::askChangePassword()
{
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Change Password"));
    auto *form = new QFormLayout(&dialog);
    auto *current = new QLineEdit(&dialog);
    auto *replacement = new QLineEdit(&dialog);
    auto *again = new QLineEdit(&dialog);
    for (QLineEdit *edit : {current, replacement, again})
        edit->setEchoMode(QLineEdit::Password);
    current->setPlaceholderText(tr("empty if you never set one (the chat you host)"));
    form->addRow(tr("&Current password:"), current);
    form->addRow(tr("&New password:"), replacement);
    form->addRow(tr("&Repeat it:"), again);
    auto *note = new QLabel(tr("At least 8 characters. Your other devices will be signed out."), &dialog);
    note->setWordWrap(true);
    form->addRow(note);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, [&] {
        if (replacement->text() != again->text()) {
            note->setText(tr("The two new passwords differ."));
            return;
        }
        if (replacement->text().size() < 8) {
            note->setText(tr("The new password needs at least 8 characters."));
            return;
        }
        dialog.accept();
    });
    if (dialog.exec() == QDialog::Accepted)
        Q_EMIT changePasswordRequested(current->text(), replacement->text());
}

void MainWindow::askCreatePrivateRoom()
{
    bool ok = false;
    const QString room = QInputDialog::getText(
        this, tr("New Private Room"),
        tr("Name of the new room (letters, digits, '-', '_', '.'). Only the people you invite can join it, "
           "read it or see who is in it:"),
        QLineEdit::Normal, QString(), &ok);
    if (ok && !room.trimmed().isEmpty())
        Q_EMIT createPrivateRoomRequested(Validation::normalizedRoom(room));
}

void MainWindow::askDirectMessage()
{
    openDirectory(DirectoryDialog::Kind::People);
}

void MainWindow::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::ActivationChange && isActiveWindow()) {
        Q_EMIT windowActivated();
        reportRead();
    }
    if (event->type() == QEvent::FontChange || event->type() == QEvent::StyleChange ||
        event->type() == QEvent::PaletteChange) {
        m_messageView->messageDelegate()->clearCache();
        m_messageView->doItemsLayout();
    }
    QMainWindow::changeEvent(event);
}

void MainWindow::setAttachmentImages(AttachmentImages *images)
{
    m_messageView->messageDelegate()->setImages(images);
    connect(images, &AttachmentImages::changed, m_messageView->viewport(), qOverload<>(&QWidget::update));
}

void MainWindow::chooseFiles()
{
    if (!m_current.isValid())
        return;
    const ConversationKey key = m_current;
    const QStringList paths =
        QFileDialog::getOpenFileNames(this, tr("Share Files in %1").arg(m_conversationTitle->text()),
                                      QStandardPaths::writableLocation(QStandardPaths::HomeLocation));
    if (!paths.isEmpty() && key == m_current)
        offerFiles(paths);
}

void MainWindow::offerFiles(const QStringList &paths)
{
    if (m_current.isValid() && !paths.isEmpty())
        offer(new UploadSheet(m_conversationTitle->text(), paths, this));
}

void MainWindow::offerImage(const QImage &image)
{
    if (m_current.isValid() && !image.isNull())
        offer(new UploadSheet(m_conversationTitle->text(), image, this));
}

void MainWindow::offer(UploadSheet *sheet)
{
    // Shared in the conversation it was offered in, whatever is shown when Send is pressed.
    const ConversationKey key = m_current;
    sheet->setAttribute(Qt::WA_DeleteOnClose);
    connect(sheet, &QDialog::accepted, this, [this, key, sheet] {
        if (!sheet->image().isNull())
            Q_EMIT imageAttached(key, sheet->image(), sheet->caption());
        else
            Q_EMIT filesAttached(key, sheet->paths(), sheet->caption());
    });
    sheet->open();
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    // Files dropped anywhere on the window go to the conversation shown.
    if (m_current.isValid() &&
        (!Composer::localFiles(event->mimeData()).isEmpty() || event->mimeData()->hasImage())) {
        event->acceptProposedAction();
        statusBar()->showMessage(tr("Drop to share in %1").arg(m_conversationTitle->text()));
    }
}

void MainWindow::dragLeaveEvent(QDragLeaveEvent *event)
{
    statusBar()->clearMessage();
    QMainWindow::dragLeaveEvent(event);
}

void MainWindow::dragMoveEvent(QDragMoveEvent *event)
{
    if (m_current.isValid() &&
        (!Composer::localFiles(event->mimeData()).isEmpty() || event->mimeData()->hasImage()))
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    statusBar()->clearMessage();
    if (!m_current.isValid())
        return;
    if (const QStringList paths = Composer::localFiles(event->mimeData()); !paths.isEmpty()) {
        event->acceptProposedAction();
        offerFiles(paths);
    } else if (event->mimeData()->hasImage()) {
        const QImage image = qvariant_cast<QImage>(event->mimeData()->imageData());
        if (!image.isNull()) {
            event->acceptProposedAction();
            offerImage(image);
        }
    }
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_closeGuard && !m_closeGuard()) {
        event->ignore();
        return;
    }
    Q_EMIT closing();
    QMainWindow::closeEvent(event);
}

} // namespace Natter
