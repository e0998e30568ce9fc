#include "ui/messagedelegate.h"

#include "common/messagelistmodel.h"
#include "common/textlinks.h"
#include "ui/attachmentimages.h"
#include "ui/emoji.h"
#include "ui/messagepalette.h"
#include "ui/plaintext.h"
#include "ui/sidebardelegates.h"
#include "ui/typography.h"

#include <QAbstractItemView>
#include <QApplication>
#include <QHelpEvent>
#include <QLocale>
#include <QMimeDatabase>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QPlainTextEdit>
#include <QRegularExpression>
#include <QTextLayout>
#include <QTimeZone>
#include <QToolTip>

#include <cmath>
#include <limits>
#include <optional>

using namespace Qt::StringLiterals;

namespace Natter {

using namespace MessagePalette;

namespace {

// Messages from one sender closer together than this share one header.
constexpr qint64 GroupWindowSeconds = 5 * 60;

enum LayoutFlag
{
    NewDay = 1,
    StartsGroup = 2,
    Own = 4,
    Unread = 8, // "New messages" above the row
};
constexpr int DeliveryShift = 4;

QString dayText(const QDate &day)
{
    const QDate today = QDate::currentDate();
    if (day == today)
        return MessageDelegate::tr("Today");
    if (day == today.addDays(-1))
        return MessageDelegate::tr("Yesterday");
    return QLocale().toString(day, QLocale::LongFormat);
}

// QTextLayout breaks lines only at U+2028; keep the length so link ranges hold.
QString textForLayout(const QString &text)
{
    QString display = text;
    for (QChar &c : display) {
        if (c == u'\n')
            c = QChar::LineSeparator;
        else if (c == u'\r' || c == u'\t')
            c = u' ';
    }
    return display;
}

// The locale's short time format without seconds (the C locale's has them).
QString shortTimeFormat()
{
    static const QString format = [] {
        QString f = QLocale().timeFormat(QLocale::ShortFormat);
        f.remove(QStringLiteral(":ss"));
        f.remove(QStringLiteral(".ss"));
        return f;
    }();
    return format;
}

// Links as links, and the names a message calls (@name) as chips: format
// ranges drawn by the same layout that measured.
QList<QTextLayout::FormatRange> textFormats(const QModelIndex &index, const QColor &linkColor,
                                            const QPalette &palette)
{
    QList<QTextLayout::FormatRange> formats;
    if (index.data(MessageListModel::IsDeletedRole).toBool())
        return formats;
    const QString text = index.data(MessageListModel::TextRole).toString();
    for (const TextLink &link : findLinks(text)) {
        QTextLayout::FormatRange range;
        range.start = link.start;
        range.length = link.length;
        range.format.setForeground(linkColor);
        range.format.setFontUnderline(true);
        formats.append(range);
    }
    if (!index.data(MessageListModel::MentionsRole).toStringList().isEmpty()) {
        // The composer writes a mention as "@" and the person's name; the
        // message carries who it means (emails), so any "@word" is shown as one.
        static const QRegularExpression mention(u"(?<![\\w@])@[^\\s@,.;:!?]+"_s);
        for (auto it = mention.globalMatch(text); it.hasNext();) {
            const QRegularExpressionMatch match = it.next();
            QTextLayout::FormatRange range;
            range.start = int(match.capturedStart());
            range.length = int(match.capturedLength());
            range.format.setFontWeight(QFont::DemiBold);
            range.format.setForeground(palette.color(QPalette::Text));
            range.format.setBackground(chipBackground(palette, true));
            formats.append(range);
        }
    }
    return formats;
}

bool isFailed(const QModelIndex &index)
{
    return index.data(MessageListModel::IsOwnRole).toBool() &&
           index.data(MessageListModel::DeliveryStateRole).value<MessageListModel::DeliveryState>() ==
               MessageListModel::DeliveryState::Failed;
}

} // namespace

struct MessageDelegate::Metrics
{
    int width = 0;
    QFont font;
    QFont senderFont;
    QFont smallFont;
    int lineHeight;
    int smallLineHeight;
    int margin;
    int padH;
    int padV;
    int groupGap;
    int innerGap;
    int radius;
    int maxBubbleWidth;
    int avatarSize;    ///< 28-32 px, with the font
    int avatarColumn;  ///< what others' messages are indented by: the avatar and a gap
    int compactIndent; ///< compact: the avatar's column, wide enough for a time shown in it
    int columnLeft;    ///< the reading column: at most about a hundred characters wide, centred
    int columnWidth;
    std::unique_ptr<QFontMetrics> footerMetrics;
};

MessageDelegate::MessageDelegate(QObject *parent)
    : QStyledItemDelegate(parent)
{}

MessageDelegate::~MessageDelegate() = default;

int MessageDelegate::rowWidth(const QStyleOptionViewItem &option)
{
    // Views ask for size hints with an empty rect; rows span the viewport.
    if (option.rect.width() > 0)
        return option.rect.width();
    if (const auto *view = qobject_cast<const QAbstractItemView *>(option.widget))
        return view->viewport()->width();
    return 0;
}

const MessageDelegate::Metrics &MessageDelegate::metrics(const QStyleOptionViewItem &option) const
{
    // Fonts and metrics are the same for every row of a view: computed once
    // per font and width, not per row.
    const int width = rowWidth(option);
    if (m_metrics && m_metrics->width == width && m_metrics->font == option.font)
        return *m_metrics;
    m_metrics = std::make_unique<Metrics>();
    Metrics &m = *m_metrics;
    m.width = width;
    m.font = option.font;
    m.senderFont = scaledFont(option.font, TypeScale::Body, true);
    m.smallFont = scaledFont(option.font, TypeScale::Meta);
    const QFontMetrics fm(m.font);
    const QFontMetrics small(m.smallFont);
    // Everything scales with the font, so large fonts and HiDPI keep proportions.
    m.lineHeight = fm.height();
    m.smallLineHeight = small.height();
    m.margin = std::max(8, fm.height() * 3 / 4);
    m.padH = std::max(6, fm.height() * 3 / 5);
    m.padV = std::max(4, fm.height() * 2 / 5);
    m.groupGap = std::max(6, fm.height() * 3 / 5);
    m.innerGap = 2;
    m.radius = std::max(6, fm.height() * 3 / 5);
    m.avatarSize = std::clamp(fm.height() * 7 / 4, 28, 32);
    m.avatarColumn = m.avatarSize + m.padH / 2 + 2;
    m.columnWidth = std::min(width, fm.averageCharWidth() * 110);
    m.columnLeft = (width - m.columnWidth) / 2;
    const int available = std::max(0, m.columnWidth - 2 * m.margin);
    m.maxBubbleWidth = std::max(std::min(available, 4 * fm.height()),
                                std::min(available * 3 / 4, fm.averageCharWidth() * 64));
    m.footerMetrics = std::make_unique<QFontMetrics>(m.smallFont);
    const QString latestTime = QLocale().toString(QTime(23, 58), shortTimeFormat());
    m.compactIndent = std::max(m.avatarColumn, m.footerMetrics->horizontalAdvance(latestTime) + m.padH);
    return m;
}

bool MessageDelegate::startsGroup(const QModelIndex &index, bool *newDay) const
{
    // Called for every row on every relayout: integers only, and the local
    // time's offset from UTC looked up only when a message falls outside the
    // span between two of the zone's transitions (DST) seen last.
    const QModelIndex previous = index.siblingAtRow(index.row() - 1);
    if (!previous.isValid()) {
        *newDay = true;
        return true;
    }
    return startsGroup(rowKey(index), rowKey(previous), newDay);
}

bool MessageDelegate::startsGroup(const RowLayoutKey &row, const RowLayoutKey &before, bool *newDay) const
{
    const qint64 ms = row.timestampMs;
    const qint64 previousMs = before.timestampMs;
    constexpr qint64 DayMs = 24 * 3600 * 1000;
    const auto localDay = [this](qint64 utcMs) {
        const qint64 local = utcMs + localOffsetMs(utcMs);
        return local >= 0 ? local / DayMs : (local - DayMs + 1) / DayMs;
    };
    *newDay = localDay(ms) != localDay(previousMs);
    return *newDay || ms - previousMs > GroupWindowSeconds * 1000 || before.senderEmail != row.senderEmail;
}

qint64 MessageDelegate::localOffsetMs(qint64 utcMs) const
{
    if (utcMs >= m_offsetFromMs && utcMs < m_offsetUntilMs)
        return m_offsetMs;
    const QTimeZone zone = QTimeZone::systemTimeZone();
    const QDateTime at = QDateTime::fromMSecsSinceEpoch(utcMs, Qt::UTC);
    m_offsetMs = qint64(zone.offsetFromUtc(at)) * 1000;
    const QTimeZone::OffsetData before = zone.previousTransition(at.addMSecs(1));
    const QTimeZone::OffsetData after = zone.nextTransition(at);
    m_offsetFromMs =
        before.atUtc.isValid() ? before.atUtc.toMSecsSinceEpoch() : std::numeric_limits<qint64>::min();
    m_offsetUntilMs =
        after.atUtc.isValid() ? after.atUtc.toMSecsSinceEpoch() : std::numeric_limits<qint64>::max();
    if (!zone.hasTransitions()) { // a fixed offset (or no zone data): one span for all time
        m_offsetFromMs = std::numeric_limits<qint64>::min();
        m_offsetUntilMs = std::numeric_limits<qint64>::max();
    }
    return m_offsetMs;
}

std::shared_ptr<QTextLayout> MessageDelegate::layoutText(const QModelIndex &index, const QFont &font,
                                                         int maxWidth, TextSize *size)
{
    const bool deleted = index.data(MessageListModel::IsDeletedRole).toBool();
    QFont textFont = font;
    textFont.setItalic(deleted);
    const QString text = textForLayout(displayText(index));
    auto layout = std::make_shared<QTextLayout>(text, textFont);
    // Emoji in colour: the colour font named for them when shaping, not the
    // text font's black glyphs (draw-time formats cannot change a font).
    if (const QString emoji = Emoji::family(); !emoji.isEmpty()) {
        QList<QTextLayout::FormatRange> emojiFormats;
        for (const Emoji::Run &run : Emoji::runs(text)) {
            QTextLayout::FormatRange range;
            range.start = run.start;
            range.length = run.length;
            range.format.setFontFamilies({emoji});
            emojiFormats.append(range);
        }
        if (!emojiFormats.isEmpty())
            layout->setFormats(emojiFormats);
    }
    QTextOption textOption;
    textOption.setWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    textOption.setTextDirection(Qt::LeftToRight);
    layout->setTextOption(textOption);
    layout->setCacheEnabled(true);
    layout->beginLayout();
    for (QTextLine line = layout->createLine(); line.isValid(); line = layout->createLine()) {
        line.setLineWidth(maxWidth);
        line.setPosition(QPointF(0, size->height));
        size->height += line.height();
        size->last = line.naturalTextWidth();
        size->widest = std::max(size->widest, size->last);
    }
    layout->endLayout();
    return layout;
}

QString MessageDelegate::displayText(const QModelIndex &index)
{
    if (index.data(MessageListModel::IsDeletedRole).toBool())
        return tr("Message deleted");
    // A shared file's name and size are on its card: the text is its caption.
    return index.data(MessageListModel::TextRole).toString();
}

namespace {

Attachment attachmentOf(const QModelIndex &index)
{
    if (index.data(MessageListModel::IsDeletedRole).toBool())
        return {};
    return index.data(MessageListModel::AttachmentRole).value<Attachment>();
}

bool hasAttachment(const Attachment &attachment)
{
    return attachment.isValid() || !attachment.name.isEmpty();
}

/// A caption-less file: no text line under the card.
bool captionless(const QModelIndex &index)
{
    return hasAttachment(attachmentOf(index)) && index.data(MessageListModel::TextRole).toString().isEmpty();
}

QString timeLeft(qint64 seconds)
{
    if (seconds < 60)
        return MessageDelegate::tr("%n s left", nullptr, int(std::max<qint64>(1, seconds)));
    if (seconds < 3600)
        return MessageDelegate::tr("%n min left", nullptr, int((seconds + 59) / 60));
    return MessageDelegate::tr("%n h left", nullptr, int((seconds + 3599) / 3600));
}

} // namespace

QSize MessageDelegate::imageSize(const ImageInfo &image, const QSize &box)
{
    if (!image.isValid() || box.isEmpty())
        return box;
    QSize size(image.width, image.height);
    if (size.width() > box.width() || size.height() > box.height())
        size = size.scaled(box, Qt::KeepAspectRatio);
    // A panorama or a one-pixel line stays something one can see and click.
    const int least = 8;
    return size.expandedTo(QSize(std::min(least, box.width()), std::min(least, box.height())));
}

QString MessageDelegate::transferText(const Attachment &attachment, const Transfer &transfer)
{
    const QLocale locale;
    if (!transfer.error.isEmpty())
        return transfer.error;
    if (!transfer.isActive())
        return locale.formattedDataSize(attachment.size);
    if (transfer.paused) {
        if (transfer.done <= 0 || transfer.total <= 0)
            return tr("Paused — waiting for the server");
        return tr("%1 of %2 · Paused — waiting for the server")
            .arg(locale.formattedDataSize(transfer.done, 1), locale.formattedDataSize(transfer.total, 1));
    }
    if (transfer.bytesPerSecond <= 0) {
        if (transfer.done == 0 && transfer.kind == Transfer::Kind::Upload && transfer.prepared > 0 &&
            transfer.total > 0)
            return tr("Preparing… %1%").arg(transfer.prepared * 100 / transfer.total);
        if (transfer.done == 0)
            return transfer.kind == Transfer::Kind::Upload ? tr("Preparing…") : tr("Waiting…");
        return tr("%1 of %2")
            .arg(locale.formattedDataSize(transfer.done, 1), locale.formattedDataSize(transfer.total, 1));
    }
    const qint64 left = (std::max<qint64>(0, transfer.total - transfer.done) + transfer.bytesPerSecond - 1) /
                        transfer.bytesPerSecond;
    return tr("%1 of %2 · %3/s · %4")
        .arg(locale.formattedDataSize(transfer.done, 1), locale.formattedDataSize(transfer.total, 1),
             locale.formattedDataSize(transfer.bytesPerSecond, 1), timeLeft(left));
}

QSize MessageDelegate::attachmentSize(const QStyleOptionViewItem &option, const QModelIndex &index,
                                      int maxWidth) const
{
    const Attachment attachment = attachmentOf(index);
    if (!hasAttachment(attachment))
        return {};
    const Metrics &m = metrics(option);
    if (attachment.isImage())
        return imageSize(attachment.image, QSize(std::min(maxWidth, m.lineHeight * 22), m.lineHeight * 18));
    // A card: the type's icon, the name, and a line for the size or the progress (and its bar).
    const int height = 2 * m.padV + m.lineHeight + m.smallLineHeight + 3 * m.innerGap + 4;
    return QSize(std::min(maxWidth, m.footerMetrics->averageCharWidth() * 60), height);
}

const QIcon &MessageDelegate::fileIcon(const QString &mime, const QWidget *widget) const
{
    auto it = m_fileIcons.find(mime);
    if (it == m_fileIcons.end()) {
        const QMimeType type = QMimeDatabase().mimeTypeForName(mime);
        QIcon icon = QIcon::fromTheme(type.iconName(), QIcon::fromTheme(type.genericIconName()));
        if (icon.isNull()) {
            QStyle *style = widget ? widget->style() : QApplication::style();
            icon = style->standardIcon(QStyle::SP_FileIcon);
        }
        it = m_fileIcons.insert(mime, icon);
    }
    return *it;
}

QRect MessageDelegate::cancelRect(const QStyleOptionViewItem &option, const Layout &l) const
{
    const Metrics &m = metrics(option);
    const int side = m.lineHeight + m.innerGap * 2;
    if (l.image)
        return QRect(l.attachment.right() - side - m.padV + 1, l.attachment.top() + m.padV, side, side);
    return QRect(l.attachment.right() - side - m.padH / 2 + 1, l.attachment.center().y() - side / 2, side,
                 side);
}

void MessageDelegate::cardLinks(const QStyleOptionViewItem &option, const Layout &l, QRect *open,
                                QRect *folder) const
{
    const Metrics &m = metrics(option);
    const int iconSide = std::min(32, m.lineHeight * 2);
    const int x = l.attachment.left() + m.padH / 2 + iconSide + m.padH / 2;
    const int y = l.attachment.top() + m.padV + m.lineHeight + m.innerGap;
    const int openWidth = m.footerMetrics->horizontalAdvance(tr("Open"));
    const int folderWidth = m.footerMetrics->horizontalAdvance(tr("Show in Folder"));
    // Right-aligned on the status line, the size stays at its left.
    const int right = l.attachment.right() - m.padH / 2;
    *folder = QRect(right - folderWidth + 1, y, folderWidth, m.smallLineHeight);
    *open = QRect(folder->left() - m.padH - openWidth, y, openWidth, m.smallLineHeight);
    if (open->left() < x) { // too narrow for both: Open only
        *open = QRect(right - openWidth + 1, y, openWidth, m.smallLineHeight);
        *folder = QRect();
    }
}

QList<QPair<QRect, MessageDelegate::AttachmentAction>>
MessageDelegate::attachmentActions(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    QList<QPair<QRect, AttachmentAction>> actions;
    const Layout l = layout(option, index);
    if (l.attachment.isNull())
        return actions;
    const auto transfer = index.data(MessageListModel::TransferRole).value<Transfer>();
    if (transfer.isActive())
        actions.append({cancelRect(option, l), AttachmentAction::Cancel});
    if (!l.image && !transfer.isActive() && !transfer.localPath.isEmpty() &&
        index.data(MessageListModel::IdRole).toLongLong() > 0) {
        QRect open;
        QRect folder;
        cardLinks(option, l, &open, &folder);
        actions.append({open, AttachmentAction::Open});
        if (!folder.isNull())
            actions.append({folder, AttachmentAction::ShowInFolder});
    }
    // The rest of the card or image opens it (a pending upload has nothing to open yet).
    if (index.data(MessageListModel::IdRole).toLongLong() > 0 && !transfer.isActive())
        actions.append({l.attachment, AttachmentAction::Open});
    return actions;
}

void MessageDelegate::paintAttachment(QPainter *painter, const QStyleOptionViewItem &option,
                                      const QModelIndex &index, const Layout &l, const QColor &background,
                                      const QColor &foreground) const
{
    const Metrics &m = metrics(option);
    const QPalette &palette = option.palette;
    const Attachment attachment = attachmentOf(index);
    const auto transfer = index.data(MessageListModel::TransferRole).value<Transfer>();
    const QColor &text = foreground;
    // On the accent of the user's own bubble, the bar and the links take the bubble's text colour.
    const bool onAccent = l.own && !l.compact;
    const QString status = transferText(attachment, transfer);
    const bool failed = !transfer.error.isEmpty();
    const QRect cancel = transfer.isActive() ? cancelRect(option, l) : QRect();
    const auto paintCancel = [&](const QColor &fill, const QColor &mark) {
        if (cancel.isNull())
            return;
        painter->setPen(Qt::NoPen);
        painter->setBrush(fill);
        painter->drawEllipse(cancel);
        painter->setPen(QPen(mark, std::max(1.5, m.lineHeight / 10.0), Qt::SolidLine, Qt::RoundCap));
        const QRectF cross = QRectF(cancel).adjusted(cancel.width() * 0.33, cancel.height() * 0.33,
                                                     -cancel.width() * 0.33, -cancel.height() * 0.33);
        painter->drawLine(cross.topLeft(), cross.bottomRight());
        painter->drawLine(cross.topRight(), cross.bottomLeft());
    };
    const qreal fraction = transfer.isActive() && transfer.total > 0
                               ? std::clamp(double(transfer.done) / transfer.total, 0.0, 1.0)
                               : 0;

    if (l.image) {
        QPainterPath clip;
        clip.addRoundedRect(QRectF(l.attachment), m.radius / 2.0, m.radius / 2.0);
        painter->save();
        painter->setClipPath(clip, Qt::IntersectClip);
        const qreal dpr =
            option.widget ? option.widget->devicePixelRatioF() : painter->device()->devicePixelRatioF();
        const QPixmap picture =
            m_images ? m_images->picture(attachment, transfer, l.attachment.size(), dpr) : QPixmap();
        if (picture.isNull()) {
            // Where the picture goes, at its size, until it is here: the page does not jump.
            painter->fillRect(l.attachment, mix(background, text, 0.12));
        } else {
            painter->drawPixmap(l.attachment, picture);
        }
        if (transfer.isActive() || failed) {
            const int stripHeight = m.smallLineHeight + m.padV * 2;
            const QRect strip(l.attachment.left(), l.attachment.bottom() + 1 - stripHeight,
                              l.attachment.width(), stripHeight);
            painter->fillRect(strip, QColor(0, 0, 0, 150));
            if (fraction > 0)
                painter->fillRect(QRect(strip.left(), strip.bottom() - 2, int(strip.width() * fraction), 3),
                                  palette.color(QPalette::Highlight));
            painter->setFont(m.smallFont);
            painter->setPen(failed ? QColor(255, 170, 170) : QColor(Qt::white));
            painter->drawText(strip.adjusted(m.padH / 2, 0, -m.padH / 2, 0), Qt::AlignLeft | Qt::AlignVCenter,
                              m.footerMetrics->elidedText(status, Qt::ElideRight, strip.width() - m.padH));
            paintCancel(QColor(0, 0, 0, 150), Qt::white);
        }
        painter->restore();
        return;
    }

    // A card: the type's icon, the name (the sender's words: characters), the status line.
    painter->setPen(Qt::NoPen);
    painter->setBrush(mix(background, text, 0.07));
    painter->drawRoundedRect(l.attachment, m.radius / 2.0, m.radius / 2.0);
    const int iconSide = std::min(32, m.lineHeight * 2);
    const QRect iconRect(l.attachment.left() + m.padH / 2, l.attachment.center().y() - iconSide / 2, iconSide,
                         iconSide);
    fileIcon(attachment.mime, option.widget).paint(painter, iconRect);
    const int x = iconRect.right() + 1 + m.padH / 2;
    const int right = (cancel.isNull() ? l.attachment.right() : cancel.left()) - m.padH / 2;
    const QRect nameRect(x, l.attachment.top() + m.padV, right - x + 1, m.lineHeight);
    QFont nameFont = m.font;
    nameFont.setWeight(QFont::DemiBold);
    painter->setFont(nameFont);
    painter->setPen(text);
    painter->drawText(nameRect, Qt::AlignLeft | Qt::AlignVCenter,
                      QFontMetrics(nameFont).elidedText(attachment.name, Qt::ElideMiddle, nameRect.width()));
    QRect statusRect(x, nameRect.bottom() + 1 + m.innerGap, right - x + 1, m.smallLineHeight);
    painter->setFont(m.smallFont);
    const QColor secondary = mix(background, text, 0.6);
    const bool local = !transfer.isActive() && !transfer.localPath.isEmpty() &&
                       index.data(MessageListModel::IdRole).toLongLong() > 0;
    if (local) {
        QRect open;
        QRect folder;
        cardLinks(option, l, &open, &folder);
        painter->setPen(onAccent ? foreground : bubbleColors(palette, false).link);
        painter->drawText(open, Qt::AlignLeft | Qt::AlignVCenter, tr("Open"));
        if (!folder.isNull())
            painter->drawText(folder, Qt::AlignLeft | Qt::AlignVCenter, tr("Show in Folder"));
        statusRect.setRight(open.left() - m.padH);
    }
    painter->setPen(failed && !onAccent ? failedColor(palette) : secondary);
    painter->drawText(statusRect, Qt::AlignLeft | Qt::AlignVCenter,
                      m.footerMetrics->elidedText(status, Qt::ElideRight, statusRect.width()));
    if (transfer.isActive()) {
        const QRect track(x, statusRect.bottom() + 1 + m.innerGap, right - x + 1, 4);
        painter->setBrush(mix(background, text, 0.18));
        painter->drawRoundedRect(track, 2, 2);
        painter->setBrush(onAccent ? foreground : palette.color(QPalette::Highlight));
        if (fraction > 0)
            painter->drawRoundedRect(
                QRect(track.left(), track.top(), std::max(4, int(track.width() * fraction)), 4), 2, 2);
        paintCancel(mix(background, text, 0.15), text);
    }
}

bool MessageDelegate::startsUnread(const QModelIndex &index) const
{
    if (m_readMarker <= 0)
        return false;
    if (const qint64 id = index.data(MessageListModel::IdRole).toLongLong(); id <= m_readMarker)
        return false;
    const QModelIndex previous = index.siblingAtRow(index.row() - 1);
    return previous.isValid() && previous.data(MessageListModel::IdRole).toLongLong() <= m_readMarker &&
           previous.data(MessageListModel::IdRole).toLongLong() > 0;
}

void MessageDelegate::setReadMarker(qint64 id)
{
    if (id == m_readMarker)
        return;
    m_readMarker = id;
    // Cached heights are keyed by the flag, so the old ones simply stop matching.
}

int MessageDelegate::quoteHeight(const QStyleOptionViewItem &option) const
{
    const Metrics &m = metrics(option);
    return 2 * m.smallLineHeight + m.padV;
}

int MessageDelegate::layoutChips(const QModelIndex &index, int x, int y, int width, bool alignRight,
                                 QList<Layout::Chip> *chips) const
{
    const auto reactions = index.data(MessageListModel::ReactionsRole).value<QList<Reaction>>();
    if (reactions.isEmpty() || index.data(MessageListModel::IsDeletedRole).toBool())
        return 0;
    const QFontMetrics &fm = *m_metrics->footerMetrics;
    const int height = m_metrics->smallLineHeight + m_metrics->padV;
    const int gap = std::max(3, m_metrics->padH / 2);
    int lineX = 0;
    int lineY = y;
    int lineStart = int(chips->size());
    const auto alignLine = [&](int used) {
        if (!alignRight)
            return;
        for (int i = lineStart; i < chips->size(); ++i)
            (*chips)[i].rect.translate(width - used, 0);
    };
    for (const Reaction &reaction : reactions) {
        // The emoji's width from its cached picture: measuring it would decode its PNG each time.
        const QPixmap &picture = emojiPixmap(reaction.emoji);
        const int chipWidth = int(picture.width() / picture.devicePixelRatio()) +
                              fm.horizontalAdvance(u' ' + QLocale().toString(reaction.count)) +
                              2 * m_metrics->padH;
        if (lineX > 0 && lineX + chipWidth > width) {
            alignLine(lineX - gap);
            lineX = 0;
            lineY += height + gap;
            lineStart = int(chips->size());
        }
        chips->append(Layout::Chip{QRect(x + lineX, lineY, chipWidth, height), reaction.emoji, reaction.count,
                                   reaction.mine});
        lineX += chipWidth + gap;
    }
    alignLine(lineX - gap);
    return lineY + height - y;
}

const QPixmap &MessageDelegate::emojiPixmap(const QString &emoji) const
{
    // A reaction's emoji drawn once per size: colour emoji are PNGs inside
    // the font, and shaping or drawing them as text decodes them every time.
    const QFont &font = m_metrics->smallFont;
    const QString key = emoji + u'\x1f' + QString::number(font.pointSizeF()) + u'\x1f' + font.family();
    if (const auto it = m_emoji.constFind(key); it != m_emoji.cend())
        return *it;
    if (m_emoji.size() > 500)
        m_emoji.clear();
    const QFontMetrics fm(Emoji::font(font));
    const qreal ratio = qApp ? qApp->devicePixelRatio() : 1.0;
    const QSize size(std::max(1, fm.horizontalAdvance(emoji)), fm.height());
    QPixmap picture((QSizeF(size) * ratio).toSize());
    picture.setDevicePixelRatio(ratio);
    picture.fill(Qt::transparent);
    QPainter painter(&picture);
    painter.setFont(Emoji::font(font)); // in colour, whatever the text font has for it
    painter.setPen(QGuiApplication::palette().color(QPalette::Text));
    painter.drawText(QRect(QPoint(0, 0), size), Qt::AlignCenter, emoji);
    painter.end();
    return *m_emoji.insert(key, picture);
}

void MessageDelegate::setStyle(Style style)
{
    if (style == m_style)
        return;
    m_style = style;
    clearCache();
}

MessageDelegate::CacheKey MessageDelegate::cacheKey(const QModelIndex &index, bool group, bool newDay) const
{
    // Edits, deletions, reply quotes and reactions change a row's height (the
    // model's revision), and so does the delivery state (the footer).
    return cacheKey(rowKey(index), startsUnread(index), group, newDay);
}

MessageDelegate::CacheKey MessageDelegate::cacheKey(const RowLayoutKey &row, bool unread, bool group,
                                                    bool newDay)
{
    return CacheKey{row.id, row.clientId.isEmpty() ? 0 : qHash(row.clientId),
                    (newDay ? NewDay : 0) | (group ? StartsGroup : 0) | (row.own ? Own : 0) |
                        (unread ? Unread : 0) | row.delivery << DeliveryShift,
                    row.revision};
}

MessageDelegate::Layout MessageDelegate::layout(const QStyleOptionViewItem &option,
                                                const QModelIndex &index) const
{
    // Rows on screen are painted, hovered and hit-tested again and again:
    // shaping their text once (an emoji costs a PNG decode in FreeType) is
    // what keeps that cheap.
    const int width = rowWidth(option);
    if (width != m_layoutWidth || m_layoutFont != option.font) {
        m_layouts.clear();
        m_layoutWidth = width;
        m_layoutFont = option.font;
    }
    bool newDay = false;
    const bool group = startsGroup(index, &newDay);
    const LayoutKey key{
        cacheKey(index, group, newDay),
        qHashMulti(0, displayText(index), index.data(MessageListModel::SenderLabelRole).toString())};
    if (const Layout *cached = m_layouts.object(key))
        return *cached;
    Layout l = m_style == Style::Compact ? compactLayout(option, index) : bubbleLayout(option, index);
    m_layouts.insert(key, new Layout(l));
    return l;
}

MessageDelegate::Layout MessageDelegate::bubbleLayout(const QStyleOptionViewItem &option,
                                                      const QModelIndex &index) const
{
    const Metrics &m = metrics(option);
    const int width = m.columnWidth;
    const int left = m.columnLeft;
    Layout l;
    bool newDay = false;
    const bool group = startsGroup(index, &newDay);
    l.own = index.data(MessageListModel::IsOwnRole).toBool();
    l.showDay = newDay;
    l.showSender = group && !l.own;

    int y = group ? m.groupGap : m.innerGap;
    const QDateTime time = index.data(MessageListModel::TimestampRole).toDateTime().toLocalTime();
    if (l.showDay) {
        l.dayText = dayText(time.date());
        l.day = QRect(left, y, width, m.lineHeight + m.padV);
        y += l.day.height() + m.padV;
    }
    if (startsUnread(index)) {
        l.divider = QRect(left, y, width, m.smallLineHeight + m.padV);
        y += l.divider.height() + m.padV;
    }
    // Others' messages sit right of an avatar column; the avatar shows at a group's first message.
    const int indent = l.own ? 0 : m.avatarColumn;
    if (l.showSender) {
        l.sender = QRect(left + m.margin + indent + m.padH, y,
                         std::max(0, width - 2 * (m.margin + m.padH) - indent), m.lineHeight);
        l.avatar = QRect(left + m.margin, y, m.avatarSize, m.avatarSize);
        y += m.lineHeight + m.innerGap;
    }

    const int maxTextWidth =
        std::max(1, std::min(m.maxBubbleWidth, width - 2 * m.margin - indent) - 2 * m.padH);
    TextSize size;
    l.textLayout = layoutText(index, m.font, maxTextWidth, &size);
    const bool noCaption = captionless(index);
    const qreal textHeight = noCaption ? 0 : size.height;
    const qreal naturalWidth = noCaption ? 0 : size.widest;
    const qreal lastLineWidth = noCaption ? 0 : size.last;
    const QSize fileSize = attachmentSize(option, index, maxTextWidth);

    QString timeText = QLocale().toString(time.time(), shortTimeFormat());
    if (l.own) {
        switch (index.data(MessageListModel::DeliveryStateRole).value<MessageListModel::DeliveryState>()) {
        case MessageListModel::DeliveryState::Sending:
            timeText = tr("%1 · Sending…").arg(timeText);
            break;
        case MessageListModel::DeliveryState::Sent:
            timeText = tr("%1 ✓").arg(timeText);
            break;
        case MessageListModel::DeliveryState::Failed:
            timeText = tr("Not sent · Retry");
            break;
        }
    }
    if (index.data(MessageListModel::EditedRole).toDateTime().isValid() &&
        !index.data(MessageListModel::IsDeletedRole).toBool())
        timeText = tr("edited · %1").arg(timeText);
    l.footerText = timeText;
    const int footerWidth = m.footerMetrics->horizontalAdvance(l.footerText);
    const int textHeightPx = int(std::ceil(textHeight));
    // The time goes at the end of the last line when it fits there (so a
    // one-line message costs one line), else on a line of its own below.
    const int inlineWidth = int(std::ceil(lastLineWidth)) + m.padH + footerWidth;
    const bool inlineFooter = inlineWidth <= maxTextWidth && !noCaption;
    const auto reply = index.data(MessageListModel::ReplyRole).value<ReplyPreview>();
    // Room for about 30 characters of the quote (it is elided to fit): a
    // width that needs no shaping of the quoted text, which may hold emoji.
    const int quoteWidth =
        reply.id > 0 ? std::min(maxTextWidth, m.footerMetrics->averageCharWidth() * 30 + m.padH * 2) : 0;
    const int contentWidth = std::min(
        maxTextWidth, std::max({int(std::ceil(naturalWidth)), inlineFooter ? inlineWidth : footerWidth,
                                quoteWidth, fileSize.isValid() ? fileSize.width() : 0}));
    const int bubbleWidth = contentWidth + 2 * m.padH;
    const int bubbleX = left + (l.own ? width - m.margin - bubbleWidth : m.margin + indent);
    const int footerHeight = inlineFooter ? 0 : m.innerGap + m.smallLineHeight;
    const int quoteSpace = reply.id > 0 ? quoteHeight(option) + m.padV / 2 : 0;
    const int fileSpace = fileSize.isValid() ? fileSize.height() + (noCaption ? 0 : m.padV / 2) : 0;
    l.bubble = QRect(bubbleX, y, bubbleWidth,
                     m.padV + quoteSpace + fileSpace + textHeightPx + footerHeight + m.padV);
    if (reply.id > 0) {
        l.quote = QRect(bubbleX + m.padH, y + m.padV, contentWidth, quoteHeight(option));
        l.quoteCache = std::make_shared<Layout::QuoteCache>();
    }
    if (fileSize.isValid()) {
        l.attachment = QRect(QPoint(bubbleX + m.padH, y + m.padV + quoteSpace), fileSize);
        l.image = attachmentOf(index).isImage();
    }
    l.text = QRect(bubbleX + m.padH, y + m.padV + quoteSpace + fileSpace, contentWidth, textHeightPx);
    if (inlineFooter)
        l.footer = QRect(l.text.right() + 1 - footerWidth, l.text.bottom() + 1 - m.smallLineHeight,
                         footerWidth, m.smallLineHeight);
    else
        l.footer = QRect(l.text.left(), l.text.bottom() + 1 + m.innerGap, contentWidth, m.smallLineHeight);
    int bottom = l.bubble.bottom();
    if (const int chips = layoutChips(
            index, l.own ? left + m.margin + indent : bubbleX, bottom + 1 + m.innerGap * 2,
            l.own ? width - 2 * m.margin - indent : std::max(bubbleWidth, width / 2), l.own, &l.chips);
        chips > 0)
        bottom += m.innerGap * 2 + chips;
    l.height = std::max(bottom, l.avatar.isNull() ? 0 : l.avatar.bottom()) + 1;
    return l;
}

QSize MessageDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const int width = rowWidth(option);
    if (width != m_cacheWidth) {
        m_heights.clear(); // the shapes' bases hold: they do not depend on the width
        m_cacheWidth = width;
    }
    // Every row on every relayout: two calls to the model, one hash lookup.
    const RowLayoutKey row = rowKey(index);
    bool newDay = true;
    bool group = true;
    bool unread = false;
    if (const QModelIndex previous = index.siblingAtRow(index.row() - 1); previous.isValid()) {
        const RowLayoutKey before = rowKey(previous);
        group = startsGroup(row, before, &newDay);
        unread = m_readMarker > 0 && row.id > m_readMarker && before.id > 0 && before.id <= m_readMarker;
    }
    const CacheKey key = cacheKey(row, unread, group, newDay);
    auto it = m_heights.find(key);
    if (it != m_heights.end()) {
        if (*it != 0)
            return QSize(width, std::abs(*it)); // an estimate stays one until the row is painted
    } else {
        if (m_heights.size() > 200'000)
            m_heights.clear();
        if (index.model()->rowCount() > EstimateAboveRows &&
            (index.row() < m_measureFirst || index.row() > m_measureLast)) {
            if (const int estimate = estimatedHeight(option, row, key); estimate > 0) {
                m_heights.insert(key, -estimate);
                return QSize(width, estimate);
            }
        }
        it = m_heights.insert(key, 0);
    }
    const int height = layout(option, index).height;
    *it = height;
    learnShape(option, row, key, height);
    return QSize(width, height);
}

bool MessageDelegate::isEstimated(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    bool newDay = false;
    const bool group = startsGroup(index, &newDay);
    return rowWidth(option) != m_cacheWidth || m_heights.value(cacheKey(index, group, newDay)) <= 0;
}

int MessageDelegate::shapeOf(const RowLayoutKey &row, const CacheKey &key)
{
    return key.flags | (row.reply ? 1 << 20 : 0) | (row.reactions ? 1 << 21 : 0) | (row.image ? 1 << 22 : 0) |
           (row.file ? 1 << 23 : 0) | (row.edited ? 1 << 24 : 0) | (row.deleted ? 1 << 25 : 0);
}

int MessageDelegate::estimatedLines(const QStyleOptionViewItem &option, const RowLayoutKey &row) const
{
    const Metrics &m = metrics(option);
    const int textWidth = m_style == Style::Compact ? m.columnWidth - 2 * m.margin - m.compactIndent
                                                    : m.maxBubbleWidth - 2 * m.padH;
    const int perLine = std::max(8, textWidth / std::max(1, option.fontMetrics.averageCharWidth()));
    return std::max(row.paragraphs, (row.textLength + perLine - 1) / perLine);
}

RowLayoutKey MessageDelegate::rowKey(const QModelIndex &index)
{
    return index.data(MessageListModel::LayoutKeyRole).value<RowLayoutKey>();
}

void MessageDelegate::learnShape(const QStyleOptionViewItem &option, const RowLayoutKey &row,
                                 const CacheKey &key, int height) const
{
    const int base = height - (estimatedLines(option, row) - 1) * metrics(option).lineHeight;
    auto &[sum, count] = m_shapeBase[shapeOf(row, key)];
    if (count < 1000) {
        sum += base;
        ++count;
    }
}

int MessageDelegate::estimatedHeight(const QStyleOptionViewItem &option, const RowLayoutKey &row,
                                     const CacheKey &key) const
{
    const auto base = m_shapeBase.constFind(shapeOf(row, key));
    if (base == m_shapeBase.cend() || base->second < 3)
        return 0; // measure a few of this shape first
    return int(base->first / base->second) + (estimatedLines(option, row) - 1) * metrics(option).lineHeight;
}

void MessageDelegate::clearCache()
{
    m_metrics.reset();
    m_heights.clear();
    m_shapeBase.clear();
    m_layouts.clear();
    m_cacheWidth = -1;
}

void MessageDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                            const QModelIndex &index) const
{
    // Hover comes from the style; a selection marks the bubble, not the row
    // (a chat is read by its bubbles); the text is ours.
    QStyleOptionViewItem styleOption = option;
    initStyleOption(&styleOption, index);
    styleOption.text.clear();
    styleOption.icon = QIcon();
    styleOption.features &= ~QStyleOptionViewItem::HasDisplay;
    styleOption.state &= ~QStyle::State_Selected;
    const QWidget *widget = option.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &styleOption, painter, widget);

    const Layout l = layout(option, index);
    if (rowWidth(option) == m_cacheWidth) {
        // Laid out with an estimate: now it is measured; if the estimate was
        // wrong, the view lays out again.
        bool newDay = false;
        const bool group = startsGroup(index, &newDay);
        const CacheKey key = cacheKey(index, group, newDay);
        if (const auto it = m_heights.find(key); it != m_heights.end() && *it < 0) {
            *it = l.height;
            learnShape(option, rowKey(index), key, l.height);
            if (l.height != option.rect.height() && !m_correctionQueued) {
                m_correctionQueued = true;
                auto *self = const_cast<MessageDelegate *>(this);
                QMetaObject::invokeMethod(
                    self,
                    [self] {
                        self->m_correctionQueued = false;
                        Q_EMIT self->heightsCorrected();
                    },
                    Qt::QueuedConnection);
            }
        }
    }
    const Metrics &m = metrics(option);
    const QPalette &palette = option.palette;
    const QColor text = palette.color(QPalette::Text);
    const bool selected = option.state.testFlag(QStyle::State_Selected);

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->translate(option.rect.topLeft());
    painter->setClipRect(QRect(0, 0, option.rect.width(), option.rect.height()));

    if (l.showDay) {
        painter->setFont(m.smallFont);
        const QColor dim = mix(palette.color(QPalette::Base), text, 0.55);
        const int textWidth = QFontMetrics(m.smallFont).horizontalAdvance(l.dayText) + 2 * m.padH;
        const int centre = l.day.center().x();
        const int lineY = l.day.center().y();
        painter->setPen(QPen(mix(palette.color(QPalette::Base), text, 0.15), 1));
        painter->drawLine(l.day.left() + m.margin, lineY, centre - textWidth / 2, lineY);
        painter->drawLine(centre + textWidth / 2, lineY, l.day.right() - m.margin, lineY);
        painter->setPen(dim);
        painter->drawText(l.day, Qt::AlignCenter, l.dayText);
    }
    if (!l.divider.isNull()) {
        // "New messages": a thin line in the alert colour, its label at the right.
        painter->setFont(m.smallFont);
        const QColor color = newMessagesColor(palette);
        const QString label = tr("New messages");
        const int labelWidth = QFontMetrics(m.smallFont).horizontalAdvance(label);
        const int lineY = l.divider.center().y();
        const QRect labelRect(l.divider.right() - m.margin - labelWidth, l.divider.top(), labelWidth,
                              l.divider.height());
        painter->setPen(QPen(color, 1));
        painter->drawLine(l.divider.left() + m.margin, lineY, labelRect.left() - m.padH, lineY);
        painter->drawText(labelRect, Qt::AlignCenter, label);
    }

    if (l.compact) {
        paintCompact(painter, option, index, l);
        paintExtras(painter, option, index, l);
        painter->restore();
        return;
    }
    if (!l.avatar.isNull()) {
        paintAvatar(painter, l.avatar, index.data(MessageListModel::SenderNameRole).toString(),
                    index.data(MessageListModel::SenderEmailRole).toString(), palette);
    }
    if (l.showSender) {
        painter->setFont(m.senderFont);
        const QString email = index.data(MessageListModel::SenderEmailRole).toString();
        painter->setPen(senderColor(email, palette));
        const QString name = index.data(MessageListModel::SenderLabelRole).toString();
        painter->drawText(l.sender, Qt::AlignLeft | Qt::AlignVCenter,
                          QFontMetrics(m.senderFont).elidedText(name, Qt::ElideRight, l.sender.width()));
    }

    BubbleColors colors = bubbleColors(palette, l.own);
    const bool deleted = index.data(MessageListModel::IsDeletedRole).toBool();
    const bool mentionsMe = !l.own && index.data(MessageListModel::MentionsMeRole).toBool();
    if (deleted) // a quiet tombstone: an outline, no fill, muted words
        colors = bubbleColors(palette, false);
    else if (mentionsMe)
        colors.background = mentionBackground(palette);
    const QColor &textColor = deleted ? colors.secondary : colors.text;
    QPainterPath bubble;
    bubble.addRoundedRect(QRectF(l.bubble), m.radius, m.radius);
    if (deleted) {
        painter->strokePath(bubble,
                            QPen(colors.background.darker(isDark(palette) ? 70 : 115), 1, Qt::DashLine));
    } else {
        painter->fillPath(bubble, colors.background);
    }
    if (mentionsMe && !deleted) {
        const int edge = std::max(3, m.lineHeight / 6);
        painter->save();
        painter->setClipPath(bubble);
        painter->fillRect(QRect(l.bubble.left(), l.bubble.top(), edge, l.bubble.height()),
                          mentionEdge(palette));
        painter->restore();
    }
    if (m_flashing > 0 && index.data(MessageListModel::IdRole).toLongLong() == m_flashing) {
        QColor flash = palette.color(QPalette::Highlight);
        flash.setAlphaF(0.35f);
        painter->fillPath(bubble, flash);
    }
    if (selected) {
        // A ring in the selection colour, inside the bubble so that rows never overlap.
        const qreal ring = std::max(2.0, m.lineHeight / 8.0);
        QPainterPath inner;
        inner.addRoundedRect(QRectF(l.bubble).adjusted(ring / 2, ring / 2, -ring / 2, -ring / 2), m.radius,
                             m.radius);
        painter->strokePath(inner, QPen(palette.color(QPalette::Highlight), ring));
    }

    QPalette chipPalette = palette;
    if (l.own && !deleted) // on the accent colour, the chip is a lighter shade of it
        chipPalette.setColor(QPalette::Base, colors.background.lighter(135));
    const QList<QTextLayout::FormatRange> formats = textFormats(index, colors.link, chipPalette);
    if (!l.attachment.isNull())
        paintAttachment(painter, option, index, l, colors.background, textColor);
    painter->setPen(textColor);
    painter->setFont(m.font);
    if (l.text.height() > 0)
        l.textLayout->draw(painter, l.text.topLeft(), formats);

    paintFooter(painter, option, l, isFailed(index), colors.secondary);
    paintExtras(painter, option, index, l);
    painter->restore();
}

