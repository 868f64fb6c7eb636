// The keyword room and search modes: the tokenizer (prose and code), BM25 against a hand computation, phrases,
// keyword and hybrid search on built indexes, updates (insert, delete, compact) keeping the keyword index current,
// a corrupt KWIX section named on open, and version-2 files (no keyword index) still opening.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <zstd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <set>
#include <thread>

#include "keyword/keyword_index.h"
#include "keyword/keyword_tokenizer.h"
#include "leann/encoder.h"
#include "leann/index.h"
#include "leann/writer.h"
#include "cli_runner.h"
#include "store/index_file.h"
#include "tiny_model.h"
#if __has_include("http_params.h")
#include "http_api.h"
#include "http_params.h"
#define LEANN_TEST_HTTP_PARAMS 1
#include "test_mcp_support.h"
#endif

namespace leann {
namespace {

namespace fs = std::filesystem;
using keyword::index_terms;
using Terms = std::vector<std::string>;

fs::path tiny_model_dir() {
    return fs::path(LEANN_TEST_DATA_DIR) / "golden" / "embeddings" / "tiny_models" / "tiny-cls-norm";
}

std::shared_ptr<Encoder> tiny() { return std::shared_ptr<Encoder>(Encoder::load(tiny_model_dir())); }

TEST(KeywordTokenizer, SplitsIdentifiersAndKeepsThemWhole) {
    EXPECT_EQ(index_terms("getUserName"), (Terms{"getusername", "get", "user", "name"}));
    EXPECT_EQ(index_terms("max_degree"), (Terms{"max_degree", "max", "degree"}));
    EXPECT_EQ(index_terms("x86-64"), (Terms{"x86-64", "x", "86", "64"}));
    EXPECT_EQ(index_terms("HTTPServer"), (Terms{"httpserver", "http", "server"}));
    EXPECT_EQ(index_terms("utf8"), (Terms{"utf8", "utf", "8"}));
    EXPECT_EQ(index_terms("__init__"), (Terms{"init"}));  // leading and trailing joiners go
    EXPECT_EQ(index_terms("kebab-case-name"), (Terms{"kebab-case-name", "kebab", "case", "name"}));
    // Stopwords go as single words and as parts, never as a compound whole.
    EXPECT_EQ(index_terms("The fox is in the box"), (Terms{"fox", "box"}));
    EXPECT_EQ(index_terms("isValid"), (Terms{"isvalid", "valid"}));
    EXPECT_EQ(index_terms("a.b(c)"), (Terms{"b", "c"}));
}

TEST(KeywordTokenizer, FoldsUnicodeCase) {
    EXPECT_EQ(index_terms("ÉCOLE École"), (Terms{"école", "école"}));
    EXPECT_EQ(index_terms("ΣΟΦΙΑ"), (Terms{"σοφια"}));
    EXPECT_EQ(index_terms("Straße"), (Terms{"straße"}));
    EXPECT_EQ(index_terms("日本語"), (Terms{"日", "本", "語"}));
    EXPECT_EQ(index_terms(std::string(100, 'x')), Terms{});  // over kMaxTermBytes
    EXPECT_EQ(index_terms("bad \xff\xfe bytes"), (Terms{"bad", "bytes"}));
}

TEST(KeywordTokenizer, ProseIsStemmedCodeIsNot) {
    using keyword::TermStyle;
    EXPECT_EQ(index_terms("Promised promises", TermStyle::prose), (Terms{"~promis", "~promis"}));
    EXPECT_EQ(index_terms("Promised promises", TermStyle::exact), (Terms{"promised", "promises"}));
    // Compound words, their parts, digits and non-ASCII words stay exact in prose; stopwords are dropped first.
    EXPECT_EQ(index_terms("the running_tests of utf8 écoles", TermStyle::prose),
              (Terms{"running_tests", "running", "tests", "utf8", "utf", "8", "écoles"}));
    EXPECT_EQ(keyword::stem_term("connection"), "~connect");
    EXPECT_EQ(keyword::stem_term("x86"), "");
    EXPECT_EQ(keyword::stem_term("café"), "");
    // Chunks are code only when their metadata says so.
    EXPECT_EQ(keyword::term_style(R"({"source":"a.py","type":"code","language":"python"})"), TermStyle::exact);
    EXPECT_EQ(keyword::term_style(R"({"source":"a.md","type":"markdown"})"), TermStyle::prose);
    EXPECT_EQ(keyword::term_style("{}"), TermStyle::prose);
    EXPECT_EQ(keyword::term_style(R"({"type": 3})"), TermStyle::prose);
    EXPECT_EQ(keyword::term_style(R"(not json "type")"), TermStyle::prose);
}

TEST(KeywordTokenizer, QueriesAndPhrases) {
    const keyword::KeywordQuery q = keyword::parse_query("fox \"Lazy  dog!\" the");
    // Each plain word is looked up exactly (code) and by its marked stem (prose).
    EXPECT_EQ(q.terms, (Terms{"fox", "~fox", "lazy", "~lazi", "dog", "~dog"}));
    ASSERT_EQ(q.phrases.size(), 1u);
    EXPECT_EQ(q.phrases[0], (Terms{"lazy", "dog"}));
    EXPECT_TRUE(keyword::contains_phrase(keyword::words("the LAZY, dog sleeps"), q.phrases[0]));
    EXPECT_FALSE(keyword::contains_phrase(keyword::words("the dog is lazy"), q.phrases[0]));
    EXPECT_TRUE(keyword::parse_query("the of, and ...").empty());
    EXPECT_EQ(keyword::parse_query("\"unclosed phrase").phrases.size(), 1u);
}

double bm25(double tf, double len, double avg, double n, double df) {
    const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len / avg));
}

