// The server's own WebSocket frame reader, on bytes: masked frames are read
// whole however the bytes are split, fragments join, control frames come
// between them, and each way a client can break RFC 6455 ends reading with
// the close code the RFC asks for.

#include "server/websocketframes.h"

#include <QRandomGenerator>
#include <QTest>
#include <QtEndian>

using namespace Natter;
using namespace Qt::StringLiterals;
using WebSocketFrames::Opcode;
using Message = WebSocketFrameReader::Message;

namespace {

/// A client's frame: masked with a fixed key unless told not to.
QByteArray clientFrame(quint8 firstByte, QByteArrayView payload, bool masked = true)
{
    const char mask[4] = {0x37, char(0xfa), 0x21, 0x3d};
    QByteArray frame;
    frame.append(char(firstByte));
    const quint8 maskBit = masked ? 0x80 : 0;
    const auto length = quint64(payload.size());
    if (length < 126) {
        frame.append(char(maskBit | length));
    } else if (length <= 0xffff) {
        frame.append(char(maskBit | 126));
        char bytes[2];
        qToBigEndian(quint16(length), bytes);
        frame.append(bytes, 2);
    } else {
        frame.append(char(maskBit | 127));
        char bytes[8];
        qToBigEndian(length, bytes);
        frame.append(bytes, 8);
    }
    if (masked)
        frame.append(mask, 4);
    for (qsizetype i = 0; i < payload.size(); ++i)
        frame.append(masked ? char(payload[i] ^ mask[i % 4]) : payload[i]);
    return frame;
}

QByteArray text(QByteArrayView payload)
{
    return clientFrame(0x81, payload);
}

QByteArray closePayload(quint16 code, QByteArrayView reason = {})
{
    QByteArray payload(2, Qt::Uninitialized);
    qToBigEndian(code, payload.data());
    payload.append(reason);
    return payload;
}

/// Everything the reader makes of chunks fed one after another.
struct Outcome
{
    QList<Message> messages;
    std::optional<WebSocketFrameReader::Failure> failure;
};

Outcome readAll(const QList<QByteArray> &chunks, qint64 maxMessageBytes = 1024)
{
    WebSocketFrameReader reader(maxMessageBytes);
    Outcome outcome;
    for (const QByteArray &chunk : chunks) {
        outcome.failure = reader.read(chunk, [&](Message &&message) {
            outcome.messages.append(std::move(message));
            return true;
        });
        if (outcome.failure)
            break;
    }
    return outcome;
}

} // namespace

