#pragma once

#include <QDialog>
#include <QImage>
#include <QStringList>

QT_BEGIN_NAMESPACE
class QLabel;
class QLineEdit;
class QPushButton;
QT_END_NAMESPACE

namespace Natter {

/// What a paste or a drop is about to share, shown before anything leaves
/// the machine: a thumbnail (or the file's type), its name and size, and a
/// caption. A screenshot pasted by mistake is one Esc away from staying
/// private; Enter (in the caption too) sends.
class UploadSheet final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(UploadSheet)

public:
    /// Files (from a file manager) to share in conversation.
    UploadSheet(const QString &conversation, const QStringList &paths, QWidget *parent = nullptr);
    /// A pasted image (a screenshot) to share in conversation as a PNG.
    UploadSheet(const QString &conversation, const QImage &image, QWidget *parent = nullptr);
    ~UploadSheet() override;

    QStringList paths() const { return m_paths; }
    QImage image() const { return m_image; }
    QString caption() const;
    QLineEdit *captionEdit() const { return m_caption; }
    QPushButton *sendButton() const { return m_send; }
    /// The thumbnail shown (null for files that are not images).
    QPixmap preview() const;
    /// The line under the preview: "report.pdf · 1.2 MB", "3 files · 4.5 MB".
    QString summary() const;

private:
    void build(const QString &conversation, const QImage &thumbnail, const QString &summary);

    QStringList m_paths;
    QImage m_image;
    QLabel *m_preview = nullptr;
    QLabel *m_summary = nullptr;
    QLineEdit *m_caption = nullptr;
    QPushButton *m_send = nullptr;
};

} // namespace Natter