/// Passages in memory for KeywordIndex::load: texts by node, all tokenized as code (exact terms).
keyword::PassageReader code_passages(const std::vector<std::string>& texts) {
    return [&texts](std::span<const uint32_t> nodes,
                    const std::function<void(uint32_t, std::string_view, std::string_view)>& each) {
        for (uint32_t v : nodes) each(v, texts.at(v), R"({"type": "code"})");
    };
}

/// One segment of `texts` (tokenized as code), loaded with `texts` as its passages (which must outlive it).
struct CodeSegment {
    std::vector<std::byte> bytes;
    std::vector<uint8_t> deleted;
    keyword::KeywordIndex index;
    explicit CodeSegment(const std::vector<std::string>& texts, uint32_t rare_df = keyword::kRareDf)
        : bytes(encode(texts, rare_df)), deleted((texts.size() + 7) / 8, 0), index(load(texts)) {}

private:
    static std::vector<std::byte> encode(const std::vector<std::string>& texts, uint32_t rare_df) {
        keyword::SegmentBuilder b(0);
        for (const auto& t : texts) b.add_text(t, keyword::TermStyle::exact);
        return b.encode(keyword::SegmentBuilder::kZstdLevel, rare_df);
    }
    keyword::KeywordIndex load(const std::vector<std::string>& texts) const {
        const std::vector<std::span<const std::byte>> segments = {bytes};
        return keyword::KeywordIndex::load(segments, uint32_t(texts.size()), deleted, "mem", code_passages(texts));
    }
};

TEST(KeywordIndex, Bm25MatchesAHandComputationAndSkipsDeletedNodes) {
    const std::vector<std::string> texts = {"apple banana apple", "banana cherry", "cherry date elderberry apple"};
    keyword::SegmentBuilder first(0);
    first.add_text(texts[0], keyword::TermStyle::exact);
    first.add_text(texts[1], keyword::TermStyle::exact);
    keyword::SegmentBuilder second(2);
    second.add_text(texts[2], keyword::TermStyle::exact);
    const auto s1 = first.encode(), s2 = second.encode();
    const std::vector<std::span<const std::byte>> segments = {s1, s2};
    std::vector<uint8_t> deleted(1, 0);
    // Every term here is rare (in at most kRareDf nodes): found by hash and bucket, then counted in the text.
    const auto k = keyword::KeywordIndex::load(segments, 3, deleted, "mem", code_passages(texts));
    EXPECT_EQ(k.live_nodes(), 3u);
    EXPECT_DOUBLE_EQ(k.average_length(), 3.0);  // 3 + 2 + 4 terms
    const Terms apple{"apple"};
    keyword::KeywordStats st;
    auto s = k.score(apple, {}, &st);
    EXPECT_EQ(s.matches, (std::vector<uint32_t>{0, 2}));
    EXPECT_NEAR(s.score[0], bm25(2, 3, 3, 3, 2), 1e-5);
    EXPECT_NEAR(s.score[2], bm25(1, 4, 3, 3, 2), 1e-5);
    EXPECT_EQ(s.score[1], 0.0f);
    EXPECT_EQ(st.postings, 2u);
    EXPECT_GE(st.passages_read, 2u);
    // Two terms add up; a required term keeps only nodes that have it.
    const Terms two{"banana", "cherry"};
    s = k.score(two);
    EXPECT_NEAR(s.score[1], bm25(1, 2, 3, 3, 2) * 2, 1e-5);
    const std::vector<Terms> need{{"cherry"}};
    EXPECT_EQ(k.score(two, need).matches, (std::vector<uint32_t>{1, 2}));
    // A required group is met by any of its terms; every group must be met.
    const std::vector<Terms> either{{"cherry", "apple"}};
    EXPECT_EQ(k.score(two, either).matches, (std::vector<uint32_t>{0, 1, 2}));
    const std::vector<Terms> both{{"cherry"}, {"apple", "durian"}};
    EXPECT_EQ(k.score(two, both).matches, (std::vector<uint32_t>{2}));
    EXPECT_NO_THROW(k.verify());
    // Node 0 deleted: N, the average length and df count live nodes only.
    deleted[0] = 1;
    const auto live = keyword::KeywordIndex::load(segments, 3, deleted, "mem", code_passages(texts));
    s = live.score(apple);
    EXPECT_EQ(s.matches, (std::vector<uint32_t>{2}));
    EXPECT_NEAR(s.score[2], bm25(1, 4, 3, 2, 1), 1e-5);
    // Without a passage reader, a rare term cannot be looked up: an error, not a wrong answer.
    EXPECT_THROW(keyword::KeywordIndex::load(segments, 3, deleted, "mem").score(apple), Error);
    // Segments that do not cover the index are refused by name.
    const std::vector<std::span<const std::byte>> gap = {s2};
    try {
        keyword::KeywordIndex::load(gap, 3, deleted, "mem");
        FAIL() << "expected FormatError";
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("KWIX"), std::string::npos) << e.what();
    }
}

