// The desktop app end to end under QT_QPA_PLATFORM=offscreen: the real window
// and controller against an in-process server on 127.0.0.1.
#include "app/appcontroller.h"
#include "app/localserverhost.h"
#include "common/fingerprint.h"
#include "common/invitelink.h"
#include "tests/app/memorycredentialstore.h"
#include "tests/support/testserver.h"
#include "ui/composer.h"
#include "ui/conversationview.h"
#include "ui/mainwindow.h"
#include "ui/messagedelegate.h"
#include "ui/passworddialog.h"
#include "ui/searchpanel.h"
#include "ui/settingsdialog.h"
#include "ui/theme.h"
#include "ui/translations.h"
#include "ui/trayicon.h"
#include "ui/welcomedialog.h"

#include "tests/support/testclient.h"

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFile>
#include <QGuiApplication>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollBar>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QTreeView>

using namespace Natter;
using State = ChatClient::State;

/// A hosted chat hashes passwords with Argon2id's real cost, at a low priority:
/// on a machine busy with other test suites, a sign-in may take seconds.
constexpr int PasswordSignInMs = 30'000;

class TestAppController final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void typedMessageReachesTheOtherSide();
    void shiftEnterStartsANewLine();
    void othersMessagesAppearWithTheirRoleData();
    void unreadCountsAndTyping();
    void refusedTextStaysInTheComposer();
    void statusFollowsTheConnection();
    void reopensTheConversationsOfLastTime();
    void unsentMessagesSurviveAQuit();
    void draftsStayInTheirConversationAcrossAQuit();
    void anOfflineNoticeGoesOnceConnectedAgain();
    void hostsAChatAndJoinsIt();
    void saysClearlyWhenThePortIsTaken();
    void twoInstancesTalk();
    void inviteLinkJoinsWithoutACertificateQuestion();
    void changedCertificateIsRefusedWithAWarning();
    void refusingTheFirstCertificateStaysOffline();
    void tokenGoesToTheKeychainNotTheSettings();
    void inviteOnlyHostingLetsOnlyInvitedPeopleIn();
    void closedHostingLetsOnlyKnownPeopleIn();
    void aReturningHostHostsTheSameChatAgain();
    void aReturningMemberRejoinsOrIsToldWhyNot();
    void joiningThisComputerWhileItHostsNothingSaysHowToHost();
    void settingsChangeTheNameAndTheLook();
    void mutedConversationsCountButDoNotNotify();
    void aFloodCountsEveryMessageAndNotifiesPerBatch();
    void repliesJumpToTheirOriginalAndSearchOpensHits();
    void editsDeletionsAndReactionsFromTheWindow();
    void readMarkersAndMutesFollowTheOtherDevice();
    void closingARoomAsksOnceAndADirectConversationOnlyHides();
    void someoneNewCreatesTheirAccountInAFriendlyForm();
    void itOpensWhereTheUserStoppedAndCountsDownAsSeen_data();
    void itOpensWhereTheUserStoppedAndCountsDownAsSeen();

private:
    std::unique_ptr<AppController> makeController(const ClientOptions &options);
    /// Online in #general with #random open too, and Bob signed in to both.
    bool startInGeneralWithRandomOpen(AppController &controller, TestClient &bob);
    ClientOptions joinOptions() const;
    ClientOptions hostOptions() const;
    /// Bob joining url with his password (a second app in the same process).
    static ClientOptions bobOptions(const QUrl &url);
    /// Bob's app, with settings of its own (bob.ini) and a keychain of its own.
    std::unique_ptr<AppController> makeBob(const ClientOptions &options) const;

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<TestServer> m_server;
    std::shared_ptr<MemoryCredentialStore::Contents> m_keychain;
};

void TestAppController::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_keychain = std::make_shared<MemoryCredentialStore::Contents>();
    m_server = std::make_unique<TestServer>();
    QVERIFY(m_server->start());
}

void TestAppController::cleanup()
{
    m_server.reset();
    m_dir.reset();
}

std::unique_ptr<AppController> TestAppController::makeController(const ClientOptions &options)
{
    auto controller =
        std::make_unique<AppController>(AppSettings::fromFile(m_dir->filePath(QStringLiteral("natter.ini"))),
                                        options, std::make_unique<MemoryCredentialStore>(m_keychain));
    controller->client()->setReconnectDelays(std::chrono::milliseconds(20), std::chrono::milliseconds(200));
    return controller;
}

bool TestAppController::startInGeneralWithRandomOpen(AppController &controller, TestClient &bob)
{
    if (!controller.start())
        return false;
    ChatClient *client = controller.client();
    if (!QTest::qWaitFor([client] { return client->state() == State::Online; }, 5000) ||
        !client->openRoom(QStringLiteral("random")))
        return false;
    controller.setCurrentConversation(ConversationKey::room(QStringLiteral("general")));
    return signInAsBob(bob, m_server->port(), {QStringLiteral("random"), QStringLiteral("general")});
}

ClientOptions TestAppController::joinOptions() const
{
    ClientOptions options;
    options.server = m_server->url();
    options.identity = User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")};
    options.room = QStringLiteral("general");
    options.discovery = false;
    options.password = TestClient::defaultPassword();
    return options;
}

ClientOptions TestAppController::bobOptions(const QUrl &url)
{
    ClientOptions options;
    options.server = url;
    options.identity = User{QStringLiteral("Bob"), QStringLiteral("bob@example.org")};
    options.password = TestClient::defaultPassword();
    options.discovery = false;
    return options;
}

std::unique_ptr<AppController> TestAppController::makeBob(const ClientOptions &options) const
{
    return std::make_unique<AppController>(AppSettings::fromFile(m_dir->filePath(QStringLiteral("bob.ini"))),
                                           options, std::make_unique<MemoryCredentialStore>());
}

ClientOptions TestAppController::hostOptions() const
{
    ClientOptions options;
    options.host = true;
    options.hostPort = 0;
    options.hostAddress = QHostAddress::LocalHost;
    options.identity = User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")};
    options.databasePath = m_dir->filePath(QStringLiteral("hosted.db"));
    options.discovery = false;
    return options;
}

void TestAppController::typedMessageReachesTheOtherSide()
{
    auto controller = makeController(joinOptions());
    QVERIFY(controller->start());
    MainWindow *window = controller->window();
    QVERIFY(window->isVisible());
    QTRY_COMPARE(controller->client()->state(), State::Online);
    QCOMPARE(window->currentConversation(), ConversationKey::room(QStringLiteral("general")));

    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {QStringLiteral("general")}));

    QTest::keyClicks(window->composer(), QStringLiteral("hello from the window"));
    QTest::keyClick(window->composer(), Qt::Key_Return);
    const auto received = bob.waitFor<Protocol::ReceiveMessage>();
    QVERIFY(received);
    QCOMPARE(received->message.text, QStringLiteral("hello from the window"));
    QCOMPARE(received->message.from.name, QStringLiteral("Alice"));
    QVERIFY(window->composer()->toPlainText().isEmpty());

    QAbstractItemModel *view = window->messageView()->model();
    QTRY_COMPARE(view->rowCount(), 1);
    QCOMPARE(view->index(0, 0).data(MessageListModel::IsOwnRole).toBool(), true);
    QTRY_COMPARE(
        view->index(0, 0).data(MessageListModel::DeliveryStateRole).value<MessageListModel::DeliveryState>(),
        MessageListModel::DeliveryState::Sent);
}

void TestAppController::shiftEnterStartsANewLine()
{
    auto controller = makeController(joinOptions());
    QVERIFY(controller->start());
    QTRY_COMPARE(controller->client()->state(), State::Online);
    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {QStringLiteral("general")}));

    Composer *composer = controller->window()->composer();
    QTest::keyClicks(composer, QStringLiteral("line one"));
    QTest::keyClick(composer, Qt::Key_Return, Qt::ShiftModifier);
    QTest::keyClicks(composer, QStringLiteral("line two"));
    QCOMPARE(bob.count<Protocol::ReceiveMessage>(), 0);
    QCOMPARE(composer->toPlainText(), QStringLiteral("line one\nline two"));
    // A blank composer sends nothing.
    composer->clear();
    QTest::keyClick(composer, Qt::Key_Return);
    QTest::keyClicks(composer, QStringLiteral("line one"));
    QTest::keyClick(composer, Qt::Key_Return, Qt::ShiftModifier);
    QTest::keyClicks(composer, QStringLiteral("line two"));
    QTest::keyClick(composer, Qt::Key_Enter);
    const auto received = bob.waitFor<Protocol::ReceiveMessage>();
    QVERIFY(received);
    QCOMPARE(received->message.text, QStringLiteral("line one\nline two"));
    QCOMPARE(bob.count<Protocol::ReceiveMessage>(), 0);
}

