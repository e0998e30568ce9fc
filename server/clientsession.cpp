#include "clientsession.h"

#include "serverlogging.h"

#include <QWebSocket>

using namespace Qt::StringLiterals;

namespace Natter {

ClientSession::ClientSession(QWebSocket *socket, QTcpSocket *tcp, qint64 maxQueuedBytes, qint64 nowMs,
                             QList<ClientSession *> *unflushed, std::function<void()> flushWanted,
                             QObject *parent)
    : QObject(parent)
    , m_socket(socket)
    , m_tcp(tcp)
    , m_peer(socket->peerAddress().toString() + u':' + QString::number(socket->peerPort()))
    , m_address(socket->peerAddress().toString())
    , m_maxQueuedBytes(maxQueuedBytes)
    , m_openedMs(nowMs)
    , m_lastHeardMs(nowMs)
    , m_unflushed(unflushed)
    , m_flushWanted(std::move(flushWanted))
{
    socket->setParent(this);
}

ClientSession::~ClientSession()
{
    if (m_flushQueued)
        m_unflushed->removeOne(this);
    // QWebSocket does not own the TCP socket it was upgraded from (its parent
    // is the QTcpServer): without this, every closed connection's socket
    // would live as long as the server. The WebSocket goes first, as it uses
    // the TCP socket until its end.
    delete m_socket;
    delete m_tcp.data();
}

QByteArray ClientSession::wireFrame(const QByteArray &utf8)
{
    const quint64 length = quint64(utf8.size());
    QByteArray frame;
    frame.reserve(utf8.size() + 10);
    frame.append(char(0x81)); // FIN, text
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
    frame.append(utf8);
    return frame;
}

bool ClientSession::sendWireFrame(const QByteArray &frame)
{
    if (m_dropping || !m_tcp || m_socket->state() != QAbstractSocket::ConnectedState)
        return false;
    // Collected until the end of the pass and written at once: over TLS that
    // is one record (one SSL_write) for everything this peer gets in a pass.
    m_pending += frame;
    if (!m_flushQueued) {
        m_flushQueued = true;
        m_unflushed->append(this);
        m_flushWanted(); // nothing waits for a flush that never comes
    }
    const qint64 queued = m_tcp->bytesToWrite() + m_pending.size();
    if (queued > m_maxQueuedBytes) {
        drop(u"it stopped reading (%1 bytes queued)"_s.arg(queued));
        return false;
    }
    return true;
}

bool ClientSession::sendFrame(const Codec::ServerFrame &frame)
{
    return sendWireFrame(wireFrame(Codec::encodeServerFrame(frame)));
}

bool ClientSession::sendError(Protocol::ErrorCode code, const QString &message, const QString &request,
                              const QString &clientId, const QString &room)
{
    qCDebug(lcNatterServer).noquote() << m_peer << "error" << Protocol::errorCodeName(code) << message;
    return sendFrame(Protocol::Error{code, message, request, clientId, room});
}

void ClientSession::flushOutput()
{
    m_flushQueued = false;
    if (m_dropping)
        return;
    if (!m_pending.isEmpty() && m_tcp)
        m_tcp->write(std::exchange(m_pending, {}));
    m_socket->flush();
}

void ClientSession::close(QWebSocketProtocol::CloseCode code, const QString &reason)
{
    if (m_dropping)
        return;
    // What was said before the close goes before the close frame.
    if (!m_pending.isEmpty() && m_tcp)
        m_tcp->write(std::exchange(m_pending, {}));
    m_socket->close(code, reason);
}

void ClientSession::drop(const QString &why)
{
    if (m_dropping)
        return;
    m_dropping = true;
    qCInfo(lcNatterServer).noquote() << "dropping" << m_peer << m_user.email << "because" << why;
    // Aborting emits disconnected() synchronously; defer it so that a
    // broadcast loop that made us drop keeps a valid list.
    QMetaObject::invokeMethod(m_socket, &QWebSocket::abort, Qt::QueuedConnection);
}

} // namespace Natter
