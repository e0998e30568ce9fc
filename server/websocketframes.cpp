#include "server/websocketframes.h"

#include <QtEndian>

#include <cstring>

using namespace Qt::StringLiterals;

namespace Natter {

using WebSocketFrames::Opcode;

namespace {

/// The largest payload of a control frame (RFC 6455 §5.5).
constexpr qsizetype MaxControlPayload = 125;

bool isControl(Opcode opcode)
{
    return (quint8(opcode) & 0x8) != 0;
}

/// A close code a peer may send (RFC 6455 §7.4; 1012–1014 registered since).
bool isValidCloseCode(quint16 code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/// Copies length bytes from in to out, undoing the client's mask; eight at a time where it can.
void unmask(const char *in, qsizetype length, const char *mask, char *out)
{
    quint64 wide;
    char spread[8];
    for (int i = 0; i < 8; ++i)
        spread[i] = mask[i % 4];
    std::memcpy(&wide, spread, 8);
    qsizetype i = 0;
    for (; i + 8 <= length; i += 8) {
        quint64 word;
        std::memcpy(&word, in + i, 8);
        word ^= wide;
        std::memcpy(out + i, &word, 8);
    }
    for (; i < length; ++i)
        out[i] = char(in[i] ^ mask[i % 4]);
}

} // namespace

QByteArray WebSocketFrames::serverFrame(Opcode opcode, QByteArrayView payload)
{
    const quint64 length = quint64(payload.size());
    QByteArray frame;
    frame.reserve(payload.size() + 10);
    frame.append(char(0x80 | quint8(opcode))); // FIN
    if (length < 126) {
        frame.append(char(length));
    } else if (length <= 0xffff) {
        frame.append(char(126));
        frame.append(char(length >> 8));
        frame.append(char(length & 0xff));
    } else {
        frame.append(char(127));
        for (int shift = 56; shift >= 0; shift -= 8)
            frame.append(char((length >> shift) & 0xff));
    }
    frame.append(payload);
    return frame;
}

QByteArray WebSocketFrames::closeFrame(quint16 code, const QString &reason)
{
    QByteArray payload(2, Qt::Uninitialized);
    qToBigEndian(code, payload.data());
    QByteArray utf8 = reason.toUtf8();
    if (utf8.size() > MaxControlPayload - 2) {
        // Cut between characters, not inside one.
        qsizetype end = MaxControlPayload - 2;
        while (end > 0 && (quint8(utf8[end]) & 0xc0) == 0x80)
            --end;
        utf8.truncate(end);
    }
    payload.append(utf8);
    return serverFrame(Opcode::Close, payload);
}

WebSocketFrameReader::WebSocketFrameReader(qint64 maxMessageBytes)
    : m_maxMessageBytes(maxMessageBytes)
{}

WebSocketFrameReader::Step WebSocketFrameReader::fail(QWebSocketProtocol::CloseCode code,
                                                      const QString &reason)
{
    m_failure = Failure{code, reason};
    m_fragments.clear();
    return Step::Failed;
}

WebSocketFrameReader::Step WebSocketFrameReader::step(QByteArrayView data, qsizetype *taken, Message *message,
                                                      bool *messageReady)
{
    if (data.size() < 2)
        return Step::NeedMore;
    const auto first = quint8(data[0]);
    const auto second = quint8(data[1]);
    const bool fin = (first & 0x80) != 0;
    const auto opcode = Opcode(first & 0x0f);
    if ((first & 0x70) != 0)
        return fail(QWebSocketProtocol::CloseCodeProtocolError, u"reserved bits set without an extension"_s);
    switch (opcode) {
    case Opcode::Continue:
    case Opcode::Text:
    case Opcode::Binary:
    case Opcode::Close:
    case Opcode::Ping:
    case Opcode::Pong:
        break;
    default:
        return fail(QWebSocketProtocol::CloseCodeProtocolError, u"unknown opcode %1"_s.arg(quint8(opcode)));
    }
    if ((second & 0x80) == 0)
        return fail(QWebSocketProtocol::CloseCodeProtocolError, u"a client's frames must be masked"_s);

    quint64 length = second & 0x7f;
    qsizetype header = 2;
    if (length == 126) {
        if (data.size() < 4)
            return Step::NeedMore;
        length = qFromBigEndian<quint16>(data.data() + 2);
        header = 4;
    } else if (length == 127) {
        if (data.size() < 10)
            return Step::NeedMore;
        length = qFromBigEndian<quint64>(data.data() + 2);
        header = 10;
        if ((length >> 63) != 0)
            return fail(QWebSocketProtocol::CloseCodeProtocolError, u"a frame length with its top bit set"_s);
    }

    const bool control = isControl(opcode);
    if (control) {
        if (!fin)
            return fail(QWebSocketProtocol::CloseCodeProtocolError, u"a fragmented control frame"_s);
        if (length > quint64(MaxControlPayload))
            return fail(QWebSocketProtocol::CloseCodeProtocolError,
                        u"a control frame of more than 125 bytes"_s);
    } else {
        if (opcode == Opcode::Continue && m_fragmentedOpcode == Opcode::Continue)
            return fail(QWebSocketProtocol::CloseCodeProtocolError,
                        u"a continuation frame without a message to continue"_s);
        if (opcode != Opcode::Continue && m_fragmentedOpcode != Opcode::Continue)
            return fail(QWebSocketProtocol::CloseCodeProtocolError,
                        u"a new message before the last one's final fragment"_s);
        // Refused from the header, before its bytes are waited for.
        const quint64 before = opcode == Opcode::Continue ? quint64(m_fragments.size()) : 0;
        if (length > quint64(m_maxMessageBytes) - before)
            return fail(QWebSocketProtocol::CloseCodeTooMuchData,
                        u"a message of more than %1 bytes"_s.arg(m_maxMessageBytes));
    }

    const qsizetype whole = header + 4 + qsizetype(length);
    if (data.size() < whole)
        return Step::NeedMore;
    *taken = whole;
    const char *mask = data.data() + header;
    const char *masked = mask + 4;
    const auto size = qsizetype(length);

    if (opcode == Opcode::Continue) {
        const qsizetype at = m_fragments.size();
        m_fragments.resize(at + size);
        unmask(masked, size, mask, m_fragments.data() + at);
        if (!fin)
            return Step::Frame;
        message->opcode = std::exchange(m_fragmentedOpcode, Opcode::Continue);
        message->payload = std::exchange(m_fragments, {});
    } else {
        QByteArray payload(size, Qt::Uninitialized);
        unmask(masked, size, mask, payload.data());
        if (!fin) {
            m_fragmentedOpcode = opcode;
            m_fragments = std::move(payload);
            return Step::Frame;
        }
        message->opcode = opcode;
        message->payload = std::move(payload);
    }

    if (message->opcode == Opcode::Text && !message->payload.isValidUtf8())
        return fail(QWebSocketProtocol::CloseCodeWrongDatatype, u"text that is not UTF-8"_s);
    if (message->opcode == Opcode::Close && !message->payload.isEmpty()) {
        if (message->payload.size() < 2)
            return fail(QWebSocketProtocol::CloseCodeProtocolError, u"a close frame of one byte"_s);
        const auto code = qFromBigEndian<quint16>(message->payload.constData());
        if (!isValidCloseCode(code))
            return fail(QWebSocketProtocol::CloseCodeProtocolError,
                        u"close code %1 is not one to send"_s.arg(code));
        message->closeCode = code;
        message->payload.remove(0, 2);
        if (!message->payload.isValidUtf8())
            return fail(QWebSocketProtocol::CloseCodeWrongDatatype, u"a close reason that is not UTF-8"_s);
    }
    *messageReady = true;
    return Step::Frame;
}

} // namespace Natter