void TestAppController::othersMessagesAppearWithTheirRoleData()
{
    auto controller = makeController(joinOptions());
    QVERIFY(controller->start());
    QTRY_COMPARE(controller->client()->state(), State::Online);
    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {QStringLiteral("general")}));
    bob.send(Protocol::SendMessage{QStringLiteral("general"), {}, QStringLiteral("<b>not bold</b> 🎉"), {}});

    QListView *view = controller->window()->messageView();
    QTRY_COMPARE(view->model()->rowCount(), 1);
    const QModelIndex row = view->model()->index(0, 0);
    QCOMPARE(row.data(MessageListModel::SenderNameRole).toString(), QStringLiteral("Bob"));
    QCOMPARE(row.data(MessageListModel::SenderEmailRole).toString(), QStringLiteral("bob@example.org"));
    QCOMPARE(row.data(MessageListModel::TextRole).toString(), QStringLiteral("<b>not bold</b> 🎉"));
    QCOMPARE(row.data(MessageListModel::IsOwnRole).toBool(), false);
    QCOMPARE(row.data(MessageListModel::RoomRole).toString(), QStringLiteral("general"));
    QTRY_VERIFY(view->visualRect(row).height() > 0);
    // Bob is listed among the members, and the header counts him.
    QTRY_COMPARE(controller->window()->memberList()->model()->rowCount(), 2);
}

void TestAppController::unreadCountsAndTyping()
{
    auto controller = makeController(joinOptions());
    TestClient bob;
    QVERIFY(startInGeneralWithRandomOpen(*controller, bob));
    ChatClient *client = controller->client();
    bob.send(Protocol::SendMessage{QStringLiteral("random"), {}, QStringLiteral("over here"), {}});
    bob.send(Protocol::SendMessage{QStringLiteral("random"), {}, QStringLiteral("hello?"), {}});
    const ConversationKey random = ConversationKey::room(QStringLiteral("random"));
    QTRY_COMPARE(client->conversations()->unreadCount(random), 2);
    QCOMPARE(controller->tray()->unreadCount(), 2);

    bob.send(Protocol::TypingRequest{QStringLiteral("general"), true, {}});
    QTRY_COMPARE(controller->window()->typingLabel()->text(), QStringLiteral("Bob is typing…"));
    bob.send(Protocol::TypingRequest{QStringLiteral("general"), false, {}});
    QTRY_VERIFY(controller->window()->typingLabel()->text().isEmpty());

    // Opening the room reads it.
    controller->setCurrentConversation(random);
    QCOMPARE(client->conversations()->unreadCount(random), 0);
    QCOMPARE(controller->tray()->unreadCount(), 0);
    QCOMPARE(controller->window()->messageView()->model()->rowCount(), 2);
}

void TestAppController::refusedTextStaysInTheComposer()
{
    m_server = std::make_unique<TestServer>([] {
        ServerConfig config = TestServer::defaultConfig();
        config.maxTextLength = 5;
        return config;
    }());
    QVERIFY(m_server->start());
    auto controller = makeController(joinOptions());
    QVERIFY(controller->start());
    QTRY_COMPARE(controller->client()->state(), State::Online);
    Composer *composer = controller->window()->composer();
    QTest::keyClicks(composer, QStringLiteral("far too long"));
    QTest::keyClick(composer, Qt::Key_Return);
    QCOMPARE(composer->toPlainText(), QStringLiteral("far too long"));
    QVERIFY(controller->window()->errorText().contains(QStringLiteral("at most 5")));
    QCOMPARE(controller->window()->messageView()->model()->rowCount(), 0);
}

void TestAppController::statusFollowsTheConnection()
{
    auto controller = makeController(joinOptions());
    QVERIFY(controller->start());
    QLabel *status = controller->window()->statusLabel();
    QTRY_VERIFY(status->text().startsWith(QStringLiteral("Connected to Test chat as Alice")));
    const quint16 port = m_server->port();
    m_server->stop();
    QTRY_VERIFY(status->text().contains(QStringLiteral("reconnecting")));
    QVERIFY(m_server->start());
    QCOMPARE(m_server->port(), port);
    QTRY_VERIFY_WITH_TIMEOUT(status->text().startsWith(QStringLiteral("Connected")), 10000);
}

void TestAppController::reopensTheConversationsOfLastTime()
{
    {
        auto controller = makeController(joinOptions());
        QVERIFY(controller->start());
        QTRY_COMPARE(controller->client()->state(), State::Online);
        QVERIFY(controller->client()->openRoom(QStringLiteral("random")));
        QVERIFY(controller->client()->openDirect(QStringLiteral("bob@example.org"), QStringLiteral("Bob")));
        controller->setCurrentConversation(ConversationKey::room(QStringLiteral("random")));
        controller->saveSettings();
    }
    ClientOptions options = joinOptions();
    options.room.clear();
    options.identity = {}; // remembered
    auto controller = makeController(options);
    QVERIFY(controller->start());
    QCOMPARE(controller->client()->identity().name, QStringLiteral("Alice"));
    const QList<ConversationKey> expected{ConversationKey::room(QStringLiteral("general")),
                                          ConversationKey::room(QStringLiteral("random")),
                                          ConversationKey::direct(QStringLiteral("bob@example.org"))};
    QCOMPARE(controller->client()->openConversations(), expected);
    QCOMPARE(controller->window()->currentConversation(), ConversationKey::room(QStringLiteral("random")));
    QCOMPARE(controller->client()->conversations()->title(expected.at(2)), QStringLiteral("Bob"));
    QCOMPARE(controller->settings().recentServers().value(0), m_server->url());
}

void TestAppController::draftsStayInTheirConversationAcrossAQuit()
{
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    const ConversationKey bob = ConversationKey::direct(QStringLiteral("bob@example.org"));
    {
        auto controller = makeController(joinOptions());
        QVERIFY(controller->start());
        QTRY_COMPARE(controller->client()->state(), State::Online);
        QVERIFY(controller->client()->openDirect(QStringLiteral("bob@example.org"), QStringLiteral("Bob")));
        controller->setCurrentConversation(bob);
        QTest::keyClicks(controller->window()->composer(), QStringLiteral("between us"));
        controller->setCurrentConversation(general);
        // Its row says so while the user is elsewhere.
        ConversationListModel *rows = controller->client()->conversations();
        QCOMPARE(rows->index(rows->indexOf(bob)).data(ConversationListModel::DraftRole).toString(),
                 QStringLiteral("between us"));
        QTest::keyClicks(controller->window()->composer(), QStringLiteral("hello all"));
        // On disk within a moment of typing: a crash keeps it.
        const QString path = m_dir->filePath(QStringLiteral("natter.ini"));
        QTRY_VERIFY([&path] {
            QFile file(path);
            return file.open(QIODevice::ReadOnly) && file.readAll().contains("hello all");
        }());
    } // quits: nothing was sent
    ClientOptions options = joinOptions();
    options.room.clear();
    options.identity = {};
    auto controller = makeController(options);
    QVERIFY(controller->start());
    QCOMPARE(controller->window()->currentConversation(), general);
    QCOMPARE(controller->window()->composer()->toPlainText(), QStringLiteral("hello all"));
    controller->setCurrentConversation(bob);
    QCOMPARE(controller->window()->composer()->toPlainText(), QStringLiteral("between us"));
    QCOMPARE(controller->client()->allOutgoing().size(), 0);
}

void TestAppController::anOfflineNoticeGoesOnceConnectedAgain()
{
    // Banners about the connection stayed until dismissed, long after it was back.
    auto controller = makeController(joinOptions());
    QVERIFY(controller->start());
    QTRY_COMPARE(controller->client()->state(), State::Online);
    m_server->stop();
    QTRY_COMPARE(controller->client()->state(), State::WaitingToReconnect);
    Q_EMIT controller->window()->deleteRequested(1);
    QVERIFY2(controller->window()->errorText().contains(QStringLiteral("offline")),
             qPrintable(controller->window()->errorText()));
    QVERIFY(m_server->start());
    QTRY_COMPARE_WITH_TIMEOUT(controller->client()->state(), State::Online, 20000);
    QCOMPARE(controller->window()->errorText(), QString());
    // One about something else, shown while connected, stays through a reconnect.
    controller->window()->showError(QStringLiteral("about something else"));
    controller->client()->disconnectFromServer();
    controller->client()->connectToServer(m_server->url());
    QTRY_COMPARE_WITH_TIMEOUT(controller->client()->state(), State::Online, 20000);
    QCOMPARE(controller->window()->errorText(), QStringLiteral("about something else"));
}

