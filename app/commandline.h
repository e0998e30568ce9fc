#pragma once

#include "common/invitelink.h"
#include "common/protocol.h"
#include "common/user.h"

#include <QHostAddress>
#include <QStringList>
#include <QUrl>

#include <optional>

namespace Natter {

/// What `natter` was told on its command line.
struct ClientOptions
{
    QUrl server;                  ///< --server: connect at once (no welcome dialog)
    QList<QUrl> alternateServers; ///< --server A,B,…: the chat's other addresses (the natterd of a cluster)
    User identity;                ///< --name, --email (either may be empty)
    QString room;                 ///< --room: open and show this room
    bool host = false;            ///< --host: host a chat on this computer at once
    quint16 hostPort = Protocol::DefaultPort;
    QHostAddress hostAddress = QHostAddress::Any; ///< --listen: where a hosted chat listens
    QString hostName;                             ///< --host-name: what the hosted chat is called
    QString databasePath;                         ///< --database: where a hosted chat keeps its history
    QString profile;  ///< --profile: separate settings (several identities on one computer)
    QString password; ///< read from --password-file: for scripts; never on the command line itself
    /// A natter:// invite link given as the argument (a click on one, through
    /// the desktop's URL handler): join that server with its certificate pinned.
    std::optional<InviteLink> invite;
    bool discovery = true;
};

/// Parses natter's arguments. --help and --version are printed here, usage
/// errors too (exit code 2); then nullopt is returned with *exitCode set.
std::optional<ClientOptions> parseClientArguments(const QStringList &arguments, int *exitCode);

} // namespace Natter
