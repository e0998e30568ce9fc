#include "sidebardelegates.h"

#include "conversationlistmodel.h"
#include "memberlistmodel.h"
#include "messagedelegate.h"

#include <QApplication>
#include <QDateTime>
#include <QLocale>
#include <QPainter>

namespace Natter {

void SidebarItemDelegate::paintBackground(QPainter *painter, const QStyleOptionViewItem &option,
                                          const QModelIndex &index) const
{
    QStyleOptionViewItem styleOption = option;
    initStyleOption(&styleOption, index);
    styleOption.text.clear();
    styleOption.icon = QIcon();
    styleOption.features &= ~QStyleOptionViewItem::HasDisplay;
    QStyle *style = option.widget ? option.widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &styleOption, painter, option.widget);
}

int SidebarItemDelegate::rowHeight(const QStyleOptionViewItem &option)
{
    const int line = QFontMetrics(option.font).height();
    return line * 2 - line / 3;
}

void paintAvatar(QPainter *painter, const QRect &rect, const QString &name, const QString &key,
                 const QPalette &palette)
{
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    QColor color = MessageDelegate::senderColor(key, palette);
    painter->setPen(Qt::NoPen);
    painter->setBrush(color);
    painter->drawEllipse(rect);
    QFont font = painter->font();
    font.setBold(true);
    font.setPixelSize(std::max(6, rect.height() / 2));
    painter->setFont(font);
    painter->setPen(color.lightnessF() > 0.6 ? QColor(Qt::black) : QColor(Qt::white));
    const QString initial = name.trimmed().isEmpty() ? QStringLiteral("?") : name.trimmed().left(1).toUpper();
    painter->drawText(rect, Qt::AlignCenter, initial);
    painter->restore();
}

void ConversationDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                                 const QModelIndex &index) const
{
    paintBackground(painter, option, index);

    const QFontMetrics fm(option.font);
    const int pad = fm.height() / 2;
    const int unread = index.data(ConversationListModel::UnreadCountRole).toInt();
    const bool isRoom =
        index.data(ConversationListModel::KindRole).toInt() == int(ConversationKey::Kind::Room);
    const QString title = index.data(ConversationListModel::TitleRole).toString();
    const bool selected = option.state.testFlag(QStyle::State_Selected);
    const QColor textColor = option.palette.color(selected ? QPalette::HighlightedText : QPalette::Text);

    painter->save();
    QRect content = option.rect.adjusted(pad, 0, -pad, 0);
    const int iconSize = fm.height();
    const QRect icon(content.left(), content.center().y() - iconSize / 2 + 1, iconSize, iconSize);
    if (isRoom) {
        painter->setPen(selected ? textColor : option.palette.color(QPalette::PlaceholderText));
        painter->setFont(option.font);
        // A lock for a private room (members only), # for a public one.
        painter->drawText(icon, Qt::AlignCenter,
                          index.data(ConversationListModel::IsPrivateRole).toBool() ? QStringLiteral("🔒")
                                                                                    : QStringLiteral("#"));
    } else {
        paintAvatar(painter, icon, title, index.data(ConversationListModel::NameRole).toString(),
                    option.palette);
    }
    content.setLeft(icon.right() + pad);

    // With a last message: the title and its time above, the preview and the
    // unread badge below. Without: the title alone, centred.
    const QString preview = index.data(ConversationListModel::PreviewRole).toString();
    const QDateTime last = index.data(ConversationListModel::LastActivityRole).toDateTime();
    const QColor dim = selected ? textColor : option.palette.color(QPalette::PlaceholderText);
    QRect titleLine = content;
    if (!preview.isEmpty()) {
        const int half = content.height() / 2;
        titleLine = QRect(content.left(), content.top() + half - fm.height(), content.width(), fm.height());
        QRect previewLine(content.left(), content.top() + half, content.width(), fm.height());
        QFont small = option.font;
        small.setPointSizeF(std::max(6.0, option.font.pointSizeF() * 0.88));
        const QFontMetrics smallMetrics(small);
        painter->setFont(small);
        painter->setPen(dim);
        if (last.isValid()) {
            const QDateTime local = last.toLocalTime();
            const QString when = local.date() == QDate::currentDate()
                                     ? QLocale().toString(local.time(), QLocale::ShortFormat)
                                     : QLocale().toString(local.date(), QLocale::ShortFormat);
            painter->drawText(titleLine, Qt::AlignRight | Qt::AlignVCenter, when);
            titleLine.setRight(titleLine.right() - smallMetrics.horizontalAdvance(when) - pad / 2);
        }
        content = previewLine;
        QRect text = previewLine;
        if (unread > 0)
            text.setRight(text.right() - smallMetrics.height() * 2);
        painter->drawText(text, Qt::AlignLeft | Qt::AlignVCenter,
                          smallMetrics.elidedText(preview, Qt::ElideRight, text.width()));
    }

    QFont font = option.font;
    font.setBold(unread > 0);
    if (unread > 0) {
        QFont badgeFont = option.font;
        badgeFont.setBold(true);
        badgeFont.setPointSizeF(std::max(6.0, option.font.pointSizeF() * 0.8));
        const QFontMetrics badgeMetrics(badgeFont);
        const QString count = unread > 999 ? QStringLiteral("999+") : QString::number(unread);
        const int badgeHeight = badgeMetrics.height() + 2;
        const int badgeWidth = std::max(badgeHeight, badgeMetrics.horizontalAdvance(count) + badgeHeight / 2);
        const QRect badge(content.right() - badgeWidth + 1, content.center().y() - badgeHeight / 2 + 1,
                          badgeWidth, badgeHeight);
        painter->setRenderHint(QPainter::Antialiasing);
        painter->setPen(Qt::NoPen);
        painter->setBrush(selected ? option.palette.color(QPalette::HighlightedText)
                                   : option.palette.color(QPalette::Highlight));
        painter->drawRoundedRect(badge, badgeHeight / 2.0, badgeHeight / 2.0);
        painter->setFont(badgeFont);
        painter->setPen(selected ? option.palette.color(QPalette::Highlight)
                                 : option.palette.color(QPalette::HighlightedText));
        painter->drawText(badge, Qt::AlignCenter, count);
        if (preview.isEmpty())
            titleLine.setRight(badge.left() - pad / 2);
    }
    painter->setFont(font);
    painter->setPen(textColor);
    painter->drawText(titleLine, Qt::AlignLeft | Qt::AlignVCenter,
                      QFontMetrics(font).elidedText(title, Qt::ElideRight, titleLine.width()));
    painter->restore();
}

QSize ConversationDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &) const
{
    return QSize(QFontMetrics(option.font).averageCharWidth() * 16, rowHeight(option));
}

void MemberDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                           const QModelIndex &index) const
{
    paintBackground(painter, option, index);

    const QFontMetrics fm(option.font);
    const int pad = fm.height() / 2;
    const QString name = index.data(Qt::DisplayRole).toString();
    const QString email = index.data(MemberListModel::EmailRole).toString();
    const bool self = index.data(MemberListModel::IsSelfRole).toBool();
    const bool selected = option.state.testFlag(QStyle::State_Selected);

    painter->save();
    QRect content = option.rect.adjusted(pad, 0, -pad, 0);
    const int iconSize = fm.height() + 2;
    paintAvatar(painter, QRect(content.left(), content.center().y() - iconSize / 2, iconSize, iconSize), name,
                email, option.palette);
    content.setLeft(content.left() + iconSize + pad);
    painter->setFont(option.font);
    painter->setPen(option.palette.color(selected ? QPalette::HighlightedText : QPalette::Text));
    const QString text = self ? tr("%1 (you)").arg(name) : name;
    painter->drawText(content, Qt::AlignLeft | Qt::AlignVCenter,
                      fm.elidedText(text, Qt::ElideRight, content.width()));
    painter->restore();
}

QSize MemberDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &) const
{
    return QSize(QFontMetrics(option.font).averageCharWidth() * 14, rowHeight(option));
}

} // namespace Natter
