#include "common/codec.h"

#include <QJsonDocument>
#include <QTest>

using namespace Natter;
using namespace Natter::Protocol;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(Natter::Protocol::ErrorCode)

class TestCodec : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void validClientFrames_data();
    void validClientFrames();
    void invalidClientFrames_data();
    void invalidClientFrames();
    void clientFramesRoundTrip();
    void serverFramesRoundTrip_data();
    void serverFramesRoundTrip();
    void errorNamesAreStable();
    void chunksCarryTheirTransferId();
    void sendMessageFields();
    void historyFields();
    void receiveMessageWireShape();
    void receiveMessageFastPathMatchesQJsonDocument_data();
    void receiveMessageFastPathMatchesQJsonDocument();
    void roomFramesFastPathMatchQJsonDocument_data();
    void roomFramesFastPathMatchQJsonDocument();
    void hotClientFramesReadAsTheGeneralParserReadsThem_data();
    void hotClientFramesReadAsTheGeneralParserReadsThem();
};

void TestCodec::validClientFrames_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<int>("index"); // variant alternative of ClientFrame

    QTest::newRow("hello") << R"({"type":"hello","name":"Bob","email":"bob@example.org"})"_ba << 0;
    QTest::newRow("hello with protocol")
        << R"({"type":"hello","name":"Bob","email":"b@x","protocol":1})"_ba << 0;
    QTest::newRow("hello unknown extra field")
        << R"({"type":"hello","name":"Bob","email":"b@x","x":[1]})"_ba << 0;
    QTest::newRow("join_room") << R"({"type":"join_room","room":"codeial"})"_ba << 1;
    QTest::newRow("leave_room") << R"({"type":"leave_room","room":"codeial"})"_ba << 2;
    QTest::newRow("send to room") << R"({"type":"send_message","room":"codeial","text":"hello"})"_ba << 3;
    QTest::newRow("send an escaped surrogate pair")
        << R"({"type":"send_message","room":"codeial","text":"party \ud83c\udf89"})"_ba << 3;
    QTest::newRow("send direct")
        << R"({"type":"send_message","to":"carol@x.org","text":"hi","client_id":"c-1"})"_ba << 3;
    QTest::newRow("history latest") << R"({"type":"history","room":"codeial"})"_ba << 4;
    QTest::newRow("history before") << R"({"type":"history","room":"codeial","before":10,"limit":5})"_ba << 4;
    QTest::newRow("history after 0") << R"({"type":"history","with":"carol@x.org","after":0})"_ba << 4;
    QTest::newRow("typing") << R"({"type":"typing","room":"codeial","active":true})"_ba << 5;
    QTest::newRow("hello with password")
        << R"({"type":"hello","name":"Bob","email":"b@x","password":"pw","device":"laptop"})"_ba << 0;
    QTest::newRow("hello with token") << R"({"type":"hello","name":"Bob","email":"b@x","token":"t"})"_ba << 0;
    QTest::newRow("sign_out") << R"({"type":"sign_out"})"_ba << 6;
    QTest::newRow("change_password") << R"({"type":"change_password","password":"a","new_password":"b"})"_ba
                                     << 7;
    QTest::newRow("create_room private")
        << R"({"type":"create_room","room":"design","private":true})"_ba << 8;
    QTest::newRow("invite_to_room") << R"({"type":"invite_to_room","room":"design","email":"c@x.org"})"_ba
                                    << 9;
    QTest::newRow("remove_from_room")
        << R"({"type":"remove_from_room","room":"design","email":"c@x.org"})"_ba << 10;
}

void TestCodec::validClientFrames()
{
    QFETCH(QByteArray, json);
    QFETCH(int, index);
    const auto result = Codec::decodeClientFrame(json);
    QVERIFY2(result.isOk(), qPrintable(result.isOk() ? QString() : result.error().message));
    QCOMPARE(int(result.value().index()), index);
}

