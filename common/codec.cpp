#include "common/codec.h"

#include "common/logging.h"
#include "common/validation.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QVarLengthArray>
#include <QtEndian>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Natter::Codec {

using namespace Protocol;

namespace {

constexpr qint64 MaxMessageId = qint64(1) << 53; // exact in a JSON double

template<class... Ts>
struct Overloaded : Ts...
{
    using Ts::operator()...;
};
template<class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

/// Reads typed fields of one frame object and remembers the first problem.
class FieldReader
{
public:
    FieldReader(const QJsonObject &object, QString type)
        : m_object(object)
        , m_type(std::move(type))
    {}

    bool ok() const { return !m_error; }
    Error error() const { return *m_error; }
    bool has(QLatin1String name) const { return m_object.contains(name); }

    void fail(ErrorCode code, const QString &message)
    {
        if (!m_error)
            m_error = Error{code, message, m_type, m_clientId, {}};
    }

    QString string(QLatin1String name)
    {
        const QJsonValue value = m_object.value(name);
        if (!value.isString()) {
            fail(ErrorCode::BadField, missingOrWrong(name, value, u"a string"_s));
            return {};
        }
        // JSON's \uDC00 escapes can spell what UTF-8 cannot: a half of a
        // character, which every length check would count as nothing.
        QString text = value.toString();
        if (const qsizetype at = Validation::firstInvalidUnicode(text); at >= 0) {
            fail(ErrorCode::BadField,
                 u"\"%1\" is not valid Unicode (an unpaired surrogate at position %2)"_s.arg(name).arg(at));
            return {};
        }
        return text;
    }

    QString optionalString(QLatin1String name) { return m_object.contains(name) ? string(name) : QString(); }

    /// An optional string of at most maxUtf8Bytes bytes once encoded.
    QString boundedString(QLatin1String name, qsizetype maxUtf8Bytes)
    {
        QString value = optionalString(name);
        if (ok() && value.size() * 3 > maxUtf8Bytes && value.toUtf8().size() > maxUtf8Bytes)
            fail(ErrorCode::BadField, u"\"%1\" is longer than %2 bytes"_s.arg(name).arg(maxUtf8Bytes));
        return value;
    }

    bool boolean(QLatin1String name)
    {
        const QJsonValue value = m_object.value(name);
        if (!value.isBool()) {
            fail(ErrorCode::BadField, missingOrWrong(name, value, u"true or false"_s));
            return false;
        }
        return value.toBool();
    }

    qint64 optionalInteger(QLatin1String name, qint64 fallback, qint64 min, qint64 max)
    {
        if (!m_object.contains(name))
            return fallback;
        const QJsonValue value = m_object.value(name);
        const qint64 integer = value.isDouble() ? value.toInteger(min - 1) : min - 1;
        if (integer < min || integer > max) {
            fail(ErrorCode::BadField,
                 u"\"%1\" must be an integer from %2 to %3"_s.arg(name).arg(min).arg(max));
            return fallback;
        }
        return integer;
    }

    QJsonObject object(QLatin1String name)
    {
        const QJsonValue value = m_object.value(name);
        if (!value.isObject())
            fail(ErrorCode::BadField, missingOrWrong(name, value, u"an object"_s));
        return value.toObject();
    }

    QJsonArray array(QLatin1String name)
    {
        const QJsonValue value = m_object.value(name);
        if (!value.isArray())
            fail(ErrorCode::BadField, missingOrWrong(name, value, u"an array"_s));
        return value.toArray();
    }

    QString room(QLatin1String name = QLatin1String("room"))
    {
        QString room = string(name);
        if (ok() && !Validation::isValidRoomName(room))
            fail(ErrorCode::BadRoom, u"room names are 1-64 characters of a-z, 0-9, '-', '_' and '.', "
                                     u"starting with a letter or digit"_s);
        return room;
    }

    QString email(QLatin1String name)
    {
        QString email = string(name);
        if (ok() && !Validation::isValidEmail(email))
            fail(ErrorCode::BadEmail, u"\"%1\" is not a valid email address"_s.arg(name));
        return email;
    }

    /// Reads client_id first so that every later error can name it.
    QString clientId()
    {
        const QJsonValue value = m_object.value(QLatin1String("client_id"));
        if (value.isUndefined())
            return {};
        if (!value.isString() || !Validation::isValidClientId(value.toString())) {
            fail(ErrorCode::BadField, u"\"client_id\" must be 1-64 printable ASCII characters"_s);
            return {};
        }
        m_clientId = value.toString();
        return m_clientId;
    }

    /// A message id: a positive integer a JSON number holds exactly.
    qint64 messageId(QLatin1String name = QLatin1String("id"))
    {
        if (!has(name)) {
            fail(ErrorCode::BadField, u"missing field \"%1\""_s.arg(name));
            return 0;
        }
        return optionalInteger(name, 0, 1, MaxMessageId);
    }

    /// An optional list of emails, at most MaxMentions.
    QStringList mentions()
    {
        QStringList emails;
        if (!has(QLatin1String("mentions")))
            return emails;
        const QJsonArray array = this->array(QLatin1String("mentions"));
        if (ok() && array.size() > MaxMentions)
            fail(ErrorCode::BadField, u"mention at most %1 people"_s.arg(MaxMentions));
        for (const QJsonValue &value : array) {
            if (!ok())
                break;
            if (!value.isString() || !Validation::isValidEmail(value.toString()))
                fail(ErrorCode::BadEmail, u"\"mentions\" must hold valid email addresses"_s);
            else if (!emails.contains(value.toString()))
                emails.append(value.toString());
        }
        return emails;
    }

    /// A conversation: exactly one of "room" and the email field named other.
    void conversation(QString *room, QString *email, QLatin1String other)
    {
        if (!exactlyOne(QLatin1String("room"), other))
            return;
        if (has(QLatin1String("room")))
            *room = this->room();
        else
            *email = this->email(other);
    }

    /// Exactly one of two alternative fields must be present.
    bool exactlyOne(QLatin1String a, QLatin1String b)
    {
        if (has(a) == has(b)) {
            fail(ErrorCode::BadField, u"give exactly one of \"%1\" and \"%2\""_s.arg(a, b));
            return false;
        }
        return true;
    }

private:
    static QString missingOrWrong(QLatin1String name, const QJsonValue &value, const QString &expected)
    {
        if (value.isUndefined())
            return u"missing field \"%1\""_s.arg(name);
        return u"field \"%1\" must be %2"_s.arg(name, expected);
    }

    const QJsonObject &m_object;
    QString m_type;
    QString m_clientId;
    std::optional<Error> m_error;
};

/// Parses the envelope shared by both directions: JSON object with a string type.
std::optional<Error> parseEnvelope(const QByteArray &utf8, QJsonObject *object, QString *type)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(utf8, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return Error{ErrorCode::BadJson, u"not valid JSON: "_s + parseError.errorString(), {}, {}, {}};
    if (!document.isObject())
        return Error{ErrorCode::BadFrame, u"a frame must be a JSON object"_s, {}, {}, {}};
    *object = document.object();
    const QJsonValue typeValue = object->value(QLatin1String("type"));
    if (!typeValue.isString())
        return Error{ErrorCode::BadFrame, u"a frame needs a string field \"type\""_s, {}, {}, {}};
    *type = typeValue.toString();
    return std::nullopt;
}

template<class T>
Result<ClientFrame> finish(const FieldReader &reader, T frame)
{
    if (!reader.ok())
        return reader.error();
    return ClientFrame(std::move(frame));
}

template<class T>
Result<ServerFrame> finishServer(const FieldReader &reader, T frame)
{
    if (!reader.ok())
        return reader.error();
    return ServerFrame(std::move(frame));
}

User readUser(FieldReader &reader, const QJsonObject &object)
{
    QString error;
    std::optional<User> user = User::fromJson(object, &error);
    if (!user) {
        reader.fail(ErrorCode::BadField, u"invalid user: "_s + error);
        return {};
    }
    return *user;
}

QList<User> readUsers(FieldReader &reader, const QJsonArray &array)
{
    QList<User> users;
    users.reserve(array.size());
    for (const QJsonValue &value : array)
        users.append(readUser(reader, value.toObject()));
    return users;
}

QJsonArray usersToJson(const QList<User> &users)
{
    QJsonArray array;
    for (const User &user : users)
        array.append(user.toJson());
    return array;
}

QJsonObject listRequestJson(const QString &prefix, int offset, int limit, const QString &after)
{
    QJsonObject object{{QLatin1String("limit"), limit}};
    if (!prefix.isEmpty())
        object.insert(QLatin1String("prefix"), prefix);
    if (offset > 0)
        object.insert(QLatin1String("offset"), offset);
    if (!after.isEmpty())
        object.insert(QLatin1String("after"), after);
    return object;
}

ConversationState readConversationState(FieldReader &reader, const QJsonObject &object)
{
    ConversationState state;
    reader.conversation(&state.room, &state.with, QLatin1String("with"));
    state.readId = reader.optionalInteger(QLatin1String("id"), 0, 0, MaxMessageId);
    state.unread = int(reader.optionalInteger(QLatin1String("unread"), 0, 0, MaxUnreadCount));
    state.mentions = int(reader.optionalInteger(QLatin1String("mentions"), 0, 0, MaxUnreadCount));
    state.muted = object.value(QLatin1String("muted")).toBool();
    return state;
}

QJsonObject conversationStateJson(const ConversationState &state)
{
    QJsonObject object{{QLatin1String("id"), state.readId}, {QLatin1String("unread"), state.unread}};
    if (state.isDirect())
        object.insert(QLatin1String("with"), state.with);
    else
        object.insert(QLatin1String("room"), state.room);
    if (state.mentions > 0)
        object.insert(QLatin1String("mentions"), state.mentions);
    if (state.muted)
        object.insert(QLatin1String("muted"), true);
    return object;
}

/// {"room": room} or {"with": with}, added to object.
QJsonObject withConversation(QJsonObject object, const QString &room, const QString &with,
                             QLatin1String other = QLatin1String("with"))
{
    if (room.isEmpty())
        object.insert(other, with);
    else
        object.insert(QLatin1String("room"), room);
    return object;
}

QJsonObject withType(QLatin1String type, QJsonObject object)
{
    object.insert(QLatin1String("type"), type);
    return object;
}

/// One member of a flat JSON object as FlatObject reads it.
struct FlatMember
{
    enum class Kind
    {
        String,
        Integer,
        Boolean,
    };
    QByteArrayView key;
    Kind kind = Kind::String;
    QString string;
    qint64 integer = 0; ///< an Integer's value; a Boolean's as 0 or 1
};

/// Reads a JSON object whose values are all strings, plain non-negative
/// integers or booleans, from valid UTF-8, without building a QJsonObject.
/// Gives up (false) on anything else or anything it is not sure of, which
/// the general parser then judges.
class FlatObject
{
public:
    static constexpr qsizetype MaxMembers = 8;

