// natter: the Natter desktop chat client.
#include "app/appcontroller.h"
#include "app/commandline.h"
#include "ui/appicon.h"
#include "ui/translations.h"

#include <QApplication>

#ifdef Q_OS_UNIX
#include "server/unixsignalwatcher.h"

#include <csignal>
#endif

namespace {

void setApplicationInfo()
{
    QCoreApplication::setOrganizationName(QStringLiteral("Natter"));
    QCoreApplication::setApplicationName(QStringLiteral("natter"));
    QCoreApplication::setApplicationVersion(QStringLiteral(NATTER_VERSION));
}

} // namespace

int main(int argc, char *argv[])
{
    // Arguments first, without a display: --help, --version and usage errors
    // work on a terminal with no X or Wayland.
    std::optional<Natter::ClientOptions> options;
    {
        QCoreApplication probe(argc, argv);
        setApplicationInfo();
        int exitCode = 0;
        options = Natter::parseClientArguments(QCoreApplication::arguments(), &exitCode);
        if (!options)
            return exitCode;
    }

    QApplication app(argc, argv);
    setApplicationInfo();
    Natter::installTranslations(&app);
    QApplication::setApplicationDisplayName(QStringLiteral("Natter"));
    QApplication::setDesktopFileName(QStringLiteral("org.natter.Natter"));
    QApplication::setWindowIcon(Natter::appIcon());

#ifdef Q_OS_UNIX
    // Ctrl+C or a logout quits like the Quit menu: settings saved, the hosted
    // chat shut down cleanly (clients told 1001, everything committed).
    Natter::UnixSignalWatcher signalWatcher({SIGINT, SIGTERM});
    QObject::connect(&signalWatcher, &Natter::UnixSignalWatcher::signalReceived, &app,
                     [] { QApplication::quit(); });
#endif
    Natter::AppController controller(Natter::AppSettings(options->profile), *options);
    if (!controller.start())
        return 0;
    return QApplication::exec();
}
