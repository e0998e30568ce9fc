// The sign-in form: signing in with one field, or creating an account with
// the password twice and the rule said before it is broken.
#include "ui/passworddialog.h"
#include "ui/translations.h"

#include <QCoreApplication>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTest>

using namespace Natter;

class TestPasswordDialog final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void anAccountIsCreatedWithThePasswordTwice();
    void signingInNeedsItOnce();
};

void TestPasswordDialog::initTestCase()
{
    installTranslations(qApp);
}

void TestPasswordDialog::anAccountIsCreatedWithThePasswordTwice()
{
    PasswordDialog dialog(QStringLiteral("Studio LAN"), QStringLiteral("dan@example.org"),
                          QStringLiteral("This server needs your password to sign you in."), true);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    QCOMPARE(dialog.windowTitle(), QStringLiteral("Create Your Account"));
    QCOMPARE(dialog.okButton()->text(), QStringLiteral("Create Account"));
    QVERIFY(dialog.confirmField()->isVisible());
    // The rule is there before anything is typed; nothing is an error yet.
    QCOMPARE(dialog.ruleLabel()->text(), QStringLiteral("At least 8 characters."));
    QVERIFY(!dialog.problemLabel()->isVisible());
    QVERIFY(!dialog.okButton()->isEnabled());
    auto *note = dialog.findChild<QLabel *>(QStringLiteral("passwordNote"));
    QVERIFY(note);
    QCOMPARE(note->foregroundRole(), QPalette::PlaceholderText); // a note, not a pink alarm

    QTest::keyClicks(dialog.passwordField(), QStringLiteral("short"));
    QVERIFY(!dialog.okButton()->isEnabled());
    QTest::keyClicks(dialog.passwordField(), QStringLiteral(" but fine"));
    QCOMPARE(dialog.ruleLabel()->text(), QStringLiteral("✓ At least 8 characters."));
    QVERIFY(!dialog.okButton()->isEnabled()); // not confirmed yet
    // Typing the second one: no complaint while it is on its way, one when it differs.
    QTest::keyClicks(dialog.confirmField(), QStringLiteral("short"));
    QVERIFY(!dialog.problemLabel()->isVisible());
    QTest::keyClicks(dialog.confirmField(), QStringLiteral(" but fjne"));
    QVERIFY(dialog.problemLabel()->isVisible());
    QCOMPARE(dialog.problemLabel()->text(), QStringLiteral("The two passwords differ."));
    QVERIFY(!dialog.okButton()->isEnabled());
    dialog.confirmField()->setText(QStringLiteral("short but fine"));
    QVERIFY(!dialog.problemLabel()->isVisible());
    QVERIFY(dialog.okButton()->isEnabled());
    QTest::mouseClick(dialog.okButton(), Qt::LeftButton);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    QCOMPARE(dialog.password(), QStringLiteral("short but fine"));
}

void TestPasswordDialog::signingInNeedsItOnce()
{
    PasswordDialog dialog(QStringLiteral("Studio LAN"), QStringLiteral("bob@example.org"), {}, true);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    // "Have an account?": one field, and the button says Sign In.
    QTest::mouseClick(dialog.switchButton(), Qt::LeftButton);
    QVERIFY(!dialog.isNewAccount());
    QVERIFY(!dialog.confirmField()->isVisible());
    QCOMPARE(dialog.okButton()->text(), QStringLiteral("Sign In"));
    QTest::keyClicks(dialog.passwordField(), QStringLiteral("correct horse"));
    QVERIFY(dialog.okButton()->isEnabled());
    QTest::keyClick(dialog.passwordField(), Qt::Key_Return);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
}

QTEST_MAIN(TestPasswordDialog)
#include "tst_passworddialog.moc"
