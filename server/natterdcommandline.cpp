#include "server/natterdcommandline.h"

#include "server/chatserver.h"
#include "server/discoveryresponder.h"
#include "server/natterdadmin.h"
#include "server/serverlogging.h"
#include "server/sqlmessagestore.h"
#include "server/transport.h"
#include "server/unixsignalwatcher.h"

#include "common/fingerprint.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QLoggingCategory>
#include <QStandardPaths>
#include <QSysInfo>

#include <cmath>
#include <csignal>
#include <cstdio>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

void printError(const QString &message)
{
    std::fprintf(stderr, "natterd: %s\n", qUtf8Printable(message));
}

QString defaultDatabasePath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + u"/natter.db"_s;
}

} // namespace

std::optional<NatterdOptions> parseNatterdArguments(const QStringList &arguments, int *exitCode)
{
    const ServerConfig defaults;
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Natter chat server: WebSocket chat with rooms, direct messages and history."_s);
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption versionOption = parser.addVersionOption();
    const QCommandLineOption host(u"host"_s, u"Address to listen on (default: all interfaces)."_s,
                                  u"address"_s);
    const QCommandLineOption port(
        u"port"_s, u"Port to listen on (default: %1; 0 picks a free one)."_s.arg(defaults.port), u"port"_s,
        QString::number(defaults.port));
    const QCommandLineOption db(
        u"db"_s,
        u"SQLite database file (default: %1), or a PostgreSQL database shared by several natterd: "
        u"postgresql://USER@HOST:PORT/DATABASE (the password from ~/.pgpass or PGPASSWORD; TLS with "
        u"?sslmode=verify-full&sslrootcert=FILE)."_s.arg(defaultDatabasePath()),
        u"path|url"_s, defaultDatabasePath());
    const QCommandLineOption redis(
        u"redis"_s,
        u"Join the cluster of natterd that share this --db (PostgreSQL) through Redis pub/sub at "
        u"redis://[USER@]HOST:PORT (the password from NATTERD_REDIS_PASSWORD, or in the URL): rooms, direct "
        u"messages and changes reach people on every natterd."_s,
        u"url"_s);
    const QCommandLineOption files(
        u"files"_s,
        u"Folder of shared files (default: beside an SQLite database, DATABASE.files; with PostgreSQL "
        u"none, so no files, unless given: the same folder for every natterd)."_s,
        u"folder"_s);
    const QCommandLineOption name(u"name"_s, u"Server display name shown to clients."_s, u"name"_s);
    const QCommandLineOption maxText(
        u"max-text"_s, u"Longest message text in characters (default: %1)."_s.arg(defaults.maxTextLength),
        u"chars"_s, QString::number(defaults.maxTextLength));
    const QCommandLineOption maxFrame(
        u"max-frame"_s, u"Largest WebSocket frame in bytes (default: %1)."_s.arg(defaults.maxFrameBytes),
        u"bytes"_s, QString::number(defaults.maxFrameBytes));
    const QCommandLineOption rateLimit(
        u"rate-limit"_s,
        u"Messages per second per user, sustained (default: %1; 0 = no limit)."_s.arg(defaults.rateLimit),
        u"rate"_s, QString::number(defaults.rateLimit));
    const QCommandLineOption rateBurst(
        u"rate-burst"_s, u"Messages a user may send at once (default: %1)."_s.arg(defaults.rateBurst),
        u"count"_s, QString::number(defaults.rateBurst));
    const QCommandLineOption maxInputRate(
        u"max-input-rate"_s,
        u"Bytes per second one connection may send, over all its frames (default: %1; bursts of 16 s; "
        u"also 1 frame per 2.5 KiB of it, and 4x it from one address; 0 = no limit)."_s.arg(
            defaults.inputBytesPerSecond),
        u"bytes"_s, QString::number(defaults.inputBytesPerSecond));
    const QCommandLineOption retentionDays(
        u"retention-days"_s,
        u"Delete messages older than this many days, held direct messages included (default: 0, keep "
        u"forever)."_s,
        u"days"_s, u"0"_s);
    const QCommandLineOption maxHeld(
        u"max-held"_s,
        u"Direct messages held for one offline user; more are refused until they have been online "
        u"(default: %1; 0 = no cap)."_s.arg(defaults.maxHeldPerRecipient),
        u"count"_s, QString::number(defaults.maxHeldPerRecipient));
    const QCommandLineOption maxWrite(
        u"max-write-per-hour"_s,
        u"Message text one account may have stored in an hour, in MiB (four times that per address; "
        u"default: %1; 0 = no limit, as with --rate-limit 0)."_s.arg(defaults.writeMiBPerHour),
        u"MiB"_s, QString::number(defaults.writeMiBPerHour));
    const QCommandLineOption maxUpload(
        u"max-upload-bytes"_s,
        u"Largest file one may share, in bytes (default: %1, 2 GiB)."_s.arg(defaults.maxUploadBytes),
        u"bytes"_s, QString::number(defaults.maxUploadBytes));
    const QCommandLineOption quota(
        u"storage-quota-per-user"_s,
        u"Bytes of files one person's messages may carry (default: %1, 10 GiB)."_s.arg(
            defaults.storageQuotaPerUser),
        u"bytes"_s, QString::number(defaults.storageQuotaPerUser));
    const QCommandLineOption maxUploads(u"max-concurrent-uploads-per-user"_s,
                                        u"Uploads one person may have under way at once (default: %1)."_s.arg(
                                            defaults.maxConcurrentUploadsPerUser),
                                        u"count"_s, QString::number(defaults.maxConcurrentUploadsPerUser));
    const QCommandLineOption maxDbSize(
        u"max-db-size"_s,
        u"Largest the database may grow, in MiB; then new messages are refused (storage_full) as on a full "
        u"disk, until retention frees room (default: 0, no limit)."_s,
        u"MiB"_s, u"0"_s);
    const QCommandLineOption maxQueue(
        u"max-queue"_s,
        u"Unsent bytes to one client before it is dropped (default: %1)."_s.arg(defaults.maxQueuedBytes),
        u"bytes"_s, QString::number(defaults.maxQueuedBytes));
    const QCommandLineOption threads(
        u"threads"_s,
        u"Threads that write to clients at once (default: 0, one per core; 1 writes on the event loop's "
        u"thread only)."_s,
        u"count"_s, QString::number(defaults.sendThreads));
    const QCommandLineOption pingInterval(u"ping-interval"_s,
                                          u"Ping a client silent for this many seconds (default: %1)."_s.arg(
                                              defaults.pingInterval.count() / 1000.0),
                                          u"seconds"_s,
                                          QString::number(defaults.pingInterval.count() / 1000.0));
    const QCommandLineOption idleTimeout(u"idle-timeout"_s,
                                         u"Drop a client silent for this many seconds (default: %1)."_s.arg(
                                             defaults.idleTimeout.count() / 1000.0),
                                         u"seconds"_s,
                                         QString::number(defaults.idleTimeout.count() / 1000.0));
    const QCommandLineOption commitWindow(
        u"commit-window"_s,
        u"Milliseconds between commits under load (default: %1, commit once per loop pass)."_s.arg(
            defaults.commitWindow.count()),
        u"ms"_s, QString::number(defaults.commitWindow.count()));
    const QCommandLineOption discoveryPort(
        u"discovery-port"_s,
        u"UDP port answering LAN discovery (default: %1; 0 picks a free one)."_s.arg(Discovery::DefaultPort),
        u"port"_s, QString::number(Discovery::DefaultPort));
    const QCommandLineOption noDiscovery(u"no-discovery"_s, u"Do not answer LAN discovery."_s);
    const QCommandLineOption verbose(u"verbose"_s, u"Log every connection and error (natter.*.debug)."_s);
    const QCommandLineOption registration(
        u"registration"_s,
        u"Who may create an account: open (the first sign-in with a password does; default), invite (only "
        u"with an invite code), closed (only an administrator)."_s,
        u"mode"_s, u"open"_s);
    const QCommandLineOption maxPerAddress(
        u"max-connections-per-address"_s,
        u"Connections from one IP address (default: %1)."_s.arg(defaults.maxConnectionsPerAddress),
        u"count"_s, QString::number(defaults.maxConnectionsPerAddress));
    const QCommandLineOption maxConnections(
        u"max-connections"_s, u"Connections in all (default: %1)."_s.arg(defaults.maxConnections), u"count"_s,
        QString::number(defaults.maxConnections));
    const QCommandLineOption trustedProxy(
        u"trusted-proxy"_s,
        u"A TCP proxy (address, or network as address/prefix) in front of natterd that starts each "
        u"connection "
        u"with a PROXY protocol header (HAProxy's send-proxy-v2): the client it names counts for every "
        u"per-address limit, and its connections without one are closed. Repeatable."_s,
        u"address"_s);
    const QCommandLineOption allowOrigin(
        u"allow-origin"_s,
        u"A web page origin (https://host[:port]) allowed to connect besides the server's own host; repeatable."_s,
        u"origin"_s);
    const QCommandLineOption tlsCert(
        u"tls-cert"_s,
        u"PEM certificate (chain) to serve wss:// with; reloaded on SIGHUP. Default: a self-signed one "
        u"created beside the database."_s,
        u"file"_s);
    const QCommandLineOption tlsKey(u"tls-key"_s, u"PEM private key of --tls-cert."_s, u"file"_s);
    const QCommandLineOption noTls(
        u"no-tls"_s,
        u"Serve plain ws:// (only behind a reverse proxy that does TLS: traffic is readable)."_s);
    const QCommandLineOption fingerprint(
        u"fingerprint"_s,
        u"Print the SHA-256 fingerprint of the certificate (same --db or --tls-cert) and exit."_s);
    parser.addOptions({host,          port,           db,          name,         maxText,
                       maxFrame,      rateLimit,      rateBurst,   maxInputRate, retentionDays,
                       maxHeld,       maxWrite,       maxQueue,    pingInterval, idleTimeout,
                       commitWindow,  discoveryPort,  noDiscovery, verbose,      registration,
                       maxPerAddress, maxConnections, allowOrigin, tlsCert,      tlsKey,
                       noTls,         fingerprint,    maxDbSize,   maxUpload,    quota,
                       maxUploads,    threads,        files,       redis,        trustedProxy});
    parser.setApplicationDescription(
        parser.applicationDescription() +
        u"\n\nAdministration, beside a running server (passwords are read from "
        u"standard input or --password-file):\n"
        u"  natterd [--db PATH] user add EMAIL [--name NAME] [--password-file FILE]\n"
        u"  natterd [--db PATH] user list\n"
        u"  natterd [--db PATH] user disable|enable EMAIL\n"
        u"  natterd [--db PATH] user reset-password EMAIL [--password-file FILE]\n"
        u"  natterd [--db PATH] user tokens EMAIL\n"
        u"  natterd [--db PATH] user revoke EMAIL ID|--all\n"
        u"  natterd [--db PATH] invite create [--uses N] [--expires-hours H]\n"
        u"  natterd [--db PATH] invite list\n"
        u"  natterd [--db PATH] invite revoke CODE"_s);

    auto usageError = [exitCode](const QString &message) -> std::optional<NatterdOptions> {
        printError(message + u"\nTry 'natterd --help'."_s);
        *exitCode = 2;
        return std::nullopt;
    };

    if (!parser.parse(arguments))
        return usageError(parser.errorText());
    if (parser.isSet(helpOption)) {
        std::fputs(qUtf8Printable(parser.helpText()), stdout);
        *exitCode = 0;
        return std::nullopt;
    }
    if (parser.isSet(versionOption)) {
        std::printf("%s\n", qUtf8Printable(ChatServer::versionString()));
        *exitCode = 0;
        return std::nullopt;
    }
    if (!parser.positionalArguments().isEmpty())
        return usageError(u"unexpected argument: %1"_s.arg(parser.positionalArguments().constFirst()));

    NatterdOptions options;
    ServerConfig &config = options.server;
    bool ok = false;
    if (parser.isSet(host) && !config.host.setAddress(parser.value(host)))
        return usageError(u"--host: not an IP address: %1"_s.arg(parser.value(host)));

    const uint portValue = parser.value(port).toUInt(&ok);
    if (!ok || portValue > 65535)
        return usageError(u"--port: not a port number: %1"_s.arg(parser.value(port)));
    config.port = quint16(portValue);
    const uint discoveryPortValue = parser.value(discoveryPort).toUInt(&ok);
    if (!ok || discoveryPortValue > 65535)
        return usageError(u"--discovery-port: not a port number: %1"_s.arg(parser.value(discoveryPort)));
    if (parser.isSet(noDiscovery))
        options.discoveryPort.reset();
    else
        options.discoveryPort = quint16(discoveryPortValue);

    auto number = [&parser](const QCommandLineOption &option, double min, double max, double *out) {
        bool valid = false;
        const double value = parser.value(option).toDouble(&valid);
        if (!valid || value < min || value > max)
            return false;
        *out = value;
        return true;
    };
    double value = 0;
    if (!number(maxText, 1, 1'000'000, &value))
        return usageError(u"--max-text: give a number of characters from 1 to 1000000"_s);
    config.maxTextLength = qsizetype(value);
    if (!number(maxFrame, 1024, 64.0 * 1024 * 1024, &value))
        return usageError(u"--max-frame: give a number of bytes from 1024 to 67108864"_s);
    config.maxFrameBytes = qint64(value);
    if (!number(rateLimit, 0, 1e9, &config.rateLimit))
        return usageError(u"--rate-limit: give messages per second, 0 for no limit"_s);
    if (!number(rateBurst, 1, 1e9, &config.rateBurst))
        return usageError(u"--rate-burst: give a count of at least 1"_s);
    if (!number(maxInputRate, 0, 1e12, &value) || (value > 0 && value < 1024))
        return usageError(u"--max-input-rate: give bytes per second of at least 1024, 0 for no limit"_s);
    setInputRate(&config, value);
    if (!number(retentionDays, 0, 100000, &value) || value != std::floor(value))
        return usageError(u"--retention-days: give whole days, 0 to keep messages forever"_s);
    config.retentionDays = int(value);
    if (!number(maxHeld, 0, 1e9, &value) || value != std::floor(value))
        return usageError(u"--max-held: give a whole number, 0 for no cap"_s);
    config.maxHeldPerRecipient = int(value);
    if (!number(maxWrite, 0, 1e9, &config.writeMiBPerHour))
        return usageError(u"--max-write-per-hour: give MiB, 0 for no limit"_s);
    if (!number(maxDbSize, 0, 1e9, &value) || value != std::floor(value))
        return usageError(u"--max-db-size: give whole MiB, 0 for no limit"_s);
    options.maxDatabaseBytes = qint64(value) * 1024 * 1024;
    if (!number(maxUpload, 0, double(Protocol::MaxFileSize), &value) || value != std::floor(value))
        return usageError(u"--max-upload-bytes: give a whole number of bytes"_s);
    config.maxUploadBytes = qint64(value);
    if (!number(quota, 0, double(Protocol::MaxFileSize), &value) || value != std::floor(value))
        return usageError(u"--storage-quota-per-user: give a whole number of bytes"_s);
    config.storageQuotaPerUser = qint64(value);
    if (!number(maxUploads, 1, 1000, &value) || value != std::floor(value))
        return usageError(u"--max-concurrent-uploads-per-user: give a whole number from 1 to 1000"_s);
    config.maxConcurrentUploadsPerUser = int(value);
    if (!number(maxQueue, 1024, 1e12, &value))
        return usageError(u"--max-queue: give a number of bytes of at least 1024"_s);
    config.maxQueuedBytes = qint64(value);
    if (!number(threads, 0, 256, &value) || value != std::floor(value))
        return usageError(u"--threads: give a whole number from 0 (one per core) to 256"_s);
    config.sendThreads = int(value);
    if (!number(pingInterval, 0.05, 86400, &value))
        return usageError(u"--ping-interval: give seconds from 0.05 to 86400"_s);
    config.pingInterval = std::chrono::milliseconds(qint64(value * 1000));
    if (!number(idleTimeout, 0.1, 86400, &value) || value * 1000 <= double(config.pingInterval.count()))
        return usageError(u"--idle-timeout: give seconds, more than --ping-interval"_s);
    config.idleTimeout = std::chrono::milliseconds(qint64(value * 1000));
    if (!number(commitWindow, 0, 1000, &value))
        return usageError(u"--commit-window: give milliseconds from 0 to 1000"_s);
    config.commitWindow = std::chrono::milliseconds(qint64(value));

    const QString mode = parser.value(registration).toLower();
    if (mode == u"open"_s)
        config.registration = ServerConfig::Registration::Open;
    else if (mode == u"invite"_s)
        config.registration = ServerConfig::Registration::Invite;
    else if (mode == u"closed"_s)
        config.registration = ServerConfig::Registration::Closed;
    else
        return usageError(u"--registration: give open, invite or closed"_s);
    if (!number(maxPerAddress, 1, 1'000'000, &value))
        return usageError(u"--max-connections-per-address: give a count from 1 to 1000000"_s);
    config.maxConnectionsPerAddress = int(value);
    if (!number(maxConnections, 1, 1'000'000, &value))
        return usageError(u"--max-connections: give a count from 1 to 1000000"_s);
    config.maxConnections = int(value);
    for (const QString &proxy : parser.values(trustedProxy)) {
        std::pair<QHostAddress, int> subnet = QHostAddress::parseSubnet(proxy);
        if (subnet.first.isNull() && subnet.first.setAddress(proxy))
            subnet.second = subnet.first.protocol() == QAbstractSocket::IPv4Protocol ? 32 : 128;
        if (subnet.first.isNull())
            return usageError(
                u"--trusted-proxy: give an address or a network such as 10.0.0.5 or 10.0.0.0/24, not %1"_s
                    .arg(proxy));
        config.trustedProxies.append(subnet);
    }
    for (const QString &origin : parser.values(allowOrigin)) {
        const QUrl url(origin, QUrl::StrictMode);
        if (!url.isValid() || url.host().isEmpty() ||
            (url.scheme() != u"http"_s && url.scheme() != u"https"_s) || !url.path().isEmpty())
            return usageError(
                u"--allow-origin: give an origin such as https://chat.example.org, not %1"_s.arg(origin));
        config.allowedOrigins.append(origin);
    }

    if (parser.isSet(tlsCert) != parser.isSet(tlsKey))
        return usageError(u"--tls-cert and --tls-key go together"_s);
    if (parser.isSet(noTls) && (parser.isSet(tlsCert) || parser.isSet(fingerprint)))
        return usageError(u"--no-tls: there is no certificate to use"_s);
    options.tls = !parser.isSet(noTls);
    options.tlsCertificatePath = parser.value(tlsCert);
    options.tlsKeyPath = parser.value(tlsKey);
    options.printFingerprint = parser.isSet(fingerprint);

    config.serverName = parser.isSet(name) ? parser.value(name).trimmed() : QString();
    options.databasePath = parser.value(db);
    const bool postgres =
        SqlMessageStore::backendOf(options.databasePath) == SqlMessageStore::Backend::PostgreSQL;
    if (postgres) {
        if (options.maxDatabaseBytes > 0)
            return usageError(u"--max-db-size: PostgreSQL's size is its operator's to limit"_s);
        // Every natterd of a cluster must show clients the same certificate:
        // a self-signed one each would make them refuse all but one.
        if (options.tls && options.tlsCertificatePath.isEmpty())
            return usageError(u"--db postgresql://: give every natterd the same --tls-cert and --tls-key, or "
                              u"--no-tls behind a proxy that does TLS"_s);
    }
    if (parser.isSet(redis)) {
        if (!postgres)
            return usageError(
                u"--redis: the natterd of a cluster share one database: give --db postgresql://…"_s);
        QString error;
        config.cluster = RedisAddress::parse(parser.value(redis), &error);
        if (!config.cluster)
            return usageError(u"--redis: %1"_s.arg(error));
        // Out of the command line (ps shows it to everyone): from the environment.
        if (config.cluster->password.isEmpty())
            config.cluster->password = qgetenv("NATTERD_REDIS_PASSWORD");
        if (!config.cluster->user.isEmpty() && config.cluster->password.isEmpty())
            return usageError(u"--redis: Redis user %1 needs a password: set NATTERD_REDIS_PASSWORD"_s.arg(
                QString::fromUtf8(config.cluster->user)));
    }
    if (parser.isSet(files))
        config.filesPath = QDir(parser.value(files)).absolutePath();
    else if (!postgres)
        config.filesPath = ServerConfig::filesPathFor(options.databasePath);
    options.verbose = parser.isSet(verbose);
    *exitCode = 0;
    return options;
}

