// libFuzzer: the bytes a trusted proxy's connection starts with. Besides not
// crashing, the verdict must not depend on where the bytes were cut: a
// header found whole is asked more of at every shorter prefix, and is found
// the same with anything after it.
#include "server/proxyheader.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView bytes(reinterpret_cast<const char *>(data), qsizetype(size));
    const Natter::ProxyHeader whole = Natter::ProxyHeader::parse(bytes);
    if (whole.status != Natter::ProxyHeader::Status::Complete)
        return 0;
    if (whole.length <= 0 || whole.length > bytes.size() || whole.length > Natter::ProxyHeader::MaxLength)
        std::abort();
    const QByteArrayView header = bytes.first(whole.length);
    const Natter::ProxyHeader exact = Natter::ProxyHeader::parse(header);
    if (exact.status != whole.status || exact.length != whole.length || exact.source != whole.source ||
        exact.sourcePort != whole.sourcePort)
        std::abort();
    for (qsizetype cut = 0; cut < header.size(); ++cut) {
        if (Natter::ProxyHeader::parse(header.first(cut)).status != Natter::ProxyHeader::Status::NeedMore)
            std::abort();
    }
    return 0;
}
