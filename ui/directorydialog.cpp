#include "ui/directorydialog.h"

#include "common/protocol.h"
#include "common/validation.h"
#include "ui/sidebardelegates.h"

#include <QCoreApplication>
#include <QDialogButtonBox>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QLocale>
#include <QPainter>
#include <QPixmap>
#include <QPushButton>
#include <QStandardItemModel>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace Natter {

namespace {

QString lastActivityText(const QDateTime &when)
{
    if (!when.isValid())
        return DirectoryDialog::tr("nothing said yet");
    const QDateTime local = when.toLocalTime();
    const qint64 days = local.date().daysTo(QDate::currentDate());
    if (days == 0)
        return DirectoryDialog::tr("active at %1")
            .arg(QLocale().toString(local.time(), QLocale::ShortFormat));
    return DirectoryDialog::tr("active %n day(s) ago", nullptr, int(days));
}

/// A person's avatar with a dot that says whether they are online.
QIcon avatarIcon(const User &user, bool online, const QPalette &palette)
{
    constexpr int Side = 32;
    QPixmap pixmap(Side * 2, Side * 2);
    pixmap.setDevicePixelRatio(2);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    paintAvatar(&painter, QRect(0, 0, Side, Side), user.name, user.email, palette);
    const QRectF dot(Side - 11, Side - 11, 10, 10);
    painter.setPen(QPen(palette.color(QPalette::Base), 2));
    painter.setBrush(online ? QColor(0x2e, 0xa0, 0x43) : palette.color(QPalette::PlaceholderText));
    painter.drawEllipse(dot);
    return QIcon(pixmap);
}

} // namespace

DirectoryDialog::DirectoryDialog(Kind kind, QWidget *parent)
    : QDialog(parent)
    , m_kind(kind)
    , m_search(new QLineEdit(this))
    , m_list(new QListView(this))
    , m_status(new QLabel(this))
    , m_model(new QStandardItemModel(this))
{
    setObjectName(kind == Kind::Rooms ? u"roomDirectory"_s : u"peopleDirectory"_s);
    setWindowTitle(kind == Kind::Rooms ? tr("Join a Room") : tr("New Direct Message"));
    auto *layout = new QVBoxLayout(this);
    auto *intro =
        new QLabel(kind == Kind::Rooms ? tr("Find a room, or type a new name to create it:")
                                       : tr("Find someone by name or email, or type an email address:"),
                   this);
    intro->setBuddy(m_search);
    layout->addWidget(intro);
    m_search->setObjectName(u"search"_s);
    m_search->setClearButtonEnabled(true);
    m_search->setPlaceholderText(kind == Kind::Rooms ? tr("Search rooms") : tr("Search people"));
    m_search->setMaxLength(int(Protocol::MaxListPrefixLength));
    m_search->installEventFilter(this);
    layout->addWidget(m_search);
    m_list->setObjectName(u"results"_s);
    m_list->setModel(m_model);
    m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_list->setUniformItemSizes(true);
    m_list->setAccessibleName(kind == Kind::Rooms ? tr("Rooms") : tr("People"));
    m_list->setMinimumHeight(fontMetrics().height() * 12);
    layout->addWidget(m_list, 1);
    m_status->setForegroundRole(QPalette::PlaceholderText);
    m_status->setTextFormat(Qt::PlainText);
    layout->addWidget(m_status);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    QPushButton *open =
        buttons->addButton(kind == Kind::Rooms ? tr("&Join") : tr("&Write"), QDialogButtonBox::AcceptRole);
    open->setObjectName(u"choose"_s);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(open, &QPushButton::clicked, this, [this] { choose(m_list->currentIndex()); });
    connect(m_list, &QListView::activated, this, &DirectoryDialog::choose);

    m_searchTimer.setSingleShot(true);
    m_searchTimer.setInterval(std::chrono::milliseconds(150));
    connect(&m_searchTimer, &QTimer::timeout, this, &DirectoryDialog::search);
    connect(m_search, &QLineEdit::textChanged, this, [this] {
        m_status->setText(tr("Searching…"));
        m_searchTimer.start();
    });
    resize(fontMetrics().averageCharWidth() * 60, sizeHint().height());
}

DirectoryDialog::~DirectoryDialog() = default;

QString DirectoryDialog::currentPrefix() const
{
    const QString text = m_search->text().trimmed();
    return m_kind == Kind::Rooms && text.startsWith(u'#') ? text.mid(1) : text;
}

QString DirectoryDialog::statusText() const
{
    return m_status->text();
}

void DirectoryDialog::showEvent(QShowEvent *event)
{
    QDialog::showEvent(event);
    m_search->setFocus();
    if (m_asked.isNull())
        search(); // the whole list at first
}

void DirectoryDialog::search()
{
    m_asked = currentPrefix();
    Q_EMIT searchRequested(m_asked);
}

void DirectoryDialog::setRooms(const QString &prefix, const QList<Protocol::RoomSummary> &rooms, bool hasMore)
{
    if (prefix != m_asked)
        return; // an answer to an older search
    m_model->clear();
    bool listed = false;
    for (const Protocol::RoomSummary &room : rooms) {
        const QString online = tr("%n online", nullptr, room.online);
        auto *item =
            new QStandardItem(tr("#%1\n%2 · %3").arg(room.room, online, lastActivityText(room.lastActivity)));
        item->setData(room.room, KeyRole);
        item->setToolTip(room.isPrivate ? tr("A private room: members only") : QString());
        if (room.isPrivate)
            item->setText(tr("🔒 %1").arg(item->text()));
        m_model->appendRow(item);
        listed = listed || room.room == roomNameFrom(currentPrefix());
    }
    addTypedRow(listed);
    const bool unusable = !currentPrefix().isEmpty() && roomNameFrom(currentPrefix()).isEmpty();
    m_status->setText(rooms.isEmpty() && unusable
                          ? tr("No rooms match, and a room cannot be called that: a name has letters a–z, "
                               "digits, '-', '_' and '.', and starts with a letter or a digit.")
                      : rooms.isEmpty() ? tr("No rooms match.")
                      : hasMore ? tr("Showing the first %n rooms: type more to narrow them down.", nullptr,
                                     int(rooms.size()))
                                : tr("%n room(s)", nullptr, int(rooms.size())));
    m_list->setCurrentIndex(m_model->index(0, 0));
    if (std::exchange(m_chooseOnAnswer, false))
        choose(m_list->currentIndex());
}

