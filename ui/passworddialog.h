#pragma once

#include <QDialog>

QT_BEGIN_NAMESPACE
class QLabel;
class QLineEdit;
class QPushButton;
QT_END_NAMESPACE

namespace Natter {

/// Asks for the password of an account on a chat, as a form rather than an
/// error: signing in (one field), or creating the account (the password
/// twice, the rule said before it is broken, the button enabled once both
/// agree). A server does not say whether an email has an account, so the
/// user can switch between the two.
class PasswordDialog final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PasswordDialog)

public:
    /// server: how the chat is named; why: what happened (empty: nothing to say).
    PasswordDialog(const QString &server, const QString &email, const QString &why, bool newAccount,
                   QWidget *parent = nullptr);
    ~PasswordDialog() override;

    QString password() const;
    bool isNewAccount() const { return m_newAccount; }
    void setNewAccount(bool newAccount);

    QLineEdit *passwordField() const { return m_password; }
    QLineEdit *confirmField() const { return m_confirm; }
    QPushButton *okButton() const { return m_ok; }
    /// "Have an account? Sign in" / "New here? Create an account".
    QPushButton *switchButton() const { return m_switch; }
    QLabel *ruleLabel() const { return m_rule; }
    QLabel *problemLabel() const { return m_problem; }

private:
    void update();

    QString m_server;
    bool m_newAccount = false;
    QLabel *m_heading;
    QLabel *m_rule;
    QLabel *m_problem;
    QLineEdit *m_password;
    QLabel *m_confirmLabel;
    QLineEdit *m_confirm;
    QPushButton *m_ok;
    QPushButton *m_switch;
};

} // namespace Natter