void TestAppController::unsentMessagesSurviveAQuit()
{
    {
        auto controller = makeController(joinOptions());
        QVERIFY(controller->start());
        QTRY_COMPARE(controller->client()->state(), State::Online);
        m_server->stop();
        QTRY_COMPARE(controller->client()->state(), State::WaitingToReconnect);
        QTest::keyClicks(controller->window()->composer(), QStringLiteral("written offline"));
        QTest::keyClick(controller->window()->composer(), Qt::Key_Return);
        QCOMPARE(controller->client()->allOutgoing().size(), 1);
        // On disk at once, before any event: a kill -9 or a power cut now keeps it.
        // (The file itself: QSettings objects of one process share unsaved changes.)
        QFile file(m_dir->filePath(QStringLiteral("natter.ini")));
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(file.readAll().contains("written offline"));
    } // quits with the message unsent
    QVERIFY(m_server->start());
    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {QStringLiteral("general")}));

    auto controller = makeController(joinOptions());
    QVERIFY(controller->start());
    MessageListModel *general =
        controller->client()->messages(ConversationKey::room(QStringLiteral("general")));
    QVERIFY(general);
    QCOMPARE(general->outbox().size(), 1); // shown as "sending" at once
    const auto received = bob.waitFor<Protocol::ReceiveMessage>();
    QVERIFY(received);
    QCOMPARE(received->message.text, QStringLiteral("written offline"));
    QTRY_COMPARE(general->outbox().size(), 0);
    QCOMPARE(general->storedCount(), 1);
    controller->saveSettings();
    QVERIFY(controller->settings().outbox(m_server->url()).isEmpty());
    QCOMPARE(bob.count<Protocol::ReceiveMessage>(), 0);
}

void TestAppController::hostsAChatAndJoinsIt()
{
    auto controller = makeController(hostOptions());
    QVERIFY(controller->start());
    QVERIFY(controller->localHost()->isRunning());
    QTRY_COMPARE(controller->client()->state(), State::Online);
    QCOMPARE(controller->client()->serverName(), QStringLiteral("Alice's chat"));

    // A second person joins the hosted chat and they talk.
    TestClient bob;
    QVERIFY(signInAsBob(bob, controller->localHost()->port(), {QStringLiteral("general")},
                        controller->localHost()->fingerprint()));
    // The host's own connection is encrypted with the chat's certificate, which needed no question.
    QVERIFY(controller->client()->isEncrypted());
    QCOMPARE(controller->client()->certificateFingerprint(), controller->localHost()->fingerprint());
    QVERIFY(controller->window()->connectionSecurityText().contains(QStringLiteral("Encrypted")));
    QTest::keyClicks(controller->window()->composer(), QStringLiteral("welcome, Bob"));
    QTest::keyClick(controller->window()->composer(), Qt::Key_Return);
    const auto received = bob.waitFor<Protocol::ReceiveMessage>();
    QVERIFY(received);
    QCOMPARE(received->message.text, QStringLiteral("welcome, Bob"));
    // Closing asks first while someone else is in the hosted chat, naming
    // them; "No" keeps it open.
    QTRY_COMPARE(controller->localHost()->connectionCount(), 2);
    QTRY_COMPARE(controller->client()->members(QStringLiteral("general")).size(), 2);
    bool asked = false;
    QTimer::singleShot(0, this, [&asked] {
        if (auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget())) {
            asked = box->text().contains(QStringLiteral("1 other connection uses")) &&
                    box->text().contains(QStringLiteral("Connected now: Bob.")) &&
                    box->textFormat() == Qt::PlainText; // names are other people's words
            box->button(QMessageBox::No)->click();
        }
    });
    QVERIFY(!controller->window()->close());
    QVERIFY(asked);
    QVERIFY(controller->window()->isVisible());
    QVERIFY(controller->localHost()->isRunning());
    // Bound to loopback here, so that is the address to share.
    QCOMPARE(controller->localHost()->shareableUrls(),
             QStringList{QStringLiteral("wss://127.0.0.1:%1").arg(controller->localHost()->port())});
}

void TestAppController::saysClearlyWhenThePortIsTaken()
{
    ClientOptions options = hostOptions();
    options.host = false;
    options.hostPort = m_server->port(); // taken by the test server
    auto controller = makeController(options);
    controller->client()->setIdentity(options.identity);
    QVERIFY(!controller->host(/*quiet=*/true));
    QVERIFY2(controller->lastHostError().contains(QStringLiteral("already in use")),
             qPrintable(controller->lastHostError()));
    QVERIFY(controller->lastHostError().contains(QString::number(m_server->port())));
    QVERIFY(!controller->localHost()->isRunning());
}

void TestAppController::twoInstancesTalk()
{
    // Alice hosts, Bob joins her chat: two whole apps in one process.
    auto alice = makeController(hostOptions());
    QVERIFY(alice->start());
    QTRY_COMPARE(alice->client()->state(), State::Online);

    ClientOptions joinOptions;
    joinOptions.server = QUrl(QStringLiteral("wss://127.0.0.1:%1").arg(alice->localHost()->port()));
    joinOptions.identity = User{QStringLiteral("Bob"), QStringLiteral("bob@example.org")};
    joinOptions.discovery = false;
    joinOptions.password = TestClient::defaultPassword();
    auto bobKeychain = std::make_shared<MemoryCredentialStore::Contents>();
    auto bob =
        std::make_unique<AppController>(AppSettings::fromFile(m_dir->filePath(QStringLiteral("bob.ini"))),
                                        joinOptions, std::make_unique<MemoryCredentialStore>(bobKeychain));
    QVERIFY(bob->start());
    // First contact: Bob is shown the certificate's fingerprint and accepts it.
    QMessageBox *question = nullptr;
    QTRY_VERIFY((question = bob->window()->findChild<QMessageBox *>(QStringLiteral("certificateQuestion"))));
    // In the grouping the host's Chat info shows, to be read side by side.
    QVERIFY(
        question->informativeText().contains(Fingerprint::displayLines(alice->localHost()->fingerprint())));
    alice->window()->setHostingAddresses(alice->localHost()->shareableUrls(),
                                         Fingerprint::display(alice->localHost()->fingerprint()));
    QVERIFY(alice->window()->chatInfoText().contains(
        Fingerprint::displayLines(alice->localHost()->fingerprint())));
    question->button(QMessageBox::Yes)->click();
    QTRY_COMPARE_WITH_TIMEOUT(bob->client()->state(), State::Online, PasswordSignInMs);
    QTRY_COMPARE(alice->window()->memberList()->model()->rowCount(), 2);

    QTest::keyClicks(bob->window()->composer(), QStringLiteral("hi Alice "));
    bob->window()->composer()->insertPlainText(QStringLiteral("👋")); // QTest types ASCII only
    QTest::keyClick(bob->window()->composer(), Qt::Key_Return);
    QAbstractItemModel *aliceView = alice->window()->messageView()->model();
    QTRY_COMPARE(aliceView->rowCount(), 1);
    QCOMPARE(aliceView->index(0, 0).data(MessageListModel::SenderNameRole).toString(), QStringLiteral("Bob"));
    QCOMPARE(aliceView->index(0, 0).data(MessageListModel::TextRole).toString(),
             QStringLiteral("hi Alice 👋"));
    QCOMPARE(aliceView->index(0, 0).data(MessageListModel::IsOwnRole).toBool(), false);

    QTest::keyClicks(alice->window()->composer(), QStringLiteral("hi Bob"));
    QTest::keyClick(alice->window()->composer(), Qt::Key_Return);
    QAbstractItemModel *bobView = bob->window()->messageView()->model();
    QTRY_COMPARE(bobView->rowCount(), 2);
    QCOMPARE(bobView->index(1, 0).data(MessageListModel::TextRole).toString(), QStringLiteral("hi Bob"));
    QCOMPARE(bobView->index(0, 0).data(MessageListModel::IsOwnRole).toBool(), true);
}

void TestAppController::inviteLinkJoinsWithoutACertificateQuestion()
{
    auto alice = makeController(hostOptions());
    QVERIFY(alice->start());
    QTRY_COMPARE(alice->client()->state(), State::Online);
    const auto link = InviteLink::parse(alice->hostedInviteLink());
    QVERIFY(link);
    QCOMPARE(link->fingerprint, alice->localHost()->fingerprint());
    QCOMPARE(link->port, alice->localHost()->port());

    // Bob opens the link (natter natter://...): no question, straight in.
    ClientOptions options = bobOptions({});
    options.invite = link;
    auto bob = makeBob(options);
    QVERIFY(bob->start());
    QTRY_COMPARE_WITH_TIMEOUT(bob->client()->state(), State::Online, PasswordSignInMs);
    QVERIFY(!bob->window()->findChild<QMessageBox *>(QStringLiteral("certificateQuestion")));
    QCOMPARE(bob->client()->certificateFingerprint(), alice->localHost()->fingerprint());
    QVERIFY(bob->window()->connectionSecurityText().contains(QStringLiteral("Encrypted")));
}

