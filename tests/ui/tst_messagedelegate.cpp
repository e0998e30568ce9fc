// The message delegate under QT_QPA_PLATFORM=offscreen: what sizeHint() asks
// for is what paint() uses, at several widths, and nothing is clipped,
// overlapped or drawn outside its row.
#include "common/messagelistmodel.h"
#include "common/textlinks.h"
#include "tests/support/hostileimages.h"
#include "ui/attachmentimages.h"
#include "ui/imageviewer.h"
#include "ui/messagedelegate.h"
#include "ui/messagepalette.h"
#include "ui/safeimage.h"

#include <QApplication>
#include <QBuffer>
#include <QFile>
#include <QImage>
#include <QImageReader>
#include <QLabel>
#include <QListView>
#include <QLocale>
#include <QPainter>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTextLayout>

#include <cmath>
#include <ctime>

using namespace Natter;
using namespace Qt::StringLiterals;
using Delivery = MessageListModel::DeliveryState;

namespace {

class ListView final : public QListView
{
public:
    QStyleOptionViewItem itemOption() const
    {
        QStyleOptionViewItem option;
        initViewItemOption(&option);
        return option;
    }
};

Message message(qint64 id, const QString &email, const QString &text, const QDateTime &when)
{
    Message m;
    m.id = id;
    m.room = QStringLiteral("general");
    m.from = User{email.section(u'@', 0, 0), email};
    m.text = text;
    m.timestamp = when;
    return m;
}

} // namespace

class TestMessageDelegate final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void sizeHintMatchesLayout_data();
    void sizeHintMatchesLayout();
    void rowsNeitherOverlapNorSpill_data();
    void rowsNeitherOverlapNorSpill();
    void groupsAndDaySeparators();
    void ownMessagesAreOnTheRight();
    void bubblesStayNearEachOtherOnWideWindows();
    void aOneLineMessageCostsOneLine();
    void avatarsMarkEachGroupOfOthers();
    void aSelectionMarksTheBubbleNotTheRow();
    void daysFollowTheLocalTimeOfEachMessage();
    void textIsPlainAndComplete();
    void sharedFilesShowTheirNameAndSize();
    void imageSizes_data();
    void imageSizes();
    void inlineImagesKeepTheirAspectRatio();
    void transfersShowProgressAndCanBeCancelled();
    void finishedDownloadsOfferOpenAndShowInFolder();
    void thumbnailsAreAskedForOnceAndPainted();
    void animatedGifsPlayWhileShown();
    void hostileThumbnailsAreRefusedOffTheGuiThread();
    void theImageViewerDecodesOffTheGuiThread();
    void findsLinks_data();
    void findsLinks();
    void clickingALinkActivatesIt();
    void clickingRetryOnAFailedMessage();
    void colorsAreReadable_data();
    void colorsAreReadable();
    void compactRowsLineUpUnderTheName();
    void compactRowsFitAboutTwiceAsMuch();
    void compactRowsShowTheirTimeOnHover();
    void compactRowsOfferRetry();

private:
    QStyleOptionViewItem optionFor(int row) const;

    std::unique_ptr<MessageListModel> m_model;
    std::unique_ptr<ListView> m_view;
    MessageDelegate *m_delegate = nullptr;
};

void TestMessageDelegate::init()
{
    m_model = std::make_unique<MessageListModel>();
    m_model->setOwnEmail(QStringLiteral("alice@example.org"));
    // Fixed hours of today and yesterday (local time): near midnight, "now"
    // plus a few minutes would be tomorrow and the days would run together.
    const QDateTime now = QDateTime(QDate::currentDate(), QTime(9, 0)).toUTC();
    const QDateTime yesterday = now.addDays(-1);
    m_model->addMessages({
        message(1, QStringLiteral("bob@example.org"), QStringLiteral("Morning!"), yesterday),
        message(2, QStringLiteral("bob@example.org"), QStringLiteral("Anyone up for lunch?"),
                yesterday.addSecs(30)),
        message(3, QStringLiteral("alice@example.org"), QStringLiteral("Sure 🍜🍕 — where?"),
                yesterday.addSecs(90)),
        message(4, QStringLiteral("carol@example.org"),
                QStringLiteral("The menu is at https://example.org/menu?day=today, and the reviews at "
                               "www.example.com/reviews. I read them all and the place looks good."),
                now),
        message(5, QStringLiteral("carol@example.org"),
                QStringLiteral(
                    "Averyveryverylongwordwithoutanyspacesthatmustwrapanywhereratherthanoverflowthebubble"
                    "andkeepsgoingforawhilelongerstill"),
                now.addSecs(10)),
        message(6, QStringLiteral("alice@example.org"), QStringLiteral("line one\nline two\n\nline four"),
                now.addSecs(20)),
        message(7, QStringLiteral("bob@example.org"), QStringLiteral("<b>not bold</b> & <i>not italic</i>"),
                now.addSecs(400)),
    });
    Message outgoing;
    outgoing.room = QStringLiteral("general");
    outgoing.from = User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")};
    outgoing.text = QStringLiteral("this one failed");
    outgoing.timestamp = now.addSecs(500);
    outgoing.clientId = QStringLiteral("c-1");
    m_model->addOutgoing(outgoing);
    m_model->setDeliveryState(QStringLiteral("c-1"), Delivery::Failed);

    m_view = std::make_unique<ListView>();
    m_delegate = new MessageDelegate(m_view.get());
    m_view->setItemDelegate(m_delegate);
    m_view->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_view->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_view->setResizeMode(QListView::Adjust);
    m_view->setModel(m_model.get());
    m_view->resize(640, 2000);
    m_view->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_view.get()));
}

void TestMessageDelegate::cleanup()
{
    m_view.reset();
    m_model.reset();
}

QStyleOptionViewItem TestMessageDelegate::optionFor(int row) const
{
    QStyleOptionViewItem option = m_view->itemOption();
    option.rect = m_view->visualRect(m_model->index(row));
    return option;
}

void TestMessageDelegate::sizeHintMatchesLayout_data()
{
    QTest::addColumn<int>("width");
    QTest::addColumn<bool>("compact");
    for (bool compact : {false, true}) {
        for (int width : {180, 320, 640, 1200})
            QTest::addRow("%s %d px", compact ? "compact" : "bubbles", width) << width << compact;
    }
}

