#pragma once

#include <QString>

#include <memory>

namespace Natter {

/// Where the desktop app keeps session tokens (never passwords), one per
/// server and account.
class CredentialStore
{
public:
    virtual ~CredentialStore() = default;
    /// The stored secret, or an empty string.
    virtual QString read(const QString &key) = 0;
    virtual bool write(const QString &key, const QString &secret) = 0;
    virtual void remove(const QString &key) = 0;

    /// The key of the token for an account on a server.
    static QString tokenKey(const QString &serverKey, const QString &email);
};

/// The system keychain through QtKeychain (Secret Service, KWallet, macOS
/// Keychain, Windows Credential Store). Where no keychain service runs (a
/// bare machine without a desktop session) it falls back to a file readable
/// by its owner only (0600, in a 0700 folder), and says so once in the log.
class KeychainCredentialStore final : public CredentialStore
{
public:
    /// fallbackPath: the file used when there is no keychain.
    explicit KeychainCredentialStore(QString fallbackPath);
    ~KeychainCredentialStore() override;
    Q_DISABLE_COPY_MOVE(KeychainCredentialStore)

    QString read(const QString &key) override;
    bool write(const QString &key, const QString &secret) override;
    void remove(const QString &key) override;

    /// True once the keychain was found missing and the file is used.
    bool usesFallback() const { return m_fallback; }

private:
    void noteNoKeychain(const QString &why);
    QString readFallback(const QString &key) const;
    bool writeFallback(const QString &key, const QString &secret);

    QString m_fallbackPath;
    bool m_fallback = false;
};

} // namespace Natter
