#pragma once

#include "common/conversationlistmodel.h"
#include "common/protocol.h"

#include <QTimer>
#include <QWidget>

#include <functional>

QT_BEGIN_NAMESPACE
class QLabel;
class QLineEdit;
class QStandardItem;
class QStandardItemModel;
class QTreeView;
QT_END_NAMESPACE

namespace Natter {

/// Search of everything the user may read (Ctrl+K): a field that takes
/// words, prefixes (deploy*), "phrases" and the filters in:#room, in:@email,
/// from:name, before:DATE and after:DATE; the results grouped by
/// conversation, each with its sender, time and a snippet whose matches are
/// bold. Up and Down move through the results without leaving the field,
/// Enter opens the chosen one in its conversation, Esc closes the panel.
///
/// It asks (searchRequested()) and shows answers (showResults()); the app
/// talks to the server.
class SearchPanel final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SearchPanel)

public:
    /// Roles of the results' rows (conversation headers have KeyRole only).
    enum Role
    {
        KeyRole = Qt::UserRole + 1, ///< QString: ConversationKey::toString()
        IdRole,                     ///< qint64 message id (0: a header or "more")
        SenderRole,                 ///< QString
        TimeRole,                   ///< QDateTime UTC
        SnippetRole,                ///< QString
        HighlightsRole,             ///< QList<QPoint>: (start, length) of each match in the snippet
        MoreRole,                   ///< bool: the "More results" row
    };

    explicit SearchPanel(QWidget *parent = nullptr);
    ~SearchPanel() override;

    /// The email of someone named in from: (a name as people see it, or an
    /// email); empty when nobody is called so.
    void setPersonResolver(std::function<QString(const QString &)> resolve)
    {
        m_resolvePerson = std::move(resolve);
    }
    /// The title a conversation's group shows ("#general", "Bob").
    void setTitleResolver(std::function<QString(const ConversationKey &)> resolve)
    {
        m_resolveTitle = std::move(resolve);
    }

    /// The signed-in user's email: a direct message is filed under the other person.
    void setSelfResolver(std::function<QString()> resolve) { m_resolveSelf = std::move(resolve); }

    /// Shows the panel with the field focused (and its text selected).
    void open();
    /// An answer to searchRequested(): the first page replaces, later pages append.
    void showResults(const Protocol::SearchResults &results);
    /// The server refused the search (bad_query, rate limited) or is unreachable.
    void showError(const QString &message);

    QLineEdit *field() const { return m_field; }
    QTreeView *resultsView() const { return m_view; }
    QStandardItemModel *results() const { return m_model; }
    QLabel *statusLabel() const { return m_status; }
    /// When a hit was written: the time alone today, else the date and time.
    static QString whenText(const QDateTime &time, const QDate &today);
    /// A hit's snippet on one line of width pixels in font: newlines as
    /// spaces, and "…" at the end when it is longer (measured in bold, as matches are drawn).
    static QString snippetLine(const QString &snippet, const QFont &font, int width);

    /// The request the field says, or nullopt (and the reason in *error).
    std::optional<Protocol::SearchRequest> request(QString *error = nullptr) const;

Q_SIGNALS:
    void searchRequested(const Natter::Protocol::SearchRequest &request);
    /// Open this message in its conversation.
    void resultActivated(const Natter::ConversationKey &key, qint64 id);
    void closed();

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;

private:
    void search();
    void activate(const QModelIndex &index);
    void moveSelection(int step);
    QStandardItem *groupFor(const ConversationKey &key);

    QLineEdit *m_field;
    QLabel *m_status;
    QTreeView *m_view;
    QStandardItemModel *m_model;
    QTimer m_typingPause;
    QString m_asked;        ///< the query of the results shown (or awaited)
    QString m_askedFilters; ///< what narrowed it, as people say it ("in #design, from Bob")
    QString m_cursor;       ///< the next page's
    int m_count = 0;
    bool m_pagePending = false; ///< "More results" asked for the next page
    std::function<QString(const QString &)> m_resolvePerson;
    std::function<QString(const ConversationKey &)> m_resolveTitle;
    std::function<QString()> m_resolveSelf;
};

} // namespace Natter
