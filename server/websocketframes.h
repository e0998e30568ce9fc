#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <QWebSocketProtocol>

#include <optional>

namespace Natter {

/// Builds the frames a server sends (RFC 6455 §5.2): unmasked and unfragmented.
namespace WebSocketFrames {

/// A frame's opcode (RFC 6455 §5.2); Qt keeps its own list private.
enum class Opcode : quint8
{
    Continue = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xa,
};

/// A frame with FIN set and this opcode around payload.
QByteArray serverFrame(Opcode opcode, QByteArrayView payload);
/// A close frame: the code, then the reason cut to the 123 bytes a control frame has room for.
/// (A number, not QWebSocketProtocol::CloseCode: peers may use codes that enum cannot hold, 3000-4999.)
QByteArray closeFrame(quint16 code, const QString &reason);

} // namespace WebSocketFrames

/// Reads what a client sends on a WebSocket after the handshake (RFC 6455
/// §5–§7): frames are unmasked, fragments joined into messages, and control
/// frames handed over as they come, also between the fragments of a message.
///
/// Everything a client may get wrong ends reading with a Failure that names
/// the close code to answer with: frames not masked, reserved bits or
/// opcodes, control frames fragmented or over 125 bytes, a continuation
/// without a start or a new message inside one, a message over the limit
/// (refused as soon as its length is read, before its bytes arrive), text
/// that is not UTF-8, and a malformed close frame. After a failure the
/// reader refuses everything.
///
/// Only what does not make a whole frame yet is copied and kept; the usual
/// read holds whole frames and is parsed where it lies.
class WebSocketFrameReader
{
public:
    struct Message
    {
        /// Text, Binary, Ping, Pong or Close (never Continue).
        WebSocketFrames::Opcode opcode = WebSocketFrames::Opcode::Text;
        /// Text as UTF-8 (checked), binary data, a ping's or pong's payload, or a close's reason.
        QByteArray payload;
        /// A close frame's code (1005, CloseCodeMissingStatusCode, when it had none): a
        /// number, as 3000-4999 are beyond what QWebSocketProtocol::CloseCode may hold.
        quint16 closeCode = QWebSocketProtocol::CloseCodeMissingStatusCode;
    };

    struct Failure
    {
        QWebSocketProtocol::CloseCode code;
        QString reason;
    };

    /// maxMessageBytes bounds one frame and one whole message alike.
    explicit WebSocketFrameReader(qint64 maxMessageBytes);

    /// Reads bytes (what arrived now, after what was kept from before) and
    /// calls onMessage(Message &&) for each whole message until it returns
    /// false (the rest is dropped: the connection stops reading). Returns the
    /// failure that ended reading, now or before.
    template<typename OnMessage>
    std::optional<Failure> read(QByteArrayView bytes, OnMessage &&onMessage);

    /// Bytes kept between reads: a frame not whole yet, and a fragmented message's parts.
    qsizetype keptBytes() const { return m_partial.size() + m_fragments.size(); }

private:
    enum class Step
    {
        NeedMore, ///< no whole frame at the start of the data
        Frame,    ///< a frame was read; a message may be ready
        Failed,
    };
    /// Reads at most one frame from the start of data; says how many bytes it took.
    Step step(QByteArrayView data, qsizetype *taken, Message *message, bool *messageReady);
    Step fail(QWebSocketProtocol::CloseCode code, const QString &reason);

    qint64 m_maxMessageBytes;
    QByteArray m_partial;   ///< the start of a frame that is not whole yet
    QByteArray m_fragments; ///< the parts so far of a fragmented message
    WebSocketFrames::Opcode m_fragmentedOpcode = WebSocketFrames::Opcode::Continue; ///< Continue: none
    std::optional<Failure> m_failure;
};

template<typename OnMessage>
std::optional<WebSocketFrameReader::Failure> WebSocketFrameReader::read(QByteArrayView bytes,
                                                                        OnMessage &&onMessage)
{
    if (m_failure)
        return m_failure;
    QByteArrayView data = bytes;
    if (!m_partial.isEmpty()) {
        m_partial.append(bytes);
        data = m_partial;
    }
    qsizetype offset = 0;
    for (;;) {
        qsizetype taken = 0;
        Message message;
        bool ready = false;
        const Step result = step(data.sliced(offset), &taken, &message, &ready);
        if (result == Step::Failed) {
            m_partial.clear();
            return m_failure;
        }
        if (result == Step::NeedMore)
            break;
        offset += taken;
        if (ready && !onMessage(std::move(message))) {
            m_partial.clear();
            return std::nullopt;
        }
    }
    if (data.data() == m_partial.constData()) {
        m_partial.remove(0, offset);
    } else if (offset < data.size()) {
        m_partial = data.sliced(offset).toByteArray();
    }
    return std::nullopt;
}

} // namespace Natter
