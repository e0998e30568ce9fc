#include "app/appsettings.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSettings>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

// Settings groups cannot hold '/' or ':' safely: key servers by a hash.
QString serverGroup(const QUrl &server)
{
    const QByteArray digest = QCryptographicHash::hash(server.toString(QUrl::NormalizePathSegments).toUtf8(),
                                                       QCryptographicHash::Sha1);
    return u"servers/"_s + QString::fromLatin1(digest.toHex().left(16));
}

QString pinKey(const QString &serverKey)
{
    return QString::fromLatin1(
        QCryptographicHash::hash(serverKey.toLower().toUtf8(), QCryptographicHash::Sha1).toHex().left(16));
}

/// The settings hold unsent message text: the file is its owner's only (0600),
/// and a folder made for it too (0700). QSettings keeps a file's permissions
/// when it rewrites it.
void makePrivate(const QString &path)
{
    const QFileInfo info(path);
    const QString folder = info.absolutePath();
    if (!QFileInfo::exists(folder)) {
        QDir().mkpath(QFileInfo(folder).absolutePath());
        QDir().mkdir(folder, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    }
    if (!info.exists()) {
        QFile file(path);
        file.open(QIODevice::WriteOnly | QIODevice::NewOnly,
                  QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    } else {
        QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    }
}

} // namespace

AppSettings::AppSettings(const QString &profile)
    : m_settings(std::make_unique<QSettings>(QSettings::IniFormat, QSettings::UserScope, u"Natter"_s,
                                             profile.isEmpty() ? u"natter"_s : u"natter-"_s + profile))
{
    makePrivate(m_settings->fileName());
}

AppSettings::AppSettings(std::unique_ptr<QSettings> settings)
    : m_settings(std::move(settings))
{
    if (m_settings->format() == QSettings::IniFormat || m_settings->format() == QSettings::NativeFormat)
        makePrivate(m_settings->fileName());
}

AppSettings AppSettings::fromFile(const QString &path)
{
    return AppSettings(std::make_unique<QSettings>(path, QSettings::IniFormat));
}

AppSettings::~AppSettings() = default;
AppSettings::AppSettings(AppSettings &&) noexcept = default;
AppSettings &AppSettings::operator=(AppSettings &&) noexcept = default;

User AppSettings::identity() const
{
    return User{m_settings->value(u"identity/name"_s).toString(),
                m_settings->value(u"identity/email"_s).toString()};
}

void AppSettings::setIdentity(const User &user)
{
    m_settings->setValue(u"identity/name"_s, user.name);
    m_settings->setValue(u"identity/email"_s, user.email);
}

QList<QUrl> AppSettings::recentServers() const
{
    QList<QUrl> servers;
    const QStringList stored = m_settings->value(u"servers/recent"_s).toStringList();
    for (const QString &text : stored) {
        const QUrl url(text);
        if (url.isValid() && !url.host().isEmpty())
            servers.append(url);
    }
    return servers;
}

void AppSettings::addRecentServer(const QUrl &url)
{
    QStringList stored = m_settings->value(u"servers/recent"_s).toStringList();
    stored.removeAll(url.toString());
    stored.prepend(url.toString());
    while (stored.size() > MaxRecentServers)
        stored.removeLast();
    m_settings->setValue(u"servers/recent"_s, stored);
}

QList<AppSettings::OpenConversation> AppSettings::openConversations(const QUrl &server) const
{
    QList<OpenConversation> conversations;
    const int count = m_settings->beginReadArray(serverGroup(server) + u"/open"_s);
    for (int i = 0; i < count; ++i) {
        m_settings->setArrayIndex(i);
        const ConversationKey key = ConversationKey::fromString(m_settings->value(u"key"_s).toString());
        if (key.isValid())
            conversations.append({key, m_settings->value(u"title"_s).toString()});
    }
    m_settings->endArray();
    return conversations;
}

void AppSettings::setOpenConversations(const QUrl &server, const QList<OpenConversation> &conversations)
{
    m_settings->remove(serverGroup(server) + u"/open"_s);
    m_settings->beginWriteArray(serverGroup(server) + u"/open"_s, int(conversations.size()));
    for (int i = 0; i < conversations.size(); ++i) {
        m_settings->setArrayIndex(i);
        m_settings->setValue(u"key"_s, conversations.at(i).key.toString());
        m_settings->setValue(u"title"_s, conversations.at(i).title);
    }
    m_settings->endArray();
}

QList<Message> AppSettings::outbox(const QUrl &server) const
{
    QList<Message> messages;
    const int count = m_settings->beginReadArray(serverGroup(server) + u"/outbox"_s);
    for (int i = 0; i < count; ++i) {
        m_settings->setArrayIndex(i);
        Message message;
        message.room = m_settings->value(u"room"_s).toString();
        message.to = m_settings->value(u"to"_s).toString();
        message.text = m_settings->value(u"text"_s).toString();
        message.clientId = m_settings->value(u"client_id"_s).toString();
        message.timestamp = QDateTime::fromMSecsSinceEpoch(m_settings->value(u"ts"_s).toLongLong(), Qt::UTC);
        if (!message.text.isEmpty() && !message.clientId.isEmpty() &&
            (message.room.isEmpty() != message.to.isEmpty()))
            messages.append(message);
    }
    m_settings->endArray();
    return messages;
}

void AppSettings::setOutbox(const QUrl &server, const QList<Message> &messages)
{
    m_settings->remove(serverGroup(server) + u"/outbox"_s);
    if (messages.isEmpty())
        return;
    m_settings->beginWriteArray(serverGroup(server) + u"/outbox"_s, int(messages.size()));
    for (int i = 0; i < messages.size(); ++i) {
        const Message &message = messages.at(i);
        m_settings->setArrayIndex(i);
        m_settings->setValue(u"room"_s, message.room);
        m_settings->setValue(u"to"_s, message.to);
        m_settings->setValue(u"text"_s, message.text);
        m_settings->setValue(u"client_id"_s, message.clientId);
        m_settings->setValue(u"ts"_s, message.timestamp.toMSecsSinceEpoch());
    }
    m_settings->endArray();
}

QHash<qint64, QString> AppSettings::sharedFiles(const QUrl &server) const
{
    QHash<qint64, QString> files;
    const QStringList entries = m_settings->value(serverGroup(server) + u"/sharedFiles"_s).toStringList();
    for (const QString &entry : entries) {
        const qsizetype tab = entry.indexOf(u'\t');
        bool ok = false;
        const qint64 id = tab > 0 ? entry.left(tab).toLongLong(&ok) : 0;
        if (ok && id > 0 && tab + 1 < entry.size())
            files.insert(id, entry.mid(tab + 1));
    }
    return files;
}

void AppSettings::addSharedFile(const QUrl &server, qint64 fileId, const QString &path)
{
    if (fileId <= 0 || path.isEmpty())
        return;
    const QString key = serverGroup(server) + u"/sharedFiles"_s;
    QStringList entries = m_settings->value(key).toStringList(); // oldest first
    entries.append(QString::number(fileId) + u'\t' + path);
    if (entries.size() > MaxSharedFiles)
        entries = entries.mid(entries.size() - MaxSharedFiles);
    m_settings->setValue(key, entries);
}

QHash<QString, QByteArray> AppSettings::drafts(const QUrl &server) const
{
    QHash<QString, QByteArray> drafts;
    const int count = m_settings->beginReadArray(serverGroup(server) + u"/drafts"_s);
    for (int i = 0; i < count; ++i) {
        m_settings->setArrayIndex(i);
        const QString key = m_settings->value(u"key"_s).toString();
        const QByteArray draft = m_settings->value(u"draft"_s).toByteArray();
        if (!key.isEmpty() && !draft.isEmpty())
            drafts.insert(key, draft);
    }
    m_settings->endArray();
    return drafts;
}

void AppSettings::setDrafts(const QUrl &server, const QHash<QString, QByteArray> &drafts)
{
    m_settings->remove(serverGroup(server) + u"/drafts"_s);
    if (drafts.isEmpty())
        return;
    m_settings->beginWriteArray(serverGroup(server) + u"/drafts"_s, int(drafts.size()));
    int i = 0;
    for (auto it = drafts.cbegin(); it != drafts.cend(); ++it, ++i) {
        m_settings->setArrayIndex(i);
        m_settings->setValue(u"key"_s, it.key());
        m_settings->setValue(u"draft"_s, it.value());
    }
    m_settings->endArray();
}

bool AppSettings::notificationsEnabled() const
{
    return m_settings->value(u"notifications/enabled"_s, true).toBool();
}

void AppSettings::setNotificationsEnabled(bool enabled)
{
    m_settings->setValue(u"notifications/enabled"_s, enabled);
}

QList<ConversationKey> AppSettings::mutedConversations(const QUrl &server) const
{
    QList<ConversationKey> muted;
    const QStringList keys = m_settings->value(serverGroup(server) + u"/muted"_s).toStringList();
    for (const QString &text : keys) {
        if (const ConversationKey key = ConversationKey::fromString(text); key.isValid())
            muted.append(key);
    }
    return muted;
}

void AppSettings::setMutedConversations(const QUrl &server, const QList<ConversationKey> &muted)
{
    QStringList keys;
    for (const ConversationKey &key : muted)
        keys.append(key.toString());
    m_settings->setValue(serverGroup(server) + u"/muted"_s, keys);
}

bool AppSettings::keepRunningInTray() const
{
    return m_settings->value(u"window/keepRunningInTray"_s, false).toBool();
}

void AppSettings::setKeepRunningInTray(bool keep)
{
    m_settings->setValue(u"window/keepRunningInTray"_s, keep);
}

bool AppSettings::askBeforeLeavingRooms() const
{
    return m_settings->value(u"window/askBeforeLeavingRooms"_s, true).toBool();
}

void AppSettings::setAskBeforeLeavingRooms(bool ask)
{
    m_settings->setValue(u"window/askBeforeLeavingRooms"_s, ask);
}

QString AppSettings::currentConversation(const QUrl &server) const
{
    return m_settings->value(serverGroup(server) + u"/current"_s).toString();
}

void AppSettings::setCurrentConversation(const QUrl &server, const QString &key)
{
    m_settings->setValue(serverGroup(server) + u"/current"_s, key);
}

bool AppSettings::showSidebar() const
{
    return m_settings->value(u"window/showSidebar"_s, true).toBool();
}

bool AppSettings::showMembers() const
{
    return m_settings->value(u"window/showMembers"_s, true).toBool();
}

void AppSettings::setPanes(bool sidebar, bool members)
{
    m_settings->setValue(u"window/showSidebar"_s, sidebar);
    m_settings->setValue(u"window/showMembers"_s, members);
}

QString AppSettings::theme() const
{
    return m_settings->value(u"window/theme"_s, u"system"_s).toString();
}

void AppSettings::setTheme(const QString &theme)
{
    m_settings->setValue(u"window/theme"_s, theme);
}

bool AppSettings::sortByActivity() const
{
    return m_settings->value(u"window/sortByActivity"_s, true).toBool();
}

void AppSettings::setSortByActivity(bool byActivity)
{
    m_settings->setValue(u"window/sortByActivity"_s, byActivity);
}

bool AppSettings::compactMessages() const
{
    return m_settings->value(u"window/compact"_s, false).toBool();
}

void AppSettings::setCompactMessages(bool compact)
{
    m_settings->setValue(u"window/compact"_s, compact);
}

QByteArray AppSettings::windowGeometry() const
{
    return m_settings->value(u"window/geometry"_s).toByteArray();
}

void AppSettings::setWindowGeometry(const QByteArray &geometry)
{
    m_settings->setValue(u"window/geometry"_s, geometry);
}

QByteArray AppSettings::windowState() const
{
    return m_settings->value(u"window/state"_s).toByteArray();
}

void AppSettings::setWindowState(const QByteArray &state)
{
    m_settings->setValue(u"window/state"_s, state);
}

QString AppSettings::pinnedFingerprint(const QString &serverKey) const
{
    return m_settings->value(u"pins/"_s + pinKey(serverKey)).toString();
}

void AppSettings::setPinnedFingerprint(const QString &serverKey, const QString &fingerprint)
{
    if (fingerprint.isEmpty())
        m_settings->remove(u"pins/"_s + pinKey(serverKey));
    else
        m_settings->setValue(u"pins/"_s + pinKey(serverKey), fingerprint);
}

QString AppSettings::serverId(const QString &serverKey) const
{
    return m_settings->value(u"chats/"_s + pinKey(serverKey)).toString();
}

void AppSettings::setServerId(const QString &serverKey, const QString &serverId)
{
    m_settings->setValue(u"chats/"_s + pinKey(serverKey), serverId);
}

quint16 AppSettings::lastHostedPort() const
{
    const uint port = m_settings->value(u"host/lastPort"_s, 0).toUInt();
    return port <= 65535 ? quint16(port) : 0;
}

void AppSettings::setLastHostedPort(quint16 port)
{
    m_settings->setValue(u"host/lastPort"_s, port);
}

bool AppSettings::hostedLastTime() const
{
    return m_settings->value(u"host/hostedLastTime"_s, false).toBool();
}

void AppSettings::setHostedLastTime(bool hosted)
{
    m_settings->setValue(u"host/hostedLastTime"_s, hosted);
}

ServerConfig::Registration AppSettings::hostRegistration() const
{
    const QString access = m_settings->value(u"host/access"_s).toString();
    if (access == u"invite"_s)
        return ServerConfig::Registration::Invite;
    if (access == u"closed"_s)
        return ServerConfig::Registration::Closed;
    if (access.isEmpty() &&
        m_settings->value(u"host/inviteOnly"_s, false).toBool()) // written before "closed" existed
        return ServerConfig::Registration::Invite;
    return ServerConfig::Registration::Open;
}

void AppSettings::setHostRegistration(ServerConfig::Registration registration)
{
    m_settings->remove(u"host/inviteOnly"_s);
    switch (registration) {
    case ServerConfig::Registration::Open:
        m_settings->setValue(u"host/access"_s, u"open"_s);
        break;
    case ServerConfig::Registration::Invite:
        m_settings->setValue(u"host/access"_s, u"invite"_s);
        break;
    case ServerConfig::Registration::Closed:
        m_settings->setValue(u"host/access"_s, u"closed"_s);
        break;
    }
}

QString AppSettings::hostName() const
{
    return m_settings->value(u"host/name"_s).toString();
}

void AppSettings::setHostName(const QString &name)
{
    m_settings->setValue(u"host/name"_s, name);
}

void AppSettings::sync()
{
    m_settings->sync();
}

QString AppSettings::fileName() const
{
    return m_settings->fileName();
}

} // namespace Natter
