#include "server/clientsession.h"

#include "server/serverlogging.h"

#include <chrono>

using namespace Qt::StringLiterals;

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

namespace {

qint64 steadyMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

} // namespace

void ClientSession::setRefusalBudget(double perSecond, double burst)
{
    m_refusals = TokenBucket(perSecond, burst, steadyMs());
}

bool ClientSession::sendError(Protocol::ErrorCode code, const QString &message, const QString &request,
                              const QString &clientId, const QString &room)
{
    return sendError(Protocol::Error{code, message, request, clientId, room});
}

bool ClientSession::sendError(const Protocol::Error &error)
{
    // 50,000 refused frames used to be answered one by one, forever.
    if (m_closingForRefusals)
        return false;
    if (error.code != Protocol::ErrorCode::InternalError && !m_refusals.tryTake(steadyMs())) {
        m_closingForRefusals = true;
        qCInfo(lcNatterServer).noquote()
            << "closing" << peer() << m_user.email << "after too many refused requests";
        close(QWebSocketProtocol::CloseCodePolicyViolated, u"too many refused requests"_s);
        return false;
    }
    qCDebug(lcNatterServer).noquote()
        << peer() << "error" << Protocol::errorCodeName(error.code) << error.message;
    return sendFrame(error);
}

} // namespace Natter