void TestMessageDelegate::sizeHintMatchesLayout()
{
    QFETCH(int, width);
    QFETCH(bool, compact);
    m_delegate->setStyle(compact ? MessageDelegate::Style::Compact : MessageDelegate::Style::Bubbles);
    m_view->resize(width, 3000);
    QTRY_COMPARE(m_view->visualRect(m_model->index(0)).width(), m_view->viewport()->width());
    for (int row = 0; row < m_model->rowCount(); ++row) {
        const QModelIndex index = m_model->index(row);
        const QStyleOptionViewItem option = optionFor(row);
        const MessageDelegate::Layout layout = m_delegate->layout(option, index);
        const QSize hint = m_delegate->sizeHint(m_view->itemOption(), index);
        QCOMPARE(hint.height(), layout.height);
        QCOMPARE(option.rect.height(), layout.height);
        // Everything inside the row and the bubble.
        const QRect rowRect(0, 0, option.rect.width(), layout.height);
        QVERIFY2(rowRect.contains(layout.bubble), qPrintable(QStringLiteral("row %1").arg(row)));
        QVERIFY(layout.bubble.contains(layout.text));
        QVERIFY(layout.footer.isNull() || layout.bubble.contains(layout.footer));
        // The time below the text, or at the end of its last line, never over a glyph.
        const QTextLine last = layout.textLayout->lineAt(layout.textLayout->lineCount() - 1);
        QVERIFY(layout.footer.isNull() || layout.footer.top() > layout.text.bottom() ||
                layout.footer.left() >= layout.text.left() + int(std::ceil(last.naturalTextWidth())));
        if (layout.showSender)
            QVERIFY(layout.sender.bottom() < (compact ? layout.text.top() : layout.bubble.top()));
        if (compact)
            QVERIFY(layout.time.isNull() || rowRect.contains(layout.time));
        if (layout.showDay)
            QVERIFY(layout.day.bottom() < layout.bubble.top());
        // The text's lines fit the text rect.
        for (int i = 0; i < layout.textLayout->lineCount(); ++i) {
            const QTextLine line = layout.textLayout->lineAt(i);
            QVERIFY2(line.naturalTextWidth() <= layout.text.width() + 1,
                     qPrintable(QStringLiteral("row %1 line %2 at width %3").arg(row).arg(i).arg(width)));
            QVERIFY(line.y() + line.height() <= layout.text.height() + 1);
        }
    }
}

void TestMessageDelegate::rowsNeitherOverlapNorSpill_data()
{
    sizeHintMatchesLayout_data();
}

void TestMessageDelegate::rowsNeitherOverlapNorSpill()
{
    QFETCH(int, width);
    QFETCH(bool, compact);
    m_delegate->setStyle(compact ? MessageDelegate::Style::Compact : MessageDelegate::Style::Bubbles);
    m_view->resize(width, 3000);
    QTRY_COMPARE(m_view->visualRect(m_model->index(0)).width(), m_view->viewport()->width());
    for (int row = 0; row + 1 < m_model->rowCount(); ++row) {
        const QRect above = m_view->visualRect(m_model->index(row));
        const QRect below = m_view->visualRect(m_model->index(row + 1));
        QCOMPARE(above.bottom() + 1, below.top());
    }
    // Paint each row with a margin around it: nothing may land in the margin.
    constexpr int Margin = 24;
    for (int row = 0; row < m_model->rowCount(); ++row) {
        QStyleOptionViewItem option = optionFor(row);
        const int height = option.rect.height();
        option.rect.moveTo(0, Margin);
        QImage image(option.rect.width(), height + 2 * Margin, QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::transparent);
        {
            QPainter painter(&image);
            m_delegate->paint(&painter, option, m_model->index(row));
        }
        int inside = 0;
        for (int y = 0; y < image.height(); ++y) {
            const bool inRow = y >= Margin && y < Margin + height;
            for (int x = 0; x < image.width(); ++x) {
                const bool painted = qAlpha(image.pixel(x, y)) != 0;
                if (!inRow)
                    QVERIFY2(
                        !painted,
                        qPrintable(QStringLiteral("row %1 paints outside at %2,%3").arg(row).arg(x).arg(y)));
                inside += painted ? 1 : 0;
            }
        }
        QVERIFY(inside > 0);
    }
}

void TestMessageDelegate::groupsAndDaySeparators()
{
    auto layoutOf = [this](int row) { return m_delegate->layout(optionFor(row), m_model->index(row)); };
    QVERIFY(layoutOf(0).showDay);
    QCOMPARE(layoutOf(0).dayText, QStringLiteral("Yesterday"));
    QVERIFY(layoutOf(0).showSender);
    // Bob again 30 s later: same group, no name, no day.
    QVERIFY(!layoutOf(1).showSender);
    QVERIFY(!layoutOf(1).showDay);
    QVERIFY(layoutOf(1).height < layoutOf(0).height);
    // Own message: never a name.
    QVERIFY(!layoutOf(2).showSender);
    // A new day.
    QVERIFY(layoutOf(3).showDay);
    QCOMPARE(layoutOf(3).dayText, QStringLiteral("Today"));
    QVERIFY(layoutOf(3).showSender);
    QVERIFY(!layoutOf(4).showSender);
    // Bob after more than five minutes: a new group.
    QVERIFY(layoutOf(6).showSender);
}

void TestMessageDelegate::aSelectionMarksTheBubbleNotTheRow()
{
    QStyleOptionViewItem option = optionFor(1);
    option.state |= QStyle::State_Selected;
    const auto layout = m_delegate->layout(option, m_model->index(1));
    QImage image(option.rect.size(), QImage::Format_RGB32);
    image.fill(option.palette.color(QPalette::Base));
    QPainter painter(&image);
    painter.translate(-option.rect.topLeft());
    m_delegate->paint(&painter, option, m_model->index(1));
    painter.end();
    // Outside the bubble the row stays as it was; on the bubble's edge, the selection colour.
    const QPoint outside(layout.bubble.right() + 20, layout.bubble.center().y());
    QCOMPARE(image.pixelColor(outside), option.palette.color(QPalette::Base));
    const QColor highlight = option.palette.color(QPalette::Highlight);
    const QColor edge = image.pixelColor(layout.bubble.center().x(), layout.bubble.top() + 1);
    QVERIFY2(qAbs(edge.red() - highlight.red()) + qAbs(edge.green() - highlight.green()) +
                     qAbs(edge.blue() - highlight.blue()) <
                 60,
             qPrintable(edge.name() + u" vs "_s + highlight.name()));
}

