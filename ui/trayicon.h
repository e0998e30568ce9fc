#pragma once

#include <QIcon>
#include <QObject>

QT_BEGIN_NAMESPACE
class QSystemTrayIcon;
class QMenu;
QT_END_NAMESPACE

namespace Natter {

/// The app in the system tray: the icon carries the unread count, and new
/// messages pop up a notification while the window is not active. Where the
/// desktop has no tray, isAvailable() is false and the app falls back to
/// asking the window manager for attention (QApplication::alert).
class TrayIcon final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrayIcon)

public:
    explicit TrayIcon(const QIcon &icon, QObject *parent = nullptr);
    ~TrayIcon() override;

    bool isAvailable() const { return m_tray != nullptr; }
    /// count unread messages, mentions of them calling the user by name.
    void setUnreadCount(int count, int mentions = 0);
    int unreadCount() const { return m_unread; }
    int mentionCount() const { return m_mentions; }
    QString toolTip() const { return m_toolTip; }
    void notify(const QString &title, const QString &text);
    /// The icon with the unread count drawn on it (also the window icon).
    QIcon badgedIcon() const { return m_badged; }

    /// The base icon with a count badge (count <= 0: the icon itself), and
    /// an "@" beside it when mentioned.
    static QIcon iconWithBadge(const QIcon &icon, int count, bool mentioned = false);

Q_SIGNALS:
    /// The user clicked the tray icon or a notification: show the window.
    void showRequested();
    void quitRequested();

private:
    QIcon m_icon;
    QIcon m_badged;
    QSystemTrayIcon *m_tray = nullptr;
    QMenu *m_menu = nullptr;
    int m_unread = 0;
    int m_mentions = 0;
    QString m_toolTip;
};

} // namespace Natter
