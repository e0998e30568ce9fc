#include "app/appcontroller.h"

#include "app/autostart.h"
#include "app/clientlogging.h"
#include "app/discoverybrowser.h"
#include "app/localserverhost.h"
#include "common/discovery.h"
#include "common/fingerprint.h"
#include "common/memberlistmodel.h"
#include "common/validation.h"
#include "ui/attachmentimages.h"
#include "ui/conversationview.h"
#include "ui/imageviewer.h"
#include "ui/mainwindow.h"
#include "ui/passworddialog.h"
#include "ui/plaintext.h"
#include "ui/safeimage.h"
#include "ui/searchpanel.h"
#include "ui/trayicon.h"
#include "ui/welcomedialog.h"

#include <QApplication>
#include <QBuffer>
#include <QCheckBox>
#include <QClipboard>
#include <QCryptographicHash>
#include <QCursor>
#include <QDesktopServices>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHostInfo>
#include <QImageReader>
#include <QImageWriter>
#include <QInputDialog>
#include <QMessageBox>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QSysInfo>
#include <QToolTip>
#include <QUrlQuery>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

constexpr QLatin1String DefaultRoom{"general"};

WelcomeDialog::HostAccess hostAccessFor(ServerConfig::Registration registration)
{
    switch (registration) {
    case ServerConfig::Registration::Invite:
        return WelcomeDialog::HostAccess::InviteOnly;
    case ServerConfig::Registration::Closed:
        return WelcomeDialog::HostAccess::Closed;
    case ServerConfig::Registration::Open:
        break;
    }
    return WelcomeDialog::HostAccess::Open;
}

ServerConfig::Registration registrationFor(WelcomeDialog::HostAccess access)
{
    switch (access) {
    case WelcomeDialog::HostAccess::InviteOnly:
        return ServerConfig::Registration::Invite;
    case WelcomeDialog::HostAccess::Closed:
        return ServerConfig::Registration::Closed;
    case WelcomeDialog::HostAccess::Open:
        break;
    }
    return ServerConfig::Registration::Open;
}

} // namespace

