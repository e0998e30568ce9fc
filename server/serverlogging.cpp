#include "server/serverlogging.h"

// Info and above by default, so natterd says where it listens; debug with --verbose.
Q_LOGGING_CATEGORY(lcNatterServer, "natter.server", QtInfoMsg)
Q_LOGGING_CATEGORY(lcNatterStore, "natter.store", QtInfoMsg)

namespace Natter {

QString forLog(QStringView outside, qsizetype max)
{
    QString shown;
    shown.reserve(std::min(outside.size(), max) + 8);
    for (qsizetype i = 0; i < outside.size(); ++i) {
        if (shown.size() >= max) {
            shown += QStringLiteral("…");
            break;
        }
        const QChar c = outside.at(i);
        const QChar::Category category = c.category();
        if (c == u'\\')
            shown += QStringLiteral("\\\\");
        else if (category == QChar::Other_Control || category == QChar::Other_Format ||
                 category == QChar::Separator_Line || category == QChar::Separator_Paragraph ||
                 c.isSurrogate())
            shown += c.unicode() < 0x100 ? QStringLiteral("\\x%1").arg(c.unicode(), 2, 16, QLatin1Char('0'))
                                         : QStringLiteral("\\u%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
        else
            shown += c;
    }
    return shown;
}

} // namespace Natter
