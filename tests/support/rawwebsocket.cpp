#include "tests/support/rawwebsocket.h"

#include <QRandomGenerator>
#include <QTest>
#include <QtEndian>

using namespace Qt::StringLiterals;

RawWebSocket::RawWebSocket(QObject *parent)
    : QObject(parent)
{}

bool RawWebSocket::connectTcp(quint16 port, const QHostAddress &from)
{
    if (!from.isNull() && !m_socket.bind(from))
        return false;
    m_socket.connectToHost(QHostAddress::LocalHost, port);
    return m_socket.waitForConnected(5000);
}

bool RawWebSocket::connectTls(quint16 port, const QByteArray &prelude, const QHostAddress &from)
{
    m_socket.setPeerVerifyMode(QSslSocket::VerifyNone);
    if (!connectTcp(port, from))
        return false;
    if (!prelude.isEmpty())
        m_socket.write(prelude);
    m_socket.startClientEncryption();
    // Not waitForEncrypted(): the server may run on this thread's event loop.
    (void)QTest::qWaitFor(
        [this] { return m_socket.isEncrypted() || m_socket.state() == QAbstractSocket::UnconnectedState; },
        5000);
    return m_socket.isEncrypted();
}

bool RawWebSocket::upgrade(const QByteArray &extraHeaders)
{
    m_socket.write("GET / HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n" +
                   extraHeaders + "\r\n");
    QByteArray response;
    const bool complete = QTest::qWaitFor(
        [this, &response] {
            response += m_socket.readAll();
            return response.contains("\r\n\r\n") || m_socket.state() == QAbstractSocket::UnconnectedState;
        },
        5000);
    m_upgradeResponse = response.left(response.indexOf("\r\n\r\n"));
    if (!complete || !response.contains("\r\n\r\n") || !response.startsWith("HTTP/1.1 101"))
        return false;
    m_buffer = response.mid(response.indexOf("\r\n\r\n") + 4);
    return true;
}

QByteArray RawWebSocket::frameHeader(quint8 opcode, quint64 payloadLength)
{
    QByteArray header;
    header.append(char(0x80 | opcode));
    if (payloadLength < 126) {
        header.append(char(0x80 | payloadLength));
    } else if (payloadLength <= 0xffff) {
        header.append(char(0x80 | 126));
        quint16 length = qToBigEndian(quint16(payloadLength));
        header.append(reinterpret_cast<const char *>(&length), 2);
    } else {
        header.append(char(0x80 | 127));
        quint64 length = qToBigEndian(payloadLength);
        header.append(reinterpret_cast<const char *>(&length), 8);
    }
    header.append("\x00\x00\x00\x00", 4); // a zero mask: valid, and the payload stays readable
    return header;
}

QByteArray RawWebSocket::frame(quint8 opcode, const QByteArray &payload)
{
    return frameHeader(opcode, quint64(payload.size())) + payload;
}

void RawWebSocket::parseFrames()
{
    m_buffer += m_socket.readAll();
    while (m_buffer.size() >= 2) {
        const quint8 opcode = quint8(m_buffer.at(0)) & 0x0f;
        quint64 length = quint8(m_buffer.at(1)) & 0x7f;
        qsizetype offset = 2;
        if (length == 126) {
            if (m_buffer.size() < 4)
                return;
            length = qFromBigEndian<quint16>(m_buffer.constData() + 2);
            offset = 4;
        } else if (length == 127) {
            if (m_buffer.size() < 10)
                return;
            length = qFromBigEndian<quint64>(m_buffer.constData() + 2);
            offset = 10;
        }
        if (quint64(m_buffer.size() - offset) < length)
            return;
        const QByteArray payload = m_buffer.mid(offset, qsizetype(length));
        m_buffer.remove(0, offset + qsizetype(length));
        if (opcode == 0x8 && payload.size() >= 2)
            m_closeCode = qFromBigEndian<quint16>(payload.constData());
        else if (opcode == 0x9)
            ++m_pings;
        else if (opcode == 0xa)
            ++m_pongs;
        else if (opcode == 0x1)
            m_texts.append(payload);
    }
}

QList<QByteArray> RawWebSocket::textsReceived()
{
    parseFrames();
    return m_texts;
}

std::optional<quint16> RawWebSocket::readCloseCode()
{
    parseFrames();
    return m_closeCode;
}

int RawWebSocket::pingsReceived()
{
    parseFrames();
    return m_pings;
}

int RawWebSocket::pongsReceived()
{
    parseFrames();
    return m_pongs;
}

bool RawWebSocket::waitForDisconnected(int timeoutMs)
{
    return QTest::qWaitFor(
        [this] {
            parseFrames();
            return m_socket.state() == QAbstractSocket::UnconnectedState;
        },
        timeoutMs);
}
