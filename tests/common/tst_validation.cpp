#include "common/validation.h"

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
    void displayNames_data();
    void displayNames();
    void lookAlikeEmailsAreShownAsWhatTheyAre();
    void normalizedEmailIsLowerCase();
    void normalizedRoomIsTrimmedAndLowerCase();
    void hostileFileNamesAreMadeSafe_data();
    void hostileFileNamesAreMadeSafe();
    void fileNamesDigestsAndMimeTypes();
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
    QTest::newRow("right-to-left override") << u"bob\u202E@x.org"_s << false;
    QTest::newRow("zero width space") << u"bo\u200Bb@x.org"_s << false;
    QTest::newRow("line separator") << u"bob@x.org\u2028"_s << false;
    QTest::newRow("lone surrogate") << (u"bob"_s + QChar(0xdc00) + u"@x.org"_s) << false;
    QTest::newRow("non-latin letters") << u"аlice@x.org"_s << true; // allowed, but shown as what they are
}

void TestValidation::emails()
{
    QFETCH(QString, email);
    QFETCH(bool, valid);
    QCOMPARE(Validation::isValidEmail(email), valid);
}

void TestValidation::displayNames_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("valid");
    QTest::newRow("plain") << u"Alice Smith"_s << true;
    QTest::newRow("accents and emoji") << u"Zoë 🎉"_s << true;
    QTest::newRow("markup is just text") << u"<b>Boss</b>"_s << true; // shown as typed, never as markup
    QTest::newRow("right-to-left override") << u"Alice\u202Enimda"_s << false;
    QTest::newRow("zero width joiner") << u"Ali\u200Dce"_s << false;
    QTest::newRow("zero width space") << u"Ali\u200Bce"_s << false;
    QTest::newRow("line separator") << u"Alice\u2028IT admin"_s << false;
    QTest::newRow("paragraph separator") << u"Alice\u2029Bob"_s << false;
    QTest::newRow("no-break space") << u"Alice\u00A0Smith"_s << false;
    QTest::newRow("ideographic space") << u"Alice\u3000Smith"_s << false;
    QTest::newRow("control") << u"Alice\u0007"_s << false;
    QTest::newRow("lone surrogate") << (u"Alice"_s + QChar(0xd800)) << false;
    QTest::newRow("only spaces") << u"   "_s << false;
    QTest::newRow("65 characters") << QString(65, u'x') << false;
}

void TestValidation::displayNames()
{
    QFETCH(QString, name);
    QFETCH(bool, valid);
    QCOMPARE(Validation::isValidDisplayName(name), valid);
}

void TestValidation::lookAlikeEmailsAreShownAsWhatTheyAre()
{
    QCOMPARE(Validation::displayableEmail(u"alice@x.org"_s), u"alice@x.org"_s);
    // A Cyrillic "а" (U+0430) cannot pass for a Latin "a".
    QCOMPARE(Validation::displayableEmail(u"аlice@x.org"_s), u"[U+0430]lice@x.org"_s);
    QCOMPARE(Validation::displayableEmail(u"bob@😀.org"_s), u"bob@[U+1F600].org"_s);
}

void TestValidation::textLengthCountsCodePoints()
{
    QCOMPARE(Validation::textLength(u"abc"), 3);
    QCOMPARE(Validation::textLength(u"🎉🎉"), 2); // four UTF-16 units
    // Unpaired halves are a character each: 10,000 of them are never "one character".
    const QString lone = QString(10000, QChar(0xdc00)) + u'x';
    QCOMPARE(Validation::textLength(lone), 10001);
    QCOMPARE(Validation::firstInvalidUnicode(lone), 0);
    QCOMPARE(Validation::firstInvalidUnicode(u"ok 🎉"), -1);
    QCOMPARE(Validation::firstInvalidUnicode(QString(QStringLiteral("ab") + QChar(0xd83c))),
             2); // a high half at the end
    QCOMPARE(Validation::firstInvalidUnicode(QString(QStringLiteral("a") + QChar(0xdf89) + QChar(0xd83c))),
             1); // reversed
    QVERIFY(Validation::isBlank(u" \n\t "));
    QVERIFY(!Validation::isBlank(u" x "));
}

void TestValidation::normalizedEmailIsLowerCase()
{
    QCOMPARE(Validation::normalizedEmail(u"Bob@Example.ORG"), u"bob@example.org"_s);
}

void TestValidation::normalizedRoomIsTrimmedAndLowerCase()
{
    QCOMPARE(Validation::normalizedRoom(u"  General\t"), u"general"_s);
    QVERIFY(Validation::isValidRoomName(Validation::normalizedRoom(u" Lab-2.North ")));
    QVERIFY(!Validation::isValidRoomName(Validation::normalizedRoom(u"two words")));
}