void TestMessageDelegate::avatarsMarkEachGroupOfOthers()
{
    auto layoutOf = [this](int row) { return m_delegate->layout(optionFor(row), m_model->index(row)); };
    const auto first = layoutOf(0);  // Bob, a group's first message
    const auto second = layoutOf(1); // Bob again: the same group
    const auto own = layoutOf(2);
    QVERIFY(!first.avatar.isNull());
    QVERIFY(first.avatar.width() >= 28 && first.avatar.width() <= 32);
    QCOMPARE(first.avatar.width(), first.avatar.height());
    QVERIFY(first.avatar.right() < first.bubble.left()); // beside, never over, the bubble
    QVERIFY(first.avatar.right() < first.sender.left());
    QVERIFY(first.height > first.avatar.bottom());
    QVERIFY(second.avatar.isNull());
    QCOMPARE(second.bubble.left(), first.bubble.left()); // aligned under the group's first
    QVERIFY(own.avatar.isNull());
}

void TestMessageDelegate::aOneLineMessageCostsOneLine()
{
    // "Anyone up for lunch?": the time fits beside it (Telegram's way).
    const auto short_ = m_delegate->layout(optionFor(1), m_model->index(1));
    const int line = m_view->fontMetrics().height();
    QCOMPARE(short_.textLayout->lineCount(), 1);
    QVERIFY2(short_.bubble.height() < 2 * line, qPrintable(QString::number(short_.bubble.height())));
    QCOMPARE(short_.footer.bottom(), short_.text.bottom());
    QVERIFY(short_.footer.left() > short_.text.left());
    // The long link message fills its lines: the time goes below.
    const auto long_ = m_delegate->layout(optionFor(3), m_model->index(3));
    QVERIFY(long_.textLayout->lineCount() > 1);
    QVERIFY(long_.footer.top() > long_.text.bottom() ||
            long_.footer.left() >=
                long_.text.left() +
                    int(std::ceil(
                        long_.textLayout->lineAt(long_.textLayout->lineCount() - 1).naturalTextWidth())));
}

void TestMessageDelegate::bubblesStayNearEachOtherOnWideWindows()
{
    m_view->resize(1400, 2000);
    QCoreApplication::processEvents();
    const auto own = m_delegate->layout(optionFor(2), m_model->index(2));
    const auto other = m_delegate->layout(optionFor(1), m_model->index(1));
    // A reading column of about a hundred characters, centred: not the window's edges.
    const int readingWidth = m_view->fontMetrics().averageCharWidth() * 110;
    QVERIFY2(own.bubble.right() - other.bubble.left() <= readingWidth,
             qPrintable(QStringLiteral("%1 px apart").arg(own.bubble.right() - other.bubble.left())));
    const int width = m_view->viewport()->width();
    QVERIFY(other.bubble.left() > (width - readingWidth) / 2 - 1);
    QVERIFY(own.bubble.right() < width - (width - readingWidth) / 2 + 1);
    // A narrow window uses all of its width, as before.
    m_view->resize(480, 2000);
    QCoreApplication::processEvents();
    const auto narrow = m_delegate->layout(optionFor(1), m_model->index(1));
    QVERIFY(narrow.bubble.left() < 70); // the margin and the avatar column
}

void TestMessageDelegate::daysFollowTheLocalTimeOfEachMessage()
{
    // Berlin: UTC+2 in summer, UTC+1 in winter. A day starts at local midnight
    // whatever the offset was when the app started (it used to take one offset
    // for the whole run, and days moved by an hour across a DST change).
    const QByteArray zone = qgetenv("TZ");
    qputenv("TZ", "Europe/Berlin");
    tzset();
    auto utc = [](int month, int day, int hour, int minute) {
        return QDateTime(QDate(2024, month, day), QTime(hour, minute), Qt::UTC);
    };
    MessageListModel model;
    model.addMessages({
        message(1, QStringLiteral("bob@example.org"), QStringLiteral("23:30 in July"), utc(7, 10, 21, 30)),
        message(2, QStringLiteral("bob@example.org"), QStringLiteral("00:30, a new day"), utc(7, 10, 22, 30)),
        message(3, QStringLiteral("bob@example.org"), QStringLiteral("23:30 in December"),
                utc(12, 1, 22, 30)),
        message(4, QStringLiteral("bob@example.org"), QStringLiteral("00:30, a new day"), utc(12, 1, 23, 30)),
        message(5, QStringLiteral("bob@example.org"), QStringLiteral("00:50, the same day"),
                utc(12, 1, 23, 50)),
    });
    m_view->setModel(&model);
    const MessageDelegate delegate; // a new one: it keeps the offset of the zone it saw
    auto layoutOf = [&](int row) {
        QStyleOptionViewItem option = m_view->itemOption();
        option.rect = m_view->visualRect(model.index(row));
        return delegate.layout(option, model.index(row));
    };
    const bool day2 = layoutOf(1).showDay;
    const bool day4 = layoutOf(3).showDay;
    const bool day5 = layoutOf(4).showDay;
    const QString text4 = layoutOf(3).dayText;
    m_view->setModel(m_model.get());
    if (zone.isNull())
        qunsetenv("TZ");
    else
        qputenv("TZ", zone);
    tzset();
    QVERIFY(day2);
    QVERIFY(day4);
    QVERIFY(!day5);
    QVERIFY2(text4.contains(u"2"_s), qPrintable(text4)); // Monday, 2 December 2024
}

void TestMessageDelegate::ownMessagesAreOnTheRight()
{
    const int width = m_view->viewport()->width();
    const auto own = m_delegate->layout(optionFor(2), m_model->index(2));
    const auto other = m_delegate->layout(optionFor(1), m_model->index(1));
    QVERIFY(own.own);
    QVERIFY(!other.own);
    QVERIFY(own.bubble.right() > width * 3 / 4);
    QVERIFY(own.bubble.left() > width / 4);
    QVERIFY(other.bubble.left() < width / 4);
    QVERIFY(own.footerText.contains(QStringLiteral("✓")));
    const auto failed = m_delegate->layout(optionFor(7), m_model->index(7));
    QVERIFY(failed.footerText.contains(QStringLiteral("Retry")));
}

