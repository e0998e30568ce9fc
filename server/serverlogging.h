#pragma once

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcNatterServer)
Q_DECLARE_LOGGING_CATEGORY(lcNatterStore)