    bool read(QByteArrayView json)
    {
        m_json = json;
        m_at = 0;
        skipSpace();
        if (!take('{'))
            return false;
        skipSpace();
        if (take('}'))
            return atEnd();
        for (;;) {
            if (m_members.size() == MaxMembers)
                return false;
            FlatMember member;
            if (!readKey(&member.key) || find(member.key))
                return false;
            skipSpace();
            if (!take(':'))
                return false;
            skipSpace();
            if (!readValue(&member))
                return false;
            m_members.append(std::move(member));
            skipSpace();
            if (take('}'))
                return atEnd();
            if (!take(','))
                return false;
            skipSpace();
        }
    }

    const FlatMember *find(QByteArrayView key) const
    {
        for (const FlatMember &member : m_members) {
            if (member.key == key)
                return &member;
        }
        return nullptr;
    }

    /// Every member's key is one of keys.
    bool onlyHas(std::initializer_list<QByteArrayView> keys) const
    {
        for (const FlatMember &member : m_members) {
            if (std::find(keys.begin(), keys.end(), member.key) == keys.end())
                return false;
        }
        return true;
    }

private:
    bool take(char c)
    {
        if (m_at < m_json.size() && m_json[m_at] == c) {
            ++m_at;
            return true;
        }
        return false;
    }

    void skipSpace()
    {
        while (m_at < m_json.size() &&
               (m_json[m_at] == ' ' || m_json[m_at] == '\n' || m_json[m_at] == '\r' || m_json[m_at] == '\t'))
            ++m_at;
    }

    bool atEnd()
    {
        skipSpace();
        return m_at == m_json.size();
    }

    bool readKey(QByteArrayView *key)
    {
        if (!take('"'))
            return false;
        const qsizetype start = m_at;
        while (m_at < m_json.size()) {
            const auto c = quint8(m_json[m_at]);
            if (c == '"') {
                *key = m_json.sliced(start, m_at - start);
                ++m_at;
                return true;
            }
            if (c == '\\' || c < 0x20)
                return false;
            ++m_at;
        }
        return false;
    }

    bool readValue(FlatMember *member)
    {
        if (m_at >= m_json.size())
            return false;
        const char c = m_json[m_at];
        if (c == '"') {
            member->kind = FlatMember::Kind::String;
            return readString(&member->string);
        }
        if (c >= '0' && c <= '9') {
            member->kind = FlatMember::Kind::Integer;
            return readInteger(&member->integer);
        }
        member->kind = FlatMember::Kind::Boolean;
        if (m_json.sliced(m_at).startsWith("true")) {
            m_at += 4;
            member->integer = 1;
            return true;
        }
        if (m_json.sliced(m_at).startsWith("false")) {
            m_at += 5;
            member->integer = 0;
            return true;
        }
        return false; // null, an array, an object, a negative number...
    }

    bool readString(QString *string)
    {
        ++m_at; // the opening quote
        const qsizetype start = m_at;
        while (m_at < m_json.size()) {
            const auto c = quint8(m_json[m_at]);
            if (c == '"') {
                *string = QString::fromUtf8(m_json.sliced(start, m_at - start));
                ++m_at;
                return true;
            }
            if (c == '\\')
                return readEscapedString(start, string);
            if (c < 0x20)
                return false; // JSON wants control characters escaped
            ++m_at;
        }
        return false;
    }

    /// The rest of a string that has escapes, from its start.
    bool readEscapedString(qsizetype start, QString *string)
    {
        QByteArray utf8 = m_json.sliced(start, m_at - start).toByteArray();
        while (m_at < m_json.size()) {
            const auto c = quint8(m_json[m_at]);
            if (c == '"') {
                *string = QString::fromUtf8(utf8);
                ++m_at;
                return true;
            }
            if (c < 0x20)
                return false;
            if (c != '\\') {
                utf8.append(char(c));
                ++m_at;
                continue;
            }
            if (m_at + 1 >= m_json.size())
                return false;
            const char escape = m_json[m_at + 1];
            m_at += 2;
            if (const char plain = unescaped(escape)) {
                utf8.append(plain);
                continue;
            }
            // Else "u" and four hex digits: a character, not half of one (halves are the general parser's).
            if (escape != 'u' || m_at + 4 > m_json.size() || !isHexDigits(m_json.sliced(m_at, 4)))
                return false;
            const uint unit = m_json.sliced(m_at, 4).toUInt(nullptr, 16);
            if (QChar::isSurrogate(unit))
                return false;
            m_at += 4;
            const char16_t character = char16_t(unit);
            utf8.append(QStringView(&character, 1).toUtf8());
        }
        return false;
    }

    /// What a one-letter escape stands for; 0 for the others.
    static char unescaped(char escape)
    {
        constexpr std::pair<char, char> Escapes[] = {{'"', '"'},  {'\\', '\\'}, {'/', '/'},  {'b', '\b'},
                                                     {'f', '\f'}, {'n', '\n'},  {'r', '\r'}, {'t', '\t'}};
        for (const auto &[letter, character] : Escapes) {
            if (letter == escape)
                return character;
        }
        return 0;
    }

    static bool isHexDigits(QByteArrayView digits)
    {
        return std::all_of(digits.begin(), digits.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        });
    }

    bool readInteger(qint64 *value)
    {
        const qsizetype start = m_at;
        qint64 result = 0;
        while (m_at < m_json.size() && m_json[m_at] >= '0' && m_json[m_at] <= '9') {
            result = result * 10 + (m_json[m_at] - '0');
            ++m_at;
            if (m_at - start > 15) // beyond what a double holds exactly: the general parser's
                return false;
        }
        const qsizetype digits = m_at - start;
        if (digits > 1 && m_json[start] == '0')
            return false; // not JSON
        if (m_at < m_json.size() && (m_json[m_at] == '.' || m_json[m_at] == 'e' || m_json[m_at] == 'E'))
            return false;
        *value = result;
        return true;
    }

    QByteArrayView m_json;
    qsizetype m_at = 0;
    QVarLengthArray<FlatMember, MaxMembers> m_members;
};

/// A string member, or nullptr if it is missing or not a string.
const QString *flatString(const FlatObject &object, QByteArrayView key)
{
    const FlatMember *member = object.find(key);
    return member && member->kind == FlatMember::Kind::String ? &member->string : nullptr;
}

