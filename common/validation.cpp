#include "common/validation.h"

#include "common/protocol.h"

#include <QList>
#include <QStringList>
#include <QTextBoundaryFinder>

#include <algorithm>

using namespace Qt::StringLiterals;

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

/// In a file name: control and format characters, and line breaks. U+202E
/// would show "invoice\u202Efdp.sh" as "invoicehs.pdf". Spaces of every kind
/// stay allowed.
bool isDisguisingChar(QChar c)
{
    const QChar::Category category = c.category();
    return category == QChar::Other_Control || category == QChar::Other_Format ||
           category == QChar::Separator_Line || category == QChar::Separator_Paragraph;
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

bool isValidSha256(QStringView digest)
{
    if (digest.size() != 64)
        return false;
    return std::all_of(digest.begin(), digest.end(),
                       [](QChar c) { return (c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f'); });
}

bool isValidFileName(QStringView name)
{
    if (name.isEmpty() || textLength(name) > MaxFileNameLength || firstInvalidUnicode(name) >= 0)
        return false;
    return std::none_of(name.begin(), name.end(), isDisguisingChar);
}

QString shareableFileName(QStringView name)
{
    QString result;
    result.reserve(name.size());
    for (const QChar c : name) {
        if (!isDisguisingChar(c))
            result.append(c);
    }
    if (textLength(result) > MaxFileNameLength)
        result.truncate(MaxFileNameLength);
    if (result.isEmpty() || firstInvalidUnicode(result) >= 0)
        return u"file"_s;
    return result;
}

bool isValidMimeType(QStringView mime)
{
    if (mime.isEmpty() || mime.size() > MaxMimeTypeLength || mime.count(u'/') != 1 || mime.startsWith(u'/') ||
        mime.endsWith(u'/'))
        return false;
    return std::all_of(mime.begin(), mime.end(),
                       [](QChar c) { return c.unicode() > 0x20 && c.unicode() < 0x7f; });
}

QString safeFileName(QStringView name)
{
    QString safe;
    safe.reserve(name.size());
    for (qsizetype i = 0; i < name.size(); ++i) {
        const QChar c = name.at(i);
        if (c.isHighSurrogate() && i + 1 < name.size() && name.at(i + 1).isLowSurrogate()) {
            safe.append(c);
            safe.append(name.at(++i));
            continue;
        }
        if (c.isSurrogate())
            continue;
        const QChar::Category category = c.category();
        if (category == QChar::Other_Control || category == QChar::Other_Format ||
            category == QChar::Separator_Line || category == QChar::Separator_Paragraph)
            continue;
        // Separators and what Windows refuses in a name become '_'.
        if (c == u'/' || c == u'\\' || c == u':' || c == u'*' || c == u'?' || c == u'"' || c == u'<' ||
            c == u'>' || c == u'|')
            safe.append(u'_');
        else
            safe.append(c);
    }
    // No hidden files, no "..", no trailing dots or spaces (Windows drops them).
    while (!safe.isEmpty() && (safe.front() == u'.' || safe.front().isSpace()))
        safe.remove(0, 1);
    while (!safe.isEmpty() && (safe.back() == u'.' || safe.back().isSpace()))
        safe.chop(1);
    static const QStringList reserved = {u"CON"_s,  u"PRN"_s,  u"AUX"_s,  u"NUL"_s,  u"COM1"_s, u"COM2"_s,
                                         u"COM3"_s, u"COM4"_s, u"COM5"_s, u"COM6"_s, u"COM7"_s, u"COM8"_s,
                                         u"COM9"_s, u"LPT1"_s, u"LPT2"_s, u"LPT3"_s, u"LPT4"_s, u"LPT5"_s,
                                         u"LPT6"_s, u"LPT7"_s, u"LPT8"_s, u"LPT9"_s};
    const QString stem = safe.section(u'.', 0, 0).trimmed();
    if (reserved.contains(stem, Qt::CaseInsensitive))
        safe.prepend(u'_');
    constexpr qsizetype MaxSafeLength = 200;
    if (safe.size() > MaxSafeLength) {
        const qsizetype dot = safe.lastIndexOf(u'.');
        const QString extension = dot > 0 && safe.size() - dot <= 16 ? safe.mid(dot) : QString();
        qsizetype keep = MaxSafeLength - extension.size();
        if (keep > 0 && safe.at(keep - 1).isHighSurrogate())
            --keep;
        safe = safe.left(keep) + extension;
    }
    return safe.isEmpty() ? u"file"_s : safe;
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