// Frequent terms are stored by name and node, rare ones by hash and bucket: both give the scores of a full
// posting list, a hash collision matches nothing, and verify() catches a bucket that does not hold its term.
TEST(KeywordIndex, RareTermsByHashAndBucketScoreLikeFullPostings) {
    std::vector<std::string> texts;
    for (int i = 0; i < 200; ++i) {
        std::string t = "filler" + std::to_string(i) + " padding words here";
        if (i % 10 == 0) t += " common common";  // 20 nodes: by name
        if (i == 37 || i == 151) t += " zebra";  // 2 nodes: by hash
        texts.push_back(t);
    }
    const CodeSegment one(texts);
    const std::vector<std::span<const std::byte>> segments = {one.bytes};
    const std::vector<uint8_t>& deleted = one.deleted;
    const auto& k = one.index;
    EXPECT_NO_THROW(k.verify());
    const double avg = k.average_length();
    keyword::KeywordStats st;
    const Terms common{"common"};
    auto s = k.score(common, {}, &st);
    ASSERT_EQ(s.matches.size(), 20u);
    auto length = [&](uint32_t v) { return double(keyword::index_terms(texts[v], keyword::TermStyle::exact).size()); };
    EXPECT_NEAR(s.score[10], bm25(2, length(10), avg, 200, 20), 1e-5);
    EXPECT_EQ(st.passages_read, 0u) << "a frequent term is read from its postings";
    const Terms zebra{"zebra"};
    s = k.score(zebra, {}, &st);
    EXPECT_EQ(s.matches, (std::vector<uint32_t>{37, 151}));
    EXPECT_NEAR(s.score[37], bm25(1, length(37), avg, 200, 2), 1e-5);
    EXPECT_GT(st.passages_read, 0u);
    EXPECT_LT(st.passages_read, 200u) << "only the buckets holding the term are read";
    // A term whose cut hash collides with zebra's: its buckets are read, and nothing matches.
    std::string other;
    for (int i = 0; other.empty() && i < 100000; ++i) {
        const std::string t = "x" + std::to_string(i);
        keyword::KeywordStats probe;
        const Terms q{t};
        const auto r = k.score(q, {}, &probe);
        EXPECT_TRUE(r.matches.empty()) << t;
        if (probe.passages_read > 0) other = t;
    }
    EXPECT_FALSE(other.empty()) << "no colliding term found among 100,000";
    // A posting for a term no passage holds: loads, matches nothing, and verify() names it.
    keyword::SegmentBuilder forged(0);
    for (const auto& t : texts) forged.add_text(t, keyword::TermStyle::exact);
    forged.add_posting("ghostterm", 5, 1);
    const auto bad = forged.encode();
    const std::vector<std::span<const std::byte>> bad_segments = {bad};
    const auto f = keyword::KeywordIndex::load(bad_segments, 200, deleted, "mem", code_passages(texts));
    const Terms ghost{"ghostterm"};
    EXPECT_TRUE(f.score(ghost).matches.empty());
    try {
        f.verify();
        FAIL() << "expected FormatError";
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("rare-term entry"), std::string::npos) << e.what();
    }
    // A passage holding a term the segment lost (here: text that changed under it): verify() names the term.
    std::vector<std::string> changed = texts;
    changed[5] += " unindexedword";
    const auto c = keyword::KeywordIndex::load(segments, 200, deleted, "mem", code_passages(changed));
    try {
        c.verify();
        FAIL() << "expected FormatError";
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("'unindexedword'"), std::string::npos) << e.what();
    }
}

// Over a corpus with words of every frequency, the hash-and-bucket segment scores every word exactly as a segment
// with full postings for every term does (including dictionary words whose hash collides with a rare entry's).
TEST(KeywordIndex, RareTermSegmentsScoreEveryWordLikeFullPostings) {
    std::vector<std::string> words;
    for (int i = 0; i < 400; ++i) words.push_back("w" + std::string(1, char('a' + i % 26)) + std::string(1, char('a' + i / 26)) + "q");
    std::vector<std::string> texts;
    uint64_t state = 12345;
    auto next = [&] { return state = state * 6364136223846793005ULL + 1442695040888963407ULL, state >> 33; };
    for (int d = 0; d < 600; ++d) {
        std::string t;
        for (int w = 0; w < 12; ++w) {
            const uint64_t r = next() % 1000;
            // Zipf-like: low word numbers are common, high ones rare.
            t += words[size_t(r * r / 2500) % words.size()] + " ";
        }
        texts.push_back(t);
    }
    const CodeSegment hashed(texts), full(texts, UINT32_MAX);
    const auto &k = hashed.index, &f = full.index;
    EXPECT_NO_THROW(k.verify());
    size_t by_hash = 0;
    for (const auto& w : words) {
        const Terms q{w};
        keyword::KeywordStats st;
        const auto a = k.score(q, {}, &st), e = f.score(q);
        if (st.passages_read > 0) ++by_hash;
        ASSERT_EQ(a.matches, e.matches) << w;
        for (uint32_t v : e.matches) ASSERT_NEAR(a.score[v], e.score[v], 1e-5) << w << " node " << v;
    }
    EXPECT_GT(by_hash, 50u) << "the corpus should have many rare words";
    EXPECT_LT(by_hash, words.size()) << "and frequent ones";
}

// A long node (over kLongNodeTerms terms) keeps all its terms by name, and resolving a rare term in its bucket does
// not tokenize it: a rare query term never costs a huge record's text.
TEST(KeywordIndex, LongNodesAreNeverReadToResolveRareTerms) {
    std::vector<std::string> texts = {"short note about otters"};
    std::string big = "needleword";
    for (uint32_t i = 0; i < keyword::kLongNodeTerms + 10; ++i) big += " filler";
    texts.push_back(big);
    for (int i = 0; i < 200; ++i) texts.push_back("another short note about beavers");  // buckets of 8 nodes
    const CodeSegment one(texts);
    const auto& k = one.index;
    EXPECT_NO_THROW(k.verify());
    keyword::KeywordStats st;
    const Terms needle{"needleword"};
    EXPECT_EQ(k.score(needle, {}, &st).matches, (std::vector<uint32_t>{1}));
    EXPECT_EQ(st.passages_read, 0u) << "a long node's terms are in the dictionary";
    const Terms otters{"otters"};
    EXPECT_EQ(k.score(otters, {}, &st).matches, (std::vector<uint32_t>{0}));
    EXPECT_EQ(st.passages_read, 7u) << "the bucket's seven short nodes, not the long one";
}

