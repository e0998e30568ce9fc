#include "common/message.h"

#include "common/validation.h"

#include <QJsonArray>

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
    if (reply.id > 0) {
        object.insert(u"reply_to"_s, reply.id);
        QJsonObject preview{{u"from"_s, reply.from.toJson()}, {u"text"_s, reply.text}};
        if (reply.deleted)
            preview.insert(u"deleted"_s, true);
        object.insert(u"reply"_s, preview);
    }
    if (!mentions.isEmpty())
        object.insert(u"mentions"_s, QJsonArray::fromStringList(mentions));
    if (edited.isValid())
        object.insert(u"edited_ts"_s, formatTimestamp(edited));
    if (deleted)
        object.insert(u"deleted"_s, true);
    if (!reactions.isEmpty()) {
        QJsonArray array;
        for (const Reaction &reaction : reactions) {
            QJsonArray users;
            for (const User &user : reaction.users)
                users.append(user.toJson());
            QJsonObject entry{
                {u"emoji"_s, reaction.emoji}, {u"count"_s, reaction.count}, {u"users"_s, users}};
            if (reaction.mine)
                entry.insert(u"mine"_s, true);
            array.append(entry);
        }
        object.insert(u"reactions"_s, array);
    }
    if (attachment.isValid())
        object.insert(u"attachment"_s, attachment.toJson());
    return object;
}

QJsonObject Attachment::toJson() const
{
    QJsonObject object{{u"file_id"_s, fileId},
                       {u"name"_s, name},
                       {u"size"_s, size},
                       {u"mime"_s, mime},
                       {u"sha256"_s, sha256}};
    if (image.isValid()) {
        QJsonObject info{{u"width"_s, image.width}, {u"height"_s, image.height}};
        if (image.thumbnailId > 0)
            info.insert(u"thumbnail_id"_s, image.thumbnailId);
        object.insert(u"image"_s, info);
    }
    return object;
}

std::optional<Attachment> Attachment::fromJson(const QJsonObject &object, QString *error)
{
    auto fail = [error](const QString &why) {
        if (error)
            *error = why;
        return std::nullopt;
    };
    Attachment attachment;
    attachment.fileId = object.value(u"file_id"_s).toInteger(0);
    attachment.name = object.value(u"name"_s).toString();
    attachment.size = object.value(u"size"_s).toInteger(-1);
    attachment.mime = object.value(u"mime"_s).toString();
    attachment.sha256 = object.value(u"sha256"_s).toString();
    if (attachment.fileId <= 0 || attachment.size < 0 || !Validation::isValidSha256(attachment.sha256))
        return fail(u"an attachment needs a positive \"file_id\", a \"size\" and a \"sha256\""_s);
    if (object.contains(u"image"_s)) {
        const QJsonObject image = object.value(u"image"_s).toObject();
        attachment.image.width = int(image.value(u"width"_s).toInteger(0));
        attachment.image.height = int(image.value(u"height"_s).toInteger(0));
        attachment.image.thumbnailId = image.value(u"thumbnail_id"_s).toInteger(0);
        if (!attachment.image.isValid() || attachment.image.thumbnailId < 0)
            return fail(u"an attachment's \"image\" needs a positive width and height"_s);
    }
    return attachment;
}

Message Message::reference() const
{
    Message ref;
    ref.id = id;
    ref.room = room;
    ref.to = to;
    ref.from = from;
    return ref;
}

QString Message::previewOf(const QString &text, qsizetype maxLength)
{
    const QString line = text.trimmed().section(u'\n', 0, 0).simplified();
    if (line.size() <= maxLength)
        return line;
    qsizetype cut = maxLength - 1;
    if (cut > 0 && line.at(cut - 1).isHighSurrogate())
        --cut; // never half a character
    return line.left(cut) + u'…';
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

    // Added later in protocol 1: each optional, each checked when present.
    if (object.contains(u"reply_to"_s)) {
        const QJsonValue replyTo = object.value(u"reply_to"_s);
        if (!replyTo.isDouble() || replyTo.toInteger(-1) <= 0)
            return fail(u"message \"reply_to\" must be a positive integer"_s);
        message.reply.id = replyTo.toInteger();
        const QJsonObject preview = object.value(u"reply"_s).toObject();
        if (const std::optional<User> author = User::fromJson(preview.value(u"from"_s).toObject(), nullptr))
            message.reply.from = *author;
        message.reply.text = preview.value(u"text"_s).toString();
        message.reply.deleted = preview.value(u"deleted"_s).toBool();
    }
    if (object.contains(u"mentions"_s)) {
        const QJsonValue mentions = object.value(u"mentions"_s);
        if (!mentions.isArray())
            return fail(u"message \"mentions\" must be an array of emails"_s);
        for (const QJsonValue &email : mentions.toArray()) {
            if (!email.isString())
                return fail(u"message \"mentions\" must be an array of emails"_s);
            message.mentions.append(email.toString());
        }
    }
    if (object.contains(u"edited_ts"_s)) {
        message.edited = parseTimestamp(object.value(u"edited_ts"_s).toString());
        if (!message.edited.isValid())
            return fail(u"message \"edited_ts\" must be an ISO-8601 timestamp"_s);
    }
    message.deleted = object.value(u"deleted"_s).toBool();
    if (object.contains(u"reactions"_s)) {
        const QJsonValue reactions = object.value(u"reactions"_s);
        if (!reactions.isArray())
            return fail(u"message \"reactions\" must be an array"_s);
        for (const QJsonValue &value : reactions.toArray()) {
            const QJsonObject entry = value.toObject();
            Reaction reaction;
            reaction.emoji = entry.value(u"emoji"_s).toString();
            reaction.count = int(entry.value(u"count"_s).toInteger(0));
            if (reaction.emoji.isEmpty() || reaction.count <= 0)
                return fail(u"a reaction needs an \"emoji\" and a positive \"count\""_s);
            for (const QJsonValue &user : entry.value(u"users"_s).toArray()) {
                if (const std::optional<User> who = User::fromJson(user.toObject(), nullptr))
                    reaction.users.append(*who);
            }
            reaction.mine = entry.value(u"mine"_s).toBool();
            message.reactions.append(reaction);
        }
    }
    if (object.contains(u"attachment"_s)) {
        QString why;
        const std::optional<Attachment> attachment =
            Attachment::fromJson(object.value(u"attachment"_s).toObject(), &why);
        if (!attachment)
            return fail(u"message "_s + why);
        message.attachment = *attachment;
    }
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
