// natterbench: a load generator for natterd.
//
// One epoll loop drives every WebSocket connection, with its own minimal
// client framing and no JSON library on the hot path, so that the generator
// is not what limits the measurement. It starts natterd (or targets a running
// one), runs one workload for a bounded time on 127.0.0.1 only, and prints one
// JSON line of figures. See docs/performance.md.

#include "bench/benchaccounts.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

int64_t nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

[[noreturn]] void die(const char *what)
{
    std::fprintf(stderr, "natterbench: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

[[noreturn]] void usage(const char *message)
{
    std::fprintf(
        stderr,
        "natterbench: %s\n"
        "usage: natterbench WORKLOAD [options]\n"
        "  workloads: fanout | dm | idle | mixed\n"
        "  --natterd PATH     start this natterd on 127.0.0.1 (default: target --port)\n"
        "  --port N --pid P   target a running natterd on 127.0.0.1 (pid for CPU and RSS)\n"
        "  --db PATH          with --port: that natterd's database, where the users' accounts go\n"
        "  --tls              wss:// (natterd's own certificate, not verified: loopback only)\n"
        "  --password-signins N  N connections sign in with a password at the start of the measurement\n"
        "  --clients C        fanout: members of the room (default 1000)\n"
        "  --senders S        fanout: how many of them send, per room (default 5)\n"
        "  --rooms R          fanout: spread the clients over R rooms (default 1)\n"
        "  --window W         closed loop: messages in flight per sender (default 32)\n"
        "  --rate R           fixed rate: messages/s per sender (default: closed loop)\n"
        "  --burst            with --rate: every sender sends on the same tick (bursts, as a\n"
        "                     generator that wakes once per interval does), not spread over it\n"
        "  --pairs P          dm: sender/recipient pairs (default 200)\n"
        "  --idle N           idle/mixed: idle connections held (default 10000)\n"
        "  --room-size K      idle/mixed: idle connections per room (default 100)\n"
        "  --duration SEC     measured seconds (default 10, at most 120)\n"
        "  --warmup SEC       unmeasured seconds first (default 2)\n"
        "  --text BYTES       message text size (default 64)\n"
        "  --probes N         dm: N more clients each read a page of history, type and ping\n"
        "                     ten times a second (their latencies: probe_*)\n"
        "  --stall MS/PERIOD  with --natterd: its commits stall MS ms once every PERIOD ms\n"
        "  --threads N        with --natterd: its --threads (default: natterd's, one per core)\n"
        "  --yardstick PATH   instead of natterd, start bench/beastchat (Boost.Beast, in memory)\n"
        "  --postgres URL     with --natterd: its --db postgresql://... (a running PostgreSQL)\n"
        "  --redis URL        with --postgres: its --redis redis://... (a running Redis)\n"
        "  --instances N      with --redis: start N natterd on them, connection i on instance i mod N\n"
        "  --watch-pid P      also report the CPU of process P and its children (Redis, PostgreSQL)\n",
        message);
    std::exit(2);
}

/// The email of connection index: the idle ones first, then the active ones.
std::string benchEmail(int index, int idleCount)
{
    return index < idleCount ? "idle" + std::to_string(index) + "@idle"
                             : "user" + std::to_string(index - idleCount) + "@bench";
}

struct Options
{
    std::string workload;
    std::string natterd;
    std::string db;
    bool tls = false;
    bool burst = false; // fixed rate: every sender on the same tick, instead of phases spread
    int passwordSignIns = 0;
    int port = 0;
    int pid = 0;
    int clients = 1000;
    int senders = 5;
    int window = 32;
    double rate = 0;
    int pairs = 200;
    int idle = 10000;
    int roomSize = 100;
    int rooms = 1; // fanout: the clients spread over this many rooms, senders per room
    double duration = 10;
    double warmup = 2;
    int textBytes = 64;
    int probes = 0;             // dm: other clients reading history, typing and pinging meanwhile
    std::string stall;          // natterd's commits stall: MS/PERIOD_MS (NATTERD_COMMIT_STALL_FOR_TESTING)
    std::string yardstick;      // instead of natterd: bench/beastchat (no accounts, no storage)
    int threads = 0;            // natterd --threads; 0: natterd's default
    std::string postgres;       // natterd --db postgresql://...
    std::string redis;          // natterd --redis redis://...
    int instances = 1;          // natterd started, the connections spread over them
    std::vector<int> watchPids; // other processes whose CPU is reported (Redis, PostgreSQL's postmaster)
};

// ---- server process -------------------------------------------------------

struct ServerProcess
{
    pid_t pid = 0;
    int port = 0;
    std::string dbDir;

    /// Starts natterd on db: a file in a new temporary folder if empty, else that
    /// PostgreSQL URL (with redis: a member of that cluster). The accounts exist first.
    void start(const std::string &path, std::string db, const std::string &redis, bool provision,
               const std::vector<std::string> &emails, const std::vector<std::string> &passwordEmails,
               bool tls, const std::string &stall, int threads)
    {
        if (db.empty()) {
            char dirTemplate[] = "/tmp/natterbench-XXXXXX";
            if (!mkdtemp(dirTemplate))
                die("mkdtemp");
            dbDir = dirTemplate;
            db = dbDir + "/bench.db";
        }
        if (provision && !provisionBenchAccounts(db, emails, passwordEmails))
            std::exit(1);
        std::vector<std::string> arguments{path,
                                           "--host",
                                           "127.0.0.1",
                                           "--port",
                                           "0",
                                           "--db",
                                           db,
                                           tls ? "--no-discovery" : "--no-tls",
                                           "--rate-limit",
                                           "0",
                                           "--max-input-rate",
                                           "0",
                                           "--max-queue",
                                           "67108864",
                                           "--max-connections-per-address",
                                           "100000",
                                           "--max-connections",
                                           "100000"};
        if (threads > 0) {
            arguments.push_back("--threads");
            arguments.push_back(std::to_string(threads));
        }
        if (!redis.empty()) {
            arguments.push_back("--redis");
            arguments.push_back(redis);
        }
        spawn(arguments, stall);
    }

    /// bench/beastchat instead of natterd: no accounts, nothing stored.
    void startYardstick(const std::string &path) { spawn({path, "--host", "127.0.0.1", "--port", "0"}, {}); }

    /// Starts the server and reads its port from its "listening on 127.0.0.1:PORT" line.
    void spawn(const std::vector<std::string> &arguments, const std::string &stall)
    {
        int out[2];
        if (pipe(out) != 0)
            die("pipe");
        pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            dup2(out[1], STDOUT_FILENO);
            close(out[0]);
            close(out[1]);
            if (!stall.empty())
                setenv("NATTERD_COMMIT_STALL_FOR_TESTING", stall.c_str(), 1);
            std::vector<char *> argv;
            for (const std::string &argument : arguments)
                argv.push_back(const_cast<char *>(argument.c_str()));
            argv.push_back(nullptr);
            execv(argv.front(), argv.data());
            std::perror("exec");
            _exit(127);
        }
        readPort(out);
    }

    /// Reads the child's "listening on 127.0.0.1:PORT" line.
    void readPort(int out[2])
    {
        close(out[1]);
        std::string line;
        char c;
        while (read(out[0], &c, 1) == 1) {
            if (c == '\n') {
                const auto at = line.find("listening on 127.0.0.1:");
                if (at != std::string::npos) {
                    port = std::atoi(line.c_str() + at + std::strlen("listening on 127.0.0.1:"));
                    break;
                }
                line.clear();
            } else {
                line += c;
            }
        }
        close(out[0]);
        if (port == 0) {
            std::fprintf(stderr, "natterbench: the server did not start\n");
            std::exit(1);
        }
    }

    void stop()
    {
        if (pid <= 0)
            return;
        kill(pid, SIGTERM);
        int status = 0;
        waitpid(pid, &status, 0);
        pid = 0;
        if (dbDir.empty())
            return;
        const std::string cleanup = "rm -rf '" + dbDir + "'";
        if (std::system(cleanup.c_str()) != 0)
            std::fprintf(stderr, "natterbench: could not remove %s\n", dbDir.c_str());
    }
};

/// The contents of /proc/PID/NAME (at most 4 KiB), empty if unreadable.
std::string readProc(int pid, const char *name)
{
    if (pid <= 0)
        return {};
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
    FILE *file = std::fopen(path, "r");
    if (!file)
        return {};
    char buffer[4096];
    const size_t n = std::fread(buffer, 1, sizeof buffer, file);
    std::fclose(file);
    return std::string(buffer, n);
}

/// utime + stime of a process, in seconds.
double cpuSeconds(int pid)
{
    const std::string stat = readProc(pid, "stat");
    const auto close = stat.rfind(')'); // the command name may hold spaces
    if (close == std::string::npos)
        return 0;
    unsigned long long utime = 0, stime = 0;
    // fields after ")": state(3) ... utime(14) stime(15)
    if (std::sscanf(stat.c_str() + close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                    &stime) != 2)
        return 0;
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

/// CPU seconds of pid and of its children (PostgreSQL's backends are the postmaster's).
double treeCpuSeconds(int pid)
{
    double total = cpuSeconds(pid);
    DIR *proc = opendir("/proc");
    if (!proc)
        return total;
    while (const dirent *entry = readdir(proc)) {
        const int child = std::atoi(entry->d_name);
        if (child <= 0)
            continue;
        const std::string stat = readProc(child, "stat");
        const auto close = stat.rfind(')');
        int parent = 0;
        if (close != std::string::npos && std::sscanf(stat.c_str() + close + 2, "%*c %d", &parent) == 1 &&
            parent == pid)
            total += cpuSeconds(child);
    }
    closedir(proc);
    return total;
}

long rssKib(int pid)
{
    const std::string status = readProc(pid, "status");
    const auto at = status.find("VmRSS:");
    return at == std::string::npos ? 0 : std::atol(status.c_str() + at + 6);
}

// ---- connections ----------------------------------------------------------

enum class State
{
    Connecting,
    Handshaking,
    Open,
    Closed
};

struct Connection
{
    int fd = -1;
    SSL *ssl = nullptr; // with --tls
    int index = 0;
    State state = State::Connecting;
    std::string in;
    std::string out;
    size_t outOffset = 0;
    bool wantWrite = false;
    bool welcomed = false;
    bool joined = false;
    bool passwordSignIn = false; // --password-signins: signs in with a password during the measurement
    int64_t connectNs = 0;
    // sender bookkeeping
    int inFlight = 0;
    int64_t nextSendNs = 0;
    uint64_t seq = 0;
    std::string target; // room name or recipient email
    bool direct = false;
    // --probes: a client that reads history, types and pings while the load runs
    bool probe = false;
    int64_t nextProbeNs = 0;
    std::deque<int64_t> historySentNs, pingSentNs, typingSentNs; // answers come in order
};

class Generator
{
public:
    /// Connection i goes to ports[i % ports.size()].
    Generator(std::vector<int> ports, bool tls)
        : m_ports(std::move(ports))
    {
        if (tls) {
            m_tls = SSL_CTX_new(TLS_client_method());
            SSL_CTX_set_min_proto_version(m_tls, TLS1_2_VERSION);
            SSL_CTX_set_verify(m_tls, SSL_VERIFY_NONE,
                               nullptr); // natterd's self-signed certificate, on loopback
        }
        m_epoll = epoll_create1(EPOLL_CLOEXEC);
        if (m_epoll < 0)
            die("epoll_create1");
    }

    Connection &add()
    {
        auto connection = std::make_unique<Connection>();
        connection->index = int(m_connections.size());
        m_connections.push_back(std::move(connection));
        return *m_connections.back();
    }

    void connectOne(Connection &c)
    {
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0)
            die("socket");
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(uint16_t(m_ports[size_t(c.index) % m_ports.size()]));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK); // loopback only, always
        if (connect(c.fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 &&
            errno != EINPROGRESS)
            die("connect");
        epoll_event event{};
        event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
        event.data.u32 = uint32_t(c.index);
        c.wantWrite = true;
        if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, c.fd, &event) != 0)
            die("epoll_ctl");
        c.state = State::Connecting;
        if (m_tls) {
            c.ssl = SSL_new(m_tls);
            SSL_set_fd(c.ssl, c.fd);
            SSL_set_connect_state(c.ssl);
            SSL_set_mode(c.ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        }
        queue(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    }

    /// Appends one masked text frame to the connection's output.
    void sendText(Connection &c, std::string_view payload)
    {
        char header[14];
        size_t n = 0;
        header[n++] = char(0x81);
        if (payload.size() < 126) {
            header[n++] = char(0x80 | payload.size());
        } else if (payload.size() <= 0xffff) {
            header[n++] = char(0x80 | 126);
            header[n++] = char(payload.size() >> 8);
            header[n++] = char(payload.size() & 0xff);
        } else {
            header[n++] = char(0x80 | 127);
            for (int i = 7; i >= 0; --i)
                header[n++] = char((uint64_t(payload.size()) >> (8 * i)) & 0xff);
        }
        static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
        std::memcpy(header + n, mask, 4);
        n += 4;
        c.out.append(header, n);
        const size_t start = c.out.size();
        c.out.append(payload);
        for (size_t i = 0; i < payload.size(); ++i)
            c.out[start + i] = char(c.out[start + i] ^ mask[i & 3]);
        markWritable(c);
    }

    /// A WebSocket ping (masked, empty); the pong reaches onText as PongMarker.
    void sendPing(Connection &c)
    {
        c.out.append("\x89\x80\x00\x00\x00\x00", 6);
        markWritable(c);
    }
    static constexpr std::string_view PongMarker{"\x01pong"};

    void queue(Connection &c, std::string_view bytes)
    {
        c.out.append(bytes);
        markWritable(c);
    }

    /// Runs the loop until deadline or until stop() returns true; timerNs is
    /// called at most every tickNs for fixed-rate senders.
    template<class OnText, class OnTick, class Stop>
    void run(int64_t deadlineNs, int64_t tickNs, OnText onText, OnTick onTick, Stop stop)
    {
        std::vector<epoll_event> events(1024);
        std::vector<char> buffer(256 * 1024);
        int64_t nextTick = nowNs();
        while (nowNs() < deadlineNs && !stop()) {
            flushAll();
            int timeoutMs = 100;
            if (tickNs > 0)
                timeoutMs = int(std::max<int64_t>(0, (nextTick - nowNs()) / 1'000'000));
            const int n = epoll_wait(m_epoll, events.data(), int(events.size()), timeoutMs);
            if (n < 0 && errno != EINTR)
                die("epoll_wait");
            for (int i = 0; i < n; ++i) {
                Connection &c = *m_connections[events[i].data.u32];
                if (events[i].events & EPOLLOUT)
                    writeSome(c);
                if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    readSome(c, buffer, onText);
            }
            if (tickNs > 0 && nowNs() >= nextTick) {
                onTick();
                nextTick += tickNs;
            }
        }
        flushAll();
    }

    std::vector<std::unique_ptr<Connection>> &connections() { return m_connections; }
    int closedCount() const { return m_closed; }

private:
    void markWritable(Connection &c)
    {
        if (!c.wantWrite) {
            m_dirty.push_back(c.index);
            c.wantWrite = true;
        }
    }

    void flushAll()
    {
        for (int index : m_dirty) {
            Connection &c = *m_connections[index];
            c.wantWrite = false;
            writeSome(c);
        }
        m_dirty.clear();
    }

    void writeSome(Connection &c)
    {
        if (c.state == State::Closed)
            return;
        while (c.outOffset < c.out.size()) {
            if (c.ssl) {
                const int written = SSL_write(c.ssl, c.out.data() + c.outOffset,
                                              int(std::min<size_t>(c.out.size() - c.outOffset, 1 << 20)));
                if (written <= 0) {
                    const int error = SSL_get_error(c.ssl, written);
                    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE)
                        closeConnection(c);
                    return;
                }
                c.outOffset += size_t(written);
                continue;
            }
            const ssize_t written =
                ::send(c.fd, c.out.data() + c.outOffset, c.out.size() - c.outOffset, MSG_NOSIGNAL);
            if (written < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN)
                    return; // EPOLLOUT will tell us
                closeConnection(c);
                return;
            }
            c.outOffset += size_t(written);
        }
        c.out.clear();
        c.outOffset = 0;
    }

    template<class OnText>
    void readSome(Connection &c, std::vector<char> &buffer, OnText &onText)
    {
        while (c.ssl) {
            const int n = SSL_read(c.ssl, buffer.data(), int(buffer.size()));
            if (n <= 0) {
                const int error = SSL_get_error(c.ssl, n);
                if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
                    // The handshake may have been waiting for this read: go on writing.
                    if (c.outOffset < c.out.size())
                        writeSome(c);
                    break;
                }
                closeConnection(c);
                return;
            }
            c.in.append(buffer.data(), size_t(n));
        }
        for (; !c.ssl;) {
            const ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
            if (n == 0) {
                closeConnection(c);
                return;
            }
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    closeConnection(c);
                break;
            }
            c.in.append(buffer.data(), size_t(n));
            if (size_t(n) < buffer.size())
                break;
        }
        parse(c, onText);
    }

    template<class OnText>
    void parse(Connection &c, OnText &onText)
    {
        size_t pos = 0;
        if (c.state == State::Connecting || c.state == State::Handshaking) {
            const size_t end = c.in.find("\r\n\r\n");
            if (end == std::string::npos)
                return;
            if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) {
                std::fprintf(stderr, "natterbench: handshake refused\n");
                closeConnection(c);
                return;
            }
            c.state = State::Open;
            pos = end + 4;
            onText(c, std::string_view()); // "open" notification
        }
        const char *data = c.in.data();
        while (c.in.size() - pos >= 2) {
            const uint8_t opcode = uint8_t(data[pos]) & 0x0f;
            uint64_t length = uint8_t(data[pos + 1]) & 0x7f;
            size_t header = 2;
            if (length == 126) {
                if (c.in.size() - pos < 4)
                    break;
                length = (uint64_t(uint8_t(data[pos + 2])) << 8) | uint8_t(data[pos + 3]);
                header = 4;
            } else if (length == 127) {
                if (c.in.size() - pos < 10)
                    break;
                length = 0;
                for (int i = 0; i < 8; ++i)
                    length = (length << 8) | uint8_t(data[pos + 2 + i]);
                header = 10;
            }
            if (c.in.size() - pos - header < length)
                break;
            const std::string_view payload(data + pos + header, size_t(length));
            if (opcode == 0x1) {
                onText(c, payload);
            } else if (opcode == 0x9) { // ping: answer pong with the same payload
                char pong[6] = {char(0x8a), char(0x80 | payload.size()), 0, 0, 0, 0};
                c.out.append(pong, 6);
                c.out.append(payload);
                markWritable(c);
            } else if (opcode == 0xA) {
                onText(c, PongMarker);
            } else if (opcode == 0x8) {
                closeConnection(c);
                return;
            }
            pos += header + size_t(length);
        }
        c.in.erase(0, pos);
    }

    void closeConnection(Connection &c)
    {
        if (c.state == State::Closed)
            return;
        c.state = State::Closed;
        if (c.ssl) {
            SSL_free(c.ssl);
            c.ssl = nullptr;
        }
        epoll_ctl(m_epoll, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        ++m_closed;
    }

    std::vector<int> m_ports;
    SSL_CTX *m_tls = nullptr;
    int m_epoll;
    int m_closed = 0;
    std::vector<std::unique_ptr<Connection>> m_connections;
    std::vector<int> m_dirty;
};

