#include "ui/searchpanel.h"

#include "common/searchsyntax.h"
#include "ui/closebutton.h"
#include "ui/messagedelegate.h"
#include "ui/messagepalette.h"
#include "ui/plaintext.h"
#include "ui/typography.h"

#include <QApplication>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPainter>
#include <QStandardItemModel>
#include <QStyledItemDelegate>
#include <QTextLayout>
#include <QToolButton>
#include <QTreeView>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

constexpr int TypingPauseMs = 350;

/// A result: the sender and time on one line, the snippet under it with the
/// matches in bold; a conversation's header in small capitals of its title.
class SearchHitDelegate final : public QStyledItemDelegate
{
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override
    {
        const QFontMetrics fm(option.font);
        const int pad = fm.height() / 3;
        if (index.data(SearchPanel::IdRole).toLongLong() > 0)
            return QSize(option.rect.width(), 2 * fm.height() + 3 * pad);
        return QSize(option.rect.width(), fm.height() + 2 * pad);
    }

    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override
    {
        QStyleOptionViewItem base = option;
        initStyleOption(&base, index);
        base.text.clear();
        const QWidget *widget = option.widget;
        QStyle *style = widget ? widget->style() : QApplication::style();
        style->drawControl(QStyle::CE_ItemViewItem, &base, painter, widget);

        const QFontMetrics fm(option.font);
        const int pad = fm.height() / 3;
        const bool selected = option.state.testFlag(QStyle::State_Selected);
        const QPalette &palette = option.palette;
        const QColor text = palette.color(selected ? QPalette::HighlightedText : QPalette::Text);
        const QColor secondary =
            selected ? text : MessagePalette::mix(palette.color(QPalette::Base), text, 0.62);
        const QRect area = option.rect.adjusted(pad, pad, -pad, -pad);
        painter->save();
        if (index.data(SearchPanel::MoreRole).toBool()) {
            painter->setPen(selected ? text : palette.color(QPalette::Link));
            painter->drawText(area, Qt::AlignLeft | Qt::AlignVCenter, index.data(Qt::DisplayRole).toString());
        } else if (index.data(SearchPanel::IdRole).toLongLong() <= 0) {
            QFont header = scaledFont(option.font, TypeScale::Meta, true);
            painter->setFont(header);
            painter->setPen(secondary);
            painter->drawText(area, Qt::AlignLeft | Qt::AlignVCenter,
                              QFontMetrics(header).elidedText(index.data(Qt::DisplayRole).toString(),
                                                              Qt::ElideRight, area.width()));
        } else {
            QFont bold = option.font;
            bold.setBold(true);
            const QString sender = index.data(SearchPanel::SenderRole).toString();
            const QString when =
                SearchPanel::whenText(index.data(SearchPanel::TimeRole).toDateTime(), QDate::currentDate());
            const QFontMetrics boldMetrics(bold);
            const int whenWidth = fm.horizontalAdvance(when);
            const QRect line1(area.left(), area.top(), area.width(), fm.height());
            painter->setFont(bold);
            painter->setPen(text);
            painter->drawText(
                line1.adjusted(0, 0, -whenWidth - pad, 0), Qt::AlignLeft | Qt::AlignVCenter,
                boldMetrics.elidedText(sender, Qt::ElideRight, line1.width() - whenWidth - pad));
            painter->setFont(option.font);
            painter->setPen(secondary);
            painter->drawText(line1, Qt::AlignRight | Qt::AlignVCenter, when);

            // The snippet as plain text on one line, its matches in bold.
            const QString snippet = SearchPanel::snippetLine(index.data(SearchPanel::SnippetRole).toString(),
                                                             option.font, area.width());
            QTextLayout layout(snippet, option.font);
            QList<QTextLayout::FormatRange> formats;
            for (const QPoint &range : index.data(SearchPanel::HighlightsRole).value<QList<QPoint>>()) {
                QTextLayout::FormatRange format;
                format.start = range.x();
                format.length = range.y();
                format.format.setFontWeight(QFont::Bold);
                formats.append(format);
            }
            layout.setFormats(formats);
            QTextOption textOption;
            textOption.setWrapMode(QTextOption::NoWrap);
            layout.setTextOption(textOption);
            layout.beginLayout();
            QTextLine line = layout.createLine();
            if (line.isValid())
                line.setLineWidth(area.width());
            layout.endLayout();
            painter->setPen(text);
            const int top = area.top() + fm.height() + pad;
            painter->setClipRect(QRect(area.left(), top, area.width(), fm.height()));
            layout.draw(painter, QPointF(area.left(), top));
        }
        painter->restore();
    }
};

} // namespace