AppController::AppController(AppSettings settings, ClientOptions options,
                             std::unique_ptr<CredentialStore> credentials, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_options(std::move(options))
    , m_credentials(std::move(credentials))
    , m_client(new ChatClient(this))
    , m_host(new LocalServerHost(this))
    , m_members(new MemberListModel(this))
    , m_window(new MainWindow)
    , m_tray(new TrayIcon(QApplication::windowIcon(), this))
{
    if (!m_credentials) {
        const QFileInfo settingsFile(m_settings.fileName());
        m_credentials = std::make_unique<KeychainCredentialStore>(
            settingsFile.absolutePath() + u'/' + settingsFile.completeBaseName() + u"-tokens.conf"_s);
    }
    m_client->setDeviceName(QSysInfo::machineHostName());
    if (!m_options.password.isEmpty())
        m_client->setPassword(m_options.password);
    // Tokens, never passwords, are kept: in the keychain, per server and account.
    connect(m_client, &ChatClient::tokenChanged, this, [this](const QString &token) {
        if (token.isEmpty())
            m_credentials->remove(tokenKey());
        else
            m_credentials->write(tokenKey(), token);
    });
    connect(m_client, &ChatClient::certificateNeedsApproval, this, &AppController::askToTrustCertificate);
    connect(m_client, &ChatClient::signInFailed, this,
            [this](Protocol::ErrorCode code, const QString &message) {
                if (code == Protocol::ErrorCode::BadCredentials ||
                    code == Protocol::ErrorCode::CredentialsRequired ||
                    code == Protocol::ErrorCode::WeakPassword) {
                    // The form says it, as a note: no alarm banner over the window as well.
                    m_window->clearError();
                    // Asked for a password without having one or a token: most likely someone new here.
                    askForPassword(message, code == Protocol::ErrorCode::CredentialsRequired);
                }
            });

    m_window->setAttribute(Qt::WA_DeleteOnClose, false);
    m_window->setConversationModel(m_client->conversations());
    m_window->setMemberModel(m_members);
    if (!m_settings.windowGeometry().isEmpty())
        m_window->restoreGeometry(m_settings.windowGeometry());
    m_window->setPanesShown(m_settings.showSidebar(), m_settings.showMembers());
    m_window->setSortByActivity(m_settings.sortByActivity());
    if (themeFromName(m_settings.theme()) != Theme::System)
        m_window->setTheme(themeFromName(m_settings.theme()));
    connect(m_window, &MainWindow::themeChanged, this,
            [this](Theme theme) { m_settings.setTheme(themeName(theme)); });
    m_window->setCompactMessages(m_settings.compactMessages());
    connect(m_window, &MainWindow::compactMessagesChanged, this,
            [this](bool compact) { m_settings.setCompactMessages(compact); });
    connect(m_window, &MainWindow::sortByActivityChanged, this,
            [this](bool byActivity) { m_settings.setSortByActivity(byActivity); });
    connect(m_window, &MainWindow::panesChanged, this,
            [this](bool sidebar, bool members) { m_settings.setPanes(sidebar, members); });

    // The window asks, the client does.
    connect(m_window, &MainWindow::conversationSelected, this, &AppController::setCurrentConversation);
    connect(
        m_window, &MainWindow::sendRequested, this,
        [this](const ConversationKey &key, const QString &text, qint64 replyTo, const QStringList &mentions) {
            // Written at the bottom of the conversation: back to its latest messages first.
            m_client->showLatest(key);
            if (!m_client->sendMessage(key, text, replyTo, mentions).isEmpty()) {
                m_window->messageAccepted();
                saveOutbox(); // what the user wrote survives a crash from now on
            }
        });
    connect(m_window, &MainWindow::retryRequested, m_client, &ChatClient::retry);
    connect(m_window, &MainWindow::draftChanged, this,
            [this](const ConversationKey &key, const ComposerBar::Draft &draft) {
                // In its row while the user is elsewhere; kept for the next start at once.
                const ConversationKey current = m_window->currentConversation();
                m_client->conversations()->setDraft(key, key == current ? QString() : draft.text);
                m_client->conversations()->setDraft(current, {});
                saveDrafts();
                m_settings.sync();
            });
    wireFiles();
    connect(m_window, &MainWindow::editRequested, this,
            [this](qint64 id, const QString &text, const QStringList &mentions) {
                if (m_client->editMessage(id, text, mentions))
                    m_window->editAccepted();
                else if (!(m_client->state() == ChatClient::State::Online))
                    m_window->showError(
                        tr("You are offline: the message can be edited once Natter is connected again."));
            });
    connect(m_window, &MainWindow::deleteRequested, this, [this](qint64 id) {
        if (!m_client->deleteMessage(id))
            m_window->showError(
                tr("You are offline: the message can be deleted once Natter is connected again."));
    });
    connect(m_window, &MainWindow::reactionToggled, this, [this](qint64 id, const QString &emoji, bool on) {
        if (!m_client->react(id, emoji, on) && !(m_client->state() == ChatClient::State::Online))
            m_window->showError(tr("You are offline: reactions work once Natter is connected again."));
    });
    connect(m_window, &MainWindow::messageRequested, this, &AppController::showMessage);
    connect(m_window, &MainWindow::latestRequested, m_client, &ChatClient::showLatest);
    connect(m_window, &MainWindow::copyLinkRequested, this, [this](const ConversationKey &key, qint64 id) {
        QGuiApplication::clipboard()->setText(messageLink(key, id).toString());
        // Said where the user clicked, not only in the status bar.
        QToolTip::showText(QCursor::pos(), tr("Copied"), m_window->messageView());
        m_window->statusBar()->showMessage(tr("Link to the message copied"), 3000);
    });
    connect(m_window, &MainWindow::readUpTo, this, [this](const ConversationKey &key, qint64 id) {
        // Read is what came on screen: what is still below it stays unread.
        const bool shown = key == m_window->currentConversation();
        const int left = shown ? m_window->messageView()->unseenCount() : 0;
        const int mentions = shown ? m_window->messageView()->unseenMentionCount() : 0;
        m_client->markRead(key, id, left, mentions);
        m_client->conversations()->setUnreadCount(key, left, mentions);
    });
    connect(m_client, &ChatClient::messageShown, this, [this](const ConversationKey &key, qint64 id) {
        // A page asked for to open at the first unread positions itself (no flash).
        if (m_window->currentConversation() == key && !m_window->messageView()->isOpeningAtReadMarker())
            m_window->revealMessage(id);
    });
    connect(m_window->messageView(), &ConversationView::readMarkerWanted, this,
            [this](qint64 id) { m_client->showMessage(m_window->currentConversation(), id); });
    connect(m_client, &ChatClient::conversationStateChanged, this,
            &AppController::onConversationStateChanged);
    connect(m_window, &MainWindow::searchRequested, this, [this](const Protocol::SearchRequest &request) {
        if (!m_client->search(request))
            m_window->searchPanel()->showError(
                tr("Search needs the connection to the server; Natter is offline."));
    });
    connect(m_client, &ChatClient::searchFinished, m_window, &MainWindow::showSearchResults);
    connect(m_client, &ChatClient::searchFailed, m_window->searchPanel(), &SearchPanel::showError);
    m_window->searchPanel()->setTitleResolver([this](const ConversationKey &key) {
        const QString title = m_client->conversations()->title(key);
        return key.isRoom() ? u'#' + key.name : title;
    });
    m_window->searchPanel()->setPersonResolver([this](const QString &name) { return personEmail(name); });
    m_window->searchPanel()->setSelfResolver([this] { return m_client->self().email; });
    connect(m_window, &MainWindow::typingChanged, m_client, &ChatClient::setTyping);
    connect(m_window, &MainWindow::joinRoomRequested, this, [this](const QString &room) {
        if (m_client->openRoom(room)) {
            setCurrentConversation(ConversationKey::room(Validation::normalizedRoom(room)));
            saveSettings();
        }
    });
    connect(m_window, &MainWindow::directMessageRequested, this,
            [this](const QString &email, const QString &name) {
                if (m_client->openDirect(email, name)) {
                    setCurrentConversation(
                        ConversationKey::direct(Validation::normalizedEmail(email.trimmed())));
                    saveSettings();
                }
            });
    connect(m_window, &MainWindow::closeConversationRequested, this, &AppController::closeConversation);
    connect(m_window, &MainWindow::leaveConversationRequested, this,
            [this](ConversationKey key) { leaveConversation(key); });
    connect(m_window, &MainWindow::reconnectRequested, this, [this] {
        if (m_client->state() == ChatClient::State::WaitingToReconnect)
            m_client->reconnectNow();
        else if (m_client->state() == ChatClient::State::Offline && m_client->serverUrl().isValid())
            m_client->connectToServer(m_client->serverUrl());
    });
    connect(m_window, &MainWindow::inviteRequested, this, &AppController::showInviteLink);
    connect(m_window, &MainWindow::createPrivateRoomRequested, this, [this](const QString &room) {
        if (m_client->createPrivateRoom(room)) {
            setCurrentConversation(ConversationKey::room(Validation::normalizedRoom(room)));
            saveSettings();
        }
    });
    connect(m_window, &MainWindow::inviteToRoomRequested, m_client, &ChatClient::inviteToRoom);
    // The directory dialogs search the server as the user types; offline, they
    // still offer to create a room or write to a typed email.
    connect(m_window, &MainWindow::roomSearchRequested, this, [this](const QString &prefix) {
        if (m_client->state() == ChatClient::State::Online)
            m_client->listRooms(prefix);
        else
            m_window->showRoomSearchResults(Protocol::RoomList{prefix, 0, {}, false});
    });
    connect(m_window, &MainWindow::peopleSearchRequested, this, [this](const QString &prefix) {
        if (m_client->state() == ChatClient::State::Online)
            m_client->listPeople(prefix);
        else
            m_window->showPeopleSearchResults(Protocol::People{prefix, 0, {}, false});
    });
    connect(m_client, &ChatClient::roomsListed, m_window, &MainWindow::showRoomSearchResults);
    connect(m_client, &ChatClient::peopleListed, m_window, &MainWindow::showPeopleSearchResults);
    connect(m_window, &MainWindow::removeFromRoomRequested, m_client, &ChatClient::removeFromRoom);
    connect(m_window, &MainWindow::changePasswordRequested, m_client, &ChatClient::changePassword);
    connect(m_client, &ChatClient::passwordChanged, this, [this] {
        m_window->statusBar()->showMessage(tr("Password changed; your other devices were signed out."), 8000);
    });
    connect(m_window, &MainWindow::signOutRequested, this, &AppController::signOut);
    connect(m_client, &ChatClient::roomInvitation, this, [this](const QString &room, const User &by) {
        m_window->statusBar()->showMessage(tr("%1 added you to the private room #%2").arg(by.name, room),
                                           8000);
        saveSettings();
    });
    connect(m_client, &ChatClient::memberInvited, this, [this](const QString &room, const User &member) {
        const QString who = member.name.isEmpty() ? member.email : member.name;
        m_window->statusBar()->showMessage(tr("%1 can now join #%2").arg(who, room), 8000);
    });
    connect(m_client, &ChatClient::roomRefused, this, &AppController::saveSettings);
    connect(m_client, &ChatClient::removedFromRoom, this, [this](const QString &room) {
        m_window->showError(tr("The owner of the private room #%1 removed you from it.").arg(room));
        saveSettings();
    });
    connect(m_window, &MainWindow::switchServerRequested, this, [this] {
        saveSettings();
        runWelcomeDialog();
    });
    connect(m_window, &MainWindow::linkActivated, this, [this](const QUrl &url) {
        if (url.scheme() == u"natter"_s && url.path() == u"message"_s) {
            const QUrlQuery query(url);
            const qint64 id = query.queryItemValue(u"id"_s).toLongLong();
            ConversationKey key = m_window->currentConversation();
            if (query.hasQueryItem(u"room"_s))
                key = ConversationKey::room(Validation::normalizedRoom(query.queryItemValue(u"room"_s)));
            if (!m_client->messages(key)) {
                m_window->showError(tr("That message is in #%1, which you have not joined.").arg(key.name));
                return;
            }
            showMessage(key, id);
            return;
        }
        QDesktopServices::openUrl(url);
    });
    connect(m_window, &MainWindow::windowActivated, this, [this] {
        m_client->conversations()->setUnreadCount(m_window->currentConversation(),
                                                  m_window->messageView()->unseenCount(),
                                                  m_window->messageView()->unseenMentionCount());
    });
    connect(m_window, &MainWindow::closing, this, &AppController::saveSettings);
    m_window->setCloseGuard([this] {
        // Kept running in the tray: closing the window only hides it (Quit quits).
        if (!m_quitting && m_settings.keepRunningInTray() && m_tray->isAvailable()) {
            saveSettings();
            m_window->hide();
            if (!m_toldAboutTray) {
                m_toldAboutTray = true;
                m_tray->notify(tr("Natter is still running"),
                               tr("New messages still reach you. Click the tray icon to open the window, or "
                                  "choose Quit from its menu."));
            }
            return false;
        }
        // Quitting ends a hosted chat for everyone in it: ask first.
        const int others = m_host->isRunning() ? m_host->connectionCount() - 1 : 0;
        if (others <= 0)
            return true;
        // Who they are, as far as this app sees them (the rooms' members online).
        QStringList names;
        const QString self = m_client->self().email;
        for (const ConversationKey &key : m_client->openConversations()) {
            if (!key.isRoom())
                continue;
            for (const User &member : m_client->members(key.name)) {
                if (member.email.compare(self, Qt::CaseInsensitive) != 0 && !names.contains(member.name))
                    names.append(member.name);
            }
        }
        names.sort(Qt::CaseInsensitive);
        constexpr qsizetype MaxNamed = 5;
        if (names.size() > MaxNamed) {
            const int rest = int(names.size() - MaxNamed);
            names.resize(MaxNamed);
            names.append(tr("%n other(s)", nullptr, rest));
        }
        QString question = tr("%n other connection(s) use the chat you host.", nullptr, others);
        if (!names.isEmpty())
            question += u' ' + tr("Connected now: %1.").arg(QLocale().createSeparatedList(names));
        question +=
            u' ' + tr("If you quit, the chat stops for them until you start Natter again. Quit anyway?");
        // The names are other people's words: plain text, never markup.
        QMessageBox box(QMessageBox::Question, tr("Quit Natter?"), question,
                        QMessageBox::Yes | QMessageBox::No, m_window);
        box.setObjectName(u"confirmQuit"_s);
        box.setTextFormat(Qt::PlainText);
        box.setDefaultButton(QMessageBox::No);
        return box.exec() == QMessageBox::Yes;
    });

    // The client tells, the window shows.
    connect(m_client, &ChatClient::stateChanged, this, &AppController::updateStatus);
    // A banner shown while Natter was not connected (a refused password, a
    // certificate question since answered, "offline") was about that: it
    // goes once Natter is connected and signed in again.
    connect(m_client, &ChatClient::stateChanged, this, [this](ChatClient::State state) {
        // Rejoining the last chat at start: if it cannot be reached, the welcome
        // dialog says so and offers the rest (once; later losses only reconnect).
        if (m_checkingLastChat && state == ChatClient::State::Online)
            m_checkingLastChat = false;
        if (m_checkingLastChat && state == ChatClient::State::WaitingToReconnect) {
            m_checkingLastChat = false;
            m_welcomeNote =
                tr("Natter could not reach %1: %2")
                    .arg(m_client->serverUrl().toString(QUrl::RemoveScheme).mid(2),
                         m_client->lastError().isEmpty() ? tr("no answer") : m_client->lastError());
            QMetaObject::invokeMethod(
                this, [this] { runWelcomeDialog(); }, Qt::QueuedConnection);
        }
        if (state != ChatClient::State::Online) {
            if (m_wasOnline)
                m_errorsBeforeOffline = m_window->errorSerial();
            m_wasOnline = false;
            return;
        }
        if (!m_wasOnline && m_window->errorSerial() != m_errorsBeforeOffline &&
            !m_window->errorText().isEmpty())
            m_window->clearError();
        m_wasOnline = true;
    });
    connect(m_client, &ChatClient::differentServer, this, &AppController::askToJoinDifferentChat);
    connect(m_client, &ChatClient::welcomed, this, [this] {
        m_settings.addRecentServer(m_client->serverUrl());
        if (!m_client->serverId().isEmpty())
            m_settings.setServerId(serverKey(m_client->serverUrl()), m_client->serverId());
        updateStatus();
        updateHeader();
    });
    connect(m_client, &ChatClient::errorOccurred, m_window, &MainWindow::showError);
    // A direct conversation's title becomes the person's name once it is known.
    connect(m_client->conversations(), &QAbstractItemModel::dataChanged, this, &AppController::updateHeader);
    connect(m_client, &ChatClient::membersChanged, this, [this](const QString &room) {
        if (m_window->currentConversation() == ConversationKey::room(room))
            updateMembers();
    });
    connect(m_client, &ChatClient::typingChanged, this, [this](const ConversationKey &key) {
        if (m_window->currentConversation() == key)
            m_window->setTypingText(typingText(m_client->typingUsers(key)));
    });
    connect(m_client, &ChatClient::presenceChanged, this, [this](const QString &email) {
        // The sidebar's dot on their avatar, and the header when it is open.
        if (const std::optional<Protocol::Presence> presence = m_client->presence(email);
            presence && presence->known)
            m_client->conversations()->setPresence(ConversationKey::direct(email), presence->online);
        if (m_window->currentConversation() == ConversationKey::direct(email))
            updateHeader();
    });
    connect(m_client, &ChatClient::messagesArrived, this,
            [this](const ConversationKey &key, const QList<Message> &messages) {
                onMessagesArrived(key, messages, false);
            });
    connect(m_client, &ChatClient::messagesMissed, this,
            [this](const ConversationKey &key, const QList<Message> &messages) {
                onMessagesArrived(key, messages, true);
            });
    connect(m_client, &ChatClient::conversationOpened, this, &AppController::saveSettings);
    const auto updateBadge = [this] {
        ConversationListModel *conversations = m_client->conversations();
        m_tray->setUnreadCount(conversations->totalUnread(), conversations->totalMentions());
        m_window->setWindowIcon(m_tray->badgedIcon());
    };
    connect(m_client->conversations(), &ConversationListModel::totalUnreadChanged, this, updateBadge);
    connect(m_client->conversations(), &ConversationListModel::totalMentionsChanged, this, updateBadge);
    connect(m_tray, &TrayIcon::showRequested, this, [this] {
        m_window->showNormal();
        m_window->raise();
        m_window->activateWindow();
    });
    connect(m_tray, &TrayIcon::quitRequested, this, &AppController::quit);
    connect(m_window, &MainWindow::quitRequested, this, &AppController::quit);
    connect(m_window, &MainWindow::settingsRequested, this, &AppController::showSettings);
    connect(m_window, &MainWindow::muteRequested, this, [this](const ConversationKey &key, bool muted) {
        m_client->conversations()->setMuted(key, muted);
        m_client->setMuted(key, muted); // the user's other devices follow
        if (m_client->serverUrl().isValid())
            m_settings.setMutedConversations(m_client->serverUrl(), m_client->conversations()->mutedKeys());
    });
    QApplication::setQuitOnLastWindowClosed(!m_settings.keepRunningInTray());

    // The countdown of "reconnecting in N s" moves once a second.
    m_statusTimer.setInterval(1000);
    connect(&m_statusTimer, &QTimer::timeout, this, &AppController::updateStatus);
}

AppController::~AppController()
{
    saveSettings();
    m_client->disconnectFromServer();
    delete m_window;
    m_host->stop();
}

QString AppController::serverKey(const QUrl &url)
{
    return url.host().toLower() + u':' + QString::number(url.port(Discovery::DefaultPort));
}

QString AppController::tokenKey() const
{
    return CredentialStore::tokenKey(serverKey(m_client->serverUrl()), m_client->identity().email);
}

void AppController::signOut()
{
    m_client->signOut();
    m_credentials->remove(tokenKey());
    updateStatus();
}

void AppController::askForPassword(const QString &why, bool newAccount)
{
    // Not modal to the app: the window stays usable (and readable) meanwhile.
    if (auto *open = m_window->findChild<PasswordDialog *>(); open && open->isVisible())
        open->close();
    const QString server = m_client->serverName().isEmpty()
                               ? m_client->serverUrl().toString(QUrl::RemoveScheme).mid(2)
                               : m_client->serverName();
    auto *dialog = new PasswordDialog(server, m_client->identity().email, why, newAccount, m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const QString password = dialog->password();
        if (password.isEmpty())
            return;
        m_client->setPassword(password);
        m_client->connectToServer(m_client->serverUrl());
    });
    dialog->open();
}

