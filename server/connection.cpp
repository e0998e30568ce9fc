#include "server/connection.h"

#include "server/listener.h"
#include "server/sendthreads.h"
#include "server/serverlogging.h"
#include "server/transport.h"

#include <QSocketNotifier>
#include <QSslSocket>
#include <QTcpSocket>
#include <QWebSocket>

#include <cerrno>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#include <unistd.h>
#endif

using namespace Qt::StringLiterals;

namespace Natter {

using WebSocketFrames::Opcode;

Connection::Connection(Transport *transport, QWebSocket *socket, QTcpSocket *tcp, qint64 nowMs)
    : QObject(transport)
    , m_transport(transport)
    , m_socket(socket)
    , m_tcp(tcp)
    , m_peer(tcp ? Listener::clientAddress(tcp) + u':' + QString::number(Listener::clientPort(tcp))
                 : socket->peerAddress().toString() + u':' + QString::number(socket->peerPort()))
    , m_address(tcp ? Listener::clientAddress(tcp) : socket->peerAddress().toString())
    , m_openedMs(nowMs)
    , m_lastHeardMs(nowMs)
    , m_writeDirectly(tcp && !qobject_cast<QSslSocket *>(tcp))
    , m_tls(qobject_cast<QSslSocket *>(tcp))
    , m_reader(transport->m_maxFrameBytes)
{
    socket->setParent(this);
    const ServerConfig &config = transport->m_config;
    m_inputBytes = TokenBucket(config.inputBytesPerSecond, config.inputBurstBytes, nowMs);
    m_inputFrames = TokenBucket(config.inputFramesPerSecond, config.inputFrameBurst, nowMs);
    connect(socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
        m_lastHeardMs = m_transport->nowMs();
        if (m_dropping)
            return;
        // Charged by its bytes on the wire, as on the plain path.
        QByteArray utf8 = text.toUtf8();
        if (admitInput(utf8.size()))
            Q_EMIT textReceived(utf8);
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
            const qint64 queued = queuedBytes();
            if (queued > m_transport->m_maxQueuedBytes)
                drop(u"it stopped reading (%1 bytes queued, answers to its pings)"_s.arg(queued));
        });
        connect(tcp, &QIODevice::bytesWritten, this, [this] {
            if (!m_dropping)
                Q_EMIT bytesWritten();
        });
    }
}

Connection::Connection(Transport *transport, int descriptor, const QString &address, quint16 port,
                       QByteArray early, qint64 nowMs)
    : QObject(transport)
    , m_transport(transport)
    , m_socket(nullptr)
    , m_peer(address + u':' + QString::number(port))
    , m_address(address)
    , m_openedMs(nowMs)
    , m_lastHeardMs(nowMs)
    , m_writeDirectly(true)
    , m_direct(true)
    , m_descriptor(descriptor)
    , m_reader(transport->m_maxFrameBytes)
{
    const ServerConfig &config = transport->m_config;
    m_inputBytes = TokenBucket(config.inputBytesPerSecond, config.inputBurstBytes, nowMs);
    m_inputFrames = TokenBucket(config.inputFramesPerSecond, config.inputFrameBurst, nowMs);
    m_readNotifier = new QSocketNotifier(qintptr(descriptor), QSocketNotifier::Read, this);
    m_readNotifier->setEnabled(false);
    connect(m_readNotifier, &QSocketNotifier::activated, this, &Connection::onReadable);
    // From the next pass on: the chat layer connects to the signals first.
    QMetaObject::invokeMethod(
        this, [this, early = std::move(early)] { startReading(early); }, Qt::QueuedConnection);
}

