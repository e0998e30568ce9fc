#pragma once

#include "common/protocol.h"
#include "common/validation.h"
#include "server/passwordhasher.h"
#include "server/redisbus.h"
#include "server/tlsidentity.h"

#include <QHostAddress>
#include <QString>
#include <QStringList>

#include <chrono>
#include <optional>

namespace Natter {

/// Everything natterd can be told on its command line. The defaults are the
/// documented ones (README, docs/protocol.md).
struct ServerConfig
{
    /// Who may create an account by signing in.
    enum class Registration
    {
        Open,   ///< the first sign-in with a password creates the account (claim on first use)
        Invite, ///< a new account needs an invite code
        Closed, ///< only an administrator creates accounts
    };

    QHostAddress host = QHostAddress::Any;
    quint16 port = Protocol::DefaultPort;
    QString serverName;

    qsizetype maxTextLength = Validation::DefaultMaxTextLength; ///< code points
    qint64 maxFrameBytes = 64 * 1024;        ///< larger frames close the connection with 1009
    double rateLimit = 20.0;                 ///< messages per second per user; 0 = unlimited
    double rateBurst = 200.0;                ///< bucket size
    qint64 maxQueuedBytes = 4 * 1024 * 1024; ///< unsent bytes to one connection before it is dropped
    /// Threads that hand a pass's frames to the kernel at once (the event
    /// loop's included); 0: one per core.
    int sendThreads = 0;
    /// Threads that answer the expensive reads (search, the directory), each
    /// with its own read-only connection to the store, at most this many
    /// waiting for one (more are answered rate_limited), and a time limit
    /// on the reads of each.
    int readerThreads = 2;
    int maxQueuedReads = 64;
    std::chrono::milliseconds readTimeLimit{2000};
    int historyOnJoin = Protocol::DefaultHistoryLimit; ///< messages a joiner gets
    int maxRoomsPerConnection = 100;                   ///< join_room beyond this answers too_many_rooms
    /// natterd --redis: the Redis that links the natterd of a cluster (which
    /// share one PostgreSQL database); none: this natterd is alone.
    std::optional<RedisAddress> cluster;
    /// How often a natterd of a cluster says it is alive, and after how long
    /// without a word the others take it for dead (its people offline).
    std::chrono::milliseconds clusterHeartbeat{3000};
    std::chrono::milliseconds clusterDeadAfter{10000};
    /// Tests only: Redis confirms each new subscription this much later.
    std::chrono::milliseconds clusterSubscribeDelayForTesting{0};

    /// Serve wss:// with this certificate; nullopt: plain ws:// (behind a TLS-terminating proxy).
    std::optional<TlsIdentity> tls;