void TestMessageDelegate::textIsPlainAndComplete()
{
    for (int row = 0; row < m_model->rowCount(); ++row) {
        const auto layout = m_delegate->layout(optionFor(row), m_model->index(row));
        const QString text = m_model->messageAt(row).text;
        // Markup stays characters; every character is laid out on some line.
        QCOMPARE(layout.textLayout->text().size(), text.size());
        const QTextLine last = layout.textLayout->lineAt(layout.textLayout->lineCount() - 1);
        QCOMPARE(last.textStart() + last.textLength(), text.size());
    }
    const auto markup = m_delegate->layout(optionFor(6), m_model->index(6));
    QCOMPARE(markup.textLayout->text(), QStringLiteral("<b>not bold</b> & <i>not italic</i>"));
    // Line breaks are kept: four lines of text in "line one\nline two\n\nline four".
    const auto lines = m_delegate->layout(optionFor(5), m_model->index(5));
    QCOMPARE(lines.textLayout->lineCount(), 4);
}

void TestMessageDelegate::sharedFilesShowTheirNameAndSize()
{
    // A file without a caption is a card, not an empty bubble; a caption keeps
    // its links where they are; the sender's file name stays characters.
    Message file = message(20, QStringLiteral("bob@example.org"), {}, QDateTime::currentDateTimeUtc());
    file.attachment = Attachment{7,
                                 QStringLiteral("<b>build</b>.tar.gz"),
                                 1536 * 1024,
                                 QStringLiteral("application/gzip"),
                                 QString(64, u'a'),
                                 {}};
    Message captioned = message(21, QStringLiteral("bob@example.org"),
                                QStringLiteral("see https://example.org"), QDateTime::currentDateTimeUtc());
    captioned.attachment = file.attachment;
    m_model->addMessages({file, captioned});
    int row = 0;
    while (row < m_model->rowCount() && m_model->messageAt(row).id != 20)
        ++row;
    QCOMPARE(m_model->messageAt(row + 1).id, qint64(21));
    const auto alone = m_delegate->layout(optionFor(row), m_model->index(row));
    QVERIFY(!alone.attachment.isNull());
    QVERIFY(!alone.image);
    QCOMPARE(alone.text.height(), 0);
    QVERIFY(alone.bubble.contains(alone.attachment));
    QVERIFY(alone.footer.top() > alone.attachment.bottom());
    QCOMPARE(MessageDelegate::transferText(file.attachment, {}), QLocale().formattedDataSize(1536 * 1024));
    const auto withCaption = m_delegate->layout(optionFor(row + 1), m_model->index(row + 1));
    QCOMPARE(withCaption.textLayout->text(), QStringLiteral("see https://example.org"));
    QVERIFY(withCaption.text.top() > withCaption.attachment.bottom());
    QCOMPARE(m_delegate->linkAt(optionFor(row + 1), m_model->index(row + 1), QPoint(-1, -1)), QUrl());
    // Painted: the name as characters on the card (no markup), nothing outside the row.
    m_view->doItemsLayout();
    QImage image(m_view->viewport()->size(), QImage::Format_ARGB32);
    m_view->viewport()->render(&image);
}

void TestMessageDelegate::imageSizes_data()
{
    QTest::addColumn<QSize>("image");
    QTest::addColumn<QSize>("expected");
    const QSize box(360, 300);
    QTest::newRow("landscape photo") << QSize(4000, 3000) << QSize(360, 270);
    QTest::newRow("full HD screenshot") << QSize(1920, 1080) << QSize(360, 203);
    QTest::newRow("portrait") << QSize(1000, 4000) << QSize(75, 300);
    QTest::newRow("small stays small") << QSize(120, 80) << QSize(120, 80);
    QTest::newRow("icon") << QSize(16, 16) << QSize(16, 16);
    QTest::newRow("panorama stays visible") << QSize(20000, 10) << QSize(360, 8);
    QTest::newRow("a line stays visible") << QSize(1, 1) << QSize(8, 8);
}

void TestMessageDelegate::imageSizes()
{
    QFETCH(QSize, image);
    QFETCH(QSize, expected);
    const QSize shown =
        MessageDelegate::imageSize(ImageInfo{image.width(), image.height(), 0}, QSize(360, 300));
    QVERIFY2(qAbs(shown.width() - expected.width()) <= 1 && qAbs(shown.height() - expected.height()) <= 1,
             qPrintable(u"%1x%2"_s.arg(shown.width()).arg(shown.height())));
}

void TestMessageDelegate::inlineImagesKeepTheirAspectRatio()
{
    // In a bubble and in a compact row, at several widths: the image at its
    // ratio, within the bubble, never wider than the room there is.
    Message photo = message(30, QStringLiteral("bob@example.org"), {}, QDateTime::currentDateTimeUtc());
    photo.attachment = Attachment{9,
                                  QStringLiteral("photo.jpg"),
                                  2'000'000,
                                  QStringLiteral("image/jpeg"),
                                  QString(64, u'b'),
                                  ImageInfo{4000, 3000, 10}};
    m_model->addMessages({photo});
    const int row = m_model->rowCount() - 2; // the outbox's failed message stays last
    QCOMPARE(m_model->messageAt(row).id, qint64(30));
    for (const bool compact : {false, true}) {
        m_delegate->setStyle(compact ? MessageDelegate::Style::Compact : MessageDelegate::Style::Bubbles);
        for (const int width : {240, 640, 1200}) {
            m_view->resize(width, 2000);
            m_view->doItemsLayout();
            const QStyleOptionViewItem option = optionFor(row);
            const auto layout = m_delegate->layout(option, m_model->index(row));
            QVERIFY(layout.image);
            const QRect image = layout.attachment;
            QVERIFY2(qAbs(image.width() * 3 - image.height() * 4) <= 4,
                     qPrintable(u"%1x%2"_s.arg(image.width()).arg(image.height())));
            QVERIFY(image.width() <= m_view->viewport()->width());
            QVERIFY(layout.bubble.contains(image));
            QCOMPARE(m_delegate->sizeHint(option, m_model->index(row)).height(), layout.height);
            QVERIFY(layout.height > image.height());
        }
    }
}

