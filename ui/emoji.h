#pragma once

#include <QFont>
#include <QList>
#include <QString>

/// Emoji in colour everywhere. The text font (DejaVu Sans, say) has
/// monochrome glyphs for some emoji (❤ ☺ ✔ ☕), so font fallback alone mixes
/// black glyphs with colour ones; emoji runs name the colour emoji font
/// explicitly instead.
namespace Natter::Emoji {

/// The colour emoji font this computer has ("Noto Color Emoji"), or empty.
QString family();

/// base, asking for the colour emoji font first (base itself without one).
QFont font(const QFont &base);

struct Run
{
    int start = 0;
    int length = 0;
    friend bool operator==(const Run &, const Run &) = default;
};

/// Where text has emoji (with their modifiers, joiners and variation selectors), in UTF-16 units.
QList<Run> runs(const QString &text);

} // namespace Natter::Emoji
