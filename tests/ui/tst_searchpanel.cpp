// The search panel under QT_QPA_PLATFORM=offscreen, used from the keyboard
// as people do: Ctrl+K, words and filters, Down, Enter, Esc.
#include "common/messagelistmodel.h"
#include "ui/mainwindow.h"
#include "ui/searchpanel.h"
#include "ui/translations.h"

#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTest>
#include <QTextDocument>
#include <QTreeView>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

Protocol::SearchHit hit(qint64 id, const QString &room, const QString &with, const QString &sender,
                        const QString &snippet, int start, int length)
{
    Protocol::SearchHit h;
    h.message.id = id;
    h.message.room = room;
    h.message.to = with;
    h.message.from = User{sender, sender.toLower() + u"@example.org"_s};
    h.message.text = snippet;
    h.message.timestamp = QDateTime(QDate(2026, 11, 20), QTime(10, 0), Qt::UTC).addSecs(id);
    h.snippet = snippet;
    h.highlights = {{start, length}};
    return h;
}

void type(QLineEdit *field, const QString &text)
{
    field->clear();
    QTest::keyClicks(field, text);
}

} // namespace

class TestSearchPanel final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void wordsAndFiltersMakeTheRequest();
    void filtersThatCannotBeReadSaySo();
    void resultsAreGroupedAndNavigatedByKeyboard();
    void moreResultsAppendTheNextPage();
    void answersToAnOlderQueryAreIgnored();
    void directHitsAreFiledUnderTheOtherPerson();
    void hitsReadWell();
    void escapeCloses();
    void ctrlKOpensItInTheWindow();

private:
    std::unique_ptr<SearchPanel> m_panel;
};

void TestSearchPanel::initTestCase()
{
    installTranslations(QCoreApplication::instance()); // the plural forms
}

void TestSearchPanel::init()
{
    m_panel = std::make_unique<SearchPanel>();
    m_panel->setPersonResolver([](const QString &name) {
        return name.compare(u"bob"_s, Qt::CaseInsensitive) == 0 ? u"bob@example.org"_s : QString();
    });
    m_panel->setTitleResolver(
        [](const ConversationKey &key) { return key.isRoom() ? u'#' + key.name : u"Bob Builder"_s; });
    m_panel->resize(400, 600);
    m_panel->open();
    QVERIFY(QTest::qWaitForWindowExposed(m_panel.get()));
    QTRY_VERIFY(m_panel->field()->hasFocus());
}

void TestSearchPanel::cleanup()
{
    m_panel.reset();
}

void TestSearchPanel::wordsAndFiltersMakeTheRequest()
{
    QSignalSpy asked(m_panel.get(), &SearchPanel::searchRequested);
    type(m_panel->field(),
         u"deploy* \"release notes\" in:#Ops from:bob before:2026-12-01 after:2026-11-01"_s);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    QCOMPARE(asked.size(), 1);
    const auto request = asked.at(0).at(0).value<Protocol::SearchRequest>();
    QCOMPARE(request.query, u"deploy* \"release notes\""_s);
    QCOMPARE(request.room, u"ops"_s);
    QCOMPARE(request.from, u"bob@example.org"_s);
    QCOMPARE(request.before, QDateTime(QDate(2026, 12, 1), QTime(0, 0)).toUTC()); // the local day
    QCOMPARE(request.after, QDateTime(QDate(2026, 11, 1), QTime(0, 0)).toUTC());
    QVERIFY(request.cursor.isEmpty());
    QCOMPARE(m_panel->statusLabel()->text(), u"Searching…"_s);

    // Typing searches by itself after a pause.
    type(m_panel->field(), u"lunch"_s);
    QTRY_COMPARE(asked.size(), 2);
    QCOMPARE(asked.at(1).at(0).value<Protocol::SearchRequest>().query, u"lunch"_s);
}

