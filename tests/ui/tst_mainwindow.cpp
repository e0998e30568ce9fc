// The window's message list as a user scrolls it (offscreen): older history
// is asked for at the top only, arrives without moving what is being read,
// and a long backlog is given back once the user is at the bottom again.
#include "common/conversationlistmodel.h"
#include "common/memberlistmodel.h"
#include "common/messagelistmodel.h"
#include "ui/composer.h"
#include "ui/composerbar.h"
#include "ui/conversationview.h"
#include "ui/elidedlabel.h"
#include "ui/mainwindow.h"
#include "ui/theme.h"
#include "ui/translations.h"
#include "ui/uploadsheet.h"

#include <QAbstractItemView>
#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCompleter>
#include <QDialog>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QScreen>
#include <QScrollBar>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTextDocument>
#include <QToolButton>

using namespace Natter;

namespace {

QList<Message> messages(qint64 firstId, qint64 lastId)
{
    QList<Message> list;
    const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-100000);
    for (qint64 id = firstId; id <= lastId; ++id) {
        Message m;
        m.id = id;
        m.room = QStringLiteral("general");
        m.from = id % 2 ? User{QStringLiteral("Bob"), QStringLiteral("bob@example.org")}
                        : User{QStringLiteral("Carol"), QStringLiteral("carol@example.org")};
        m.text = QStringLiteral("message number %1").arg(id);
        m.timestamp = start.addSecs(id * 30);
        list.append(m);
    }
    return list;
}

/// Shows the window at a fixed size with model as #general.
bool showGeneral(MainWindow &window, MessageListModel &model)
{
    window.resize(900, 600);
    window.show();
    if (!QTest::qWaitForWindowExposed(&window))
        return false;
    window.showConversation(ConversationKey::room(QStringLiteral("general")), &model);
    return true;
}

/// The upload sheet open on window now, if any (one being closed is not).
UploadSheet *openSheet(const MainWindow &window)
{
    const QList<UploadSheet *> sheets = window.findChildren<UploadSheet *>();
    for (UploadSheet *sheet : sheets) {
        if (sheet->isVisible())
            return sheet;
    }
    return nullptr;
}

} // namespace

class TestMainWindow final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void olderHistoryIsAskedForAtTheTopOnly();
    void olderHistoryKeepsTheReadingPosition();
    void longBacklogIsTrimmedBackAtTheBottom();
    void keyboardSwitchesConversationsAndFocusesTheComposer();
    void newMessagesBelowOfferAJump();
    void narrowWindowsKeepARoomyMessageColumn();
    void panesFollowTheViewMenu();
    void listsEveryKeyboardShortcut();
    void themesRepaintEverything();
    void anEmptyConversationSaysSo();
    void upEditsTheLastOwnMessageAndEscCancels();
    void aReplyCarriesTheMessageItAnswers();
    void deletingAsksFirst();
    void atOpensACompleterOverTheMembers();
    void editingKeepsTheMentions();
    void aNameTypedInFullIsAMention();
    void readingReportsTheLastVisibleMessage();
    void droppedFilesAreShared();
    void aDirectConversationHasNoEmptyMembersPane();
    void aNarrowWindowShowsOnePaneAtATime();
    void sidebarSectionsFitTheirRowsAndFold();
    void theStatusBarNeverCutsWords();
    void pastingShareImagesAndFilesButKeepsText();
    void pastingOrDroppingNothingKeepsTheDraft();
    void eachConversationKeepsItsOwnDraft();
    void thePaperclipIsThere();
};

void TestMainWindow::olderHistoryIsAskedForAtTheTopOnly()
{
    MessageListModel model;
    model.addMessages(messages(1001, 1060));
    model.setHasOlder(true);
    QSignalSpy requested(&model, &MessageListModel::olderMessagesRequested);
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    QScrollBar *bar = window.messageView()->verticalScrollBar();
    QTRY_VERIFY(bar->maximum() > 0);
    QTRY_COMPARE(bar->value(), bar->maximum()); // a chat opens at its latest message
    QCOMPARE(requested.count(), 0);             // and Qt's fetch-at-the-bottom does not fire
    bar->setValue(0);
    QTRY_COMPARE(requested.count(), 1);
    QCOMPARE(requested.at(0).at(0).toLongLong(), 1001);
}

void TestMainWindow::olderHistoryKeepsTheReadingPosition()
{
    MessageListModel model;
    model.addMessages(messages(1001, 1060));
    model.setHasOlder(true);
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    QListView *view = window.messageView();
    QScrollBar *bar = view->verticalScrollBar();
    QTRY_VERIFY(bar->maximum() > 0);
    bar->setValue(view->viewport()->height()); // reading near the top, not at it
    const QModelIndex reading = view->indexAt(QPoint(10, 10));
    QVERIFY(reading.isValid());
    const qint64 readingId = reading.data(MessageListModel::IdRole).toLongLong();
    const int readingTop = view->visualRect(reading).top();

    model.prependOlder(messages(951, 1000), true);
    QCOMPARE(model.rowCount(), 110);
    const QModelIndex same = view->model()->index(int(readingId - 951), 0);
    QCOMPARE(same.data(MessageListModel::IdRole).toLongLong(), readingId);
    QTRY_COMPARE(view->visualRect(same).top(), readingTop);
}

void TestMainWindow::longBacklogIsTrimmedBackAtTheBottom()
{
    MessageListModel model;
    model.addMessages(messages(1, ConversationView::MaxLoadedAtBottom + 500));
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    QTRY_VERIFY(model.storedCount() <= ConversationView::MaxLoadedAtBottom);
    QVERIFY(model.canFetchMore({})); // what was dropped can be fetched again
    QCOMPARE(model.lastStoredId(), ConversationView::MaxLoadedAtBottom + 500);
    QScrollBar *bar = window.messageView()->verticalScrollBar();
    QTRY_COMPARE(bar->value(), bar->maximum());
}

