#include "common/serveraddress.h"

#include "common/protocol.h"

using namespace Qt::StringLiterals;

namespace Natter {

QUrl serverUrlFromAddress(const QString &text)
{
    QString address = text.trimmed();
    if (address.isEmpty())
        return {};
    if (!address.contains(u"://"_s))
        address.prepend(u"wss://"_s); // natterd serves TLS unless told not to
    QUrl url(address, QUrl::StrictMode);
    if (!url.isValid() || url.host().isEmpty() || (url.scheme() != u"ws"_s && url.scheme() != u"wss"_s))
        return {};
    if (url.port() == -1)
        url.setPort(Protocol::DefaultPort);
    return url;
}

} // namespace Natter
