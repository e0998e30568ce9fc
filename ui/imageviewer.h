#pragma once

#include <QDialog>
#include <QImage>

QT_BEGIN_NAMESPACE
class QLabel;
class QMovie;
class QScrollArea;
class QToolButton;
QT_END_NAMESPACE

namespace Natter {

/// A shared image at full size in a window of its own: fitted to the window
/// (the default), or zoomed (Ctrl++, Ctrl+-, Ctrl+0 for the real size, Ctrl
/// with the wheel); Save As… keeps a copy. It shows the thumbnail, stretched,
/// until the whole image has arrived.
class ImageViewer final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ImageViewer)

public:
    explicit ImageViewer(const QString &title, QWidget *parent = nullptr);
    ~ImageViewer() override;

    /// What to show while the image itself is on its way (a thumbnail).
    void setPreview(const QImage &preview, const QSize &fullSize);
    /// The whole image is at path: decoded on a worker thread (someone
    /// else's image may be large or hostile), then shown (an animated GIF
    /// plays), or why it cannot be.
    void setImagePath(const QString &path);
    /// The download of the image itself: bytes so far of total.
    void setProgress(qint64 done, qint64 total);
    /// The download failed: why.
    void setError(const QString &message);

    bool isFitted() const { return m_fit; }
    void setFitted(bool fit);
    /// Pixels of the image per pixel on screen (after fitting, the fitted scale).
    qreal zoom() const { return m_zoom; }
    void setZoom(qreal zoom);
    bool hasFullImage() const { return m_full; }
    /// The image as shown now (full or preview).
    QImage currentImage() const { return m_image; }

Q_SIGNALS:
    void saveAsRequested();

protected:
    void resizeEvent(QResizeEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void relayout();
    /// The worker's answer for path.
    void showDecoded(const QString &path, const QImage &image, const QString &error, bool animated);

    class Canvas;
    Canvas *m_canvas;
    QScrollArea *m_scroll;
    QLabel *m_status;
    QToolButton *m_fitButton;
    QMovie *m_movie = nullptr;
    QImage m_image;
    QSize m_fullSize;
    qreal m_zoom = 1.0;
    bool m_fit = true;
    bool m_full = false;
};

} // namespace Natter
