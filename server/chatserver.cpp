#include "chatserver.h"

#include "clientsession.h"
#include "serverlogging.h"
#include "validation.h"

#include <QTcpServer>
#include <QTcpSocket>
#include <QWebSocket>
#include <QWebSocketServer>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Natter {

using namespace Protocol;

namespace {

QString peerKey(const QHostAddress &address, quint16 port)
{
    return address.toString() + u'/' + QString::number(port);
}

} // namespace

ChatServer::ChatServer(ServerConfig config, std::unique_ptr<MessageStore> store, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_store(std::move(store))
    , m_tcpServer(new QTcpServer(this))
    , m_webSocketServer(new QWebSocketServer(versionString(), QWebSocketServer::NonSecureMode, this))
{
    m_clock.start();
    // We accept TCP ourselves (to switch Nagle off) and hand sockets to the
    // WebSocket server for the handshake only.
    m_tcpServer->setListenBacklogSize(m_config.listenBacklog);
    m_tcpServer->setMaxPendingConnections(std::numeric_limits<int>::max());
    m_webSocketServer->setMaxPendingConnections(std::numeric_limits<int>::max());
    connect(m_tcpServer, &QTcpServer::newConnection, this, &ChatServer::acceptTcpConnections);
    connect(m_webSocketServer, &QWebSocketServer::newConnection, this, &ChatServer::acceptWebSockets);

    // One timer for all handshakes and one for all heartbeats, not one per connection.
    m_handshakeTimer.setInterval(std::clamp(m_config.handshakeTimeout / 4, std::chrono::milliseconds(20),
                                            std::chrono::milliseconds(1000)));
    connect(&m_handshakeTimer, &QTimer::timeout, this, &ChatServer::expireHandshakes);
    m_heartbeatTimer.setInterval(std::max(m_config.pingInterval / 3, std::chrono::milliseconds(20)));
    connect(&m_heartbeatTimer, &QTimer::timeout, this, &ChatServer::heartbeat);
    m_commitTimer.setSingleShot(true);
    m_commitTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_commitTimer, &QTimer::timeout, this, &ChatServer::flushPendingSends);
    m_shutdownTimer.setSingleShot(true);
    connect(&m_shutdownTimer, &QTimer::timeout, this, [this] {
        for (ClientSession *session : std::as_const(m_sessions))
            session->drop(u"the server is shutting down"_s);
        Q_EMIT shutdownFinished();
    });
}

ChatServer::~ChatServer()
{
    // Sessions go first: their disconnects must not reach a half-destroyed server.
    for (ClientSession *session : std::as_const(m_sessions)) {
        session->socket()->disconnect(this);
        delete session;
    }
}

QString ChatServer::versionString()
{
    return u"natterd " NATTER_VERSION ""_s;
}

bool ChatServer::listen()
{
    if (!m_tcpServer->listen(m_config.host, m_config.port)) {
        m_errorString = u"cannot listen on %1 port %2: %3"_s.arg(m_config.host.toString())
                            .arg(m_config.port)
                            .arg(m_tcpServer->errorString());
        return false;
    }
    m_heartbeatTimer.start();
    qCDebug(lcNatterServer).noquote()
        << versionString() << "listening on"
        << m_tcpServer->serverAddress().toString() + u':' + QString::number(m_tcpServer->serverPort());
    return true;
}

quint16 ChatServer::serverPort() const
{
    return m_tcpServer->serverPort();
}

QHostAddress ChatServer::serverAddress() const
{
    return m_tcpServer->serverAddress();
}

void ChatServer::acceptTcpConnections()
{
    while (QTcpSocket *socket = m_tcpServer->nextPendingConnection()) {
        if (m_shuttingDown) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_handshakes.insert(peerKey(socket->peerAddress(), socket->peerPort()),
                            Handshake{socket, nowMs() + m_config.handshakeTimeout.count()});
        m_webSocketServer->handleConnection(socket);
    }
    if (!m_handshakes.isEmpty() && !m_handshakeTimer.isActive())
        m_handshakeTimer.start();
}

