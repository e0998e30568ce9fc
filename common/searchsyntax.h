#pragma once

#include <QString>
#include <QStringList>

#include <optional>

/// What people type into a search field, read the same way by the server
/// (which searches) and the app (which shows what was searched).
///
///   word      every word must be in the message, in any case and with or
///             without accents ("creme" finds "Crème")
///   word*     a word starting so
///   "a b c"   these words, one after the other
namespace Natter::SearchSyntax {

struct Term
{
    QString text;        ///< a word, or the words of a phrase separated by spaces
    bool prefix = false; ///< word*: any word starting with text
    bool phrase = false; ///< "…": the words in this order
    friend bool operator==(const Term &, const Term &) = default;
};

/// The terms of a query; nullopt and *error when it has none, or a quote
/// without its partner.
std::optional<QList<Term>> parse(const QString &query, QString *error = nullptr);

} // namespace Natter::SearchSyntax