// A crafted segment whose two rare entries (1 hash bit) name every bucket: any query term matches one, and a
// query still reads each passage once, however many of its terms land there.
TEST(KeywordIndex, EntriesNamingEveryBucketReadEachPassageOnce) {
    constexpr uint32_t n = 1000;
    std::string payload;
    auto u32 = [&](uint32_t v) { payload.append(reinterpret_cast<const char*>(&v), 4); };
    auto varint = [&](uint64_t v) {
        for (; v >= 0x80; v >>= 7) payload.push_back(char(uint8_t(v) | 0x80));
        payload.push_back(char(v));
    };
    u32(3), u32(0), u32(n), u32(0), u32(2), u32(0), u32(1);  // version, first, count, terms, rare, shift, bits
    for (uint32_t v = 0; v < n; ++v) varint(1);              // lengths
    varint(0), varint(1);                                     // hashes 0 and 1
    varint(n), varint(n);                                     // each names every bucket
    for (int e = 0; e < 2; ++e)
        for (uint32_t v = 0; v < n; ++v) varint(v ? 1 : 0);
    std::vector<std::byte> frame(ZSTD_compressBound(payload.size()));
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    frame.resize(ZSTD_compress2(cctx, frame.data(), frame.size(), payload.data(), payload.size()));
    ZSTD_freeCCtx(cctx);
    const std::vector<std::span<const std::byte>> segments = {frame};
    const std::vector<uint8_t> deleted(n / 8, 0);
    const std::vector<std::string> texts(n, "plain words");
    const auto k = keyword::KeywordIndex::load(segments, n, deleted, "mem", code_passages(texts));
    const Terms q{"alpha", "beta", "gamma", "delta", "epsilon", "zeta"};
    keyword::KeywordStats st;
    EXPECT_TRUE(k.score(q, {}, &st).matches.empty());
    EXPECT_EQ(st.passages_read, n);
}

std::vector<Document> corpus() {
    std::vector<Document> docs;
    const char* topics[] = {"lighthouse keepers watch the sea", "sourdough starters need flour and water",
                            "glaciers retreat in warm summers", "chess openings reward careful study",
                            "bees stay warm in winter clusters", "tidal power turns with the moon",
                            "medieval bridges were built of stone", "violin varnish ages slowly"};
    for (int i = 0; i < 40; ++i)
        docs.push_back({"d" + std::to_string(i), std::string(topics[i % 8]) + " (note " + std::to_string(i) + ")", "{}"});
    docs[17].text = "the cache is flushed by frobnicateWidgetCache when the lazy dog sleeps";
    docs[23].text = "a lazy cat and a sleepy dog share the porch";
    return docs;
}

/// corpus() built with `encoder` into dir/i.leann (one thread); the index's path.
fs::path build_corpus(const testing::TempDir& dir, Encoder& encoder) {
    const fs::path path = dir.path() / "i.leann";
    BuildOptions build;
    build.threads = 1;
    Index::build(path, corpus(), encoder, build);
    return path;
}

TEST(KeywordSearch, FindsAnIdentifierAndPhrasesOnABuiltIndex) {
    testing::TempDir dir;
    auto encoder = tiny();
    const auto docs = corpus();
    BuildOptions build;
    build.threads = 1;
    Index::build(dir.path() / "i.leann", docs, *encoder, build);
    Index index = Index::open(dir.path() / "i.leann");
    index.attach_encoder(encoder);
    EXPECT_EQ(index.stats().format_version, 3u);
    EXPECT_GT(index.stats().keyword_bytes, 0u);

    SearchOptions o;
    o.top_k = 3;
    o.mode = SearchMode::keyword;
    SearchResult r = index.search("WidgetCache", o);
    ASSERT_FALSE(r.hits.empty());
    EXPECT_EQ(r.hits[0].id, "d17");
    EXPECT_EQ(r.hits.size(), 1u);  // nothing else has the term
    EXPECT_EQ(r.stats.recomputed, 0u);  // keyword mode embeds nothing
    EXPECT_GE(r.stats.keyword_terms, 1u);
    // The random-weight tiny model does not find it by vector.
    o.mode = SearchMode::vector;
    r = index.search("frobnicateWidgetCache", o);
    ASSERT_FALSE(r.hits.empty());
    EXPECT_NE(r.hits[0].id, "d17");
    // Hybrid brings it to the top. With reciprocal rank fusion its exact embedding is computed in the one re-rank
    // batch; with convex fusion (the default) the keyword candidates follow the walk's first batch, those that
    // could reach the fused top k, and a last check (at most three batches here).
    o.mode = SearchMode::hybrid;
    o.fusion = HybridFusion::rrf;
    index.clear_cache();
    r = index.search("frobnicateWidgetCache", o);
    ASSERT_FALSE(r.hits.empty());
    EXPECT_EQ(r.hits[0].id, "d17");
    EXPECT_EQ(r.stats.batches, 1u);
    o.fusion = HybridFusion::convex;
    index.clear_cache();
    r = index.search("frobnicateWidgetCache", o);
    ASSERT_FALSE(r.hits.empty());
    EXPECT_EQ(r.hits[0].id, "d17");
    EXPECT_GE(r.stats.batches, 1u);
    EXPECT_LE(r.stats.batches, 3u);

    // Phrases match word for word: both d17 and d23 have "lazy" and "dog", only d17 the phrase.
    o.mode = SearchMode::keyword;
    o.top_k = 10;
    r = index.search("\"lazy dog\"", o);
    ASSERT_EQ(r.hits.size(), 1u);
    EXPECT_EQ(r.hits[0].id, "d17");
    r = index.search("lazy dog", o);
    EXPECT_EQ(r.hits.size(), 2u);
    o.mode = SearchMode::hybrid;
    r = index.search("\"lazy dog\"", o);
    ASSERT_EQ(r.hits.size(), 1u);
    EXPECT_EQ(r.hits[0].id, "d17");

    // Only stopwords: vector search, with a note.
    o.mode = SearchMode::keyword;
    r = index.search("the of and", o);
    EXPECT_EQ(r.hits.size(), 10u);
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_NE(r.notes[0].find("vector"), std::string::npos);
    EXPECT_NO_THROW(index.verify());
}