void TestAppController::changedCertificateIsRefusedWithAWarning()
{
    auto alice = makeController(hostOptions());
    QVERIFY(alice->start());
    QTRY_COMPARE(alice->client()->state(), State::Online);
    const QUrl url(QStringLiteral("wss://127.0.0.1:%1").arg(alice->localHost()->port()));

    // Bob trusted another certificate at this address before (say, someone else hosted here).
    const QString bobSettings = m_dir->filePath(QStringLiteral("bob.ini"));
    {
        AppSettings settings = AppSettings::fromFile(bobSettings);
        settings.setPinnedFingerprint(AppController::serverKey(url), QString(64, QLatin1Char('a')));
    }
    auto bob = makeBob(bobOptions(url));
    QVERIFY(bob->start());
    QMessageBox *warning = nullptr;
    QTRY_VERIFY((warning = bob->window()->findChild<QMessageBox *>(QStringLiteral("certificateChanged"))));
    QVERIFY(warning->text().contains(QStringLiteral("different certificate")));
    QVERIFY(warning->informativeText().contains(Fingerprint::display(alice->localHost()->fingerprint())));
    // Never a silent reconnect: it stays offline, and says why.
    QCOMPARE(bob->client()->state(), State::Offline);
    QVERIFY(bob->window()->errorText().contains(QStringLiteral("certificate has changed")));
    QCOMPARE(alice->localHost()->connectionCount(), 1);
    // Closing the warning keeps it so.
    warning->button(QMessageBox::Close)->click();
    QCOMPARE(bob->client()->state(), State::Offline);
    QCOMPARE(bob->settings().pinnedFingerprint(AppController::serverKey(url)), QString(64, QLatin1Char('a')));
}

void TestAppController::refusingTheFirstCertificateStaysOffline()
{
    auto alice = makeController(hostOptions());
    QVERIFY(alice->start());
    QTRY_COMPARE(alice->client()->state(), State::Online);
    const QUrl url(QStringLiteral("wss://127.0.0.1:%1").arg(alice->localHost()->port()));
    auto bob = makeBob(bobOptions(url));
    QVERIFY(bob->start());
    QMessageBox *question = nullptr;
    QTRY_VERIFY((question = bob->window()->findChild<QMessageBox *>(QStringLiteral("certificateQuestion"))));
    question->button(QMessageBox::No)->click();
    // Nothing pinned, nothing sent: the password never left for a server Bob did not trust.
    QCOMPARE(bob->client()->state(), State::Offline);
    QVERIFY(bob->settings().pinnedFingerprint(AppController::serverKey(url)).isEmpty());
    QVERIFY(bob->window()->errorText().contains(QStringLiteral("approval")));
    QCOMPARE(alice->client()->members(QStringLiteral("general")).size(), 1);
}

void TestAppController::tokenGoesToTheKeychainNotTheSettings()
{
    auto controller = makeController(joinOptions());
    QVERIFY(controller->start());
    QTRY_COMPARE(controller->client()->state(), State::Online);
    // The server's token is in the (test) keychain, the password nowhere.
    const QString key = CredentialStore::tokenKey(AppController::serverKey(m_server->url()),
                                                  QStringLiteral("alice@example.org"));
    QTRY_VERIFY(!m_keychain->secrets.value(key).isEmpty());
    const QString token = m_keychain->secrets.value(key);
    controller->saveSettings();
    controller->settings().sync();
    QFile settingsFile(controller->settings().fileName());
    QVERIFY(settingsFile.open(QIODevice::ReadOnly));
    const QByteArray stored = settingsFile.readAll();
    QVERIFY(!stored.contains(token.toUtf8()));
    QVERIFY(!stored.contains(TestClient::defaultPassword().toUtf8()));
    QVERIFY(!controller->client()->hasPassword());
    // The settings are their owner's only.
    QCOMPARE(settingsFile.permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther),
             QFileDevice::Permissions());

    // The next start signs in with the token, no password given.
    controller.reset();
    ClientOptions again = joinOptions();
    again.password.clear();
    controller = makeController(again);
    QVERIFY(controller->start());
    QTRY_COMPARE(controller->client()->state(), State::Online);

    // Signing out revokes and forgets it.
    controller->signOut();
    QVERIFY(!m_keychain->secrets.contains(key));
    QTRY_COMPARE(controller->client()->state(), State::Offline);
    TestClient reuse;
    QVERIFY(reuse.open(m_server->port()));
    Protocol::Hello hello;
    hello.user = User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")};
    hello.token = token;
    reuse.send(hello);
    const auto refused = reuse.waitFor<Protocol::Error>();
    QVERIFY(refused);
    QCOMPARE(refused->code, Protocol::ErrorCode::BadCredentials);
}

void TestAppController::inviteOnlyHostingLetsOnlyInvitedPeopleIn()
{
    {
        AppSettings settings = AppSettings::fromFile(m_dir->filePath(QStringLiteral("natter.ini")));
        // "only people I invite" in the welcome dialog
        settings.setHostRegistration(ServerConfig::Registration::Invite);
    }
    auto alice = makeController(hostOptions());
    QVERIFY(alice->start());
    QTRY_COMPARE(alice->client()->state(), State::Online); // the host needs no invite
    const auto link = InviteLink::parse(alice->hostedInviteLink());
    QVERIFY(link);
    QVERIFY(!link->invite.isEmpty());

    auto joinAs = [&](const QString &name, const std::optional<InviteLink> &invite, const QUrl &server) {
        ClientOptions options;
        options.invite = invite;
        options.server = server;
        options.identity = User{name, name.toLower() + QStringLiteral("@example.org")};
        options.password = TestClient::defaultPassword();
        options.discovery = false;
        auto controller = std::make_unique<AppController>(
            AppSettings::fromFile(m_dir->filePath(name + QStringLiteral(".ini"))), options,
            std::make_unique<MemoryCredentialStore>());
        controller->settings().setPinnedFingerprint(AppController::serverKey(link->serverUrl()),
                                                    link->fingerprint);
        return controller;
    };
    // With the link: in.
    auto bob = joinAs(QStringLiteral("Bob"), link, {});
    QVERIFY(bob->start());
    QTRY_COMPARE_WITH_TIMEOUT(bob->client()->state(), State::Online, PasswordSignInMs);
    // The same code a second time: used up. Without any: refused, and asked for a password again.
    for (const std::optional<InviteLink> &invite : {link, std::optional<InviteLink>()}) {
        auto carol = joinAs(QStringLiteral("Carol"), invite, link->serverUrl());
        QSignalSpy refused(carol->client(), &ChatClient::signInFailed);
        QVERIFY(carol->start());
        QVERIFY(refused.wait());
        QCOMPARE(refused.at(0).at(0).value<Protocol::ErrorCode>(), Protocol::ErrorCode::BadCredentials);
        QVERIFY(carol->window()->findChild<PasswordDialog *>(QStringLiteral("passwordDialog")));
        QCOMPARE(carol->client()->state(), State::Offline);
    }
    // A new link, a new code: Carol is in.
    const auto second = InviteLink::parse(alice->hostedInviteLink());
    QVERIFY(second && second->invite != link->invite);
    auto carol = joinAs(QStringLiteral("Carol"), second, {});
    QVERIFY(carol->start());
    QTRY_COMPARE_WITH_TIMEOUT(carol->client()->state(), State::Online, PasswordSignInMs);
}

