#include "common/conversationlistmodel.h"
#include "common/memberlistmodel.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace Natter;

class TestConversationListModel final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void keysRoundTrip();
    void roomsComeBeforeDirectConversations();
    void unreadCounts();
    void mentionsAreCountedApartAndPresenceIsKept();
    void aDraftShowsInItsRow();
    void mutedConversationsStayOutOfTheTotal();
    void membersAreSortedByName();
    void previewsTheLastMessage();
};

void TestConversationListModel::keysRoundTrip()
{
    for (const ConversationKey &key : {ConversationKey::room(QStringLiteral("general")),
                                       ConversationKey::direct(QStringLiteral("bob@example.org"))})
        QCOMPARE(ConversationKey::fromString(key.toString()), key);
    QVERIFY(!ConversationKey::fromString(QStringLiteral("nonsense")).isValid());
    QVERIFY(!(ConversationKey::room(QStringLiteral("x")) == ConversationKey::direct(QStringLiteral("x"))));
}

void TestConversationListModel::mentionsAreCountedApartAndPresenceIsKept()
{
    ConversationListModel model;
    QAbstractItemModelTester tester(&model);
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    const ConversationKey bob = ConversationKey::direct(QStringLiteral("bob@example.org"));
    model.add(general);
    model.add(bob, QStringLiteral("Bob"));
    QSignalSpy mentions(&model, &ConversationListModel::totalMentionsChanged);
    model.incrementUnread(general, 3, 1);
    model.setMuted(bob, true);
    model.incrementUnread(bob, 2, 2); // a mention calls even when muted
    QCOMPARE(model.mentionCount(general), 1);
    QCOMPARE(model.totalMentions(), 3);
    QCOMPARE(model.totalUnread(), 3);
    QCOMPARE(mentions.size(), 2);
    model.setUnreadCount(general, 1, 5); // never more mentions than unread
    QCOMPARE(model.mentionCount(general), 1);
    model.clearUnread(general);
    QCOMPARE(model.mentionCount(general), 0);
    QCOMPARE(model.totalMentions(), 2);
    // Presence: not known, then as said; rooms have none.
    QCOMPARE(model.index(model.indexOf(bob)).data(ConversationListModel::PresenceRole).toInt(), 0);
    model.setPresence(bob, true);
    QCOMPARE(model.index(model.indexOf(bob)).data(ConversationListModel::PresenceRole).toInt(), 1);
    model.setPresence(bob, false);
    QCOMPARE(model.index(model.indexOf(bob)).data(ConversationListModel::PresenceRole).toInt(), 2);
    model.setPresence(general, true);
    QCOMPARE(model.index(model.indexOf(general)).data(ConversationListModel::PresenceRole).toInt(), 0);
}

void TestConversationListModel::roomsComeBeforeDirectConversations()
{
    ConversationListModel model;
    QAbstractItemModelTester tester(&model);
    model.add(ConversationKey::direct(QStringLiteral("bob@example.org")), QStringLiteral("Bob"));
    model.add(ConversationKey::room(QStringLiteral("general")));
    model.add(ConversationKey::direct(QStringLiteral("carol@example.org")), QStringLiteral("Carol"));
    model.add(ConversationKey::room(QStringLiteral("random")));
    QCOMPARE(model.add(ConversationKey::room(QStringLiteral("general"))), 0); // already there
    QCOMPARE(model.rowCount(), 4);
    QStringList titles;
    for (int row = 0; row < model.rowCount(); ++row)
        titles.append(model.index(row).data(Qt::DisplayRole).toString());
    QCOMPARE(titles, (QStringList{QStringLiteral("general"), QStringLiteral("random"), QStringLiteral("Bob"),
                                  QStringLiteral("Carol")}));
    QCOMPARE(model.index(2).data(ConversationListModel::KeyRole).toString(),
             QStringLiteral("direct:bob@example.org"));
    QCOMPARE(model.index(0).data(ConversationListModel::KindRole).toInt(), int(ConversationKey::Kind::Room));

    // A new title for a direct conversation (the person renamed themselves).
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.add(ConversationKey::direct(QStringLiteral("bob@example.org")), QStringLiteral("Robert"));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(model.title(ConversationKey::direct(QStringLiteral("bob@example.org"))),
             QStringLiteral("Robert"));

    QVERIFY(model.remove(ConversationKey::room(QStringLiteral("general"))));
    QVERIFY(!model.remove(ConversationKey::room(QStringLiteral("general"))));
    QCOMPARE(model.keys().constFirst(), ConversationKey::room(QStringLiteral("random")));
}

