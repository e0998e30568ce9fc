#include "app/serverconnection.h"

#include "app/clientlogging.h"

#include <QCryptographicHash>
#include <QRandomGenerator>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslError>
#include <QWebSocket>

#include <algorithm>

namespace Natter {

namespace {

/// The largest frame the client reads (a history page is the largest the server sends).
constexpr quint64 MaxIncomingFrameBytes = 16 * 1024 * 1024;

QString sha256Of(const QSslCertificate &certificate)
{
    return certificate.isNull() ? QString()
                                : QString::fromLatin1(certificate.digest(QCryptographicHash::Sha256).toHex());
}

} // namespace

ServerConnection::ServerConnection(QObject *parent)
    : QObject(parent)
{
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &ServerConnection::openSocket);
    m_connectTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, [this] {
        qCInfo(lcNatterClientNet) << "connection attempt timed out";
        abortWith(tr("The server did not answer in time."));
    });
    connect(&m_aliveTimer, &QTimer::timeout, this, &ServerConnection::checkAlive);
}

ServerConnection::~ServerConnection()
{
    m_wanted = false;
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

void ServerConnection::setReconnectDelays(std::chrono::milliseconds first, std::chrono::milliseconds longest)
{
    m_firstDelay = first;
    m_longestDelay = std::max(first, longest);
}

void ServerConnection::setTimeouts(std::chrono::milliseconds connect, std::chrono::milliseconds keepAlive)
{
    m_connectTimeout = connect;
    m_keepAlive = keepAlive;
}

void ServerConnection::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

void ServerConnection::setAlternateUrls(const QUrl &primary, const QList<QUrl> &alternates)
{
    m_alternatesOf = primary;
    m_alternates = alternates;
}

void ServerConnection::open(const QUrl &url)
{
    close();
    m_url = url;
    m_urls = {url};
    if (url == m_alternatesOf)
        m_urls += m_alternates;
    m_current = 0;
    m_failedInRound = 0;
    m_wanted = true;
    m_attempt = 0;
    m_lastError.clear();
    openSocket();
}

void ServerConnection::close()
{
    m_wanted = false;
    m_reconnectTimer.stop();
    m_connectTimer.stop();
    m_aliveTimer.stop();
    if (m_socket) {
        QWebSocket *socket = std::exchange(m_socket, nullptr);
        socket->disconnect(this);
        socket->close();
        socket->deleteLater();
    }
    setState(State::Disconnected);
}

void ServerConnection::stop(const QString &reason)
{
    close();
    m_lastError = reason;
}

void ServerConnection::reconnectNow()
{
    if (m_state == State::WaitingToReconnect) {
        m_reconnectTimer.stop();
        openSocket();
    }
}

void ServerConnection::markReady()
{
    m_connectTimer.stop();
    m_attempt = 0;
    m_failedInRound = 0;
    m_lastError.clear();
}

qint64 ServerConnection::millisecondsUntilReconnect() const
{
    return m_state == State::WaitingToReconnect ? std::max(0, m_reconnectTimer.remainingTime()) : 0;
}

void ServerConnection::sendText(const QString &text)
{
    if (m_socket && m_state == State::Connected)
        m_unwritten += m_socket->sendTextMessage(text);
}

void ServerConnection::sendBinary(const QByteArray &payload)
{
    if (m_socket && m_state == State::Connected)
        m_unwritten += m_socket->sendBinaryMessage(payload);
}

void ServerConnection::discardSocket()
{
    if (!m_socket)
        return;
    QWebSocket *socket = std::exchange(m_socket, nullptr);
    socket->disconnect(this);
    socket->abort();
    socket->deleteLater();
}

void ServerConnection::openSocket()
{
    discardSocket();
    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    m_socket->setMaxAllowedIncomingFrameSize(MaxIncomingFrameBytes);
    m_socket->setMaxAllowedIncomingMessageSize(MaxIncomingFrameBytes);
    connect(m_socket, &QWebSocket::connected, this, &ServerConnection::onConnected);
    connect(m_socket, &QWebSocket::disconnected, this, &ServerConnection::onDisconnected);
    connect(m_socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
        m_sinceHeard.restart();
        m_pingSent = false;
        Q_EMIT textReceived(text);
    });
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &payload) {
        m_sinceHeard.restart();
        m_pingSent = false;
        Q_EMIT binaryReceived(payload);
    });
    m_unwritten = 0;
    connect(m_socket, &QWebSocket::bytesWritten, this, [this](qint64 written) {
        // Counts payload bytes; the socket writes headers and masks too: never below zero.
        m_unwritten = std::max<qint64>(0, m_unwritten - written);
        Q_EMIT bytesWritten();
    });
    connect(m_socket, &QWebSocket::pong, this, [this] {
        m_pingSent = false;
        m_sinceHeard.restart();
    });
    connect(m_socket, &QWebSocket::sslErrors, this, &ServerConnection::onSslErrors);
    // Qt 6.4 names it error(); errorOccurred() came in 6.5.
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this](QAbstractSocket::SocketError) {
                if (m_socket)
                    m_lastError = m_socket->errorString();
                qCInfo(lcNatterClientNet) << "socket error:" << m_lastError;
            });
    m_certificateFingerprint.clear();
    setState(State::Connecting);
    qCDebug(lcNatterClientNet) << "connecting to" << currentUrl() << "attempt" << m_attempt;
    m_connectTimer.start(m_connectTimeout);
    m_socket->open(currentUrl());
}

