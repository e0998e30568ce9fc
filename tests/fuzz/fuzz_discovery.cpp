// libFuzzer: any datagram on the LAN discovery port, as a query and as an answer.
#include "common/discovery.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray bytes(reinterpret_cast<const char *>(data), qsizetype(size));
    (void)Natter::Discovery::decodeQuery(bytes);
    if (const auto announcement = Natter::Discovery::decodeAnnouncement(bytes)) {
        // What would be announced again stays within its bound, and reads back.
        const QByteArray again = Natter::Discovery::encodeAnnouncement(*announcement);
        if (again.size() > Natter::Discovery::MaxAnnouncementBytes ||
            !Natter::Discovery::decodeAnnouncement(again))
            std::abort();
    }
    return 0;
}
