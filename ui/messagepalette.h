#pragma once

#include <QColor>
#include <QPalette>

namespace Natter {

/// The colours of the message view, derived from the theme's palette and
/// adjusted wherever they would not be readable (WCAG 2 contrast: 4.5 for
/// text, 3 for secondary text). Every colour the delegate paints comes from
/// here, so a theme is checked in one place.
namespace MessagePalette {

/// The colours of a bubble (own: the accent colour; others': a tint of the base).
struct BubbleColors
{
    QColor background;
    QColor text;
    QColor secondary; ///< time, delivery state, "edited", a tombstone's words
    QColor link;
};
BubbleColors bubbleColors(const QPalette &palette, bool own);

/// WCAG 2 contrast ratio of two colours (1 to 21).
double contrastRatio(const QColor &a, const QColor &b);
/// A readable colour for a person's name, stable per email on every computer.
QColor senderColor(const QString &email, const QPalette &palette);
/// a blended towards b by amountOfB (0 to 1).
QColor mix(const QColor &a, const QColor &b, double amountOfB);
bool isDark(const QPalette &palette);
/// "Not sent · Retry".
QColor failedColor(const QPalette &palette);
/// A warm tint behind a message that mentions the reader, and its edge.
QColor mentionBackground(const QPalette &palette);
QColor mentionEdge(const QPalette &palette);
/// A reaction chip: its fill and outline, highlighted when the reader reacted.
QColor chipBackground(const QPalette &palette, bool mine);
QColor chipOutline(const QPalette &palette, bool mine);
/// The "New messages" divider at the read marker.
QColor newMessagesColor(const QPalette &palette);

} // namespace MessagePalette
} // namespace Natter