void AppController::askToTrustCertificate(const QString &fingerprint, bool changed)
{
    const QUrl url = m_client->serverUrl();
    const QString key = serverKey(url);
    auto *box = new QMessageBox(m_window);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextFormat(Qt::PlainText);
    if (!changed) {
        box->setObjectName(u"certificateQuestion"_s);
        box->setIcon(QMessageBox::Question);
        box->setWindowTitle(tr("Trust this chat server?"));
        box->setText(
            tr("This is your first connection to %1. Its certificate is not vouched for by an authority "
               "this computer trusts, which is usual for a chat hosted on a network like this one.")
                .arg(key));
        box->setInformativeText(
            tr("Compare its fingerprint with the one the host sees (Chat info, in the host's status bar, "
               "or natterd --fingerprint), for example by reading it out:\n\n%1\n\n"
               "Trust this server and connect?")
                .arg(Fingerprint::displayLines(fingerprint)));
        box->setStandardButtons(QMessageBox::Yes | QMessageBox::No);
        box->setDefaultButton(QMessageBox::No);
    } else {
        box->setObjectName(u"certificateChanged"_s);
        box->setIcon(QMessageBox::Warning);
        box->setWindowTitle(tr("The server's certificate has changed"));
        box->setText(
            tr("%1 showed a different certificate from the one you accepted before, so Natter did not "
               "connect.\n\nThat happens when the server was set up again or its certificate renewed, or "
               "when another computer now hosts a different chat at this address — or when someone on the "
               "network pretends to be the server to read your messages and password.")
                .arg(key));
        box->setInformativeText(
            tr("Ask the host whether they changed it, and compare:\n\nAccepted before:\n%1\n\n"
               "Shown now:\n%2")
                .arg(Fingerprint::display(m_client->pinnedFingerprint()), Fingerprint::display(fingerprint)));
        box->setStandardButtons(QMessageBox::Close);
        box->addButton(tr("Trust the New Certificate"), QMessageBox::DestructiveRole);
        box->setDefaultButton(QMessageBox::Close);
    }
    m_window->showError(changed ? tr("Not connected: the server's certificate has changed.")
                                : tr("Not connected yet: the server's certificate needs your approval."));
    connect(box, &QMessageBox::finished, this, [this, box, url, key, fingerprint] {
        const QMessageBox::ButtonRole role = box->buttonRole(box->clickedButton());
        if (role != QMessageBox::YesRole && role != QMessageBox::DestructiveRole)
            return;
        m_settings.setPinnedFingerprint(key, fingerprint);
        m_client->setPinnedFingerprint(fingerprint);
        m_window->clearError();
        m_client->connectToServer(url);
    });
    box->open();
}