/// The ids of a search's hits.
std::set<std::string> hit_ids(const Index& index, std::string_view query, const SearchOptions& o) {
    std::set<std::string> out;
    for (const Hit& h : index.search(query, o).hits) out.insert(h.id);
    return out;
}

/// The corpus with metadata {"topic": i % 8}, built in `dir` and opened with the tiny encoder.
Index topic_index(const testing::TempDir& dir) {
    auto encoder = tiny();
    std::vector<Document> docs = corpus();
    for (size_t i = 0; i < docs.size(); ++i) docs[i].metadata = "{\"topic\": " + std::to_string(i % 8) + "}";
    BuildOptions build;
    build.threads = 1;
    Index::build(dir.path() / "i.leann", docs, *encoder, build);
    Index index = Index::open(dir.path() / "i.leann");
    index.attach_encoder(encoder);
    return index;
}

// A filter holds in keyword and hybrid search too: keyword matches outside it are dropped before the top-k, so
// there are still k hits when k chunks match, and the vector side of hybrid walks with it.
TEST(KeywordSearch, FiltersApplyToKeywordAndHybridSearch) {
    testing::TempDir dir;
    Index index = topic_index(dir);
    const auto topic_of = [&](const Hit& h) { return std::stoi(h.id.substr(1)) % 8; };

    SearchOptions o;
    o.top_k = 3;
    o.mode = SearchMode::keyword;
    SearchResult r = index.search("warm", o);  // topics 2 (glaciers ... warm summers) and 4 (bees stay warm)
    ASSERT_EQ(r.hits.size(), 3u);
    o.filter.where = R"({"topic": 4})";
    r = index.search("warm", o);
    ASSERT_EQ(r.hits.size(), 3u);
    for (const Hit& h : r.hits) EXPECT_EQ(topic_of(h), 4) << h.id;
    o.top_k = 10;
    r = index.search("warm", o);
    EXPECT_EQ(r.hits.size(), 5u);  // every topic-4 chunk, nothing else

    o.mode = SearchMode::hybrid;
    o.filter.where = R"({"topic": 2})";
    r = index.search("warm", o);
    ASSERT_FALSE(r.hits.empty());
    for (const Hit& h : r.hits) EXPECT_EQ(topic_of(h), 2) << h.id;
    EXPECT_EQ(r.hits.size(), 5u);  // the five topic-2 chunks: the filter admits nothing else
}

// Hybrid search with a filter the direct scan answers (few allowed chunks): the keyword candidates still join the
// exact re-rank and the fusion, so a chunk only the keyword side finds is not lost.
TEST(KeywordSearch, HybridWithAFilterKeepsKeywordOnlyHits) {
    testing::TempDir dir;
    Index index = topic_index(dir);
    SearchOptions o;
    o.mode = SearchMode::hybrid;
    o.vector_weight = 0.3;  // the one keyword match outranks whatever the vector side alone ranks first
    o.filter.where = R"({"topic": {"$in": [1, 2]}})";  // d17 is topic 1; ten chunks allowed
    for (size_t k : {1, 3}) {
        o.top_k = k;
        for (HybridFusion fusion : {HybridFusion::rrf, HybridFusion::convex}) {
            o.fusion = fusion;
            const SearchResult r = index.search("frobnicateWidgetCache", o);
            ASSERT_EQ(r.hits.size(), k);
            EXPECT_EQ(r.hits[0].id, "d17") << "top_k " << k << " fusion " << fusion_name(fusion);
        }
    }
}

TEST(KeywordSearch, UpdatesKeepTheKeywordIndexCurrent) {
    testing::TempDir dir;
    const fs::path path = dir.path() / "i.leann";
    auto encoder = tiny();
    WriterOptions wo;
    wo.build.threads = 1;
    wo.auto_compact = false;
    IndexWriter writer(path, encoder, wo);
    writer.upsert(corpus());
    SearchOptions o;
    o.mode = SearchMode::keyword;
    o.top_k = 5;
    auto ids = [&](std::string_view q) { return hit_ids(Index::open(path), q, o); };
    EXPECT_EQ(ids("frobnicateWidgetCache"), (std::set<std::string>{"d17"}));
    const std::vector<Document> more = {{"n1", "quuxAllocator hands out arenas", "{}"},
                                        {"d3", "chess endgames with a quuxAllocator", "{}"}};  // d3 replaced
    writer.upsert(more);
    EXPECT_EQ(ids("quuxAllocator"), (std::set<std::string>{"n1", "d3"}));
    EXPECT_EQ(ids("openings"), (std::set<std::string>{"d11", "d19", "d27", "d35"}));  // old d3 text is gone
    const std::string gone[] = {"d17", "n1"};
    writer.remove(gone);
    EXPECT_EQ(ids("frobnicateWidgetCache"), std::set<std::string>{});
    EXPECT_EQ(ids("quuxAllocator"), (std::set<std::string>{"d3"}));
    {
        Index index = Index::open(path);
        EXPECT_NO_THROW(index.verify());
        EXPECT_GT(index.stats().generation, 2u);
    }
    writer.compact();
    Index index = Index::open(path);
    EXPECT_NO_THROW(index.verify());
    EXPECT_EQ(index.size(), 39u);
    EXPECT_EQ(ids("quuxAllocator"), (std::set<std::string>{"d3"}));
    EXPECT_EQ(ids("openings"), (std::set<std::string>{"d11", "d19", "d27", "d35"}));
}

