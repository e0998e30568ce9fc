#include "ui/welcomedialog.h"

#include "common/invitelink.h"
#include "common/serveraddress.h"
#include "common/validation.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {
constexpr int UrlRole = Qt::UserRole + 1;
}

WelcomeDialog::WelcomeDialog(QWidget *parent)
    : QDialog(parent)
    , m_name(new QLineEdit(this))
    , m_email(new QLineEdit(this))
    , m_password(new QLineEdit(this))
    , m_servers(new QListWidget(this))
    , m_address(new QComboBox(this))
    , m_note(new QLabel(this))
    , m_error(new QLabel(this))
    , m_join(new QPushButton(tr("&Join"), this))
    , m_host(new QPushButton(tr("&Host a chat on this computer"), this))
    , m_searchTimer(new QTimer(this))
{
    setWindowTitle(tr("Welcome to Natter"));
    auto *layout = new QVBoxLayout(this);

    auto *intro = new QLabel(tr("<b>Chat with the people on your network.</b>"), this);
    layout->addWidget(intro);
    m_note->setObjectName(u"welcomeNote"_s);
    m_note->setTextFormat(Qt::PlainText); // a server's words may be in it
    m_note->setWordWrap(true);
    m_note->hide();
    layout->addWidget(m_note);

    auto *form = new QFormLayout;
    m_name->setPlaceholderText(tr("Alice Smith"));
    m_name->setMaxLength(int(Validation::MaxDisplayNameLength));
    m_email->setPlaceholderText(tr("alice@example.org"));
    m_email->setMaxLength(int(Validation::MaxEmailLength));
    form->addRow(tr("&Name:"), m_name);
    form->addRow(tr("&Email:"), m_email);
    m_password->setEchoMode(QLineEdit::Password);
    m_password->setObjectName(u"password"_s);
    m_password->setPlaceholderText(tr("not needed when you host, or when Natter remembers you"));
    m_password->setToolTip(tr("Your password on the chat you join. New there? Choose one: the first sign-in "
                              "creates your account. Natter keeps a sign-in token, never the password."));
    form->addRow(tr("&Password:"), m_password);
    layout->addLayout(form);

    auto *serversLabel = new QLabel(tr("Chats on your network:"), this);
    serversLabel->setBuddy(m_servers);
    layout->addWidget(serversLabel);
    m_servers->setObjectName(u"discoveredServers"_s);
    m_servers->setMinimumHeight(fontMetrics().height() * 6);
    m_servers->setAccessibleName(tr("Chats on your network"));
    auto *searching = new QListWidgetItem(tr("Looking for chats…"), m_servers);
    searching->setFlags(Qt::NoItemFlags);
    m_searchTimer->setSingleShot(true);
    m_searchTimer->setInterval(std::chrono::seconds(4));
    connect(m_searchTimer, &QTimer::timeout, this, &WelcomeDialog::showNoneFound);
    layout->addWidget(m_servers, 1);

    auto *addressLabel = new QLabel(tr("Or &address (host:port) or invite link:"), this);
    m_address->setEditable(true);
    m_address->setInsertPolicy(QComboBox::NoInsert);
    m_address->lineEdit()->setPlaceholderText(tr("192.168.1.20:5000"));
    addressLabel->setBuddy(m_address);
    auto *addressRow = new QHBoxLayout;
    addressRow->addWidget(addressLabel);
    addressRow->addWidget(m_address, 1);
    layout->addLayout(addressRow);

    m_error->setWordWrap(true);
    m_error->setTextFormat(Qt::PlainText);
    QPalette errorPalette = m_error->palette();
    errorPalette.setColor(QPalette::WindowText, palette().color(QPalette::Window).lightnessF() < 0.5
                                                    ? QColor(0xff, 0x8a, 0x80)
                                                    : QColor(0xc6, 0x28, 0x28));
    m_error->setPalette(errorPalette);
    m_error->hide();
    layout->addWidget(m_error);

    // Who may make an account on a chat hosted here.
    auto *accessRow = new QHBoxLayout;
    auto *accessLabel = new QLabel(tr("If you host: who may &join"), this);
    m_hostAccess = new QComboBox(this);
    m_hostAccess->setObjectName(u"hostAccess"_s);
    m_hostAccess->addItem(tr("anyone on the network who has the address"), int(HostAccess::Open));
    m_hostAccess->addItem(tr("only people I invite (with an invite link)"), int(HostAccess::InviteOnly));
    m_hostAccess->addItem(tr("only people who have joined before (no one new)"), int(HostAccess::Closed));
    accessLabel->setBuddy(m_hostAccess);
    accessRow->addWidget(accessLabel);
    accessRow->addWidget(m_hostAccess, 1);
    layout->addLayout(accessRow);

    auto *buttons = new QDialogButtonBox(this);
    buttons->addButton(m_host, QDialogButtonBox::ActionRole);
    buttons->addButton(m_join, QDialogButtonBox::AcceptRole);
    buttons->addButton(QDialogButtonBox::Cancel);
    m_join->setDefault(true);
    layout->addWidget(buttons);

    connect(m_join, &QPushButton::clicked, this, &WelcomeDialog::tryJoin);
    // Enter in the address field joins that address, whichever button is the default.
    connect(m_address->lineEdit(), &QLineEdit::returnPressed, this, &WelcomeDialog::tryJoin);
    connect(m_host, &QPushButton::clicked, this, &WelcomeDialog::tryHost);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_servers, &QListWidget::currentItemChanged, this, [this](QListWidgetItem *item) {
        if (item && item->data(UrlRole).isValid())
            m_address->setEditText(item->data(UrlRole).toUrl().toString());
    });
    connect(m_servers, &QListWidget::itemActivated, this, [this](QListWidgetItem *item) {
        if (item && item->data(UrlRole).isValid()) {
            m_address->setEditText(item->data(UrlRole).toUrl().toString());
            tryJoin();
        }
    });
    resize(fontMetrics().averageCharWidth() * 70, sizeHint().height());
}

