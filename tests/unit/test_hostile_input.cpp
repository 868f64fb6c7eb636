// Hostile input that is well-formed on the surface (issue 14): JSON nested far deeper than any real document, and
// index files whose checksums are valid but whose contents are poisoned (NaN centroids, impossible counts,
// non-string or path-like model names). Every entry point must refuse with the file/field named, never crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>

#include "chat_reply.h"
#include "http_api.h"
#include "http_params.h"
#include "index/layout.h"
#include "json_output.h"
#include "leann/error.h"
#include "leann/index.h"
#include "leann/ingest.h"
#include "prompt.h"
#include "search/two_level_search.h"
#include "store/index_file.h"
#include "tiny_model.h"
#include "util/json_limits.h"

namespace leann {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// 100,000 levels: far past any stack when built, copied, printed or destroyed recursively.
std::string deep_array(size_t levels = 100000) { return std::string(levels, '[') + std::string(levels, ']'); }

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(JsonLimits, CountsNestingOnTheRawTextOnly) {
    EXPECT_FALSE(json_limits::nesting_error(std::string(256, '[') + std::string(256, ']')));
    const auto deep = json_limits::nesting_error(std::string(257, '[') + std::string(257, ']'));
    ASSERT_TRUE(deep);
    EXPECT_EQ(*deep, "JSON nests deeper than 256 levels");
    // Brackets inside strings, escaped quotes included, are text.
    EXPECT_FALSE(json_limits::nesting_error("{\"a\": \"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') +
                                            "\"}"));
    std::string why;
    EXPECT_TRUE(json_limits::parse_or_discarded(deep_array(), &why).is_discarded());
    EXPECT_EQ(why, "JSON nests deeper than 256 levels");
    EXPECT_TRUE(json_limits::parse_or_discarded("{\"a\": [1, 2", &why).is_discarded());
    EXPECT_TRUE(has(why, "not valid JSON")) << why;
    EXPECT_EQ(json_limits::parse_or_discarded("{\"a\": [[1]]}")["a"][0][0], 1);
    try {
        json_limits::parse("{\"m\": " + deep_array() + "}", "x.json");
        FAIL() << "deep JSON accepted";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "x.json: JSON nests deeper than 256 levels");
    }
}

TEST(JsonLimits, ADeepRecordIsSkippedWithFileAndLine) {
    TempDir dir;
    const auto file = dir.path() / "docs.jsonl";
    std::ofstream(file) << R"({"text": "first"})" << "\n"
                        << R"({"text": "deep", "m": )" << std::string(75000, '[') << std::string(75000, ']') << "}\n"
                        << R"({"text": "third"})" << "\n";
    ReadReport report;
    const auto docs = read_jsonl_documents(file, report);
    ASSERT_EQ(docs.size(), 2u);
    EXPECT_EQ(docs[1].text, "third");
    ASSERT_EQ(report.warnings.size(), 1u);
    EXPECT_TRUE(has(report.warnings[0], "docs.jsonl:2")) << report.warnings[0];
    EXPECT_TRUE(has(report.warnings[0], "JSON nests deeper than 256 levels")) << report.warnings[0];
}

TEST(JsonLimits, ADeepHttpBodyIsABadRequest) {
    try {
        server::parse_json_object("{\"query\": " + deep_array() + "}");
        FAIL() << "deep body accepted";
    } catch (const server::HttpError& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_TRUE(has(e.what(), "nests deeper than 64 levels")) << e.what();  // request bodies: 64
    }
}

TEST(JsonLimits, ADeepLlmReplyIsAnErrorNotACrash) {
    {  // one JSON body
        rag::ChatReplyDecoder decoder([](std::string_view) {});
        decoder.feed("{\"choices\": " + deep_array() + "}");
        EXPECT_THROW(decoder.finish(), Error);
    }
    {  // a stream: the deep event is skipped as malformed, the good one is read
        std::string answer;
        rag::ChatReplyDecoder decoder([&](std::string_view t) { answer += t; });
        decoder.feed("data: {\"choices\": " + deep_array() + "}\n\n");
        decoder.feed("data: {\"choices\": [{\"delta\": {\"content\": \"ok\"}}]}\n\ndata: [DONE]\n\n");
        decoder.finish();
        EXPECT_EQ(answer, "ok");
    }
    EXPECT_FALSE(rag::server_error_message("{\"error\": " + deep_array() + "}").empty());
}

