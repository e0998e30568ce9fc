#include "server/discoveryresponder.h"

#include "server/serverlogging.h"

#include <QNetworkDatagram>
#include <QUdpSocket>

namespace Natter {

namespace {
// Queries are a few dozen bytes and come from people opening a dialog: a
// handful a second is plenty, and bounds what a spoofed flood can reflect.
constexpr double RepliesPerSecond = 20;
constexpr double ReplyBurst = 40;
// One sender (or one spoofed victim) gets a few answers a second at most, so a
// spoofer cannot spend the whole budget on one victim and deny it to everyone.
constexpr double RepliesPerSenderPerSecond = 2;
constexpr double ReplyBurstPerSender = 4;
constexpr qsizetype MaxSendersTracked = 4096;
} // namespace

DiscoveryResponder::DiscoveryResponder(AnnouncementProvider announcement, QObject *parent)
    : QObject(parent)
    , m_announcement(std::move(announcement))
    , m_socket(new QUdpSocket(this))
{
    m_clock.start();
    m_replies = TokenBucket(RepliesPerSecond, ReplyBurst, m_clock.elapsed());
    connect(m_socket, &QUdpSocket::readyRead, this, &DiscoveryResponder::readPending);
}

DiscoveryResponder::~DiscoveryResponder() = default;

bool DiscoveryResponder::listen(quint16 port)
{
    if (!m_socket->bind(QHostAddress::AnyIPv4, port,
                        QAbstractSocket::ShareAddress | QAbstractSocket::ReuseAddressHint)) {
        m_errorString =
            tr("cannot listen for discovery on UDP port %1: %2").arg(port).arg(m_socket->errorString());
        return false;
    }
    qCDebug(lcNatterServer) << "answering discovery on UDP port" << m_socket->localPort();
    return true;
}

quint16 DiscoveryResponder::port() const
{
    return m_socket->localPort();
}

void DiscoveryResponder::readPending()
{
    while (m_socket->hasPendingDatagrams()) {
        // One byte more than allowed tells an oversize datagram from a full one.
        const QNetworkDatagram datagram = m_socket->receiveDatagram(Discovery::MaxDatagramBytes + 1);
        // Port 0 cannot be answered (only a forged datagram comes from it).
        if (!datagram.isValid() || datagram.senderPort() <= 0 || !Discovery::decodeQuery(datagram.data())) {
            qCDebug(lcNatterServer) << "ignored a malformed discovery datagram from"
                                    << datagram.senderAddress();
            continue;
        }
        const qint64 now = m_clock.elapsed();
        auto sender = m_perSender.find(datagram.senderAddress());
        if (sender == m_perSender.end()) {
            if (m_perSender.size() >= MaxSendersTracked)
                m_perSender.removeIf([now](const auto &it) { return it.value().isFull(now); });
            if (m_perSender.size() >= MaxSendersTracked) {
                qCDebug(lcNatterServer) << "discovery: too many senders at once";
                continue;
            }
            sender = m_perSender.insert(datagram.senderAddress(),
                                        TokenBucket(RepliesPerSenderPerSecond, ReplyBurstPerSender, now));
        }
        if (!sender->tryTake(now) || !m_replies.tryTake(now)) {
            qCDebug(lcNatterServer) << "discovery replies rate limited for" << datagram.senderAddress();
            continue;
        }
        m_socket->writeDatagram(Discovery::encodeAnnouncement(m_announcement()), datagram.senderAddress(),
                                quint16(datagram.senderPort()));
        Q_EMIT queryAnswered(datagram.senderAddress(), quint16(datagram.senderPort()));
    }
}

} // namespace Natter
