// The index facade with a tiny random-weight model: build, open, search, stats, verify, model refusal, corrupt
// files (each names its section), crash safety, and the JSONL record reader.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "leann/error.h"
#include "leann/index.h"
#include "leann/ingest.h"
#include "store/index_file.h"
#include "tiny_model.h"

namespace leann {
namespace {

using testing::TempDir;

std::vector<Document> tiny_documents(size_t n, uint32_t seed = 3) {
    const auto& vocab = testing::tiny_vocab();
    std::vector<std::string> words;
    for (const auto& w : vocab)
        if (w.size() > 2 && w[0] != '[' && w[0] != '#') words.push_back(w);
    std::mt19937 rng(seed);
    std::vector<Document> docs;
    for (size_t i = 0; i < n; ++i) {
        std::string text;
        const size_t len = 3 + rng() % 8;
        for (size_t j = 0; j < len; ++j) text += (j ? " " : "") + words[rng() % words.size()];
        docs.push_back({"doc-" + std::to_string(i), text, R"({"n":)" + std::to_string(i) + "}"});
    }
    return docs;
}

struct TinyIndex {
    TempDir dir;
    std::filesystem::path model_dir = dir.path() / "tiny-model";
    std::filesystem::path path = dir.path() / "idx" / "index.leann";
    std::vector<Document> docs = tiny_documents(400);
    std::shared_ptr<Encoder> encoder;

