#pragma once

#include <QByteArray>
#include <QObject>
#include <QSslSocket>

#include <optional>

/// A hand-made WebSocket client over QTcpSocket, for what QWebSocket will not
/// do: stop reading, never answer pings, stay silent, send a lying header.
class RawWebSocket final : public QObject
{
    Q_OBJECT

public:
    explicit RawWebSocket(QObject *parent = nullptr);

    QTcpSocket &tcp() { return m_socket; }
    /// Connects to 127.0.0.1:port, from another loopback address (127.0.0.2...)
    /// if one is given: a second machine, as far as per-address limits go.
    bool connectTcp(quint16 port, const QHostAddress &from = {});
    /// Connects over TLS (any certificate: natterd's own self-signed one in
    /// tests), sending prelude (a PROXY header) in the clear first.
    bool connectTls(quint16 port, const QByteArray &prelude = {}, const QHostAddress &from = {});
    /// Sends the HTTP upgrade (with more header lines, each ending in CRLF)
    /// and waits for "101 Switching Protocols".
    bool upgrade(const QByteArray &extraHeaders = {});
    /// The status line and headers the server answered the upgrade with.
    QByteArray upgradeResponse() const { return m_upgradeResponse; }

    /// A masked frame as a client must send it.
    static QByteArray frame(quint8 opcode, const QByteArray &payload);
    /// Only the header of a masked text frame that claims payloadLength bytes.
    static QByteArray frameHeader(quint8 opcode, quint64 payloadLength);
    void sendText(const QByteArray &payload) { m_socket.write(frame(0x1, payload)); }

    /// Reads what arrived and returns the close code of a close frame, if one came.
    std::optional<quint16> readCloseCode();
    /// Counts the ping frames received so far.
    int pingsReceived();
    /// Counts the pong frames received so far.
    int pongsReceived();
    /// The text frames received so far (unfragmented, as the server sends them).
    QList<QByteArray> textsReceived();
    bool waitForDisconnected(int timeoutMs = 5000);

private:
    void parseFrames();

    QSslSocket m_socket; ///< unencrypted unless connectTls()
    QByteArray m_buffer;
    QByteArray m_upgradeResponse;
    std::optional<quint16> m_closeCode;
    int m_pings = 0;
    int m_pongs = 0;
    QList<QByteArray> m_texts;
};
