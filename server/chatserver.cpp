#include "server/chatserver.h"

#include "common/validation.h"
#include "server/clientsession.h"
#include "server/filetransfers.h"
#include "server/passwordhasher.h"
#include "server/redisbus.h"
#include "server/serverlogging.h"
#include "server/storereaders.h"
#include "server/storewriter.h"
#include "server/transport.h"

#include <QRandomGenerator>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Natter {

using namespace Protocol;

namespace {

/// Frames a connection may send while its hello is being checked.
constexpr int MaxFramesWaitingForSignIn = 64;
/// Frames a connection may send while its messages are being committed.
constexpr int MaxFramesWaitingForCommit = 256;

} // namespace

ChatServer::ChatServer(ServerConfig config, std::unique_ptr<MessageStore> store, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_store(std::move(store))
    , m_transport(new Transport(m_config, this))
    , m_hasher(new PasswordHasher(m_config.passwordCost, m_config.passwordHashingInBackground, this))
    , m_throttle(m_config.signInFailureLimit * 5, m_config.signInFailureWindow.count(),
                 m_config.signInLockout.count())
    , m_pairThrottle(m_config.signInFailureLimit, m_config.signInFailureWindow.count(),
                     m_config.signInLockout.count())
    , m_accountPacer(m_config.signInFailureLimit, m_config.signInFailureWindow.count(),
                     m_config.signInLockout.count(), m_config.signInAccountPace.count())
{
    m_files = new FileTransfers(this, m_store.get(), m_config);
    m_clock.start();
    if (m_config.cluster) {
        m_instanceId = QByteArray::number(QRandomGenerator::system()->generate64(), 16);
        m_cluster = new RedisBus(*m_config.cluster, this);
        m_cluster->setSubscribeDelayForTesting(m_config.clusterSubscribeDelayForTesting);
        connect(m_cluster, &RedisBus::messageReceived, this, &ChatServer::onClusterMessage);
        m_cluster->subscribe("natter:presence"_ba);
        // (Again) linked: everyone says who they have, so that presence is whole.
        connect(m_cluster, &RedisBus::connectedChanged, this, [this](bool connected) {
            if (connected) {
                publishPresence("sync " + m_instanceId);
                publishPresenceState();
                if (std::exchange(m_clusterWasLinked, true))
                    catchUpWithCluster("Redis is back");
                return;
            }
            // What others had in the rooms may have changed unheard: asked
            // again once each room's channel is followed again.
            for (Room &room : m_rooms)
                room.remote.clear();
        });
        // Following a room (again): who is in it on the other natterd?
        connect(m_cluster, &RedisBus::subscribed, this, [this](const QByteArray &channel) {
            if (channel.startsWith("natter:r:"))
                publishRoomMembers(QString::fromUtf8(channel.mid(9)), 'w');
        });
        m_heartbeatTimer.setInterval(m_config.clusterHeartbeat);
        connect(&m_heartbeatTimer, &QTimer::timeout, this, &ChatServer::presenceHeartbeat);
    }
    connect(m_transport, &Transport::connectionOpened, this, &ChatServer::onConnectionOpened);
    m_sweepTimer.setInterval(std::max(m_config.pingInterval / 3, std::chrono::milliseconds(20)));
    connect(&m_sweepTimer, &QTimer::timeout, this, &ChatServer::sweep);
    m_retentionTimer.setInterval(std::chrono::minutes(10));
    connect(&m_retentionTimer, &QTimer::timeout, this, &ChatServer::applyRetention);
    m_commitTimer.setSingleShot(true);
    m_commitTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_commitTimer, &QTimer::timeout, this, &ChatServer::flushPendingSends);
    // natterd's administration commands change accounts from another process:
    // notice within a second, without restarting.
    m_accountWatchTimer.setInterval(std::chrono::milliseconds(500));
    connect(&m_accountWatchTimer, &QTimer::timeout, this, [this] {
        AccountStore *accounts = m_store->accounts();
        const qint64 changes = accounts ? accounts->externalChangeCounter() : -1;
        if (changes != m_accountChanges) {
            m_accountChanges = changes;
            applyAccountChanges();
        }
    });
    m_shutdownTimer.setSingleShot(true);
    connect(&m_shutdownTimer, &QTimer::timeout, this, [this] {
        m_transport->dropAll(u"the server is shutting down"_s);
        Q_EMIT shutdownFinished();
    });
}

ChatServer::~ChatServer()
{
    // Sessions go first: their disconnects must not reach a half-destroyed server.
    // Sessions go before the transport (a child, deleted after this body):
    // their connections' closing must not reach a half-destroyed server.
    m_transport->disconnect(this);
    for (ClientSession *session : std::as_const(m_sessions)) {
        session->connection()->disconnect(this);
        delete session;
    }
    delete m_files;          // before the store it uses goes (it waits for its worker)
    handOverAccountWrites(); // the writer finishes what it was given before it goes
}

QString ChatServer::versionString()
{
    return u"natterd " NATTER_VERSION ""_s;
}

bool ChatServer::listen()
{
    if (!m_files->start(&m_errorString))
        return false;
    if (const MessageStore::WriterFactory factory = m_store->writerFactory(); factory && !m_writer) {
        auto writer = std::make_unique<StoreWriter>(factory);
        if (!writer->start()) {
            m_errorString = u"cannot open the store's writer connection: %1"_s.arg(writer->errorString());
            return false;
        }
        m_writer = std::move(writer);
        connect(m_writer.get(), &StoreWriter::appended, this, &ChatServer::onAppended);
    }
    if (const MessageStore::WriterFactory factory = m_store->readerFactory(m_config.readTimeLimit);
        factory && !m_readers && m_config.readerThreads > 0) {
        auto readers =
            std::make_unique<StoreReaders>(factory, m_config.readerThreads, m_config.maxQueuedReads);
        if (!readers->start()) {
            m_errorString = u"cannot open the store's reader connections: %1"_s.arg(readers->errorString());
            return false;
        }
        m_readers = std::move(readers);
    }
    if (!m_transport->listen()) {
        m_errorString = m_transport->errorString();
        return false;
    }
    m_sweepTimer.start();
    if (m_cluster) {
        m_cluster->start(); // connects in the background; until then this natterd serves its own connections
        m_heartbeatTimer.start();
    }
    if (m_config.retentionDays > 0) {
        m_retentionTimer.start();
        QMetaObject::invokeMethod(this, &ChatServer::applyRetention, Qt::QueuedConnection);
    }
    if (AccountStore *accounts = m_store->accounts())
        m_accountChanges = accounts->externalChangeCounter();
    m_accountWatchTimer.start();
    qCDebug(lcNatterServer).noquote()
        << versionString() << "listening on"
        << m_transport->serverAddress().toString() + u':' + QString::number(m_transport->serverPort());
    return true;
}

quint16 ChatServer::serverPort() const
{
    return m_transport->serverPort();
}

QHostAddress ChatServer::serverAddress() const
{
    return m_transport->serverAddress();
}

bool ChatServer::isTls() const
{
    return m_transport->isTls();
}

QString ChatServer::tlsFingerprint() const
{
    return m_transport->tlsFingerprint();
}

void ChatServer::reloadTls(const TlsIdentity &identity)
{
    m_transport->reloadTls(identity);
    m_config.tls = identity;
}

int ChatServer::connectionCount() const
{
    return m_transport->tcpConnectionCount();
}

void ChatServer::onConnectionOpened(Connection *connection)
{
    if (m_shuttingDown) {
        connection->close(QWebSocketProtocol::CloseCodeGoingAway, u"the server is shutting down"_s);
        return;
    }
    auto *session = new ClientSession(connection, this);
    session->setRefusalBudget(m_config.refusalsPerSecond, m_config.refusalBurst);
    m_sessions.insert(session);
    connect(connection, &Connection::textReceived, session,
            [this, session](const QByteArray &utf8) { onTextFrame(session, utf8); });
    connect(connection, &Connection::binaryReceived, session,
            [this, session](const QByteArray &payload) { m_files->onBinary(session, payload); });
    connect(connection, &Connection::closed, this, [this, session] { onDisconnected(session); });
    Q_EMIT sessionOpened();
}

void ChatServer::onDisconnected(ClientSession *session)
{
    if (!m_sessions.remove(session))
        return;
    qCDebug(lcNatterServer).noquote() << "disconnected" << session->peer() << session->user().email;
    m_files->onSessionClosed(session);
    const QSet<QString> rooms = session->rooms();
    for (const QString &room : rooms)
        removeFromRoom(session, room);
    for (const QString &email : session->watching()) {
        auto watchers = m_watchers.find(email);
        if (watchers != m_watchers.end() && (watchers->remove(session), watchers->isEmpty()))
            m_watchers.erase(watchers);
    }
    if (session->isAuthenticated()) {
        auto user = m_users.find(session->user().email);
        if (user != m_users.end()) {
            user->sessions.removeOne(session);
            if (user->sessions.isEmpty()) {
                const User gone = user->user;
                m_users.erase(user);
                m_directDeliveries.remove(gone.email);
                unfollowUserLater(gone.email);
                localPresenceChanged(gone, false);
            }
        }
    }
    session->deleteLater();
    Q_EMIT sessionClosed();
    if (m_shuttingDown && m_sessions.isEmpty()) {
        m_shutdownTimer.stop();
        Q_EMIT shutdownFinished();
    }
}

