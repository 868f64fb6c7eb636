// Keyword index benchmark: size against the compressed passages, build time, and BM25 scoring time per query.
//
//   keyword_bench PASSAGES.jsonl|INDEX.leann [--limit N] [--queries N] [--seed S] [--level ZSTD (19)] [--keep FILE]
//                 [--rare-df N (16)] [--bucket-terms N (256)]
//
// PASSAGES.jsonl: one JSON object per line with a "text" field (bench/make_wordnet.py writes one) and optionally a
// "metadata" object (`{"type": "code"}` keeps a chunk's terms exact, as an index does; otherwise prose), or an index
// file, whose passages (id, text, metadata) are taken as they are. The passages
// go through the real passage store writer and the keyword segment builder into a temporary index file; the
// sections' sizes are read back from it. Queries are 1-3 words drawn from random passages (seeded), parsed as a search parses them. Scoring time
// is score() (decode postings, resolve rare terms from their buckets' passages, BM25 over the live nodes) plus the
// top-10 selection, per query. --keep FILE writes the index file there (for inspection) instead of a temporary one.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "keyword/keyword_index.h"
#include "leann/index.h"
#include "keyword/keyword_tokenizer.h"
#include "store/index_file.h"
#include "store/passage_store.h"

using namespace leann;
using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: keyword_bench PASSAGES.jsonl [--limit N] [--queries N] [--seed S] [--level ZSTD] [--keep FILE]\n");
        return 2;
    }
    size_t limit = SIZE_MAX, queries = 300;
    int level = keyword::SegmentBuilder::kZstdLevel;
    unsigned seed = 42;
    std::string keep;
    uint32_t rare_df = keyword::kRareDf;
    double bucket_terms = keyword::kBucketTerms;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--limit") limit = std::stoul(argv[i + 1]);
        else if (a == "--queries") queries = std::stoul(argv[i + 1]);
        else if (a == "--seed") seed = unsigned(std::stoul(argv[i + 1]));
        else if (a == "--level") level = std::stoi(argv[i + 1]);
        else if (a == "--keep") keep = argv[i + 1];
        else if (a == "--rare-df") rare_df = uint32_t(std::stoul(argv[i + 1]));
        else if (a == "--bucket-terms") bucket_terms = std::stod(argv[i + 1]);
    }
    std::vector<std::string> texts, metas, ids;
    const std::string input = argv[1];
    if (input.size() > 6 && input.ends_with(".leann")) {
        const Index source = Index::open(input);
        for (uint32_t v = 0; v < source.size() && texts.size() < limit; ++v) {
            if (!source.live(v)) continue;
            Document d = source.document(v);
            ids.push_back(std::move(d.id));
            texts.push_back(std::move(d.text));
            metas.push_back(std::move(d.metadata));
        }
    }
    std::ifstream in(input.ends_with(".leann") ? std::string() : input);
    for (std::string line; texts.size() < limit && std::getline(in, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) continue;
        texts.push_back(j["text"]);
        ids.push_back(std::to_string(ids.size()));
        metas.push_back(j.contains("metadata") && j["metadata"].is_object() ? j["metadata"].dump() : "{}");
    }
    if (texts.empty()) {
        std::fprintf(stderr, "no passages read\n");
        return 1;
    }
    const auto path = !keep.empty() ? std::filesystem::path(keep)
                                    : std::filesystem::temp_directory_path() /
                                          ("keyword_bench_" + std::to_string(::getpid()) + ".leann");
    auto t = Clock::now();
    keyword::SegmentBuilder builder(0);
    store::PassageStoreWriter passages;
    uint64_t raw = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
        builder.add_passage(texts[i], metas[i]);
        passages.add(ids[i], texts[i], metas[i]);
        raw += texts[i].size();
    }
    const double tokenize_s = seconds_since(t);
    t = Clock::now();
    const std::vector<std::byte> segment = builder.encode(level, rare_df, bucket_terms);
    const double encode_s = seconds_since(t);
    {
        store::IndexFileWriter out(path);
        out.add_section(keyword::kKeywordSection, segment);
        passages.write(out);
        out.commit();
    }
    const store::IndexFile file = store::IndexFile::open(path);
    uint64_t psgd = 0, kwix = 0;
    for (const auto& s : file.sections()) {
        if (s.tag == store::kPassageData) psgd += s.size;
        if (s.tag == keyword::kKeywordSection) kwix += s.size;
    }
    const uint32_t n = uint32_t(texts.size());
    std::vector<uint8_t> deleted((n + 7) / 8, 0);
    t = Clock::now();
    const store::PassageStore store(file, n);
    const keyword::KeywordIndex index = keyword::KeywordIndex::load(file.segments(keyword::kKeywordSection), n, deleted,
                                                                    path.string(), keyword::passage_reader(store));
    const double load_s = seconds_since(t);

    std::mt19937 rng(seed);
    std::vector<std::vector<std::string>> query_terms;
    while (query_terms.size() < queries) {
        const auto words = keyword::words(texts[rng() % texts.size()]);
        if (words.empty()) continue;
        std::string text;
        const size_t len = 1 + rng() % 3;
        for (size_t i = 0; i < len; ++i) text += words[rng() % words.size()] + " ";
        // As a search parses it: each plain word exactly and by its stem.
        keyword::KeywordQuery q = keyword::parse_query(text);
        if (q.empty()) continue;
        query_terms.push_back(std::move(q.terms));
    }
    std::vector<double> ms;
    size_t postings = 0, matches = 0, read = 0;
    for (const auto& q : query_terms) {
        t = Clock::now();
        keyword::KeywordStats st;
        auto s = index.score(q, {}, &st);
        std::vector<std::pair<float, uint32_t>> best;
        for (uint32_t v : s.matches) best.push_back({-s.score[v], v});
        const size_t k = std::min<size_t>(10, best.size());
        std::partial_sort(best.begin(), best.begin() + std::ptrdiff_t(k), best.end());
        ms.push_back(seconds_since(t) * 1000);
        postings += st.postings;
        matches += st.matches;
        read += st.passages_read;
    }
    std::sort(ms.begin(), ms.end());
    double mean = 0;
    for (double m : ms) mean += m;
    mean /= double(ms.size());
    std::printf("passages %u, raw text %.1f MB, compressed passages (PSGD) %.1f MB = %.1f B/chunk\n", n, raw / 1e6,
                psgd / 1e6, double(psgd) / n);
    std::printf("keyword index (KWIX) %.2f MB = %.1f B/chunk = %.1f%% of PSGD (%.1f%% of raw text)\n", kwix / 1e6,
                double(kwix) / n, 100.0 * double(kwix) / double(psgd), 100.0 * double(kwix) / double(raw));
    std::printf("build: tokenize %.2f s, encode %.2f s; load %.3f s; average length %.1f terms\n", tokenize_s,
                encode_s, load_s, index.average_length());
    std::printf("scoring %zu queries: mean %.3f ms, p50 %.3f ms, p95 %.3f ms, max %.3f ms; %.0f postings and %.0f "
                "matches per query, %.1f passages read (rare terms)\n",
                ms.size(), mean, ms[ms.size() / 2], ms[ms.size() * 95 / 100], ms.back(),
                double(postings) / double(ms.size()), double(matches) / double(ms.size()), double(read) / double(ms.size()));
    if (keep.empty()) std::filesystem::remove(path);
    return 0;
}
