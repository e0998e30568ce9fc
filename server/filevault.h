#pragma once

#include "common/sha256.h"

#include <QByteArrayView>
#include <QString>

#include <memory>

#include <optional>

namespace Natter {

/// The bytes of shared files, on disk beside the database: each kept file
/// under its SHA-256 (ROOT/ab/cdef…, 0600 in 0700 folders), uploads under
/// way in ROOT/partial/. A file becomes visible under its digest only once
/// verified and synced: a crash never leaves a partial file where a kept one
/// is looked for. Stateless but for its root: safe to use from a worker
/// thread for the slow parts (hashing, syncing).
class FileVault
{
public:
    /// SHA-256 of bytes given in pieces (OpenSSL's, with the CPU's SHA instructions where there are some).
    /// SHA-256 as uploads arrive (OpenSSL).
    using Hasher = Sha256;

    explicit FileVault(QString root = {});

    bool isEnabled() const { return !m_root.isEmpty(); }
    QString root() const { return m_root; }
    /// Creates the folders (0700); false with *error on failure.
    bool open(QString *error) const;

    QString partialPath(qint64 uploadId) const;
    QString keptPath(const QString &sha256) const;

    /// The SHA-256 (lowercase hex) of a file's first size bytes; nullopt if
    /// it cannot be read or is shorter. Slow: for a worker thread.
    static std::optional<QString> sha256Of(const QString &path, qint64 size);
    /// Starts writing a range of a file to the disk without waiting (Linux),
    /// so that the sync at the end of an upload has little left to do.
    static void startWriteback(int fd, qint64 offset, qint64 length);
    /// Flushes a file's bytes to the disk. Slow: for a worker thread.
    static bool sync(const QString &path);

    /// Moves a verified (and synced) partial file to where its digest keeps
    /// it; if the same bytes are kept already, the partial one is removed.
    bool keep(const QString &partialPath, const QString &sha256, QString *error) const;
    /// Removes a kept file (its last message went).
    bool remove(const QString &sha256) const;

    /// Whether a file is a small image by its header: PNG, JPEG, GIF or WebP
    /// of at most maxBytes and maxSide pixels a side, read where decoders
    /// read it (a JPEG's segments strictly, a WebP's first chunk). One whose
    /// size cannot be read so is refused.
    static bool looksLikeSmallImage(const QString &path, qint64 maxBytes, int maxSide);

private:
    QString m_root;
};

} // namespace Natter
