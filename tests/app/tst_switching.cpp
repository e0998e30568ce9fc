// Sequences of actions as a person does them in the desktop app: open a few
// conversations, switch between them every way the window offers, close the
// current one, reconnect — and check after each step that everything shown
// belongs to the same, current conversation.
#include "app/appcontroller.h"
#include "tests/app/memorycredentialstore.h"
#include "tests/support/testserver.h"
#include "ui/composer.h"
#include "ui/conversationview.h"
#include "ui/directorydialog.h"
#include "ui/mainwindow.h"
#include "ui/passworddialog.h"

#include "tests/support/testclient.h"

#include <QAction>
#include <QApplication>
#include <QIcon>
#include <QInputDialog>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QScreen>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

using namespace Natter;
using namespace Qt::StringLiterals;
using State = ChatClient::State;

namespace {

QAction *actionWithShortcut(QWidget *window, const QKeySequence &shortcut)
{
    const QList<QAction *> actions = window->findChildren<QAction *>();
    for (QAction *action : actions) {
        if (action->shortcut() == shortcut)
            return action;
    }
    return nullptr;
}

/// The keys of the sidebar's highlighted rows, over both lists.
QStringList highlightedKeys(MainWindow *window)
{
    QStringList keys;
    for (QListView *list : {window->roomList(), window->directList()}) {
        const QModelIndexList selected = list->selectionModel()->selectedIndexes();
        for (const QModelIndex &index : selected)
            keys.append(index.data(ConversationListModel::KeyRole).toString());
    }
    return keys;
}

/// The keys of the rows that look highlighted in what the window last
/// painted (the screen's copy, not a fresh render).
QStringList highlightedOnScreen(MainWindow *window)
{
    QCoreApplication::processEvents(); // the paints that updates asked for
    const QImage shot = window->screen()->grabWindow(window->winId()).toImage();
    const qreal ratio = shot.devicePixelRatio();
    QStringList keys;
    for (QListView *list : {window->roomList(), window->directList()}) {
        const QColor active = list->palette().color(QPalette::Active, QPalette::Highlight);
        const QColor inactive = list->palette().color(QPalette::Inactive, QPalette::Highlight);
        for (int row = 0; row < list->model()->rowCount(); ++row) {
            const QModelIndex index = list->model()->index(row, 0);
            const QRect rect = list->visualRect(index);
            const QPoint point = list->viewport()->mapTo(window, QPoint(rect.left() + 2, rect.center().y()));
            const QColor pixel = shot.pixelColor(point * ratio);
            if (pixel == active || pixel == inactive)
                keys.append(index.data(ConversationListModel::KeyRole).toString());
        }
    }
    return keys;
}

/// Whether what the screen shows of widget is what it would paint now:
/// false means it was changed without being repainted.
bool screenIsUpToDate(MainWindow *window, QWidget *widget)
{
    QCoreApplication::processEvents();
    const QImage shot = window->screen()->grabWindow(window->winId()).toImage();
    const qreal ratio = shot.devicePixelRatio();
    const QRect area(widget->mapTo(window, QPoint(0, 0)) * ratio, widget->size() * ratio);
    const QImage onScreen = shot.copy(area).convertToFormat(QImage::Format_RGB32);
    QImage fresh = widget->grab().toImage().convertToFormat(QImage::Format_RGB32);
    return onScreen == fresh;
}

/// Triggers the action called text of the next context menu that opens.
void chooseFromNextMenu(const QString &text)
{
    QTimer::singleShot(0, qApp, [text] {
        auto *menu = qobject_cast<QMenu *>(QApplication::activePopupWidget());
        QVERIFY(menu);
        const QList<QAction *> actions = menu->actions();
        for (QAction *action : actions) {
            if (action->text() == text) {
                action->trigger();
                menu->close();
                return;
            }
        }
        menu->close();
        QFAIL(qPrintable(u"no menu entry "_s + text));
    });
}

QModelIndex sidebarRow(QListView *list, const ConversationKey &key)
{
    for (int row = 0; row < list->model()->rowCount(); ++row) {
        const QModelIndex index = list->model()->index(row, 0);
        if (index.data(ConversationListModel::KeyRole).toString() == key.toString())
            return index;
    }
    return {};
}

} // namespace

