#pragma once

#include <QLoggingCategory>

// Quiet below "warning" by default; e.g. QT_LOGGING_RULES="natter.client.*.debug=true".
Q_DECLARE_LOGGING_CATEGORY(lcNatterClientNet)
Q_DECLARE_LOGGING_CATEGORY(lcNatterClientHost)
Q_DECLARE_LOGGING_CATEGORY(lcNatterClientDiscovery)
Q_DECLARE_LOGGING_CATEGORY(lcNatterClientDesktop)