void ChatServer::expireHandshakes()
{
    const qint64 now = nowMs();
    for (auto it = m_handshakes.begin(); it != m_handshakes.end();) {
        if (!it->socket) {
            it = m_handshakes.erase(it);
        } else if (it->deadlineMs <= now) {
            qCInfo(lcNatterServer) << "handshake timed out for" << it.key();
            it->socket->abort();
            it->socket->deleteLater();
            it = m_handshakes.erase(it);
        } else {
            ++it;
        }
    }
    if (m_handshakes.isEmpty())
        m_handshakeTimer.stop();
}

void ChatServer::acceptWebSockets()
{
    while (QWebSocket *socket = m_webSocketServer->nextPendingConnection()) {
        const Handshake handshake = m_handshakes.take(peerKey(socket->peerAddress(), socket->peerPort()));
        if (m_shuttingDown || !handshake.socket) {
            socket->close(QWebSocketProtocol::CloseCodeGoingAway, u"the server is shutting down"_s);
            socket->deleteLater();
            continue;
        }
        // Qt's defaults allow ~2 GiB frames; a larger frame than ours closes
        // the connection with 1009 as soon as its header is read.
        socket->setMaxAllowedIncomingFrameSize(quint64(m_config.maxFrameBytes));
        socket->setMaxAllowedIncomingMessageSize(quint64(m_config.maxFrameBytes));

        auto *session =
            new ClientSession(socket, handshake.socket, m_config.maxQueuedBytes, nowMs(), &m_unflushed, this);
        m_sessions.insert(session);
        connect(socket, &QWebSocket::textMessageReceived, session,
                [this, session](const QString &text) { onTextFrame(session, text); });
        connect(socket, &QWebSocket::binaryMessageReceived, session, [this, session] {
            session->noteActivity(nowMs());
            session->sendError(ErrorCode::BinaryNotSupported,
                               u"binary frames are not supported; send text"_s);
            scheduleOutputFlush();
        });
        connect(socket, &QWebSocket::pong, session, [this, session] { session->noteActivity(nowMs()); });
        connect(socket, &QWebSocket::disconnected, this, [this, session] { onDisconnected(session); });
        qCDebug(lcNatterServer).noquote() << "connection from" << session->peer();
        Q_EMIT sessionOpened();
    }
}

void ChatServer::onDisconnected(ClientSession *session)
{
    if (!m_sessions.remove(session))
        return;
    qCDebug(lcNatterServer).noquote() << "disconnected" << session->peer() << session->user().email;
    const QSet<QString> rooms = session->rooms();
    for (const QString &room : rooms)
        removeFromRoom(session, room);
    if (session->isAuthenticated()) {
        auto user = m_users.find(session->user().email);
        if (user != m_users.end()) {
            user->sessions.removeOne(session);
            if (user->sessions.isEmpty())
                m_users.erase(user);
        }
    }
    session->deleteLater();
    scheduleOutputFlush();
    Q_EMIT sessionClosed();
    if (m_shuttingDown && m_sessions.isEmpty()) {
        m_shutdownTimer.stop();
        Q_EMIT shutdownFinished();
    }
}

void ChatServer::heartbeat()
{
    const qint64 now = nowMs();
    const qint64 pingAfter = m_config.pingInterval.count();
    const qint64 dropAfter = m_config.idleTimeout.count();
    for (ClientSession *session : std::as_const(m_sessions)) {
        const qint64 silent = now - session->lastHeardMs();
        if (silent >= dropAfter)
            session->drop(u"it did not answer pings for %1 ms"_s.arg(silent));
        else if (silent >= pingAfter)
            session->socket()->ping();
    }
}

void ChatServer::onTextFrame(ClientSession *session, const QString &text)
{
    session->noteActivity(nowMs());
    if (session->isDropping() || m_shuttingDown)
        return;
    const Codec::Result<Codec::ClientFrame> decoded = Codec::decodeClientFrame(text.toUtf8());
    if (!decoded.isOk()) {
        session->sendFrame(decoded.error());
        scheduleOutputFlush();
        return;
    }
    const Codec::ClientFrame &frame = decoded.value();
    if (!session->isAuthenticated() && !std::holds_alternative<Hello>(frame)) {
        session->sendError(ErrorCode::NotAuthenticated, u"say hello first"_s,
                           Codec::toJson(frame).value(QLatin1String("type")).toString());
        return;
    }
    std::visit([this, session](const auto &request) { handle(session, request); }, frame);
    scheduleOutputFlush();
}

