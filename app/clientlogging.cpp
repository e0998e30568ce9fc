#include "app/clientlogging.h"

Q_LOGGING_CATEGORY(lcNatterClientNet, "natter.client.net", QtWarningMsg)
Q_LOGGING_CATEGORY(lcNatterClientHost, "natter.client.host", QtWarningMsg)
Q_LOGGING_CATEGORY(lcNatterClientDiscovery, "natter.client.discovery", QtWarningMsg)
Q_LOGGING_CATEGORY(lcNatterClientDesktop, "natter.client.desktop", QtWarningMsg)
