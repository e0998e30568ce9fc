// SqlMessageStore: the records of files and uploads (schema 8). The bytes
// themselves live in the FileVault, beside the database.

#include "server/serverlogging.h"
#include "server/sqlmessagestore.h"

#include <QDateTime>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

constexpr auto UploadColumns =
    "SELECT id, sender, client_id, room, recipient, name, size, sha256, mime, text,"
    " reply_to, image_width, image_height, thumbnail_id, thumbnail, started_ms,"
    " sender_name "
    "FROM uploads ";
constexpr auto FileColumns = "SELECT id, sha256, size, mime, owner FROM files ";

QVariant nullIfZero(qint64 value)
{
    return value > 0 ? QVariant(value) : QVariant();
}

QVariant nullIfEmpty(const QString &value)
{
    return value.isEmpty() ? QVariant() : QVariant(value);
}

} // namespace

std::optional<QList<UploadRecord>> SqlMessageStore::readUploads(QSqlQuery &query)
{
    QList<UploadRecord> uploads;
    while (query.next()) {
        UploadRecord upload;
        upload.id = query.value(0).toLongLong();
        upload.sender = query.value(1).toString();
        upload.clientId = query.value(2).toString();
        upload.room = query.value(3).toString();
        upload.to = query.value(4).toString();
        upload.name = query.value(5).toString();
        upload.size = query.value(6).toLongLong();
        upload.sha256 = query.value(7).toString();
        upload.mime = query.value(8).toString();
        upload.text = query.value(9).toString();
        upload.replyTo = query.value(10).toLongLong();
        upload.image =
            ImageInfo{query.value(11).toInt(), query.value(12).toInt(), query.value(13).toLongLong()};
        upload.thumbnail = query.value(14).toBool();
        upload.startedMs = query.value(15).toLongLong();
        upload.senderName = query.value(16).toString();
        uploads.append(upload);
    }
    return uploads;
}

QList<FileRecord> SqlMessageStore::readFiles(QSqlQuery &query)
{
    QList<FileRecord> files;
    while (query.next())
        files.append(FileRecord{query.value(0).toLongLong(), query.value(1).toString(),
                                query.value(2).toLongLong(), query.value(3).toString(),
                                query.value(4).toString()});
    return files;
}

std::optional<std::optional<Message>> SqlMessageStore::messageByClientId(const QString &sender,
                                                                         const QString &clientId)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery &find = *m_findByClientId;
    find.bindValue(0, sender);
    find.bindValue(1, clientId);
    if (!find.exec()) {
        fail(u"cannot read a message"_s, find.lastError());
        return std::nullopt;
    }
    QList<Message> found;
    if (!readMessages(find, &found))
        return std::nullopt;
    if (found.isEmpty())
        return std::optional<Message>();
    return std::optional<Message>(found.constFirst());
}

std::optional<qint64> SqlMessageStore::createUpload(const UploadRecord &upload)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery insert(m_db);
    insert.prepare(u"INSERT INTO uploads (sender, client_id, room, recipient, name, size, sha256, mime, text,"
                   u" reply_to, image_width, image_height, thumbnail_id, thumbnail, started_ms, sender_name)"
                   u" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"_s);
    const QVariantList values{upload.sender,
                              upload.clientId,
                              nullIfEmpty(upload.room),
                              nullIfEmpty(upload.to),
                              upload.name,
                              upload.size,
                              upload.sha256,
                              upload.mime,
                              upload.text.isNull() ? u""_s : upload.text, // never NULL
                              nullIfZero(upload.replyTo),
                              upload.image.isValid() ? QVariant(upload.image.width) : QVariant(),
                              upload.image.isValid() ? QVariant(upload.image.height) : QVariant(),
                              nullIfZero(upload.image.thumbnailId),
                              upload.thumbnail ? 1 : 0,
                              upload.startedMs,
                              upload.senderName.isNull() ? u""_s : upload.senderName};
    for (int i = 0; i < values.size(); ++i)
        insert.bindValue(i, values.at(i));
    if (!insert.exec() || !insert.next()) {
        fail(u"cannot record an upload"_s, insert.lastError());
        return std::nullopt;
    }
    return insert.value(0).toLongLong();
}

std::optional<std::optional<UploadRecord>> SqlMessageStore::upload(const QString &sender,
                                                                   const QString &clientId)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery select(m_db);
    select.prepare(QLatin1String(UploadColumns) + u"WHERE sender = ? AND client_id = ?"_s);
    select.bindValue(0, sender);
    select.bindValue(1, clientId);
    if (!select.exec()) {
        fail(u"cannot read an upload"_s, select.lastError());
        return std::nullopt;
    }
    const std::optional<QList<UploadRecord>> uploads = readUploads(select);
    if (!uploads)
        return std::nullopt;
    if (uploads->isEmpty())
        return std::optional<UploadRecord>();
    return std::optional<UploadRecord>(uploads->constFirst());
}

bool SqlMessageStore::deleteUpload(qint64 id)
{
    return ready() && execute(u"DELETE FROM uploads WHERE id = ?"_s, {id});
}

std::optional<QList<UploadRecord>> SqlMessageStore::uploadsStartedBefore(qint64 ms)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery select(m_db);
    select.prepare(QLatin1String(UploadColumns) + u"WHERE started_ms < ? ORDER BY id LIMIT 1000"_s);
    select.bindValue(0, ms);
    if (!select.exec()) {
        fail(u"cannot read uploads"_s, select.lastError());
        return std::nullopt;
    }
    return readUploads(select);
}

