#pragma once

#include <QCache>
#include <QFont>
#include <QHash>
#include <QIcon>
#include <QPixmap>
#include <QStyledItemDelegate>
#include <QUrl>

#include <memory>

QT_BEGIN_NAMESPACE
class QTextLayout;
QT_END_NAMESPACE

namespace Natter {

struct RowLayoutKey;

class AttachmentImages;
struct Attachment;
struct ImageInfo;
struct Transfer;

/// Paints one chat message as a bubble: others' on the left with their name
/// (at the start of a group) in their colour, the user's own on the right in
/// the accent colour, time and delivery state in the bubble's footer, a day
/// separator above the first message of a day. Text is plain (never markup),
/// wrapped, with links drawn as links and clickable.
///
/// In compact style (Slack's rows) there are no bubbles: a group starts with
/// the avatar, the name and the time on one line, its messages follow as
/// plain lines aligned under the name, and a row's time shows on hover.
///
/// paint() and sizeHint() share layout(), so the size a row asks for is the
/// size it paints; heights are cached per width, and a row costs the same
/// work whatever the length of the conversation.
class MessageDelegate final : public QStyledItemDelegate
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MessageDelegate)

public:
    explicit MessageDelegate(QObject *parent = nullptr);
    ~MessageDelegate() override;

    enum class Style
    {
        Bubbles,
        Compact,
    };
    Q_ENUM(Style)
    /// Changes how rows look; forgets cached heights (the view must relayout).
    void setStyle(Style style);
    Style style() const { return m_style; }

    /// Where everything of one row goes, in the row's own coordinates
    /// (x from the view's left edge, y from the row's top).
    struct Layout
    {
        int height = 0;
        bool own = false;
        bool compact = false;
        bool showDay = false;
        bool showSender = false;
        QRect day;    ///< the day separator (empty if none)
        QRect sender; ///< the sender's name line (empty if none)
        QRect avatar; ///< others' messages: their initial in their colour, beside a group's first message
        QRect bubble;
        QRect text;
        QRect footer; ///< bubbles: time and delivery state, inside the bubble; compact: delivery trouble only
        QRect time;   ///< compact: the time, beside the name or (on hover) left of the text
        QRect divider;      ///< "New messages" above this row (empty if none)
        QRect quote;        ///< a reply's quote of the original, above the text (empty if none)
        QRect attachment;   ///< a shared file's card or image, above the caption (empty if none)
        bool image = false; ///< the attachment shows as an image
        /// Reactions under the message: one chip per emoji.
        struct Chip
        {
            QRect rect;
            QString emoji;
            int count = 0;
            bool mine = false;
        };
        QList<Chip> chips;
        /// The quote's two lines, shaped at its first paint (shared by copies of the layout).
        struct QuoteCache
        {
            std::shared_ptr<QTextLayout> name;
            std::shared_ptr<QTextLayout> text;
        };
        std::shared_ptr<QuoteCache> quoteCache;
        QString dayText;
        QString footerText;
        QString timeText;
        std::shared_ptr<QTextLayout> textLayout; ///< lines positioned relative to text.topLeft()
    };
    Layout layout(const QStyleOptionViewItem &option, const QModelIndex &index) const;

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

    /// What clicking part of a shared file asks for.
    enum class AttachmentAction
    {
        Open,         ///< an image: the viewer; another file: open it (downloaded first if need be)
        ShowInFolder, ///< the downloaded copy in the file manager
        Cancel,       ///< stop the upload or download
        SaveAs,       ///< (context menu) save a copy where the user says
    };
    Q_ENUM(AttachmentAction)
    /// Where inline images come from (nullptr: none; placeholders are drawn).
    void setImages(AttachmentImages *images) { m_images = images; }
    AttachmentImages *images() const { return m_images; }
    /// An image's size in a bubble: its own aspect ratio, within box, never
    /// enlarged (a tiny icon stays tiny, but never thinner than a few pixels).
    static QSize imageSize(const ImageInfo &image, const QSize &box);
    /// "3.2 MB of 12 MB · 4.1 MB/s · 3 s left", "Preparing…", the failure, or the size.
    static QString transferText(const Attachment &attachment, const Transfer &transfer);
    /// The clickable parts of a row's attachment, in the row's coordinates (first match wins).
    QList<QPair<QRect, AttachmentAction>> attachmentActions(const QStyleOptionViewItem &option,
                                                            const QModelIndex &index) const;

    /// The link under a point of the view's viewport, if any.
    QUrl linkAt(const QStyleOptionViewItem &option, const QModelIndex &index, const QPoint &point) const;
    /// Forgets cached heights (after a font or style change).
    void clearCache();

    /// In a conversation of more rows than this, a row that was not measured at
    /// the current width gets an estimated height (from rows of the same shape
    /// measured before, and its text's length) instead of having its text shaped:
    /// a resize with 100,000 rows loaded would shape them all. A row is measured
    /// when it is painted; heightsCorrected() follows if it was estimated wrong.
    static constexpr int EstimateAboveRows = 2000;
    /// Whether the row's height at this width is an estimate (not measured yet).
    bool isEstimated(const QStyleOptionViewItem &option, const QModelIndex &index) const;
    /// Rows measured even where others are estimated: those the view is about to show.
    void setMeasuredRows(int first, int last)
    {
        m_measureFirst = first;
        m_measureLast = last;
    }
    /// "New messages" is drawn above the first message after this id (0: nowhere).
    void setReadMarker(qint64 id);
    qint64 readMarker() const { return m_readMarker; }
    /// A message drawn highlighted for a moment (a jump's target); 0: none.
    void setFlashing(qint64 id) { m_flashing = id; }
    qint64 flashing() const { return m_flashing; }

    QWidget *createEditor(QWidget *parent, const QStyleOptionViewItem &option,
                          const QModelIndex &index) const override;
    void setEditorData(QWidget *editor, const QModelIndex &index) const override;
    void setModelData(QWidget *editor, QAbstractItemModel *model, const QModelIndex &index) const override;
    void updateEditorGeometry(QWidget *editor, const QStyleOptionViewItem &option,
                              const QModelIndex &index) const override;
    /// Hovering a message shows its full date and time (and a link's address).
    bool helpEvent(QHelpEvent *event, QAbstractItemView *view, const QStyleOptionViewItem &option,
                   const QModelIndex &index) override;

    /// A time as messages show it: the locale's short format, without seconds.
    static QString shortTime(const QTime &time);

