#include "bench/benchaccounts.h"

#include "server/passwordhasher.h"
#include "server/sqlmessagestore.h"

#include <QCoreApplication>
#include <QFileInfo>

#include <cstdio>

std::string benchToken(const std::string &email)
{
    return "bench-token-" + email;
}

std::string benchPassword()
{
    return "bench password";
}

bool provisionBenchAccounts(const std::string &path, const std::vector<std::string> &emails,
                            const std::vector<std::string> &passwordEmails)
{
    // The SQLite driver is a plugin: Qt loads plugins only with an application object.
    int argc = 1;
    char name[] = "natterbench";
    char *argv[] = {name, nullptr};
    QCoreApplication app(argc, argv);
    const QString file = QString::fromStdString(path);
    Natter::SqlMessageStore store(file, QFileInfo::exists(file)
                                            ? Natter::SqlMessageStore::OpenMode::Administration
                                            : Natter::SqlMessageStore::OpenMode::Server);
    if (!store.open()) {
        std::fprintf(stderr, "natterbench: %s\n", qPrintable(store.errorString()));
        return false;
    }
    Natter::AccountStore *accounts = store.accounts();
    for (const std::string &email : emails) {
        const QString address = QString::fromStdString(email);
        Natter::Account account;
        if (accounts->findAccount(address, &account) == Natter::AccountStore::Found::Yes)
            continue;
        if (!accounts->createAccount(Natter::Account{address, address.section(u'@', 0, 0), {}, false, {}}) ||
            !accounts->addToken(address,
                                Natter::PasswordHasher::tokenHash(QString::fromStdString(benchToken(email))),
                                QStringLiteral("natterbench"))) {
            std::fprintf(stderr, "natterbench: cannot create accounts: %s\n",
                         qPrintable(accounts->errorString()));
            return false;
        }
    }
    if (!passwordEmails.empty()) {
        // One hash serves them all: verifying it costs the same for each.
        const QString hash = Natter::PasswordHasher(Natter::PasswordHasher::Cost::Interactive)
                                 .hashNow(QString::fromStdString(benchPassword()));
        for (const std::string &email : passwordEmails) {
            const QString address = QString::fromStdString(email);
            Natter::Account account;
            if (accounts->findAccount(address, &account) == Natter::AccountStore::Found::Yes)
                continue;
            if (!accounts->createAccount(
                    Natter::Account{address, address.section(u'@', 0, 0), hash, false, {}})) {
                std::fprintf(stderr, "natterbench: cannot create accounts: %s\n",
                             qPrintable(accounts->errorString()));
                return false;
            }
        }
    }
    return true;
}