void AppController::askToJoinDifferentChat(const QString &serverId)
{
    const QUrl url = m_client->serverUrl();
    const QString key = serverKey(url);
    const int unsent = int(m_client->allOutgoing().size());
    auto *box = new QMessageBox(m_window);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextFormat(Qt::PlainText);
    box->setObjectName(u"differentChat"_s);
    box->setIcon(QMessageBox::Warning);
    box->setWindowTitle(tr("A different chat"));
    box->setText(tr("The chat at %1 is not the one you were in before: someone else may host a chat at this "
                    "address now, or its history was replaced. Natter did not connect, so the two are not "
                    "mixed up.")
                     .arg(key));
    QString consequence =
        tr("Join this chat instead? What this window shows of the earlier chat is cleared.");
    if (unsent > 0)
        consequence +=
            u' ' + tr("Your %n unsent message(s) to the earlier chat will be discarded.", nullptr, unsent);
    box->setInformativeText(consequence);
    box->setStandardButtons(QMessageBox::Close);
    box->addButton(tr("Join This Chat"), QMessageBox::DestructiveRole);
    box->setDefaultButton(QMessageBox::Close);
    m_window->showError(tr("Not connected: a different chat answers at this address."));
    connect(box, &QMessageBox::finished, this, [this, box, url, key, serverId] {
        if (box->buttonRole(box->clickedButton()) != QMessageBox::DestructiveRole)
            return;
        m_client->forgetMessages();
        m_settings.setServerId(key, serverId);
        m_client->setExpectedServerId(serverId);
        m_window->clearError();
        saveSettings();
        m_client->connectToServer(url);
    });
    box->open();
}

User AppController::effectiveIdentity() const
{
    User user = m_settings.identity();
    if (!m_options.identity.name.isEmpty())
        user.name = m_options.identity.name;
    if (!m_options.identity.email.isEmpty())
        user.email = m_options.identity.email;
    return user;
}

void AppController::acceptInvite(const InviteLink &link)
{
    const QString key = serverKey(link.serverUrl());
    if (m_settings.pinnedFingerprint(key).isEmpty())
        m_settings.setPinnedFingerprint(key, link.fingerprint);
    if (!link.invite.isEmpty())
        m_client->setInviteCode(link.invite);
}

QString AppController::hostedInviteLink() const
{
    if (!m_host->isRunning())
        return {};
    const QStringList shareable = m_host->shareableUrls();
    const QUrl url(shareable.isEmpty() ? u"wss://127.0.0.1:%1"_s.arg(m_host->port())
                                       : shareable.constFirst());
    // An invite-only chat gets a new single-use code in every link.
    const QString code = m_settings.hostRegistration() == ServerConfig::Registration::Invite
                             ? m_host->createInvite()
                             : QString();
    return InviteLink{url.host(), m_host->port(), code, m_host->fingerprint()}.toString();
}

void AppController::showInviteLink()
{
    const QString link = hostedInviteLink();
    if (link.isEmpty()) {
        m_window->showError(tr("Host a chat on this computer first: then you can invite people to it."));
        return;
    }
    auto *box = new QMessageBox(m_window);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setObjectName(u"inviteLink"_s);
    box->setTextFormat(Qt::PlainText);
    box->setIcon(QMessageBox::Information);
    box->setWindowTitle(tr("Invite People"));
    box->setText(tr("Send this link to the people you want to chat with. Opening it in Natter (or pasting it "
                    "into the address field of the welcome dialog) joins this chat with its certificate "
                    "already trusted: no question to answer.\n\n%1")
                     .arg(link));
    box->setInformativeText(
        tr("Send it through something you trust (email from your account, your team's chat): "
           "whoever sends it decides which server people trust."));
    QPushButton *copy = box->addButton(tr("Copy Link"), QMessageBox::ActionRole);
    box->addButton(QMessageBox::Close);
    connect(copy, &QPushButton::clicked, this, [this, link] {
        QGuiApplication::clipboard()->setText(link);
        m_window->statusBar()->showMessage(tr("Invite link copied"), 3000);
    });
    box->open();
}

bool AppController::start()
{
    if (m_options.invite) {
        acceptInvite(*m_options.invite);
        m_options.server = m_options.invite->serverUrl();
    }
    const User identity = effectiveIdentity();
    const bool identityKnown =
        Validation::isValidDisplayName(identity.name) && Validation::isValidEmail(identity.email);
    m_client->setAlternateServers(m_options.server, m_options.alternateServers);
    if (m_options.server.isValid() && identityKnown) {
        m_client->setIdentity(identity);
        m_settings.setIdentity(identity);
        join(m_options.server);
        return true;
    }
    if (m_options.host) {
        User user = identity;
        if (!identityKnown) {
            // Hosting at once asks nothing: a name from the account, changeable later.
            QString login =
                qEnvironmentVariable("USER", qEnvironmentVariable("USERNAME", u"user"_s)).trimmed();
            if (login.isEmpty())
                login = u"user"_s;
            if (!Validation::isValidDisplayName(user.name))
                user.name = login.left(1).toUpper() + login.mid(1);
            if (!Validation::isValidEmail(user.email))
                user.email = Validation::normalizedEmail(QString(login + u'@' + QSysInfo::machineHostName()));
            if (!Validation::isValidEmail(user.email))
                user.email = Validation::normalizedEmail(QString(login + u"@localhost"_s));
        }
        m_client->setIdentity(user);
        m_settings.setIdentity(user);
        if (host())
            return true;
    }
    // A returning user goes straight in: who hosted hosts the same chat
    // again (its history, address and certificate), who joined rejoins. The
    // welcome dialog is for the first time, Chat → Switch Server…, and a
    // last chat that cannot be reached (which it then says).
    if (!m_options.server.isValid() && !m_options.host && identityKnown) {
        m_client->setIdentity(identity);
        const QList<QUrl> recent = m_settings.recentServers();
        if (m_settings.hostedLastTime()) {
            const quint16 last = m_settings.lastHostedPort();
            if (host(/*quiet=*/true, last) || (last != 0 && host(/*quiet=*/true)))
                return true;
            m_welcomeNote = tr("Natter could not host your chat again: %1").arg(m_lastHostError);
        } else if (!recent.isEmpty()) {
            m_checkingLastChat = true;
            join(recent.constFirst());
            return true;
        }
    }
    return runWelcomeDialog();
}

bool AppController::runWelcomeDialog()
{
    WelcomeDialog dialog(m_window->isVisible() ? m_window : nullptr);
    dialog.setWindowIcon(QApplication::windowIcon());
    dialog.setIdentity(effectiveIdentity());
    dialog.setHostAccess(hostAccessFor(m_settings.hostRegistration()));
    QList<QUrl> recent = m_settings.recentServers();
    const bool hostedLastTime = m_settings.hostedLastTime() && !m_options.server.isValid();
    if (hostedLastTime) {
        // Our own chat at 127.0.0.1 is not there to join until we host it again.
        recent.removeIf([](const QUrl &url) { return QHostAddress(url.host()).isLoopback(); });
    }
    if (m_options.server.isValid())
        recent.prepend(m_options.server);
    dialog.setRecentServers(recent);
    dialog.setPreferHosting(hostedLastTime);
    dialog.setNote(std::exchange(m_welcomeNote, {}));

    DiscoveryBrowser browser;
    connect(&browser, &DiscoveryBrowser::serverFound, &dialog,
            [this, &dialog](const DiscoveredServer &server) {
                const QString title = server.name.isEmpty() ? server.url.host() : server.name;
                QString detail = tr("%1 · %n online", nullptr, server.users)
                                     .arg(server.url.toString(QUrl::RemoveScheme).mid(2));
                // What the announcement claims is shown, and checked against a pin; it
                // is never trusted by itself (anyone on the network can announce).
                const QString pinned = m_settings.pinnedFingerprint(serverKey(server.url));
                if (server.fingerprint.isEmpty())
                    detail += tr(" · not encrypted");
                else if (!pinned.isEmpty() && pinned != server.fingerprint)
                    detail += tr(" · ⚠ not the certificate you trusted before");
                else
                    detail += tr(" · certificate %1…").arg(Fingerprint::display(server.fingerprint).left(14));
                dialog.addDiscoveredServer(title, server.url, detail);
            });
    if (m_options.discovery)
        browser.start();

    for (;;) {
        if (dialog.exec() != QDialog::Accepted)
            return m_window->isVisible();
        const User user = dialog.identity();
        m_client->setIdentity(user);
        m_settings.setIdentity(user);
        if (!dialog.password().isEmpty())
            m_client->setPassword(dialog.password());
        if (const std::optional<InviteLink> link = dialog.inviteLink())
            acceptInvite(*link);
        m_settings.setHostRegistration(registrationFor(dialog.hostAccess()));
        if (dialog.choice() == WelcomeDialog::Choice::Join) {
            m_host->stop();
            m_settings.setHostedLastTime(false);
            join(dialog.serverUrl());
            return true;
        }
        if (host())
            return true;
    }
}