WelcomeDialog::~WelcomeDialog() = default;

void WelcomeDialog::setSearchTimeout(std::chrono::milliseconds timeout)
{
    m_searchTimer->setInterval(timeout);
    if (m_searchTimer->isActive())
        m_searchTimer->start();
}

void WelcomeDialog::showEvent(QShowEvent *event)
{
    QDialog::showEvent(event);
    if (discoveredServerCount() == 0 && !m_searchTimer->isActive())
        m_searchTimer->start();
}

void WelcomeDialog::showNoneFound()
{
    if (discoveredServerCount() > 0 || m_servers->count() != 1)
        return;
    m_servers->item(0)->setText(
        tr("No chats found on your network yet (still looking). Host one, or enter an "
           "address or invite link below."));
}

void WelcomeDialog::setPreferHosting(bool prefer)
{
    m_host->setDefault(prefer);
    m_join->setDefault(!prefer);
    if (prefer)
        m_address->setEditText(QString());
}

void WelcomeDialog::setNote(const QString &note)
{
    m_note->setText(note);
    m_note->setVisible(!note.isEmpty());
}

QString WelcomeDialog::note() const
{
    return m_note->text();
}

void WelcomeDialog::setIdentity(const User &user)
{
    m_name->setText(user.name);
    m_email->setText(user.email);
    (user.name.isEmpty() ? m_name : m_email)->setFocus();
    if (!user.name.isEmpty() && !user.email.isEmpty())
        m_address->setFocus();
}

WelcomeDialog::HostAccess WelcomeDialog::hostAccess() const
{
    return HostAccess(m_hostAccess->currentData().toInt());
}

void WelcomeDialog::setHostAccess(HostAccess access)
{
    m_hostAccess->setCurrentIndex(m_hostAccess->findData(int(access)));
}

QString WelcomeDialog::password() const
{
    return m_password->text();
}

User WelcomeDialog::identity() const
{
    return User{m_name->text().trimmed(), Validation::normalizedEmail(m_email->text().trimmed())};
}

void WelcomeDialog::setRecentServers(const QList<QUrl> &servers)
{
    m_address->clear();
    for (const QUrl &url : servers)
        m_address->addItem(url.toString());
    m_address->setEditText(servers.isEmpty() ? QString() : servers.constFirst().toString());
}

void WelcomeDialog::addDiscoveredServer(const QString &title, const QUrl &url, const QString &detail)
{
    // The placeholder goes once something is found.
    m_searchTimer->stop();
    if (m_servers->count() == 1 && !m_servers->item(0)->data(UrlRole).isValid())
        delete m_servers->takeItem(0);
    const QString text = detail.isEmpty() ? title : tr("%1\n%2").arg(title, detail);
    for (int i = 0; i < m_servers->count(); ++i) {
        if (m_servers->item(i)->data(UrlRole).toUrl() == url) {
            m_servers->item(i)->setText(text);
            return;
        }
    }
    auto *item = new QListWidgetItem(text, m_servers);
    item->setData(UrlRole, url);
    item->setToolTip(url.toString());
}

int WelcomeDialog::discoveredServerCount() const
{
    int count = 0;
    for (int i = 0; i < m_servers->count(); ++i)
        count += m_servers->item(i)->data(UrlRole).isValid() ? 1 : 0;
    return count;
}

QString WelcomeDialog::errorText() const
{
    return m_error->isVisible() ? m_error->text() : QString();
}

QUrl WelcomeDialog::parseServerAddress(const QString &text)
{
    if (const std::optional<InviteLink> link = InviteLink::parse(text))
        return link->serverUrl();
    return serverUrlFromAddress(text);
}

bool WelcomeDialog::validateIdentity()
{
    const User user = identity();
    QString problem;
    if (!Validation::isValidDisplayName(user.name))
        problem = tr("Enter your name (1 to %1 characters).").arg(Validation::MaxDisplayNameLength);
    else if (!Validation::isValidEmail(user.email))
        problem = tr("Enter a valid email address, like alice@example.org: it identifies you.");
    m_error->setText(problem);
    m_error->setVisible(!problem.isEmpty());
    if (!problem.isEmpty())
        (Validation::isValidDisplayName(user.name) ? m_email : m_name)->setFocus();
    return problem.isEmpty();
}

void WelcomeDialog::tryJoin()
{
    if (!validateIdentity())
        return;
    const QUrl url = parseServerAddress(m_address->currentText());
    if (!url.isValid()) {
        m_error->setText(
            tr("Choose a chat from the list, or enter an address like 192.168.1.20:5000 or paste "
               "an invite link (natter://...)."));
        m_error->show();
        m_address->setFocus();
        return;
    }
    m_url = url;
    m_invite = InviteLink::parse(m_address->currentText());
    m_choice = Choice::Join;
    accept();
}

void WelcomeDialog::tryHost()
{
    if (!validateIdentity())
        return;
    m_choice = Choice::Host;
    accept();
}

} // namespace Natter
