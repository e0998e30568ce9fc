#include "validation.h"

namespace Natter::Validation {

namespace {

bool isRoomLeadChar(QChar c)
{
    return (c >= u'a' && c <= u'z') || (c >= u'0' && c <= u'9');
}

bool isRoomChar(QChar c)
{
    return isRoomLeadChar(c) || c == u'-' || c == u'_' || c == u'.';
}

} // namespace

bool isValidRoomName(QStringView room)
{
    if (room.isEmpty() || room.size() > MaxRoomNameLength || !isRoomLeadChar(room.front()))
        return false;
    for (QChar c : room) {
        if (!isRoomChar(c))
            return false;
    }
    return true;
}

bool isValidEmail(QStringView email)
{
    if (email.size() < 3 || email.size() > MaxEmailLength)
        return false;
    const qsizetype at = email.indexOf(u'@');
    if (at <= 0 || at == email.size() - 1 || email.indexOf(u'@', at + 1) != -1)
        return false;
    for (QChar c : email) {
        if (c.isSpace() || c.category() == QChar::Other_Control)
            return false;
    }
    return true;
}

QString normalizedEmail(QStringView email)
{
    return email.toString().toLower();
}

bool isValidDisplayName(QStringView name)
{
    const QStringView trimmed = name.trimmed();
    if (trimmed.isEmpty() || trimmed.size() > MaxDisplayNameLength)
        return false;
    for (QChar c : trimmed) {
        if (c.category() == QChar::Other_Control)
            return false;
    }
    return true;
}

bool isValidClientId(QStringView clientId)
{
    if (clientId.isEmpty() || clientId.size() > MaxClientIdLength)
        return false;
    for (QChar c : clientId) {
        if (c.unicode() < 0x21 || c.unicode() > 0x7e)
            return false;
    }
    return true;
}

qsizetype textLength(QStringView text)
{
    qsizetype lowSurrogates = 0;
    for (QChar c : text) {
        if (c.isLowSurrogate())
            ++lowSurrogates;
    }
    return text.size() - lowSurrogates;
}

bool isBlank(QStringView text)
{
    return text.trimmed().isEmpty();
}

} // namespace Natter::Validation
