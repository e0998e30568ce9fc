#include "server/connection.h"

#include "server/sendthreads.h"
#include "server/serverlogging.h"
#include "server/transport.h"

#include <QSslSocket>
#include <QTcpSocket>
#include <QWebSocket>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif

using namespace Qt::StringLiterals;

namespace Natter {

Connection::Connection(Transport *transport, QWebSocket *socket, QTcpSocket *tcp, qint64 nowMs)
    : QObject(transport)
    , m_transport(transport)
    , m_socket(socket)
    , m_tcp(tcp)
    , m_peer(socket->peerAddress().toString() + u':' + QString::number(socket->peerPort()))
    , m_address(socket->peerAddress().toString())
    , m_openedMs(nowMs)
    , m_lastHeardMs(nowMs)
    , m_writeDirectly(tcp && !qobject_cast<QSslSocket *>(tcp))
{
    socket->setParent(this);
    const ServerConfig &config = transport->m_config;
    m_inputBytes = TokenBucket(config.inputBytesPerSecond, config.inputBurstBytes, nowMs);
    m_inputFrames = TokenBucket(config.inputFramesPerSecond, config.inputFrameBurst, nowMs);
    connect(socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
        m_lastHeardMs = m_transport->nowMs();
        if (!m_dropping && admitInput(text.size()))
            Q_EMIT textReceived(text);
    });
    connect(socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &data) {
        m_lastHeardMs = m_transport->nowMs();
        if (!m_dropping && !m_overBudget)
            Q_EMIT binaryReceived(data);
    });
    connect(socket, &QWebSocket::pong, this, [this] { m_lastHeardMs = m_transport->nowMs(); });
    connect(socket, &QWebSocket::disconnected, this, [this] { m_transport->onClosed(this); });
    if (tcp) {
        // Qt answers pings by itself, straight to the TCP socket, past
        // sendWireFrame(): count those bytes too, after each read (this slot
        // runs after QWebSocket's), or a client that pings and never reads
        // grows the server's memory without bound.
        connect(tcp, &QIODevice::readyRead, this, [this] {
            if (m_dropping || !m_tcp)
                return;
            const qint64 queued = m_tcp->bytesToWrite() + m_pending.size();
            if (queued > m_transport->m_maxQueuedBytes)
                drop(u"it stopped reading (%1 bytes queued, answers to its pings)"_s.arg(queued));
        });
        connect(tcp, &QIODevice::bytesWritten, this, [this] {
            if (!m_dropping)
                Q_EMIT bytesWritten();
        });
    }
}

Connection::~Connection()
{
    if (m_flushQueued)
        m_transport->m_unflushed.removeOne(this);
    m_socket->disconnect(this);
    // QWebSocket does not own the TCP socket it was upgraded from (its parent
    // is the QTcpServer): without this, every closed connection's socket
    // would live as long as the server. The WebSocket goes first, as it uses
    // the TCP socket until its end.
    delete m_socket;
    delete m_tcp.data();
}

namespace {

/// An unmasked, unfragmented WebSocket frame: FIN and opcode, the length, the payload.
QByteArray serverFrame(char finAndOpcode, QByteArrayView payload)
{
    const quint64 length = quint64(payload.size());
    QByteArray frame;
    frame.reserve(payload.size() + 10);
    frame.append(finAndOpcode);
    if (length < 126) {
        frame.append(char(length));
    } else if (length <= 0xffff) {
        frame.append(char(126));
        frame.append(char(length >> 8));
        frame.append(char(length & 0xff));
    } else {
        frame.append(char(127));
        for (int shift = 56; shift >= 0; shift -= 8)
            frame.append(char((length >> shift) & 0xff));
    }
    frame.append(payload);
    return frame;
}

} // namespace

QByteArray Connection::wireFrame(const QByteArray &utf8)
{
    return serverFrame(char(0x81), utf8); // FIN, text
}

bool Connection::sendWireFrame(const QByteArray &frame)
{
    // Frames go to the TCP socket directly: QWebSocket::sendTextMessage()
    // would convert the text to UTF-8 and frame it again for every recipient
    // of a broadcast. QWebSocket still writes its own control frames (pong,
    // close) to the same socket, always whole frames, so nothing interleaves.
    if (m_dropping || !m_tcp || m_socket->state() != QAbstractSocket::ConnectedState)
        return false;
    m_pending += frame;
    if (!m_flushQueued) {
        m_flushQueued = true;
        m_transport->queueFlush(this);
    }
    const qint64 queued = m_tcp->bytesToWrite() + m_pending.size();
    if (queued > m_transport->m_maxQueuedBytes) {
        drop(u"it stopped reading (%1 bytes queued)"_s.arg(queued));
        return false;
    }
    return true;
}

