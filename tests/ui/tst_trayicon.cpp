#include "ui/appicon.h"
#include "ui/trayicon.h"

#include <QApplication>
#include <QImage>
#include <QTest>

using namespace Natter;

class TestTrayIcon final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
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
    tray.setUnreadCount(0);
    QCOMPARE(tray.badgedIcon().pixmap(64, 64).toImage(), appIcon().pixmap(64, 64).toImage());
}

QTEST_MAIN(TestTrayIcon)
#include "tst_trayicon.moc"
