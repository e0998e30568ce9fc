#include "validation.h"

#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;

class TestValidation : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roomNames_data();
    void roomNames();
    void emails_data();
    void emails();
    void textLengthCountsCodePoints();
    void normalizedEmailIsLowerCase();
};

void TestValidation::roomNames_data()
{
    QTest::addColumn<QString>("room");
    QTest::addColumn<bool>("valid");
    QTest::newRow("simple") << u"codeial"_s << true;
    QTest::newRow("digits and marks") << u"team-2_q4.plans"_s << true;
    QTest::newRow("one char") << u"a"_s << true;
    QTest::newRow("64 chars") << QString(64, u'a') << true;
    QTest::newRow("65 chars") << QString(65, u'a') << false;
    QTest::newRow("empty") << QString() << false;
    QTest::newRow("upper") << u"General"_s << false;
    QTest::newRow("leading dot") << u".x"_s << false;
    QTest::newRow("space") << u"a b"_s << false;
    QTest::newRow("unicode") << u"café"_s << false;
    QTest::newRow("slash") << u"a/b"_s << false;
}

void TestValidation::roomNames()
{
    QFETCH(QString, room);
    QFETCH(bool, valid);
    QCOMPARE(Validation::isValidRoomName(room), valid);
}

void TestValidation::emails_data()
{
    QTest::addColumn<QString>("email");
    QTest::addColumn<bool>("valid");
    QTest::newRow("plain") << u"bob@example.org"_s << true;
    QTest::newRow("short") << u"b@x"_s << true;
    QTest::newRow("no at") << u"bob"_s << false;
    QTest::newRow("no local") << u"@x.org"_s << false;
    QTest::newRow("no domain") << u"bob@"_s << false;
    QTest::newRow("two at") << u"a@b@c"_s << false;
    QTest::newRow("space") << u"b ob@x.org"_s << false;
    QTest::newRow("too long") << (QString(250, u'a') + u"@x.org"_s) << false;
}

void TestValidation::emails()
{
    QFETCH(QString, email);
    QFETCH(bool, valid);
    QCOMPARE(Validation::isValidEmail(email), valid);
}

void TestValidation::textLengthCountsCodePoints()
{
    QCOMPARE(Validation::textLength(u"abc"), 3);
    QCOMPARE(Validation::textLength(u"🎉🎉"), 2); // four UTF-16 units
    QVERIFY(Validation::isBlank(u" \n\t "));
    QVERIFY(!Validation::isBlank(u" x "));
}

void TestValidation::normalizedEmailIsLowerCase()
{
    QCOMPARE(Validation::normalizedEmail(u"Bob@Example.ORG"), u"bob@example.org"_s);
}

QTEST_GUILESS_MAIN(TestValidation)
#include "tst_validation.moc"
