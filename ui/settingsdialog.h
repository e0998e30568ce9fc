#pragma once

#include "common/conversationlistmodel.h"
#include "ui/theme.h"

#include <QDialog>

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QListWidget;
QT_END_NAMESPACE

namespace Natter {

/// Chat → Settings…: who you are to others, how the app looks, which
/// conversations may notify, and how it starts and closes. It edits a copy
/// (Values); the app applies what comes back when the dialog is accepted.
class SettingsDialog final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SettingsDialog)

public:
    struct Values
    {
        QString name;
        QString email; ///< shown, not edited: another email is another account
        Theme theme = Theme::System;
        bool compact = false;
        bool sortByActivity = true;
        bool notifications = true;
        QList<ConversationKey> muted;
        bool startOnLogin = false;
        bool keepRunningInTray = false;
    };
    struct Conversation
    {
        ConversationKey key;
        QString title; ///< "#general", "Bob"
    };

    explicit SettingsDialog(QWidget *parent = nullptr);
    ~SettingsDialog() override;

    /// The open conversations, each with its own notification switch.
    void setConversations(const QList<Conversation> &conversations);
    void setValues(const Values &values);
    Values values() const;
    /// Without a system tray, "keep running in the tray" cannot work: disabled, and why.
    void setTrayAvailable(bool available);

    QLineEdit *nameEdit() const { return m_name; }
    QListWidget *conversationList() const { return m_conversations; }

private:
    void updateState();

    QLineEdit *m_name;
    QLabel *m_nameError;
    QLabel *m_email;
    QComboBox *m_theme;
    QComboBox *m_style;
    QCheckBox *m_sortByActivity;
    QCheckBox *m_notifications;
    QListWidget *m_conversations;
    QCheckBox *m_startOnLogin;
    QCheckBox *m_keepInTray;
    QDialogButtonBox *m_buttons;
    QString m_emailValue;
};

} // namespace Natter
