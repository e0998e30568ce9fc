#pragma once

#include <QLabel>

namespace Natter {

/// A one-line label that ends in "…" when its text does not fit, instead of
/// cutting words off (or widening the window); the whole text is its tooltip then.
class ElidedLabel final : public QLabel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ElidedLabel)

public:
    explicit ElidedLabel(QWidget *parent = nullptr);
    ~ElidedLabel() override;

    /// What is painted now: text() or its elided form.
    QString shownText() const;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
};

} // namespace Natter
