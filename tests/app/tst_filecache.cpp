// FileCache: where the desktop app keeps other people's files.
#include "app/filecache.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

using namespace Natter;
using namespace Qt::StringLiterals;

class TestFileCache final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void hostileNamesStayInside_data();
    void hostileNamesStayInside();
    void foldersAreTheUsersOnly();
    void trimmingDropsTheLeastRecentlyUsedFirst();
    void programsAreToldApart();

private:
    static bool write(const QString &path, qint64 size, const QDateTime &used);
};

bool TestFileCache::write(const QString &path, qint64 size, const QDateTime &used)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(QByteArray(size, 'x')) != size || !file.flush())
        return false; // flushed first: a write after setting the times would set them to now
    file.setFileTime(used, QFileDevice::FileModificationTime);
    file.setFileTime(used, QFileDevice::FileAccessTime);
    return true;
}

void TestFileCache::hostileNamesStayInside_data()
{
    QTest::addColumn<QString>("name");
    QTest::newRow("parent folders") << u"../../../.bashrc"_s;
    QTest::newRow("absolute") << u"/etc/passwd"_s;
    QTest::newRow("backslashes") << u"..\\..\\boot.ini"_s;
    QTest::newRow("dots only") << u".."_s;
    QTest::newRow("control characters") << u"a\nb\tc\x01.txt"_s;
    QTest::newRow("reserved on Windows") << u"CON.txt"_s;
    QTest::newRow("empty") << QString();
}

void TestFileCache::hostileNamesStayInside()
{
    QFETCH(QString, name);
    QTemporaryDir dir;
    const FileCache cache(dir.filePath(u"cache"_s));
    const QString path = cache.pathFor(Attachment{42, name, 3, u"text/plain"_s, QString(64, u'a'), {}});
    const QString folder = QDir::cleanPath(cache.folder() + u"/files/42"_s);
    QCOMPARE(QFileInfo(QDir::cleanPath(path)).absolutePath(), folder);
    const QString file = QFileInfo(path).fileName();
    QVERIFY2(!file.isEmpty() && file != u"."_s && file != u".."_s, qPrintable(file));
    for (const QChar c : file)
        QVERIFY2(c.unicode() >= 0x20 && c != u'/' && c != u'\\', qPrintable(file));
    QVERIFY(cache.prepare(path));
    QVERIFY(write(path, 3, QDateTime::currentDateTime()));
    QCOMPARE(cache.existing(Attachment{42, name, 3, {}, {}, {}}), path);
    QVERIFY(cache.existing(Attachment{42, name, 4, {}, {}, {}}).isEmpty()); // not whole: not there
}

void TestFileCache::foldersAreTheUsersOnly()
{
    QTemporaryDir dir;
    const FileCache cache(dir.filePath(u"a/b/cache"_s));
    const QString path = cache.thumbnailPath(7);
    QVERIFY(cache.prepare(path));
    constexpr auto Private = QFileDevice::ReadUser | QFileDevice::WriteUser | QFileDevice::ExeUser;
    QCOMPARE(QFile::permissions(cache.folder()) & 0x0777, Private);
    QCOMPARE(QFile::permissions(QFileInfo(path).absolutePath()) & 0x0777, Private);
    QVERIFY(!cache.prepare(dir.filePath(u"elsewhere/x"_s))); // nothing outside the cache
    QVERIFY(!FileCache().prepare(path));
}

void TestFileCache::trimmingDropsTheLeastRecentlyUsedFirst()
{
    QTemporaryDir dir;
    const FileCache cache(dir.filePath(u"cache"_s), 300); // the part file counts: it is on the disk too
    const QDateTime now = QDateTime::currentDateTime();
    const auto file = [&cache](qint64 id) {
        return cache.pathFor(Attachment{id, u"f%1.bin"_s.arg(id), 100, {}, {}, {}});
    };
    for (qint64 id = 1; id <= 4; ++id) {
        QVERIFY(cache.prepare(file(id)));
        QVERIFY(write(file(id), 100, now.addSecs(-3600 + id * 60))); // 1 is the oldest
    }
    QVERIFY(write(file(1) + u".part"_s, 100, now.addSecs(-7200))); // a download under way
    QCOMPARE(cache.size(), 500);
    // 4 was just downloaded (kept whatever its age); 2 was opened a moment ago.
    QVERIFY(write(file(2), 100, now));
    QCOMPARE(cache.trim(file(4)), 200);
    QVERIFY(!QFileInfo::exists(file(1)));
    QVERIFY(!QFileInfo::exists(file(3)));
    QVERIFY(QFileInfo::exists(file(2)));
    QVERIFY(QFileInfo::exists(file(4)));
    QVERIFY(QFileInfo::exists(file(1) + u".part"_s));
    QCOMPARE(cache.trim(), 0); // within the limit now
}

void TestFileCache::programsAreToldApart()
{
    QTemporaryDir dir;
    const auto file = [&dir](const QString &name, const QByteArray &content) {
        QFile out(dir.filePath(name));
        out.open(QIODevice::WriteOnly);
        out.write(content);
        return out.fileName();
    };
    QVERIFY(FileCache::isRunnable(file(u"install.sh"_s, "#!/bin/sh\necho hi\n")));
    QVERIFY(FileCache::isRunnable(file(u"no-extension"_s, "#!/bin/sh\nrm -rf ~\n"))); // by its content
    QVERIFY(FileCache::isRunnable(file(u"app.desktop"_s, "[Desktop Entry]\nType=Application\nExec=sh\n")));
    QVERIFY(FileCache::isRunnable(file(u"tool"_s, QByteArray("\x7f"
                                                             "ELF\x02\x01\x01",
                                                             7) +
                                                      QByteArray(60, '\0'))));
    QVERIFY(!FileCache::isRunnable(file(u"notes.txt"_s, "just words\n")));
    QVERIFY(!FileCache::isRunnable(file(u"report.pdf"_s, "%PDF-1.7\n")));
    QVERIFY(!FileCache::isRunnable(file(u"photo.png"_s, "\x89PNG\r\n\x1a\n")));
}

QTEST_GUILESS_MAIN(TestFileCache)
#include "tst_filecache.moc"
