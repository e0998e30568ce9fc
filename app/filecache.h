#pragma once

#include "common/message.h"

#include <QString>

namespace Natter {

/// Where the files of a chat are kept on this computer: downloads (by file
/// id, under a name made safe), thumbnails, and the images the user pasted.
/// The folder is the user's only (0700, files 0600: they are other people's
/// words); it stays within a size limit, the least recently used files going
/// first.
class FileCache
{
public:
    static constexpr qint64 DefaultLimit = 1024LL * 1024 * 1024;

    /// folder: this chat's cache folder (made when first needed).
    explicit FileCache(QString folder = {}, qint64 limit = DefaultLimit);

    QString folder() const { return m_folder; }
    qint64 limit() const { return m_limit; }
    void setFolder(const QString &folder) { m_folder = folder; }
    /// Where a download of attachment goes (its name made safe to be a file name).
    QString pathFor(const Attachment &attachment) const;
    /// A whole, checked copy of the attachment here (empty if none).
    QString existing(const Attachment &attachment) const;
    QString thumbnailPath(qint64 thumbnailId) const;
    /// A new file for an image the user pasted (named for the time).
    QString pastedImagePath(const QString &name) const;
    /// Makes the folder of a path (0700 each) and returns whether it exists.
    bool prepare(const QString &path) const;
    /// Drops the least recently used files until the cache is within its
    /// limit, except keep (and transfers in progress: *.part files). Returns bytes freed.
    qint64 trim(const QString &keep = {}) const;
    /// Bytes the cache holds now.
    qint64 size() const;
    /// Whether opening the file could run it (a program, a script, a desktop
    /// entry, an installer): by its content and name, never by the sender's MIME type.
    static bool isRunnable(const QString &path);

private:
    QString m_folder;
    qint64 m_limit;
};

} // namespace Natter