void TestAppController::closedHostingLetsOnlyKnownPeopleIn()
{
    auto joinAs = [&](const QString &name, const InviteLink &link) {
        ClientOptions options;
        options.invite = link;
        options.identity = User{name, name.toLower() + QStringLiteral("@example.org")};
        options.password = TestClient::defaultPassword();
        options.discovery = false;
        return std::make_unique<AppController>(
            AppSettings::fromFile(m_dir->filePath(name + QStringLiteral(".ini"))), options,
            std::make_unique<MemoryCredentialStore>());
    };
    // An open chat first: Bob joins and so has an account.
    {
        auto alice = makeController(hostOptions());
        QVERIFY(alice->start());
        QTRY_COMPARE(alice->client()->state(), State::Online);
        const auto link = InviteLink::parse(alice->hostedInviteLink());
        QVERIFY(link);
        auto bob = joinAs(QStringLiteral("Bob"), *link);
        QVERIFY(bob->start());
        QTRY_COMPARE_WITH_TIMEOUT(bob->client()->state(), State::Online, PasswordSignInMs);
    }
    // Hosted again, closed to newcomers ("only people who have joined before").
    {
        AppSettings settings = AppSettings::fromFile(m_dir->filePath(QStringLiteral("natter.ini")));
        settings.setHostRegistration(ServerConfig::Registration::Closed);
    }
    auto alice = makeController(hostOptions());
    QVERIFY(alice->start());
    QTRY_COMPARE(alice->client()->state(), State::Online);
    const auto link = InviteLink::parse(alice->hostedInviteLink());
    QVERIFY(link);
    QVERIFY(link->invite.isEmpty()); // no code could create an account anyway

    auto bob = joinAs(QStringLiteral("Bob"), *link);
    QVERIFY(bob->start());
    QTRY_COMPARE_WITH_TIMEOUT(bob->client()->state(), State::Online, PasswordSignInMs);

    auto carol = joinAs(QStringLiteral("Carol"), *link);
    QSignalSpy refused(carol->client(), &ChatClient::signInFailed);
    QVERIFY(carol->start());
    QVERIFY(refused.wait());
    QCOMPARE(refused.at(0).at(0).value<Protocol::ErrorCode>(), Protocol::ErrorCode::BadCredentials);
    QCOMPARE(carol->client()->state(), State::Offline);
}

void TestAppController::aReturningHostHostsTheSameChatAgain()
{
    quint16 port = 0;
    QString fingerprint;
    {
        auto alice = makeController(hostOptions());
        QVERIFY(alice->start());
        QTRY_COMPARE(alice->client()->state(), State::Online);
        port = alice->localHost()->port();
        fingerprint = alice->localHost()->fingerprint();
        alice->client()->sendMessage(ConversationKey::room(QStringLiteral("general")),
                                     QStringLiteral("before the restart"));
        QTRY_COMPARE(
            alice->client()->messages(ConversationKey::room(QStringLiteral("general")))->storedCount(), 1);
        alice->saveSettings();
    }
    // Started again without arguments: no welcome dialog, the same chat hosted
    // again at once — its address, its certificate, its history.
    ClientOptions options = hostOptions();
    options.host = false;
    auto alice = makeController(options);
    bool dialogShown = false;
    QTimer watch;
    connect(&watch, &QTimer::timeout, this, [&dialogShown] {
        if (auto *dialog = qobject_cast<WelcomeDialog *>(QApplication::activeModalWidget())) {
            dialogShown = true;
            dialog->reject();
        }
    });
    watch.start(20);
    QVERIFY(alice->start());
    QVERIFY(alice->localHost()->isRunning());
    QCOMPARE(alice->localHost()->port(), port);
    QCOMPARE(alice->localHost()->fingerprint(), fingerprint);
    QTRY_COMPARE(alice->client()->state(), State::Online);
    MessageListModel *general = alice->client()->messages(ConversationKey::room(QStringLiteral("general")));
    QTRY_COMPARE(general->storedCount(), 1);
    QCOMPARE(general->messageAt(0).text, QStringLiteral("before the restart"));
    QVERIFY(!dialogShown);
}

void TestAppController::aReturningMemberRejoinsOrIsToldWhyNot()
{
    {
        auto alice = makeController(joinOptions());
        QVERIFY(alice->start());
        QTRY_COMPARE(alice->client()->state(), State::Online);
        alice->saveSettings();
    }
    // Started again without an address: straight back into the same chat.
    ClientOptions options = joinOptions();
    options.server.clear();
    options.password.clear(); // the token does it
    QString note;
    QTimer watch;
    connect(&watch, &QTimer::timeout, this, [&note] {
        if (auto *dialog = qobject_cast<WelcomeDialog *>(QApplication::activeModalWidget())) {
            note = dialog->note().isEmpty() ? QStringLiteral("(shown without a note)") : dialog->note();
            dialog->reject();
        }
    });
    watch.start(20);
    {
        auto alice = makeController(options);
        QVERIFY(alice->start());
        QTRY_COMPARE(alice->client()->state(), State::Online);
        QCOMPARE(alice->client()->serverUrl(), m_server->url());
        QVERIFY2(note.isEmpty(), qPrintable(note));
        alice->saveSettings();
    }
    // The chat is gone: the welcome dialog comes, and says why.
    m_server->stop();
    auto alice = makeController(options);
    QVERIFY(alice->start());
    QTRY_VERIFY_WITH_TIMEOUT(!note.isEmpty(), 10'000);
    QVERIFY2(note.startsWith(QStringLiteral("Natter could not reach 127.0.0.1:")), qPrintable(note));
}

void TestAppController::joiningThisComputerWhileItHostsNothingSaysHowToHost()
{
    // A port nothing listens on (taken and given back).
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 port = probe.serverPort();
    probe.close();
    ClientOptions options = joinOptions();
    options.server = QUrl(QStringLiteral("wss://127.0.0.1:%1").arg(port));
    {
        // Someone who never hosted here is not told to host: that would
        // make a different, empty chat.
        auto alice = makeController(options);
        QVERIFY(alice->start());
        QTRY_COMPARE(alice->client()->state(), State::WaitingToReconnect);
        QVERIFY2(!alice->window()->errorText().contains(QStringLiteral("Host a chat on this computer")),
                 qPrintable(alice->window()->errorText()));
    }
    // The one whose chat it was is.
    auto alice = makeController(options);
    alice->settings().setHostedLastTime(true);
    QVERIFY(alice->start());
    QTRY_COMPARE(alice->client()->state(), State::WaitingToReconnect);
    QVERIFY2(alice->window()->errorText().contains(QStringLiteral("Host a chat on this computer")),
             qPrintable(alice->window()->errorText()));
}

void TestAppController::initTestCase()
{
    installTranslations(qApp); // the app's English plural forms, as natter loads them
}

void TestAppController::settingsChangeTheNameAndTheLook()
{
    auto controller = makeController(joinOptions());
    QVERIFY(controller->start());
    QTRY_COMPARE(controller->client()->state(), State::Online);
    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {QStringLiteral("general")}));
    MainWindow *window = controller->window();

    // Ctrl+, opens the settings with what is in effect now.
    QAction *open = nullptr;
    for (QAction *action : window->findChildren<QAction *>()) {
        if (action->shortcut() == QKeySequence(Qt::CTRL | Qt::Key_Comma))
            open = action;
    }
    QVERIFY(open);
    open->trigger();
    SettingsDialog *dialog = controller->settingsDialog();
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->isVisible());
    SettingsDialog::Values values = dialog->values();
    QCOMPARE(values.name, QStringLiteral("Alice"));
    QCOMPARE(values.email, QStringLiteral("alice@example.org"));
    QCOMPARE(values.theme, window->theme());
    QVERIFY(!values.compact);
    QVERIFY(values.notifications);
    QVERIFY(values.muted.isEmpty());

    // A new name by keyboard; an empty one cannot be saved.
    QLineEdit *name = dialog->nameEdit();
    name->selectAll();
    QTest::keyClick(name, Qt::Key_Backspace);
    auto *buttons = dialog->findChild<QDialogButtonBox *>();
    QVERIFY(!buttons->button(QDialogButtonBox::Ok)->isEnabled());
    QTest::keyClicks(name, QStringLiteral("Alice Martin"));
    QVERIFY(buttons->button(QDialogButtonBox::Ok)->isEnabled());
    values = dialog->values();
    values.theme = Theme::Dark;
    values.compact = true;
    dialog->setValues(values);
    QTest::mouseClick(buttons->button(QDialogButtonBox::Ok), Qt::LeftButton);
    QTRY_VERIFY(!controller->settingsDialog());

    QCOMPARE(window->theme(), Theme::Dark);
    QVERIFY(window->isCompactMessages());
    // Others see the new name on what is sent next (a fresh hello, resumed).
    QTRY_COMPARE(controller->client()->state(), State::Online);
    QTRY_COMPARE(controller->client()->self().name, QStringLiteral("Alice Martin"));
    QTest::keyClicks(window->composer(), QStringLiteral("renamed"));
    QTest::keyClick(window->composer(), Qt::Key_Return);
    const auto received = bob.waitFor<Protocol::ReceiveMessage>();
    QVERIFY(received);
    QCOMPARE(received->message.from.name, QStringLiteral("Alice Martin"));

    // Remembered for the next start.
    controller.reset();
    applyTheme(Theme::System);
    AppSettings settings = AppSettings::fromFile(m_dir->filePath(QStringLiteral("natter.ini")));
    QCOMPARE(settings.identity().name, QStringLiteral("Alice Martin"));
    QCOMPARE(settings.theme(), QStringLiteral("dark"));
    QVERIFY(settings.compactMessages());
}

