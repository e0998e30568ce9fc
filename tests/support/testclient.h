#pragma once

#include "common/codec.h"

#include <QHash>
#include <QObject>
#include <QTest>
#include <QWebSocket>

#include <optional>

/// A real QWebSocket client for tests: sends typed or raw frames and keeps
/// every decoded server frame, in order, for the test to inspect.
class TestClient final : public QObject
{
    Q_OBJECT

public:
    explicit TestClient(QObject *parent = nullptr);

    QWebSocket &socket() { return m_socket; }
    bool open(quint16 port);
    /// wss://, accepting the self-signed certificate with this SHA-256 fingerprint only.
    bool openTls(quint16 port, const QString &fingerprint);
    /// The SHA-256 of the certificate the server showed (empty over ws://).
    QString peerFingerprint() const;
    int certificateRefusals = 0;
    bool isConnected() const { return m_socket.state() == QAbstractSocket::ConnectedState; }

    void send(const Natter::Codec::ClientFrame &frame);
    void sendRaw(const QByteArray &text);

    /// The password tests sign in with.
    static QString defaultPassword() { return QStringLiteral("correct horse battery"); }
    /// Says hello with a password (first use creates the account) and waits
    /// for welcome; keeps the session token it returns in token.
    bool hello(const QString &name, const QString &email, const QString &password = defaultPassword());
    /// Says hello with a session token and waits for welcome.
    bool helloWithToken(const QString &name, const QString &email, const QString &sessionToken);
    QString token;
    /// Joins and waits for the room's history (the last frame of a join).
    bool join(const QString &room);
    /// Opens, says hello (the default password) and joins the rooms; then
    /// forgets the frames received so far, so a test reads only what follows.
    bool signIn(quint16 port, const QString &name, const QString &email, const QStringList &rooms = {});
    /// Reads a whole conversation (a room, or the direct one with an email)
    /// page by page from the first message; empty if a page did not come.
    /// Frames received before are dropped.
    QList<Natter::Message> readConversation(const QString &room, const QString &with = {});

    QList<Natter::Codec::ServerFrame> frames;
    int undecodable = 0;
    /// The bytes of binary frames (file chunks), by download id, and which
    /// download each frame was for, in order of arrival.
    QHash<qint64, QByteArray> downloaded;
    QList<qint64> binaryOrder;

    template<class T>
    int count() const
    {
        int n = 0;
        for (const auto &frame : frames)
            n += std::holds_alternative<T>(frame) ? 1 : 0;
        return n;
    }

    /// Removes and returns the first frame of type T.
    template<class T>
    std::optional<T> takeFirst()
    {
        for (qsizetype i = 0; i < frames.size(); ++i) {
            if (const T *frame = std::get_if<T>(&frames.at(i))) {
                T result = *frame;
                frames.removeAt(i);
                return result;
            }
        }
        return std::nullopt;
    }

    /// Waits (processing events) for a frame of type T and takes it.
    template<class T>
    std::optional<T> waitFor(int timeoutMs = 5000)
    {
        if (!QTest::qWaitFor([this] { return count<T>() > 0; }, timeoutMs))
            return std::nullopt;
        return takeFirst<T>();
    }

    bool waitForDisconnected(int timeoutMs = 5000);

    /// upload_begin for data (its size and SHA-256) as name, to a room.
    static Natter::Protocol::UploadBegin announce(const QByteArray &data, const QString &clientId,
                                                  const QString &name, const QString &room);

    /// What an upload got: its upload_complete, or the error that ended it.
    struct Upload
    {
        std::optional<Natter::Protocol::UploadComplete> complete;
        std::optional<Natter::Protocol::Error> error;
        qint64 uploadId = 0;
        qint64 offset = 0; ///< where upload_ready said to start
    };
    /// Announces data as begin says, sends it in chunks from the offset the
    /// server names (only stopAfter bytes of it when given, and then returns)
    /// and says done; waits for the answer.
    Upload upload(const QByteArray &data, const Natter::Protocol::UploadBegin &begin, qint64 stopAfter = -1);
    /// Downloads a file from offset to its end; nullopt (and *refused, when
    /// given) if refused or it did not finish.
    std::optional<QByteArray> download(qint64 fileId, qint64 offset = 0,
                                       Natter::Protocol::Error *refused = nullptr);

private:
    QWebSocket m_socket;
};
