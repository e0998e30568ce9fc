#include "server/serverlogging.h"

// Info and above by default, so natterd says where it listens; debug with --verbose.
Q_LOGGING_CATEGORY(lcNatterServer, "natter.server", QtInfoMsg)
Q_LOGGING_CATEGORY(lcNatterStore, "natter.store", QtInfoMsg)
