#include "server/tlsidentity.h"

#include "server/serverlogging.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

template<class T, void (*Free)(T *)>
struct Deleter
{
    void operator()(T *p) const { Free(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Certificate = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

QByteArray bioBytes(BIO *bio)
{
    char *data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return QByteArray(data, qsizetype(size));
}

/// A self-signed ECDSA P-256 certificate and its key, as PEM.
bool generate(const QString &commonName, QByteArray *certificatePem, QByteArray *keyPem, QString *error)
{
    PKey key(EVP_EC_gen("P-256"));
    Certificate certificate(X509_new());
    if (!key || !certificate) {
        *error = u"OpenSSL could not make a key"_s;
        return false;
    }
    X509_set_version(certificate.get(), 2); // v3
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f; // positive
    BIGNUM *serialNumber = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(serialNumber, X509_get_serialNumber(certificate.get()));
    BN_free(serialNumber);
    X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 10L * 365 * 24 * 3600);
    X509_set_pubkey(certificate.get(), key.get());
    X509_NAME *name = X509_get_subject_name(certificate.get());
    const QByteArray cn = commonName.left(64).toUtf8();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char *>(cn.constData()), int(cn.size()), -1,
                               0);
    X509_set_issuer_name(certificate.get(), name);
    if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) {
        *error = u"OpenSSL could not sign the certificate"_s;
        return false;
    }
    Bio certificateBio(BIO_new(BIO_s_mem()));
    Bio keyBio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_X509(certificateBio.get(), certificate.get()) ||
        !PEM_write_bio_PrivateKey(keyBio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
        *error = u"OpenSSL could not write the certificate"_s;
        return false;
    }
    *certificatePem = bioBytes(certificateBio.get());
    *keyPem = bioBytes(keyBio.get());
    return true;
}

/// True if the PEM key is the private key of the PEM certificate.
bool isPair(const QByteArray &certificatePem, const QByteArray &keyPem)
{
    Bio certificateBio(BIO_new_mem_buf(certificatePem.constData(), int(certificatePem.size())));
    Bio keyBio(BIO_new_mem_buf(keyPem.constData(), int(keyPem.size())));
    Certificate certificate(PEM_read_bio_X509(certificateBio.get(), nullptr, nullptr, nullptr));
    PKey key(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr));
    return certificate && key && X509_check_private_key(certificate.get(), key.get()) == 1;
}

bool writeFile(const QString &path, const QByteArray &bytes, QFileDevice::Permissions permissions,
               QString *error)
{
    // Written under a temporary name and renamed: never half a key.
    const QString temporary = path + u".new"_s;
    QFile::remove(temporary);
    QFile file(temporary);
    if (!file.open(QIODevice::WriteOnly | QIODevice::NewOnly, permissions) ||
        file.write(bytes) != bytes.size() || !file.flush()) {
        *error = u"cannot write %1: %2"_s.arg(temporary, file.errorString());
        file.remove();
        return false;
    }
    file.close();
    if (!QFile::rename(temporary, path)) {
        *error = u"cannot create %1"_s.arg(path);
        QFile::remove(temporary);
        return false;
    }
    return true;
}

} // namespace

QString TlsIdentity::fingerprint() const
{
    return QString::fromLatin1(certificate.digest(QCryptographicHash::Sha256).toHex());
}

std::optional<TlsIdentity> TlsIdentity::load(const QString &certificatePath, const QString &keyPath,
                                             QString *error)
{
    QFile certificateFile(certificatePath);
    if (!certificateFile.open(QIODevice::ReadOnly)) {
        *error = u"cannot read the certificate %1: %2"_s.arg(certificatePath, certificateFile.errorString());
        return std::nullopt;
    }
    const QList<QSslCertificate> chain = QSslCertificate::fromData(certificateFile.readAll(), QSsl::Pem);
    if (chain.isEmpty() || chain.constFirst().isNull()) {
        *error = u"%1 holds no PEM certificate"_s.arg(certificatePath);
        return std::nullopt;
    }
    QFile keyFile(keyPath);
    if (!keyFile.open(QIODevice::ReadOnly)) {
        *error = u"cannot read the key %1: %2"_s.arg(keyPath, keyFile.errorString());
        return std::nullopt;
    }
    const QByteArray keyPem = keyFile.readAll();
    QSslKey key(keyPem, QSsl::Ec, QSsl::Pem);
    if (key.isNull())
        key = QSslKey(keyPem, QSsl::Rsa, QSsl::Pem);
    if (key.isNull()) {
        *error = u"%1 holds no unencrypted PEM private key (EC or RSA)"_s.arg(keyPath);
        return std::nullopt;
    }
    if (!isPair(chain.constFirst().toPem(), keyPem)) {
        *error = u"the key %1 does not belong to the certificate %2"_s.arg(keyPath, certificatePath);
        return std::nullopt;
    }
    return TlsIdentity{chain.constFirst(), key, certificatePath, keyPath};
}

QString TlsIdentity::selfSignedCertificatePath(const QString &databasePath)
{
    return QFileInfo(databasePath).absolutePath() + u"/natterd-certificate.pem"_s;
}

QString TlsIdentity::selfSignedKeyPath(const QString &databasePath)
{
    return QFileInfo(databasePath).absolutePath() + u"/natterd-key.pem"_s;
}

std::optional<TlsIdentity> TlsIdentity::loadOrCreateSelfSigned(const QString &databasePath,
                                                               const QString &commonName, QString *error)
{
    const QString certificatePath = selfSignedCertificatePath(databasePath);
    const QString keyPath = selfSignedKeyPath(databasePath);
    if (!QFileInfo::exists(certificatePath) || !QFileInfo::exists(keyPath)) {
        const QString folder = QFileInfo(databasePath).absolutePath();
        if (!QFileInfo::exists(folder)) {
            QDir().mkpath(QFileInfo(folder).absolutePath());
            QDir().mkdir(folder, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        }
        QByteArray certificatePem, keyPem;
        if (!generate(commonName, &certificatePem, &keyPem, error) ||
            !writeFile(keyPath, keyPem, QFileDevice::ReadOwner | QFileDevice::WriteOwner, error) ||
            !writeFile(certificatePath, certificatePem,
                       QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup |
                           QFileDevice::ReadOther,
                       error))
            return std::nullopt;
        qCInfo(lcNatterServer).noquote() << "created a self-signed certificate" << certificatePath;
    }
    return load(certificatePath, keyPath, error);
}

} // namespace Natter
