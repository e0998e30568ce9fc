#include "common/messagelistmodel.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

const User Bob{u"Bob"_s, u"bob@x.org"_s};
const User Carol{u"Carol"_s, u"carol@x.org"_s};

Message stored(qint64 id, const User &from = Carol, const QString &clientId = {})
{
    Message message;
    message.id = id;
    message.room = u"codeial"_s;
    message.from = from;
    message.text = u"message %1"_s.arg(id);
    message.timestamp = QDateTime::fromMSecsSinceEpoch(1'700'000'000'000 + id * 1000, Qt::UTC);
    message.clientId = clientId;
    return message;
}

Message outgoing(const QString &clientId, const QString &text)
{
    Message message;
    message.room = u"codeial"_s;
    message.from = Bob;
    message.text = text;
    message.timestamp = QDateTime::currentDateTimeUtc();
    message.clientId = clientId;
    return message;
}

QList<qint64> ids(const MessageListModel &model)
{
    QList<qint64> result;
    for (int row = 0; row < model.rowCount(); ++row)
        result.append(model.index(row).data(MessageListModel::IdRole).toLongLong());
    return result;
}

} // namespace

class TestMessageListModel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void appendsABatchInOneInsertion();
    void exposesRoles();
    void theLayoutKeyFollowsChanges();
    void aCopiedNameShowsItsEmail();
    void skipsMessagesSeenBefore();
    void fillsGapsInIdOrder();
    void outboxBecomesSentInPlace();
    void outboxMovesAboveLaterMessagesWhenAcknowledged();
    void deliveryStateChanges();
    void ownEmailDecidesIsOwn();
    void fetchMoreAsksForOlderAndPrependsOnce();
    void clearResets();
    void trimKeepsTheLatestAndTheOutbox();
    void aPageAroundAMessageKeepsItsGapUntilClosed();

private:
    MessageListModel *m_model = nullptr;
    QAbstractItemModelTester *m_tester = nullptr;
};

void TestMessageListModel::init()
{
    m_model = new MessageListModel(this);
    m_model->setOwnEmail(Bob.email);
    m_tester =
        new QAbstractItemModelTester(m_model, QAbstractItemModelTester::FailureReportingMode::QtTest, this);
}

void TestMessageListModel::aCopiedNameShowsItsEmail()
{
    // eve@evil.example calling herself "Carol" looked like Carol in the room.
    const auto label = [this](int row) {
        return m_model->index(row).data(MessageListModel::SenderLabelRole).toString();
    };
    m_model->addMessages({stored(1), stored(2, Bob)});
    QCOMPARE(label(0), u"Carol"_s);
    QCOMPARE(label(1), u"Bob"_s);
    QSignalSpy changed(m_model, &QAbstractItemModel::dataChanged);
    m_model->addMessages({stored(3, User{u"carol"_s, u"eve@evil.example"_s})});
    // Both Carols are told apart, the real one's earlier rows too; Bob is as he was.
    QCOMPARE(label(0), u"Carol (carol@x.org)"_s);
    QCOMPARE(label(2), u"carol (eve@evil.example)"_s);
    QCOMPARE(label(1), u"Bob"_s);
    QCOMPARE(changed.size(), 1); // once, for every row: a view lays them out again
    QCOMPARE(m_model->index(0).data(MessageListModel::SenderNameRole).toString(), u"Carol"_s);
    // Once the copy's rows are gone, the name is Carol's alone again.
    m_model->clear();
    m_model->addMessages({stored(4)});
    QCOMPARE(label(0), u"Carol"_s);
}

void TestMessageListModel::cleanup()
{
    delete m_tester;
    delete m_model;
}

void TestMessageListModel::appendsABatchInOneInsertion()
{
    QSignalSpy inserted(m_model, &QAbstractItemModel::rowsInserted);
    m_model->addMessages({stored(1), stored(2), stored(3)});
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 0);
    QCOMPARE(inserted.at(0).at(2).toInt(), 2);
    QCOMPARE(ids(*m_model), (QList<qint64>{1, 2, 3}));
    QCOMPARE(m_model->lastStoredId(), 3);
    QCOMPARE(m_model->firstStoredId(), 1);
}

