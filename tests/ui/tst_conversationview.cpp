// The conversation view under QT_QPA_PLATFORM=offscreen, driven as a person
// uses it: hovering a message for its action bar, clicking a reaction chip or
// a reply's quote, reading past the "New messages" divider, jumping to a
// message and back to the latest.
#include "common/messagelistmodel.h"
#include "common/validation.h"
#include "ui/conversationview.h"
#include "ui/messagedelegate.h"
#include "ui/translations.h"

#include <QAbstractButton>
#include <QApplication>
#include <QClipboard>
#include <QContextMenuEvent>
#include <QHelpEvent>
#include <QMenu>
#include <QPushButton>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTest>
#include <QTextDocument>
#include <QTextLayout>
#include <QToolButton>
#include <QToolTip>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

const QString Alice = u"alice@example.org"_s;
const QString Bob = u"bob@example.org"_s;

Message message(qint64 id, const QString &email, const QString &text)
{
    Message m;
    m.id = id;
    m.room = u"general"_s;
    m.from = User{email.section(u'@', 0, 0), email};
    m.text = text;
    // A fixed morning: the rows do not cross midnight while the test runs.
    m.timestamp = QDateTime(QDate::currentDate(), QTime(9, 0)).toUTC().addSecs(id * 20);
    return m;
}

QList<Message> conversation(qint64 first, qint64 last)
{
    QList<Message> messages;
    for (qint64 id = first; id <= last; ++id)
        messages.append(message(id, id % 3 == 0 ? Alice : Bob, u"message number %1"_s.arg(id)));
    return messages;
}

/// What a tooltip shows a person: its text as Qt renders it.
QString shownAs(const QString &tip)
{
    if (!Qt::mightBeRichText(tip))
        return tip;
    QTextDocument document;
    document.setHtml(tip);
    return document.toPlainText();
}

/// Once a menu opens (it runs its own loop), reads its entries into texts and closes it.
void readMenuWhenOpen(QStringList *texts)
{
    QTimer::singleShot(0, [texts] {
        auto *menu = qobject_cast<QMenu *>(QApplication::activePopupWidget());
        QVERIFY(menu);
        for (QAction *action : menu->actions())
            texts->append(action->text());
        menu->close();
    });
}

} // namespace

class TestConversationView final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void hoveringAMessageShowsItsActions();
    void theActionBarReportsWhatWasClicked();
    void theContextMenuOffersTheSameActions();
    void reactionChipsToggleAndTellWho();
    void aReplyQuotesItsOriginalAndClickingItAsksForIt();
    void revealingAMessageCentresAndFlashesIt();
    void deletedMessagesAreQuietTombstones();
    void editedMessagesSaySo();
    void theNewMessagesDividerSitsAtTheReadMarker();
    void aClickReadsAndSelectsNothing();
    void theDividerGoesAboveSomeoneElsesMessage();
    void itOpensAtTheFirstUnreadAndCountsWhatIsBelow();
    void theFirstUnreadBeyondTheLoadedPageIsFetched();
    void mentionsBelowHaveAJumpOfTheirOwn();
    void lastVisibleMessageFollowsScrolling();
    void aPageAroundAMessageFetchesNewerAndOffersTheLatest();
    void rowsWithEverythingStayInsideTheirHeight();
    void aLongConversationMeasuresOnlyWhatIsShown();

private:
    QPoint centreOf(qint64 id) const;
    QPoint localPoint(qint64 id, const QRect &layoutRect) const;
    MessageDelegate::Layout layoutOf(qint64 id) const;
    void hover(const QPoint &point);

    std::unique_ptr<MessageListModel> m_model;
    std::unique_ptr<ConversationView> m_view;
};

void TestConversationView::init()
{
    m_model = std::make_unique<MessageListModel>();
    m_model->setOwnEmail(Alice);
    m_model->addMessages(conversation(1, 40));
    m_view = std::make_unique<ConversationView>();
    m_view->resize(700, 600);
    m_view->setMessages(m_model.get());
    m_view->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_view.get()));
}

void TestConversationView::cleanup()
{
    m_view.reset();
    m_model.reset();
}

MessageDelegate::Layout TestConversationView::layoutOf(qint64 id) const
{
    const QModelIndex index = m_view->indexOfMessage(id);
    QStyleOptionViewItem option;
    option.initFrom(m_view->viewport());
    option.rect = m_view->visualRect(index);
    option.font = m_view->font();
    option.widget = m_view.get();
    return m_view->messageDelegate()->layout(option, index);
}