/// A conversation as send_message and typing name it: exactly one of a valid room and a valid email "to".
bool flatConversation(const FlatObject &object, QString *room, QString *to)
{
    const FlatMember *roomMember = object.find("room");
    const FlatMember *toMember = object.find("to");
    if ((roomMember == nullptr) == (toMember == nullptr))
        return false;
    if (roomMember) {
        if (roomMember->kind != FlatMember::Kind::String || !Validation::isValidRoomName(roomMember->string))
            return false;
        *room = roomMember->string;
        return true;
    }
    if (toMember->kind != FlatMember::Kind::String || !Validation::isValidEmail(toMember->string))
        return false;
    *to = toMember->string;
    return true;
}

} // namespace

std::optional<ClientFrame> decodeHotClientFrame(QByteArrayView utf8)
{
    // Quick looks first: most frames are not these two.
    const bool send = utf8.contains("\"send_message\"");
    if (!send && !utf8.contains("\"typing\""))
        return std::nullopt;
    if (!utf8.isValidUtf8())
        return std::nullopt;
    FlatObject object;
    if (!object.read(utf8))
        return std::nullopt;
    const QString *type = flatString(object, "type");
    if (!type)
        return std::nullopt;
    if (send && *type == Type::SendMessage) {
        if (!object.onlyHas({"type", "room", "to", "text", "client_id", "reply_to"}))
            return std::nullopt;
        SendMessage message;
        if (const FlatMember *clientId = object.find("client_id")) {
            if (clientId->kind != FlatMember::Kind::String || !Validation::isValidClientId(clientId->string))
                return std::nullopt;
            message.clientId = clientId->string;
        }
        if (!flatConversation(object, &message.room, &message.to))
            return std::nullopt;
        const QString *text = flatString(object, "text");
        if (!text || Validation::firstInvalidUnicode(*text) >= 0 || Validation::isBlank(*text))
            return std::nullopt;
        message.text = *text;
        if (const FlatMember *replyTo = object.find("reply_to")) {
            if (replyTo->kind != FlatMember::Kind::Integer || replyTo->integer < 1 ||
                replyTo->integer > MaxMessageId)
                return std::nullopt;
            message.replyTo = replyTo->integer;
        }
        return ClientFrame(std::move(message));
    }
    if (!send && *type == Type::Typing) {
        if (!object.onlyHas({"type", "room", "to", "active"}))
            return std::nullopt;
        TypingRequest typing;
        if (!flatConversation(object, &typing.room, &typing.to))
            return std::nullopt;
        const FlatMember *active = object.find("active");
        if (!active || active->kind != FlatMember::Kind::Boolean)
            return std::nullopt;
        typing.active = active->integer != 0;
        return ClientFrame(std::move(typing));
    }
    return std::nullopt;
}

Result<ClientFrame> decodeClientFrame(const QByteArray &utf8)
{
    if (std::optional<ClientFrame> hot = decodeHotClientFrame(utf8))
        return std::move(*hot);
    return decodeClientFrameGeneral(utf8);
}

