#include "server/redisbus.h"

#include "server/serverlogging.h"

#include <QMetaObject>
#include <QPointer>
#include <QSocketNotifier>
#include <QUrl>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <vector>

using namespace Qt::StringLiterals;

namespace Natter {

std::optional<RedisAddress> RedisAddress::parse(const QString &url, QString *error)
{
    const QUrl parsed(url, QUrl::StrictMode);
    if (!parsed.isValid() || parsed.scheme() != u"redis"_s || parsed.host().isEmpty() ||
        (!parsed.path().isEmpty() && parsed.path() != u"/"_s) || parsed.port(6379) <= 0) {
        // (The URL may hold a password: it is not repeated.)
        *error = u"give a Redis address as redis://[[USER]:PASSWORD@]HOST:PORT"_s;
        return std::nullopt;
    }
    return RedisAddress{parsed.host(), quint16(parsed.port(6379)), parsed.userName().toUtf8(),
                        parsed.password().toUtf8()};
}

namespace {

RedisReply flatten(const redisReply *reply)
{
    RedisReply flat;
    if (!reply)
        return flat; // the connection went before the answer came
    switch (reply->type) {
    case REDIS_REPLY_ERROR:
        flat.string = QByteArray(reply->str, qsizetype(reply->len));
        return flat;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        flat.string = QByteArray(reply->str, qsizetype(reply->len));
        break;
    case REDIS_REPLY_INTEGER:
        flat.integer = reply->integer;
        break;
    case REDIS_REPLY_ARRAY:
        for (size_t i = 0; i < reply->elements; ++i) {
            const redisReply *element = reply->element[i];
            if (element->type == REDIS_REPLY_STRING || element->type == REDIS_REPLY_STATUS)
                flat.array.append(QByteArray(element->str, qsizetype(element->len)));
            else if (element->type == REDIS_REPLY_INTEGER)
                flat.array.append(QByteArray::number(element->integer));
            else
                flat.array.append(QByteArray());
        }
        break;
    default: // nil
        break;
    }
    flat.ok = true;
    return flat;
}

} // namespace

/// One hiredis asynchronous connection on this thread's event loop. hiredis
/// asks for reading and writing through the ev hooks; two socket notifiers
/// on its descriptor answer them. Whatever it reports (connected, lost) reaches
/// the owner queued, outside hiredis's own calls, so that the owner may
/// delete this object then.
class RedisConnection final
{
    Q_DISABLE_COPY_MOVE(RedisConnection)

public:
    using ReplyHandler = std::function<void(const RedisReply &)>;

    RedisConnection(QObject *owner, std::function<void()> connected, std::function<void(QString)> lost)
        : m_owner(owner)
        , m_onConnected(std::move(connected))
        , m_onLost(std::move(lost))
    {}

    ~RedisConnection()
    {
        m_closing = true;
        if (m_context)
            redisAsyncFree(m_context); // answers the pending callbacks with no reply, then cleans up
    }

    bool open(const RedisAddress &address, QString *error)
    {
        m_user = address.user;
        m_password = address.password;
        m_context = redisAsyncConnect(address.host.toUtf8().constData(), address.port);
        if (!m_context) {
            *error = u"out of memory"_s;
            return false;
        }
        if (m_context->err) {
            *error = QString::fromUtf8(m_context->errstr);
            redisAsyncFree(m_context);
            m_context = nullptr;
            return false;
        }
        m_context->data = this;
        const int fd = m_context->c.fd;
        m_read = std::make_unique<QSocketNotifier>(fd, QSocketNotifier::Read);
        m_write = std::make_unique<QSocketNotifier>(fd, QSocketNotifier::Write);
        m_read->setEnabled(false);
        m_write->setEnabled(false);
        QObject::connect(m_read.get(), &QSocketNotifier::activated, m_owner, [this] {
            if (m_context)
                redisAsyncHandleRead(m_context);
        });
        QObject::connect(m_write.get(), &QSocketNotifier::activated, m_owner, [this] {
            if (m_context)
                redisAsyncHandleWrite(m_context);
        });
        m_context->ev.data = this;
        m_context->ev.addRead = [](void *self) {
            static_cast<RedisConnection *>(self)->m_read->setEnabled(true);
        };
        m_context->ev.delRead = [](void *self) {
            static_cast<RedisConnection *>(self)->m_read->setEnabled(false);
        };
        m_context->ev.addWrite = [](void *self) {
            static_cast<RedisConnection *>(self)->m_write->setEnabled(true);
        };
        m_context->ev.delWrite = [](void *self) {
            static_cast<RedisConnection *>(self)->m_write->setEnabled(false);
        };
        m_context->ev.cleanup = [](void *self) {
            auto *connection = static_cast<RedisConnection *>(self);
            connection->m_read->setEnabled(false);
            connection->m_write->setEnabled(false);
        };
        redisAsyncSetConnectCallback(m_context, [](const redisAsyncContext *context, int status) {
            auto *connection = static_cast<RedisConnection *>(context->data);
            if (status == REDIS_OK) {
                if (connection->m_password.isEmpty())
                    connection->opened();
                else
                    connection->authenticate();
                return;
            }
            // hiredis frees the context after this.
            const QString why = QString::fromUtf8(context->errstr);
            connection->m_context = nullptr;
            connection->reportLost(why);
        });
        redisAsyncSetDisconnectCallback(m_context, [](const redisAsyncContext *context, int status) {
            auto *connection = static_cast<RedisConnection *>(context->data);
            connection->m_context = nullptr; // freed by hiredis after this
            connection->m_connected = false;
            if (!connection->m_closing)
                connection->reportLost(status == REDIS_OK ? u"closed"_s : QString::fromUtf8(context->errstr));
        });
        return true;
    }