QPoint TestConversationView::localPoint(qint64 id, const QRect &layoutRect) const
{
    return layoutRect.center() + m_view->visualRect(m_view->indexOfMessage(id)).topLeft();
}

QPoint TestConversationView::centreOf(qint64 id) const
{
    return localPoint(id, layoutOf(id).bubble);
}

void TestConversationView::hover(const QPoint &point)
{
    QMouseEvent move(QEvent::MouseMove, point, m_view->viewport()->mapToGlobal(point), Qt::NoButton,
                     Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(m_view->viewport(), &move);
}

void TestConversationView::hoveringAMessageShowsItsActions()
{
    QVERIFY(!m_view->actionBar()->isVisible());
    // Bob's message: react, reply and copy a link, but no edit or delete.
    hover(centreOf(38));
    QVERIFY(m_view->actionBar()->isVisible());
    QCOMPARE(m_view->actionBarMessage(), 38);
    auto *edit = m_view->actionBar()->findChild<QToolButton *>(u"editAction"_s);
    auto *remove = m_view->actionBar()->findChild<QToolButton *>(u"deleteAction"_s);
    QVERIFY(!edit->isVisible());
    QVERIFY(!remove->isVisible());
    // The bar sits on the message it is for.
    QVERIFY(m_view->visualRect(m_view->indexOfMessage(38)).intersects(m_view->actionBar()->geometry()));

    // Alice's own: all of them.
    hover(centreOf(39));
    QCOMPARE(m_view->actionBarMessage(), 39);
    QVERIFY(edit->isVisible());
    QVERIFY(remove->isVisible());

    // The owner of a private room may delete others' messages.
    m_view->setCanDeleteOthers(true);
    hover(centreOf(40));
    QCOMPARE(m_view->actionBarMessage(), 40);
    QVERIFY(!edit->isVisible());
    QVERIFY(remove->isVisible());

    // A short bubble's words stay readable under it.
    m_model->addMessages({message(41, Bob, u"ok"_s)});
    QTRY_VERIFY(m_view->isAtBottom());
    QTRY_VERIFY(m_view->indexOfMessage(41).isValid());
    m_view->doItemsLayout();
    hover(centreOf(41));
    QCOMPARE(m_view->actionBarMessage(), 41);
    const MessageDelegate::Layout shortOne = layoutOf(41);
    const QRect words = shortOne.text.translated(m_view->visualRect(m_view->indexOfMessage(41)).topLeft());
    QVERIFY2(!m_view->actionBar()->geometry().intersects(words),
             qPrintable(u"bar %1,%2 %3x%4 over words %5,%6 %7x%8"_s.arg(m_view->actionBar()->x())
                            .arg(m_view->actionBar()->y())
                            .arg(m_view->actionBar()->width())
                            .arg(m_view->actionBar()->height())
                            .arg(words.x())
                            .arg(words.y())
                            .arg(words.width())
                            .arg(words.height())));
    // Deleted while hovered (by Bob, elsewhere): the bar goes with it.
    Message gone = message(41, Bob, {});
    gone.deleted = true;
    QVERIFY(m_model->updateMessage(gone));
    QVERIFY(!m_view->actionBar()->isVisible());

    // Scrolling away hides it.
    hover(centreOf(40));
    QVERIFY(m_view->actionBar()->isVisible());
    m_view->verticalScrollBar()->setValue(0);
    QVERIFY(!m_view->actionBar()->isVisible());
}

void TestConversationView::theActionBarReportsWhatWasClicked()
{
    QSignalSpy replies(m_view.get(), &ConversationView::replyRequested);
    QSignalSpy edits(m_view.get(), &ConversationView::editRequested);
    QSignalSpy deletions(m_view.get(), &ConversationView::deleteRequested);
    QSignalSpy links(m_view.get(), &ConversationView::copyLinkRequested);
    hover(centreOf(39));
    QTest::mouseClick(m_view->actionBar()->findChild<QToolButton *>(u"replyAction"_s), Qt::LeftButton);
    QTest::mouseClick(m_view->actionBar()->findChild<QToolButton *>(u"editAction"_s), Qt::LeftButton);
    QTest::mouseClick(m_view->actionBar()->findChild<QToolButton *>(u"deleteAction"_s), Qt::LeftButton);
    QTest::mouseClick(m_view->actionBar()->findChild<QToolButton *>(u"linkAction"_s), Qt::LeftButton);
    QCOMPARE(replies.size(), 1);
    QCOMPARE(replies.at(0).at(0).toLongLong(), 39);
    QCOMPARE(edits.at(0).at(0).toLongLong(), 39);
    QCOMPARE(deletions.at(0).at(0).toLongLong(), 39);
    QCOMPARE(links.at(0).at(0).toLongLong(), 39);

    // ☺ opens the picker; a click on an emoji reacts with it.
    QSignalSpy reactions(m_view.get(), &ConversationView::reactionToggled);
    QTimer::singleShot(0, this, [] {
        auto *menu = qobject_cast<QMenu *>(QApplication::activePopupWidget());
        QVERIFY(menu);
        for (QToolButton *choice : menu->findChildren<QToolButton *>()) {
            if (choice->text() == u"🔥"_s)
                choice->click();
        }
    });
    hover(centreOf(39));
    QTest::mouseClick(m_view->actionBar()->findChild<QToolButton *>(u"reactAction"_s), Qt::LeftButton);
    QCOMPARE(reactions.size(), 1);
    QCOMPARE(reactions.at(0).at(0).toLongLong(), 39);
    QCOMPARE(reactions.at(0).at(1).toString(), u"🔥"_s);
}

void TestConversationView::theContextMenuOffersTheSameActions()
{
    QSignalSpy reactions(m_view.get(), &ConversationView::reactionToggled);
    QStringList seen;
    // The menu runs its own loop: read it and pick "Add Reaction → 👍" from inside.
    QTimer::singleShot(0, this, [&] {
        auto *menu = qobject_cast<QMenu *>(QApplication::activePopupWidget());
        QVERIFY(menu);
        for (QAction *action : menu->actions())
            seen.append(action->text());
        QMenu *react = menu->actions().constFirst()->menu();
        QVERIFY(react);
        // The picker is a grid of emoji buttons, every one of them a reaction the server accepts.
        const QList<QToolButton *> choices = react->findChildren<QToolButton *>();
        QCOMPARE(choices.size(), ConversationView::reactionChoices().size());
        for (QToolButton *choice : choices)
            QVERIFY2(Validation::isValidEmoji(choice->text()), qPrintable(choice->text()));
        choices.constFirst()->click();
        menu->close();
    });
    m_view->showMessageMenu(centreOf(39));
    QVERIFY2(seen.contains(u"Reply"_s) && seen.contains(u"Edit"_s) && seen.contains(u"Delete…"_s) &&
                 seen.contains(u"Copy Link to Message"_s),
             qPrintable(seen.join(u", ")));
    QCOMPARE(reactions.size(), 1);
    QCOMPARE(reactions.at(0).at(0).toLongLong(), 39);
    QCOMPARE(reactions.at(0).at(1).toString(), ConversationView::quickReactions().constFirst());
    QCOMPARE(reactions.at(0).at(2).toBool(), true);

    // A deleted message offers nothing to do with its (gone) text.
    Message gone = message(39, Alice, QString());
    gone.deleted = true;
    m_model->updateMessage(gone);
    seen.clear();
    readMenuWhenOpen(&seen);
    m_view->showMessageMenu(centreOf(39));
    QVERIFY2(!seen.contains(u"Reply"_s) && !seen.contains(u"Copy Text"_s), qPrintable(seen.join(u", ")));

    // The Menu key opens the menu of the current message (here Bob's 38, which offers no Edit).
    m_view->setCurrentIndex(m_view->indexOfMessage(38));
    seen.clear();
    readMenuWhenOpen(&seen);
    QContextMenuEvent key(QContextMenuEvent::Keyboard, QPoint(5, 5),
                          m_view->viewport()->mapToGlobal(QPoint(5, 5)));
    QApplication::sendEvent(m_view->viewport(), &key);
    QVERIFY2(seen.contains(u"Reply"_s) && !seen.contains(u"Edit"_s) &&
                 seen.contains(u"Message bob Directly"_s),
             qPrintable(seen.join(u", ")));
}

void TestConversationView::reactionChipsToggleAndTellWho()
{
    Message reacted = message(38, Bob, u"lunch?"_s);
    reacted.reactions = {Reaction{u"👍"_s, 2, {User{u"Bob"_s, Bob}, User{u"Alice"_s, Alice}}, true},
                         Reaction{u"🎉"_s, 1, {User{u"Carol"_s, u"carol@example.org"_s}}, false}};
    const int before = m_view->visualRect(m_view->indexOfMessage(38)).height();
    QVERIFY(m_model->updateMessage(reacted));
    QTRY_VERIFY(m_view->visualRect(m_view->indexOfMessage(38)).height() > before); // room for the chips
    const MessageDelegate::Layout l = layoutOf(38);
    QCOMPARE(l.chips.size(), 2);
    QVERIFY(l.chips.at(0).mine);
    QVERIFY(!l.chips.at(1).mine);
    QVERIFY(l.chips.at(0).rect.top() > l.bubble.bottom()); // under the bubble, not in it

    QSignalSpy toggled(m_view.get(), &ConversationView::reactionToggled);
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, {}, localPoint(38, l.chips.at(0).rect));
    QCOMPARE(toggled.size(), 1);
    QCOMPARE(toggled.at(0).at(1).toString(), u"👍"_s);
    QCOMPARE(toggled.at(0).at(2).toBool(), false); // mine: clicking takes it back
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, {}, localPoint(38, l.chips.at(1).rect));
    QCOMPARE(toggled.size(), 2);
    QCOMPARE(toggled.at(1).at(1).toString(), u"🎉"_s);
    QCOMPARE(toggled.at(1).at(2).toBool(), true);

    // The tooltip names who reacted.
    const QPoint chip = localPoint(38, l.chips.at(0).rect);
    QHelpEvent help(QEvent::ToolTip, chip, m_view->viewport()->mapToGlobal(chip));
    QApplication::sendEvent(m_view->viewport(), &help);
    QTRY_VERIFY(QToolTip::isVisible());
    const QString who = QLocale().createSeparatedList({u"Bob"_s, u"Alice"_s});
    QVERIFY2(shownAs(QToolTip::text()).contains(who + u" reacted with 👍"_s), qPrintable(QToolTip::text()));
    QToolTip::hideText();

    // A name that is markup is shown as the characters it is.
    const QString hostile = u"<h1 style=\"color:green\">✔ Boss</h1><p style=\"font-size:1px\">x"_s;
    reacted.reactions = {Reaction{u"👍"_s, 1, {User{hostile, u"eve@example.org"_s}}, false}};
    QVERIFY(m_model->updateMessage(reacted));
    const QPoint hostileChip = localPoint(38, layoutOf(38).chips.at(0).rect);
    QHelpEvent hostileHelp(QEvent::ToolTip, hostileChip, m_view->viewport()->mapToGlobal(hostileChip));
    QApplication::sendEvent(m_view->viewport(), &hostileHelp);
    QTRY_VERIFY(QToolTip::isVisible());
    QVERIFY2(shownAs(QToolTip::text()).contains(hostile + u" reacted with 👍"_s),
             qPrintable(QToolTip::text()));
    QToolTip::hideText();
}

