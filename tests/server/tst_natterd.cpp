#include "tests/support/sqlitecheck.h"
#include "tests/support/testclient.h"

#include "common/discovery.h"
#include "common/fingerprint.h"
#include "common/invitelink.h"
#include "server/tlsidentity.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QNetworkDatagram>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>
#include <QUdpSocket>

#include <QDir>

#include <csignal>

#include <unistd.h>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;

/// The real natterd binary, started with QProcess: what an admin runs.
class TestNatterd : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void versionAndUsageErrors();
    void portInUseFailsClearly();
    void unusableDatabaseFailsClearly();
    void chatSigtermRestartHistory();
    void killDuringBurstLosesNothingAcknowledged();
    void answersLanDiscovery();
    void newOptionsRefuseBadValues();
    void administrationBesideARunningServer();
    void administrationAsRootTellsANatterdRunningAsItsServiceUser();
    void closedRegistrationWithAnAdministratorsAccount();
    void servesTlsWithTheFingerprintItPrints();
    void sighupReloadsTheCertificateAndKeepsConnections();

private:
    /// Runs `natterd --db DB ARGS`, with input on standard input; returns the exit code.
    int admin(const QStringList &arguments, const QByteArray &input = {}, QByteArray *out = nullptr,
              QByteArray *err = nullptr);
    /// Starts natterd on a free loopback port; returns the port, 0 on failure.
    /// Plain ws:// (--no-tls) unless tls is set.
    quint16 start(QProcess &process, const QStringList &extraArguments = {}, bool tls = false);
    QString dbPath() const { return m_database.isEmpty() ? m_dir->filePath(u"natter.db"_s) : m_database; }

    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_database;  ///< another database than the default one, if set
    QStringList m_runAs; ///< a command that runs natterd (not its administration) as another user
    QByteArray m_output; // natterd's stdout so far
};

namespace {

/// The process may have ended already while the test processed events.
bool waitForExit(QProcess &process)
{
    return process.state() == QProcess::NotRunning || process.waitForFinished(10000);
}

} // namespace

void TestNatterd::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestNatterd::cleanup()
{
    m_database.clear();
    m_runAs.clear();
    m_dir.reset();
}

quint16 TestNatterd::start(QProcess &process, const QStringList &extraArguments, bool tls)
{
    process.setProgram(m_runAs.isEmpty() ? QStringLiteral(NATTERD_PATH) : m_runAs.constFirst());
    process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    // Discovery only where a test asks for it (on a free port).
    process.setArguments(
        m_runAs.mid(1) + (m_runAs.isEmpty() ? QStringList() : QStringList{QStringLiteral(NATTERD_PATH)}) +
        QStringList{u"--host"_s, u"127.0.0.1"_s, u"--port"_s, u"0"_s, u"--db"_s, dbPath()} +
        (extraArguments.contains(u"--discovery-port"_s) ? QStringList() : QStringList{u"--no-discovery"_s}) +
        (tls ? QStringList() : QStringList{u"--no-tls"_s}) + extraArguments);
    process.start();
    if (!process.waitForStarted())
        return 0;
    QByteArray &output = m_output;
    output.clear();
    static const QRegularExpression listening(u"listening on 127\\.0\\.0\\.1:(\\d+)"_s);
    QRegularExpressionMatch match;
    const bool ended = QTest::qWaitFor(
        [&] {
            output += process.readAllStandardOutput();
            match = listening.match(QString::fromUtf8(output));
            return match.hasMatch() || process.state() == QProcess::NotRunning;
        },
        10000);
    return ended && match.hasMatch() ? quint16(match.captured(1).toUInt()) : 0;
}

int TestNatterd::admin(const QStringList &arguments, const QByteArray &input, QByteArray *out,
                       QByteArray *err)
{
    QProcess process;
    process.start(QStringLiteral(NATTERD_PATH), QStringList{u"--db"_s, dbPath()} + arguments);
    if (!process.waitForStarted())
        return -1;
    process.write(input);
    process.closeWriteChannel();
    if (!process.waitForFinished(30000))
        return -1;
    if (out)
        *out = process.readAllStandardOutput();
    if (err)
        *err = process.readAllStandardError();
    return process.exitCode();
}

