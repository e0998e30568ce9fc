#pragma once

#include "common/discovery.h"
#include "server/ratelimiter.h"

#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QObject>

#include <functional>

QT_BEGIN_NAMESPACE
class QUdpSocket;
QT_END_NAMESPACE

namespace Natter {

/// Answers LAN discovery queries (docs/protocol.md, "LAN discovery"): listens
/// on a UDP port and replies to each well-formed query, unicast to its sender,
/// with what announcement() returns. Malformed or oversize datagrams are
/// ignored; replies are rate limited so the responder cannot be used to flood
/// a third party with spoofed queries.
class DiscoveryResponder final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DiscoveryResponder)

public:
    using AnnouncementProvider = std::function<Discovery::Announcement()>;

    explicit DiscoveryResponder(AnnouncementProvider announcement, QObject *parent = nullptr);
    ~DiscoveryResponder() override;

    /// Binds the port on every IPv4 address, shared with other Natter servers
    /// on this machine. Port 0 picks a free one (tests).
    bool listen(quint16 port = Discovery::DefaultPort);
    quint16 port() const;
    QString errorString() const { return m_errorString; }

Q_SIGNALS:
    /// A query was answered (tests and logs).
    void queryAnswered(const QHostAddress &sender, quint16 senderPort);

private:
    void readPending();

    AnnouncementProvider m_announcement;
    QUdpSocket *m_socket;
    QString m_errorString;
    QElapsedTimer m_clock;
    TokenBucket m_replies;                        // all senders together
    QHash<QHostAddress, TokenBucket> m_perSender; // each sender on its own
};

} // namespace Natter
