#pragma once

#include <QUrl>

namespace Natter {

/// The WebSocket URL of what a user typed as a server address: "host",
/// "host:port" (both wss://, as natterd serves TLS by default), or
/// "wss://host:port/" or "ws://host:port/" as given; the port defaults to
/// 5000. An invalid QUrl for anything else (another scheme, no host).
QUrl serverUrlFromAddress(const QString &text);

} // namespace Natter
