#include "ui/plaintext.h"

#include <QCoreApplication>
#include <QMessageBox>
#include <QTextDocument>

using namespace Qt::StringLiterals;

namespace Natter::PlainText {

QString toolTip(const QString &text)
{
    if (text.isEmpty())
        return text; // an empty tip hides the tooltip
    return Qt::convertFromPlainText(text, Qt::WhiteSpaceNormal);
}

QString isolated(const QString &name)
{
    return QChar(0x2068) + name + QChar(0x2069);
}

QString notificationBody(const QString &text)
{
#if defined(Q_OS_UNIX) && !defined(Q_OS_MACOS)
    return text.toHtmlEscaped();
#else
    return text;
#endif
}

QMessageBox *openProgramQuestion(QWidget *parent, const QString &fileName)
{
    auto *box = new QMessageBox(parent);
    box->setObjectName(u"openProgramQuestion"_s);
    box->setTextFormat(Qt::PlainText);
    box->setIcon(QMessageBox::Warning);
    box->setWindowTitle(QCoreApplication::translate("Natter::PlainText", "Open a Program?"));
    box->setText(QCoreApplication::translate(
                     "Natter::PlainText",
                     "“%1” is a program or script. Opening it may run it, with your rights on this computer.")
                     .arg(isolated(fileName)));
    box->setInformativeText(
        QCoreApplication::translate("Natter::PlainText", "Open it only if you trust it and its sender."));
    box->setStandardButtons(QMessageBox::Open | QMessageBox::Cancel);
    box->setDefaultButton(QMessageBox::Cancel);
    return box;
}

} // namespace Natter::PlainText
