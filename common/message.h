#pragma once

#include "common/user.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <optional>

namespace Natter {

/// What a reply shows of the message it answers, so that it renders without
/// fetching the original: the sender and the first line, as they are now.
struct ReplyPreview
{
    qint64 id = 0;        ///< the original
    User from;            ///< its sender
    QString text;         ///< its first line, shortened; empty once it is deleted
    bool deleted = false; ///< the original was deleted (or is gone by retention)
    friend bool operator==(const ReplyPreview &, const ReplyPreview &) = default;
};

/// One emoji on a message and who gave it.
struct Reaction
{
    QString emoji;
    int count = 0;     ///< how many people
    QList<User> users; ///< who, earliest first; at most MaxReactionUsers of them on the wire
    bool mine = false; ///< the reader is among them (set for each reader by the server)
    friend bool operator==(const Reaction &, const Reaction &) = default;
};

/// What an image attachment adds: its size in pixels and a small preview.
struct ImageInfo
{
    int width = 0;
    int height = 0;
    qint64 thumbnailId = 0; ///< a small image file (made by the sender); 0: none
    bool isValid() const { return width > 0 && height > 0; }
    friend bool operator==(const ImageInfo &, const ImageInfo &) = default;
};

/// A file shared in a message. The server stored it whole, checked against
/// its size and SHA-256, before the message existed.
struct Attachment
{
    qint64 fileId = 0; ///< what download asks for
    QString name;      ///< as the sender named it: never trusted as a path
    qint64 size = 0;   ///< bytes
    QString mime;      ///< e.g. "image/png"; application/octet-stream when unknown
    QString sha256;    ///< 64 lowercase hex digits
    ImageInfo image{}; ///< set for images the sender could read

    bool isValid() const { return fileId > 0; }
    bool isImage() const { return image.isValid(); }
    QJsonObject toJson() const;
    static std::optional<Attachment> fromJson(const QJsonObject &object, QString *error);
    friend bool operator==(const Attachment &, const Attachment &) = default;
};

/// One chat message: to a room, or a direct message to one user.
///
/// Exactly one of room and to is set. A message has an id (> 0) and a
/// timestamp once the server has stored it; before that it exists only in a
/// client's outbox, identified by its clientId.
struct Message
{
    qint64 id = 0;
    QString room;
    QString to;
    User from;
    QString text;
    QDateTime timestamp;
    QString clientId;
    // What a message gained after protocol 1's first frames (all optional on the wire):
    ReplyPreview reply{};   ///< reply.id > 0: this message answers that one
    QStringList mentions{}; ///< emails of the people it calls by name
    QDateTime edited{};     ///< when its text was last changed; invalid: never
    bool deleted = false;   ///< a tombstone: text, mentions and reactions are gone
    QList<Reaction> reactions{};
    Attachment attachment{}; ///< attachment.isValid(): a shared file; text is its caption (may be empty)

    bool isDirect() const { return room.isEmpty(); }
    bool isStored() const { return id > 0; }
    bool isReply() const { return reply.id > 0; }
    /// Only what the first protocol 1 frames carried: no reply, mention,
    /// edit, deletion or reaction.
    bool isPlain() const
    {
        return reply.id == 0 && mentions.isEmpty() && !edited.isValid() && !deleted && reactions.isEmpty() &&
               !attachment.isValid();
    }
    /// The message's id and conversation, nothing else of it: what a change
    /// frame carries to say which message changed.
    Message reference() const;

    /// {"id", "room" | "to", "from", "text", "ts", "client_id"?, "reply_to"?,
    ///  "reply"?, "mentions"?, "edited_ts"?, "deleted"?, "reactions"?, "attachment"?}
    QJsonObject toJson() const;
    static std::optional<Message> fromJson(const QJsonObject &object, QString *error);

    /// ISO-8601 UTC with milliseconds, e.g. 2026-11-25T10:15:30.123Z.
    static QString formatTimestamp(const QDateTime &timestamp);
    static QDateTime parseTimestamp(const QString &text);
    /// The first line of text, white space simplified, at most maxLength
    /// characters (an ellipsis marks a cut): a reply's preview.
    static QString previewOf(const QString &text, qsizetype maxLength = 140);

    friend bool operator==(const Message &, const Message &) = default;
};

} // namespace Natter

Q_DECLARE_METATYPE(Natter::ReplyPreview)
Q_DECLARE_METATYPE(Natter::Reaction)
Q_DECLARE_METATYPE(Natter::Attachment)
