#pragma once

#include "common/message.h"
#include "common/messagelistmodel.h"

#include <QCache>
#include <QHash>
#include <QImage>
#include <QObject>
#include <QPixmap>
#include <QSet>
#include <QTimer>

#include <memory>

QT_BEGIN_NAMESPACE
class QMovie;
QT_END_NAMESPACE

namespace Natter {

/// The pictures image bubbles show: each image's thumbnail (asked for once
/// with thumbnailNeeded(), kept in memory up to a budget), the image itself
/// once a whole copy is on this computer (decoded off the GUI thread at the
/// size it is shown), and animated GIFs, which play while they are painted
/// and pause a moment after they scroll out of sight.
///
/// It never blocks a paint: what is not here yet is asked for, and changed()
/// says when to paint again.
class AttachmentImages final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AttachmentImages)

public:
    /// GIFs up to this size are fetched by themselves to play inline.
    static constexpr qint64 MaxAutoDownloadBytes = 8 * 1024 * 1024;

    explicit AttachmentImages(QObject *parent = nullptr);
    ~AttachmentImages() override;

    /// The best picture of an image attachment for a box of size (device
    /// independent pixels) now: the whole image, its animation's current
    /// frame, or its thumbnail; null while none is here.
    QPixmap picture(const Attachment &attachment, const Transfer &transfer, const QSize &size, qreal dpr);
    /// A thumbnail's bytes arrived (or were uploaded by this user). Decoded
    /// on a worker, within SafeImage's bounds and at most
    /// Protocol::MaxThumbnailSide a side; changed() or thumbnailRefused() follows.
    void setThumbnail(qint64 thumbnailId, const QByteArray &data);
    bool hasThumbnail(qint64 thumbnailId) const { return m_thumbnails.contains(thumbnailId); }
    /// GIFs playing now.
    int playingCount() const;

Q_SIGNALS:
    /// Download this thumbnail and give it to setThumbnail(); asked once per id.
    void thumbnailNeeded(qint64 thumbnailId);
    /// A small animated image is on screen: fetching it whole lets it play.
    void animationNeeded(const Natter::Attachment &attachment);
    /// Something can be painted better now.
    void changed();
    /// A thumbnail's bytes were no image it may show (why, for the log).
    void thumbnailRefused(qint64 thumbnailId, const QString &why);

private:
    struct Movie
    {
        std::shared_ptr<QMovie> movie;
        qint64 paintedAt = 0; // m_tick when last painted
    };
    QPixmap localPicture(const QString &path, const QSize &pixels);
    QPixmap moviePicture(const QString &path, const QSize &pixels);
    void pauseHidden();

    QCache<qint64, QImage> m_thumbnails; // cost: KiB
    QCache<QString, QPixmap> m_scaled;   // thumbnail id + size -> as painted; cost: KiB
    QSet<qint64> m_asked;                // thumbnails and animations asked for
    QCache<QString, QPixmap> m_local;    // path + size -> decoded; cost: KiB
    QSet<QString> m_loading;             // path + size being decoded
    QHash<QString, Movie> m_movies;      // by path
    QSet<QString> m_stills;              // GIFs that turned out not to be animated
    QTimer m_visibility;
    qint64 m_tick = 0;
    std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

} // namespace Natter