void TestConversationListModel::aDraftShowsInItsRow()
{
    ConversationListModel model;
    QAbstractItemModelTester tester(&model);
    const auto bob = ConversationKey::direct(QStringLiteral("bob@example.org"));
    model.setDraft(bob, QStringLiteral("first line\nsecond line")); // kept before the row exists
    model.add(bob, QStringLiteral("Bob"));
    const QModelIndex row = model.index(model.indexOf(bob));
    QVERIFY(row.data(ConversationListModel::DraftRole).toString().startsWith(QStringLiteral("first line")));
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setDraft(bob, {});
    QCOMPARE(changed.size(), 1);
    QVERIFY(row.data(ConversationListModel::DraftRole).toString().isEmpty());
}

void TestConversationListModel::unreadCounts()
{
    ConversationListModel model;
    QAbstractItemModelTester tester(&model);
    const auto general = ConversationKey::room(QStringLiteral("general"));
    const auto bob = ConversationKey::direct(QStringLiteral("bob@example.org"));
    model.add(general);
    model.add(bob, QStringLiteral("Bob"));
    QSignalSpy total(&model, &ConversationListModel::totalUnreadChanged);
    model.incrementUnread(general);
    model.incrementUnread(general);
    model.incrementUnread(bob);
    model.incrementUnread(ConversationKey::room(QStringLiteral("closed"))); // not open: ignored
    QCOMPARE(model.unreadCount(general), 2);
    QCOMPARE(model.index(0).data(ConversationListModel::UnreadCountRole).toInt(), 2);
    QCOMPARE(model.totalUnread(), 3);
    QCOMPARE(total.count(), 3);
    QCOMPARE(total.last().at(0).toInt(), 3);
    model.clearUnread(general);
    QCOMPARE(model.totalUnread(), 1);
    model.clearUnread(general);
    QCOMPARE(total.count(), 4);
    model.remove(bob);
    QCOMPARE(total.last().at(0).toInt(), 0);
}

void TestConversationListModel::mutedConversationsStayOutOfTheTotal()
{
    ConversationListModel model;
    QAbstractItemModelTester tester(&model);
    const auto general = ConversationKey::room(QStringLiteral("general"));
    const auto random = ConversationKey::room(QStringLiteral("random"));
    model.add(general);
    model.add(random);
    model.incrementUnread(general, 2);
    model.incrementUnread(random, 5);
    QCOMPARE(model.totalUnread(), 7);
    QSignalSpy total(&model, &ConversationListModel::totalUnreadChanged);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setMuted(random, true);
    QVERIFY(model.isMuted(random));
    QVERIFY(model.index(1).data(ConversationListModel::IsMutedRole).toBool());
    QCOMPARE(changed.count(), 1);
    QCOMPARE(model.totalUnread(), 2); // the tray and the window icon count what is not muted
    QCOMPARE(total.last().at(0).toInt(), 2);
    QCOMPARE(model.unreadCount(random), 5); // the sidebar still shows it (dimmed)
    model.incrementUnread(random);
    QCOMPARE(model.totalUnread(), 2);
    // Kept while the room is closed, and there again when it is reopened.
    model.remove(random);
    model.add(random);
    QVERIFY(model.index(model.indexOf(random)).data(ConversationListModel::IsMutedRole).toBool());
    QCOMPARE(model.mutedKeys(), QList<ConversationKey>{random});
    model.setMuted(ConversationKey::direct(QStringLiteral("bob@example.org")), true); // not open: remembered
    QCOMPARE(model.mutedKeys().size(), 2);
    model.setMuted(random, false);
    QVERIFY(!model.isMuted(random));
}

