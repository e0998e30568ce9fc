#include "common/user.h"

#include "common/validation.h"

using namespace Qt::StringLiterals;

namespace Natter {

QJsonObject User::toJson() const
{
    return QJsonObject{{u"name"_s, name}, {u"email"_s, email}};
}

std::optional<User> User::fromJson(const QJsonObject &object, QString *error)
{
    const QJsonValue name = object.value(u"name"_s);
    const QJsonValue email = object.value(u"email"_s);
    if (!name.isString() || !email.isString()) {
        if (error)
            *error = QStringLiteral("a user needs string fields \"name\" and \"email\"");
        return std::nullopt;
    }
    User user{name.toString(), email.toString()};
    if (!Validation::isValidEmail(user.email)) {
        if (error)
            *error = QStringLiteral("invalid email");
        return std::nullopt;
    }
    return user;
}

} // namespace Natter
