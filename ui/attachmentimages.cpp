#include "ui/attachmentimages.h"

#include "common/protocol.h"
#include "ui/safeimage.h"
#include "ui/uilogging.h"

#include <QApplication>
#include <QBuffer>
#include <QImageReader>
#include <QMovie>
#include <QRunnable>
#include <QThreadPool>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

qint64 kibibytes(const QImage &image)
{
    return std::max<qint64>(1, image.sizeInBytes() / 1024);
}

} // namespace

AttachmentImages::AttachmentImages(QObject *parent)
    : QObject(parent)
{
    // Thumbnails are small; what is shown whole is bounded by the screen.
    m_thumbnails.setMaxCost(64 * 1024);
    m_local.setMaxCost(96 * 1024);
    m_scaled.setMaxCost(32 * 1024);
    m_visibility.setInterval(750);
    connect(&m_visibility, &QTimer::timeout, this, &AttachmentImages::pauseHidden);
}

AttachmentImages::~AttachmentImages()
{
    *m_alive = false;
}

QPixmap AttachmentImages::picture(const Attachment &attachment, const Transfer &transfer, const QSize &size,
                                  qreal dpr)
{
    const QSize pixels = (QSizeF(size) * dpr).toSize();
    QPixmap best;
    const bool gif = attachment.mime == u"image/gif"_s;
    if (!transfer.localPath.isEmpty()) {
        best = gif && !m_stills.contains(transfer.localPath) ? moviePicture(transfer.localPath, pixels)
                                                             : localPicture(transfer.localPath, pixels);
        if (!best.isNull()) {
            best.setDevicePixelRatio(dpr);
            return best;
        }
    } else if (gif && attachment.isValid() && attachment.size <= MaxAutoDownloadBytes &&
               !transfer.isActive() && transfer.error.isEmpty() && !m_asked.contains(-attachment.fileId)) {
        m_asked.insert(-attachment.fileId);
        Q_EMIT animationNeeded(attachment);
    }
    const qint64 thumbnailId = attachment.image.thumbnailId;
    if (thumbnailId <= 0)
        return {};
    if (const QImage *thumbnail = m_thumbnails.object(thumbnailId)) {
        // Scaled once per size: a paint (every frame of a scroll) only draws it.
        const QString key = QString::number(thumbnailId) + u'@' + QString::number(pixels.width()) + u'x' +
                            QString::number(pixels.height());
        if (const QPixmap *scaled = m_scaled.object(key))
            return *scaled;
        const QImage image = thumbnail->scaled(pixels, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
        best = QPixmap::fromImage(image);
        best.setDevicePixelRatio(dpr);
        m_scaled.insert(key, new QPixmap(best), kibibytes(image));
        return best;
    }
    if (!m_asked.contains(thumbnailId)) {
        m_asked.insert(thumbnailId);
        Q_EMIT thumbnailNeeded(thumbnailId);
    }
    return {};
}

void AttachmentImages::setThumbnail(qint64 thumbnailId, const QByteArray &data)
{
    // Another person's bytes: decoded off the GUI thread, and only if the
    // image says it is thumbnail-sized (a few hundred bytes may declare
    // 65535 x 65535 pixels and keep a decoder busy for many seconds).
    QThreadPool::globalInstance()->start(QRunnable::create([this, alive = m_alive, thumbnailId, data] {
        QBuffer buffer;
        buffer.setData(data);
        buffer.open(QIODevice::ReadOnly);
        QImageReader reader(&buffer);
        const QSize limit(Protocol::MaxThumbnailSide, Protocol::MaxThumbnailSide);
        SafeImage::Decoded decoded = SafeImage::read(reader, limit, limit);
        QMetaObject::invokeMethod(
            qApp,
            [this, alive, thumbnailId, decoded = std::move(decoded)] {
                if (!*alive)
                    return;
                if (decoded.image.isNull()) {
                    qCWarning(lcNatterUi).noquote()
                        << "thumbnail" << thumbnailId << "is not shown:" << decoded.error;
                    Q_EMIT thumbnailRefused(thumbnailId, decoded.error);
                    return;
                }
                m_asked.remove(thumbnailId);
                m_thumbnails.insert(thumbnailId, new QImage(decoded.image), kibibytes(decoded.image));
                Q_EMIT changed();
            },
            Qt::QueuedConnection);
    }));
}

QPixmap AttachmentImages::localPicture(const QString &path, const QSize &pixels)
{
    const QString key =
        path + u'\n' + QString::number(pixels.width()) + u'x' + QString::number(pixels.height());
    if (const QPixmap *decoded = m_local.object(key))
        return *decoded;
    if (m_loading.contains(key))
        return {};
    m_loading.insert(key);
    // Decoded at the size it is shown, on a worker: a photo is megabytes.
    QThreadPool::globalInstance()->start(QRunnable::create([this, alive = m_alive, key, path, pixels] {
        QImageReader reader(path);
        reader.setAutoTransform(true);
        QImage image = SafeImage::read(reader, pixels).image;
        if (!image.isNull() && image.size() != pixels)
            image = image.scaled(pixels, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
        QMetaObject::invokeMethod(
            qApp,
            [this, alive, key, image] {
                if (!*alive)
                    return;
                m_loading.remove(key);
                if (image.isNull())
                    return; // the thumbnail stays
                m_local.insert(key, new QPixmap(QPixmap::fromImage(image)), kibibytes(image));
                Q_EMIT changed();
            },
            Qt::QueuedConnection);
    }));
    return {};
}

QPixmap AttachmentImages::moviePicture(const QString &path, const QSize &pixels)
{
    auto it = m_movies.find(path);
    if (it == m_movies.end()) {
        // An animation is small: one that declares more is shown as a still
        // (decoded within SafeImage's bounds), not decoded frame after frame.
        if (const QSize declared = QImageReader(path).size();
            !declared.isValid() ||
            qint64(declared.width()) * declared.height() > SafeImage::MaxAnimationPixels) {
            m_stills.insert(path);
            return localPicture(path, pixels);
        }
        auto movie = std::make_shared<QMovie>(path);
        if (!movie->isValid() || movie->frameCount() == 1) {
            m_stills.insert(path);
            return localPicture(path, pixels);
        }
        connect(movie.get(), &QMovie::frameChanged, this, &AttachmentImages::changed);
        it = m_movies.insert(path, Movie{std::move(movie), m_tick});
    }
    it->paintedAt = m_tick;
    QMovie *movie = it->movie.get();
    if (movie->scaledSize() != pixels)
        movie->setScaledSize(pixels);
    if (movie->state() != QMovie::Running) {
        if (movie->state() == QMovie::Paused)
            movie->setPaused(false);
        else
            movie->start();
        m_visibility.start();
    }
    return movie->currentPixmap();
}

void AttachmentImages::pauseHidden()
{
    // A GIF not painted since the last tick has scrolled out of sight (or its
    // window is hidden): it stops costing frames until it is painted again.
    ++m_tick;
    bool playing = false;
    for (Movie &movie : m_movies) {
        if (movie.movie->state() != QMovie::Running)
            continue;
        if (m_tick - movie.paintedAt > 1)
            movie.movie->setPaused(true);
        else
            playing = true;
    }
    if (!playing)
        m_visibility.stop();
}

int AttachmentImages::playingCount() const
{
    int playing = 0;
    for (const Movie &movie : m_movies)
        playing += movie.movie->state() == QMovie::Running ? 1 : 0;
    return playing;
}

} // namespace Natter
