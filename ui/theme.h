#pragma once

#include <QObject>

namespace Natter {

Q_NAMESPACE

/// The app's colours: the platform's (as the desktop sets them), or
/// Natter's own light or dark palette on the Fusion style.
enum class Theme
{
    System,
    Light,
    Dark,
};
Q_ENUM_NS(Theme)

/// Applies theme to the whole application (every widget and delegate reads
/// the application palette). The platform's palette and style are kept from
/// the first call, so System always returns to them.
void applyTheme(Theme theme);

/// "system", "light", "dark" and back, for the settings file.
QString themeName(Theme theme);
Theme themeFromName(const QString &name);

} // namespace Natter
