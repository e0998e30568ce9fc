// storebench: the SQLite store on its own. Fills a fresh database with a
// million messages in server-sized batches (stored messages per second), then
// times the three history reads the server makes: latest page, page before an
// id, page after an id. Prints one JSON line. Bounded: at most 5 M messages.

#include "server/sqlitemessagestore.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

double medianMicros(QList<qint64> nanos)
{
    std::sort(nanos.begin(), nanos.end());
    return nanos.isEmpty() ? 0 : double(nanos.at(nanos.size() / 2)) / 1000.0;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    qint64 total = 1'000'000;
    int batch = 100;
    for (qsizetype i = 1; i + 1 < args.size(); i += 2) {
        if (args.at(i) == u"--messages"_s)
            total = std::clamp<qint64>(args.at(i + 1).toLongLong(), 1000, 5'000'000);
        else if (args.at(i) == u"--batch"_s)
            batch = std::clamp(args.at(i + 1).toInt(), 1, 10'000);
    }
    constexpr int Rooms = 100;

    QTemporaryDir dir;
    SqliteMessageStore store(dir.filePath(u"store.db"_s));
    if (!store.open()) {
        std::fprintf(stderr, "storebench: %s\n", qPrintable(store.errorString()));
        return 1;
    }

    const QString text(64, u'x');
    QElapsedTimer clock;
    clock.start();
    qint64 stored = 0;
    while (stored < total) {
        QList<MessageDraft> drafts;
        drafts.reserve(batch);
        for (int i = 0; i < batch && stored + i < total; ++i) {
            Message message;
            message.room = u"room-%1"_s.arg((stored + i) % Rooms);
            message.from = User{u"Sender"_s, u"sender%1@bench"_s.arg((stored + i) % 1000)};
            message.text = text;
            message.clientId = u"c-%1"_s.arg(stored + i);
            drafts.append(MessageDraft{message, false});
        }
        if (!store.append(drafts)) {
            std::fprintf(stderr, "storebench: %s\n", qPrintable(store.errorString()));
            return 1;
        }
        stored += drafts.size();
    }
    const double insertSeconds = double(clock.nsecsElapsed()) / 1e9;

    QList<qint64> latest, before, after;
    QElapsedTimer timer;
    auto *random = QRandomGenerator::global();
    for (int i = 0; i < 2000; ++i) {
        HistoryQuery query;
        query.room = u"room-%1"_s.arg(random->bounded(Rooms));
        query.limit = 50;
        timer.start();
        const auto page = store.history(query);
        latest.append(timer.nsecsElapsed());
        if (!page || page->messages.size() != 50)
            return 1;

        query.before = 1 + random->bounded(store.lastId());
        timer.start();
        store.history(query);
        before.append(timer.nsecsElapsed());

        query.before.reset();
        query.after = random->bounded(store.lastId());
        timer.start();
        store.history(query);
        after.append(timer.nsecsElapsed());
    }

    std::printf("{\"messages\":%lld,\"batch\":%d,\"stored_per_s\":%.0f,\"latest_50_us\":%.1f,"
                "\"before_id_50_us\":%.1f,\"after_id_50_us\":%.1f}\n",
                static_cast<long long>(stored), batch, double(stored) / insertSeconds, medianMicros(latest),
                medianMicros(before), medianMicros(after));
    return 0;
}