void TestMainWindow::keyboardSwitchesConversationsAndFocusesTheComposer()
{
    ConversationListModel conversations;
    conversations.add(ConversationKey::room(QStringLiteral("general")));
    conversations.add(ConversationKey::room(QStringLiteral("random")));
    conversations.add(ConversationKey::direct(QStringLiteral("bob@example.org")), QStringLiteral("Bob"));
    MessageListModel messages;
    MainWindow window;
    window.setConversationModel(&conversations);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.activateWindow();
    window.showConversation(ConversationKey::room(QStringLiteral("general")), &messages);
    QSignalSpy selected(&window, &MainWindow::conversationSelected);

    QTest::keyClick(&window, Qt::Key_Down, Qt::AltModifier);
    QCOMPARE(selected.count(), 1);
    QCOMPARE(selected.at(0).at(0).value<ConversationKey>(), ConversationKey::room(QStringLiteral("random")));
    QTest::keyClick(&window, Qt::Key_Up, Qt::AltModifier); // from general (still shown): wraps to the last
    QCOMPARE(selected.at(1).at(0).value<ConversationKey>(),
             ConversationKey::direct(QStringLiteral("bob@example.org")));
    QTest::keyClick(&window, Qt::Key_3, Qt::ControlModifier);
    QCOMPARE(selected.at(2).at(0).value<ConversationKey>(),
             ConversationKey::direct(QStringLiteral("bob@example.org")));

    window.messageView()->setFocus();
    QTest::keyClick(&window, Qt::Key_L, Qt::ControlModifier);
    QTRY_VERIFY(window.composer()->hasFocus());
    // Typing while the message list has focus goes to the composer.
    window.messageView()->setFocus();
    QTest::keyClicks(window.messageView(), QStringLiteral("hi"));
    QCOMPARE(window.composer()->toPlainText(), QStringLiteral("hi"));
    QVERIFY(window.composer()->hasFocus());
}

void TestMainWindow::newMessagesBelowOfferAJump()
{
    MessageListModel model;
    model.addMessages(messages(1, 80));
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    QScrollBar *bar = window.messageView()->verticalScrollBar();
    QTRY_COMPARE(bar->value(), bar->maximum());
    QVERIFY(!window.jumpToLatestButton()->isVisible());

    // At the bottom, new messages scroll into view: no button.
    model.addMessages(messages(81, 81));
    QTRY_COMPARE(bar->value(), bar->maximum());
    QVERIFY(!window.jumpToLatestButton()->isVisible());

    // Reading further up: the view stays put and counts what arrives below.
    bar->setValue(bar->maximum() / 2);
    const int reading = bar->value();
    QVERIFY(window.jumpToLatestButton()->isVisible()); // far up: a way back down
    QCOMPARE(window.jumpToLatestButton()->text(), QStringLiteral("↓ Latest"));
    model.addMessages(messages(82, 82));
    QTRY_COMPARE(window.jumpToLatestButton()->text(), QStringLiteral("↓ 1 new · Jump to latest"));
    model.addMessages(messages(83, 83));
    QTRY_COMPARE(window.jumpToLatestButton()->text(), QStringLiteral("↓ 2 new · Jump to latest"));
    QCOMPARE(bar->value(), reading);

    QTest::mouseClick(window.jumpToLatestButton(), Qt::LeftButton);
    QTRY_COMPARE(bar->value(), bar->maximum());
    QVERIFY(!window.jumpToLatestButton()->isVisible());
}

void TestMainWindow::narrowWindowsKeepARoomyMessageColumn()
{
    MessageListModel model;
    model.addMessages(messages(1, 5));
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    const int em = window.fontMetrics().averageCharWidth();
    // A window has a minimum size; asked for less, it stays usable.
    QVERIFY(window.minimumWidth() >= em * 50);
    window.resize(300, 300);
    QTRY_VERIFY(window.width() >= window.minimumWidth());
    // At 480 px the side panes give way: the messages keep most of the width.
    window.resize(480, 600);
    QTRY_COMPARE(window.width(), 480);
    QTRY_VERIFY2(window.messageView()->width() >= 400,
                 qPrintable(QString::number(window.messageView()->width())));
    QVERIFY(!window.memberList()->isVisible());
    QVERIFY(!window.roomList()->isVisible());
    // Wide again: they come back.
    window.resize(1200, 700);
    QTRY_VERIFY(window.memberList()->isVisible());
    QVERIFY(window.roomList()->isVisible());
}

void TestMainWindow::panesFollowTheViewMenu()
{
    MessageListModel model;
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    window.resize(1200, 700);
    QSignalSpy changed(&window, &MainWindow::panesChanged);
    window.setPanesShown(false, true);
    QTRY_VERIFY(!window.roomList()->isVisible());
    QVERIFY(window.memberList()->isVisible());
    QCOMPARE(window.isSidebarShown(), false);
    // Ctrl+Shift+S and Ctrl+Shift+M toggle them, and say so (to be remembered).
    const QList<QAction *> actions = window.findChildren<QAction *>();
    for (QAction *action : actions) {
        if (action->shortcut() == QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S))
            action->trigger();
    }
    QTRY_VERIFY(window.roomList()->isVisible());
    QVERIFY(changed.count() >= 1);
    QCOMPARE(changed.last().at(0).toBool(), true);
    QCOMPARE(changed.last().at(1).toBool(), true);
}

void TestMainWindow::listsEveryKeyboardShortcut()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QAction *help = nullptr;
    QList<QKeySequence> shortcuts;
    const QList<QAction *> actions = window.findChildren<QAction *>();
    for (QAction *action : actions) {
        if (action->shortcut() == QKeySequence(Qt::CTRL | Qt::Key_Slash))
            help = action;
        if (!action->shortcut().isEmpty() && !shortcuts.contains(action->shortcut()))
            shortcuts.append(action->shortcut());
    }
    QVERIFY(help);
    // The Send button is an icon, named for screen readers.
    auto *send = window.findChild<QPushButton *>(QStringLiteral("sendButton"));
    QVERIFY(send);
    QVERIFY(send->text().isEmpty());
    QVERIFY(!send->icon().isNull());
    QCOMPARE(send->accessibleName(), MainWindow::tr("Send"));
    help->trigger();
    auto *dialog = window.findChild<QDialog *>(QStringLiteral("keyboardShortcuts"));
    QVERIFY(dialog);
    auto *table = dialog->findChild<QTableWidget *>();
    QVERIFY(table);
    QStringList listed;
    for (int row = 0; row < table->rowCount(); ++row)
        listed.append(table->item(row, 1)->text());
    // Every key the window answers to is in the list, generated from the actions.
    for (const QKeySequence &shortcut : std::as_const(shortcuts))
        QVERIFY2(listed.contains(shortcut.toString(QKeySequence::NativeText)),
                 qPrintable(shortcut.toString()));
    QVERIFY(listed.contains(QKeySequence(Qt::CTRL | Qt::Key_W).toString(QKeySequence::NativeText)));
    QVERIFY(listed.contains(QKeySequence(Qt::CTRL | Qt::Key_3).toString(QKeySequence::NativeText)));
    dialog->close();
}