void TestNatterd::newOptionsRefuseBadValues()
{
    for (const QStringList &arguments :
         {QStringList{u"--registration"_s, u"sometimes"_s},
          QStringList{u"--max-connections-per-address"_s, u"0"_s},
          QStringList{u"--max-connections"_s, u"lots"_s}, QStringList{u"--allow-origin"_s, u"evil.example"_s},
          QStringList{u"--allow-origin"_s, u"https://a.example/path"_s},
          QStringList{u"--retention-days"_s, u"-1"_s}, QStringList{u"--retention-days"_s, u"1.5"_s},
          QStringList{u"--max-input-rate"_s, u"100"_s}, QStringList{u"--max-input-rate"_s, u"fast"_s},
          QStringList{u"--max-held"_s, u"-5"_s}, QStringList{u"--threads"_s, u"-1"_s},
          QStringList{u"--threads"_s, u"1.5"_s}, QStringList{u"--threads"_s, u"1000"_s},
          QStringList{u"--trusted-proxy"_s, u"haproxy.local"_s},
          QStringList{u"--trusted-proxy"_s, u"10.0.0.0/33"_s}}) {
        QProcess process;
        process.start(QStringLiteral(NATTERD_PATH), arguments);
        QVERIFY(process.waitForFinished());
        QCOMPARE(process.exitCode(), 2);
        QVERIFY2(process.readAllStandardError().contains(arguments.constFirst().toUtf8()),
                 qPrintable(arguments.join(u' ')));
    }
    // A cluster's Redis: only with PostgreSQL; an ACL user needs its password;
    // a bad address is refused without repeating the password it holds.
    const QStringList onPostgres{u"--db"_s, u"postgresql://natter@127.0.0.1:1/natter"_s, u"--no-tls"_s};
    for (const auto &[arguments, expected] :
         {std::pair{QStringList{u"--redis"_s, u"redis://127.0.0.1:1"_s}, "--db postgresql"_ba},
          std::pair{onPostgres + QStringList{u"--redis"_s, u"redis://natter@127.0.0.1:1"_s},
                    "NATTERD_REDIS_PASSWORD"_ba},
          std::pair{onPostgres + QStringList{u"--redis"_s, u"redis://:topsecret@127.0.0.1:1/0"_s},
                    "redis://[[USER]:PASSWORD@]HOST:PORT"_ba}}) {
        QProcess process;
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.remove(u"NATTERD_REDIS_PASSWORD"_s);
        process.setProcessEnvironment(environment);
        process.start(QStringLiteral(NATTERD_PATH), arguments);
        QVERIFY(process.waitForFinished());
        QCOMPARE(process.exitCode(), 2);
        const QByteArray error = process.readAllStandardError();
        QVERIFY2(error.contains(expected) && !error.contains("topsecret"), error.constData());
    }
    // Administration: unknown verbs, missing arguments, a missing database.
    QCOMPARE(admin({u"user"_s, u"fly"_s}), 2);
    QCOMPARE(admin({u"user"_s, u"disable"_s}), 2);
    QCOMPARE(admin({u"user"_s, u"disable"_s, u"not an email"_s}), 2);
    QCOMPARE(admin({u"user"_s, u"revoke"_s, u"a@x.org"_s}), 2); // neither an id nor --all
    QCOMPARE(admin({u"invite"_s, u"create"_s, u"--uses"_s, u"0"_s}), 2);
    QByteArray err;
    QCOMPARE(admin({u"user"_s, u"list"_s}, {}, nullptr, &err), 1);
    QVERIFY2(err.contains("does not exist"), err.constData());
}