void DirectoryDialog::setPeople(const QString &prefix, const QList<Protocol::Person> &people, bool hasMore)
{
    if (prefix != m_asked)
        return;
    m_model->clear();
    // Online people first, each group in the server's (name) order.
    // Online people first, each group in the server's (name) order; the
    // user themself last, and never the row Enter takes.
    QList<Protocol::Person> sorted = people;
    const auto rank = [this](const Protocol::Person &person) {
        return person.user.email == m_selfEmail ? 2 : person.online ? 0 : 1;
    };
    std::stable_sort(
        sorted.begin(), sorted.end(),
        [&rank](const Protocol::Person &a, const Protocol::Person &b) { return rank(a) < rank(b); });
    bool listed = false;
    int firstOther = -1;
    for (const Protocol::Person &person : std::as_const(sorted)) {
        const bool self = person.user.email == m_selfEmail;
        auto *item = new QStandardItem(self ? tr("%1 (you)\n%2").arg(person.user.name, person.user.email)
                                            : tr("%1\n%2").arg(person.user.name, person.user.email));
        item->setIcon(avatarIcon(person.user, person.online, palette()));
        item->setData(person.user.email, KeyRole);
        item->setData(person.user.name, NameRole);
        item->setToolTip(person.online ? tr("Online now") : tr("Offline"));
        m_model->appendRow(item);
        if (!self && firstOther < 0)
            firstOther = m_model->rowCount() - 1;
        listed = listed || person.user.email == Validation::normalizedEmail(currentPrefix());
    }
    addTypedRow(listed);
    if (firstOther < 0 && m_model->rowCount() > 0 &&
        m_model->item(m_model->rowCount() - 1)->data(CreatesRole).toBool())
        firstOther = m_model->rowCount() - 1;
    m_status->setText(people.isEmpty() ? tr("Nobody matches.")
                      : hasMore ? tr("Showing the first %n people: type more to narrow them down.", nullptr,
                                     int(people.size()))
                                : tr("%n person(s)", nullptr, int(people.size())));
    m_list->setCurrentIndex(firstOther >= 0 ? m_model->index(firstOther, 0) : QModelIndex());
    if (std::exchange(m_chooseOnAnswer, false))
        choose(m_list->currentIndex());
}

QString DirectoryDialog::roomNameFrom(const QString &typed)
{
    // Lower case, words joined by hyphens, what a name cannot hold left out.
    QString name;
    for (const QChar c : typed.trimmed().toLower()) {
        if (c.isSpace() || c == u'-') {
            if (!name.isEmpty() && !name.endsWith(u'-'))
                name.append(u'-');
        } else if (Validation::isValidRoomName(name.isEmpty() ? QString(c) : name + c)) {
            name.append(c);
        }
    }
    while (name.endsWith(u'-'))
        name.chop(1);
    name.truncate(Validation::MaxRoomNameLength);
    return Validation::isValidRoomName(name) ? name : QString();
}

void DirectoryDialog::addTypedRow(bool listed)
{
    if (listed)
        return;
    const QString typed = currentPrefix();
    QStandardItem *item = nullptr;
    if (const QString room = roomNameFrom(typed); m_kind == Kind::Rooms && !room.isEmpty()) {
        item = new QStandardItem(tr("Create #%1").arg(room));
        item->setData(room, KeyRole);
    } else if (m_kind == Kind::People && Validation::isValidEmail(Validation::normalizedEmail(typed))) {
        item = new QStandardItem(tr("Write to %1 (nobody with this email here yet)").arg(typed));
        item->setData(Validation::normalizedEmail(typed), KeyRole);
    }
    if (!item)
        return;
    item->setData(true, CreatesRole);
    m_model->appendRow(item);
}

void DirectoryDialog::choose(const QModelIndex &index)
{
    if (!index.isValid())
        return;
    const QString key = index.data(KeyRole).toString();
    if (m_kind == Kind::Rooms)
        Q_EMIT roomChosen(key);
    else
        Q_EMIT personChosen(key, index.data(NameRole).toString());
    accept();
}

bool DirectoryDialog::eventFilter(QObject *watched, QEvent *event)
{
    // Up, Down, Page Up/Down move through the results while typing goes on in the field.
    if (watched == m_search && event->type() == QEvent::KeyPress) {
        auto *key = static_cast<QKeyEvent *>(event);
        switch (key->key()) {
        case Qt::Key_Up:
        case Qt::Key_Down:
        case Qt::Key_PageUp:
        case Qt::Key_PageDown:
            QCoreApplication::sendEvent(m_list, event);
            return true;
        case Qt::Key_Return:
        case Qt::Key_Enter:
            if (m_searchTimer.isActive() || currentPrefix() != m_asked) {
                // Typed and Enter at once: search, and choose what comes back first.
                m_searchTimer.stop();
                m_chooseOnAnswer = true;
                search();
                return true;
            }
            choose(m_list->currentIndex());
            return true;
        default:
            break;
        }
    }
    return QDialog::eventFilter(watched, event);
}

} // namespace Natter