QString SearchPanel::whenText(const QDateTime &time, const QDate &today)
{
    const QDateTime local = time.toLocalTime();
    if (local.date() == today)
        return MessageDelegate::shortTime(local.time());
    return QLocale().toString(local.date(), QLocale::ShortFormat) + u' ' +
           MessageDelegate::shortTime(local.time());
}

QString SearchPanel::snippetLine(const QString &snippet, const QFont &font, int width)
{
    QString line = snippet;
    for (QChar &c : line) {
        if (c == u'\n' || c == u'\r' || c == u'\t')
            c = u' ';
    }
    QFont bold = font;
    bold.setBold(true);
    return QFontMetrics(bold).elidedText(line, Qt::ElideRight, width);
}

SearchPanel::SearchPanel(QWidget *parent)
    : QWidget(parent)
    , m_field(new QLineEdit(this))
    , m_status(new QLabel(this))
    , m_view(new QTreeView(this))
    , m_model(new QStandardItemModel(this))
{
    setObjectName(u"searchPanel"_s);
    setMinimumWidth(fontMetrics().averageCharWidth() * 38); // a snippet needs room to say something
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    auto *top = new QHBoxLayout;
    m_field->setObjectName(u"searchField"_s);
    m_field->setPlaceholderText(tr("Search messages"));
    m_field->setToolTip(tr("Words, word* for a beginning, \"an exact phrase\"; narrow with in:#room, "
                           "in:@email, from:name, before:2026-12-01, after:2026-11-01"));
    m_field->setAccessibleName(tr("Search messages"));
    m_field->setClearButtonEnabled(true);
    m_field->setMaxLength(Protocol::MaxQueryLength + 200); // room for the filters
    m_field->installEventFilter(this);
    top->addWidget(m_field, 1);
    QToolButton *close = makeCloseButton(tr("Close search (Esc)"), tr("Close search"), this);
    close->setObjectName(u"closeSearch"_s);
    connect(close, &QToolButton::clicked, this, [this] {
        hide();
        Q_EMIT closed();
    });
    top->addWidget(close);
    layout->addLayout(top);

    m_status->setObjectName(u"searchStatus"_s);
    m_status->setTextFormat(Qt::PlainText);
    m_status->setWordWrap(true);
    m_status->setForegroundRole(QPalette::PlaceholderText);
    m_status->setFont(scaledFont(m_status->font(), TypeScale::Meta));
    m_status->setText(tr("Search everything you can read."));
    layout->addWidget(m_status);

    m_view->setObjectName(u"searchResults"_s);
    m_view->setAccessibleName(tr("Search results"));
    m_view->setModel(m_model);
    m_view->setHeaderHidden(true);
    m_view->setRootIsDecorated(false);
    m_view->setItemsExpandable(false);
    m_view->setIndentation(0);
    m_view->setUniformRowHeights(false);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setFrameShape(QFrame::NoFrame);
    m_view->setItemDelegate(new SearchHitDelegate(m_view));
    m_view->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    connect(m_view, &QTreeView::activated, this, &SearchPanel::activate);
    connect(m_view, &QTreeView::clicked, this, &SearchPanel::activate);
    layout->addWidget(m_view, 1);

    m_typingPause.setSingleShot(true);
    m_typingPause.setInterval(TypingPauseMs);
    connect(&m_typingPause, &QTimer::timeout, this, &SearchPanel::search);
    connect(m_field, &QLineEdit::textEdited, this, [this] { m_typingPause.start(); });
}

SearchPanel::~SearchPanel() = default;

void SearchPanel::open()
{
    show();
    m_field->setFocus(Qt::ShortcutFocusReason);
    m_field->selectAll();
}