class TestSwitching final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void closingTheCurrentConversationClosesThatOne_data();
    void closingTheCurrentConversationClosesThatOne();
    void everythingFollowsTheCurrentConversation();
    void messagesMissedWhileAwayCountAsUnread();
    void anOldErrorGoesWithItsConversation();
    void aDirectHeaderShowsTheNameOnceKnown();
    void aDifferentChatAtTheSameAddressIsNotMixedIn();
    void aDirectMessageToAnUnknownEmailSaysSo();
    void directConversationsShowPresenceAndTyping();
    void nobodyShowsOnlineWhileDisconnected();
    void joinsOrCreatesARoomByKeyboardAlone();
    void writesToSomeoneByKeyboardAlone();
    void theSidebarShowsLastMessagesByActivity();

private:
    /// Alice's app in #general, #design and #history (in that order), online.
    std::unique_ptr<AppController> startInThreeRooms();
    /// Checks that title, messages, highlight, placeholder and settings all show key.
    void verifyShowing(AppController *controller, const ConversationKey &key);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<TestServer> m_server;
};

void TestSwitching::init()
{
    QApplication::setCursorFlashTime(0); // a steady cursor: screen and fresh paint agree
    m_dir = std::make_unique<QTemporaryDir>();
    m_server = std::make_unique<TestServer>();
    QVERIFY(m_server->start());
}

void TestSwitching::cleanup()
{
    m_server.reset();
    m_dir.reset();
}

std::unique_ptr<AppController> TestSwitching::startInThreeRooms()
{
    ClientOptions options;
    options.server = m_server->url();
    options.identity = User{u"Alice"_s, u"alice@example.org"_s};
    options.room = u"general"_s;
    options.discovery = false;
    options.password = TestClient::defaultPassword();
    auto controller = std::make_unique<AppController>(AppSettings::fromFile(m_dir->filePath(u"natter.ini"_s)),
                                                      options, std::make_unique<MemoryCredentialStore>());
    if (!controller->start())
        return nullptr;
    MainWindow *window = controller->window();
    if (!QTest::qWaitFor([&] { return controller->client()->state() == State::Online; }))
        return nullptr;
    Q_EMIT window->joinRoomRequested(u"design"_s);
    Q_EMIT window->joinRoomRequested(u"history"_s);
    const bool joined = QTest::qWaitFor([&] {
        for (const QString &room : {u"general"_s, u"design"_s, u"history"_s}) {
            if (controller->client()->members(room).isEmpty())
                return false;
        }
        return true;
    });
    return joined ? std::move(controller) : nullptr;
}

void TestSwitching::verifyShowing(AppController *controller, const ConversationKey &key)
{
    MainWindow *window = controller->window();
    const QString title =
        key.isRoom() ? u"#"_s + key.name : controller->client()->conversations()->title(key);
    QCOMPARE(window->currentConversation(), key);
    QVERIFY2(window->windowTitle().startsWith(title), qPrintable(window->windowTitle()));
    QCOMPARE(window->messageView()->model()->rowCount(), controller->client()->messages(key)->rowCount());
    QCOMPARE(highlightedKeys(window), QStringList{key.toString()});
    QCOMPARE(highlightedOnScreen(window), QStringList{key.toString()});
    QVERIFY2(screenIsUpToDate(window, window->composer()), "the composer shows an old placeholder");
    // A room by its name; a person by theirs, not their email.
    QVERIFY2(window->composer()->placeholderText().contains(key.isRoom() ? key.name : title),
             qPrintable(window->composer()->placeholderText()));
    controller->saveSettings();
    QCOMPARE(controller->settings().currentConversation(controller->client()->serverUrl()), key.toString());
}

void TestSwitching::closingTheCurrentConversationClosesThatOne_data()
{
    QTest::addColumn<QString>("choose");
    QTest::addColumn<QString>("close");
    for (const char *choose : {"click", "Ctrl+2", "Alt+Up", "Alt+Down"}) {
        for (const char *close : {"Ctrl+W", "context menu"})
            QTest::addRow("%s, %s", choose, close)
                << QString::fromLatin1(choose) << QString::fromLatin1(close);
    }
}

