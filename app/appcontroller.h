#pragma once

#include "app/appsettings.h"
#include "app/chatclient.h"
#include "app/commandline.h"
#include "app/credentialstore.h"
#include "app/filecache.h"
#include "ui/messagedelegate.h"
#include "ui/settingsdialog.h"

#include <QDesktopServices>
#include <QObject>
#include <QPointer>
#include <QSet>

#include <QTimer>
#include <functional>

namespace Natter {

class AttachmentImages;
class DiscoveryBrowser;
class ImageViewer;
class LocalServerHost;
class MainWindow;
class MemberListModel;
class TrayIcon;
class WelcomeDialog;

/// The composition root of the desktop app: owns the chat client, the
/// window, the tray, the hosted server and discovery, and wires them together
/// (socket → client → models → views; views → client for what the user asks).
class AppController final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AppController)

public:
    /// A link to a message: natter:message?room=NAME&id=ID (or with=EMAIL for a direct one).
    static QUrl messageLink(const ConversationKey &key, qint64 id);
    /// credentials: where session tokens are kept; nullptr: the system
    /// keychain (or a private file beside the settings where there is none).
    AppController(AppSettings settings, ClientOptions options,
                  std::unique_ptr<CredentialStore> credentials = {}, QObject *parent = nullptr);
    ~AppController() override;

    /// Goes straight to the chat (--server, --host) or shows the welcome
    /// dialog. Returns false when the user cancelled it.
    bool start();

    /// Hosts a chat on this computer and joins it. False (and an error
    /// dialog, unless quiet) when the port is taken or the database unusable.
    /// port 0: the one asked for on the command line (--port).
    bool host(bool quiet = false, quint16 port = 0);
    void join(const QUrl &url);

    ChatClient *client() const { return m_client; }
    MainWindow *window() const { return m_window; }
    LocalServerHost *localHost() const { return m_host; }
    TrayIcon *tray() const { return m_tray; }
    AppSettings &settings() { return m_settings; }
    QString lastHostError() const { return m_lastHostError; }

    CredentialStore *credentials() const { return m_credentials.get(); }
    /// The key of a server in the credential store: "host:port".
    static QString serverKey(const QUrl &url);
    /// Signs out of the current server: its token is revoked and forgotten.
    void signOut();
    /// Pins the link's certificate for its server (unless another one is
    /// pinned there already: that stays, and a mismatch is warned about) and
    /// keeps its invite code for the sign-in.
    void acceptInvite(const InviteLink &link);
    /// The link others join the chat hosted here with (certificate pinned; for
    /// an invite-only chat with a new single-use invite code); empty when not hosting.
    QString hostedInviteLink() const;

    /// Chat → Settings…; the dialog open now, if any.
    void showSettings();
    SettingsDialog *settingsDialog() const { return m_settingsDialog; }
    /// Quits for real, even when closing the window would only hide it in the tray.
    void quit();

    /// Makes a conversation the one shown (and read).
    void setCurrentConversation(const ConversationKey &key);
    void saveSettings();

    /// The current chat's files on this computer (downloads, thumbnails, pasted images).
    FileCache fileCache() const;
    AttachmentImages *attachmentImages() const { return m_images; }
    /// Shares files in a conversation (as the paperclip, a drop or a paste does).
    /// caption goes with the first file.
    void shareFiles(const ConversationKey &key, const QStringList &paths, const QString &caption = {});
    /// Shares a pasted image as a PNG; returns the upload's client id (empty: not sent).
    QString shareImage(const ConversationKey &key, const QImage &image, const QString &caption = {});
    /// What clicking a file's card or image does: opens it (images in the viewer).
    void openAttachment(const ConversationKey &key, const Message &message);
    /// The image viewer open now for a file, if any.
    ImageViewer *imageViewer(qint64 fileId) const;
    /// How files and folders are handed to the desktop (QDesktopServices::openUrl;
    /// false: nothing on this computer opens it). Tests put their own.
    void setFileOpener(std::function<bool(const QUrl &)> open) { m_openUrl = std::move(open); }

    /// "Bob is typing…", "Bob and Carol are typing…", "Several people are typing…"
    static QString typingText(const QStringList &names);

