#pragma once

#include <QString>

namespace Natter {

/// "Start Natter when I sign in", through the desktop's own mechanism: an
/// XDG autostart entry on Linux and other Unix desktops, the Run key on
/// Windows, a LaunchAgent on macOS. Nothing is kept anywhere else: the entry
/// existing is the setting.
class Autostart final
{
public:
    /// Whether the entry for this user exists now.
    static bool isEnabled();
    /// Creates the entry starting program (an absolute path), or removes it.
    /// On failure returns false and says why in *error.
    static bool setEnabled(bool enabled, const QString &program, QString *error);
    /// Where the entry lives (a file, or the registry value's key on Windows).
    static QString location();
};

} // namespace Natter