void TestConversationView::aReplyQuotesItsOriginalAndClickingItAsksForIt()
{
    Message reply = message(41, Alice, u"yes, at noon"_s);
    reply.reply = ReplyPreview{12, User{u"bob"_s, Bob}, u"message number 12"_s, false};
    m_model->addMessages({reply});
    QTRY_VERIFY(m_view->indexOfMessage(41).isValid());
    const MessageDelegate::Layout l = layoutOf(41);
    QVERIFY(!l.quote.isEmpty());
    QVERIFY(l.quote.bottom() < l.text.top()); // the quote comes first
    QVERIFY(l.bubble.contains(l.quote));
    QSignalSpy asked(m_view.get(), &ConversationView::originalRequested);
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, {}, localPoint(41, l.quote));
    QCOMPARE(asked.size(), 1);
    QCOMPARE(asked.at(0).at(0).toLongLong(), 12);

    // The original is deleted: the quote says so, and keeps its place.
    Message gone = message(12, Bob, QString());
    gone.deleted = true;
    m_model->updateMessage(gone);
    QCOMPARE(m_model->storedMessage(41)->reply.deleted, true);
    QVERIFY(!layoutOf(41).quote.isEmpty());
}

void TestConversationView::revealingAMessageCentresAndFlashesIt()
{
    QVERIFY(m_view->isAtBottom());
    QVERIFY(m_view->revealMessage(20));
    QVERIFY(!m_view->isAtBottom());
    QCOMPARE(m_view->flashingMessage(), 20);
    const QRect row = m_view->visualRect(m_view->indexOfMessage(20));
    QVERIFY(m_view->viewport()->rect().contains(row.center()));
    QVERIFY(std::abs(row.center().y() - m_view->viewport()->height() / 2) < row.height());
    QTRY_COMPARE_WITH_TIMEOUT(m_view->flashingMessage(), 0, 5000); // the flash passes
    QVERIFY(!m_view->revealMessage(999));                          // not loaded
}

