#pragma once

#include "common/codec.h"
#include "common/user.h"
#include "server/connection.h"

#include <QObject>
#include <QSet>

namespace Natter {

/// The chat state of one connection: who it is once it said hello, the rooms
/// it joined, the frames that wait while its hello is checked. The bytes go
/// through its Connection (owned by the Transport); the ChatServer owns the
/// session and deletes it when the connection closes.
class ClientSession final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ClientSession)

public:
    explicit ClientSession(Connection *connection, QObject *parent = nullptr);
    ~ClientSession() override;

    Connection *connection() const { return m_connection; }
    QString peer() const { return m_connection->peer(); }
    /// The peer's IP address, the key of per-address limits.
    QString address() const { return m_connection->address(); }

    bool isAuthenticated() const { return !m_user.email.isEmpty(); }
    const User &user() const { return m_user; }
    /// Signed in as user with the device token tokenId.
    void setUser(const User &user, qint64 tokenId);
    void setUserName(const QString &name) { m_user.name = name; }
    qint64 tokenId() const { return m_tokenId; }

    /// A hello is being checked (off the event loop); frames that arrive
    /// meanwhile wait in the session and are handled after welcome.
    bool isAuthenticating() const { return m_connection->signIn() == Connection::SignIn::Checking; }
    void setAuthenticating(bool authenticating);
    QList<QByteArray> &framesWaitingForSignIn() { return m_waitingFrames; }

    /// This connection's messages accepted and changes asked for, not yet
    /// committed (or refused).
    int uncommittedWrites() const { return m_uncommittedWrites; }
    void addUncommittedWrite() { ++m_uncommittedWrites; }
    /// Returns how many are left.
    int settleWrite() { return --m_uncommittedWrites; }
    /// Frames that wait for this connection's writes to be committed
    /// (what reads the store must see them), and every frame after them, in order.
    QList<Codec::ClientFrame> &framesWaitingForCommit() { return m_framesWaitingForCommit; }
    /// A read of this connection's runs off the event loop: its next frames wait for the answer.
    bool isReading() const { return m_reading; }
    void setReading(bool reading) { m_reading = reading; }

    const QSet<QString> &rooms() const { return m_rooms; }
    bool isInRoom(const QString &room) const { return m_rooms.contains(room); }
    void addRoom(const QString &room) { m_rooms.insert(room); }
    void removeRoom(const QString &room) { m_rooms.remove(room); }

    /// The emails whose presence this connection watches (watch_presence).
    const QSet<QString> &watching() const { return m_watching; }
    void setWatching(const QSet<QString> &emails) { m_watching = emails; }

    /// The ranked results of this connection's latest search, which its
    /// cursors page through: pages never repeat or skip a result, whatever
    /// is said meanwhile. One per connection (a new search replaces it).
    struct SavedSearch
    {
        quint64 number = 0; ///< 0: none
        Protocol::SearchRequest request;
        QList<qint64> ids;
    };
    SavedSearch &savedSearch() { return m_search; }

    /// See Connection::sendWireFrame().
    bool sendWireFrame(const QByteArray &frame) { return m_connection->sendWireFrame(frame); }
    bool sendFrame(const Codec::ServerFrame &frame);
    /// Answers a request with an error frame. Refusals the client caused
    /// (all but internal_error) count against its refusal budget; beyond it
    /// the connection is closed (1008) and false returned.
    bool sendError(Protocol::ErrorCode code, const QString &message, const QString &request = {},
                   const QString &clientId = {}, const QString &room = {});
    bool sendError(const Protocol::Error &error);
    void setRefusalBudget(double perSecond, double burst);

    void close(QWebSocketProtocol::CloseCode code, const QString &reason)
    {
        m_connection->close(code, reason);
    }
    void drop(const QString &why) { m_connection->drop(why); }
    bool isDropping() const { return m_connection->isDropping(); }
    qint64 queuedBytes() const { return m_connection->queuedBytes(); }

private:
    Connection *m_connection;
    qint64 m_tokenId = 0;
    TokenBucket m_refusals;
    bool m_closingForRefusals = false;
    QList<QByteArray> m_waitingFrames;
    QList<Codec::ClientFrame> m_framesWaitingForCommit;
    bool m_reading = false;
    int m_uncommittedWrites = 0;
    User m_user;
    QSet<QString> m_rooms;
    QSet<QString> m_watching;
    SavedSearch m_search;
};

} // namespace Natter