Result<ClientFrame> decodeClientFrameGeneral(const QByteArray &utf8)
{
    QJsonObject object;
    QString type;
    if (std::optional<Error> error = parseEnvelope(utf8, &object, &type))
        return *error;

    FieldReader reader(object, type);
    if (type == Type::Hello) {
        Hello hello;
        hello.user.name = reader.string(QLatin1String("name")).trimmed();
        if (reader.ok() && !Validation::isValidDisplayName(hello.user.name))
            reader.fail(ErrorCode::BadName, u"a name is 1-64 characters without control characters"_s);
        hello.user.email = reader.email(QLatin1String("email"));
        hello.protocol = int(reader.optionalInteger(QLatin1String("protocol"), Version, 1, 1000));
        hello.password = reader.boundedString(QLatin1String("password"), MaxPasswordLength);
        hello.token = reader.boundedString(QLatin1String("token"), MaxTokenLength);
        hello.invite = reader.boundedString(QLatin1String("invite"), MaxInviteLength);
        hello.device = reader.optionalString(QLatin1String("device")).trimmed();
        if (reader.ok() && !hello.device.isEmpty() && !Validation::isValidDisplayName(hello.device))
            reader.fail(ErrorCode::BadField,
                        u"a device name is 1-64 characters without control characters"_s);
        if (reader.ok() && reader.has(QLatin1String("password")) && reader.has(QLatin1String("token")))
            reader.fail(ErrorCode::BadField, u"give \"password\" or \"token\", not both"_s);
        return finish(reader, std::move(hello));
    }
    if (type == Type::SignOut)
        return finish(reader, SignOut{});
    if (type == Type::CreateRoom) {
        CreateRoom create;
        create.room = reader.room();
        if (reader.has(QLatin1String("private")))
            create.isPrivate = reader.boolean(QLatin1String("private"));
        return finish(reader, std::move(create));
    }
    if (type == Type::InviteToRoom || type == Type::RemoveFromRoom) {
        const QString room = reader.room();
        const QString email = reader.email(QLatin1String("email"));
        if (type == Type::InviteToRoom)
            return finish(reader, InviteToRoom{room, email});
        return finish(reader, RemoveFromRoom{room, email});
    }
    if (type == Type::ChangePassword) {
        ChangePassword change;
        change.password = reader.string(QLatin1String("password"));
        change.newPassword = reader.boundedString(QLatin1String("new_password"), MaxPasswordLength);
        if (reader.ok() && change.password.toUtf8().size() > MaxPasswordLength)
            reader.fail(ErrorCode::BadField,
                        u"\"password\" is longer than %1 bytes"_s.arg(MaxPasswordLength));
        if (reader.ok() && !reader.has(QLatin1String("new_password")))
            reader.fail(ErrorCode::BadField, u"missing field \"new_password\""_s);
        return finish(reader, std::move(change));
    }
    if (type == Type::JoinRoom)
        return finish(reader, JoinRoom{reader.room()});
    if (type == Type::LeaveRoom)
        return finish(reader, LeaveRoom{reader.room()});
    if (type == Type::SendMessage) {
        SendMessage send;
        send.clientId = reader.clientId();
        if (reader.exactlyOne(QLatin1String("room"), QLatin1String("to"))) {
            if (reader.has(QLatin1String("room")))
                send.room = reader.room();
            else
                send.to = reader.email(QLatin1String("to"));
        }
        send.text = reader.string(QLatin1String("text"));
        if (reader.ok() && Validation::isBlank(send.text))
            reader.fail(ErrorCode::BadText, u"a message needs some text"_s);
        if (reader.has(QLatin1String("reply_to")))
            send.replyTo = reader.messageId(QLatin1String("reply_to"));
        send.mentions = reader.mentions();
        return finish(reader, std::move(send));
    }
    if (type == Type::EditMessage) {
        EditMessage edit;
        edit.id = reader.messageId();
        edit.text = reader.string(QLatin1String("text"));
        if (reader.ok() && Validation::isBlank(edit.text))
            reader.fail(ErrorCode::BadText, u"a message needs some text; delete it instead"_s);
        edit.mentions = reader.mentions();
        return finish(reader, std::move(edit));
    }
    if (type == Type::DeleteMessage)
        return finish(reader, DeleteMessage{reader.messageId()});
    if (type == Type::React) {
        React react;
        react.id = reader.messageId();
        react.emoji = reader.string(QLatin1String("emoji"));
        if (reader.ok() && !Validation::isValidEmoji(react.emoji))
            reader.fail(ErrorCode::BadEmoji, u"a reaction is one emoji"_s);
        react.on = reader.boolean(QLatin1String("on"));
        return finish(reader, std::move(react));
    }
    if (type == Type::MarkRead) {
        MarkRead mark;
        reader.conversation(&mark.room, &mark.with, QLatin1String("with"));
        mark.id = reader.messageId();
        return finish(reader, std::move(mark));
    }
    if (type == Type::Mute) {
        MuteRequest mute;
        reader.conversation(&mute.room, &mute.with, QLatin1String("with"));
        mute.muted = reader.boolean(QLatin1String("muted"));
        return finish(reader, std::move(mute));
    }
    if (type == Type::Search) {
        SearchRequest search;
        search.query = reader.string(QLatin1String("query"));
        if (reader.ok() && Validation::textLength(search.query) > MaxQueryLength)
            reader.fail(ErrorCode::BadQuery, u"a search is at most %1 characters"_s.arg(MaxQueryLength));
        if (reader.has(QLatin1String("room")) || reader.has(QLatin1String("with")))
            reader.conversation(&search.room, &search.with, QLatin1String("with"));
        if (reader.has(QLatin1String("from")))
            search.from = reader.email(QLatin1String("from"));
        for (const auto &[name, value] : {std::pair{QLatin1String("before"), &search.before},
                                          std::pair{QLatin1String("after"), &search.after}}) {
            if (!reader.has(name))
                continue;
            const QString text = reader.string(name);
            // A date alone is its first moment, UTC.
            *value = text.size() == 10 ? QDateTime(QDate::fromString(text, Qt::ISODate), QTime(0, 0), Qt::UTC)
                                       : Message::parseTimestamp(text);
            if (reader.ok() && !value->isValid())
                reader.fail(ErrorCode::BadField,
                            u"\"%1\" must be an ISO-8601 date or time, e.g. 2026-12-01"_s.arg(name));
        }
        search.limit =
            int(reader.optionalInteger(QLatin1String("limit"), DefaultSearchLimit, 1, MaxSearchLimit));
        search.cursor = reader.boundedString(QLatin1String("cursor"), MaxCursorLength);
        return finish(reader, std::move(search));
    }
    if (type == Type::UploadBegin) {
        UploadBegin upload;
        upload.clientId = reader.clientId();
        if (reader.ok() && upload.clientId.isEmpty())
            reader.fail(ErrorCode::BadField, u"an upload needs a \"client_id\""_s);
        upload.name = reader.string(QLatin1String("name"));
        if (reader.ok() && !Validation::isValidFileName(upload.name))
            reader.fail(ErrorCode::BadField,
                        u"a file name is 1-%1 characters without control characters"_s.arg(
                            Validation::MaxFileNameLength));
        if (!reader.has(QLatin1String("size")))
            reader.fail(ErrorCode::BadField, u"missing field \"size\""_s);
        upload.size = reader.optionalInteger(QLatin1String("size"), 0, 0, MaxFileSize);
        upload.sha256 = reader.string(QLatin1String("sha256"));
        if (reader.ok() && !Validation::isValidSha256(upload.sha256))
            reader.fail(ErrorCode::BadField, u"\"sha256\" must be 64 lowercase hexadecimal digits"_s);
        upload.mime = reader.optionalString(QLatin1String("mime"));
        if (reader.ok() && !upload.mime.isEmpty() && !Validation::isValidMimeType(upload.mime))
            reader.fail(ErrorCode::BadField, u"\"mime\" must be a media type such as image/png"_s);
        if (reader.has(QLatin1String("thumbnail")))
            upload.thumbnail = reader.boolean(QLatin1String("thumbnail"));
        if (upload.thumbnail) {
            if (reader.ok() && (reader.has(QLatin1String("room")) || reader.has(QLatin1String("to"))))
                reader.fail(ErrorCode::BadField, u"a thumbnail belongs to no conversation"_s);
        } else if (reader.exactlyOne(QLatin1String("room"), QLatin1String("to"))) {
            if (reader.has(QLatin1String("room")))
                upload.room = reader.room();
            else
                upload.to = reader.email(QLatin1String("to"));
        }
        upload.text = reader.optionalString(QLatin1String("text"));
        if (reader.has(QLatin1String("reply_to")))
            upload.replyTo = reader.messageId(QLatin1String("reply_to"));
        if (reader.has(QLatin1String("image"))) {
            const QJsonObject image = reader.object(QLatin1String("image"));
            FieldReader info(image, type);
            upload.image.width = int(info.optionalInteger(QLatin1String("width"), 0, 1, MaxImageSide));
            upload.image.height = int(info.optionalInteger(QLatin1String("height"), 0, 1, MaxImageSide));
            upload.image.thumbnailId =
                info.optionalInteger(QLatin1String("thumbnail_id"), 0, 1, MaxMessageId);
            if (info.ok() && !upload.image.isValid())
                info.fail(ErrorCode::BadField, u"\"image\" needs a \"width\" and a \"height\""_s);
            if (reader.ok() && !info.ok())
                reader.fail(info.error().code, info.error().message);
        }
        return finish(reader, std::move(upload));
    }
    if (type == Type::UploadDone || type == Type::UploadCancel) {
        const qint64 id = reader.messageId(QLatin1String("upload_id"));
        if (type == Type::UploadDone)
            return finish(reader, UploadDone{id});
        return finish(reader, UploadCancel{id});
    }
    if (type == Type::Download) {
        DownloadRequest download;
        download.fileId = reader.messageId(QLatin1String("file_id"));
        download.offset = reader.optionalInteger(QLatin1String("offset"), 0, 0, MaxFileSize);
        return finish(reader, download);
    }
    if (type == Type::DownloadCancel)
        return finish(reader, DownloadCancel{reader.messageId(QLatin1String("download_id"))});
    if (type == Type::Changes) {
        ChangesRequest changes;
        reader.conversation(&changes.room, &changes.with, QLatin1String("with"));
        if (!reader.has(QLatin1String("after")))
            reader.fail(ErrorCode::BadField, u"missing field \"after\""_s);
        changes.after = reader.optionalInteger(QLatin1String("after"), 0, 0, MaxMessageId);
        changes.limit =
            int(reader.optionalInteger(QLatin1String("limit"), DefaultChangesLimit, 1, MaxChangesLimit));
        return finish(reader, std::move(changes));
    }
    if (type == Type::History) {
        HistoryRequest request;
        if (reader.exactlyOne(QLatin1String("room"), QLatin1String("with"))) {
            if (reader.has(QLatin1String("room")))
                request.room = reader.room();
            else
                request.with = reader.email(QLatin1String("with"));
        }
        const int anchors = int(reader.has(QLatin1String("before"))) +
                            int(reader.has(QLatin1String("after"))) +
                            int(reader.has(QLatin1String("around")));
        if (anchors > 1)
            reader.fail(ErrorCode::BadField, u"give at most one of \"before\", \"after\" and \"around\""_s);
        if (reader.has(QLatin1String("before")))
            request.before = reader.optionalInteger(QLatin1String("before"), 0, 1, MaxMessageId);
        if (reader.has(QLatin1String("after")))
            request.after = reader.optionalInteger(QLatin1String("after"), 0, 0, MaxMessageId);
        if (reader.has(QLatin1String("around")))
            request.around = reader.messageId(QLatin1String("around"));
        request.limit =
            int(reader.optionalInteger(QLatin1String("limit"), DefaultHistoryLimit, 1, MaxHistoryLimit));
        return finish(reader, std::move(request));
    }
    if (type == Type::Typing) {
        TypingRequest typing;
        if (reader.exactlyOne(QLatin1String("room"), QLatin1String("to"))) {
            if (reader.has(QLatin1String("room")))
                typing.room = reader.room();
            else
                typing.to = reader.email(QLatin1String("to"));
        }
        typing.active = reader.boolean(QLatin1String("active"));
        return finish(reader, std::move(typing));
    }
    if (type == Type::ListRooms || type == Type::ListPeople) {
        const QString prefix = reader.boundedString(QLatin1String("prefix"), MaxListPrefixLength);
        const int offset = int(reader.optionalInteger(QLatin1String("offset"), 0, 0, MaxListOffset));
        const int limit =
            int(reader.optionalInteger(QLatin1String("limit"), DefaultListLimit, 1, MaxListLimit));
        const QString after = reader.boundedString(QLatin1String("after"), MaxListCursorLength);
        if (!after.isEmpty() && offset > 0)
            return Error{ErrorCode::BadField, QStringLiteral("give offset or after, not both"), type, {}, {}};
        if (type == Type::ListRooms)
            return finish(reader, ListRooms{prefix, offset, limit, after});
        return finish(reader, ListPeople{prefix, offset, limit, after});
    }
    if (type == Type::WatchPresence) {
        WatchPresence watch;
        const QJsonArray emails = reader.array(QLatin1String("emails"));
        if (reader.ok() && emails.size() > MaxWatchedUsers)
            reader.fail(ErrorCode::BadField, u"watch at most %1 users"_s.arg(MaxWatchedUsers));
        for (const QJsonValue &value : emails) {
            if (!reader.ok())
                break;
            if (!value.isString() || !Validation::isValidEmail(value.toString()))
                reader.fail(ErrorCode::BadEmail, u"\"emails\" must hold valid email addresses"_s);
            else
                watch.emails.append(value.toString());
        }
        return finish(reader, std::move(watch));
    }
    return Error{ErrorCode::UnknownType, u"unknown frame type \"%1\""_s.arg(type), type, {}, {}};
}

