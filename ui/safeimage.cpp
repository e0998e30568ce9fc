#include "ui/safeimage.h"

#include <QCoreApplication>
#include <QImageReader>

namespace Natter::SafeImage {

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("Natter::SafeImage", text);
}

} // namespace

Decoded read(QImageReader &reader, const QSize &box, const QSize &maxDeclared)
{
    reader.setAllocationLimit(AllocationLimitMiB);
    const QSize declared = reader.size();
    if (!declared.isValid() || declared.isEmpty())
        return {{}, tr("its size cannot be read")};
    if ((maxDeclared.isValid() &&
         (declared.width() > maxDeclared.width() || declared.height() > maxDeclared.height())) ||
        qint64(declared.width()) * declared.height() > MaxPixels)
        return {{}, tr("it is too large (%1 × %2 pixels)").arg(declared.width()).arg(declared.height())};
    if (box.isValid() && reader.transformation() == QImageIOHandler::TransformationNone &&
        (declared.width() > box.width() || declared.height() > box.height()))
        reader.setScaledSize(declared.scaled(box, Qt::KeepAspectRatio));
    QImage image = reader.read();
    if (image.isNull())
        return {{}, reader.errorString()};
    return {std::move(image), {}};
}

} // namespace Natter::SafeImage
