#pragma once

#include <QString>

QT_BEGIN_NAMESPACE
class QMessageBox;
class QWidget;
QT_END_NAMESPACE

/// Other people's words where Qt would guess that a string is HTML: a tooltip
/// (QToolTip takes anything that looks like markup as rich text), a message
/// box in Qt::AutoText, a desktop notification (most notification servers
/// read a body's markup). They are always shown as the characters they are.
namespace Natter::PlainText {

/// text as rich text that shows exactly these characters (line breaks kept):
/// for QToolTip::showText() and setToolTip().
QString toolTip(const QString &text);

/// name between U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL
/// ISOLATE: right-to-left text in it cannot reorder the sentence around it.
QString isolated(const QString &name);

/// A desktop notification's body: on Linux (freedesktop notifications, whose
/// servers read <b>, <a>, <img>...) &, < and > escaped; elsewhere the text.
QString notificationBody(const QString &text);

/// "Open a Program?" for a received file whose name is another person's
/// words: plain text, the name isolated, Cancel the default. Not yet shown.
QMessageBox *openProgramQuestion(QWidget *parent, const QString &fileName);

} // namespace Natter::PlainText