Result<ServerFrame> decodeServerFrame(const QByteArray &utf8)
{
    QJsonObject object;
    QString type;
    if (std::optional<Error> error = parseEnvelope(utf8, &object, &type))
        return *error;

    FieldReader reader(object, type);
    if (type == Type::Welcome) {
        Welcome welcome;
        welcome.user = readUser(reader, reader.object(QLatin1String("user")));
        welcome.protocol = int(reader.optionalInteger(QLatin1String("protocol"), 0, 1, 1000));
        welcome.server = reader.string(QLatin1String("server"));
        welcome.serverName = reader.optionalString(QLatin1String("name"));
        const QJsonObject limits = object.value(QLatin1String("limits")).toObject();
        welcome.limits.maxTextLength = limits.value(QLatin1String("max_text_length")).toInteger();
        welcome.limits.maxFrameBytes = limits.value(QLatin1String("max_frame_bytes")).toInteger();
        welcome.limits.historyLimit = int(limits.value(QLatin1String("history_limit")).toInteger());
        welcome.limits.maxUploadBytes = limits.value(QLatin1String("max_upload_bytes")).toInteger();
        welcome.token = reader.optionalString(QLatin1String("token"));
        welcome.serverId = reader.optionalString(QLatin1String("server_id"));
        for (const QJsonValue &value : object.value(QLatin1String("conversations")).toArray()) {
            const QJsonObject entry = value.toObject();
            FieldReader state(entry, type);
            welcome.conversations.append(readConversationState(state, entry));
            if (!state.ok())
                return state.error();
        }
        return finishServer(reader, std::move(welcome));
    }
    if (type == Type::PasswordChanged) {
        PasswordChanged changed;
        changed.token = reader.optionalString(QLatin1String("token"));
        return finishServer(reader, std::move(changed));
    }
    if (type == Type::RoomInvitation) {
        RoomInvitation invitation;
        invitation.room = reader.room();
        invitation.by = readUser(reader, reader.object(QLatin1String("by")));
        if (object.contains(QLatin1String("member")))
            invitation.member = readUser(reader, reader.object(QLatin1String("member")));
        return finishServer(reader, std::move(invitation));
    }
    if (type == Type::UserJoined || type == Type::UserLeft) {
        const QString room = reader.room();
        const User user = readUser(reader, reader.object(QLatin1String("user")));
        if (type == Type::UserJoined)
            return finishServer(reader, UserJoined{room, user});
        return finishServer(reader, UserLeft{room, user});
    }
    if (type == Type::Members) {
        Members members;
        members.room = reader.room();
        members.users = readUsers(reader, reader.array(QLatin1String("users")));
        members.isPrivate = object.value(QLatin1String("private")).toBool();
        members.owner = object.value(QLatin1String("owner")).toString();
        return finishServer(reader, std::move(members));
    }
    if (type == Type::History) {
        History history;
        if (reader.exactlyOne(QLatin1String("room"), QLatin1String("with"))) {
            if (reader.has(QLatin1String("room")))
                history.room = reader.room();
            else
                history.with = reader.email(QLatin1String("with"));
        }
        const QJsonArray messages = reader.array(QLatin1String("messages"));
        history.messages.reserve(messages.size());
        for (const QJsonValue &value : messages) {
            QString error;
            std::optional<Message> message = Message::fromJson(value.toObject(), &error);
            if (!message) {
                reader.fail(ErrorCode::BadField, error);
                break;
            }
            history.messages.append(std::move(*message));
        }
        history.hasMore = object.value(QLatin1String("has_more")).toBool();
        history.hasNewer = object.value(QLatin1String("has_newer")).toBool();
        history.changeSeq = object.value(QLatin1String("change_seq")).toInteger();
        return finishServer(reader, std::move(history));
    }
    if (type == Type::MessageEdited || type == Type::MessageDeleted || type == Type::Reactions) {
        MessageChange change;
        change.kind = type == Type::MessageEdited    ? MessageChange::Kind::Edited
                      : type == Type::MessageDeleted ? MessageChange::Kind::Deleted
                                                     : MessageChange::Kind::Reactions;
        QString error;
        std::optional<Message> message = Message::fromJson(object, &error);
        if (!message)
            return Error{ErrorCode::BadField, error, type, {}, {}};
        change.message = std::move(*message);
        change.changeSeq = reader.optionalInteger(QLatin1String("change_seq"), 0, 0, MaxMessageId);
        if (object.contains(QLatin1String("by")))
            change.by = readUser(reader, reader.object(QLatin1String("by")));
        return finishServer(reader, std::move(change));
    }
    if (type == Type::Changes) {
        Changes changes;
        reader.conversation(&changes.room, &changes.with, QLatin1String("with"));
        for (const QJsonValue &value : reader.array(QLatin1String("messages"))) {
            QString error;
            std::optional<Message> message = Message::fromJson(value.toObject(), &error);
            if (!message) {
                reader.fail(ErrorCode::BadField, error);
                break;
            }
            changes.messages.append(std::move(*message));
        }
        changes.changeSeq = reader.optionalInteger(QLatin1String("change_seq"), 0, 0, MaxMessageId);
        changes.hasMore = object.value(QLatin1String("has_more")).toBool();
        return finishServer(reader, std::move(changes));
    }
    if (type == Type::SearchResults) {
        SearchResults results;
        results.query = reader.string(QLatin1String("query"));
        for (const QJsonValue &value : reader.array(QLatin1String("results"))) {
            const QJsonObject entry = value.toObject();
            QString error;
            std::optional<Message> message =
                Message::fromJson(entry.value(QLatin1String("message")).toObject(), &error);
            if (!message) {
                reader.fail(ErrorCode::BadField, error);
                break;
            }
            SearchHit hit{std::move(*message), entry.value(QLatin1String("snippet")).toString(), {}};
            for (const QJsonValue &range : entry.value(QLatin1String("highlights")).toArray()) {
                const QJsonArray pair = range.toArray();
                const int start = int(pair.at(0).toInteger(-1));
                const int length = int(pair.at(1).toInteger(-1));
                if (pair.size() != 2 || start < 0 || length <= 0 || start + length > hit.snippet.size()) {
                    reader.fail(ErrorCode::BadField, u"a highlight is [start, length] within the snippet"_s);
                    break;
                }
                hit.highlights.append({start, length});
            }
            results.results.append(std::move(hit));
        }
        results.cursor = reader.optionalString(QLatin1String("cursor"));
        return finishServer(reader, std::move(results));
    }
    if (type == Type::UploadReady) {
        UploadReady ready;
        ready.uploadId = reader.messageId(QLatin1String("upload_id"));
        ready.clientId = reader.string(QLatin1String("client_id"));
        ready.offset = reader.optionalInteger(QLatin1String("offset"), 0, 0, MaxFileSize);
        ready.chunkBytes = reader.optionalInteger(QLatin1String("chunk_bytes"), 0, 1, 1 << 30);
        return finishServer(reader, std::move(ready));
    }
    if (type == Type::UploadComplete) {
        UploadComplete complete;
        // 0: the upload had finished before the client asked again.
        complete.uploadId = reader.optionalInteger(QLatin1String("upload_id"), 0, 0, MaxMessageId);
        complete.clientId = reader.string(QLatin1String("client_id"));
        complete.fileId = reader.messageId(QLatin1String("file_id"));
        return finishServer(reader, std::move(complete));
    }
    if (type == Type::DownloadReady) {
        DownloadReady ready;
        ready.downloadId = reader.messageId(QLatin1String("download_id"));
        ready.fileId = reader.messageId(QLatin1String("file_id"));
        ready.size = reader.optionalInteger(QLatin1String("size"), 0, 0, MaxFileSize);
        ready.offset = reader.optionalInteger(QLatin1String("offset"), 0, 0, MaxFileSize);
        ready.sha256 = reader.string(QLatin1String("sha256"));
        ready.mime = reader.optionalString(QLatin1String("mime"));
        if (reader.ok() && ready.offset > ready.size)
            reader.fail(ErrorCode::BadField, u"\"offset\" is beyond the end of the file"_s);
        return finishServer(reader, std::move(ready));
    }
    if (type == Type::DownloadDone)
        return finishServer(reader, DownloadDone{reader.messageId(QLatin1String("download_id"))});
    if (type == Type::ReadMarker)
        return finishServer(reader, ReadMarker{readConversationState(reader, object)});
    if (type == Type::Muted) {
        Muted muted;
        reader.conversation(&muted.room, &muted.with, QLatin1String("with"));
        muted.muted = reader.boolean(QLatin1String("muted"));
        return finishServer(reader, std::move(muted));
    }
    if (type == Type::ReceiveMessage) {
        QString error;
        std::optional<Message> message = Message::fromJson(object, &error);
        if (!message)
            return Error{ErrorCode::BadField, error, type, {}, {}};
        return ServerFrame(ReceiveMessage{std::move(*message)});
    }
    if (type == Type::Typing) {
        TypingNotice typing;
        if (reader.exactlyOne(QLatin1String("room"), QLatin1String("to"))) {
            if (reader.has(QLatin1String("room")))
                typing.room = reader.room();
            else
                typing.to = reader.email(QLatin1String("to"));
        }
        typing.user = readUser(reader, reader.object(QLatin1String("user")));
        typing.active = reader.boolean(QLatin1String("active"));
        return finishServer(reader, std::move(typing));
    }
    if (type == Type::RoomList) {
        RoomList list;
        list.prefix = reader.optionalString(QLatin1String("prefix"));
        list.offset = int(reader.optionalInteger(QLatin1String("offset"), 0, 0, MaxListOffset));
        const QJsonArray rooms = reader.array(QLatin1String("rooms"));
        for (const QJsonValue &value : rooms) {
            const QJsonObject room = value.toObject();
            FieldReader entry(room, type);
            RoomSummary summary;
            summary.room = entry.room();
            summary.isPrivate = room.value(QLatin1String("private")).toBool();
            summary.online = int(entry.optionalInteger(QLatin1String("online"), 0, 0, 1'000'000'000));
            if (room.contains(QLatin1String("last_ts")))
                summary.lastActivity = Message::parseTimestamp(entry.string(QLatin1String("last_ts")));
            if (!entry.ok())
                return entry.error();
            list.rooms.append(summary);
        }
        list.hasMore = object.value(QLatin1String("has_more")).toBool();
        list.next = reader.optionalString(QLatin1String("next"));
        return finishServer(reader, std::move(list));
    }
    if (type == Type::People) {
        People people;
        people.prefix = reader.optionalString(QLatin1String("prefix"));
        people.offset = int(reader.optionalInteger(QLatin1String("offset"), 0, 0, MaxListOffset));
        const QJsonArray users = reader.array(QLatin1String("users"));
        for (const QJsonValue &value : users) {
            const QJsonObject user = value.toObject();
            people.people.append(
                Person{readUser(reader, user), user.value(QLatin1String("online")).toBool()});
        }
        people.hasMore = object.value(QLatin1String("has_more")).toBool();
        people.next = reader.optionalString(QLatin1String("next"));
        return finishServer(reader, std::move(people));
    }
    if (type == Type::Presence) {
        Presence presence;
        presence.user = readUser(reader, reader.object(QLatin1String("user")));
        presence.online = reader.boolean(QLatin1String("online"));
        presence.known = object.value(QLatin1String("known")).toBool(true);
        return finishServer(reader, std::move(presence));
    }
    if (type == Type::Error) {
        Error error;
        const QString code = reader.string(QLatin1String("code"));
        // An unknown code from a newer server still reads as an error.
        error.code = errorCodeFromName(code).value_or(ErrorCode::InternalError);
        error.message = reader.string(QLatin1String("message"));
        error.request = reader.optionalString(QLatin1String("request"));
        error.clientId = reader.optionalString(QLatin1String("client_id"));
        error.room = reader.optionalString(QLatin1String("room"));
        error.uploadId = reader.optionalInteger(QLatin1String("upload_id"), 0, 0, MaxMessageId);
        error.downloadId = reader.optionalInteger(QLatin1String("download_id"), 0, 0, MaxMessageId);
        return finishServer(reader, std::move(error));
    }
    return Error{ErrorCode::UnknownType, u"unknown frame type \"%1\""_s.arg(type), type, {}, {}};
}

QJsonObject toJson(const ClientFrame &frame)
{
    return std::visit(
        Overloaded{
            [](const Hello &hello) {
                QJsonObject object = hello.user.toJson();
                object.insert(QLatin1String("protocol"), hello.protocol);
                if (!hello.token.isEmpty())
                    object.insert(QLatin1String("token"), hello.token);
                else if (!hello.password.isEmpty())
                    object.insert(QLatin1String("password"), hello.password);
                if (!hello.device.isEmpty())
                    object.insert(QLatin1String("device"), hello.device);
                if (!hello.invite.isEmpty())
                    object.insert(QLatin1String("invite"), hello.invite);
                return withType(Type::Hello, object);
            },
            [](const SignOut &) { return withType(Type::SignOut, {}); },
            [](const CreateRoom &create) {
                QJsonObject object{{QLatin1String("room"), create.room}};
                if (create.isPrivate)
                    object.insert(QLatin1String("private"), true);
                return withType(Type::CreateRoom, object);
            },
            [](const InviteToRoom &invite) {
                return withType(Type::InviteToRoom, {{QLatin1String("room"), invite.room},
                                                     {QLatin1String("email"), invite.email}});
            },
            [](const RemoveFromRoom &remove) {
                return withType(Type::RemoveFromRoom, {{QLatin1String("room"), remove.room},
                                                       {QLatin1String("email"), remove.email}});
            },
            [](const ChangePassword &change) {
                return withType(Type::ChangePassword, {{QLatin1String("password"), change.password},
                                                       {QLatin1String("new_password"), change.newPassword}});
            },
            [](const JoinRoom &join) {
                return withType(Type::JoinRoom, {{QLatin1String("room"), join.room}});
            },
            [](const LeaveRoom &leave) {
                return withType(Type::LeaveRoom, {{QLatin1String("room"), leave.room}});
            },
            [](const SendMessage &send) {
                QJsonObject object{{QLatin1String("text"), send.text}};
                if (send.isDirect())
                    object.insert(QLatin1String("to"), send.to);
                else
                    object.insert(QLatin1String("room"), send.room);
                if (!send.clientId.isEmpty())
                    object.insert(QLatin1String("client_id"), send.clientId);
                if (send.replyTo > 0)
                    object.insert(QLatin1String("reply_to"), send.replyTo);
                if (!send.mentions.isEmpty())
                    object.insert(QLatin1String("mentions"), QJsonArray::fromStringList(send.mentions));
                return withType(Type::SendMessage, object);
            },
            [](const EditMessage &edit) {
                QJsonObject object{{QLatin1String("id"), edit.id}, {QLatin1String("text"), edit.text}};
                if (!edit.mentions.isEmpty())
                    object.insert(QLatin1String("mentions"), QJsonArray::fromStringList(edit.mentions));
                return withType(Type::EditMessage, object);
            },
            [](const DeleteMessage &remove) {
                return withType(Type::DeleteMessage, {{QLatin1String("id"), remove.id}});
            },
            [](const React &react) {
                return withType(Type::React, {{QLatin1String("id"), react.id},
                                              {QLatin1String("emoji"), react.emoji},
                                              {QLatin1String("on"), react.on}});
            },
            [](const MarkRead &mark) {
                return withType(Type::MarkRead,
                                withConversation({{QLatin1String("id"), mark.id}}, mark.room, mark.with));
            },
            [](const MuteRequest &mute) {
                return withType(Type::Mute, withConversation({{QLatin1String("muted"), mute.muted}},
                                                             mute.room, mute.with));
            },
            [](const SearchRequest &search) {
                QJsonObject object{{QLatin1String("query"), search.query},
                                   {QLatin1String("limit"), search.limit}};
                if (!search.room.isEmpty() || !search.with.isEmpty())
                    object = withConversation(object, search.room, search.with);
                if (!search.from.isEmpty())
                    object.insert(QLatin1String("from"), search.from);
                if (search.before.isValid())
                    object.insert(QLatin1String("before"), Message::formatTimestamp(search.before));
                if (search.after.isValid())
                    object.insert(QLatin1String("after"), Message::formatTimestamp(search.after));
                if (!search.cursor.isEmpty())
                    object.insert(QLatin1String("cursor"), search.cursor);
                return withType(Type::Search, object);
            },
            [](const ChangesRequest &changes) {
                return withType(Type::Changes, withConversation({{QLatin1String("after"), changes.after},
                                                                 {QLatin1String("limit"), changes.limit}},
                                                                changes.room, changes.with));
            },
            [](const HistoryRequest &request) {
                QJsonObject object{{QLatin1String("limit"), request.limit}};
                if (request.isDirect())
                    object.insert(QLatin1String("with"), request.with);
                else
                    object.insert(QLatin1String("room"), request.room);
                if (request.before)
                    object.insert(QLatin1String("before"), *request.before);
                if (request.after)
                    object.insert(QLatin1String("after"), *request.after);
                if (request.around)
                    object.insert(QLatin1String("around"), *request.around);
                return withType(Type::History, object);
            },
            [](const TypingRequest &typing) {
                QJsonObject object{{QLatin1String("active"), typing.active}};
                if (typing.isDirect())
                    object.insert(QLatin1String("to"), typing.to);
                else
                    object.insert(QLatin1String("room"), typing.room);
                return withType(Type::Typing, object);
            },
            [](const ListRooms &list) {
                return withType(Type::ListRooms,
                                listRequestJson(list.prefix, list.offset, list.limit, list.after));
            },
            [](const ListPeople &list) {
                return withType(Type::ListPeople,
                                listRequestJson(list.prefix, list.offset, list.limit, list.after));
            },
            [](const WatchPresence &watch) {
                return withType(Type::WatchPresence,
                                {{QLatin1String("emails"), QJsonArray::fromStringList(watch.emails)}});
            },
            [](const UploadBegin &upload) {
                QJsonObject object{{QLatin1String("client_id"), upload.clientId},
                                   {QLatin1String("name"), upload.name},
                                   {QLatin1String("size"), upload.size},
                                   {QLatin1String("sha256"), upload.sha256}};
                if (!upload.mime.isEmpty())
                    object.insert(QLatin1String("mime"), upload.mime);
                if (upload.thumbnail)
                    object.insert(QLatin1String("thumbnail"), true);
                else
                    object = withConversation(object, upload.room, upload.to, QLatin1String("to"));
                if (!upload.text.isEmpty())
                    object.insert(QLatin1String("text"), upload.text);
                if (upload.replyTo > 0)
                    object.insert(QLatin1String("reply_to"), upload.replyTo);
                if (upload.image.isValid()) {
                    QJsonObject image{{QLatin1String("width"), upload.image.width},
                                      {QLatin1String("height"), upload.image.height}};
                    if (upload.image.thumbnailId > 0)
                        image.insert(QLatin1String("thumbnail_id"), upload.image.thumbnailId);
                    object.insert(QLatin1String("image"), image);
                }
                return withType(Type::UploadBegin, object);
            },
            [](const UploadDone &done) {
                return withType(Type::UploadDone, {{QLatin1String("upload_id"), done.uploadId}});
            },
            [](const UploadCancel &cancel) {
                return withType(Type::UploadCancel, {{QLatin1String("upload_id"), cancel.uploadId}});
            },
            [](const DownloadRequest &download) {
                QJsonObject object{{QLatin1String("file_id"), download.fileId}};
                if (download.offset > 0)
                    object.insert(QLatin1String("offset"), download.offset);
                return withType(Type::Download, object);
            },
            [](const DownloadCancel &cancel) {
                return withType(Type::DownloadCancel, {{QLatin1String("download_id"), cancel.downloadId}});
            },
        },
        frame);
}

QJsonObject toJson(const ServerFrame &frame)
{
    return std::visit(
        Overloaded{
            [](const Welcome &welcome) {
                QJsonObject limits{
                    {QLatin1String("max_text_length"), qint64(welcome.limits.maxTextLength)},
                    {QLatin1String("max_frame_bytes"), welcome.limits.maxFrameBytes},
                    {QLatin1String("history_limit"), welcome.limits.historyLimit},
                };
                if (welcome.limits.maxUploadBytes > 0)
                    limits.insert(QLatin1String("max_upload_bytes"), welcome.limits.maxUploadBytes);
                QJsonObject object{
                    {QLatin1String("user"), welcome.user.toJson()},
                    {QLatin1String("protocol"), welcome.protocol},
                    {QLatin1String("server"), welcome.server},
                    {QLatin1String("name"), welcome.serverName},
                    {QLatin1String("limits"), limits},
                };
                if (!welcome.token.isEmpty())
                    object.insert(QLatin1String("token"), welcome.token);
                if (!welcome.serverId.isEmpty())
                    object.insert(QLatin1String("server_id"), welcome.serverId);
                if (!welcome.conversations.isEmpty()) {
                    QJsonArray conversations;
                    for (const ConversationState &state : welcome.conversations)
                        conversations.append(conversationStateJson(state));
                    object.insert(QLatin1String("conversations"), conversations);
                }
                return withType(Type::Welcome, object);
            },
            [](const PasswordChanged &changed) {
                QJsonObject object;
                if (!changed.token.isEmpty())
                    object.insert(QLatin1String("token"), changed.token);
                return withType(Type::PasswordChanged, object);
            },
            [](const RoomInvitation &invitation) {
                QJsonObject object{{QLatin1String("room"), invitation.room},
                                   {QLatin1String("by"), invitation.by.toJson()}};
                if (!invitation.member.email.isEmpty())
                    object.insert(QLatin1String("member"), invitation.member.toJson());
                return withType(Type::RoomInvitation, object);
            },
            [](const UserJoined &joined) {
                return withType(Type::UserJoined, {{QLatin1String("room"), joined.room},
                                                   {QLatin1String("user"), joined.user.toJson()}});
            },
            [](const UserLeft &left) {
                return withType(Type::UserLeft, {{QLatin1String("room"), left.room},
                                                 {QLatin1String("user"), left.user.toJson()}});
            },
            [](const Members &members) {
                QJsonObject object{{QLatin1String("room"), members.room},
                                   {QLatin1String("users"), usersToJson(members.users)}};
                if (members.isPrivate) {
                    object.insert(QLatin1String("private"), true);
                    object.insert(QLatin1String("owner"), members.owner);
                }
                return withType(Type::Members, object);
            },
            [](const History &history) {
                QJsonArray messages;
                for (const Message &message : history.messages)
                    messages.append(message.toJson());
                QJsonObject object{{QLatin1String("messages"), messages},
                                   {QLatin1String("has_more"), history.hasMore}};
                if (history.hasNewer)
                    object.insert(QLatin1String("has_newer"), true);
                if (history.changeSeq > 0)
                    object.insert(QLatin1String("change_seq"), history.changeSeq);
                return withType(Type::History, withConversation(object, history.room, history.with));
            },
            [](const MessageChange &change) {
                QJsonObject object = change.message.toJson();
                object.insert(QLatin1String("change_seq"), change.changeSeq);
                if (!change.by.email.isEmpty())
                    object.insert(QLatin1String("by"), change.by.toJson());
                switch (change.kind) {
                case MessageChange::Kind::Edited:
                    return withType(Type::MessageEdited, object);
                case MessageChange::Kind::Deleted:
                    return withType(Type::MessageDeleted, object);
                case MessageChange::Kind::Reactions:
                    break;
                }
                return withType(Type::Reactions, object);
            },
            [](const Changes &changes) {
                QJsonArray messages;
                for (const Message &message : changes.messages)
                    messages.append(message.toJson());
                return withType(Type::Changes,
                                withConversation({{QLatin1String("messages"), messages},
                                                  {QLatin1String("change_seq"), changes.changeSeq},
                                                  {QLatin1String("has_more"), changes.hasMore}},
                                                 changes.room, changes.with));
            },
            [](const SearchResults &results) {
                QJsonArray hits;
                for (const SearchHit &hit : results.results) {
                    QJsonArray highlights;
                    for (const auto &[start, length] : hit.highlights)
                        highlights.append(QJsonArray{start, length});
                    hits.append(QJsonObject{{QLatin1String("message"), hit.message.toJson()},
                                            {QLatin1String("snippet"), hit.snippet},
                                            {QLatin1String("highlights"), highlights}});
                }
                QJsonObject object{{QLatin1String("query"), results.query}, {QLatin1String("results"), hits}};
                if (!results.cursor.isEmpty())
                    object.insert(QLatin1String("cursor"), results.cursor);
                return withType(Type::SearchResults, object);
            },
            [](const ReadMarker &marker) {
                return withType(Type::ReadMarker, conversationStateJson(marker.state));
            },
            [](const Muted &muted) {
                return withType(Type::Muted, withConversation({{QLatin1String("muted"), muted.muted}},
                                                              muted.room, muted.with));
            },
            [](const ReceiveMessage &receive) {
                return withType(Type::ReceiveMessage, receive.message.toJson());
            },
            [](const TypingNotice &typing) {
                QJsonObject object{{QLatin1String("user"), typing.user.toJson()},
                                   {QLatin1String("active"), typing.active}};
                if (typing.room.isEmpty())
                    object.insert(QLatin1String("to"), typing.to);
                else
                    object.insert(QLatin1String("room"), typing.room);
                return withType(Type::Typing, object);
            },
            [](const RoomList &list) {
                QJsonArray rooms;
                for (const RoomSummary &summary : list.rooms) {
                    QJsonObject room{{QLatin1String("room"), summary.room},
                                     {QLatin1String("online"), summary.online}};
                    if (summary.isPrivate)
                        room.insert(QLatin1String("private"), true);
                    if (summary.lastActivity.isValid())
                        room.insert(QLatin1String("last_ts"), Message::formatTimestamp(summary.lastActivity));
                    rooms.append(room);
                }
                QJsonObject object{{QLatin1String("prefix"), list.prefix},
                                   {QLatin1String("offset"), list.offset},
                                   {QLatin1String("rooms"), rooms},
                                   {QLatin1String("has_more"), list.hasMore}};
                if (!list.next.isEmpty())
                    object.insert(QLatin1String("next"), list.next);
                return withType(Type::RoomList, object);
            },
            [](const People &people) {
                QJsonArray users;
                for (const Person &person : people.people) {
                    QJsonObject user = person.user.toJson();
                    user.insert(QLatin1String("online"), person.online);
                    users.append(user);
                }
                QJsonObject object{{QLatin1String("prefix"), people.prefix},
                                   {QLatin1String("offset"), people.offset},
                                   {QLatin1String("users"), users},
                                   {QLatin1String("has_more"), people.hasMore}};
                if (!people.next.isEmpty())
                    object.insert(QLatin1String("next"), people.next);
                return withType(Type::People, object);
            },
            [](const Presence &presence) {
                return withType(Type::Presence, {{QLatin1String("user"), presence.user.toJson()},
                                                 {QLatin1String("online"), presence.online},
                                                 {QLatin1String("known"), presence.known}});
            },
            [](const Error &error) {
                QJsonObject object{{QLatin1String("code"), errorCodeName(error.code)},
                                   {QLatin1String("message"), error.message}};
                if (!error.request.isEmpty())
                    object.insert(QLatin1String("request"), error.request);
                if (!error.clientId.isEmpty())
                    object.insert(QLatin1String("client_id"), error.clientId);
                if (!error.room.isEmpty())
                    object.insert(QLatin1String("room"), error.room);
                if (error.uploadId > 0)
                    object.insert(QLatin1String("upload_id"), error.uploadId);
                if (error.downloadId > 0)
                    object.insert(QLatin1String("download_id"), error.downloadId);
                return withType(Type::Error, object);
            },
            [](const UploadReady &ready) {
                return withType(Type::UploadReady, {{QLatin1String("upload_id"), ready.uploadId},
                                                    {QLatin1String("client_id"), ready.clientId},
                                                    {QLatin1String("offset"), ready.offset},
                                                    {QLatin1String("chunk_bytes"), ready.chunkBytes}});
            },
            [](const UploadComplete &complete) {
                return withType(Type::UploadComplete, {{QLatin1String("upload_id"), complete.uploadId},
                                                       {QLatin1String("client_id"), complete.clientId},
                                                       {QLatin1String("file_id"), complete.fileId}});
            },
            [](const DownloadReady &ready) {
                return withType(Type::DownloadReady, {{QLatin1String("download_id"), ready.downloadId},
                                                      {QLatin1String("file_id"), ready.fileId},
                                                      {QLatin1String("size"), ready.size},
                                                      {QLatin1String("offset"), ready.offset},
                                                      {QLatin1String("sha256"), ready.sha256},
                                                      {QLatin1String("mime"), ready.mime}});
            },
            [](const DownloadDone &done) {
                return withType(Type::DownloadDone, {{QLatin1String("download_id"), done.downloadId}});
            },
        },
        frame);
}

QByteArray encodeClientFrame(const ClientFrame &frame)
{
    return QJsonDocument(toJson(frame)).toJson(QJsonDocument::Compact);
}

namespace {

void appendJsonString(QByteArray &out, QStringView text)
{
    static constexpr char Hex[] = "0123456789abcdef";
    out += '"';
    const QByteArray utf8 = text.toUtf8();
    for (const char c : utf8) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && c != '"' && c != '\\') {
            out += c;
            continue;
        }
        out += '\\';
        switch (c) {
        case '"':
            out += '"';
            break;
        case '\\':
            out += '\\';
            break;
        case '\b':
            out += 'b';
            break;
        case '\f':
            out += 'f';
            break;
        case '\n':
            out += 'n';
            break;
        case '\r':
            out += 'r';
            break;
        case '\t':
            out += 't';
            break;
        default:
            out += "u00";
            out += Hex[byte >> 4];
            out += Hex[byte & 0xf];
        }
    }
    out += '"';
}

void appendTwoDigits(QByteArray &out, int value)
{
    out += char('0' + value / 10);
    out += char('0' + value % 10);
}

/// ISO-8601 UTC with milliseconds, without QDateTime's time zone machinery.
void appendTimestamp(QByteArray &out, const QDateTime &timestamp)
{
    const qint64 ms = timestamp.toMSecsSinceEpoch();
    const qint64 msPerDay = 86'400'000;
    const qint64 days = ms >= 0 ? ms / msPerDay : (ms - msPerDay + 1) / msPerDay;
    const qint64 msOfDay = ms - days * msPerDay;
    const QDate date = QDate::fromJulianDay(2'440'588 + days); // 1970-01-01
    if (date.year() < 0 || date.year() > 9999) {
        out += '"' + Message::formatTimestamp(timestamp).toUtf8() + '"';
        return;
    }
    out += '"';
    out += QByteArray::number(date.year()).rightJustified(4, '0');
    out += '-';
    appendTwoDigits(out, date.month());
    out += '-';
    appendTwoDigits(out, date.day());
    out += 'T';
    appendTwoDigits(out, int(msOfDay / 3'600'000));
    out += ':';
    appendTwoDigits(out, int(msOfDay / 60'000 % 60));
    out += ':';
    appendTwoDigits(out, int(msOfDay / 1000 % 60));
    out += '.';
    const int millis = int(msOfDay % 1000);
    out += char('0' + millis / 100);
    appendTwoDigits(out, millis % 100);
    out += "Z\"";
}

/// receive_message is the one frame on the hot path (one per message, sent
/// to every recipient): written directly, byte for byte what QJsonDocument
/// would write (keys sorted), without building a QJsonObject.
QByteArray encodeReceiveMessage(const Message &message)
{
    QByteArray out;
    out.reserve(160 + message.text.size() * 3 / 2);
    out += '{';
    if (!message.clientId.isEmpty()) {
        out += "\"client_id\":";
        appendJsonString(out, message.clientId);
        out += ',';
    }
    out += "\"from\":{\"email\":";
    appendJsonString(out, message.from.email);
    out += ",\"name\":";
    appendJsonString(out, message.from.name);
    out += "},\"id\":";
    out += QByteArray::number(message.id);
    if (!message.isDirect()) {
        out += ",\"room\":";
        appendJsonString(out, message.room);
    }
    out += ",\"text\":";
    appendJsonString(out, message.text);
    if (message.isDirect()) {
        out += ",\"to\":";
        appendJsonString(out, message.to);
    }
    out += ",\"ts\":";
    appendTimestamp(out, message.timestamp);
    out += ",\"type\":\"receive_message\"}";
    return out;
}

void appendUser(QByteArray &out, const User &user)
{
    out += "{\"email\":";
    appendJsonString(out, user.email);
    out += ",\"name\":";
    appendJsonString(out, user.name);
    out += '}';
}

/// members goes to everyone who joins a room, with up to a room's whole
/// membership: written directly like receive_message (keys sorted).
QByteArray encodeMembers(const Members &members)
{
    QByteArray out;
    out.reserve(64 + members.room.size() + members.users.size() * 64);
    out += '{';
    if (members.isPrivate) {
        out += "\"owner\":";
        appendJsonString(out, members.owner);
        out += ",\"private\":true,";
    }
    out += "\"room\":";
    appendJsonString(out, members.room);
    out += ",\"type\":\"members\",\"users\":[";
    for (qsizetype i = 0; i < members.users.size(); ++i) {
        if (i > 0)
            out += ',';
        appendUser(out, members.users.at(i));
    }
    out += "]}";
    return out;
}

/// user_joined and user_left: one per join, to every member.
QByteArray encodeRoomUser(QByteArrayView type, const QString &room, const User &user)
{
    QByteArray out;
    out.reserve(96 + room.size() + user.name.size() + user.email.size());
    out += "{\"room\":";
    appendJsonString(out, room);
    out += ",\"type\":\"";
    out += type;
    out += "\",\"user\":";
    appendUser(out, user);
    out += '}';
    return out;
}

} // namespace

QByteArray encodeChunk(qint64 transferId, QByteArrayView data)
{
    QByteArray payload(ChunkHeaderBytes + data.size(), Qt::Uninitialized);
    qToBigEndian(quint64(transferId), payload.data());
    std::copy(data.begin(), data.end(), payload.begin() + ChunkHeaderBytes);
    return payload;
}

std::optional<std::pair<qint64, QByteArrayView>> decodeChunk(QByteArrayView payload)
{
    if (payload.size() < ChunkHeaderBytes)
        return std::nullopt;
    const quint64 id = qFromBigEndian<quint64>(payload.data());
    if (id == 0 || id > quint64(MaxMessageId))
        return std::nullopt;
    return std::pair{qint64(id), payload.sliced(ChunkHeaderBytes)};
}

QByteArray encodeServerFrame(const ServerFrame &frame)
{
    if (const auto *receive = std::get_if<ReceiveMessage>(&frame); receive && receive->message.isPlain())
        return encodeReceiveMessage(receive->message);
    if (const auto *members = std::get_if<Members>(&frame))
        return encodeMembers(*members);
    if (const auto *joined = std::get_if<UserJoined>(&frame))
        return encodeRoomUser("user_joined", joined->room, joined->user);
    if (const auto *left = std::get_if<UserLeft>(&frame))
        return encodeRoomUser("user_left", left->room, left->user);
    return QJsonDocument(toJson(frame)).toJson(QJsonDocument::Compact);
}

} // namespace Natter::Codec
