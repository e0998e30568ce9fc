#pragma once

#include <QObject>
#include <QStringList>
#include <QUrl>
#include <QWebSocket>
#include <QWebSocketServer>

/// A WebSocket server on 127.0.0.1 that keeps what it accepts and receives,
/// for a test to script the other side of a conversation with the client.
class ScriptedServer final : public QObject
{
public:
    explicit ScriptedServer(QWebSocketServer::SslMode mode = QWebSocketServer::NonSecureMode)
        : server(QStringLiteral("scripted"), mode)
    {
        connect(&server, &QWebSocketServer::newConnection, this, [this] {
            while (QWebSocket *socket = server.nextPendingConnection()) {
                socket->setParent(this); // QWebSocketServer hands them out without an owner
                sockets.append(socket);
                connect(socket, &QWebSocket::textMessageReceived, this,
                        [this](const QString &text) { received.append(text); });
            }
        });
    }
    bool listen() { return server.listen(QHostAddress::LocalHost, 0); }
    QUrl url(const QString &scheme = QStringLiteral("ws")) const
    {
        return QUrl(QStringLiteral("%1://127.0.0.1:%2").arg(scheme).arg(server.serverPort()));
    }
    QWebSocket *last() const { return sockets.isEmpty() ? nullptr : sockets.constLast(); }

    QWebSocketServer server;
    QList<QWebSocket *> sockets;
    QStringList received; ///< every text frame from every connection, in order
};
