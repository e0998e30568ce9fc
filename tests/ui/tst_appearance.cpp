// The window as people see it (offscreen): a lived-in #general in bubble and
// compact style, light and dark. Checks what a screenshot would show, and with
// NATTER_SCREENSHOT_DIR set saves those screenshots (1x and 2x) for docs/ and
// the AppStream metainfo: docs/screenshots/update.sh.
#include "common/conversationlistmodel.h"
#include "common/memberlistmodel.h"
#include "common/messagelistmodel.h"
#include "ui/attachmentimages.h"
#include "ui/composer.h"
#include "ui/conversationview.h"
#include "ui/mainwindow.h"
#include "ui/messagedelegate.h"
#include "ui/sidebardelegates.h"
#include "ui/theme.h"
#include "ui/translations.h"
#include "ui/uploadsheet.h"

#include <QAction>
#include <QApplication>
#include <QBuffer>
#include <QDir>
#include <QLabel>
#include <QListView>
#include <QPainter>
#include <QPixmap>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTest>
#include <QToolButton>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

const User Alice{u"Alice Martin"_s, u"alice@example.org"_s};
const User Bob{u"Bob Chen"_s, u"bob@example.org"_s};
const User Carol{u"Carol Díaz"_s, u"carol@example.org"_s};
const User Dave{u"Dave Okafor"_s, u"dave@example.org"_s};

/// A morning in #general: yesterday's end, then today's talk.
QList<Message> general()
{
    const QDateTime today = QDateTime(QDate::currentDate(), QTime(9, 12)).toUTC();
    const QDateTime yesterday = today.addDays(-1).addSecs(8 * 3600);
    struct Line
    {
        const User &from;
        QDateTime when;
        QString text;
    };
    const QList<Line> lines{
        {Dave, yesterday, u"Build 2.4.1 is on the share, release notes inside."_s},
        {Alice, yesterday.addSecs(40), u"Thanks Dave! Trying it tonight."_s},
        {Bob, today, u"Morning all ☕"_s},
        {Bob, today.addSecs(20), u"Standup moves to 10:30 today, the projector room is booked until then."_s},
        {Carol, today.addSecs(95),
         u"Works for me. I put the slides for the review here: https://wiki.example.org/design/review-q4"_s},
        {Carol, today.addSecs(110), u"Comments welcome before lunch 🙏"_s},
        {Alice, today.addSecs(180), u"Read them on the train — two small things:"_s},
        {Alice, today.addSecs(185),
         u"1. the colour chart on page 4 is hard to read in dark mode\n2. can we show last month's numbers "
         u"beside this month's?"_s},
        {Carol, today.addSecs(260), u"Good catches, fixing both."_s},
        {Dave, today.addSecs(400), u"Anyone up for the new ramen place at 12:30? 🍜"_s},
        {Bob, today.addSecs(430), u"In!"_s},
        {Alice, today.addSecs(470), u"Count me in too"_s},
    };
    QList<Message> messages;
    qint64 id = 400;
    for (const Line &line : lines) {
        Message m;
        m.id = ++id;
        m.room = u"general"_s;
        m.from = line.from;
        m.text = line.text;
        m.timestamp = line.when;
        messages.append(m);
    }
    // What a team's conversation carries besides text: a reply, reactions, an edit
    // (above the part the compact-versus-bubbles count looks at).
    Message &slides = messages[4];
    Message &answer = messages[6];
    answer.reply = ReplyPreview{slides.id, slides.from, Message::previewOf(slides.text), false};
    slides.reactions = {Reaction{u"👀"_s, 2, {Alice, Bob}, true}};
    messages[2].reactions = {Reaction{u"☕"_s, 3, {Bob, Alice, Carol}, true},
                             Reaction{u"👋"_s, 1, {Carol}, false}};
    messages[3].edited = messages[3].timestamp.addSecs(30);
    return messages;
}

struct Scene
{
    ConversationListModel conversations;
    MemberListModel members;
    MessageListModel messages;
    MainWindow window;