void TestNatterd::administrationBesideARunningServer()
{
    QProcess natterd;
    const quint16 port = start(natterd);
    QVERIFY(port);

    // An account made by the administrator, the password on standard input.
    QByteArray out, err;
    QCOMPARE(admin({u"user"_s, u"add"_s, u"Alice@X.org"_s, u"--name"_s, u"Alice"_s}, "alice's secret\n", &out,
                   &err),
             0);
    QVERIFY2(out.contains("created alice@x.org"), err.constData());
    QVERIFY(!out.contains("alice's secret") && !err.contains("alice's secret"));
    QCOMPARE(admin({u"user"_s, u"add"_s, u"alice@x.org"_s}, "another password\n"), 1); // exists
    QCOMPARE(admin({u"user"_s, u"add"_s, u"short@x.org"_s}, "short\n"), 1);

    // Two devices.
    TestClient laptop, phone;
    QVERIFY(laptop.open(port) && laptop.hello(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s));
    QVERIFY(phone.open(port) && phone.hello(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s));
    QCOMPARE(admin({u"user"_s, u"list"_s}, {}, &out), 0);
    QVERIFY2(out.contains("alice@x.org\tAlice\tenabled"), out.constData());
    QCOMPARE(admin({u"user"_s, u"tokens"_s, u"alice@x.org"_s}, {}, &out), 0);
    const QList<QByteArray> lines = out.trimmed().split('\n');
    QCOMPARE(lines.size(), 2);
    const QByteArray laptopId = lines.constFirst().split('\t').constFirst();

    // Revoking one token takes that device out within a second; the other stays.
    QCOMPARE(admin({u"user"_s, u"revoke"_s, u"alice@x.org"_s, QString::fromLatin1(laptopId)}, {}, &out), 0);
    QVERIFY(laptop.waitForDisconnected(2000));
    QVERIFY(phone.isConnected());
    TestClient reuse;
    QVERIFY(reuse.open(port));
    Hello hello;
    hello.user = User{u"Alice"_s, u"alice@x.org"_s};
    hello.token = laptop.token;
    reuse.send(hello);
    QCOMPARE(reuse.waitFor<Error>()->code, ErrorCode::BadCredentials);

    // Disabling the account disconnects it within a second, with the reason.
    QElapsedTimer timer;
    timer.start();
    QCOMPARE(admin({u"user"_s, u"disable"_s, u"alice@x.org"_s}), 0);
    QVERIFY(phone.waitForDisconnected(3000));
    QCOMPARE(phone.socket().closeReason(), u"account disabled"_s);
    QCOMPARE(admin({u"user"_s, u"enable"_s, u"alice@x.org"_s}), 0);

    // A new password from a file; every token is revoked.
    QFile file(m_dir->filePath(u"new-password"_s));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("a new secret\n");
    file.close();
    QCOMPARE(admin({u"user"_s, u"reset-password"_s, u"alice@x.org"_s, u"--password-file"_s, file.fileName()},
                   {}, &out),
             0);
    TestClient again;
    QVERIFY(again.open(port) && again.hello(u"Alice"_s, u"alice@x.org"_s, u"a new secret"_s));

    // Invites: created, listed, revoked.
    QCOMPARE(admin({u"invite"_s, u"create"_s, u"--uses"_s, u"2"_s, u"--address"_s, u"chat.example.org"_s}, {},
                   &out),
             0);
    const QList<QByteArray> created = out.trimmed().split('\n');
    QCOMPARE(created.size(), 2);
    const QByteArray code = created.constFirst();
    QVERIFY(code.size() >= 16);
    // The link carries the code and the certificate natterd serves.
    const auto link = InviteLink::parse(QString::fromUtf8(created.constLast()));
    QVERIFY2(link, created.constLast().constData());
    QCOMPARE(link->invite, QString::fromLatin1(code));
    QCOMPARE(link->host, u"chat.example.org"_s);
    QCOMPARE(link->port, 5000);
    QString error;
    QCOMPARE(link->fingerprint, TlsIdentity::loadOrCreateSelfSigned(dbPath(), {}, &error)->fingerprint());
    QCOMPARE(admin({u"invite"_s, u"list"_s}, {}, &out), 0);
    QVERIFY2(out.contains(QByteArray(code + "\t2 use(s) left")), out.constData());
    QCOMPARE(admin({u"invite"_s, u"revoke"_s, QString::fromLatin1(code)}), 0);
    QCOMPARE(admin({u"invite"_s, u"revoke"_s, QString::fromLatin1(code)}), 1);

    natterd.terminate();
    QVERIFY(waitForExit(natterd));
    QCOMPARE(natterd.exitCode(), 0);
}

