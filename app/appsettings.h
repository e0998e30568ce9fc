#pragma once

#include "common/conversationlistmodel.h"
#include "common/message.h"
#include "common/user.h"
#include "server/serverconfig.h"

#include <QByteArray>
#include <QList>
#include <QStringList>
#include <QUrl>

#include <memory>

QT_BEGIN_NAMESPACE
class QSettings;
QT_END_NAMESPACE

namespace Natter {

/// What the desktop app remembers between runs, over QSettings: identity,
/// recent servers, the conversations that were open, window geometry.
/// Typed accessors keep the keys in one place.
class AppSettings final
{
public:
    /// The user's settings (or those of a --profile, for several identities
    /// on one computer).
    explicit AppSettings(const QString &profile = {});
    /// Settings in an INI file (tests).
    static AppSettings fromFile(const QString &path);
    ~AppSettings();
    AppSettings(AppSettings &&) noexcept;
    AppSettings &operator=(AppSettings &&) noexcept;

    User identity() const;
    void setIdentity(const User &user);

    /// Most recent first, at most MaxRecentServers.
    QList<QUrl> recentServers() const;
    void addRecentServer(const QUrl &url);
    static constexpr int MaxRecentServers = 8;

    struct OpenConversation
    {
        ConversationKey key;
        QString title;
        friend bool operator==(const OpenConversation &, const OpenConversation &) = default;
    };
    /// Per server: the rooms and direct conversations open when the app last ran there.
    QList<OpenConversation> openConversations(const QUrl &server) const;
    void setOpenConversations(const QUrl &server, const QList<OpenConversation> &conversations);
    /// Per server: messages written but not yet acknowledged when the app
    /// quit, sent (with their client ids, so at most once) on the next start.
    /// Per server: files this user shared from this computer (file id → the
    /// path it was shared from), so that their cards open them after a restart.
    QHash<qint64, QString> sharedFiles(const QUrl &server) const;
    /// Remembers one; the oldest are forgotten past MaxSharedFiles.
    void addSharedFile(const QUrl &server, qint64 fileId, const QString &path);
    static constexpr int MaxSharedFiles = 500;
    QList<Message> outbox(const QUrl &server) const;
    /// What the user left written per conversation on server (by
    /// ConversationKey::toString(); each as the composer's JSON).
    QHash<QString, QByteArray> drafts(const QUrl &server) const;
    void setDrafts(const QUrl &server, const QHash<QString, QByteArray> &drafts);
    void setOutbox(const QUrl &server, const QList<Message> &messages);
    QString currentConversation(const QUrl &server) const;
    void setCurrentConversation(const QUrl &server, const QString &key);

    QByteArray windowGeometry() const;
    void setWindowGeometry(const QByteArray &geometry);
    /// View → Show Sidebar / Show Members (both on by default).
    bool showSidebar() const;
    bool showMembers() const;
    void setPanes(bool sidebar, bool members);
    /// Conversations ordered by activity (default) or as opened.
    bool sortByActivity() const;
    /// "system" (default), "light" or "dark".
    QString theme() const;
    void setTheme(const QString &theme);
    void setSortByActivity(bool byActivity);
    bool compactMessages() const;
    void setCompactMessages(bool compact);
    /// Desktop notifications for new messages (on by default).
    bool notificationsEnabled() const;
    void setNotificationsEnabled(bool enabled);
    /// Per server: the conversations whose notifications are muted.
    QList<ConversationKey> mutedConversations(const QUrl &server) const;
    void setMutedConversations(const QUrl &server, const QList<ConversationKey> &muted);
    /// Closing the window keeps the app running in the tray (off by default).
    bool keepRunningInTray() const;
    void setKeepRunningInTray(bool keep);
    /// Closing a room (Ctrl+W) asks first, until the user says not to (on by default).
    bool askBeforeLeavingRooms() const;
    void setAskBeforeLeavingRooms(bool ask);
    QByteArray windowState() const;
    void setWindowState(const QByteArray &state);

    /// The name hosted chats go by ("Alice's chat" by default).
    /// The certificate fingerprint accepted for a server ("host:port"); empty if none.
    QString pinnedFingerprint(const QString &serverKey) const;
    void setPinnedFingerprint(const QString &serverKey, const QString &fingerprint);
    /// The identity of the chat last seen at a server ("host:port"), from its welcome.
    QString serverId(const QString &serverKey) const;
    void setServerId(const QString &serverKey, const QString &serverId);

    /// Hosted chats for invited people only (else anyone who has the address).
    /// Whether the last chat this app was in was one it hosted: the welcome
    /// dialog then offers hosting again first.
    bool hostedLastTime() const;
    void setHostedLastTime(bool hosted);
    /// The port the chat hosted here had (0: none yet): hosting again keeps its address.
    quint16 lastHostedPort() const;
    void setLastHostedPort(quint16 port);
    /// Who may create an account on the chat hosted here (open by default).
    ServerConfig::Registration hostRegistration() const;
    void setHostRegistration(ServerConfig::Registration registration);

    QString hostName() const;
    void setHostName(const QString &name);

    void sync();
    QString fileName() const;

private:
    explicit AppSettings(std::unique_ptr<QSettings> settings);
    std::unique_ptr<QSettings> m_settings;
};

} // namespace Natter