void TestConversationListModel::membersAreSortedByName()
{
    MemberListModel model;
    QAbstractItemModelTester tester(&model);
    model.setSelfEmail(QStringLiteral("bob@example.org"));
    model.setMembers({User{QStringLiteral("Carol"), QStringLiteral("carol@example.org")},
                      User{QStringLiteral("alice"), QStringLiteral("alice@example.org")},
                      User{QStringLiteral("Bob"), QStringLiteral("bob@example.org")}});
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.userAt(0).name, QStringLiteral("alice"));
    QCOMPARE(model.userAt(2).name, QStringLiteral("Carol"));
    QCOMPARE(model.index(1).data(MemberListModel::IsSelfRole).toBool(), true);
    QCOMPARE(model.index(0).data(MemberListModel::IsSelfRole).toBool(), false);
    QCOMPARE(model.index(2).data(MemberListModel::EmailRole).toString(), QStringLiteral("carol@example.org"));
    QCOMPARE(model.index(2).data(Qt::DisplayRole).toString(), QStringLiteral("Carol"));

    // Someone takes another member's name: both show their email, so that
    // "Alice" from eve@evil.example is not taken for Alice.
    model.setMembers({User{QStringLiteral("Alice"), QStringLiteral("alice@example.org")},
                      User{QStringLiteral("Bob"), QStringLiteral("bob@example.org")},
                      User{QStringLiteral("alice"), QStringLiteral("eve@evil.example")}});
    QCOMPARE(model.index(0).data(Qt::DisplayRole).toString(), QStringLiteral("Alice (alice@example.org)"));
    QCOMPARE(model.index(1).data(Qt::DisplayRole).toString(), QStringLiteral("alice (eve@evil.example)"));
    QCOMPARE(model.index(2).data(Qt::DisplayRole).toString(), QStringLiteral("Bob"));
}

void TestConversationListModel::previewsTheLastMessage()
{
    ConversationListModel model;
    QAbstractItemModelTester tester(&model);
    const ConversationKey general = ConversationKey::room(QStringLiteral("general"));
    const ConversationKey bob = ConversationKey::direct(QStringLiteral("bob@example.org"));
    model.add(general);
    model.add(bob, QStringLiteral("Bob"));
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    const QDateTime when(QDate(2026, 12, 1), QTime(9, 30), Qt::UTC);
    model.setLastMessage(general, QStringLiteral("Carol"), QStringLiteral("\n  first   line \nsecond"), when);
    const QModelIndex row = model.index(model.indexOf(general));
    QCOMPARE(row.data(ConversationListModel::PreviewRole).toString(), QStringLiteral("Carol: first line"));
    QCOMPARE(row.data(ConversationListModel::LastActivityRole).toDateTime(), when);
    QCOMPARE(changed.size(), 1);
    model.setLastMessage(general, QStringLiteral("Carol"), QStringLiteral("first line"), when);
    QCOMPARE(changed.size(), 1); // nothing new, nothing said
    // In a direct conversation no name; our own messages say so.
    model.setLastMessage(bob, QStringLiteral("Bob"), QStringLiteral("hi"), when);
    QCOMPARE(model.index(model.indexOf(bob)).data(ConversationListModel::PreviewRole).toString(),
             QStringLiteral("hi"));
    model.setLastMessage(bob, QString(), QStringLiteral("hello <b>Bob</b>"), when.addSecs(5));
    QCOMPARE(model.index(model.indexOf(bob)).data(ConversationListModel::PreviewRole).toString(),
             QStringLiteral("You: hello <b>Bob</b>")); // plain text: painted as typed
}

QTEST_GUILESS_MAIN(TestConversationListModel)
#include "tst_conversationlistmodel.moc"
