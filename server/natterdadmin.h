#pragma once

#include <QStringList>

#include <cstdio>

namespace Natter {

/// True when natterd's arguments name an administration command ("user",
/// "invite") rather than serving.
bool isAdminCommand(const QStringList &arguments);

/// Runs `natterd [--db PATH] user|invite ...` against the database, beside a
/// running server (which notices the change within a second). Passwords come
/// from --password-file or standard input, never from the command line.
/// Returns the exit code: 0 done, 1 failed (the message says why), 2 usage.
int runAdminCommand(const QStringList &arguments, std::FILE *in = stdin);

} // namespace Natter
