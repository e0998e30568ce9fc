#pragma once

#include <QByteArray>
#include <QtEndian>

/// Images as a room member may craft them: small files that declare huge
/// sizes, or hide their header behind junk. Made here byte by byte, so that
/// the tests say exactly what they send.
namespace HostileImages {

/// A baseline JPEG of width x height, one grey component, whose
/// entropy-coded data is a run of zero bytes (every block decodes as flat
/// grey, and a decoder pads what is missing): a few hundred bytes whatever
/// the size it declares. junk bytes come before its frame header, where
/// libjpeg skips them with a warning.
inline QByteArray greyJpeg(quint16 width, quint16 height, int junk = 0)
{
    QByteArray jpeg("\xff\xd8", 2);
    jpeg.append("\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);
    jpeg.append(QByteArray(junk, '\0'));
    jpeg.append("\xff\xdb\x00\x43\x00", 5);
    jpeg.append(QByteArray(64, '\x01'));
    jpeg.append("\xff\xc0\x00\x0b\x08", 5);
    char size[4];
    qToBigEndian(height, size);
    qToBigEndian(width, size + 2);
    jpeg.append(size, 4);
    jpeg.append("\x01\x01\x11\x00", 4);
    for (const char tableClass : {'\x00', '\x10'}) { // one code of one bit, for symbol 0
        jpeg.append("\xff\xc4\x00\x14", 4);
        jpeg.append(tableClass);
        jpeg.append('\x01');
        jpeg.append(QByteArray(15, '\0'));
        jpeg.append('\0');
    }
    jpeg.append("\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00", 10);
    jpeg.append(QByteArray(160, '\0'));
    jpeg.append("\xff\xd9", 2);
    return jpeg;
}

/// A lossless WebP's header (VP8L) declaring width x height, and some bytes.
inline QByteArray webpLossless(quint32 width, quint32 height)
{
    QByteArray body("VP8L", 4);
    const quint32 chunkSize = qToLittleEndian(quint32(5 + 40));
    body.append(reinterpret_cast<const char *>(&chunkSize), 4);
    body.append('\x2f');
    const quint32 bits = qToLittleEndian((width - 1) | ((height - 1) << 14));
    body.append(reinterpret_cast<const char *>(&bits), 4);
    body.append(QByteArray(40, '\0'));
    QByteArray webp("RIFF", 4);
    const quint32 riffSize = qToLittleEndian(quint32(4 + body.size()));
    webp.append(reinterpret_cast<const char *>(&riffSize), 4);
    return webp + "WEBP" + body;
}

/// A WebP whose first chunk is not an image's: nothing says its size.
inline QByteArray webpWithoutSize()
{
    QByteArray webp("RIFF\x24\x00\x00\x00WEBPJUNK\x18\x00\x00\x00", 20);
    return webp + QByteArray(24, '\0');
}

} // namespace HostileImages
