#pragma once

#include <QLoggingCategory>
#include <QString>

Q_DECLARE_LOGGING_CATEGORY(lcNatterServer)
Q_DECLARE_LOGGING_CATEGORY(lcNatterStore)

namespace Natter {

/// A string from outside (a header, a name) as a log may show it: control
/// and format characters escaped (\x1b, \u202e), cut to max characters, so
/// that nobody writes lines or terminal escapes into natterd's log.
QString forLog(QStringView outside, qsizetype max = 200);

} // namespace Natter