void ChatServer::scheduleOutputFlush()
{
    // Once per pass of the event loop, after every frame that arrived in it
    // was handled: a member who is told of ten joins gets one write().
    if (m_outputFlushScheduled || m_unflushed.isEmpty())
        return;
    m_outputFlushScheduled = true;
    QMetaObject::invokeMethod(this, &ChatServer::flushOutput, Qt::QueuedConnection);
}

void ChatServer::flushOutput()
{
    m_outputFlushScheduled = false;
    // flushOutput() cannot add sessions, but take the list anyway so that it
    // is never iterated while it changes.
    const QList<ClientSession *> sessions = std::exchange(m_unflushed, {});
    for (ClientSession *session : sessions)
        session->flushOutput();
}

void ChatServer::handle(ClientSession *session, const Hello &hello)
{
    if (session->isAuthenticated()) {
        session->sendError(ErrorCode::AlreadyAuthenticated, u"this connection said hello already"_s,
                           Type::Hello);
        return;
    }
    if (hello.protocol != Version) {
        session->sendError(ErrorCode::UnsupportedProtocol,
                           u"this server speaks protocol %1, not %2"_s.arg(Version).arg(hello.protocol),
                           Type::Hello);
        return;
    }
    const User user{hello.user.name, Validation::normalizedEmail(hello.user.email)};
    auto state = m_users.find(user.email);
    if (state == m_users.end())
        state = m_users.insert(
            user.email, UserState{user, {}, TokenBucket(m_config.rateLimit, m_config.rateBurst, nowMs())});
    state->user = user; // the latest name wins
    state->sessions.append(session);
    session->setUser(user);
    qCDebug(lcNatterServer).noquote() << session->peer() << "is" << user.email;

    Welcome welcome;
    welcome.user = user;
    welcome.server = versionString();
    welcome.serverName = m_config.serverName;
    welcome.limits = ServerLimits{m_config.maxTextLength, m_config.maxFrameBytes, MaxHistoryLimit};
    session->sendFrame(welcome);

    const std::optional<QList<Message>> held = m_store->takeHeldDirectMessages(user.email);
    if (!held) {
        qCWarning(lcNatterServer).noquote()
            << "cannot deliver held messages to" << user.email << ":" << m_store->errorString();
        return;
    }
    for (const Message &message : *held)
        session->sendFrame(ReceiveMessage{message});
}

void ChatServer::handle(ClientSession *session, const JoinRoom &join)
{
    if (!session->isInRoom(join.room) && session->rooms().size() >= m_config.maxRoomsPerConnection) {
        session->sendError(
            ErrorCode::TooManyRooms,
            u"a connection may join at most %1 rooms; leave one first"_s.arg(m_config.maxRoomsPerConnection),
            Type::JoinRoom);
        return;
    }
    Room &room = m_rooms[join.room];
    const User &user = session->user();
    const UserJoined joined{join.room, user};
    if (!session->isInRoom(join.room)) {
        session->addRoom(join.room);
        room.sessions.append(session);
        int &connections = room.connectionsByUser[user.email];
        ++connections;
        if (connections == 1) {
            // A new member: everyone in the room hears of it, the joiner included.
            sendToAll(room.sessions, ClientSession::wireFrame(Codec::encodeServerFrame(joined)));
        } else {
            session->sendFrame(joined);
        }
    } else {
        session->sendFrame(joined);
    }
    session->sendFrame(Members{join.room, membersOf(room)});

    HistoryQuery query;
    query.room = join.room;
    query.limit = m_config.historyOnJoin;
    sendHistory(session, query, Type::JoinRoom);
}

void ChatServer::sendHistory(ClientSession *session, const HistoryQuery &query, QLatin1String request)
{
    // A history read sees every message its connection sent before it.
    flushPendingSends();
    const std::optional<HistoryPage> page = m_store->history(query);
    if (!page) {
        session->sendError(ErrorCode::InternalError, u"the history could not be read"_s, request);
        return;
    }
    const bool direct = query.room.isEmpty();
    session->sendFrame(History{query.room, direct ? query.userB : QString(), page->messages, page->hasMore});
}

