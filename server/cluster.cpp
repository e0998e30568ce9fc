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
#include <QTimer>

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
// as clients get it. KIND: m (a new message), c (a changed one), t (typing);
// on a room's channel j/l (user_joined/user_left: first in, last out on that
// natterd), w/h (members: everyone in the room on that natterd — "w" when it
// starts following the room, asking the others' "h" answers), x (user_left:
// removed by the owner); on a user's channel u (a frame for all the user's
// connections), k (the user's tokens changed: {}).
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

/// The room a frame from a room's channel speaks of.
QString roomNamedIn(const Codec::ServerFrame &frame)
{
    if (const auto *receive = std::get_if<ReceiveMessage>(&frame))
        return receive->message.room;
    if (const auto *change = std::get_if<MessageChange>(&frame))
        return change->message.room;
    if (const auto *typing = std::get_if<TypingNotice>(&frame))
        return typing->room;
    if (const auto *joined = std::get_if<UserJoined>(&frame))
        return joined->room;
    if (const auto *left = std::get_if<UserLeft>(&frame))
        return left->room;
    if (const auto *members = std::get_if<Members>(&frame))
        return members->room;
    return {};
}

/// Whether a frame from email's channel concerns email: a direct message or
/// its change to or from them, typing to them (frames of kind u are theirs).
bool concernsUser(const Codec::ServerFrame &frame, const QString &email)
{
    const auto concerns = [&email](const Message &message) {
        return message.room.isEmpty() && (message.to == email || message.from.email == email);
    };
    if (const auto *receive = std::get_if<ReceiveMessage>(&frame))
        return concerns(receive->message);
    if (const auto *change = std::get_if<MessageChange>(&frame))
        return concerns(change->message);
    if (const auto *typing = std::get_if<TypingNotice>(&frame))
        return typing->to == email;
    return true;
}

} // namespace

void ChatServer::followRoom(const QString &room, bool follow)
{
    ChatServer::follow(roomChannel(room), follow);
}

void ChatServer::followUser(const QString &email, bool follow)
{
    ChatServer::follow(userChannel(email), follow);
}

void ChatServer::unfollowUserLater(const QString &email)
{
    if (!m_cluster)
        return;
    const qint64 at = QDateTime::currentMSecsSinceEpoch() + m_config.clusterDeadAfter.count();
    m_unfollowAt.insert(email, at);
    QTimer::singleShot(m_config.clusterDeadAfter, this, [this, email] {
        const auto due = m_unfollowAt.find(email);
        if (due == m_unfollowAt.end() || *due > QDateTime::currentMSecsSinceEpoch())
            return; // back meanwhile, or gone again later (that timer decides)
        m_unfollowAt.erase(due);
        if (!m_users.contains(email))
            followUser(email, false);
    });
}

void ChatServer::holdForAbsentRecipient(const QString &email, const Message &message)
{
    qCDebug(lcNatterServer).noquote()
        << "holding message" << message.id << "for" << email << "who left this natterd";
    noteHeld(email);
    if (!m_store->holdDirectMessages(email, {message.id}))
        qCWarning(lcNatterServer).noquote()
            << "cannot hold a message for" << email << ":" << m_store->errorString();
    m_heldCounts.remove(email);
}