void TestMainWindow::themesRepaintEverything()
{
    MessageListModel model;
    model.addMessages(messages(1, 5));
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    const QPalette system = QApplication::palette();
    // What the window last painted (its backing store), not a fresh render.
    auto paintedLightness = [&window](QWidget *widget) {
        QCoreApplication::processEvents();
        const QImage shot = window.screen()->grabWindow(window.winId()).toImage();
        const QPoint at = widget->mapTo(&window, QPoint(3, 3)) * shot.devicePixelRatio();
        return shot.pixelColor(at).lightnessF();
    };
    QSignalSpy changed(&window, &MainWindow::themeChanged);
    window.setTheme(Theme::Dark);
    QCOMPARE(window.theme(), Theme::Dark);
    QCoreApplication::processEvents(); // the palette reaches widgets by posted events
    QVERIFY(window.palette().color(QPalette::Base).lightnessF() < 0.2);
    QVERIFY(paintedLightness(window.messageView()->viewport()) < 0.2);
    QVERIFY(paintedLightness(window.roomList()->viewport()) < 0.2);
    QVERIFY(paintedLightness(window.composer()->viewport()) < 0.2);
    window.setTheme(Theme::Light);
    QVERIFY(paintedLightness(window.messageView()->viewport()) > 0.8);
    QVERIFY(paintedLightness(window.composer()->viewport()) > 0.8);
    QCOMPARE(changed.count(), 0); // set by the app, not chosen by the user
    // Chosen from the View menu: said, to be remembered.
    const QList<QAction *> actions = window.findChildren<QAction *>();
    for (QAction *action : actions) {
        if (action->isCheckable() && action->data().value<Theme>() == Theme::System &&
            !action->data().isNull())
            action->trigger();
    }
    QCOMPARE(changed.count(), 1);
    QCOMPARE(window.theme(), Theme::System);
    QCOMPARE(QApplication::palette().color(QPalette::Base), system.color(QPalette::Base));
}

void TestMainWindow::anEmptyConversationSaysSo()
{
    MessageListModel general;
    MainWindow window;
    QVERIFY(showGeneral(window, general));
    QLabel *hint = window.noMessagesLabel();
    QVERIFY(hint->isVisible());
    QCOMPARE(hint->text(), QStringLiteral("No messages in #general yet. Say hello!"));
    general.addMessages(messages(1, 1));
    QVERIFY(!hint->isVisible());

    // A direct conversation names the person; one with older history to fetch is not "empty".
    MessageListModel bob;
    window.showConversation(ConversationKey::direct(QStringLiteral("bob@example.org")), &bob);
    window.setConversationHeader(QStringLiteral("Bob"), QString());
    QVERIFY(hint->isVisible());
    QCOMPARE(hint->text(), QStringLiteral("This is the start of your conversation with Bob."));
    MessageListModel carol;
    carol.setHasOlder(true);
    window.showConversation(ConversationKey::direct(QStringLiteral("carol@example.org")), &carol);
    QVERIFY(!hint->isVisible());
    window.showConversation({}, nullptr);
    QVERIFY(!hint->isVisible());
}

void TestMainWindow::initTestCase()
{
    installTranslations(qApp); // the app's English plural forms, as natter loads them
}

QTEST_MAIN(TestMainWindow)
namespace {

/// Alice's view of #general: messages 1..20 from Bob and Carol, then two of hers.
void addOwnMessages(MessageListModel &model)
{
    model.setOwnEmail(QStringLiteral("alice@example.org"));
    model.addMessages(messages(1, 20));
    QList<Message> own = messages(21, 22);
    for (Message &m : own)
        m.from = User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")};
    model.addMessages(own);
}

} // namespace

void TestMainWindow::upEditsTheLastOwnMessageAndEscCancels()
{
    MainWindow window;
    MessageListModel model;
    addOwnMessages(model);
    QVERIFY(showGeneral(window, model));
    QSignalSpy edits(&window, &MainWindow::editRequested);
    QSignalSpy sends(&window, &MainWindow::sendRequested);
    window.focusComposer();
    QTest::keyClick(window.composer(), Qt::Key_Up);
    QVERIFY(window.isEditing());
    QCOMPARE(window.composer()->toPlainText(), QStringLiteral("message number 22"));
    QVERIFY(window.composerBannerLabel()->isVisible());
    // Esc leaves the message as it was and the composer empty.
    QTest::keyClick(window.composer(), Qt::Key_Escape);
    QVERIFY(!window.isEditing());
    QVERIFY(window.composer()->toPlainText().isEmpty());
    QVERIFY(!window.composerBannerLabel()->isVisible());

    // Up again, change it, Enter: an edit, not a new message.
    QTest::keyClick(window.composer(), Qt::Key_Up);
    QTest::keyClicks(window.composer(), QStringLiteral(", fixed"));
    QTest::keyClick(window.composer(), Qt::Key_Return);
    QCOMPARE(edits.size(), 1);
    QCOMPARE(edits.at(0).at(0).toLongLong(), 22);
    QCOMPARE(edits.at(0).at(1).toString(), QStringLiteral("message number 22, fixed"));
    QCOMPARE(sends.size(), 0);
    window.editAccepted();
    QVERIFY(!window.isEditing());
    QVERIFY(window.composer()->toPlainText().isEmpty());

    // Up with text in the composer moves the cursor, as in any editor.
    QTest::keyClicks(window.composer(), QStringLiteral("draft"));
    QTest::keyClick(window.composer(), Qt::Key_Up);
    QVERIFY(!window.isEditing());
    // Switching conversations ends an edit.
    window.composer()->clear();
    QTest::keyClick(window.composer(), Qt::Key_Up);
    QVERIFY(window.isEditing());
    MessageListModel other;
    window.showConversation(ConversationKey::room(QStringLiteral("random")), &other);
    QVERIFY(!window.isEditing());
    QVERIFY(window.composer()->toPlainText().isEmpty());
}

