// transferbench: one file up and down through a running natterd on 127.0.0.1,
// as the desktop app sends it (chunks a window at a time over the chat
// connection), with the server's memory sampled meanwhile. The file is a
// generated stream (never kept on the client's disk); the server keeps it in
// its vault like any upload. Prints one JSON line. See docs/performance.md.
//
// usage: transferbench --port N --pid P --db PATH [--size BYTES] [--repeat N]

#include "bench/benchaccounts.h"
#include "bench/procstats.h"
#include "common/codec.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QHostAddress>
#include <QTcpSocket>
#include <QtEndian>

#include <openssl/evp.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;
using Natter::Bench::rssKiB;

namespace {

[[noreturn]] void usage(const char *message)
{
    std::fprintf(stderr,
                 "transferbench: %s\n"
                 "usage: transferbench --port N --pid P --db PATH [--size BYTES] [--repeat N]\n"
                 "  --port N --pid P  a running natterd on 127.0.0.1 (--no-tls), its pid for RSS\n"
                 "  --db PATH         its database, where the two users' accounts go\n"
                 "  --size BYTES      the file (default 1073741824: 1 GiB)\n"
                 "  --repeat N        up and down N times (new bytes each time; default 1)\n",
                 message);
    std::exit(2);
}

/// The bytes of file number seed: the same for the same (seed, offset), fast to make.
void fill(char *out, qint64 offset, qint64 length, quint64 seed)
{
    for (qint64 i = 0; i < length; i += 8) {
        quint64 x = (quint64(offset + i) >> 3) * 0x9E3779B97F4A7C15ull ^ seed;
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ull;
        x ^= x >> 29;
        std::memcpy(out + i, &x, size_t(std::min<qint64>(8, length - i)));
    }
}

class Sha256
{
public:
    Sha256()
        : m_context(EVP_MD_CTX_new(), &EVP_MD_CTX_free)
    {
        EVP_DigestInit_ex(m_context.get(), EVP_sha256(), nullptr);
    }
    void add(const char *data, qint64 length) { EVP_DigestUpdate(m_context.get(), data, size_t(length)); }
    QString hex()
    {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        EVP_DigestFinal_ex(m_context.get(), digest, &length);
        return QString::fromLatin1(QByteArray(reinterpret_cast<const char *>(digest), int(length)).toHex());
    }

private:
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> m_context;
};

/// A WebSocket client that frames by itself, over a blocking socket: the
/// generator must not be what limits the measurement. QWebSocket masks every
/// byte of a client frame in a loop, which holds a client to ~140 MB/s on this
/// machine; this one masks with the all-zero key (valid RFC 6455 framing: the
/// server still unmasks every byte as it must).
class RawClient
{
public:
    bool open(quint16 port)
    {
        m_socket.connectToHost(QHostAddress::LocalHost, port);
        if (!m_socket.waitForConnected(10000))
            return false;
        m_socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        while (!m_buffer.contains("\r\n\r\n")) {
            if (!m_socket.waitForReadyRead(10000))
                return false;
            m_buffer += m_socket.readAll();
        }
        const bool upgraded = m_buffer.startsWith("HTTP/1.1 101");
        m_buffer.remove(0, m_buffer.indexOf("\r\n\r\n") + 4);
        return upgraded;
    }

    void sendFrame(char opcode, QByteArrayView payload)
    {
        QByteArray header;
        header.append(char(0x80 | opcode));
        const quint64 length = quint64(payload.size());
        if (length < 126) {
            header.append(char(0x80 | length));
        } else if (length <= 0xffff) {
            header.append(char(0x80 | 126));
            header.append(char(length >> 8));
            header.append(char(length & 0xff));
        } else {
            header.append(char(0x80 | 127));
            for (int shift = 56; shift >= 0; shift -= 8)
                header.append(char((length >> shift) & 0xff));
        }
        header.append(4, '\0'); // the masking key
        m_socket.write(header);
        m_socket.write(payload.data(), payload.size());
        // At most a window waits in the socket, as the app keeps it.
        while (m_socket.bytesToWrite() > (1 << 20))
            m_socket.waitForBytesWritten(10000);
    }