    bool isConnected() const { return m_context && m_connected; }

    /// AUTH [USER] PASSWORD first: the connection is usable once Redis accepts it.
    void authenticate()
    {
        QList<QByteArray> arguments{"AUTH"_ba};
        if (!m_user.isEmpty())
            arguments.append(m_user);
        arguments.append(m_password);
        send(
            arguments,
            [](redisAsyncContext *context, void *reply, void *) {
                auto *connection = static_cast<RedisConnection *>(context->data);
                if (!reply || connection->m_closing)
                    return; // gone: the disconnect callback reports it
                const RedisReply answer = flatten(static_cast<redisReply *>(reply));
                if (answer.ok) {
                    connection->opened();
                    return;
                }
                connection->reportLost(u"Redis refused natterd's credentials: %1"_s.arg(
                    QString::fromUtf8(answer.string.left(200))));
                connection->m_closing = true; // reported: the disconnect is not news
                redisAsyncDisconnect(context);
            },
            nullptr);
    }

    void opened()
    {
        m_connected = true;
        report(m_onConnected);
    }

    /// Sends a command; handler (if any) gets its reply, or ok false if the
    /// connection goes first.
    bool command(const QList<QByteArray> &arguments, ReplyHandler handler)
    {
        if (!isConnected())
            return false;
        auto *kept = handler ? new ReplyHandler(std::move(handler)) : nullptr;
        const int sent = send(
            arguments,
            [](redisAsyncContext *context, void *reply, void *privdata) {
                auto *handler = static_cast<ReplyHandler *>(privdata);
                auto *connection = static_cast<RedisConnection *>(context->data);
                if (handler && !connection->m_closing)
                    (*handler)(flatten(static_cast<redisReply *>(reply)));
                delete handler;
            },
            kept);
        if (sent != REDIS_OK) {
            delete kept;
            return false;
        }
        return true;
    }

    /// SUBSCRIBE or UNSUBSCRIBE: every reply to it, and every message on its
    /// channels later, goes to onPush (hiredis keeps calling one callback).
    bool subscription(const QList<QByteArray> &arguments, ReplyHandler *onPush)
    {
        if (!isConnected())
            return false;
        return send(
                   arguments,
                   [](redisAsyncContext *context, void *reply, void *privdata) {
                       auto *connection = static_cast<RedisConnection *>(context->data);
                       if (reply && !connection->m_closing)
                           (*static_cast<ReplyHandler *>(privdata))(
                               flatten(static_cast<redisReply *>(reply)));
                   },
                   onPush) == REDIS_OK;
    }

private:
    int send(const QList<QByteArray> &arguments, redisCallbackFn *callback, void *privdata)
    {
        std::vector<const char *> argv;
        std::vector<size_t> lengths;
        for (const QByteArray &argument : arguments) {
            argv.push_back(argument.constData());
            lengths.push_back(size_t(argument.size()));
        }
        return redisAsyncCommandArgv(m_context, callback, privdata, int(argv.size()), argv.data(),
                                     lengths.data());
    }

    void report(const std::function<void()> &what)
    {
        QMetaObject::invokeMethod(m_owner, what, Qt::QueuedConnection);
    }
    void reportLost(const QString &why)
    {
        m_connected = false;
        QMetaObject::invokeMethod(
            m_owner, [lost = m_onLost, why] { lost(why); }, Qt::QueuedConnection);
    }