    Scene()
    {
        messages.setOwnEmail(Alice.email);
        messages.addMessages(general());
        const QDateTime now = QDateTime::currentDateTimeUtc();
        auto add = [this](const ConversationKey &key, const QString &title, const QString &from,
                          const QString &text, const QDateTime &when, int unread) {
            conversations.add(key, title);
            conversations.setLastMessage(key, from, text, when);
            if (unread > 0) // one of #design's calls Alice by name
                conversations.incrementUnread(key, unread, key.name == u"design"_s ? 1 : 0);
        };
        const QList<Message> talk = general();
        add(ConversationKey::room(u"general"_s), {}, talk.last().from.name, talk.last().text,
            talk.last().timestamp, 0);
        add(ConversationKey::room(u"design"_s), {}, Carol.name, u"New icons are in the repo"_s,
            now.addSecs(-1500), 3);
        add(ConversationKey::room(u"release"_s), {}, Dave.name, u"RC2 tagged"_s, now.addSecs(-7200), 0);
        add(ConversationKey::room(u"leads"_s), {}, {}, u"Agenda for Thursday attached"_s, now.addSecs(-86400),
            0);
        conversations.setPrivate(ConversationKey::room(u"leads"_s), true);
        add(ConversationKey::direct(Bob.email), Bob.name, Bob.name, u"See you at standup"_s,
            now.addSecs(-600), 1);
        add(ConversationKey::direct(Carol.email), Carol.name, {}, u"Sent you the slides"_s,
            now.addSecs(-5000), 0);
        conversations.setPresence(ConversationKey::direct(Bob.email), true);
        conversations.setPresence(ConversationKey::direct(Carol.email), false);
        members.setSelfEmail(Alice.email);
        members.setMembers({Alice, Bob, Carol, Dave});

        window.setConversationModel(&conversations);
        window.setMemberModel(&members);
        window.setServerTitle(u"Studio LAN"_s);
        window.setConnectionSecurity(true, u"3F:9A:…"_s);
        window.setConnectionStatus(MainWindow::ConnectionIndicator::Online,
                                   u"Connected to Studio LAN as Alice Martin"_s);
        window.resize(1100, 700);
        window.show();
    }

    bool open()
    {
        if (!QTest::qWaitForWindowExposed(&window))
            return false;
        window.showConversation(ConversationKey::room(u"general"_s), &messages);
        window.setConversationHeader(u"#general"_s, u"4 members online"_s);
        window.setTypingText(u"Carol Díaz is typing…"_s);
        return true;
    }

    /// How many messages show in full in the message view.
    int messagesInView() const
    {
        const QListView *view = window.messageView();
        int shown = 0;
        for (int row = 0; row < view->model()->rowCount(); ++row) {
            const QRect rect = view->visualRect(view->model()->index(row, 0));
            shown += view->viewport()->rect().contains(rect) ? 1 : 0;
        }
        return shown;
    }
};

double lightness(const QImage &image, const QRect &rect)
{
    double sum = 0;
    int count = 0;
    for (int y = rect.top(); y <= rect.bottom(); y += 3) {
        for (int x = rect.left(); x <= rect.right(); x += 3) {
            sum += image.pixelColor(x, y).lightnessF();
            ++count;
        }
    }
    return count ? sum / count : 0;
}

QImage renderAt(QWidget &window, qreal scale)
{
    QPixmap pixmap(window.size() * scale);
    pixmap.setDevicePixelRatio(scale);
    pixmap.fill(Qt::transparent);
    window.render(&pixmap);
    return pixmap.toImage();
}

} // namespace

class TestAppearance final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void looksRight_data();
    void looksRight();
    void compactShowsMoreOfTheConversation();
    void compactIsChosenFromTheViewMenu();
    void sidebarRowsKeepTheirPartsApart();
    void sidebarTimesReadLikeAClock();
    void sharedFilesLookRight_data();
    void sharedFilesLookRight();
    void aNarrowWindowLooksRight();
    void theUploadSheetLooksRight();
};

