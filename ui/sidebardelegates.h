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

    /// The row's tooltip as the plain text it is: a name or an email is
    /// another person's words, never markup.
    bool helpEvent(QHelpEvent *event, QAbstractItemView *view, const QStyleOptionViewItem &option,
                   const QModelIndex &index) override;

protected:
    void paintBackground(QPainter *painter, const QStyleOptionViewItem &option,
                         const QModelIndex &index) const;
    /// A one-line row with air: room for an avatar.
    static int rowHeight(const QStyleOptionViewItem &option);
};

/// A conversation in the sidebar (Telegram's rows): "# room" or the person's
/// avatar, the title (bold while unread) and the last message's time above,
/// a one-line preview of it and the unread badge below.
class ConversationDelegate final : public SidebarItemDelegate
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConversationDelegate)

public:
    using SidebarItemDelegate::SidebarItemDelegate;

    /// Where a row's parts go, in the view's coordinates.
    struct Layout
    {
        QRect icon;
        QRect title;
        QRect time;    ///< empty without a last message
        QRect preview; ///< empty without a last message
        QRect badge;   ///< empty without unread messages
        QRect mention; ///< the "@" left of the badge: unread messages mention the user
        QString timeText;
    };
    Layout layout(const QStyleOptionViewItem &option, const QModelIndex &index) const;
    /// The row's second line: "Draft: …" when the user left something
    /// written there (withLabel false: without the label), else the preview.
    static QString previewText(const QModelIndex &index, bool withLabel = true);
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

    /// "14:05" today, "Yesterday", a weekday within the week, else the date.
    static QString whenText(const QDateTime &time, const QDateTime &now);
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
