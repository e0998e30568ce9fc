#pragma once

#include <QHash>
#include <QPlainTextEdit>
#include <QTimer>

QT_BEGIN_NAMESPACE
class QStyledItemDelegate;
class QAbstractItemModel;
class QCompleter;
class QMimeData;
QT_END_NAMESPACE

namespace Natter {

/// Where messages are written. Enter sends, Shift+Enter starts a new line;
/// the box grows with its text up to a few lines. Reports typing so the
/// room can show "Bob is typing…". "@" opens a completer over the
/// conversation's members; a chosen name is written "@Name" and the message
/// carries who it means (mentions()), so a later rename breaks nothing.
class Composer final : public QPlainTextEdit
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Composer)

public:
    explicit Composer(QWidget *parent = nullptr);
    ~Composer() override;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

    /// The people "@" offers (a MemberListModel: names, EmailRole, IsSelfRole).
    void setMemberModel(QAbstractItemModel *members);
    /// The local files among what was copied or dragged (empty if anything else is there).
    static QStringList localFiles(const QMimeData *source);
    /// The emails of the people the text still calls by "@Name".
    QStringList mentions() const;
    /// The names chosen in the completer and whom they mean (name → email).
    QHash<QString, QString> mentioned() const { return m_mentioned; }
    /// The text being edited mentions these people: each whose "@Name" the
    /// members know stays mentioned while the text still says it; one the
    /// members do not know (gone from the room) stays mentioned.
    void setMentionedEmails(const QStringList &emails);
    /// Puts back a draft: its text and whom its "@Name"s mean, without
    /// telling anyone the user is typing.
    void restore(const QString &text, const QHash<QString, QString> &mentioned);
    QCompleter *completer() const { return m_completer; }

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
    /// Files (copied in a file manager, or dropped here) to share.
    void filesPasted(const QStringList &paths);
    /// An image on the clipboard (a screenshot) to share.
    void imagePasted(const QImage &image);

protected:
    bool event(QEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    bool canInsertFromMimeData(const QMimeData *source) const override;
    void insertFromMimeData(const QMimeData *source) override;

private:
    void onTextChanged();
    void updateCompletion();
    void insertMention(const QModelIndex &index);
    /// The members text names in full after an "@", unambiguously.
    QStringList typedMentions(const QString &text) const;
    int heightForLines(int lines) const;

    QTimer m_idle;
    QAbstractItemModel *m_members = nullptr;
    QStyledItemDelegate *m_candidateDelegate = nullptr;
    QCompleter *m_completer;
    QHash<QString, QString> m_mentioned; // name → email, as chosen in the completer
    QStringList m_keptMentions;          // an edited message's mentions of people not among the members
    bool m_typing = false;
    bool m_restoring = false;
};

} // namespace Natter
