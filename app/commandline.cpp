#include "app/commandline.h"

#include "common/protocol.h"
#include "common/serveraddress.h"
#include "common/validation.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace Natter {

std::optional<ClientOptions> parseClientArguments(const QStringList &arguments, int *exitCode)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QCoreApplication::translate(
        "natter", "Natter: chat with the people on your network. Without options, a welcome dialog asks "
                  "who you are and where to chat."));
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption versionOption = parser.addVersionOption();
    const QCommandLineOption server(
        u"server"_s,
        QCoreApplication::translate("natter", "Connect to this server at once; a chat served by several "
                                              "servers: their addresses, comma-separated (the app moves "
                                              "to another when one fails)."),
        u"wss://host:port[,…]"_s);
    const QCommandLineOption name(u"name"_s, QCoreApplication::translate("natter", "Your display name."),
                                  u"name"_s);
    const QCommandLineOption email(
        u"email"_s, QCoreApplication::translate("natter", "Your email (it identifies you)."), u"email"_s);
    const QCommandLineOption room(u"room"_s, QCoreApplication::translate("natter", "Open this room."),
                                  u"room"_s);
    const QCommandLineOption host(
        u"host"_s, QCoreApplication::translate("natter", "Host a chat on this computer at once."));
    const QCommandLineOption port(
        u"port"_s,
        QCoreApplication::translate("natter", "Port to host on (default: %1).").arg(Protocol::DefaultPort),
        u"port"_s, QString::number(Protocol::DefaultPort));
    const QCommandLineOption listen(
        u"listen"_s,
        QCoreApplication::translate("natter", "Address a hosted chat listens on (default: all interfaces)."),
        u"address"_s);
    const QCommandLineOption hostName(
        u"host-name"_s, QCoreApplication::translate("natter", "Name of the hosted chat."), u"name"_s);
    const QCommandLineOption database(
        u"database"_s, QCoreApplication::translate("natter", "History file of a hosted chat."), u"path"_s);
    const QCommandLineOption profile(
        u"profile"_s, QCoreApplication::translate("natter", "Use separate settings under this name."),
        u"name"_s);
    const QCommandLineOption noDiscovery(
        u"no-discovery"_s,
        QCoreApplication::translate("natter", "Neither look for nor announce chats on the LAN."));
    const QCommandLineOption passwordFile(
        u"password-file"_s,
        QCoreApplication::translate("natter",
                                    "Read the password to sign in with from this file (for scripts)."),
        u"file"_s);
    parser.addOptions({server, name, email, room, host, port, listen, hostName, database, profile,
                       passwordFile, noDiscovery});
    parser.addPositionalArgument(
        u"link"_s, QCoreApplication::translate("natter", "An invite link (natter://...) to join."),
        u"[link]"_s);

    auto usageError = [exitCode](const QString &message) -> std::optional<ClientOptions> {
        std::fprintf(stderr, "natter: %s\nTry 'natter --help'.\n", qUtf8Printable(message));
        *exitCode = 2;
        return std::nullopt;
    };
    if (!parser.parse(arguments))
        return usageError(parser.errorText());
    if (parser.isSet(helpOption)) {
        std::fputs(qUtf8Printable(parser.helpText()), stdout);
        *exitCode = 0;
        return std::nullopt;
    }
    if (parser.isSet(versionOption)) {
        std::printf("natter %s\n", qUtf8Printable(QCoreApplication::applicationVersion()));
        *exitCode = 0;
        return std::nullopt;
    }
    ClientOptions options;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() == 1 && positional.constFirst().startsWith(u"natter:"_s, Qt::CaseInsensitive)) {
        options.invite = InviteLink::parse(positional.constFirst());
        if (!options.invite)
            return usageError(
                u"not a valid invite link (natter://HOST:PORT/?invite=CODE&fp=FINGERPRINT): %1"_s.arg(
                    positional.constFirst()));
    } else if (!positional.isEmpty()) {
        return usageError(u"unexpected argument: %1"_s.arg(positional.constFirst()));
    }

    if (parser.isSet(server)) {
        // Several addresses, comma-separated: one chat served by several natterd.
        const QStringList addresses = parser.value(server).split(u',', Qt::SkipEmptyParts);
        for (const QString &address : addresses) {
            const QUrl url = serverUrlFromAddress(address.trimmed());
            if (!url.isValid())
                return usageError(u"--server: give an address like wss://192.168.1.20:5000 (several: "
                                  u"wss://a:5000,wss://b:5000), not %1"_s.arg(address));
            if (!options.server.isValid())
                options.server = url;
            else if (url != options.server && !options.alternateServers.contains(url))
                options.alternateServers.append(url);
        }
        if (!options.server.isValid())
            return usageError(u"--server: give an address like wss://192.168.1.20:5000"_s);
    }
    if (parser.isSet(server) && parser.isSet(host))
        return usageError(u"--server and --host exclude each other"_s);
    options.identity.name = parser.value(name).trimmed();
    options.identity.email = Validation::normalizedEmail(parser.value(email).trimmed());
    if (parser.isSet(name) && !Validation::isValidDisplayName(options.identity.name))
        return usageError(u"--name: give 1 to 64 characters"_s);
    if (parser.isSet(email) && !Validation::isValidEmail(options.identity.email))
        return usageError(u"--email: not an email address: %1"_s.arg(parser.value(email)));
    if (parser.isSet(room)) {
        options.room = Validation::normalizedRoom(parser.value(room));
        if (!Validation::isValidRoomName(options.room))
            return usageError(u"--room: 1-64 of a-z 0-9 - _ . starting with a letter or digit: %1"_s.arg(
                parser.value(room)));
    }
    options.host = parser.isSet(host);
    bool ok = false;
    const uint portValue = parser.value(port).toUInt(&ok);
    if (!ok || portValue > 65535)
        return usageError(u"--port: not a port number: %1"_s.arg(parser.value(port)));
    options.hostPort = quint16(portValue);
    if (parser.isSet(listen) && !options.hostAddress.setAddress(parser.value(listen)))
        return usageError(u"--listen: not an IP address: %1"_s.arg(parser.value(listen)));
    options.hostName = parser.value(hostName).trimmed();
    options.databasePath = parser.value(database);
    if (parser.isSet(passwordFile)) {
        QFile file(parser.value(passwordFile));
        if (!file.open(QIODevice::ReadOnly))
            return usageError(
                u"--password-file: cannot read %1: %2"_s.arg(file.fileName(), file.errorString()));
        // The first line; a trailing newline is not part of the password.
        QByteArray line = file.readLine(Protocol::MaxPasswordLength + 2);
        while (line.endsWith('\n') || line.endsWith('\r'))
            line.chop(1);
        if (line.isEmpty())
            return usageError(u"--password-file: %1 is empty"_s.arg(file.fileName()));
        options.password = QString::fromUtf8(line);
    }
    options.profile = parser.value(profile).trimmed();
    if (!options.profile.isEmpty() &&
        !std::all_of(options.profile.cbegin(), options.profile.cend(),
                     [](QChar c) { return c.isLetterOrNumber() || c == u'-' || c == u'_'; }))
        return usageError(u"--profile: letters, digits, '-' and '_' only"_s);
    options.discovery = !parser.isSet(noDiscovery);
    *exitCode = 0;
    return options;
}

} // namespace Natter
