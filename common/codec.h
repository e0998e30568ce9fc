#pragma once

#include "common/protocol.h"

#include <QByteArray>
#include <QJsonObject>

#include <optional>
#include <utility>
#include <variant>

/// The codec turns bytes into typed frames and back. It is pure: no sockets,
/// no state, so every case is testable on its own.
namespace Natter::Codec {

using ClientFrame =
    std::variant<Protocol::Hello, Protocol::JoinRoom, Protocol::LeaveRoom, Protocol::SendMessage,
                 Protocol::HistoryRequest, Protocol::TypingRequest, Protocol::SignOut,
                 Protocol::ChangePassword, Protocol::CreateRoom, Protocol::InviteToRoom,
                 Protocol::RemoveFromRoom, Protocol::ListRooms, Protocol::ListPeople, Protocol::WatchPresence,
                 Protocol::EditMessage, Protocol::DeleteMessage, Protocol::React, Protocol::MarkRead,
                 Protocol::MuteRequest, Protocol::ChangesRequest, Protocol::SearchRequest,
                 Protocol::UploadBegin, Protocol::UploadDone, Protocol::UploadCancel,
                 Protocol::DownloadRequest, Protocol::DownloadCancel>;

using ServerFrame =
    std::variant<Protocol::Welcome, Protocol::UserJoined, Protocol::UserLeft, Protocol::Members,
                 Protocol::History, Protocol::ReceiveMessage, Protocol::TypingNotice, Protocol::Error,
                 Protocol::PasswordChanged, Protocol::RoomInvitation, Protocol::RoomList, Protocol::People,
                 Protocol::Presence, Protocol::MessageChange, Protocol::Changes, Protocol::ReadMarker,
                 Protocol::Muted, Protocol::SearchResults, Protocol::UploadReady, Protocol::UploadComplete,
                 Protocol::DownloadReady, Protocol::DownloadDone>;

/// A decoded frame, or the protocol error that explains why there is none.
template<class T>
class Result
{
public:
    Result(T value)
        : m_value(std::move(value))
    {}
    Result(Protocol::Error error)
        : m_value(std::move(error))
    {}

    bool isOk() const { return m_value.index() == 0; }
    const T &value() const { return std::get<0>(m_value); }
    const Protocol::Error &error() const { return std::get<1>(m_value); }

private:
    std::variant<T, Protocol::Error> m_value;
};

/// Decodes one frame a client sent. Checks JSON syntax, the type name, the
/// presence and JSON type of every field, and the syntax of names, emails,
/// rooms and client ids. Limits that the server configures (text length) are
/// the server's to check.
///
/// The frames every chat sends most (send_message, typing) are read straight
/// from their UTF-8 bytes when they are plain (decodeHotClientFrame()); the
/// rest, and anything unusual in those, go through QJsonDocument.
Result<ClientFrame> decodeClientFrame(const QByteArray &utf8);

/// send_message and typing read without QJsonDocument, or std::nullopt for
/// any other frame and for anything it is not sure of (escaped surrogates,
/// keys it does not know, numbers that are not plain integers, repeated
/// keys, a value that would be refused...), which is then left to the
/// general parser: it never answers an error. Whatever it reads, the general
/// parser reads the same (tst_codec and fuzz_client_frame check it).
std::optional<ClientFrame> decodeHotClientFrame(QByteArrayView utf8);

/// decodeClientFrame() without the hot path: the general parser alone.
Result<ClientFrame> decodeClientFrameGeneral(const QByteArray &utf8);

/// Decodes one frame a server sent (for clients and tests).
Result<ServerFrame> decodeServerFrame(const QByteArray &utf8);

QJsonObject toJson(const ClientFrame &frame);
QJsonObject toJson(const ServerFrame &frame);

/// Compact UTF-8 JSON, ready for a text frame.
QByteArray encodeClientFrame(const ClientFrame &frame);
QByteArray encodeServerFrame(const ServerFrame &frame);

/// A binary frame's payload for a file transfer: the upload (client to
/// server) or download (server to client) id, big-endian, then the data.
QByteArray encodeChunk(qint64 transferId, QByteArrayView data);
/// The id and the data of such a payload; nullopt when it is too short or
/// its id is not positive.
std::optional<std::pair<qint64, QByteArrayView>> decodeChunk(QByteArrayView payload);

} // namespace Natter::Codec
