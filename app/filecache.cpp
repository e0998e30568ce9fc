#include "app/filecache.h"

#include "app/clientlogging.h"
#include "common/validation.h"

#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QFileInfo>
#include <QMimeDatabase>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

constexpr QFileDevice::Permissions PrivateFolder =
    QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner;

} // namespace

FileCache::FileCache(QString folder, qint64 limit)
    : m_folder(std::move(folder))
    , m_limit(limit)
{}

QString FileCache::pathFor(const Attachment &attachment) const
{
    // A folder per file keeps the sender's name (and so its type for
    // opening), made safe; two files of one name never meet.
    return m_folder + u"/files/"_s + QString::number(attachment.fileId) + u'/' +
           Validation::safeFileName(attachment.name);
}

QString FileCache::existing(const Attachment &attachment) const
{
    const QString path = pathFor(attachment);
    const QFileInfo info(path);
    // Downloads are checked before they get this name: a file here is whole.
    return info.isFile() && info.size() == attachment.size ? path : QString();
}

QString FileCache::thumbnailPath(qint64 thumbnailId) const
{
    return m_folder + u"/thumbnails/"_s + QString::number(thumbnailId);
}

QString FileCache::pastedImagePath(const QString &name) const
{
    return m_folder + u"/pasted/"_s + QString::number(QDateTime::currentMSecsSinceEpoch()) + u'/' +
           Validation::safeFileName(name);
}

bool FileCache::prepare(const QString &path) const
{
    if (m_folder.isEmpty())
        return false;
    const QString base = QDir::cleanPath(m_folder);
    const QString folder = QDir::cleanPath(QFileInfo(path).absolutePath());
    if (folder != base && !folder.startsWith(base + u'/'))
        return false;
    const QString above = QFileInfo(base).absolutePath();
    if (!QFileInfo(above).isDir() && !QDir().mkpath(above))
        return false;
    // The cache's own folder and every one below it are the user's only.
    QString at = base;
    const QStringList below = folder.mid(base.size()).split(u'/', Qt::SkipEmptyParts);
    for (qsizetype i = -1; i < below.size(); ++i) {
        if (i >= 0)
            at += u'/' + below.at(i);
        if (!QFileInfo(at).isDir() && !QDir().mkdir(at, PrivateFolder))
            return false;
    }
    return true;
}

qint64 FileCache::size() const
{
    qint64 total = 0;
    QDirIterator it(m_folder, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        total += it.fileInfo().size();
    }
    return total;
}

bool FileCache::isRunnable(const QString &path)
{
    static const QStringList runnable{
        u"application/x-executable"_s,
        u"application/x-sharedlib"_s,
        u"application/x-pie-executable"_s,
        u"application/x-shellscript"_s,
        u"application/x-desktop"_s,
        u"application/x-msdownload"_s,
        u"application/x-ms-dos-executable"_s,
        u"application/vnd.microsoft.portable-executable"_s,
        u"application/x-msi"_s,
        u"application/x-ms-shortcut"_s,
        u"application/x-perl"_s,
        u"text/x-python"_s,
        u"text/x-python3"_s,
        u"application/x-ruby"_s,
        u"application/javascript"_s,
        u"application/x-java-archive"_s,
        u"application/vnd.debian.binary-package"_s,
        u"application/x-rpm"_s,
        u"application/vnd.appimage"_s,
        u"application/x-bat"_s,
        u"text/x-msdos-batch"_s,
        u"application/x-powershell"_s,
    };
    const QMimeType type = QMimeDatabase().mimeTypeForFile(path);
    for (const QString &name : runnable) {
        if (type.inherits(name))
            return true;
    }
    return false;
}

qint64 FileCache::trim(const QString &keep) const
{
    if (m_folder.isEmpty())
        return 0;
    QList<QFileInfo> files;
    qint64 total = 0;
    QDirIterator it(m_folder, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        const QFileInfo info = it.fileInfo();
        total += info.size();
        if (info.suffix() != u"part"_s && info.absoluteFilePath() != QFileInfo(keep).absoluteFilePath())
            files.append(info);
    }
    if (total <= m_limit)
        return 0;
    // The least recently used first (opening a file counts as use).
    std::sort(files.begin(), files.end(), [](const QFileInfo &a, const QFileInfo &b) {
        return std::max(a.lastRead(), a.lastModified()) < std::max(b.lastRead(), b.lastModified());
    });
    qint64 freed = 0;
    for (const QFileInfo &info : std::as_const(files)) {
        if (total - freed <= m_limit)
            break;
        if (QFile::remove(info.absoluteFilePath())) {
            freed += info.size();
            QDir().rmdir(info.absolutePath()); // a download's own folder, once empty
        }
    }
    qCInfo(lcNatterClientDesktop) << "file cache trimmed by" << freed << "bytes";
    return freed;
}

} // namespace Natter
