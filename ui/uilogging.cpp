#include "ui/uilogging.h"

Q_LOGGING_CATEGORY(lcNatterUi, "natter.ui", QtWarningMsg)