Connection::~Connection()
{
    if (m_flushQueued)
        m_transport->m_unflushed.removeOne(this);
    if (isDirect()) {
        delete m_readNotifier;
        delete m_writeNotifier;
#ifdef Q_OS_UNIX
        if (m_descriptor != -1)
            ::close(m_descriptor);
#endif
        return;
    }
    m_socket->disconnect(this);
    // QWebSocket does not own the TCP socket it was upgraded from (its parent
    // is the QTcpServer): without this, every closed connection's socket
    // would live as long as the server. The WebSocket goes first, as it uses
    // the TCP socket until its end.
    delete m_socket;
    delete m_tcp.data();
}

QByteArray Connection::wireFrame(const QByteArray &utf8)
{
    return WebSocketFrames::serverFrame(Opcode::Text, utf8);
}

bool Connection::sendWireFrame(const QByteArray &frame)
{
    // Frames go to the TCP socket directly: QWebSocket::sendTextMessage()
    // would convert the text to UTF-8 and frame it again for every recipient
    // of a broadcast. Served by Qt, QWebSocket still writes its own control
    // frames (pong, close) to the same socket, always whole frames, so
    // nothing interleaves.
    if (m_dropping || m_finished || m_closeSent)
        return false;
    if (!isDirect() && (!m_tcp || m_socket->state() != QAbstractSocket::ConnectedState))
        return false;
    queueFrame(frame);
    const qint64 queued = queuedBytes();
    if (queued > m_transport->m_maxQueuedBytes) {
        drop(u"it stopped reading (%1 bytes queued)"_s.arg(queued));
        return false;
    }
    return true;
}

void Connection::queueFrame(const QByteArray &frame)
{
    m_pending += frame;
    if (!m_flushQueued) {
        m_flushQueued = true;
        m_transport->queueFlush(this);
    }
}

bool Connection::sendBinary(QByteArrayView payload)
{
    return sendWireFrame(WebSocketFrames::serverFrame(Opcode::Binary, payload));
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
    if (isDirect())
        return m_unsent.size() + m_pending.size();
    if (!m_tcp)
        return m_pending.size();
    qint64 queued = m_tcp->bytesToWrite() + m_pending.size();
    // Over TLS what is written is encrypted at once into the socket's own
    // buffer, which bytesToWrite() does not count (it counts only what waits
    // to be encrypted): without it, a peer that never reads grew natterd's
    // memory without bound on wss.
    if (m_tls)
        queued += m_tls->encryptedBytesToWrite();
    return queued;
}

bool Connection::writePending()
{
    if (m_pending.isEmpty() || m_finished || (!isDirect() && !m_tcp))
        return false;
    const QByteArray bytes = std::exchange(m_pending, {});
    SendThreads::Write direct{directDescriptor(), bytes};
    SendThreads::sendNow(direct);
    if (direct.sent == bytes.size())
        return true;
    const QByteArrayView rest = QByteArrayView(bytes).sliced(direct.sent);
    if (isDirect()) {
        m_unsent += rest;
        if (!m_writeNotifier) {
            m_writeNotifier = new QSocketNotifier(qintptr(m_descriptor), QSocketNotifier::Write, this);
            connect(m_writeNotifier, &QSocketNotifier::activated, this, &Connection::onWritable);
        }
        m_writeNotifier->setEnabled(true);
    } else {
        m_tcp->write(direct.sent == 0 ? bytes : rest.toByteArray());
    }
    return false;
}

int Connection::directDescriptor() const
{
    // Straight to the kernel while nothing waits before it (nearly always).
    // Served by Qt, the socket's write buffer would otherwise keep a block of
    // up to 32 KiB per connection for as long as it is open, whether or not
    // it is used again. What the kernel does not take now waits (in m_unsent
    // or Qt's buffer), and everything else queues behind it, so the order of
    // frames holds.
    if (m_dropping || m_finished)
        return -1;
    if (isDirect())
        return m_unsent.isEmpty() ? m_descriptor : -1;
    if (!m_writeDirectly || !m_tcp || m_tcp->bytesToWrite() > 0)
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
    if (m_dropping || m_finished)
        return;
    // Qt's socket (or onWritable()) says when its buffer drained; what the
    // kernel took directly is said here (not from close(): nothing may be
    // queued after the close frame).
    const bool sentBefore = std::exchange(m_sentDirectly, false);
    const bool drained = m_pending.isEmpty() && queuedBytes() == 0;
    if (writePending() || (sentBefore && drained))
        Q_EMIT bytesWritten();
    if (isDirect()) {
        if (m_closeSent && m_closeReceived && queuedBytes() == 0)
            finish();
        return;
    }
    m_socket->flush();
}