void TestAppController::aFloodCountsEveryMessageAndNotifiesPerBatch()
{
    auto controller = makeController(joinOptions());
    TestClient bob;
    QVERIFY(startInGeneralWithRandomOpen(*controller, bob));
    ChatClient *client = controller->client();
    const ConversationKey random = ConversationKey::room(QStringLiteral("random"));
    QWidget elsewhere; // the user is in another window
    elsewhere.show();
    elsewhere.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&elsewhere));
    QSignalSpy notified(controller.get(), &AppController::notified);
    QSignalSpy totals(client->conversations(), &ConversationListModel::totalUnreadChanged);
    QSignalSpy inserted(client->messages(random), &QAbstractItemModel::rowsInserted);

    // Bob's script floods #random: every message counts, but the app inserts,
    // badges and notifies per batch it reads, not once per message.
    constexpr int Flood = 150;
    for (int n = 0; n < Flood; ++n)
        bob.send(Protocol::SendMessage{QStringLiteral("random"), {}, QStringLiteral("line %1").arg(n), {}});
    QTRY_COMPARE(client->conversations()->unreadCount(random), Flood);
    QCOMPARE(client->messages(random)->storedCount(), Flood);
    QCOMPARE(controller->tray()->unreadCount(), Flood);
    QVERIFY2(inserted.size() < Flood / 5, qPrintable(QString::number(inserted.size())));
    QVERIFY2(totals.size() < Flood / 5, qPrintable(QString::number(totals.size())));
    QCOMPARE(notified.size(), inserted.size());
    // A batch is one notification that says how many came, with the latest.
    const QString last = notified.constLast().at(1).toString();
    QVERIFY2(last.endsWith(QStringLiteral("line %1").arg(Flood - 1)), qPrintable(last));
    QVERIFY2(
        std::any_of(notified.cbegin(), notified.cend(),
                    [](const QList<QVariant> &n) { return n.at(1).toString().contains(u"new messages"); }),
        "no batch said how many messages came");
}

void TestAppController::mutedConversationsCountButDoNotNotify()
{
    auto controller = makeController(joinOptions());
    TestClient bob;
    QVERIFY(startInGeneralWithRandomOpen(*controller, bob));
    ChatClient *client = controller->client();
    const ConversationKey random = ConversationKey::room(QStringLiteral("random"));
    QSignalSpy notified(controller.get(), &AppController::notified);
    // The user is in another window: what arrives notifies.
    QWidget elsewhere;
    elsewhere.show();
    elsewhere.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&elsewhere));
    QVERIFY(!controller->window()->isActiveWindow());

    // Muted from the sidebar's menu (what muteRequested carries).
    Q_EMIT controller->window()->muteRequested(random, true);
    QVERIFY(client->conversations()->isMuted(random));
    bob.send(Protocol::SendMessage{QStringLiteral("random"), {}, QStringLiteral("anyone?"), {}});
    QTRY_COMPARE(client->conversations()->unreadCount(random), 1);
    QCOMPARE(controller->tray()->unreadCount(), 0); // not in the tray's count
    bob.send(Protocol::SendMessage{QStringLiteral("general"), {}, QStringLiteral("hello"), {}});
    QTRY_COMPARE(notified.count(), 1); // general still notifies (the window is not active)
    QCOMPARE(notified.at(0).at(0).toString(), QStringLiteral("Bob in #general"));
    QCOMPARE(controller->tray()->unreadCount(), 1);
    // A mention calls even in the muted room, and the message is marked as calling her.
    Protocol::SendMessage mention{QStringLiteral("random"), {}, QStringLiteral("@Alice can you look?"), {}};
    mention.mentions = {QStringLiteral("alice@example.org")};
    bob.send(mention);
    QTRY_COMPARE(notified.count(), 2);
    QCOMPARE(notified.at(1).at(0).toString(), QStringLiteral("Bob in #random"));
    MessageListModel *randomMessages = client->messages(random);
    QVERIFY(randomMessages->index(randomMessages->storedCount() - 1)
                .data(MessageListModel::MentionsMeRole)
                .toBool());

    // All notifications off in the settings: counted, never notified.
    controller->showSettings();
    SettingsDialog *dialog = controller->settingsDialog();
    QVERIFY(dialog);
    SettingsDialog::Values values = dialog->values();
    QCOMPARE(values.muted, QList<ConversationKey>{random});
    values.notifications = false;
    dialog->setValues(values);
    dialog->accept();
    bob.send(Protocol::SendMessage{QStringLiteral("random"), {}, QStringLiteral("still?"), {}});
    QTRY_COMPARE(client->conversations()->unreadCount(random), 3);
    bob.send(Protocol::SendMessage{QStringLiteral("general"), {}, QStringLiteral("bye"), {}});
    QTRY_COMPARE(controller->tray()->unreadCount(), 2);
    QCOMPARE(notified.count(), 2);

    // Muting is remembered per server, and there again after a restart.
    controller.reset();
    controller = makeController(joinOptions());
    QVERIFY(controller->start());
    QTRY_COMPARE(controller->client()->state(), State::Online);
    QVERIFY(controller->client()->conversations()->isMuted(random));
}

namespace {

/// The id of the latest message of a room as a test client sees it pushed.
qint64 lastPushedId(TestClient &client)
{
    qint64 id = 0;
    for (const auto &frame : client.frames) {
        if (const auto *receive = std::get_if<Protocol::ReceiveMessage>(&frame))
            id = std::max(id, receive->message.id);
    }
    return id;
}

/// Makes window the active window (tests that need "the user is reading").
bool activate(QWidget *window)
{
    window->show();
    window->activateWindow();
    return QTest::qWaitForWindowActive(window);
}

} // namespace

void TestAppController::repliesJumpToTheirOriginalAndSearchOpensHits()
{
    // A long room: the message answered is far older than what is loaded.
    Natter::ServerConfig config = TestServer::defaultConfig();
    config.rateLimit = 0;
    m_server = std::make_unique<TestServer>(config);
    QVERIFY(m_server->start());
    TestClient bob;
    QVERIFY(signInAsBob(bob, m_server->port(), {QStringLiteral("general")}));
    bob.send(Protocol::SendMessage{QStringLiteral("general"),
                                   {},
                                   QStringLiteral("the quarterly zeppelin report"),
                                   QStringLiteral("original")});
    for (int i = 0; i < 150; ++i)
        bob.send(Protocol::SendMessage{QStringLiteral("general"),
                                       {},
                                       QStringLiteral("filler %1").arg(i),
                                       QStringLiteral("filler-%1").arg(i)});
    QTRY_VERIFY(lastPushedId(bob) >= 151);
    const qint64 original = 1;

    auto controller = makeController(joinOptions());
    QVERIFY(controller->start());
    QTRY_COMPARE(controller->client()->state(), State::Online);
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    controller->setCurrentConversation(general);
    MessageListModel *model = controller->client()->messages(general);
    QTRY_VERIFY(model->lastStoredId() >= 151);
    QVERIFY(!model->storedMessage(original)); // only the latest page is loaded

    Protocol::SendMessage reply{
        QStringLiteral("general"), {}, QStringLiteral("read it, good news"), QStringLiteral("reply")};
    reply.replyTo = original;
    bob.send(reply);
    QTRY_VERIFY(model->lastStoredId() >= 152);
    const Message answer = model->messageAt(model->storedCount() - 1);
    QCOMPARE(answer.reply.id, original);
    QCOMPARE(answer.reply.text, QStringLiteral("the quarterly zeppelin report"));

    // Clicking the quote loads the original's surroundings and flashes it.
    ConversationView *view = controller->window()->messageView();
    QTRY_VERIFY(view->indexOfMessage(answer.id).isValid());
    view->scrollToLatest();
    Q_EMIT view->originalRequested(original);
    QTRY_COMPARE(view->flashingMessage(), original);
    QVERIFY(model->storedMessage(original));
    QVERIFY(model->hasNewer());
    QVERIFY(view->jumpToLatestButton()->isVisible());
    // A message pushed meanwhile waits beyond the gap; "↓ Latest" brings the latest back.
    bob.send(Protocol::SendMessage{
        QStringLiteral("general"), {}, QStringLiteral("still there?"), QStringLiteral("later")});
    QTRY_VERIFY(lastPushedId(bob) >= 153);
    QTest::mouseClick(view->jumpToLatestButton(), Qt::LeftButton);
    QTRY_VERIFY(!model->hasNewer());
    QTRY_COMPARE(model->lastStoredId(), 153);
    QVERIFY(!model->storedMessage(original));

    // Search finds the old message; Enter opens it in its conversation.
    MainWindow *window = controller->window();
    window->openSearch();
    QTest::keyClicks(window->searchPanel()->field(), QStringLiteral("zeppelin"));
    QTest::keyClick(window->searchPanel()->field(), Qt::Key_Return);
    QTRY_COMPARE(window->searchPanel()->results()->rowCount(), 1);
    QStandardItem *group = window->searchPanel()->results()->item(0);
    QCOMPARE(group->text(), QStringLiteral("#general"));
    QCOMPARE(group->rowCount(), 1);
    QCOMPARE(group->child(0)->data(SearchPanel::IdRole).toLongLong(), original);
    controller->client()->openRoom(QStringLiteral("random"));
    controller->setCurrentConversation(ConversationKey::room(QStringLiteral("random")));
    QTest::keyClick(window->searchPanel()->field(), Qt::Key_Return);
    QTRY_COMPARE(window->currentConversation(), general);
    QTRY_COMPARE(view->flashingMessage(), original);

    // "Copy link" puts the link on the clipboard and says "Copied" there and then.
    Q_EMIT view->copyLinkRequested(original);
    QCOMPARE(QGuiApplication::clipboard()->text(), AppController::messageLink(general, original).toString());
    QTRY_VERIFY(QToolTip::isVisible());
    QCOMPARE(QToolTip::text(), QStringLiteral("Copied"));
    // A link to a message opens it the same way.
    view->scrollToLatest();
    QTRY_COMPARE(view->flashingMessage(), 0);
    Q_EMIT view->linkActivated(AppController::messageLink(general, original));
    QTRY_COMPARE(view->flashingMessage(), original);
}