void ChatServer::handle(ClientSession *session, const LeaveRoom &leave)
{
    if (!session->isInRoom(leave.room)) {
        session->sendError(ErrorCode::NotInRoom, u"you are not in room %1"_s.arg(leave.room),
                           Type::LeaveRoom);
        return;
    }
    removeFromRoom(session, leave.room);
    // The leaving connection is told too, whether or not the user is still in the room elsewhere.
    session->sendFrame(UserLeft{leave.room, session->user()});
}

void ChatServer::removeFromRoom(ClientSession *session, const QString &roomName)
{
    session->removeRoom(roomName);
    auto room = m_rooms.find(roomName);
    if (room == m_rooms.end())
        return;
    room->sessions.removeOne(session);
    const QString &email = session->user().email;
    auto connections = room->connectionsByUser.find(email);
    if (connections != room->connectionsByUser.end() && --*connections == 0) {
        room->connectionsByUser.erase(connections);
        sendToAll(room->sessions,
                  ClientSession::wireFrame(Codec::encodeServerFrame(UserLeft{roomName, session->user()})));
    }
    if (room->sessions.isEmpty())
        m_rooms.erase(room);
}

QList<User> ChatServer::membersOf(const Room &room) const
{
    QList<User> users;
    users.reserve(room.connectionsByUser.size());
    for (auto it = room.connectionsByUser.cbegin(); it != room.connectionsByUser.cend(); ++it)
        users.append(m_users.value(it.key()).user);
    std::sort(users.begin(), users.end(),
              [](const User &a, const User &b) { return a.name.compare(b.name, Qt::CaseInsensitive) < 0; });
    return users;
}

bool ChatServer::takeRateToken(ClientSession *session, const QString &request, const QString &clientId)
{
    auto user = m_users.find(session->user().email);
    if (user == m_users.end() || user->bucket.tryTake(nowMs()))
        return true;
    session->sendError(ErrorCode::RateLimited,
                       u"slow down: at most %1 messages a second"_s.arg(m_config.rateLimit), request,
                       clientId);
    return false;
}

void ChatServer::handle(ClientSession *session, const SendMessage &send)
{
    if (!send.isDirect() && !session->isInRoom(send.room)) {
        session->sendError(ErrorCode::NotInRoom, u"join room %1 before sending to it"_s.arg(send.room),
                           Type::SendMessage, send.clientId);
        return;
    }
    if (Validation::textLength(send.text) > m_config.maxTextLength) {
        session->sendError(ErrorCode::TextTooLong,
                           u"a message is at most %1 characters"_s.arg(m_config.maxTextLength),
                           Type::SendMessage, send.clientId);
        return;
    }
    if (!takeRateToken(session, Type::SendMessage, send.clientId))
        return;

    Message message;
    message.room = send.room;
    message.to = send.isDirect() ? Validation::normalizedEmail(send.to) : QString();
    message.from = session->user();
    message.text = send.text;
    message.clientId = send.clientId;
    m_pendingSends.append(PendingSend{session, std::move(message)});
    if (!m_flushScheduled) {
        // Group commit: everything that arrives in this pass of the event loop
        // goes into one transaction. Under load, commits are also spaced at
        // least commitWindow apart, so that a steady trickle shares
        // transactions too; an idle server commits at once.
        m_flushScheduled = true;
        const qint64 sinceLastMs = (m_clock.nsecsElapsed() - m_lastCommitNs) / 1'000'000;
        const qint64 waitMs = m_config.commitWindow.count() - sinceLastMs;
        if (waitMs > 0)
            m_commitTimer.start(std::chrono::milliseconds(waitMs));
        else
            QMetaObject::invokeMethod(this, &ChatServer::flushPendingSends, Qt::QueuedConnection);
    }
}