void TestMessageListModel::exposesRoles()
{
    m_model->addMessages({stored(5, Bob, u"c-1"_s), stored(6, Carol)});
    const QModelIndex own = m_model->index(0);
    QCOMPARE(own.data(MessageListModel::TextRole).toString(), u"message 5"_s);
    QCOMPARE(own.data(Qt::DisplayRole).toString(), u"message 5"_s);
    QCOMPARE(own.data(MessageListModel::SenderNameRole).toString(), u"Bob"_s);
    QCOMPARE(own.data(MessageListModel::SenderEmailRole).toString(), u"bob@x.org"_s);
    QCOMPARE(own.data(MessageListModel::RoomRole).toString(), u"codeial"_s);
    QCOMPARE(own.data(MessageListModel::ClientIdRole).toString(), u"c-1"_s);
    QCOMPARE(own.data(MessageListModel::TimestampRole).toDateTime(), stored(5).timestamp);
    QCOMPARE(own.data(MessageListModel::IsOwnRole).toBool(), true);
    QCOMPARE(own.data(MessageListModel::DeliveryStateRole).value<MessageListModel::DeliveryState>(),
             MessageListModel::DeliveryState::Sent);
    QCOMPARE(m_model->index(1).data(MessageListModel::IsOwnRole).toBool(), false);
    QVERIFY(m_model->roleNames().value(MessageListModel::IsOwnRole) == "isOwn");
}

void TestMessageListModel::theLayoutKeyFollowsChanges()
{
    Message reply = stored(6, Carol);
    reply.reply = ReplyPreview{5, Bob, u"message 5"_s, false};
    m_model->addMessages({stored(5, Bob, u"c-1"_s), reply});
    const auto keyAt = [this](int row) {
        return m_model->index(row).data(MessageListModel::LayoutKeyRole).value<RowLayoutKey>();
    };
    const RowLayoutKey own = keyAt(0);
    QCOMPARE(own.id, 5);
    QCOMPARE(own.clientId, u"c-1"_s);
    QCOMPARE(own.senderEmail, u"bob@x.org"_s);
    QCOMPARE(own.timestampMs, stored(5).timestamp.toMSecsSinceEpoch());
    QVERIFY(own.own);
    QCOMPARE(own.delivery, int(MessageListModel::DeliveryState::Sent) + 1);
    QCOMPARE(own.paragraphs, 1);
    QCOMPARE(own.textLength, 9);
    QVERIFY(!own.edited && !own.deleted && !own.reply && !own.reactions && !own.image && !own.file);
    const RowLayoutKey quoting = keyAt(1);
    QVERIFY(quoting.reply);
    QCOMPARE(quoting.delivery, 0);

    // An edit: new text, new paragraphs, a new revision; the reply quoting it too.
    Message edited = stored(5, Bob, u"c-1"_s);
    edited.text = u"first line\nsecond line\nthird"_s;
    edited.edited = edited.timestamp.addSecs(30);
    QVERIFY(m_model->updateMessage(edited));
    const RowLayoutKey after = keyAt(0);
    QVERIFY(after.edited);
    QCOMPARE(after.paragraphs, 3);
    QCOMPARE(after.textLength, int(edited.text.size()));
    QVERIFY(after.revision != own.revision);
    QVERIFY(keyAt(1).revision != quoting.revision);
    // Asked again without a change: the same.
    QCOMPARE(keyAt(0).revision, after.revision);
    // Reactions change it as well.
    Message reacted = edited;
    reacted.reactions = {Reaction{u"👍"_s, 1, {Carol}, false}};
    QVERIFY(m_model->updateMessage(reacted));
    QVERIFY(keyAt(0).reactions);
    QVERIFY(keyAt(0).revision != after.revision);
}

void TestMessageListModel::skipsMessagesSeenBefore()
{
    m_model->addMessages({stored(1), stored(2)});
    QSignalSpy inserted(m_model, &QAbstractItemModel::rowsInserted);
    m_model->addMessages({stored(2), stored(1), stored(3), stored(3)});
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(ids(*m_model), (QList<qint64>{1, 2, 3}));
    m_model->addMessages({stored(2)});
    QCOMPARE(inserted.size(), 1);
}

void TestMessageListModel::fillsGapsInIdOrder()
{
    m_model->addMessages({stored(1), stored(5)});
    m_model->addMessages({stored(3), stored(2), stored(4)});
    QCOMPARE(ids(*m_model), (QList<qint64>{1, 2, 3, 4, 5}));
}

