#include "server/filevault.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QtEndian>

#include <memory>

#ifdef Q_OS_UNIX
#include <fcntl.h>
#include <unistd.h>
#endif

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

constexpr QFileDevice::Permissions OwnerOnlyFolder =
    QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner;

bool makePrivateFolder(const QString &path)
{
    QDir dir;
    if (!dir.exists(path) && !dir.mkpath(path))
        return false;
    return QFile::setPermissions(path, OwnerOnlyFolder);
}

/// Width and height from a JPEG's segments, strictly: markers one after the
/// other up to the first start of frame. Junk where a marker belongs (which
/// decoders skip, finding a frame header the walk never saw) is refused.
std::optional<std::pair<int, int>> jpegSize(const QByteArray &head)
{
    const auto *bytes = reinterpret_cast<const uchar *>(head.constData());
    qsizetype at = 2;
    while (at + 1 < head.size()) {
        if (bytes[at] != 0xff)
            return std::nullopt;
        const uchar marker = bytes[at + 1];
        if (marker == 0xff) { // fill byte
            ++at;
            continue;
        }
        if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // no length
            at += 2;
            continue;
        }
        if (marker == 0xd8 || marker == 0xd9 || marker == 0xda || at + 3 >= head.size())
            return std::nullopt; // no frame before the image data (or the end)
        const int length = qFromBigEndian<quint16>(bytes + at + 2);
        if (length < 2)
            return std::nullopt;
        const bool startOfFrame =
            marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
        if (startOfFrame) {
            if (length < 8 || at + 9 > head.size())
                return std::nullopt;
            return std::pair{int(qFromBigEndian<quint16>(bytes + at + 7)),
                             int(qFromBigEndian<quint16>(bytes + at + 5))};
        }
        at += 2 + length;
    }
    return std::nullopt;
}

/// Width and height from a WebP's first chunk: lossy (VP8), lossless (VP8L)
/// or extended (VP8X, the canvas).
std::optional<std::pair<int, int>> webpSize(const QByteArray &head)
{
    const auto *bytes = reinterpret_cast<const uchar *>(head.constData());
    if (head.size() < 30)
        return std::nullopt;
    const QByteArrayView chunk = QByteArrayView(head).sliced(12, 4);
    if (chunk == "VP8 " && bytes[23] == 0x9d && bytes[24] == 0x01 && bytes[25] == 0x2a)
        return std::pair{qFromLittleEndian<quint16>(bytes + 26) & 0x3fff,
                         qFromLittleEndian<quint16>(bytes + 28) & 0x3fff};
    if (chunk == "VP8L" && bytes[20] == 0x2f) {
        const quint32 bits = qFromLittleEndian<quint32>(bytes + 21);
        return std::pair{int(bits & 0x3fff) + 1, int((bits >> 14) & 0x3fff) + 1};
    }
    if (chunk == "VP8X") {
        const auto u24 = [bytes](int at) {
            return int(bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16));
        };
        return std::pair{u24(24) + 1, u24(27) + 1};
    }
    return std::nullopt;
}

/// Width and height from an image's first bytes; nothing when the header
/// does not say them where the format puts them.
std::optional<std::pair<int, int>> headerSize(const QByteArray &head)
{
    const auto *bytes = reinterpret_cast<const uchar *>(head.constData());
    if (head.startsWith("\x89PNG\r\n\x1a\n") && head.size() >= 24 && head.mid(12, 4) == "IHDR")
        return std::pair{int(qFromBigEndian<quint32>(bytes + 16)), int(qFromBigEndian<quint32>(bytes + 20))};
    if ((head.startsWith("GIF87a") || head.startsWith("GIF89a")) && head.size() >= 10)
        return std::pair{int(qFromLittleEndian<quint16>(bytes + 6)),
                         int(qFromLittleEndian<quint16>(bytes + 8))};
    if (head.startsWith("\xff\xd8\xff"))
        return jpegSize(head);
    if (head.size() >= 12 && head.startsWith("RIFF") && head.mid(8, 4) == "WEBP")
        return webpSize(head);
    return std::nullopt;
}

} // namespace