TEST(JsonLimits, DeepPassageMetadataIsShownAsText) {
    const std::string deep = "{\"source\": " + deep_array() + "}";
    EXPECT_EQ(apps::metadata_json(deep), nlohmann::json(deep));
    Hit hit;
    hit.id = "doc-1";
    hit.metadata = deep;
    EXPECT_EQ(rag::passage_from_hit(hit).source, "doc-1");
}

// --- Poisoned but checksummed index files ---

struct TinyIndex {
    TempDir dir;
    fs::path model_dir = dir.path() / "tiny-model";
    fs::path path = dir.path() / "idx" / "index.leann";
    std::shared_ptr<Encoder> encoder;

    TinyIndex() {
        testing::write_tiny_model(model_dir, {});
        encoder = std::shared_ptr<Encoder>(Encoder::load(model_dir, {.threads = 1}));
        std::vector<Document> docs;
        const char* words[] = {"quick", "brown", "fox", "jumps", "over", "lazy", "dog", "search", "index", "graph"};
        for (size_t i = 0; i < 60; ++i)
            docs.push_back({"doc-" + std::to_string(i),
                            std::string(words[i % 10]) + " " + words[(i * 3 + 1) % 10] + " " + words[(i * 7) % 10],
                            "{}"});
        BuildOptions options;
        options.threads = 1;
        options.graph.max_degree = 8;
        options.graph.hub_degree = 8;
        options.graph.pruned_degree = 4;
        options.hub_cache_bytes = 4096;  // a few hub vectors, so HUBV is not empty
        Index::build(path, docs, *encoder, options);
    }
};

// Rewrites the index with one section's bytes edited and every checksum valid again, so what fires is the
// structure check, not the checksum.
void reseal(const fs::path& path, uint32_t tag, const std::function<void(std::vector<std::byte>&)>& edit) {
    std::vector<std::pair<uint32_t, std::vector<std::byte>>> sections;
    uint32_t generation = 1;
    {
        const store::IndexFile file = store::IndexFile::open(path);
        generation = file.generation();
        std::ifstream in(path, std::ios::binary);
        for (const auto& s : file.sections()) {
            std::vector<std::byte> bytes(s.size);
            in.seekg(std::streamoff(s.offset));
            in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(s.size));
            sections.emplace_back(s.tag, std::move(bytes));
        }
    }
    bool found = false;
    store::IndexFileWriter writer(path);
    writer.set_generation(generation);
    for (auto& [t, bytes] : sections) {
        if (t == tag) {
            edit(bytes);
            found = true;
        }
        writer.add_section(t, bytes);
    }
    writer.commit();
    ASSERT_TRUE(found) << store::tag_name(tag);
}

std::string open_error(const fs::path& path) {
    try {
        Index index = Index::open(path);
        index.verify();
    } catch (const FormatError& e) {
        return e.what();
    }
    return "(opened)";
}

void set_meta(std::vector<std::byte>& bytes, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json meta = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    edit(meta);
    const std::string text = meta.dump();
    const auto* first = reinterpret_cast<const std::byte*>(text.data());
    bytes.assign(first, first + text.size());
}

TEST(PoisonedIndex, ResealingAloneKeepsTheIndexValid) {
    TinyIndex t;
    reseal(t.path, index::kMeta, [](std::vector<std::byte>&) {});
    EXPECT_EQ(open_error(t.path), "(opened)");
}

TEST(PoisonedIndex, NonFiniteCentroidsAndHubVectorsAreRefused) {
    for (float poison : {std::nanf(""), INFINITY}) {
        TinyIndex t;
        reseal(t.path, index::kPqCentroids, [&](std::vector<std::byte>& b) {
            std::memcpy(b.data() + 4 * 17, &poison, 4);
        });
        const std::string e = open_error(t.path);
        EXPECT_TRUE(has(e, t.path.string()) && has(e, "PQCB") && has(e, "value 17 is not a finite number")) << e;
    }
    TinyIndex t;
    ASSERT_GT(fs::file_size(t.path), 0u);
    reseal(t.path, index::kHubVectors, [](std::vector<std::byte>& b) {
        ASSERT_GE(b.size(), 8u);
        const float nan = std::nanf("");
        std::memcpy(b.data() + 4, &nan, 4);
    });
    const std::string e = open_error(t.path);
    EXPECT_TRUE(has(e, "HUBV") && has(e, "value 1 (hub 0) is not a finite number")) << e;
}