void TestValidation::hostileFileNamesAreMadeSafe_data()
{
    QTest::addColumn<QString>("sent");
    QTest::addColumn<QString>("saved");
    QTest::newRow("plain") << u"report.pdf"_s << u"report.pdf"_s;
    QTest::newRow("unicode") << u"Crème brûlée 🎉.png"_s << u"Crème brûlée 🎉.png"_s;
    QTest::newRow("climbing out") << u"../../.ssh/authorized_keys"_s << u"_.._.ssh_authorized_keys"_s;
    QTest::newRow("absolute") << u"/etc/passwd"_s << u"_etc_passwd"_s;
    QTest::newRow("windows path") << u"C:\\Windows\\system32\\evil.dll"_s
                                  << u"C__Windows_system32_evil.dll"_s;
    QTest::newRow("dot dot") << u".."_s << u"file"_s;
    QTest::newRow("hidden") << u".bashrc"_s << u"bashrc"_s;
    QTest::newRow("trailing dots and spaces") << u"notes.txt. . "_s << u"notes.txt"_s;
    QTest::newRow("control characters") << u"a\nb\tc\u0001d.txt"_s << u"abcd.txt"_s;
    QTest::newRow("right-to-left override") << u"invoice\u202Etxt.exe"_s << u"invoicetxt.exe"_s;
    QTest::newRow("reserved name") << u"CON.txt"_s << u"_CON.txt"_s;
    QTest::newRow("reserved name, lower case") << u"nul"_s << u"_nul"_s;
    QTest::newRow("not reserved") << u"CONSOLE.txt"_s << u"CONSOLE.txt"_s;
    QTest::newRow("nothing left") << u"///"_s << u"___"_s;
    QTest::newRow("empty") << QString() << u"file"_s;
    QTest::newRow("wildcards") << u"what?*.txt"_s << u"what__.txt"_s;
    QTest::newRow("too long keeps its extension")
        << QString(300, u'a') + u".pdf"_s << QString(196, u'a') + u".pdf"_s;
}

void TestValidation::hostileFileNamesAreMadeSafe()
{
    QFETCH(QString, sent);
    QFETCH(QString, saved);
    const QString safe = Validation::safeFileName(sent);
    QCOMPARE(safe, saved);
    QVERIFY(!safe.contains(u'/') && !safe.contains(u'\\') && safe != u".."_s && !safe.startsWith(u'.'));
    QCOMPARE(Validation::safeFileName(safe), safe); // stable
}

void TestValidation::fileNamesDigestsAndMimeTypes()
{
    QVERIFY(Validation::isValidFileName(u"report (final).pdf"));
    QVERIFY(!Validation::isValidFileName(u""));
    QVERIFY(!Validation::isValidFileName(u"a\u0000b"_s));
    // Format characters disguise a name: "invoice\u202Efdp.sh" shows as "invoicehs.pdf".
    QVERIFY(!Validation::isValidFileName(u"invoice\u202Efdp.sh"_s));
    QVERIFY(!Validation::isValidFileName(u"a\u200Bb.txt"_s));
    QVERIFY(!Validation::isValidFileName(u"two\u2028lines.txt"_s));
    QVERIFY(Validation::isValidFileName(u"caf\u00E9 menu\u00A0(1).pdf"_s)); // accents, other spaces
    // A local file with such a name is shared under what is left of it.
    QCOMPARE(Validation::shareableFileName(u"invoice\u202Efdp.sh"_s), u"invoicefdp.sh"_s);
    QCOMPARE(Validation::shareableFileName(u"\u200B"_s), u"file"_s);
    QCOMPARE(Validation::shareableFileName(QString(300, u'x')).size(), 255);
    QVERIFY(Validation::isValidFileName(Validation::shareableFileName(u"a\tb\u2029c"_s)));
    QVERIFY(Validation::isValidFileName(QString(255, u'x')));
    QVERIFY(!Validation::isValidFileName(QString(256, u'x')));
    QVERIFY(Validation::isValidSha256(QString(64, u'0')));
    QVERIFY(!Validation::isValidSha256(QString(63, u'0')));
    QVERIFY(!Validation::isValidSha256(QString(64, u'g')));
    QVERIFY(Validation::isValidMimeType(u"image/png"));
    QVERIFY(Validation::isValidMimeType(
        u"application/vnd.openxmlformats-officedocument.wordprocessingml.document"));
    QVERIFY(!Validation::isValidMimeType(u"image"));
    QVERIFY(!Validation::isValidMimeType(u"image/ png"));
    QVERIFY(!Validation::isValidMimeType(u"/png"));
}

QTEST_GUILESS_MAIN(TestValidation)
#include "tst_validation.moc"