void TestMainWindow::aReplyCarriesTheMessageItAnswers()
{
    MainWindow window;
    MessageListModel model;
    addOwnMessages(model);
    QVERIFY(showGeneral(window, model));
    QSignalSpy sends(&window, &MainWindow::sendRequested);
    window.startReply(7);
    QVERIFY(window.isReplying());
    QVERIFY2(window.composerBannerLabel()->text().contains(QStringLiteral("Bob")) &&
                 window.composerBannerLabel()->text().contains(QStringLiteral("message number 7")),
             qPrintable(window.composerBannerLabel()->text()));
    QVERIFY(window.composer()->hasFocus());
    QTest::keyClicks(window.composer(), QStringLiteral("agreed"));
    QTest::keyClick(window.composer(), Qt::Key_Return);
    QCOMPARE(sends.size(), 1);
    QCOMPARE(sends.at(0).at(1).toString(), QStringLiteral("agreed"));
    QCOMPARE(sends.at(0).at(2).toLongLong(), 7);
    window.messageAccepted();
    QVERIFY(!window.isReplying());
    // The next message is not a reply.
    QTest::keyClicks(window.composer(), QStringLiteral("and another"));
    QTest::keyClick(window.composer(), Qt::Key_Return);
    QCOMPARE(sends.at(1).at(2).toLongLong(), 0);
    window.messageAccepted();
    // The original is deleted meanwhile: the reply mode ends, the text stays, and the window says why.
    window.startReply(7);
    QTest::keyClicks(window.composer(), QStringLiteral("half a thought"));
    Message gone = messages(7, 7).constFirst();
    gone.text.clear();
    gone.deleted = true;
    model.updateMessage(gone);
    QVERIFY(!window.isReplying());
    QCOMPARE(window.composer()->toPlainText(), QStringLiteral("half a thought"));
    QVERIFY(window.errorText().contains(QStringLiteral("deleted")));
    window.composer()->clear();
    window.startReply(7); // a deleted message cannot be answered
    QVERIFY(!window.isReplying());
    // The cancel button ends a reply without sending.
    window.startReply(8);
    QVERIFY(window.isReplying());
    QTest::mouseClick(window.findChild<QToolButton *>(QStringLiteral("cancelComposerMode")), Qt::LeftButton);
    QVERIFY(!window.isReplying());
}

void TestMainWindow::deletingAsksFirst()
{
    MainWindow window;
    MessageListModel model;
    addOwnMessages(model);
    QVERIFY(showGeneral(window, model));
    QSignalSpy deletions(&window, &MainWindow::deleteRequested);
    Q_EMIT window.messageView()->deleteRequested(22);
    auto *box = window.findChild<QMessageBox *>(QStringLiteral("confirmDelete"));
    QVERIFY(box);
    QTRY_VERIFY(box->isVisible());
    box->button(QMessageBox::Cancel)->click();
    QCOMPARE(deletions.size(), 0);

    Q_EMIT window.messageView()->deleteRequested(22);
    QTRY_VERIFY(window.findChild<QMessageBox *>(QStringLiteral("confirmDelete")));
    box = window.findChild<QMessageBox *>(QStringLiteral("confirmDelete"));
    for (QAbstractButton *button : box->buttons()) {
        if (box->buttonRole(button) == QMessageBox::DestructiveRole)
            button->click();
    }
    QCOMPARE(deletions.size(), 1);
    QCOMPARE(deletions.at(0).at(0).toLongLong(), 22);
}

void TestMainWindow::aNameTypedInFullIsAMention()
{
    // "@Bob" typed without picking from the popup was plain text.
    MainWindow window;
    MessageListModel model;
    MemberListModel members;
    members.setSelfEmail(QStringLiteral("alice@example.org"));
    members.setMembers({User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")},
                        User{QStringLiteral("Bob Builder"), QStringLiteral("bob@example.org")},
                        User{QStringLiteral("Carol"), QStringLiteral("carol@example.org")},
                        User{QStringLiteral("Dan"), QStringLiteral("dan@one.example")},
                        User{QStringLiteral("dan"), QStringLiteral("dan@two.example")}});
    window.setMemberModel(&members);
    QVERIFY(showGeneral(window, model));
    QSignalSpy sends(&window, &MainWindow::sendRequested);
    window.composer()->setPlainText(
        QStringLiteral("@bob builder, @carol@example.org and @Dan: mail carol@example.org, not @Caroline"));
    window.focusComposer();
    QTest::keyClick(window.composer(), Qt::Key_End, Qt::ControlModifier);
    QTest::keyClick(window.composer(), Qt::Key_Return);
    QCOMPARE(sends.size(), 1);
    QStringList mentioned = sends.at(0).at(3).toStringList();
    mentioned.sort();
    // Bob by his name, Carol by her email; "Dan" is two people: neither.
    QCOMPARE(mentioned,
             (QStringList{QStringLiteral("bob@example.org"), QStringLiteral("carol@example.org")}));
}

void TestMainWindow::editingKeepsTheMentions()
{
    // An edit dropped the message's mentions for everyone: the composer
    // knew only names chosen in its completer.
    MainWindow window;
    MessageListModel model;
    model.setOwnEmail(QStringLiteral("alice@example.org"));
    Message own = messages(30, 30).constFirst();
    own.from = User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")};
    own.text = QStringLiteral("@Bob Builder and @Dan have a look");
    own.mentions = {QStringLiteral("bob@example.org"),
                    QStringLiteral("dan@example.org")}; // Dan left the room
    model.addMessages({own});
    MemberListModel members;
    members.setSelfEmail(QStringLiteral("alice@example.org"));
    members.setMembers({User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")},
                        User{QStringLiteral("Bob Builder"), QStringLiteral("bob@example.org")}});
    window.setMemberModel(&members);
    QVERIFY(showGeneral(window, model));
    QSignalSpy edits(&window, &MainWindow::editRequested);
    window.startEdit(30);
    QVERIFY(window.isEditing());
    QTest::keyClicks(window.composer(), QStringLiteral(" today"));
    QTest::keyClick(window.composer(), Qt::Key_Return);
    QCOMPARE(edits.size(), 1);
    QStringList mentioned = edits.at(0).at(2).toStringList();
    mentioned.sort();
    QCOMPARE(mentioned, (QStringList{QStringLiteral("bob@example.org"), QStringLiteral("dan@example.org")}));
    window.editAccepted();
    // Taking "@Bob Builder" out of the text takes Bob out of the mentions.
    window.startEdit(30);
    QTextCursor cursor = window.composer()->textCursor();
    cursor.select(QTextCursor::Document);
    cursor.insertText(QStringLiteral("@Dan have a look"));
    QTest::keyClick(window.composer(), Qt::Key_Return);
    QCOMPARE(edits.size(), 2);
    QCOMPARE(edits.at(1).at(2).toStringList(), QStringList{QStringLiteral("dan@example.org")});
}

