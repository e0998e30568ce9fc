#pragma once

#include "codec.h"
#include "user.h"

#include <QObject>
#include <QSet>
#include <QWebSocketProtocol>

#include <QPointer>

#include <QTcpSocket>
#include <functional>

QT_BEGIN_NAMESPACE
class QWebSocket;
QT_END_NAMESPACE

namespace Natter {

/// One client connection: its socket, who it is once it said hello, the rooms
/// it joined and when it was last heard from. Owned by the ChatServer, which
/// deletes it (deleteLater) when the socket disconnects.
class ClientSession final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ClientSession)

public:
    /// Takes ownership of socket; tcp is the connection under it, which
    /// outgoing frames are written to directly (see sendWireFrame()).
    /// Sessions with output waiting add themselves to *unflushed and call
    /// flushWanted(); the owner then calls flushOutput() on them once per pass
    /// of the event loop, so each peer gets one write() for all its frames.
    ClientSession(QWebSocket *socket, QTcpSocket *tcp, qint64 maxQueuedBytes, qint64 nowMs,
                  QList<ClientSession *> *unflushed, std::function<void()> flushWanted,
                  QObject *parent = nullptr);
    ~ClientSession() override;

    QWebSocket *socket() const { return m_socket; }
    QString peer() const { return m_peer; }
    /// The peer's IP address, the key of per-address limits.
    QString address() const { return m_address; }

    bool isAuthenticated() const { return !m_user.email.isEmpty(); }
    const User &user() const { return m_user; }
    /// Signed in as user with the device token tokenId.
    void setUser(const User &user, qint64 tokenId)
    {
        m_user = user;
        m_tokenId = tokenId;
        m_authenticating = false;
    }
    void setUserName(const QString &name) { m_user.name = name; }
    qint64 tokenId() const { return m_tokenId; }

    /// A hello is being checked (off the event loop); frames that arrive
    /// meanwhile wait in the session and are handled after welcome.
    bool isAuthenticating() const { return m_authenticating; }
    void setAuthenticating(bool authenticating) { m_authenticating = authenticating; }
    QList<QString> &framesWaitingForSignIn() { return m_waitingFrames; }
    qint64 openedMs() const { return m_openedMs; }

    const QSet<QString> &rooms() const { return m_rooms; }
    bool isInRoom(const QString &room) const { return m_rooms.contains(room); }
    void addRoom(const QString &room) { m_rooms.insert(room); }
    void removeRoom(const QString &room) { m_rooms.remove(room); }

    /// A complete, unmasked WebSocket text frame (header and payload) for one
    /// UTF-8 JSON frame: built once, it can be written to any number of clients.
    static QByteArray wireFrame(const QByteArray &utf8);

    /// Queues one frame made by wireFrame(). If the peer has stopped reading
    /// and more than maxQueuedBytes wait for it, the connection is dropped (on
    /// the next pass of the event loop, so callers iterating sessions stay
    /// valid) and false is returned.
    ///
    /// Frames go to the TCP socket directly: QWebSocket::sendTextMessage()
    /// would convert the text to UTF-8 and frame it again for every recipient
    /// of a broadcast. QWebSocket still writes its own control frames (pong,
    /// close) to the same socket, always whole frames, so nothing interleaves.
    bool sendWireFrame(const QByteArray &frame);
    bool sendFrame(const Codec::ServerFrame &frame);
    bool sendError(Protocol::ErrorCode code, const QString &message, const QString &request = {},
                   const QString &clientId = {}, const QString &room = {});

    /// Writes what is queued now, instead of waiting for the socket to report it is writable.
    void flushOutput();

    void noteActivity(qint64 nowMs) { m_lastHeardMs = nowMs; }
    qint64 lastHeardMs() const { return m_lastHeardMs; }

    void close(QWebSocketProtocol::CloseCode code, const QString &reason);
    /// Drops the connection at once, without a closing handshake.
    void drop(const QString &why);
    bool isDropping() const { return m_dropping; }

private:
    QWebSocket *m_socket;
    QPointer<QTcpSocket> m_tcp;
    QString m_peer;
    QString m_address;
    qint64 m_maxQueuedBytes;
    qint64 m_openedMs;
    qint64 m_tokenId = 0;
    bool m_authenticating = false;
    QList<QString> m_waitingFrames;
    QByteArray m_pending; // frames of this pass, written by flushOutput()
    qint64 m_lastHeardMs;
    QList<ClientSession *> *m_unflushed;
    std::function<void()> m_flushWanted;
    User m_user;
    QSet<QString> m_rooms;
    bool m_dropping = false;
    bool m_flushQueued = false;
};

} // namespace Natter
