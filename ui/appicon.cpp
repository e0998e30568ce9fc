#include "ui/appicon.h"

namespace Natter {

QIcon appIcon()
{
    QIcon icon;
    for (int size : {32, 64, 128, 256})
        icon.addFile(QStringLiteral(":/natter/icons/hicolor/%1x%1/apps/natter.png").arg(size),
                     QSize(size, size));
    return icon;
}

} // namespace Natter