bool AppController::host(bool quiet, quint16 port)
{
    ServerConfig config;
    config.port = port != 0 ? port : m_options.hostPort;
    config.host = m_options.hostAddress;
    const User identity = m_client->identity();
    config.registration = m_settings.hostRegistration();
    config.serverName = !m_options.hostName.isEmpty()      ? m_options.hostName
                        : !m_settings.hostName().isEmpty() ? m_settings.hostName()
                                                           : tr("%1's chat").arg(identity.name);
    const QString database =
        m_options.databasePath.isEmpty() ? LocalServerHost::defaultDatabasePath() : m_options.databasePath;
    std::optional<quint16> discoveryPort;
    if (m_options.discovery)
        discoveryPort = Discovery::DefaultPort; // the well-known port browsers ask, whatever the chat's port
    if (!m_host->start(config, database, discoveryPort)) {
        m_lastHostError = m_host->errorString();
        if (!quiet)
            QMessageBox::critical(m_window->isVisible() ? m_window : nullptr, tr("Cannot host a chat"),
                                  m_lastHostError);
        return false;
    }
    QUrl url;
    url.setScheme(u"wss"_s);
    url.setHost(u"127.0.0.1"_s);
    url.setPort(m_host->port());
    // Our own chat's certificate needs no question.
    m_settings.setPinnedFingerprint(serverKey(url), m_host->fingerprint());
    m_settings.setLastHostedPort(m_host->port());
    // The host signs in to its own chat with a token it issues itself: no password to choose.
    const QString key = CredentialStore::tokenKey(serverKey(url), identity.email);
    if (m_credentials->read(key).isEmpty() && !m_client->hasPassword()) {
        const QString token = m_host->issueToken(identity, QSysInfo::machineHostName());
        if (!token.isEmpty())
            m_credentials->write(key, token);
    }
    join(url);
    m_settings.setHostedLastTime(true);
    QStringList shareable = m_host->shareableUrls();
    if (shareable.isEmpty())
        shareable.append(url.toString());
    m_window->setHostingAddresses(shareable, Fingerprint::display(m_host->fingerprint()));
    if (!m_host->warningString().isEmpty())
        m_window->showError(
            tr("Hosting works, but others cannot find it automatically: %1").arg(m_host->warningString()));
    return true;
}

void AppController::join(const QUrl &url)
{
    if (!m_host->isRunning())
        m_window->setHostingAddresses({});
    saveDrafts(); // the drafts of the server left behind stay with it
    // Leave what was open on another server.
    for (const ConversationKey &key : m_client->openConversations()) {
        if (key.isRoom())
            m_client->closeRoom(key.name);
        else
            m_client->closeDirect(key.name);
    }
    m_client->setPinnedFingerprint(m_settings.pinnedFingerprint(serverKey(url)));
    m_client->setExpectedServerId(m_settings.serverId(serverKey(url)));
    if (!m_client->hasPassword())
        m_client->setToken(
            m_credentials->read(CredentialStore::tokenKey(serverKey(url), m_client->identity().email)));
    m_client->connectToServer(url);
    openRestoredConversations();
    m_window->show();
    m_window->focusComposer();
    updateStatus();
}

void AppController::restoreMuted()
{
    ConversationListModel *conversations = m_client->conversations();
    const QList<ConversationKey> before = conversations->mutedKeys();
    for (const ConversationKey &key : before)
        conversations->setMuted(key, false);
    for (const ConversationKey &key : m_settings.mutedConversations(m_client->serverUrl()))
        conversations->setMuted(key, true);
}

void AppController::showSettings()
{
    if (m_settingsDialog) {
        m_settingsDialog->raise();
        m_settingsDialog->activateWindow();
        return;
    }
    auto *dialog = new SettingsDialog(m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    QList<SettingsDialog::Conversation> conversations;
    for (const ConversationKey &key : m_client->openConversations())
        conversations.append({key, key.isRoom() ? u"#"_s + key.name : m_client->conversations()->title(key)});
    dialog->setConversations(conversations);
    dialog->setTrayAvailable(m_tray->isAvailable());
    SettingsDialog::Values values;
    const User identity = m_client->identity().email.isEmpty() ? effectiveIdentity() : m_client->identity();
    values.name = identity.name;
    values.email = identity.email;
    values.theme = m_window->theme();
    values.compact = m_window->isCompactMessages();
    values.sortByActivity = m_window->isSortedByActivity();
    values.notifications = m_settings.notificationsEnabled();
    values.muted = m_client->conversations()->mutedKeys();
    values.startOnLogin = Autostart::isEnabled();
    values.keepRunningInTray = m_settings.keepRunningInTray();
    dialog->setValues(values);
    connect(dialog, &QDialog::accepted, this, [this, dialog] { applySettings(dialog->values()); });
    m_settingsDialog = dialog;
    dialog->open();
}

void AppController::applySettings(const SettingsDialog::Values &values)
{
    // A new name reaches others with the next hello: reconnect (and resume) now.
    User identity = m_client->identity();
    if (values.name != identity.name && Validation::isValidDisplayName(values.name)) {
        identity.name = values.name;
        m_client->setIdentity(identity);
        User saved = m_settings.identity();
        saved.name = values.name;
        m_settings.setIdentity(saved);
        if (m_client->state() != ChatClient::State::Offline)
            m_client->connectToServer(m_client->serverUrl());
    }
    if (values.theme != m_window->theme()) {
        m_window->setTheme(values.theme);
        m_settings.setTheme(themeName(values.theme));
    }
    m_window->setCompactMessages(values.compact);
    m_settings.setCompactMessages(values.compact);
    m_window->setSortByActivity(values.sortByActivity);
    m_settings.setSortByActivity(values.sortByActivity);
    m_settings.setNotificationsEnabled(values.notifications);
    ConversationListModel *conversations = m_client->conversations();
    for (const ConversationKey &key : m_client->openConversations()) {
        const bool muted = values.muted.contains(key);
        if (conversations->isMuted(key) != muted)
            m_client->setMuted(key, muted); // the user's other devices follow
        conversations->setMuted(key, muted);
    }
    if (m_client->serverUrl().isValid())
        m_settings.setMutedConversations(m_client->serverUrl(), conversations->mutedKeys());
    m_settings.setKeepRunningInTray(values.keepRunningInTray);
    QApplication::setQuitOnLastWindowClosed(!values.keepRunningInTray);
    if (values.startOnLogin != Autostart::isEnabled()) {
        QString error;
        if (!Autostart::setEnabled(values.startOnLogin, QCoreApplication::applicationFilePath(), &error))
            m_window->showError(tr("Could not change how Natter starts: %1").arg(error));
    }
    m_settings.sync();
}

void AppController::quit()
{
    m_quitting = true;
    if (m_window->close())
        QCoreApplication::quit();
    else
        m_quitting = false; // the user chose to stay (a hosted chat in use)
}

void AppController::openRestoredConversations()
{
    const QUrl server = m_client->serverUrl();
    restoreMuted();
    const QList<AppSettings::OpenConversation> saved = m_settings.openConversations(server);
    for (const AppSettings::OpenConversation &conversation : saved) {
        if (conversation.key.isRoom())
            m_client->openRoom(conversation.key.name);
        else
            m_client->openDirect(conversation.key.name, conversation.title);
    }
    ConversationKey current = ConversationKey::fromString(m_settings.currentConversation(server));
    if (!m_options.room.isEmpty()) {
        m_client->openRoom(m_options.room);
        current = ConversationKey::room(m_options.room);
    }
    if (m_client->openConversations().isEmpty()) {
        m_client->openRoom(DefaultRoom);
        current = ConversationKey::room(DefaultRoom);
    }
    // What was written but not sent when the app last quit goes out now;
    // what was left written in each conversation is there again.
    for (const Message &message : m_settings.outbox(server))
        m_client->restoreOutgoing(message);
    // What the user shared from this computer opens from where it was, after a restart too.
    const QHash<qint64, QString> shared = m_settings.sharedFiles(server);
    for (auto it = shared.cbegin(); it != shared.cend(); ++it) {
        if (QFileInfo(it.value()).isFile())
            m_client->rememberLocalFile(it.key(), it.value());
    }
    QHash<QString, ComposerBar::Draft> drafts;
    const QHash<QString, QByteArray> savedDrafts = m_settings.drafts(server);
    for (auto it = savedDrafts.cbegin(); it != savedDrafts.cend(); ++it) {
        if (const ComposerBar::Draft draft = ComposerBar::Draft::fromJson(it.value()); !draft.isEmpty())
            drafts.insert(it.key(), draft);
    }
    m_window->setDrafts(drafts);
    for (auto it = drafts.cbegin(); it != drafts.cend(); ++it)
        m_client->conversations()->setDraft(ConversationKey::fromString(it.key()), it->text);
    if (!current.isValid() || !m_client->messages(current))
        current = m_client->openConversations().constFirst();
    setCurrentConversation(current);
}

void AppController::setCurrentConversation(const ConversationKey &key)
{
    const bool changed = !(key == m_window->currentConversation());
    m_window->showConversation(key, m_client->messages(key));
    if (changed) {
        // "New messages" where the user stopped reading, on any of their devices.
        const Protocol::ConversationState state = m_client->conversationState(key);
        const int unread = std::max(state.unread, m_client->conversations()->unreadCount(key));
        const int mentions = std::max(state.mentions, m_client->conversations()->mentionCount(key));
        // It opens where they stopped, and the badge counts down as the unread come on screen.
        m_window->setReadMarker(unread > 0 && state.readId > 0 ? state.readId : 0, unread, mentions);
        m_window->messageView()->openAtReadMarker();
    }
    if (!m_window->messageView()->isOpeningAtReadMarker() && m_window->messageView()->readMarker() == 0)
        m_client->conversations()->clearUnread(key);
    m_window->setTypingText(typingText(m_client->typingUsers(key)));
    updateMembers();
    updateHeader();
    m_window->focusComposer();
}

void AppController::closeConversation(ConversationKey key)
{
    // Closing a direct conversation only hides it (the next message brings it
    // back); leaving a room is asked once, until the user says not to ask.
    if (!key.isRoom() || !m_settings.askBeforeLeavingRooms() || !m_client->messages(key)) {
        leaveConversation(key);
        return;
    }
    auto *box = new QMessageBox(QMessageBox::Question, tr("Leave #%1?").arg(key.name),
                                tr("Leave #%1? You can rejoin from Rooms (Ctrl+J).").arg(key.name),
                                QMessageBox::Cancel, m_window);
    box->setObjectName(QStringLiteral("confirmLeave"));
    box->setTextFormat(Qt::PlainText);
    QPushButton *leave = box->addButton(tr("Leave"), QMessageBox::AcceptRole);
    box->setDefaultButton(leave);
    box->setCheckBox(new QCheckBox(tr("Don't ask again"), box));
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::finished, this, [this, box, leave, key] {
        if (box->clickedButton() != leave)
            return;
        if (box->checkBox()->isChecked())
            m_settings.setAskBeforeLeavingRooms(false);
        leaveConversation(key);
    });
    box->open();
}

