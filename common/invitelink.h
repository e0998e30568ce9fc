#pragma once

#include "common/protocol.h"

#include <QString>
#include <QUrl>

#include <optional>

namespace Natter {

/// What a host hands out so that others join without a certificate question:
/// natter://HOST:PORT/?invite=CODE&fp=SHA256. The fingerprint pins the
/// server's certificate before the first connection; the invite code, where
/// the server needs one, creates the account.
struct InviteLink
{
    QString host;
    quint16 port = Protocol::DefaultPort;
    QString invite;      ///< may be empty (a server with open registration)
    QString fingerprint; ///< 64 hex digits

    /// The server to connect to: wss://HOST:PORT.
    QUrl serverUrl() const;
    QString toString() const;

    /// A natter:// link as typed, pasted or passed on the command line
    /// (surrounding white space ignored). nullopt if it is not one, or it
    /// carries no valid fingerprint.
    static std::optional<InviteLink> parse(const QString &text);
};

} // namespace Natter
