#pragma once

#include <QString>

QT_BEGIN_NAMESPACE
class QToolButton;
class QWidget;
QT_END_NAMESPACE

namespace Natter {

/// The small flat "✕" that dismisses a banner or closes a pane, with what it
/// does as its tooltip (and its keys, if any) and as its accessible name.
QToolButton *makeCloseButton(const QString &toolTip, const QString &accessibleName, QWidget *parent);

} // namespace Natter
