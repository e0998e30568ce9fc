#include "common/invitelink.h"

#include "common/fingerprint.h"

#include <QUrlQuery>

using namespace Qt::StringLiterals;

namespace Natter {

QUrl InviteLink::serverUrl() const
{
    QUrl url;
    url.setScheme(u"wss"_s);
    url.setHost(host);
    url.setPort(port);
    return url;
}

QString InviteLink::toString() const
{
    QUrl url;
    url.setScheme(u"natter"_s);
    url.setHost(host);
    url.setPort(port);
    url.setPath(u"/"_s);
    QUrlQuery query;
    if (!invite.isEmpty())
        query.addQueryItem(u"invite"_s, invite);
    query.addQueryItem(u"fp"_s, fingerprint);
    url.setQuery(query);
    return url.toString(QUrl::FullyEncoded);
}

std::optional<InviteLink> InviteLink::parse(const QString &text)
{
    const QUrl url(text.trimmed(), QUrl::StrictMode);
    if (!url.isValid() || url.scheme().compare(u"natter"_s, Qt::CaseInsensitive) != 0 || url.host().isEmpty())
        return std::nullopt;
    const QUrlQuery query(url);
    InviteLink link;
    link.host = url.host();
    const int port = url.port(Protocol::DefaultPort);
    if (port < 1 || port > 65535)
        return std::nullopt;
    link.port = quint16(port);
    link.invite = query.queryItemValue(u"invite"_s, QUrl::FullyDecoded);
    link.fingerprint = Fingerprint::normalized(query.queryItemValue(u"fp"_s, QUrl::FullyDecoded));
    if (link.fingerprint.isEmpty() || link.invite.size() > 64)
        return std::nullopt;
    for (const QChar c : link.invite) {
        if (c.unicode() < 0x21 || c.unicode() > 0x7e)
            return std::nullopt;
    }
    return link;
}

} // namespace Natter
