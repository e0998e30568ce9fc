#pragma once

#include <QFont>

namespace Natter {

/// The app's type scale. Every size is the platform font's times one of
/// these, so the user's font and the screen's scale change everything alike.
namespace TypeScale {
inline constexpr qreal Title = 1.2; ///< a conversation's name in its header, the chat's name
inline constexpr qreal Body = 1.0;  ///< messages, names, conversations, members
inline constexpr qreal Meta = 0.85; ///< times, previews, subtitles, section labels, the typing line
inline constexpr qreal Badge = 0.8; ///< unread counts
} // namespace TypeScale

/// base at one of TypeScale's sizes (point or pixel sized alike), bold or not.
QFont scaledFont(const QFont &base, qreal scale, bool bold = false);

} // namespace Natter