void TestConversationView::deletedMessagesAreQuietTombstones()
{
    Message gone = message(40, Bob, QString());
    gone.deleted = true;
    QVERIFY(m_model->updateMessage(gone));
    QCOMPARE(m_model->storedMessage(40)->text, QString());
    const MessageDelegate::Layout l = layoutOf(40);
    QCOMPARE(l.textLayout->text(), u"Message deleted"_s);
    QVERIFY(l.textLayout->font().italic());
    // No actions for a tombstone.
    hover(centreOf(40));
    QVERIFY(!m_view->actionBar()->isVisible());
    // Copying a selection leaves it out.
    m_view->selectionModel()->select(QItemSelection(m_view->indexOfMessage(39), m_view->indexOfMessage(40)),
                                     QItemSelectionModel::ClearAndSelect);
    m_view->copySelectedMessages();
    QCOMPARE(QGuiApplication::clipboard()->text(), u"message number 39"_s);
}

void TestConversationView::editedMessagesSaySo()
{
    Message edited = message(39, Alice, u"message number 39, fixed"_s);
    edited.edited = QDateTime::currentDateTimeUtc();
    QVERIFY(m_model->updateMessage(edited));
    const MessageDelegate::Layout l = layoutOf(39);
    QCOMPARE(l.textLayout->text(), u"message number 39, fixed"_s);
    QVERIFY2(l.footerText.startsWith(u"edited"_s), qPrintable(l.footerText));

    m_view->messageDelegate()->setStyle(MessageDelegate::Style::Compact);
    m_view->doItemsLayout();
    QCOMPARE(layoutOf(39).footerText, u"edited"_s);
}

