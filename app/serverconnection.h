#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <QUrl>

#include <chrono>

QT_BEGIN_NAMESPACE
class QSslError;
class QWebSocket;
QT_END_NAMESPACE

namespace Natter {

/// The desktop app's side of the wire, below the chat protocol: one
/// WebSocket to natterd that it keeps open. It checks the server's
/// certificate (system trust or a pinned fingerprint), times out a
/// connection attempt, pings a quiet server and drops a silent one, and
/// after a drop reconnects with exponential backoff and jitter.
///
/// The protocol layer above (ChatClient) says hello on connected(), calls
/// markReady() when welcomed, and reads textReceived().
class ServerConnection final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ServerConnection)

public:
    enum class State
    {
        Disconnected,       ///< not connected and not trying
        Connecting,         ///< opening TCP, TLS and the WebSocket
        Connected,          ///< the WebSocket is open
        WaitingToReconnect, ///< it dropped; the next attempt is scheduled
    };
    Q_ENUM(State)

    explicit ServerConnection(QObject *parent = nullptr);
    ~ServerConnection() override;

    /// First and longest wait between attempts (each wait is drawn between
    /// half and all of min(first * 2^attempt, longest)).
    void setReconnectDelays(std::chrono::milliseconds first, std::chrono::milliseconds longest);
    /// How long an attempt may take until markReady(), and how long the
    /// server may stay silent (a ping is sent after half of it).
    void setTimeouts(std::chrono::milliseconds connect, std::chrono::milliseconds keepAlive);

    /// The SHA-256 fingerprint (64 hex digits) that a wss:// server's
    /// certificate must have when the system does not trust it. Empty: ask
    /// (certificateNeedsApproval()).
    void setPinnedFingerprint(const QString &fingerprint) { m_pinnedFingerprint = fingerprint; }
    QString pinnedFingerprint() const { return m_pinnedFingerprint; }
    /// The fingerprint of the server's certificate on this connection; empty over ws://.
    QString certificateFingerprint() const { return m_certificateFingerprint; }
    bool isEncrypted() const { return !m_certificateFingerprint.isEmpty(); }

    /// Other addresses of the chat at primary (the natterd of a cluster):
    /// whenever open(primary) is in force, an attempt that fails or a
    /// connection that drops moves on to the next address at once, and only
    /// a whole round of failures waits the backoff. The chat stays primary's
    /// (url()); currentUrl() is the one in use.
    void setAlternateUrls(const QUrl &primary, const QList<QUrl> &alternates);
    /// Connects, and keeps connected until close() or stop().
    void open(const QUrl &url);
    /// Closes the connection and stops reconnecting (Disconnected at once).
    void close();
    /// Closes normally and does not come back: retrying cannot help (the
    /// server refused who we are). reason becomes lastError().
    void stop(const QString &reason);
    /// Skips the wait of WaitingToReconnect.
    void reconnectNow();
    /// The protocol layer is signed in: the attempt succeeded (the connect
    /// timeout stops, the backoff starts over, lastError() is cleared).
    void markReady();

    /// Sends one text frame; dropped when not Connected.
    void sendText(const QString &text);
    /// Sends one binary frame (a file's chunk); dropped when not Connected.
    void sendBinary(const QByteArray &payload);
    /// Bytes handed to the socket and not yet written: file chunks are sent
    /// only while this is small, so that chat frames never wait behind them.
    qint64 unwrittenBytes() const { return m_unwritten; }

    State state() const { return m_state; }
    QUrl url() const { return m_url; }
    QUrl currentUrl() const { return m_urls.value(m_current, m_url); }
    /// Attempts since the last markReady().
    int attempt() const { return m_attempt; }
    /// Milliseconds left before the next attempt (WaitingToReconnect only).
    qint64 millisecondsUntilReconnect() const;
    /// Why the last attempt failed or the connection dropped, for the status line.
    QString lastError() const { return m_lastError; }

Q_SIGNALS:
    void stateChanged(Natter::ServerConnection::State state);
    /// The WebSocket is open: say hello.
    void connected();
    void textReceived(const QString &text);
    void binaryReceived(const QByteArray &payload);
    /// Some of what was sent reached the kernel (unwrittenBytes() went down).
    void bytesWritten();
    /// The WebSocket is gone (state() tells whether another attempt follows).
    void disconnected();
    /// A wss:// server showed a certificate that neither the system trusts
    /// nor matches the pin: changed is false on first contact (ask the user),
    /// true when a pinned fingerprint differs (warn: someone may be in the
    /// middle). The connection stopped; open() again after pinning.
    void certificateNeedsApproval(const QString &fingerprint, bool changed);

private:
    void setState(State state);
    void openSocket();
    void discardSocket();
    void scheduleReconnect();
    void onConnected();
    void onDisconnected();
    void onSslErrors(const QList<QSslError> &errors);
    void checkAlive();
    void abortWith(const QString &reason);

    QWebSocket *m_socket = nullptr;
    State m_state = State::Disconnected;
    QUrl m_url;
    QUrl m_alternatesOf;
    QList<QUrl> m_alternates;
    QList<QUrl> m_urls;      // m_url, then its alternates
    qsizetype m_current = 0; // in m_urls
    int m_failedInRound = 0; // addresses tried since the last success
    bool m_wanted = false;
    QString m_pinnedFingerprint;
    QString m_certificateFingerprint;
    QString m_lastError;
    QString m_abortReason; // why we aborted the current socket, if we did

    std::chrono::milliseconds m_firstDelay{500};
    std::chrono::milliseconds m_longestDelay{30'000};
    std::chrono::milliseconds m_connectTimeout{10'000};
    std::chrono::milliseconds m_keepAlive{20'000};
    int m_attempt = 0;
    QTimer m_reconnectTimer;
    QTimer m_connectTimer;
    QTimer m_aliveTimer;
    QElapsedTimer m_sinceHeard;
    bool m_pingSent = false;
    qint64 m_unwritten = 0;
};

} // namespace Natter