TEST(PoisonedIndex, CountsBeyondTheNodeCountAreRefused) {
    TinyIndex t;
    reseal(t.path, index::kInfo, [](std::vector<std::byte>& b) {
        index::Info info;
        std::memcpy(&info, b.data(), sizeof info);
        info.deleted = info.nodes + 300;
        std::memcpy(b.data(), &info, sizeof info);
    });
    const std::string e = open_error(t.path);
    EXPECT_TRUE(has(e, "INFO") && has(e, "deleted count 360 exceeds the node count 60")) << e;

    TinyIndex u;  // 60 nodes: the tombstone bitmap's last byte has 4 padding bits, which must stay clear
    reseal(u.path, index::kTombstones, [](std::vector<std::byte>& b) { b.back() = std::byte{0x80}; });
    reseal(u.path, index::kInfo, [](std::vector<std::byte>& b) {
        index::Info info;
        std::memcpy(&info, b.data(), sizeof info);
        info.deleted = 1;
        std::memcpy(b.data(), &info, sizeof info);
    });
    const std::string e2 = open_error(u.path);
    EXPECT_TRUE(has(e2, "TOMB") && has(e2, "past the last node")) << e2;
}

TEST(PoisonedIndex, MetaFieldsAreCheckedAndNamed) {
    TinyIndex t;
    const std::vector<std::pair<nlohmann::json, std::string>> cases = {
        {42, "model.name is not a string"},
        {"../x", "not a plain model name"},
        {"/tmp/evil-model", "not a plain model name"},
        {"org/model", "not a plain model name"},
        {"", "not a plain model name"},
    };
    for (const auto& one : cases) {
        const nlohmann::json& name = one.first;  // (clang 14 cannot capture a structured binding)
        const std::string& expected = one.second;
        TinyIndex u;
        reseal(u.path, index::kMeta, [&](std::vector<std::byte>& b) {
            set_meta(b, [&](nlohmann::json& m) { m["model"]["name"] = name; });
        });
        const std::string e = open_error(u.path);
        EXPECT_TRUE(has(e, u.path.string()) && has(e, "META") && has(e, expected)) << name << ": " << e;
    }
    reseal(t.path, index::kMeta, [](std::vector<std::byte>& b) {
        set_meta(b, [](nlohmann::json& m) { m["model"]["content_hash"] = nlohmann::json::array({1}); });
    });
    EXPECT_TRUE(has(open_error(t.path), "META: model.content_hash is not a string")) << open_error(t.path);
}

// The adaptive re-rank's error profile (META pq.rerank_margins) is only advice: a malformed one opens, says so in
// `stats`, and searches re-rank the fixed fallback instead, as for an index built before the profile existed.
TEST(PoisonedIndex, MalformedRerankMarginsFallBackToAFixedRerank) {
    auto exact_per_query = [](const fs::path& path, const std::shared_ptr<Encoder>& encoder) {
        Index index = Index::open(path);
        index.attach_encoder(encoder);
        index.set_cache_capacity(0);
        SearchOptions o;
        o.mode = SearchMode::vector;
        o.top_k = 3;
        const SearchResult r = index.search("quick fox", o);
        EXPECT_EQ(r.hits.size(), 3u);
        return r.stats.recomputed + r.stats.hub_hits + r.stats.lru_hits;
    };
    {
        TinyIndex t;
        const IndexStats st = Index::open(t.path).stats();
        EXPECT_TRUE(st.adaptive_rerank);
        EXPECT_LT(exact_per_query(t.path, t.encoder), 60u) << "the adaptive re-rank stops before the whole list";
    }
    const std::vector<nlohmann::json> bad = {
        "x", 7, nlohmann::json::array({nlohmann::json::array({0.5, "a"})}),
        nlohmann::json::array({nlohmann::json::array({0.9, 0.1}), nlohmann::json::array({0.5, 0.2})}),
        nlohmann::json::array({nlohmann::json::array({2.0, 0.1})}),
        nlohmann::json::array({nlohmann::json::array({0.5, 0.3}), nlohmann::json::array({0.9, 0.1})}),
        nlohmann::json::array({nlohmann::json::array({0.5})}),
        nlohmann::json::array({nlohmann::json::array({0.5, 1e300})}), nullptr};
    for (const nlohmann::json& value : bad) {
        TinyIndex t;
        reseal(t.path, index::kMeta, [&](std::vector<std::byte>& b) {
            set_meta(b, [&](nlohmann::json& m) { m["pq"]["rerank_margins"] = value; });
        });
        IndexStats st;
        ASSERT_NO_THROW(st = Index::open(t.path).stats()) << value.dump();
        EXPECT_FALSE(st.adaptive_rerank) << value.dump();
        // All 60 chunks are within the fixed re-rank of 64.
        EXPECT_EQ(exact_per_query(t.path, t.encoder), 60u) << value.dump();
    }
}

