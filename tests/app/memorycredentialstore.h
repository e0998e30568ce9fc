#pragma once

#include "app/credentialstore.h"

#include <QHash>

#include <memory>

/// A keychain for tests: what the app stores, in memory, for the test to inspect.
class MemoryCredentialStore final : public Natter::CredentialStore
{
public:
    /// Shared so that the test keeps looking after the app took the store.
    struct Contents
    {
        QHash<QString, QString> secrets;
    };

    explicit MemoryCredentialStore(std::shared_ptr<Contents> contents = std::make_shared<Contents>())
        : m_contents(std::move(contents))
    {}

    QString read(const QString &key) override { return m_contents->secrets.value(key); }
    bool write(const QString &key, const QString &secret) override
    {
        m_contents->secrets.insert(key, secret);
        return true;
    }
    void remove(const QString &key) override { m_contents->secrets.remove(key); }

private:
    std::shared_ptr<Contents> m_contents;
};