void TestConversationView::theNewMessagesDividerSitsAtTheReadMarker()
{
    const int before = m_view->visualRect(m_view->indexOfMessage(31)).height();
    m_view->setReadMarker(30);
    QCOMPARE(m_view->readMarker(), 30);
    QTRY_VERIFY(m_view->visualRect(m_view->indexOfMessage(31)).height() > before);
    QVERIFY(!layoutOf(31).divider.isEmpty());
    QVERIFY(layoutOf(30).divider.isEmpty());
    QVERIFY(layoutOf(32).divider.isEmpty());
    QVERIFY(layoutOf(31).divider.bottom() < layoutOf(31).bubble.top());
    m_view->setReadMarker(0);
    QVERIFY(layoutOf(31).divider.isEmpty());
    // A marker at the newest message: nothing is new.
    m_view->setReadMarker(40);
    for (qint64 id = 1; id <= 40; ++id)
        QVERIFY(layoutOf(id).divider.isEmpty());
}

void TestConversationView::aClickReadsAndSelectsNothing()
{
    // Clicking a message (to read it, or into it by chance) leaves no band.
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, {}, centreOf(38));
    QVERIFY(m_view->selectionModel()->selectedIndexes().isEmpty());
    // Ctrl+click and Shift+click select, for copying.
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, Qt::ControlModifier, centreOf(38));
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, Qt::ControlModifier, centreOf(40));
    QCOMPARE(m_view->selectionModel()->selectedIndexes().size(), 2);
    m_view->copySelectedMessages();
    QCOMPARE(QGuiApplication::clipboard()->text(), u"message number 38\nmessage number 40"_s);
    // A plain click again clears it.
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, {}, centreOf(39));
    QVERIFY(m_view->selectionModel()->selectedIndexes().isEmpty());
}

void TestConversationView::theDividerGoesAboveSomeoneElsesMessage()
{
    // Alice's own 33 follows the marker (sent from her laptop, or stored
    // after a restart): the line sits above Bob's 34, never above her words.
    m_view->setReadMarker(32);
    QCOMPARE(m_view->readMarker(), 32);
    QTRY_VERIFY(!layoutOf(34).divider.isEmpty());
    QVERIFY(layoutOf(33).divider.isEmpty());
}