TEST(KeywordSearch, ManyUpdatesMergeSegments) {
    testing::TempDir dir;
    const fs::path path = dir.path() / "i.leann";
    auto encoder = tiny();
    WriterOptions wo;
    wo.build.threads = 1;
    wo.auto_compact = false;
    IndexWriter writer(path, encoder, wo);
    writer.upsert(corpus());
    for (int i = 0; i < 34; ++i) {
        const std::vector<Document> one = {{"u" + std::to_string(i), "update number zork" + std::to_string(i), "{}"}};
        writer.upsert(one);
    }
    const std::string gone[] = {"u3", "u30"};
    writer.remove(gone);  // a deleted node in the merged tail keeps its place with no terms
    for (int i = 34; i < 68; ++i) {
        const std::vector<Document> one = {{"u" + std::to_string(i), "update number zork" + std::to_string(i), "{}"}};
        writer.upsert(one);
    }
    Index index = Index::open(path);
    EXPECT_NO_THROW(index.verify());
    size_t segments = 0;
    for (const auto& s : index.stats().sections)
        if (s.tag == "KWIX") segments = s.what.find("segments") == std::string::npos ? 1 : std::stoul(s.what.substr(s.what.rfind('(') + 1));
    EXPECT_LE(segments, 32u);
    SearchOptions o;
    o.mode = SearchMode::keyword;
    const auto r = index.search("zork7", o);
    ASSERT_FALSE(r.hits.empty());
    EXPECT_EQ(r.hits[0].id, "u7");
    EXPECT_EQ(index.search("update", o).stats.keyword_matches, 66u);
    for (const auto& h : index.search("zork3", o).hits) EXPECT_NE(h.id, "u3");
    EXPECT_EQ(index.search("zork66", o).hits.at(0).id, "u66");
}

TEST(KeywordSearch, ACorruptKeywordSectionIsNamed) {
    testing::TempDir dir;
    auto encoder = tiny();
    const fs::path path = build_corpus(dir, *encoder);
    uint64_t offset = 0;
    {
        const Index index = Index::open(path);
        (void)index;
        // Find KWIX through the stats' section order is not enough: read the table through IndexFile.
        const auto file = store::IndexFile::open(path);
        for (const auto& s : file.sections())
            if (s.tag == keyword::kKeywordSection) offset = s.offset + s.size / 2;
    }
    ASSERT_GT(offset, 0u);
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(std::streamoff(offset));
        char c = 0;
        f.read(&c, 1);
        c = char(c ^ 0x5a);
        f.seekp(std::streamoff(offset));
        f.write(&c, 1);
    }
    try {
        Index::open(path);
        FAIL() << "expected FormatError";
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("section KWIX"), std::string::npos) << e.what();
    }
}

TEST(KeywordSearch, VersionTwoFilesOpenAndGetAKeywordIndexOnTheirFirstUpdate) {
    testing::TempDir dir;
    const fs::path golden = fs::path(LEANN_TEST_DATA_DIR) / "golden" / "index_v2" / "v2.leann";
    const fs::path path = dir.path() / "index.leann";
    fs::copy_file(golden, path);
    auto encoder = tiny();
    {
        Index index = Index::open(path);
        index.attach_encoder(encoder);
        EXPECT_EQ(index.stats().format_version, 2u);
        EXPECT_EQ(index.size(), 4u);
        EXPECT_NO_THROW(index.verify());
        SearchOptions o;
        o.mode = SearchMode::keyword;
        try {
            index.search("lighthouses", o);
            FAIL() << "expected an error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("no keyword index"), std::string::npos) << e.what();
        }
        o.mode = SearchMode::vector;
        EXPECT_EQ(index.search("lighthouses", o).hits.size(), 4u);
    }
    {
        WriterOptions wo;
        wo.auto_compact = false;
        IndexWriter writer(path, encoder, wo);
        const std::vector<Document> one = {{"r3", "blue whales sing", "{}"}};
        writer.upsert(one);
    }
    Index index = Index::open(path);
    EXPECT_EQ(index.stats().format_version, 3u);
    EXPECT_NO_THROW(index.verify());
    SearchOptions o;
    o.mode = SearchMode::keyword;
    auto r = index.search("lighthouses", o);
    ASSERT_EQ(r.hits.size(), 1u);
    EXPECT_EQ(r.hits[0].id, "docs/a.md:1");
    r = index.search("whales", o);
    ASSERT_EQ(r.hits.size(), 1u);
    EXPECT_EQ(r.hits[0].id, "r3");
}

