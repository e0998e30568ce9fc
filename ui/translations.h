#pragma once

#include <QtGlobal>

QT_BEGIN_NAMESPACE
class QCoreApplication;
QT_END_NAMESPACE

namespace Natter {

/// Loads Natter's translation for the system's language into app, falling
/// back to English, whose file carries the plural forms of every "%n" string
/// ("1 member online", "2 members online"). Call once after the application
/// object exists.
void installTranslations(QCoreApplication *app);

} // namespace Natter