void TestMessageDelegate::transfersShowProgressAndCanBeCancelled()
{
    // Alice's file on its way: a card with the progress, speed and time left, and a ✕.
    Message pending;
    pending.room = QStringLiteral("general");
    pending.from = User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")};
    pending.timestamp = QDateTime::currentDateTimeUtc();
    pending.clientId = QStringLiteral("f-1");
    pending.attachment.name = QStringLiteral("build.iso");
    pending.attachment.size = 2'000'000'000;
    pending.attachment.mime = QStringLiteral("application/x-cd-image");
    m_model->addOutgoing(pending);
    const int row = m_model->rowCount() - 1;
    const Transfer going{Transfer::Kind::Upload, 500'000'000, 2'000'000'000, 100'000'000, {}, {}};
    m_model->setUploadTransfer(QStringLiteral("f-1"), going);
    const QString text = MessageDelegate::transferText(pending.attachment, going);
    QVERIFY2(text.contains(QLocale().formattedDataSize(500'000'000, 1)) && text.contains(u"/s"_s) &&
                 text.contains(u"15 s left"_s),
             qPrintable(text));
    QCOMPARE(MessageDelegate::transferText(pending.attachment,
                                           Transfer{Transfer::Kind::Upload, 0, 2'000'000'000, 0, {}, {}}),
             QStringLiteral("Preparing…"));
    QCOMPARE(MessageDelegate::transferText(
                 pending.attachment, Transfer{Transfer::Kind::Upload, 0, 200'000'000, 1'000'000, {}, {}}),
             u"%1 of %2 · %3/s · 4 min left"_s.arg(QLocale().formattedDataSize(0, 1),
                                                   QLocale().formattedDataSize(200'000'000, 1),
                                                   QLocale().formattedDataSize(1'000'000, 1)));

    m_view->doItemsLayout();
    const QStyleOptionViewItem option = optionFor(row);
    const auto actions = m_delegate->attachmentActions(option, m_model->index(row));
    QCOMPARE(actions.size(), 1); // nothing to open yet: only the ✕
    QCOMPARE(actions.at(0).second, MessageDelegate::AttachmentAction::Cancel);
    QSignalSpy asked(m_delegate, &MessageDelegate::attachmentActionRequested);
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, {},
                      option.rect.topLeft() + actions.at(0).first.center());
    QCOMPARE(asked.size(), 1);
    QCOMPARE(asked.at(0).at(1).value<MessageDelegate::AttachmentAction>(),
             MessageDelegate::AttachmentAction::Cancel);
    QCOMPARE(asked.at(0).at(0).value<QModelIndex>().row(), row);

    // Failed: the reason on the card, and Retry in the footer as for any message.
    m_model->setDeliveryState(QStringLiteral("f-1"), Delivery::Failed);
    m_model->setUploadTransfer(
        QStringLiteral("f-1"),
        Transfer{Transfer::Kind::None, 0, 0, 0, QStringLiteral("Your storage is full."), {}});
    QCOMPARE(MessageDelegate::transferText(pending.attachment, m_model->transferAt(row)),
             QStringLiteral("Your storage is full."));
    QVERIFY(m_delegate->attachmentActions(optionFor(row), m_model->index(row)).isEmpty());
    QImage image(m_view->viewport()->size(), QImage::Format_ARGB32);
    m_view->viewport()->render(&image);
}

void TestMessageDelegate::finishedDownloadsOfferOpenAndShowInFolder()
{
    Message file = message(40, QStringLiteral("bob@example.org"), {}, QDateTime::currentDateTimeUtc());
    file.attachment = Attachment{
        11, QStringLiteral("notes.pdf"), 4096, QStringLiteral("application/pdf"), QString(64, u'c'), {}};
    m_model->addMessages({file});
    const int row = m_model->rowCount() - 2;
    m_view->doItemsLayout();
    // Not here yet: the whole card downloads and opens it.
    auto actions = m_delegate->attachmentActions(optionFor(row), m_model->index(row));
    QCOMPARE(actions.size(), 1);
    QCOMPARE(actions.at(0).second, MessageDelegate::AttachmentAction::Open);
    m_model->setDownloadTransfer(11, Transfer{Transfer::Kind::Download, 1024, 4096, 2048, {}, {}});
    actions = m_delegate->attachmentActions(optionFor(row), m_model->index(row));
    QCOMPARE(actions.size(), 1);
    QCOMPARE(actions.at(0).second, MessageDelegate::AttachmentAction::Cancel);
    m_model->setDownloadTransfer(
        11, Transfer{Transfer::Kind::None, 0, 0, 0, {}, QStringLiteral("/tmp/notes.pdf")});
    actions = m_delegate->attachmentActions(optionFor(row), m_model->index(row));
    QCOMPARE(actions.size(), 3);
    QCOMPARE(actions.at(0).second, MessageDelegate::AttachmentAction::Open);
    QCOMPARE(actions.at(1).second, MessageDelegate::AttachmentAction::ShowInFolder);
    QVERIFY(!actions.at(0).first.intersects(actions.at(1).first));
    const auto layout = m_delegate->layout(optionFor(row), m_model->index(row));
    QVERIFY(layout.attachment.contains(actions.at(0).first) &&
            layout.attachment.contains(actions.at(1).first));
    QSignalSpy asked(m_delegate, &MessageDelegate::attachmentActionRequested);
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, {},
                      optionFor(row).rect.topLeft() + actions.at(1).first.center());
    QCOMPARE(asked.size(), 1);
    QCOMPARE(asked.at(0).at(1).value<MessageDelegate::AttachmentAction>(),
             MessageDelegate::AttachmentAction::ShowInFolder);
}

void TestMessageDelegate::thumbnailsAreAskedForOnceAndPainted()
{
    AttachmentImages images;
    m_delegate->setImages(&images);
    QSignalSpy needed(&images, &AttachmentImages::thumbnailNeeded);
    Message photo = message(50, QStringLiteral("bob@example.org"), {}, QDateTime::currentDateTimeUtc());
    photo.attachment = Attachment{12,
                                  QStringLiteral("cat.png"),
                                  50'000,
                                  QStringLiteral("image/png"),
                                  QString(64, u'd'),
                                  ImageInfo{800, 600, 13}};
    m_model->addMessages({photo});
    const int row = m_model->rowCount() - 2;
    m_view->doItemsLayout();
    m_view->scrollTo(m_model->index(row));
    QImage first(m_view->viewport()->size(), QImage::Format_ARGB32);
    m_view->viewport()->render(&first);
    m_view->viewport()->render(&first);
    QCOMPARE(needed.size(), 1); // once, however often it is painted
    QCOMPARE(needed.at(0).at(0).toLongLong(), qint64(13));

    // The thumbnail arrives: the image's place shows it (red here).
    QImage red(320, 240, QImage::Format_RGB32);
    red.fill(Qt::red);
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    red.save(&buffer, "PNG");
    QSignalSpy changed(&images, &AttachmentImages::changed);
    images.setThumbnail(13, png);
    QTRY_COMPARE(changed.size(), 1); // decoded on a worker
    QVERIFY(images.hasThumbnail(13));
    const auto layout = m_delegate->layout(optionFor(row), m_model->index(row));
    QImage painted(m_view->viewport()->size(), QImage::Format_ARGB32);
    m_view->viewport()->render(&painted);
    const QPoint centre = optionFor(row).rect.topLeft() + layout.attachment.center();
    QCOMPARE(QColor(painted.pixel(centre)), QColor(Qt::red));
    m_delegate->setImages(nullptr);
}

void TestMessageDelegate::hostileThumbnailsAreRefusedOffTheGuiThread()
{
    // A room member's "thumbnails": a few hundred bytes that declare 8,000
    // or 65,535 pixels a side, the frame header behind a junk byte (which
    // libjpeg skips): decoding them froze the app for 20 s and took 146 MiB.
    AttachmentImages images;
    QSignalSpy refused(&images, &AttachmentImages::thumbnailRefused);
    QSignalSpy changed(&images, &AttachmentImages::changed);
    const QList<QByteArray> hostile{HostileImages::greyJpeg(8000, 8000, 1),
                                    HostileImages::greyJpeg(65535, 65535, 1),
                                    HostileImages::greyJpeg(2000, 10), QByteArray("not an image at all")};
    for (int i = 0; i < hostile.size(); ++i) {
        QVERIFY(hostile.at(i).size() < 400);
        images.setThumbnail(100 + i, hostile.at(i));
    }
    QTRY_COMPARE(refused.size(), hostile.size());
    QCOMPARE(changed.size(), 0);
    for (int i = 0; i < hostile.size(); ++i)
        QVERIFY(!images.hasThumbnail(100 + i));
    // An honest one of the same making is shown.
    images.setThumbnail(200, HostileImages::greyJpeg(320, 180));
    QTRY_COMPARE(changed.size(), 1);
    QVERIFY(images.hasThumbnail(200));
    // A whole image that declares too many pixels is not decoded either, not
    // even scaled down while decoding (which the allocation limit lets through).
    for (const QByteArray &data :
         {HostileImages::greyJpeg(8000, 8000, 1), HostileImages::greyJpeg(20000, 20000)}) {
        QBuffer buffer;
        buffer.setData(data);
        buffer.open(QIODevice::ReadOnly);
        QImageReader reader(&buffer);
        const SafeImage::Decoded decoded = SafeImage::read(reader, QSize(400, 300));
        QVERIFY(decoded.image.isNull());
        QVERIFY2(decoded.error.contains(u"too large"_s), qPrintable(decoded.error));
    }
    QBuffer photo;
    photo.setData(HostileImages::greyJpeg(4000, 3000));
    photo.open(QIODevice::ReadOnly);
    QImageReader reader(&photo);
    QCOMPARE(SafeImage::read(reader, QSize(400, 300)).image.size(), QSize(400, 300)); // scaled while decoded
}

void TestMessageDelegate::theImageViewerDecodesOffTheGuiThread()
{
    // Opening someone's full-size image decoded it on the GUI thread: a
    // photo of 50 million pixels held the window for as long as that took.
    QTemporaryDir dir;
    const auto write = [&dir](const QString &name, const QByteArray &data) {
        QFile file(dir.filePath(name));
        return file.open(QIODevice::WriteOnly) && file.write(data) == data.size() ? file.fileName()
                                                                                  : QString();
    };
    const QString photo = write(u"photo.jpg"_s, HostileImages::greyJpeg(4000, 3000));
    const QString hostile = write(u"hostile.jpg"_s, HostileImages::greyJpeg(20000, 20000));
    QVERIFY(!photo.isEmpty() && !hostile.isEmpty());

    ImageViewer viewer(u"photo.jpg"_s);
    viewer.setImagePath(photo);
    QVERIFY(!viewer.hasFullImage()); // not decoded here and now
    QTRY_VERIFY(viewer.hasFullImage());
    QCOMPARE(viewer.currentImage().size(), QSize(4000, 3000));

    ImageViewer refusing(u"hostile.jpg"_s);
    refusing.setImagePath(hostile);
    const auto says = [&refusing](const QString &words) {
        const QList<QLabel *> labels = refusing.findChildren<QLabel *>();
        return std::any_of(labels.cbegin(), labels.cend(),
                           [&words](const QLabel *label) { return label->text().contains(words); });
    };
    QTRY_VERIFY(says(u"cannot be shown"_s));
    QVERIFY(!refusing.hasFullImage());
}

void TestMessageDelegate::animatedGifsPlayWhileShown()
{
    // Two frames (red, blue), 8 × 8, looping: written by ImageMagick, kept here as bytes.
    static const unsigned char gif[] = {
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x08, 0x00, 0x08, 0x00, 0xf0, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x21, 0xff, 0x0b, 0x4e, 0x45, 0x54, 0x53,
        0x43, 0x41, 0x50, 0x45, 0x32, 0x2e, 0x30, 0x03, 0x01, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
        0x08, 0x00, 0x08, 0x00, 0x00, 0x02, 0x07, 0x84, 0x8f, 0xa9, 0xcb, 0xed, 0x5d, 0x00, 0x00, 0x21, 0xf9,
        0x04, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x08, 0x00, 0x80, 0x00,
        0x00, 0xff, 0x00, 0x00, 0x00, 0x02, 0x07, 0x84, 0x8f, 0xa9, 0xcb, 0xed, 0x5d, 0x00, 0x00, 0x3b};
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("party.gif"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(reinterpret_cast<const char *>(gif), sizeof gif);
    file.close();
    const Attachment attachment{14,
                                QStringLiteral("party.gif"),
                                qint64(sizeof gif),
                                QStringLiteral("image/gif"),
                                QString(64, u'e'),
                                ImageInfo{8, 8, 0}};
    AttachmentImages images;
    // Not here yet, and small: fetched so that it can play.
    QSignalSpy wanted(&images, &AttachmentImages::animationNeeded);
    QVERIFY(images.picture(attachment, {}, QSize(8, 8), 1.0).isNull());
    images.picture(attachment, {}, QSize(8, 8), 1.0);
    QCOMPARE(wanted.size(), 1);
    // Here: painted, it plays (its frames change); not painted, it stops; painted again, it goes on.
    const Transfer here{Transfer::Kind::None, 0, 0, 0, {}, path};
    QVERIFY(!images.picture(attachment, here, QSize(8, 8), 1.0).isNull());
    QCOMPARE(images.playingCount(), 1);
    QSignalSpy frames(&images, &AttachmentImages::changed);
    QTRY_VERIFY(frames.size() >= 2);
    QTRY_COMPARE_WITH_TIMEOUT(images.playingCount(), 0, 5000);
    images.picture(attachment, here, QSize(8, 8), 1.0);
    QCOMPARE(images.playingCount(), 1);
}

void TestMessageDelegate::findsLinks_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("urls");
    QTest::newRow("none") << QStringLiteral("no links here, just words.") << QStringList{};
    QTest::newRow("https with sentence end") << QStringLiteral("see https://example.org/a?b=c.")
                                             << QStringList{QStringLiteral("https://example.org/a?b=c")};
    QTest::newRow("www") << QStringLiteral("try www.qt.io, it helps")
                         << QStringList{QStringLiteral("http://www.qt.io")};
    QTest::newRow("two") << QStringLiteral("(http://a.example/x) and ftp://files.example/y")
                         << QStringList{QStringLiteral("http://a.example/x"),
                                        QStringLiteral("ftp://files.example/y")};
    QTest::newRow("markup is not a link") << QStringLiteral("<a href=\"x\">click</a>") << QStringList{};
}

void TestMessageDelegate::findsLinks()
{
    QFETCH(QString, text);
    QFETCH(QStringList, urls);
    QStringList found;
    for (const auto &link : findLinks(text)) {
        found.append(link.url.toString());
        QVERIFY(text.mid(link.start, link.length).size() == link.length);
    }
    QCOMPARE(found, urls);
}

void TestMessageDelegate::clickingALinkActivatesIt()
{
    const int row = 3;
    const QModelIndex index = m_model->index(row);
    const QStyleOptionViewItem option = optionFor(row);
    const auto layout = m_delegate->layout(option, index);
    const QString text = m_model->messageAt(row).text;
    const int start = int(text.indexOf(QStringLiteral("https://")));
    const QTextLine line = layout.textLayout->lineForTextPosition(start + 3);
    const QPoint point = option.rect.topLeft() + layout.text.topLeft() +
                         QPoint(int(line.cursorToX(start + 3)), int(line.y() + line.height() / 2));
    QCOMPARE(m_delegate->linkAt(option, index, point),
             QUrl(QStringLiteral("https://example.org/menu?day=today")));

    QSignalSpy activated(m_delegate, &MessageDelegate::linkActivated);
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, {}, point);
    QCOMPARE(activated.count(), 1);
    QCOMPARE(activated.at(0).at(0).toUrl(), QUrl(QStringLiteral("https://example.org/menu?day=today")));
    // Plain words are not links.
    const QPoint words = option.rect.topLeft() + layout.text.topLeft() + QPoint(2, 4);
    QVERIFY(!m_delegate->linkAt(option, index, words).isValid());
}