void TestSearchPanel::filtersThatCannotBeReadSaySo()
{
    QSignalSpy asked(m_panel.get(), &SearchPanel::searchRequested);
    for (const QString &text :
         {u"lunch before:yesterday"_s, u"lunch from:nobody"_s, u"\"open quote"_s, u"in:#ops"_s}) {
        type(m_panel->field(), text);
        QTest::keyClick(m_panel->field(), Qt::Key_Return);
        QVERIFY2(!m_panel->statusLabel()->text().isEmpty() &&
                     m_panel->statusLabel()->text() != u"Searching…"_s,
                 qPrintable(text));
    }
    QCOMPARE(asked.size(), 0);
    QVERIFY(m_panel->statusLabel()->text().contains(u"word"_s)); // a filter alone is not a search
}

void TestSearchPanel::resultsAreGroupedAndNavigatedByKeyboard()
{
    QSignalSpy opened(m_panel.get(), &SearchPanel::resultActivated);
    type(m_panel->field(), u"lunch"_s);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    m_panel->showResults(Protocol::SearchResults{
        u"lunch"_s,
        {hit(30, u"general"_s, {}, u"Bob"_s, u"lunch at noon?"_s, 0, 5),
         hit(20, {}, u"bob@example.org"_s, u"Bob"_s, u"…about lunch tomorrow"_s, 7, 5),
         hit(10, u"general"_s, {}, u"Carol"_s, u"no lunch for me"_s, 3, 5)},
        {}});
    QStandardItemModel *model = m_panel->results();
    QCOMPARE(model->rowCount(), 2); // #general and the direct conversation
    QCOMPARE(model->item(0)->text(), u"#general"_s);
    QCOMPARE(model->item(0)->rowCount(), 2);
    QCOMPARE(model->item(1)->text(), u"Bob Builder"_s);
    QCOMPARE(m_panel->statusLabel()->text(), u"3 results"_s);
    const QModelIndex first = model->item(0)->child(0)->index();
    QCOMPARE(first.data(SearchPanel::HighlightsRole).value<QList<QPoint>>(), QList<QPoint>{QPoint(0, 5)});
    // The first result is chosen; Down goes to the next, across groups, never onto a header.
    QCOMPARE(m_panel->resultsView()->currentIndex(), first);
    QTest::keyClick(m_panel->field(), Qt::Key_Down);
    QCOMPARE(m_panel->resultsView()->currentIndex().data(SearchPanel::IdRole).toLongLong(), 10);
    QTest::keyClick(m_panel->field(), Qt::Key_Down);
    QCOMPARE(m_panel->resultsView()->currentIndex().data(SearchPanel::IdRole).toLongLong(), 20);
    QTest::keyClick(m_panel->field(), Qt::Key_Down); // stays on the last
    QCOMPARE(m_panel->resultsView()->currentIndex().data(SearchPanel::IdRole).toLongLong(), 20);
    QTest::keyClick(m_panel->field(), Qt::Key_Up);
    QCOMPARE(m_panel->resultsView()->currentIndex().data(SearchPanel::IdRole).toLongLong(), 10);
    QVERIFY(m_panel->field()->hasFocus()); // typing goes on in the field
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    QCOMPARE(opened.size(), 1);
    QCOMPARE(opened.at(0).at(0).value<ConversationKey>(), ConversationKey::room(u"general"_s));
    QCOMPARE(opened.at(0).at(1).toLongLong(), 10);
    // A click opens one too.
    const QModelIndex direct = model->item(1)->child(0)->index();
    QTest::mouseClick(m_panel->resultsView()->viewport(), Qt::LeftButton, {},
                      m_panel->resultsView()->visualRect(direct).center());
    QCOMPARE(opened.size(), 2);
    QCOMPARE(opened.at(1).at(0).value<ConversationKey>(), ConversationKey::direct(u"bob@example.org"_s));

    // Another person's words in a result's tooltip are shown as typed.
    const QString hostile = u"<h1 style=\"color:green\">✔ Scanned: safe</h1><p style=\"font-size:1px\">x"_s;
    type(m_panel->field(), u"scanned"_s);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    m_panel->showResults(
        Protocol::SearchResults{u"scanned"_s, {hit(50, u"general"_s, {}, u"Eve"_s, hostile, 0, 3)}, {}});
    QTextDocument tip;
    tip.setHtml(m_panel->results()->item(0)->child(0)->toolTip());
    QCOMPARE(tip.toPlainText(), hostile);

    // No results say so.
    type(m_panel->field(), u"zebra"_s);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    m_panel->showResults(Protocol::SearchResults{u"zebra"_s, {}, {}});
    QCOMPARE(m_panel->results()->rowCount(), 0);
    QVERIFY(m_panel->statusLabel()->text().startsWith(u"No messages match"_s));
}

