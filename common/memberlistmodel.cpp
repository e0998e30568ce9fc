#include "common/memberlistmodel.h"

#include "common/validation.h"

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Natter {

MemberListModel::MemberListModel(QObject *parent)
    : QAbstractListModel(parent)
{}

MemberListModel::~MemberListModel() = default;

int MemberListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_members.size());
}

QVariant MemberListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const User &user = m_members.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        if (m_sharedNames.contains(index.row()))
            return u"%1 (%2)"_s.arg(user.name, Validation::displayableEmail(user.email));
        return user.name;
    case Qt::ToolTipRole:
        return Validation::displayableEmail(user.email);
    case EmailRole:
        return user.email;
    case IsSelfRole:
        return user.email == m_selfEmail;
    case NameRole:
        return user.name;
    default:
        return {};
    }
}

QHash<int, QByteArray> MemberListModel::roleNames() const
{
    return {{Qt::DisplayRole, "display"}, {EmailRole, "email"}, {IsSelfRole, "isSelf"}, {NameRole, "name"}};
}

void MemberListModel::setSelfEmail(const QString &email)
{
    if (m_selfEmail == email)
        return;
    m_selfEmail = email;
    if (!m_members.isEmpty())
        Q_EMIT dataChanged(index(0), index(int(m_members.size()) - 1), {IsSelfRole});
}

void MemberListModel::setMembers(const QList<User> &users)
{
    beginResetModel();
    m_members = users;
    std::stable_sort(m_members.begin(), m_members.end(), [](const User &a, const User &b) {
        // People read "alice" and "Bob" as a, b: case does not order names.
        const int byName = QString::compare(a.name, b.name, Qt::CaseInsensitive);
        return byName != 0 ? byName < 0 : a.email < b.email;
    });
    m_sharedNames.clear();
    for (int row = 1; row < m_members.size(); ++row) {
        if (QString::compare(m_members.at(row - 1).name, m_members.at(row).name, Qt::CaseInsensitive) == 0) {
            m_sharedNames.insert(row - 1);
            m_sharedNames.insert(row);
        }
    }
    endResetModel();
}

} // namespace Natter
