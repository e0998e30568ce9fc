#include "ui/emoji.h"

#include <QFontDatabase>

#include <algorithm>

namespace Natter::Emoji {

namespace {

/// A code point that is an emoji by itself (in emoji presentation, or commonly meant so).
bool startsEmoji(char32_t c)
{
    return (c >= 0x1F000 && c <= 0x1FAFF) || // pictographs, emoticons, transport, symbols, flags
           (c >= 0x2600 && c <= 0x27BF) ||   // miscellaneous symbols, dingbats (☕ ❤ ✔)
           (c >= 0x2B00 && c <= 0x2BFF) ||   // arrows and stars (⭐ ⬆)
           (c >= 0x2300 && c <= 0x23FF) ||   // technical (⌚ ⏰)
           c == 0x3030 || c == 0x303D || c == 0x3297 || c == 0x3299;
}

/// A code point that continues an emoji sequence.
bool continuesEmoji(char32_t c)
{
    return c == 0x200D ||                    // zero-width joiner
           c == 0xFE0F ||                    // emoji presentation selector
           c == 0x20E3 ||                    // keycap
           (c >= 0x1F3FB && c <= 0x1F3FF) || // skin tones
           (c >= 0xE0020 && c <= 0xE007F);   // tag sequences (flags of regions)
}

} // namespace

QString family()
{
    static const QString found = [] {
        for (const QString &candidate :
             {QStringLiteral("Noto Color Emoji"), QStringLiteral("Apple Color Emoji"),
              QStringLiteral("Segoe UI Emoji"), QStringLiteral("Twemoji")}) {
            if (QFontDatabase::hasFamily(candidate))
                return candidate;
        }
        return QString();
    }();
    return found;
}

QFont font(const QFont &base)
{
    const QString emoji = family();
    if (emoji.isEmpty())
        return base;
    QFont font = base;
    font.setFamilies({emoji, base.family()});
    return font;
}

QList<Run> runs(const QString &text)
{
    QList<Run> found;
    // Most messages have none: no code unit that can start or make one, no work.
    const bool maybe = std::any_of(text.cbegin(), text.cend(), [](QChar c) { return c.unicode() >= 0x2300; });
    if (!maybe)
        return found;
    const auto points = text.toUcs4();
    int at = 0; // UTF-16 offset of points[i]
    qsizetype i = 0;
    while (i < points.size()) {
        const char32_t c = points.at(i);
        const int width = c > 0xFFFF ? 2 : 1;
        // An emoji, or a character made one by the presentation selector after it (©️ 1️⃣).
        const bool selected = i + 1 < points.size() && points.at(i + 1) == 0xFE0F;
        if (!startsEmoji(c) && !selected) {
            at += width;
            ++i;
            continue;
        }
        Run run{at, 0};
        run.length = width;
        ++i;
        while (i < points.size()) {
            const char32_t p = points.at(i);
            const char32_t previous = points.at(i - 1);
            const bool regionalPair =
                p >= 0x1F1E6 && p <= 0x1F1FF && previous >= 0x1F1E6 && previous <= 0x1F1FF;
            if (!continuesEmoji(p) && previous != 0x200D && !regionalPair)
                break;
            run.length += p > 0xFFFF ? 2 : 1;
            ++i;
        }
        at += run.length;
        found.append(run);
    }
    return found;
}

} // namespace Natter::Emoji