void TestSearchPanel::moreResultsAppendTheNextPage()
{
    QSignalSpy asked(m_panel.get(), &SearchPanel::searchRequested);
    type(m_panel->field(), u"lunch"_s);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    m_panel->showResults(Protocol::SearchResults{
        u"lunch"_s, {hit(30, u"general"_s, {}, u"Bob"_s, u"lunch"_s, 0, 5)}, u"1.20"_s});
    QStandardItemModel *model = m_panel->results();
    QCOMPARE(model->rowCount(), 2); // the group and "More results…"
    QVERIFY(model->item(1)->data(SearchPanel::MoreRole).toBool());
    QTest::keyClick(m_panel->field(), Qt::Key_Down); // onto "More results…"
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    QCOMPARE(asked.size(), 2);
    QCOMPARE(asked.at(1).at(0).value<Protocol::SearchRequest>().cursor, u"1.20"_s);
    m_panel->showResults(
        Protocol::SearchResults{u"lunch"_s, {hit(5, u"general"_s, {}, u"Carol"_s, u"lunch"_s, 0, 5)}, {}});
    QCOMPARE(model->rowCount(), 1); // one group, no "more"
    QCOMPARE(model->item(0)->rowCount(), 2);
    QCOMPARE(m_panel->statusLabel()->text(), u"2 results"_s);
}

void TestSearchPanel::answersToAnOlderQueryAreIgnored()
{
    type(m_panel->field(), u"lunch"_s);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    type(m_panel->field(), u"dinner"_s);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    m_panel->showResults(
        Protocol::SearchResults{u"lunch"_s, {hit(30, u"general"_s, {}, u"Bob"_s, u"lunch"_s, 0, 5)}, {}});
    QCOMPARE(m_panel->results()->rowCount(), 0);
    QCOMPARE(m_panel->statusLabel()->text(), u"Searching…"_s);
}

void TestSearchPanel::directHitsAreFiledUnderTheOtherPerson()
{
    // Alice searches; Bob's message to her and hers to him are one conversation, with Bob.
    m_panel->setSelfResolver([] { return u"alice@example.org"_s; });
    m_panel->setTitleResolver([](const ConversationKey &key) {
        return key.isRoom() ? u'#' + key.name : key.name == u"bob@example.org"_s ? u"Bob Builder"_s : u"?"_s;
    });
    QSignalSpy opened(m_panel.get(), &SearchPanel::resultActivated);
    type(m_panel->field(), u"invoice"_s);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    m_panel->showResults(Protocol::SearchResults{
        u"invoice"_s,
        {hit(40, {}, u"alice@example.org"_s, u"Bob"_s, u"the invoice is attached"_s, 4, 7),
         hit(41, {}, u"bob@example.org"_s, u"Alice"_s, u"thanks for the invoice"_s, 15, 7)},
        {}});
    QStandardItemModel *model = m_panel->results();
    QCOMPARE(model->rowCount(), 1);
    QCOMPARE(model->item(0)->text(), u"Bob Builder"_s);
    QCOMPARE(model->item(0)->rowCount(), 2);
    // Enter on the received one opens the conversation with Bob.
    QCOMPARE(m_panel->resultsView()->currentIndex().data(SearchPanel::IdRole).toLongLong(), 40);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    QCOMPARE(opened.size(), 1);
    QCOMPARE(opened.at(0).at(0).value<ConversationKey>(), ConversationKey::direct(u"bob@example.org"_s));
}

