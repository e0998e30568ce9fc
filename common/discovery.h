#pragma once

#include "common/protocol.h"

#include <QByteArray>
#include <QString>

#include <optional>

/// LAN discovery, version 1 (docs/protocol.md, "LAN discovery").
///
/// A client broadcasts a small UDP query; every Natter server that hears it
/// answers the sender, unicast, with an announcement. Both are one JSON object
/// per datagram, at most MaxDatagramBytes long; anything else is ignored.
/// This header is the pure codec; the sockets live in server/ and app/.
namespace Natter::Discovery {

inline constexpr int Version = 1;
/// The UDP port servers listen on for queries (same number as the WebSocket port).
inline constexpr quint16 DefaultPort = Protocol::DefaultPort;
/// Datagrams longer than this are ignored, and none longer is ever sent.
inline constexpr int MaxDatagramBytes = 512;
/// Announcements are kept to this size (the name is cut to fit): an answer
/// costs a spoofer's victim little more than the query did.
inline constexpr int MaxAnnouncementBytes = 256;
/// Longest server name carried in an announcement (longer names are cut).
inline constexpr int MaxNameLength = 64;
/// Longest software name and version ("natterd 0.1.0") read from an announcement.
inline constexpr int MaxServerLength = 32;
/// Environment variable naming where clients send queries (default: the
/// limited broadcast address 255.255.255.255).
inline constexpr char AddressVariable[] = "NATTER_DISCOVERY_ADDRESS";

struct Query
{
    int version = Version;
};

struct Announcement
{
    int version = Version;
    QString name;     ///< the display name the host chose (may be empty)
    quint16 port = 0; ///< the WebSocket port, on the address the answer came from
    QString server;   ///< "natterd X.Y.Z"
    int users = 0;    ///< users online now
    /// The SHA-256 of the server's TLS certificate (64 hex digits); empty for a
    /// plain ws:// server. Shown, and compared with a pin, never trusted by
    /// itself: anyone on the LAN can send an announcement.
    QString fingerprint;
};

QByteArray encodeQuery(const Query &query = {});
/// nullopt for anything that is not a well-formed query of version >= 1.
std::optional<Query> decodeQuery(const QByteArray &datagram);

/// Never longer than MaxAnnouncementBytes: the name is cut to fit.
QByteArray encodeAnnouncement(const Announcement &announcement);
/// nullopt for anything that is not a well-formed announcement of version >= 1.
std::optional<Announcement> decodeAnnouncement(const QByteArray &datagram);

} // namespace Natter::Discovery