void TestNatterd::administrationAsRootTellsANatterdRunningAsItsServiceUser()
{
    // natterd runs as its service user (here: nobody) in a folder of its own,
    // as installed; the administrator runs natterd's commands as root. (As
    // any other user the test can only run both as itself: the same steps.)
    if (::geteuid() == 0) {
        constexpr uid_t Nobody = 65534;
        QVERIFY(QFile::setPermissions(m_dir->path(), QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                                         QFileDevice::ExeOwner | QFileDevice::ExeGroup |
                                                         QFileDevice::ExeOther));
        const QString home = m_dir->filePath(u"natterd"_s);
        QVERIFY(QDir().mkpath(home));
        QCOMPARE(::chown(QFile::encodeName(home).constData(), Nobody, Nobody), 0);
        QVERIFY(QFile::setPermissions(home, QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                                QFileDevice::ExeOwner));
        m_database = home + u"/natter.db"_s;
        m_runAs = {u"setpriv"_s, u"--reuid=65534"_s, u"--regid=65534"_s, u"--clear-groups"_s, u"--"_s};
    }
    QProcess natterd;
    const quint16 port = start(natterd);
    QVERIFY(port);
    TestClient alice;
    QVERIFY(alice.open(port) && alice.hello(u"Alice"_s, u"alice@x.org"_s, u"alice's secret"_s));

    QByteArray out, err;
    QCOMPARE(admin({u"user"_s, u"disable"_s, u"alice@x.org"_s}, {}, &out, &err), 0);
    QVERIFY2(err.isEmpty(), err.constData());
    QVERIFY(alice.waitForDisconnected(3000));
    QCOMPARE(alice.socket().closeReason(), u"account disabled"_s);
    // The notice belongs to the database's owner, who alone may read it.
    const QFileInfo database(dbPath());
    const QFileInfo notice(dbPath() + u".accounts-changed"_s);
    QCOMPARE(notice.ownerId(), database.ownerId());
    QCOMPARE(notice.permissions() & (QFileDevice::ReadOther | QFileDevice::ReadGroup),
             QFileDevice::Permissions());

    natterd.terminate();
    QVERIFY(waitForExit(natterd));
    QCOMPARE(natterd.exitCode(), 0);
}

void TestNatterd::closedRegistrationWithAnAdministratorsAccount()
{
    // The administrator makes the account first (the database did not exist yet: natterd creates it).
    QProcess natterd;
    const quint16 port = start(natterd, {u"--registration"_s, u"closed"_s});
    QVERIFY(port);
    TestClient stranger;
    QVERIFY(stranger.open(port));
    Hello hello;
    hello.user = User{u"Stranger"_s, u"stranger@x.org"_s};
    hello.password = u"let me in please"_s;
    stranger.send(hello);
    const auto refused = stranger.waitFor<Error>(10000);
    QVERIFY(refused);
    QCOMPARE(refused->code, ErrorCode::BadCredentials);
    QVERIFY(refused->message.contains(u"administrator"_s));
    QCOMPARE(admin({u"user"_s, u"add"_s, u"stranger@x.org"_s}, "let me in please\n"), 0);
    TestClient member;
    QVERIFY(member.open(port) && member.hello(u"Stranger"_s, u"stranger@x.org"_s, u"let me in please"_s));
    natterd.terminate();
    QVERIFY(waitForExit(natterd));
}

void TestNatterd::servesTlsWithTheFingerprintItPrints()
{
    // Asked before the first start: the certificate is made then, and kept.
    QProcess print;
    print.start(QStringLiteral(NATTERD_PATH), {u"--db"_s, dbPath(), u"--fingerprint"_s});
    QVERIFY(print.waitForFinished());
    QCOMPARE(print.exitCode(), 0);
    const QString printed =
        Fingerprint::normalized(QString::fromUtf8(print.readAllStandardOutput().trimmed()));
    QCOMPARE(printed.size(), 64);

    QProcess natterd;
    const quint16 port = start(natterd, {}, true);
    QVERIFY(port);
    QVERIFY(m_output.contains("serving wss://"));
    TestClient client;
    QVERIFY(client.openTls(port, printed));
    QCOMPARE(client.peerFingerprint(), printed);
    QVERIFY(client.hello(u"Ann"_s, u"ann@x.org"_s));
    // The key is kept private; the certificate may be read by anyone.
    const auto others = QFileDevice::ReadGroup | QFileDevice::ReadOther;
    QCOMPARE(QFileInfo(m_dir->filePath(u"natterd-key.pem"_s)).permissions() & others,
             QFileDevice::Permissions());
    // A plain client on the TLS port fails, and natterd goes on.
    TestClient plain;
    QVERIFY(!plain.open(port));
    TestClient again;
    QVERIFY(again.openTls(port, printed) && again.hello(u"Ann"_s, u"ann@x.org"_s));
    natterd.terminate();
    QVERIFY(waitForExit(natterd));
    QCOMPARE(natterd.exitCode(), 0);
}