std::optional<Protocol::SearchRequest> SearchPanel::request(QString *error) const
{
    const SearchSyntax::Filters filters = SearchSyntax::splitFilters(m_field->text());
    const auto fail = [error](const QString &why) {
        if (error)
            *error = why;
        return std::nullopt;
    };
    if (!filters.invalid.isEmpty())
        return fail(
            tr("“%1” is not a filter Natter understands: try in:#room, from:name or before:2026-12-01.")
                .arg(filters.invalid));
    if (!SearchSyntax::parse(filters.words))
        return fail(filters.words.trimmed().isEmpty() ? tr("Type a word to search for.")
                                                      : tr("Close the quote to search for a phrase."));
    if (filters.words.size() > Protocol::MaxQueryLength)
        return fail(tr("Search for at most %1 characters.").arg(Protocol::MaxQueryLength));
    Protocol::SearchRequest request;
    request.query = filters.words;
    request.room = filters.room;
    request.with = filters.with;
    if (!filters.from.isEmpty()) {
        request.from = m_resolvePerson ? m_resolvePerson(filters.from) : QString();
        if (request.from.isEmpty() && filters.from.contains(u'@'))
            request.from = filters.from.toLower();
        if (request.from.isEmpty())
            return fail(tr("Nobody called “%1” is in your conversations.").arg(filters.from));
    }
    // Days of the local calendar.
    if (filters.before.isValid())
        request.before = QDateTime(filters.before, QTime(0, 0)).toUTC();
    if (filters.after.isValid())
        request.after = QDateTime(filters.after, QTime(0, 0)).toUTC();
    return request;
}

void SearchPanel::search()
{
    m_typingPause.stop();
    QString error;
    const std::optional<Protocol::SearchRequest> asked = request(&error);
    if (!asked) {
        if (!m_field->text().trimmed().isEmpty())
            m_status->setText(error);
        return;
    }
    m_asked = asked->query;
    // What narrowed it, for "no messages match … in #design".
    QStringList narrowed;
    if (!asked->room.isEmpty())
        narrowed.append(tr("in #%1").arg(asked->room));
    if (!asked->with.isEmpty()) {
        const QString title =
            m_resolveTitle ? m_resolveTitle(ConversationKey::direct(asked->with)) : QString();
        narrowed.append(tr("with %1").arg(title.isEmpty() ? asked->with : title));
    }
    if (!asked->from.isEmpty())
        narrowed.append(tr("from %1").arg(SearchSyntax::splitFilters(m_field->text()).from));
    const QLocale locale;
    if (asked->after.isValid())
        narrowed.append(
            tr("since %1").arg(locale.toString(asked->after.toLocalTime().date(), QLocale::ShortFormat)));
    if (asked->before.isValid())
        narrowed.append(
            tr("before %1").arg(locale.toString(asked->before.toLocalTime().date(), QLocale::ShortFormat)));
    m_askedFilters = narrowed.join(u' ');
    m_cursor.clear();
    m_pagePending = false;
    m_status->setText(tr("Searching…"));
    Q_EMIT searchRequested(*asked);
}

QStandardItem *SearchPanel::groupFor(const ConversationKey &key)
{
    const QString id = key.toString();
    for (int row = 0; row < m_model->rowCount(); ++row) {
        QStandardItem *group = m_model->item(row);
        if (group->data(KeyRole).toString() == id && !group->data(MoreRole).toBool())
            return group;
    }
    QString title = m_resolveTitle ? m_resolveTitle(key) : QString();
    if (title.isEmpty())
        title = key.isRoom() ? u'#' + key.name : key.name;
    auto *group = new QStandardItem(title);
    group->setData(id, KeyRole);
    group->setFlags(Qt::ItemIsEnabled);
    group->setToolTip(PlainText::toolTip(title));
    m_model->appendRow(group);
    m_view->setExpanded(group->index(), true);
    return group;
}

