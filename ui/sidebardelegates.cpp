#include "ui/sidebardelegates.h"

#include "common/conversationlistmodel.h"
#include "common/memberlistmodel.h"
#include "ui/messagedelegate.h"
#include "ui/messagepalette.h"
#include "ui/plaintext.h"
#include "ui/typography.h"

#include <QAbstractItemView>
#include <QApplication>
#include <QDateTime>
#include <QHelpEvent>
#include <QLocale>
#include <QPainter>
#include <QToolTip>

namespace Natter {

bool SidebarItemDelegate::helpEvent(QHelpEvent *event, QAbstractItemView *view,
                                    const QStyleOptionViewItem &option, const QModelIndex &index)
{
    if (event->type() != QEvent::ToolTip || !index.isValid())
        return QStyledItemDelegate::helpEvent(event, view, option, index);
    const QString tip = index.data(Qt::ToolTipRole).toString();
    if (tip.isEmpty()) {
        QToolTip::hideText();
        return false;
    }
    QToolTip::showText(event->globalPos(), PlainText::toolTip(tip), view);
    return true;
}

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
    QColor color = MessagePalette::senderColor(key, palette);
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

QString ConversationDelegate::whenText(const QDateTime &time, const QDateTime &now)
{
    const QDate day = time.toLocalTime().date();
    const QDate today = now.toLocalTime().date();
    if (day == today)
        return MessageDelegate::shortTime(time.toLocalTime().time());
    if (day == today.addDays(-1))
        return tr("Yesterday");
    if (day > today.addDays(-7) && day < today)
        return QLocale().dayName(day.dayOfWeek(), QLocale::ShortFormat);
    return QLocale().toString(day, QLocale::ShortFormat);
}

QString ConversationDelegate::previewText(const QModelIndex &index, bool withLabel)
{
    const QString draft = index.data(ConversationListModel::DraftRole).toString();
    if (draft.isEmpty())
        return index.data(ConversationListModel::PreviewRole).toString();
    return withLabel ? tr("Draft:") + u' ' + draft : draft;
}

ConversationDelegate::Layout ConversationDelegate::layout(const QStyleOptionViewItem &option,
                                                          const QModelIndex &index) const
{
    const QFontMetrics fm(option.font);
    const QFontMetrics small(scaledFont(option.font, TypeScale::Meta));
    const int pad = fm.height() / 2;
    Layout l;
    const QRect content = option.rect.adjusted(pad, 0, -pad, 0);
    const int iconSize = std::clamp(option.rect.height() - pad - 2, fm.height(), 32);
    l.icon = QRect(content.left(), content.center().y() - iconSize / 2 + 1, iconSize, iconSize);
    const int left = l.icon.right() + 1 + pad;
    const QString preview = previewText(index);
    const QDateTime last = index.data(ConversationListModel::LastActivityRole).toDateTime();
    const int unread = index.data(ConversationListModel::UnreadCountRole).toInt();
    if (unread > 0) {
        const QFont badgeFont = scaledFont(option.font, TypeScale::Badge, true);
        const QFontMetrics badgeMetrics(badgeFont);
        const QString count = unread > 999 ? QStringLiteral("999+") : QString::number(unread);
        const int height = badgeMetrics.height() + 2;
        const int width = std::max(height, badgeMetrics.horizontalAdvance(count) + height / 2);
        l.badge = QRect(content.right() - width + 1, 0, width, height);
        if (index.data(ConversationListModel::MentionCountRole).toInt() > 0)
            l.mention = QRect(l.badge.left() - height - pad / 4, 0, height, height);
    }
    if (preview.isEmpty()) {
        // The title alone, centred, the badge beside it.
        l.title = QRect(left, content.top(), content.right() + 1 - left, content.height());
        if (!l.badge.isNull()) {
            l.badge.moveTop(content.center().y() - l.badge.height() / 2 + 1);
            l.mention.moveTop(l.badge.top());
            l.title.setRight((l.mention.isNull() ? l.badge : l.mention).left() - pad / 2 - 1);
        }
        return l;
    }
    // Two lines, centred as a block: the title and time, the preview and badge.
    const int block = fm.height() + small.height();
    const int top = content.top() + (content.height() - block) / 2;
    l.title = QRect(left, top, content.right() + 1 - left, fm.height());
    l.preview = QRect(left, top + fm.height(), l.title.width(), small.height());
    if (last.isValid()) {
        l.timeText = whenText(last, QDateTime::currentDateTime());
        const int width = small.horizontalAdvance(l.timeText);
        l.time = QRect(content.right() + 1 - width, top, width, fm.height());
        l.title.setRight(l.time.left() - pad / 2 - 1);
    }
    if (!l.badge.isNull()) {
        l.badge.moveTop(l.preview.center().y() - l.badge.height() / 2 + 1);
        l.mention.moveTop(l.badge.top());
        l.preview.setRight((l.mention.isNull() ? l.badge : l.mention).left() - pad / 2 - 1);
    }
    return l;
}

void ConversationDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                                 const QModelIndex &index) const
{
    paintBackground(painter, option, index);
    const Layout l = layout(option, index);
    const int unread = index.data(ConversationListModel::UnreadCountRole).toInt();
    const bool isRoom =
        index.data(ConversationListModel::KindRole).toInt() == int(ConversationKey::Kind::Room);
    const QString title = index.data(ConversationListModel::TitleRole).toString();
    const bool selected = option.state.testFlag(QStyle::State_Selected);
    const QColor textColor = option.palette.color(selected ? QPalette::HighlightedText : QPalette::Text);
    const QColor dim = selected ? textColor : option.palette.color(QPalette::PlaceholderText);

    painter->save();
    if (isRoom) {
        // A lock for a private room (members only), # for a public one.
        QFont iconFont = option.font;
        iconFont.setPixelSize(std::max(8, l.icon.height() * 11 / 20));
        painter->setFont(iconFont);
        painter->setPen(dim);
        painter->drawText(l.icon, Qt::AlignCenter,
                          index.data(ConversationListModel::IsPrivateRole).toBool() ? QStringLiteral("🔒")
                                                                                    : QStringLiteral("#"));
    } else {
        paintAvatar(painter, l.icon, title, index.data(ConversationListModel::NameRole).toString(),
                    option.palette);
        // Whether they are here: a green dot, or a hollow grey one (nothing while not known).
        if (const int presence = index.data(ConversationListModel::PresenceRole).toInt(); presence != 0) {
            const qreal side = std::max(6.0, l.icon.width() * 0.36);
            const QRectF dot(l.icon.right() + 1 - side, l.icon.bottom() + 1 - side, side, side);
            painter->setRenderHint(QPainter::Antialiasing);
            painter->setPen(QPen(option.palette.color(selected ? QPalette::Highlight : QPalette::Base),
                                 std::max(1.5, side / 5)));
            painter->setBrush(presence == 1 ? QColor(0x2e, 0xa0, 0x43)
                                            : option.palette.color(QPalette::PlaceholderText));
            painter->drawEllipse(dot);
        }
    }
    const QFont small = scaledFont(option.font, TypeScale::Meta);
    if (!l.preview.isNull()) {
        painter->setFont(small);
        painter->setPen(dim);
        painter->drawText(l.time, Qt::AlignRight | Qt::AlignVCenter, l.timeText);
        QRect rest = l.preview;
        if (const QString draft = index.data(ConversationListModel::DraftRole).toString(); !draft.isEmpty()) {
            // What the user left written here, marked as theirs and unsent.
            const QString label = tr("Draft:") + u' ';
            painter->setPen(option.palette.color(QPalette::Link));
            painter->drawText(rest, Qt::AlignLeft | Qt::AlignVCenter, label);
            rest.setLeft(rest.left() + QFontMetrics(small).horizontalAdvance(label));
            painter->setPen(dim);
        }
        painter->drawText(
            rest, Qt::AlignLeft | Qt::AlignVCenter,
            QFontMetrics(small).elidedText(previewText(index, false), Qt::ElideRight, rest.width()));
    }
    if (!l.badge.isNull()) {
        const QFont badgeFont = scaledFont(option.font, TypeScale::Badge, true);
        const QString count = unread > 999 ? QStringLiteral("999+") : QString::number(unread);
        painter->setRenderHint(QPainter::Antialiasing);
        painter->setPen(Qt::NoPen);
        // A muted conversation's badge is grey: counted, but not calling.
        const bool muted = index.data(ConversationListModel::IsMutedRole).toBool();
        painter->setBrush(selected ? option.palette.color(QPalette::HighlightedText)
                          : muted  ? option.palette.color(QPalette::PlaceholderText)
                                   : option.palette.color(QPalette::Highlight));
        painter->drawRoundedRect(l.badge, l.badge.height() / 2.0, l.badge.height() / 2.0);
        painter->setFont(badgeFont);
        painter->setPen(selected ? option.palette.color(QPalette::Highlight)
                                 : option.palette.color(QPalette::HighlightedText));
        painter->drawText(l.badge, Qt::AlignCenter, count);
    }
    if (!l.mention.isNull()) {
        // Someone called the user by name here: a warm "@" beside the count, muted or not.
        painter->setRenderHint(QPainter::Antialiasing);
        painter->setPen(Qt::NoPen);
        painter->setBrush(selected ? option.palette.color(QPalette::HighlightedText)
                                   : QColor(0xe0, 0x43, 0x3a));
        painter->drawEllipse(l.mention);
        painter->setFont(scaledFont(option.font, TypeScale::Badge, true));
        painter->setPen(selected ? option.palette.color(QPalette::Highlight) : QColor(Qt::white));
        painter->drawText(l.mention, Qt::AlignCenter, QStringLiteral("@"));
    }
    QFont font = option.font;
    font.setBold(unread > 0);
    painter->setFont(font);
    painter->setPen(textColor);
    painter->drawText(l.title, Qt::AlignLeft | Qt::AlignVCenter,
                      QFontMetrics(font).elidedText(title, Qt::ElideRight, l.title.width()));
    painter->restore();
}

QSize ConversationDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &) const
{
    // Two lines (title, preview) and air: Telegram's and Slack's rows.
    const int line = QFontMetrics(option.font).height();
    const int small = QFontMetrics(scaledFont(option.font, TypeScale::Meta)).height();
    return QSize(QFontMetrics(option.font).averageCharWidth() * 16, line + small + line * 3 / 4);
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
    const int iconSize = std::max(fm.height() + 2, option.rect.height() - pad - 2);
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