std::optional<FileRecord> SqlMessageStore::addFile(const FileRecord &file)
{
    if (!beginWrite())
        return std::nullopt;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    // Known bytes get a fresh day of grace: the message about to carry them
    // is stored in a later transaction.
    if (!execute(
            u"INSERT INTO files (sha256, size, mime, owner, created_ms) VALUES (?, ?, ?, ?, ?)"
            u" ON CONFLICT (sha256) DO UPDATE SET created_ms = excluded.created_ms, referenced = 0"
            u" WHERE NOT EXISTS (SELECT 1 FROM messages WHERE file_id = files.id OR thumbnail_id = files.id)"_s,
            {file.sha256, file.size, file.mime, file.owner, now})) {
        m_db.rollback();
        return std::nullopt;
    }
    QSqlQuery select(m_db);
    select.prepare(QLatin1String(FileColumns) + u"WHERE sha256 = ?"_s);
    select.bindValue(0, file.sha256);
    if (!select.exec()) {
        fail(u"cannot read a file"_s, select.lastError());
        m_db.rollback();
        return std::nullopt;
    }
    const QList<FileRecord> files = readFiles(select);
    select.finish();
    if (files.isEmpty() || !m_db.commit()) {
        fail(u"cannot record a file"_s, m_db.lastError());
        m_db.rollback();
        return std::nullopt;
    }
    return files.constFirst();
}

std::optional<std::optional<FileRecord>> SqlMessageStore::file(qint64 id)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery select(m_db);
    select.prepare(QLatin1String(FileColumns) + u"WHERE id = ?"_s);
    select.bindValue(0, id);
    if (!select.exec()) {
        fail(u"cannot read a file"_s, select.lastError());
        return std::nullopt;
    }
    const QList<FileRecord> files = readFiles(select);
    if (files.isEmpty())
        return std::optional<FileRecord>();
    return std::optional<FileRecord>(files.constFirst());
}

std::optional<QList<Message>> SqlMessageStore::messagesWithFile(qint64 fileId, int limit)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery select(m_db);
    select.prepare(
        u"SELECT id, conversation, recipient, sender_email, sender_name, '', ts, NULL, NULL, deleted,"
        u" NULL, NULL, NULL, NULL, NULL, 0, 0, NULL FROM messages"
        u" WHERE id IN (SELECT id FROM messages WHERE file_id = ? UNION"
        u" SELECT id FROM messages WHERE thumbnail_id = ?) ORDER BY id DESC LIMIT ?"_s);
    select.bindValue(0, fileId);
    select.bindValue(1, fileId);
    select.bindValue(2, limit);
    if (!select.exec()) {
        fail(u"cannot read the messages of a file"_s, select.lastError());
        return std::nullopt;
    }
    QList<Message> messages;
    while (select.next())
        messages.append(readRow(select).message);
    return messages;
}

std::optional<qint64> SqlMessageStore::storageUsed(const QString &sender)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery select(m_db);
    // A message's thumbnail counts as well as its file.
    select.prepare(u"SELECT COALESCE(SUM(f.size + COALESCE(t.size, 0)), 0) FROM messages m"
                   u" JOIN files f ON f.id = m.file_id LEFT JOIN files t ON t.id = m.thumbnail_id"
                   u" WHERE m.sender_email = ? AND m.file_id IS NOT NULL"_s);
    select.bindValue(0, sender);
    if (!select.exec() || !select.next()) {
        fail(u"cannot sum a user's files"_s, select.lastError());
        return std::nullopt;
    }
    return select.value(0).toLongLong();
}

std::optional<QList<FileRecord>> SqlMessageStore::unreferencedFiles(qint64 createdBeforeMs, int limit)
{
    if (!ready())
        return std::nullopt;
    QSqlQuery select(m_db);
    select.prepare(QLatin1String(FileColumns) +
                   u"WHERE (referenced = 1 OR created_ms < ?)"
                   u" AND NOT EXISTS (SELECT 1 FROM messages WHERE file_id = files.id)"
                   u" AND NOT EXISTS (SELECT 1 FROM messages WHERE thumbnail_id = files.id)"
                   u" AND NOT EXISTS (SELECT 1 FROM uploads WHERE thumbnail_id = files.id)"
                   u" ORDER BY id LIMIT ?"_s);
    select.bindValue(0, createdBeforeMs);
    select.bindValue(1, limit);
    if (!select.exec()) {
        fail(u"cannot look for unused files"_s, select.lastError());
        return std::nullopt;
    }
    return readFiles(select);
}

std::optional<bool> SqlMessageStore::forgetFile(qint64 id)
{
    if (!ready())
        return std::nullopt;
    int rows = 0;
    if (!execute(u"DELETE FROM files WHERE id = ?"
                 u" AND NOT EXISTS (SELECT 1 FROM messages WHERE file_id = ?)"
                 u" AND NOT EXISTS (SELECT 1 FROM messages WHERE thumbnail_id = ?)"
                 u" AND NOT EXISTS (SELECT 1 FROM uploads WHERE thumbnail_id = ?)"_s,
                 {id, id, id, id}, &rows))
        return std::nullopt;
    return rows > 0;
}

} // namespace Natter
