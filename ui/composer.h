#pragma once

#include <QPlainTextEdit>
#include <QTimer>

namespace Natter {

/// Where messages are written. Enter sends, Shift+Enter starts a new line;
/// the box grows with its text up to a few lines. Reports typing so the
/// room can show "Bob is typing…".
class Composer final : public QPlainTextEdit
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Composer)

public:
    explicit Composer(QWidget *parent = nullptr);
    ~Composer() override;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    /// Enter was pressed on non-blank text. The text stays until the owner
    /// clears it (it may refuse to send, e.g. the text is too long).
    void submitted(const QString &text);
    /// The user started (true) or stopped (false: cleared, or idle a while) typing.
    void typingChanged(bool active);
    /// Up in an empty composer: edit the user's last message.
    void editLastRequested();
    /// Esc: stop replying or editing.
    void cancelled();

protected:
    void keyPressEvent(QKeyEvent *event) override;

private:
    void onTextChanged();
    int heightForLines(int lines) const;

    QTimer m_idle;
    bool m_typing = false;
};

} // namespace Natter
