#include "ui/imageviewer.h"

#include "ui/safeimage.h"

#include <QAction>
#include <QApplication>
#include <QHBoxLayout>
#include <QImageReader>
#include <QKeySequence>
#include <QLabel>
#include <QLocale>
#include <QMovie>
#include <QPainter>
#include <QPointer>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QThreadPool>
#include <QToolButton>
#include <QVBoxLayout>
#include <QWheelEvent>

using namespace Qt::StringLiterals;

namespace Natter {

class ImageViewer::Canvas final : public QWidget
{
public:
    explicit Canvas(ImageViewer *viewer)
        : QWidget(viewer)
        , m_viewer(viewer)
    {}
    QSize sizeHint() const override
    {
        const QSize logical =
            m_viewer->m_fullSize.isValid() ? m_viewer->m_fullSize : m_viewer->m_image.size();
        return (QSizeF(logical) * m_viewer->m_zoom).toSize();
    }

protected:
    void paintEvent(QPaintEvent *) override
    {
        QPainter painter(this);
        painter.setRenderHint(QPainter::SmoothPixmapTransform);
        const QSize shown = sizeHint();
        const QRect target(QPoint((width() - shown.width()) / 2, (height() - shown.height()) / 2), shown);
        if (m_viewer->m_movie)
            painter.drawPixmap(target, m_viewer->m_movie->currentPixmap());
        else
            painter.drawImage(target, m_viewer->m_image);
    }

private:
    ImageViewer *m_viewer;
};

ImageViewer::ImageViewer(const QString &title, QWidget *parent)
    : QDialog(parent)
    , m_canvas(new Canvas(this))
    , m_scroll(new QScrollArea(this))
    , m_status(new QLabel(this))
    , m_fitButton(new QToolButton(this))
{
    setWindowTitle(title);
    setAttribute(Qt::WA_DeleteOnClose);
    resize(900, 650);
    m_scroll->setWidget(m_canvas);
    m_scroll->setAlignment(Qt::AlignCenter);
    m_scroll->setWidgetResizable(false);
    m_scroll->setBackgroundRole(QPalette::Dark);
    m_scroll->viewport()->installEventFilter(this);

    m_fitButton->setObjectName(u"fitButton"_s);
    m_fitButton->setText(tr("Fit"));
    m_fitButton->setCheckable(true);
    m_fitButton->setChecked(true);
    m_fitButton->setToolTip(tr("Fit the image to the window (F)"));
    m_fitButton->setShortcut(QKeySequence(Qt::Key_F));
    connect(m_fitButton, &QToolButton::toggled, this, &ImageViewer::setFitted);
    const auto zoomButton = [this](const QString &text, const QKeySequence &key, const QString &tip,
                                   auto &&slot) {
        auto *button = new QToolButton(this);
        button->setText(text);
        button->setShortcut(key);
        button->setToolTip(tip);
        connect(button, &QToolButton::clicked, this, slot);
        return button;
    };
    auto *zoomOut = zoomButton(tr("−"), QKeySequence::ZoomOut, tr("Zoom out (Ctrl+-)"),
                               [this] { setZoom(m_zoom / 1.25); });
    zoomOut->setObjectName(u"zoomOutButton"_s);
    auto *zoomIn =
        zoomButton(tr("+"), QKeySequence::ZoomIn, tr("Zoom in (Ctrl++)"), [this] { setZoom(m_zoom * 1.25); });
    zoomIn->setObjectName(u"zoomInButton"_s);
    auto *actual = zoomButton(tr("100%"), QKeySequence(Qt::CTRL | Qt::Key_0), tr("Actual size (Ctrl+0)"),
                              [this] { setZoom(1.0); });
    actual->setObjectName(u"actualSizeButton"_s);
    auto *save = new QPushButton(tr("Save As…"), this);
    save->setObjectName(u"saveAsButton"_s);
    connect(save, &QPushButton::clicked, this, &ImageViewer::saveAsRequested);
    m_status->setObjectName(u"statusLabel"_s);

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_fitButton);
    bar->addWidget(zoomOut);
    bar->addWidget(zoomIn);
    bar->addWidget(actual);
    bar->addSpacing(12);
    bar->addWidget(m_status, 1);
    bar->addWidget(save);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 6);
    layout->addWidget(m_scroll, 1);
    auto *barMargins = new QHBoxLayout;
    barMargins->setContentsMargins(8, 0, 8, 0);
    barMargins->addLayout(bar);
    layout->addLayout(barMargins);
}