void TestCodec::invalidClientFrames_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<ErrorCode>("code");

    QTest::newRow("not json") << "hello there"_ba << ErrorCode::BadJson;
    QTest::newRow("truncated json") << R"({"type":"hello")"_ba << ErrorCode::BadJson;
    QTest::newRow("empty") << ""_ba << ErrorCode::BadJson;
    QTest::newRow("array") << "[1,2,3]"_ba << ErrorCode::BadFrame;
    QTest::newRow("no type") << R"({"name":"Bob"})"_ba << ErrorCode::BadFrame;
    QTest::newRow("type not string") << R"({"type":7})"_ba << ErrorCode::BadFrame;
    QTest::newRow("unknown type") << R"({"type":"dance"})"_ba << ErrorCode::UnknownType;
    QTest::newRow("server-only type") << R"({"type":"welcome"})"_ba << ErrorCode::UnknownType;
    QTest::newRow("hello no email") << R"({"type":"hello","name":"Bob"})"_ba << ErrorCode::BadField;
    QTest::newRow("text of lone surrogates")
        << QByteArray(R"({"type":"send_message","room":"r","text":")" + QByteArray(10000 * 6, 'x') + R"(x"})")
               .replace(QByteArray(6, 'x'), R"(\udc00)")
        << ErrorCode::BadField;
    QTest::newRow("text ending in half a pair")
        << R"({"type":"send_message","room":"r","text":"hi \ud83c"})"_ba << ErrorCode::BadField;
    QTest::newRow("name with a lone surrogate")
        << R"({"type":"hello","name":"B\udc00b","email":"b@x","password":"p"})"_ba << ErrorCode::BadField;
    QTest::newRow("hello name with right-to-left override")
        << R"({"type":"hello","name":"Alice\u202enimda","email":"b@x","password":"p"})"_ba
        << ErrorCode::BadName;
    QTest::newRow("hello email with zero width space")
        << R"({"type":"hello","name":"B","email":"b\u200b@x","password":"p"})"_ba << ErrorCode::BadEmail;
    QTest::newRow("hello password and token")
        << R"({"type":"hello","name":"B","email":"b@x","password":"p","token":"t"})"_ba
        << ErrorCode::BadField;
    QTest::newRow("hello password not a string")
        << R"({"type":"hello","name":"B","email":"b@x","password":5})"_ba << ErrorCode::BadField;
    QTest::newRow("hello overlong password")
        << QByteArray(R"({"type":"hello","name":"B","email":"b@x","password":")" + QByteArray(1025, 'p') +
                      R"("})")
        << ErrorCode::BadField;
    QTest::newRow("hello overlong token")
        << QByteArray(R"({"type":"hello","name":"B","email":"b@x","token":")" + QByteArray(129, 't') +
                      R"("})")
        << ErrorCode::BadField;
    QTest::newRow("hello device with control character")
        << R"({"type":"hello","name":"B","email":"b@x","token":"t","device":"a"})"_ba << ErrorCode::BadField;
    QTest::newRow("create_room private not a boolean")
        << R"({"type":"create_room","room":"design","private":"yes"})"_ba << ErrorCode::BadField;
    QTest::newRow("invite_to_room bad email")
        << R"({"type":"invite_to_room","room":"design","email":"carol"})"_ba << ErrorCode::BadEmail;
    QTest::newRow("change_password without new")
        << R"({"type":"change_password","password":"a"})"_ba << ErrorCode::BadField;
    QTest::newRow("hello name number")
        << R"({"type":"hello","name":5,"email":"b@x"})"_ba << ErrorCode::BadField;
    QTest::newRow("hello blank name")
        << R"({"type":"hello","name":"  ","email":"b@x"})"_ba << ErrorCode::BadName;
    QTest::newRow("hello long name") << QByteArray(R"({"type":"hello","email":"b@x","name":")" +
                                                   QByteArray(65, 'a') + R"("})")
                                     << ErrorCode::BadName;
    QTest::newRow("hello control in name")
        << R"({"type":"hello","name":"B\u0007b","email":"b@x"})"_ba << ErrorCode::BadName;
    QTest::newRow("hello bad email") << R"({"type":"hello","name":"Bob","email":"bob"})"_ba
                                     << ErrorCode::BadEmail;
    QTest::newRow("hello two @") << R"({"type":"hello","name":"Bob","email":"a@b@c"})"_ba
                                 << ErrorCode::BadEmail;
    QTest::newRow("hello protocol string")
        << R"({"type":"hello","name":"B","email":"b@x","protocol":"1"})"_ba << ErrorCode::BadField;
    QTest::newRow("join no room") << R"({"type":"join_room"})"_ba << ErrorCode::BadField;
    QTest::newRow("join room number") << R"({"type":"join_room","room":3})"_ba << ErrorCode::BadField;
    QTest::newRow("join uppercase") << R"({"type":"join_room","room":"Codeial"})"_ba << ErrorCode::BadRoom;
    QTest::newRow("join space") << R"({"type":"join_room","room":"a b"})"_ba << ErrorCode::BadRoom;
    QTest::newRow("join empty") << R"({"type":"join_room","room":""})"_ba << ErrorCode::BadRoom;
    QTest::newRow("join too long") << QByteArray(R"({"type":"join_room","room":")" + QByteArray(65, 'a') +
                                                 R"("})")
                                   << ErrorCode::BadRoom;
    QTest::newRow("join leading dash") << R"({"type":"join_room","room":"-x"})"_ba << ErrorCode::BadRoom;
    QTest::newRow("leave bad room") << R"({"type":"leave_room","room":"#x"})"_ba << ErrorCode::BadRoom;
    QTest::newRow("send no text") << R"({"type":"send_message","room":"a"})"_ba << ErrorCode::BadField;
    QTest::newRow("send text number")
        << R"({"type":"send_message","room":"a","text":1})"_ba << ErrorCode::BadField;
    QTest::newRow("send empty text") << R"({"type":"send_message","room":"a","text":""})"_ba
                                     << ErrorCode::BadText;
    QTest::newRow("send blank text") << R"({"type":"send_message","room":"a","text":" \n\t"})"_ba
                                     << ErrorCode::BadText;
    QTest::newRow("send both room and to")
        << R"({"type":"send_message","room":"a","to":"b@x","text":"t"})"_ba << ErrorCode::BadField;
    QTest::newRow("send neither room nor to")
        << R"({"type":"send_message","text":"t"})"_ba << ErrorCode::BadField;
    QTest::newRow("send bad to") << R"({"type":"send_message","to":"nobody","text":"t"})"_ba
                                 << ErrorCode::BadEmail;
    QTest::newRow("send bad room") << R"({"type":"send_message","room":"A!","text":"t"})"_ba
                                   << ErrorCode::BadRoom;
    QTest::newRow("send client_id number")
        << R"({"type":"send_message","room":"a","text":"t","client_id":4})"_ba << ErrorCode::BadField;
    QTest::newRow("send client_id too long")
        << QByteArray(R"({"type":"send_message","room":"a","text":"t","client_id":")" + QByteArray(65, 'c') +
                      R"("})")
        << ErrorCode::BadField;
    QTest::newRow("history neither") << R"({"type":"history"})"_ba << ErrorCode::BadField;
    QTest::newRow("history both") << R"({"type":"history","room":"a","with":"b@x"})"_ba
                                  << ErrorCode::BadField;
    QTest::newRow("history before and after")
        << R"({"type":"history","room":"a","before":5,"after":2})"_ba << ErrorCode::BadField;
    QTest::newRow("history before zero")
        << R"({"type":"history","room":"a","before":0})"_ba << ErrorCode::BadField;
    QTest::newRow("history before fraction")
        << R"({"type":"history","room":"a","before":1.5})"_ba << ErrorCode::BadField;
    QTest::newRow("history after negative")
        << R"({"type":"history","room":"a","after":-1})"_ba << ErrorCode::BadField;
    QTest::newRow("history limit 0") << R"({"type":"history","room":"a","limit":0})"_ba
                                     << ErrorCode::BadField;
    QTest::newRow("history limit 201")
        << R"({"type":"history","room":"a","limit":201})"_ba << ErrorCode::BadField;
    QTest::newRow("history bad with") << R"({"type":"history","with":"x"})"_ba << ErrorCode::BadEmail;
    QTest::newRow("typing no active") << R"({"type":"typing","room":"a"})"_ba << ErrorCode::BadField;
    QTest::newRow("typing active string")
        << R"({"type":"typing","room":"a","active":"yes"})"_ba << ErrorCode::BadField;
    // Conversation features (edit, delete, react, reply, mention, markers, changes).
    QTest::newRow("edit without id") << R"({"type":"edit_message","text":"t"})"_ba << ErrorCode::BadField;
    QTest::newRow("edit id zero") << R"({"type":"edit_message","id":0,"text":"t"})"_ba << ErrorCode::BadField;
    QTest::newRow("edit id too large")
        << R"({"type":"edit_message","id":9007199254740993,"text":"t"})"_ba << ErrorCode::BadField;
    QTest::newRow("edit blank") << R"({"type":"edit_message","id":4,"text":"  "})"_ba << ErrorCode::BadText;
    QTest::newRow("edit lone surrogate")
        << R"({"type":"edit_message","id":4,"text":"\udc00x"})"_ba << ErrorCode::BadField;
    QTest::newRow("delete id string") << R"({"type":"delete_message","id":"4"})"_ba << ErrorCode::BadField;
    QTest::newRow("react two emoji") << R"({"type":"react","id":4,"emoji":"👍👍","on":true})"_ba
                                     << ErrorCode::BadEmoji;
    QTest::newRow("react a word") << R"({"type":"react","id":4,"emoji":"ok","on":true})"_ba
                                  << ErrorCode::BadEmoji;
    QTest::newRow("react a digit") << R"({"type":"react","id":4,"emoji":"7","on":true})"_ba
                                   << ErrorCode::BadEmoji;
    QTest::newRow("react hidden character")
        << R"({"type":"react","id":4,"emoji":"👍\u202e","on":true})"_ba << ErrorCode::BadEmoji;
    QTest::newRow("react without on") << R"({"type":"react","id":4,"emoji":"👍"})"_ba << ErrorCode::BadField;
    QTest::newRow("reply_to zero") << R"({"type":"send_message","room":"a","text":"t","reply_to":0})"_ba
                                   << ErrorCode::BadField;
    QTest::newRow("mentions not a list")
        << R"({"type":"send_message","room":"a","text":"t","mentions":"b@x"})"_ba << ErrorCode::BadField;
    QTest::newRow("mentions not emails")
        << R"({"type":"send_message","room":"a","text":"t","mentions":["bob"]})"_ba << ErrorCode::BadEmail;
    QTest::newRow("mark_read both") << R"({"type":"mark_read","room":"a","with":"b@x","id":3})"_ba
                                    << ErrorCode::BadField;
    QTest::newRow("mark_read no id") << R"({"type":"mark_read","room":"a"})"_ba << ErrorCode::BadField;
    QTest::newRow("mute not a boolean")
        << R"({"type":"mute","room":"a","muted":1})"_ba << ErrorCode::BadField;
    QTest::newRow("changes without after") << R"({"type":"changes","room":"a"})"_ba << ErrorCode::BadField;
    QTest::newRow("changes limit 201")
        << R"({"type":"changes","room":"a","after":0,"limit":201})"_ba << ErrorCode::BadField;
    QTest::newRow("history around and after")
        << R"({"type":"history","room":"a","around":5,"after":2})"_ba << ErrorCode::BadField;
    QTest::newRow("history around zero")
        << R"({"type":"history","room":"a","around":0})"_ba << ErrorCode::BadField;
    QTest::newRow("search without query") << R"({"type":"search"})"_ba << ErrorCode::BadField;
    QTest::newRow("search too long") << QByteArray(R"({"type":"search","query":")" + QByteArray(257, 'a') +
                                                   R"("})")
                                     << ErrorCode::BadQuery;
    QTest::newRow("search before not a date")
        << R"({"type":"search","query":"a","before":"yesterday"})"_ba << ErrorCode::BadField;
    QTest::newRow("search limit 51") << R"({"type":"search","query":"a","limit":51})"_ba
                                     << ErrorCode::BadField;
    QTest::newRow("search bad from") << R"({"type":"search","query":"a","from":"carol"})"_ba
                                     << ErrorCode::BadEmail;
    QTest::newRow("search room and with")
        << R"({"type":"search","query":"a","room":"a","with":"b@x"})"_ba << ErrorCode::BadField;

    const QByteArray digest(64, 'a');
    const auto upload = [&digest](const QByteArray &fields) -> QByteArray {
        return R"({"type":"upload_begin","client_id":"u-1","sha256":")" + digest + R"(",)" + fields + "}";
    };
    QTest::newRow("upload without client_id")
        << QByteArray(R"({"type":"upload_begin","name":"a","size":1,"room":"r","sha256":")" + digest +
                      R"("})")
        << ErrorCode::BadField;
    QTest::newRow("upload without size") << upload(R"("name":"a","room":"r")") << ErrorCode::BadField;
    QTest::newRow("upload negative size")
        << upload(R"("name":"a","size":-1,"room":"r")") << ErrorCode::BadField;
    QTest::newRow("upload size beyond 2^53")
        << upload(R"("name":"a","size":18014398509481984,"room":"r")") << ErrorCode::BadField;
    QTest::newRow("upload without conversation") << upload(R"("name":"a","size":1)") << ErrorCode::BadField;
    QTest::newRow("thumbnail in a room")
        << upload(R"("name":"a","size":1,"room":"r","thumbnail":true)") << ErrorCode::BadField;
    QTest::newRow("upload name with a newline") << upload(R"("name":"a
b","size":1,"room":"r")") << ErrorCode::BadField;
    QTest::newRow("upload empty name") << upload(R"("name":"","size":1,"room":"r")") << ErrorCode::BadField;
    QTest::newRow("upload name of 256 characters")
        << upload(R"("name":")" + QByteArray(256, 'n') + R"(","size":1,"room":"r")") << ErrorCode::BadField;
    QTest::newRow("upload uppercase digest")
        << QByteArray(R"({"type":"upload_begin","client_id":"u","name":"a","size":1,"room":"r","sha256":")" +
                      QByteArray(64, 'A') + R"("})")
        << ErrorCode::BadField;
    QTest::newRow("upload bad mime") << upload(R"("name":"a","size":1,"room":"r","mime":"png")")
                                     << ErrorCode::BadField;
    QTest::newRow("upload image without height")
        << upload(R"("name":"a","size":1,"room":"r","image":{"width":10})") << ErrorCode::BadField;
    QTest::newRow("upload image too wide")
        << upload(R"("name":"a","size":1,"room":"r","image":{"width":70000,"height":1})")
        << ErrorCode::BadField;
    QTest::newRow("upload_done without id") << R"({"type":"upload_done"})"_ba << ErrorCode::BadField;
    QTest::newRow("download id 0") << R"({"type":"download","file_id":0})"_ba << ErrorCode::BadField;
    QTest::newRow("download negative offset")
        << R"({"type":"download","file_id":3,"offset":-5})"_ba << ErrorCode::BadField;
}