    QObject *m_owner;
    std::function<void()> m_onConnected;
    std::function<void(QString)> m_onLost;
    redisAsyncContext *m_context = nullptr;
    std::unique_ptr<QSocketNotifier> m_read;
    std::unique_ptr<QSocketNotifier> m_write;
    bool m_connected = false;
    bool m_closing = false;
    QByteArray m_user;
    QByteArray m_password;
};

RedisBus::RedisBus(RedisAddress address, QObject *parent)
    : QObject(parent)
    , m_address(std::move(address))
{
    m_retry.setSingleShot(true);
    connect(&m_retry, &QTimer::timeout, this, &RedisBus::connectBoth);
}

RedisBus::~RedisBus()
{
    m_subscriber.reset();
    m_commands.reset();
}

void RedisBus::start()
{
    if (m_started)
        return;
    m_started = true;
    connectBoth();
}

void RedisBus::connectBoth()
{
    m_subscriber.reset();
    m_commands.reset();
    m_subscribed.clear();
    m_subscriberReady = false;
    // A report that comes late, from connections replaced since, is ignored.
    const quint64 generation = ++m_generation;
    const auto connected = [this, generation] {
        if (generation == m_generation)
            updateConnected();
    };
    const auto lost = [this, generation](const QString &why) {
        if (generation == m_generation)
            onConnectionLost(why);
    };
    m_commands = std::make_unique<RedisConnection>(this, connected, lost);
    m_subscriber = std::make_unique<RedisConnection>(
        this,
        [this, generation] {
            if (generation != m_generation)
                return;
            // Subscribe to everything wanted, anew on every connection: linked
            // once Redis has confirmed them all.
            m_subscriberReady = true;
            m_awaiting = m_channels;
            sendSubscribe(QList<QByteArray>(m_channels.cbegin(), m_channels.cend()), true);
            updateConnected();
        },
        lost);
    QString error;
    if (!m_commands->open(m_address, &error) || !m_subscriber->open(m_address, &error))
        onConnectionLost(error);
}

void RedisBus::onConnectionLost(const QString &why)
{
    if (m_retry.isActive())
        return; // both are being made again already
    qCWarning(lcNatterServer).noquote() << "Redis at" << m_address.host << m_address.port
                                        << "unreachable:" << why << "- trying again in" << m_retryMs << "ms";
    m_subscriber.reset();
    m_commands.reset();
    m_subscribed.clear();
    m_subscriberReady = false;
    ++m_generation;
    m_retry.start(m_retryMs);
    m_retryMs = std::clamp(m_retryMs * 2, 100, 5000);
    updateConnected();
}

void RedisBus::updateConnected()
{
    const bool connected = m_commands && m_commands->isConnected() && m_subscriber &&
                           m_subscriber->isConnected() && m_subscriberReady && m_awaiting.isEmpty();
    if (connected == m_connected)
        return;
    m_connected = connected;
    if (connected) {
        m_retryMs = 0;
        qCInfo(lcNatterServer).noquote() << "connected to Redis at" << m_address.host << m_address.port;
    }
    Q_EMIT connectedChanged(connected);
}

void RedisBus::subscribe(const QByteArray &channel)
{
    if (m_channels.contains(channel))
        return;
    m_channels.insert(channel);
    if (m_subscribeDelay.count() > 0) {
        QTimer::singleShot(m_subscribeDelay, this, [this, channel] {
            if (m_channels.contains(channel) && !m_subscribed.contains(channel))
                sendSubscribe({channel}, true);
        });
        return;
    }
    sendSubscribe({channel}, true);
}

void RedisBus::unsubscribe(const QByteArray &channel)
{
    if (!m_channels.remove(channel))
        return;
    m_awaiting.remove(channel);
    sendSubscribe({channel}, false);
}

void RedisBus::sendSubscribe(const QList<QByteArray> &channels, bool on)
{
    if (channels.isEmpty() || !m_subscriber)
        return;
    if (!m_pushHandler)
        m_pushHandler = std::make_unique<std::function<void(const RedisReply &)>>(
            [this](const RedisReply &reply) { onSubscriberReply(reply); });
    QList<QByteArray> arguments{on ? "SUBSCRIBE"_ba : "UNSUBSCRIBE"_ba};
    arguments.append(channels);
    m_subscriber->subscription(arguments, m_pushHandler.get());
}

void RedisBus::onSubscriberReply(const RedisReply &reply)
{
    if (!reply.ok || reply.array.size() < 3)
        return;
    const QByteArray &kind = reply.array.at(0);
    if (kind == "message") {
        Q_EMIT messageReceived(reply.array.at(1), reply.array.at(2));
    } else if (kind == "subscribe") {
        m_subscribed.insert(reply.array.at(1));
        m_awaiting.remove(reply.array.at(1));
        Q_EMIT subscribed(reply.array.at(1));
        updateConnected();
    } else if (kind == "unsubscribe") {
        m_subscribed.remove(reply.array.at(1));
    }
}

bool RedisBus::publish(const QByteArray &channel, const QByteArray &payload)
{
    return m_commands && m_commands->command({"PUBLISH"_ba, channel, payload}, {});
}

bool RedisBus::command(const QList<QByteArray> &arguments, std::function<void(const RedisReply &)> done)
{
    return m_commands && m_commands->command(arguments, std::move(done));
}

} // namespace Natter
