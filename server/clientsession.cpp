#include "clientsession.h"

#include "serverlogging.h"

namespace Natter {

ClientSession::ClientSession(Connection *connection, QObject *parent)
    : QObject(parent)
    , m_connection(connection)
{}

ClientSession::~ClientSession() = default;

void ClientSession::setUser(const User &user, qint64 tokenId)
{
    m_user = user;
    m_tokenId = tokenId;
    m_connection->setSignIn(Connection::SignIn::SignedIn);
    m_connection->setLogName(user.email);
}

void ClientSession::setAuthenticating(bool authenticating)
{
    m_connection->setSignIn(authenticating ? Connection::SignIn::Checking : Connection::SignIn::NotSignedIn);
}

bool ClientSession::sendFrame(const Codec::ServerFrame &frame)
{
    return m_connection->sendWireFrame(Connection::wireFrame(Codec::encodeServerFrame(frame)));
}

bool ClientSession::sendError(Protocol::ErrorCode code, const QString &message, const QString &request,
                              const QString &clientId, const QString &room)
{
    qCDebug(lcNatterServer).noquote() << peer() << "error" << Protocol::errorCodeName(code) << message;
    return sendFrame(Protocol::Error{code, message, request, clientId, room});
}

} // namespace Natter
