#pragma once

#include <QList>
#include <QString>
#include <QUrl>

namespace Natter {

/// A link found in plain text: the [start, start + length) range of the
/// text it was written as, and where it goes.
struct TextLink
{
    int start = 0;
    int length = 0;
    QUrl url;
};

/// The links in a message's plain text (http, https, ftp and "www."
/// addresses, and links to Natter messages: natter:message?…), without the punctuation that ends a sentence
/// after them. Nothing in the text is ever interpreted as markup.
QList<TextLink> findLinks(const QString &text);

} // namespace Natter
