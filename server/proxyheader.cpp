#include "server/proxyheader.h"

#include <QtEndian>

#include <array>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

constexpr std::array<char, 12> V2Signature{'\r', '\n', '\r', '\n', '\0', '\r',
                                           '\n', 'Q',  'U',  'I',  'T',  '\n'};
constexpr QByteArrayView V1Prefix{"PROXY "};
constexpr qsizetype V1MaxLength = 107; // "PROXY TCP6 " + two addresses + two ports + CRLF

ProxyHeader invalid(const QString &why)
{
    ProxyHeader header;
    header.status = ProxyHeader::Status::Invalid;
    header.error = why;
    return header;
}

ProxyHeader complete(qsizetype length, QHostAddress source = {}, quint16 port = 0)
{
    ProxyHeader header;
    header.status = ProxyHeader::Status::Complete;
    header.length = length;
    header.source = std::move(source);
    header.sourcePort = port;
    return header;
}

/// True while bytes could still be the start of prefix.
bool mayStartWith(QByteArrayView bytes, QByteArrayView prefix)
{
    const qsizetype n = std::min(bytes.size(), prefix.size());
    return bytes.first(n) == prefix.first(n);
}

std::optional<quint16> port(QByteArrayView digits)
{
    if (digits.isEmpty() || digits.size() > 5 || (digits.size() > 1 && digits.front() == '0'))
        return std::nullopt;
    uint value = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + uint(c - '0');
    }
    if (value > 65535)
        return std::nullopt;
    return quint16(value);
}

ProxyHeader parseV1(QByteArrayView bytes)
{
    // Printable ASCII up to CRLF, within 107 bytes: judged byte by byte, so
    // that a prefix of anything refused is refused too, or asked more of.
    qsizetype end = -1;
    for (qsizetype i = 0; i < std::min(bytes.size(), V1MaxLength); ++i) {
        const char c = bytes.at(i);
        if (c == '\r') {
            if (i + 1 == bytes.size())
                return {};
            if (bytes.at(i + 1) != '\n' || i + 2 > V1MaxLength)
                return invalid(u"a PROXY v1 line that does not end in CRLF within 107 bytes"_s);
            end = i;
            break;
        }
        if (c < 0x20 || c > 0x7e)
            return invalid(u"a PROXY v1 line with a byte that is not printable ASCII"_s);
    }
    if (end < 0) {
        if (bytes.size() >= V1MaxLength)
            return invalid(u"a PROXY v1 line longer than 107 bytes"_s);
        return {};
    }
    const QList<QByteArrayView> fields = [&] {
        QList<QByteArrayView> parts;
        QByteArrayView line = bytes.first(end);
        qsizetype start = 0;
        for (qsizetype i = 0; i <= line.size(); ++i) {
            if (i == line.size() || line.at(i) == ' ') {
                parts.append(line.sliced(start, i - start));
                start = i + 1;
            }
        }
        return parts;
    }();
    if (fields.size() >= 2 && fields.at(1) == "UNKNOWN")
        return complete(end + 2); // the proxy's own connection
    if (fields.size() != 6 || (fields.at(1) != "TCP4" && fields.at(1) != "TCP6"))
        return invalid(u"a PROXY v1 line that is not PROXY TCP4|TCP6 SRC DST SPORT DPORT"_s);
    const bool v4 = fields.at(1) == "TCP4";
    QHostAddress source;
    QHostAddress destination;
    const QString sourceText = QString::fromLatin1(fields.at(2));
    const QString destinationText = QString::fromLatin1(fields.at(3));
    const auto expected = v4 ? QAbstractSocket::IPv4Protocol : QAbstractSocket::IPv6Protocol;
    // Only the canonical dotted form for IPv4 (QHostAddress also takes "127.1").
    const bool dotted = !v4 || (fields.at(2).count('.') == 3 && fields.at(3).count('.') == 3);
    if (!dotted || !source.setAddress(sourceText) || !destination.setAddress(destinationText) ||
        source.protocol() != expected || destination.protocol() != expected)
        return invalid(u"a PROXY v1 line with addresses that are not %1"_s.arg(v4 ? u"IPv4"_s : u"IPv6"_s));
    const std::optional<quint16> sourcePort = port(fields.at(4));
    if (!sourcePort || !port(fields.at(5)))
        return invalid(u"a PROXY v1 line with a port that is not 0-65535"_s);
    return complete(end + 2, source, *sourcePort);
}

ProxyHeader parseV2(QByteArrayView bytes)
{
    constexpr qsizetype Fixed = 16;
    if (bytes.size() < Fixed)
        return {};
    const quint8 versionCommand = quint8(bytes.at(12));
    const quint8 family = quint8(bytes.at(13));
    const qsizetype length = qFromBigEndian<quint16>(bytes.data() + 14);
    if ((versionCommand >> 4) != 2)
        return invalid(u"a PROXY header of version %1"_s.arg(versionCommand >> 4));
    const quint8 command = versionCommand & 0x0f;
    if (command > 1)
        return invalid(u"a PROXY v2 header with command %1"_s.arg(command));
    if (Fixed + length > ProxyHeader::MaxLength)
        return invalid(u"a PROXY v2 header of %1 bytes"_s.arg(Fixed + length));
    if (bytes.size() < Fixed + length)
        return {};
    if (command == 0) // LOCAL: the proxy's own connection (a health check)
        return complete(Fixed + length);
    const QByteArrayView body = bytes.sliced(Fixed, length);
    const quint8 addressFamily = family >> 4;
    const quint8 transport = family & 0x0f;
    if (addressFamily == 0) // UNSPEC: nothing said of the client
        return complete(Fixed + length);
    if (transport != 1) // STREAM
        return invalid(u"a PROXY v2 header for a transport other than TCP"_s);
    if (addressFamily == 1) { // INET
        if (body.size() < 12)
            return invalid(u"a PROXY v2 header too short for IPv4 addresses"_s);
        const QHostAddress source(qFromBigEndian<quint32>(body.data()));
        return complete(Fixed + length, source, qFromBigEndian<quint16>(body.data() + 8));
    }
    if (addressFamily == 2) { // INET6
        if (body.size() < 36)
            return invalid(u"a PROXY v2 header too short for IPv6 addresses"_s);
        Q_IPV6ADDR address;
        std::copy_n(reinterpret_cast<const quint8 *>(body.data()), 16, address.c);
        return complete(Fixed + length, QHostAddress(address), qFromBigEndian<quint16>(body.data() + 32));
    }
    return invalid(u"a PROXY v2 header of address family %1"_s.arg(addressFamily));
}

} // namespace

ProxyHeader ProxyHeader::parse(QByteArrayView bytes)
{
    const QByteArrayView signature(V2Signature.data(), qsizetype(V2Signature.size()));
    if (mayStartWith(bytes, signature)) {
        if (bytes.size() < signature.size())
            return {};
        return parseV2(bytes);
    }
    if (mayStartWith(bytes, V1Prefix)) {
        if (bytes.size() < V1Prefix.size())
            return {};
        return parseV1(bytes);
    }
    return invalid(u"no PROXY protocol header from a trusted proxy"_s);
}

} // namespace Natter