void TestSwitching::closingTheCurrentConversationClosesThatOne()
{
    QFETCH(QString, choose);
    QFETCH(QString, close);
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    MainWindow *window = controller->window();
    const ConversationKey design = ConversationKey::room(u"design"_s);

    // Into #design, the middle one.
    if (choose == u"click"_s) {
        const QModelIndex row = sidebarRow(window->roomList(), design);
        QVERIFY(row.isValid());
        QTest::mouseClick(window->roomList()->viewport(), Qt::LeftButton, {},
                          window->roomList()->visualRect(row).center());
    } else if (choose == u"Ctrl+2"_s) {
        actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_2))->trigger();
    } else if (choose == u"Alt+Up"_s) {
        Q_EMIT window->conversationSelected(ConversationKey::room(u"history"_s));
        actionWithShortcut(window, QKeySequence(Qt::ALT | Qt::Key_Up))->trigger();
    } else {
        Q_EMIT window->conversationSelected(ConversationKey::room(u"general"_s));
        actionWithShortcut(window, QKeySequence(Qt::ALT | Qt::Key_Down))->trigger();
    }
    verifyShowing(controller.get(), design);

    if (close == u"Ctrl+W"_s) {
        actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_W))->trigger();
        // Leaving a room by a key asks first.
        auto *question = window->findChild<QMessageBox *>(u"confirmLeave"_s);
        QVERIFY(question);
        for (QAbstractButton *button : question->buttons()) {
            if (question->buttonRole(button) == QMessageBox::AcceptRole)
                button->click();
        }
    } else { // chosen from the menu: said already
        const QModelIndex row = sidebarRow(window->roomList(), design);
        chooseFromNextMenu(MainWindow::tr("Leave room"));
        Q_EMIT window->roomList()->customContextMenuRequested(window->roomList()->visualRect(row).center());
    }

    // #design is gone; the other two are open and one of them is shown, all of it.
    const QList<ConversationKey> open = controller->client()->openConversations();
    QVERIFY(!open.contains(design));
    QVERIFY(open.contains(ConversationKey::room(u"general"_s)));
    QVERIFY(open.contains(ConversationKey::room(u"history"_s)));
    const ConversationKey now = window->currentConversation();
    QVERIFY(open.contains(now));
    verifyShowing(controller.get(), now);
    QTRY_VERIFY(!controller->client()->members(now.name).isEmpty());
    QTRY_VERIFY2(window->conversationSubtitle().contains(u"1"_s), qPrintable(window->conversationSubtitle()));

    // What used to crash: the view scrolls over the messages it shows.
    window->resize(window->width(), window->height() - 50);
    window->messageView()->verticalScrollBar()->setValue(0);
    QCoreApplication::processEvents();
    verifyShowing(controller.get(), now);
}

void TestSwitching::everythingFollowsTheCurrentConversation()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    MainWindow *window = controller->window();
    // A direct conversation too, from the member list, so that both lists are used.
    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {u"general"_s}));
    const ConversationKey general = ConversationKey::room(u"general"_s);
    Q_EMIT window->conversationSelected(general);
    QTRY_COMPARE(controller->client()->members(u"general"_s).size(), 2);
    Q_EMIT window->directMessageRequested(u"bob@example.org"_s, u"Bob"_s);
    const ConversationKey direct = ConversationKey::direct(u"bob@example.org"_s);
    verifyShowing(controller.get(), direct);

    // Every way of switching, one after another, in both lists.
    Q_EMIT window->conversationSelected(ConversationKey::room(u"history"_s));
    verifyShowing(controller.get(), ConversationKey::room(u"history"_s));
    actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_1))->trigger();
    verifyShowing(controller.get(), general);
    actionWithShortcut(window, QKeySequence(Qt::ALT | Qt::Key_Up))->trigger();
    verifyShowing(controller.get(), direct); // wraps around to the last row of the sidebar
    actionWithShortcut(window, QKeySequence(Qt::ALT | Qt::Key_Down))->trigger();
    verifyShowing(controller.get(), general);
    actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_4))->trigger();
    verifyShowing(controller.get(), direct);
    actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_3))->trigger();
    verifyShowing(controller.get(), ConversationKey::room(u"history"_s));
}

