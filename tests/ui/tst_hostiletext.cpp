// Another person's words where Qt would take them for markup, under
// QT_QPA_PLATFORM=offscreen: each place is shown a hostile file or display
// name and the test reads what a person would see.
#include "common/conversationlistmodel.h"
#include "common/memberlistmodel.h"
#include "ui/plaintext.h"
#include "ui/sidebardelegates.h"

#include <QApplication>
#include <QHelpEvent>
#include <QLabel>
#include <QListView>
#include <QMessageBox>
#include <QPushButton>
#include <QStandardItemModel>
#include <QTest>
#include <QTextDocument>
#include <QToolTip>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

/// A file name that would turn the warning into "✔ Scanned: safe PDF".
const QString HostileName =
    u"<h1 style=\"color:green\">✔ Scanned: safe PDF</h1><p style=\"font-size:1px\">x.sh"_s;

/// What a string shows once Qt has decided whether it is rich text.
QString shownAs(const QString &text, Qt::TextFormat format = Qt::AutoText)
{
    if (format == Qt::PlainText || (format == Qt::AutoText && !Qt::mightBeRichText(text)))
        return text;
    QTextDocument document;
    document.setHtml(text);
    return document.toPlainText();
}

} // namespace

class TestHostileText final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void theOpenProgramWarningShowsTheNameAsTyped();
    void sidebarTooltipsShowNamesAsTyped();
    void notificationBodiesCarryNoMarkup();
    void isolatedNamesCannotReorderTheSentence();
};

void TestHostileText::theOpenProgramWarningShowsTheNameAsTyped()
{
    QWidget parent;
    std::unique_ptr<QMessageBox> box(PlainText::openProgramQuestion(&parent, HostileName));
    box->open();
    QVERIFY(QTest::qWaitForWindowExposed(box.get()));
    auto *label = box->findChild<QLabel *>(u"qt_msgbox_label"_s);
    QVERIFY(label);
    const QString shown = shownAs(label->text(), label->textFormat());
    QVERIFY2(shown.contains(HostileName), qPrintable(shown));
    // The warning itself is whole, at the label's own size.
    QVERIFY(shown.contains(u"is a program or script"_s));
    auto *informative = box->findChild<QLabel *>(u"qt_msgbox_informativelabel"_s);
    QVERIFY(informative);
    QCOMPARE(shownAs(informative->text(), informative->textFormat()),
             u"Open it only if you trust it and its sender."_s);
    // Cancel is the default: Enter does not run someone else's program.
    QCOMPARE(box->defaultButton(), box->button(QMessageBox::Cancel));
    box->close();
}

void TestHostileText::sidebarTooltipsShowNamesAsTyped()
{
    MemberListModel members;
    members.setMembers({User{HostileName, u"eve@example.org"_s}, User{u"Bob"_s, u"bob@example.org"_s}});
    // A member's tooltip is their email: make the hostile part the model's tooltip.
    QStandardItemModel sidebar;
    auto *row = new QStandardItem(u"eve"_s);
    row->setData(HostileName, Qt::ToolTipRole);
    sidebar.appendRow(row);
    for (QAbstractItemModel *model :
         {static_cast<QAbstractItemModel *>(&sidebar), static_cast<QAbstractItemModel *>(&members)}) {
        QListView view;
        view.setItemDelegate(new MemberDelegate(&view));
        view.setModel(model);
        view.resize(300, 200);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        const QModelIndex first = model->index(0, 0);
        const QPoint at = view.visualRect(first).center();
        QHelpEvent help(QEvent::ToolTip, at, view.viewport()->mapToGlobal(at));
        QApplication::sendEvent(view.viewport(), &help);
        QTRY_VERIFY(QToolTip::isVisible());
        QCOMPARE(shownAs(QToolTip::text()), first.data(Qt::ToolTipRole).toString());
        QToolTip::hideText();
        QTRY_VERIFY(!QToolTip::isVisible());
    }
}

void TestHostileText::notificationBodiesCarryNoMarkup()
{
    const QString body = PlainText::notificationBody(u"<b>urgent</b> & <a href=\"http://evil\">click</a>"_s);
    QVERIFY(!body.contains(u'<'));
    QCOMPARE(shownAs(u"<p>"_s + body + u"</p>"_s), u"<b>urgent</b> & <a href=\"http://evil\">click</a>"_s);
}

void TestHostileText::isolatedNamesCannotReorderTheSentence()
{
    const QString name = u"\u202Eevil"_s;
    const QString isolated = PlainText::isolated(name);
    QCOMPARE(isolated.front(), QChar(0x2068));
    QCOMPARE(isolated.back(), QChar(0x2069));
    QCOMPARE(isolated.mid(1, name.size()), name);
}

QTEST_MAIN(TestHostileText)
#include "tst_hostiletext.moc"
