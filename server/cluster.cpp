// ChatServer's part in a cluster of natterd (natterd --redis): see the
// declarations in chatserver.h and docs/scaling.md.
#include "server/chatserver.h"

#include "server/clientsession.h"
#include "server/connection.h"
#include "server/redisbus.h"
#include "server/serverlogging.h"
#include "server/transport.h"

#include <QDateTime>
#include <QPointer>

#include <utility>

using namespace Qt::StringLiterals;

namespace Natter {

using namespace Protocol;

namespace {

// One channel per room and per user: a natterd hears only of the rooms and
// people it has connections of.
QByteArray roomChannel(const QString &room)
{
    return "natter:r:" + room.toUtf8();
}

QByteArray userChannel(const QString &email)
{
    return "natter:u:" + email.toUtf8();
}

// An event on the bus: "INSTANCE KIND FLAGS\nJSON", JSON the server frame
// as clients get it. KIND: m (a new message), c (a changed one), t (typing).
struct ClusterEvent
{
    QByteArray origin;
    char kind = 0;
    QByteArray flags;
    QByteArray json;

    static std::optional<ClusterEvent> parse(const QByteArray &payload)
    {
        const qsizetype newline = payload.indexOf('\n');
        if (newline < 0)
            return std::nullopt;
        const QList<QByteArray> header = payload.left(newline).split(' ');
        if (header.size() != 3 || header.at(1).size() != 1)
            return std::nullopt;
        return ClusterEvent{header.at(0), header.at(1).at(0), header.at(2), payload.mid(newline + 1)};
    }
};

} // namespace

void ChatServer::followRoom(const QString &room, bool follow)
{
    if (!m_cluster)
        return;
    if (follow)
        m_cluster->subscribe(roomChannel(room));
    else
        m_cluster->unsubscribe(roomChannel(room));
}

bool ChatServer::isClusterConnected() const
{
    return m_cluster && m_cluster->isConnected();
}

bool ChatServer::whenFollowing(const QString &room, ClientSession *session,
                               std::function<void(ClientSession *)> then)
{
    const QByteArray channel = roomChannel(room);
    if (!m_cluster || !m_cluster->isConnected() || m_cluster->isSubscribed(channel))
        return false;
    // Until Redis confirms the subscription, a message another natterd
    // commits after the history is read could be published unheard.
    session->addUncommittedWrite();
    auto *waiter = new QObject(this);
    auto done = std::make_shared<bool>(false);
    const auto finish = [this, waiter, done, guard = QPointer<ClientSession>(session), then] {
        if (std::exchange(*done, true))
            return;
        if (guard) {
            then(guard);
            settle(guard);
        }
        waiter->deleteLater();
    };
    connect(m_cluster, &RedisBus::subscribed, waiter, [finish, channel](const QByteArray &which) {
        if (which == channel)
            finish();
    });
    // Redis gone meanwhile: the history now, as without a cluster.
    connect(m_cluster, &RedisBus::connectedChanged, waiter, [finish](bool connected) {
        if (!connected)
            finish();
    });
    return true;
}

void ChatServer::followUser(const QString &email, bool follow)
{
    if (!m_cluster)
        return;
    if (follow)
        m_cluster->subscribe(userChannel(email));
    else
        m_cluster->unsubscribe(userChannel(email));
}

void ChatServer::publish(const QByteArray &channel, char kind, const QByteArray &flags,
                         const QByteArray &json)
{
    QByteArray payload;
    payload.reserve(m_instanceId.size() + flags.size() + json.size() + 5);
    payload.append(m_instanceId).append(' ').append(kind).append(' ').append(flags.isEmpty() ? "-" : flags);
    payload.append('\n').append(json);
    if (!m_cluster->publish(channel, payload))
        qCWarning(lcNatterServer).noquote()
            << "Redis is unreachable: an event of" << channel << "reached this natterd's connections only";
}

void ChatServer::publishMessage(const Message &message, const QByteArray &json, bool held)
{
    if (!m_cluster)
        return;
    if (!message.isDirect()) {
        publish(roomChannel(message.room), 'm', {}, json);
        return;
    }
    // To each of the two people's channel: each natterd delivers what it
    // hears on a user's channel to that user only.
    publish(userChannel(message.to), 'm', held ? "h" : "-", json);
    if (message.from.email != message.to)
        publish(userChannel(message.from.email), 'm', {}, json);
}

void ChatServer::publishChange(const MessageChange &change)
{
    if (!m_cluster)
        return;
    const QByteArray json = Codec::encodeServerFrame(change);
    const Message &message = change.message;
    if (!message.isDirect()) {
        publish(roomChannel(message.room), 'c', {}, json);
        return;
    }
    publish(userChannel(message.to), 'c', {}, json);
    if (message.from.email != message.to)
        publish(userChannel(message.from.email), 'c', {}, json);
}

void ChatServer::publishTyping(const TypingNotice &notice)
{
    if (!m_cluster)
        return;
    publish(notice.to.isEmpty() ? roomChannel(notice.room) : userChannel(notice.to), 't', {},
            Codec::encodeServerFrame(notice));
}

bool ChatServer::isOnlineAnywhere(const QString &email) const
{
    return m_users.contains(email) || m_remoteOnline.contains(email);
}

void ChatServer::publishPresence(const QByteArray &line)
{
    if (m_cluster && !m_cluster->publish("natter:presence"_ba, line))
        qCDebug(lcNatterServer) << "Redis is unreachable: presence not published";
}

void ChatServer::publishPresenceState()
{
    // "state INSTANCE" and a line per person here: "EMAIL NAME".
    QByteArray state = "state " + m_instanceId;
    for (auto user = m_users.cbegin(); user != m_users.cend(); ++user)
        state += '\n' + user.key().toUtf8() + ' ' + user->user.name.toUtf8();
    publishPresence(state);
}

void ChatServer::presenceHeartbeat()
{
    publishPresence("beat " + m_instanceId);
    // Whoever has not been heard of for too long has died (kill -9, a lost
    // machine): its people are offline, cluster-wide, within clusterDeadAfter
    // plus a heartbeat.
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QList<QByteArray> dead;
    for (auto heard = m_instancesHeard.cbegin(); heard != m_instancesHeard.cend(); ++heard) {
        if (now - heard.value() > m_config.clusterDeadAfter.count())
            dead.append(heard.key());
    }
    for (const QByteArray &instance : std::as_const(dead)) {
        qCWarning(lcNatterServer).noquote() << "natterd" << instance << "fell silent: its people are offline";
        forgetInstance(instance);
    }
}

void ChatServer::localPresenceChanged(const User &user, bool online)
{
    if (m_cluster)
        publishPresence(
            online ? QByteArray("on " + m_instanceId + ' ' + user.email.toUtf8() + ' ' + user.name.toUtf8())
                   : QByteArray("off " + m_instanceId + ' ' + user.email.toUtf8()));
    // Watchers hear of a change for the cluster as a whole only.
    if (!m_remoteOnline.contains(user.email))
        announcePresence(user, online);
}

void ChatServer::remotePresence(const QByteArray &instance, const QString &email, const QString &name,
                                bool online)
{
    const bool before = isOnlineAnywhere(email);
    auto where = m_remoteOnline.find(email);
    QString lastName = name;
    if (online) {
        if (where == m_remoteOnline.end())
            where = m_remoteOnline.insert(email, {});
        where->insert(instance, name);
    } else if (where != m_remoteOnline.end()) {
        lastName = where->value(instance);
        where->remove(instance);
        if (where->isEmpty())
            m_remoteOnline.erase(where);
    }
    if (isOnlineAnywhere(email) != before)
        announcePresence(User{lastName, email}, !before);
}

void ChatServer::forgetInstance(const QByteArray &instance)
{
    m_instancesHeard.remove(instance);
    QList<QString> theirs;
    for (auto user = m_remoteOnline.cbegin(); user != m_remoteOnline.cend(); ++user) {
        if (user->contains(instance))
            theirs.append(user.key());
    }
    for (const QString &email : std::as_const(theirs))
        remotePresence(instance, email, {}, false);
}

void ChatServer::onPresenceMessage(const QByteArray &payload)
{
    const qsizetype newline = payload.indexOf('\n');
    const QByteArray first = newline < 0 ? payload : payload.left(newline); // left(-1) is empty
    const QList<QByteArray> words = first.split(' ');
    if (words.size() < 2)
        return;
    const QByteArray &kind = words.at(0);
    const QByteArray &instance = words.at(1);
    if (instance == m_instanceId)
        return;
    if (kind == "bye") {
        forgetInstance(instance);
        return;
    }
    m_instancesHeard.insert(instance, QDateTime::currentMSecsSinceEpoch());
    if (kind == "on" && words.size() >= 4) {
        const qsizetype nameAt = words.at(0).size() + words.at(1).size() + words.at(2).size() + 3;
        remotePresence(instance, QString::fromUtf8(words.at(2)), QString::fromUtf8(first.mid(nameAt)), true);
    } else if (kind == "off" && words.size() >= 3) {
        remotePresence(instance, QString::fromUtf8(words.at(2)), {}, false);
    } else if (kind == "sync") {
        publishPresenceState(); // a natterd (re)joined: it hears who is here
    } else if (kind == "state") {
        // Everyone on that natterd now: who is not listed any more went.
        QHash<QString, QString> listed;
        if (newline >= 0) {
            for (const QByteArray &line : payload.mid(newline + 1).split('\n')) {
                const qsizetype space = line.indexOf(' ');
                if (space > 0)
                    listed.insert(QString::fromUtf8(line.left(space)),
                                  QString::fromUtf8(line.mid(space + 1)));
            }
        }
        QList<QString> gone;
        for (auto user = m_remoteOnline.cbegin(); user != m_remoteOnline.cend(); ++user) {
            if (user->contains(instance) && !listed.contains(user.key()))
                gone.append(user.key());
        }
        for (const QString &email : std::as_const(gone))
            remotePresence(instance, email, {}, false);
        for (auto user = listed.cbegin(); user != listed.cend(); ++user)
            remotePresence(instance, user.key(), user.value(), true);
    }
    m_transport->flushAll();
}

void ChatServer::onClusterMessage(const QByteArray &channel, const QByteArray &payload)
{
    if (channel == "natter:presence") {
        onPresenceMessage(payload);
        return;
    }
    const std::optional<ClusterEvent> event = ClusterEvent::parse(payload);
    if (!event) {
        qCWarning(lcNatterServer) << "ignored a malformed event on" << channel;
        return;
    }
    if (event->origin == m_instanceId)
        return; // delivered here when it happened
    const Codec::Result<Codec::ServerFrame> decoded = Codec::decodeServerFrame(event->json);
    if (!decoded.isOk()) {
        qCWarning(lcNatterServer).noquote()
            << "ignored an event on" << channel << ":" << decoded.error().message;
        return;
    }
    const Codec::ServerFrame &frame = decoded.value();
    // Whose it is: a room's members here, or one user's connections here.
    const bool forUser = channel.startsWith("natter:u:");
    const QString email = forUser ? QString::fromUtf8(channel.mid(9)) : QString();
    const QList<ClientSession *> *userSessions = nullptr;
    if (forUser) {
        const auto user = m_users.constFind(email);
        if (user == m_users.cend())
            return; // gone from here meanwhile
        userSessions = &user->sessions;
    }
    switch (event->kind) {
    case 'm': {
        const auto *receive = std::get_if<ReceiveMessage>(&frame);
        if (!receive)
            return;
        const QByteArray wire = Connection::wireFrame(event->json);
        if (forUser) {
            sendToAll(*userSessions, wire);
            // Held by a natterd that did not see the recipient online: they
            // have it now.
            if (event->flags.contains('h') && email == receive->message.to)
                releaseHeldOnes(email, {receive->message});
        } else if (const auto room = m_rooms.constFind(receive->message.room); room != m_rooms.cend()) {
            sendToAll(room->sessions, wire);
        }
        break;
    }
    case 'c':
        if (const auto *change = std::get_if<MessageChange>(&frame))
            pushChange(*change, email, true);
        break;
    case 't':
        if (const auto *typing = std::get_if<TypingNotice>(&frame)) {
            const QByteArray wire = Connection::wireFrame(event->json);
            if (forUser) {
                sendToAll(*userSessions, wire);
            } else if (const auto room = m_rooms.constFind(typing->room); room != m_rooms.cend()) {
                for (ClientSession *member : room->sessions) {
                    if (member->user().email != typing->user.email)
                        member->sendWireFrame(wire);
                }
            }
        }
        break;
    default:
        qCWarning(lcNatterServer) << "ignored an event of unknown kind on" << channel;
    }
    m_transport->flushAll();
}

} // namespace Natter
