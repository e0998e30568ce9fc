#include "ui/uploadsheet.h"

#include "ui/safeimage.h"

#include <QApplication>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QIcon>
#include <QImageReader>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMimeDatabase>
#include <QPushButton>
#include <QStyle>
#include <QVBoxLayout>

namespace Natter {

namespace {

constexpr QSize PreviewBox(360, 240);
constexpr int MaxNamesListed = 5;

/// The type's icon from the desktop theme (a generic page without one).
QImage typeIcon(const QString &path, const QWidget *widget)
{
    const QMimeType type = QMimeDatabase().mimeTypeForFile(path);
    QIcon icon = QIcon::fromTheme(type.iconName(), QIcon::fromTheme(type.genericIconName()));
    if (icon.isNull())
        icon = widget->style()->standardIcon(QStyle::SP_FileIcon);
    return icon.pixmap(64, 64).toImage();
}

QImage scaledPreview(const QImage &image)
{
    if (image.width() <= PreviewBox.width() && image.height() <= PreviewBox.height())
        return image;
    return image.scaled(PreviewBox, Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

} // namespace

UploadSheet::UploadSheet(const QString &conversation, const QStringList &paths, QWidget *parent)
    : QDialog(parent)
    , m_paths(paths)
{
    const QLocale locale;
    qint64 total = 0;
    for (const QString &path : paths)
        total += QFileInfo(path).size();
    QImage thumbnail;
    QString summary;
    if (paths.size() == 1) {
        // One image: the picture itself (the user's own file, still decoded
        // within SafeImage's bounds and at the preview's size).
        QImageReader reader(paths.constFirst());
        if (reader.canRead())
            thumbnail = SafeImage::read(reader, PreviewBox).image;
        if (thumbnail.isNull())
            thumbnail = typeIcon(paths.constFirst(), this);
        summary =
            tr("%1 · %2").arg(QFileInfo(paths.constFirst()).fileName(), locale.formattedDataSize(total, 1));
    } else {
        thumbnail = typeIcon(paths.constFirst(), this);
        QStringList names;
        for (qsizetype i = 0; i < paths.size() && i < MaxNamesListed; ++i)
            names.append(QFileInfo(paths.at(i)).fileName());
        if (paths.size() > MaxNamesListed)
            names.append(tr("and %n more", nullptr, int(paths.size() - MaxNamesListed)));
        summary = tr("%n files · %1", nullptr, int(paths.size())).arg(locale.formattedDataSize(total, 1)) +
                  u'\n' + names.join(u'\n');
    }
    build(conversation, thumbnail, summary);
    setWindowTitle(tr("Share %n File(s)", nullptr, int(paths.size())));
}

UploadSheet::UploadSheet(const QString &conversation, const QImage &image, QWidget *parent)
    : QDialog(parent)
    , m_image(image)
{
    build(conversation, scaledPreview(image),
          tr("Pasted image · %1 × %2").arg(image.width()).arg(image.height()));
    setWindowTitle(tr("Share Pasted Image"));
}

UploadSheet::~UploadSheet() = default;

void UploadSheet::build(const QString &conversation, const QImage &thumbnail, const QString &summary)
{
    setObjectName(QStringLiteral("uploadSheet"));
    setWindowModality(Qt::WindowModal);
    setMinimumWidth(fontMetrics().averageCharWidth() * 50); // room for a caption and a file's name
    auto *layout = new QVBoxLayout(this);
    auto *where = new QLabel(tr("Share in %1").arg(conversation), this);
    where->setTextFormat(Qt::PlainText);
    QFont bold = where->font();
    bold.setBold(true);
    where->setFont(bold);
    layout->addWidget(where);

    m_preview = new QLabel(this);
    m_preview->setObjectName(QStringLiteral("uploadPreview"));
    m_preview->setAlignment(Qt::AlignCenter);
    m_preview->setMinimumHeight(std::min(thumbnail.height(), PreviewBox.height()) + 8);
    m_preview->setPixmap(QPixmap::fromImage(thumbnail));
    layout->addWidget(m_preview);

    m_summary = new QLabel(summary, this);
    m_summary->setObjectName(QStringLiteral("uploadSummary"));
    m_summary->setTextFormat(Qt::PlainText); // file names are whatever the disk holds
    m_summary->setWordWrap(true);
    m_summary->setAlignment(Qt::AlignCenter);
    layout->addWidget(m_summary);

    m_caption = new QLineEdit(this);
    m_caption->setObjectName(QStringLiteral("uploadCaption"));
    m_caption->setPlaceholderText(tr("Add a caption (optional)"));
    m_caption->setAccessibleName(tr("Caption"));
    m_caption->setMaxLength(4000);
    layout->addWidget(m_caption);

    auto *buttons = new QDialogButtonBox(this);
    m_send = buttons->addButton(tr("Send"), QDialogButtonBox::AcceptRole);
    m_send->setDefault(true);
    buttons->addButton(QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_caption, &QLineEdit::returnPressed, this, &QDialog::accept);
    layout->addWidget(buttons);
    m_caption->setFocus();
}

QString UploadSheet::caption() const
{
    return m_caption->text().trimmed();
}

QPixmap UploadSheet::preview() const
{
    return m_preview->pixmap();
}

QString UploadSheet::summary() const
{
    return m_summary->text();
}

} // namespace Natter
