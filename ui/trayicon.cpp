#include "ui/trayicon.h"

#include "ui/plaintext.h"

#include <QMenu>
#include <QPainter>
#include <QSystemTrayIcon>

#include <algorithm>

namespace Natter {

TrayIcon::TrayIcon(const QIcon &icon, QObject *parent)
    : QObject(parent)
    , m_icon(icon)
    , m_badged(icon)
{
    if (!QSystemTrayIcon::isSystemTrayAvailable())
        return;
    m_tray = new QSystemTrayIcon(icon, this);
    m_menu = new QMenu;
    m_menu->addAction(tr("Show Natter"), this, &TrayIcon::showRequested);
    m_menu->addSeparator();
    m_menu->addAction(tr("Quit"), this, &TrayIcon::quitRequested);
    m_tray->setContextMenu(m_menu);
    m_toolTip = tr("Natter");
    m_tray->setToolTip(m_toolTip);
    connect(m_tray, &QSystemTrayIcon::activated, this, [this](QSystemTrayIcon::ActivationReason reason) {
        if (reason == QSystemTrayIcon::Trigger || reason == QSystemTrayIcon::DoubleClick)
            Q_EMIT showRequested();
    });
    connect(m_tray, &QSystemTrayIcon::messageClicked, this, &TrayIcon::showRequested);
    m_tray->show();
}

TrayIcon::~TrayIcon()
{
    delete m_menu;
}

QIcon TrayIcon::iconWithBadge(const QIcon &icon, int count, bool mentioned)
{
    if (count <= 0)
        return icon;
    QIcon badged;
    for (int size : {16, 22, 32, 48, 64, 128}) {
        QPixmap pixmap = icon.pixmap(size, size);
        if (pixmap.isNull())
            pixmap = QPixmap(size, size);
        QPainter painter(&pixmap);
        painter.setRenderHint(QPainter::Antialiasing);
        const int diameter = size * 5 / 8;
        const QRect badge(size - diameter, 0, diameter, diameter);
        painter.setPen(Qt::NoPen);
        painter.setBrush(QColor(0xd9, 0x30, 0x25));
        painter.drawEllipse(badge);
        QFont font = painter.font();
        font.setBold(true);
        font.setPixelSize(std::max(6, diameter * 2 / 3));
        painter.setFont(font);
        painter.setPen(Qt::white);
        painter.drawText(badge, Qt::AlignCenter, count > 99 ? QStringLiteral("99+") : QString::number(count));
        if (mentioned) {
            // Someone called the user by name: an "@" of its own colour, bottom right.
            const int side = size / 2;
            const QRect at(size - side, size - side, side, side);
            painter.setPen(Qt::NoPen);
            painter.setBrush(QColor(0x1a, 0x73, 0xe8));
            painter.drawEllipse(at);
            font.setPixelSize(std::max(6, side * 3 / 4));
            painter.setFont(font);
            painter.setPen(Qt::white);
            painter.drawText(at, Qt::AlignCenter, QStringLiteral("@"));
        }
        painter.end();
        badged.addPixmap(pixmap);
    }
    return badged;
}

void TrayIcon::setUnreadCount(int count, int mentions)
{
    mentions = std::clamp(mentions, 0, std::max(count, 0));
    if (count == m_unread && mentions == m_mentions)
        return;
    m_unread = count;
    m_mentions = mentions;
    m_badged = iconWithBadge(m_icon, count, mentions > 0);
    m_toolTip = count <= 0      ? tr("Natter")
                : mentions == 0 ? tr("Natter — %n unread message(s)", nullptr, count)
                                : tr("Natter — %n unread message(s)", nullptr, count) + tr(", ") +
                                      tr("%n mention(s) of you", nullptr, mentions);
    if (m_tray) {
        m_tray->setIcon(m_badged);
        m_tray->setToolTip(m_toolTip);
    }
}

void TrayIcon::notify(const QString &title, const QString &text)
{
    if (m_tray && QSystemTrayIcon::supportsMessages())
        m_tray->showMessage(title, PlainText::notificationBody(text), m_badged, 5000);
}

} // namespace Natter