void AppController::leaveConversation(const ConversationKey &key)
{
    if (!m_client->messages(key))
        return; // gone meanwhile
    if (key == m_window->currentConversation()) {
        const QList<ConversationKey> open = m_client->openConversations();
        const qsizetype position = open.indexOf(key);
        ConversationKey next;
        if (open.size() > 1)
            next = open.at(position + 1 < open.size() ? position + 1 : position - 1);
        setCurrentConversation(next);
    }
    if (key.isRoom())
        m_client->closeRoom(key.name);
    else
        m_client->closeDirect(key.name);
    saveSettings();
}

void AppController::updateMembers()
{
    const ConversationKey key = m_window->currentConversation();
    QList<User> users;
    if (key.isRoom())
        users = m_client->members(key.name);
    m_members->setSelfEmail(m_client->self().email.isEmpty() ? m_client->identity().email
                                                             : m_client->self().email);
    m_window->setSelfEmail(m_client->self().email.isEmpty() ? m_client->identity().email
                                                            : m_client->self().email);
    m_members->setMembers(users);
    m_window->setRoomManageable(key.isRoom() && m_client->isPrivateRoom(key.name) &&
                                m_client->roomOwner(key.name) == m_client->self().email);
    updateHeader();
}

void AppController::updateHeader()
{
    const ConversationKey key = m_window->currentConversation();
    QString server = m_client->serverName().isEmpty() ? m_client->serverUrl().host() : m_client->serverName();
    m_window->setServerTitle(server.isEmpty() ? tr("Natter") : server);
    if (!key.isValid())
        return;
    if (key.isRoom()) {
        const int count = int(m_client->members(key.name).size());
        m_window->setConversationHeader(u"#"_s + key.name, m_client->state() == ChatClient::State::Online
                                                               ? tr("%n member(s) online", nullptr, count)
                                                               : QString());
    } else {
        // Who it is, and whether they are here: a direct message to an email
        // nobody signed in with waits, which the header says plainly.
        QString subtitle = key.name;
        if (m_client->state() == ChatClient::State::Online) {
            if (const std::optional<Protocol::Presence> presence = m_client->presence(key.name)) {
                if (!presence->known)
                    subtitle = tr("%1 · nobody has signed in with this email here yet: messages wait until "
                                  "someone does")
                                   .arg(key.name);
                else
                    subtitle =
                        presence->online ? tr("%1 · online").arg(key.name) : tr("%1 · offline").arg(key.name);
            }
        }
        m_window->setConversationHeader(m_client->conversations()->title(key), subtitle);
    }
}

void AppController::updateStatus()
{
    using Indicator = MainWindow::ConnectionIndicator;
    const QString where =
        m_client->serverName().isEmpty() ? m_client->serverUrl().toString() : m_client->serverName();
    switch (m_client->state()) {
    case ChatClient::State::Online:
        m_statusTimer.stop();
        m_window->setConnectionSecurity(m_client->isEncrypted(),
                                        Fingerprint::display(m_client->certificateFingerprint()));
        m_window->setConnectionStatus(Indicator::Online,
                                      tr("Connected to %1 as %2").arg(where, m_client->self().name));
        break;
    case ChatClient::State::Connecting:
        m_window->setConnectionStatus(Indicator::Connecting,
                                      tr("Connecting to %1…").arg(m_client->serverUrl().toString()));
        break;
    case ChatClient::State::WaitingToReconnect: {
        m_statusTimer.start();
        const qint64 seconds = (m_client->millisecondsUntilReconnect() + 999) / 1000;
        const QString reason =
            m_client->lastError().isEmpty() ? tr("Connection lost") : m_client->lastError();
        m_window->setConnectionStatus(
            Indicator::Offline, tr("%1 — reconnecting in %n s…", nullptr, int(seconds)).arg(reason), true);
        // Joining this computer's own address while it no longer hosts the
        // chat it hosted cannot work: say what can. (Only then: for anyone
        // else, hosting would make a different, empty chat.)
        const bool ownAddress = QHostAddress(m_client->serverUrl().host()).isLoopback();
        if (ownAddress && !m_host->isRunning() && m_settings.hostedLastTime() &&
            m_client->reconnectAttempt() == 1)
            m_window->showError(tr("No chat is hosted on this computer now. To host it again: "
                                   "Chat → Switch Server…, then Host a chat on this computer."));
        break;
    }
    case ChatClient::State::Offline:
        m_statusTimer.stop();
        m_window->setConnectionStatus(
            Indicator::Offline,
            m_client->lastError().isEmpty() ? tr("Offline") : tr("Offline — %1").arg(m_client->lastError()),
            m_client->serverUrl().isValid());
        break;
    }
    updateHeader();
}

void AppController::onMessagesArrived(const ConversationKey &key, const QList<Message> &messages, bool missed)
{
    if (messages.isEmpty())
        return;
    const bool active = m_window->isActiveWindow();
    // Missed messages are in the server's count already when it keeps the conversation's marker.
    // A mention calls even in a muted conversation, and has a badge of its own.
    const QString self = m_client->identity().email;
    const auto mentionCount = std::count_if(messages.cbegin(), messages.cend(), [&](const Message &message) {
        return message.mentions.contains(self, Qt::CaseInsensitive);
    });
    const bool mentioned = mentionCount > 0;
    if (!(active && key == m_window->currentConversation()) &&
        !(missed && m_client->hasConversationState(key)))
        m_client->conversations()->incrementUnread(key, int(messages.size()), int(mentionCount));
    if (!active && m_settings.notificationsEnabled() &&
        (mentioned || !m_client->conversations()->isMuted(key))) {
        // One notification for a batch read on resume: the latest message, and how many there were.
        const Message &latest = messages.constLast();
        const QString where =
            key.isRoom() ? tr("%1 in #%2").arg(latest.from.name, key.name) : latest.from.name;
        const QString text =
            messages.size() == 1
                ? latest.text.left(200)
                : tr("%n new message(s): %1", nullptr, int(messages.size())).arg(latest.text.left(200));
        if (m_tray->isAvailable())
            m_tray->notify(where, text);
        else
            QApplication::alert(m_window);
        Q_EMIT notified(where, text);
    }
}