void TestNatterd::sighupReloadsTheCertificateAndKeepsConnections()
{
    // A certificate of its own (as an administrator would give with --tls-cert).
    QString error;
    const auto first = TlsIdentity::loadOrCreateSelfSigned(m_dir->filePath(u"one/x.db"_s), u"one"_s, &error);
    const auto second = TlsIdentity::loadOrCreateSelfSigned(m_dir->filePath(u"two/x.db"_s), u"two"_s, &error);
    QVERIFY(first && second);
    const QString cert = m_dir->filePath(u"served.pem"_s);
    const QString key = m_dir->filePath(u"served.key"_s);
    QVERIFY(QFile::copy(first->certificatePath, cert) && QFile::copy(first->keyPath, key));

    QProcess natterd;
    const quint16 port = start(natterd, {u"--tls-cert"_s, cert, u"--tls-key"_s, key}, true);
    QVERIFY(port);
    TestClient before;
    QVERIFY(before.openTls(port, first->fingerprint()) && before.hello(u"Ann"_s, u"ann@x.org"_s));
    QVERIFY(before.join(u"general"_s));

    // Renewed on disk, then SIGHUP.
    QVERIFY(QFile::remove(cert) && QFile::remove(key));
    QVERIFY(QFile::copy(second->certificatePath, cert) && QFile::copy(second->keyPath, key));
    ::kill(pid_t(natterd.processId()), SIGHUP);
    QVERIFY(QTest::qWaitFor(
        [&] {
            m_output += natterd.readAllStandardOutput();
            return m_output.contains("reloaded the certificate");
        },
        5000));
    TestClient after;
    QVERIFY(after.openTls(port, second->fingerprint()) && after.hello(u"Bob"_s, u"bob@x.org"_s));
    QVERIFY(after.join(u"general"_s));
    // The connection from before the reload still works.
    before.frames.clear();
    before.send(SendMessage{u"general"_s, {}, u"still here"_s, {}});
    QVERIFY(before.waitFor<ReceiveMessage>());
    QVERIFY(after.waitFor<ReceiveMessage>());
    natterd.terminate();
    QVERIFY(waitForExit(natterd));
}

void TestNatterd::versionAndUsageErrors()
{
    QProcess process;
    process.start(QStringLiteral(NATTERD_PATH), {u"--version"_s});
    QVERIFY(process.waitForFinished());
    QCOMPARE(process.exitCode(), 0);
    QCOMPARE(process.readAllStandardOutput().trimmed(), QByteArray("natterd " NATTER_VERSION));

    process.start(QStringLiteral(NATTERD_PATH), {u"--port"_s, u"seventy"_s});
    QVERIFY(process.waitForFinished());
    QCOMPARE(process.exitCode(), 2);
    QVERIFY(process.readAllStandardError().contains("--port"));

    process.start(QStringLiteral(NATTERD_PATH), {u"--no-such-option"_s});
    QVERIFY(process.waitForFinished());
    QCOMPARE(process.exitCode(), 2);
}

void TestNatterd::portInUseFailsClearly()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost));
    QProcess process;
    process.start(QStringLiteral(NATTERD_PATH),
                  {u"--host"_s, u"127.0.0.1"_s, u"--port"_s, QString::number(squatter.serverPort()),
                   u"--db"_s, dbPath()});
    QVERIFY(process.waitForFinished());
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 1);
    const QByteArray error = process.readAllStandardError();
    QVERIFY2(error.contains("cannot listen on 127.0.0.1 port"), error.constData());
}

void TestNatterd::unusableDatabaseFailsClearly()
{
    QFile garbage(dbPath());
    QVERIFY(garbage.open(QIODevice::WriteOnly));
    garbage.write(QByteArray(8192, '\x7f'));
    garbage.close();
    QProcess process;
    process.start(QStringLiteral(NATTERD_PATH),
                  {u"--host"_s, u"127.0.0.1"_s, u"--port"_s, u"0"_s, u"--db"_s, dbPath()});
    QVERIFY(process.waitForFinished());
    QCOMPARE(process.exitCode(), 1);
    const QByteArray error = process.readAllStandardError();
    QVERIFY2(error.contains("cannot open the database"), error.constData());
}