TEST(PoisonedIndex, DeeplyNestedMetaIsRefused) {
    TinyIndex t;
    reseal(t.path, index::kMeta, [](std::vector<std::byte>& b) {
        const std::string text = "{\"model\": {\"name\": \"x\"}, \"graph\": " + deep_array() + "}";
        b.assign(reinterpret_cast<const std::byte*>(text.data()),
                 reinterpret_cast<const std::byte*>(text.data()) + text.size());
    });
    const std::string e = open_error(t.path);
    EXPECT_TRUE(has(e, "META") && has(e, "JSON nests deeper than 256 levels")) << e;
}

// NaN distances (a poisoned model, or a query vector gone bad) must neither stall the two-level search nor break
// its ordering: every path through the loop makes progress.
TEST(PoisonedIndex, SearchTerminatesOnNanDistances) {
    const size_t n = 300, dim = 16;
    std::mt19937 rng(5);
    std::normal_distribution<float> normal;
    std::vector<float> base(n * dim);
    for (float& x : base) x = normal(rng);
    graph::BuildParams build;
    build.max_degree = 8;
    build.ef_construction = 32;
    build.threads = 1;
    const graph::Graph g = graph::build_hnsw(base.data(), n, dim, Metric::l2, build);
    pq::TrainParams train;
    train.subquantizers = 4;
    train.threads = 1;
    const pq::ProductQuantizer trained = pq::ProductQuantizer::train(base.data(), n, dim, train);
    std::vector<uint8_t> codes(n * trained.code_size());
    trained.encode(base.data(), n, codes.data(), 1);
    // Half the centroids NaN: the approximate queue's top is NaN as soon as one such code is seen.
    std::vector<float> centroids(trained.centroids().begin(), trained.centroids().end());
    for (size_t i = 0; i < centroids.size(); i += 2) centroids[i] = std::nanf("");
    const pq::ProductQuantizer poisoned = pq::ProductQuantizer::from_centroids(dim, 4, centroids);

    search::SearchContext ctx;
    ctx.graph = graph::GraphView(g);
    ctx.pq = &poisoned;
    ctx.codes = codes;
    ctx.metric = Metric::l2;
    search::OracleSource oracle(base.data(), n, dim);
    search::Searcher searcher(ctx);
    for (double share : {0.0, 0.25, 1.0}) {
        search::SearchParams params;
        params.top_k = 5;
        params.complexity = 32;
        params.recompute_share = share;
        const auto hits = searcher.search(base.data() + 7 * dim, oracle, params);
        ASSERT_FALSE(hits.empty()) << "share " << share;
        for (const auto& h : hits) EXPECT_FALSE(std::isnan(h.distance));
    }
    // A NaN query: every distance is NaN. The search ends (what it returns is of no use, but it returns).
    std::vector<float> nan_query(dim, std::nanf(""));
    search::SearchParams params;
    params.top_k = 5;
    params.recompute_share = 0.5;
    EXPECT_LE(searcher.search(nan_query.data(), oracle, params).size(), 5u);
}

}  // namespace
}  // namespace leann
