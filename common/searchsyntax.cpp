#include "common/searchsyntax.h"

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Natter::SearchSyntax {

namespace {

/// Whether a word holds anything a search can find: a letter or a digit.
bool isSearchable(QStringView word)
{
    return std::any_of(word.begin(), word.end(), [](QChar c) { return c.isLetterOrNumber(); });
}

} // namespace

std::optional<QList<Term>> parse(const QString &query, QString *error)
{
    auto fail = [error](const QString &why) {
        if (error)
            *error = why;
        return std::nullopt;
    };
    QList<Term> terms;
    qsizetype at = 0;
    while (at < query.size()) {
        if (query.at(at).isSpace()) {
            ++at;
            continue;
        }
        if (query.at(at) == u'"') {
            const qsizetype end = query.indexOf(u'"', at + 1);
            if (end < 0)
                return fail(u"a quote is not closed"_s);
            const QString phrase = query.mid(at + 1, end - at - 1).simplified();
            if (isSearchable(phrase))
                terms.append(Term{phrase, false, true});
            at = end + 1;
            continue;
        }
        qsizetype end = at;
        while (end < query.size() && !query.at(end).isSpace() && query.at(end) != u'"')
            ++end;
        QString word = query.mid(at, end - at);
        at = end;
        const bool prefix = word.endsWith(u'*');
        while (word.endsWith(u'*'))
            word.chop(1);
        if (isSearchable(word))
            terms.append(Term{word, prefix, false});
    }
    if (terms.isEmpty())
        return fail(u"search for at least one word"_s);
    return terms;
}

Filters splitFilters(const QString &input)
{
    Filters filters;
    QStringList words;
    qsizetype at = 0;
    while (at < input.size()) {
        if (input.at(at).isSpace()) {
            ++at;
            continue;
        }
        // One token: up to white space, with "quoted parts" kept whole.
        const qsizetype start = at;
        bool quoted = false;
        while (at < input.size() && (quoted || !input.at(at).isSpace())) {
            if (input.at(at) == u'"')
                quoted = !quoted;
            ++at;
        }
        const QString token = input.mid(start, at - start);
        const qsizetype colon = token.indexOf(u':');
        const QString key = colon > 0 ? token.left(colon).toLower() : QString();
        QString value = colon > 0 ? token.mid(colon + 1) : QString();
        if (value.size() >= 2 && value.startsWith(u'"') && value.endsWith(u'"'))
            value = value.mid(1, value.size() - 2).simplified();
        const auto invalid = [&filters, &token] {
            if (filters.invalid.isEmpty())
                filters.invalid = token;
        };
        if (key == u"in"_s) {
            if (value.startsWith(u'#') && value.size() > 1)
                filters.room = value.mid(1).toLower();
            else if (value.startsWith(u'@') && value.size() > 1)
                filters.with = value.mid(1).toLower();
            else if (!value.isEmpty() && !value.startsWith(u'#') && !value.startsWith(u'@'))
                filters.room = value.toLower();
            else
                invalid();
        } else if (key == u"from"_s) {
            if (value.startsWith(u'@'))
                value.remove(0, 1);
            if (value.isEmpty())
                invalid();
            else
                filters.from = value;
        } else if (key == u"before"_s || key == u"after"_s) {
            const QDate date = QDate::fromString(value, Qt::ISODate);
            if (!date.isValid())
                invalid();
            else
                (key == u"before"_s ? filters.before : filters.after) = date;
        } else {
            words.append(token);
        }
    }
    filters.words = words.join(u' ');
    return filters;
}

} // namespace Natter::SearchSyntax