    void send(const Codec::ClientFrame &frame) { sendFrame(0x1, Codec::encodeClientFrame(frame)); }

    /// The next frame from the server: (opcode, payload); opcode 0 when the connection failed.
    std::pair<int, QByteArray> readFrame()
    {
        for (;;) {
            if (m_buffer.size() >= 2) {
                const auto *bytes = reinterpret_cast<const uchar *>(m_buffer.constData());
                quint64 length = bytes[1] & 0x7f;
                qsizetype at = 2;
                if (length == 126 && m_buffer.size() >= 4) {
                    length = qFromBigEndian<quint16>(bytes + 2);
                    at = 4;
                } else if (length == 127 && m_buffer.size() >= 10) {
                    length = qFromBigEndian<quint64>(bytes + 2);
                    at = 10;
                } else if (length >= 126) {
                    at = -1;
                }
                if (at > 0 && quint64(m_buffer.size() - at) >= length) {
                    const int opcode = bytes[0] & 0x0f;
                    QByteArray payload = m_buffer.mid(at, qsizetype(length));
                    m_buffer.remove(0, at + qsizetype(length));
                    if (opcode == 0x9) { // ping: pong
                        sendFrame(0xA, payload);
                        continue;
                    }
                    return {opcode, payload};
                }
            }
            if (!m_socket.waitForReadyRead(600'000))
                return {0, {}};
            m_buffer += m_socket.readAll();
        }
    }

    /// The next server frame of type T (others are skipped; an error ends the wait).
    template<class T>
    std::optional<T> waitFor(const std::function<void(QByteArrayView)> &onChunk = {})
    {
        for (;;) {
            const auto [opcode, payload] = readFrame();
            if (opcode == 0)
                return std::nullopt;
            if (opcode == 0x2) {
                if (const auto chunk = Codec::decodeChunk(payload); chunk && onChunk)
                    onChunk(chunk->second);
                continue;
            }
            const auto decoded = Codec::decodeServerFrame(payload);
            if (!decoded.isOk())
                continue;
            if (const auto *error = std::get_if<Error>(&decoded.value())) {
                std::fprintf(stderr, "transferbench: %s\n", qPrintable(error->message));
                return std::nullopt;
            }
            if (const T *frame = std::get_if<T>(&decoded.value()))
                return *frame;
        }
    }

private:
    QTcpSocket m_socket;
    QByteArray m_buffer;
};

bool signIn(RawClient &client, quint16 port, const QString &email)
{
    if (!client.open(port))
        return false;
    Hello hello;
    hello.user = User{email.section(u'@', 0, 0), email};
    hello.token = QString::fromStdString(benchToken(email.toStdString()));
    client.send(hello);
    if (!client.waitFor<Welcome>())
        return false;
    client.send(JoinRoom{u"transfers"_s});
    return client.waitFor<History>().has_value();
}

} // namespace

int main(int argc, char **argv)
{
    quint16 port = 0;
    qint64 pid = 0;
    QString db;
    qint64 size = qint64(1) << 30;
    int repeat = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const QString name = QString::fromLocal8Bit(argv[i]);
        const QString value = QString::fromLocal8Bit(argv[i + 1]);
        if (name == u"--port"_s)
            port = quint16(value.toUInt());
        else if (name == u"--pid"_s)
            pid = value.toLongLong();
        else if (name == u"--db"_s)
            db = value;
        else if (name == u"--size"_s)
            size = value.toLongLong();
        else if (name == u"--repeat"_s)
            repeat = value.toInt();
        else
            usage("unknown option");
    }
    if (port == 0 || pid <= 0 || db.isEmpty() || size < 0 || repeat < 1)
        usage("give --port, --pid and --db");
    // Before the application object: provisioning makes (and ends) its own.
    if (!provisionBenchAccounts(db.toStdString(), {"sender@bench", "receiver@bench"}))
        return 1;
    QCoreApplication app(argc, argv);

