#include "ui/closebutton.h"

#include <QToolButton>

namespace Natter {

QToolButton *makeCloseButton(const QString &toolTip, const QString &accessibleName, QWidget *parent)
{
    auto *button = new QToolButton(parent);
    button->setText(QStringLiteral("✕"));
    button->setAutoRaise(true);
    button->setToolTip(toolTip);
    button->setAccessibleName(accessibleName);
    return button;
}

} // namespace Natter
