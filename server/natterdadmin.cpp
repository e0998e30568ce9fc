#include "server/natterdadmin.h"

#include "common/invitelink.h"
#include "common/protocol.h"
#include "common/validation.h"
#include "server/passwordhasher.h"
#include "server/sqlmessagestore.h"
#include "server/tlsidentity.h"

#include <QCommandLineParser>
#include <QDateTime>
#include <QFile>
#include <QStandardPaths>
#include <QSysInfo>

#include <sodium.h>

#include <cstdio>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

const QStringList Commands{u"user"_s, u"invite"_s};

void print(const QString &text)
{
    std::fputs(qUtf8Printable(text + u'\n'), stdout);
}

void printError(const QString &message)
{
    std::fprintf(stderr, "natterd: %s\n", qUtf8Printable(message));
}

int usage(const QString &message)
{
    printError(message + u"\nTry 'natterd --help'."_s);
    return 2;
}

QString timeText(const QDateTime &time)
{
    return time.isValid() ? time.toUTC().toString(Qt::ISODate) : u"-"_s;
}

/// The first line of a file or of standard input, without its line break.
std::optional<QString> readPassword(const QString &path, std::FILE *in)
{
    QByteArray line;
    if (!path.isEmpty()) {
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly)) {
            printError(u"cannot read %1: %2"_s.arg(path, file.errorString()));
            return std::nullopt;
        }
        line = file.readLine(4096);
    } else {
        if (isatty(fileno(in)))
            std::fputs("Password (input is not hidden; or use --password-file): ", stderr);
        char buffer[4096];
        if (std::fgets(buffer, sizeof buffer, in))
            line = QByteArray(buffer);
        sodium_memzero(buffer, sizeof buffer);
    }
    while (line.endsWith('\n') || line.endsWith('\r'))
        line.chop(1);
    QString password = QString::fromUtf8(line);
    sodium_memzero(line.data(), size_t(line.size()));
    if (password.size() < Protocol::MinPasswordLength) {
        printError(u"a password needs at least %1 characters"_s.arg(Protocol::MinPasswordLength));
        return std::nullopt;
    }
    return password;
}

} // namespace

bool isAdminCommand(const QStringList &arguments)
{
    // The first argument that is not an option (or an option's value) names the command.
    for (qsizetype i = 1; i < arguments.size(); ++i) {
        const QString &argument = arguments.at(i);
        if (argument == u"--db"_s) {
            ++i;
            continue;
        }
        if (argument.startsWith(u'-'))
            continue;
        return Commands.contains(argument);
    }
    return false;
}

