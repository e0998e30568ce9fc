// ChatServer's handling of changes to stored messages (edit, delete, react)
// and of each user's state in a conversation (read marker, mute): the
// requests that came with protocol 1's conversation features. Kept apart from
// chatserver.cpp, which carries messages; the same class and the same rules.

#include "common/searchsyntax.h"
#include "common/validation.h"
#include "server/chatserver.h"
#include "server/clientsession.h"
#include "server/connection.h"
#include "server/filetransfers.h"
#include "server/serverlogging.h"

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Natter {

using namespace Protocol;

namespace {

QStringList normalizedEmails(const QStringList &emails)
{
    QStringList normalized;
    for (const QString &email : emails) {
        const QString lower = Validation::normalizedEmail(email);
        if (!normalized.contains(lower))
            normalized.append(lower);
    }
    return normalized;
}

} // namespace

void ChatServer::personalize(Message *message, const QString &reader)
{
    for (Reaction &reaction : message->reactions) {
        reaction.mine = std::any_of(reaction.users.cbegin(), reaction.users.cend(),
                                    [&reader](const User &user) { return user.email == reader; });
        if (reaction.users.size() > MaxReactionUsers)
            reaction.users.resize(MaxReactionUsers);
    }
}

void ChatServer::personalize(QList<Message> *messages, const QString &reader)
{
    for (Message &message : *messages) {
        if (!message.reactions.isEmpty())
            personalize(&message, reader);
    }
}

void ChatServer::refuseStoreFailure(ClientSession *session, QLatin1String request,
                                    const StoreFailure &failure, const QString &clientId)
{
    qCWarning(lcNatterServer).noquote() << "could not store a" << request << ":" << failure.errorString;
    if (!session)
        return; // gone meanwhile
    if (failure.full)
        session->sendError(ErrorCode::StorageFull, u"the server is out of disk space; nothing was changed"_s,
                           request, clientId);
    else
        session->sendError(ErrorCode::InternalError, u"the change could not be stored; try again"_s, request,
                           clientId);
}

std::optional<Message> ChatServer::readableMessage(ClientSession *session, qint64 id, QLatin1String request,
                                                   const QString &clientId)
{
    const std::optional<std::optional<Message>> found = m_store->message(id);
    if (!found) {
        session->sendError(ErrorCode::InternalError, u"the message could not be read; try again"_s, request,
                           clientId);
        return std::nullopt;
    }
    const QString &email = session->user().email;
    const std::optional<Message> &message = *found;
    // One answer for "no such id" and "not yours to read": ids do not tell
    // what is said in other rooms or other people's conversations.
    const bool readable =
        message && (message->isDirect() ? message->from.email == email || message->to == email
                                        : session->isInRoom(message->room));
    if (!readable || message->deleted) {
        session->sendError(ErrorCode::NoSuchMessage,
                           readable ? u"message %1 was deleted"_s.arg(id)
                                    : u"no message %1 in a conversation you have open"_s.arg(id),
                           request, clientId);
        return std::nullopt;
    }
    return message;
}

std::optional<ConversationId> ChatServer::requestedConversation(ClientSession *session, const QString &room,
                                                                const QString &with, QLatin1String request)
{
    if (room.isEmpty())
        return ConversationId::between(session->user().email, Validation::normalizedEmail(with));
    if (!session->isInRoom(room)) {
        session->sendError(ErrorCode::NotInRoom, u"join room %1 first"_s.arg(room), request);
        return std::nullopt;
    }
    return ConversationId::ofRoom(room);
}

template<typename Write, typename Done>
void ChatServer::changeStore(ClientSession *session, QLatin1String request, Write write, Done done)
{
    changeStore(session,
                [this, request, write = std::move(write),
                 done = std::move(done)](MessageStore &store) -> std::function<void(ClientSession *)> {
                    auto result = write(store); // on the writer's thread
                    const StoreFailure failure = result ? StoreFailure() : StoreFailure::of(store);
                    return
                        [this, request, result = std::move(result), failure, done](ClientSession *session) {
                            if (!result) {
                                refuseStoreFailure(session, request, failure);
                                return;
                            }
                            done(session, *result);
                        };
                });
}

void ChatServer::pushReactionsLater(const MessageChange &change)
{
    if (m_pendingReactions.isEmpty())
        QMetaObject::invokeMethod(this, &ChatServer::pushPendingReactions, Qt::QueuedConnection);
    auto pending = m_pendingReactions.find(change.message.id);
    if (pending == m_pendingReactions.end())
        m_pendingReactions.insert(change.message.id, change);
    else if (change.changeSeq >= pending->changeSeq)
        *pending = change;
}

void ChatServer::pushPendingReactions()
{
    const QHash<qint64, MessageChange> pending = std::exchange(m_pendingReactions, {});
    for (const MessageChange &change : pending)
        pushChange(change);
}

void ChatServer::pushChange(const MessageChange &change, const QString &onlyReader, bool fromCluster)
{
    // A reaction of this pass still waiting goes first: an edit or deletion
    // after it must not be overtaken by the older state it carries.
    if (change.kind != MessageChange::Kind::Reactions || fromCluster || !onlyReader.isEmpty()) {
        if (const auto pending = m_pendingReactions.constFind(change.message.id);
            pending != m_pendingReactions.cend()) {
            const MessageChange earlier = *pending;
            m_pendingReactions.erase(pending);
            pushChange(earlier);
        }
    }
    m_lastChangeSeq = std::max(m_lastChangeSeq, change.changeSeq);
    if (!fromCluster)
        publishChange(change);
    // Everyone reads the same frame, but those who reacted see "mine".
    QSet<QString> reactors;
    for (const Reaction &reaction : change.message.reactions) {
        for (const User &user : reaction.users)
            reactors.insert(user.email);
    }
    auto frameFor = [&change](const QString &reader) {
        MessageChange personal = change;
        personalize(&personal.message, reader);
        return Connection::wireFrame(Codec::encodeServerFrame(personal));
    };
    const QByteArray common = frameFor({});
    QHash<QString, QByteArray> personal;
    auto send = [&](ClientSession *session) {
        const QString &email = session->user().email;
        if (!reactors.contains(email)) {
            session->sendWireFrame(common);
            return;
        }
        auto frame = personal.find(email);
        if (frame == personal.end())
            frame = personal.insert(email, frameFor(email));
        session->sendWireFrame(*frame);
    };
    const Message &message = change.message;
    if (!message.isDirect() && onlyReader.isEmpty()) {
        if (const auto room = m_rooms.constFind(message.room); room != m_rooms.cend()) {
            for (ClientSession *session : room->sessions)
                send(session);
        }
        return;
    }
    const QStringList readers = !onlyReader.isEmpty() ? QStringList{onlyReader}
                                : message.to == message.from.email
                                    ? QStringList{message.to} // notes to self
                                    : QStringList{message.to, message.from.email};
    for (const QString &email : readers) {
        if (const auto user = m_users.constFind(email); user != m_users.cend()) {
            for (ClientSession *session : user->sessions)
                send(session);
        }
    }
}

void ChatServer::handle(ClientSession *session, const EditMessage &edit)
{
    const std::optional<Message> message = readableMessage(session, edit.id, Type::EditMessage);
    if (!message)
        return;
    if (message->from.email != session->user().email) {
        session->sendError(ErrorCode::NotAllowed, u"you can edit only your own messages"_s,
                           Type::EditMessage);
        return;
    }
    if (Validation::textLength(edit.text) > m_config.maxTextLength) {
        session->sendError(ErrorCode::TextTooLong,
                           u"a message is at most %1 characters"_s.arg(m_config.maxTextLength),
                           Type::EditMessage);
        return;
    }
    if (!takeRateToken(session, Type::EditMessage, {}))
        return;
    changeStore(
        session, Type::EditMessage,
        [id = edit.id, text = edit.text, mentions = normalizedEmails(edit.mentions)](MessageStore &store) {
            return store.editMessage(id, text, mentions);
        },
        [this](ClientSession *, const MessageUpdate &update) {
            pushChange(MessageChange{MessageChange::Kind::Edited, update.message, update.changeSeq, {}});
        });
}

void ChatServer::handle(ClientSession *session, const DeleteMessage &remove)
{
    const std::optional<Message> message = readableMessage(session, remove.id, Type::DeleteMessage);
    if (!message)
        return;
    const QString &email = session->user().email;
    bool allowed = message->from.email == email;
    if (!allowed && !message->isDirect()) {
        // The owner of a private room keeps it clean.
        const auto room = m_rooms.constFind(message->room);
        allowed = room != m_rooms.cend() && room->isPrivate && room->owner == email;
    }
    if (!allowed) {
        session->sendError(ErrorCode::NotAllowed,
                           message->isDirect()
                               ? u"you can delete only your own messages"_s
                               : u"you can delete only your own messages (or any in a private "
                                 u"room you own)"_s,
                           Type::DeleteMessage);
        return;
    }
    if (!takeRateToken(session, Type::DeleteMessage, {}))
        return;
    changeStore(
        session, Type::DeleteMessage,
        [id = remove.id](MessageStore &store) { return store.deleteMessage(id); },
        [this, by = session->user(), to = message->to,
         hadFile = message->attachment.isValid()](ClientSession *, const MessageUpdate &update) {
            if (!to.isEmpty())
                m_heldCounts.remove(to); // it may have been waiting for them
            if (hadFile)
                m_files->collectSoon(); // its file may have been the last copy's
            qCDebug(lcNatterServer).noquote() << by.email << "deleted message" << update.message.id;
            pushChange(MessageChange{MessageChange::Kind::Deleted, update.message, update.changeSeq, by});
        });
}

void ChatServer::handle(ClientSession *session, const React &react)
{
    const std::optional<Message> message = readableMessage(session, react.id, Type::React);
    if (!message)
        return;
    const bool newEmoji =
        std::none_of(message->reactions.cbegin(), message->reactions.cend(),
                     [&react](const Reaction &reaction) { return reaction.emoji == react.emoji; });
    if (react.on && newEmoji && message->reactions.size() >= MaxReactionsPerMessage) {
        session->sendError(ErrorCode::TooManyReactions,
                           u"a message takes at most %1 different emoji"_s.arg(MaxReactionsPerMessage),
                           Type::React);
        return;
    }
    if (!takeRateToken(session, Type::React, {}))
        return;
    changeStore(
        session, Type::React,
        [id = react.id, user = session->user(), emoji = react.emoji, on = react.on](MessageStore &store) {
            return store.react(id, user, emoji, on);
        },
        [this, reader = session->user().email](ClientSession *session, const MessageUpdate &update) {
            const MessageChange change{MessageChange::Kind::Reactions, update.message, update.changeSeq, {}};
            if (update.changed) {
                pushReactionsLater(change);
                return;
            }
            if (!session)
                return;
            // It was so already: nothing to tell anyone else; this connection sees how it is.
            MessageChange same = change;
            personalize(&same.message, reader);
            session->sendFrame(same);
        });
}

void ChatServer::handle(ClientSession *session, const MarkRead &mark)
{
    const std::optional<ConversationId> conversation =
        requestedConversation(session, mark.room, mark.with, Type::MarkRead);
    if (!conversation || !takeRateToken(session, Type::MarkRead, {})) // each one is a write
        return;
    const QString email = session->user().email;
    changeStore(
        session, Type::MarkRead,
        [email, conversation = *conversation, id = mark.id](MessageStore &store) {
            return store.markRead(email, conversation, id);
        },
        [this, email](ClientSession *session, const ConversationState &state) {
            // The user's other devices follow (this one knows), on every natterd.
            const QByteArray json = Codec::encodeServerFrame(ReadMarker{state});
            publishToUser(email, json);
            const auto user = m_users.constFind(email);
            if (user == m_users.cend())
                return;
            const QByteArray frame = Connection::wireFrame(json);
            for (ClientSession *other : user->sessions) {
                if (other != session)
                    other->sendWireFrame(frame);
            }
        });
}

void ChatServer::handle(ClientSession *session, const MuteRequest &mute)
{
    const std::optional<ConversationId> conversation =
        requestedConversation(session, mute.room, mute.with, Type::Mute);
    if (!conversation || !takeRateToken(session, Type::Mute, {}))
        return;
    const QString email = session->user().email;
    changeStore(
        session, Type::Mute,
        [email, conversation = *conversation, muted = mute.muted](MessageStore &store) {
            return store.setMuted(email, conversation, muted);
        },
        [this, email](ClientSession *, const ConversationState &state) {
            // Every device of the user, this one included as the confirmation.
            const QByteArray json = Codec::encodeServerFrame(Muted{state.room, state.with, state.muted});
            publishToUser(email, json);
            if (const auto user = m_users.constFind(email); user != m_users.cend())
                sendToAll(user->sessions, Connection::wireFrame(json));
        });
}

void ChatServer::handle(ClientSession *session, const ChangesRequest &request)
{
    const std::optional<ConversationId> conversation =
        requestedConversation(session, request.room, request.with, Type::Changes);
    if (!conversation)
        return;
    const std::optional<ChangesPage> page =
        m_store->changes(ChangesQuery{*conversation, request.after, request.limit});
    if (!page) {
        session->sendError(ErrorCode::InternalError, u"the changes could not be read"_s, Type::Changes);
        return;
    }
    Changes answer{conversation->room, conversation->isDirect() ? conversation->userB : QString(),
                   page->messages, page->lastSeq, page->hasMore};
    // Cut to the page budget like history: never dropped for one's own answer.
    bool trimmed = false;
    trimToBudget(&answer.messages, &trimmed, true);
    if (trimmed) {
        answer.hasMore = true;
        answer.changeSeq = page->seqs.at(answer.messages.size() - 1);
    } else if (!answer.hasMore) {
        // Nothing later changed here: every change up to now is in the page.
        answer.changeSeq = std::max(answer.changeSeq, lastChangeSeq());
    }
    personalize(&answer.messages, session->user().email);
    session->sendFrame(answer);
}

void ChatServer::handle(ClientSession *session, const SearchRequest &search)
{
    QString why;
    const std::optional<QList<SearchSyntax::Term>> terms = SearchSyntax::parse(search.query, &why);
    if (!terms) {
        session->sendError(ErrorCode::BadQuery, why, Type::Search);
        return;
    }
    // What makes a full-text query expensive: a short prefix matches a large
    // part of the index (85 one-letter prefixes took 1.65 s on 300,000
    // messages), and every term is one more lookup.
    constexpr qsizetype MaxTerms = 16;
    constexpr qsizetype MinPrefixLength = 3;
    if (terms->size() > MaxTerms) {
        session->sendError(ErrorCode::BadQuery, u"search for at most %1 words or phrases"_s.arg(MaxTerms),
                           Type::Search);
        return;
    }
    for (const SearchSyntax::Term &term : *terms) {
        if (term.prefix && term.text.size() < MinPrefixLength) {
            session->sendError(
                ErrorCode::BadQuery,
                u"%1*: a word's beginning needs at least %2 letters"_s.arg(term.text).arg(MinPrefixLength),
                Type::Search);
            return;
        }
    }
    // A cursor is "N.OFFSET": a page of this connection's search number N.
    ClientSession::SavedSearch &saved = session->savedSearch();
    qsizetype offset = 0;
    if (!search.cursor.isEmpty()) {
        const QStringList parts = search.cursor.split(u'.');
        bool numberOk = false;
        bool offsetOk = false;
        const quint64 number = parts.value(0).toULongLong(&numberOk);
        offset = parts.value(1).toLongLong(&offsetOk);
        SearchRequest first = search;
        first.cursor.clear();
        first.limit = saved.request.limit;
        if (parts.size() != 2 || !numberOk || !offsetOk || number == 0 || number != saved.number ||
            offset < 0 || offset > saved.ids.size() || first.query != saved.request.query ||
            first.room != saved.request.room || first.with != saved.request.with ||
            first.from != saved.request.from || first.before != saved.request.before ||
            first.after != saved.request.after) {
            session->sendError(
                ErrorCode::BadQuery,
                u"this cursor is not from the latest search on this connection; search again"_s,
                Type::Search);
            return;
        }
    }
    SearchQuery query;
    query.reader = session->user().email;
    if (!search.room.isEmpty() || !search.with.isEmpty()) {
        query.only = requestedConversation(session, search.room, search.with, Type::Search);
        if (!query.only)
            return;
    }
    // A search costs the server what ten messages do, and more per term.
    if (!takeRateToken(session, Type::Search, {}, 10.0 + double(terms->size())))
        return;
    // What this user may read now (checked again for every page): the rooms
    // joined here, the private rooms they belong to, their own direct
    // conversations (the store adds those).
    QSet<QString> rooms = session->rooms();
    const std::optional<QStringList> memberOf = m_store->accounts()->privateRoomsOf(query.reader);
    if (!memberOf) {
        session->sendError(ErrorCode::InternalError, u"the search could not be made; try again"_s,
                           Type::Search);
        return;
    }
    for (const QString &room : *memberOf)
        rooms.insert(room);
    query.rooms = QStringList(rooms.cbegin(), rooms.cend());
    query.terms = *terms;
    query.from = Validation::normalizedEmail(search.from);
    query.beforeMs = search.before.isValid() ? search.before.toMSecsSinceEpoch() : 0;
    query.afterMs = search.after.isValid() ? search.after.toMSecsSinceEpoch() : 0;
    // The search itself runs off the event loop; a page of a saved search
    // (its ids known) only reads those messages, there too.
    const bool fresh = search.cursor.isEmpty();
    const QList<qint64> savedPage = fresh ? QList<qint64>() : saved.ids.mid(offset, search.limit);
    readOffLoop(
        session, Type::Search, [this, session, search, query, fresh, savedPage, offset](MessageStore &store) {
            std::optional<QList<qint64>> ids;
            if (fresh)
                ids = store.search(query);
            const QList<qint64> pageIds =
                fresh ? (ids ? ids->mid(0, search.limit) : QList<qint64>()) : savedPage;
            std::optional<QList<SearchHit>> hits;
            if (!fresh || ids)
                hits = store.searchHits(query, pageIds);
            const bool timedOut = store.queryTimedOut();
            return std::function<void()>(
                [this, session, search, query, ids, hits, timedOut, offset, pageIds] {
                    if (!hits) {
                        // A query that would keep a reader busy too long is refused like
                        // one that finds nothing by its form: it is to be narrowed.
                        if (timedOut)
                            session->sendError(
                                ErrorCode::BadQuery,
                                u"this search takes too long: use longer or fewer words, or search one "
                                u"conversation"_s,
                                Type::Search);
                        else
                            session->sendError(ErrorCode::InternalError,
                                               u"the search could not be made; try again"_s, Type::Search);
                        return;
                    }
                    ClientSession::SavedSearch &saved = session->savedSearch();
                    if (ids)
                        saved = ClientSession::SavedSearch{++m_searchCount, search, *ids};
                    const qsizetype next = offset + pageIds.size();
                    SearchResults results{search.query, *hits,
                                          next < saved.ids.size() ? u"%1.%2"_s.arg(saved.number).arg(next)
                                                                  : QString()};
                    for (SearchHit &hit : results.results)
                        personalize(&hit.message, query.reader);
                    session->sendFrame(results);
                });
        });
}

} // namespace Natter