void TestCodec::invalidClientFrames()
{
    QFETCH(QByteArray, json);
    QFETCH(ErrorCode, code);
    const auto result = Codec::decodeClientFrame(json);
    QVERIFY(!result.isOk());
    QCOMPARE(result.error().code, code);
    QVERIFY(!result.error().message.isEmpty());
}

void TestCodec::clientFramesRoundTrip()
{
    const QList<Codec::ClientFrame> frames{
        Hello{User{u"Bob"_s, u"bob@example.org"_s}, 1, u"secret password"_s, {}, u"laptop"_s, {}},
        Hello{User{u"Bob"_s, u"bob@example.org"_s}, 1, {}, u"abc-_123"_s, {}, u"invite-code"_s},
        SignOut{},
        ChangePassword{u"old one"_s, u"new password"_s},
        CreateRoom{u"design"_s, true},
        CreateRoom{u"general"_s, false},
        InviteToRoom{u"design"_s, u"carol@example.org"_s},
        RemoveFromRoom{u"design"_s, u"carol@example.org"_s},
        JoinRoom{u"codeial"_s},
        LeaveRoom{u"codeial"_s},
        SendMessage{u"codeial"_s, {}, u"hello \"world\" ✓ 🎉"_s, u"c-17"_s},
        SendMessage{{}, u"carol@example.org"_s, u"hi"_s, {}},
        HistoryRequest{u"codeial"_s, {}, 42, std::nullopt, 10},
        HistoryRequest{{}, u"carol@example.org"_s, std::nullopt, 0, 50},
        TypingRequest{u"codeial"_s, true, {}},
        TypingRequest{{}, false, u"carol@example.org"_s},
        ListRooms{},
        ListRooms{u"dev"_s, 50, 20},
        ListPeople{u"carol jo"_s, 0, 200},
        ListPeople{{}, 0, 50, u"carol@x.org"_s},
        ListRooms{u"de"_s, 0, 20, u"design"_s},
        WatchPresence{{u"carol@example.org"_s, u"bob@example.org"_s}},
        WatchPresence{{}},
        SendMessage{u"codeial"_s, {}, u"@Carol yes"_s, u"c-18"_s, 1040, {u"carol@example.org"_s}},
        HistoryRequest{u"codeial"_s, {}, std::nullopt, std::nullopt, 50, 1007},
        EditMessage{1040, u"hello, world"_s, {}},
        EditMessage{1040, u"@Carol hello"_s, {u"carol@example.org"_s}},
        DeleteMessage{1041},
        React{1040, u"👍🏽"_s, true},
        React{1040, u"🇫🇷"_s, false},
        MarkRead{u"codeial"_s, {}, 1042},
        MarkRead{{}, u"carol@example.org"_s, 977},
        MuteRequest{u"codeial"_s, {}, true},
        MuteRequest{{}, u"carol@example.org"_s, false},
        ChangesRequest{u"codeial"_s, {}, 311, 100},
        ChangesRequest{{}, u"carol@example.org"_s, 0, 1},
        SearchRequest{u"budget \"next quarter\""_s, {}, {}, {}, {}, {}, 20, {}},
        SearchRequest{u"deploy*"_s,
                      u"codeial"_s,
                      {},
                      u"carol@example.org"_s,
                      QDateTime(QDate(2026, 12, 1), QTime(0, 0), Qt::UTC),
                      QDateTime(QDate(2026, 11, 1), QTime(0, 0), Qt::UTC),
                      50,
                      u"17.20"_s},
        UploadBegin{u"u-1"_s,
                    u"Q3 report (final).pdf"_s,
                    5'000'000'000,
                    QString(64, u'e'),
                    u"application/pdf"_s,
                    u"codeial"_s,
                    {},
                    u"the numbers"_s,
                    1040,
                    {},
                    false},
        UploadBegin{u"u-2"_s,
                    u"screenshot.png"_s,
                    482113,
                    QString(64, u'0'),
                    u"image/png"_s,
                    {},
                    u"carol@example.org"_s,
                    {},
                    0,
                    ImageInfo{1920, 1080, 17},
                    false},
        UploadBegin{
            u"u-3"_s, u"thumbnail.png"_s, 21877, QString(64, u'1'), u"image/png"_s, {}, {}, {}, 0, {}, true},
        UploadBegin{u"u-4"_s, u"empty"_s, 0, QString(64, u'2'), {}, u"codeial"_s, {}, {}, 0, {}, false},
        UploadDone{42},
        UploadCancel{42},
        DownloadRequest{17, 0},
        DownloadRequest{17, qint64(1) << 40},
        DownloadCancel{3},
    };
    for (const Codec::ClientFrame &frame : frames) {
        const QByteArray bytes = Codec::encodeClientFrame(frame);
        const auto decoded = Codec::decodeClientFrame(bytes);
        QVERIFY2(decoded.isOk(), bytes.constData());
        QCOMPARE(Codec::encodeClientFrame(decoded.value()), bytes);
    }
}