void TestMainWindow::atOpensACompleterOverTheMembers()
{
    MainWindow window;
    MessageListModel model;
    addOwnMessages(model);
    MemberListModel members;
    members.setSelfEmail(QStringLiteral("alice@example.org"));
    members.setMembers({User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")},
                        User{QStringLiteral("Bob Builder"), QStringLiteral("bob@example.org")},
                        User{QStringLiteral("Carol"), QStringLiteral("carol@example.org")}});
    window.setMemberModel(&members);
    QVERIFY(showGeneral(window, model));
    QSignalSpy sends(&window, &MainWindow::sendRequested);
    window.focusComposer();
    QTRY_VERIFY(window.composer()->hasFocus());
    QTest::keyClicks(window.composer(), QStringLiteral("hi @"));
    QCompleter *completer = window.composer()->completer();
    QTRY_VERIFY(completer->popup()->isVisible());
    QCOMPARE(completer->completionCount(), 2); // not the user themself
    // A real popup above the composer (not a 44 px list dropping over the
    // status bar): rows tall enough for an avatar, wide enough for a name and an email.
    QAbstractItemView *popup = completer->popup();
    const int composerTop = window.composer()->mapToGlobal(QPoint(0, 0)).y();
    QVERIFY2(popup->geometry().bottom() < composerTop,
             qPrintable(QStringLiteral("%1 >= %2").arg(popup->geometry().bottom()).arg(composerTop)));
    QVERIFY(popup->geometry().top() >= window.mapToGlobal(QPoint(0, 0)).y());
    QVERIFY(popup->sizeHintForRow(0) >= 2 * popup->fontMetrics().height());
    QVERIFY2(popup->width() >= 30 * popup->fontMetrics().averageCharWidth(),
             qPrintable(QString::number(popup->width())));
    QVERIFY(popup->height() >= 2 * popup->sizeHintForRow(0));
    QCOMPARE(popup->model()->index(0, 0).data(MemberListModel::IsSelfRole).toBool(), false);
    QTest::keyClicks(window.composer(), QStringLiteral("bu"));
    QTRY_COMPARE(completer->completionCount(), 1);
    QTest::keyClick(window.composer(), Qt::Key_Return); // chooses, does not send
    QCOMPARE(sends.size(), 0);
    QCOMPARE(window.composer()->toPlainText(), QStringLiteral("hi @Bob Builder "));
    QVERIFY(!completer->popup()->isVisible());
    // An email address is not a mention.
    QTest::keyClicks(window.composer(), QStringLiteral("mail carol@"));
    QVERIFY(!completer->popup()->isVisible());
    QTest::keyClick(window.composer(), Qt::Key_Return);
    QCOMPARE(sends.size(), 1);
    QCOMPARE(sends.at(0).at(3).toStringList(), QStringList{QStringLiteral("bob@example.org")});

    // A mention deleted from the text before sending is not carried.
    window.messageAccepted();
    QTest::keyClicks(window.composer(), QStringLiteral("@car"));
    QTRY_VERIFY(completer->popup()->isVisible());
    QTest::keyClick(window.composer(), Qt::Key_Tab);
    QCOMPARE(window.composer()->toPlainText(), QStringLiteral("@Carol "));
    window.composer()->selectAll();
    QTest::keyClicks(window.composer(), QStringLiteral("never mind"));
    QTest::keyClick(window.composer(), Qt::Key_Return);
    QCOMPARE(sends.at(1).at(3).toStringList(), QStringList());
}

void TestMainWindow::readingReportsTheLastVisibleMessage()
{
    MainWindow window;
    MessageListModel model;
    addOwnMessages(model);
    QSignalSpy read(&window, &MainWindow::readUpTo);
    QVERIFY(showGeneral(window, model));
    window.activateWindow();
    QTRY_VERIFY(window.isActiveWindow());
    QTRY_VERIFY(!read.isEmpty());
    QCOMPARE(read.constLast().at(0).value<ConversationKey>(),
             ConversationKey::room(QStringLiteral("general")));
    QCOMPARE(read.constLast().at(1).toLongLong(), 22);
    // A new message seen at the bottom is read too.
    model.addMessages(messages(23, 23));
    QTRY_COMPARE(read.constLast().at(1).toLongLong(), 23);
}

void TestMainWindow::aDirectConversationHasNoEmptyMembersPane()
{
    MessageListModel general;
    MessageListModel bob;
    MainWindow window;
    QVERIFY(showGeneral(window, general));
    window.resize(1300, 700);
    auto *pane = window.findChild<QWidget *>(QStringLiteral("memberPane"));
    QVERIFY(pane);
    QTRY_VERIFY(pane->isVisible());
    window.showConversation(ConversationKey::direct(QStringLiteral("bob@example.org")), &bob);
    QVERIFY(!pane->isVisible());
    window.showConversation(ConversationKey::room(QStringLiteral("general")), &general);
    QVERIFY(pane->isVisible());
    QTRY_VERIFY2(pane->width() > 10 * pane->fontMetrics().averageCharWidth(),
                 qPrintable(QString::number(pane->width())));
}

