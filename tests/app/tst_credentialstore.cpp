// The token store of the desktop app: the system keychain where there is
// one, else a file of the user's own. Test machines have no keychain service,
// so this exercises the fallback (and, on a desktop, the keychain itself).
#include "app/credentialstore.h"

#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;

class TestCredentialStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void storesReadsAndForgets();
};

void TestCredentialStore::storesReadsAndForgets()
{
    QTemporaryDir dir;
    const QString fallback = dir.filePath(u"config/natter-tokens.conf"_s);
    const QString key = CredentialStore::tokenKey(u"127.0.0.1:5999"_s, u"Test@Natter.example"_s);
    QCOMPARE(key, u"token:127.0.0.1:5999/test@natter.example"_s);
    {
        KeychainCredentialStore store(fallback);
        QVERIFY(store.read(key).isEmpty());
        QVERIFY(store.write(key, u"secret-token"_s));
        QCOMPARE(store.read(key), u"secret-token"_s);
        if (store.usesFallback()) {
            // Only its owner may read the file, in a folder made for its owner only.
            QVERIFY(QFileInfo::exists(fallback));
            const auto others = QFileDevice::ReadGroup | QFileDevice::ReadOther | QFileDevice::WriteGroup |
                                QFileDevice::WriteOther;
            QCOMPARE(QFileInfo(fallback).permissions() & others, QFileDevice::Permissions());
            QCOMPARE(QFileInfo(dir.filePath(u"config"_s)).permissions() & others, QFileDevice::Permissions());
        } else {
            QVERIFY(!QFileInfo::exists(fallback)); // the keychain took it
        }
    }
    // Another run of the app finds it, and forgetting it removes it.
    KeychainCredentialStore again(fallback);
    QCOMPARE(again.read(key), u"secret-token"_s);
    again.remove(key);
    QVERIFY(again.read(key).isEmpty());
    if (again.usesFallback())
        QVERIFY(QFileInfo(fallback).size() < 64); // nothing of the token left
}

QTEST_GUILESS_MAIN(TestCredentialStore)
#include "tst_credentialstore.moc"