void MessageDelegate::paintExtras(QPainter *painter, const QStyleOptionViewItem &option,
                                  const QModelIndex &index, const Layout &l) const
{
    const Metrics &m = metrics(option);
    const QPalette &palette = option.palette;
    if (!l.quote.isNull()) {
        // The original's sender in their colour and its first line, behind a bar.
        const auto reply = index.data(MessageListModel::ReplyRole).value<ReplyPreview>();
        const BubbleColors colors = bubbleColors(palette, l.own && !l.compact);
        const int bar = std::max(2, m.lineHeight / 8);
        const QColor accent = l.own && !l.compact ? colors.text : senderColor(reply.from.email, palette);
        painter->fillRect(QRect(l.quote.left(), l.quote.top(), bar, l.quote.height()), accent);
        const QRect inner = l.quote.adjusted(bar + m.padH / 2, m.padV / 2, 0, 0);
        QFont nameFont = m.smallFont;
        nameFont.setBold(true);
        painter->setFont(nameFont);
        painter->setPen(accent);
        QFont textFont = m.smallFont;
        textFont.setItalic(reply.deleted);
        // Shaped once per row (the quote may hold emoji), drawn from then on.
        if (!l.quoteCache->name) {
            const auto shaped = [](const QString &text, const QFont &font) {
                auto layout = std::make_shared<QTextLayout>(text, font);
                layout->beginLayout();
                layout->createLine();
                layout->endLayout();
                return layout;
            };
            l.quoteCache->name = shaped(
                QFontMetrics(nameFont).elidedText(reply.from.name, Qt::ElideRight, inner.width()), nameFont);
            const QString preview = reply.deleted ? tr("Original message deleted") : reply.text;
            l.quoteCache->text =
                shaped(QFontMetrics(textFont).elidedText(preview, Qt::ElideRight, inner.width()), textFont);
        }
        l.quoteCache->name->draw(painter, inner.topLeft());
        painter->setPen(colors.secondary);
        l.quoteCache->text->draw(painter, QPointF(inner.left(), inner.top() + m.smallLineHeight));
    }
    for (const Layout::Chip &chip : l.chips) {
        painter->setPen(QPen(chipOutline(palette, chip.mine), 1));
        painter->setBrush(chipBackground(palette, chip.mine));
        painter->drawRoundedRect(QRectF(chip.rect).adjusted(0.5, 0.5, -0.5, -0.5), chip.rect.height() / 2.0,
                                 chip.rect.height() / 2.0);
        const QPixmap &picture = emojiPixmap(chip.emoji);
        const QSize pictureSize = (QSizeF(picture.size()) / picture.devicePixelRatio()).toSize();
        const QPoint at(chip.rect.left() + m.padH, chip.rect.center().y() - pictureSize.height() / 2 + 1);
        painter->drawPixmap(at, picture);
        painter->setFont(m.smallFont);
        painter->setPen(palette.color(QPalette::Text));
        painter->drawText(QRect(at.x() + pictureSize.width(), chip.rect.top(),
                                chip.rect.right() - at.x() - pictureSize.width(), chip.rect.height()),
                          Qt::AlignLeft | Qt::AlignVCenter, u' ' + QLocale().toString(chip.count));
    }
}

