#include "tests/support/testclient.h"

#include <QCryptographicHash>
#include <QSignalSpy>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslError>

using namespace Natter;
using namespace Qt::StringLiterals;

TestClient::TestClient(QObject *parent)
    : QObject(parent)
{
    connect(&m_socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
        const auto decoded = Codec::decodeServerFrame(text.toUtf8());
        if (decoded.isOk())
            frames.append(decoded.value());
        else
            ++undecodable;
    });
    connect(&m_socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &payload) {
        const auto chunk = Codec::decodeChunk(payload);
        if (!chunk) {
            ++undecodable;
            return;
        }
        downloaded[chunk->first] += chunk->second;
        binaryOrder.append(chunk->first);
    });
}

bool TestClient::open(quint16 port)
{
    QSignalSpy connected(&m_socket, &QWebSocket::connected);
    m_socket.open(QUrl(u"ws://127.0.0.1:%1"_s.arg(port)));
    return connected.wait(5000) || isConnected();
}

bool TestClient::openTls(quint16 port, const QString &fingerprint)
{
    // Pinning as the app does it: the certificate is self-signed, so accept
    // exactly the one with this fingerprint.
    connect(&m_socket, &QWebSocket::sslErrors, this, [this, fingerprint](const QList<QSslError> &errors) {
        for (const QSslError &error : errors) {
            if (QString::fromLatin1(error.certificate().digest(QCryptographicHash::Sha256).toHex()) ==
                fingerprint) {
                m_socket.ignoreSslErrors(errors);
                return;
            }
        }
        ++certificateRefusals;
        m_socket.abort();
    });
    QSignalSpy connected(&m_socket, &QWebSocket::connected);
    QSignalSpy failed(&m_socket, &QWebSocket::disconnected);
    m_socket.open(QUrl(u"wss://127.0.0.1:%1"_s.arg(port)));
    return QTest::qWaitFor([&] { return !connected.isEmpty() || !failed.isEmpty(); }, 5000) && isConnected();
}

QString TestClient::peerFingerprint() const
{
    const QSslCertificate peer = m_socket.sslConfiguration().peerCertificate();
    return peer.isNull() ? QString() : QString::fromLatin1(peer.digest(QCryptographicHash::Sha256).toHex());
}

void TestClient::send(const Codec::ClientFrame &frame)
{
    m_socket.sendTextMessage(QString::fromUtf8(Codec::encodeClientFrame(frame)));
}

void TestClient::sendRaw(const QByteArray &text)
{
    m_socket.sendTextMessage(QString::fromUtf8(text));
}

bool TestClient::hello(const QString &name, const QString &email, const QString &password)
{
    Protocol::Hello hello;
    hello.user = User{name, email};
    hello.password = password;
    send(hello);
    // A real password hash runs at idle priority: a busy test machine may delay it.
    const std::optional<Protocol::Welcome> welcome = waitFor<Protocol::Welcome>(20000);
    if (welcome)
        token = welcome->token;
    return welcome.has_value();
}

bool TestClient::helloWithToken(const QString &name, const QString &email, const QString &sessionToken)
{
    Protocol::Hello hello;
    hello.user = User{name, email};
    hello.token = sessionToken;
    send(hello);
    return waitFor<Protocol::Welcome>().has_value();
}

bool TestClient::join(const QString &room)
{
    send(Protocol::JoinRoom{room});
    return QTest::qWaitFor(
        [this, room] {
            for (const auto &frame : frames) {
                if (const auto *history = std::get_if<Protocol::History>(&frame);
                    history && history->room == room)
                    return true;
            }
            return false;
        },
        5000);
}

bool TestClient::signIn(quint16 port, const QString &name, const QString &email, const QStringList &rooms)
{
    if (!open(port) || !hello(name, email))
        return false;
    for (const QString &room : rooms) {
        if (!join(room))
            return false;
    }
    frames.clear();
    return true;
}

QList<Message> TestClient::readConversation(const QString &room, const QString &with)
{
    frames.clear();
    QList<Message> all;
    qint64 after = 0;
    for (;;) {
        send(Protocol::HistoryRequest{room, with, std::nullopt, after, Protocol::MaxHistoryLimit});
        const auto page = waitFor<Protocol::History>(10000);
        if (!page)
            return {};
        all += page->messages;
        if (!page->hasMore || page->messages.isEmpty())
            return all;
        after = page->messages.constLast().id;
    }
}

bool TestClient::waitForDisconnected(int timeoutMs)
{
    return QTest::qWaitFor([this] { return m_socket.state() == QAbstractSocket::UnconnectedState; },
                           timeoutMs);
}

Protocol::UploadBegin TestClient::announce(const QByteArray &data, const QString &clientId,
                                           const QString &name, const QString &room)
{
    Protocol::UploadBegin begin;
    begin.clientId = clientId;
    begin.name = name;
    begin.size = data.size();
    begin.sha256 = QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
    begin.room = room;
    return begin;
}

TestClient::Upload TestClient::upload(const QByteArray &data, const Protocol::UploadBegin &begin,
                                      qint64 stopAfter)
{
    Upload sent;
    send(begin);
    if (!QTest::qWaitFor([&] { return count<Protocol::UploadReady>() + count<Protocol::Error>() > 0; }, 5000))
        return sent;
    if ((sent.error = takeFirst<Protocol::Error>()))
        return sent;
    const Protocol::UploadReady ready = *takeFirst<Protocol::UploadReady>();
    sent.uploadId = ready.uploadId;
    sent.offset = ready.offset;
    qint64 offset = ready.offset;
    const qint64 end = stopAfter >= 0 ? std::min<qint64>(offset + stopAfter, data.size()) : data.size();
    while (offset < end) {
        const qint64 length = std::min(ready.chunkBytes, end - offset);
        m_socket.sendBinaryMessage(Codec::encodeChunk(ready.uploadId, data.mid(offset, length)));
        offset += length;
    }
    m_socket.flush();
    if (stopAfter >= 0)
        return sent;
    send(Protocol::UploadDone{ready.uploadId});
    if (!QTest::qWaitFor([&] { return count<Protocol::UploadComplete>() + count<Protocol::Error>() > 0; },
                         20000))
        return sent;
    sent.complete = takeFirst<Protocol::UploadComplete>();
    sent.error = takeFirst<Protocol::Error>();
    return sent;
}

std::optional<QByteArray> TestClient::download(qint64 fileId, qint64 offset, Protocol::Error *refused)
{
    send(Protocol::DownloadRequest{fileId, offset});
    if (!QTest::qWaitFor([&] { return count<Protocol::DownloadReady>() + count<Protocol::Error>() > 0; },
                         5000))
        return std::nullopt;
    if (const auto error = takeFirst<Protocol::Error>()) {
        if (refused)
            *refused = *error;
        return std::nullopt;
    }
    const Protocol::DownloadReady ready = *takeFirst<Protocol::DownloadReady>();
    const auto done = waitFor<Protocol::DownloadDone>(30000);
    if (!done || done->downloadId != ready.downloadId)
        return std::nullopt;
    return downloaded.take(ready.downloadId);
}
