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

/// Width and height from an image's first bytes, where the format puts them
/// early; {0, 0} when the header does not say (WebP, an unusual JPEG).
std::pair<int, int> headerSize(const QByteArray &head)
{
    const auto *bytes = reinterpret_cast<const uchar *>(head.constData());
    if (head.startsWith("\x89PNG\r\n\x1a\n") && head.size() >= 24)
        return {int(qFromBigEndian<quint32>(bytes + 16)), int(qFromBigEndian<quint32>(bytes + 20))};
    if ((head.startsWith("GIF87a") || head.startsWith("GIF89a")) && head.size() >= 10)
        return {qFromLittleEndian<quint16>(bytes + 6), qFromLittleEndian<quint16>(bytes + 8)};
    if (head.startsWith("\xff\xd8")) {
        // Walk the JPEG segments to the first start-of-frame.
        qsizetype at = 2;
        while (at + 9 < head.size() && bytes[at] == 0xff) {
            const uchar marker = bytes[at + 1];
            const int length = qFromBigEndian<quint16>(bytes + at + 2);
            const bool startOfFrame =
                marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
            if (startOfFrame)
                return {qFromBigEndian<quint16>(bytes + at + 7), qFromBigEndian<quint16>(bytes + at + 5)};
            at += 2 + length;
        }
    }
    return {0, 0};
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
    const QByteArray head = file.read(64 * 1024);
    const bool png = head.startsWith("\x89PNG\r\n\x1a\n");
    const bool gif = head.startsWith("GIF87a") || head.startsWith("GIF89a");
    const bool jpeg = head.startsWith("\xff\xd8\xff");
    const bool webp = head.size() >= 12 && head.startsWith("RIFF") && head.mid(8, 4) == "WEBP";
    if (!png && !gif && !jpeg && !webp)
        return false;
    const auto [width, height] = headerSize(head);
    if ((png || gif) && (width <= 0 || height <= 0))
        return false;
    return width <= maxSide && height <= maxSide;
}

} // namespace Natter
