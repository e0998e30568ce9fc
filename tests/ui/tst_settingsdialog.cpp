// The settings dialog (offscreen): shows what it is given, gives back what
// the user changed, by keyboard, and refuses what cannot be saved.
#include "ui/settingsdialog.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

const ConversationKey General = ConversationKey::room(u"general"_s);
const ConversationKey Random = ConversationKey::room(u"random"_s);
const ConversationKey Bob = ConversationKey::direct(u"bob@example.org"_s);

SettingsDialog::Values someValues()
{
    SettingsDialog::Values values;
    values.name = u"Alice"_s;
    values.email = u"alice@example.org"_s;
    values.theme = Theme::Light;
    values.compact = true;
    values.sortByActivity = false;
    values.notifications = true;
    values.muted = {Random};
    values.startOnLogin = true;
    values.keepRunningInTray = false;
    return values;
}

QPushButton *okButton(SettingsDialog &dialog)
{
    return dialog.findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok);
}

} // namespace

class TestSettingsDialog final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void givesBackWhatItWasGiven();
    void worksByKeyboard();
    void refusesANameOthersCouldNotSee();
    void trayOptionNeedsATray();
};

void TestSettingsDialog::givesBackWhatItWasGiven()
{
    SettingsDialog dialog;
    dialog.setConversations({{General, u"#general"_s}, {Random, u"#random"_s}, {Bob, u"Bob"_s}});
    dialog.setTrayAvailable(true);
    dialog.setValues(someValues());
    const SettingsDialog::Values values = dialog.values();
    QCOMPARE(values.name, u"Alice"_s);
    QCOMPARE(values.email, u"alice@example.org"_s);
    QCOMPARE(values.theme, Theme::Light);
    QVERIFY(values.compact);
    QVERIFY(!values.sortByActivity);
    QVERIFY(values.notifications);
    QCOMPARE(values.muted, QList<ConversationKey>{Random});
    QVERIFY(values.startOnLogin);
    QVERIFY(!values.keepRunningInTray);
    QCOMPARE(dialog.conversationList()->count(), 3);
    QCOMPARE(dialog.conversationList()->item(1)->checkState(), Qt::Unchecked); // #random is muted
}

void TestSettingsDialog::worksByKeyboard()
{
    SettingsDialog dialog;
    dialog.setConversations({{General, u"#general"_s}, {Random, u"#random"_s}, {Bob, u"Bob"_s}});
    dialog.setTrayAvailable(true);
    dialog.setValues(someValues());
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    dialog.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&dialog));
    // The name first; Tab walks to the conversations; Space switches one.
    QTRY_COMPARE(QApplication::focusWidget(), dialog.nameEdit());
    QWidget *list = dialog.conversationList();
    for (int i = 0; i < 20 && QApplication::focusWidget() != list; ++i)
        QTest::keyClick(QApplication::focusWidget(), Qt::Key_Tab);
    QCOMPARE(QApplication::focusWidget(), list);
    dialog.conversationList()->setCurrentRow(2);
    QTest::keyClick(list, Qt::Key_Space);
    QCOMPARE(dialog.values().muted, (QList<ConversationKey>{Random, Bob}));
    // All notifications off: the list cannot be changed (it would not matter).
    for (QCheckBox *box : dialog.findChildren<QCheckBox *>()) {
        if (box->text().remove(u'&').startsWith(u"Show a notification"_s))
            box->setFocus();
    }
    QTest::keyClick(QApplication::focusWidget(), Qt::Key_Space);
    QVERIFY(!dialog.values().notifications);
    QVERIFY(!list->isEnabled());
    // Enter accepts.
    dialog.nameEdit()->setFocus();
    QTest::keyClick(dialog.nameEdit(), Qt::Key_Return);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
}

void TestSettingsDialog::refusesANameOthersCouldNotSee()
{
    SettingsDialog dialog;
    dialog.setValues(someValues());
    QVERIFY(okButton(dialog)->isEnabled());
    dialog.nameEdit()->setText(u"   "_s);
    QVERIFY(!okButton(dialog)->isEnabled());
    dialog.nameEdit()->setText(u"Al\u0007ice"_s); // a control character
    QVERIFY(!okButton(dialog)->isEnabled());
    dialog.nameEdit()->setText(u"  Alice Martin  "_s);
    QVERIFY(okButton(dialog)->isEnabled());
    QCOMPARE(dialog.values().name, u"Alice Martin"_s); // trimmed
}

void TestSettingsDialog::trayOptionNeedsATray()
{
    SettingsDialog dialog;
    dialog.setTrayAvailable(false);
    SettingsDialog::Values values = someValues();
    values.keepRunningInTray = true;
    dialog.setValues(values);
    QVERIFY(!dialog.values().keepRunningInTray); // never promised where it cannot work
    QCheckBox *keep = nullptr;
    for (QCheckBox *box : dialog.findChildren<QCheckBox *>()) {
        if (box->text().remove(u'&').startsWith(u"Keep running"_s))
            keep = box;
    }
    QVERIFY(keep);
    QVERIFY(!keep->isEnabled());
    QVERIFY(!keep->toolTip().isEmpty());
}

QTEST_MAIN(TestSettingsDialog)
#include "tst_settingsdialog.moc"
