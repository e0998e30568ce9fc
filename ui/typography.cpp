#include "ui/typography.h"

#include <algorithm>

namespace Natter {

QFont scaledFont(const QFont &base, qreal scale, bool bold)
{
    QFont font = base;
    if (base.pointSizeF() > 0)
        font.setPointSizeF(std::max(6.0, base.pointSizeF() * scale));
    else if (base.pixelSize() > 0)
        font.setPixelSize(std::max(8, qRound(base.pixelSize() * scale)));
    font.setBold(bold);
    return font;
}

} // namespace Natter
