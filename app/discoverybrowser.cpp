#include "app/discoverybrowser.h"

#include "app/clientlogging.h"

#include <QNetworkDatagram>
#include <QUdpSocket>

using namespace Qt::StringLiterals;

namespace Natter {

DiscoveryBrowser::DiscoveryBrowser(QObject *parent)
    : QObject(parent)
    , m_socket(new QUdpSocket(this))
{
    m_timer.setInterval(2'000);
    connect(&m_timer, &QTimer::timeout, this, &DiscoveryBrowser::query);
    connect(m_socket, &QUdpSocket::readyRead, this, &DiscoveryBrowser::readPending);
}

DiscoveryBrowser::~DiscoveryBrowser() = default;

QHostAddress DiscoveryBrowser::queryAddress()
{
    const QString configured = qEnvironmentVariable(Discovery::AddressVariable).trimmed();
    if (!configured.isEmpty()) {
        QHostAddress address;
        if (address.setAddress(configured) && address.protocol() == QAbstractSocket::IPv4Protocol)
            return address;
        qCWarning(lcNatterClientDiscovery)
            << Discovery::AddressVariable << "is not an IPv4 address:" << configured
            << "- LAN discovery is off";
        return {};
    }
    return QHostAddress(QHostAddress::Broadcast);
}

bool DiscoveryBrowser::start()
{
    m_address = queryAddress();
    if (m_address.isNull()) {
        m_errorString = tr("LAN discovery is off: %1 is not an IPv4 address.")
                            .arg(QString::fromLatin1(Discovery::AddressVariable));
        return false;
    }
    if (m_socket->state() != QAbstractSocket::BoundState && !m_socket->bind(QHostAddress::AnyIPv4, 0)) {
        m_errorString = tr("LAN discovery is unavailable: %1").arg(m_socket->errorString());
        return false;
    }
    query();
    m_timer.start();
    return true;
}

void DiscoveryBrowser::stop()
{
    m_timer.stop();
}

void DiscoveryBrowser::query()
{
    qCDebug(lcNatterClientDiscovery) << "querying" << m_address << "port" << m_port;
    m_socket->writeDatagram(Discovery::encodeQuery(), m_address, m_port);
}

void DiscoveryBrowser::readPending()
{
    while (m_socket->hasPendingDatagrams()) {
        const QNetworkDatagram datagram = m_socket->receiveDatagram(Discovery::MaxDatagramBytes + 1);
        const auto announcement = Discovery::decodeAnnouncement(datagram.data());
        if (!datagram.isValid() || !announcement) {
            qCDebug(lcNatterClientDiscovery) << "ignored a malformed answer from" << datagram.senderAddress();
            continue;
        }
        QHostAddress sender = datagram.senderAddress();
        // Answers over IPv4 arrive as IPv4-mapped IPv6 on some systems.
        bool isIpv4 = false;
        const quint32 ipv4 = sender.toIPv4Address(&isIpv4);
        if (isIpv4)
            sender = QHostAddress(ipv4);
        DiscoveredServer server;
        server.name = announcement->name;
        // Servers from before TLS announce no fingerprint and serve ws://.
        server.url.setScheme(announcement->fingerprint.isEmpty() ? u"ws"_s : u"wss"_s);
        server.fingerprint = announcement->fingerprint;
        server.url.setHost(sender.toString());
        server.url.setPort(announcement->port);
        server.server = announcement->server;
        server.users = announcement->users;
        Q_EMIT serverFound(server);
    }
}

} // namespace Natter
