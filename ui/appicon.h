#pragma once

#include <QIcon>

namespace Natter {

/// Natter's icon (window, tray, dialogs), from the resources built into ui/.
QIcon appIcon();

} // namespace Natter