namespace {
/// Others' messages in conversation(first, last) after id.
int othersAfter(qint64 id, qint64 last)
{
    int count = 0;
    for (qint64 i = id + 1; i <= last; ++i)
        count += i % 3 == 0 ? 0 : 1;
    return count;
}
} // namespace

void TestConversationView::itOpensAtTheFirstUnreadAndCountsWhatIsBelow()
{
    m_model->addMessages(conversation(41, 150));
    QTRY_VERIFY(m_view->isAtBottom());
    // Where the user stopped: 60. The conversation opens with 61 at the top,
    // the line above it, not at the bottom.
    m_view->setReadMarker(60, othersAfter(60, 150));
    m_view->openAtReadMarker();
    QVERIFY(!m_view->isOpeningAtReadMarker());
    QVERIFY(!m_view->isAtBottom());
    const QRect first = m_view->visualRect(m_view->indexOfMessage(61));
    QVERIFY2(first.top() >= -2 && first.top() < m_view->viewport()->height() / 4,
             qPrintable(QString::number(first.top())));
    QVERIFY(!layoutOf(61).divider.isEmpty());
    // The pill counts what is still below; scrolling down counts it down.
    QTRY_VERIFY(m_view->jumpToLatestButton()->isVisible());
    const qint64 seen = m_view->lastVisibleMessage();
    QVERIFY(seen > 61 && seen < 150);
    QCOMPARE(m_view->unseenCount(), othersAfter(seen, 150));
    QCOMPARE(m_view->jumpToLatestButton()->text(),
             u"↓ %1 new · Jump to latest"_s.arg(othersAfter(seen, 150)));
    QScrollBar *bar = m_view->verticalScrollBar();
    bar->setValue(bar->value() + m_view->viewport()->height());
    QTRY_VERIFY(m_view->unseenCount() < othersAfter(seen, 150));
    QCOMPARE(m_view->unseenCount(), othersAfter(m_view->lastVisibleMessage(), 150));
    // Scrolling back up does not make the seen new again.
    const int left = m_view->unseenCount();
    bar->setValue(0);
    QCOMPARE(m_view->unseenCount(), left);
    QTest::mouseClick(m_view->jumpToLatestButton(), Qt::LeftButton);
    QTRY_VERIFY(m_view->isAtBottom());
    QCOMPARE(m_view->unseenCount(), 0);
    QTRY_VERIFY(!m_view->jumpToLatestButton()->isVisible());
}

void TestConversationView::theFirstUnreadBeyondTheLoadedPageIsFetched()
{
    // Only the latest page is loaded (100–150); the user stopped at 60.
    m_model->showPage(conversation(100, 150), true, false);
    QVERIFY(m_model->hasOlder());
    QSignalSpy wanted(m_view.get(), &ConversationView::readMarkerWanted);
    m_view->setReadMarker(60, othersAfter(60, 150));
    m_view->openAtReadMarker();
    QVERIFY(m_view->isOpeningAtReadMarker());
    QCOMPARE(wanted.size(), 1);
    QCOMPARE(wanted.at(0).at(0).toLongLong(), 60);
    // More arrives meanwhile: asked once only.
    m_model->addMessages({message(151, Bob, u"live"_s)});
    QCoreApplication::processEvents();
    QCOMPARE(wanted.size(), 1);
    // The page around 60 arrives: the view opens at 61, and the pill counts
    // the server's unread beyond the page too.
    m_model->showPage(conversation(35, 85), true, true);
    QTRY_VERIFY(!m_view->isOpeningAtReadMarker());
    const QRect first = m_view->visualRect(m_view->indexOfMessage(61));
    QVERIFY2(first.top() >= -2 && first.top() < m_view->viewport()->height() / 4,
             qPrintable(QString::number(first.top())));
    const qint64 seen = m_view->lastVisibleMessage();
    QCOMPARE(m_view->unseenCount(), othersAfter(60, 150) - (othersAfter(60, 150) - othersAfter(seen, 150)));
    QVERIFY(m_view->jumpToLatestButton()->text().contains(u"new · Jump to latest"_s));
}

