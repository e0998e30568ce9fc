#include "common/textlinks.h"

#include <QRegularExpression>

using namespace Qt::StringLiterals;

namespace Natter {

QList<TextLink> findLinks(const QString &text)
{
    static const QRegularExpression pattern(
        u"(?:\\b(?:https?|ftp)://|\\bwww\\.|\\bnatter:message\\?)[^\\s<>\"]+"_s,
        QRegularExpression::CaseInsensitiveOption);
    QList<TextLink> links;
    // Most messages have no link: skip the expression for them.
    if (!text.contains(u"://"_s) && !text.contains(u"www."_s, Qt::CaseInsensitive) &&
        !text.contains(u"natter:"_s, Qt::CaseInsensitive))
        return links;
    for (auto it = pattern.globalMatch(text); it.hasNext();) {
        const QRegularExpressionMatch match = it.next();
        QString found = match.captured();
        // Punctuation that ends a sentence is not part of the link.
        while (!found.isEmpty() && QStringView(u".,;:!?)]}'").contains(found.back()))
            found.chop(1);
        if (found.isEmpty())
            continue;
        QUrl url = QUrl::fromUserInput(found);
        if (!url.isValid())
            continue;
        links.append(TextLink{int(match.capturedStart()), int(found.size()), url});
    }
    return links;
}

} // namespace Natter
