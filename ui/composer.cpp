#include "ui/composer.h"

#include <QKeyEvent>
#include <QTextBlock>
#include <QTextDocument>

namespace Natter {

namespace {
constexpr int MaxVisibleLines = 6;
constexpr int TypingIdleMs = 5'000;
} // namespace

Composer::Composer(QWidget *parent)
    : QPlainTextEdit(parent)
{
    setTabChangesFocus(true);
    setLineWrapMode(QPlainTextEdit::WidgetWidth);
    setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setAccessibleName(tr("Message"));
    m_idle.setSingleShot(true);
    m_idle.setInterval(TypingIdleMs);
    connect(&m_idle, &QTimer::timeout, this, [this] {
        if (m_typing) {
            m_typing = false;
            Q_EMIT typingChanged(false);
        }
    });
    connect(this, &QPlainTextEdit::textChanged, this, &Composer::onTextChanged);
    setFixedHeight(heightForLines(1));
}

Composer::~Composer() = default;

int Composer::heightForLines(int lines) const
{
    const QMargins margins = contentsMargins();
    const int documentMargin = int(document()->documentMargin());
    return fontMetrics().lineSpacing() * lines + 2 * documentMargin + margins.top() + margins.bottom() + 2;
}

QSize Composer::sizeHint() const
{
    return QSize(QPlainTextEdit::sizeHint().width(), height());
}

QSize Composer::minimumSizeHint() const
{
    return QSize(QPlainTextEdit::minimumSizeHint().width(), heightForLines(1));
}

void Composer::keyPressEvent(QKeyEvent *event)
{
    const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
    if (enter && !(event->modifiers() & (Qt::ShiftModifier | Qt::AltModifier))) {
        const QString text = toPlainText();
        if (!text.trimmed().isEmpty())
            Q_EMIT submitted(text);
        event->accept();
        return;
    }
    if (enter) {
        insertPlainText(QStringLiteral("\n"));
        event->accept();
        return;
    }
    if (event->key() == Qt::Key_Up && event->modifiers() == Qt::NoModifier && document()->isEmpty()) {
        Q_EMIT editLastRequested();
        event->accept();
        return;
    }
    if (event->key() == Qt::Key_Escape && event->modifiers() == Qt::NoModifier) {
        Q_EMIT cancelled();
        event->accept();
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}

void Composer::onTextChanged()
{
    // Grow with the text (wrapped lines count), up to a few lines, then scroll.
    int lines = 0;
    for (QTextBlock block = document()->begin(); block.isValid(); block = block.next())
        lines += std::max(1, block.layout() ? block.layout()->lineCount() : 1);
    const int wanted = heightForLines(std::clamp(lines, 1, MaxVisibleLines));
    if (wanted != height())
        setFixedHeight(wanted);

    const bool empty = document()->isEmpty();
    if (empty) {
        m_idle.stop();
        if (m_typing) {
            m_typing = false;
            Q_EMIT typingChanged(false);
        }
        return;
    }
    m_idle.start();
    // Repeat while typing: the client throttles; others forget a silent typist.
    m_typing = true;
    Q_EMIT typingChanged(true);
}

} // namespace Natter