std::optional<TlsIdentity> loadTlsIdentity(const NatterdOptions &options, QString *error)
{
    if (!options.tlsCertificatePath.isEmpty())
        return TlsIdentity::load(options.tlsCertificatePath, options.tlsKeyPath, error);
    const QString commonName =
        options.server.serverName.isEmpty() ? QSysInfo::machineHostName() : options.server.serverName;
    return TlsIdentity::loadOrCreateSelfSigned(options.databasePath, commonName, error);
}

int runNatterd(QCoreApplication &app)
{
    QCoreApplication::setApplicationName(u"natterd"_s);
    QCoreApplication::setApplicationVersion(QStringLiteral(NATTER_VERSION));

    if (isAdminCommand(app.arguments()))
        return runAdminCommand(app.arguments());

    int exitCode = 0;
    const std::optional<NatterdOptions> options = parseNatterdArguments(app.arguments(), &exitCode);
    if (!options)
        return exitCode;
    if (options->verbose)
        QLoggingCategory::setFilterRules(u"natter.*.debug=true"_s);

    // Each connection is a file descriptor: the soft limit (often 1,024) would
    // cap the server long before memory does.
    const qint64 descriptors = Transport::raiseFileDescriptorLimit();
    qCInfo(lcNatterServer) << "open file descriptors allowed:" << descriptors;

    ServerConfig config = options->server;
    if (options->tls) {
        QString error;
        config.tls = loadTlsIdentity(*options, &error);
        if (!config.tls) {
            printError(u"cannot use the certificate: %1"_s.arg(error));
            return 1;
        }
        if (options->printFingerprint) {
            std::printf("%s\n", qUtf8Printable(Fingerprint::display(config.tls->fingerprint())));
            return 0;
        }
    } else {
        printError(u"WARNING: --no-tls: serving plain ws://. Passwords and messages cross the network "
                   u"readable by anyone on it. Use this only behind a reverse proxy that does TLS."_s);
    }

    auto store = std::make_unique<SqlMessageStore>(options->databasePath);
    if (!store->open()) {
        printError(u"cannot open the database: %1"_s.arg(store->errorString()));
        return 1;
    }
    if (options->maxDatabaseBytes > 0 && !store->setMaximumSize(options->maxDatabaseBytes)) {
        printError(u"cannot limit the database size: %1"_s.arg(store->errorString()));
        return 1;
    }
    if (const QByteArray stall = qgetenv("NATTERD_COMMIT_STALL_FOR_TESTING"); !stall.isEmpty()) {
        // Benchmarks of a stalling disk (bench/natterbench --stall): MS[/PERIOD_MS].
        const QList<QByteArray> parts = stall.split('/');
        const int stallMs = parts.value(0).toInt();
        const int everyMs = parts.value(1).toInt();
        printError(
            u"WARNING: NATTERD_COMMIT_STALL_FOR_TESTING: commits of messages stall %1 ms, at most once every %2 ms"_s
                .arg(stallMs)
                .arg(everyMs));
        store->setCommitStallForTesting(std::chrono::milliseconds(stallMs),
                                        std::chrono::milliseconds(everyMs));
    }
    const QString databaseLocation = store->displayLocation();
    ChatServer server(config, std::move(store));
    if (!server.listen()) {
        printError(server.errorString());
        return 1;
    }
    std::printf("%s listening on %s:%u, database %s\n", qUtf8Printable(ChatServer::versionString()),
                qUtf8Printable(server.serverAddress().toString()), unsigned(server.serverPort()),
                qUtf8Printable(databaseLocation));
    if (config.tls)
        std::printf("serving wss:// with the certificate %s, SHA-256 fingerprint %s\n",
                    qUtf8Printable(config.tls->certificatePath),
                    qUtf8Printable(Fingerprint::display(config.tls->fingerprint())));

    // Discovery is a convenience: without it the server still works, so a
    // taken or refused UDP port is a warning, not a failure.
    DiscoveryResponder discovery([&server] {
        return Discovery::Announcement{Discovery::Version,       server.config().serverName,
                                       server.serverPort(),      ChatServer::versionString(),
                                       server.onlineUserCount(), server.tlsFingerprint()};
    });
    if (options->discoveryPort) {
        if (discovery.listen(*options->discoveryPort))
            std::printf("answering LAN discovery on UDP port %u\n", unsigned(discovery.port()));
        else
            printError(u"warning: %1"_s.arg(discovery.errorString()));
    }
    std::fflush(stdout);

    // One watcher (it owns the process's handlers): SIGINT/SIGTERM shut down,
    // SIGHUP serves a renewed certificate from now on, without dropping anyone.
    UnixSignalWatcher signalWatcher({SIGINT, SIGTERM, SIGHUP});
    QObject::connect(&signalWatcher, &UnixSignalWatcher::signalReceived, &server,
                     [&server, &options](int signalNumber) {
                         qCInfo(lcNatterServer) << "signal" << signalNumber << "received";
                         if (signalNumber != SIGHUP) {
                             server.shutdown();
                             return;
                         }
                         if (!server.isTls())
                             return;
                         QString error;
                         const std::optional<TlsIdentity> identity = loadTlsIdentity(*options, &error);
                         if (!identity) {
                             printError(u"SIGHUP: keeping the current certificate: %1"_s.arg(error));
                             return;
                         }
                         server.reloadTls(*identity);
                         std::printf("reloaded the certificate, SHA-256 fingerprint %s\n",
                                     qUtf8Printable(Fingerprint::display(identity->fingerprint())));
                         std::fflush(stdout);
                     });
    QObject::connect(&server, &ChatServer::shutdownFinished, &app, [] { QCoreApplication::exit(0); });
    return QCoreApplication::exec();
}

} // namespace Natter