    RawClient sender;
    RawClient receiver;
    if (!signIn(sender, port, u"sender@bench"_s) || !signIn(receiver, port, u"receiver@bench"_s))
        usage("could not sign in");

    // Sampled by a thread: the clients block on their sockets.
    const qint64 baselineKiB = rssKiB(pid);
    std::atomic<qint64> peakKiB = baselineKiB;
    std::atomic<bool> sampling = true;
    std::thread sampler([&] {
        while (sampling) {
            peakKiB = std::max(peakKiB.load(), rssKiB(pid));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });

    double uploadSeconds = 0;
    double downloadSeconds = 0;
    double checkSeconds = 0; // from the last byte sent to upload_complete: the server's check
    bool ok = true;
    QByteArray buffer;
    for (int round = 0; round < repeat && ok; ++round) {
        const quint64 seed = quint64(QDateTime::currentMSecsSinceEpoch()) + quint64(round);
        // The digest first (upload_begin names it), from the same stream.
        constexpr qint64 Block = 1 << 20;
        buffer.resize(Block);
        Sha256 digest;
        for (qint64 offset = 0; offset < size; offset += Block) {
            const qint64 length = std::min(Block, size - offset);
            fill(buffer.data(), offset, length, seed);
            digest.add(buffer.constData(), length);
        }
        UploadBegin begin;
        begin.clientId = u"transfer-%1"_s.arg(seed);
        begin.name = u"build-%1.tar"_s.arg(round);
        begin.size = size;
        begin.sha256 = digest.hex();
        begin.room = u"transfers"_s;

        QElapsedTimer clock;
        clock.start();
        sender.send(begin);
        const auto ready = sender.waitFor<UploadReady>();
        if (!ready) {
            ok = false;
            break;
        }
        qint64 offset = ready->offset;
        QByteArray payload(ChunkHeaderBytes + ready->chunkBytes, Qt::Uninitialized);
        qToBigEndian(quint64(ready->uploadId), payload.data());
        while (offset < size) {
            const qint64 length = std::min(ready->chunkBytes, size - offset);
            fill(payload.data() + ChunkHeaderBytes, offset, length, seed);
            sender.sendFrame(0x2, QByteArrayView(payload.constData(), ChunkHeaderBytes + length));
            offset += length;
        }
        const double sentSeconds = double(clock.nsecsElapsed()) / 1e9;
        sender.send(UploadDone{ready->uploadId});
        const auto complete = sender.waitFor<UploadComplete>();
        uploadSeconds += double(clock.nsecsElapsed()) / 1e9;
        checkSeconds += double(clock.nsecsElapsed()) / 1e9 - sentSeconds;
        if (!complete) {
            ok = false;
            break;
        }

        clock.restart();
        Sha256 received;
        qint64 receivedBytes = 0;
        receiver.send(DownloadRequest{complete->fileId, 0});
        const auto done = receiver.waitFor<DownloadDone>([&](QByteArrayView chunk) {
            received.add(chunk.data(), chunk.size());
            receivedBytes += chunk.size();
        });
        downloadSeconds += double(clock.nsecsElapsed()) / 1e9;
        ok = done && receivedBytes == size && received.hex() == begin.sha256;
    }
    sampling = false;
    sampler.join();
    const double megabytes = double(size) * repeat / 1e6;
    std::printf(
        "{\"size\": %lld, \"repeat\": %d, \"ok\": %s, \"upload_mb_s\": %.1f, \"download_mb_s\": %.1f, "
        "\"upload_check_s\": %.2f, \"server_rss_before_mib\": %.1f, \"server_rss_peak_increase_mib\": "
        "%.1f}\n",
        static_cast<long long>(size), repeat, ok ? "true" : "false", megabytes / uploadSeconds,
        megabytes / downloadSeconds, checkSeconds / repeat, double(baselineKiB) / 1024,
        double(peakKiB.load() - baselineKiB) / 1024);
    return ok ? 0 : 1;
}