void AppController::showMessage(const ConversationKey &key, qint64 id)
{
    if (!m_client->messages(key) || id <= 0)
        return;
    if (!(key == m_window->currentConversation()))
        setCurrentConversation(key);
    if (!m_client->showMessage(key, id))
        m_window->showError(tr("That message is not loaded, and Natter is offline."));
}

void AppController::onConversationStateChanged(const ConversationKey &key)
{
    // Another device read or muted it (or this one did): the sidebar follows.
    if (!m_client->hasConversationState(key))
        return;
    const Protocol::ConversationState state = m_client->conversationState(key);
    ConversationListModel *conversations = m_client->conversations();
    const bool reading = m_window->isActiveWindow() && key == m_window->currentConversation();
    // The conversation shown since the app started, before the server said where the user stopped.
    if (key == m_window->currentConversation() && m_window->messageView()->readMarker() == 0 &&
        state.unread > 0) {
        m_window->setReadMarker(state.readId, state.unread, state.mentions);
        m_window->messageView()->openAtReadMarker();
    }
    if (reading)
        conversations->setUnreadCount(key, m_window->messageView()->unseenCount(),
                                      m_window->messageView()->unseenMentionCount());
    else
        conversations->setUnreadCount(key, state.unread, state.mentions);
    if (conversations->isMuted(key) != state.muted) {
        conversations->setMuted(key, state.muted);
        if (m_client->serverUrl().isValid())
            m_settings.setMutedConversations(m_client->serverUrl(), conversations->mutedKeys());
    }
}

QString AppController::personEmail(const QString &name) const
{
    // Whom "from:name" means: an email as is, else someone in an open
    // conversation by name (whole name first, then its beginning).
    if (name.contains(u'@'))
        return Validation::normalizedEmail(name);
    QList<User> known;
    for (const ConversationKey &key : m_client->openConversations()) {
        if (key.isRoom())
            known += m_client->members(key.name);
        else
            known.append(User{m_client->conversations()->title(key), key.name});
    }
    known.append(m_client->identity());
    for (const User &user : std::as_const(known)) {
        if (user.name.compare(name, Qt::CaseInsensitive) == 0)
            return user.email;
    }
    for (const User &user : std::as_const(known)) {
        if (user.name.startsWith(name, Qt::CaseInsensitive) ||
            user.email.section(u'@', 0, 0).compare(name, Qt::CaseInsensitive) == 0)
            return user.email;
    }
    return {};
}

QUrl AppController::messageLink(const ConversationKey &key, qint64 id)
{
    QUrl url;
    url.setScheme(u"natter"_s);
    url.setPath(u"message"_s);
    QUrlQuery query;
    query.addQueryItem(key.isRoom() ? u"room"_s : u"with"_s, key.name);
    query.addQueryItem(u"id"_s, QString::number(id));
    url.setQuery(query);
    return url;
}

void AppController::saveDrafts()
{
    if (!m_client->serverUrl().isValid())
        return;
    QHash<QString, QByteArray> drafts;
    const QHash<QString, ComposerBar::Draft> kept = m_window->drafts();
    for (auto it = kept.cbegin(); it != kept.cend(); ++it)
        drafts.insert(it.key(), it->toJson());
    m_settings.setDrafts(m_client->serverUrl(), drafts);
}

void AppController::saveOutbox()
{
    if (!m_client->serverUrl().isValid())
        return;
    m_settings.setOutbox(m_client->serverUrl(), m_client->allOutgoing());
    m_settings.sync();
}

void AppController::saveSettings()
{
    if (m_client->serverUrl().isValid()) {
        QList<AppSettings::OpenConversation> open;
        for (const ConversationKey &key : m_client->openConversations())
            open.append({key, key.isRoom() ? QString() : m_client->conversations()->title(key)});
        m_settings.setOpenConversations(m_client->serverUrl(), open);
        m_settings.setOutbox(m_client->serverUrl(), m_client->allOutgoing());
        m_settings.setCurrentConversation(m_client->serverUrl(), m_window->currentConversation().toString());
        saveDrafts();
    }
    m_settings.setWindowGeometry(m_window->saveGeometry());
    m_settings.sync();
}

QString AppController::typingText(const QStringList &names)
{
    switch (names.size()) {
    case 0:
        return {};
    case 1:
        return tr("%1 is typing…").arg(names.at(0));
    case 2:
        return tr("%1 and %2 are typing…").arg(names.at(0), names.at(1));
    default:
        return tr("Several people are typing…");
    }
}

} // namespace Natter

