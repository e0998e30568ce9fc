#pragma once

#include <QJsonObject>
#include <QString>

#include <optional>

namespace Natter {

/// A chat user as the protocol sees it: a display name and the email that
/// identifies the user (one user may be connected from several devices).
struct User
{
    QString name;
    QString email;

    /// {"name": ..., "email": ...}
    QJsonObject toJson() const;
    /// Parses and validates a user object; on failure returns nullopt and
    /// describes the problem in *error.
    static std::optional<User> fromJson(const QJsonObject &object, QString *error);

    friend bool operator==(const User &, const User &) = default;
};

} // namespace Natter