void TestNatterd::chatSigtermRestartHistory()
{
    QProcess natterd;
    quint16 port = start(natterd);
    QVERIFY(port);
    {
        TestClient bob;
        TestClient carol;
        QVERIFY(bob.open(port) && bob.hello(u"Bob"_s, u"bob@x.org"_s) && bob.join(u"codeial"_s));
        QVERIFY(carol.open(port) && carol.hello(u"Carol"_s, u"carol@x.org"_s) && carol.join(u"codeial"_s));
        bob.send(SendMessage{u"codeial"_s, {}, u"hello from before the restart"_s, u"b-1"_s});
        const auto received = carol.waitFor<ReceiveMessage>();
        QVERIFY(received);

        natterd.terminate(); // SIGTERM
        QVERIFY(bob.waitForDisconnected());
        QCOMPARE(bob.socket().closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
        QVERIFY(waitForExit(natterd));
        QCOMPARE(natterd.exitStatus(), QProcess::NormalExit);
        QCOMPARE(natterd.exitCode(), 0);
    }

    port = start(natterd);
    QVERIFY(port);
    TestClient dave;
    QVERIFY(dave.open(port) && dave.hello(u"Dave"_s, u"dave@x.org"_s) && dave.join(u"codeial"_s));
    const auto history = dave.takeFirst<History>();
    QVERIFY(history);
    QCOMPARE(history->messages.size(), 1);
    QCOMPARE(history->messages.first().text, u"hello from before the restart"_s);
    natterd.terminate();
    QVERIFY(waitForExit(natterd));
    QCOMPARE(natterd.exitCode(), 0);
}

void TestNatterd::killDuringBurstLosesNothingAcknowledged()
{
    QProcess natterd;
    quint16 port = start(natterd, {u"--rate-limit"_s, u"0"_s, u"--max-input-rate"_s, u"0"_s});
    QVERIFY(port);

    QSet<QString> acknowledged;
    {
        TestClient bob;
        QVERIFY(bob.open(port) && bob.hello(u"Bob"_s, u"bob@x.org"_s) && bob.join(u"codeial"_s));
        constexpr int Burst = 3000;
        for (int i = 0; i < Burst; ++i)
            bob.send(SendMessage{u"codeial"_s, {}, u"burst %1"_s.arg(i), u"k-%1"_s.arg(i)});
        // Kill while the burst is in flight: some are acknowledged, some not yet.
        QVERIFY(QTest::qWaitFor([&bob] { return bob.count<ReceiveMessage>() >= 500; }, 20000));
        ::kill(pid_t(natterd.processId()), SIGKILL);
        QVERIFY(waitForExit(natterd));
        QCOMPARE(natterd.exitStatus(), QProcess::CrashExit);
        QVERIFY(bob.waitForDisconnected());
        while (const auto received = bob.takeFirst<ReceiveMessage>())
            acknowledged.insert(received->message.clientId);
        QVERIFY(acknowledged.size() >= 500);
        QVERIFY2(acknowledged.size() < Burst, "the kill came too late to test anything");
    }

    port = start(natterd);
    QVERIFY(port);
    TestClient check;
    QVERIFY(check.open(port) && check.hello(u"Check"_s, u"check@x.org"_s) && check.join(u"codeial"_s));
    const QList<Message> stored = check.readConversation(u"codeial"_s);
    QHash<QString, int> copies;
    for (const Message &message : stored)
        ++copies[message.clientId];
    for (const QString &clientId : std::as_const(acknowledged))
        QVERIFY2(copies.value(clientId) == 1, qPrintable(clientId));
    for (auto it = copies.cbegin(); it != copies.cend(); ++it)
        QCOMPARE(it.value(), 1); // nothing twice, acknowledged or not
    natterd.terminate();
    QVERIFY(waitForExit(natterd));

    QCOMPARE(sqliteIntegrity(dbPath()), u"ok"_s);
}

void TestNatterd::answersLanDiscovery()
{
    QProcess natterd;
    const quint16 port = start(natterd, {u"--discovery-port"_s, u"0"_s, u"--name"_s, u"Lab chat"_s});
    QVERIFY(port != 0);
    static const QRegularExpression discovery(u"answering LAN discovery on UDP port (\\d+)"_s);
    QRegularExpressionMatch match;
    QTRY_VERIFY(
        (match = discovery.match(QString::fromUtf8(m_output += natterd.readAllStandardOutput()))).hasMatch());
    const quint16 discoveryPort = quint16(match.captured(1).toUInt());

    QUdpSocket peer;
    QVERIFY(peer.bind(QHostAddress::LocalHost, 0));
    peer.writeDatagram(Discovery::encodeQuery(), QHostAddress::LocalHost, discoveryPort);
    QTRY_VERIFY(peer.hasPendingDatagrams());
    const auto announcement = Discovery::decodeAnnouncement(peer.receiveDatagram().data());
    QVERIFY(announcement);
    QCOMPARE(announcement->port, port);
    QCOMPARE(announcement->name, u"Lab chat"_s);
    QVERIFY(announcement->server.startsWith(u"natterd "_s));
    natterd.terminate();
    QVERIFY(waitForExit(natterd));
}

QTEST_GUILESS_MAIN(TestNatterd)
#include "tst_natterd.moc"
