#pragma once

#include "server/ratelimiter.h"
#include "server/websocketframes.h"

#include <QObject>
#include <QPointer>
#include <QString>
#include <QWebSocketProtocol>

QT_BEGIN_NAMESPACE
class QSocketNotifier;
class QSslSocket;
class QTcpSocket;
class QWebSocket;
QT_END_NAMESPACE

namespace Natter {

class Transport;

/// One client's WebSocket as the Transport sees it: raw frames in and out,
/// output batched per pass of the event loop, closing and dropping. It knows
/// nothing of the chat protocol; the chat layer reads textReceived() and
/// writes frames made by wireFrame().
///
/// A plain connection is served on its descriptor alone once Qt has done the
/// WebSocket handshake: frames are read by WebSocketFrameReader and written
/// with send(), and no QTcpSocket or QWebSocket is kept (they cost several
/// KiB per connection, and text arrived as a QString the chat layer turned
/// back into UTF-8). Over TLS, Qt's QWebSocket on its QSslSocket serves it.
///
/// Owned by its Transport, which deletes it (deleteLater) once closed() was
/// emitted.
class Connection final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Connection)

public:
    /// Where the connection is in signing in; the Transport closes a
    /// connection that stays NotSignedIn longer than the hello timeout.
    enum class SignIn
    {
        NotSignedIn,
        Checking, ///< a hello is being checked (off the event loop): no deadline
        SignedIn,
    };

    ~Connection() override;

    /// "address:port", for logs.
    QString peer() const { return m_peer; }
    /// The peer's IP address, the key of per-address limits.
    QString address() const { return m_address; }

    SignIn signIn() const { return m_signIn; }
    void setSignIn(SignIn state) { m_signIn = state; }
    /// Who is signed in on it (an email), named in the transport's logs.
    void setLogName(const QString &name) { m_logName = name; }

    /// A complete, unmasked WebSocket text frame (header and payload) for one
    /// UTF-8 JSON frame: built once, it can be written to any number of clients.
    static QByteArray wireFrame(const QByteArray &utf8);

    /// Queues one frame made by wireFrame(); it is written with everything
    /// else queued in this pass of the event loop (one write(), over TLS one
    /// record). If the peer has stopped reading and more than the
    /// transport's maxQueuedBytes wait for it, the connection is dropped (on
    /// the next pass, so callers iterating connections stay valid) and false
    /// is returned.
    bool sendWireFrame(const QByteArray &frame);

    /// Queues a binary frame (a file transfer's chunk) like sendWireFrame().
    bool sendBinary(QByteArrayView payload);

    /// Bytes waiting to be written to the peer (this pass's frames and the socket's buffer).
    qint64 queuedBytes() const;

    /// Writes what is queued now, instead of waiting for the end of the pass.
    void flush();

    /// Sends what is queued, then a close frame; closed() follows when the peer answers.
    void close(QWebSocketProtocol::CloseCode code, const QString &reason);
    /// Drops the connection without a closing handshake (on the next pass of the event loop).
    void drop(const QString &why);
    bool isDropping() const { return m_dropping; }

Q_SIGNALS:
    /// A text frame: its UTF-8 bytes (checked valid), within the input budgets.
    void textReceived(const QByteArray &utf8);
    /// A binary frame arrived: a file transfer's chunk, or a mistake. Not
    /// charged to the input budgets: the chat layer accepts only the bytes of
    /// an upload it agreed to (its size announced and within the limits) and
    /// refuses anything else (counted as a refusal).
    void binaryReceived(const QByteArray &payload);
    /// Some of what was queued reached the kernel: room for more file chunks.
    void bytesWritten();
    /// The connection is gone; the Transport deletes it after this.
    void closed();

private:
    friend class Transport;
    /// Served by Qt (TLS, or a descriptor that could not be taken over).
    Connection(Transport *transport, QWebSocket *socket, QTcpSocket *tcp, qint64 nowMs);
    /// Served on descriptor (ours to close) from here on; early holds what was
    /// read past the handshake, read first.
    Connection(Transport *transport, int descriptor, const QString &address, quint16 port, QByteArray early,
               qint64 nowMs);
    void ping();
    /// close() with any code a peer may send (3000-4999 too), served on the descriptor.
    void closeDirect(quint16 code, const QString &reason);
    /// Appends a frame to this pass's output and schedules the flush.
    void queueFrame(const QByteArray &frame);

    // Served on the descriptor:
    void startReading(const QByteArray &early);
    void onReadable();
    void onWritable();
    /// Handles what the peer sent; false once nothing more is to be read.
    bool handleBytes(QByteArrayView bytes);
    bool handleMessage(WebSocketFrameReader::Message &&message);
    /// Closes the descriptor and says closed(); once.
    void finish();
    /// Any frames of this pass and what waits before them to the kernel; finishes once both closes are done.
    void sendNow();
    bool isDirect() const { return m_direct; }
    qint64 openedMs() const { return m_openedMs; }
    qint64 lastHeardMs() const { return m_lastHeardMs; }
    /// Charges a frame of bytes to the input budgets; beyond them, closes (1008) and says false.
    bool admitInput(qint64 bytes);
    /// Hands this pass's frames to the kernel (or, what it does not take, to the socket's buffer);
    /// true if the kernel took them all.
    bool writePending();
    /// The descriptor this pass's frames may be sent to directly, or -1
    /// (TLS, Qt's buffer not empty, dropping).
    int directDescriptor() const;
    /// The first sent bytes of this pass's frames were sent directly
    /// (Transport::flushAll(), on several threads); flush() writes the rest.
    void tookDirectly(qsizetype sent);
    QByteArrayView pendingBytes() const { return m_pending; }

    Transport *m_transport;
    QWebSocket *m_socket;
    QPointer<QTcpSocket> m_tcp;
    QString m_peer;
    QString m_address;
    QString m_logName;
    QByteArray m_pending; // frames of this pass, written by flush()
    qint64 m_openedMs;
    qint64 m_lastHeardMs;
    SignIn m_signIn = SignIn::NotSignedIn;
    TokenBucket m_inputBytes;
    TokenBucket m_inputFrames;
    bool m_writeDirectly;       ///< plain TCP: frames go to the kernel past Qt's buffer (not over TLS)
    QPointer<QSslSocket> m_tls; ///< the TCP socket, over TLS: its encrypted bytes wait too
    // Served on the descriptor:
    bool m_direct = false;
    int m_descriptor = -1; ///< -1 once closed
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr; ///< made when the kernel first leaves bytes unsent
    QByteArray m_unsent; ///< what the kernel did not take yet, sent before anything else
    WebSocketFrameReader m_reader;
    bool m_closeSent = false;     ///< our close frame is queued: nothing may follow it
    bool m_closeReceived = false; ///< the peer's close came: finish once ours is sent
    bool m_finished = false;
    bool m_dropping = false;
    bool m_flushQueued = false;
    bool m_sentDirectly = false; ///< tookDirectly() in this pass: flush() says bytesWritten()
    bool m_overBudget = false;   ///< closing for sending too much: what else comes is ignored
};

} // namespace Natter