    Registration registration = Registration::Open;
    PasswordHasher::Cost passwordCost = PasswordHasher::Cost::Interactive;
    bool passwordHashingInBackground = true; ///< at the CPU's idle priority: chat first
    int maxConnectionsPerAddress = 64;       ///< more from one address are refused (1013)
    int maxConnections = 20'000;             ///< more in all are refused (1013)
    /// Wrong passwords for one account from one address before that pair is
    /// locked out; five times as many from one address (any accounts) lock
    /// the address's password sign-ins; as many for one account from
    /// anywhere pace that account (signInAccountPace). Tokens are never refused.
    int signInFailureLimit = 10;
    std::chrono::milliseconds signInFailureWindow{2 * 60'000}; ///< ... counted within this time
    std::chrono::milliseconds signInLockout{5 * 60'000};       ///< ... and refused (or paced) this long
    std::chrono::milliseconds signInAccountPace{2'000}; ///< one password attempt per account this often
    /// TCP proxies (addresses or networks) whose connections start with a
    /// PROXY protocol header naming the client: its address, not the
    /// proxy's, counts for every per-address limit. Nobody else's is read.
    QList<std::pair<QHostAddress, int>> trustedProxies;
    /// Browser origins allowed besides the server's own host ("https://chat.example.org").
    QStringList allowedOrigins;
    /// Messages a second from one address, over all its users (0: unlimited).
    double addressRateLimit = 100.0;
    double addressRateBurst = 1000.0;

    /// What one connection may send, over all its frames, refused ones
    /// included (0: unlimited); beyond it the connection is closed (1008).
    /// A frame costs its bytes to parse, whatever it asks.
    double inputBytesPerSecond = 256 * 1024.0;
    double inputBurstBytes = 4 * 1024 * 1024.0;
    double inputFramesPerSecond = 100.0;
    double inputFrameBurst = 1000.0;
    /// ... and all connections from one address together.
    double addressInputBytesPerSecond = 1024 * 1024.0;
    double addressInputBurstBytes = 16 * 1024 * 1024.0;
    /// Refused requests (error frames answered) one connection may cause
    /// before it is closed (1008): a client that keeps asking for what it
    /// cannot have is broken or probing.
    double refusalsPerSecond = 2.0;
    double refusalBurst = 100.0;

    std::chrono::milliseconds pingInterval{30'000}; ///< ping a connection silent this long
    std::chrono::milliseconds idleTimeout{90'000};  ///< drop a connection silent this long
    std::chrono::milliseconds handshakeTimeout{10'000};
    /// A connection that has not signed in this long after its handshake is closed (1008).
    std::chrono::milliseconds helloTimeout{10'000};
    std::chrono::milliseconds shutdownGrace{2'000}; ///< wait this long for clients to close on shutdown
    /// Commits are at least this far apart (0: once per pass of the event loop).
    /// Trades latency for fewer, larger transactions on a slow disk.
    std::chrono::milliseconds commitWindow{0};

    int listenBacklog = 4096;
    /// Messages older than this many days are deleted (checked every ten
    /// minutes, in small batches); 0 keeps them forever.
    int retentionDays = 0;
    /// Direct messages held for one offline recipient; more are refused
    /// (inbox_full) until they have been online. 0: no cap.
    int maxHeldPerRecipient = 10'000;
    /// Message text (UTF-16 code units, about bytes) one account may have
    /// stored in an hour, in MiB, all of it at once if it likes; four times
    /// that per address. 0, or a rateLimit of 0: no limit.
    double writeMiBPerHour = 64;
    /// Direct messages held, per sender and hour, for addresses that have no
    /// account yet (held until someone claims the address); 0: no limit.
    int heldForStrangersPerHour = 100;

    /// Where shared files are kept (natterd: beside the database, in
    /// DATABASE.files); empty: this server keeps no files.
    QString filesPath;
    qint64 maxUploadBytes = qint64(2) << 30;       ///< one file; more is refused (file_too_large)
    qint64 storageQuotaPerUser = qint64(10) << 30; ///< the files one user's messages carry
    int maxConcurrentUploadsPerUser = 4;           ///< uploads under way at once, over all devices
    std::chrono::hours abandonedUploadAge{24};     ///< an upload untouched this long is discarded

    /// Where a server with this database keeps shared files: DATABASE.files.
    static QString filesPathFor(const QString &databasePath)
    {
        return databasePath + QStringLiteral(".files");
    }
};

/// Sets every input budget from one figure (natterd --max-input-rate): bytes
/// a second per connection, bursts of 16 s, a frame per 2.5 KiB of it (bursts
/// of 10 s), four times it from one address. 0 lifts them all.
inline void setInputRate(ServerConfig *config, double bytesPerSecond)
{
    config->inputBytesPerSecond = bytesPerSecond;
    config->inputBurstBytes = bytesPerSecond * 16;
    config->inputFramesPerSecond = bytesPerSecond / 2621.44;
    config->inputFrameBurst = config->inputFramesPerSecond * 10;
    config->addressInputBytesPerSecond = bytesPerSecond * 4;
    config->addressInputBurstBytes = bytesPerSecond * 16 * 4;
}

} // namespace Natter