void TestMessageListModel::outboxBecomesSentInPlace()
{
    m_model->addMessages({stored(1)});
    m_model->addOutgoing(outgoing(u"c-1"_s, u"hello"_s));
    QCOMPARE(m_model->rowCount(), 2);
    QCOMPARE(
        m_model->index(1).data(MessageListModel::DeliveryStateRole).value<MessageListModel::DeliveryState>(),
        MessageListModel::DeliveryState::Sending);
    QCOMPARE(m_model->outbox().size(), 1);

    QSignalSpy inserted(m_model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changed(m_model, &QAbstractItemModel::dataChanged);
    Message echo = stored(2, Bob, u"c-1"_s);
    echo.text = u"hello"_s;
    m_model->addMessages({echo});
    QCOMPARE(inserted.size(), 0);
    QCOMPARE(changed.size(), 1);
    QCOMPARE(m_model->rowCount(), 2);
    QCOMPARE(m_model->index(1).data(MessageListModel::IdRole).toLongLong(), 2);
    QCOMPARE(
        m_model->index(1).data(MessageListModel::DeliveryStateRole).value<MessageListModel::DeliveryState>(),
        MessageListModel::DeliveryState::Sent);
    QVERIFY(m_model->outbox().isEmpty());
    QCOMPARE(m_model->storedCount(), 2);

    // The same message again (a resend's answer, a resume) changes nothing.
    m_model->addMessages({echo});
    QCOMPARE(m_model->rowCount(), 2);
}

void TestMessageListModel::outboxMovesAboveLaterMessagesWhenAcknowledged()
{
    m_model->addOutgoing(outgoing(u"c-1"_s, u"first"_s));
    m_model->addOutgoing(outgoing(u"c-2"_s, u"second"_s));
    m_model->addMessages({stored(10)}); // Carol's, before ours is acknowledged
    QCOMPARE(m_model->index(0).data(MessageListModel::IdRole).toLongLong(), 10);
    QCOMPARE(m_model->index(1).data(MessageListModel::ClientIdRole).toString(), u"c-1"_s);

    // c-2 is stored before c-1 (it was resent first after a reconnect): it moves up.
    m_model->addMessages({stored(11, Bob, u"c-2"_s)});
    QCOMPARE(ids(*m_model), (QList<qint64>{10, 11, 0}));
    QCOMPARE(m_model->index(2).data(MessageListModel::ClientIdRole).toString(), u"c-1"_s);
    m_model->addMessages({stored(12, Bob, u"c-1"_s)});
    QCOMPARE(ids(*m_model), (QList<qint64>{10, 11, 12}));
}

void TestMessageListModel::deliveryStateChanges()
{
    m_model->addOutgoing(outgoing(u"c-1"_s, u"hello"_s));
    QSignalSpy changed(m_model, &QAbstractItemModel::dataChanged);
    m_model->setDeliveryState(u"c-1"_s, MessageListModel::DeliveryState::Failed);
    QCOMPARE(changed.size(), 1);
    QCOMPARE(changed.at(0).at(2).value<QList<int>>(), QList<int>{MessageListModel::DeliveryStateRole});
    QCOMPARE(m_model->deliveryStateAt(0), MessageListModel::DeliveryState::Failed);
    m_model->setDeliveryState(u"c-unknown"_s, MessageListModel::DeliveryState::Sent);
    QCOMPARE(changed.size(), 1);
}

void TestMessageListModel::ownEmailDecidesIsOwn()
{
    m_model->addMessages({stored(1, Bob), stored(2, Carol)});
    QSignalSpy changed(m_model, &QAbstractItemModel::dataChanged);
    m_model->setOwnEmail(Carol.email);
    QCOMPARE(changed.size(), 1);
    QCOMPARE(changed.at(0).at(0).toModelIndex().row(), 0);
    QCOMPARE(changed.at(0).at(1).toModelIndex().row(), 1);
    QCOMPARE(m_model->index(0).data(MessageListModel::IsOwnRole).toBool(), false);
    QCOMPARE(m_model->index(1).data(MessageListModel::IsOwnRole).toBool(), true);
}

void TestMessageListModel::fetchMoreAsksForOlderAndPrependsOnce()
{
    m_model->addMessages({stored(51), stored(52)});
    QVERIFY(!m_model->canFetchMore({}));
    m_model->setHasOlder(true);
    QVERIFY(m_model->canFetchMore({}));

    QSignalSpy requested(m_model, &MessageListModel::olderMessagesRequested);
    m_model->fetchMore({});
    QCOMPARE(requested.size(), 1);
    QCOMPARE(requested.at(0).at(0).toLongLong(), 51);
    QVERIFY(!m_model->canFetchMore({})); // one request at a time
    m_model->fetchMore({});
    QCOMPARE(requested.size(), 1);

    QSignalSpy inserted(m_model, &QAbstractItemModel::rowsInserted);
    QList<Message> page;
    for (qint64 id = 1; id <= 50; ++id)
        page.append(stored(id));
    page.append(stored(51)); // overlap is ignored
    m_model->prependOlder(page, false);
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 0);
    QCOMPARE(inserted.at(0).at(2).toInt(), 49);
    QCOMPARE(m_model->rowCount(), 52);
    QCOMPARE(m_model->firstStoredId(), 1);
    QVERIFY(!m_model->canFetchMore({}));
}

