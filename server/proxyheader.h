#pragma once

#include <QByteArrayView>
#include <QHostAddress>
#include <QString>

namespace Natter {

/// The PROXY protocol header (HAProxy's, versions 1 and 2) that a TCP proxy
/// sends before anything else on a connection, naming the client it carries.
/// natterd reads it only from addresses given with --trusted-proxy: from
/// anyone else it would be a client lying about its address.
///
/// Pure: bytes in, a verdict out; tested and fuzzed without sockets.
struct ProxyHeader
{
    enum class Status
    {
        NeedMore, ///< a header may follow: read more (at most MaxLength bytes in all)
        Invalid,  ///< not a PROXY header, or a broken one: close the connection
        Complete, ///< length bytes are the header; what follows is the client's
    };

    /// Version 1 is at most 107 bytes; version 2 at most 16 + 65535, of which
    /// natterd accepts 16 + 512 (addresses and a few TLVs; HAProxy sends ~30).
    static constexpr qsizetype MaxLength = 16 + 512;

    Status status = Status::NeedMore;
    QString error;        ///< why it is Invalid
    qsizetype length = 0; ///< of the header, when Complete
    /// The client's address and port; null for a proxy's own connection
    /// (version 2 LOCAL, version 1 UNKNOWN: a health check), which keeps the
    /// proxy's address.
    QHostAddress source;
    quint16 sourcePort = 0;

    /// Reads a header at the start of bytes (which may hold more after it).
    static ProxyHeader parse(QByteArrayView bytes);
};

} // namespace Natter