int runAdminCommand(const QStringList &arguments, std::FILE *in)
{
    QCommandLineParser parser;
    const QCommandLineOption db(u"db"_s, u"SQLite database file."_s, u"path"_s,
                                QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
                                    u"/natter.db"_s);
    const QCommandLineOption name(u"name"_s, u"Display name of a new user."_s, u"name"_s);
    const QCommandLineOption passwordFile(u"password-file"_s, u"Read the password from this file."_s,
                                          u"file"_s);
    const QCommandLineOption uses(u"uses"_s, u"How many accounts an invite creates (default 1)."_s,
                                  u"count"_s, u"1"_s);
    const QCommandLineOption expires(
        u"expires-hours"_s, u"Hours until an invite expires (default 72; 0 never)."_s, u"hours"_s, u"72"_s);
    const QCommandLineOption all(u"all"_s, u"revoke: every token of the user."_s);
    const QCommandLineOption address(u"address"_s, u"invite create: the host name or address in the link."_s,
                                     u"host"_s, QSysInfo::machineHostName());
    const QCommandLineOption port(u"port"_s, u"invite create: the port in the link."_s, u"port"_s,
                                  QString::number(Protocol::DefaultPort));
    const QCommandLineOption tlsCert(u"tls-cert"_s, u"invite create: the served certificate."_s, u"file"_s);
    const QCommandLineOption tlsKey(u"tls-key"_s, u"invite create: its key."_s, u"file"_s);
    parser.addOptions({db, name, passwordFile, uses, expires, all, address, port, tlsCert, tlsKey});
    if (!parser.parse(arguments))
        return usage(parser.errorText());
    const QStringList words = parser.positionalArguments();
    if (words.size() < 2)
        return usage(u"give a command: user add|list|disable|enable|reset-password|tokens|revoke, "
                     u"invite create|list|revoke"_s);
    const QString noun = words.at(0);
    const QString verb = words.at(1);
    const QStringList rest = words.mid(2);

    // Check the words before touching the database.
    static const QHash<QString, int> userVerbs{{u"add"_s, 1},    {u"list"_s, 0},           {u"disable"_s, 1},
                                               {u"enable"_s, 1}, {u"reset-password"_s, 1}, {u"tokens"_s, 1},
                                               {u"revoke"_s, -1}};
    static const QHash<QString, int> inviteVerbs{{u"create"_s, 0}, {u"list"_s, 0}, {u"revoke"_s, 1}};
    const QHash<QString, int> &verbs = noun == u"user"_s ? userVerbs : inviteVerbs;
    if (!verbs.contains(verb))
        return usage(u"unknown command: %1 %2"_s.arg(noun, verb));
    const int wanted = verbs.value(verb);
    if (wanted >= 0 && rest.size() != wanted)
        return usage(u"%1 %2 takes %3 argument(s)"_s.arg(noun, verb).arg(wanted));
    QString email;
    if (noun == u"user"_s && verb != u"list"_s) {
        if (rest.isEmpty() || !Validation::isValidEmail(rest.constFirst()))
            return usage(u"%1 %2: give a valid email"_s.arg(noun, verb));
        email = Validation::normalizedEmail(rest.constFirst());
    }
    if (noun == u"user"_s && verb == u"revoke"_s && (rest.size() == 2) == parser.isSet(all))
        return usage(u"user revoke EMAIL: give a token id (see 'user tokens') or --all"_s);
    const QString displayName = parser.isSet(name) ? parser.value(name).trimmed() : email.section(u'@', 0, 0);
    if (verb == u"add"_s && !Validation::isValidDisplayName(displayName))
        return usage(u"--name: 1-64 characters without control characters"_s);
    bool ok = false;
    const int useCount = parser.value(uses).toInt(&ok);
    if (!ok || useCount < 1 || useCount > 100000)
        return usage(u"--uses: give a count from 1 to 100000"_s);
    const double hours = parser.value(expires).toDouble(&ok);
    if (!ok || hours < 0 || hours > 24 * 3650)
        return usage(u"--expires-hours: give hours from 0 (never) to 87600"_s);

    SqlMessageStore store(parser.value(db), SqlMessageStore::OpenMode::Administration);
    if (!store.open()) {
        printError(u"cannot open the database: %1"_s.arg(store.errorString()));
        return 1;
    }
    AccountStore *accounts = store.accounts();
    auto failed = [accounts](const QString &what) {
        printError(what +
                   (accounts->errorString().isEmpty() ? QString() : u": "_s + accounts->errorString()));
        return 1;
    };
    // A change the running natterd acts on (closing connections) was made:
    // say so loudly if it could not be told.
    auto done = [accounts](const QString &what) {
        print(what);
        const QString why = accounts->changeNoticeError();
        if (why.isEmpty())
            return 0;
        printError(u"the running natterd could not be told, so it acts on this only once restarted: %1 "
                   u"(run natterd's commands as the database's owner)"_s.arg(why));
        return 1;
    };

    if (noun == u"user"_s) {
        Account account;
        const AccountStore::Found found =
            verb == u"list"_s ? AccountStore::Found::No : accounts->findAccount(email, &account);
        if (found == AccountStore::Found::Error)
            return failed(u"cannot read accounts"_s);
        if (verb != u"list"_s && verb != u"add"_s && found == AccountStore::Found::No)
            return failed(u"no account %1"_s.arg(email));
        if (verb == u"add"_s || verb == u"reset-password"_s) {
            if (verb == u"add"_s && found == AccountStore::Found::Yes)
                return failed(
                    u"%1 has an account already (reset-password changes its password)"_s.arg(email));
            const std::optional<QString> password = readPassword(parser.value(passwordFile), in);
            if (!password)
                return 1;
            const QString hash = PasswordHasher(PasswordHasher::Cost::Interactive).hashNow(*password);
            if (hash.isEmpty())
                return failed(u"the password could not be hashed"_s);
            if (verb == u"add"_s) {
                if (!accounts->createAccount(Account{email, displayName, hash, false, {}}))
                    return failed(u"cannot create the account"_s);
                print(u"created %1"_s.arg(email));
                return 0;
            }
            if (!accounts->setPasswordHash(email, hash))
                return failed(u"cannot change the password"_s);
            const std::optional<int> revoked = accounts->revokeTokens(email, 0);
            return done(
                u"password of %1 changed; %2 device(s) signed out"_s.arg(email).arg(revoked.value_or(0)));
        }
        if (verb == u"list"_s) {
            const std::optional<QList<Account>> list = accounts->accounts();
            if (!list)
                return failed(u"cannot read accounts"_s);
            for (const Account &each : *list)
                print(u"%1\t%2\t%3%4"_s.arg(each.email, each.name,
                                            each.disabled ? u"disabled"_s : u"enabled"_s,
                                            each.passwordHash.isEmpty() ? u"\tno password"_s : QString()));
            return 0;
        }
        if (verb == u"disable"_s || verb == u"enable"_s) {
            if (!accounts->setDisabled(email, verb == u"disable"_s))
                return failed(u"cannot change %1"_s.arg(email));
            return done(verb == u"disable"_s ? u"%1 disabled; every device signed out"_s.arg(email)
                                             : u"%1 enabled"_s.arg(email));
        }
        if (verb == u"tokens"_s) {
            const std::optional<QList<DeviceToken>> tokens = accounts->tokens(email);
            if (!tokens)
                return failed(u"cannot read tokens"_s);
            for (const DeviceToken &token : *tokens)
                print(u"%1\t%2\tcreated %3\tlast used %4"_s.arg(token.id).arg(
                    token.device, timeText(token.created), timeText(token.lastUsed)));
            return 0;
        }
        // revoke
        if (parser.isSet(all)) {
            const std::optional<int> revoked = accounts->revokeTokens(email, 0);
            if (!revoked)
                return failed(u"cannot revoke"_s);
            return done(u"%1 device(s) of %2 signed out"_s.arg(*revoked).arg(email));
        }
        const qint64 id = rest.at(1).toLongLong(&ok);
        const std::optional<QList<DeviceToken>> tokens = accounts->tokens(email);
        if (!ok || !tokens ||
            std::none_of(tokens->cbegin(), tokens->cend(), [id](const DeviceToken &t) { return t.id == id; }))
            return failed(u"%1 has no token %2 (see 'user tokens %1')"_s.arg(email, rest.at(1)));
        if (!accounts->revokeToken(id))
            return failed(u"cannot revoke"_s);
        return done(u"token %1 of %2 revoked"_s.arg(id).arg(email));
    }

    // invite
    if (verb == u"create"_s) {
        QByteArray random(12, Qt::Uninitialized);
        Invite invite;
        // Not starting with '-' (one code in 64 would): 'invite revoke CODE'
        // would take such a code for an option.
        do {
            randombytes_buf(random.data(), size_t(random.size()));
            invite.code = QString::fromLatin1(
                random.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
        } while (invite.code.startsWith(u'-'));
        invite.usesLeft = useCount;
        if (hours > 0)
            invite.expires = QDateTime::currentDateTimeUtc().addSecs(qint64(hours * 3600));
        if (!accounts->createInvite(invite))
            return failed(u"cannot create the invite"_s);
        print(invite.code);
        // And the link that also pins the certificate, for the desktop app.
        QString error;
        const std::optional<TlsIdentity> identity =
            parser.isSet(tlsCert)
                ? TlsIdentity::load(parser.value(tlsCert), parser.value(tlsKey), &error)
                : TlsIdentity::loadOrCreateSelfSigned(parser.value(db), QSysInfo::machineHostName(), &error);
        const uint linkPort = parser.value(port).toUInt(&ok);
        if (identity && ok && linkPort > 0 && linkPort < 65536)
            print(InviteLink{parser.value(address), quint16(linkPort), invite.code, identity->fingerprint()}
                      .toString());
        else
            printError(u"no invite link: %1"_s.arg(identity ? u"bad --port"_s : error));
        return 0;
    }
    if (verb == u"list"_s) {
        const std::optional<QList<Invite>> invites = accounts->invites();
        if (!invites)
            return failed(u"cannot read invites"_s);
        for (const Invite &invite : *invites)
            print(u"%1\t%2 use(s) left\texpires %3"_s.arg(invite.code)
                      .arg(invite.usesLeft)
                      .arg(timeText(invite.expires)));
        return 0;
    }
    if (!accounts->revokeInvite(rest.constFirst()))
        return failed(u"no invite %1"_s.arg(rest.constFirst()));
    print(u"invite %1 revoked"_s.arg(rest.constFirst()));
    return 0;
}

} // namespace Natter
