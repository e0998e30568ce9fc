#include "passwordhasher.h"

#include "serverlogging.h"

#include <QCryptographicHash>
#include <QPointer>

#include <sodium.h>

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

} // namespace

PasswordHasher::PasswordHasher(Cost cost, QObject *parent)
    : QObject(parent)
    , m_opsLimit(cost == Cost::Interactive ? crypto_pwhash_OPSLIMIT_INTERACTIVE : crypto_pwhash_OPSLIMIT_MIN)
    , m_memLimit(cost == Cost::Interactive ? crypto_pwhash_MEMLIMIT_INTERACTIVE : crypto_pwhash_MEMLIMIT_MIN)
{
    if (sodium_init() < 0)
        qFatal("libsodium could not be initialised");
    // Each hash needs m_memLimit of memory: two at a time keep a burst of
    // sign-ins to 128 MiB and leave a core for chat.
    m_pool.setMaxThreadCount(2);
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

void PasswordHasher::hash(const QString &password, QObject *context,
                          std::function<void(const QString &)> done)
{
    QPointer<QObject> target(context);
    m_pool.start([this, password, target, done = std::move(done)] {
        const QString result = hashNow(password);
        // Back on the hasher's thread (which the pool's tasks never outlive),
        // where the context can be checked safely.
        QMetaObject::invokeMethod(
            this,
            [target, done, result] {
                if (target)
                    done(result);
            },
            Qt::QueuedConnection);
    });
}

void PasswordHasher::verify(const QString &hash, const QString &password, QObject *context,
                            std::function<void(bool)> done)
{
    QPointer<QObject> target(context);
    m_pool.start([this, hash, password, target, done = std::move(done)] {
        const bool result = verifyNow(hash, password);
        QMetaObject::invokeMethod(
            this,
            [target, done, result] {
                if (target)
                    done(result);
            },
            Qt::QueuedConnection);
    });
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
