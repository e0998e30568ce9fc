#include "ui/settingsdialog.h"

#include "common/validation.h"
#include "ui/typography.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

constexpr int KeyRole = Qt::UserRole + 1;

QLabel *sectionTitle(const QString &text, QWidget *parent)
{
    auto *label = new QLabel(text, parent);
    label->setFont(scaledFont(label->font(), TypeScale::Body, true));
    return label;
}

} // namespace

SettingsDialog::SettingsDialog(QWidget *parent)
    : QDialog(parent)
    , m_name(new QLineEdit(this))
    , m_nameError(new QLabel(this))
    , m_email(new QLabel(this))
    , m_theme(new QComboBox(this))
    , m_style(new QComboBox(this))
    , m_sortByActivity(new QCheckBox(tr("Sort conversations by recent &activity"), this))
    , m_notifications(new QCheckBox(tr("Show a &notification when a message arrives"), this))
    , m_conversations(new QListWidget(this))
    , m_startOnLogin(new QCheckBox(tr("Start Natter when I &sign in to this computer"), this))
    , m_keepInTray(new QCheckBox(tr("&Keep running in the tray when the window is closed"), this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
{
    setObjectName(u"settingsDialog"_s);
    setWindowTitle(tr("Settings"));
    auto *layout = new QVBoxLayout(this);

    layout->addWidget(sectionTitle(tr("Profile"), this));
    auto *profile = new QFormLayout;
    m_name->setMaxLength(int(Validation::MaxDisplayNameLength));
    m_name->setAccessibleName(tr("Display name"));
    profile->addRow(tr("Display &name:"), m_name);
    m_nameError->setTextFormat(Qt::PlainText);
    m_nameError->setVisible(false);
    profile->addRow(QString(), m_nameError);
    m_email->setTextFormat(Qt::PlainText);
    m_email->setTextInteractionFlags(Qt::TextSelectableByMouse);
    profile->addRow(tr("Email:"), m_email);
    auto *emailHint = new QLabel(tr("Your email is your account on this chat. To use another one, sign out "
                                    "(Chat → Sign Out)."),
                                 this);
    emailHint->setWordWrap(true);
    emailHint->setForegroundRole(QPalette::PlaceholderText);
    profile->addRow(QString(), emailHint);
    layout->addLayout(profile);

    layout->addSpacing(8);
    layout->addWidget(sectionTitle(tr("Appearance"), this));
    auto *appearance = new QFormLayout;
    m_theme->addItem(tr("Follow the system"), QVariant::fromValue(Theme::System));
    m_theme->addItem(tr("Light"), QVariant::fromValue(Theme::Light));
    m_theme->addItem(tr("Dark"), QVariant::fromValue(Theme::Dark));
    appearance->addRow(tr("&Theme:"), m_theme);
    m_style->addItem(tr("Bubbles"), false);
    m_style->addItem(tr("Compact rows"), true);
    appearance->addRow(tr("&Messages:"), m_style);
    appearance->addRow(QString(), m_sortByActivity);
    layout->addLayout(appearance);

    layout->addSpacing(8);
    layout->addWidget(sectionTitle(tr("Notifications"), this));
    layout->addWidget(m_notifications);
    auto *perConversation = new QLabel(tr("Notify for these &conversations:"), this);
    perConversation->setBuddy(m_conversations);
    layout->addWidget(perConversation);
    m_conversations->setAccessibleName(tr("Conversations that notify"));
    m_conversations->setMaximumHeight(fontMetrics().height() * 8);
    layout->addWidget(m_conversations);

    layout->addSpacing(8);
    layout->addWidget(sectionTitle(tr("Starting and closing"), this));
    layout->addWidget(m_startOnLogin);
    layout->addWidget(m_keepInTray);

    layout->addStretch();
    layout->addWidget(m_buttons);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_name, &QLineEdit::textChanged, this, &SettingsDialog::updateState);
    connect(m_notifications, &QCheckBox::toggled, this, &SettingsDialog::updateState);
    setMinimumWidth(fontMetrics().averageCharWidth() * 60);
    updateState();
}

SettingsDialog::~SettingsDialog() = default;

void SettingsDialog::setConversations(const QList<Conversation> &conversations)
{
    m_conversations->clear();
    for (const Conversation &conversation : conversations) {
        auto *item = new QListWidgetItem(conversation.title, m_conversations);
        item->setData(KeyRole, conversation.key.toString());
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsUserCheckable);
        item->setCheckState(Qt::Checked);
    }
}

void SettingsDialog::setValues(const Values &values)
{
    m_name->setText(values.name);
    m_emailValue = values.email;
    m_email->setText(values.email);
    m_theme->setCurrentIndex(m_theme->findData(QVariant::fromValue(values.theme)));
    m_style->setCurrentIndex(values.compact ? 1 : 0);
    m_sortByActivity->setChecked(values.sortByActivity);
    m_notifications->setChecked(values.notifications);
    for (int row = 0; row < m_conversations->count(); ++row) {
        QListWidgetItem *item = m_conversations->item(row);
        const ConversationKey key = ConversationKey::fromString(item->data(KeyRole).toString());
        item->setCheckState(values.muted.contains(key) ? Qt::Unchecked : Qt::Checked);
    }
    m_startOnLogin->setChecked(values.startOnLogin);
    m_keepInTray->setChecked(values.keepRunningInTray && m_keepInTray->isEnabled());
    updateState();
}

SettingsDialog::Values SettingsDialog::values() const
{
    Values values;
    values.name = m_name->text().trimmed();
    values.email = m_emailValue;
    values.theme = m_theme->currentData().value<Theme>();
    values.compact = m_style->currentData().toBool();
    values.sortByActivity = m_sortByActivity->isChecked();
    values.notifications = m_notifications->isChecked();
    for (int row = 0; row < m_conversations->count(); ++row) {
        const QListWidgetItem *item = m_conversations->item(row);
        if (item->checkState() == Qt::Unchecked)
            values.muted.append(ConversationKey::fromString(item->data(KeyRole).toString()));
    }
    values.startOnLogin = m_startOnLogin->isChecked();
    values.keepRunningInTray = m_keepInTray->isChecked();
    return values;
}

void SettingsDialog::setTrayAvailable(bool available)
{
    m_keepInTray->setEnabled(available);
    if (!available) {
        m_keepInTray->setChecked(false);
        m_keepInTray->setToolTip(tr("This desktop shows no tray icons."));
    } else {
        m_keepInTray->setToolTip(QString());
    }
}

void SettingsDialog::updateState()
{
    const bool nameOk = Validation::isValidDisplayName(m_name->text().trimmed());
    m_nameError->setText(nameOk ? QString()
                                : tr("A name of 1 to 64 characters, without control characters, that others "
                                     "see beside your messages."));
    m_nameError->setVisible(!nameOk);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(nameOk);
    m_conversations->setEnabled(m_notifications->isChecked());
}

} // namespace Natter