void TestCodec::serverFramesRoundTrip_data()
{
    QTest::addColumn<QByteArray>("bytes");
    Message message;
    message.id = 7;
    message.room = u"codeial"_s;
    message.from = User{u"Bob"_s, u"bob@example.org"_s};
    message.text = u"hello"_s;
    message.timestamp = QDateTime(QDate(2026, 11, 25), QTime(10, 15, 30, 123), Qt::UTC);
    message.clientId = u"c-1"_s;
    Message direct = message;
    direct.room.clear();
    direct.to = u"carol@example.org"_s;
    direct.clientId.clear();

    const User bob{u"Bob"_s, u"bob@example.org"_s};
    Message withFile = message;
    withFile.text.clear();
    withFile.attachment =
        Attachment{18, u"build.tar.gz"_s, 5'000'000'000, u"application/gzip"_s, QString(64, u'c'), {}};
    Message withImage = direct;
    withImage.attachment =
        Attachment{19, u"shot.png"_s, 482113, u"image/png"_s, QString(64, u'd'), ImageInfo{1920, 1080, 17}};
    Error uploadRefused{ErrorCode::ChecksumMismatch, u"nothing was kept"_s, u"upload_done"_s, u"u-1"_s, {}};
    uploadRefused.uploadId = 42;
    Message changed = message; // every later field at once
    changed.reply = ReplyPreview{5, User{u"Carol"_s, u"carol@x.org"_s}, u"lunch?"_s, false};
    changed.mentions = {u"carol@x.org"_s};
    changed.edited = message.timestamp.addSecs(30);
    changed.reactions = {Reaction{u"👍"_s, 2, {bob, User{u"Carol"_s, u"carol@x.org"_s}}, true},
                         Reaction{u"🎉"_s, 1, {bob}, false}};
    Message tombstone = message;
    tombstone.text.clear();
    tombstone.deleted = true;
    Message quotingDeleted = direct;
    quotingDeleted.reply = ReplyPreview{5, bob, {}, true};
    const QList<std::pair<const char *, Codec::ServerFrame>> frames{
        {"welcome", Welcome{bob, 1, u"natterd 0.1.0"_s, u"Alice's chat"_s, {4000, 65536, 200}, {}, {}}},
        {"welcome with token",
         Welcome{bob, 1, u"natterd 0.1.0"_s, u"Alice's chat"_s, {4000, 65536, 200}, u"tok"_s, {}}},
        {"welcome with an upload limit",
         Welcome{bob, 1, u"natterd 0.1.0"_s, u"Alice's chat"_s, {4000, 65536, 200, 2'147'483'648}, {}, {}}},
        {"welcome with server id", Welcome{bob,
                                           1,
                                           u"natterd 0.1.0"_s,
                                           u"Alice's chat"_s,
                                           {4000, 65536, 200},
                                           {},
                                           u"6f1c0d2e9a7b4c3d8e5f60718293a4b5"_s}},
        {"password_changed", PasswordChanged{}},
        {"user_joined", UserJoined{u"codeial"_s, bob}},
        {"user_left", UserLeft{u"codeial"_s, bob}},
        {"members", Members{u"codeial"_s, {bob, User{u"Carol"_s, u"carol@x.org"_s}}, false, {}}},
        {"members of a private room", Members{u"design"_s, {bob}, true, u"bob@example.org"_s}},
        {"room_invitation", RoomInvitation{u"design"_s, bob, {}}},
        {"room_invitation confirmed to the owner",
         RoomInvitation{u"design"_s, bob, User{u"Carol"_s, u"carol@x.org"_s}}},
        {"history room", History{u"codeial"_s, {}, {message}, true}},
        {"history direct", History{{}, u"carol@example.org"_s, {direct}, false}},
        {"receive room", ReceiveMessage{message}},
        {"receive direct", ReceiveMessage{direct}},
        {"typing", TypingNotice{u"codeial"_s, bob, false, {}}},
        {"typing in a direct conversation", TypingNotice{{}, bob, true, u"carol@example.org"_s}},
        {"room_list",
         RoomList{u"d"_s,
                  50,
                  {RoomSummary{u"design"_s, true, 3, message.timestamp}, RoomSummary{u"dev"_s, false, 0, {}}},
                  true}},
        {"empty room_list", RoomList{{}, 0, {}, false}},
        {"room_list by key", RoomList{{}, 0, {RoomSummary{u"dev"_s, false, 0, {}}}, true, u"dev"_s}},
        {"people by key", People{{}, 0, {Person{bob, true}}, true, bob.email}},
        {"people",
         People{u"b"_s, 0, {Person{bob, true}, Person{User{u"Bea"_s, u"bea@x.org"_s}, false}}, false}},
        {"presence", Presence{bob, true, true}},
        {"presence of an email without an account", Presence{User{{}, u"nobody@x.org"_s}, false, false}},
        {"error", Error{ErrorCode::RateLimited, u"slow down"_s, u"send_message"_s, u"c-1"_s, {}}},
        {"error naming a room", Error{ErrorCode::NotAMember, u"private"_s, u"join_room"_s, {}, u"design"_s}},
        {"welcome with conversations", Welcome{bob,
                                               1,
                                               u"natterd 0.1.0"_s,
                                               {},
                                               {4000, 65536, 200},
                                               {},
                                               {},
                                               {ConversationState{u"codeial"_s, {}, 1042, 3, false},
                                                ConversationState{{}, u"carol@x.org"_s, 977, 999, true}}}},
        {"receive a reply with mentions", ReceiveMessage{changed}},
        {"receive a reply to a deleted message", ReceiveMessage{quotingDeleted}},
        {"history around", History{u"codeial"_s, {}, {changed, tombstone}, true, true, 314}},
        {"message_edited", MessageChange{MessageChange::Kind::Edited, changed, 312, {}}},
        {"message_deleted", MessageChange{MessageChange::Kind::Deleted, tombstone, 313, bob}},
        {"reactions", MessageChange{MessageChange::Kind::Reactions, changed, 314, {}}},
        {"changes", Changes{u"codeial"_s, {}, {changed, tombstone}, 314, false}},
        {"changes direct", Changes{{}, u"carol@example.org"_s, {quotingDeleted}, 7, true}},
        {"read_marker", ReadMarker{ConversationState{u"codeial"_s, {}, 1042, 0, false}}},
        {"muted", Muted{{}, u"carol@example.org"_s, true}},
        {"search_results",
         SearchResults{u"budget"_s, {SearchHit{changed, u"…the budget for…"_s, {{5, 6}}}}, u"17.20"_s}},
        {"empty search_results", SearchResults{u"nothing"_s, {}, {}}},
        {"receive_message with a file", ReceiveMessage{withFile}},
        {"receive_message with an image", ReceiveMessage{withImage}},
        {"upload_ready", UploadReady{42, u"u-1"_s, 1048576, 65528}},
        {"upload_complete", UploadComplete{42, u"u-1"_s, 18}},
        {"upload_complete of an upload finished before", UploadComplete{0, u"u-1"_s, 18}},
        {"download_ready",
         DownloadReady{3, 18, 5'000'000'000, 4'294'967'296, QString(64, u'f'), u"video/mp4"_s}},
        {"download_done", DownloadDone{3}},
        {"error ending an upload", uploadRefused},
    };
    for (const auto &[name, frame] : frames)
        QTest::newRow(name) << Codec::encodeServerFrame(frame);
}

void TestCodec::serverFramesRoundTrip()
{
    QFETCH(QByteArray, bytes);
    const auto decoded = Codec::decodeServerFrame(bytes);
    QVERIFY2(decoded.isOk(), qPrintable(decoded.isOk() ? QString() : decoded.error().message));
    QCOMPARE(Codec::encodeServerFrame(decoded.value()), bytes);
}

void TestCodec::errorNamesAreStable()
{
    // These names are a public contract (docs/protocol.md): changing one breaks clients.
    QCOMPARE(errorCodeName(ErrorCode::BadJson), u"bad_json"_s);
    QCOMPARE(errorCodeName(ErrorCode::NotInRoom), u"not_in_room"_s);
    QCOMPARE(errorCodeName(ErrorCode::RateLimited), u"rate_limited"_s);
    QCOMPARE(errorCodeName(ErrorCode::InternalError), u"internal_error"_s);
    QCOMPARE(errorCodeName(ErrorCode::TooManyRooms), u"too_many_rooms"_s);
    for (int i = 0; i <= int(LastErrorCode); ++i)
        QCOMPARE(errorCodeFromName(errorCodeName(ErrorCode(i))), std::optional<ErrorCode>(ErrorCode(i)));
    QCOMPARE(errorCodeName(ErrorCode::ChecksumMismatch), u"checksum_mismatch"_s);
    QCOMPARE(errorCodeName(ErrorCode::BadThumbnail), u"bad_thumbnail"_s);
    QCOMPARE(errorCodeFromName(u"no_such_code"), std::nullopt);
}

void TestCodec::chunksCarryTheirTransferId()
{
    const QByteArray payload = Codec::encodeChunk(qint64(1) << 40, "data");
    QCOMPARE(payload.size(), ChunkHeaderBytes + 4);
    const auto chunk = Codec::decodeChunk(payload);
    QVERIFY(chunk);
    QCOMPARE(chunk->first, qint64(1) << 40);
    QCOMPARE(chunk->second, "data");
    QVERIFY(Codec::decodeChunk(Codec::encodeChunk(7, {})));
    QVERIFY(!Codec::decodeChunk("short"));
    QVERIFY(!Codec::decodeChunk(QByteArray(QByteArray(8, '\0') + "zero id")));
    QVERIFY(!Codec::decodeChunk(QByteArray(QByteArray(8, '\xff') + "beyond 2^53")));
}

void TestCodec::sendMessageFields()
{
    const auto result = Codec::decodeClientFrame(
        R"({"type":"send_message","to":"Carol@X.org","text":" hi ","client_id":"c-9"})"_ba);
    QVERIFY(result.isOk());
    const auto &send = std::get<SendMessage>(result.value());
    QVERIFY(send.isDirect());
    QCOMPARE(send.to, u"Carol@X.org"_s);
    QCOMPARE(send.text, u" hi "_s); // text is kept as written
    QCOMPARE(send.clientId, u"c-9"_s);

    // An error after client_id was read names it, so the client can mark that message failed.
    const auto bad =
        Codec::decodeClientFrame(R"({"type":"send_message","room":"a","text":"","client_id":"c-3"})"_ba);
    QVERIFY(!bad.isOk());
    QCOMPARE(bad.error().clientId, u"c-3"_s);
    QCOMPARE(bad.error().request, u"send_message"_s);
}

void TestCodec::historyFields()
{
    const auto latest = Codec::decodeClientFrame(R"({"type":"history","room":"a"})"_ba);
    QVERIFY(latest.isOk());
    const auto &request = std::get<HistoryRequest>(latest.value());
    QCOMPARE(request.limit, DefaultHistoryLimit);
    QVERIFY(!request.before && !request.after);

    const auto after = Codec::decodeClientFrame(R"({"type":"history","room":"a","after":0,"limit":200})"_ba);
    QVERIFY(after.isOk());
    QCOMPARE(std::get<HistoryRequest>(after.value()).after, std::optional<qint64>(0));
    QCOMPARE(std::get<HistoryRequest>(after.value()).limit, 200);
}

void TestCodec::receiveMessageWireShape()
{
    Message message;
    message.id = 12;
    message.to = u"carol@x.org"_s;
    message.from = User{u"Bob"_s, u"bob@x.org"_s};
    message.text = u"hi"_s;
    message.timestamp = QDateTime(QDate(2026, 1, 2), QTime(3, 4, 5, 6), Qt::UTC);
    const QJsonObject object =
        QJsonDocument::fromJson(Codec::encodeServerFrame(ReceiveMessage{message})).object();
    QCOMPARE(object.value(u"type"_s).toString(), u"receive_message"_s);
    QCOMPARE(object.value(u"id"_s).toInteger(), 12);
    QCOMPARE(object.value(u"to"_s).toString(), u"carol@x.org"_s);
    QVERIFY(!object.contains(u"room"_s));
    QVERIFY(!object.contains(u"client_id"_s));
    QCOMPARE(object.value(u"ts"_s).toString(), u"2026-01-02T03:04:05.006Z"_s);
    QCOMPARE(object.value(u"from"_s).toObject().value(u"email"_s).toString(), u"bob@x.org"_s);
}

void TestCodec::receiveMessageFastPathMatchesQJsonDocument_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("room");
    QTest::addColumn<QString>("clientId");
    QTest::addColumn<qint64>("msecs");
    QTest::newRow("plain") << u"hello"_s << u"codeial"_s << u"c-1"_s << qint64(1'764'000'000'123);
    QTest::newRow("quotes and backslashes") << uR"(say "hi" \ C:\path)"_s << u"a"_s << QString() << qint64(0);
    QTest::newRow("control characters")
        << u"line\nnext\ttab\r\u0001\u001f\b\f"_s << u"a"_s << u"x"_s << qint64(86'399'999);
    QTest::newRow("unicode and emoji")
        << u"Grüße 你好 🎉 \u2028"_s << u"a"_s << QString() << qint64(951'782'400'000);
    QTest::newRow("direct message") << u"psst"_s << QString() << u"d-9"_s << qint64(4'102'444'799'999);
    QTest::newRow("before 1970") << u"old"_s << u"a"_s << QString() << qint64(-1);
}

void TestCodec::receiveMessageFastPathMatchesQJsonDocument()
{
    QFETCH(QString, text);
    QFETCH(QString, room);
    QFETCH(QString, clientId);
    QFETCH(qint64, msecs);
    Message message;
    message.id = 9'007'199'254'740'991; // the largest id a JSON number holds exactly
    message.room = room;
    message.to = room.isEmpty() ? u"carol@x.org"_s : QString();
    message.from = User{u"Bob \"the\" builder"_s, u"bob@x.org"_s};
    message.text = text;
    message.timestamp = QDateTime::fromMSecsSinceEpoch(msecs, Qt::UTC);
    message.clientId = clientId;
    const QByteArray generic = QJsonDocument(Codec::toJson(Codec::ServerFrame(ReceiveMessage{message})))
                                   .toJson(QJsonDocument::Compact);
    QCOMPARE(Codec::encodeServerFrame(ReceiveMessage{message}), generic);
}

void TestCodec::roomFramesFastPathMatchQJsonDocument_data()
{
    QTest::addColumn<QString>("room");
    QTest::addColumn<QList<User>>("users");
    QTest::addColumn<QString>("owner");
    const User bob{u"Bob \"the\" builder"_s, u"bob@x.org"_s};
    const User grusse{u"Grüße 你好 🎉\n\u0001\\"_s, u"g@x.org"_s};
    QTest::newRow("public") << u"codeial"_s << QList<User>{bob, grusse} << QString();
    QTest::newRow("private") << u"war room"_s << QList<User>{grusse} << u"owner@x.org"_s;
    QTest::newRow("nobody") << u"a"_s << QList<User>{} << QString();
    QTest::newRow("unnamed") << u"a"_s << QList<User>{User{QString(), u"x@x.org"_s}} << QString();
}

void TestCodec::roomFramesFastPathMatchQJsonDocument()
{
    QFETCH(QString, room);
    QFETCH(QList<User>, users);
    QFETCH(QString, owner);
    const auto generic = [](const Codec::ServerFrame &frame) {
        return QJsonDocument(Codec::toJson(frame)).toJson(QJsonDocument::Compact);
    };
    const Codec::ServerFrame members = Members{room, users, !owner.isEmpty(), owner};
    QCOMPARE(Codec::encodeServerFrame(members), generic(members));
    for (const User &user : users) {
        const Codec::ServerFrame joined = UserJoined{room, user};
        const Codec::ServerFrame left = UserLeft{room, user};
        QCOMPARE(Codec::encodeServerFrame(joined), generic(joined));
        QCOMPARE(Codec::encodeServerFrame(left), generic(left));
    }
}

void TestCodec::hotClientFramesReadAsTheGeneralParserReadsThem_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<bool>("hot"); // read by the hot path, not left to the general parser
    // What the app sends, read hot:
    QTest::newRow("to a room")
        << QByteArray(R"({"type":"send_message","room":"codeial","text":"hi","client_id":"c-1"})") << true;
    QTest::newRow("direct") << QByteArray(R"({"type":"send_message","to":"bob@x.org","text":"hi"})") << true;
    QTest::newRow("a reply") << QByteArray(R"({"type":"send_message","room":"a","text":"yes","reply_to":42})")
                             << true;
    QTest::newRow("spaces everywhere")
        << QByteArray(" {\t\"type\" : \"send_message\" ,\r\n \"room\":\"a\" , \"text\" : \"x\" }\n ") << true;
    QTest::newRow("escapes")
        << QByteArray(
               R"({"type":"send_message","room":"a","text":"\"q\" \\ \/ \b\f\n\r\t \u00e9\u20ac\u0000"})")
        << true;
    QTest::newRow("UTF-8 as it is")
        << QByteArray(
               "{\"type\":\"send_message\",\"room\":\"a\",\"text\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}")
        << true;
    QTest::newRow("noncharacters")
        << QByteArray("{\"type\":\"send_message\",\"room\":\"a\",\"text\":\"\xef\xbf\xbf\xef\xb7\x90\"}")
        << true;
    QTest::newRow("typing") << QByteArray(R"({"type":"typing","room":"codeial","active":true})") << true;
    QTest::newRow("typing stops") << QByteArray(R"({"type":"typing","to":"bob@x.org","active":false})")
                                  << true;
    // Left to the general parser (which reads or refuses them):
    QTest::newRow("a surrogate pair")
        << QByteArray(R"({"type":"send_message","room":"a","text":"\ud83d\ude00"})") << false;
    QTest::newRow("a lone surrogate")
        << QByteArray(R"({"type":"send_message","room":"a","text":"\udc00"})") << false;
    QTest::newRow("mentions")
        << QByteArray(R"({"type":"send_message","room":"a","text":"hi @b","mentions":["b@x.org"]})") << false;
    QTest::newRow("an unknown key") << QByteArray(R"({"type":"send_message","room":"a","text":"x","v":1})")
                                    << false;
    QTest::newRow("a repeated key") << QByteArray(
                                           R"({"type":"send_message","room":"a","text":"x","text":"y"})")
                                    << false;
    QTest::newRow("both room and to")
        << QByteArray(R"({"type":"send_message","room":"a","to":"b@x.org","text":"x"})") << false;
    QTest::newRow("a bad room") << QByteArray(R"({"type":"send_message","room":"A B","text":"x"})") << false;
    QTest::newRow("blank text") << QByteArray(R"({"type":"send_message","room":"a","text":"  "})") << false;
    QTest::newRow("reply_to 0") << QByteArray(R"({"type":"send_message","room":"a","text":"x","reply_to":0})")
                                << false;
    QTest::newRow("reply_to 1.0") << QByteArray(
                                         R"({"type":"send_message","room":"a","text":"x","reply_to":1.0})")
                                  << false;
    QTest::newRow("reply_to 1e3") << QByteArray(
                                         R"({"type":"send_message","room":"a","text":"x","reply_to":1e3})")
                                  << false;
    QTest::newRow("reply_to 007") << QByteArray(
                                         R"({"type":"send_message","room":"a","text":"x","reply_to":007})")
                                  << false;
    QTest::newRow("reply_to of 16 digits")
        << QByteArray(R"({"type":"send_message","room":"a","text":"x","reply_to":1234567890123456})")
        << false;
    QTest::newRow("a raw tab in a string")
        << QByteArray("{\"type\":\"send_message\",\"room\":\"a\",\"text\":\"a\tb\"}") << false;
    QTest::newRow("garbage after") << QByteArray(R"({"type":"send_message","room":"a","text":"x"}x)")
                                   << false;
    QTest::newRow("two objects") << QByteArray(R"({"type":"send_message","room":"a","text":"x"}{})") << false;
    QTest::newRow("not UTF-8") << QByteArray("{\"type\":\"send_message\",\"room\":\"a\",\"text\":\"\xff\"}")
                               << false;
    QTest::newRow("cut short") << QByteArray(R"({"type":"send_message","room":"a","text":"x)") << false;
    QTest::newRow("an escaped key") << QByteArray(R"({"typ\u0065":"send_message","room":"a","text":"x"})")
                                    << false;
    QTest::newRow("typing, active as a string")
        << QByteArray(R"({"type":"typing","room":"a","active":"yes"})") << false;
    QTest::newRow("typing, active null")
        << QByteArray(R"({"type":"typing","room":"a","active":null})") << false;
    QTest::newRow("the type inside the text")
        << QByteArray(R"({"type":"join_room","room":"a","x":"\"send_message\""})") << false;
    QTest::newRow("another type") << QByteArray(R"({"type":"join_room","room":"a"})") << false;
}

void TestCodec::hotClientFramesReadAsTheGeneralParserReadsThem()
{
    QFETCH(QByteArray, frame);
    QFETCH(bool, hot);
    const std::optional<Codec::ClientFrame> fast = Codec::decodeHotClientFrame(frame);
    const Codec::Result<Codec::ClientFrame> general = Codec::decodeClientFrameGeneral(frame);
    QCOMPARE(fast.has_value(), hot);
    if (fast) {
        QVERIFY2(general.isOk(), qPrintable(general.isOk() ? QString() : general.error().message));
        QCOMPARE(Codec::encodeClientFrame(*fast), Codec::encodeClientFrame(general.value()));
    }
    // decodeClientFrame() answers as the general parser does, hot or not.
    const Codec::Result<Codec::ClientFrame> either = Codec::decodeClientFrame(frame);
    QCOMPARE(either.isOk(), general.isOk());
    if (either.isOk())
        QCOMPARE(Codec::encodeClientFrame(either.value()), Codec::encodeClientFrame(general.value()));
    else
        QCOMPARE(either.error().code, general.error().code);
}

QTEST_GUILESS_MAIN(TestCodec)
#include "tst_codec.moc"