void TestConversationView::mentionsBelowHaveAJumpOfTheirOwn()
{
    QList<Message> more = conversation(41, 150);
    for (Message &m : more) {
        if (m.id == 100 || m.id == 140)
            m.mentions = {Alice};
    }
    m_model->addMessages(more);
    m_view->setReadMarker(60, othersAfter(60, 150), 2);
    m_view->openAtReadMarker();
    QVERIFY(!m_view->isAtBottom());
    QPushButton *jump = m_view->jumpToMentionButton();
    QTRY_VERIFY(jump->isVisible());
    QCOMPARE(m_view->unseenMentionCount(), 2);
    QCOMPARE(jump->text(), u"@ 2 mentions"_s);
    // Above the "new" pill, never over it.
    QVERIFY(!jump->geometry().intersects(m_view->jumpToLatestButton()->geometry()));
    QTest::mouseClick(jump, Qt::LeftButton);
    QCOMPARE(m_view->flashingMessage(), 100);
    QTRY_COMPARE(m_view->unseenMentionCount(), 1);
    QCOMPARE(jump->text(), u"@ 1 mention"_s);
    QTest::mouseClick(jump, Qt::LeftButton);
    QCOMPARE(m_view->flashingMessage(), 140);
    QTRY_COMPARE(m_view->unseenMentionCount(), 0);
    QTRY_VERIFY(!jump->isVisible());
}

void TestConversationView::lastVisibleMessageFollowsScrolling()
{
    QCOMPARE(m_view->lastVisibleMessage(), 40); // at the bottom
    QVERIFY(m_view->revealMessage(10));
    const qint64 visible = m_view->lastVisibleMessage();
    QVERIFY2(visible >= 10 && visible < 40, qPrintable(QString::number(visible)));
    QSignalSpy changed(m_view.get(), &ConversationView::visibleMessagesChanged);
    m_view->scrollToLatest();
    QTRY_VERIFY(!changed.isEmpty());
    QCOMPARE(m_view->lastVisibleMessage(), 40);
    m_view->hide();
    QCOMPARE(m_view->lastVisibleMessage(), 0); // nothing is seen in a hidden view
}

void TestConversationView::aPageAroundAMessageFetchesNewerAndOffersTheLatest()
{
    QSignalSpy newer(m_model.get(), &MessageListModel::newerMessagesRequested);
    QSignalSpy latest(m_view.get(), &ConversationView::latestRequested);
    // A jump far back: the page around message 500 of a long room.
    m_model->showPage(conversation(480, 520), true, true);
    QVERIFY(m_model->hasNewer());
    QVERIFY(m_view->revealMessage(500));
    QVERIFY(m_view->jumpToLatestButton()->isVisible());
    QCOMPARE(m_view->jumpToLatestButton()->text(), u"↓ Latest"_s);
    // Messages pushed meanwhile are beyond a gap: not appended.
    m_model->addMessages({message(900, Bob, u"live"_s)});
    QCOMPARE(m_model->lastStoredId(), 520);
    // Scrolling to the end of the page asks for the next one.
    m_view->verticalScrollBar()->setValue(m_view->verticalScrollBar()->maximum());
    QTRY_COMPARE(newer.size(), 1);
    QCOMPARE(newer.at(0).at(0).toLongLong(), 520);
    m_model->appendNewer(conversation(521, 540), true);
    QCOMPARE(m_model->lastStoredId(), 540);
    // "↓ Latest" asks for the latest page instead of scrolling.
    QTest::mouseClick(m_view->jumpToLatestButton(), Qt::LeftButton);
    QCOMPARE(latest.size(), 1);
    m_model->showPage(conversation(860, 900), true, false);
    QVERIFY(!m_model->hasNewer());
    QTRY_VERIFY(!m_view->jumpToLatestButton()->isVisible());
    QVERIFY(m_view->isAtBottom());
}

