#include "app/chatclient.h"

#include "app/clientlogging.h"
#include "common/validation.h"

#include <QFileInfo>
#include <QLocale>
#include <QUuid>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

// Send "typing: active" at most this often while the user keeps typing, and
// forget another user's typing after this long without a repeat (their
// "stopped" may never come if they drop).
constexpr qint64 TypingRepeatMs = 3'000;
constexpr qint64 TypingForgetMs = 8'000;

QString readableError(const Protocol::Error &error)
{
    using Protocol::ErrorCode;
    switch (error.code) {
    case ErrorCode::TextTooLong:
        return ChatClient::tr("The message is too long for this server.");
    case ErrorCode::BadText:
        return ChatClient::tr("An empty message cannot be sent.");
    case ErrorCode::RateLimited:
        return ChatClient::tr("You are sending too fast; wait a moment and retry.");
    case ErrorCode::BadName:
        return ChatClient::tr("The server refused your name: %1").arg(error.message);
    case ErrorCode::BadEmail:
        return ChatClient::tr("The server refused the email address: %1").arg(error.message);
    case ErrorCode::BadRoom:
        return ChatClient::tr("That is not a valid room name: %1").arg(error.message);
    case ErrorCode::TooManyRooms:
        return ChatClient::tr("You have joined as many rooms as the server allows; leave one first.");
    case ErrorCode::UnsupportedProtocol:
        return ChatClient::tr("This server speaks another version of the Natter protocol.");
    case ErrorCode::CredentialsRequired:
        return ChatClient::tr("This server needs your password to sign you in.");
    case ErrorCode::BadCredentials:
        return ChatClient::tr("Sign-in refused: %1.").arg(error.message);
    case ErrorCode::TooManyAttempts:
        return ChatClient::tr("Too many failed sign-ins from this computer; try again in a few minutes.");
    case ErrorCode::AccountDisabled:
        return ChatClient::tr("An administrator disabled your account on this server.");
    case ErrorCode::NotAMember:
        return ChatClient::tr("#%1 is a private room, and you are not (or no longer) a member.")
            .arg(error.room);
    case ErrorCode::RoomExists:
        return ChatClient::tr("A room called #%1 exists already: choose another name for a private room.")
            .arg(error.room);
    case ErrorCode::NotRoomOwner:
        return ChatClient::tr("Only the owner of the room can invite or remove members.");
    case ErrorCode::NoSuchUser:
        return ChatClient::tr("There is no one with that email on this server.");
    case ErrorCode::WeakPassword:
        return ChatClient::tr("Choose a password of at least %1 characters.")
            .arg(Protocol::MinPasswordLength);
    case ErrorCode::NoSuchMessage:
        return ChatClient::tr("That message is gone (deleted, or no longer yours to see).");
    case ErrorCode::NotAllowed:
        return ChatClient::tr("Only its author (or the owner of a private room) can change that message.");
    case ErrorCode::BadEmoji:
        return ChatClient::tr("A reaction is one emoji.");
    case ErrorCode::TooManyReactions:
        return ChatClient::tr("That message has as many different reactions as it can take.");
    case ErrorCode::BadQuery:
        return ChatClient::tr("The search could not be read: %1.").arg(error.message);
    case ErrorCode::InternalError:
        return ChatClient::tr("The server could not handle the request (%1). Try again later.")
            .arg(error.message);
    default:
        return ChatClient::tr("The server refused a request: %1").arg(error.message);
    }
}

} // namespace

