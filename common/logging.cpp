#include "common/logging.h"

Q_LOGGING_CATEGORY(lcNatterProtocol, "natter.protocol", QtWarningMsg)
Q_LOGGING_CATEGORY(lcNatterModel, "natter.model", QtWarningMsg)