// ---- figures --------------------------------------------------------------

struct Figures
{
    uint64_t sent = 0;
    uint64_t deliveries = 0;
    std::vector<uint64_t> deliveriesPerInstance = std::vector<uint64_t>(8);
    std::vector<int64_t> latenciesNs;
    std::vector<int64_t> signInNs; // connect to welcome, of the password sign-ins
    std::vector<int64_t> probeHistoryNs, probeTypingNs, probePingNs; // --probes
    bool measuring = false;

    void recordLatency(int64_t ns)
    {
        if (measuring && latenciesNs.size() < 20'000'000)
            latenciesNs.push_back(ns);
    }

    double percentileMs(double p) { return percentileMs(latenciesNs, p); }
    static double percentileMs(std::vector<int64_t> &samples, double p)
    {
        if (samples.empty())
            return 0;
        const size_t k = std::min(samples.size() - 1, size_t(p * double(samples.size())));
        std::nth_element(samples.begin(), samples.begin() + long(k), samples.end());
        return double(samples[k]) / 1e6;
    }
};

/// Our texts read "t<send ns>|<sender index>|<padding>". natterd sorts JSON
/// keys, so "text" comes before "ts" and "type".
bool parseBenchText(std::string_view frame, int64_t *sentNs, int *sender)
{
    const auto at = frame.find("\"text\":\"t");
    if (at == std::string_view::npos)
        return false;
    const char *p = frame.data() + at + 9;
    char *end = nullptr;
    *sentNs = std::strtoll(p, &end, 10);
    if (*end != '|')
        return false;
    *sender = int(std::strtol(end + 1, &end, 10));
    return true;
}

