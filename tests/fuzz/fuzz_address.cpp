// libFuzzer: what a person types or pastes as a server address or invite link.
#include "common/invitelink.h"
#include "common/serveraddress.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QString text = QString::fromUtf8(reinterpret_cast<const char *>(data), qsizetype(size));
    (void)Natter::serverUrlFromAddress(text);
    if (const auto link = Natter::InviteLink::parse(text))
        (void)Natter::InviteLink::parse(link->toString());
    return 0;
}
