#pragma once

#include "common/protocol.h"

#include <QDialog>
#include <QTimer>

QT_BEGIN_NAMESPACE
class QLabel;
class QLineEdit;
class QListView;
class QStandardItemModel;
QT_END_NAMESPACE

namespace Natter {

/// "Join a room" and "New direct message": a search field over the server's
/// rooms or people, answered as the user types. Everything works from the
/// keyboard: type, Up/Down to move, Enter to choose, Escape to close.
///
/// It knows nothing of the server: searchRequested() asks, setRooms() and
/// setPeople() answer (answers to an older search are dropped).
class DirectoryDialog final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DirectoryDialog)

public:
    enum class Kind
    {
        Rooms,
        People,
    };
    Q_ENUM(Kind)

    /// Roles of the list's rows.
    enum Role
    {
        KeyRole = Qt::UserRole + 1, ///< the room name or the email
        NameRole,                   ///< a person's display name
        CreatesRole,                ///< bool: choosing it creates the room / writes to an unlisted email
    };

    explicit DirectoryDialog(Kind kind, QWidget *parent = nullptr);
    ~DirectoryDialog() override;

    Kind kind() const { return m_kind; }
    /// How long typing must pause before a search goes out.
    void setSearchDelay(std::chrono::milliseconds delay) { m_searchTimer.setInterval(delay); }

    void setRooms(const QString &prefix, const QList<Protocol::RoomSummary> &rooms, bool hasMore);
    void setPeople(const QString &prefix, const QList<Protocol::Person> &people, bool hasMore);
    /// The signed-in user: listed last among people, never chosen for them.
    void setSelfEmail(const QString &email) { m_selfEmail = email; }
    /// What a room name typed naturally ("Design Review") becomes ("design-review"); empty if nothing usable.
    static QString roomNameFrom(const QString &typed);

    QLineEdit *searchEdit() const { return m_search; }
    QListView *list() const { return m_list; }
    /// The status line under the list ("No rooms match", "Searching…").
    QString statusText() const;

Q_SIGNALS:
    void searchRequested(const QString &prefix);
    void roomChosen(const QString &room);
    void personChosen(const QString &email, const QString &name);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;
    void showEvent(QShowEvent *event) override;

private:
    QString currentPrefix() const;
    void search();
    /// Adds the "Create #name" / "Write to email" row when the typed text is one.
    void addTypedRow(bool listed);
    void choose(const QModelIndex &index);

    Kind m_kind;
    QLineEdit *m_search;
    QListView *m_list;
    QLabel *m_status;
    QStandardItemModel *m_model;
    QTimer m_searchTimer;
    QString m_asked;               // the prefix of the search on its way
    bool m_chooseOnAnswer = false; // Enter came before the answer: take its first row
    QString m_selfEmail;
};

} // namespace Natter