void TestAppController::editsDeletionsAndReactionsFromTheWindow()
{
    auto controller = makeController(joinOptions());
    TestClient bob;
    QVERIFY(startInGeneralWithRandomOpen(*controller, bob));
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    MainWindow *window = controller->window();
    MessageListModel *model = controller->client()->messages(general);

    // Alice writes, fixes a typo with Up, reacts to Bob, and takes her message back.
    window->focusComposer();
    QTest::keyClicks(window->composer(), QStringLiteral("lunhc at noon"));
    QTest::keyClick(window->composer(), Qt::Key_Return);
    QTRY_VERIFY(model->lastStoredId() > 0);
    const qint64 mine = model->lastStoredId();
    QVERIFY(bob.waitFor<Protocol::ReceiveMessage>().has_value());
    QTest::keyClick(window->composer(), Qt::Key_Up);
    QVERIFY(window->isEditing());
    window->composer()->selectAll();
    QTest::keyClicks(window->composer(), QStringLiteral("lunch at noon"));
    QTest::keyClick(window->composer(), Qt::Key_Return);
    const auto edited = bob.waitFor<Protocol::MessageChange>();
    QVERIFY(edited.has_value());
    QCOMPARE(edited->message.text, QStringLiteral("lunch at noon"));
    QTRY_VERIFY(model->storedMessage(mine)->edited.isValid());
    QVERIFY(!window->isEditing());
    QVERIFY(window->composer()->toPlainText().isEmpty());

    bob.send(
        Protocol::SendMessage{QStringLiteral("general"), {}, QStringLiteral("sure"), QStringLiteral("b1")});
    QTRY_VERIFY(model->lastStoredId() > mine);
    const qint64 bobs = model->lastStoredId();
    Q_EMIT window->messageView()->reactionToggled(bobs, QStringLiteral("👍"), true);
    QTRY_COMPARE(model->storedMessage(bobs)->reactions.size(), 1);
    QVERIFY(model->storedMessage(bobs)->reactions.at(0).mine);
    // Clicking the chip takes it back.
    const MessageDelegate::Layout layout = [&] {
        ConversationView *view = window->messageView();
        const QModelIndex index = view->indexOfMessage(bobs);
        QStyleOptionViewItem option;
        option.initFrom(view->viewport());
        option.rect = view->visualRect(index);
        option.font = view->font();
        option.widget = view;
        return view->messageDelegate()->layout(option, index);
    }();
    QCOMPARE(layout.chips.size(), 1);
    QTest::mouseClick(
        window->messageView()->viewport(), Qt::LeftButton, {},
        layout.chips.at(0).rect.center() +
            window->messageView()->visualRect(window->messageView()->indexOfMessage(bobs)).topLeft());
    QTRY_VERIFY(model->storedMessage(bobs)->reactions.isEmpty());

    Q_EMIT window->messageView()->deleteRequested(mine);
    auto *box = window->findChild<QMessageBox *>(QStringLiteral("confirmDelete"));
    QVERIFY(box);
    for (QAbstractButton *button : box->buttons()) {
        if (box->buttonRole(button) == QMessageBox::DestructiveRole)
            button->click();
    }
    QTRY_VERIFY(model->storedMessage(mine)->deleted);
    QVERIFY(model->storedMessage(mine)->text.isEmpty());

    // Offline, the window says why nothing happens.
    m_server->stop();
    QTRY_VERIFY(controller->client()->state() != State::Online);
    Q_EMIT window->messageView()->reactionToggled(bobs, QStringLiteral("👍"), true);
    QVERIFY(window->errorText().contains(QStringLiteral("offline")));
}

void TestAppController::readMarkersAndMutesFollowTheOtherDevice()
{
    auto controller = makeController(joinOptions());
    TestClient bob;
    QVERIFY(startInGeneralWithRandomOpen(*controller, bob));
    ChatClient *client = controller->client();
    const ConversationKey random = ConversationKey::room(QStringLiteral("random"));
    // The user reads elsewhere: messages in #random count as unread here.
    QWidget elsewhere;
    QVERIFY(activate(&elsewhere));
    for (int i = 0; i < 3; ++i)
        bob.send(Protocol::SendMessage{QStringLiteral("random"), {}, QStringLiteral("news %1").arg(i), {}});
    QTRY_COMPARE(client->conversations()->unreadCount(random), 3);
    const qint64 second = client->messages(random)->lastStoredId() - 1;

    // Alice's other computer reads up to the second of them…
    TestClient laptop;
    QVERIFY(laptop.open(m_server->port()));
    QVERIFY(laptop.hello(QStringLiteral("Alice"), QStringLiteral("alice@example.org")));
    QVERIFY(laptop.join(QStringLiteral("random")));
    laptop.send(Protocol::MarkRead{QStringLiteral("random"), {}, second});
    // …and the badge here follows: one left.
    QTRY_COMPARE(client->conversations()->unreadCount(random), 1);
    QCOMPARE(client->conversationState(random).readId, second);
    // Opening #random here shows "New messages" above the unread one.
    controller->setCurrentConversation(random);
    QCOMPARE(controller->window()->messageView()->readMarker(), second);
    // Reading it here (the window active) moves the marker for the laptop.
    QVERIFY(activate(controller->window()));
    std::optional<Protocol::ReadMarker> marker;
    do // markers of other conversations (if any) are not the point here
        marker = laptop.waitFor<Protocol::ReadMarker>();
    while (marker && marker->state.room != QStringLiteral("random"));
    QVERIFY(marker.has_value());
    QCOMPARE(marker->state.readId, second + 1);
    QCOMPARE(client->conversations()->unreadCount(random), 0);

    // Muting on the laptop mutes here too, and back.
    laptop.send(Protocol::MuteRequest{QStringLiteral("random"), {}, true});
    QTRY_VERIFY(client->conversations()->isMuted(random));
    Q_EMIT controller->window()->muteRequested(random, false);
    const auto unmuted = laptop.waitFor<Protocol::Muted>(); // the laptop's own echo first
    QVERIFY(unmuted.has_value());
    QTRY_VERIFY(!client->conversations()->isMuted(random));
    std::optional<Protocol::Muted> last;
    while (auto next = laptop.waitFor<Protocol::Muted>(2000))
        last = next;
    QVERIFY(last.has_value());
    QCOMPARE(last->muted, false);
}