void TestConversationView::rowsWithEverythingStayInsideTheirHeight()
{
    // A reply, with reactions, edited, mentioning the reader, after the read
    // marker, in both styles and at several widths: everything painted lies
    // inside the height the row asked for.
    Message full = message(41, Bob,
                           u"@alice see above — a long answer that wraps over a few lines "
                           u"in a narrow window, with a link https://example.org/x"_s);
    full.reply = ReplyPreview{12, User{u"bob"_s, Bob}, u"message number 12"_s, false};
    full.mentions = {Alice};
    full.edited = QDateTime::currentDateTimeUtc();
    for (int i = 0; i < 8; ++i) // enough chips for two lines in a narrow window
        full.reactions.append(Reaction{ConversationView::quickReactions().at(i), i + 1, {}, i % 2 == 0});
    m_model->addMessages({full});
    m_view->setReadMarker(40);
    for (auto style : {MessageDelegate::Style::Bubbles, MessageDelegate::Style::Compact}) {
        m_view->messageDelegate()->setStyle(style);
        for (int width : {260, 480, 900}) {
            m_view->resize(width, 600);
            m_view->doItemsLayout();
            const MessageDelegate::Layout l = layoutOf(41);
            QVERIFY(l.height > 0);
            QCOMPARE(m_view->visualRect(m_view->indexOfMessage(41)).height(), l.height);
            QRect all = l.bubble | l.text | l.quote | l.divider;
            for (const auto &chip : l.chips)
                all |= chip.rect;
            QVERIFY2(all.top() >= 0 && all.bottom() < l.height,
                     qPrintable(u"%1 px: content %2..%3 in a row of %4"_s.arg(width)
                                    .arg(all.top())
                                    .arg(all.bottom())
                                    .arg(l.height)));
            QVERIFY2(all.right() <= width, qPrintable(QString::number(width)));
            for (const auto &chip : l.chips)
                QVERIFY(!chip.rect.intersects(l.text));
        }
    }
}

void TestConversationView::aLongConversationMeasuresOnlyWhatIsShown()
{
    // Read far back in a long conversation of texts of every length: more rows
    // than the delegate shapes on every relayout.
    const int count = MessageDelegate::EstimateAboveRows * 2;
    QList<Message> backlog;
    for (qint64 id = 41; id <= count; ++id) {
        const QString sentence = u"The deploy of build %1 went out to the second region. "_s.arg(id);
        backlog.append(message(id, id % 3 == 0 ? Alice : Bob, sentence.repeated(int(id % 7) + 1)));
    }
    m_model->addMessages(backlog);
    const auto optionAt = [this](const QModelIndex &index) {
        QStyleOptionViewItem option;
        option.initFrom(m_view->viewport());
        option.rect = m_view->visualRect(index);
        option.font = m_view->font();
        option.widget = m_view.get();
        return option;
    };
    // Every row on screen is laid out at its real height, none is left estimated.
    const auto shownAreMeasured = [&] {
        for (int y = 0; y < m_view->viewport()->height(); y += 8) {
            const QModelIndex index = m_view->indexAt(QPoint(m_view->viewport()->width() / 2, y));
            if (!index.isValid())
                continue;
            const qint64 id = index.data(MessageListModel::IdRole).toLongLong();
            if (m_view->visualRect(index).height() != layoutOf(id).height ||
                m_view->messageDelegate()->isEstimated(optionAt(index), index))
                return false;
        }
        return true;
    };
    QVERIFY(m_view->revealMessage(count / 2));
    QTRY_VERIFY(shownAreMeasured());

    // Narrower: the row at the top stays where it was, what is shown is
    // measured, and rows far away keep an estimate until they are shown.
    const QModelIndex top = m_view->indexAt(QPoint(m_view->viewport()->width() / 2, 1));
    const qint64 topId = top.data(MessageListModel::IdRole).toLongLong();
    const int topY = m_view->visualRect(top).top();
    m_view->resize(420, 600);
    QTRY_VERIFY(shownAreMeasured());
    QCOMPARE(m_view->visualRect(m_view->indexOfMessage(topId)).top(), topY);
    const QModelIndex far = m_view->indexOfMessage(200);
    QVERIFY(m_view->messageDelegate()->isEstimated(optionAt(far), far));
    QVERIFY(m_view->visualRect(far).height() > 0);

    // Scrolling there measures those rows as they are painted.
    QVERIFY(m_view->revealMessage(200));
    QTRY_VERIFY(shownAreMeasured());
    QVERIFY(!m_view->messageDelegate()->isEstimated(optionAt(m_view->indexOfMessage(200)),
                                                    m_view->indexOfMessage(200)));

    // At the bottom, a change of width stays at the bottom with the latest measured.
    m_view->scrollToLatest();
    QTRY_VERIFY(m_view->isAtBottom());
    m_view->resize(640, 600);
    QTRY_VERIFY(shownAreMeasured());
    QTRY_COMPARE(m_view->lastVisibleMessage(), qint64(count));
    QVERIFY(m_view->isAtBottom());
}

void TestConversationView::initTestCase()
{
    installTranslations(qApp); // the app's English plural forms, as natter loads them
}

QTEST_MAIN(TestConversationView)
#include "tst_conversationview.moc"
