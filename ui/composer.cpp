#include "ui/composer.h"

#include "common/memberlistmodel.h"
#include "ui/sidebardelegates.h"

#include <QAbstractItemView>
#include <QApplication>
#include <QCompleter>
#include <QFileInfo>
#include <QImage>
#include <QKeyEvent>
#include <QMimeData>
#include <QPainter>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QStyledItemDelegate>
#include <QTextBlock>
#include <QTextDocument>

namespace Natter {

namespace {
constexpr int MaxVisibleLines = 6;
constexpr int TypingIdleMs = 5'000;
constexpr int MaxVisibleCandidates = 6;
} // namespace

namespace {

/// The members "@" offers: everyone but the user.
class OthersModel final : public QSortFilterProxyModel
{
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

protected:
    bool filterAcceptsRow(int row, const QModelIndex &parent) const override
    {
        return !sourceModel()->index(row, 0, parent).data(MemberListModel::IsSelfRole).toBool();
    }
};

/// A person the "@" popup offers: their avatar, name and (dimmer) email.
class MentionCandidateDelegate final : public QStyledItemDelegate
{
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override
    {
        QStyleOptionViewItem background = option;
        initStyleOption(&background, index);
        background.text.clear();
        background.icon = {};
        const QWidget *widget = option.widget;
        QStyle *style = widget ? widget->style() : QApplication::style();
        style->drawControl(QStyle::CE_ItemViewItem, &background, painter, widget);

        const QFontMetrics fm(option.font);
        const int pad = fm.height() / 2;
        const QString name = index.data(Qt::DisplayRole).toString();
        const QString email = index.data(MemberListModel::EmailRole).toString();
        const bool selected = option.state.testFlag(QStyle::State_Selected);
        painter->save();
        QRect content = option.rect.adjusted(pad, 0, -pad, 0);
        const int side = option.rect.height() - pad;
        paintAvatar(painter, QRect(content.left(), content.center().y() - side / 2, side, side), name, email,
                    option.palette);
        content.setLeft(content.left() + side + pad);
        painter->setFont(option.font);
        painter->setPen(option.palette.color(selected ? QPalette::HighlightedText : QPalette::Text));
        const int nameWidth = std::min(fm.horizontalAdvance(name), content.width());
        painter->drawText(content, Qt::AlignLeft | Qt::AlignVCenter,
                          fm.elidedText(name, Qt::ElideRight, nameWidth));
        content.setLeft(content.left() + nameWidth + pad);
        painter->setPen(
            option.palette.color(selected ? QPalette::HighlightedText : QPalette::PlaceholderText));
        painter->drawText(content, Qt::AlignLeft | Qt::AlignVCenter,
                          fm.elidedText(email, Qt::ElideMiddle, content.width()));
        painter->restore();
    }

    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &) const override
    {
        const QFontMetrics fm(option.font);
        return QSize(fm.averageCharWidth() * 40, fm.height() * 2);
    }
};

/// The "@prefix" the cursor is at the end of (position of the "@", or -1).
int mentionStart(const QString &block, int cursor)
{
    for (int i = cursor - 1; i >= 0; --i) {
        const QChar c = block.at(i);
        if (c == u'@')
            return i == 0 || block.at(i - 1).isSpace() || block.at(i - 1) == u'(' ? i : -1;
        if (c.isSpace() || cursor - i > 40)
            return -1;
    }
    return -1;
}

} // namespace