void TestAppController::closingARoomAsksOnceAndADirectConversationOnlyHides()
{
    auto controller = makeController(joinOptions());
    TestClient bob;
    QVERIFY(startInGeneralWithRandomOpen(*controller, bob));
    ChatClient *client = controller->client();
    MainWindow *window = controller->window();
    const ConversationKey random = ConversationKey::room(QStringLiteral("random"));
    const auto leaveBox = [window] {
        return window->findChild<QMessageBox *>(QStringLiteral("confirmLeave"));
    };
    const auto answer = [](QMessageBox *box, const QString &text) {
        for (QAbstractButton *button : box->buttons()) {
            if (button->text() == text)
                button->click();
        }
    };

    // Ctrl+W on #random asks; Cancel keeps it.
    controller->setCurrentConversation(random);
    Q_EMIT window->closeConversationRequested(random);
    QMessageBox *box = leaveBox();
    QVERIFY(box);
    QCOMPARE(box->text(), QStringLiteral("Leave #random? You can rejoin from Rooms (Ctrl+J)."));
    answer(box, QStringLiteral("Cancel"));
    QTRY_VERIFY(!leaveBox() || !leaveBox()->isVisible());
    QVERIFY(client->openConversations().contains(random));
    // Asked again; "Don't ask again" and Leave: gone, and never asked after.
    Q_EMIT window->closeConversationRequested(random);
    QTRY_VERIFY(leaveBox() && leaveBox()->isVisible());
    box = leaveBox();
    box->checkBox()->setChecked(true);
    answer(box, QStringLiteral("Leave"));
    QTRY_VERIFY(!client->openConversations().contains(random));
    QVERIFY(!controller->settings().askBeforeLeavingRooms());
    QVERIFY(client->openRoom(QStringLiteral("random")));
    QTRY_VERIFY(client->messages(random));
    QTRY_VERIFY(!leaveBox());
    Q_EMIT window->closeConversationRequested(random);
    QVERIFY(!leaveBox());
    QTRY_VERIFY(!client->openConversations().contains(random));

    // A direct conversation closes without a question, and comes back with the next message.
    const ConversationKey withBob = ConversationKey::direct(QStringLiteral("bob@example.org"));
    bob.send(Protocol::SendMessage{{}, QStringLiteral("alice@example.org"), QStringLiteral("psst"), {}});
    QTRY_VERIFY(client->openConversations().contains(withBob));
    // His row's avatar says he is here.
    ConversationListModel *conversations = client->conversations();
    QTRY_COMPARE(conversations->index(conversations->indexOf(withBob))
                     .data(ConversationListModel::PresenceRole)
                     .toInt(),
                 1);
    Q_EMIT window->closeConversationRequested(withBob);
    QVERIFY(!leaveBox());
    QTRY_VERIFY(!client->openConversations().contains(withBob));
    bob.send(
        Protocol::SendMessage{{}, QStringLiteral("alice@example.org"), QStringLiteral("still there?"), {}});
    QTRY_VERIFY(client->openConversations().contains(withBob));
}

void TestAppController::someoneNewCreatesTheirAccountInAFriendlyForm()
{
    // Dan joins without a password: a form, not a pink error; the password
    // twice; a short one is refused with one clear sentence.
    ClientOptions options = joinOptions();
    options.identity = User{QStringLiteral("Dan"), QStringLiteral("dan@example.org")};
    options.password.clear();
    auto controller = makeController(options);
    QVERIFY(controller->start());
    MainWindow *window = controller->window();
    PasswordDialog *form = nullptr;
    QTRY_VERIFY((form = window->findChild<PasswordDialog *>(QStringLiteral("passwordDialog"))));
    QVERIFY(form->isNewAccount());
    QVERIFY(window->errorText().isEmpty());
    form->passwordField()->setText(QStringLiteral("dans own password"));
    form->confirmField()->setText(QStringLiteral("dans own password"));
    QVERIFY(form->okButton()->isEnabled());
    QTest::mouseClick(form->okButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(controller->client()->state(), State::Online, PasswordSignInMs);
    QCOMPARE(controller->client()->self().email, QStringLiteral("dan@example.org"));

    // Erin tries a short one (from the command line): the server's refusal
    // reads once in the form's note, not "Choose a longer password: choose a…".
    options.identity = User{QStringLiteral("Erin"), QStringLiteral("erin@example.org")};
    options.password = QStringLiteral("short");
    auto erin =
        std::make_unique<AppController>(AppSettings::fromFile(m_dir->filePath(QStringLiteral("erin.ini"))),
                                        options, std::make_unique<MemoryCredentialStore>());
    QVERIFY(erin->start());
    PasswordDialog *again = nullptr;
    QTRY_VERIFY((again = erin->window()->findChild<PasswordDialog *>(QStringLiteral("passwordDialog"))));
    auto *note = again->findChild<QLabel *>(QStringLiteral("passwordNote"));
    QVERIFY(note);
    QCOMPARE(note->text(), QStringLiteral("Choose a password of at least 8 characters."));
    QVERIFY(erin->window()->errorText().isEmpty());
}

void TestAppController::itOpensWhereTheUserStoppedAndCountsDownAsSeen_data()
{
    QTest::addColumn<int>("unread");
    QTest::newRow("30, on the latest page") << 30;
    QTest::newRow("121, beyond it") << 121;
}

void TestAppController::itOpensWhereTheUserStoppedAndCountsDownAsSeen()
{
    QFETCH(int, unread);
    auto controller = makeController(joinOptions());
    TestClient bob;
    QVERIFY(startInGeneralWithRandomOpen(*controller, bob));
    ChatClient *client = controller->client();
    MainWindow *window = controller->window();
    ConversationView *view = window->messageView();
    const ConversationKey random = ConversationKey::room(QStringLiteral("random"));
    window->resize(900, 600);
    QVERIFY(activate(window));

    // Alice says something in #random: what she sends, she has read.
    controller->setCurrentConversation(random);
    client->sendMessage(random, QStringLiteral("back after lunch"));
    QTRY_COMPARE(client->messages(random)->storedCount(), 1);
    const qint64 hers = client->messages(random)->lastStoredId();
    QTRY_COMPARE(client->conversationState(random).readId, hers);

    // She goes to #general and another program; Bob writes a lot in #random.
    controller->setCurrentConversation(ConversationKey::room(QStringLiteral("general")));
    QWidget elsewhere;
    QVERIFY(activate(&elsewhere));
    for (int i = 1; i <= unread; ++i) {
        Protocol::SendMessage point{
            QStringLiteral("random"), {}, QStringLiteral("point %1 of the plan").arg(i), {}};
        if (i == unread - 2) // one of them calls her by name: a badge of its own, in the tray too
            point.mentions = {QStringLiteral("alice@example.org")};
        bob.send(point);
    }
    QTRY_COMPARE_WITH_TIMEOUT(client->conversations()->unreadCount(random), unread, 10000);
    QCOMPARE(client->conversations()->mentionCount(random), 1);
    QCOMPARE(controller->tray()->mentionCount(), 1);

    // Back, she opens #random: at the first unread with the line above it,
    // not at the bottom, and the badge is not cleared by opening.
    QVERIFY(activate(window));
    controller->setCurrentConversation(random);
    QCOMPARE(view->readMarker(), hers);
    QTRY_VERIFY(!view->isOpeningAtReadMarker());
    MessageListModel *messages = client->messages(random);
    const QModelIndex first = view->indexOfMessage(hers + 1);
    QVERIFY(first.isValid());
    QCOMPARE(first.data(MessageListModel::TextRole).toString(), QStringLiteral("point 1 of the plan"));
    const QRect firstRect = view->visualRect(first);
    QVERIFY2(firstRect.top() >= -2 && firstRect.top() < view->viewport()->height() / 4,
             qPrintable(QString::number(firstRect.top())));
    QVERIFY(!view->isAtBottom());
    QTRY_VERIFY(view->jumpToLatestButton()->isVisible());
    const int left = view->unseenCount();
    QVERIFY2(left > 0 && left < unread, qPrintable(QString::number(left)));
    QCOMPARE(view->jumpToLatestButton()->text(), QStringLiteral("↓ %1 new · Jump to latest").arg(left));
    QTRY_COMPARE(client->conversations()->unreadCount(random), left);
    QCOMPARE(client->conversationState(random).readId, view->lastVisibleMessage());
    QCOMPARE(client->conversations()->mentionCount(random), 1); // still below
    QTRY_VERIFY(view->jumpToMentionButton()->isVisible());

    // Reading on counts the badge down; "Jump to latest" reads the rest.
    QScrollBar *bar = view->verticalScrollBar();
    bar->setValue(bar->value() + view->viewport()->height());
    QTRY_VERIFY(client->conversations()->unreadCount(random) < left);
    QTest::mouseClick(view->jumpToLatestButton(), Qt::LeftButton);
    QTRY_VERIFY(view->isAtBottom() && !messages->hasNewer());
    QTRY_COMPARE(client->conversations()->unreadCount(random), 0);
    QCOMPARE(client->conversations()->mentionCount(random), 0);
    QCOMPARE(controller->tray()->mentionCount(), 0);
    QTRY_COMPARE(client->conversationState(random).readId, messages->lastStoredId());
    QCOMPARE(messages->storedMessage(messages->lastStoredId())->text,
             QStringLiteral("point %1 of the plan").arg(unread));
}

QTEST_MAIN(TestAppController)
#include "tst_appcontroller.moc"