ImageViewer::~ImageViewer() = default;

void ImageViewer::setPreview(const QImage &preview, const QSize &fullSize)
{
    if (m_full)
        return;
    m_image = preview;
    m_fullSize = fullSize.isValid() ? fullSize : preview.size();
    relayout();
}

void ImageViewer::setImagePath(const QString &path)
{
    m_status->setText(tr("Opening the full size…"));
    QThreadPool::globalInstance()->start([self = QPointer<ImageViewer>(this), path] {
        QImageReader reader(path);
        reader.setAutoTransform(true);
        const QSize declared = reader.size();
        const bool animated = reader.supportsAnimation() && reader.imageCount() > 1 && declared.isValid() &&
                              qint64(declared.width()) * declared.height() <= SafeImage::MaxAnimationPixels;
        const SafeImage::Decoded decoded = SafeImage::read(reader);
        QMetaObject::invokeMethod(
            qApp,
            [self, path, decoded, animated] {
                if (self)
                    self->showDecoded(path, decoded.image, decoded.error, animated);
            },
            Qt::QueuedConnection);
    });
}

void ImageViewer::showDecoded(const QString &path, const QImage &image, const QString &error, bool animated)
{
    if (image.isNull()) {
        setError(tr("The image cannot be shown: %1").arg(error));
        return;
    }
    delete m_movie;
    m_movie = nullptr;
    m_image = image;
    if (animated) {
        // Small, checked: it plays.
        m_movie = new QMovie(path, {}, this);
        connect(m_movie, &QMovie::frameChanged, m_canvas, qOverload<>(&QWidget::update));
        m_movie->start();
        if (const QImage frame = m_movie->currentImage(); !frame.isNull())
            m_image = frame;
    }
    m_fullSize = m_image.size();
    m_full = true;
    m_status->clear();
    relayout();
}

void ImageViewer::setProgress(qint64 done, qint64 total)
{
    const QLocale locale;
    m_status->setText(tr("Loading full size: %1 of %2")
                          .arg(locale.formattedDataSize(done), locale.formattedDataSize(total)));
}

void ImageViewer::setError(const QString &message)
{
    m_status->setText(message);
}

void ImageViewer::setFitted(bool fit)
{
    m_fit = fit;
    const QSignalBlocker blocker(m_fitButton);
    m_fitButton->setChecked(fit);
    relayout();
}

void ImageViewer::setZoom(qreal zoom)
{
    m_zoom = std::clamp(zoom, 0.05, 16.0);
    m_fit = false;
    const QSignalBlocker blocker(m_fitButton);
    m_fitButton->setChecked(false);
    m_canvas->resize(m_canvas->sizeHint());
    m_canvas->update();
}

void ImageViewer::relayout()
{
    const QSize logical = m_fullSize.isValid() ? m_fullSize : m_image.size();
    if (m_fit && !logical.isEmpty()) {
        const QSize room = m_scroll->viewport()->size();
        m_zoom =
            std::min({1.0, qreal(room.width()) / logical.width(), qreal(room.height()) / logical.height()});
    }
    m_canvas->resize(m_canvas->sizeHint());
    m_canvas->update();
}

void ImageViewer::resizeEvent(QResizeEvent *event)
{
    QDialog::resizeEvent(event);
    if (m_fit)
        relayout();
}

bool ImageViewer::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_scroll->viewport() && event->type() == QEvent::Wheel) {
        auto *wheel = static_cast<QWheelEvent *>(event);
        if (wheel->modifiers().testFlag(Qt::ControlModifier)) {
            setZoom(m_zoom * (wheel->angleDelta().y() > 0 ? 1.25 : 0.8));
            return true;
        }
    }
    if (watched == m_scroll->viewport() && event->type() == QEvent::Resize && m_fit)
        relayout();
    return QDialog::eventFilter(watched, event);
}

} // namespace Natter