void TestAppearance::initTestCase()
{
    installTranslations(qApp);
}

void TestAppearance::cleanup()
{
    applyTheme(Theme::System);
}

void TestAppearance::looksRight_data()
{
    QTest::addColumn<bool>("compact");
    QTest::addColumn<Theme>("theme");
    for (bool compact : {false, true}) {
        for (Theme theme : {Theme::Light, Theme::Dark}) {
            QTest::addRow("%s-%s", compact ? "compact" : "bubbles", theme == Theme::Dark ? "dark" : "light")
                << compact << theme;
        }
    }
}

void TestAppearance::looksRight()
{
    QFETCH(bool, compact);
    QFETCH(Theme, theme);
    Scene scene;
    scene.window.setTheme(theme);
    scene.window.setCompactMessages(compact);
    QVERIFY(scene.open());
    QListView *view = scene.window.messageView();
    QTRY_COMPARE(view->verticalScrollBar()->value(), view->verticalScrollBar()->maximum());
    const QImage image = renderAt(scene.window, 1);

    // The theme reaches every pane: messages, sidebar, members, composer.
    const bool dark = theme == Theme::Dark;
    for (QWidget *pane :
         std::initializer_list<QWidget *>{view->viewport(), scene.window.roomList()->viewport(),
                                          scene.window.memberList()->viewport(), scene.window.composer()}) {
        const QRect rect(pane->mapTo(&scene.window, QPoint(0, 0)), pane->size());
        const double light = lightness(image, rect);
        QVERIFY2(dark ? light < 0.35 : light > 0.65,
                 qPrintable(u"%1: lightness %2"_s.arg(pane->objectName()).arg(light)));
    }
    // The latest message is in view, whole.
    const QModelIndex last = view->model()->index(view->model()->rowCount() - 1, 0);
    QVERIFY(view->viewport()->rect().contains(view->visualRect(last)));

    const QString folder = qEnvironmentVariable("NATTER_SCREENSHOT_DIR");
    if (!folder.isEmpty()) {
        QVERIFY(QDir().mkpath(folder));
        const QString name = u"%1/natter-%2-%3"_s.arg(folder, compact ? u"compact"_s : u"bubbles"_s,
                                                      dark ? u"dark"_s : u"light"_s);
        QVERIFY(image.save(name + u".png"_s));
        QVERIFY(renderAt(scene.window, 2).save(name + u"@2x.png"_s));
    }
}

void TestAppearance::aNarrowWindowLooksRight()
{
    // A phone-width window: the conversation alone, with "‹" back to the
    // list, the status bar within the width; then the list alone.
    Scene scene;
    QVERIFY(scene.open());
    scene.window.resize(440, 720);
    QTRY_COMPARE(scene.window.width(), 440);
    QTRY_VERIFY(scene.window.messageView()->isVisible());
    QVERIFY(scene.window.backButton()->isVisible());
    QVERIFY(!scene.window.roomList()->isVisible());
    QListView *view = scene.window.messageView();
    QTRY_VERIFY(view->width() >= 400); // the whole width
    QTRY_COMPARE(view->verticalScrollBar()->value(), view->verticalScrollBar()->maximum());
    const QImage conversation = renderAt(scene.window, 1);
    QTest::mouseClick(scene.window.backButton(), Qt::LeftButton);
    QTRY_VERIFY(scene.window.isShowingConversationList());
    QTRY_VERIFY(scene.window.roomList()->width() >= 400);
    const QImage list = renderAt(scene.window, 1);
    const QString folder = qEnvironmentVariable("NATTER_SCREENSHOT_DIR");
    if (!folder.isEmpty()) {
        QVERIFY(QDir().mkpath(folder));
        QVERIFY(conversation.save(folder + u"/natter-narrow-light.png"_s));
        QVERIFY(list.save(folder + u"/natter-narrow-list-light.png"_s));
    }
}