std::string benchText(int sender, int bytes)
{
    char head[64];
    const int n = std::snprintf(head, sizeof head, "t%" PRId64 "|%d|", nowNs(), sender);
    std::string text(head, size_t(n));
    if (int(text.size()) < bytes)
        text.append(size_t(bytes - int(text.size())), 'x');
    return text;
}

void raiseFileLimit()
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

Options parseOptions(int argc, char **argv)
{
    if (argc < 2)
        usage("which workload?");
    Options o;
    o.workload = argv[1];
    if (o.workload != "fanout" && o.workload != "dm" && o.workload != "idle" && o.workload != "mixed")
        usage("unknown workload");
    for (int i = 2; i < argc; ++i) {
        const std::string name = argv[i];
        if (name == "--tls") {
            o.tls = true;
            continue;
        }
        if (name == "--burst") {
            o.burst = true;
            continue;
        }
        if (i + 1 >= argc)
            usage("an option needs a value");
        const char *value = argv[++i];
        if (name == "--natterd")
            o.natterd = value;
        else if (name == "--yardstick")
            o.yardstick = value;
        else if (name == "--db")
            o.db = value;
        else if (name == "--port")
            o.port = std::atoi(value);
        else if (name == "--pid")
            o.pid = std::atoi(value);
        else if (name == "--clients")
            o.clients = std::atoi(value);
        else if (name == "--senders")
            o.senders = std::atoi(value);
        else if (name == "--window")
            o.window = std::atoi(value);
        else if (name == "--rate")
            o.rate = std::atof(value);
        else if (name == "--pairs")
            o.pairs = std::atoi(value);
        else if (name == "--idle")
            o.idle = std::atoi(value);
        else if (name == "--duration")
            o.duration = std::atof(value);
        else if (name == "--warmup")
            o.warmup = std::atof(value);
        else if (name == "--room-size")
            o.roomSize = std::atoi(value);
        else if (name == "--rooms")
            o.rooms = std::atoi(value);
        else if (name == "--password-signins")
            o.passwordSignIns = std::atoi(value);
        else if (name == "--text")
            o.textBytes = std::atoi(value);
        else if (name == "--probes")
            o.probes = std::atoi(value);
        else if (name == "--stall")
            o.stall = value;
        else if (name == "--threads")
            o.threads = std::atoi(value);
        else if (name == "--postgres")
            o.postgres = value;
        else if (name == "--redis")
            o.redis = value;
        else if (name == "--instances")
            o.instances = std::atoi(value);
        else if (name == "--watch-pid")
            o.watchPids.push_back(std::atoi(value));
        else
            usage("unknown option");
    }
    // Every run is bounded.
    if (o.duration <= 0 || o.duration > 120 || o.warmup < 0 || o.warmup > 30)
        usage("--duration is 0-120 s, --warmup 0-30 s");
    if (o.clients < 1 || o.clients > 15000 || o.senders < 0 || o.senders > o.clients || o.pairs < 1 ||
        o.pairs > 5000 || o.idle < 0 || o.idle > 15000 || o.roomSize < 1 || o.window < 1 ||
        o.window > 10000 || o.textBytes < 16 || o.textBytes > 4000 || o.passwordSignIns < 0 ||
        o.passwordSignIns > 1000 || o.rooms < 1 || o.rooms > o.clients || o.senders * o.rooms > o.clients ||
        o.probes < 0 || o.probes > 100)
        usage("a count is out of range");
    if (o.natterd.empty() && o.yardstick.empty() && o.port == 0)
        usage("give --natterd PATH, --yardstick PATH or --port N");
    if (!o.yardstick.empty() && (!o.natterd.empty() || o.tls || o.passwordSignIns > 0 || o.probes > 0))
        usage("--yardstick goes without --natterd, --tls, --password-signins and --probes");
    if (o.burst && o.rate <= 0)
        usage("--burst needs --rate");
    if (o.probes > 0 && o.workload != "dm")
        usage("--probes goes with dm");
    if (!o.stall.empty() && o.natterd.empty())
        usage("--stall needs --natterd");
    if (o.threads != 0 && (o.natterd.empty() || o.threads < 1 || o.threads > 256))
        usage("--threads needs --natterd and is 1-256");
    if (!o.postgres.empty() && (o.natterd.empty() || o.tls || o.postgres.rfind("postgres", 0) != 0))
        usage("--postgres URL needs --natterd, goes without --tls, and is a postgresql:// URL");
    if (!o.redis.empty() && o.postgres.empty())
        usage("--redis needs --postgres (the natterd of a cluster share one database)");
    if (o.instances < 1 || o.instances > 8 || (o.instances > 1 && o.redis.empty()))
        usage("--instances is 1-8, and more than one needs --redis");
    return o;
}

} // namespace

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    raiseFileLimit();
    const Options options = parseOptions(argc, argv);

    std::vector<ServerProcess> servers(size_t(options.instances));
    std::vector<int> ports{options.port};
    std::vector<int> pids{options.pid};
    // Every simulated user has an account and signs in with a token.
    const bool dmWorkload = options.workload == "dm" || options.workload == "mixed";
    const int idleUsers = (options.workload == "idle" || options.workload == "mixed") ? options.idle : 0;
    const int activeUsers = options.workload == "fanout" ? options.clients
                            : dmWorkload                 ? 2 * options.pairs + options.probes
                                                         : 0;
    std::vector<std::string> emails;
    for (int i = 0; i < idleUsers + activeUsers; ++i)
        emails.push_back(benchEmail(i, idleUsers));
    std::vector<std::string> passwordEmails;
    for (int i = 0; i < options.passwordSignIns; ++i)
        passwordEmails.push_back("signin" + std::to_string(i) + "@bench");
    if (!options.yardstick.empty()) {
        servers.front().startYardstick(options.yardstick);
        ports = {servers.front().port};
        pids = {servers.front().pid};
    } else if (!options.natterd.empty()) {
        ports.clear();
        pids.clear();
        for (ServerProcess &server : servers) {
            server.start(options.natterd, options.postgres, options.redis, ports.empty(), emails,
                         passwordEmails, options.tls, options.stall, options.threads);
            ports.push_back(server.port);
            pids.push_back(server.pid);
        }
    } else if (options.db.empty()) {
        usage("with --port, give --db PATH (that natterd's database) to create the accounts");
    } else if (!provisionBenchAccounts(options.db, emails, passwordEmails)) {
        return 1;
    }

    const auto stopServers = [&] {
        for (ServerProcess &server : servers)
            server.stop();
    };
    // The servers' CPU and memory: every instance's, summed.
    const auto serverCpu = [&] {
        double total = 0;
        for (int pid : pids)
            total += cpuSeconds(pid);
        return total;
    };
    const auto serverRss = [&] {
        long total = 0;
        for (int pid : pids)
            total += rssKib(pid);
        return total;
    };
    const auto watchedCpu = [&] {
        std::vector<double> each;
        for (int pid : options.watchPids)
            each.push_back(treeCpuSeconds(pid));
        return each;
    };
    Generator generator(ports, options.tls);
    Figures figures;
    const bool fixedRate = options.rate > 0;
    const bool dm = options.workload == "dm" || options.workload == "mixed";
    const int idleCount = (options.workload == "idle" || options.workload == "mixed") ? options.idle : 0;

    // Connections: the idle ones first (measured separately), then the active ones.
    std::vector<Connection *> active;
    std::vector<Connection *> senders;
    for (int i = 0; i < idleCount; ++i) {
        Connection &c = generator.add();
        c.target = "idle-" + std::to_string(i / options.roomSize);
    }
    if (options.workload == "fanout") {
        for (int i = 0; i < options.clients; ++i) {
            Connection &c = generator.add();
            c.target =
                options.rooms == 1 ? std::string("bench") : "bench-" + std::to_string(i % options.rooms);
            active.push_back(&c);
            if (i < options.senders * options.rooms)
                senders.push_back(&c);
        }
    } else if (dm) {
        for (int i = 0; i < 2 * options.pairs; ++i) {
            Connection &c = generator.add();
            c.direct = true;
            // Pair p: sender 2p writes to recipient 2p+1.
            c.target = "user" + std::to_string(i ^ 1) + "@bench";
            active.push_back(&c);
            if (i % 2 == 0)
                senders.push_back(&c);
        }
    }
    std::vector<Connection *> probes;
    for (int i = 0; i < options.probes; ++i) {
        Connection &c = generator.add();
        c.probe = true;
        c.target = "probe";
        probes.push_back(&c);
    }

    auto &all = generator.connections();
    int ready = 0;
    auto onText = [&](Connection &c, std::string_view payload) {
        if (payload.data() == nullptr && c.passwordSignIn) {
            generator.sendText(c, "{\"type\":\"hello\",\"name\":\"s\",\"email\":\"" + c.target +
                                      "\",\"password\":\"" + benchPassword() + "\"}");
            return;
        }
        if (c.passwordSignIn) {
            if (!c.welcomed && payload.find("\"type\":\"welcome\"") != std::string_view::npos) {
                c.welcomed = true;
                figures.signInNs.push_back(nowNs() - c.connectNs);
            }
            return;
        }
        if (payload.data() == nullptr) { // handshake done: say hello
            const std::string email = benchEmail(c.index, idleCount);
            const std::string hello = "{\"type\":\"hello\",\"name\":\"u" + std::to_string(c.index) +
                                      "\",\"email\":\"" + email + "\",\"token\":\"" + benchToken(email) +
                                      "\"}";
            generator.sendText(c, hello);
            return;
        }
        if (!c.welcomed) {
            if (payload.find("\"type\":\"welcome\"") != std::string_view::npos) {
                c.welcomed = true;
                if (c.direct) {
                    ++ready;
                    c.joined = true;
                } else {
                    generator.sendText(c, "{\"type\":\"join_room\",\"room\":\"" + c.target + "\"}");
                }
            }
            return;
        }
        if (!c.joined) {
            if (payload.find("\"type\":\"history\"") != std::string_view::npos) {
                c.joined = true;
                ++ready;
            }
            return;
        }
        if (c.probe) {
            const int64_t now = nowNs();
            const auto record = [&](std::deque<int64_t> &sent, std::vector<int64_t> &into) {
                if (sent.empty())
                    return;
                if (figures.measuring)
                    into.push_back(now - sent.front());
                sent.pop_front();
            };
            if (payload == Generator::PongMarker) {
                record(c.pingSentNs, figures.probePingNs);
            } else if (payload.find("\"type\":\"history\"") != std::string_view::npos) {
                record(c.historySentNs, figures.probeHistoryNs);
            } else if (const auto at = payload.find("\"email\":\"user");
                       at != std::string_view::npos &&
                       payload.find("\"type\":\"typing\"") != std::string_view::npos) {
                // The previous probe typing: from its request to this notice.
                const size_t from = size_t(std::atoi(payload.data() + at + 13)) + size_t(idleCount);
                const size_t previous =
                    c.index == probes.front()->index ? size_t(probes.back()->index) : size_t(c.index) - 1;
                if (from == previous && from != size_t(c.index))
                    record(all[from]->typingSentNs, figures.probeTypingNs);
            }
            return;
        }
        if (payload.find("\"type\":\"receive_message\"") == std::string_view::npos)
            return;
        int64_t sentNs = 0;
        int sender = -1;
        if (!parseBenchText(payload, &sentNs, &sender))
            return;
        Connection &origin = *all[size_t(sender)];
        // Every receive_message pushed is a delivery: for a direct message the
        // recipient's copy and the sender's own (the protocol sends both).
        if (figures.measuring) {
            ++figures.deliveries;
            ++figures.deliveriesPerInstance[size_t(c.index) % ports.size()];
        }
        if (&origin == &c) {
            --origin.inFlight;
            if (!fixedRate && origin.state == State::Open) {
                generator.sendText(origin, "{\"type\":\"send_message\",\"" +
                                               std::string(c.direct ? "to" : "room") + "\":\"" +
                                               origin.target + "\",\"text\":\"" +
                                               benchText(origin.index, options.textBytes) + "\"}");
                ++origin.inFlight;
                if (figures.measuring)
                    ++figures.sent;
            }
            if (c.direct)
                return; // for direct messages, latency is measured at the recipient
        }
        figures.recordLatency(nowNs() - sentNs);
    };

    // Phase 1: connect and join, at most 256 handshakes in flight.
    const double cpuBeforeIdle = serverCpu();
    const long rssBeforeIdle = serverRss();
    const int64_t connectStart = nowNs();
    size_t next = 0;
    auto connectMore = [&] {
        while (next < all.size() && int(next) - ready < 256)
            generator.connectOne(*all[next++]);
    };
    connectMore();
    const int64_t connectDeadline = nowNs() + 120'000'000'000LL;
    int idleReadyAt = -1;
    double cpuAfterIdle = 0;
    long rssAfterIdle = 0;
    while (ready < int(all.size()) && nowNs() < connectDeadline) {
        generator.run(
            nowNs() + 50'000'000, 0, onText, [] {},
            [&] { return int(next) - ready < 128 && next < all.size(); });
        connectMore();
        if (idleReadyAt < 0 && ready >= idleCount && idleCount > 0) {
            idleReadyAt = ready;
            cpuAfterIdle = serverCpu();
            rssAfterIdle = serverRss();
        }
    }
    const double connectSeconds = double(nowNs() - connectStart) / 1e9;
    if (ready < int(all.size())) {
        std::fprintf(stderr, "natterbench: only %d of %zu connections joined\n", ready, all.size());
        stopServers();
        return 1;
    }
    if (idleCount > 0 && idleReadyAt < 0) {
        cpuAfterIdle = serverCpu();
        rssAfterIdle = serverRss();
    }

    // Phase 2: load, warm-up then measured.
    auto sendOne = [&](Connection &c) {
        generator.sendText(c, "{\"type\":\"send_message\",\"" + std::string(c.direct ? "to" : "room") +
                                  "\":\"" + c.target + "\",\"text\":\"" +
                                  benchText(c.index, options.textBytes) + "\"}");
        ++c.inFlight;
        if (figures.measuring)
            ++figures.sent;
    };
    const int64_t tickNs = fixedRate || !probes.empty() ? 1'000'000 : 0; // 1 ms ticks pace fixed-rate senders
    const int64_t intervalNs = fixedRate ? int64_t(1e9 / options.rate) : 0;
    auto onTick = [&] {
        const int64_t now = nowNs();
        for (Connection *c : probes) {
            // Ten times a second each: a page of history, a typing notice to
            // the other probes, a WebSocket ping.
            if (c->nextProbeNs > now || c->state != State::Open)
                continue;
            c->nextProbeNs = now + 100'000'000;
            c->historySentNs.push_back(now);
            c->typingSentNs.push_back(now);
            c->pingSentNs.push_back(now);
            generator.sendText(*c, "{\"type\":\"history\",\"room\":\"probe\",\"limit\":20}");
            generator.sendText(*c, "{\"type\":\"typing\",\"room\":\"probe\",\"active\":true}");
            generator.sendPing(*c);
        }
        for (Connection *c : senders) {
            // Bounded catch-up: a stalled server is not buried under a backlog.
            int burst = 0;
            while (c->nextSendNs <= now && burst++ < 100 && c->inFlight < 100'000) {
                sendOne(*c);
                c->nextSendNs += intervalNs;
            }
        }
    };
    if (!senders.empty()) {
        const int64_t start = nowNs();
        for (size_t i = 0; i < senders.size(); ++i) {
            Connection *c = senders[i];
            if (fixedRate) // spread the senders' phases over one interval, or all at once
                c->nextSendNs =
                    options.burst ? start : start + int64_t(i) * intervalNs / int64_t(senders.size());
            else
                for (int w = 0; w < options.window; ++w)
                    sendOne(*c);
        }
    }
    generator.run(nowNs() + int64_t(options.warmup * 1e9), tickNs, onText, onTick, [] { return false; });

    figures.measuring = true;
    figures.latenciesNs.clear();
    const double cpuStart = serverCpu();
    std::vector<double> instanceCpuStart;
    for (int pid : pids)
        instanceCpuStart.push_back(cpuSeconds(pid));
    const std::vector<double> watchedStart = watchedCpu();
    const int64_t measureStart = nowNs();
    // A burst of password sign-ins, all at once, while the load goes on.
    for (int i = 0; i < options.passwordSignIns; ++i) {
        Connection &c = generator.add();
        c.passwordSignIn = true;
        c.target = passwordEmails[size_t(i)];
        c.connectNs = nowNs();
        generator.connectOne(c);
    }
    generator.run(measureStart + int64_t(options.duration * 1e9), tickNs, onText, onTick,
                  [] { return false; });
    const double seconds = double(nowNs() - measureStart) / 1e9;
    const double cpu = serverCpu() - cpuStart;
    std::vector<double> instanceCpu;
    for (size_t i = 0; i < pids.size(); ++i)
        instanceCpu.push_back(cpuSeconds(pids[i]) - instanceCpuStart[i]);
    std::vector<double> watched = watchedCpu();
    for (size_t i = 0; i < watched.size(); ++i)
        watched[i] -= watchedStart[i];
    figures.measuring = false;
    const long rss = serverRss();

    const int closed = generator.closedCount();
    std::printf("{\"workload\":\"%s\",\"mode\":\"%s\",\"connections\":%zu,\"idle_connections\":%d,"
                "\"senders\":%zu,\"window\":%d,\"rate_per_sender\":%.1f,\"text_bytes\":%d,"
                "\"duration_s\":%.2f,\"messages_sent\":%" PRIu64 ",\"messages_per_s\":%.0f,"
                "\"deliveries\":%" PRIu64 ",\"deliveries_per_s\":%.0f,\"server_cpu_s\":%.2f,"
                "\"cpu_s_per_million_deliveries\":%.3f,\"cpu_s_per_million_messages\":%.3f,"
                "\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,"
                "\"server_rss_kib\":%ld,\"connect_seconds\":%.2f,\"rooms\":%d",
                options.workload.c_str(),
                fixedRate ? (options.burst ? "burst" : "fixed-rate") : "closed-loop", all.size(), idleCount,
                senders.size(), options.window, options.rate, options.textBytes, seconds, figures.sent,
                double(figures.sent) / seconds, figures.deliveries, double(figures.deliveries) / seconds, cpu,
                figures.deliveries ? cpu / (double(figures.deliveries) / 1e6) : 0.0,
                figures.sent ? cpu / (double(figures.sent) / 1e6) : 0.0, figures.percentileMs(0.50),
                figures.percentileMs(0.99), rss, connectSeconds, options.rooms);
    if (options.threads > 0)
        std::printf(",\"threads\":%d", options.threads);
    if (!options.postgres.empty())
        std::printf(",\"store\":\"postgresql\",\"instances\":%d,\"redis\":%s", options.instances,
                    options.redis.empty() ? "false" : "true");
    if (pids.size() > 1) {
        // Each instance: its CPU per million of the deliveries to its own connections.
        std::printf(",\"instance_cpu_s\":[");
        for (size_t i = 0; i < pids.size(); ++i)
            std::printf("%s%.2f", i ? "," : "", instanceCpu[i]);
        std::printf("],\"instance_deliveries\":[");
        for (size_t i = 0; i < pids.size(); ++i)
            std::printf("%s%" PRIu64, i ? "," : "", figures.deliveriesPerInstance[i]);
        std::printf("],\"instance_cpu_s_per_million_deliveries\":[");
        for (size_t i = 0; i < pids.size(); ++i)
            std::printf("%s%.3f", i ? "," : "",
                        figures.deliveriesPerInstance[i]
                            ? instanceCpu[i] / (double(figures.deliveriesPerInstance[i]) / 1e6)
                            : 0.0);
        std::printf("]");
    }
    if (!watched.empty()) {
        std::printf(",\"watched_cpu_s\":[");
        for (size_t i = 0; i < watched.size(); ++i)
            std::printf("%s%.2f", i ? "," : "", watched[i]);
        std::printf("]");
    }
    if (idleCount > 0) {
        std::printf(",\"rss_per_idle_connection_kib\":%.2f,\"connect_join_cpu_ms_per_1000\":%.1f",
                    double(rssAfterIdle - rssBeforeIdle) / idleCount,
                    (cpuAfterIdle - cpuBeforeIdle) * 1000.0 / (idleCount / 1000.0));
    }
    if (!probes.empty()) {
        std::printf(",\"probes\":%d,\"stall\":\"%s\",\"probe_history_n\":%zu,\"probe_history_p50_ms\":%.3f,"
                    "\"probe_history_p99_ms\":%.3f,\"probe_typing_p99_ms\":%.3f,\"probe_ping_p99_ms\":%.3f,"
                    "\"probe_max_ms\":%.3f",
                    options.probes, options.stall.c_str(), figures.probeHistoryNs.size(),
                    Figures::percentileMs(figures.probeHistoryNs, 0.5),
                    Figures::percentileMs(figures.probeHistoryNs, 0.99),
                    Figures::percentileMs(figures.probeTypingNs, 0.99),
                    Figures::percentileMs(figures.probePingNs, 0.99),
                    std::max({Figures::percentileMs(figures.probeHistoryNs, 1.0),
                              Figures::percentileMs(figures.probeTypingNs, 1.0),
                              Figures::percentileMs(figures.probePingNs, 1.0)}));
    }
    if (options.passwordSignIns > 0) {
        const int64_t slowest = figures.signInNs.empty()
                                    ? 0
                                    : *std::max_element(figures.signInNs.begin(), figures.signInNs.end());
        std::printf(
            ",\"password_signins\":%d,\"password_signins_welcomed\":%zu,\"password_signin_max_ms\":%.1f",
            options.passwordSignIns, figures.signInNs.size(), double(slowest) / 1e6);
    }
    if (idleCount > 0) {
        // All idle connections gone at once (a switch reboots, a NAT forgets):
        // the server's CPU until it is quiet again.
        const double before = serverCpu();
        for (int i = 0; i < idleCount; ++i) {
            Connection &c = *generator.connections()[size_t(i)];
            if (c.fd >= 0) {
                ::close(c.fd);
                c.fd = -1;
            }
        }
        double last = before;
        for (int quiet = 0, polls = 0; quiet < 3 && polls < 100; ++polls) {
            ::usleep(100'000);
            const double now = serverCpu();
            quiet = now - last < 0.002 ? quiet + 1 : 0;
            last = now;
        }
        std::printf(",\"mass_disconnect_cpu_ms\":%.1f", (last - before) * 1000.0);
    }
    std::printf(",\"closed_by_server\":%d}\n", closed);
    std::fflush(stdout);
    stopServers();
    return closed == 0 ? 0 : 1;
}
