#pragma once

#include <QDate>
#include <QMetaType>
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

/// What a search field says besides its words, as people type it in Slack:
///
///   in:#room        only this room          in:@email   only this direct conversation
///   from:name       only messages from someone (a name, "a quoted name", or an email)
///   before:DATE     sent before that day    after:DATE  sent on that day or later
///                   (DATE is yyyy-MM-dd, a day of the local calendar)
struct Filters
{
    QString words; ///< the rest, for parse()
    QString room;
    QString with;
    QString from;
    QDate before;
    QDate after;
    /// The first filter that could not be read (an unknown date, an empty
    /// value); empty when all were.
    QString invalid;
    friend bool operator==(const Filters &, const Filters &) = default;
};
Filters splitFilters(const QString &input);

} // namespace Natter::SearchSyntax

Q_DECLARE_METATYPE(Natter::SearchSyntax::Term)
Q_DECLARE_METATYPE(Natter::SearchSyntax::Filters)
