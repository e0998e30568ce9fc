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

} // namespace Natter::SearchSyntax