void TestAppearance::theUploadSheetLooksRight()
{
    // A pasted screenshot, over the window it is about to be shared in.
    Scene scene;
    QVERIFY(scene.open());
    QImage shot(1280, 800, QImage::Format_RGB32);
    shot.fill(QColor(0xf4, 0xf6, 0xf8));
    {
        QPainter painter(&shot);
        painter.fillRect(QRect(0, 0, 1280, 90), QColor(0x2b, 0x57, 0x9a));
        painter.fillRect(QRect(80, 160, 520, 420), Qt::white);
        painter.fillRect(QRect(680, 160, 520, 200), QColor(0xdd, 0xe6, 0xf0));
    }
    UploadSheet sheet(u"#general"_s, shot, &scene.window);
    sheet.show();
    QVERIFY(QTest::qWaitForWindowExposed(&sheet));
    QCOMPARE(sheet.summary(), u"Pasted image · 1280 × 800"_s);
    QVERIFY(sheet.preview().width() <= 360 && sheet.preview().height() <= 240);
    const QImage image = renderAt(sheet, 1);
    const QString folder = qEnvironmentVariable("NATTER_SCREENSHOT_DIR");
    if (!folder.isEmpty()) {
        QVERIFY(QDir().mkpath(folder));
        QVERIFY(image.save(folder + u"/natter-upload-sheet-light.png"_s));
    }
}

void TestAppearance::compactShowsMoreOfTheConversation()
{
    Scene scene;
    QVERIFY(scene.open());
    scene.window.resize(1100, 420);
    QListView *view = scene.window.messageView();
    QTRY_COMPARE(view->verticalScrollBar()->value(), view->verticalScrollBar()->maximum());
    const int bubbles = scene.messagesInView();
    scene.window.setCompactMessages(true);
    QVERIFY(scene.window.isCompactMessages());
    QTRY_COMPARE(view->verticalScrollBar()->value(), view->verticalScrollBar()->maximum());
    const int compact = scene.messagesInView();
    qInfo("messages in full view at 420 px: %d as bubbles, %d compact", bubbles, compact);
    QVERIFY2(compact * 10 >= bubbles * 14, qPrintable(u"%1 vs %2"_s.arg(compact).arg(bubbles)));
    // And back: the same rows as before.
    scene.window.setCompactMessages(false);
    QTRY_COMPARE(view->verticalScrollBar()->value(), view->verticalScrollBar()->maximum());
    QCOMPARE(scene.messagesInView(), bubbles);
}

void TestAppearance::compactIsChosenFromTheViewMenu()
{
    Scene scene;
    QVERIFY(scene.open());
    QAction *compact = nullptr;
    const QList<QAction *> actions = scene.window.findChildren<QAction *>();
    for (QAction *action : actions) {
        if (action->text().remove(u'&') == u"Compact Messages"_s)
            compact = action;
    }
    QVERIFY(compact);
    QVERIFY(compact->isCheckable() && !compact->isChecked());
    QSignalSpy changed(&scene.window, &MainWindow::compactMessagesChanged);
    compact->trigger();
    QVERIFY(scene.window.isCompactMessages());
    QCOMPARE(changed.count(), 1); // said, to be remembered
    QCOMPARE(changed.at(0).at(0).toBool(), true);
    // Set by the app (a remembered choice): the menu follows, nothing is said.
    scene.window.setCompactMessages(false);
    QVERIFY(!compact->isChecked());
    QCOMPARE(changed.count(), 1);
}

