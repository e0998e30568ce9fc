#pragma once

#include <QStyledItemDelegate>

namespace Natter {

/// A conversation in the sidebar: "# room" or the person's initial in their
/// colour, the title (bold while unread) and an unread badge.
class ConversationDelegate final : public QStyledItemDelegate
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConversationDelegate)

public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

/// A member of the room: initial in their colour, name, "(you)" for the user.
class MemberDelegate final : public QStyledItemDelegate
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MemberDelegate)

public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

/// Paints a round avatar: the first letter of name on a colour derived from key.
void paintAvatar(QPainter *painter, const QRect &rect, const QString &name, const QString &key,
                 const QPalette &palette);

} // namespace Natter
