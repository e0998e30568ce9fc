// libFuzzer: what any client may send the server. A frame that decodes must
// encode and decode again to a frame (the codec never makes what it refuses),
// and what the hot path reads, the general parser reads the same.
#include "common/codec.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray bytes(reinterpret_cast<const char *>(data), qsizetype(size));
    const auto decoded = Natter::Codec::decodeClientFrame(bytes);
    if (decoded.isOk() &&
        !Natter::Codec::decodeClientFrame(Natter::Codec::encodeClientFrame(decoded.value())).isOk())
        std::abort();
    // The hot path reads only what the general parser reads, and the same.
    if (const auto hot = Natter::Codec::decodeHotClientFrame(bytes)) {
        const auto general = Natter::Codec::decodeClientFrameGeneral(bytes);
        if (!general.isOk() ||
            Natter::Codec::encodeClientFrame(*hot) != Natter::Codec::encodeClientFrame(general.value()))
            std::abort();
    }
    return 0;
}
