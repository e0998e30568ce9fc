#include "ui/passworddialog.h"

#include "common/protocol.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace Natter {

PasswordDialog::PasswordDialog(const QString &server, const QString &email, const QString &why,
                               bool newAccount, QWidget *parent)
    : QDialog(parent)
    , m_server(server)
    , m_heading(new QLabel(this))
    , m_rule(new QLabel(this))
    , m_problem(new QLabel(this))
    , m_password(new QLineEdit(this))
    , m_confirmLabel(new QLabel(tr("&Again:"), this))
    , m_confirm(new QLineEdit(this))
    , m_ok(new QPushButton(this))
    , m_switch(new QPushButton(this))
{
    setObjectName(QStringLiteral("passwordDialog"));
    setMinimumWidth(fontMetrics().averageCharWidth() * 56);
    auto *layout = new QVBoxLayout(this);

    QFont headingFont = m_heading->font();
    headingFont.setBold(true);
    headingFont.setPointSizeF(headingFont.pointSizeF() * 1.15);
    m_heading->setFont(headingFont);
    m_heading->setTextFormat(Qt::PlainText);
    m_heading->setWordWrap(true);
    layout->addWidget(m_heading);
    auto *who = new QLabel(tr("as %1").arg(email), this);
    who->setTextFormat(Qt::PlainText);
    layout->addWidget(who);
    if (!why.isEmpty()) {
        // What happened, said plainly: a note, not an alarm.
        auto *note = new QLabel(why, this);
        note->setObjectName(QStringLiteral("passwordNote"));
        note->setTextFormat(Qt::PlainText);
        note->setWordWrap(true);
        note->setForegroundRole(QPalette::PlaceholderText);
        layout->addWidget(note);
    }

    auto *form = new QFormLayout;
    m_password->setEchoMode(QLineEdit::Password);
    m_password->setObjectName(QStringLiteral("password"));
    m_password->setAccessibleName(tr("Password"));
    form->addRow(tr("&Password:"), m_password);
    m_confirm->setEchoMode(QLineEdit::Password);
    m_confirm->setObjectName(QStringLiteral("confirmPassword"));
    m_confirm->setAccessibleName(tr("Password again"));
    m_confirmLabel->setBuddy(m_confirm);
    form->addRow(m_confirmLabel, m_confirm);
    layout->addLayout(form);
    // The rule before it is broken, then whether it is met.
    m_rule->setObjectName(QStringLiteral("passwordRule"));
    m_rule->setTextFormat(Qt::PlainText);
    m_rule->setWordWrap(true);
    layout->addWidget(m_rule);
    m_problem->setObjectName(QStringLiteral("passwordProblem"));
    m_problem->setTextFormat(Qt::PlainText);
    m_problem->setWordWrap(true);
    layout->addWidget(m_problem);

    auto *buttons = new QDialogButtonBox(this);
    buttons->addButton(m_ok, QDialogButtonBox::AcceptRole);
    buttons->addButton(QDialogButtonBox::Cancel);
    m_switch->setFlat(true);
    m_switch->setAutoDefault(false); // Enter signs in, whatever was clicked last
    m_switch->setCursor(Qt::PointingHandCursor);
    m_switch->setObjectName(QStringLiteral("switchAccountMode"));
    buttons->addButton(m_switch, QDialogButtonBox::ActionRole);
    m_ok->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_switch, &QPushButton::clicked, this, [this] {
        setNewAccount(!m_newAccount);
        m_password->setFocus();
    });
    connect(m_password, &QLineEdit::textChanged, this, &PasswordDialog::update);
    connect(m_confirm, &QLineEdit::textChanged, this, &PasswordDialog::update);
    layout->addWidget(buttons);
    setNewAccount(newAccount);
    m_password->setFocus();
}

PasswordDialog::~PasswordDialog() = default;

QString PasswordDialog::password() const
{
    return m_password->text();
}

void PasswordDialog::setNewAccount(bool newAccount)
{
    m_newAccount = newAccount;
    setWindowTitle(newAccount ? tr("Create Your Account") : tr("Sign In"));
    m_heading->setText(newAccount ? tr("Create your account on %1").arg(m_server)
                                  : tr("Sign in to %1").arg(m_server));
    m_ok->setText(newAccount ? tr("Create Account") : tr("Sign In"));
    m_switch->setText(newAccount ? tr("Have an account? Sign in") : tr("New here? Create an account"));
    m_confirmLabel->setVisible(newAccount);
    m_confirm->setVisible(newAccount);
    if (!newAccount)
        m_confirm->clear();
    update();
}

void PasswordDialog::update()
{
    const qsizetype length = m_password->text().size();
    const bool longEnough = length >= Protocol::MinPasswordLength;
    m_rule->setText(longEnough && m_newAccount
                        ? tr("✓ At least %1 characters.").arg(Protocol::MinPasswordLength)
                        : tr("At least %1 characters.").arg(Protocol::MinPasswordLength));
    QString problem;
    if (m_newAccount && !m_confirm->text().isEmpty() && m_confirm->text() != m_password->text() &&
        !m_password->text().startsWith(m_confirm->text()))
        problem = tr("The two passwords differ.");
    m_problem->setText(problem);
    m_problem->setVisible(!problem.isEmpty());
    m_ok->setEnabled(longEnough && (!m_newAccount || m_confirm->text() == m_password->text()));
}

} // namespace Natter
