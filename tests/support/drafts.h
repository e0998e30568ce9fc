#pragma once

#include "server/messagestore.h"

#include <QString>

/// Messages as the server hands them to a store, for the store's tests.
namespace TestDrafts {

inline const Natter::User Bob{QStringLiteral("Bob"), QStringLiteral("bob@x.org")};
inline const Natter::User Carol{QStringLiteral("Carol"), QStringLiteral("carol@x.org")};

inline Natter::MessageDraft roomDraft(const QString &text, const Natter::User &from = Bob,
                                      const QString &clientId = {},
                                      const QString &room = QStringLiteral("codeial"))
{
    Natter::Message message;
    message.room = room;
    message.from = from;
    message.text = text;
    message.clientId = clientId;
    return Natter::MessageDraft{message, false};
}

inline Natter::MessageDraft directDraft(const QString &text, const Natter::User &from, const Natter::User &to,
                                        bool hold = false)
{
    Natter::Message message;
    message.to = to.email;
    message.from = from;
    message.text = text;
    return Natter::MessageDraft{message, hold};
}

/// The ids of messages, in their order.
inline QList<qint64> idsOf(const QList<Natter::Message> &messages)
{
    QList<qint64> ids;
    for (const Natter::Message &message : messages)
        ids.append(message.id);
    return ids;
}

} // namespace TestDrafts
