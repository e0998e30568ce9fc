#pragma once

#include "common/user.h"

#include <QDateTime>
#include <QJsonObject>
#include <QString>

#include <optional>

namespace Natter {

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

    bool isDirect() const { return room.isEmpty(); }
    bool isStored() const { return id > 0; }

    /// {"id", "room" | "to", "from", "text", "ts", "client_id"?}
    QJsonObject toJson() const;
    static std::optional<Message> fromJson(const QJsonObject &object, QString *error);

    /// ISO-8601 UTC with milliseconds, e.g. 2026-11-25T10:15:30.123Z.
    static QString formatTimestamp(const QDateTime &timestamp);
    static QDateTime parseTimestamp(const QString &text);

    friend bool operator==(const Message &, const Message &) = default;
};

} // namespace Natter