// Prose chunks match by stem, code chunks only by the exact word; phrases hold either way.
TEST(KeywordSearch, ProseMatchesByStemCodeByExactWord) {
    testing::TempDir dir;
    auto encoder = tiny();
    const std::vector<Document> docs = {
        {"p1", "Keepers lit the lighthouses every night", R"({"source":"notes.md","type":"markdown"})"},
        {"c1", "def light_houses(): return lighthouses", R"({"source":"a.py","type":"code","language":"python"})"},
        {"c2", "lighthouse = Lighthouse()", R"({"source":"b.py","type":"code","language":"python"})"},
        {"r1", "a record about boats", "{}"}};
    BuildOptions build;
    build.threads = 1;
    Index::build(dir.path() / "i.leann", docs, *encoder, build);
    Index index = Index::open(dir.path() / "i.leann");
    index.attach_encoder(encoder);
    SearchOptions o;
    o.mode = SearchMode::keyword;
    auto ids = [&](std::string_view query) { return hit_ids(index, query, o); };
    EXPECT_EQ(ids("lighthouse"), (std::set<std::string>{"p1", "c2"}));
    EXPECT_EQ(ids("lighthouses"), (std::set<std::string>{"p1", "c1"}));
    EXPECT_EQ(ids("boat"), (std::set<std::string>{"r1"}));  // records without a type are prose
    EXPECT_EQ(ids("\"lit the lighthouse\""), std::set<std::string>{});  // a phrase is word for word
    EXPECT_EQ(ids("\"lit the lighthouses\""), (std::set<std::string>{"p1"}));
}

/// A golden index (tests/golden/FOLDER/v3.leann) copied to a temporary folder: what keyword search finds in it
/// (after verify()), and updates to it.
struct GoldenCopy {
    testing::TempDir dir;
    fs::path path = dir.path() / "index.leann";
    std::shared_ptr<Encoder> encoder = tiny();
    explicit GoldenCopy(const char* folder) {
        fs::copy_file(fs::path(LEANN_TEST_DATA_DIR) / "golden" / folder / "v3.leann", path);
    }
    std::set<std::string> ids(std::string_view query) {
        Index index = Index::open(path);
        index.attach_encoder(encoder);
        EXPECT_NO_THROW(index.verify());
        SearchOptions o;
        o.mode = SearchMode::keyword;
        return hit_ids(index, query, o);
    }
    void update(const std::function<void(IndexWriter&)>& change) {
        WriterOptions wo;
        wo.auto_compact = false;
        IndexWriter writer(path, encoder, wo);
        change(writer);
    }
};

// A version-3 file written before prose stemming (KWIX segment version 1, exact terms only) keeps working: its
// chunks match by their exact words, an update's new segment is stemmed, and compaction stems everything.
TEST(KeywordSearch, UnstemmedSegmentsOfOlderFilesKeepWorking) {
    GoldenCopy g("index_v3");
    EXPECT_EQ(Index::open(g.path).stats().format_version, 3u);
    EXPECT_FALSE(Index::open(g.path).stats().adaptive_rerank) << "written before the PQ error profile";
    EXPECT_EQ(g.ids("lighthouses"), (std::set<std::string>{"docs/a.md:1"}));
    EXPECT_EQ(g.ids("lighthouse"), std::set<std::string>{});  // no stems in a version-1 segment
    g.update([](IndexWriter& w) { w.upsert(std::vector<Document>{{"r3", "lighthouse keepers", "{}"}}); });
    EXPECT_EQ(g.ids("lighthouses"), (std::set<std::string>{"docs/a.md:1", "r3"}));
    g.update([](IndexWriter& w) { w.compact(); });
    EXPECT_EQ(g.ids("lighthouse"), (std::set<std::string>{"docs/a.md:1", "r3"}));
}

// A file whose keyword segment was written before rare terms went by hash and bucket (KWIX segment version 2)
// keeps answering, verifies, and mixes with the version-3 segment its next update appends.
TEST(KeywordSearch, SegmentsWithoutRareTermsKeepWorking) {
    GoldenCopy g("index_v3_kwix2");
    EXPECT_EQ(g.ids("lighthouse"), (std::set<std::string>{"docs/a.md:1"}));
    EXPECT_EQ(g.ids("apples"), (std::set<std::string>{"r1"}));
    g.update([](IndexWriter& w) { w.upsert(std::vector<Document>{{"r3", "lighthouse keepers eat apples", "{}"}}); });
    EXPECT_EQ(g.ids("lighthouses"), (std::set<std::string>{"docs/a.md:1", "r3"}));
    EXPECT_EQ(g.ids("apple"), (std::set<std::string>{"r1", "r3"}));
}

// load_encoder_when_needed: keyword searches never read the model; the first vector or hybrid search does (once,
// even when two threads start at the same time), and a model that cannot be loaded fails that search, every time.
TEST(KeywordSearch, TheModelIsLoadedOnlyWhenASearchNeedsIt) {
    testing::TempDir dir;
    auto encoder = tiny();
    const fs::path path = build_corpus(dir, *encoder);
    SearchOptions keyword_only;
    keyword_only.mode = SearchMode::keyword;
    {
        Index index = Index::open(path);
        index.load_encoder_when_needed(dir.path() / "no-such-model");
        EXPECT_EQ(index.search("frobnicateWidgetCache", keyword_only).hits.at(0).id, "d17");
        SearchOptions hybrid;
        EXPECT_THROW(index.search("frobnicateWidgetCache", hybrid), Error);
        EXPECT_THROW(index.search("frobnicateWidgetCache", hybrid), Error) << "still failing, not 'no encoder'";
        // Stopwords only: keyword mode falls back to vector search, which needs the model.
        EXPECT_THROW(index.search("the of", keyword_only), Error);
    }
    {
        // The recorded model is looked up when needed too: not installed, keyword search still works.
        testing::LeannHome home;
        fs::remove_all(home.root() / "home" / "models");
        Index index = Index::open(path);
        index.load_encoder_when_needed();
        EXPECT_EQ(index.search("frobnicateWidgetCache", keyword_only).hits.at(0).id, "d17");
        SearchOptions hybrid;
        EXPECT_THROW(index.search("frobnicateWidgetCache", hybrid), ModelError);
    }
    Index index = Index::open(path);
    index.load_encoder_when_needed(tiny_model_dir());
    Index moved = std::move(index);  // the pending load follows the index
    SearchOptions vector;
    vector.mode = SearchMode::vector;
    vector.top_k = 3;
    std::vector<SearchResult> results(2);
    std::thread a([&] { results[0] = moved.search("glaciers retreat", vector); });
    std::thread b([&] { results[1] = moved.search("chess openings", vector); });
    a.join();
    b.join();
    EXPECT_EQ(results[0].hits.size(), 3u);
    EXPECT_EQ(results[1].hits.size(), 3u);
    EXPECT_EQ(moved.encoder().dims(), encoder->dims());
}