void TestSwitching::messagesMissedWhileAwayCountAsUnread()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    ChatClient *client = controller->client();
    const ConversationKey general = ConversationKey::room(u"general"_s);
    const ConversationKey design = ConversationKey::room(u"design"_s);
    controller->setCurrentConversation(general);
    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {u"design"_s}));
    bob.send(Protocol::SendMessage{u"design"_s, {}, u"before you left"_s, u"b-0"_s});
    QTRY_COMPARE(client->messages(design)->rowCount(), 1);
    QCOMPARE(client->conversations()->unreadCount(design), 1);
    client->conversations()->clearUnread(design);

    // Away (a dropped connection); Bob writes three more; back again.
    client->disconnectFromServer();
    for (int i = 1; i <= 3; ++i)
        bob.send(
            Protocol::SendMessage{u"design"_s, {}, u"while you were away %1"_s.arg(i), u"b-%1"_s.arg(i)});
    QVERIFY(bob.waitFor<Protocol::ReceiveMessage>());
    client->connectToServer(m_server->url());
    QTRY_COMPARE(client->messages(design)->rowCount(), 4);
    QCOMPARE(client->conversations()->unreadCount(design), 3);
    QCOMPARE(client->conversations()->unreadCount(general), 0);
}

void TestSwitching::anOldErrorGoesWithItsConversation()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    MainWindow *window = controller->window();
    controller->setCurrentConversation(ConversationKey::room(u"design"_s));
    window->showError(u"That message was too long."_s);
    QVERIFY(!window->errorText().isEmpty());
    actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_1))->trigger();
    QCOMPARE(window->currentConversation(), ConversationKey::room(u"general"_s));
    QCOMPARE(window->errorText(), QString());
}

void TestSwitching::aDirectHeaderShowsTheNameOnceKnown()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    MainWindow *window = controller->window();
    // Started by email, before Bob was ever seen: the header can only say the email.
    Q_EMIT window->directMessageRequested(u"bob@example.org"_s, QString());
    const ConversationKey direct = ConversationKey::direct(u"bob@example.org"_s);
    QCOMPARE(window->currentConversation(), direct);
    QVERIFY(window->windowTitle().startsWith(u"bob@example.org"_s));

    TestClient bob;
    QVERIFY(bob.open(m_server->port()));
    QVERIFY(bob.hello(u"Bob Jones"_s, u"bob@example.org"_s));
    bob.send(Protocol::SendMessage{{}, u"alice@example.org"_s, u"hi!"_s, u"b-1"_s});
    QTRY_COMPARE(controller->client()->messages(direct)->rowCount(), 1);
    QTRY_VERIFY2(window->windowTitle().startsWith(u"Bob Jones"_s), qPrintable(window->windowTitle()));
}

