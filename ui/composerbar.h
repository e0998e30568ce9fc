#pragma once

#include <QHash>
#include <QString>
#include <QWidget>

QT_BEGIN_NAMESPACE
class QFrame;
class QLabel;
class QPushButton;
class QToolButton;
QT_END_NAMESPACE

namespace Natter {

class Composer;

/// The bottom of a conversation: the composer and its send button, and
/// above them what the next Enter does when it is not a plain message —
/// "Replying to Bob: …" or "Editing message" — with a ✕ (and Esc) to leave
/// that mode. It reports what to send or save; the window decides where.
class ComposerBar final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ComposerBar)

public:
    enum class Mode
    {
        Normal,
        Reply,
        Edit,
    };
    Q_ENUM(Mode)

    /// What the composer holds for one conversation: kept when the user
    /// switches away, put back when they come back, saved across restarts.
    struct Draft
    {
        QString text;
        Mode mode = Mode::Normal;
        qint64 target = 0;                 ///< the message replied to or edited
        QString replySender, replyText;    ///< what the reply banner says
        QHash<QString, QString> mentioned; ///< "@Name" → email, as chosen
        /// Nothing worth keeping: no text, and not in the middle of a reply or an edit.
        bool isEmpty() const { return text.trimmed().isEmpty() && mode == Mode::Normal; }
        QByteArray toJson() const;
        /// A draft from toJson(); an empty one for anything else.
        static Draft fromJson(const QByteArray &json);
        friend bool operator==(const Draft &, const Draft &) = default;
    };

    explicit ComposerBar(QWidget *parent = nullptr);
    ~ComposerBar() override;

    Draft draft() const;
    /// Shows draft (an empty one: a blank composer, no banner).
    void restoreDraft(const Draft &draft);

    Composer *composer() const { return m_composer; }
    QPushButton *sendButton() const { return m_sendButton; }
    /// The paperclip: attach files (attachRequested()).
    QToolButton *attachButton() const { return m_attachButton; }
    QLabel *bannerLabel() const { return m_bannerLabel; }
    Mode mode() const { return m_mode; }
    /// The message replied to or edited (0 in Normal mode).
    qint64 target() const { return m_target; }

    /// The next message answers message id (from sender, saying text).
    void startReply(qint64 id, const QString &sender, const QString &text);
    /// The composer holds the user's message id (its text, and whom it
    /// mentions: kept unless the edit takes their @Name out) to change it.
    void startEdit(qint64 id, const QString &text, const QStringList &mentions = {});
    /// Back to writing a plain message (an edit's text is dropped: the message stays as it was).
    void cancelMode();
    /// What was submitted was accepted: the composer empties and the mode ends.
    void accepted();
    /// The paper plane in the theme's accent (or the desktop's "send" icon).
    static QIcon sendIcon(const QPalette &palette);
    /// A paperclip in the text colour (or the desktop's "attachment" icon).
    static QIcon attachIcon(const QPalette &palette);

Q_SIGNALS:
    /// replyTo: the message answered (0: none); mentions: the emails the text calls by @name.
    void sendRequested(const QString &text, qint64 replyTo, const QStringList &mentions);
    void editRequested(qint64 id, const QString &text, const QStringList &mentions);
    /// Up in the empty composer.
    void editLastRequested();
    void typingChanged(bool active);
    /// The paperclip was clicked: choose files to share.
    void attachRequested();
    /// Files were pasted or dropped into the composer.
    void filesAttached(const QStringList &paths);
    /// An image (a screenshot) was pasted.
    void imagePasted(const QImage &image);
    /// A reply or an edit began or ended (the draft changed without its text).
    void modeChanged();

protected:
    void changeEvent(QEvent *event) override;

private:
    void submit(const QString &text);
    /// The reply banner, and the mode that goes with it.
    void showReply(qint64 id, const QString &sender, const QString &text);

    QFrame *m_banner;
    QLabel *m_bannerLabel;
    Composer *m_composer;
    QPushButton *m_sendButton;
    QToolButton *m_attachButton;
    Mode m_mode = Mode::Normal;
    qint64 m_target = 0; ///< the message replied to or edited
    QString m_replySender, m_replyText;
};

} // namespace Natter