Composer::Composer(QWidget *parent)
    : QPlainTextEdit(parent)
    , m_completer(new QCompleter(this))
{
    m_completer->setWidget(this);
    m_completer->setCompletionMode(QCompleter::PopupCompletion);
    m_completer->setCaseSensitivity(Qt::CaseInsensitive);
    m_completer->setFilterMode(Qt::MatchContains);
    m_completer->setCompletionRole(Qt::DisplayRole); // the names
    m_completer->popup()->setObjectName(QStringLiteral("mentionPopup"));
    m_completer->setMaxVisibleItems(MaxVisibleCandidates);
    connect(m_completer, qOverload<const QModelIndex &>(&QCompleter::activated), this,
            &Composer::insertMention);
    setTabChangesFocus(true);
    setLineWrapMode(QPlainTextEdit::WidgetWidth);
    setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setAccessibleName(tr("Message"));
    m_idle.setSingleShot(true);
    m_idle.setInterval(TypingIdleMs);
    connect(&m_idle, &QTimer::timeout, this, [this] {
        if (m_typing) {
            m_typing = false;
            Q_EMIT typingChanged(false);
        }
    });
    connect(this, &QPlainTextEdit::textChanged, this, &Composer::onTextChanged);
    connect(this, &QPlainTextEdit::cursorPositionChanged, this, &Composer::updateCompletion);
    setFixedHeight(heightForLines(1));
}

Composer::~Composer() = default;

int Composer::heightForLines(int lines) const
{
    const QMargins margins = contentsMargins();
    const int documentMargin = int(document()->documentMargin());
    return fontMetrics().lineSpacing() * lines + 2 * documentMargin + margins.top() + margins.bottom() + 2;
}

QSize Composer::sizeHint() const
{
    return QSize(QPlainTextEdit::sizeHint().width(), height());
}

QSize Composer::minimumSizeHint() const
{
    return QSize(QPlainTextEdit::minimumSizeHint().width(), heightForLines(1));
}

void Composer::setMemberModel(QAbstractItemModel *members)
{
    m_members = members;
    auto *others = new OthersModel(m_completer);
    others->setSourceModel(members);
    if (QAbstractItemModel *old = m_completer->model(); old && old->parent() == m_completer)
        old->deleteLater();
    m_completer->setModel(others);
    // After setModel(): QCompleter puts its own delegate on the popup then
    // (and owns it; ours is the popup's child too).
    if (!m_candidateDelegate)
        m_candidateDelegate = new MentionCandidateDelegate(m_completer->popup());
    m_completer->popup()->setItemDelegate(m_candidateDelegate);
}

void Composer::updateCompletion()
{
    if (!m_members || !hasFocus()) {
        m_completer->popup()->hide();
        return;
    }
    const QTextCursor cursor = textCursor();
    const QString block = cursor.block().text();
    const int at = mentionStart(block, cursor.positionInBlock());
    if (at < 0) {
        m_completer->popup()->hide();
        return;
    }
    const QString prefix = block.mid(at + 1, cursor.positionInBlock() - at - 1);
    if (prefix != m_completer->completionPrefix() || !m_completer->popup()->isVisible()) {
        m_completer->setCompletionPrefix(prefix);
        m_completer->popup()->setCurrentIndex(m_completer->completionModel()->index(0, 0));
    }
    if (m_completer->completionCount() == 0) {
        m_completer->popup()->hide();
        return;
    }
    // A real popup above the composer (a list dropped below it covered the
    // status bar), from the "@" on, wide enough for a name and an email.
    QAbstractItemView *popup = m_completer->popup();
    m_completer->complete(cursorRect());
    const int rows = std::min(m_completer->completionCount(), MaxVisibleCandidates);
    const int frame = 2 * popup->frameWidth();
    const QSize size(std::min(std::max(popup->sizeHintForColumn(0), width() / 2), window()->width()) +
                         popup->verticalScrollBar()->sizeHint().width() + frame,
                     rows * popup->sizeHintForRow(0) + frame);
    QTextCursor start = cursor;
    start.setPosition(cursor.block().position() + at);
    const QPoint anchor = viewport()->mapToGlobal(QPoint(cursorRect(start).left(), 0));
    popup->setGeometry(QRect(QPoint(anchor.x(), mapToGlobal(QPoint(0, 0)).y() - size.height() - 2), size));
}