void TestMessageDelegate::clickingRetryOnAFailedMessage()
{
    const int row = 7;
    const QStyleOptionViewItem option = optionFor(row);
    const auto layout = m_delegate->layout(option, m_model->index(row));
    QSignalSpy retry(m_delegate, &MessageDelegate::retryRequested);
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, {},
                      option.rect.topLeft() + layout.footer.center() + QPoint(layout.footer.width() / 4, 0));
    QCOMPARE(retry.count(), 1);
    QCOMPARE(retry.at(0).at(0).toString(), QStringLiteral("c-1"));
}

void TestMessageDelegate::colorsAreReadable_data()
{
    QTest::addColumn<QPalette>("palette");
    auto palette = [](const char *window, const char *base, const char *text, const char *highlight,
                      const char *highlightedText) {
        QPalette p;
        p.setColor(QPalette::Window, QColor(QLatin1String(window)));
        p.setColor(QPalette::Base, QColor(QLatin1String(base)));
        p.setColor(QPalette::Text, QColor(QLatin1String(text)));
        p.setColor(QPalette::WindowText, QColor(QLatin1String(text)));
        p.setColor(QPalette::Highlight, QColor(QLatin1String(highlight)));
        p.setColor(QPalette::HighlightedText, QColor(QLatin1String(highlightedText)));
        return p;
    };
    QTest::newRow("style's own") << QApplication::style()->standardPalette();
    QTest::newRow("light, blue accent") << palette("#efefef", "#ffffff", "#000000", "#0078d7", "#ffffff");
    QTest::newRow("dark") << palette("#353535", "#2a2a2a", "#eeeeee", "#2a82da", "#ffffff");
    QTest::newRow("dark, light accent") << palette("#2a2e32", "#1b1e20", "#fcfcfc", "#3daee9", "#fcfcfc");
    QTest::newRow("high contrast") << palette("#000000", "#000000", "#ffffff", "#ffff00", "#000000");
}