void SearchPanel::showResults(const Protocol::SearchResults &results)
{
    if (results.query != m_asked)
        return; // the answer to an older query
    const bool firstPage = !m_pagePending;
    m_pagePending = false;
    if (firstPage) {
        m_model->clear();
        m_count = 0;
    } else if (m_model->rowCount() > 0 && m_model->item(m_model->rowCount() - 1)->data(MoreRole).toBool()) {
        m_model->removeRow(m_model->rowCount() - 1); // "More results" gives way to them
    }
    for (const Protocol::SearchHit &hit : results.results) {
        const Message &message = hit.message;
        // A direct message is filed under the other person, whoever sent it.
        const QString self = m_resolveSelf ? m_resolveSelf() : QString();
        const bool mine = message.from.email.compare(self, Qt::CaseInsensitive) == 0;
        const ConversationKey key = !message.isDirect() ? ConversationKey::room(message.room)
                                    : mine              ? ConversationKey::direct(message.to)
                                                        : ConversationKey::direct(message.from.email);
        auto *item = new QStandardItem(hit.snippet);
        item->setData(key.toString(), KeyRole);
        item->setData(message.id, IdRole);
        item->setData(message.from.name, SenderRole);
        item->setData(message.timestamp, TimeRole);
        item->setData(hit.snippet, SnippetRole);
        QList<QPoint> highlights;
        for (const auto &[start, length] : hit.highlights)
            highlights.append(QPoint(start, length));
        item->setData(QVariant::fromValue(highlights), HighlightsRole);
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        item->setToolTip(PlainText::toolTip(message.text.left(500)));
        groupFor(key)->appendRow(item);
        ++m_count;
    }
    m_cursor = results.cursor;
    if (!m_cursor.isEmpty()) {
        auto *more = new QStandardItem(tr("More results…"));
        more->setData(true, MoreRole);
        more->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        m_model->appendRow(more);
    }
    m_view->expandAll();
    m_status->setText(
        m_count == 0
            ? (m_askedFilters.isEmpty() ? tr("No messages match “%1”.").arg(m_asked)
                                        : tr("No messages match “%1” %2.").arg(m_asked, m_askedFilters))
            : tr("%n result(s)", nullptr, m_count) + (m_cursor.isEmpty() ? QString() : tr(" (more below)")));
    if (firstPage) {
        m_view->setCurrentIndex({});
        moveSelection(1);
    }
}

void SearchPanel::showError(const QString &message)
{
    m_status->setText(message);
}

void SearchPanel::activate(const QModelIndex &index)
{
    if (!index.isValid())
        return;
    if (index.data(MoreRole).toBool()) {
        std::optional<Protocol::SearchRequest> next = request();
        if (!next || m_cursor.isEmpty())
            return;
        next->cursor = m_cursor;
        m_pagePending = true;
        m_status->setText(tr("Searching…"));
        Q_EMIT searchRequested(*next);
        return;
    }
    const qint64 id = index.data(IdRole).toLongLong();
    if (id <= 0)
        return;
    Q_EMIT resultActivated(ConversationKey::fromString(index.data(KeyRole).toString()), id);
}

void SearchPanel::moveSelection(int step)
{
    // Through the selectable rows (results and "More"), in the order shown.
    QList<QModelIndex> rows;
    for (int row = 0; row < m_model->rowCount(); ++row) {
        const QModelIndex top = m_model->index(row, 0);
        if (top.flags().testFlag(Qt::ItemIsSelectable))
            rows.append(top);
        for (int child = 0; child < m_model->rowCount(top); ++child)
            rows.append(m_model->index(child, 0, top));
    }
    if (rows.isEmpty())
        return;
    const qsizetype at = rows.indexOf(m_view->currentIndex());
    const qsizetype next = at < 0 ? 0 : std::clamp<qsizetype>(at + step, 0, rows.size() - 1);
    m_view->setCurrentIndex(rows.at(next));
    m_view->scrollTo(rows.at(next));
}

bool SearchPanel::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_field && event->type() == QEvent::KeyPress) {
        auto *key = static_cast<QKeyEvent *>(event);
        switch (key->key()) {
        case Qt::Key_Down:
            moveSelection(1);
            return true;
        case Qt::Key_Up:
            moveSelection(-1);
            return true;
        case Qt::Key_Return:
        case Qt::Key_Enter:
            // The results shown are for the text in the field: open the chosen one; else search.
            if (!m_typingPause.isActive() && m_view->currentIndex().isValid() &&
                request().value_or(Protocol::SearchRequest{}).query == m_asked && m_count > 0)
                activate(m_view->currentIndex());
            else
                search();
            return true;
        default:
            break;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void SearchPanel::keyPressEvent(QKeyEvent *event)
{
    if (event->key() == Qt::Key_Escape) {
        hide();
        Q_EMIT closed();
        return;
    }
    if ((event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter) && m_view->hasFocus()) {
        activate(m_view->currentIndex());
        return;
    }
    QWidget::keyPressEvent(event);
}

} // namespace Natter
