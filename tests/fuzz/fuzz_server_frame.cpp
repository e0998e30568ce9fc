// libFuzzer: what any server may send a client (the app reads these).
#include "common/codec.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray bytes(reinterpret_cast<const char *>(data), qsizetype(size));
    const auto decoded = Natter::Codec::decodeServerFrame(bytes);
    if (decoded.isOk())
        (void)Natter::Codec::encodeServerFrame(decoded.value());
    return 0;
}