void TestSwitching::aDifferentChatAtTheSameAddressIsNotMixedIn()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    ChatClient *client = controller->client();
    MainWindow *window = controller->window();
    const ConversationKey general = ConversationKey::room(u"general"_s);
    controller->setCurrentConversation(general);
    client->sendMessage(general, u"said in the first chat"_s);
    QTRY_COMPARE(client->messages(general)->storedCount(), 1);
    const QString firstId = controller->settings().serverId(AppController::serverKey(m_server->url()));
    QCOMPARE(firstId.size(), 32);

    // The first chat goes; another one, with its own history, comes up at the same address.
    const quint16 port = m_server->port();
    m_server.reset();
    QTRY_COMPARE(client->state(), State::WaitingToReconnect);
    client->sendMessage(general, u"written while it was gone"_s);
    ServerConfig config = TestServer::defaultConfig();
    config.port = port;
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    {
        // Someone in the other chat, with a message of its own in #general.
        TestClient carol;
        QVERIFY(carol.open(port));
        QVERIFY(carol.hello(u"Carol"_s, u"carol@example.org"_s));
        QVERIFY(carol.join(u"general"_s));
        carol.send(Protocol::SendMessage{u"general"_s, {}, u"said in the second chat"_s, u"c-1"_s});
        QVERIFY(carol.waitFor<Protocol::ReceiveMessage>());
    }
    // Its token means nothing there: the app asks for the password; given, the chat answers...
    PasswordDialog *password = nullptr;
    QTRY_VERIFY((password = window->findChild<PasswordDialog *>(u"passwordDialog"_s)));
    QVERIFY(!password->isNewAccount()); // refused token: someone who has an account
    password->passwordField()->setText(TestClient::defaultPassword());
    password->accept();
    // ...and it is not the one Alice knew: nothing is resumed, sent or shown from it.
    QMessageBox *warning = nullptr;
    QTRY_VERIFY((warning = window->findChild<QMessageBox *>(u"differentChat"_s)));
    QCOMPARE(client->state(), State::Offline);
    QCOMPARE(client->messages(general)->storedCount(), 1);
    QCOMPARE(client->messages(general)->messageAt(0).text, u"said in the first chat"_s);
    QCOMPARE(client->allOutgoing().size(), 1);
    QVERIFY(warning->informativeText().contains(u"unsent"_s));
    QVERIFY(!window->errorText().isEmpty());

    // Joining it instead: the window starts over with the second chat's history only.
    QPushButton *join = nullptr;
    for (QAbstractButton *button : warning->buttons()) {
        if (warning->buttonRole(button) == QMessageBox::DestructiveRole)
            join = qobject_cast<QPushButton *>(button);
    }
    QVERIFY(join);
    join->click();
    QTRY_COMPARE(client->state(), State::Online);
    QTRY_COMPARE(client->messages(general)->rowCount(), 1);
    QCOMPARE(client->messages(general)->messageAt(0).text, u"said in the second chat"_s);
    QCOMPARE(client->allOutgoing().size(), 0);
    const QString secondId = controller->settings().serverId(AppController::serverKey(m_server->url()));
    QVERIFY(secondId != firstId);
    QCOMPARE(secondId, client->serverId());
}

void TestSwitching::aDirectMessageToAnUnknownEmailSaysSo()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    MainWindow *window = controller->window();
    Q_EMIT window->directMessageRequested(u"bob@exampel.org"_s, QString()); // a typo
    QTRY_VERIFY2(window->conversationSubtitle().contains(u"nobody has signed in with this email"_s),
                 qPrintable(window->conversationSubtitle()));
    // Still allowed, clearly: the message is kept for whoever signs in with it.
    controller->client()->sendMessage(ConversationKey::direct(u"bob@exampel.org"_s), u"hello?"_s);
    QTRY_COMPARE(controller->client()->messages(ConversationKey::direct(u"bob@exampel.org"_s))->storedCount(),
                 1);
}

void TestSwitching::directConversationsShowPresenceAndTyping()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    MainWindow *window = controller->window();
    auto bob = std::make_unique<TestClient>();
    QVERIFY(bob->open(m_server->port()));
    QVERIFY(bob->hello(u"Bob"_s, u"bob@example.org"_s));
    Q_EMIT window->directMessageRequested(u"bob@example.org"_s, u"Bob"_s);
    QTRY_VERIFY2(window->conversationSubtitle().contains(MainWindow::tr("online")) ||
                     window->conversationSubtitle().endsWith(u"online"_s),
                 qPrintable(window->conversationSubtitle()));

    bob->send(Protocol::TypingRequest{{}, true, u"alice@example.org"_s});
    QTRY_COMPARE(window->typingLabel()->text(), AppController::typingText({u"Bob"_s}));
    // Typing shows where it happens only.
    Q_EMIT window->conversationSelected(ConversationKey::room(u"general"_s));
    QCOMPARE(window->typingLabel()->text(), QString());
    Q_EMIT window->conversationSelected(ConversationKey::direct(u"bob@example.org"_s));
    QCOMPARE(window->typingLabel()->text(), AppController::typingText({u"Bob"_s}));

    bob.reset(); // Bob leaves: away, and no longer typing
    QTRY_VERIFY2(window->conversationSubtitle().endsWith(u"offline"_s),
                 qPrintable(window->conversationSubtitle()));
    QCOMPARE(window->typingLabel()->text(), QString());
}

