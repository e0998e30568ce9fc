#pragma once

#include <QLoggingCategory>

// QT_LOGGING_RULES="natter.ui.debug=true"
Q_DECLARE_LOGGING_CATEGORY(lcNatterUi)
