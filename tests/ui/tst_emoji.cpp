// Emoji in colour: where a text has emoji, and that a message's ❤ is drawn
// from the colour font, not the text font's black glyph.
#include "common/messagelistmodel.h"
#include "ui/conversationview.h"
#include "ui/emoji.h"
#include "ui/messagedelegate.h"

#include <QApplication>
#include <QPainter>
#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;

class TestEmoji final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void runsCoverWholeSequences();
    void aMessagesHeartIsInColour();
};

void TestEmoji::runsCoverWholeSequences()
{
    using Run = Emoji::Run;
    QCOMPARE(Emoji::runs(u"plain text, 1.5 × 2"_s), QList<Run>());
    QCOMPARE(Emoji::runs(u"I ❤ it"_s), (QList<Run>{{2, 1}}));
    QCOMPARE(Emoji::runs(u"ok 👍🏽!"_s), (QList<Run>{{3, 4}}));      // with its skin tone
    QCOMPARE(Emoji::runs(u"👩‍💻 codes"_s), (QList<Run>{{0, 5}})); // joined by ZWJ
    QCOMPARE(Emoji::runs(u"🇫🇷 and 🇩🇪"_s), (QList<Run>{{0, 4}, {9, 4}})); // flags
    QCOMPARE(Emoji::runs(u"press 1️⃣"_s), (QList<Run>{{6, 3}}));     // keycap
    QCOMPARE(Emoji::runs(u"☕☕"_s), (QList<Run>{{0, 1}, {1, 1}}));
}

void TestEmoji::aMessagesHeartIsInColour()
{
    QVERIFY2(!Emoji::family().isEmpty(), "a colour emoji font (fonts-noto-color-emoji) is installed");
    // DejaVu Sans, the usual text font here, has a black ❤ of its own.
    MessageListModel model;
    model.setOwnEmail(u"alice@example.org"_s);
    Message love;
    love.id = 1;
    love.room = u"general"_s;
    love.from = User{u"Bob"_s, u"bob@example.org"_s};
    love.text = u"❤❤❤❤❤❤"_s;
    love.timestamp = QDateTime::currentDateTimeUtc();
    model.addMessages({love});
    ConversationView view;
    view.resize(500, 300);
    view.setMessages(&model);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    const QImage image = view.viewport()->grab().toImage();
    // Some pixel is clearly red: the colour glyph (text is drawn in black or grey).
    bool red = false;
    for (int y = 0; y < image.height() && !red; ++y) {
        for (int x = 0; x < image.width() && !red; ++x) {
            const QColor c = image.pixelColor(x, y);
            red = c.red() > 180 && c.green() < 90 && c.blue() < 110;
        }
    }
    QVERIFY(red);
}

QTEST_MAIN(TestEmoji)
#include "tst_emoji.moc"
