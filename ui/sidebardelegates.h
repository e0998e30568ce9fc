#pragma once

#include <QStyledItemDelegate>

namespace Natter {

/// What the sidebar's delegates share: the style paints selection and hover,
/// the delegate paints the content on top.
class SidebarItemDelegate : public QStyledItemDelegate
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SidebarItemDelegate)

public:
    using QStyledItemDelegate::QStyledItemDelegate;

protected:
    void paintBackground(QPainter *painter, const QStyleOptionViewItem &option,
                         const QModelIndex &index) const;
    /// Two text lines' worth: room for an avatar and a badge.
    static int rowHeight(const QStyleOptionViewItem &option);
};

/// A conversation in the sidebar: "# room" or the person's initial in their
/// colour, the title (bold while unread) and an unread badge.
class ConversationDelegate final : public SidebarItemDelegate
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConversationDelegate)

public:
    using SidebarItemDelegate::SidebarItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

/// A member of the room: initial in their colour, name, "(you)" for the user.
class MemberDelegate final : public SidebarItemDelegate
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MemberDelegate)

public:
    using SidebarItemDelegate::SidebarItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

/// Paints a round avatar: the first letter of name on a colour derived from key.
void paintAvatar(QPainter *painter, const QRect &rect, const QString &name, const QString &key,
                 const QPalette &palette);

} // namespace Natter
