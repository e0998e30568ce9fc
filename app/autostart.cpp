#include "app/autostart.h"

#include "app/clientlogging.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QSettings>
#include <QStandardPaths>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

#if defined(Q_OS_WIN)
const QString RunKey = u"HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"_s;
const QString RunValue = u"Natter"_s;
#else
bool writeFile(const QString &path, const QByteArray &contents, QString *error)
{
    if (!QDir().mkpath(QFileInfo(path).absolutePath())) {
        *error =
            QCoreApplication::translate("Natter::Autostart", "Cannot create the folder of %1.").arg(path);
        return false;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(contents) != contents.size() || !file.commit()) {
        *error = QCoreApplication::translate("Natter::Autostart", "Cannot write %1: %2.")
                     .arg(path, file.errorString());
        return false;
    }
    return true;
}
#endif

#if !defined(Q_OS_WIN) && !defined(Q_OS_MACOS)
// Desktop Entry Specification: a quoted argument escapes ", `, $ and \.
QString quotedForExec(const QString &argument)
{
    QString quoted;
    for (QChar c : argument) {
        if (c == u'"' || c == u'`' || c == u'$' || c == u'\\')
            quoted += u'\\';
        quoted += c;
    }
    return u'"' + quoted + u'"';
}
#endif

#if defined(Q_OS_MACOS)
QString xmlEscaped(const QString &text)
{
    return text.toHtmlEscaped();
}
#endif

} // namespace

QString Autostart::location()
{
#if defined(Q_OS_WIN)
    return RunKey + u'\\' + RunValue;
#elif defined(Q_OS_MACOS)
    return QDir::homePath() + u"/Library/LaunchAgents/org.natter.Natter.plist"_s;
#else
    return QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) +
           u"/autostart/org.natter.Natter.desktop"_s;
#endif
}

bool Autostart::isEnabled()
{
#if defined(Q_OS_WIN)
    return QSettings(RunKey, QSettings::NativeFormat).contains(RunValue);
#else
    return QFileInfo::exists(location());
#endif
}

bool Autostart::setEnabled(bool enabled, const QString &program, QString *error)
{
#if defined(Q_OS_WIN)
    QSettings run(RunKey, QSettings::NativeFormat);
    if (enabled)
        run.setValue(RunValue, u'"' + QDir::toNativeSeparators(program) + u'"');
    else
        run.remove(RunValue);
    run.sync();
    if (run.status() != QSettings::NoError) {
        *error = QCoreApplication::translate("Natter::Autostart", "Cannot change %1.").arg(location());
        return false;
    }
    qCInfo(lcNatterClientDesktop) << "start on login:" << enabled;
    return true;
#else
    const QString path = location();
    if (!enabled) {
        if (QFileInfo::exists(path) && !QFile::remove(path)) {
            *error = QCoreApplication::translate("Natter::Autostart", "Cannot remove %1.").arg(path);
            return false;
        }
        qCInfo(lcNatterClientDesktop) << "start on login: off";
        return true;
    }
#if defined(Q_OS_MACOS)
    const QByteArray contents = u"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                u"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                                u"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                                u"<plist version=\"1.0\">\n<dict>\n"
                                u"  <key>Label</key><string>org.natter.Natter</string>\n"
                                u"  <key>ProgramArguments</key><array><string>%1</string></array>\n"
                                u"  <key>RunAtLoad</key><true/>\n"
                                u"</dict>\n</plist>\n"_s.arg(xmlEscaped(program))
                                    .toUtf8();
#else
    const QByteArray contents = u"[Desktop Entry]\n"
                                u"Type=Application\n"
                                u"Name=Natter\n"
                                u"Comment=Chat with the people on your local network\n"
                                u"Exec=%1\n"
                                u"Icon=org.natter.Natter\n"
                                u"Terminal=false\n"
                                u"X-GNOME-Autostart-enabled=true\n"_s.arg(quotedForExec(program))
                                    .toUtf8();
#endif
    if (!writeFile(path, contents, error))
        return false;
    qCInfo(lcNatterClientDesktop) << "start on login: on," << path;
    return true;
#endif
}

} // namespace Natter
