#pragma once

#include <QImage>
#include <QSize>
#include <QString>

QT_BEGIN_NAMESPACE
class QImageReader;
QT_END_NAMESPACE

/// Decoding images that other people sent. A few hundred bytes may declare
/// 65535 x 65535 pixels, or hide a frame header behind junk that the decoder
/// skips: whatever an image declares, decoding it costs bounded memory and
/// time, and one that cannot say its size is not decoded at all.
namespace Natter::SafeImage {

/// Pixels an image may declare (a 50-megapixel photo fits).
inline constexpr qint64 MaxPixels = 50'000'000;
/// What decoding one image may allocate (QImageReader::setAllocationLimit()).
inline constexpr int AllocationLimitMiB = 256;
/// An animation larger than this is shown as a still (its first frame), not decoded frame after frame.
inline constexpr qint64 MaxAnimationPixels = 4'000'000;

struct Decoded
{
    QImage image;
    QString error; ///< why image is null
};

/// Reads reader's image: refused if its size cannot be read, is larger than
/// maxDeclared (when valid) or has more than MaxPixels; decoded at most at
/// box's size when box is valid (scaled while decoding where the format can,
/// keeping the aspect ratio), and never allocating more than AllocationLimitMiB.
Decoded read(QImageReader &reader, const QSize &box = {}, const QSize &maxDeclared = {});

} // namespace Natter::SafeImage
