// libFuzzer: the bytes any client may send natterd after the WebSocket
// handshake. Besides not crashing, the reader must not care where the bytes
// were cut: read whole or in two pieces (cut where the first byte says), it
// gives the same messages and the same failure.
#include "server/websocketframes.h"

#include <QList>

#include <cstdint>
#include <cstdlib>

namespace {

struct Outcome
{
    QList<Natter::WebSocketFrameReader::Message> messages;
    std::optional<Natter::WebSocketFrameReader::Failure> failure;
};

Outcome readInPieces(QByteArrayView bytes, qsizetype cut)
{
    // Small enough that the fuzzer reaches the limit.
    Natter::WebSocketFrameReader reader(4096);
    Outcome outcome;
    const auto collect = [&outcome](Natter::WebSocketFrameReader::Message &&message) {
        outcome.messages.append(std::move(message));
        return true;
    };
    outcome.failure = reader.read(bytes.first(cut), collect);
    if (!outcome.failure)
        outcome.failure = reader.read(bytes.sliced(cut), collect);
    return outcome;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const QByteArrayView bytes(reinterpret_cast<const char *>(data) + 1, qsizetype(size) - 1);
    const qsizetype cut = std::min<qsizetype>(data[0], bytes.size());
    const Outcome whole = readInPieces(bytes, bytes.size());
    const Outcome pieces = readInPieces(bytes, cut);
    if (whole.failure.has_value() != pieces.failure.has_value() ||
        (whole.failure && whole.failure->code != pieces.failure->code))
        std::abort();
    if (whole.messages.size() != pieces.messages.size())
        std::abort();
    for (qsizetype i = 0; i < whole.messages.size(); ++i) {
        const auto &a = whole.messages[i];
        const auto &b = pieces.messages[i];
        if (a.opcode != b.opcode || a.payload != b.payload || a.closeCode != b.closeCode)
            std::abort();
        if (a.opcode == Natter::WebSocketFrames::Opcode::Text && !a.payload.isValidUtf8())
            std::abort();
    }
    return 0;
}