void TestAppearance::sidebarRowsKeepTheirPartsApart()
{
    Scene scene;
    QVERIFY(scene.open());
    int mentioned = 0;
    for (QListView *list : {scene.window.roomList(), scene.window.directList()}) {
        auto *delegate = qobject_cast<ConversationDelegate *>(list->itemDelegate());
        QVERIFY(delegate);
        for (int row = 0; row < list->model()->rowCount(); ++row) {
            const QModelIndex index = list->model()->index(row, 0);
            QStyleOptionViewItem option;
            option.initFrom(list);
            option.font = list->font();
            option.rect = list->visualRect(index);
            const ConversationDelegate::Layout l = delegate->layout(option, index);
            const QString where = u"%1 row %2"_s.arg(list->objectName()).arg(row);
            QVERIFY2(option.rect.contains(l.icon), qPrintable(where));
            QVERIFY2(option.rect.contains(l.title), qPrintable(where));
            QVERIFY2(option.rect.contains(l.preview), qPrintable(where)); // every row here has a last message
            QVERIFY2(option.rect.contains(l.time), qPrintable(where));
            QVERIFY(l.title.bottom() < l.preview.top());
            QVERIFY(!l.title.intersects(l.time) && l.title.right() < l.time.left());
            QVERIFY(!l.icon.intersects(l.title) && !l.icon.intersects(l.preview));
            if (index.data(ConversationListModel::UnreadCountRole).toInt() > 0) {
                QVERIFY2(option.rect.contains(l.badge), qPrintable(where));
                QVERIFY(!l.badge.intersects(l.preview));
            } else {
                QVERIFY(l.badge.isNull());
            }
            // A mention has an "@" of its own beside the count.
            if (index.data(ConversationListModel::MentionCountRole).toInt() > 0) {
                ++mentioned;
                QVERIFY2(option.rect.contains(l.mention), qPrintable(where));
                QVERIFY(!l.mention.intersects(l.badge) && !l.mention.intersects(l.preview));
                QVERIFY(l.mention.right() < l.badge.left());
            } else {
                QVERIFY(l.mention.isNull());
            }
        }
    }
    QCOMPARE(mentioned, 1);
}

void TestAppearance::sidebarTimesReadLikeAClock()
{
    const QDateTime now(QDate(2026, 12, 3), QTime(15, 40)); // a Thursday
    QCOMPARE(ConversationDelegate::whenText(QDateTime(now.date(), QTime(9, 5, 42)), now),
             MessageDelegate::shortTime(QTime(9, 5)));
    QVERIFY(!ConversationDelegate::whenText(QDateTime(now.date(), QTime(9, 5, 42)), now).contains(u"42"_s));
    QCOMPARE(ConversationDelegate::whenText(now.addDays(-1), now), u"Yesterday"_s);
    QCOMPARE(ConversationDelegate::whenText(now.addDays(-3), now),
             QLocale().dayName(1, QLocale::ShortFormat));
    QCOMPARE(ConversationDelegate::whenText(now.addDays(-30), now),
             QLocale().toString(now.addDays(-30).date(), QLocale::ShortFormat));
}

QTEST_MAIN(TestAppearance)
void TestAppearance::sharedFilesLookRight_data()
{
    QTest::addColumn<Theme>("theme");
    QTest::newRow("light") << Theme::Light;
    QTest::newRow("dark") << Theme::Dark;
}

