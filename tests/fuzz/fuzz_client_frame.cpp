// libFuzzer: what any client may send the server. A frame that decodes must
// encode and decode again to a frame (the codec never makes what it refuses).
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
    return 0;
}