void MessageDelegate::paintFooter(QPainter *painter, const QStyleOptionViewItem &option, const Layout &l,
                                  bool failed, const QColor &secondary) const
{
    const Metrics &m = metrics(option);
    painter->setFont(m.smallFont);
    if (failed) {
        // A light chip keeps the red readable on the accent colour.
        painter->setPen(Qt::NoPen);
        painter->setBrush(option.palette.color(QPalette::Base));
        const int chipWidth = m.footerMetrics->horizontalAdvance(l.footerText) + m.padH;
        const QRect chip =
            l.compact ? QRect(l.footer.left(), l.footer.top(), chipWidth, l.footer.height())
                      : QRect(l.footer.right() - chipWidth + 1, l.footer.top(), chipWidth, l.footer.height());
        painter->drawRoundedRect(chip.adjusted(-m.padH / 4, 0, m.padH / 4, 0), m.radius / 2, m.radius / 2);
        painter->setPen(failedColor(option.palette));
        painter->drawText(chip, Qt::AlignCenter, l.footerText);
    } else if (!l.footerText.isEmpty()) {
        painter->setPen(secondary);
        painter->drawText(l.footer, (l.compact ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter,
                          l.footerText);
    }
}

MessageDelegate::Layout MessageDelegate::compactLayout(const QStyleOptionViewItem &option,
                                                       const QModelIndex &index) const
{
    // Slack's rows: [avatar] Name  10:42 / text under the name; later
    // messages of the group are the text alone, their time shown on hover.
    const Metrics &m = metrics(option);
    Layout l;
    l.compact = true;
    bool newDay = false;
    const bool group = startsGroup(index, &newDay);
    l.own = index.data(MessageListModel::IsOwnRole).toBool();
    l.showDay = newDay;
    l.showSender = group;
    int y = group ? m.padV : 0;
    const QDateTime time = index.data(MessageListModel::TimestampRole).toDateTime().toLocalTime();
    if (l.showDay) {
        l.dayText = dayText(time.date());
        l.day = QRect(m.columnLeft, y, m.columnWidth, m.lineHeight + m.padV);
        y += l.day.height() + m.padV;
    }
    if (startsUnread(index)) {
        l.divider = QRect(m.columnLeft, y, m.columnWidth, m.smallLineHeight + m.padV);
        y += l.divider.height() + m.padV;
    }
    const int top = y;
    const int x = m.columnLeft + m.margin + m.compactIndent;
    const int textWidth = std::max(1, m.columnWidth - 2 * m.margin - m.compactIndent);
    l.timeText = QLocale().toString(time.time(), shortTimeFormat());
    const int timeWidth = m.footerMetrics->horizontalAdvance(l.timeText);
    if (group) {
        l.avatar = QRect(m.columnLeft + m.margin, y, m.avatarSize, m.avatarSize);
        // Whole pixels, rounded up: elision measures in fractions.
        const QFontMetricsF senderMetrics(m.senderFont);
        const int nameWidth = std::min(int(std::ceil(senderMetrics.horizontalAdvance(
                                           index.data(MessageListModel::SenderLabelRole).toString()))) +
                                           1,
                                       std::max(0, textWidth - timeWidth - m.padH));
        l.sender = QRect(x, y, nameWidth, m.lineHeight);
        l.time = QRect(l.sender.right() + 1 + m.padH, y, timeWidth, m.lineHeight);
        y += m.lineHeight;
    } else {
        // In the avatar's column, right-aligned, shown while the pointer is on the row.
        l.time = QRect(m.columnLeft + m.margin, y, m.compactIndent - m.padH, m.lineHeight);
    }
    if (index.data(MessageListModel::ReplyRole).value<ReplyPreview>().id > 0) {
        l.quote = QRect(x, y + m.innerGap, textWidth, quoteHeight(option));
        l.quoteCache = std::make_shared<Layout::QuoteCache>();
        y = l.quote.bottom() + 1 + m.innerGap;
    }
    if (const QSize fileSize = attachmentSize(option, index, textWidth); fileSize.isValid()) {
        l.attachment = QRect(QPoint(x, y + m.innerGap), fileSize);
        l.image = attachmentOf(index).isImage();
        y = l.attachment.bottom() + 1 + m.innerGap;
    }
    TextSize size;
    l.textLayout = layoutText(index, m.font, textWidth, &size);
    l.text = QRect(x, y, textWidth, captionless(index) ? 0 : int(std::ceil(size.height)));
    y = l.text.bottom() + 1;
    if (const int chips = layoutChips(index, x, y + m.innerGap * 2, textWidth, false, &l.chips); chips > 0)
        y += m.innerGap * 2 + chips;
    if (index.data(MessageListModel::EditedRole).toDateTime().isValid() &&
        !index.data(MessageListModel::IsDeletedRole).toBool() && !isFailed(index)) {
        l.footerText = tr("edited");
        l.footer = QRect(x, y, m.footerMetrics->horizontalAdvance(l.footerText) + m.padH, m.smallLineHeight);
        y = l.footer.bottom() + 1;
    }
    if (isFailed(index)) {
        l.footerText = tr("Not sent · Retry");
        l.footer = QRect(x, y + m.innerGap, m.footerMetrics->horizontalAdvance(l.footerText) + m.padH,
                         m.smallLineHeight);
        y = l.footer.bottom() + 1;
    }
    // What a hover or a selection marks: the message across the reading column.
    l.bubble = QRect(m.columnLeft + m.margin / 2, top, m.columnWidth - m.margin, y - top);
    l.height = std::max(y, l.avatar.isNull() ? 0 : l.avatar.bottom() + 1) + m.innerGap / 2;
    return l;
}

void MessageDelegate::paintCompact(QPainter *painter, const QStyleOptionViewItem &option,
                                   const QModelIndex &index, const Layout &l) const
{
    const Metrics &m = metrics(option);
    const QPalette &palette = option.palette;
    const QColor base = palette.color(QPalette::Base);
    const QColor text = palette.color(QPalette::Text);
    const QColor secondary = mix(base, text, 0.6);
    const bool hovered = option.state.testFlag(QStyle::State_MouseOver);
    const bool deleted = index.data(MessageListModel::IsDeletedRole).toBool();
    if (index.data(MessageListModel::MentionsMeRole).toBool() && !deleted) {
        painter->setPen(Qt::NoPen);
        painter->setBrush(mentionBackground(palette));
        painter->drawRect(l.bubble);
        painter->fillRect(
            QRect(l.bubble.left(), l.bubble.top(), std::max(3, m.lineHeight / 6), l.bubble.height()),
            mentionEdge(palette));
    }
    if (m_flashing > 0 && index.data(MessageListModel::IdRole).toLongLong() == m_flashing) {
        QColor flash = palette.color(QPalette::Highlight);
        flash.setAlphaF(0.3f);
        painter->fillRect(l.bubble, flash);
    }
    if (option.state.testFlag(QStyle::State_Selected)) {
        QColor selection = palette.color(QPalette::Highlight);
        selection.setAlphaF(0.22f);
        painter->setPen(Qt::NoPen);
        painter->setBrush(selection);
        painter->drawRoundedRect(l.bubble, m.radius / 2, m.radius / 2);
    } else if (hovered) {
        painter->setPen(Qt::NoPen);
        painter->setBrush(mix(base, text, 0.05));
        painter->drawRoundedRect(l.bubble, m.radius / 2, m.radius / 2);
    }
    const QString name = index.data(MessageListModel::SenderNameRole).toString();
    const QString email = index.data(MessageListModel::SenderEmailRole).toString();
    if (!l.avatar.isNull())
        paintAvatar(painter, l.avatar, name, email, palette);
    if (l.showSender) {
        painter->setFont(m.senderFont);
        painter->setPen(senderColor(email, palette));
        const QString label = index.data(MessageListModel::SenderLabelRole).toString();
        painter->drawText(l.sender, Qt::AlignLeft | Qt::AlignVCenter,
                          QFontMetrics(m.senderFont).elidedText(label, Qt::ElideRight, l.sender.width()));
    }
    if (l.showSender || hovered) {
        painter->setFont(m.smallFont);
        painter->setPen(secondary);
        painter->drawText(l.time, (l.showSender ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter,
                          l.timeText);
    }
    const QList<QTextLayout::FormatRange> formats =
        textFormats(index, bubbleColors(palette, false).link, palette);
    // A message still on its way is drawn dimmed until the server has it.
    const bool sending =
        l.own && index.data(MessageListModel::DeliveryStateRole).value<MessageListModel::DeliveryState>() ==
                     MessageListModel::DeliveryState::Sending;
    if (!l.attachment.isNull())
        paintAttachment(painter, option, index, l, base, text);
    painter->setPen(sending || deleted ? secondary : text);
    painter->setFont(m.font);
    if (l.text.height() > 0)
        l.textLayout->draw(painter, l.text.topLeft(), formats);
    paintFooter(painter, option, l, isFailed(index), secondary);
}

QUrl MessageDelegate::linkAt(const QStyleOptionViewItem &option, const QModelIndex &index,
                             const QPoint &point) const
{
    const QString text = index.data(MessageListModel::TextRole).toString();
    const QList<TextLink> links = findLinks(text);
    if (links.isEmpty())
        return {};
    const Layout l = layout(option, index);
    const QPointF local = QPointF(point - option.rect.topLeft() - l.text.topLeft());
    for (int i = 0; i < l.textLayout->lineCount(); ++i) {
        const QTextLine line = l.textLayout->lineAt(i);
        if (local.y() < line.y() || local.y() >= line.y() + line.height())
            continue;
        if (local.x() < 0 || local.x() > line.naturalTextWidth())
            return {};
        const int position = line.xToCursor(local.x(), QTextLine::CursorOnCharacter);
        for (const TextLink &link : links) {
            if (position >= link.start && position < link.start + link.length)
                return link.url;
        }
        return {};
    }
    return {};
}

bool MessageDelegate::editorEvent(QEvent *event, QAbstractItemModel *model,
                                  const QStyleOptionViewItem &option, const QModelIndex &index)
{
    if (event->type() == QEvent::MouseMove || event->type() == QEvent::MouseButtonRelease) {
        const auto *mouse = static_cast<QMouseEvent *>(event);
        const QPoint point = mouse->position().toPoint();
        const QUrl link = linkAt(option, index, point);
        const Layout l = layout(option, index);
        const QPoint local = point - option.rect.topLeft();
        const bool onRetry = isFailed(index) && l.footer.contains(local);
        const bool onQuote = l.quote.contains(local);
        const Layout::Chip *onChip = nullptr;
        for (const Layout::Chip &chip : l.chips) {
            if (chip.rect.contains(local))
                onChip = &chip;
        }
        std::optional<AttachmentAction> onAttachment;
        for (const auto &[rect, action] : attachmentActions(option, index)) {
            if (rect.contains(local)) {
                onAttachment = action;
                break;
            }
        }
        if (auto *view = qobject_cast<QAbstractItemView *>(const_cast<QWidget *>(option.widget))) {
            if (link.isValid() || onRetry || onQuote || onChip || onAttachment)
                view->viewport()->setCursor(Qt::PointingHandCursor);
            else
                view->viewport()->unsetCursor();
        }
        if (event->type() == QEvent::MouseButtonRelease && mouse->button() == Qt::LeftButton) {
            if (onRetry) {
                Q_EMIT retryRequested(index.data(MessageListModel::ClientIdRole).toString());
                return true;
            }
            if (onAttachment) {
                Q_EMIT attachmentActionRequested(index, *onAttachment);
                return true;
            }
            if (onChip) {
                Q_EMIT reactionToggled(index.data(MessageListModel::IdRole).toLongLong(), onChip->emoji,
                                       !onChip->mine);
                return true;
            }
            if (onQuote) {
                Q_EMIT originalRequested(index.data(MessageListModel::ReplyRole).value<ReplyPreview>().id);
                return true;
            }
            if (link.isValid()) {
                Q_EMIT linkActivated(link);
                return true;
            }
        }
    }
    return QStyledItemDelegate::editorEvent(event, model, option, index);
}

bool MessageDelegate::helpEvent(QHelpEvent *event, QAbstractItemView *view,
                                const QStyleOptionViewItem &option, const QModelIndex &index)
{
    // Hovering a message tells its full date and time (and a link's address).
    if (event->type() != QEvent::ToolTip || !index.isValid())
        return QStyledItemDelegate::helpEvent(event, view, option, index);
    const QDateTime time = index.data(MessageListModel::TimestampRole).toDateTime().toLocalTime();
    QString tip = QLocale().toString(time, QLocale::LongFormat);
    if (const QDateTime edited = index.data(MessageListModel::EditedRole).toDateTime(); edited.isValid())
        tip += u'\n' + tr("Edited %1").arg(QLocale().toString(edited.toLocalTime(), QLocale::LongFormat));
    if (const QUrl link = linkAt(option, index, event->pos()); link.isValid())
        tip = link.toString() + u'\n' + tip;
    const QPoint local = event->pos() - option.rect.topLeft();
    const Layout l = layout(option, index);
    for (const Layout::Chip &chip : l.chips) {
        if (!chip.rect.contains(local))
            continue;
        // Who reacted: the names the server sent (the first 50), and how many more.
        QStringList names;
        int listed = 0;
        for (const Reaction &reaction :
             index.data(MessageListModel::ReactionsRole).value<QList<Reaction>>()) {
            if (reaction.emoji != chip.emoji)
                continue;
            for (const User &user : reaction.users)
                names.append(user.name.isEmpty() ? user.email : user.name);
            listed = int(reaction.users.size());
        }
        tip = tr("%1 reacted with %2").arg(QLocale().createSeparatedList(names), chip.emoji);
        if (chip.count > listed)
            tip += u' ' + tr("(and %n more)", nullptr, chip.count - listed);
        tip += u'\n' + (chip.mine ? tr("Click to take yours back") : tr("Click to react too"));
    }
    if (l.quote.contains(local))
        tip = tr("Show the original message");
    // Names, links and emoji are other people's words: never markup.
    QToolTip::showText(event->globalPos(), PlainText::toolTip(tip), view);
    return true;
}

QWidget *MessageDelegate::createEditor(QWidget *parent, const QStyleOptionViewItem &option,
                                       const QModelIndex &index) const
{
    // Double-click opens the text read-only, so any part of it can be
    // selected and copied; plain text only, never markup.
    auto *editor = new QPlainTextEdit(parent);
    editor->setReadOnly(true);
    editor->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    editor->setFrameShape(QFrame::NoFrame);
    editor->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    editor->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    editor->document()->setDocumentMargin(0);
    editor->setFont(option.font);
    const bool own = index.data(MessageListModel::IsOwnRole).toBool();
    QPalette palette = option.palette;
    const QColor base = palette.color(QPalette::Base);
    palette.setColor(QPalette::Base,
                     own ? palette.color(QPalette::Highlight)
                         : mix(base, palette.color(QPalette::Text), isDark(palette) ? 0.14 : 0.07));
    palette.setColor(QPalette::Text, own ? option.palette.color(QPalette::HighlightedText)
                                         : option.palette.color(QPalette::Text));
    editor->setPalette(palette);
    editor->setAccessibleName(tr("Message text"));
    return editor;
}

void MessageDelegate::setEditorData(QWidget *editor, const QModelIndex &index) const
{
    auto *text = static_cast<QPlainTextEdit *>(editor);
    text->setPlainText(index.data(MessageListModel::TextRole).toString());
    text->selectAll();
}

void MessageDelegate::setModelData(QWidget *, QAbstractItemModel *, const QModelIndex &) const
{
    // Read-only: messages are never edited.
}

void MessageDelegate::updateEditorGeometry(QWidget *editor, const QStyleOptionViewItem &option,
                                           const QModelIndex &index) const
{
    const Layout l = layout(option, index);
    // A little wider than the text: QPlainTextEdit wraps a hair earlier than QTextLayout.
    const QRect rect = l.text.adjusted(0, 0, QFontMetrics(option.font).averageCharWidth(), 0);
    editor->setGeometry(rect.translated(option.rect.topLeft()).intersected(option.rect));
}

QString MessageDelegate::shortTime(const QTime &time)
{
    return QLocale().toString(time, shortTimeFormat());
}

} // namespace Natter
