#pragma once

#include "common/discovery.h"
#include "server/serverconfig.h"

#include <QStringList>

#include <optional>

QT_BEGIN_NAMESPACE
class QCoreApplication;
QT_END_NAMESPACE

namespace Natter {

struct NatterdOptions
{
    ServerConfig server;
    QString databasePath;
    qint64 maxDatabaseBytes = 0; ///< --max-db-size; 0: as large as the disk allows
    bool verbose = false;
    /// UDP port answering LAN discovery; nullopt: do not answer.
    std::optional<quint16> discoveryPort = Discovery::DefaultPort;
    bool tls = true;               ///< --no-tls turns it off
    QString tlsCertificatePath;    ///< --tls-cert; empty: the self-signed one beside the database
    QString tlsKeyPath;            ///< --tls-key
    bool printFingerprint = false; ///< --fingerprint: print it and exit
};

/// The certificate natterd serves: --tls-cert/--tls-key, or the self-signed
/// one beside the database (created on first use).
std::optional<TlsIdentity> loadTlsIdentity(const NatterdOptions &options, QString *error);

/// Parses natterd's arguments. Prints --help/--version or a usage error
/// itself; then *exitCode says how to exit and nullopt is returned.
std::optional<NatterdOptions> parseNatterdArguments(const QStringList &arguments, int *exitCode);

/// natterd's whole life: parse, open the store, listen, run until SIGINT or
/// SIGTERM, shut down cleanly. Returns the process exit code.
int runNatterd(QCoreApplication &app);

} // namespace Natter
