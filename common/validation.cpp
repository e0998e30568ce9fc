#include "common/validation.h"

#include "common/protocol.h"

#include <QList>
#include <QTextBoundaryFinder>

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

/// Characters that change how text around them looks without being seen
/// themselves, or break lines: U+202E (right-to-left override), U+200B (zero
/// width space), U+2028 (line separator), control characters, and halves of
/// surrogate pairs. Spaces other than U+0020 are refused too when asked.
bool hasInvisibleCharacter(QStringView text, bool allowPlainSpace)
{
    for (qsizetype i = 0; i < text.size(); ++i) {
        char32_t c = text.at(i).unicode();
        if (QChar::isHighSurrogate(c)) {
            if (i + 1 >= text.size() || !text.at(i + 1).isLowSurrogate())
                return true;
            c = QChar::surrogateToUcs4(text.at(i).unicode(), text.at(i + 1).unicode());
            ++i;
        } else if (QChar::isLowSurrogate(c)) {
            return true;
        }
        switch (QChar::category(c)) {
        case QChar::Other_Control:
        case QChar::Other_Format:
        case QChar::Separator_Line:
        case QChar::Separator_Paragraph:
            return true;
        case QChar::Separator_Space:
            if (!allowPlainSpace || c != U' ')
                return true;
            break;
        default:
            break;
        }
    }
    return false;
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
        if (c.isSpace())
            return false;
    }
    return !hasInvisibleCharacter(email, false);
}

QString displayableEmail(QStringView email)
{
    // Look-alike letters (a Cyrillic "а" for a Latin "a") are shown as what they are.
    QString shown;
    bool foreign = false;
    for (const uint c : email.toUcs4()) {
        if (c < 0x80) {
            shown.append(QChar(c));
        } else {
            foreign = true;
            shown.append(QStringLiteral("[U+%1]").arg(quint32(c), 4, 16, QLatin1Char('0')).toUpper());
        }
    }
    return foreign ? shown : email.toString();
}

QString normalizedEmail(QStringView email)
{
    return email.toString().toLower();
}

QString normalizedRoom(QStringView room)
{
    return room.trimmed().toString().toLower();
}

bool isValidDisplayName(QStringView name)
{
    const QStringView trimmed = name.trimmed();
    if (trimmed.isEmpty() || trimmed.size() > MaxDisplayNameLength)
        return false;
    return !hasInvisibleCharacter(trimmed, true);
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

qsizetype firstInvalidUnicode(QStringView text)
{
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (c.isHighSurrogate()) {
            if (i + 1 == text.size() || !text[i + 1].isLowSurrogate())
                return i;
            ++i;
        } else if (c.isLowSurrogate()) {
            return i;
        }
    }
    return -1;
}

qsizetype textLength(QStringView text)
{
    qsizetype pairs = 0;
    for (qsizetype i = 0; i + 1 < text.size(); ++i) {
        if (text[i].isHighSurrogate() && text[i + 1].isLowSurrogate()) {
            ++pairs;
            ++i;
        }
    }
    return text.size() - pairs;
}

bool isBlank(QStringView text)
{
    return text.trimmed().isEmpty();
}

bool isValidEmoji(QStringView emoji)
{
    constexpr qsizetype MaxBytes = Protocol::MaxEmojiBytes;
    if (emoji.isEmpty() || emoji.size() > MaxBytes || firstInvalidUnicode(emoji) >= 0 ||
        emoji.toUtf8().size() > MaxBytes)
        return false;
    QTextBoundaryFinder graphemes(QTextBoundaryFinder::Grapheme, emoji.data(), emoji.size());
    if (graphemes.toNextBoundary() != emoji.size())
        return false; // more than one character
    const QList<uint> codePoints = emoji.toUcs4();
    const char32_t first = codePoints.constFirst();
    bool keycap = false;
    for (const uint c : codePoints.sliced(1)) {
        keycap = keycap || c == 0x20E3;
        // Joiners, variation selectors and tag characters build emoji; other
        // invisible characters only hide things.
        const bool builds = c == 0x200D || (c >= 0xE0020 && c <= 0xE007F);
        if (QChar::category(c) == QChar::Other_Format && !builds)
            return false;
    }
    if (keycap) // 1️⃣, #️⃣, *️⃣
        return (first >= u'0' && first <= u'9') || first == u'#' || first == u'*';
    return QChar::category(first) == QChar::Symbol_Other;
}

} // namespace Natter::Validation