void TestMainWindow::aNarrowWindowShowsOnePaneAtATime()
{
    MessageListModel general;
    general.addMessages(messages(1, 5));
    MainWindow window;
    QVERIFY(showGeneral(window, general));
    window.resize(440, 640);
    QTRY_COMPARE(window.width(), 440);
    // The conversation, with a way back to the list.
    QTRY_VERIFY(window.messageView()->isVisible());
    QVERIFY(!window.roomList()->isVisible());
    QVERIFY(window.backButton()->isVisible());
    QTest::mouseClick(window.backButton(), Qt::LeftButton);
    QTRY_VERIFY(window.roomList()->isVisible());
    QVERIFY(window.isShowingConversationList());
    QVERIFY(!window.messageView()->isVisible());
    QTRY_VERIFY2(window.roomList()->width() >= 380, qPrintable(QString::number(window.roomList()->width())));
    // Choosing one shows it.
    window.showConversation(ConversationKey::room(QStringLiteral("general")), &general);
    QTRY_VERIFY(window.messageView()->isVisible());
    QVERIFY(!window.roomList()->isVisible());
    // View → Show Sidebar always does something: here it switches the pane, both ways.
    QAction *sidebar = nullptr;
    for (QAction *action : window.findChildren<QAction *>()) {
        if (action->shortcut() == QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S))
            sidebar = action;
    }
    QVERIFY(sidebar);
    QVERIFY(!sidebar->isChecked());
    sidebar->trigger();
    QTRY_VERIFY(window.roomList()->isVisible());
    QVERIFY(sidebar->isChecked());
    sidebar->trigger();
    QTRY_VERIFY(window.messageView()->isVisible());
    QVERIFY(!window.roomList()->isVisible());
    QVERIFY(window.isSidebarShown()); // the wide window's choice is untouched
    // Wide again: both, no back button.
    window.resize(1200, 700);
    QTRY_VERIFY(window.roomList()->isVisible());
    QVERIFY(window.messageView()->isVisible());
    QVERIFY(!window.backButton()->isVisible());
    QVERIFY(sidebar->isChecked());
    // And there Show Sidebar hides and shows it, as before.
    sidebar->trigger();
    QTRY_VERIFY(!window.roomList()->isVisible());
    QVERIFY(!window.isSidebarShown());
    sidebar->trigger();
    QTRY_VERIFY(window.roomList()->isVisible());
}

void TestMainWindow::sidebarSectionsFitTheirRowsAndFold()
{
    ConversationListModel conversations;
    conversations.add(ConversationKey::room(QStringLiteral("general")));
    conversations.add(ConversationKey::room(QStringLiteral("random")));
    conversations.add(ConversationKey::direct(QStringLiteral("bob@example.org")), QStringLiteral("Bob"));
    MessageListModel general;
    MainWindow window;
    window.setConversationModel(&conversations);
    QVERIFY(showGeneral(window, general));
    QListView *rooms = window.roomList();
    QListView *directs = window.directList();
    // As tall as their rows, not halves of the sidebar: the direct messages follow the rooms.
    const int row = rooms->sizeHintForRow(0);
    QTRY_VERIFY2(rooms->height() <= 2 * row + 8, qPrintable(QString::number(rooms->height())));
    QVERIFY(directs->height() <= row + 8);
    QVERIFY(directs->geometry().top() - rooms->geometry().bottom() < 3 * row);
    // A new room: the list grows by a row.
    conversations.add(ConversationKey::room(QStringLiteral("design")));
    QTRY_VERIFY(rooms->height() >= 3 * row);
    // The section's title folds it away, and back.
    auto *fold = window.findChild<QToolButton *>(QStringLiteral("roomListToggle"));
    QVERIFY(fold);
    QCOMPARE(fold->text(), QStringLiteral("▾ ROOMS"));
    QTest::mouseClick(fold, Qt::LeftButton);
    QVERIFY(!rooms->isVisible());
    QCOMPARE(fold->text(), QStringLiteral("▸ ROOMS"));
    QTest::mouseClick(fold, Qt::LeftButton);
    QVERIFY(rooms->isVisible());
}

void TestMainWindow::theStatusBarNeverCutsWords()
{
    MessageListModel general;
    MainWindow window;
    QVERIFY(showGeneral(window, general));
    window.setConnectionStatus(MainWindow::ConnectionIndicator::Online,
                               QStringLiteral("Connected to The Physics Department's Third Floor Lab Chat as "
                                              "Professor Alexandra Konstantinopoulou"));
    window.setConnectionSecurity(true,
                                 QStringLiteral("3F2A 91C0 11AB 22CD 33EF 4455 6677 8899 AABB CCDD EEFF "
                                                "0011 2233 4455 6677 8899"));
    window.setHostingAddresses(
        {QStringLiteral("wss://192.168.1.20:5000"), QStringLiteral("wss://10.0.0.5:5000")},
        QStringLiteral("3F2A 91C0 11AB 22CD 33EF 4455 6677 8899 AABB CCDD EEFF 0011 2233 "
                       "4455 6677 8899"));
    window.resize(440, 640);
    QTRY_COMPARE(window.width(), 440);
    // The long status ends in "…" (the whole in its tooltip), inside the window.
    auto *status = window.findChild<ElidedLabel *>(QStringLiteral("connectionStatus"));
    QVERIFY(status);
    QTRY_VERIFY2(status->shownText().endsWith(u'…'), qPrintable(status->shownText()));
    QVERIFY(status->toolTip().contains(QStringLiteral("Konstantinopoulou")));
    // The server names itself: its name in the tooltip is text, never markup.
    window.setConnectionStatus(
        MainWindow::ConnectionIndicator::Online,
        QStringLiteral("Connected to <b>Lab</b> as Professor Alexandra Konstantinopoulou of "
                       "the Third Floor"));
    QTextDocument tip;
    tip.setHtml(status->toolTip());
    QCOMPARE(tip.toPlainText(), status->text());
    for (QWidget *part : window.statusBar()->findChildren<QWidget *>()) {
        if (part->isVisible() && part->parentWidget() == window.statusBar())
            QVERIFY2(part->geometry().right() <= window.statusBar()->width(), qPrintable(part->objectName()));
    }
    // The addresses and the fingerprint are in Chat Info, grouped as the trust question groups them.
    auto *info = window.findChild<QToolButton *>(QStringLiteral("chatInfoButton"));
    QVERIFY(info && info->isVisible());
    const QString text = window.chatInfoText();
    QVERIFY(text.contains(QStringLiteral("wss://192.168.1.20:5000\nwss://10.0.0.5:5000")));
    QVERIFY2(
        text.contains(QStringLiteral("3F2A 91C0 11AB 22CD 33EF 4455 6677 8899\nAABB CCDD EEFF 0011 2233 4455 "
                                     "6677 8899")),
        qPrintable(text));
    QTest::mouseClick(info, Qt::LeftButton);
    auto *box = window.findChild<QMessageBox *>(QStringLiteral("chatInfo"));
    QVERIFY(box);
    QCOMPARE(box->text(), text);
    box->close();
}