void TestSwitching::nobodyShowsOnlineWhileDisconnected()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    MainWindow *window = controller->window();
    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {u"general"_s}));
    Q_EMIT window->conversationSelected(ConversationKey::room(u"general"_s));
    QTRY_COMPARE(window->memberList()->model()->rowCount(), 2);

    controller->client()->disconnectFromServer();
    QCOMPARE(window->memberList()->model()->rowCount(), 0);
    QCOMPARE(window->conversationSubtitle(), QString());

    controller->client()->connectToServer(m_server->url());
    QTRY_COMPARE(window->memberList()->model()->rowCount(), 2);
}

void TestSwitching::joinsOrCreatesARoomByKeyboardAlone()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    MainWindow *window = controller->window();
    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {u"dev"_s}));
    QVERIFY(bob.join(u"devops"_s));

    // Ctrl+J, type, Down, Enter.
    actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_J))->trigger();
    DirectoryDialog *dialog = window->directoryDialog();
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->list()->model()->rowCount() >= 5); // every room, at first
    QTest::keyClicks(dialog->searchEdit(), u"dev"_s);
    QTRY_COMPARE(dialog->list()->model()->rowCount(), 2);
    QCOMPARE(dialog->list()->model()->index(0, 0).data(DirectoryDialog::KeyRole).toString(), u"dev"_s);
    QVERIFY(dialog->list()->model()->index(0, 0).data().toString().contains(u"1 online"_s));
    QTest::keyClick(dialog->searchEdit(), Qt::Key_Down);
    QTest::keyClick(dialog->searchEdit(), Qt::Key_Return);
    QTRY_COMPARE(window->currentConversation(), ConversationKey::room(u"devops"_s));
    QTRY_VERIFY(!window->directoryDialog());

    // A name nobody uses: Enter creates it.
    actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_J))->trigger();
    dialog = window->directoryDialog();
    QVERIFY(dialog);
    QTest::keyClicks(dialog->searchEdit(), u"Retro"_s);
    QTRY_COMPARE(dialog->list()->model()->rowCount(), 1);
    QVERIFY(dialog->list()->model()->index(0, 0).data(DirectoryDialog::CreatesRole).toBool());
    QTest::keyClick(dialog->searchEdit(), Qt::Key_Return);
    QTRY_COMPARE(window->currentConversation(), ConversationKey::room(u"retro"_s));
    QTRY_VERIFY(!controller->client()->members(u"retro"_s).isEmpty());

    // A name typed naturally becomes one; one that cannot be says why.
    actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_J))->trigger();
    dialog = window->directoryDialog();
    QVERIFY(dialog);
    QTest::keyClicks(dialog->searchEdit(), u"Design Review"_s);
    QTRY_COMPARE(dialog->list()->model()->rowCount(), 1);
    QCOMPARE(dialog->list()->model()->index(0, 0).data().toString(), u"Create #design-review"_s);
    dialog->searchEdit()->setText(u"!!!"_s);
    QTRY_VERIFY2(dialog->statusText().contains(u"starts with a letter or a digit"_s),
                 qPrintable(dialog->statusText()));
    QCOMPARE(dialog->list()->model()->rowCount(), 0);
    dialog->close();
}

