#include "ui/translations.h"

#include <QCoreApplication>
#include <QLocale>
#include <QTranslator>

using namespace Qt::StringLiterals;

namespace Natter {

void installTranslations(QCoreApplication *app)
{
    auto *translator = new QTranslator(app);
    if (translator->load(QLocale(), u"natter"_s, u"_"_s, u":/i18n"_s) ||
        translator->load(u":/i18n/natter_en.qm"_s))
        app->installTranslator(translator);
    else
        delete translator;
}

} // namespace Natter