class TestWebSocketFrames : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void readsEveryKindOfMessage()
    {
        const QByteArray bytes = text("{\"type\":\"ping\"}") +
                                 clientFrame(0x82, QByteArray("\x00\x01\xff", 3)) + clientFrame(0x89, "hi") +
                                 clientFrame(0x8a, "") + clientFrame(0x88, closePayload(1000, "bye"));
        const Outcome outcome = readAll({bytes});
        QVERIFY(!outcome.failure);
        QCOMPARE(outcome.messages.size(), 5);
        QCOMPARE(outcome.messages[0].opcode, Opcode::Text);
        QCOMPARE(outcome.messages[0].payload, "{\"type\":\"ping\"}");
        QCOMPARE(outcome.messages[1].opcode, Opcode::Binary);
        QCOMPARE(outcome.messages[1].payload, QByteArray("\x00\x01\xff", 3));
        QCOMPARE(outcome.messages[2].opcode, Opcode::Ping);
        QCOMPARE(outcome.messages[2].payload, "hi");
        QCOMPARE(outcome.messages[3].opcode, Opcode::Pong);
        QVERIFY(outcome.messages[3].payload.isEmpty());
        QCOMPARE(outcome.messages[4].opcode, Opcode::Close);
        QCOMPARE(outcome.messages[4].closeCode, quint16(QWebSocketProtocol::CloseCodeNormal));
        QCOMPARE(outcome.messages[4].payload, "bye");
    }

    void aCloseWithoutACodeSaysSo()
    {
        const Outcome outcome = readAll({clientFrame(0x88, "")});
        QVERIFY(!outcome.failure);
        QCOMPARE(outcome.messages.size(), 1);
        QCOMPARE(outcome.messages[0].closeCode, quint16(QWebSocketProtocol::CloseCodeMissingStatusCode));
    }

    void closeCodesForApplicationsArePassedOn()
    {
        // 3000-4999 are beyond what QWebSocketProtocol::CloseCode holds (found by fuzz_websocket_frames).
        const Outcome outcome =
            readAll({clientFrame(0x88, closePayload(3075, "x")), clientFrame(0x88, closePayload(4999))});
        QVERIFY(!outcome.failure);
        QCOMPARE(outcome.messages.size(), 2);
        QCOMPARE(outcome.messages[0].closeCode, quint16(3075));
        QCOMPARE(outcome.messages[1].closeCode, quint16(4999));
        QCOMPARE(WebSocketFrames::closeFrame(4000, {}), QByteArray("\x88\x02\x0f\xa0"));
    }

    void everyLengthEncodingIsRead_data()
    {
        QTest::addColumn<int>("size");
        for (int size : {0, 1, 125, 126, 127, 65535, 65536, 70000})
            QTest::addRow("%d bytes", size) << size;
    }

    void everyLengthEncodingIsRead()
    {
        QFETCH(int, size);
        QByteArray payload(size, Qt::Uninitialized);
        for (int i = 0; i < size; ++i)
            payload[i] = char('a' + i % 26);
        const Outcome outcome = readAll({text(payload)}, 100'000);
        QVERIFY(!outcome.failure);
        QCOMPARE(outcome.messages.size(), 1);
        QCOMPARE(outcome.messages[0].payload, payload);
    }

    void framesSplitAnywhereAreReadWhole()
    {
        // Two frames, one with a 16-bit length, cut at every byte boundary and
        // at random ones: the same two messages every time, nothing kept after.
        const QByteArray first = text(QByteArray(300, 'x'));
        const QByteArray second = text("{\"type\":\"typing\"}");
        const QByteArray bytes = first + second;
        for (qsizetype cut = 0; cut <= bytes.size(); ++cut) {
            WebSocketFrameReader reader(1024);
            QList<Message> messages;
            const auto collect = [&](Message &&message) {
                messages.append(std::move(message));
                return true;
            };
            QVERIFY(!reader.read(bytes.first(cut), collect));
            QVERIFY(!reader.read(bytes.sliced(cut), collect));
            QCOMPARE(messages.size(), 2);
            QCOMPARE(messages[0].payload, QByteArray(300, 'x'));
            QCOMPARE(messages[1].payload, "{\"type\":\"typing\"}");
            QCOMPARE(reader.keptBytes(), 0);
        }
        QRandomGenerator random(7);
        for (int round = 0; round < 200; ++round) {
            QList<QByteArray> chunks;
            QByteArray all = bytes + bytes + bytes;
            while (!all.isEmpty()) {
                const qsizetype take = std::min<qsizetype>(all.size(), 1 + random.bounded(40));
                chunks.append(all.first(take));
                all.remove(0, take);
            }
            const Outcome outcome = readAll(chunks);
            QVERIFY(!outcome.failure);
            QCOMPARE(outcome.messages.size(), 6);
        }
    }

    void fragmentsJoinWithControlFramesBetween()
    {
        const QByteArray bytes = clientFrame(0x01, "{\"type\":") + clientFrame(0x89, "are you there") +
                                 clientFrame(0x00, "\"send_") + clientFrame(0x80, "message\"}") +
                                 clientFrame(0x02, "ab") + clientFrame(0x80, "cd");
        const Outcome outcome = readAll({bytes});
        QVERIFY(!outcome.failure);
        QCOMPARE(outcome.messages.size(), 3);
        QCOMPARE(outcome.messages[0].opcode, Opcode::Ping);
        QCOMPARE(outcome.messages[1].opcode, Opcode::Text);
        QCOMPARE(outcome.messages[1].payload, "{\"type\":\"send_message\"}");
        QCOMPARE(outcome.messages[2].opcode, Opcode::Binary);
        QCOMPARE(outcome.messages[2].payload, "abcd");
    }

    void aCharacterSplitAcrossFragmentsIsText()
    {
        const QByteArray euro = "\xe2\x82\xac";
        const Outcome outcome =
            readAll({clientFrame(0x01, euro.first(1)) + clientFrame(0x80, euro.sliced(1))});
        QVERIFY(!outcome.failure);
        QCOMPARE(outcome.messages.size(), 1);
        QCOMPARE(QString::fromUtf8(outcome.messages[0].payload), u"€"_s);
    }

    void stoppingDropsTheRest()
    {
        WebSocketFrameReader reader(1024);
        int seen = 0;
        QVERIFY(!reader.read(QByteArray(text("a") + text("b") + text("c")),
                             [&](Message &&) { return ++seen < 2; }));
        QCOMPARE(seen, 2);
        QCOMPARE(reader.keptBytes(), 0);
    }

    void brokenFramesEndReading_data()
    {
        QTest::addColumn<QList<QByteArray>>("chunks");
        QTest::addColumn<int>("code");
        QTest::addColumn<int>("messagesBefore");
        using C = QList<QByteArray>;
        QTest::newRow("not masked") << C{clientFrame(0x81, "hi", false)} << 1002 << 0;
        QTest::newRow("reserved bit") << C{clientFrame(0xc1, "hi")} << 1002 << 0;
        QTest::newRow("unknown data opcode") << C{clientFrame(0x83, "hi")} << 1002 << 0;
        QTest::newRow("unknown control opcode") << C{clientFrame(0x8b, "")} << 1002 << 0;
        QTest::newRow("fragmented ping") << C{clientFrame(0x09, "")} << 1002 << 0;
        QTest::newRow("ping over 125 bytes") << C{clientFrame(0x89, QByteArray(126, 'p'))} << 1002 << 0;
        QTest::newRow("continuation of nothing") << C{clientFrame(0x80, "x")} << 1002 << 0;
        QTest::newRow("new message inside one")
            << C{clientFrame(0x01, "a") + clientFrame(0x81, "b")} << 1002 << 0;
        QTest::newRow("text not UTF-8") << C{text("ok"), text("\xc3\x28")} << 1007 << 1;
        QTest::newRow("overlong UTF-8") << C{text("\xc0\xaf")} << 1007 << 0;
        QTest::newRow("close of one byte") << C{clientFrame(0x88, "\x03")} << 1002 << 0;
        QTest::newRow("close code 1005") << C{clientFrame(0x88, closePayload(1005))} << 1002 << 0;
        QTest::newRow("close code 999") << C{clientFrame(0x88, closePayload(999))} << 1002 << 0;
        QTest::newRow("close reason not UTF-8")
            << C{clientFrame(0x88, closePayload(1000, "\xff"))} << 1007 << 0;
        QTest::newRow("frame over the limit") << C{text(QByteArray(1025, 'x'))} << 1009 << 0;
        // Refused from the header alone: the 2 GiB never have to arrive.
        QTest::newRow("huge length, header only") << C{clientFrame(0x81, "").first(2).replace(1, 1, "\xff") +
                                                       QByteArray("\x00\x00\x00\x00\x80\x00\x00\x00", 8)}
                                                  << 1009 << 0;
        QTest::newRow("length top bit") << C{clientFrame(0x81, "").first(2).replace(1, 1, "\xff") +
                                             QByteArray("\x80\x00\x00\x00\x00\x00\x00\x01", 8)}
                                        << 1002 << 0;
        QTest::newRow("fragments over the limit")
            << C{clientFrame(0x01, QByteArray(600, 'x')), clientFrame(0x80, QByteArray(600, 'y'))} << 1009
            << 0;
    }

    void brokenFramesEndReading()
    {
        QFETCH(QList<QByteArray>, chunks);
        QFETCH(int, code);
        QFETCH(int, messagesBefore);
        WebSocketFrameReader reader(1024);
        int messages = 0;
        std::optional<WebSocketFrameReader::Failure> failure;
        for (const QByteArray &chunk : std::as_const(chunks)) {
            failure = reader.read(chunk, [&](Message &&) {
                ++messages;
                return true;
            });
            if (failure)
                break;
        }
        QVERIFY(failure);
        QCOMPARE(int(failure->code), code);
        QVERIFY(!failure->reason.isEmpty());
        QCOMPARE(messages, messagesBefore);
        // Nothing more is read after a failure, however good.
        const auto again = reader.read(text("fine"), [&](Message &&) {
            ++messages;
            return true;
        });
        QVERIFY(again);
        QCOMPARE(messages, messagesBefore);
    }

    void serverFramesUseTheShortestLength()
    {
        QCOMPARE(WebSocketFrames::serverFrame(Opcode::Text, "hi"), QByteArray("\x81\x02hi"));
        const QByteArray medium = WebSocketFrames::serverFrame(Opcode::Binary, QByteArray(300, 'm'));
        QCOMPARE(medium.first(4), QByteArray("\x82\x7e\x01\x2c"));
        QCOMPARE(medium.size(), 304);
        const QByteArray large = WebSocketFrames::serverFrame(Opcode::Text, QByteArray(70000, 'l'));
        QCOMPARE(large.first(10), QByteArray("\x81\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10));
    }

    void aCloseReasonIsCutBetweenCharacters()
    {
        // 60 two-byte characters: 120 bytes would not fit after the code at 123.
        const QString reason = QString(62, u'é');
        const QByteArray frame = WebSocketFrames::closeFrame(QWebSocketProtocol::CloseCodeGoingAway, reason);
        QCOMPARE(quint8(frame[0]), quint8(0x88));
        const qsizetype length = quint8(frame[1]);
        QVERIFY(length <= 125);
        QCOMPARE(qFromBigEndian<quint16>(frame.constData() + 2), quint16(1001));
        const QByteArray said = frame.sliced(4);
        QVERIFY(said.isValidUtf8());
        QCOMPARE(said.size(), 122);
        QCOMPARE(QString::fromUtf8(said), QString(61, u'é'));
    }
};

QTEST_APPLESS_MAIN(TestWebSocketFrames)
#include "tst_websocketframes.moc"
