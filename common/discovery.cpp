#include "common/discovery.h"

#include "common/fingerprint.h"
#include "common/validation.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace Natter::Discovery {

namespace {

constexpr QLatin1String KindField{"natter"};
constexpr QLatin1String VersionField{"v"};
constexpr QLatin1String QueryKind{"query"};
constexpr QLatin1String AnnouncementKind{"server"};

// The object of a datagram of the given kind, or nullopt. Versions above ours
// are accepted: a newer peer only adds fields.
std::optional<QJsonObject> objectOfKind(const QByteArray &datagram, QLatin1String kind)
{
    if (datagram.isEmpty() || datagram.size() > MaxDatagramBytes)
        return std::nullopt;
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(datagram, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject())
        return std::nullopt;
    QJsonObject object = document.object();
    const QJsonValue version = object.value(VersionField);
    if (object.value(KindField).toString() != kind || !version.isDouble() || version.toDouble() < 1 ||
        version.toDouble() > 1'000'000 || version.toDouble() != double(version.toInt()))
        return std::nullopt;
    return object;
}

// At most max UTF-16 units, never half of a surrogate pair.
QString cut(const QString &text, qsizetype max)
{
    QString result = text.left(max);
    if (!result.isEmpty() && result.back().isHighSurrogate())
        result.chop(1);
    return result;
}

// What a name may show: no control, format or separator characters (the
// display-name rules), other white space as a space, no broken pairs.
QString showable(const QString &text, qsizetype max)
{
    QString result;
    for (qsizetype i = 0; i < text.size() && result.size() < max + 1; ++i) {
        const QChar c = text.at(i);
        if (c.isHighSurrogate() && i + 1 < text.size() && text.at(i + 1).isLowSurrogate()) {
            result += c;
            result += text.at(++i);
            continue;
        }
        switch (c.category()) {
        case QChar::Other_Control:
        case QChar::Other_Format:
        case QChar::Other_Surrogate:
        case QChar::Separator_Line:
        case QChar::Separator_Paragraph:
            continue;
        default:
            result += c.isSpace() ? QChar(u' ') : c;
        }
    }
    return cut(result.trimmed(), max);
}

} // namespace

QByteArray encodeQuery(const Query &query)
{
    return QJsonDocument(QJsonObject{{KindField, QueryKind}, {VersionField, query.version}})
        .toJson(QJsonDocument::Compact);
}

std::optional<Query> decodeQuery(const QByteArray &datagram)
{
    const auto object = objectOfKind(datagram, QueryKind);
    if (!object)
        return std::nullopt;
    return Query{object->value(VersionField).toInt()};
}

QByteArray encodeAnnouncement(const Announcement &announcement)
{
    // Escaped control characters take six bytes each: cut the name further
    // until the datagram fits.
    for (qsizetype nameLength = MaxNameLength;; nameLength = nameLength * 3 / 4) {
        QJsonObject object{
            {KindField, AnnouncementKind},
            {VersionField, announcement.version},
            {QLatin1String("name"), showable(announcement.name, nameLength)},
            {QLatin1String("port"), int(announcement.port)},
            {QLatin1String("server"), showable(announcement.server, MaxServerLength)},
            {QLatin1String("users"), announcement.users},
        };
        if (!announcement.fingerprint.isEmpty())
            object.insert(QLatin1String("fp"), announcement.fingerprint);
        QByteArray datagram = QJsonDocument(object).toJson(QJsonDocument::Compact);
        if (datagram.size() <= MaxAnnouncementBytes || nameLength == 0)
            return datagram;
    }
}

std::optional<Announcement> decodeAnnouncement(const QByteArray &datagram)
{
    const auto object = objectOfKind(datagram, AnnouncementKind);
    if (!object)
        return std::nullopt;
    const QJsonValue name = object->value(QLatin1String("name"));
    const QJsonValue port = object->value(QLatin1String("port"));
    const QJsonValue server = object->value(QLatin1String("server"));
    const QJsonValue users = object->value(QLatin1String("users"));
    const QJsonValue fingerprint = object->value(QLatin1String("fp"));
    if (!port.isDouble() || port.toInt() < 1 || port.toInt() > 65535 ||
        port.toDouble() != double(port.toInt()))
        return std::nullopt;
    if ((!name.isUndefined() && !name.isString()) || (!server.isUndefined() && !server.isString()) ||
        (!users.isUndefined() && !users.isDouble()) ||
        (!fingerprint.isUndefined() && !fingerprint.isString()))
        return std::nullopt;
    // A fingerprint that is not one is refused with the whole announcement.
    const QString normalized = Fingerprint::normalized(fingerprint.toString());
    if (!fingerprint.isUndefined() && normalized.isEmpty())
        return std::nullopt;
    // Names are shown to people: the rules of display names (no control,
    // format or separator characters), found by fuzzing NULs into "server".
    const QString shownName = cut(name.toString(), MaxNameLength);
    const QString shownServer = cut(server.toString(), MaxServerLength);
    if ((!shownName.isEmpty() && !Validation::isValidDisplayName(shownName)) ||
        (!shownServer.isEmpty() && !Validation::isValidDisplayName(shownServer)))
        return std::nullopt;
    Announcement announcement;
    announcement.version = object->value(VersionField).toInt();
    announcement.name = shownName;
    announcement.port = quint16(port.toInt());
    announcement.server = shownServer;
    announcement.users = qMax(0, users.toInt());
    announcement.fingerprint = normalized;
    return announcement;
}

} // namespace Natter::Discovery