bool Connection::sendBinary(QByteArrayView payload)
{
    return sendWireFrame(serverFrame(char(0x82), payload)); // FIN, binary
}

bool Connection::admitInput(qint64 bytes)
{
    // Every frame costs: parsing 64 KiB of tiny JSON tokens takes milliseconds
    // whether or not the request is then refused.
    if (m_overBudget)
        return false;
    const qint64 now = m_transport->nowMs();
    if (m_inputFrames.tryTake(now) && m_inputBytes.tryTake(now, double(bytes)) &&
        m_transport->admitAddressInput(m_address, bytes, now))
        return true;
    m_overBudget = true;
    qCInfo(lcNatterServer).noquote() << "closing" << m_peer << m_logName << "because it sends too much";
    close(QWebSocketProtocol::CloseCodePolicyViolated, u"too much input; slow down"_s);
    return false;
}

qint64 Connection::queuedBytes() const
{
    return (m_tcp ? m_tcp->bytesToWrite() : 0) + m_pending.size();
}

bool Connection::writePending()
{
    if (m_pending.isEmpty() || !m_tcp)
        return false;
    const QByteArray bytes = std::exchange(m_pending, {});
    SendThreads::Write direct{directDescriptor(), bytes};
    SendThreads::sendNow(direct);
    if (direct.sent == bytes.size())
        return true;
    m_tcp->write(direct.sent == 0 ? bytes : bytes.sliced(direct.sent));
    return false;
}

int Connection::directDescriptor() const
{
    // Straight to the kernel while Qt's buffer is empty (nearly always): the
    // socket's write buffer would otherwise keep a block of up to 32 KiB per
    // connection for as long as it is open, whether or not it is used again.
    // Only what the kernel does not take now waits in Qt's buffer, behind
    // which everything else then queues, so the order of frames holds.
    if (!m_writeDirectly || m_dropping || !m_tcp || m_tcp->bytesToWrite() > 0)
        return -1;
    return int(m_tcp->socketDescriptor());
}

void Connection::tookDirectly(qsizetype sent)
{
    if (sent <= 0)
        return;
    m_sentDirectly = true;
    if (sent == m_pending.size())
        m_pending.clear();
    else
        m_pending.remove(0, sent); // the rest is written by flush(), after it
}

void Connection::flush()
{
    m_flushQueued = false;
    if (m_dropping)
        return;
    // Qt's socket says when its buffer drained; what the kernel took directly
    // is said here (not from close(): nothing may be queued after the close frame).
    const bool sentBefore = std::exchange(m_sentDirectly, false);
    if (writePending() || (sentBefore && m_pending.isEmpty() && m_tcp && m_tcp->bytesToWrite() == 0))
        Q_EMIT bytesWritten();
    m_socket->flush();
}

void Connection::ping()
{
    m_socket->ping();
}

void Connection::close(QWebSocketProtocol::CloseCode code, const QString &reason)
{
    if (m_dropping)
        return;
    // What was said before the close goes before the close frame.
    writePending();
    m_socket->close(code, reason);
}

void Connection::drop(const QString &why)
{
    if (m_dropping)
        return;
    m_dropping = true;
    qCInfo(lcNatterServer).noquote() << "dropping" << m_peer << m_logName << "because" << why;
#ifdef Q_OS_UNIX
    // Reset, not FIN: closing a socket whose kernel buffer still holds
    // megabytes for a reader that does not read would leave them there
    // (FIN-WAIT-1) until the peer reads or TCP gives up, minutes later; and
    // the client would learn of the drop only after reading all of it.
    if (m_tcp && m_tcp->socketDescriptor() != -1) {
        const linger reset{1, 0};
        ::setsockopt(int(m_tcp->socketDescriptor()), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
#endif
    // Aborting emits disconnected() synchronously; defer it so that a
    // broadcast loop that made us drop keeps a valid list.
    QMetaObject::invokeMethod(m_socket, &QWebSocket::abort, Qt::QueuedConnection);
}

} // namespace Natter