void TestMainWindow::droppedFilesAreShared()
{
    QTemporaryDir dir;
    const QString a = dir.filePath(QStringLiteral("a.txt"));
    const QString b = dir.filePath(QStringLiteral("b c.pdf"));
    for (const QString &path : {a, b}) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("x");
    }
    MessageListModel model;
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    QSignalSpy attached(&window, &MainWindow::filesAttached);

    // Dragged from a file manager over the message list: accepted, and dropped there they are shared.
    QMimeData files;
    files.setUrls({QUrl::fromLocalFile(a), QUrl::fromLocalFile(b)});
    QWidget *target = window.messageView()->viewport();
    const QPoint at = target->rect().center();
    QDragEnterEvent enter(at, Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &enter);
    QVERIFY(enter.isAccepted());
    QVERIFY2(window.statusBar()->currentMessage().startsWith(QStringLiteral("Drop to share in")),
             qPrintable(window.statusBar()->currentMessage()));
    QDropEvent drop(at, Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &drop);
    QVERIFY(drop.isAccepted());
    // Nothing leaves before the user has seen what it is and said Send.
    QCOMPARE(attached.size(), 0);
    UploadSheet *sheet = openSheet(window);
    QVERIFY(sheet);
    QVERIFY2(sheet->summary().startsWith(QStringLiteral("2 files · 2 bytes")), qPrintable(sheet->summary()));
    QVERIFY(sheet->summary().contains(QStringLiteral("b c.pdf")));
    QTest::mouseClick(sheet->sendButton(), Qt::LeftButton);
    QCOMPARE(attached.size(), 1);
    QCOMPARE(attached.at(0).at(0).value<ConversationKey>(), ConversationKey::room(QStringLiteral("general")));
    QCOMPARE(attached.at(0).at(1).toStringList(), (QStringList{a, b}));
    QCOMPARE(attached.at(0).at(2).toString(), QString());
    QTRY_VERIFY(!openSheet(window));

    // Dropped on the composer they are shared too, not written into it as paths.
    const QPoint middle = window.composer()->viewport()->rect().center();
    QDragEnterEvent enterComposer(middle, Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window.composer()->viewport(), &enterComposer);
    QVERIFY(enterComposer.isAccepted());
    QDragMoveEvent overComposer(middle, Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window.composer()->viewport(), &overComposer);
    QDropEvent onComposer(middle, Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window.composer()->viewport(), &onComposer);
    QVERIFY(window.composer()->toPlainText().isEmpty());
    // Esc in the sheet: nothing shared; dropped again, a caption and Enter share them with it.
    sheet = openSheet(window);
    QVERIFY(sheet);
    QTest::keyClick(sheet->captionEdit(), Qt::Key_Escape);
    QTRY_VERIFY(!openSheet(window));
    QCOMPARE(attached.size(), 1);
    QDragEnterEvent enterAgain(middle, Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window.composer()->viewport(), &enterAgain);
    QDragMoveEvent overAgain(middle, Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window.composer()->viewport(), &overAgain);
    QDropEvent again(middle, Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window.composer()->viewport(), &again);
    sheet = openSheet(window);
    QVERIFY(sheet);
    QTest::keyClicks(sheet->captionEdit(), QStringLiteral("  minutes of Monday "));
    QTest::keyClick(sheet->captionEdit(), Qt::Key_Return);
    QCOMPARE(attached.size(), 2);
    QCOMPARE(attached.at(1).at(2).toString(), QStringLiteral("minutes of Monday"));
    QVERIFY(window.composer()->toPlainText().isEmpty());

    // A web link or a folder is not a file to share.
    QMimeData web;
    web.setUrls({QUrl(QStringLiteral("https://example.org/a.txt"))});
    QDragEnterEvent webEnter(at, Qt::CopyAction, &web, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &webEnter);
    QVERIFY(!webEnter.isAccepted());
    QMimeData folder;
    folder.setUrls({QUrl::fromLocalFile(dir.path())});
    QDragEnterEvent folderEnter(at, Qt::CopyAction, &folder, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &folderEnter);
    QVERIFY(!folderEnter.isAccepted());

    // Without a conversation there is nowhere to share to.
    window.showConversation({}, nullptr);
    QDragEnterEvent nowhere(at, Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &nowhere);
    QVERIFY(!nowhere.isAccepted());
}

void TestMainWindow::eachConversationKeepsItsOwnDraft()
{
    // One composer for every conversation: a half-written direct message
    // was still there in #general, and Enter posted it publicly.
    qRegisterMetaType<ComposerBar::Draft>();
    MainWindow window;
    MessageListModel general;
    addOwnMessages(general);
    MessageListModel bob;
    QVERIFY(showGeneral(window, general));
    const ConversationKey generalKey = ConversationKey::room(QStringLiteral("general"));
    const ConversationKey bobKey = ConversationKey::direct(QStringLiteral("bob@example.org"));
    QSignalSpy sends(&window, &MainWindow::sendRequested);
    QSignalSpy drafts(&window, &MainWindow::draftChanged);
    QSignalSpy typing(&window, &MainWindow::typingChanged);

    window.showConversation(bobKey, &bob);
    window.focusComposer();
    QTest::keyClicks(window.composer(), QStringLiteral("the salary figures"));
    window.showConversation(generalKey, &general);
    QCOMPARE(window.composer()->toPlainText(), QString()); // not here
    QTest::keyClick(window.composer(), Qt::Key_Return);
    QCOMPARE(sends.size(), 0); // Enter posts nothing in #general
    QVERIFY(!drafts.isEmpty());
    QCOMPARE(drafts.constLast().at(0).value<ConversationKey>(), bobKey);
    QCOMPARE(drafts.constLast().at(1).value<ComposerBar::Draft>().text, QStringLiteral("the salary figures"));

    // A reply begun in #general, then a look at Bob's conversation, then back.
    window.startReply(7);
    QTest::keyClicks(window.composer(), QStringLiteral("agreed, but"));
    const int typed = int(typing.size());
    window.showConversation(bobKey, &bob);
    QCOMPARE(window.composer()->toPlainText(), QStringLiteral("the salary figures"));
    QVERIFY(!window.isReplying());
    QCOMPARE(typing.size(), typed); // putting a draft back is not typing
    window.showConversation(generalKey, &general);
    QCOMPARE(window.composer()->toPlainText(), QStringLiteral("agreed, but"));
    QVERIFY(window.isReplying());
    QTest::keyClick(window.composer(), Qt::Key_Return);
    QCOMPARE(sends.size(), 1);
    QCOMPARE(sends.at(0).at(0).value<ConversationKey>(), generalKey);
    QCOMPARE(sends.at(0).at(2).toLongLong(), 7);
    window.messageAccepted();

    // What is kept: Bob's draft only (#general's went with its message).
    QTRY_VERIFY(!window.drafts().contains(generalKey.toString()));
    QCOMPARE(window.drafts().value(bobKey.toString()).text, QStringLiteral("the salary figures"));
    // A direct conversation's composer names the person, not their email.
    window.showConversation(bobKey, &bob);
    window.setConversationHeader(QStringLiteral("Bob"), QString());
    QCOMPARE(window.composer()->placeholderText(), QStringLiteral("Message Bob"));
    window.showConversation(generalKey, &general);
    QCOMPARE(window.composer()->placeholderText(), QStringLiteral("Message #general"));
    // The next start puts it back where it was written, and nowhere else.
    MainWindow again;
    MessageListModel generalAgain;
    QVERIFY(showGeneral(again, generalAgain));
    again.setDrafts(window.drafts());
    QCOMPARE(again.composer()->toPlainText(), QString());
    again.showConversation(bobKey, &bob);
    QCOMPARE(again.composer()->toPlainText(), QStringLiteral("the salary figures"));
}