TEST(SearchMode, CliModeFlag) {
    testing::TempDir dir;
    const fs::path docs = dir.path() / "docs.jsonl";
    {
        std::ofstream out(docs);
        for (const auto& d : corpus())
            out << nlohmann::json{{"id", d.id}, {"text", d.text}}.dump() << "\n";
    }
    const std::string index = " --index " + (dir.path() / "idx").string();
    const std::string model = " --model " + tiny_model_dir().string();
    auto build = testing::run_cli("build" + index + " --docs " + docs.string() + model + " --threads 1 2>&1");
    ASSERT_EQ(build.status, 0) << build.out;
    auto kw = testing::run_cli("search" + index + " frobnicateWidgetCache --mode keyword --json" + model);
    ASSERT_EQ(kw.status, 0) << kw.out;
    const auto r = nlohmann::json::parse(kw.out);
    ASSERT_EQ(r["results"].size(), 1u);
    EXPECT_EQ(r["results"][0]["id"], "d17");
    auto hybrid = testing::run_cli("search" + index + " frobnicateWidgetCache --mode hybrid --fusion convex --json" + model);
    ASSERT_EQ(hybrid.status, 0) << hybrid.out;
    EXPECT_EQ(nlohmann::json::parse(hybrid.out)["results"][0]["id"], "d17");
    auto fallback = testing::run_cli("search" + index + " \"the of\" --mode keyword" + model + " 2>&1");
    ASSERT_EQ(fallback.status, 0) << fallback.out;
    EXPECT_NE(fallback.out.find("note: the query has no keyword terms"), std::string::npos) << fallback.out;
    auto bad = testing::run_cli("search" + index + " x --mode bm25" + model + " 2>&1");
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.out.find("--mode must be vector, keyword or hybrid"), std::string::npos) << bad.out;
    auto stats = testing::run_cli("stats" + index + " --json");
    ASSERT_EQ(stats.status, 0) << stats.out;
    EXPECT_GT(nlohmann::json::parse(stats.out)["keyword_bytes"].get<uint64_t>(), 0u);
}

#ifdef LEANN_TEST_HTTP_PARAMS
TEST(SearchMode, McpSearchMode) {
    testing::McpSession s;
    BuildOptions build;
    build.threads = 1;
    Index::build(index_path_for_name("kw"), corpus(), *Encoder::load(s.home.model_dir()), build);
    s.initialize("2025-11-25");
    auto r = s.call_tool("leann_search", {{"index_name", "kw"}, {"query", "frobnicateWidgetCache"}, {"mode", "keyword"}});
    ASSERT_FALSE(r.value("isError", false)) << r;
    ASSERT_EQ(r["structuredContent"]["results"].size(), 1u) << r;
    EXPECT_EQ(r["structuredContent"]["results"][0]["id"], "d17");
    r = s.call_tool("leann_search", {{"index_name", "kw"}, {"query", "x"}, {"mode", "bm25"}});
    EXPECT_TRUE(r.value("isError", false)) << r;
}

TEST(SearchMode, HttpSearchFields) {
    const auto p = server::parse_search(nlohmann::json::parse(
        R"({"index": "x", "query": "q", "mode": "hybrid", "fusion": "convex", "vector_weight": 0.25})"));
    EXPECT_EQ(p.options.mode, SearchMode::hybrid);
    EXPECT_EQ(p.options.fusion, HybridFusion::convex);
    EXPECT_DOUBLE_EQ(p.options.vector_weight, 0.25);
    EXPECT_EQ(server::parse_search(nlohmann::json::parse(R"({"index": "x", "query": "q"})")).options.mode,
              SearchOptions{}.mode);
    for (const char* bad : {R"({"index": "x", "query": "q", "mode": "bm25"})", R"({"index": "x", "query": "q", "mode": 1})",
                            R"({"index": "x", "query": "q", "vector_weight": 2})"}) {
        try {
            server::parse_search(nlohmann::json::parse(bad));
            ADD_FAILURE() << bad;
        } catch (const server::HttpError& e) {
            EXPECT_EQ(e.status(), 400) << bad;
        }
    }
}
#endif

TEST(SearchMode, NamesRoundTrip) {
    for (SearchMode m : {SearchMode::vector, SearchMode::keyword, SearchMode::hybrid})
        EXPECT_EQ(parse_search_mode(search_mode_name(m)), m);
    EXPECT_FALSE(parse_search_mode("bm25").has_value());
    EXPECT_EQ(parse_fusion("convex"), HybridFusion::convex);
    EXPECT_EQ(SearchOptions{}.mode, SearchMode::hybrid);  // chosen by measurement (bench/README.md)
    EXPECT_EQ(SearchOptions{}.fusion, HybridFusion::convex);
}

}  // namespace
}  // namespace leann
