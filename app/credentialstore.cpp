#include "app/credentialstore.h"

#include "app/clientlogging.h"

#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QTimer>

#include <qt6keychain/keychain.h>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

const QString KeychainService = u"Natter"_s;

/// Runs a QtKeychain job to its end (the keychain answers over D-Bus; a
/// missing service answers at once with an error).
void runJob(QKeychain::Job &job)
{
    QEventLoop loop;
    QObject::connect(&job, &QKeychain::Job::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(std::chrono::seconds(10), &loop, &QEventLoop::quit);
    job.start();
    loop.exec();
}

bool noKeychain(QKeychain::Error error)
{
    return error == QKeychain::NoBackendAvailable || error == QKeychain::NotImplemented ||
           error == QKeychain::OtherError || error == QKeychain::AccessDenied;
}

} // namespace

QString CredentialStore::tokenKey(const QString &serverKey, const QString &email)
{
    return u"token:"_s + serverKey + u'/' + email.toLower();
}

KeychainCredentialStore::KeychainCredentialStore(QString fallbackPath)
    : m_fallbackPath(std::move(fallbackPath))
{}

KeychainCredentialStore::~KeychainCredentialStore() = default;

void KeychainCredentialStore::noteNoKeychain(const QString &why)
{
    if (m_fallback)
        return;
    m_fallback = true;
    qCWarning(lcNatterClientNet).noquote() << u"no system keychain (%1); keeping session tokens in"_s.arg(why)
                                           << m_fallbackPath << "(readable by you only)";
}

QString KeychainCredentialStore::read(const QString &key)
{
    if (!m_fallback) {
        QKeychain::ReadPasswordJob job(KeychainService);
        job.setAutoDelete(false);
        job.setKey(key);
        runJob(job);
        if (job.error() == QKeychain::NoError)
            return job.textData();
        if (job.error() == QKeychain::EntryNotFound)
            return readFallback(key); // written while there was no keychain
        noteNoKeychain(job.errorString());
    }
    return readFallback(key);
}

bool KeychainCredentialStore::write(const QString &key, const QString &secret)
{
    if (!m_fallback) {
        QKeychain::WritePasswordJob job(KeychainService);
        job.setAutoDelete(false);
        job.setKey(key);
        job.setTextData(secret);
        runJob(job);
        if (job.error() == QKeychain::NoError)
            return true;
        if (!noKeychain(job.error())) {
            qCWarning(lcNatterClientNet).noquote() << "cannot store the session token:" << job.errorString();
            return false;
        }
        noteNoKeychain(job.errorString());
    }
    return writeFallback(key, secret);
}

void KeychainCredentialStore::remove(const QString &key)
{
    if (!m_fallback) {
        QKeychain::DeletePasswordJob job(KeychainService);
        job.setAutoDelete(false);
        job.setKey(key);
        runJob(job);
        if (job.error() != QKeychain::NoError && job.error() != QKeychain::EntryNotFound)
            noteNoKeychain(job.errorString());
    }
    if (QFileInfo::exists(m_fallbackPath)) {
        QSettings file(m_fallbackPath, QSettings::IniFormat);
        file.remove(key);
    }
}

QString KeychainCredentialStore::readFallback(const QString &key) const
{
    if (!QFileInfo::exists(m_fallbackPath))
        return {};
    const QSettings file(m_fallbackPath, QSettings::IniFormat);
    return file.value(key).toString();
}

bool KeychainCredentialStore::writeFallback(const QString &key, const QString &secret)
{
    const QFileInfo info(m_fallbackPath);
    if (!info.dir().exists() &&
        !QDir().mkdir(info.absolutePath(),
                      QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner) &&
        !QDir().mkpath(info.absolutePath()))
        return false;
    if (!info.exists()) {
        QFile file(m_fallbackPath);
        if (!file.open(QIODevice::WriteOnly | QIODevice::NewOnly,
                       QFileDevice::ReadOwner | QFileDevice::WriteOwner))
            return false;
    }
    QFile::setPermissions(m_fallbackPath, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    QSettings file(m_fallbackPath, QSettings::IniFormat);
    file.setValue(key, secret);
    file.sync();
    return file.status() == QSettings::NoError;
}

} // namespace Natter