ChatClient::ChatClient(QObject *parent)
    : QObject(parent)
    , m_connection(new ServerConnection(this))
    , m_files(new FileTransferClient(m_connection, this))
    , m_conversations(new ConversationListModel(this))
{
    m_clock.start();
    m_markTimer.setSingleShot(true);
    m_markTimer.setInterval(400);
    connect(&m_markTimer, &QTimer::timeout, this, &ChatClient::sendReadMarks);
    connect(m_connection, &ServerConnection::stateChanged, this, &ChatClient::onConnectionStateChanged);
    connect(m_connection, &ServerConnection::connected, this, &ChatClient::onConnected);
    connect(m_connection, &ServerConnection::disconnected, this, &ChatClient::onDisconnected);
    connect(m_connection, &ServerConnection::textReceived, this, &ChatClient::onTextMessage);
    connect(m_connection, &ServerConnection::binaryReceived, m_files, &FileTransferClient::onBinary);
    watchTransfers();
    connect(m_connection, &ServerConnection::certificateNeedsApproval, this,
            &ChatClient::certificateNeedsApproval);
    m_typingExpiry.setInterval(1'000);
    connect(&m_typingExpiry, &QTimer::timeout, this, [this] {
        const qint64 now = m_clock.elapsed();
        for (auto room = m_typingSince.begin(); room != m_typingSince.end(); ++room) {
            bool changed = false;
            for (auto it = room->begin(); it != room->end();) {
                if (now - it.value() > TypingForgetMs) {
                    m_typing[room.key()].remove(it.key());
                    it = room->erase(it);
                    changed = true;
                } else {
                    ++it;
                }
            }
            if (changed)
                Q_EMIT typingChanged(room.key());
        }
    });
    m_typingExpiry.start();
}

ChatClient::~ChatClient()
{
    // The connection goes quietly: no state changes reach a half-destroyed client.
    m_connection->disconnect(this);
}

void ChatClient::setIdentity(const User &user)
{
    m_identity = user;
    m_identity.email = Validation::normalizedEmail(user.email);
    for (const Conversation &conversation : std::as_const(m_open))
        conversation.messages->setOwnEmail(m_identity.email);
}

void ChatClient::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

void ChatClient::onConnectionStateChanged(ServerConnection::State state)
{
    switch (state) {
    case ServerConnection::State::Disconnected:
        setState(State::Offline);
        break;
    case ServerConnection::State::Connecting:
    case ServerConnection::State::Connected: // online once welcomed
        setState(State::Connecting);
        break;
    case ServerConnection::State::WaitingToReconnect:
        setState(State::WaitingToReconnect);
        break;
    }
}

void ChatClient::connectToServer(const QUrl &url)
{
    forgetConnectionState();
    m_connection->open(url);
}

void ChatClient::disconnectFromServer()
{
    m_connection->close();
    forgetConnectionState();
}

void ChatClient::forgetConnectionState()
{
    m_files->disconnected(); // transfers go on after the next welcome
    // Answers, typing, members and presence belong to the connection that is
    // gone: nothing is shown as "online" while we cannot know.
    for (Conversation &conversation : m_open) {
        conversation.pendingHistory.clear();
        conversation.messages->setHasOlder(conversation.messages->hasOlder());
    }
    clearTyping();
    const QStringList rooms = m_members.keys();
    m_members.clear();
    for (const QString &room : rooms)
        Q_EMIT membersChanged(room);
    const QStringList watched = m_presence.keys();
    m_presence.clear();
    for (const QString &email : watched)
        Q_EMIT presenceChanged(email);
}

void ChatClient::onConnected()
{
    Protocol::Hello hello{m_identity, Protocol::Version, {}, {}, m_deviceName, m_inviteCode};
    if (!m_token.isEmpty())
        hello.token = m_token;
    else
        hello.password = m_password;
    send(hello);
}

int ChatClient::forgetMessages()
{
    m_arrivals.clear();
    m_arrivalOrder.clear();
    int dropped = 0;
    for (Conversation &conversation : m_open) {
        dropped += int(conversation.messages->outbox().size());
        conversation.messages->clear();
        conversation.resumed = false;
        conversation.changeSeq = 0;
        conversation.unfinishedResume.reset();
    }
    for (auto it = m_uploadPaths.cbegin(); it != m_uploadPaths.cend(); ++it)
        m_files->cancelUpload(it.key());
    for (auto it = m_downloading.cbegin(); it != m_downloading.cend(); ++it)
        m_files->cancelDownload(it.key());
    m_uploadPaths.clear();
    m_downloading.clear();
    m_meters.clear();
    m_outboxKeys.clear();
    m_members.clear();
    m_privateRoomOwners.clear();
    m_states.clear();
    return dropped;
}

void ChatClient::setPassword(const QString &password)
{
    m_password = password;
    if (!password.isEmpty())
        m_token.clear(); // a password given means: sign in anew
}

void ChatClient::setToken(const QString &token)
{
    m_token = token;
}

void ChatClient::signOut()
{
    if (isOnline())
        send(Protocol::SignOut{});
    if (!m_token.isEmpty()) {
        m_token.clear();
        Q_EMIT tokenChanged({});
    }
    m_password.clear();
    disconnectFromServer();
}

void ChatClient::onDisconnected()
{
    applyArrivals(); // they were received
    forgetConnectionState();
    // Uploads wait for the server (and resume where it has them): say so,
    // rather than a frozen speed and time left.
    for (auto it = m_uploadPaths.cbegin(); it != m_uploadPaths.cend(); ++it) {
        MessageListModel *model = messages(m_outboxKeys.value(it.key()));
        if (!model)
            continue;
        Transfer transfer = model->uploadTransfer(it.key());
        if (!transfer.isActive() || !transfer.error.isEmpty())
            continue;
        transfer.bytesPerSecond = 0;
        transfer.paused = true;
        m_meters.remove(u'u' + it.key());
        model->setUploadTransfer(it.key(), transfer);
    }
}

void ChatClient::send(const Codec::ClientFrame &frame)
{
    m_connection->sendText(QString::fromUtf8(Codec::encodeClientFrame(frame)));
}

qsizetype ChatClient::textCeiling() const
{
    // The server's own limit (a rogue server's 1 MiB one-line message froze
    // the app for 83 s laying it out), and one of the app's whatever a server says.
    constexpr qsizetype HardCeiling = 100'000;
    return m_limits.maxTextLength > 0 ? std::min(m_limits.maxTextLength, HardCeiling) : HardCeiling;
}

void ChatClient::capTexts(Codec::ServerFrame &frame) const
{
    const qsizetype ceiling = textCeiling();
    const auto cap = [ceiling](Message &message) {
        if (message.text.size() <= ceiling)
            return;
        qCWarning(lcNatterClientNet) << "message" << message.id << "has" << message.text.size()
                                     << "characters, more than the server's limit: cut to" << ceiling;
        message.text.truncate(ceiling);
        message.text += u"…"_s;
    };
    if (auto *receive = std::get_if<Protocol::ReceiveMessage>(&frame))
        cap(receive->message);
    else if (auto *history = std::get_if<Protocol::History>(&frame))
        std::for_each(history->messages.begin(), history->messages.end(), cap);
    else if (auto *change = std::get_if<Protocol::MessageChange>(&frame))
        cap(change->message);
    else if (auto *changes = std::get_if<Protocol::Changes>(&frame))
        std::for_each(changes->messages.begin(), changes->messages.end(), cap);
    else if (auto *results = std::get_if<Protocol::SearchResults>(&frame))
        for (Protocol::SearchHit &hit : results->results)
            cap(hit.message);
}

void ChatClient::onTextMessage(const QString &text)
{
    const Codec::Result<Codec::ServerFrame> decoded = Codec::decodeServerFrame(text.toUtf8());
    if (!decoded.isOk()) {
        qCWarning(lcNatterClientNet) << "ignoring a frame the client cannot read:" << decoded.error().message;
        return;
    }
    Codec::ServerFrame frame = decoded.value();
    capTexts(frame);
    if (!std::holds_alternative<Protocol::ReceiveMessage>(frame))
        applyArrivals(); // whatever comes next may refer to them
    std::visit([this](const auto &value) { handle(value); }, frame);
}

void ChatClient::handle(const Protocol::Welcome &welcome)
{
    if (!m_expectedServerId.isEmpty() && !welcome.serverId.isEmpty() &&
        welcome.serverId != m_expectedServerId) {
        // Resuming here would mix two chats (ids, rooms, unsent messages): stop and ask.
        qCWarning(lcNatterClientNet) << "a different chat answers at" << serverUrl() << ":"
                                     << welcome.serverId << "instead of" << m_expectedServerId;
        m_connection->stop(tr("A different chat answers at this address."));
        forgetConnectionState();
        Q_EMIT differentServer(welcome.serverId);
        return;
    }
    m_connection->markReady();
    m_watched.clear(); // a new connection watches nobody yet
    m_serverId = welcome.serverId;
    if (!m_serverId.isEmpty())
        m_expectedServerId = m_serverId;
    m_self = welcome.user;
    m_serverName = welcome.serverName;
    m_serverSoftware = welcome.server;
    m_limits = welcome.limits;
    // The token replaces the password, which is forgotten now.
    m_password.clear();
    m_inviteCode.clear();
    if (!welcome.token.isEmpty() && welcome.token != m_token) {
        m_token = welcome.token;
        Q_EMIT tokenChanged(m_token);
    }
    qCInfo(lcNatterClientNet) << "signed in to" << serverUrl() << "as" << m_self.email;
    for (const Protocol::ConversationState &state : welcome.conversations) {
        // What was read here while offline still counts.
        if (const qint64 read = m_unsentMarks.value(keyOf(state.room, state.with)); read > state.readId) {
            Protocol::ConversationState local = state;
            local.readId = read;
            local.unread = 0;
            setConversationState(local);
            continue;
        }
        setConversationState(state);
    }
    if (!m_unsentMarks.isEmpty())
        m_markTimer.start();
    // The server's spelling of the email decides which messages are "own".
    for (const Conversation &conversation : std::as_const(m_open))
        conversation.messages->setOwnEmail(m_self.email);
    setState(State::Online);
    // Rejoin and resume every open conversation, then resend what is unacknowledged:
    // the server answers in order, so each send follows its join.
    for (const ConversationKey &key : m_conversations->keys())
        subscribe(key, m_open[key]);
    for (const ConversationKey &key : m_conversations->keys()) {
        for (const Message &message : m_open[key].messages->outbox())
            sendOutbox(key, message);
    }
    m_files->signedIn(); // after the joins: an upload's room is joined again first
    watchDirectPeople();
    Q_EMIT welcomed();
}

bool ChatClient::overlaps(const LiveArrival &older, const LiveArrival &newest)
{
    return newest.at - older.at < LiveOverlapMs || (older.stampMs != 0 && newest.stampMs != 0 &&
                                                    std::abs(newest.stampMs - older.stampMs) < LiveOverlapMs);
}

qint64 ChatClient::resumePoint(const Conversation &conversation)
{
    qint64 after = conversation.messages->lastStoredId();
    if (conversation.recentLive.isEmpty())
        return after;
    const LiveArrival &newest = conversation.recentLive.constLast();
    for (const LiveArrival &arrival : conversation.recentLive) {
        if (overlaps(arrival, newest))
            after = std::min(after, arrival.id - 1);
    }
    return std::max<qint64>(after, 0);
}

void ChatClient::subscribe(const ConversationKey &key, Conversation &conversation)
{
    const bool resuming = conversation.messages->lastStoredId() > 0;
    qint64 last = resumePoint(conversation);
    if (conversation.unfinishedResume)
        last = std::min(last, *conversation.unfinishedResume);
    conversation.unfinishedResume.reset();
    if (resuming)
        conversation.unfinishedResume = last;
    if (resuming)
        qCDebug(lcNatterClientNet) << m_identity.email << "resumes" << key.name << "after" << last;
    conversation.recentLive.clear();
    conversation.resumed = resuming;
    if (key.isRoom()) {
        if (std::exchange(conversation.createPrivate, false))
            send(Protocol::CreateRoom{key.name, true});
        else
            send(Protocol::JoinRoom{key.name});
        conversation.pendingHistory.append(HistoryKind::Latest);
        if (resuming)
            requestHistory(key, HistoryKind::After, last);
    } else {
        requestHistory(key, resuming ? HistoryKind::After : HistoryKind::Latest, last);
    }
    if (resuming) {
        // What was edited, deleted or reacted to while we were away.
        send(Protocol::ChangesRequest{key.isRoom() ? key.name : QString(),
                                      key.isRoom() ? QString() : key.name, conversation.changeSeq,
                                      Protocol::MaxChangesLimit});
    }
}

void ChatClient::requestHistory(const ConversationKey &key, HistoryKind kind, qint64 id)
{
    Protocol::HistoryRequest request;
    (key.isRoom() ? request.room : request.with) = key.name;
    if (kind == HistoryKind::After) {
        request.after = id;
        request.limit = Protocol::MaxHistoryLimit;
    } else if (kind == HistoryKind::Before) {
        request.before = id;
    } else if (kind == HistoryKind::Around) {
        request.around = id;
        request.limit = Protocol::DefaultHistoryLimit;
    } else if (kind == HistoryKind::Newer) {
        request.after = id;
        request.limit = Protocol::DefaultHistoryLimit;
    }
    send(request);
    Conversation &conversation = m_open[key];
    conversation.pendingHistory.append(kind);
    if (kind == HistoryKind::After)
        conversation.catchUpAfter = id;
}

void ChatClient::handle(const Protocol::UserJoined &joined)
{
    QList<User> &members = m_members[joined.room];
    const auto it = std::find_if(members.begin(), members.end(),
                                 [&](const User &user) { return user.email == joined.user.email; });
    if (it == members.end())
        members.append(joined.user);
    else
        *it = joined.user;
    Q_EMIT membersChanged(joined.room);
}

void ChatClient::handle(const Protocol::UserLeft &left)
{
    // This connection is told it left a room it did not leave: the owner of a
    // private room removed us. Nothing more of it reaches us; close it.
    if (left.user.email == m_self.email && m_open.contains(ConversationKey::room(left.room))) {
        removeConversation(ConversationKey::room(left.room));
        m_members.remove(left.room);
        m_typing.remove(ConversationKey::room(left.room));
        m_typingSince.remove(ConversationKey::room(left.room));
        Q_EMIT removedFromRoom(left.room);
        return;
    }
    QList<User> &members = m_members[left.room];
    members.removeIf([&](const User &user) { return user.email == left.user.email; });
    if (m_typing[ConversationKey::room(left.room)].remove(left.user.email) > 0)
        Q_EMIT typingChanged(ConversationKey::room(left.room));
    Q_EMIT membersChanged(left.room);
}

void ChatClient::handle(const Protocol::Members &members)
{
    m_members[members.room] = members.users;
    if (members.isPrivate)
        m_privateRoomOwners.insert(members.room, members.owner);
    else
        m_privateRoomOwners.remove(members.room);
    m_conversations->setPrivate(ConversationKey::room(members.room), members.isPrivate);
    Q_EMIT membersChanged(members.room);
}

void ChatClient::handle(const Protocol::History &history)
{
    const ConversationKey key =
        history.room.isEmpty() ? ConversationKey::direct(history.with) : ConversationKey::room(history.room);
    const auto it = m_open.find(key);
    if (it == m_open.end())
        return; // closed while the answer was on its way
    Conversation &conversation = *it;
    const HistoryKind kind =
        conversation.pendingHistory.isEmpty() ? HistoryKind::After : conversation.pendingHistory.takeFirst();
    MessageListModel *model = conversation.messages;
    switch (kind) {
    case HistoryKind::Latest:
        // On a resume the "after" pages fill the gap exactly; the latest page
        // would show a hole until they arrive.
        if (!conversation.resumed) {
            model->addMessages(history.messages);
            model->setHasOlder(history.hasMore);
            conversation.changeSeq = history.changeSeq; // the page shows every change up to it
        }
        break;
    case HistoryKind::Around:
        model->showPage(history.messages, history.hasMore, history.hasNewer);
        for (const Message &message : history.messages) {
            if (message.id == conversation.wantedMessage) {
                Q_EMIT messageShown(key, message.id);
                break;
            }
        }
        conversation.wantedMessage = 0;
        break;
    case HistoryKind::Newer:
        model->appendNewer(history.messages, history.hasMore);
        break;
    case HistoryKind::After: {
        if (model->hasNewer()) { // a resume while a jump's page is shown: it goes on from there
            model->appendNewer(history.messages, history.hasMore);
            break;
        }
        // What others said while we were away is news, as if it had been pushed
        // (the page may start with some we have: a resume reads the last moments again).
        qCDebug(lcNatterClientNet) << m_identity.email << "history after:" << history.messages.size()
                                   << (history.messages.isEmpty() ? 0 : history.messages.constFirst().id)
                                   << (history.messages.isEmpty() ? 0 : history.messages.constLast().id)
                                   << "more" << history.hasMore;
        QList<Message> missed;
        for (const Message &message : history.messages) {
            if (!model->hasStored(message.id) && message.from.email != m_self.email)
                missed.append(message);
        }
        model->addMessages(history.messages);
        if (!missed.isEmpty())
            Q_EMIT messagesMissed(key, missed);
        // On from this page's last (the model may hold newer ones that came live,
        // and the ones between them that it lacks) — unless the server keeps
        // saying "more" without end: pages that do not move on, or more than
        // the catching-up limits.
        conversation.caughtUpMessages += int(history.messages.size());
        for (const Message &message : history.messages)
            conversation.caughtUpBytes += message.text.size() * 2 + 256;
        const bool movesOn =
            !history.messages.isEmpty() && history.messages.constLast().id > conversation.catchUpAfter;
        if (history.hasMore && (!movesOn || conversation.caughtUpMessages >= m_catchUpMessages ||
                                conversation.caughtUpBytes >= m_catchUpBytes)) {
            qCWarning(lcNatterClientNet)
                << "stopped catching up on" << key.toString() << "after" << conversation.caughtUpMessages
                << "messages; the server says there are more";
            Q_EMIT errorOccurred(tr("Stopped catching up on %1 after %n message(s): the server keeps sending "
                                    "more. Older messages "
                                    "may be missing here.",
                                    nullptr, conversation.caughtUpMessages)
                                     .arg(key.isRoom() ? u'#' + key.name : key.name));
            conversation.unfinishedResume.reset();
            conversation.caughtUpMessages = 0;
            conversation.caughtUpBytes = 0;
            break;
        }
        if (history.hasMore && !history.messages.isEmpty()) {
            requestHistory(key, HistoryKind::After, history.messages.constLast().id);
            if (conversation.unfinishedResume)
                conversation.unfinishedResume = history.messages.constLast().id;
        } else {
            conversation.unfinishedResume.reset(); // the gap is filled
            conversation.caughtUpMessages = 0;
            conversation.caughtUpBytes = 0;
        }
        break;
    }
    case HistoryKind::Before:
        model->prependOlder(history.messages, history.hasMore);
        break;
    }
}

void ChatClient::handle(const Protocol::ReceiveMessage &receive)
{
    const Message &message = receive.message;
    const bool own = message.from.email == m_self.email;
    ConversationKey key;
    if (!message.room.isEmpty())
        key = ConversationKey::room(message.room);
    else
        key = ConversationKey::direct(own ? message.to : message.from.email);
    auto it = m_open.find(key);
    if (it == m_open.end()) {
        if (key.isRoom())
            return; // a room left a moment ago
        // A direct message opens its conversation, as in every chat app.
        addConversation(key, own ? QString() : message.from.name);
        watchDirectPeople();
        Q_EMIT conversationOpened(key);
        it = m_open.find(key);
        requestHistory(key, HistoryKind::Latest);
    } else if (!key.isRoom() && !own) {
        m_conversations->setTitle(key, message.from.name);
    }
    // What the user sends, they have read up to: the "New messages" line
    // never sits above their own words (after a restart it once did).
    if (own && !message.clientId.isEmpty() && m_outboxKeys.remove(message.clientId) > 0)
        markRead(key, message.id);
    QList<LiveArrival> &recent = it->recentLive;
    const LiveArrival arrival{m_clock.elapsed(),
                              message.timestamp.isValid() ? message.timestamp.toMSecsSinceEpoch() : 0,
                              message.id};
    while (!recent.isEmpty() && !overlaps(recent.constFirst(), arrival))
        recent.removeFirst();
    if (recent.size() < 10'000) // a flood: the resume reads from the oldest kept
        recent.append(arrival);
    // A flood (a busy room, a peer's script, a backlog after a stall) comes
    // as many frames in one read: applied together at the end of the pass,
    // as one row insertion and one unread update, so that the window keeps
    // painting instead of laying out and badging once per message.
    auto arrivals = m_arrivals.find(key);
    if (arrivals == m_arrivals.end()) {
        arrivals = m_arrivals.insert(key, {});
        m_arrivalOrder.append(key);
    }
    arrivals->append(message);
    if (!m_arrivalsQueued) {
        m_arrivalsQueued = true;
        QMetaObject::invokeMethod(this, &ChatClient::applyArrivals, Qt::QueuedConnection);
    }
}

void ChatClient::applyArrivals()
{
    m_arrivalsQueued = false;
    const QList<ConversationKey> order = std::exchange(m_arrivalOrder, {});
    QHash<ConversationKey, QList<Message>> arrivals = std::exchange(m_arrivals, {});
    for (const ConversationKey &key : order) {
        const QList<Message> messages = arrivals.take(key);
        MessageListModel *model = this->messages(key);
        if (!model)
            continue; // closed meanwhile
        model->addMessages(messages);
        QList<Message> fromOthers;
        bool typingStopped = false;
        for (const Message &message : messages) {
            if (message.from.email == m_self.email)
                continue;
            fromOthers.append(message);
            typingStopped = m_typing[key].remove(message.from.email) > 0 || typingStopped;
        }
        if (!fromOthers.isEmpty())
            Q_EMIT messagesArrived(key, fromOthers);
        if (typingStopped)
            Q_EMIT typingChanged(key);
    }
}

void ChatClient::handle(const Protocol::TypingNotice &typing)
{
    if (typing.user.email == m_self.email)
        return;
    // In a direct conversation, the one with the person typing.
    const ConversationKey key = typing.room.isEmpty() ? ConversationKey::direct(typing.user.email)
                                                      : ConversationKey::room(typing.room);
    if (!m_open.contains(key))
        return;
    if (typing.active) {
        m_typing[key].insert(typing.user.email, typing.user.name);
        m_typingSince[key].insert(typing.user.email, m_clock.elapsed());
    } else {
        m_typing[key].remove(typing.user.email);
        m_typingSince[key].remove(typing.user.email);
    }
    Q_EMIT typingChanged(key);
}

void ChatClient::handle(const Protocol::Presence &presence)
{
    const QString email = Validation::normalizedEmail(presence.user.email);
    m_presence.insert(email, presence);
    const ConversationKey key = ConversationKey::direct(email);
    if (m_open.contains(key) && !presence.user.name.isEmpty() && m_conversations->title(key) == email)
        m_conversations->setTitle(key, presence.user.name);
    if (!presence.online && m_typing[key].remove(email) > 0)
        Q_EMIT typingChanged(key);
    Q_EMIT presenceChanged(email);
}

std::optional<Protocol::Presence> ChatClient::presence(const QString &email) const
{
    const auto it = m_presence.constFind(Validation::normalizedEmail(email));
    if (it == m_presence.cend())
        return std::nullopt;
    return *it;
}

void ChatClient::watchDirectPeople()
{
    if (!isOnline())
        return;
    Protocol::WatchPresence watch;
    for (const ConversationKey &key : m_conversations->keys()) {
        if (!key.isRoom() && watch.emails.size() < Protocol::MaxWatchedUsers)
            watch.emails.append(key.name);
    }
    if (watch.emails == m_watched)
        return; // told already on this connection (nothing, at first)
    m_watched = watch.emails;
    send(watch);
}

void ChatClient::listRooms(const QString &prefix, int offset)
{
    if (isOnline())
        send(Protocol::ListRooms{prefix.trimmed(), offset, Protocol::DefaultListLimit});
}

void ChatClient::listPeople(const QString &prefix, int offset)
{
    if (isOnline())
        send(Protocol::ListPeople{prefix.trimmed(), offset, Protocol::DefaultListLimit});
}

void ChatClient::handle(const Protocol::RoomInvitation &invitation)
{
    if (!invitation.member.email.isEmpty()) {
        Q_EMIT memberInvited(invitation.room, invitation.member);
        return;
    }
    // Made a member: the room opens (and is joined) by itself.
    openRoom(invitation.room);
    Q_EMIT roomInvitation(invitation.room, invitation.by);
}

bool ChatClient::createPrivateRoom(const QString &room)
{
    return enterRoom(room, true);
}

void ChatClient::inviteToRoom(const QString &room, const QString &email)
{
    send(Protocol::InviteToRoom{room, Validation::normalizedEmail(email.trimmed())});
}

void ChatClient::removeFromRoom(const QString &room, const QString &email)
{
    send(Protocol::RemoveFromRoom{room, Validation::normalizedEmail(email)});
}

void ChatClient::handle(const Protocol::PasswordChanged &changed)
{
    // The server revoked every token, this device's too, and gave it a new one.
    if (!changed.token.isEmpty() && changed.token != m_token) {
        m_token = changed.token;
        Q_EMIT tokenChanged(m_token);
    }
    Q_EMIT passwordChanged();
}

void ChatClient::changePassword(const QString &current, const QString &replacement)
{
    send(Protocol::ChangePassword{current, replacement});
}

void ChatClient::handle(const Protocol::UploadReady &ready)
{
    m_files->handle(ready);
}

void ChatClient::handle(const Protocol::UploadComplete &complete)
{
    m_files->handle(complete);
}

void ChatClient::handle(const Protocol::DownloadReady &ready)
{
    m_files->handle(ready);
}

void ChatClient::handle(const Protocol::DownloadDone &done)
{
    m_files->handle(done);
}

void ChatClient::handle(const Protocol::Error &error)
{
    if (m_files->handle(error))
        return;
    // A room the server will not let us into does not stay in the sidebar.
    if (!error.room.isEmpty() &&
        (error.request == Protocol::Type::JoinRoom || error.request == Protocol::Type::CreateRoom) &&
        error.code != Protocol::ErrorCode::InternalError) {
        const ConversationKey key = ConversationKey::room(error.room);
        if (m_open.contains(key)) {
            removeConversation(key);
            m_members.remove(error.room);
            m_privateRoomOwners.remove(error.room);
            Q_EMIT errorOccurred(readableError(error));
            Q_EMIT roomRefused(error.room);
            return;
        }
    }
    qCInfo(lcNatterClientNet) << "error from the server:" << Protocol::errorCodeName(error.code)
                              << error.message;
    if (!error.clientId.isEmpty()) {
        const ConversationKey key = m_outboxKeys.value(error.clientId);
        if (MessageListModel *model = messages(key))
            model->setDeliveryState(error.clientId, MessageListModel::DeliveryState::Failed);
    }
    if (error.request == Protocol::Type::Hello && error.code != Protocol::ErrorCode::InternalError &&
        error.code != Protocol::ErrorCode::AlreadyAuthenticated) {
        // Retrying with the same hello cannot succeed: stop and say why.
        const bool tokenRefused = error.code == Protocol::ErrorCode::BadCredentials && !m_token.isEmpty();
        m_password.clear();
        if (tokenRefused) {
            m_token.clear();
            Q_EMIT tokenChanged({});
        }
        m_connection->stop(readableError(error));
        forgetConnectionState();
        Q_EMIT errorOccurred(readableError(error));
        Q_EMIT signInFailed(error.code, readableError(error));
        return;
    }
    if (error.request == Protocol::Type::Search) {
        Q_EMIT searchFailed(readableError(error)); // said in the search panel, not over the conversation
        return;
    }
    Q_EMIT errorOccurred(readableError(error));
}

MessageListModel *ChatClient::messages(const ConversationKey &key) const
{
    const auto it = m_open.constFind(key);
    return it == m_open.cend() ? nullptr : it->messages;
}

ChatClient::Conversation &ChatClient::addConversation(const ConversationKey &key, const QString &title)
{
    m_conversations->add(key, title);
    Conversation &conversation = m_open[key];
    if (!conversation.messages) {
        conversation.messages = new MessageListModel(this);
        conversation.messages->setOwnEmail(m_self.email.isEmpty() ? m_identity.email : m_self.email);
        for (auto it = m_localFiles.cbegin(); it != m_localFiles.cend(); ++it)
            conversation.messages->setDownloadTransfer(
                it.key(), Transfer{Transfer::Kind::None, 0, 0, 0, {}, it.value()});
        connect(conversation.messages, &MessageListModel::olderMessagesRequested, this,
                [this, key](qint64 beforeId) {
                    if (isOnline() && beforeId > 0)
                        requestHistory(key, HistoryKind::Before, beforeId);
                    else if (MessageListModel *model = messages(key))
                        model->setHasOlder(model->hasOlder());
                });
        // The sidebar's preview follows the conversation's last row, whatever put it there.
        MessageListModel *model = conversation.messages;
        const auto updatePreview = [this, key, model] {
            if (model->rowCount() == 0 || model->hasNewer()) // a jump's page is not the latest
                return;
            const Message &last = model->messageAt(model->rowCount() - 1);
            const bool own = last.from.email == model->ownEmail();
            // A deleted last message leaves nothing of its words in the sidebar either.
            m_conversations->setLastMessage(key, own ? QString() : last.from.name,
                                            last.deleted ? tr("Message deleted") : last.text, last.timestamp);
        };
        connect(conversation.messages, &MessageListModel::newerMessagesRequested, this,
                [this, key](qint64 afterId) {
                    if (isOnline())
                        requestHistory(key, HistoryKind::Newer, afterId);
                });
        connect(model, &QAbstractItemModel::rowsInserted, this, updatePreview);
        connect(model, &QAbstractItemModel::dataChanged, this, updatePreview); // edited, deleted
        connect(model, &QAbstractItemModel::modelReset, this, updatePreview);
    }
    return conversation;
}

void ChatClient::removeConversation(const ConversationKey &key)
{
    applyArrivals();
    const auto it = m_open.find(key);
    if (it == m_open.end())
        return;
    m_conversations->remove(key);
    it->messages->deleteLater();
    m_open.erase(it);
    // A file still going up belongs to the closed conversation: stop it rather than let it
    // arrive in a conversation the person left.
    for (auto entry = m_outboxKeys.cbegin(); entry != m_outboxKeys.cend(); ++entry) {
        if (entry.value() == key && m_uploadPaths.remove(entry.key()) > 0) {
            m_files->cancelUpload(entry.key());
            m_meters.remove(u'u' + entry.key());
        }
    }
    m_outboxKeys.removeIf([&key](const auto &entry) { return entry.value() == key; });
}

bool ChatClient::openRoom(const QString &room)
{
    return enterRoom(room, false);
}

bool ChatClient::enterRoom(const QString &room, bool createPrivate)
{
    const QString name = Validation::normalizedRoom(room);
    if (!Validation::isValidRoomName(name)) {
        Q_EMIT errorOccurred(tr("“%1” is not a valid room name: use 1–64 letters, digits, '-', '_' or '.', "
                                "starting with a letter or digit.")
                                 .arg(room));
        return false;
    }
    const ConversationKey key = ConversationKey::room(name);
    if (m_open.contains(key))
        return true;
    Conversation &conversation = addConversation(key, QString());
    conversation.createPrivate = createPrivate;
    if (isOnline())
        subscribe(key, conversation);
    return true;
}

void ChatClient::closeRoom(const QString &room)
{
    const ConversationKey key = ConversationKey::room(room);
    if (!m_open.contains(key))
        return;
    if (isOnline())
        send(Protocol::LeaveRoom{room});
    removeConversation(key);
    m_members.remove(room);
    m_typing.remove(key);
    m_typingSince.remove(key);
}

bool ChatClient::openDirect(const QString &email, const QString &name)
{
    const QString normalized = Validation::normalizedEmail(email.trimmed());
    if (!Validation::isValidEmail(normalized)) {
        Q_EMIT errorOccurred(tr("“%1” is not a valid email address.").arg(email));
        return false;
    }
    const ConversationKey key = ConversationKey::direct(normalized);
    if (m_open.contains(key)) {
        if (!name.isEmpty())
            m_conversations->setTitle(key, name);
        return true;
    }
    Conversation &conversation = addConversation(key, name);
    if (isOnline())
        subscribe(key, conversation);
    watchDirectPeople();
    return true;
}

void ChatClient::closeDirect(const QString &email)
{
    const ConversationKey key = ConversationKey::direct(Validation::normalizedEmail(email));
    if (!m_open.contains(key))
        return;
    removeConversation(key);
    m_typing.remove(key);
    m_typingSince.remove(key);
    m_presence.remove(key.name);
    watchDirectPeople();
}

QStringList ChatClient::typingUsers(const ConversationKey &key) const
{
    QStringList names = m_typing.value(key).values();
    names.sort(Qt::CaseInsensitive);
    return names;
}

bool ChatClient::isSendable(const QString &text)
{
    if (Validation::isBlank(text))
        return false;
    const qsizetype maxLength =
        m_limits.maxTextLength > 0 ? m_limits.maxTextLength : Validation::DefaultMaxTextLength;
    if (Validation::textLength(text) > maxLength) {
        Q_EMIT errorOccurred(tr("The message is %1 characters long; this server takes at most %2.")
                                 .arg(Validation::textLength(text))
                                 .arg(maxLength));
        return false;
    }
    return true;
}

QString ChatClient::sendMessage(const ConversationKey &key, const QString &text, qint64 replyTo,
                                const QStringList &mentions)
{
    MessageListModel *model = messages(key);
    if (!model)
        return {};
    if (!isSendable(text))
        return {};
    Message message;
    message.text = text;
    if (key.isRoom())
        message.room = key.name;
    else
        message.to = key.name;
    message.from = m_self.email.isEmpty() ? m_identity : m_self;
    message.timestamp = QDateTime::currentDateTimeUtc();
    message.clientId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    message.mentions = mentions.mid(0, Protocol::MaxMentions);
    if (replyTo > 0) {
        // The quote shows at once, from the original as it is loaded here;
        // the server's copy replaces it when the message is stored.
        message.reply.id = replyTo;
        if (const std::optional<Message> original = model->storedMessage(replyTo)) {
            message.reply.from = original->from;
            message.reply.text = Message::previewOf(original->text);
            message.reply.deleted = original->deleted;
        }
    }
    model->addOutgoing(message);
    m_outboxKeys.insert(message.clientId, key);
    if (isOnline())
        sendOutbox(key, message);
    setTyping(key, false);
    return message.clientId;
}

void ChatClient::restoreOutgoing(const Message &message)
{
    const ConversationKey key =
        message.room.isEmpty() ? ConversationKey::direct(message.to) : ConversationKey::room(message.room);
    if (key.isRoom() ? !openRoom(key.name) : !openDirect(key.name))
        return;
    MessageListModel *model = messages(key);
    for (const Message &queued : model->outbox()) {
        if (queued.clientId == message.clientId)
            return;
    }
    Message restored = message;
    restored.from = m_self.email.isEmpty() ? m_identity : m_self;
    model->addOutgoing(restored);
    m_outboxKeys.insert(restored.clientId, key);
    if (isOnline())
        sendOutbox(key, restored);
}

QList<Message> ChatClient::allOutgoing() const
{
    QList<Message> all;
    for (const ConversationKey &key : m_conversations->keys()) {
        for (const Message &message : m_open.value(key).messages->outbox()) {
            if (!m_uploadPaths.contains(message.clientId)) // files are not kept across restarts
                all.append(message);
        }
    }
    return all;
}

void ChatClient::rememberLocalFile(qint64 fileId, const QString &path)
{
    if (fileId <= 0 || path.isEmpty())
        return;
    m_localFiles.insert(fileId, path);
    for (const Conversation &conversation : std::as_const(m_open)) {
        if (conversation.messages)
            conversation.messages->setDownloadTransfer(fileId,
                                                       Transfer{Transfer::Kind::None, 0, 0, 0, {}, path});
    }
}

QString ChatClient::sendFile(const ConversationKey &key, const QString &path, const QString &caption,
                             qint64 replyTo)
{
    MessageListModel *model = messages(key);
    if (!model)
        return {};
    Message message;
    message.attachment = FileTransferClient::describe(path);
    if (message.attachment.name.isEmpty()) {
        Q_EMIT errorOccurred(tr("%1 cannot be read.").arg(QFileInfo(path).fileName()));
        return {};
    }
    if (m_limits.maxUploadBytes > 0 && message.attachment.size > m_limits.maxUploadBytes) {
        Q_EMIT errorOccurred(tr("%1 is %2: this server takes files of up to %3.")
                                 .arg(message.attachment.name,
                                      QLocale().formattedDataSize(message.attachment.size),
                                      QLocale().formattedDataSize(m_limits.maxUploadBytes)));
        return {};
    }
    message.clientId = m_files->upload({key, path, caption, {}, replyTo});
    if (message.clientId.isEmpty()) {
        Q_EMIT errorOccurred(tr("%1 cannot be read.").arg(QFileInfo(path).fileName()));
        return {};
    }
    message.text = caption;
    (key.isRoom() ? message.room : message.to) = key.name;
    message.from = m_self.email.isEmpty() ? m_identity : m_self;
    message.timestamp = QDateTime::currentDateTimeUtc();
    message.reply.id = replyTo;
    if (const std::optional<Message> original = replyTo > 0 ? model->storedMessage(replyTo) : std::nullopt) {
        message.reply.from = original->from;
        message.reply.text = Message::previewOf(original->text);
    }
    m_uploadPaths.insert(message.clientId, path);
    m_outboxKeys.insert(message.clientId, key);
    model->addOutgoing(message);
    model->setUploadTransfer(message.clientId,
                             Transfer{Transfer::Kind::Upload, 0, message.attachment.size, 0, {}, path});
    return message.clientId;
}

void ChatClient::cancelUpload(const ConversationKey &key, const QString &clientId)
{
    m_files->cancelUpload(clientId);
    m_uploadPaths.remove(clientId);
    m_outboxKeys.remove(clientId);
    m_meters.remove(u'u' + clientId);
    if (MessageListModel *model = messages(key))
        model->removeOutgoing(clientId);
}

void ChatClient::downloadFile(const Attachment &attachment, const QString &path)
{
    if (m_files->isDownloading(attachment.fileId))
        return;
    m_downloading.insert(attachment.fileId, attachment);
    m_meters.remove(u'd' + QString::number(attachment.fileId));
    showDownload(attachment.fileId, Transfer{Transfer::Kind::Download, 0, attachment.size, 0, {}, {}});
    m_files->download(attachment, path);
}

void ChatClient::cancelDownload(qint64 fileId)
{
    m_files->cancelDownload(fileId);
    if (m_downloading.remove(fileId))
        showDownload(fileId, Transfer{});
}

void ChatClient::showDownload(qint64 fileId, const Transfer &transfer)
{
    for (const Conversation &conversation : std::as_const(m_open))
        conversation.messages->setDownloadTransfer(fileId, transfer);
}

bool ChatClient::meter(const QString &id, qint64 done, qint64 total, qint64 *bytesPerSecond)
{
    auto it = m_meters.find(id);
    if (it == m_meters.end()) {
        it = m_meters.insert(id, Meter{});
        it->clock.start();
        it->bytes = done;
    }
    // The speed over the last half second or so, smoothed: what it is now,
    // not the average since a resume.
    const qint64 elapsed = it->clock.elapsed();
    if (elapsed >= 500) {
        const double now = double(done - it->bytes) * 1000.0 / double(elapsed);
        it->rate = it->rate > 0 ? 0.6 * now + 0.4 * it->rate : now;
        it->bytes = done;
        it->clock.restart();
        it->shownMs = -1;
    }
    *bytesPerSecond = qint64(it->rate);
    if (done < total && it->shownMs >= 0 && elapsed - it->shownMs < 100)
        return false;
    it->shownMs = elapsed;
    return true;
}

void ChatClient::watchTransfers()
{
    connect(
        m_files, &FileTransferClient::uploadProgress, this,
        [this](const QString &clientId, qint64 sent, qint64 total) {
            qint64 rate = 0;
            if (!meter(u'u' + clientId, sent, total, &rate))
                return;
            if (MessageListModel *model = messages(m_outboxKeys.value(clientId)))
                model->setUploadTransfer(
                    clientId,
                    Transfer{Transfer::Kind::Upload, sent, total, rate, {}, m_uploadPaths.value(clientId)});
        });
    connect(
        m_files, &FileTransferClient::uploadPreparing, this,
        [this](const QString &clientId, qint64 hashed, qint64 total) {
            if (MessageListModel *model = messages(m_outboxKeys.value(clientId)))
                model->setUploadTransfer(
                    clientId,
                    Transfer{Transfer::Kind::Upload, 0, total, 0, {}, m_uploadPaths.value(clientId), hashed});
        });
    connect(m_files, &FileTransferClient::uploadFinished, this,
            [this](const QString &clientId, qint64 fileId) {
                // The stored message (pushed with it) takes the row's place.
                m_meters.remove(u'u' + clientId);
                const QString path = m_uploadPaths.value(clientId);
                if (MessageListModel *model = messages(m_outboxKeys.value(clientId)))
                    model->setUploadTransfer(clientId, Transfer{Transfer::Kind::None, 0, 0, 0, {}, path});
                m_uploadPaths.remove(clientId);
                if (fileId > 0 && !path.isEmpty())
                    Q_EMIT fileShared(fileId, path);
            });
    connect(m_files, &FileTransferClient::uploadFailed, this,
            [this](const QString &clientId, const QString &message) {
                m_meters.remove(u'u' + clientId);
                MessageListModel *model = messages(m_outboxKeys.value(clientId));
                if (!model)
                    return;
                model->setDeliveryState(clientId, MessageListModel::DeliveryState::Failed);
                model->setUploadTransfer(clientId, Transfer{Transfer::Kind::None, 0, 0, 0, message, {}});
                Q_EMIT errorOccurred(tr("A file was not sent: %1").arg(message));
            });
    connect(m_files, &FileTransferClient::downloadProgress, this,
            [this](qint64 fileId, qint64 received, qint64 total) {
                qint64 rate = 0;
                if (m_downloading.contains(fileId) &&
                    meter(u'd' + QString::number(fileId), received, total, &rate))
                    showDownload(fileId, Transfer{Transfer::Kind::Download, received, total, rate, {}, {}});
            });
    connect(m_files, &FileTransferClient::downloadFinished, this, [this](qint64 fileId, const QString &path) {
        m_meters.remove(u'd' + QString::number(fileId));
        const Attachment attachment = m_downloading.take(fileId);
        showDownload(fileId, Transfer{Transfer::Kind::None, 0, 0, 0, {}, path});
        Q_EMIT fileDownloaded(attachment, path);
    });
    connect(m_files, &FileTransferClient::downloadFailed, this,
            [this](qint64 fileId, const QString &message) {
                m_meters.remove(u'd' + QString::number(fileId));
                const Attachment attachment = m_downloading.take(fileId);
                showDownload(fileId, Transfer{Transfer::Kind::None, 0, 0, 0, message, {}});
                Q_EMIT errorOccurred(tr("%1 was not downloaded: %2").arg(attachment.name, message));
            });
}

void ChatClient::sendOutbox(const ConversationKey &key, const Message &message)
{
    if (m_uploadPaths.contains(message.clientId))
        return; // a file: FileTransferClient announces it again itself
    Protocol::SendMessage request;
    (key.isRoom() ? request.room : request.to) = key.name;
    request.text = message.text;
    request.clientId = message.clientId;
    request.replyTo = message.reply.id;
    request.mentions = message.mentions;
    m_outboxKeys.insert(message.clientId, key);
    send(request);
}

void ChatClient::retry(const ConversationKey &key, const QString &clientId)
{
    MessageListModel *model = messages(key);
    if (!model)
        return;
    for (const Message &message : model->outbox()) {
        if (message.clientId != clientId)
            continue;
        model->setDeliveryState(clientId, MessageListModel::DeliveryState::Sending);
        if (const QString path = m_uploadPaths.value(clientId); !path.isEmpty()) {
            model->setUploadTransfer(
                clientId, Transfer{Transfer::Kind::Upload, 0, message.attachment.size, 0, {}, path});
            m_meters.remove(u'u' + clientId);
            if (m_files->upload({key, path, message.text, clientId, message.reply.id}).isEmpty()) {
                model->setDeliveryState(clientId, MessageListModel::DeliveryState::Failed);
                model->setUploadTransfer(clientId, Transfer{Transfer::Kind::None,
                                                            0,
                                                            message.attachment.size,
                                                            0,
                                                            tr("The file is gone or cannot be read."),
                                                            {}});
            }
            return;
        }
        if (isOnline())
            sendOutbox(key, message);
        return;
    }
}

void ChatClient::setTyping(const ConversationKey &key, bool active)
{
    if (!isOnline() || !m_open.contains(key))
        return;
    auto it = m_typingSent.find(key);
    const bool announced = it != m_typingSent.end() && it->isValid();
    if (active) {
        if (announced && it->elapsed() < TypingRepeatMs)
            return;
        m_typingSent[key].start();
    } else {
        if (!announced)
            return;
        it->invalidate();
    }
    if (key.isRoom())
        send(Protocol::TypingRequest{key.name, active, {}});
    else
        send(Protocol::TypingRequest{{}, active, key.name});
}

void ChatClient::clearTyping()
{
    m_typingSent.clear();
    QList<ConversationKey> keys;
    for (auto it = m_typing.cbegin(); it != m_typing.cend(); ++it) {
        if (!it->isEmpty())
            keys.append(it.key());
    }
    m_typing.clear();
    m_typingSince.clear();
    for (const ConversationKey &key : std::as_const(keys))
        Q_EMIT typingChanged(key);
}

ConversationKey ChatClient::keyOf(const QString &room, const QString &with)
{
    return room.isEmpty() ? ConversationKey::direct(with) : ConversationKey::room(room);
}

void ChatClient::handle(const Protocol::MessageChange &change)
{
    const Message &message = change.message;
    const bool own = message.from.email == m_self.email;
    const ConversationKey key = keyOf(message.room, own ? message.to : message.from.email);
    const auto it = m_open.find(key);
    if (it == m_open.end())
        return;
    // Pushed in order on this connection: the model is current up to it.
    it->changeSeq = std::max(it->changeSeq, change.changeSeq);
    if (it->messages->updateMessage(message))
        Q_EMIT messageChanged(key, message);
}

void ChatClient::handle(const Protocol::Changes &changes)
{
    const ConversationKey key = keyOf(changes.room, changes.with);
    const auto it = m_open.find(key);
    if (it == m_open.end())
        return;
    for (const Message &message : changes.messages) {
        if (it->messages->updateMessage(message))
            Q_EMIT messageChanged(key, message);
    }
    it->changeSeq = std::max(it->changeSeq, changes.changeSeq);
    if (changes.hasMore)
        send(Protocol::ChangesRequest{changes.room, changes.with, it->changeSeq, Protocol::MaxChangesLimit});
}

void ChatClient::handle(const Protocol::ReadMarker &marker)
{
    setConversationState(marker.state);
}

void ChatClient::handle(const Protocol::Muted &muted)
{
    Protocol::ConversationState state = conversationState(keyOf(muted.room, muted.with));
    state.room = muted.room;
    state.with = muted.with;
    state.muted = muted.muted;
    setConversationState(state);
}

void ChatClient::setConversationState(const Protocol::ConversationState &state)
{
    const ConversationKey key = keyOf(state.room, state.with);
    if (m_states.value(key) == state)
        return;
    m_states.insert(key, state);
    Q_EMIT conversationStateChanged(key);
}

Protocol::ConversationState ChatClient::conversationState(const ConversationKey &key) const
{
    return m_states.value(key, Protocol::ConversationState{key.isRoom() ? key.name : QString(),
                                                           key.isRoom() ? QString() : key.name, 0, 0, false});
}

bool ChatClient::editMessage(qint64 id, const QString &text, const QStringList &mentions)
{
    if (!isOnline() || !isSendable(text))
        return false;
    send(Protocol::EditMessage{id, text, mentions.mid(0, Protocol::MaxMentions)});
    return true;
}

bool ChatClient::showMessage(const ConversationKey &key, qint64 id)
{
    applyArrivals();
    const auto it = m_open.find(key);
    if (it == m_open.end() || id <= 0)
        return false;
    if (it->messages->storedMessage(id)) {
        Q_EMIT messageShown(key, id);
        return true;
    }
    if (!isOnline())
        return false;
    it->wantedMessage = id;
    requestHistory(key, HistoryKind::Around, id);
    return true;
}

void ChatClient::showLatest(const ConversationKey &key)
{
    const auto it = m_open.find(key);
    if (it == m_open.end() || !it->messages->hasNewer() || !isOnline())
        return;
    it->messages->showPage({}, false, false);
    it->resumed = false;
    requestHistory(key, HistoryKind::Latest);
}

bool ChatClient::search(const Protocol::SearchRequest &request)
{
    if (!isOnline() || request.query.trimmed().isEmpty())
        return false;
    send(request);
    return true;
}

bool ChatClient::deleteMessage(qint64 id)
{
    if (!isOnline())
        return false;
    send(Protocol::DeleteMessage{id});
    return true;
}

bool ChatClient::react(qint64 id, const QString &emoji, bool on)
{
    if (!isOnline() || !Validation::isValidEmoji(emoji))
        return false;
    send(Protocol::React{id, emoji, on});
    return true;
}

void ChatClient::markRead(const ConversationKey &key, qint64 id, int unreadAfter, int mentionsAfter)
{
    Protocol::ConversationState state = conversationState(key);
    if (id <= state.readId)
        return; // never back, and never twice
    state.readId = id;
    state.unread = std::max(unreadAfter, 0);
    state.mentions = std::clamp(mentionsAfter, 0, state.unread);
    setConversationState(state);
    m_unsentMarks.insert(key, id);
    if (!m_markTimer.isActive())
        m_markTimer.start();
}

void ChatClient::sendReadMarks()
{
    if (!isOnline())
        return; // sent after the next welcome
    for (auto it = m_unsentMarks.cbegin(); it != m_unsentMarks.cend(); ++it) {
        const ConversationKey &key = it.key();
        if (m_open.contains(key))
            send(Protocol::MarkRead{key.isRoom() ? key.name : QString(), key.isRoom() ? QString() : key.name,
                                    it.value()});
    }
    m_unsentMarks.clear();
}

void ChatClient::setMuted(const ConversationKey &key, bool muted)
{
    if (isOnline())
        send(Protocol::MuteRequest{key.isRoom() ? key.name : QString(), key.isRoom() ? QString() : key.name,
                                   muted});
}

} // namespace Natter
