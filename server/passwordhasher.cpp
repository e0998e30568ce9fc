#include "server/passwordhasher.h"

#include "server/serverlogging.h"

#include <QCryptographicHash>
#include <QPointer>

#include <sodium.h>

#include <algorithm>

#ifdef Q_OS_LINUX
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace Natter {

namespace {

/// A password's UTF-8 bytes, wiped when it goes out of scope.
class SecretBytes
{
public:
    explicit SecretBytes(const QString &text)
        : m_bytes(text.toUtf8())
    {}
    ~SecretBytes() { sodium_memzero(m_bytes.data(), size_t(m_bytes.size())); }
    Q_DISABLE_COPY_MOVE(SecretBytes)
    const char *data() const { return m_bytes.constData(); }
    unsigned long long size() const { return static_cast<unsigned long long>(m_bytes.size()); }

private:
    QByteArray m_bytes;
};

/// nice 10 for the calling thread, once (Linux keeps a nice value per thread).
void lowerThisThreadsPriority()
{
#ifdef Q_OS_LINUX
    static thread_local const bool lowered = [] {
        return setpriority(PRIO_PROCESS, id_t(syscall(SYS_gettid)), 10) == 0;
    }();
    Q_UNUSED(lowered);
#endif
}

} // namespace

PasswordHasher::PasswordHasher(Cost cost, bool background, QObject *parent)
    : QObject(parent)
    , m_background(background)
    , m_opsLimit(cost == Cost::Interactive ? crypto_pwhash_OPSLIMIT_INTERACTIVE : crypto_pwhash_OPSLIMIT_MIN)
    , m_memLimit(cost == Cost::Interactive ? crypto_pwhash_MEMLIMIT_INTERACTIVE : crypto_pwhash_MEMLIMIT_MIN)
{
    if (sodium_init() < 0)
        qFatal("libsodium could not be initialised");
    // Each hash needs m_memLimit of memory and a core for ~60 ms. Half the
    // cores at most (one on a two-core box), in the background at a low
    // priority (nice 10: about a tenth of a normal thread's share when they
    // compete): chat goes first. With two threads at normal priority, 50
    // sign-ins at once raised other clients' p99 from 5 to 250 ms
    // (bench/natterbench --password-signins; docs/performance.md). Not
    // SCHED_IDLE (QThread::IdlePriority), which never ran at all while
    // anything else kept the CPU busy: sign-ins starved.
    m_pool.setMaxThreadCount(std::max(1, QThread::idealThreadCount() / 2));
    QByteArray random(32, Qt::Uninitialized);
    randombytes_buf(random.data(), size_t(random.size()));
    m_dummyHash = hashNow(QString::fromLatin1(random.toBase64()));
}

PasswordHasher::~PasswordHasher()
{
    m_pool.waitForDone();
}

QString PasswordHasher::hashNow(const QString &password) const
{
    const SecretBytes secret(password);
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, secret.data(), secret.size(), m_opsLimit, m_memLimit) != 0) {
        qCWarning(lcNatterServer) << "password hashing failed (out of memory?)";
        return {};
    }
    return QString::fromLatin1(out);
}

bool PasswordHasher::verifyNow(const QString &hash, const QString &password) const
{
    const SecretBytes secret(password);
    const bool known = !hash.isEmpty();
    const QByteArray stored = (known ? hash : m_dummyHash).toLatin1();
    const bool matches = crypto_pwhash_str_verify(stored.constData(), secret.data(), secret.size()) == 0;
    return known && matches;
}

template<class Result>
void PasswordHasher::runInPool(std::function<Result()> work, QObject *context,
                               std::function<void(Result)> done, const Keys &keys)
{
    // Fair queuing by key: the n-th request of a key waiting goes behind the
    // first requests of every other key (the pool runs higher priorities
    // first, equal ones in order).
    int priority = 0;
    {
        QMutexLocker locker(&m_queuedMutex);
        for (const QString &key : keys)
            priority -= m_queued[key]++;
    }
    QPointer<QObject> target(context);
    const auto task = [this, work = std::move(work), target, done = std::move(done), keys] {
        if (m_background)
            lowerThisThreadsPriority();
        const Result result = work();
        {
            QMutexLocker locker(&m_queuedMutex);
            for (const QString &key : keys) {
                if (auto it = m_queued.find(key); it != m_queued.end() && --*it <= 0)
                    m_queued.erase(it);
            }
        }
        // Back on the hasher's thread (which the pool's tasks never outlive),
        // where the context can be checked safely.
        QMetaObject::invokeMethod(
            this,
            [target, done, result] {
                if (target)
                    done(result);
            },
            Qt::QueuedConnection);
    };
    m_pool.start(task, priority);
}

void PasswordHasher::hash(const QString &password, QObject *context,
                          std::function<void(const QString &)> done, const Keys &keys)
{
    runInPool<QString>([this, password] { return hashNow(password); }, context,
                       [done = std::move(done)](QString result) { done(result); }, keys);
}

void PasswordHasher::verify(const QString &hash, const QString &password, QObject *context,
                            std::function<void(bool)> done, const Keys &keys)
{
    runInPool<bool>([this, hash, password] { return verifyNow(hash, password); }, context, std::move(done),
                    keys);
}

QString PasswordHasher::newToken()
{
    QByteArray random(32, Qt::Uninitialized);
    randombytes_buf(random.data(), size_t(random.size()));
    const QString token =
        QString::fromLatin1(random.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
    sodium_memzero(random.data(), size_t(random.size()));
    return token;
}

QByteArray PasswordHasher::tokenHash(const QString &token)
{
    return QCryptographicHash::hash(token.toLatin1(), QCryptographicHash::Sha256);
}

} // namespace Natter
