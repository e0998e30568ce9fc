#pragma once

#include "common/user.h"

#include <QAbstractListModel>
#include <QList>
#include <QSet>

namespace Natter {

/// Who is in the current room, sorted by display name.
class MemberListModel final : public QAbstractListModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MemberListModel)

public:
    enum Role
    {
        EmailRole = Qt::UserRole + 1, ///< QString
        IsSelfRole,                   ///< bool: the signed-in user
        NameRole,                     ///< QString: the display name alone (DisplayRole may add the email)
    };
    Q_ENUM(Role)

    explicit MemberListModel(QObject *parent = nullptr);
    ~MemberListModel() override;

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    void setSelfEmail(const QString &email);
    /// Replaces the members (one reset: member lists are short).
    void setMembers(const QList<User> &users);
    const User &userAt(int row) const { return m_members.at(row); }

private:
    QList<User> m_members;
    /// Rows whose name another member also has (in any case): shown with
    /// their email, so that "Alice" from eve@evil.example is not taken for Alice.
    QSet<int> m_sharedNames;
    QString m_selfEmail;
};

} // namespace Natter