void TestMessageDelegate::colorsAreReadable()
{
    QFETCH(QPalette, palette);
    for (bool own : {false, true}) {
        const auto colors = MessagePalette::bubbleColors(palette, own);
        QVERIFY2(MessagePalette::contrastRatio(colors.text, colors.background) >= 4.5,
                 qPrintable(QStringLiteral("text, own=%1").arg(own)));
        QVERIFY2(MessagePalette::contrastRatio(colors.link, colors.background) >= 4.5,
                 qPrintable(QStringLiteral("link, own=%1").arg(own)));
        QVERIFY2(MessagePalette::contrastRatio(colors.secondary, colors.background) >= 3.0,
                 qPrintable(QStringLiteral("time, own=%1").arg(own)));
    }
    // Sender names (bold) on the page, for many people.
    for (int i = 0; i < 50; ++i) {
        const QString email = QStringLiteral("person%1@example.org").arg(i);
        QVERIFY2(MessagePalette::contrastRatio(MessagePalette::senderColor(email, palette),
                                               palette.color(QPalette::Base)) >= 3.0,
                 qPrintable(email));
    }
}

void TestMessageDelegate::compactRowsLineUpUnderTheName()
{
    m_delegate->setStyle(MessageDelegate::Style::Compact);
    m_view->doItemsLayout();
    auto layoutOf = [this](int row) { return m_delegate->layout(optionFor(row), m_model->index(row)); };
    const auto first = layoutOf(0);  // Bob starts a group
    const auto second = layoutOf(1); // Bob again
    const auto own = layoutOf(2);    // Alice (the user): named too, and on the same side
    QVERIFY(first.showSender && !second.showSender && own.showSender);
    QVERIFY(!first.avatar.isNull() && second.avatar.isNull() && !own.avatar.isNull());
    QCOMPARE(second.text.left(), first.text.left());
    QCOMPARE(own.text.left(), first.text.left());
    QCOMPARE(first.sender.left(), first.text.left());
    QVERIFY(first.avatar.right() < first.text.left());
    // The time beside the name, on the name's line.
    QVERIFY(first.time.left() > first.sender.right());
    QCOMPARE(first.time.top(), first.sender.top());
    QVERIFY(!first.timeText.isEmpty());
    QVERIFY(first.text.top() > first.sender.bottom());
    // No time or state squeezed into the text's line.
    QVERIFY(first.footerText.isEmpty());
}

