#include "common/fingerprint.h"

namespace Natter::Fingerprint {

QString normalized(QStringView text)
{
    QString hex;
    hex.reserve(64);
    for (const QChar c : text) {
        if (c == u':' || c == u' ')
            continue;
        if (!((c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f') || (c >= u'A' && c <= u'F')))
            return {};
        hex.append(c.toLower());
    }
    return hex.size() == 64 ? hex : QString();
}

QString display(QStringView canonical)
{
    const QString hex = normalized(canonical).toUpper();
    QString grouped;
    for (qsizetype i = 0; i < hex.size(); i += 4) {
        if (i)
            grouped.append(u' ');
        grouped.append(QStringView(hex).mid(i, 4));
    }
    return grouped;
}

QString displayLines(QStringView fingerprint)
{
    QString shown = display(fingerprint);
    if (shown.size() > 40)
        shown[39] = u'\n'; // the space after the eighth group
    return shown;
}

} // namespace Natter::Fingerprint