namespace Natter {

FileCache AppController::fileCache() const
{
    // One folder per settings profile and chat: file ids mean something in
    // one chat only (its id, which a replaced database changes; else its address).
    const QString profile = QFileInfo(m_settings.fileName()).completeBaseName();
    const QString chat =
        m_client->serverId().isEmpty() ? serverKey(m_client->serverUrl()) : m_client->serverId();
    const QString server = QString::fromLatin1(
        QCryptographicHash::hash(chat.toUtf8(), QCryptographicHash::Sha1).toHex().left(16));
    return FileCache(QStandardPaths::writableLocation(QStandardPaths::CacheLocation) + u'/' + profile + u'/' +
                     server);
}

ImageViewer *AppController::imageViewer(qint64 fileId) const
{
    return m_viewers.value(fileId);
}

void AppController::wireFiles()
{
    m_images = new AttachmentImages(this);
    m_window->setAttachmentImages(m_images);
    connect(m_window, &MainWindow::filesAttached, this, &AppController::shareFiles);
    connect(m_window, &MainWindow::imageAttached, this, &AppController::shareImage);
    connect(m_window, &MainWindow::attachmentActionRequested, this, &AppController::onAttachmentAction);
    FileTransferClient *files = m_client->files();
    connect(m_images, &AttachmentImages::thumbnailNeeded, this, [this, files](qint64 id) {
        const FileCache cache = fileCache();
        const QString path = cache.thumbnailPath(id);
        if (QFile file(path); file.open(QIODevice::ReadOnly)) {
            m_images->setThumbnail(id, file.readAll());
            return;
        }
        if (!cache.prepare(path) || m_thumbnailDownloads.contains(id))
            return;
        m_thumbnailDownloads.insert(id);
        files->download(Attachment{id, u"thumbnail"_s, 0, {}, {}, {}}, path);
    });
    connect(m_images, &AttachmentImages::animationNeeded, this, [this](const Attachment &attachment) {
        const FileCache cache = fileCache();
        if (cache.existing(attachment).isEmpty() && cache.prepare(cache.pathFor(attachment)))
            m_client->downloadFile(attachment, cache.pathFor(attachment));
    });
    connect(files, &FileTransferClient::thumbnailUploaded, this,
            [this](const QString &, qint64 id, const QByteArray &data) {
                // The sender's own thumbnail never makes the round trip.
                const FileCache cache = fileCache();
                const QString path = cache.thumbnailPath(id);
                if (cache.prepare(path)) {
                    QFile file(path);
                    if (file.open(QIODevice::WriteOnly, QFileDevice::ReadOwner | QFileDevice::WriteOwner))
                        file.write(data);
                }
                m_images->setThumbnail(id, data);
            });
    connect(files, &FileTransferClient::downloadFinished, this, [this](qint64 id, const QString &path) {
        if (!m_thumbnailDownloads.remove(id))
            return;
        if (QFile file(path); file.open(QIODevice::ReadOnly))
            m_images->setThumbnail(id, file.readAll());
    });
    connect(files, &FileTransferClient::downloadFailed, this, [this](qint64 id, const QString &message) {
        if (m_thumbnailDownloads.remove(id))
            qCInfo(lcNatterClientDesktop).noquote() << "thumbnail" << id << "not downloaded:" << message;
        m_openWhenDownloaded.remove(id);
        m_saveWhenDownloaded.remove(id);
        if (ImageViewer *viewer = m_viewers.value(id))
            viewer->setError(message);
    });
    connect(files, &FileTransferClient::downloadProgress, this,
            [this](qint64 id, qint64 received, qint64 total) {
                if (ImageViewer *viewer = m_viewers.value(id))
                    viewer->setProgress(received, total);
            });
    connect(m_client, &ChatClient::fileDownloaded, this, &AppController::onFileDownloaded);
    connect(m_client, &ChatClient::fileShared, this, [this](qint64 fileId, const QString &path) {
        if (m_client->serverUrl().isValid())
            m_settings.addSharedFile(m_client->serverUrl(), fileId, path);
    });
}

void AppController::shareFiles(const ConversationKey &key, const QStringList &paths, const QString &caption)
{
    // At the bottom of the conversation, as with a message; each file its own message.
    m_client->showLatest(key);
    int shared = 0;
    for (qsizetype i = 0; i < paths.size(); ++i)
        shared += m_client->sendFile(key, paths.at(i), i == 0 ? caption : QString()).isEmpty() ? 0 : 1;
    if (shared > 0)
        m_window->scrollToBottom();
}

QString AppController::shareImage(const ConversationKey &key, const QImage &image, const QString &caption)
{
    const FileCache cache = fileCache();
    const QString name =
        tr("Pasted image %1.png").arg(QDateTime::currentDateTime().toString(u"yyyy-MM-dd HH.mm.ss"_s));
    const QString path = cache.pastedImagePath(name);
    QSaveFile file(path);
    if (!cache.prepare(path) || !file.open(QIODevice::WriteOnly) || !image.save(&file, "PNG") ||
        !file.commit()) {
        m_window->showError(
            tr("The pasted image could not be saved for sending: %1").arg(file.errorString()));
        return {};
    }
    QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    m_client->showLatest(key);
    const QString clientId = m_client->sendFile(key, path, caption);
    if (!clientId.isEmpty())
        m_window->scrollToBottom();
    return clientId;
}

QString AppController::localCopy(const ConversationKey &key, const Attachment &attachment) const
{
    if (MessageListModel *model = m_client->messages(key)) {
        const QString known = model->downloadTransfer(attachment.fileId).localPath;
        if (!known.isEmpty() && QFileInfo(known).size() == attachment.size)
            return known;
    }
    return fileCache().existing(attachment);
}

void AppController::openAttachment(const ConversationKey &key, const Message &message)
{
    const Attachment &attachment = message.attachment;
    if (!attachment.isValid())
        return;
    const QString local = localCopy(key, attachment);
    if (attachment.isImage()) {
        ImageViewer *viewer = m_viewers.value(attachment.fileId);
        if (!viewer) {
            viewer = new ImageViewer(attachment.name, m_window);
            viewer->setObjectName(u"imageViewer"_s);
            m_viewers.insert(attachment.fileId, viewer);
            connect(viewer, &ImageViewer::saveAsRequested, this,
                    [this, key, attachment] { saveAttachmentAs(key, attachment); });
            connect(viewer, &QObject::destroyed, this,
                    [this, id = attachment.fileId] { m_viewers.remove(id); });
            // The thumbnail at once, the image itself when it is here.
            if (QFile file(fileCache().thumbnailPath(attachment.image.thumbnailId));
                attachment.image.thumbnailId > 0 && file.open(QIODevice::ReadOnly)) {
                // Someone else's bytes: decoded only within a thumbnail's bounds.
                QBuffer buffer;
                buffer.setData(file.readAll());
                buffer.open(QIODevice::ReadOnly);
                QImageReader reader(&buffer);
                const QSize limit(Protocol::MaxThumbnailSide, Protocol::MaxThumbnailSide);
                viewer->setPreview(SafeImage::read(reader, limit, limit).image,
                                   QSize(attachment.image.width, attachment.image.height));
            }
        }
        if (!local.isEmpty()) {
            viewer->setImagePath(local);
        } else {
            const FileCache cache = fileCache();
            if (cache.prepare(cache.pathFor(attachment)))
                m_client->downloadFile(attachment, cache.pathFor(attachment));
            viewer->setProgress(0, attachment.size);
        }
        viewer->show();
        viewer->raise();
        viewer->activateWindow();
        return;
    }
    if (!local.isEmpty()) {
        openFile(attachment, local);
        return;
    }
    const FileCache cache = fileCache();
    if (!cache.prepare(cache.pathFor(attachment))) {
        m_window->showError(tr("%1 cannot be written.").arg(QDir::toNativeSeparators(cache.folder())));
        return;
    }
    m_openWhenDownloaded.insert(attachment.fileId);
    m_client->downloadFile(attachment, cache.pathFor(attachment));
}

void AppController::onAttachmentAction(const ConversationKey &key, MessageDelegate::AttachmentAction action,
                                       const Message &message)
{
    switch (action) {
    case MessageDelegate::AttachmentAction::Open:
        openAttachment(key, message);
        break;
    case MessageDelegate::AttachmentAction::ShowInFolder:
        if (const QString local = localCopy(key, message.attachment); !local.isEmpty())
            m_openUrl(QUrl::fromLocalFile(QFileInfo(local).absolutePath()));
        break;
    case MessageDelegate::AttachmentAction::Cancel:
        if (message.isStored()) {
            m_openWhenDownloaded.remove(message.attachment.fileId);
            m_saveWhenDownloaded.remove(message.attachment.fileId);
            m_client->cancelDownload(message.attachment.fileId);
        } else {
            m_client->cancelUpload(key, message.clientId);
        }
        break;
    case MessageDelegate::AttachmentAction::SaveAs:
        saveAttachmentAs(key, message.attachment);
        break;
    }
}

void AppController::saveAttachmentAs(const ConversationKey &key, const Attachment &attachment)
{
    // The sender's name is a suggestion only: no folders, no "..", nothing
    // the file system would take for something else. The dialog asks before
    // replacing a file.
    const QString folder = QStandardPaths::writableLocation(QStandardPaths::DownloadLocation);
    const QString target =
        QFileDialog::getSaveFileName(m_window, tr("Save “%1” As").arg(attachment.name),
                                     folder + u'/' + Validation::safeFileName(attachment.name));
    if (target.isEmpty())
        return;
    if (const QString local = localCopy(key, attachment); !local.isEmpty()) {
        QFile::remove(target);
        if (!QFile::copy(local, target)) {
            m_window->showError(tr("%1 cannot be written.").arg(QDir::toNativeSeparators(target)));
            return;
        }
        QFile::setPermissions(target, QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                          QFileDevice::ReadGroup | QFileDevice::ReadOther);
        m_window->statusBar()->showMessage(tr("Saved as %1").arg(QDir::toNativeSeparators(target)), 5000);
        return;
    }
    if (m_client->files()->isDownloading(attachment.fileId)) {
        m_window->showError(tr("%1 is being downloaded: save it once it is here.").arg(attachment.name));
        return;
    }
    m_saveWhenDownloaded.insert(attachment.fileId, target);
    m_client->downloadFile(attachment, target);
}

void AppController::onFileDownloaded(const Attachment &attachment, const QString &path)
{
    if (const QString target = m_saveWhenDownloaded.take(attachment.fileId); !target.isEmpty()) {
        // Saved where the user said: theirs to share, as any file they make.
        QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                        QFileDevice::ReadGroup | QFileDevice::ReadOther);
        m_window->statusBar()->showMessage(tr("Saved as %1").arg(QDir::toNativeSeparators(path)), 5000);
    } else {
        fileCache().trim(path);
    }
    if (ImageViewer *viewer = m_viewers.value(attachment.fileId))
        viewer->setImagePath(path);
    if (m_openWhenDownloaded.remove(attachment.fileId))
        openFile(attachment, path);
}

void AppController::openFile(const Attachment &attachment, const QString &path)
{
    // Someone else's program, script or desktop entry runs when "opened":
    // never without the user saying so.
    if (FileCache::isRunnable(path)) {
        // The name is the sender's words: shown as plain text, isolated.
        QMessageBox *box = PlainText::openProgramQuestion(m_window, attachment.name);
        box->setAttribute(Qt::WA_DeleteOnClose);
        connect(box, &QMessageBox::finished, this, [this, box, attachment, path] {
            if (box->standardButton(box->clickedButton()) != QMessageBox::Open) {
                m_openUrl(QUrl::fromLocalFile(QFileInfo(path).absolutePath()));
                return;
            }
            openWithDesktop(attachment, path);
        });
        box->open();
        return;
    }
    openWithDesktop(attachment, path);
}

void AppController::openWithDesktop(const Attachment &attachment, const QString &path)
{
    if (m_openUrl(QUrl::fromLocalFile(path)))
        return;
    // Nothing here opens this kind of file: say so, and offer its folder.
    auto *box = new QMessageBox(QMessageBox::Information, tr("No Program for This File"),
                                tr("No program on this computer opens “%1”. You can open its folder and "
                                   "choose one there.")
                                    .arg(PlainText::isolated(attachment.name)),
                                QMessageBox::Close, m_window);
    box->setObjectName(QStringLiteral("noProgram"));
    box->setTextFormat(Qt::PlainText); // the name is the sender's words
    QPushButton *folder = box->addButton(tr("Show in Folder"), QMessageBox::AcceptRole);
    box->setDefaultButton(folder);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::finished, this, [this, box, folder, path] {
        if (box->clickedButton() == folder)
            m_openUrl(QUrl::fromLocalFile(QFileInfo(path).absolutePath()));
    });
    box->open();
}

} // namespace Natter
