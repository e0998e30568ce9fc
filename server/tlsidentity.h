#pragma once

#include <QSslCertificate>
#include <QSslKey>
#include <QString>

#include <optional>

namespace Natter {

/// The certificate and private key natterd serves wss:// with.
struct TlsIdentity
{
    QSslCertificate certificate;
    QSslKey key;
    QString certificatePath;
    QString keyPath;

    /// The SHA-256 of the certificate, 64 lowercase hex digits (Fingerprint::normalized form).
    QString fingerprint() const;

    /// Reads a PEM certificate (the first of a chain is the server's) and its
    /// PEM private key (RSA or EC). nullopt and *error when unreadable or not a pair.
    static std::optional<TlsIdentity> load(const QString &certificatePath, const QString &keyPath,
                                           QString *error);

    /// The self-signed identity kept beside a database: created on first use
    /// (an ECDSA P-256 key and a certificate valid for ten years, made with
    /// OpenSSL's libcrypto; the key file readable by its owner only), then
    /// loaded on every start so that the fingerprint stays the same.
    static std::optional<TlsIdentity> loadOrCreateSelfSigned(const QString &databasePath,
                                                             const QString &commonName, QString *error);

    /// Where loadOrCreateSelfSigned() keeps them.
    static QString selfSignedCertificatePath(const QString &databasePath);
    static QString selfSignedKeyPath(const QString &databasePath);
};

} // namespace Natter