std::optional<int> ChatServer::heldCount(const QString &recipient)
{
    if (const auto cached = m_heldCounts.constFind(recipient); cached != m_heldCounts.cend())
        return *cached;
    const std::optional<int> counted = m_store->heldCount(recipient);
    if (counted) {
        if (m_heldCounts.size() > 100'000)
            m_heldCounts.clear(); // a cache, not a record
        m_heldCounts.insert(recipient, *counted);
    }
    return counted;
}

void ChatServer::deliverHeld(ClientSession *session, qint64 afterId)
{
    // In pages, while the connection keeps up: someone away for a long time
    // may have thousands waiting, more than --max-queue at once, and being
    // dropped for them (after they were released) would lose them.
    constexpr int Page = Protocol::DefaultHistoryLimit;
    const qint64 budget = std::clamp<qint64>(m_config.maxQueuedBytes / 4, 1, 1024 * 1024);
    const QString email = session->user().email;
    while (!session->isDropping()) {
        if (session->queuedBytes() > budget) {
            QTimer::singleShot(20, session, [this, session, afterId] { deliverHeld(session, afterId); });
            return;
        }
        const std::optional<QList<Message>> held = readHeld(email, afterId, Page);
        if (!held)
            return;
        for (const Message &message : *held)
            session->sendFrame(ReceiveMessage{message});
        releaseHeldOnes(email, *held);
        if (held->size() < Page)
            return;
        afterId = held->constLast().id;
    }
}

std::optional<QList<Message>> ChatServer::readHeld(const QString &email, qint64 afterId, int limit)
{
    // Most sign-ins have nothing waiting: who may have is known (read once,
    // then kept up to date as messages are held and taken), and the others
    // cost no query.
    if (!m_heldRecipientsRead) {
        m_heldRecipientsRead = true;
        m_mayHaveHeld = m_store->heldRecipients();
    }
    if (m_mayHaveHeld && !m_mayHaveHeld->contains(email))
        return QList<Message>();
    std::optional<QList<Message>> held = m_store->heldDirectMessages(email, afterId, limit);
    if (!held) {
        qCWarning(lcNatterServer).noquote()
            << "cannot deliver held messages to" << email << ":" << m_store->errorString();
        return held;
    }
    if (m_mayHaveHeld && held->size() < limit)
        m_mayHaveHeld->remove(email); // all read, and released below
    return held;
}

void ChatServer::releaseHeldOnes(const QString &email, const QList<Message> &delivered)
{
    if (delivered.isEmpty())
        return;
    m_heldCounts.remove(email); // counted afresh when next needed
    QList<qint64> ids;
    ids.reserve(delivered.size());
    for (const Message &message : delivered)
        ids.append(message.id);
    // Off the event loop when there is a writer: until it is done, a
    // second sign-in may read them again (delivered twice, the same ids),
    // never not at all.
    auto release = [email, ids](MessageStore &store) {
        if (!store.releaseHeldDirectMessages(email, ids))
            qCWarning(lcNatterServer).noquote()
                << "cannot release held messages of" << email << ":" << store.errorString();
    };
    if (m_writer)
        m_writer->post(std::move(release));
    else
        release(*m_store);
}

void ChatServer::noteHeld(const QString &email)
{
    if (m_mayHaveHeld)
        m_mayHaveHeld->insert(email);
}

void ChatServer::applyRetention()
{
    if (m_config.retentionDays <= 0 || m_shuttingDown || m_retentionRunning)
        return;
    // A thousand rows at a time, each batch in its own pass of the event
    // loop, on the writer's thread when there is one: a first run over
    // years of history never stalls the chat.
    const qint64 cutoff =
        QDateTime::currentMSecsSinceEpoch() - qint64(m_config.retentionDays) * 24 * 3600 * 1000;
    auto job = [this, cutoff](MessageStore &store) -> StoreWriter::Completion {
        const std::optional<int> deleted = store.deleteOlderThan(cutoff, RetentionBatch);
        const StoreFailure failure = deleted ? StoreFailure() : StoreFailure::of(store);
        return [this, deleted, failure] { retentionBatchDone(deleted, failure); };
    };
    m_retentionRunning = true;
    if (m_writer) {
        m_writer->run(std::move(job));
        return;
    }
    const StoreWriter::Completion done = job(*m_store);
    done();
}

void ChatServer::retentionBatchDone(std::optional<int> deleted, const StoreFailure &failure)
{
    m_retentionRunning = false;
    if (!deleted) {
        qCWarning(lcNatterServer).noquote() << "retention:" << failure.errorString;
        return;
    }
    m_retentionDeleted += *deleted;
    m_heldCounts.clear(); // held messages may have gone with them
    if (*deleted > 0)
        m_files->collectSoon(); // and files with their last messages
    if (*deleted == RetentionBatch) {
        QMetaObject::invokeMethod(this, &ChatServer::applyRetention, Qt::QueuedConnection);
        return;
    }
    if (m_retentionDeleted > 0)
        qCInfo(lcNatterServer) << "retention: deleted" << m_retentionDeleted << "messages older than"
                               << m_config.retentionDays << "days";
    m_retentionDeleted = 0;
    Q_EMIT retentionApplied();
}

void ChatServer::sweep()
{
    // Rate budgets outlive connections, but a full bucket is as good as none.
    const qint64 now = nowMs();
    m_accountBuckets.removeIf([now](const auto &it) { return it.value().isFull(now); });
    m_addressBuckets.removeIf([now](const auto &it) { return it.value().isFull(now); });
    m_writeBudgets.removeIf([now](const auto &it) { return it.value().isFull(now); });
    m_strangerBudgets.removeIf([now](const auto &it) { return it.value().isFull(now); });
    m_throttle.prune(now);
    m_pairThrottle.prune(now);
    m_accountPacer.prune(now);
}

void ChatServer::onTextFrame(ClientSession *session, const QByteArray &utf8)
{
    if (m_shuttingDown)
        return;
    if (session->isAuthenticating()) {
        QList<QByteArray> &waiting = session->framesWaitingForSignIn();
        if (waiting.size() >= MaxFramesWaitingForSignIn) {
            session->close(QWebSocketProtocol::CloseCodePolicyViolated, u"wait for welcome"_s);
            return;
        }
        waiting.append(utf8);
        return;
    }
    dispatch(session, utf8);
}

void ChatServer::dispatch(ClientSession *session, const QByteArray &utf8)
{
    const Codec::Result<Codec::ClientFrame> decoded = Codec::decodeClientFrame(utf8);
    if (!decoded.isOk()) {
        session->sendError(decoded.error());
        return;
    }
    const Codec::ClientFrame &frame = decoded.value();
    if (!session->isAuthenticated() && !std::holds_alternative<Hello>(frame)) {
        session->sendError(ErrorCode::NotAuthenticated, u"say hello first"_s,
                           Codec::toJson(frame).value(QLatin1String("type")).toString());
        return;
    }
    if (!session->framesWaitingForCommit().isEmpty() || session->isReading() ||
        (session->uncommittedWrites() > 0 && waitsForCommit(frame))) {
        // A history read, an edit, a search... sees every message its
        // connection sent before it: it waits for their commit (only this
        // connection's frames wait; everyone else goes on). Whatever follows
        // a read that runs off the event loop waits for its answer: a
        // connection's answers come in the order it asked.
        QList<Codec::ClientFrame> &waiting = session->framesWaitingForCommit();
        if (waiting.size() >= MaxFramesWaitingForCommit) {
            session->close(QWebSocketProtocol::CloseCodePolicyViolated,
                           u"too many requests while your messages are stored"_s);
            return;
        }
        waiting.append(frame);
        return;
    }
    handleFrame(session, frame);
}

void ChatServer::handleFrame(ClientSession *session, const Codec::ClientFrame &frame)
{
    std::visit([this, session](const auto &request) { handle(session, request); }, frame);
}

bool ChatServer::waitsForCommit(const Codec::ClientFrame &frame)
{
    if (const auto *send = std::get_if<SendMessage>(&frame))
        return send->replyTo > 0; // a reply reads what it answers
    return !std::holds_alternative<TypingRequest>(frame);
}

void ChatServer::runFramesWaitingForCommit(ClientSession *session)
{
    QList<Codec::ClientFrame> &waiting = session->framesWaitingForCommit();
    while (!waiting.isEmpty() && session->uncommittedWrites() == 0 && !session->isReading() &&
           m_sessions.contains(session) && !session->isDropping() && !m_shuttingDown) {
        const Codec::ClientFrame frame = waiting.takeFirst();
        handleFrame(session, frame);
    }
}

void ChatServer::handle(ClientSession *session, const Hello &hello)
{
    if (session->isAuthenticated() || session->isAuthenticating()) {
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
    if (hello.password.isEmpty() && hello.token.isEmpty()) {
        // A client from before accounts: told why, never trusted.
        session->sendError(ErrorCode::CredentialsRequired,
                           u"this server needs a password or a session token to sign in"_s, Type::Hello);
        session->close(QWebSocketProtocol::CloseCodePolicyViolated, u"credentials required"_s);
        return;
    }
    if (!m_store->accounts()) {
        session->sendError(ErrorCode::InternalError, u"accounts cannot be read"_s, Type::Hello);
        return;
    }
    const QString email = Validation::normalizedEmail(hello.user.email);
    // A device's token is never locked out: a stranger's guesses from the
    // same address (a NAT, a proxy) must not sign everyone else out.
    if (!hello.token.isEmpty())
        signInWithToken(session, hello, email);
    else if (mayTryPassword(session, email, Type::Hello))
        signInWithPassword(session, hello, email);
}

QString ChatServer::badCredentialsMessage() const
{
    // The same words whatever was wrong, so that nobody learns which emails have accounts.
    switch (m_config.registration) {
    case ServerConfig::Registration::Open:
        break;
    case ServerConfig::Registration::Invite:
        return u"wrong email, password or invite code (new accounts need an invite)"_s;
    case ServerConfig::Registration::Closed:
        return u"wrong email or password (accounts are created by an administrator)"_s;
    }
    return u"wrong email or password"_s;
}

void ChatServer::writeAccountsLater(std::function<void(AccountStore &)> write)
{
    if (!m_writer) {
        write(*m_store->accounts());
        return;
    }
    // On the writer's connection, after the messages handed over before:
    // here it could wait for the write lock behind a stalled commit. Handed
    // over once per pass: posting to another thread takes a lock and wakes
    // it, which was a tenth of a sign-in's cost when a thousand came at once.
    m_accountWrites.append(std::move(write));
    if (m_accountWrites.size() == 1)
        QMetaObject::invokeMethod(this, &ChatServer::handOverAccountWrites, Qt::QueuedConnection);
}

void ChatServer::handOverAccountWrites()
{
    if (m_accountWrites.isEmpty() || !m_writer)
        return;
    m_writer->post([writes = std::exchange(m_accountWrites, {})](MessageStore &store) {
        if (AccountStore *accounts = store.accounts()) {
            for (const auto &write : writes)
                write(*accounts);
        }
    });
}

void ChatServer::refuseSignIn(ClientSession *session, ErrorCode code, const QString &message,
                              const QString &guessedEmail)
{
    session->setAuthenticating(false);
    session->framesWaitingForSignIn().clear();
    if (code == ErrorCode::BadCredentials && !guessedEmail.isEmpty())
        recordWrongPassword(session, guessedEmail);
    session->sendError(code, message, Type::Hello);
}

bool ChatServer::mayTryPassword(ClientSession *session, const QString &email, QLatin1String request)
{
    const qint64 now = nowMs();
    const QString address = session->address();
    if (m_throttle.isLocked(address, now) || m_pairThrottle.isLocked(address + u'\n' + email, now)) {
        session->sendError(ErrorCode::TooManyAttempts,
                           u"too many failed sign-ins from your address; try again in a few minutes"_s,
                           request);
        return false;
    }
    if (!m_accountPacer.mayTry(email, now)) {
        session->sendError(ErrorCode::TooManyAttempts,
                           u"too many failed sign-ins for this account; try again in a few seconds"_s,
                           request);
        return false;
    }
    return true;
}

void ChatServer::recordWrongPassword(ClientSession *session, const QString &email)
{
    const qint64 now = nowMs();
    const QString address = session->address();
    if (m_pairThrottle.recordFailure(address + u'\n' + email, now))
        qCWarning(lcNatterServer).noquote() << "too many wrong passwords for" << email << "from" << address
                                            << "- refusing that pair for a while";
    if (m_throttle.recordFailure(address, now))
        qCWarning(lcNatterServer).noquote()
            << "too many failed sign-ins from" << address << "- refusing its passwords for a while";
    if (m_accountPacer.recordFailure(email, now))
        qCWarning(lcNatterServer).noquote()
            << "too many wrong passwords for" << email << "from anywhere - pacing its sign-ins";
}

void ChatServer::signInWithToken(ClientSession *session, const Hello &hello, const QString &email)
{
    AccountStore *accounts = m_store->accounts();
    DeviceToken token;
    Account account;
    const AccountStore::Found found = accounts->findToken(PasswordHasher::tokenHash(hello.token), &token);
    if (found == AccountStore::Found::Error ||
        (found == AccountStore::Found::Yes &&
         accounts->findAccount(email, &account) == AccountStore::Found::Error)) {
        refuseSignIn(session, ErrorCode::InternalError, u"accounts cannot be read; try again"_s);
        return;
    }
    if (found == AccountStore::Found::No || token.email != email || account.email != email) {
        refuseSignIn(session, ErrorCode::BadCredentials, u"this session token is not (or no longer) valid"_s);
        return;
    }
    if (account.disabled) {
        refuseSignIn(session, ErrorCode::AccountDisabled, u"an administrator disabled this account"_s);
        return;
    }
    const qint64 tokenId = token.id;
    writeAccountsLater([tokenId](AccountStore &accounts) { accounts.touchToken(tokenId); });
    completeSignIn(session, hello, account, token.id, {});
}

void ChatServer::signInWithPassword(ClientSession *session, const Hello &hello, const QString &email)
{
    // No account has a password this short (every way of setting one refuses
    // it), so it is refused before the account is looked up: the same answer,
    // as fast, whether or not the email has an account.
    if (hello.password.size() < MinPasswordLength) {
        session->sendError(ErrorCode::WeakPassword,
                           u"a password has at least %1 characters"_s.arg(MinPasswordLength), Type::Hello);
        return;
    }
    Account account;
    const AccountStore::Found found = m_store->accounts()->findAccount(email, &account);
    if (found == AccountStore::Found::Error) {
        session->sendError(ErrorCode::InternalError, u"accounts cannot be read; try again"_s, Type::Hello);
        return;
    }
    const bool mayRegister = found == AccountStore::Found::No &&
                             (m_config.registration == ServerConfig::Registration::Open ||
                              (m_config.registration == ServerConfig::Registration::Invite &&
                               !hello.invite.isEmpty() && m_store->accounts()->isInviteValid(hello.invite)));
    if (mayRegister) {
        registerAccount(session, hello, email);
        return;
    }
    // An unknown email is checked against a dummy hash: the same work, the same answer.
    session->setAuthenticating(true);
    QPointer<ClientSession> guard(session);
    m_hasher->verify(
        account.passwordHash, hello.password, session,
        [this, guard, hello, email](bool matches) {
            ClientSession *session = guard;
            if (!session || session->isDropping())
                return;
            Account current;
            // Read again: an administrator may have changed it meanwhile.
            if (!matches || m_store->accounts()->findAccount(email, &current) != AccountStore::Found::Yes) {
                refuseSignIn(session, ErrorCode::BadCredentials, badCredentialsMessage(), email);
                return;
            }
            if (current.disabled) {
                refuseSignIn(session, ErrorCode::AccountDisabled,
                             u"an administrator disabled this account"_s);
                return;
            }
            const QString token = PasswordHasher::newToken();
            const std::optional<qint64> tokenId =
                m_store->accounts()->addToken(email, PasswordHasher::tokenHash(token), hello.device);
            if (!tokenId) {
                refuseSignIn(session, ErrorCode::InternalError,
                             u"the sign-in could not be stored; try again"_s);
                return;
            }
            completeSignIn(session, hello, current, *tokenId, token);
        },
        {u'@' + session->address(), email});
}

void ChatServer::registerAccount(ClientSession *session, const Hello &hello, const QString &email)
{
    session->setAuthenticating(true);
    QPointer<ClientSession> guard(session);
    m_hasher->hash(hello.password, session,
                   [this, guard, hello, email](const QString &hash) {
                       ClientSession *session = guard;
                       if (!session || session->isDropping())
                           return;
                       AccountStore *accounts = m_store->accounts();
                       Account account;
                       account.email = email;
                       account.name = hello.user.name;
                       account.passwordHash = hash;
                       const bool needsInvite = m_config.registration == ServerConfig::Registration::Invite;
                       if (hash.isEmpty() || (needsInvite && !accounts->useInvite(hello.invite))) {
                           refuseSignIn(session,
                                        hash.isEmpty() ? ErrorCode::InternalError : ErrorCode::BadCredentials,
                                        hash.isEmpty() ? u"the password could not be stored; try again"_s
                                                       : badCredentialsMessage(),
                                        email);
                           return;
                       }
                       if (!accounts->createAccount(account)) {
                           // Someone else claimed the email meanwhile.
                           refuseSignIn(session, ErrorCode::BadCredentials, badCredentialsMessage());
                           return;
                       }
                       qCInfo(lcNatterServer).noquote() << "new account" << email;
                       const QString token = PasswordHasher::newToken();
                       const std::optional<qint64> tokenId =
                           accounts->addToken(email, PasswordHasher::tokenHash(token), hello.device);
                       if (!tokenId) {
                           refuseSignIn(session, ErrorCode::InternalError,
                                        u"the sign-in could not be stored; try again"_s);
                           return;
                       }
                       completeSignIn(session, hello, account, *tokenId, token);
                   },
                   {u'@' + session->address(), email});
}

void ChatServer::completeSignIn(ClientSession *session, const Hello &hello, const Account &account,
                                qint64 tokenId, const QString &newToken)
{
    // The name is the account's; a sign-in may change it.
    const User user{hello.user.name, account.email};
    if (account.name != user.name)
        writeAccountsLater([user](AccountStore &accounts) { accounts.setName(user.email, user.name); });
    auto state = m_users.find(user.email);
    const bool cameOnline = state == m_users.end();
    if (cameOnline) {
        state = m_users.insert(user.email, UserState{user, {}});
        m_unfollowAt.remove(user.email);
        followUser(user.email, true);
        startDeliveryLog(m_directDeliveries, user.email);
    }
    state->user = user;
    for (ClientSession *other : std::as_const(state->sessions))
        other->setUserName(user.name);
    state->sessions.append(session);
    session->setUser(user, tokenId);
    qCDebug(lcNatterServer).noquote() << session->peer() << "signed in as" << user.email;
    if (cameOnline)
        localPresenceChanged(user, true);

    Welcome welcome;
    welcome.user = user;
    welcome.server = versionString();
    welcome.serverName = m_config.serverName;
    welcome.limits = ServerLimits{m_config.maxTextLength, m_config.maxFrameBytes, MaxHistoryLimit,
                                  m_config.maxUploadBytes};
    welcome.token = newToken;
    welcome.serverId = m_store->serverId();
    // Where this user is in each conversation, so every device shows the same badges.
    if (const auto states = m_store->conversationStates(user.email))
        welcome.conversations = *states;
    else
        qCWarning(lcNatterServer).noquote()
            << "cannot read the read markers of" << user.email << ":" << m_store->errorString();
    session->sendFrame(welcome);

    deliverHeld(session);
    // What the client sent while its hello was checked, in order.
    const QList<QByteArray> waiting = std::exchange(session->framesWaitingForSignIn(), {});
    QPointer<ClientSession> guard(session);
    for (const QByteArray &utf8 : waiting) {
        if (!guard || guard->isDropping())
            break;
        dispatch(session, utf8);
    }
}

QString ChatServer::issueToken(const User &user, const QString &device)
{
    AccountStore *accounts = m_store->accounts();
    if (!accounts)
        return {};
    const QString email = Validation::normalizedEmail(user.email);
    Account account;
    const AccountStore::Found found = accounts->findAccount(email, &account);
    if (found == AccountStore::Found::Error)
        return {};
    if (found == AccountStore::Found::No &&
        !accounts->createAccount(Account{email, user.name, {}, false, {}}))
        return {};
    const QString token = PasswordHasher::newToken();
    if (!accounts->addToken(email, PasswordHasher::tokenHash(token), device))
        return {};
    return token;
}

QString ChatServer::createInvite(int uses, std::chrono::seconds validity)
{
    AccountStore *accounts = m_store->accounts();
    if (!accounts)
        return {};
    Invite invite;
    invite.code = PasswordHasher::newToken().left(16);
    invite.usesLeft = uses;
    invite.expires = QDateTime::currentDateTimeUtc().addSecs(validity.count());
    return accounts->createInvite(invite) ? invite.code : QString();
}

void ChatServer::closeSessionsOf(const QString &email, const QString &reason,
                                 const std::function<bool(const ClientSession *)> &which)
{
    const auto user = m_users.constFind(email);
    if (user == m_users.cend())
        return;
    const QList<ClientSession *> sessions = user->sessions;
    for (ClientSession *session : sessions) {
        if (which(session))
            session->close(QWebSocketProtocol::CloseCodePolicyViolated, reason);
    }
}

void ChatServer::applyAccountChanges()
{
    AccountStore *accounts = m_store->accounts();
    if (!accounts)
        return;
    const QList<QString> emails = m_users.keys();
    for (const QString &email : emails) {
        if (!closeRevokedSessionsOf(email))
            return;
    }
}

bool ChatServer::closeRevokedSessionsOf(const QString &email)
{
    AccountStore *accounts = m_store->accounts();
    const auto user = m_users.constFind(email);
    if (!accounts || user == m_users.cend())
        return true;
    Account account;
    const AccountStore::Found found = accounts->findAccount(email, &account);
    if (found == AccountStore::Found::Error)
        return false;
    const QList<ClientSession *> sessions = user->sessions;
    if (found == AccountStore::Found::No || account.disabled) {
        qCInfo(lcNatterServer).noquote() << "closing the connections of disabled account" << email;
        for (ClientSession *session : sessions)
            session->close(QWebSocketProtocol::CloseCodePolicyViolated, u"account disabled"_s);
        return true;
    }
    const std::optional<QList<DeviceToken>> tokens = accounts->tokens(email);
    if (!tokens)
        return false;
    QSet<qint64> valid;
    for (const DeviceToken &token : *tokens)
        valid.insert(token.id);
    for (ClientSession *session : sessions) {
        if (!valid.contains(session->tokenId()))
            session->close(QWebSocketProtocol::CloseCodePolicyViolated, u"signed out"_s);
    }
    return true;
}

void ChatServer::handle(ClientSession *session, const SignOut &)
{
    const QString email = session->user().email;
    const qint64 tokenId = session->tokenId();
    if (!m_store->accounts()->revokeToken(tokenId)) {
        session->sendError(ErrorCode::InternalError, u"the sign-out could not be stored; try again"_s,
                           Type::SignOut);
        return;
    }
    qCDebug(lcNatterServer).noquote() << email << "signed out on" << session->peer();
    // A revoked token is worth nothing at once: every connection that signed
    // in with it (a copy of it elsewhere, a stolen one) is closed too, here
    // and, through the cluster, on every other natterd.
    closeSessionsOf(email, u"signed out"_s, [session, tokenId](const ClientSession *other) {
        return other != session && other->tokenId() == tokenId;
    });
    session->close(QWebSocketProtocol::CloseCodeNormal, u"signed out"_s);
    publishTokensChanged(email);
}

void ChatServer::handle(ClientSession *session, const ChangePassword &change)
{
    if (change.newPassword.size() < MinPasswordLength) {
        session->sendError(ErrorCode::WeakPassword,
                           u"choose a password of at least %1 characters"_s.arg(MinPasswordLength),
                           Type::ChangePassword);
        return;
    }
    Account account;
    if (m_store->accounts()->findAccount(session->user().email, &account) != AccountStore::Found::Yes) {
        session->sendError(ErrorCode::InternalError, u"the account cannot be read"_s, Type::ChangePassword);
        return;
    }
    // An account without a password yet (the host's own) sets its first one freely.
    QPointer<ClientSession> guard(session);
    const QString email = account.email;
    const QString newPassword = change.newPassword;
    auto setNew = [this, guard, email, newPassword] {
        m_hasher->hash(newPassword, this, [this, guard, email](const QString &hash) {
            ClientSession *session = guard;
            if (hash.isEmpty() || !m_store->accounts()->setPasswordHash(email, hash)) {
                if (session)
                    session->sendError(ErrorCode::InternalError, u"the password could not be changed"_s,
                                       Type::ChangePassword);
                return;
            }
            // Every token goes, the changing device's too (a thief may hold a
            // copy of it); that device gets a new one in the answer.
            AccountStore *accounts = m_store->accounts();
            QString device;
            if (const auto tokens = accounts->tokens(email); tokens && session) {
                for (const DeviceToken &token : *tokens) {
                    if (token.id == session->tokenId())
                        device = token.device;
                }
            }
            accounts->revokeTokens(email, 0);
            PasswordChanged changed;
            std::optional<qint64> newTokenId;
            if (session && !session->isDropping()) {
                changed.token = PasswordHasher::newToken();
                newTokenId = accounts->addToken(email, PasswordHasher::tokenHash(changed.token), device);
            }
            closeSessionsOf(email, u"the password was changed"_s,
                            [session](const ClientSession *other) { return other != session; });
            publishTokensChanged(email);
            if (!session || session->isDropping())
                return;
            if (!newTokenId) {
                session->close(QWebSocketProtocol::CloseCodePolicyViolated, u"the password was changed"_s);
                return;
            }
            session->setUser(session->user(), *newTokenId);
            session->sendFrame(changed);
        });
    };
    if (account.passwordHash.isEmpty()) {
        setNew();
        return;
    }
    if (!mayTryPassword(session, email, Type::ChangePassword))
        return;
    m_hasher->verify(account.passwordHash, change.password, session,
                     [this, guard, setNew, email](bool matches) {
                         if (!guard)
                             return;
                         if (!matches) {
                             recordWrongPassword(guard, email);
                             guard->sendError(ErrorCode::BadCredentials, u"the current password is wrong"_s,
                                              Type::ChangePassword);
                             return;
                         }
                         setNew();
                     },
                     {u'@' + session->address(), email});
}

void ChatServer::handle(ClientSession *session, const JoinRoom &join)
{
    if (!session->isInRoom(join.room) && session->rooms().size() >= m_config.maxRoomsPerConnection) {
        session->sendError(
            ErrorCode::TooManyRooms,
            u"a connection may join at most %1 rooms; leave one first"_s.arg(m_config.maxRoomsPerConnection),
            Type::JoinRoom, {}, join.room);
        return;
    }
    const User &user = session->user();
    const auto entered = m_rooms.constFind(join.room);
    const bool knownPublic = entered != m_rooms.cend() && !entered->isPrivate;
    if (!session->isInRoom(join.room) && !knownPublic) {
        // Private rooms are for their members: checked on every entry, so a
        // removed member cannot come back. (A room people are in now that is
        // public stays so: create_room refuses it.)
        const std::optional<RoomAccess> access = m_store->accounts()->roomAccess(join.room, false);
        if (!access) {
            session->sendError(ErrorCode::InternalError, u"the room could not be looked up"_s, Type::JoinRoom,
                               {}, join.room);
            return;
        }
        if (access->isPrivate && !m_store->accounts()->isRoomMember(join.room, user.email).value_or(false)) {
            session->sendError(ErrorCode::NotAMember,
                               u"#%1 is a private room: ask its owner to invite you"_s.arg(join.room),
                               Type::JoinRoom, {}, join.room);
            return;
        }
        if (entered == m_rooms.cend() && !access->isPrivate)
            m_store->accounts()->noteRoom(join.room); // into the directory (list_rooms); not fatal
        Room &room = m_rooms[join.room];
        room.isPrivate = access->isPrivate;
        room.owner = access->owner;
    }
    flushDepartures(join.room); // who left in this pass is told before who comes
    Room &room = m_rooms[join.room];
    const UserJoined joined{join.room, user};
    if (!session->isInRoom(join.room)) {
        session->addRoom(join.room);
        room.add(session);
        if (room.sessions.size() == 1) {
            followRoom(join.room, true);
            startDeliveryLog(m_roomDeliveries, join.room);
        }
        int &connections = room.connectionsByUser[user.email];
        ++connections;
        if (connections == 1)
            publishMembership(join.room, user, true);
        if (connections == 1 && !room.remote.contains(user.email)) {
            // A new member: everyone in the room hears of it, the joiner included.
            sendToAll(room.sessions, Connection::wireFrame(Codec::encodeServerFrame(joined)));
        } else {
            session->sendFrame(joined);
        }
    } else {
        session->sendFrame(joined);
    }
    session->sendFrame(Members{join.room, membersOf(room), room.isPrivate, room.owner});

    HistoryQuery query;
    query.room = join.room;
    query.limit = m_config.historyOnJoin;
    if (whenFollowing(join.room, session,
                      [this, query](ClientSession *session) { sendHistory(session, query, Type::JoinRoom); }))
        return;
    sendHistory(session, query, Type::JoinRoom);
}

void ChatServer::handle(ClientSession *session, const CreateRoom &create)
{
    if (!create.isPrivate) {
        handle(session, JoinRoom{create.room});
        return;
    }
    const std::optional<RoomAccess> access = m_store->accounts()->roomAccess(create.room, true);
    if (!access) {
        session->sendError(ErrorCode::InternalError, u"the room could not be looked up"_s, Type::CreateRoom);
        return;
    }
    // A room people are in, or have written in, stays what it is.
    if (access->exists || m_rooms.contains(create.room) ||
        !m_store->accounts()->createPrivateRoom(create.room, session->user().email)) {
        session->sendError(ErrorCode::RoomExists,
                           u"#%1 exists already; choose another name"_s.arg(create.room), Type::CreateRoom,
                           {}, create.room);
        return;
    }
    qCDebug(lcNatterServer).noquote() << session->user().email << "created the private room" << create.room;
    handle(session, JoinRoom{create.room});
}

std::optional<RoomAccess> ChatServer::ownedPrivateRoom(ClientSession *session, const QString &room,
                                                       QLatin1String request)
{
    const std::optional<RoomAccess> access = m_store->accounts()->roomAccess(room, false);
    if (!access) {
        session->sendError(ErrorCode::InternalError, u"the room could not be looked up"_s, request);
        return std::nullopt;
    }
    if (!access->isPrivate) {
        session->sendError(ErrorCode::BadRoom, u"#%1 is public: anyone may join it"_s.arg(room), request);
        return std::nullopt;
    }
    if (access->owner != session->user().email) {
        session->sendError(ErrorCode::NotRoomOwner, u"only the owner of #%1 may do that"_s.arg(room),
                           request);
        return std::nullopt;
    }
    return access;
}

void ChatServer::handle(ClientSession *session, const InviteToRoom &invite)
{
    if (!ownedPrivateRoom(session, invite.room, Type::InviteToRoom))
        return;
    const QString email = Validation::normalizedEmail(invite.email);
    Account account;
    const AccountStore::Found found = m_store->accounts()->findAccount(email, &account);
    if (found != AccountStore::Found::Yes) {
        session->sendError(found == AccountStore::Found::Error ? ErrorCode::InternalError
                                                               : ErrorCode::NoSuchUser,
                           u"%1 has no account on this server"_s.arg(email), Type::InviteToRoom);
        return;
    }
    if (!m_store->accounts()->addRoomMember(invite.room, email)) {
        session->sendError(ErrorCode::InternalError, u"the member could not be added"_s, Type::InviteToRoom);
        return;
    }
    // The new member's apps learn of it at once; the owner's, as confirmation, with who it was.
    const QByteArray membersCopy = Codec::encodeServerFrame(RoomInvitation{invite.room, session->user(), {}});
    if (const auto member = m_users.constFind(email); member != m_users.cend())
        sendToAll(member->sessions, Connection::wireFrame(membersCopy));
    publishToUser(email, membersCopy);
    const QByteArray ownersCopy =
        Codec::encodeServerFrame(RoomInvitation{invite.room, session->user(), User{account.name, email}});
    if (const auto owner = m_users.constFind(session->user().email); owner != m_users.cend())
        sendToAll(owner->sessions, Connection::wireFrame(ownersCopy));
    publishToUser(session->user().email, ownersCopy);
}

void ChatServer::handle(ClientSession *session, const RemoveFromRoom &remove)
{
    const std::optional<RoomAccess> access = ownedPrivateRoom(session, remove.room, Type::RemoveFromRoom);
    if (!access)
        return;
    const QString email = Validation::normalizedEmail(remove.email);
    if (email == access->owner) {
        session->sendError(ErrorCode::BadField, u"the owner stays in their room"_s, Type::RemoveFromRoom);
        return;
    }
    if (!m_store->accounts()->removeRoomMember(remove.room, email)) {
        session->sendError(ErrorCode::NotAMember, u"%1 is not a member of #%2"_s.arg(email, remove.room),
                           Type::RemoveFromRoom);
        return;
    }
    // Every connection of the removed member leaves the room now, on every natterd.
    publishRemoval(remove.room, User{{}, email});
    const auto member = m_users.constFind(email);
    if (member == m_users.cend())
        return;
    const QList<ClientSession *> sessions = member->sessions;
    for (ClientSession *other : sessions) {
        if (!other->isInRoom(remove.room))
            continue;
        removeFromRoom(other, remove.room);
        other->sendFrame(UserLeft{remove.room, other->user()});
    }
}

void ChatServer::sendHistory(ClientSession *session, const HistoryQuery &query, QLatin1String request)
{
    // A history read sees every message its connection sent before it:
    // the request waited for their commit (dispatch()).
    const std::optional<HistoryPage> page = m_store->history(query);
    if (!page) {
        session->sendError(ErrorCode::InternalError, u"the history could not be read"_s, request);
        return;
    }
    const bool direct = query.room.isEmpty();
    QList<Message> messages = page->messages;
    bool hasMore = page->hasMore;
    bool hasNewer = page->hasNewer;
    if (query.around)
        trimAroundToBudget(&messages, *query.around, &hasMore, &hasNewer);
    else
        trimToBudget(&messages, &hasMore, query.after.has_value());
    personalize(&messages, session->user().email);
    const QByteArray frame = Codec::encodeServerFrame(
        History{query.room, direct ? query.userB : QString(), messages, hasMore, hasNewer, lastChangeSeq()});
    // A page costs by what it weighs: one token per 64 KiB beyond the first
    // 64 KiB (a 44-byte request for a 1 MiB page, 146 times a second, kept
    // a core busy; an everyday page of a few KiB costs nothing). The page is
    // always answered; the budget goes into debt and the next requests wait.
    constexpr qint64 FreeBytes = 64 * 1024;
    if (frame.size() > FreeBytes)
        chargeRate(session, double(frame.size() - FreeBytes) / FreeBytes);
    session->sendWireFrame(Connection::wireFrame(frame));
}

qint64 ChatServer::pageBudget() const
{
    return std::clamp<qint64>(m_config.maxQueuedBytes / 4, 1, 1024 * 1024);
}

void ChatServer::trimAroundToBudget(QList<Message> *messages, qint64 around, bool *hasMore,
                                    bool *hasNewer) const
{
    QList<qint64> sizes;
    qint64 total = 0;
    for (const Message &message : std::as_const(*messages)) {
        sizes.append(Codec::encodeServerFrame(ReceiveMessage{message}).size());
        total += sizes.constLast();
    }
    qsizetype first = 0;
    qsizetype last = messages->size() - 1;
    qsizetype centre = 0;
    while (centre < last && messages->at(centre).id < around)
        ++centre;
    while (total > pageBudget() && first < last) {
        // Drop from the end farther from the message the page is about.
        if (centre - first > last - centre) {
            total -= sizes.at(first++);
            *hasMore = true;
        } else {
            total -= sizes.at(last--);
            *hasNewer = true;
        }
    }
    *messages = messages->mid(first, last - first + 1);
}

void ChatServer::trimToBudget(QList<Message> *messages, bool *hasMore, bool forward) const
{
    // A page never outgrows what one connection may have queued (a quarter
    // of --max-queue, at most 1 MiB): 200 messages of 4,000 escaped control
    // characters are 4.8 MB, and a client must never be dropped for the
    // answer to what it asked itself. What does not fit is left on the far
    // side of the reading direction, and has_more says there is more.
    const qint64 budget = pageBudget();
    const qsizetype count = messages->size();
    qint64 size = 0;
    qsizetype kept = 0;
    for (; kept < count; ++kept) {
        const Message &message = forward ? messages->at(kept) : messages->at(count - 1 - kept);
        size += Codec::encodeServerFrame(ReceiveMessage{message}).size();
        if (kept > 0 && size > budget)
            break; // the first one goes whatever its size: a page always moves the reader on
    }
    if (kept == count)
        return;
    if (forward)
        messages->resize(kept);
    else
        messages->remove(0, count - kept);
    *hasMore = true;
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
    room->remove(session);
    const QString &email = session->user().email;
    auto connections = room->connectionsByUser.find(email);
    if (connections != room->connectionsByUser.end() && --*connections == 0) {
        room->connectionsByUser.erase(connections);
        publishMembership(roomName, session->user(), false);
        m_departures[roomName].append(session->user());
        if (!m_departuresQueued) {
            m_departuresQueued = true;
            QMetaObject::invokeMethod(
                this, [this] { flushDepartures(); }, Qt::QueuedConnection);
        }
    }
    if (room->sessions.isEmpty()) {
        m_rooms.erase(room);
        m_roomDeliveries.remove(roomName);
        followRoom(roomName, false);
    }
}

void ChatServer::flushDepartures(const QString &only)
{
    auto send = [this](const QString &roomName, const QList<User> &gone) {
        const auto room = m_rooms.constFind(roomName);
        if (room == m_rooms.cend())
            return; // nobody left to tell
        for (const User &user : gone) {
            if (!room->hasMember(user.email)) // not back in the meantime, nor on another natterd
                sendToAll(room->sessions,
                          Connection::wireFrame(Codec::encodeServerFrame(UserLeft{roomName, user})));
        }
    };
    if (!only.isEmpty()) {
        if (const auto gone = m_departures.find(only); gone != m_departures.end()) {
            const QList<User> users = std::move(*gone);
            m_departures.erase(gone);
            send(only, users);
        }
        return;
    }
    m_departuresQueued = false;
    const QHash<QString, QList<User>> departures = std::exchange(m_departures, {});
    for (auto it = departures.cbegin(); it != departures.cend(); ++it)
        send(it.key(), it.value());
}

void ChatServer::Room::add(ClientSession *session)
{
    slot.insert(session, sessions.size());
    sessions.append(session);
}

void ChatServer::Room::remove(ClientSession *session)
{
    // O(1): the last session takes the leaver's place.
    const auto at = slot.find(session);
    if (at == slot.end())
        return;
    const qsizetype index = *at;
    slot.erase(at);
    ClientSession *last = sessions.takeLast();
    if (index < sessions.size()) {
        sessions[index] = last;
        slot[last] = index;
    }
}

QList<User> ChatServer::membersOf(const Room &room) const
{
    QList<User> users;
    users.reserve(room.connectionsByUser.size());
    for (auto it = room.connectionsByUser.cbegin(); it != room.connectionsByUser.cend(); ++it)
        users.append(m_users.value(it.key()).user);
    for (auto it = room.remote.cbegin(); it != room.remote.cend(); ++it) {
        if (!room.connectionsByUser.contains(it.key()) && !it->isEmpty())
            users.append(it->cbegin().value());
    }
    std::sort(users.begin(), users.end(),
              [](const User &a, const User &b) { return a.name.compare(b.name, Qt::CaseInsensitive) < 0; });
    return users;
}

void ChatServer::readOffLoop(ClientSession *session, QLatin1String request, ReadJob job)
{
    if (!m_readers) {
        if (const std::function<void()> done = job(*m_store))
            done();
        return;
    }
    session->setReading(true);
    const bool queued = m_readers->run([this, guard = QPointer<ClientSession>(session), job = std::move(job)](
                                           MessageStore &store) -> StoreReaders::Completion {
        return [this, guard, done = job(store)] {
            if (!guard)
                return;
            guard->setReading(false);
            if (!m_sessions.contains(guard) || guard->isDropping() || m_shuttingDown)
                return;
            if (done)
                done();
            runFramesWaitingForCommit(guard);
        };
    });
    if (queued)
        return;
    session->setReading(false);
    qCDebug(lcNatterServer) << "readers busy:" << m_config.maxQueuedReads << "reads wait already";
    session->sendError(ErrorCode::RateLimited, u"the server is busy; try again in a moment"_s, request);
}

double ChatServer::directoryCost(int offset) const
{
    // A page deep in the directory makes the store sort and skip every row
    // before it (offset 49,000 of 50,000 accounts cost 396 ms): one token per
    // 100 rows skipped, at most half the burst, so that deep pages come
    // slowly and the first ones as fast as ever.
    return std::min(1.0 + offset / 100.0, std::max(1.0, m_config.rateBurst / 2));
}

std::pair<TokenBucket *, TokenBucket *> ChatServer::rateBucketsOf(ClientSession *session)
{
    // One budget per account and one per address, kept after the connection
    // closes: reconnecting or inventing accounts buys nothing.
    const qint64 now = nowMs();
    auto account = m_accountBuckets.find(session->user().email);
    if (account == m_accountBuckets.end())
        account = m_accountBuckets.insert(session->user().email,
                                          TokenBucket(m_config.rateLimit, m_config.rateBurst, now));
    auto address = m_addressBuckets.find(session->address());
    if (address == m_addressBuckets.end())
        address = m_addressBuckets.insert(session->address(),
                                          TokenBucket(m_config.rateLimit > 0 ? m_config.addressRateLimit : 0,
                                                      m_config.addressRateBurst, now));
    return {&*account, &*address};
}

void ChatServer::chargeRate(ClientSession *session, double weight)
{
    const auto [account, address] = rateBucketsOf(session);
    const qint64 now = nowMs();
    account->charge(now, weight);
    address->charge(now, weight);
}

bool ChatServer::takeRateToken(ClientSession *session, const QString &request, const QString &clientId,
                               double weight)
{
    const auto [account, address] = rateBucketsOf(session);
    const qint64 now = nowMs();
    // In a cluster, a user on k natterd spends k tokens a message on each:
    // together they send no faster than one natterd lets them.
    const auto elsewhere = m_remoteOnline.constFind(session->user().email);
    const double cost = weight * (1.0 + (elsewhere == m_remoteOnline.cend() ? 0 : double(elsewhere->size())));
    if (account->tryTake(now, cost) && address->tryTake(now, weight))
        return true;
    session->sendError(ErrorCode::RateLimited,
                       u"slow down: at most %1 messages a second"_s.arg(m_config.rateLimit), request,
                       clientId);
    return false;
}

bool ChatServer::checkSendable(ClientSession *session, const QString &room, const QString &to, qint64 replyTo,
                               const QString &text, QLatin1String request, const QString &clientId)
{
    if (!room.isEmpty() && !session->isInRoom(room)) {
        session->sendError(ErrorCode::NotInRoom, u"join room %1 before sending to it"_s.arg(room), request,
                           clientId);
        return false;
    }
    if (Validation::textLength(text) > m_config.maxTextLength) {
        session->sendError(ErrorCode::TextTooLong,
                           u"a message is at most %1 characters"_s.arg(m_config.maxTextLength), request,
                           clientId);
        return false;
    }
    if (replyTo > 0) {
        // A reply answers a message of the same conversation that still is.
        const std::optional<Message> original = readableMessage(session, replyTo, request, clientId);
        if (!original)
            return false;
        const ConversationId conversation = ConversationId::of(*original, session->user().email);
        if (conversation.room != room ||
            (room.isEmpty() && conversation.userB != Validation::normalizedEmail(to))) {
            session->sendError(ErrorCode::NoSuchMessage,
                               u"message %1 is in another conversation"_s.arg(replyTo), request, clientId);
            return false;
        }
    }
    return true;
}

void ChatServer::handle(ClientSession *session, const SendMessage &send)
{
    if (!checkSendable(session, send.room, send.to, send.replyTo, send.text, Type::SendMessage,
                       send.clientId) ||
        !takeRateToken(session, Type::SendMessage, send.clientId) ||
        !takeWriteBudget(session, send.isDirect() ? Validation::normalizedEmail(send.to) : QString(),
                         send.text.size(), send.clientId))
        return;
    Message message;
    message.room = send.room;
    message.to = send.isDirect() ? Validation::normalizedEmail(send.to) : QString();
    message.from = session->user();
    message.text = send.text;
    message.clientId = send.clientId;
    message.reply.id = send.replyTo;
    for (const QString &email : send.mentions) {
        if (const QString lower = Validation::normalizedEmail(email); !message.mentions.contains(lower))
            message.mentions.append(lower);
    }
    enqueueSend(session, std::move(message));
}

bool ChatServer::takeWriteBudget(ClientSession *session, const QString &to, qsizetype units,
                                 const QString &clientId)
{
    if (m_config.rateLimit <= 0)
        return true;
    // What the disk takes: one address with four accounts wrote ~5.9 GB an
    // hour within the message rate. An hour's worth at once, then as it refills.
    const qint64 now = nowMs();
    const double perHour = m_config.writeMiBPerHour * 1024 * 1024;
    if (perHour > 0) {
        const QString &email = session->user().email;
        auto account = m_writeBudgets.find(email);
        if (account == m_writeBudgets.end())
            account = m_writeBudgets.insert(email, TokenBucket(perHour / 3600, perHour, now));
        const QString addressKey = u'@' + session->address(); // no email starts with @
        auto address = m_writeBudgets.find(addressKey);
        if (address == m_writeBudgets.end())
            address = m_writeBudgets.insert(addressKey, TokenBucket(4 * perHour / 3600, 4 * perHour, now));
        if (!account->tryTake(now, double(units)) || !address->tryTake(now, double(units))) {
            session->sendError(ErrorCode::RateLimited,
                               u"you have written %1 MiB in the last hour, as much as this server stores "
                               u"for one person; wait a while"_s.arg(m_config.writeMiBPerHour),
                               Type::SendMessage, clientId);
            return false;
        }
    }
    // A direct message to an address nobody has is held until someone
    // claims it: 200 of them to 200 made-up addresses were all kept.
    if (to.isEmpty() || m_config.heldForStrangersPerHour <= 0 || isOnlineAnywhere(to))
        return true;
    Account account;
    if (m_store->accounts()->findAccount(to, &account) != AccountStore::Found::No)
        return true;
    auto strangers = m_strangerBudgets.find(session->user().email);
    if (strangers == m_strangerBudgets.end())
        strangers = m_strangerBudgets.insert(
            session->user().email,
            TokenBucket(m_config.heldForStrangersPerHour / 3600.0, m_config.heldForStrangersPerHour, now));
    if (strangers->tryTake(now))
        return true;
    session->sendError(ErrorCode::RateLimited,
                       u"%1 has no account here yet; you have sent %2 messages this hour to addresses "
                       u"without one"_s.arg(to, QString::number(m_config.heldForStrangersPerHour)),
                       Type::SendMessage, clientId);
    return false;
}

void ChatServer::enqueueSend(ClientSession *session, Message message)
{
    if (session)
        session->addUncommittedWrite();
    m_pendingSends.append(PendingSend{session, std::move(message)});
    scheduleFlush();
}

void ChatServer::scheduleFlush()
{
    if (!m_flushScheduled && !m_pendingSends.isEmpty()) {
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

void ChatServer::handle(ClientSession *session, const UploadBegin &begin)
{
    m_files->handle(session, begin);
}

void ChatServer::handle(ClientSession *session, const UploadDone &done)
{
    m_files->handle(session, done);
}

void ChatServer::handle(ClientSession *session, const UploadCancel &cancel)
{
    m_files->handle(session, cancel);
}

void ChatServer::handle(ClientSession *session, const DownloadRequest &request)
{
    m_files->handle(session, request);
}

void ChatServer::handle(ClientSession *session, const DownloadCancel &cancel)
{
    m_files->handle(session, cancel);
}

void ChatServer::flushPendingSends()
{
    m_flushScheduled = false;
    m_commitTimer.stop();
    if (m_pendingSends.isEmpty() || (m_writer && m_writer->isBusy()))
        return; // the writer's report hands over what queued meanwhile
    m_lastCommitNs = m_clock.nsecsElapsed();
    QList<PendingSend> batch;
    QList<MessageDraft> drafts;
    QList<PendingSend> refused;
    batch.reserve(m_pendingSends.size());
    drafts.reserve(m_pendingSends.size());
    QHash<QString, int> holding; // in this batch, per recipient
    for (PendingSend &pending : std::exchange(m_pendingSends, {})) {
        // Decided now; checked again when the commit is reported (the
        // recipient may have come or gone meanwhile): a recipient who is not
        // online when the message is delivered gets it when they connect.
        const bool hold = pending.message.isDirect() && !isOnlineAnywhere(pending.message.to);
        if (hold && m_config.maxHeldPerRecipient > 0) {
            int &inBatch = holding[pending.message.to];
            const std::optional<int> held = heldCount(pending.message.to);
            const int waiting = held.value_or(0) + m_heldInFlight.value(pending.message.to) + inBatch;
            if (held && waiting >= m_config.maxHeldPerRecipient) {
                // Nobody reads them: a sender could fill the disk for someone who never comes.
                if (pending.origin)
                    pending.origin->sendError(
                        ErrorCode::InboxFull,
                        u"%1 has %2 messages waiting already; try again when they have been online"_s
                            .arg(pending.message.to)
                            .arg(waiting),
                        Type::SendMessage, pending.message.clientId);
                refused.append(std::move(pending));
                continue;
            }
            ++inBatch;
        }
        drafts.append(MessageDraft{pending.message, hold});
        batch.append(std::move(pending));
    }
    if (batch.isEmpty()) {
        settle(refused);
        return;
    }
    if (m_writer) {
        for (const MessageDraft &draft : std::as_const(drafts)) {
            if (draft.holdForRecipient)
                ++m_heldInFlight[draft.message.to];
        }
        m_sendsInFlight = std::move(batch);
        m_draftsInFlight = drafts;
        // Most commits take well under this: waiting spares them a trip
        // through both threads' event loops. A stalled disk holds the event
        // loop this long at most, then only the senders wait.
        m_writer->append(std::move(drafts), std::chrono::milliseconds(2));
        settle(refused);
        return;
    }
    AppendReport report;
    report.stored = m_store->append(drafts);
    if (!report.stored) {
        report.errorString = m_store->errorString();
        report.full = m_store->isFull();
    }
    completeBatch(batch, drafts, report);
    settle(refused);
}

void ChatServer::onAppended(const AppendReport &report)
{
    const QList<PendingSend> batch = std::exchange(m_sendsInFlight, {});
    const QList<MessageDraft> drafts = std::exchange(m_draftsInFlight, {});
    for (const MessageDraft &draft : drafts) {
        if (!draft.holdForRecipient)
            continue;
        if (auto inFlight = m_heldInFlight.find(draft.message.to);
            inFlight != m_heldInFlight.end() && --*inFlight <= 0)
            m_heldInFlight.erase(inFlight);
    }
    completeBatch(batch, drafts, report);
    // Group commit: everything accepted while the writer was busy goes in the next transaction.
    m_flushScheduled = false;
    scheduleFlush();
}

void ChatServer::completeBatch(const QList<PendingSend> &batch, const QList<MessageDraft> &drafts,
                               const AppendReport &report)
{
    if (!report.stored) {
        qCWarning(lcNatterServer).noquote()
            << "could not store" << batch.size() << "messages:" << report.errorString;
        for (const PendingSend &pending : batch) {
            if (!pending.origin)
                continue;
            if (report.full)
                pending.origin->sendError(ErrorCode::StorageFull,
                                          u"the server is out of disk space; the message was not stored"_s,
                                          Type::SendMessage, pending.message.clientId);
            else
                pending.origin->sendError(ErrorCode::InternalError,
                                          u"the message could not be stored; try again"_s, Type::SendMessage,
                                          pending.message.clientId);
        }
        settle(batch);
        return;
    }
    QSet<QString> cameOnline;                  // recipients of held messages who are online now
    QHash<QString, QList<qint64>> wentOffline; // recipients gone before their messages were stored
    const QList<StoredMessage> &stored = *report.stored;
    for (qsizetype i = 0; i < stored.size(); ++i) {
        const StoredMessage &result = stored.at(i);
        const QByteArray json = Codec::encodeServerFrame(ReceiveMessage{result.message});
        const QByteArray frame = Connection::wireFrame(json);
        if (result.duplicate) {
            // A resend: the original goes back to the one who resent it, nobody else.
            if (ClientSession *origin = batch.at(i).origin)
                origin->sendWireFrame(frame);
            continue;
        }
        const Message &message = result.message;
        bool toRecipient = true;
        if (message.isDirect() && message.to != message.from.email) {
            if (drafts.at(i).holdForRecipient)
                noteHeld(message.to); // committed into the held table
            const bool online = m_users.contains(message.to);
            if (drafts.at(i).holdForRecipient && online) {
                cameOnline.insert(message.to); // their sign-in looked for held messages before this one was
                toRecipient = false;
            } else if (drafts.at(i).holdForRecipient) {
                if (const auto count = m_heldCounts.find(message.to); count != m_heldCounts.end())
                    ++*count;
            } else if (!online && !m_remoteOnline.contains(message.to)) {
                // (Online on another natterd: it delivers, or holds it if they left there.)
                wentOffline[message.to].append(message.id);
            }
        }
        deliver(message, frame, toRecipient);
        publishMessage(message, json, drafts.at(i).holdForRecipient);
    }
    for (auto it = wentOffline.cbegin(); it != wentOffline.cend(); ++it) {
        noteHeld(it.key());
        if (!m_store->holdDirectMessages(it.key(), it.value()))
            qCWarning(lcNatterServer).noquote()
                << "cannot hold messages for" << it.key() << ":" << m_store->errorString();
        m_heldCounts.remove(it.key());
    }
    for (const QString &email : std::as_const(cameOnline))
        releaseHeld(email);
    m_transport->flushAll();
    settle(batch);
}

void ChatServer::settle(const QList<PendingSend> &sends)
{
    QList<QPointer<ClientSession>> ready;
    for (const PendingSend &pending : sends) {
        if (pending.origin && pending.origin->settleWrite() == 0 &&
            !pending.origin->framesWaitingForCommit().isEmpty())
            ready.append(pending.origin);
    }
    for (const QPointer<ClientSession> &session : std::as_const(ready)) {
        if (session)
            runFramesWaitingForCommit(session);
    }
}

void ChatServer::settle(ClientSession *session)
{
    if (session->settleWrite() == 0 && !session->framesWaitingForCommit().isEmpty())
        runFramesWaitingForCommit(session);
}

void ChatServer::changeStore(ClientSession *session, StoreJob job)
{
    if (!m_writer) {
        const auto answer = job(*m_store);
        answer(session);
        return;
    }
    session->addUncommittedWrite();
    m_writer->run([this, origin = QPointer<ClientSession>(session),
                   job = std::move(job)](MessageStore &store) -> StoreWriter::Completion {
        // On the writer's thread: only the job touches anything.
        return [this, origin, answer = job(store)] {
            ClientSession *session = origin.data();
            answer(session);
            if (session)
                settle(session);
        };
    });
}

qint64 ChatServer::lastChangeSeq() const
{
    return std::max(m_store->lastChangeSeq(), m_lastChangeSeq);
}

void ChatServer::releaseHeld(const QString &email)
{
    constexpr int Page = Protocol::DefaultHistoryLimit;
    qint64 afterId = 0;
    for (;;) {
        const auto user = m_users.constFind(email);
        if (user == m_users.cend())
            return;
        const std::optional<QList<Message>> held = readHeld(email, afterId, Page);
        if (!held)
            return;
        for (const Message &message : *held)
            sendToAll(user->sessions,
                      Connection::wireFrame(Codec::encodeServerFrame(ReceiveMessage{message})));
        releaseHeldOnes(email, *held);
        if (held->size() < Page)
            return;
        afterId = held->constLast().id;
    }
}

void ChatServer::deliver(const Message &message, const QByteArray &frame, bool toRecipient)
{
    if (!message.isDirect()) {
        const auto room = m_rooms.constFind(message.room);
        if (room != m_rooms.cend())
            sendToAll(room->sessions, frame);
        return;
    }
    const auto recipient = toRecipient ? m_users.constFind(message.to) : m_users.cend();
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
    // Asked while the budget is in debt for earlier pages, it waits (sendHistory() charges them).
    if (!takeRateToken(session, Type::History, {}, 0.0))
        return;
    HistoryQuery query;
    query.before = request.before;
    query.after = request.after;
    query.around = request.around;
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
    if (query.around) {
        // A page about a message of this conversation: it must be one.
        const std::optional<Message> message = readableMessage(session, *query.around, Type::History);
        if (!message)
            return;
        const ConversationId conversation = ConversationId::of(*message, session->user().email);
        if (conversation.room != query.room || conversation.userB != query.userB) {
            session->sendError(ErrorCode::NoSuchMessage,
                               u"message %1 is not in this conversation"_s.arg(*query.around), Type::History);
            return;
        }
    }
    sendHistory(session, query, Type::History);
}

void ChatServer::handle(ClientSession *session, const TypingRequest &typing)
{
    if (typing.isDirect()) {
        // To the other person's connections only; nothing if they are away.
        // (In a cluster they may be on another natterd.)
        const QString to = Validation::normalizedEmail(typing.to);
        const auto recipient = m_users.constFind(to);
        if ((recipient == m_users.cend() && !m_cluster) || to == session->user().email ||
            !takeRateToken(session, Type::Typing, {}))
            return;
        const TypingNotice notice{{}, session->user(), typing.active, to};
        if (recipient != m_users.cend())
            sendToAll(recipient->sessions, Connection::wireFrame(Codec::encodeServerFrame(notice)));
        publishTyping(notice);
        return;
    }
    if (!session->isInRoom(typing.room)) {
        session->sendError(ErrorCode::NotInRoom, u"you are not in room %1"_s.arg(typing.room), Type::Typing);
        return;
    }
    if (!takeRateToken(session, Type::Typing, {}))
        return;
    const TypingNotice notice{typing.room, session->user(), typing.active, {}};
    const QByteArray frame = Connection::wireFrame(Codec::encodeServerFrame(notice));
    publishTyping(notice);
    const QString &email = session->user().email;
    for (ClientSession *member : std::as_const(m_rooms[typing.room].sessions)) {
        if (member->user().email != email)
            member->sendWireFrame(frame);
    }
}

void ChatServer::handle(ClientSession *session, const ListRooms &list)
{
    if (!takeRateToken(session, Type::ListRooms, {}, directoryCost(list.offset)))
        return;
    readOffLoop(
        session, Type::ListRooms, [this, session, list, email = session->user().email](MessageStore &store) {
            const std::optional<QList<RoomEntry>> rooms = store.accounts()->listRooms(
                list.prefix.toLower(), email, list.offset, list.limit + 1, list.after);
            const bool timedOut = store.queryTimedOut();
            return std::function<void()>([this, session, list, rooms, timedOut] {
                if (!rooms) {
                    session->sendError(ErrorCode::InternalError,
                                       timedOut ? u"listing the rooms took too long; try again"_s
                                                : u"the rooms could not be listed"_s,
                                       Type::ListRooms);
                    return;
                }
                RoomList answer{list.prefix, list.offset, {}, rooms->size() > list.limit};
                for (const RoomEntry &entry : rooms->first(std::min<qsizetype>(rooms->size(), list.limit))) {
                    const auto room = m_rooms.constFind(entry.name);
                    const int online = room == m_rooms.cend() ? 0 : int(room->connectionsByUser.size());
                    answer.rooms.append(RoomSummary{entry.name, entry.isPrivate, online, entry.lastActivity});
                }
                if (answer.hasMore)
                    answer.next = answer.rooms.constLast().room;
                session->sendFrame(answer);
            });
        });
}

void ChatServer::handle(ClientSession *session, const ListPeople &list)
{
    if (!takeRateToken(session, Type::ListPeople, {}, directoryCost(list.offset)))
        return;
    readOffLoop(session, Type::ListPeople, [this, session, list](MessageStore &store) {
        const std::optional<QList<Account>> accounts =
            store.accounts()->findAccounts(list.prefix.trimmed(), list.offset, list.limit + 1, list.after);
        const bool timedOut = store.queryTimedOut();
        return std::function<void()>([this, session, list, accounts, timedOut] {
            if (!accounts) {
                session->sendError(ErrorCode::InternalError,
                                   timedOut ? u"listing the people took too long; try again"_s
                                            : u"the people could not be listed"_s,
                                   Type::ListPeople);
                return;
            }
            People answer{list.prefix, list.offset, {}, accounts->size() > list.limit};
            for (const Account &account :
                 accounts->first(std::min<qsizetype>(accounts->size(), list.limit))) {
                const auto online = m_users.constFind(account.email);
                // The name in use now, if they are here (it may have changed at sign-in).
                const User user = online != m_users.cend() ? online->user : User{account.name, account.email};
                answer.people.append(
                    Person{user, online != m_users.cend() || m_remoteOnline.contains(account.email)});
            }
            if (answer.hasMore)
                answer.next = answer.people.constLast().user.email;
            session->sendFrame(answer);
        });
    });
}

void ChatServer::handle(ClientSession *session, const WatchPresence &watch)
{
    // Up to MaxWatchedUsers account look-ups: it counts against the rate limit like a list.
    if (!takeRateToken(session, Type::WatchPresence, {}))
        return;
    // Replaces what this connection watched: at most MaxWatchedUsers (the codec's bound).
    for (const QString &email : session->watching()) {
        auto watchers = m_watchers.find(email);
        if (watchers != m_watchers.end() && (watchers->remove(session), watchers->isEmpty()))
            m_watchers.erase(watchers);
    }
    QSet<QString> watching;
    for (const QString &raw : watch.emails)
        watching.insert(Validation::normalizedEmail(raw));
    session->setWatching(watching);
    for (const QString &email : std::as_const(watching)) {
        m_watchers[email].insert(session);
        session->sendFrame(presenceOf(email));
    }
}

Presence ChatServer::presenceOf(const QString &email) const
{
    if (const auto online = m_users.constFind(email); online != m_users.cend())
        return Presence{online->user, true, true};
    if (const auto remote = m_remoteOnline.constFind(email);
        remote != m_remoteOnline.cend() && !remote->isEmpty())
        return Presence{User{remote->cbegin().value(), email}, true, true}; // on another natterd
    Account account;
    const AccountStore::Found found = m_store->accounts()->findAccount(email, &account);
    // A store failure reads as "known": nobody is told a real person does not exist.
    return Presence{User{account.name, email}, false, found != AccountStore::Found::No};
}

void ChatServer::announcePresence(const User &user, bool online)
{
    const auto watchers = m_watchers.constFind(user.email);
    if (watchers == m_watchers.cend())
        return;
    const QByteArray frame = Connection::wireFrame(Codec::encodeServerFrame(Presence{user, online, true}));
    for (ClientSession *watcher : *watchers)
        watcher->sendWireFrame(frame);
}

void ChatServer::shutdown()
{
    if (m_shuttingDown)
        return;
    m_shuttingDown = true;
    qCInfo(lcNatterServer) << "shutting down," << m_sessions.size() << "connections open";
    if (m_cluster) {
        // The others take this natterd's people offline now, not in clusterDeadAfter.
        publishPresence("bye " + m_instanceId);
        m_heartbeatTimer.stop();
    }
    m_transport->stopAccepting();
    flushPendingSends();
    handOverAccountWrites();
    if (m_writer)
        m_writer->waitForIdle();
    while (m_writer && m_writer->isBusy())
        m_writer->waitForIdle(); // its report hands over what is left, if anything
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