Q_SIGNALS:
    /// The app told the user about new messages: a desktop notification, or
    /// (without a tray) asking the window manager for attention.
    void notified(const QString &title, const QString &text);

private:
    /// Writes the unsent messages to disk (and syncs), so that a crash keeps them.
    void saveOutbox();
    /// Keeps every conversation's draft in the settings (per server and profile).
    void saveDrafts();
    bool runWelcomeDialog();
    void openRestoredConversations();
    void updateStatus();
    void updateHeader();
    void updateMembers();
    /// missed: read on resume (the server's unread count may include them already).
    void onMessagesArrived(const ConversationKey &key, const QList<Message> &messages, bool missed = false);
    /// Shows a message of a conversation: opens it, loads the message's surroundings and flashes it.
    void showMessage(const ConversationKey &key, qint64 id);
    void onConversationStateChanged(const ConversationKey &key);
    /// The email of someone the user knows by this name (search's from:).
    QString personEmail(const QString &name) const;
    /// The ✕ or Ctrl+W: a room asks first ("Leave #lab?"), a direct conversation is hidden.
    /// By value: closing the current conversation changes the window's, which key may refer to.
    void closeConversation(ConversationKey key);
    void leaveConversation(const ConversationKey &key);
    /// The sign-in form; newAccount: as for someone new here (the password twice).
    void askForPassword(const QString &why, bool newAccount = false);
    void askToTrustCertificate(const QString &fingerprint, bool changed);
    void askToJoinDifferentChat(const QString &serverId);
    void applySettings(const SettingsDialog::Values &values);
    /// Loads the current server's muted conversations into the sidebar's model.
    void restoreMuted();
    void showInviteLink();
    void wireFiles();
    void onAttachmentAction(const ConversationKey &key, MessageDelegate::AttachmentAction action,
                            const Message &message);
    /// A whole local copy of a message's file (downloaded, cached, or the user's own upload); empty if none.
    QString localCopy(const ConversationKey &key, const Attachment &attachment) const;
    void saveAttachmentAs(const ConversationKey &key, const Attachment &attachment);
    void onFileDownloaded(const Attachment &attachment, const QString &path);
    /// Hands a file to the desktop (asking first for a program or a script; declined, its folder opens).
    void openFile(const Attachment &attachment, const QString &path);
    /// Hands path to the desktop; when nothing opens it, says so and offers its folder.
    void openWithDesktop(const Attachment &attachment, const QString &path);
    QString tokenKey() const;
    User effectiveIdentity() const;

    AppSettings m_settings;
    ClientOptions m_options;
    std::unique_ptr<CredentialStore> m_credentials;
    ChatClient *m_client;
    LocalServerHost *m_host;
    MemberListModel *m_members;
    MainWindow *m_window;
    TrayIcon *m_tray;
    QTimer m_statusTimer;
    QString m_lastHostError;
    QPointer<SettingsDialog> m_settingsDialog;
    AttachmentImages *m_images = nullptr;
    QSet<qint64> m_thumbnailDownloads;           // thumbnail ids on their way
    QSet<qint64> m_openWhenDownloaded;           // file ids: open once here
    QHash<qint64, QString> m_saveWhenDownloaded; // file id -> where the user wants a copy
    QHash<qint64, QPointer<ImageViewer>> m_viewers;
    bool m_quitting = false;
    bool m_toldAboutTray = false;
    bool m_wasOnline = false;
    quint64 m_errorsBeforeOffline = 0; // the window's errorSerial() when the connection was last lost
    std::function<bool(const QUrl &)> m_openUrl = [](const QUrl &url) {
        return QDesktopServices::openUrl(url);
    };
    QString m_welcomeNote;           // why the welcome dialog shows at start (the last chat failed)
    bool m_checkingLastChat = false; // rejoining the last chat at start, not yet online
};

} // namespace Natter