void Composer::insertMention(const QModelIndex &index)
{
    const QString name = index.data(Qt::DisplayRole).toString();
    const QString email = index.data(MemberListModel::EmailRole).toString();
    QTextCursor cursor = textCursor();
    const int at = mentionStart(cursor.block().text(), cursor.positionInBlock());
    if (at < 0 || name.isEmpty())
        return;
    cursor.setPosition(cursor.block().position() + at, QTextCursor::KeepAnchor);
    cursor.insertText(u'@' + name + u' ');
    setTextCursor(cursor);
    m_mentioned.insert(name, email);
    m_completer->popup()->hide();
}

void Composer::restore(const QString &text, const QHash<QString, QString> &mentioned)
{
    m_restoring = true;
    setPlainText(text);
    m_restoring = false;
    m_mentioned = text.isEmpty() ? QHash<QString, QString>() : mentioned;
    moveCursor(QTextCursor::End);
}

void Composer::setMentionedEmails(const QStringList &emails)
{
    m_keptMentions.clear();
    for (const QString &email : emails) {
        QString name;
        for (int row = 0; m_members && row < m_members->rowCount() && name.isEmpty(); ++row) {
            const QModelIndex index = m_members->index(row, 0);
            if (index.data(MemberListModel::EmailRole).toString().compare(email, Qt::CaseInsensitive) == 0)
                name = index.data(Qt::DisplayRole).toString();
        }
        if (!name.isEmpty() && toPlainText().contains(u'@' + name))
            m_mentioned.insert(name, email);
        else
            m_keptMentions.append(email);
    }
}

QStringList Composer::mentions() const
{
    const QString text = toPlainText();
    QStringList emails = text.trimmed().isEmpty() ? QStringList() : m_keptMentions;
    for (auto it = m_mentioned.cbegin(); it != m_mentioned.cend(); ++it) {
        if (text.contains(u'@' + it.key()) && !emails.contains(it.value()))
            emails.append(it.value());
    }
    for (const QString &email : typedMentions(text)) {
        if (!emails.contains(email))
            emails.append(email);
    }
    return emails;
}

QStringList Composer::typedMentions(const QString &text) const
{
    // "@Bob Builder" or "@bob@example.org" typed in full, without the
    // completer: a mention of the one member it names (any case); a name
    // two members share names neither (the completer offers the choice).
    QStringList emails;
    if (!m_members)
        return emails;
    const auto endsThere = [&text](qsizetype end) {
        return end >= text.size() || !(text.at(end).isLetterOrNumber() || text.at(end) == u'@');
    };
    for (qsizetype at = text.indexOf(u'@'); at >= 0; at = text.indexOf(u'@', at + 1)) {
        if (at > 0 && (text.at(at - 1).isLetterOrNumber() || text.at(at - 1) == u'@'))
            continue; // inside an email address
        const QStringView rest = QStringView(text).mid(at + 1);
        QString best;      // the longest name (or email) that matches here
        QStringList whose; // the members it may mean
        for (int row = 0; row < m_members->rowCount(); ++row) {
            const QModelIndex index = m_members->index(row, 0);
            if (index.data(MemberListModel::IsSelfRole).toBool())
                continue;
            const QString email = index.data(MemberListModel::EmailRole).toString();
            const QString name = index.data(MemberListModel::NameRole).toString();
            for (const QString &said : {email, name}) {
                if (said.isEmpty() || !rest.startsWith(said, Qt::CaseInsensitive) ||
                    !endsThere(at + 1 + said.size()))
                    continue;
                if (said.size() > best.size()) {
                    best = said;
                    whose = {email};
                } else if (said.compare(best, Qt::CaseInsensitive) == 0 && !whose.contains(email)) {
                    whose.append(email);
                }
            }
        }
        if (whose.size() == 1 && !emails.contains(whose.constFirst()))
            emails.append(whose.constFirst());
    }
    return emails;
}

bool Composer::event(QEvent *event)
{
    // Tab moves the focus on (tabChangesFocus) unless it chooses a name.
    if (event->type() == QEvent::KeyPress && static_cast<QKeyEvent *>(event)->key() == Qt::Key_Tab &&
        m_completer->popup()->isVisible()) {
        keyPressEvent(static_cast<QKeyEvent *>(event));
        return true;
    }
    return QPlainTextEdit::event(event);
}

