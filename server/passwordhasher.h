#pragma once

#include <QByteArray>
#include <QHash>
#include <QMutex>
#include <QObject>
#include <QString>
#include <QThreadPool>

#include <functional>

namespace Natter {

/// Argon2id password hashing (libsodium's crypto_pwhash_str) on threads of
/// its own, so that a burst of sign-ins never stalls the event loop. Results
/// come back as calls on the context object's thread; none comes if the
/// context is gone by then.
class PasswordHasher final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PasswordHasher)

public:
    enum class Cost
    {
        Interactive, ///< libsodium's interactive limits (2 passes, 64 MiB): for real servers
        Minimum,     ///< the least libsodium allows: for tests and benchmarks only
    };

    /// background: hash at a low priority (nice 10), so that chat
    /// traffic goes first (natterd and hosted chats); off for timing tests.
    explicit PasswordHasher(Cost cost, bool background = true, QObject *parent = nullptr);
    ~PasswordHasher() override;

    /// Who a hash is for (say, the address and the account asking): a
    /// request waits behind those already queued for the same keys, not
    /// behind everyone's. A burst of 64 guesses from one address, or at
    /// one account, used to queue every other sign-in for 9 s.
    using Keys = QStringList;

    /// done(hash) with the storable Argon2id string, empty if hashing failed.
    void hash(const QString &password, QObject *context, std::function<void(const QString &)> done,
              const Keys &keys = {});
    /// done(matches). An empty hash is checked against a dummy hash with the
    /// same work, so that unknown accounts cost as much as wrong passwords.
    void verify(const QString &hash, const QString &password, QObject *context,
                std::function<void(bool)> done, const Keys &keys = {});
    /// For tests: hashes run on this many threads.
    void setThreadCountForTesting(int threads) { m_pool.setMaxThreadCount(threads); }

    /// The same, on the calling thread (for natterd's administration commands).
    QString hashNow(const QString &password) const;
    bool verifyNow(const QString &hash, const QString &password) const;

    /// A session token: 32 bytes from the system's CSPRNG, base64url.
    static QString newToken();
    /// What the store keeps of a token: its SHA-256.
    static QByteArray tokenHash(const QString &token);

private:
    template<class Result>
    void runInPool(std::function<Result()> work, QObject *context, std::function<void(Result)> done,
                   const Keys &keys);

    bool m_background;
    unsigned long long m_opsLimit;
    size_t m_memLimit;
    QString m_dummyHash;
    QThreadPool m_pool;
    QMutex m_queuedMutex;
    QHash<QString, int> m_queued; // requests queued or running, by key
};

} // namespace Natter
