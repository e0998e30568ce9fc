#pragma once

#include "common/invitelink.h"
#include "common/user.h"

#include <QDialog>
#include <QTimer>

#include <QUrl>
#include <chrono>

#include <optional>

QT_BEGIN_NAMESPACE
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
QT_END_NAMESPACE

namespace Natter {

/// The first thing a user sees: who they are (remembered), and where to chat:
/// a server found on the LAN, an address typed in, or a chat hosted on this
/// computer.
class WelcomeDialog final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WelcomeDialog)

public:
    enum class Choice
    {
        Join,
        Host,
    };
    Q_ENUM(Choice)

    /// Who may create an account on a chat hosted here.
    enum class HostAccess
    {
        Open,       ///< anyone who signs in (claim on first use)
        InviteOnly, ///< only with an invite code (the host's invite links carry one)
        Closed,     ///< nobody new: only those who have an account here already
    };
    Q_ENUM(HostAccess)

    explicit WelcomeDialog(QWidget *parent = nullptr);
    ~WelcomeDialog() override;

    void setIdentity(const User &user);
    User identity() const;
    /// What the user typed as password (empty: use a remembered sign-in).
    QString password() const;
    HostAccess hostAccess() const;
    void setHostAccess(HostAccess access);
    void setRecentServers(const QList<QUrl> &servers);
    /// This computer hosted the chat last time: "Host" is the default button
    /// and the address field starts empty (recent servers stay in its list).
    void setPreferHosting(bool prefer);
    /// Why the dialog shows (the last chat could not be reached); empty: nothing to say.
    void setNote(const QString &note);
    QString note() const;
    /// How long "Looking for chats…" shows before it says none was found (searching goes on).
    void setSearchTimeout(std::chrono::milliseconds timeout);
    /// Adds (or refreshes) a server found on the LAN.
    void addDiscoveredServer(const QString &title, const QUrl &url, const QString &detail);
    int discoveredServerCount() const;

    Choice choice() const { return m_choice; }
    /// The server to join (Choice::Join).
    QUrl serverUrl() const { return m_url; }
    /// The invite link the address field held, if it was one (its certificate
    /// is pinned before joining: no question).
    std::optional<InviteLink> inviteLink() const { return m_invite; }

    /// "host", "host:port" (wss://), "ws://host:port/", "wss://host:port/" or
    /// an invite link natter://host:port/?... as a WebSocket URL (default port
    /// 5000); an invalid URL for anything else.
    static QUrl parseServerAddress(const QString &text);

    QLineEdit *nameEdit() const { return m_name; }
    QLineEdit *emailEdit() const { return m_email; }
    QLineEdit *passwordEdit() const { return m_password; }
    QComboBox *addressEdit() const { return m_address; }
    QListWidget *serverList() const { return m_servers; }
    QPushButton *joinButton() const { return m_join; }
    QPushButton *hostButton() const { return m_host; }
    QString errorText() const;

protected:
    void showEvent(QShowEvent *event) override;

private:
    bool validateIdentity();
    void showNoneFound();
    void tryJoin();
    void tryHost();

    QLineEdit *m_name;
    QLineEdit *m_email;
    QLineEdit *m_password;
    QComboBox *m_hostAccess = nullptr;
    QListWidget *m_servers;
    QComboBox *m_address;
    QLabel *m_note;
    QLabel *m_error;
    QPushButton *m_join;
    QPushButton *m_host;
    Choice m_choice = Choice::Join;
    QUrl m_url;
    std::optional<InviteLink> m_invite;
    QTimer *m_searchTimer;
};

} // namespace Natter