void TestMessageDelegate::compactRowsFitAboutTwiceAsMuch()
{
    // Short messages, two people taking turns in runs of four, then of ten.
    for (const int run : {4, 10}) {
        MessageListModel model;
        model.setOwnEmail(QStringLiteral("alice@example.org"));
        const QDateTime start = QDateTime(QDate::currentDate(), QTime(9, 0)).toUTC(); // never across midnight
        QList<Message> list;
        for (int i = 0; i < 40; ++i) {
            const QString who =
                (i / run) % 2 ? QStringLiteral("alice@example.org") : QStringLiteral("bob@example.org");
            list.append(message(i + 1, who, QStringLiteral("short line %1").arg(i), start.addSecs(i * 20)));
        }
        model.addMessages(list);
        m_view->setModel(&model);
        auto total = [&] {
            m_view->doItemsLayout();
            int sum = 0;
            for (int row = 0; row < model.rowCount(); ++row)
                sum += m_delegate->sizeHint(m_view->itemOption(), model.index(row)).height();
            return sum;
        };
        m_delegate->setStyle(MessageDelegate::Style::Bubbles);
        const int bubbles = total();
        m_delegate->setStyle(MessageDelegate::Style::Compact);
        const int compact = total();
        qInfo("40 one-line messages in runs of %d: %d px as bubbles, %d px compact (%.2f)", run, bubbles,
              compact, double(compact) / bubbles);
        // A group's header line is the price of the names: about 1.5x as many
        // messages in runs of four, 1.6x in longer runs (a bubble's padding
        // is what goes; a line of text costs a line either way).
        QVERIFY2(compact * 100 <= bubbles * (run == 4 ? 70 : 65),
                 qPrintable(QStringLiteral("%1 vs %2").arg(compact).arg(bubbles)));
        // A message inside a group costs its line and a hair.
        const int line = m_view->fontMetrics().height();
        QVERIFY(m_delegate->sizeHint(m_view->itemOption(), model.index(1)).height() <= line + 2);
        m_view->setModel(m_model.get());
    }
}

void TestMessageDelegate::compactRowsShowTheirTimeOnHover()
{
    m_delegate->setStyle(MessageDelegate::Style::Compact);
    m_view->doItemsLayout();
    const int row = 1; // inside Bob's group: no header of its own
    auto render = [&](bool hovered) {
        QStyleOptionViewItem option = optionFor(row);
        if (hovered)
            option.state |= QStyle::State_MouseOver;
        else
            option.state &= ~QStyle::State_MouseOver;
        QImage image(option.rect.size(), QImage::Format_RGB32);
        image.fill(option.palette.color(QPalette::Base));
        QPainter painter(&image);
        painter.translate(-option.rect.topLeft());
        m_delegate->paint(&painter, option, m_model->index(row));
        return image;
    };
    const auto layout = m_delegate->layout(optionFor(row), m_model->index(row));
    QVERIFY(!layout.time.isNull());
    QVERIFY(layout.time.right() < layout.text.left());
    const QImage plain = render(false);
    const QImage hovered = render(true);
    auto inkIn = [](const QImage &image, const QRect &rect) {
        const QColor background = image.pixelColor(rect.topLeft());
        int ink = 0;
        for (int y = rect.top(); y <= rect.bottom(); ++y) {
            for (int x = rect.left(); x <= rect.right(); ++x)
                ink += image.pixelColor(x, y) != background ? 1 : 0;
        }
        return ink;
    };
    QCOMPARE(inkIn(plain, layout.time), 0);
    QVERIFY(inkIn(hovered, layout.time) > 10);
}

void TestMessageDelegate::compactRowsOfferRetry()
{
    m_delegate->setStyle(MessageDelegate::Style::Compact);
    m_view->doItemsLayout();
    const int row = 7;
    const QStyleOptionViewItem option = optionFor(row);
    const auto layout = m_delegate->layout(option, m_model->index(row));
    QCOMPARE(layout.footerText, QStringLiteral("Not sent · Retry"));
    QVERIFY(layout.footer.top() > layout.text.bottom());
    QSignalSpy retry(m_delegate, &MessageDelegate::retryRequested);
    QTest::mouseClick(m_view->viewport(), Qt::LeftButton, {}, option.rect.topLeft() + layout.footer.center());
    QCOMPARE(retry.count(), 1);
    // Once it is sent again, the row loses the line it no longer needs.
    const int failedHeight = m_delegate->sizeHint(m_view->itemOption(), m_model->index(row)).height();
    m_model->setDeliveryState(QStringLiteral("c-1"), Delivery::Sending);
    QVERIFY(m_delegate->sizeHint(m_view->itemOption(), m_model->index(row)).height() < failedHeight);
}

QTEST_MAIN(TestMessageDelegate)
#include "tst_messagedelegate.moc"