    explicit TinyIndex(size_t hub_cache_bytes = 0) {
        testing::write_tiny_model(model_dir, {});
        encoder = std::shared_ptr<Encoder>(Encoder::load(model_dir, {.threads = 1}));
        BuildOptions options;
        options.threads = 1;
        options.graph.max_degree = 8;
        options.graph.hub_degree = 8;
        options.graph.pruned_degree = 4;
        options.hub_cache_bytes = hub_cache_bytes;
        Index::build(path, docs, *encoder, options);
    }
    Index open() {
        Index index = Index::open(path);
        index.attach_encoder(encoder);
        return index;
    }
};

std::vector<char> read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void write_all(const std::filesystem::path& p, const std::vector<char>& bytes) {
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
}

TEST(Index, BuildOpenSearchFindsTheDocumentItself) {
    TinyIndex t;
    Index index = t.open();
    index.set_cache_capacity(0);  // each query recomputes its own candidates
    EXPECT_EQ(index.size(), t.docs.size());
    EXPECT_EQ(index.metric(), Metric::cosine);
    SearchOptions options;
    options.mode = SearchMode::vector;  // scores are cosine similarities (hybrid's are fused)
    options.top_k = 3;
    options.recompute_share = 1.0;
    size_t found = 0;
    for (size_t i = 0; i < 40; ++i) {
        const Document& d = t.docs[i * 7];
        const SearchResult r = index.search(d.text, options);
        ASSERT_FALSE(r.hits.empty());
        EXPECT_GT(r.stats.recomputed, 0u);
        if (r.hits[0].text == d.text) {
            ++found;
            EXPECT_NEAR(r.hits[0].score, 1.0f, 1e-4f);
        }
    }
    EXPECT_GE(found, 38u);
    const Document d = index.document(5);
    EXPECT_EQ(d.id, "doc-5");
    EXPECT_EQ(d.metadata, R"({"n":5})");
}

TEST(Index, NoRecomputeModeNeedsNoEncoderCalls) {
    TinyIndex t;
    Index index = t.open();
    SearchOptions options;
    options.recompute = false;
    const SearchResult r = index.search(t.docs[0].text, options);
    EXPECT_EQ(r.stats.recomputed, 0u);
    EXPECT_FALSE(r.hits.empty());
}

TEST(Index, LruCacheMakesARepeatedQueryFree) {
    TinyIndex t;
    Index index = t.open();
    SearchOptions options;
    const SearchResult first = index.search(t.docs[1].text, options);
    const SearchResult second = index.search(t.docs[1].text, options);
    EXPECT_GT(first.stats.recomputed, 0u);
    EXPECT_EQ(second.stats.recomputed, 0u);
    EXPECT_EQ(second.stats.lru_hits, first.stats.recomputed);
    index.set_cache_capacity(0);
    EXPECT_EQ(index.search(t.docs[1].text, options).stats.recomputed, first.stats.recomputed);
}

TEST(Index, HubCacheServesHighDegreeNodes) {
    TinyIndex t(64 * 1024);
    Index index = t.open();
    EXPECT_GT(index.stats().hubs, 0u);
    index.set_cache_capacity(0);
    SearchOptions options;
    size_t hub_hits = 0;
    for (size_t i = 0; i < 10; ++i) hub_hits += index.search(t.docs[i].text, options).stats.hub_hits;
    EXPECT_GT(hub_hits, 0u);
}

TEST(Index, StatsShowNoEmbeddingMatrixAndVerifyPasses) {
    TinyIndex t;
    Index index = t.open();
    const IndexStats s = index.stats();
    EXPECT_EQ(s.chunks, 400u);
    uint64_t largest_non_passage = 0;
    for (const auto& sec : s.sections)
        if (sec.tag != "PSGD" && sec.tag != "PQCB") largest_non_passage = std::max(largest_non_passage, sec.bytes);
    // PQCB (256 centroids per sub-space) does not grow with the chunk count; nothing else may be vector-sized.
    EXPECT_LT(largest_non_passage, 400u * 32 * sizeof(float) / 2) << "a section as large as the vectors";
    EXPECT_NE(s.config_json.find("tiny-model"), std::string::npos);
    EXPECT_NO_THROW(index.verify());
}

TEST(Index, DefaultPqCodeFollowsPassageLength) {
    // Short passages keep dims / 8 code bytes; passages averaging 512 bytes or more get dims / 4 (a recomputation
    // costs in proportion to the passage, the code's share of the index shrinks with it). Tiny model: 32 dims.
    TempDir dir;
    testing::write_tiny_model(dir.path() / "m", {});
    const auto encoder = std::shared_ptr<Encoder>(Encoder::load(dir.path() / "m", {.threads = 1}));
    const auto code_bytes = [&](const std::vector<Document>& docs, const std::string& name) {
        BuildOptions options;
        options.threads = 1;
        Index::build(dir.path() / name, docs, *encoder, options);
        const auto meta = nlohmann::json::parse(Index::open(dir.path() / name).stats().config_json);
        return meta.at("pq").at("code_bytes").get<size_t>();
    };
    std::vector<Document> docs = tiny_documents(300);
    EXPECT_EQ(code_bytes(docs, "short.leann"), 4u);
    std::vector<Document> long_docs = docs;
    for (Document& d : long_docs)
        while (d.text.size() < 520) d.text += " " + d.text;
    EXPECT_EQ(code_bytes(long_docs, "long.leann"), 8u);
    // Half long, half short: under the line on average: still the short code; an explicit size always wins.
    std::vector<Document> mixed = docs;
    for (size_t i = 0; i < mixed.size(); i += 2) mixed[i] = long_docs[i];
    EXPECT_EQ(code_bytes(mixed, "mixed.leann"), 4u);
    BuildOptions explicit_size;
    explicit_size.threads = 1;
    explicit_size.pq_bytes = 16;
    Index::build(dir.path() / "explicit.leann", long_docs, *encoder, explicit_size);
    EXPECT_EQ(nlohmann::json::parse(Index::open(dir.path() / "explicit.leann").stats().config_json)["pq"]["code_bytes"],
              16);
}

TEST(Index, RefusesAnotherModel) {
    TinyIndex t;
    TempDir other;
    testing::TinyModelSpec spec;
    spec.seed = 99;
    testing::write_tiny_model(other.path() / "other-model", spec);
    Index index = Index::open(t.path);
    try {
        index.attach_encoder(std::shared_ptr<Encoder>(Encoder::load(other.path() / "other-model", {.threads = 1})));
        FAIL() << "another model was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("built with model 'tiny-model'"), std::string::npos) << e.what();
    }
}

TEST(Index, CorruptSectionsAreNamed) {
    TinyIndex t;
    const std::vector<char> good = read_all(t.path);
    const store::IndexFile file = store::IndexFile::open(t.path);
    for (const auto& sec : file.sections()) {
        if (sec.size == 0) continue;
        std::vector<char> bad = good;
        bad[sec.offset + sec.size / 2] ^= 0x5a;
        write_all(t.path, bad);
        const std::string tag = store::tag_name(sec.tag);
        try {
            Index index = Index::open(t.path);
            index.verify();
            ADD_FAILURE() << "flipped byte in " << tag << " not detected";
        } catch (const FormatError& e) {
            EXPECT_NE(std::string(e.what()).find(tag), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(t.path.string()), std::string::npos) << e.what();
        }
    }
    for (size_t cut : {size_t(0), size_t(10), size_t(64), good.size() / 2, good.size() - 1}) {
        write_all(t.path, std::vector<char>(good.begin(), good.begin() + std::ptrdiff_t(cut)));
        EXPECT_THROW(Index::open(t.path), FormatError) << "cut at " << cut;
    }
    write_all(t.path, std::vector<char>{'{', '"', 'a', '"', ':', '1', '}', '\n'});
    EXPECT_THROW(Index::open(t.path), FormatError);
    write_all(t.path, good);
    EXPECT_NO_THROW(Index::open(t.path).verify());
}

TEST(Index, AFailedRebuildLeavesTheOldIndexAndNoTemporaryFiles) {
    TinyIndex t;
    const std::vector<char> before = read_all(t.path);
    BuildOptions options;
    options.threads = 1;
    options.progress = [](std::string_view stage, size_t, size_t) {
        if (stage == "write") throw Error("interrupted");
    };
    EXPECT_THROW(Index::build(t.path, tiny_documents(50, 9), *t.encoder, options), Error);
    EXPECT_EQ(read_all(t.path), before);
    size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(t.path.parent_path())) ++files;
    EXPECT_EQ(files, 1u);
}

TEST(Index, NamesCannotEscapeTheIndexFolder) {
    EXPECT_THROW(index_path_for_name("../x"), Error);
    EXPECT_THROW(index_path_for_name(".hidden"), Error);
    EXPECT_THROW(index_path_for_name("a/b"), Error);
    EXPECT_THROW(index_path_for_name(""), Error);
    EXPECT_EQ(index_path_for_name("notes").filename(), "index.leann");
}

TEST(JsonlReader, IdsTitlesMetadataAndBadLines) {
    TempDir dir;
    const auto file = dir.path() / "docs.jsonl";
    std::ofstream(file) << R"({"text": "alpha", "id": "a1", "lang": "en"})" << "\n"
                        << R"({"text": "beta", "_id": 7, "title": "Greek"})" << "\n"
                        << "\n"
                        << R"({"text": "gamma"})" << "\n"
                        << "not json\n"
                        << R"({"id": "no-text"})" << "\n"
                        << R"({"text": "   "})" << "\n"
                        << R"(["a", "list"])" << "\n"
                        << "{\"text\": \"bad \xff byte\"}\n";
    ReadReport report;
    const auto docs = read_jsonl_documents(file, report);
    ASSERT_EQ(docs.size(), 4u);
    EXPECT_EQ(docs[0].id, "a1");
    EXPECT_EQ(docs[0].metadata, R"({"lang":"en"})");
    EXPECT_EQ(docs[1].id, "7");
    EXPECT_EQ(docs[1].text, "Greek beta");
    EXPECT_EQ(docs[1].metadata, R"({"title":"Greek"})");
    EXPECT_EQ(docs[2].id, "4");  // the line number
    EXPECT_EQ(docs[3].text, "bad \xEF\xBF\xBD byte");
    EXPECT_EQ(report.skipped, 4u);
    ASSERT_EQ(report.warnings.size(), 4u);
    EXPECT_NE(report.warnings[0].find("docs.jsonl:5"), std::string::npos) << report.warnings[0];
    EXPECT_THROW(read_jsonl_documents(dir.path() / "missing.jsonl", report), Error);
}

}  // namespace
}  // namespace leann