void ChatServer::flushPendingSends()
{
    m_flushScheduled = false;
    m_commitTimer.stop();
    if (m_pendingSends.isEmpty())
        return;
    m_lastCommitNs = m_clock.nsecsElapsed();
    const QList<PendingSend> batch = std::exchange(m_pendingSends, {});
    QList<MessageDraft> drafts;
    drafts.reserve(batch.size());
    for (const PendingSend &pending : batch) {
        // Decided now, in the same pass as delivery: a recipient who is not
        // online when the message is delivered gets it when they connect.
        const bool hold = pending.message.isDirect() && !m_users.contains(pending.message.to);
        drafts.append(MessageDraft{pending.message, hold});
    }
    const std::optional<QList<StoredMessage>> stored = m_store->append(drafts);
    if (!stored) {
        qCWarning(lcNatterServer).noquote()
            << "could not store" << batch.size() << "messages:" << m_store->errorString();
        for (const PendingSend &pending : batch) {
            if (pending.origin)
                pending.origin->sendError(ErrorCode::InternalError,
                                          u"the message could not be stored; try again"_s, Type::SendMessage,
                                          pending.message.clientId);
        }
        return;
    }
    for (qsizetype i = 0; i < stored->size(); ++i) {
        const StoredMessage &result = stored->at(i);
        const QByteArray frame =
            ClientSession::wireFrame(Codec::encodeServerFrame(ReceiveMessage{result.message}));
        if (result.duplicate) {
            // A resend: the original goes back to the one who resent it, nobody else.
            if (ClientSession *origin = batch.at(i).origin)
                origin->sendWireFrame(frame);
            continue;
        }
        deliver(result.message, frame);
    }
    flushOutput();
}

void ChatServer::deliver(const Message &message, const QByteArray &frame)
{
    if (!message.isDirect()) {
        const auto room = m_rooms.constFind(message.room);
        if (room != m_rooms.cend())
            sendToAll(room->sessions, frame);
        return;
    }
    const auto recipient = m_users.constFind(message.to);
    if (recipient != m_users.cend())
        sendToAll(recipient->sessions, frame);
    if (message.from.email != message.to) {
        const auto sender = m_users.constFind(message.from.email);
        if (sender != m_users.cend())
            sendToAll(sender->sessions, frame);
    }
}

void ChatServer::sendToAll(const QList<ClientSession *> &sessions, const QByteArray &frame)
{
    for (ClientSession *session : sessions)
        session->sendWireFrame(frame);
}

void ChatServer::handle(ClientSession *session, const HistoryRequest &request)
{
    HistoryQuery query;
    query.before = request.before;
    query.after = request.after;
    query.limit = request.limit;
    if (request.isDirect()) {
        query.userA = session->user().email;
        query.userB = Validation::normalizedEmail(request.with);
    } else if (!session->isInRoom(request.room)) {
        session->sendError(ErrorCode::NotInRoom, u"join room %1 to read its history"_s.arg(request.room),
                           Type::History);
        return;
    } else {
        query.room = request.room;
    }
    sendHistory(session, query, Type::History);
}

void ChatServer::handle(ClientSession *session, const TypingRequest &typing)
{
    if (!session->isInRoom(typing.room)) {
        session->sendError(ErrorCode::NotInRoom, u"you are not in room %1"_s.arg(typing.room), Type::Typing);
        return;
    }
    if (!takeRateToken(session, Type::Typing, {}))
        return;
    const QByteArray frame = ClientSession::wireFrame(
        Codec::encodeServerFrame(TypingNotice{typing.room, session->user(), typing.active}));
    const QString &email = session->user().email;
    for (ClientSession *member : std::as_const(m_rooms[typing.room].sessions)) {
        if (member->user().email != email)
            member->sendWireFrame(frame);
    }
}

void ChatServer::shutdown()
{
    if (m_shuttingDown)
        return;
    m_shuttingDown = true;
    qCInfo(lcNatterServer) << "shutting down," << m_sessions.size() << "connections open";
    m_tcpServer->close();
    m_heartbeatTimer.stop();
    flushPendingSends();
    if (m_sessions.isEmpty()) {
        QMetaObject::invokeMethod(this, &ChatServer::shutdownFinished, Qt::QueuedConnection);
        return;
    }
    const QList<ClientSession *> sessions(m_sessions.cbegin(), m_sessions.cend());
    for (ClientSession *session : sessions)
        session->close(QWebSocketProtocol::CloseCodeGoingAway, u"the server is shutting down"_s);
    m_shutdownTimer.start(m_config.shutdownGrace);
}

} // namespace Natter
