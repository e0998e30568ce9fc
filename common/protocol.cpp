#include "common/protocol.h"

#include <array>

namespace Natter::Protocol {

namespace {

// Indexed by ErrorCode; append only, like the enum.
constexpr std::array<QLatin1String, 43> ErrorCodeNames{
    QLatin1String("bad_json"),
    QLatin1String("bad_frame"),
    QLatin1String("unknown_type"),
    QLatin1String("bad_field"),
    QLatin1String("not_authenticated"),
    QLatin1String("already_authenticated"),
    QLatin1String("unsupported_protocol"),
    QLatin1String("bad_name"),
    QLatin1String("bad_email"),
    QLatin1String("bad_room"),
    QLatin1String("not_in_room"),
    QLatin1String("bad_text"),
    QLatin1String("text_too_long"),
    QLatin1String("rate_limited"),
    QLatin1String("binary_not_supported"),
    QLatin1String("internal_error"),
    QLatin1String("too_many_rooms"),
    QLatin1String("credentials_required"),
    QLatin1String("bad_credentials"),
    QLatin1String("too_many_attempts"),
    QLatin1String("invite_required"),
    QLatin1String("registration_closed"),
    QLatin1String("account_disabled"),
    QLatin1String("weak_password"),
    QLatin1String("not_a_member"),
    QLatin1String("not_room_owner"),
    QLatin1String("room_exists"),
    QLatin1String("no_such_user"),
    QLatin1String("inbox_full"),
    QLatin1String("storage_full"),
    QLatin1String("no_such_message"),
    QLatin1String("not_allowed"),
    QLatin1String("bad_emoji"),
    QLatin1String("too_many_reactions"),
    QLatin1String("bad_query"),
    QLatin1String("file_too_large"),
    QLatin1String("quota_exceeded"),
    QLatin1String("too_many_uploads"),
    QLatin1String("no_such_upload"),
    QLatin1String("size_mismatch"),
    QLatin1String("checksum_mismatch"),
    QLatin1String("no_such_file"),
    QLatin1String("bad_thumbnail"),
};
static_assert(ErrorCodeNames.size() == std::size_t(LastErrorCode) + 1, "every error code needs a wire name");

} // namespace

QString errorCodeName(ErrorCode code)
{
    return ErrorCodeNames.at(std::size_t(code));
}

std::optional<ErrorCode> errorCodeFromName(QStringView name)
{
    for (std::size_t i = 0; i < ErrorCodeNames.size(); ++i) {
        if (name == ErrorCodeNames[i])
            return ErrorCode(i);
    }
    return std::nullopt;
}

} // namespace Natter::Protocol
