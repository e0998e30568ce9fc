#pragma once

#include <QLoggingCategory>

// Logging categories of the common library. Quiet below "warning" by default;
// switch on with QT_LOGGING_RULES="natter.protocol.debug=true".
Q_DECLARE_LOGGING_CATEGORY(lcNatterProtocol)
Q_DECLARE_LOGGING_CATEGORY(lcNatterModel)