Q_SIGNALS:
    void linkActivated(const QUrl &url);
    /// The user clicked "Retry" on a message that failed to send.
    void retryRequested(const QString &clientId);
    /// A reaction chip was clicked: give (on) or take back that emoji.
    void reactionToggled(qint64 id, const QString &emoji, bool on);
    /// A reply's quote was clicked: the original (id) should be shown.
    void originalRequested(qint64 id);
    /// Part of a row's shared file was clicked.
    void attachmentActionRequested(const QModelIndex &index,
                                   Natter::MessageDelegate::AttachmentAction action);
    /// Rows painted were measured and are not as tall as estimated: the view
    /// should lay out again (at most once per pass of the event loop).
    void heightsCorrected();

protected:
    bool editorEvent(QEvent *event, QAbstractItemModel *model, const QStyleOptionViewItem &option,
                     const QModelIndex &index) override;

private:
    struct Metrics;
    static int rowWidth(const QStyleOptionViewItem &option);
    const Metrics &metrics(const QStyleOptionViewItem &option) const;
    bool startsGroup(const QModelIndex &index, bool *newDay) const;
    /// The row is the first after the read marker: "New messages" above it.
    bool startsUnread(const QModelIndex &index) const;
    /// Places reaction chips from (x, y) in at most width; returns the height used.
    int layoutChips(const QModelIndex &index, int x, int y, int width, bool alignRight,
                    QList<Layout::Chip> *chips) const;
    /// A reply's quote: the original's sender and first line.
    int quoteHeight(const QStyleOptionViewItem &option) const;
    const QPixmap &emojiPixmap(const QString &emoji) const;
    void paintExtras(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index,
                     const Layout &l) const;
    struct TextSize
    {
        qreal height = 0;
        qreal widest = 0; ///< the widest line's natural width
        qreal last = 0;   ///< the last line's natural width
    };
    /// The message's text laid out in lines of at most maxWidth.
    static std::shared_ptr<QTextLayout> layoutText(const QModelIndex &index, const QFont &font, int maxWidth,
                                                   TextSize *size);
    /// What the row's text says: the message, or "Message deleted".
    static QString displayText(const QModelIndex &index);
    Layout bubbleLayout(const QStyleOptionViewItem &option, const QModelIndex &index) const;
    Layout compactLayout(const QStyleOptionViewItem &option, const QModelIndex &index) const;
    void paintCompact(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index,
                      const Layout &l) const;
    /// The attachment's block within at most maxWidth (an invalid size: none).
    QSize attachmentSize(const QStyleOptionViewItem &option, const QModelIndex &index, int maxWidth) const;
    void paintAttachment(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index,
                         const Layout &l, const QColor &background, const QColor &foreground) const;
    /// The file card's "Open" and "Show in Folder" (in row coordinates), when a local copy exists.
    void cardLinks(const QStyleOptionViewItem &option, const Layout &l, QRect *open, QRect *folder) const;
    QRect cancelRect(const QStyleOptionViewItem &option, const Layout &l) const;
    const QIcon &fileIcon(const QString &mime, const QWidget *widget) const;
    void paintFooter(QPainter *painter, const QStyleOptionViewItem &option, const Layout &l, bool failed,
                     const QColor &secondary) const;

    struct CacheKey
    {
        qint64 id;
        size_t clientId; ///< its hash (outbox rows have no id): no string to compare in a lookup
        int flags;
        size_t revision; ///< of what edits, deletions, replies and reactions change
        friend bool operator==(const CacheKey &, const CacheKey &) = default;
    };
    friend size_t qHash(const CacheKey &key, size_t seed) noexcept
    {
        return qHashMulti(seed, key.id, key.clientId, key.flags, key.revision);
    }
    Style m_style = Style::Bubbles;
    CacheKey cacheKey(const QModelIndex &index, bool group, bool newDay) const;
    static CacheKey cacheKey(const RowLayoutKey &row, bool unread, bool group, bool newDay);
    bool startsGroup(const RowLayoutKey &row, const RowLayoutKey &before, bool *newDay) const;
    struct LayoutKey
    {
        CacheKey row;
        size_t content; ///< of the text and the sender's name
        friend bool operator==(const LayoutKey &, const LayoutKey &) = default;
    };
    friend size_t qHash(const LayoutKey &key, size_t seed) noexcept
    {
        return qHashMulti(seed, key.row.id, key.row.clientId, key.row.flags, key.row.revision, key.content);
    }
    /// At m_cacheWidth: measured heights, and estimates as their negatives (a
    /// row keeps its estimate until it is painted). One lookup per row per layout.
    mutable QHash<CacheKey, int> m_heights;
    /// What a row's shape (CacheKey flags, a quote, reactions, a file) adds to
    /// its text's lines, from measured rows at m_cacheWidth: sum and count.
    mutable QHash<int, std::pair<qint64, int>> m_shapeBase;
    mutable bool m_correctionQueued = false;
    int m_measureFirst = 0;
    int m_measureLast = -1;
    static int shapeOf(const RowLayoutKey &row, const CacheKey &key);
    /// The text's lines at this width, guessed from its length.
    int estimatedLines(const QStyleOptionViewItem &option, const RowLayoutKey &row) const;
    static RowLayoutKey rowKey(const QModelIndex &index);
    void learnShape(const QStyleOptionViewItem &option, const RowLayoutKey &row, const CacheKey &key,
                    int height) const;
    /// The estimated height of a row not measured at this width; 0 if its shape is not known yet.
    int estimatedHeight(const QStyleOptionViewItem &option, const RowLayoutKey &row,
                        const CacheKey &key) const;
    /// The layouts of rows painted lately (a few screens' worth).
    mutable QCache<LayoutKey, Layout> m_layouts{400};
    mutable int m_layoutWidth = -1;
    mutable QFont m_layoutFont;
    mutable int m_cacheWidth = -1;
    mutable std::unique_ptr<Metrics> m_metrics;
    qint64 m_readMarker = 0;
    mutable QHash<QString, QPixmap> m_emoji;
    mutable QHash<QString, QIcon> m_fileIcons; // by MIME type
    AttachmentImages *m_images = nullptr;
    qint64 m_flashing = 0;
    /// The local time's offset from UTC at utcMs, cached for the span between two transitions.
    qint64 localOffsetMs(qint64 utcMs) const;
    mutable qint64 m_offsetMs = 0;
    mutable qint64 m_offsetFromMs = 0; // an empty span: looked up at first use
    mutable qint64 m_offsetUntilMs = 0;
};

} // namespace Natter
