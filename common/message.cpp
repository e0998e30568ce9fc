#include "common/message.h"

#include "common/validation.h"

using namespace Qt::StringLiterals;

namespace Natter {

QJsonObject Message::toJson() const
{
    QJsonObject object{
        {u"id"_s, id},
        {u"from"_s, from.toJson()},
        {u"text"_s, text},
        {u"ts"_s, formatTimestamp(timestamp)},
    };
    if (isDirect())
        object.insert(u"to"_s, to);
    else
        object.insert(u"room"_s, room);
    if (!clientId.isEmpty())
        object.insert(u"client_id"_s, clientId);
    return object;
}

std::optional<Message> Message::fromJson(const QJsonObject &object, QString *error)
{
    auto fail = [error](const QString &why) {
        if (error)
            *error = why;
        return std::nullopt;
    };

    Message message;
    const QJsonValue id = object.value(u"id"_s);
    if (!id.isDouble() || id.toInteger(-1) <= 0)
        return fail(u"message \"id\" must be a positive integer"_s);
    message.id = id.toInteger();

    const QJsonValue room = object.value(u"room"_s);
    const QJsonValue to = object.value(u"to"_s);
    if (room.isString() == to.isString())
        return fail(u"message needs exactly one of \"room\" and \"to\""_s);
    message.room = room.toString();
    message.to = to.toString();
    if (!message.isDirect() && !Validation::isValidRoomName(message.room))
        return fail(u"message has an invalid room name"_s);
    if (message.isDirect() && !Validation::isValidEmail(message.to))
        return fail(u"message has an invalid \"to\" email"_s);

    QString userError;
    const std::optional<User> from = User::fromJson(object.value(u"from"_s).toObject(), &userError);
    if (!from)
        return fail(u"message \"from\": "_s + userError);
    message.from = *from;

    const QJsonValue text = object.value(u"text"_s);
    if (!text.isString())
        return fail(u"message \"text\" must be a string"_s);
    message.text = text.toString();

    message.timestamp = parseTimestamp(object.value(u"ts"_s).toString());
    if (!message.timestamp.isValid())
        return fail(u"message \"ts\" must be an ISO-8601 timestamp"_s);

    const QJsonValue clientId = object.value(u"client_id"_s);
    if (!clientId.isUndefined() && !clientId.isString())
        return fail(u"message \"client_id\" must be a string"_s);
    message.clientId = clientId.toString();
    return message;
}

QString Message::formatTimestamp(const QDateTime &timestamp)
{
    return timestamp.toUTC().toString(Qt::ISODateWithMs);
}

QDateTime Message::parseTimestamp(const QString &text)
{
    return QDateTime::fromString(text, Qt::ISODateWithMs).toUTC();
}

} // namespace Natter