void Connection::sendNow()
{
    writePending();
    if (m_closeSent && m_closeReceived && queuedBytes() == 0)
        finish();
}

void Connection::ping()
{
    if (!isDirect()) {
        m_socket->ping();
        return;
    }
    if (!m_dropping && !m_finished && !m_closeSent)
        queueFrame(WebSocketFrames::serverFrame(Opcode::Ping, {}));
}

void Connection::close(QWebSocketProtocol::CloseCode code, const QString &reason)
{
    if (m_dropping || m_finished)
        return;
    if (!isDirect()) {
        // What was said before the close goes before the close frame.
        writePending();
        m_socket->close(code, reason);
        return;
    }
    closeDirect(quint16(code), reason);
}

void Connection::closeDirect(quint16 code, const QString &reason)
{
    if (m_closeSent || m_dropping || m_finished)
        return;
    // The peer answers with its close; then (or at once, if it closed first) the descriptor is closed.
    m_closeSent = true;
    queueFrame(WebSocketFrames::closeFrame(code, reason));
    sendNow();
}

void Connection::drop(const QString &why)
{
    if (m_dropping || m_finished)
        return;
    m_dropping = true;
    qCInfo(lcNatterServer).noquote() << "dropping" << m_peer << m_logName << "because" << why;
#ifdef Q_OS_UNIX
    // Reset, not FIN: closing a socket whose kernel buffer still holds
    // megabytes for a reader that does not read would leave them there
    // (FIN-WAIT-1) until the peer reads or TCP gives up, minutes later; and
    // the client would learn of the drop only after reading all of it.
    const int descriptor = isDirect() ? m_descriptor : (m_tcp ? int(m_tcp->socketDescriptor()) : -1);
    if (descriptor != -1) {
        const linger reset{1, 0};
        ::setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
#endif
    // Closing says closed() at once; defer it so that a broadcast loop that
    // made us drop keeps a valid list. Nothing is read or written meanwhile.
    if (isDirect()) {
        m_readNotifier->setEnabled(false);
        if (m_writeNotifier)
            m_writeNotifier->setEnabled(false);
        QMetaObject::invokeMethod(this, &Connection::finish, Qt::QueuedConnection);
    } else {
        QMetaObject::invokeMethod(m_socket, &QWebSocket::abort, Qt::QueuedConnection);
    }
}

void Connection::startReading(const QByteArray &early)
{
    if (m_finished || m_dropping)
        return;
    if (!early.isEmpty() && !handleBytes(early))
        return;
    m_readNotifier->setEnabled(true);
}

void Connection::onReadable()
{
    // A few frames at a time, not everything the kernel holds: a client
    // uploading a file has megabytes waiting, and one pass of the event loop
    // must not spend milliseconds on them while others wait.
    qint64 budget = 4 * m_transport->m_maxFrameBytes;
    QByteArray &buffer = m_transport->m_readBuffer;
    while (budget > 0 && !m_finished && !m_dropping) {
        const qsizetype want = qsizetype(std::min<qint64>(budget, buffer.size()));
        const ssize_t got = ::recv(m_descriptor, buffer.data(), size_t(want), 0);
        if (got > 0) {
            budget -= got;
            if (!handleBytes(QByteArrayView(buffer.constData(), qsizetype(got))))
                return;
            if (got < want)
                break; // the kernel has nothing more now, most likely: no EAGAIN round trip
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        // The peer went away (end of stream) or the connection broke.
        if (got < 0)
            qCDebug(lcNatterServer).noquote() << m_peer << "read failed:" << qt_error_string(errno);
        finish();
        return;
    }
    // Answers to pings are queued like frames: a client that pings and never
    // reads must not grow the server's memory without bound.
    const qint64 queued = queuedBytes();
    if (!m_dropping && !m_finished && queued > m_transport->m_maxQueuedBytes)
        drop(u"it stopped reading (%1 bytes queued, answers to its pings)"_s.arg(queued));
}

bool Connection::handleBytes(QByteArrayView bytes)
{
    const std::optional<WebSocketFrameReader::Failure> failure = m_reader.read(
        bytes, [this](WebSocketFrameReader::Message &&message) { return handleMessage(std::move(message)); });
    if (!failure)
        return !m_finished && !m_dropping;
    qCInfo(lcNatterServer).noquote() << "closing" << m_peer << m_logName
                                     << "because it broke the protocol:" << failure->reason;
    // Nothing more is read: the close frame goes out, then the descriptor is closed.
    close(failure->code, failure->reason);
    m_closeReceived = true;
    sendNow();
    m_readNotifier->setEnabled(false);
    return false;
}

bool Connection::handleMessage(WebSocketFrameReader::Message &&message)
{
    // Once our close is sent only the peer's close counts: a peer that goes
    // on pinging instead is dropped when the heartbeat finds it silent.
    if (!m_closeSent)
        m_lastHeardMs = m_transport->nowMs();
    switch (message.opcode) {
    case Opcode::Text:
        if (!m_closeSent && admitInput(message.payload.size()))
            Q_EMIT textReceived(message.payload);
        break;
    case Opcode::Binary:
        if (!m_closeSent && !m_overBudget)
            Q_EMIT binaryReceived(message.payload);
        break;
    case Opcode::Ping:
        if (!m_closeSent)
            queueFrame(WebSocketFrames::serverFrame(Opcode::Pong, message.payload));
        break;
    case Opcode::Pong:
    case Opcode::Continue:
        break;
    case Opcode::Close:
        // Ours answers theirs (with their code), unless ours went first; then the descriptor closes.
        m_closeReceived = true;
        if (!m_closeSent) {
            closeDirect(message.closeCode == QWebSocketProtocol::CloseCodeMissingStatusCode
                            ? quint16(QWebSocketProtocol::CloseCodeNormal)
                            : message.closeCode,
                        {});
        } else {
            sendNow();
        }
        m_readNotifier->setEnabled(false);
        return false;
    }
    return !m_finished && !m_dropping;
}

void Connection::onWritable()
{
    while (!m_unsent.isEmpty() && !m_finished) {
        const ssize_t sent =
            ::send(m_descriptor, m_unsent.constData(), size_t(m_unsent.size()), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent > 0) {
            m_unsent.remove(0, qsizetype(sent));
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        qCDebug(lcNatterServer).noquote() << m_peer << "write failed:" << qt_error_string(errno);
        finish();
        return;
    }
    if (m_finished)
        return;
    m_unsent = QByteArray(); // give the memory back, not only the bytes
    m_writeNotifier->setEnabled(false);
    if (m_dropping)
        return;
    Q_EMIT bytesWritten();
    if (m_closeSent && m_closeReceived && m_pending.isEmpty())
        finish();
}

void Connection::finish()
{
    if (m_finished || !isDirect())
        return;
    m_finished = true;
    // Notifiers leave the dispatcher before their descriptor is closed (its
    // number may be reused at once); they are deleted with the connection,
    // as this may run inside one's activated().
    m_readNotifier->setEnabled(false);
    if (m_writeNotifier)
        m_writeNotifier->setEnabled(false);
#ifdef Q_OS_UNIX
    ::close(std::exchange(m_descriptor, -1));
#endif
    m_transport->onClosed(this);
}

} // namespace Natter