void ServerConnection::scheduleReconnect()
{
    if (m_urls.size() > 1) {
        // Another natterd of the chat is probably there: try it now (within
        // a quarter second, so that a failed one's clients spread out).
        m_current = (m_current + 1) % m_urls.size();
        if (++m_failedInRound < m_urls.size()) {
            const qint64 delay = QRandomGenerator::global()->bounded(250);
            qCInfo(lcNatterClientNet) << "trying" << currentUrl() << "in" << delay << "ms";
            m_reconnectTimer.start(std::chrono::milliseconds(delay));
            setState(State::WaitingToReconnect);
            return;
        }
        m_failedInRound = 0; // a whole round failed: wait, then go round again
    }
    const double exponential = double(m_firstDelay.count()) * double(1LL << std::min(m_attempt, 20));
    const double ceiling = std::min(exponential, double(m_longestDelay.count()));
    // "Equal jitter": between half and all of the ceiling, so clients that
    // lost one server together do not come back in lockstep.
    const qint64 delay = qint64(ceiling / 2 + QRandomGenerator::global()->bounded(ceiling / 2 + 1));
    ++m_attempt;
    qCDebug(lcNatterClientNet) << "reconnecting in" << delay << "ms";
    m_reconnectTimer.start(std::chrono::milliseconds(delay));
    setState(State::WaitingToReconnect);
}

void ServerConnection::onSslErrors(const QList<QSslError> &errors)
{
    QSslCertificate certificate;
    for (const QSslError &error : errors) {
        if (!error.certificate().isNull()) {
            certificate = error.certificate();
            break;
        }
    }
    const QString fingerprint = sha256Of(certificate);
    if (!fingerprint.isEmpty() && fingerprint == m_pinnedFingerprint) {
        // Not vouched for by an authority, but the very certificate the user accepted.
        m_socket->ignoreSslErrors(errors);
        return;
    }
    const bool changed = !m_pinnedFingerprint.isEmpty();
    qCWarning(lcNatterClientNet).noquote()
        << (changed ? "the server's certificate CHANGED:" : "the server's certificate is not trusted yet:")
        << fingerprint << errors.constFirst().errorString();
    // Never a silent retry: the user decides.
    m_wanted = false;
    abortWith(changed ? tr("The server's certificate has changed: not connected.")
                      : tr("The server's certificate needs your approval."));
    Q_EMIT certificateNeedsApproval(fingerprint, changed);
}

void ServerConnection::abortWith(const QString &reason)
{
    m_abortReason = reason;
    if (m_socket)
        m_socket->abort(); // disconnected() follows at once
}

void ServerConnection::onConnected()
{
    m_certificateFingerprint = sha256Of(m_socket->sslConfiguration().peerCertificate());
    m_sinceHeard.start();
    m_pingSent = false;
    m_aliveTimer.start(std::max<qint64>(50, m_keepAlive.count() / 4));
    setState(State::Connected);
    Q_EMIT connected();
}

void ServerConnection::onDisconnected()
{
    const bool wasConnected = m_state == State::Connected;
    m_connectTimer.stop();
    m_aliveTimer.stop();
    if (m_socket) {
        // Our own reason for aborting first, then the socket's error, then the
        // server's close reason.
        if (!m_abortReason.isEmpty())
            m_lastError = m_abortReason;
        else if (m_lastError.isEmpty() || wasConnected)
            m_lastError = m_socket->closeReason().isEmpty() ? tr("The connection was closed.")
                                                            : m_socket->closeReason();
        m_abortReason.clear();
        QWebSocket *socket = std::exchange(m_socket, nullptr);
        socket->disconnect(this);
        socket->deleteLater();
    }
    qCInfo(lcNatterClientNet) << "disconnected:" << m_lastError;
    Q_EMIT disconnected();
    if (m_wanted)
        scheduleReconnect();
    else
        setState(State::Disconnected);
}

void ServerConnection::checkAlive()
{
    if (!m_socket)
        return;
    // A laptop lid closed on a live TCP connection leaves it half open: only
    // silence tells. Ping after a quiet spell; no answer in time drops it.
    const qint64 quiet = m_sinceHeard.elapsed();
    if (quiet >= m_keepAlive.count()) {
        qCInfo(lcNatterClientNet) << "no answer from the server for" << quiet << "ms; reconnecting";
        abortWith(tr("The server stopped answering."));
    } else if (quiet >= m_keepAlive.count() / 2 && !m_pingSent) {
        m_pingSent = true;
        m_socket->ping();
    }
}

} // namespace Natter