void TestSwitching::writesToSomeoneByKeyboardAlone()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    MainWindow *window = controller->window();
    {
        TestClient carol;
        QVERIFY(carol.open(m_server->port()));
        QVERIFY(carol.hello(u"Carol Jonas"_s, u"carol@example.org"_s));
    }
    TestClient bob;
    QVERIFY(bob.open(m_server->port()));
    QVERIFY(bob.hello(u"Bob Jones"_s, u"bob@example.org"_s));

    actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_D))->trigger();
    DirectoryDialog *dialog = window->directoryDialog();
    QVERIFY(dialog);
    QTest::keyClicks(dialog->searchEdit(), u"jo"_s);
    QTRY_COMPARE(dialog->list()->model()->rowCount(), 2);
    // Online first: Bob, then Carol.
    QCOMPARE(dialog->list()->model()->index(0, 0).data(DirectoryDialog::KeyRole).toString(),
             u"bob@example.org"_s);
    QTest::keyClick(dialog->searchEdit(), Qt::Key_Down);
    QTest::keyClick(dialog->searchEdit(), Qt::Key_Return);
    const ConversationKey carol = ConversationKey::direct(u"carol@example.org"_s);
    QTRY_COMPARE(window->currentConversation(), carol);
    QCOMPARE(controller->client()->conversations()->title(carol), u"Carol Jonas"_s);
    QTRY_VERIFY2(window->conversationSubtitle().endsWith(u"offline"_s),
                 qPrintable(window->conversationSubtitle()));

    // Everyone: the others first (online before offline), the user last and
    // not the row Enter takes; each with an avatar; the offline are "Offline".
    actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_D))->trigger();
    dialog = window->directoryDialog();
    QVERIFY(dialog);
    QAbstractItemModel *people = dialog->list()->model();
    QTRY_COMPARE(people->rowCount(), 3);
    QCOMPARE(people->index(0, 0).data(DirectoryDialog::KeyRole).toString(), u"bob@example.org"_s);
    QCOMPARE(people->index(1, 0).data(DirectoryDialog::KeyRole).toString(), u"carol@example.org"_s);
    QCOMPARE(people->index(1, 0).data(Qt::ToolTipRole).toString(), u"Offline"_s);
    QCOMPARE(people->index(2, 0).data(DirectoryDialog::KeyRole).toString(), u"alice@example.org"_s);
    QVERIFY(people->index(2, 0).data().toString().contains(u"(you)"_s));
    QVERIFY(!people->index(0, 0).data(Qt::DecorationRole).value<QIcon>().isNull());
    QCOMPARE(dialog->list()->currentIndex().row(), 0);
}

void TestSwitching::theSidebarShowsLastMessagesByActivity()
{
    auto controller = startInThreeRooms();
    QVERIFY(controller);
    MainWindow *window = controller->window();
    auto roomOrder = [window] {
        QStringList rooms;
        for (int row = 0; row < window->roomList()->model()->rowCount(); ++row)
            rooms.append(
                window->roomList()->model()->index(row, 0).data(ConversationListModel::NameRole).toString());
        return rooms;
    };
    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {u"design"_s}));
    bob.send(Protocol::SendMessage{u"design"_s, {}, u"first line\nsecond line"_s, u"b-1"_s});
    QTRY_COMPARE(roomOrder().constFirst(), u"design"_s);
    const QModelIndex design = window->roomList()->model()->index(0, 0);
    QCOMPARE(design.data(ConversationListModel::PreviewRole).toString(), u"Bob: first line"_s);
    QVERIFY(design.data(ConversationListModel::LastActivityRole).toDateTime().isValid());

    // Our own message in #history moves it up, previewed as ours.
    controller->client()->sendMessage(ConversationKey::room(u"history"_s), u"me too"_s);
    QTRY_COMPARE(roomOrder().constFirst(), u"history"_s);
    QCOMPARE(window->roomList()->model()->index(0, 0).data(ConversationListModel::PreviewRole).toString(),
             ConversationListModel::tr("You: %1").arg(u"me too"_s));
    // Ctrl+1 is the first row as shown.
    actionWithShortcut(window, QKeySequence(Qt::CTRL | Qt::Key_1))->trigger();
    QCOMPARE(window->currentConversation(), ConversationKey::room(u"history"_s));

    // The order they were opened in, if the user prefers it (and it is remembered).
    window->setSortByActivity(false);
    QCOMPARE(roomOrder(), (QStringList{u"general"_s, u"design"_s, u"history"_s}));
    QCOMPARE(highlightedKeys(window), QStringList{u"room:history"_s});
}

QTEST_MAIN(TestSwitching)
#include "tst_switching.moc"