void Composer::keyPressEvent(QKeyEvent *event)
{
    // While the "@" completer is open, the keys that choose belong to it.
    if (m_completer->popup()->isVisible()) {
        switch (event->key()) {
        case Qt::Key_Return:
        case Qt::Key_Enter:
        case Qt::Key_Tab:
            if (const QModelIndex current = m_completer->popup()->currentIndex(); current.isValid()) {
                insertMention(current);
                event->accept();
                return;
            }
            break;
        case Qt::Key_Escape:
            m_completer->popup()->hide();
            event->accept();
            return;
        default:
            break;
        }
    }
    const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
    if (enter && !(event->modifiers() & (Qt::ShiftModifier | Qt::AltModifier))) {
        const QString text = toPlainText();
        if (!text.trimmed().isEmpty())
            Q_EMIT submitted(text);
        event->accept();
        return;
    }
    if (enter) {
        insertPlainText(QStringLiteral("\n"));
        event->accept();
        return;
    }
    if (event->key() == Qt::Key_Up && event->modifiers() == Qt::NoModifier && document()->isEmpty()) {
        Q_EMIT editLastRequested();
        event->accept();
        return;
    }
    if (event->key() == Qt::Key_Escape && event->modifiers() == Qt::NoModifier) {
        Q_EMIT cancelled();
        event->accept();
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}

void Composer::onTextChanged()
{
    // Grow with the text (wrapped lines count), up to a few lines, then scroll.
    int lines = 0;
    for (QTextBlock block = document()->begin(); block.isValid(); block = block.next())
        lines += std::max(1, block.layout() ? block.layout()->lineCount() : 1);
    const int wanted = heightForLines(std::clamp(lines, 1, MaxVisibleLines));
    if (wanted != height())
        setFixedHeight(wanted);

    const bool empty = document()->isEmpty();
    if (empty) {
        m_mentioned.clear();
        m_keptMentions.clear();
        m_idle.stop();
        if (m_typing) {
            m_typing = false;
            Q_EMIT typingChanged(false);
        }
        return;
    }
    if (m_restoring)
        return; // a draft put back: nobody is typing
    m_idle.start();
    // Repeat while typing: the client throttles; others forget a silent typist.
    m_typing = true;
    Q_EMIT typingChanged(true);
}

QStringList Composer::localFiles(const QMimeData *source)
{
    QStringList paths;
    if (!source->hasUrls())
        return paths;
    for (const QUrl &url : source->urls()) {
        if (!url.isLocalFile() || !QFileInfo(url.toLocalFile()).isFile())
            return {};
        paths.append(url.toLocalFile());
    }
    return paths;
}

bool Composer::canInsertFromMimeData(const QMimeData *source) const
{
    if (!source || source->formats().isEmpty())
        return false;
    return !localFiles(source).isEmpty() || source->hasImage() ||
           QPlainTextEdit::canInsertFromMimeData(source);
}

void Composer::insertFromMimeData(const QMimeData *source)
{
    // Nothing to paste (a session where nothing was copied, an empty drag):
    // Qt 6.4's own insertFromMimeData reads the first of no formats and
    // crashes, taking the draft with it.
    if (!source || source->formats().isEmpty())
        return;
    // Files are shared, not pasted as their paths; an image alone (a
    // screenshot) is shared as a picture, while text copied with a picture of
    // itself (a spreadsheet's cells) stays text.
    if (const QStringList files = localFiles(source); !files.isEmpty()) {
        Q_EMIT filesPasted(files);
        return;
    }
    if (source->hasImage() && source->text().trimmed().isEmpty()) {
        const QImage image = qvariant_cast<QImage>(source->imageData());
        if (!image.isNull()) {
            Q_EMIT imagePasted(image);
            return;
        }
    }
    QPlainTextEdit::insertFromMimeData(source);
}

} // namespace Natter