void TestMainWindow::pastingOrDroppingNothingKeepsTheDraft()
{
    // Ctrl+V in a session where nothing was copied crashed the app (Qt
    // 6.4.2's QWidgetTextControl::insertFromMimeData) and the draft was lost.
    MessageListModel model;
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    Composer *composer = window.composer();
    composer->setFocus();
    QTest::keyClicks(composer, QStringLiteral("half a thought"));
    QGuiApplication::clipboard()->setMimeData(new QMimeData); // nothing in it
    QTest::keyClick(composer, Qt::Key_V, Qt::ControlModifier);
    QCOMPARE(composer->toPlainText(), QStringLiteral("half a thought"));
    // A drag that carries nothing, dropped on it.
    QMimeData nothing;
    const QPoint middle = composer->viewport()->rect().center();
    QDragEnterEvent enter(middle, Qt::CopyAction, &nothing, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(composer->viewport(), &enter);
    QDropEvent drop(middle, Qt::CopyAction, &nothing, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(composer->viewport(), &drop);
    QCOMPARE(composer->toPlainText(), QStringLiteral("half a thought"));
    // And the middle button's paste of an empty selection.
    QTest::mouseClick(composer->viewport(), Qt::MiddleButton, {}, middle);
    QCOMPARE(composer->toPlainText(), QStringLiteral("half a thought"));
    // Typing goes on.
    QTest::keyClicks(composer, QStringLiteral("!"));
    QVERIFY(composer->toPlainText().endsWith(u'!'));
}

void TestMainWindow::pastingShareImagesAndFilesButKeepsText()
{
    MessageListModel model;
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    QSignalSpy images(&window, &MainWindow::imageAttached);
    QSignalSpy files(&window, &MainWindow::filesAttached);
    Composer *composer = window.composer();

    // A screenshot: shared as an image, the composer untouched.
    QImage screenshot(200, 100, QImage::Format_RGB32);
    screenshot.fill(Qt::darkCyan);
    QGuiApplication::clipboard()->setImage(screenshot);
    composer->setFocus();
    QTest::keyClick(composer, Qt::Key_V, Qt::ControlModifier);
    // A screenshot can leak with one keystroke: first a sheet shows what it is.
    QCOMPARE(images.size(), 0);
    UploadSheet *sheet = openSheet(window);
    QVERIFY(sheet);
    QCOMPARE(sheet->preview().size(), QSize(200, 100));
    QCOMPARE(sheet->summary(), QStringLiteral("Pasted image · 200 × 100"));
    QTRY_VERIFY(sheet->captionEdit()->hasFocus()); // Enter sends, or type a caption
    QTest::keyClick(sheet->captionEdit(), Qt::Key_Return);
    QCOMPARE(images.size(), 1);
    QCOMPARE(images.at(0).at(1).value<QImage>().size(), QSize(200, 100));
    QVERIFY(composer->toPlainText().isEmpty());
    QTRY_VERIFY(!openSheet(window));

    // Files copied in a file manager: shared.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("log.txt"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    auto *copied = new QMimeData;
    copied->setUrls({QUrl::fromLocalFile(path)});
    QGuiApplication::clipboard()->setMimeData(copied);
    QTest::keyClick(composer, Qt::Key_V, Qt::ControlModifier);
    sheet = openSheet(window);
    QVERIFY(sheet);
    QCOMPARE(sheet->summary(), QStringLiteral("log.txt · 0 bytes"));
    QVERIFY(!sheet->preview().isNull()); // the type's icon
    QCOMPARE(files.size(), 0);
    QTest::mouseClick(sheet->sendButton(), Qt::LeftButton);
    QCOMPARE(files.size(), 1);
    QCOMPARE(files.at(0).at(1).toStringList(), QStringList{path});
    QTRY_VERIFY(!openSheet(window));

    // Text (even with a picture of itself, as a spreadsheet copies cells) stays text.
    auto *cells = new QMimeData;
    cells->setText(QStringLiteral("a\tb"));
    cells->setImageData(screenshot);
    QGuiApplication::clipboard()->setMimeData(cells);
    QTest::keyClick(composer, Qt::Key_V, Qt::ControlModifier);
    QCOMPARE(composer->toPlainText(), QStringLiteral("a\tb"));
    QCOMPARE(images.size(), 1);
    QCOMPARE(files.size(), 1);
}

void TestMainWindow::thePaperclipIsThere()
{
    MessageListModel model;
    MainWindow window;
    QVERIFY(showGeneral(window, model));
    auto *paperclip = window.findChild<QToolButton *>(QStringLiteral("attachButton"));
    QVERIFY(paperclip);
    QVERIFY(paperclip->isVisible());
    QVERIFY(!paperclip->icon().isNull());
    QVERIFY(!paperclip->toolTip().isEmpty());
    QVERIFY(paperclip->geometry().right() <
            window.composer()->mapTo(paperclip->parentWidget(), QPoint(0, 0)).x());
}

#include "tst_mainwindow.moc"