void TestAppearance::sharedFilesLookRight()
{
    // Files as a team shares them: a screenshot inline, a PDF already here
    // (Open, Show in Folder), a build still going up with its progress.
    QFETCH(Theme, theme);
    Scene scene;
    scene.window.setTheme(theme);
    const QDateTime now = QDateTime(QDate::currentDate(), QTime(9, 40)).toUTC();
    Message shot;
    shot.id = 501;
    shot.room = u"general"_s;
    shot.from = Carol;
    shot.timestamp = now;
    shot.text = u"New login page, what do you think?"_s;
    shot.attachment = Attachment{
        31, u"login-page.png"_s, 412'000, u"image/png"_s, QString(64, u'a'), ImageInfo{1600, 1000, 32}};
    Message pdf;
    pdf.id = 502;
    pdf.room = u"general"_s;
    pdf.from = Dave;
    pdf.timestamp = now.addSecs(60);
    pdf.attachment =
        Attachment{33, u"Release notes 2.4.pdf"_s, 2'400'000, u"application/pdf"_s, QString(64, u'b'), {}};
    scene.messages.addMessages({shot, pdf});
    Message build;
    build.room = u"general"_s;
    build.from = Alice;
    build.timestamp = now.addSecs(120);
    build.clientId = u"f-build"_s;
    build.attachment.name = u"natter-2.4.1-amd64.deb"_s;
    build.attachment.size = 1'610'612'736;
    build.attachment.mime = u"application/vnd.debian.binary-package"_s;
    scene.messages.addOutgoing(build);
    scene.messages.setDownloadTransfer(33, Transfer{Transfer::Kind::None, 0, 0, 0, {}, u"/tmp/notes.pdf"_s});
    scene.messages.setUploadTransfer(
        u"f-build"_s, Transfer{Transfer::Kind::Upload, 644'245'094, 1'610'612'736, 118'000'000, {}, {}});

    // The screenshot's thumbnail: a page with a form on it.
    QImage thumbnail(640, 400, QImage::Format_RGB32);
    thumbnail.fill(QColor(236, 240, 245));
    {
        QPainter painter(&thumbnail);
        painter.fillRect(QRect(0, 0, 640, 56), QColor(32, 92, 180));
        painter.fillRect(QRect(200, 120, 240, 200), Qt::white);
        painter.fillRect(QRect(230, 160, 180, 24), QColor(220, 224, 230));
        painter.fillRect(QRect(230, 200, 180, 24), QColor(220, 224, 230));
        painter.fillRect(QRect(230, 250, 180, 32), QColor(32, 92, 180));
    }
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    thumbnail.save(&buffer, "PNG");
    AttachmentImages images;
    QSignalSpy decoded(&images, &AttachmentImages::changed);
    images.setThumbnail(32, png);
    QTRY_COMPARE(decoded.size(), 1); // on a worker
    scene.window.setAttachmentImages(&images);
    QVERIFY(scene.open());
    QListView *view = scene.window.messageView();
    QTRY_COMPARE(view->verticalScrollBar()->value(), view->verticalScrollBar()->maximum());
    const QImage image = renderAt(scene.window, 1);

    // The screenshot shows inline at its shape, its thumbnail painted (the blue bar at its top).
    MessageDelegate *delegate = scene.window.messageDelegate();
    const auto layoutOf = [&](int row) {
        QStyleOptionViewItem option;
        option.initFrom(view->viewport());
        option.font = view->font();
        option.rect = view->visualRect(view->model()->index(row, 0));
        return std::pair{option.rect, delegate->layout(option, view->model()->index(row, 0))};
    };
    const int shotRow = view->model()->rowCount() - 3;
    const auto [shotRect, shotLayout] = layoutOf(shotRow);
    QVERIFY(shotLayout.image);
    QVERIFY(qAbs(shotLayout.attachment.width() * 1000 - shotLayout.attachment.height() * 1600) <= 1600);
    const QPoint bar =
        view->viewport()->mapTo(&scene.window, shotRect.topLeft() + shotLayout.attachment.topLeft() +
                                                   QPoint(shotLayout.attachment.width() / 2, 3));
    QCOMPARE(image.pixelColor(bar).blue() > 150 && image.pixelColor(bar).red() < 80, true);
    // The upload's progress bar is drawn in the highlight colour, about 40 % of the way.
    const auto [buildRect, buildLayout] = layoutOf(view->model()->rowCount() - 1);
    QVERIFY(!buildLayout.image);
    QVERIFY(view->viewport()->rect().contains(buildRect));

    const QString folder = qEnvironmentVariable("NATTER_SCREENSHOT_DIR");
    if (!folder.isEmpty()) {
        QVERIFY(QDir().mkpath(folder));
        const QString name =
            u"%1/natter-files-%2"_s.arg(folder, theme == Theme::Dark ? u"dark"_s : u"light"_s);
        QVERIFY(image.save(name + u".png"_s));
        QVERIFY(renderAt(scene.window, 2).save(name + u"@2x.png"_s));
    }
}

#include "tst_appearance.moc"