void ChatServer::follow(const QByteArray &channel, bool follow)
{
    if (!m_cluster)
        return;
    if (follow)
        m_cluster->subscribe(channel);
    else
        m_cluster->unsubscribe(channel);
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

void ChatServer::noteDelivered(DeliveryLog &log, qint64 id)
{
    // Kept for a natterd's death to be noticed and a heartbeat more; all
    // kept while Redis is away (what others sent meanwhile is read after).
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 keep = m_config.clusterDeadAfter.count() + 3 * m_config.clusterHeartbeat.count();
    if (isClusterConnected()) {
        while (!log.recent.isEmpty() && now - log.recent.constFirst().first > keep)
            log.floor = std::max(log.floor, log.recent.takeFirst().second);
    }
    if (log.recent.size() >= 1'000'000) // bounded: the oldest go, a catch-up then reads from there
        log.floor = std::max(log.floor, log.recent.takeFirst().second);
    log.recent.append({now, id});
}

void ChatServer::startDeliveryLog(QHash<QString, DeliveryLog> &logs, const QString &key)
{
    if (!m_cluster || logs.contains(key))
        return;
    const std::optional<qint64> newest = m_store->newestId();
    if (newest)
        logs.insert(key, DeliveryLog{*newest, {}});
}

template<typename Read>
void ChatServer::catchUp(DeliveryLog &log, Read read, const QList<ClientSession *> sessions)
{
    QSet<qint64> delivered;
    for (const auto &entry : std::as_const(log.recent))
        delivered.insert(entry.second);
    qint64 after = log.floor;
    for (int page = 0; page < 100; ++page) { // bounded: 100 pages of the largest size
        const std::optional<QList<Message>> messages = read(after, Protocol::MaxHistoryLimit);
        if (!messages) {
            qCWarning(lcNatterServer).noquote() << "cannot catch up:" << m_store->errorString();
            return;
        }
        for (const Message &message : *messages) {
            if (delivered.contains(message.id))
                continue;
            for (ClientSession *session : sessions) {
                Message mine = message;
                personalize(&mine, session->user().email);
                session->sendFrame(ReceiveMessage{mine});
            }
            noteDelivered(log, message.id);
        }
        if (messages->size() < Protocol::MaxHistoryLimit)
            return;
        after = messages->constLast().id;
    }
}

void ChatServer::catchUpWithCluster(const char *why)
{
    qCInfo(lcNatterServer).noquote() << why << "- delivering what was not heard from the cluster";
    // (Over copies: a session sent to may be dropped meanwhile.)
    for (const QString &name : m_rooms.keys()) {
        const auto room = m_rooms.constFind(name);
        const auto log = m_roomDeliveries.find(name);
        if (room == m_rooms.cend() || log == m_roomDeliveries.end())
            continue; // its start was not read: nothing to compare with
        catchUp(
            *log,
            [this, name](qint64 after, int limit) -> std::optional<QList<Message>> {
                HistoryQuery query;
                query.room = name;
                query.after = after;
                query.limit = limit;
                const std::optional<HistoryPage> page = m_store->history(query);
                return page ? std::optional(page->messages) : std::nullopt;
            },
            room->sessions);
    }
    for (const QString &email : m_users.keys()) {
        const auto user = m_users.constFind(email);
        const auto log = m_directDeliveries.find(email);
        if (user == m_users.cend() || log == m_directDeliveries.end())
            continue;
        catchUp(
            *log,
            [this, email](qint64 after, int limit) {
                return m_store->directMessagesAfter(email, after, limit);
            },
            user->sessions);
    }
    m_transport->flushAll();
}

void ChatServer::publishMessage(const Message &message, const QByteArray &json, bool held)
{
    if (!m_cluster)
        return;
    if (!message.isDirect()) {
        noteDelivered(m_roomDeliveries, message.room, message.id);
        publish(roomChannel(message.room), 'm', {}, json);
        return;
    }
    noteDelivered(m_directDeliveries, message.to, message.id);
    if (message.from.email != message.to)
        noteDelivered(m_directDeliveries, message.from.email, message.id);
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

void ChatServer::publishMembership(const QString &room, const User &user, bool joined)
{
    if (!m_cluster)
        return;
    publish(roomChannel(room), joined ? 'j' : 'l', {},
            joined ? Codec::encodeServerFrame(UserJoined{room, user})
                   : Codec::encodeServerFrame(UserLeft{room, user}));
}

void ChatServer::publishRoomMembers(const QString &roomName, char kind)
{
    const auto room = m_rooms.constFind(roomName);
    if (!m_cluster || room == m_rooms.cend())
        return;
    Members here{roomName, {}, room->isPrivate, room->owner};
    for (auto it = room->connectionsByUser.cbegin(); it != room->connectionsByUser.cend(); ++it)
        here.users.append(m_users.value(it.key()).user);
    publish(roomChannel(roomName), kind, {}, Codec::encodeServerFrame(here));
}

void ChatServer::mergeRemoteMembers(const QByteArray &instance, const Members &members)
{
    const auto room = m_rooms.find(members.room);
    if (room == m_rooms.end())
        return;
    // That natterd's whole list for the room replaces what was known of it.
    bool changed = false;
    QSet<QString> listed;
    for (const User &user : members.users) {
        listed.insert(user.email);
        auto &where = room->remote[user.email];
        changed |= where.isEmpty() && !room->connectionsByUser.contains(user.email);
        where.insert(instance, user);
    }
    for (auto it = room->remote.begin(); it != room->remote.end();) {
        if (!listed.contains(it.key()) && it->remove(instance) > 0 && it->isEmpty()) {
            changed |= !room->connectionsByUser.contains(it.key());
            it = room->remote.erase(it);
        } else {
            ++it;
        }
    }
    // The list clients have is completed (or corrected) in one frame.
    if (changed)
        sendToAll(room->sessions, Connection::wireFrame(Codec::encodeServerFrame(Members{
                                      members.room, membersOf(*room), room->isPrivate, room->owner})));
}

void ChatServer::publishRemoval(const QString &room, const User &user)
{
    if (m_cluster)
        publish(roomChannel(room), 'x', {}, Codec::encodeServerFrame(UserLeft{room, user}));
}

void ChatServer::publishToUser(const QString &email, const QByteArray &json)
{
    if (m_cluster)
        publish(userChannel(email), 'u', {}, json);
}

void ChatServer::publishTokensChanged(const QString &email)
{
    if (m_cluster)
        publish(userChannel(email), 'k', {}, "{}"_ba);
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
    if (!dead.isEmpty())
        catchUpWithCluster("a natterd died");
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
    // Its room members are gone with it.
    for (auto room = m_rooms.begin(); room != m_rooms.end(); ++room) {
        for (auto it = room->remote.begin(); it != room->remote.end();) {
            if (it->remove(instance) > 0 && it->isEmpty()) {
                const User user{{}, it.key()};
                it = room->remote.erase(it);
                if (!room->connectionsByUser.contains(user.email))
                    sendToAll(room->sessions,
                              Connection::wireFrame(Codec::encodeServerFrame(UserLeft{room.key(), user})));
            } else {
                ++it;
            }
        }
    }
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
    if (event->kind == 'k') {
        if (channel.startsWith("natter:u:"))
            closeRevokedSessionsOf(QString::fromUtf8(channel.mid(9)));
        return;
    }
    const Codec::Result<Codec::ServerFrame> decoded = Codec::decodeServerFrame(event->json);
    if (!decoded.isOk()) {
        qCWarning(lcNatterServer).noquote()
            << "ignored an event on" << channel << ":" << decoded.error().message;
        return;
    }
    const Codec::ServerFrame &frame = decoded.value();
    // Whose it is: a room's members here, or one user's connections here.
    // Redis is trusted, yet a frame that names another room or person than
    // its channel is dropped: no mix-up puts words where they do not belong.
    const bool forUser = channel.startsWith("natter:u:");
    const QString email = forUser ? QString::fromUtf8(channel.mid(9)) : QString();
    if (forUser ? (event->kind != 'u' && !concernsUser(frame, email))
                : (!channel.startsWith("natter:r:") || roomNamedIn(frame).toUtf8() != channel.mid(9))) {
        qCWarning(lcNatterServer) << "ignored an event that does not belong on" << channel;
        return;
    }
    const QList<ClientSession *> *userSessions = nullptr;
    if (forUser) {
        const auto user = m_users.constFind(email);
        if (user == m_users.cend()) {
            // Gone from here a moment ago (unfollowUserLater).
            const auto *receive = std::get_if<ReceiveMessage>(&frame);
            if (event->kind == 'm' && receive && !event->flags.contains('h') &&
                receive->message.to == email && !isOnlineAnywhere(email))
                holdForAbsentRecipient(email, receive->message);
            return;
        }
        userSessions = &user->sessions;
    }
    switch (event->kind) {
    case 'm': {
        const auto *receive = std::get_if<ReceiveMessage>(&frame);
        if (!receive)
            return;
        const QByteArray wire = Connection::wireFrame(event->json);
        if (forUser) {
            noteDelivered(m_directDeliveries, email, receive->message.id);
            sendToAll(*userSessions, wire);
            // Held by a natterd that did not see the recipient online: they
            // have it now.
            if (event->flags.contains('h') && email == receive->message.to)
                releaseHeldOnes(email, {receive->message});
        } else if (const auto room = m_rooms.constFind(receive->message.room); room != m_rooms.cend()) {
            noteDelivered(m_roomDeliveries, receive->message.room, receive->message.id);
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
    case 'u':
        if (forUser)
            sendToAll(*userSessions, Connection::wireFrame(event->json));
        break;
    case 'j':
        if (const auto *joined = std::get_if<UserJoined>(&frame)) {
            const auto room = m_rooms.find(joined->room);
            if (room == m_rooms.end())
                break;
            const bool known = room->hasMember(joined->user.email);
            room->remote[joined->user.email].insert(event->origin, joined->user);
            if (!known)
                sendToAll(room->sessions, Connection::wireFrame(event->json));
        }
        break;
    case 'l':
        if (const auto *left = std::get_if<UserLeft>(&frame)) {
            const auto room = m_rooms.find(left->room);
            if (room == m_rooms.end())
                break;
            const auto where = room->remote.find(left->user.email);
            if (where == room->remote.end() || where->remove(event->origin) == 0 || !where->isEmpty())
                break;
            room->remote.erase(where);
            if (!room->connectionsByUser.contains(left->user.email))
                sendToAll(room->sessions, Connection::wireFrame(event->json));
        }
        break;
    case 'w':
    case 'h':
        if (const auto *members = std::get_if<Members>(&frame)) {
            mergeRemoteMembers(event->origin, *members);
            if (event->kind == 'w')
                publishRoomMembers(members->room, 'h');
        }
        break;
    case 'x':
        if (const auto *removed = std::get_if<UserLeft>(&frame)) {
            const auto user = m_users.constFind(removed->user.email);
            if (user == m_users.cend())
                break;
            const QList<ClientSession *> sessions = user->sessions;
            for (ClientSession *session : sessions) {
                if (!session->isInRoom(removed->room))
                    continue;
                removeFromRoom(session, removed->room);
                session->sendFrame(UserLeft{removed->room, session->user()});
            }
        }
        break;
    default:
        qCWarning(lcNatterServer) << "ignored an event of unknown kind on" << channel;
    }
    m_transport->flushAll();
}

} // namespace Natter