FileVault::FileVault(QString root)
    : m_root(std::move(root))
{}

bool FileVault::open(QString *error) const
{
    if (!isEnabled())
        return true;
    if (!makePrivateFolder(m_root) || !makePrivateFolder(m_root + u"/partial"_s)) {
        *error = u"cannot create the folder for shared files %1"_s.arg(m_root);
        return false;
    }
    return true;
}

QString FileVault::partialPath(qint64 uploadId) const
{
    return m_root + u"/partial/"_s + QString::number(uploadId);
}

QString FileVault::keptPath(const QString &sha256) const
{
    return m_root + u'/' + sha256.left(2) + u'/' + sha256.mid(2);
}

std::optional<QString> FileVault::sha256Of(const QString &path, qint64 size)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return std::nullopt;
    Hasher hasher;
    QByteArray buffer(1 << 20, Qt::Uninitialized);
    static const QByteArray zeros(1 << 20, '\0');
    qint64 at = 0;
    while (at < size) {
        // Holes (runs of zeros an upload skipped) are hashed without reading
        // them: reading a hole costs the kernel as much as reading data.
        qint64 data = at;
#ifdef SEEK_DATA
        data = ::lseek(file.handle(), at, SEEK_DATA);
        if (data < 0)
            data = size; // a hole to the end
#endif
        for (data = std::min(data, size); at < data;) {
            const qint64 length = std::min<qint64>(data - at, zeros.size());
            hasher.add(QByteArrayView(zeros.constData(), length));
            at += length;
        }
        qint64 hole = size;
#ifdef SEEK_HOLE
        if (at < size) {
            hole = ::lseek(file.handle(), at, SEEK_HOLE);
            hole = hole < 0 ? size : std::min(hole, size);
        }
#endif
        if (at < hole && !file.seek(at))
            return std::nullopt;
        while (at < hole) {
            const qint64 read = file.read(buffer.data(), std::min<qint64>(hole - at, buffer.size()));
            if (read <= 0)
                return std::nullopt;
            hasher.add(QByteArrayView(buffer.constData(), read));
            at += read;
        }
    }
    return hasher.finish();
}

void FileVault::startWriteback(int fd, qint64 offset, qint64 length)
{
#ifdef Q_OS_LINUX
    ::sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
#else
    Q_UNUSED(fd)
    Q_UNUSED(offset)
    Q_UNUSED(length)
#endif
}

bool FileVault::sync(const QString &path)
{
#ifdef Q_OS_UNIX
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    return synced;
#else
    Q_UNUSED(path)
    return true;
#endif
}

bool FileVault::keep(const QString &partialPath, const QString &sha256, QString *error) const
{
    const QString target = keptPath(sha256);
    if (QFileInfo::exists(target)) {
        QFile::remove(partialPath); // the same bytes, kept before
        return true;
    }
    if (!makePrivateFolder(QFileInfo(target).absolutePath())) {
        *error = u"cannot create a folder in %1"_s.arg(m_root);
        return false;
    }
    if (!QFile::rename(partialPath, target)) {
        *error = u"cannot move an upload into %1"_s.arg(m_root);
        return false;
    }
    return true;
}

bool FileVault::remove(const QString &sha256) const
{
    const QString path = keptPath(sha256);
    return QFile::remove(path) || !QFileInfo::exists(path);
}

bool FileVault::looksLikeSmallImage(const QString &path, qint64 maxBytes, int maxSide)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly) || file.size() > maxBytes)
        return false;
    // Every format must say its size where decoders read it, and within
    // bounds: an image whose size cannot be read is refused, not trusted.
    const std::optional<std::pair<int, int>> size = headerSize(file.read(64 * 1024));
    if (!size)
        return false;
    const auto [width, height] = *size;
    return width > 0 && height > 0 && width <= maxSide && height <= maxSide;
}

} // namespace Natter