void TestMessageListModel::clearResets()
{
    m_model->addMessages({stored(1)});
    m_model->addOutgoing(outgoing(u"c-1"_s, u"x"_s));
    m_model->clear();
    QCOMPARE(m_model->rowCount(), 0);
    QCOMPARE(m_model->lastStoredId(), 0);
}

void TestMessageListModel::trimKeepsTheLatestAndTheOutbox()
{
    QList<Message> batch;
    for (qint64 id = 1; id <= 10; ++id)
        batch.append(stored(id));
    m_model->addMessages(batch);
    m_model->addOutgoing(outgoing(QStringLiteral("c-1"), QStringLiteral("pending")));
    QSignalSpy removed(m_model, &QAbstractItemModel::rowsRemoved);
    m_model->trimToLatest(3);
    QCOMPARE(removed.count(), 1); // one removal
    QCOMPARE(m_model->storedCount(), 3);
    QCOMPARE(m_model->rowCount(), 4);
    QCOMPARE(m_model->firstStoredId(), 8);
    QCOMPARE(m_model->outbox().size(), 1);
    QVERIFY(m_model->canFetchMore({}));
    m_model->trimToLatest(5); // nothing to drop
    QCOMPARE(removed.count(), 1);
}

void TestMessageListModel::aPageAroundAMessageKeepsItsGapUntilClosed()
{
    QList<Message> latest;
    for (qint64 id = 90; id <= 100; ++id)
        latest.append(stored(id));
    m_model->addMessages(latest);
    m_model->addOutgoing(outgoing(QStringLiteral("c-1"), QStringLiteral("on its way")));

    // A jump to message 12: its page replaces the stored rows, the outbox stays.
    QList<Message> page;
    for (qint64 id = 10; id <= 14; ++id)
        page.append(stored(id));
    m_model->showPage(page, true, true);
    QVERIFY(m_model->hasNewer());
    QVERIFY(m_model->hasOlder());
    QCOMPARE(m_model->storedCount(), 5);
    QCOMPARE(m_model->rowCount(), 6);
    // Pushed meanwhile: beyond the gap, not shown.
    m_model->addMessages({stored(101)});
    QCOMPARE(m_model->lastStoredId(), 14);

    QSignalSpy asked(m_model, &MessageListModel::newerMessagesRequested);
    m_model->fetchNewer();
    m_model->fetchNewer(); // once until answered
    QCOMPARE(asked.size(), 1);
    QCOMPARE(asked.at(0).at(0).toLongLong(), 14);
    QList<Message> rest;
    for (qint64 id = 15; id <= 101; ++id)
        rest.append(stored(id));
    m_model->appendNewer(rest, false);
    QVERIFY(!m_model->hasNewer());
    QCOMPARE(m_model->lastStoredId(), 101);
    // A late answer to an earlier request must not open the gap again.
    m_model->appendNewer({stored(15), stored(16)}, true);
    QVERIFY(!m_model->hasNewer());
    m_model->addMessages({stored(102)});
    QCOMPARE(m_model->lastStoredId(), 102);
    QCOMPARE(m_model->storedCount(), 102 - 10 + 1);
}

QTEST_GUILESS_MAIN(TestMessageListModel)
#include "tst_messagelistmodel.moc"
