// What people type into a search field: words, prefixes, phrases, and the
// in:/from:/before:/after: filters the app reads before asking the server.
#include "common/searchsyntax.h"

#include <QTest>

using namespace Natter;
using namespace Natter::SearchSyntax;
using namespace Qt::StringLiterals;

class TestSearchSyntax final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void terms_data();
    void terms();
    void refusals_data();
    void refusals();
    void filters_data();
    void filters();
};

void TestSearchSyntax::terms_data()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<QList<Term>>("expected");
    QTest::newRow("one word") << u"lunch"_s << QList<Term>{{u"lunch"_s, false, false}};
    QTest::newRow("two words") << u"  lunch   friday "_s
                               << QList<Term>{{u"lunch"_s, false, false}, {u"friday"_s, false, false}};
    QTest::newRow("prefix") << u"deploy*"_s << QList<Term>{{u"deploy"_s, true, false}};
    QTest::newRow("phrase") << u"\"release  notes\" v2"_s
                            << QList<Term>{{u"release notes"_s, false, true}, {u"v2"_s, false, false}};
    QTest::newRow("punctuation only words are dropped")
        << u"-- lunch ??"_s << QList<Term>{{u"lunch"_s, false, false}};
}

void TestSearchSyntax::terms()
{
    QFETCH(QString, query);
    QFETCH(QList<Term>, expected);
    QString error;
    const auto terms = parse(query, &error);
    QVERIFY2(terms.has_value(), qPrintable(error));
    QCOMPARE(*terms, expected);
}

void TestSearchSyntax::refusals_data()
{
    QTest::addColumn<QString>("query");
    QTest::newRow("empty") << QString();
    QTest::newRow("spaces") << u"   "_s;
    QTest::newRow("open quote") << u"\"release notes"_s;
    QTest::newRow("only a star") << u"*"_s;
}

void TestSearchSyntax::refusals()
{
    QFETCH(QString, query);
    QString error;
    QVERIFY(!parse(query, &error).has_value());
    QVERIFY(!error.isEmpty());
}

void TestSearchSyntax::filters_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<Filters>("expected");
    QTest::newRow("words only") << u"lunch friday"_s << Filters{u"lunch friday"_s, {}, {}, {}, {}, {}, {}};
    QTest::newRow("in a room") << u"deploy in:#Ops"_s << Filters{u"deploy"_s, u"ops"_s, {}, {}, {}, {}, {}};
    QTest::newRow("room without #") << u"in:ops deploy"_s
                                    << Filters{u"deploy"_s, u"ops"_s, {}, {}, {}, {}, {}};
    QTest::newRow("in a direct conversation")
        << u"in:@Bob@Example.org lunch"_s << Filters{u"lunch"_s, {}, u"bob@example.org"_s, {}, {}, {}, {}};
    QTest::newRow("from a name") << u"from:carol lunch"_s
                                 << Filters{u"lunch"_s, {}, {}, u"carol"_s, {}, {}, {}};
    QTest::newRow("from a quoted name")
        << u"from:\"Bob  Builder\" lunch"_s << Filters{u"lunch"_s, {}, {}, u"Bob Builder"_s, {}, {}, {}};
    QTest::newRow("dates") << u"before:2026-12-01 after:2026-11-01 \"release notes\""_s
                           << Filters{u"\"release notes\""_s, {}, {}, {}, QDate(2026, 12, 1),
                                      QDate(2026, 11, 1),     {}};
    QTest::newRow("a bad date") << u"before:yesterday lunch"_s
                                << Filters{u"lunch"_s, {}, {}, {}, {}, {}, u"before:yesterday"_s};
    QTest::newRow("an empty from") << u"from: lunch"_s << Filters{u"lunch"_s, {}, {}, {}, {}, {}, u"from:"_s};
    QTest::newRow("a time is a word") << u"at 10:30"_s << Filters{u"at 10:30"_s, {}, {}, {}, {}, {}, {}};
}

void TestSearchSyntax::filters()
{
    QFETCH(QString, input);
    QFETCH(Filters, expected);
    const Filters filters = splitFilters(input);
    QCOMPARE(filters.words, expected.words);
    QCOMPARE(filters.room, expected.room);
    QCOMPARE(filters.with, expected.with);
    QCOMPARE(filters.from, expected.from);
    QCOMPARE(filters.before, expected.before);
    QCOMPARE(filters.after, expected.after);
    QCOMPARE(filters.invalid, expected.invalid);
}

QTEST_GUILESS_MAIN(TestSearchSyntax)
#include "tst_searchsyntax.moc"
