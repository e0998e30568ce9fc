#include "ui/messagepalette.h"

#include <algorithm>
#include <cmath>

namespace Natter::MessagePalette {

QColor mix(const QColor &a, const QColor &b, double amountOfB)
{
    return QColor::fromRgbF(float(a.redF() * (1 - amountOfB) + b.redF() * amountOfB),
                            float(a.greenF() * (1 - amountOfB) + b.greenF() * amountOfB),
                            float(a.blueF() * (1 - amountOfB) + b.blueF() * amountOfB));
}

bool isDark(const QPalette &palette)
{
    return palette.color(QPalette::Base).lightnessF() < 0.5;
}

double contrastRatio(const QColor &a, const QColor &b)
{
    // WCAG 2 relative luminance and contrast ratio.
    auto luminance = [](const QColor &c) {
        auto channel = [](double v) { return v <= 0.03928 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF());
    };
    const double la = luminance(a);
    const double lb = luminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

BubbleColors bubbleColors(const QPalette &palette, bool own)
{
    BubbleColors colors;
    const QColor base = palette.color(QPalette::Base);
    const QColor text = palette.color(QPalette::Text);
    if (own) {
        colors.background = palette.color(QPalette::Highlight);
        // Some themes pair a light highlight with white text. Keep the theme's
        // colours and deepen (or lighten) the bubble a few steps until the text
        // reads well (white on blue stays white on blue); failing that, black
        // or white text on the theme's highlight, whichever reads better.
        colors.text = palette.color(QPalette::HighlightedText);
        const bool lightText = colors.text.lightnessF() > 0.5;
        for (int step = 0; step < 8 && contrastRatio(colors.text, colors.background) < 4.5; ++step)
            colors.background = lightText ? colors.background.darker(110) : colors.background.lighter(110);
        if (contrastRatio(colors.text, colors.background) < 4.5) {
            colors.background = palette.color(QPalette::Highlight);
            const QColor black(Qt::black);
            const QColor white(Qt::white);
            colors.text = contrastRatio(black, colors.background) >= contrastRatio(white, colors.background)
                              ? black
                              : white;
        }
        colors.link = colors.text;
    } else {
        colors.background = mix(base, text, isDark(palette) ? 0.14 : 0.07);
        colors.text = text;
        colors.link = palette.color(QPalette::Link);
        if (contrastRatio(colors.link, colors.background) < 4.5)
            colors.link = isDark(palette) ? QColor(0x8a, 0xb4, 0xf8) : QColor(0x0b, 0x57, 0xd0);
    }
    colors.secondary = mix(colors.background, colors.text, 0.72);
    return colors;
}

QColor senderColor(const QString &email, const QPalette &palette)
{
    // FNV-1a: the same colour for a person in every run and on every computer
    // (qHash is seeded per process).
    quint32 hash = 2166136261u;
    for (QChar c : email) {
        hash ^= c.unicode();
        hash *= 16777619u;
    }
    const int hue = int(hash % 360);
    // Lighter on dark backgrounds, darker on light ones, for contrast either way.
    return isDark(palette) ? QColor::fromHsl(hue, 170, 175) : QColor::fromHsl(hue, 200, 85);
}

QColor failedColor(const QPalette &palette)
{
    return isDark(palette) ? QColor(0xff, 0x8a, 0x80) : QColor(0xc6, 0x28, 0x28);
}

QColor mentionBackground(const QPalette &palette)
{
    // Amber, faint enough that the text keeps its contrast on it.
    return isDark(palette) ? QColor(0x4a, 0x3b, 0x12) : QColor(0xff, 0xf4, 0xd1);
}

QColor mentionEdge(const QPalette &palette)
{
    return isDark(palette) ? QColor(0xf2, 0xb8, 0x2e) : QColor(0xd9, 0x8e, 0x04);
}

QColor chipBackground(const QPalette &palette, bool mine)
{
    const QColor base = palette.color(QPalette::Base);
    return mine ? mix(base, palette.color(QPalette::Highlight), isDark(palette) ? 0.35 : 0.18)
                : mix(base, palette.color(QPalette::Text), isDark(palette) ? 0.12 : 0.05);
}

QColor chipOutline(const QPalette &palette, bool mine)
{
    const QColor base = palette.color(QPalette::Base);
    return mine ? palette.color(QPalette::Highlight) : mix(base, palette.color(QPalette::Text), 0.22);
}

QColor newMessagesColor(const QPalette &palette)
{
    return failedColor(palette);
}

} // namespace Natter::MessagePalette
