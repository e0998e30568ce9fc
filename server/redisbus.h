#pragma once

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QSet>
#include <QString>
#include <QTimer>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace Natter {

/// Where a Redis server is and who natterd is to it:
/// redis://[[USER]:PASSWORD@]HOST[:PORT] (natterd --redis).
struct RedisAddress
{
    QString host;
    quint16 port = 6379;
    QByteArray user;     ///< an ACL user (Redis 6+); empty: the default user
    QByteArray password; ///< sent with AUTH as each connection opens; empty: none
    /// nullopt and *error if url is not redis://[[USER]:PASSWORD@]HOST[:PORT].
    static std::optional<RedisAddress> parse(const QString &url, QString *error);
};

/// One reply of Redis to a command, flattened: what natterd needs of it.
struct RedisReply
{
    bool ok = false;         ///< false: an error reply, or no reply (the connection went)
    QByteArray string;       ///< a string or status reply; an error reply's text
    qint64 integer = 0;      ///< an integer reply
    QList<QByteArray> array; ///< the strings of an array reply
};

class RedisConnection;

/// natterd's link to the other natterd of a cluster: Redis pub/sub (and a
/// few plain commands) through hiredis's asynchronous API, driven by this
/// thread's event loop through socket notifiers: no thread of its own, no
/// blocking call. Two connections, as Redis wants: one subscribed, one for
/// everything else.
///
/// When Redis goes away both connections are made again, at most every
/// 100 ms doubling to 5 s; subscriptions are restored, and connectedChanged()
/// tells the server to resynchronise what it keeps in Redis. Meanwhile
/// publish() refuses (nothing is queued without bound).
class RedisBus final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RedisBus)

public:
    explicit RedisBus(RedisAddress address, QObject *parent = nullptr);
    ~RedisBus() override;

    /// Starts connecting (and keeps doing so whenever the link is lost).
    void start();
    /// Both connections up and every subscription confirmed.
    bool isConnected() const { return m_connected; }
    const RedisAddress &address() const { return m_address; }

    /// Receives what is published to channel from now on (and after every reconnect).
    void subscribe(const QByteArray &channel);
    void unsubscribe(const QByteArray &channel);
    /// Sends each new subscription this much later, as a slow Redis would
    /// confirm it: tests of what may happen meanwhile only.
    void setSubscribeDelayForTesting(std::chrono::milliseconds delay) { m_subscribeDelay = delay; }
    QSet<QByteArray> subscriptions() const { return m_channels; }
    /// Redis confirmed the subscription to channel on the current connection.
    bool isSubscribed(const QByteArray &channel) const { return m_subscribed.contains(channel); }

    /// Publishes payload (any bytes) to channel; false if Redis is not
    /// reachable now (then it is dropped).
    bool publish(const QByteArray &channel, const QByteArray &payload);
    /// Runs a command (arguments as bytes); done, if given, gets its reply on
    /// the event loop (ok false if the connection went first). False if Redis
    /// is not reachable now (done is not called).
    bool command(const QList<QByteArray> &arguments, std::function<void(const RedisReply &)> done = {});

Q_SIGNALS:
    /// A message published to a subscribed channel (by anyone, this natterd too).
    void messageReceived(const QByteArray &channel, const QByteArray &payload);
    void connectedChanged(bool connected);
    /// Redis confirmed a subscription: what is published to channel from now on arrives.
    void subscribed(const QByteArray &channel);

private:
    void connectBoth();
    void onConnectionLost(const QString &why);
    void onSubscriberReply(const RedisReply &reply);
    void updateConnected();
    void sendSubscribe(const QList<QByteArray> &channels, bool on);

    RedisAddress m_address;
    std::unique_ptr<RedisConnection> m_commands;
    std::unique_ptr<RedisConnection> m_subscriber;
    QSet<QByteArray> m_channels;   // wanted
    QSet<QByteArray> m_subscribed; // confirmed by Redis on this connection
    QSet<QByteArray> m_awaiting;   // wanted when this connection was made, not confirmed yet
    // What hiredis calls for every reply and message of the subscriber connection.
    std::unique_ptr<std::function<void(const RedisReply &)>> m_pushHandler;
    quint64 m_generation = 0; // of the connections: reports of replaced ones are ignored
    bool m_connected = false;
    bool m_subscriberReady = false; // its subscriptions were sent on this connection
    bool m_started = false;
    QTimer m_retry;
    int m_retryMs = 0;
    std::chrono::milliseconds m_subscribeDelay{0};
};

} // namespace Natter