void TestSearchPanel::hitsReadWell()
{
    // Today's hits by their time alone, older ones with their date.
    const QDate today(2026, 12, 8);
    const QString now = SearchPanel::whenText(QDateTime(today, QTime(9, 5)), today);
    QVERIFY2(!now.contains(u"26"_s) && now.contains(u"9"_s), qPrintable(now));
    const QString before = SearchPanel::whenText(QDateTime(today.addDays(-3), QTime(9, 5)), today);
    QVERIFY2(before.size() > now.size() && before.endsWith(now), qPrintable(before));
    // A long line ends in "…"; a short one is as it was, on one line.
    const QFont font = m_panel->font();
    const QString longLine =
        u"a very long message that goes on and on about the quarterly numbers "_s.repeated(4);
    const QString shown = SearchPanel::snippetLine(longLine, font, 200);
    QVERIFY2(shown.endsWith(u"…"_s) && shown.size() < longLine.size(), qPrintable(shown));
    QCOMPARE(SearchPanel::snippetLine(u"two\nlines"_s, font, 400), u"two lines"_s);
    // A filter without hits names the filter.
    type(m_panel->field(), u"zebra in:#design"_s);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    m_panel->showResults(Protocol::SearchResults{u"zebra"_s, {}, {}});
    QCOMPARE(m_panel->statusLabel()->text(), u"No messages match “zebra” in #design."_s);
    type(m_panel->field(), u"zebra from:bob"_s);
    QTest::keyClick(m_panel->field(), Qt::Key_Return);
    m_panel->showResults(Protocol::SearchResults{u"zebra"_s, {}, {}});
    QCOMPARE(m_panel->statusLabel()->text(), u"No messages match “zebra” from bob."_s);
}

void TestSearchPanel::escapeCloses()
{
    QSignalSpy closed(m_panel.get(), &SearchPanel::closed);
    QTest::keyClick(m_panel->field(), Qt::Key_Escape);
    QCOMPARE(closed.size(), 1);
    QVERIFY(!m_panel->isVisible());
}

void TestSearchPanel::ctrlKOpensItInTheWindow()
{
    MainWindow window;
    MessageListModel model;
    window.resize(1200, 700);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.showConversation(ConversationKey::room(u"general"_s), &model);
    window.activateWindow();
    QTRY_VERIFY(window.isActiveWindow());
    QVERIFY(!window.searchPanel()->isVisible());
    QTest::keyClick(&window, Qt::Key_K, Qt::ControlModifier);
    QTRY_VERIFY(window.searchPanel()->isVisible());
    QTRY_VERIFY(window.searchPanel()->field()->hasFocus());
    QSignalSpy asked(&window, &MainWindow::searchRequested);
    QTest::keyClicks(window.searchPanel()->field(), u"lunch"_s);
    QTest::keyClick(window.searchPanel()->field(), Qt::Key_Return);
    QCOMPARE(asked.size(), 1);
    QSignalSpy requested(&window, &MainWindow::messageRequested);
    window.showSearchResults(
        Protocol::SearchResults{u"lunch"_s, {hit(30, u"general"_s, {}, u"Bob"_s, u"lunch"_s, 0, 5)}, {}});
    QTest::keyClick(window.searchPanel()->field(), Qt::Key_Return);
    QCOMPARE(requested.size(), 1);
    QCOMPARE(requested.at(0).at(1).toLongLong(), 30);
    // One search field at a time: the header's gives way to the panel's.
    auto *header = window.findChild<QLineEdit *>(u"headerSearch"_s);
    QVERIFY(header);
    QVERIFY(!header->isVisible());
    QTest::keyClick(window.searchPanel()->field(), Qt::Key_Escape);
    QVERIFY(!window.searchPanel()->isVisible());
    QVERIFY(header->isVisible());

    // The header's field opens the panel with what was typed.
    header->setFocus();
    QTest::keyClicks(header, u"d"_s);
    QTRY_VERIFY(window.searchPanel()->isVisible());
    QCOMPARE(window.searchPanel()->field()->text(), u"d"_s);
    QVERIFY(header->text().isEmpty());
}

QTEST_MAIN(TestSearchPanel)
#include "tst_searchpanel.moc"
