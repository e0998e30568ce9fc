// storebench: the SQLite store on its own. Fills a fresh database with a
// million messages in server-sized batches (stored messages per second), then
// times the three history reads the server makes: latest page, page before an
// id, page after an id, and searches of one and of two words (what a search
// request costs the server: ranking, then a page of 20 with snippets). Prints
// one JSON line. Bounded: at most 5 M messages.
//
//   --messages N           how many (default 1,000,000)
//   --batch N              messages per transaction (default 100)
//   --no-search            skip the searches
//
// The cost of the search index: run this file at the commit before it
// (2696937, where "--no-search" must be given) and at this one.
//
// Texts are 6-14 words drawn from a vocabulary of 20,000 made-up words with a
// Zipf distribution, as words are in real chat; queries pick common, middling
// and rare words alike.

#include "server/sqlmessagestore.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTemporaryDir>

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace Natter;
using namespace Qt::StringLiterals;

namespace {

double medianMicros(QList<qint64> nanos)
{
    std::sort(nanos.begin(), nanos.end());
    return nanos.isEmpty() ? 0 : double(nanos.at(nanos.size() / 2)) / 1000.0;
}

double percentileMillis(QList<qint64> nanos, double fraction)
{
    std::sort(nanos.begin(), nanos.end());
    return nanos.isEmpty() ? 0 : double(nanos.at(qsizetype(double(nanos.size() - 1) * fraction))) / 1e6;
}

/// Made-up words of two to four syllables: searchable like real ones.
QStringList vocabulary(int size)
{
    static const QStringList syllables{u"ka"_s,  u"lo"_s,  u"mi"_s,  u"ne"_s,  u"pu"_s,  u"ra"_s,  u"si"_s,
                                       u"to"_s,  u"vu"_s,  u"ze"_s,  u"bar"_s, u"den"_s, u"fil"_s, u"gor"_s,
                                       u"hut"_s, u"jas"_s, u"kem"_s, u"lin"_s, u"mos"_s, u"nar"_s};
    QStringList words;
    QRandomGenerator random(42);
    QSet<QString> seen;
    while (words.size() < size) {
        QString word;
        const int count = 2 + int(random.bounded(3));
        for (int i = 0; i < count; ++i)
            word += syllables.at(int(random.bounded(int(syllables.size()))));
        if (!seen.contains(word)) {
            seen.insert(word);
            words.append(word);
        }
    }
    return words;
}

/// A word index with a Zipf distribution (rank r has weight 1/r).
class Zipf
{
public:
    explicit Zipf(int size)
    {
        double sum = 0;
        for (int rank = 1; rank <= size; ++rank)
            m_cumulative.append(sum += 1.0 / rank);
    }
    int next(QRandomGenerator *random) const
    {
        const double at = random->generateDouble() * m_cumulative.constLast();
        return int(std::lower_bound(m_cumulative.cbegin(), m_cumulative.cend(), at) - m_cumulative.cbegin());
    }

private:
    QList<double> m_cumulative;
};

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    qint64 total = 1'000'000;
    int batch = 100;
    // Before the search index (schema 5) there is nothing to search.
    const bool searchIndex = !args.contains(u"--no-search"_s);
    for (qsizetype i = 1; i + 1 < args.size(); ++i) {
        if (args.at(i) == u"--messages"_s)
            total = std::clamp<qint64>(args.at(i + 1).toLongLong(), 1000, 5'000'000);
        else if (args.at(i) == u"--batch"_s)
            batch = std::clamp(args.at(i + 1).toInt(), 1, 10'000);
    }
    constexpr int Rooms = 100;

    QTemporaryDir dir;
    SqlMessageStore store(dir.filePath(u"store.db"_s));
    if (!store.open()) {
        std::fprintf(stderr, "storebench: %s\n", qPrintable(store.errorString()));
        return 1;
    }

    constexpr int Words = 20'000;
    const QStringList words = vocabulary(Words);
    const Zipf zipf(Words);
    QRandomGenerator textRandom(7);
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
            const int length = 6 + int(textRandom.bounded(9));
            QStringList sentence;
            for (int w = 0; w < length; ++w)
                sentence.append(words.at(zipf.next(&textRandom)));
            message.text = sentence.join(u' ');
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

    // Searches as a user in every room makes them: rank, then the first page.
    QList<qint64> oneWord, twoWords;
    qint64 hits = 0;
    if (searchIndex) {
        SearchQuery query;
        query.reader = u"sender1@bench"_s;
        for (int room = 0; room < Rooms; ++room)
            query.rooms.append(u"room-%1"_s.arg(room));
        QRandomGenerator queryRandom(11);
        for (int i = 0; i < 400; ++i) {
            // Words of every frequency: rank 1 to 20,000, evenly on a log scale.
            auto pick = [&] {
                return words.at(
                    std::min(Words - 1, int(std::pow(double(Words), queryRandom.generateDouble()))));
            };
            query.terms = {SearchSyntax::Term{pick(), false, false}};
            if (i % 2 == 1)
                query.terms.append(SearchSyntax::Term{pick(), false, false});
            timer.start();
            const auto ids = store.search(query);
            const auto page =
                ids ? store.searchHits(query, ids->mid(0, Protocol::DefaultSearchLimit)) : std::nullopt;
            (i % 2 == 1 ? twoWords : oneWord).append(timer.nsecsElapsed());
            if (!page)
                return 1;
            hits += ids->size();
        }
    }

    std::printf("{\"messages\":%lld,\"batch\":%d,\"search_index\":%s,\"stored_per_s\":%.0f,"
                "\"latest_50_us\":%.1f,\"before_id_50_us\":%.1f,\"after_id_50_us\":%.1f,"
                "\"search_1_word_p50_ms\":%.2f,\"search_1_word_p95_ms\":%.2f,"
                "\"search_2_words_p50_ms\":%.2f,\"search_2_words_p95_ms\":%.2f,\"search_hits_mean\":%.0f}\n",
                static_cast<long long>(stored), batch, searchIndex ? "true" : "false",
                double(stored) / insertSeconds, medianMicros(latest), medianMicros(before),
                medianMicros(after), percentileMillis(oneWord, 0.5), percentileMillis(oneWord, 0.95),
                percentileMillis(twoWords, 0.5), percentileMillis(twoWords, 0.95),
                searchIndex ? double(hits) / 400 : 0.0);
    return 0;
}
