#include "server/tlsserver.h"

#include "server/serverlogging.h"

#include <QSslSocket>

namespace Natter {

TlsServer::TlsServer(QObject *parent)
    : QTcpServer(parent)
{}

TlsServer::~TlsServer() = default;

void TlsServer::incomingConnection(qintptr descriptor)
{
    auto *socket = new QSslSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        delete socket;
        return;
    }
    socket->setSslConfiguration(m_configuration);
    connect(socket, &QSslSocket::encrypted, this, [this, socket] {
        socket->disconnect(this);
        addPendingConnection(socket);
        Q_EMIT newConnection();
    });
    // A failed handshake (a plain ws:// client, a scanner, a timeout) ends the socket.
    connect(socket, &QAbstractSocket::errorOccurred, this, [socket](QAbstractSocket::SocketError) {
        qCDebug(lcNatterServer).noquote()
            << "TLS handshake with" << socket->peerAddress().toString() << "failed:" << socket->errorString();
        socket->abort();
        socket->deleteLater();
    });
    connect(socket, &QAbstractSocket::disconnected, this, [socket] { socket->deleteLater(); });
    Q_EMIT handshakeStarted(socket);
    if (socket->state() != QAbstractSocket::ConnectedState)
        return; // refused and closed at once
    socket->startServerEncryption();
}

} // namespace Natter
