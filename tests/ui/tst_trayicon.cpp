#include "ui/appicon.h"
#include "ui/translations.h"
#include "ui/trayicon.h"

#include <QApplication>
#include <QImage>
#include <QTest>

using namespace Natter;

class TestTrayIcon final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void badgeShowsOnTheIcon();
    void worksWithoutASystemTray();
};

void TestTrayIcon::badgeShowsOnTheIcon()
{
    const QIcon icon = appIcon();
    QVERIFY(!icon.isNull());
    const QImage plain = icon.pixmap(64, 64).toImage();
    const QImage badged = TrayIcon::iconWithBadge(icon, 3).pixmap(64, 64).toImage();
    QCOMPARE(badged.size(), plain.size());
    QVERIFY(badged != plain);
    // The badge sits in the top right corner and is red; the bottom left is untouched.
    const QColor corner = badged.pixelColor(56, 8);
    QVERIFY2(corner.red() > 150 && corner.green() < 100, qPrintable(corner.name()));
    QCOMPARE(badged.pixelColor(8, 56), plain.pixelColor(8, 56));
    // No unread: the icon itself.
    QCOMPARE(TrayIcon::iconWithBadge(icon, 0).pixmap(64, 64).toImage(), plain);
    // Mentioned: an "@" of its own colour in the bottom right, the count as it was.
    const QImage mentioned = TrayIcon::iconWithBadge(icon, 3, true).pixmap(64, 64).toImage();
    const QColor at = mentioned.pixelColor(60, 48);
    QVERIFY2(at.blue() > 150 && at.red() < 100, qPrintable(at.name()));
    QCOMPARE(mentioned.pixelColor(56, 8), corner);
    QCOMPARE(mentioned.pixelColor(8, 56), plain.pixelColor(8, 56));
}

void TestTrayIcon::worksWithoutASystemTray()
{
    // The offscreen platform has no tray: everything still works, quietly.
    TrayIcon tray(appIcon());
    QVERIFY(!tray.isAvailable());
    tray.setUnreadCount(5);
    QCOMPARE(tray.unreadCount(), 5);
    QVERIFY(tray.badgedIcon().pixmap(64, 64).toImage() != appIcon().pixmap(64, 64).toImage());
    tray.notify(QStringLiteral("Bob"), QStringLiteral("hello"));
    QCOMPARE(tray.toolTip(), QStringLiteral("Natter — 5 unread messages"));
    tray.setUnreadCount(5, 2);
    QCOMPARE(tray.mentionCount(), 2);
    QCOMPARE(tray.toolTip(), QStringLiteral("Natter — 5 unread messages, 2 mentions of you"));
    tray.setUnreadCount(0);
    QCOMPARE(tray.mentionCount(), 0);
    QCOMPARE(tray.toolTip(), QStringLiteral("Natter"));
    QCOMPARE(tray.badgedIcon().pixmap(64, 64).toImage(), appIcon().pixmap(64, 64).toImage());
}

void TestTrayIcon::initTestCase()
{
    installTranslations(qApp); // the app's English plural forms, as natter loads them
}

QTEST_MAIN(TestTrayIcon)
#include "tst_trayicon.moc"
