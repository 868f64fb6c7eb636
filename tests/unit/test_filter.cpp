// Metadata filters (leann/filter.h): globs, the --where short form, time bounds, filters from JSON, their errors,
// and filtered search: the top-k of the matching chunks against brute-force filtered ground truth at 0.1%, 10% and
// 90% selectivity, never fewer than k results when k chunks match, deleted chunks never matching, and path / type /
// language / modification-time filters over an index of files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "index/chunk_table.h"
#include "index/index_impl.h"
#include "leann/error.h"
#include "leann/filter.h"
#include "leann/index.h"
#include "leann/writer.h"
#include "search/vector_source.h"
#include "tiny_model.h"
#include "util/distance.h"

namespace leann {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// The chunk table's fast metadata reader gives exactly a full parse's fields, or defers to it.
TEST(ChunkTable, FastMetadataReaderAgreesWithAFullParse) {
    auto full = [](std::string_view text) {
        index::MetaFields out;
        const auto j = nlohmann::json::parse(text, nullptr, false);
        if (!j.is_object()) return out;
        if (auto s = j.find("source"); s != j.end() && s->is_string()) out.source = s->get<std::string>();
        if (auto s = j.find("type"); s != j.end() && s->is_string()) out.type = s->get<std::string>();
        if (auto s = j.find("language"); s != j.end() && s->is_string()) out.language = s->get<std::string>();
        if (auto s = j.find("start_line"); s != j.end() && s->is_number_unsigned()) out.start_line = s->get<uint64_t>();
        return out;
    };
    const char* fast[] = {
        R"({"source":"/a/b.py","start_line":12,"end_line":40,"type":"code","language":"python"})",
        R"({})", R"( { "type" : "code" } )", R"({"source":"x","source":7})", R"({"start_line":-3})",
        R"({"start_line":1.5,"a":null,"b":true,"c":false,"d":"q\"uote\n"})", R"({"start_line":"12"})",
        R"({"start_line":0,"x":-0.5e+3,"y":2E7})", R"({"type":"a","type":"b"})",
    };
    for (const char* text : fast) {
        const auto f = index::scan_meta(text);
        ASSERT_TRUE(f.has_value()) << text;
        const auto e = full(text);
        EXPECT_EQ(f->source, e.source) << text;
        EXPECT_EQ(f->type, e.type) << text;
        EXPECT_EQ(f->language, e.language) << text;
        EXPECT_EQ(f->start_line, e.start_line) << text;
    }
    // Deferred to the full parse (nested values, \u escapes, escapes in kept values, non-ASCII, malformed), and
    // meta_fields then agrees with it too.
    const char* deferred[] = {
        R"({"tags":["a","b"],"type":"code"})", R"({"source":"a\u00e9"})", R"({"source":"a\"b"})",
        "{\"source\":\"caf\xc3\xa9\"}", R"({"start_line":01})", R"({"a":1,})", R"({"a" 1})", R"([1])",
        R"({"a":tru})", R"({"a":1} x)", R"({"start_line":123456789012345678901})", R"({"a":"\x"})", "",
        R"({"a":-})", R"({"a":1.})", R"({"a":1e})", R"({"source":"a","x":1e400})", R"({"type":-1E+999})",
        R"({"source":"a","x":12345678901234567890123456789012345678901234567890123456789012345})",
    };
    for (const char* text : deferred) {
        EXPECT_FALSE(index::scan_meta(text).has_value()) << text;
        const auto m = index::meta_fields(text), e = full(text);
        EXPECT_EQ(m.source, e.source) << text;
        EXPECT_EQ(m.type, e.type) << text;
        EXPECT_EQ(m.start_line, e.start_line) << text;
    }
}

TEST(Glob, FileNamesFoldersAndTails) {
    EXPECT_TRUE(glob_match("*.py", "src/a/b.py"));
    EXPECT_TRUE(glob_match("*.py", "b.py"));
    EXPECT_FALSE(glob_match("*.py", "src/a/b.pyc"));
    EXPECT_TRUE(glob_match("src/**/*.py", "src/a/b/c.py"));
    EXPECT_TRUE(glob_match("src/**/*.py", "src/c.py"));
    EXPECT_TRUE(glob_match("src/**/*.py", "/home/me/repo/src/x/c.py"));
    EXPECT_TRUE(glob_match("src/**/*.py", "./src/c.py"));
    EXPECT_FALSE(glob_match("src/**/*.py", "lib/src2/c.py"));
    EXPECT_FALSE(glob_match("src/*.py", "src/a/c.py"));
    EXPECT_FALSE(glob_match("/src/*.py", "/home/src/c.py"));
    EXPECT_TRUE(glob_match("/home/**", "/home/src/c.py"));
    EXPECT_TRUE(glob_match("docs/**", "docs/a/b.md"));
    EXPECT_TRUE(glob_match("*.{md,txt}", "notes/a.txt"));
    EXPECT_FALSE(glob_match("*.{md,txt}", "notes/a.rst"));
    EXPECT_TRUE(glob_match("file[0-9].?s", "file7.js"));
    EXPECT_FALSE(glob_match("file[!0-9].js", "file7.js"));
    EXPECT_TRUE(glob_match("a\\*b", "a*b"));
    EXPECT_FALSE(glob_match("a\\*b", "axb"));
    // Many stars against a long non-matching path: linear, not exponential.
    std::string many;
    for (int i = 0; i < 200; ++i) many += "*a";
    EXPECT_FALSE(glob_match(many + "b", std::string(5000, 'a')));
}

TEST(Glob, MalformedGlobsAreNamed) {
    EXPECT_NE(error_of([] { glob_match("src/[ab", "x"); }).find("'src/[ab': unclosed '['"), std::string::npos);
    EXPECT_NE(error_of([] { glob_match("*.{md,txt", "x"); }).find("unclosed '{'"), std::string::npos);
    EXPECT_NE(error_of([] { glob_match("", "x"); }).find("empty"), std::string::npos);
    EXPECT_NE(error_of([] { glob_match("{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}", "x"); }).find("64"), std::string::npos);
}

TEST(FilterSyntax, WhereExpressions) {
    EXPECT_EQ(json::parse(where_from_expression("lang=python")), json::parse(R"({"lang":{"$eq":"python"}})"));
    EXPECT_EQ(json::parse(where_from_expression("year>=2020")), json::parse(R"({"year":{"$gte":2020}})"));
    EXPECT_EQ(json::parse(where_from_expression("score<0.5")), json::parse(R"({"score":{"$lt":0.5}})"));
    EXPECT_EQ(json::parse(where_from_expression("tag!=draft")), json::parse(R"({"tag":{"$ne":"draft"}})"));
    EXPECT_EQ(json::parse(where_from_expression("tag=a|b|3")), json::parse(R"({"tag":{"$in":["a","b",3]}})"));
    EXPECT_EQ(json::parse(where_from_expression("id=\"007\"")), json::parse(R"({"id":{"$eq":"007"}})"));
    EXPECT_EQ(json::parse(where_from_expression("ok=true")), json::parse(R"({"ok":{"$eq":true}})"));
    const std::vector<std::string> two = {"a=1", "b>2"};
    EXPECT_EQ(json::parse(where_from_expressions(two)),
              json::parse(R"({"$and":[{"a":{"$eq":1}},{"b":{"$gt":2}}]})"));
    EXPECT_EQ(where_from_expressions({}), "");
    EXPECT_NE(error_of([] { where_from_expression("lang"); }).find("expected FIELD=VALUE"), std::string::npos);
    EXPECT_NE(error_of([] { where_from_expression("=x"); }).find("no field name"), std::string::npos);
    EXPECT_NE(error_of([] { where_from_expression("year>="); }).find("no value"), std::string::npos);
    EXPECT_NE(error_of([] { where_from_expression("ok>true"); }).find("needs a number"), std::string::npos);
}

TEST(FilterSyntax, TimeBounds) {
    const int64_t now = 1'700'000'000;
    EXPECT_EQ(parse_time_bound("1234", "--modified-after", now), 1234);
    EXPECT_EQ(parse_time_bound("2024-05-01", "--modified-after", now), 1714521600);
    EXPECT_EQ(parse_time_bound("2024-05-01T12:30:00Z", "x", now), 1714521600 + 12 * 3600 + 30 * 60);
    EXPECT_EQ(parse_time_bound("2024-05-01 12:30", "x", now), 1714521600 + 12 * 3600 + 30 * 60);
    EXPECT_EQ(parse_time_bound("7d", "x", now), now - 7 * 86400);
    EXPECT_EQ(parse_time_bound("12h", "x", now), now - 12 * 3600);
    EXPECT_NE(error_of([&] { parse_time_bound("yesterday", "--modified-after", now); }).find("--modified-after"),
              std::string::npos);
    EXPECT_FALSE(error_of([&] { parse_time_bound("2024-13-01", "x", now); }).empty());
    EXPECT_FALSE(error_of([&] { parse_time_bound("7y", "x", now); }).empty());
}

TEST(FilterSyntax, FromJsonAndItsErrors) {
    const Filter f = filter_from_json(
        R"({"path":"src/**","exclude_path":["*.md","*.txt"],"type":"code","language":["python"],
            "modified_after":"2024-01-01","modified_before":1800000000,"where":{"year":{"$gt":1}}})",
        0);
    EXPECT_EQ(f.paths, std::vector<std::string>{"src/**"});
    EXPECT_EQ(f.exclude_paths.size(), 2u);
    EXPECT_EQ(f.types, std::vector<std::string>{"code"});
    EXPECT_EQ(*f.modified_after, 1704067200);
    EXPECT_EQ(*f.modified_before, 1800000000);
    EXPECT_EQ(json::parse(f.where), json::parse(R"({"year":{"$gt":1}})"));
    EXPECT_NE(error_of([] { filter_from_json(R"({"paht":"x"})", 0); }).find("unknown key 'paht'"),
              std::string::npos);
    EXPECT_NE(error_of([] { filter_from_json(R"({"path":3})", 0); }).find("'path'"), std::string::npos);
    EXPECT_NE(error_of([] { filter_from_json(R"({"where":[1]})", 0); }).find("'where'"), std::string::npos);
    EXPECT_NE(error_of([] { filter_from_json(R"({"where":{"year":{"$gtx":1}}})", 0); }).find("'$gtx'"),
              std::string::npos);
    EXPECT_NE(error_of([] { filter_from_json(R"({"where":{"year":{"$in":3}}})", 0); }).find("year"),
              std::string::npos);
    EXPECT_NE(error_of([] { filter_from_json(R"({"where":{"year":[1,2]}})", 0); }).find("year"), std::string::npos);
    EXPECT_NE(error_of([] { filter_from_json(R"({"where":{"$or":{}}})", 0); }).find("$or"), std::string::npos);
    std::string deep = R"({"a":1})";
    for (int i = 0; i < 40; ++i) deep = R"({"$and":[)" + deep + "]}";
    EXPECT_NE(error_of([&] { filter_from_json(R"({"where":)" + deep + "}", 0); }).find("deeper"), std::string::npos);
}

// ---- filtered search against brute force ----

struct VectorIndex {
    testing::TempDir dir;
    fs::path path = dir.path() / "index.leann";
    size_t n = 10000, dim = 24;
    std::vector<float> vectors;
    std::vector<Document> docs;

    VectorIndex() {
        std::mt19937 rng(11);
        std::normal_distribution<float> normal(0.f, 1.f);
        std::vector<float> centres(40 * dim);
        for (float& c : centres) c = normal(rng);
        vectors.resize(n * dim);
        for (size_t i = 0; i < n; ++i) {
            const float* c = centres.data() + (rng() % 40) * dim;
            for (size_t d = 0; d < dim; ++d) vectors[i * dim + d] = c[d] + 0.6f * normal(rng);
            // bucket 0..999 spread evenly, independent of the vector: a filter does not follow the geometry
            const std::string number = std::to_string(i);  // (appended, not "r" + ...: GCC 12 -Wrestrict noise)
            docs.push_back({std::string("r").append(number), std::string("text ").append(number),
                            json{{"bucket", (i * 7919) % 1000}, {"colour", i % 2 ? "red" : "blue"}}.dump()});
        }
        BuildOptions options;
        options.threads = 2;
        options.graph.max_degree = 16;
        options.graph.ef_construction = 64;
        options.pq_bytes = 12;  // 2 dims per code byte: a PQ that can guide the walk on 24-d data
        Index::build_from_vectors(path, docs, vectors, IndexModel{"m", "h", dim}, Metric::l2, options);
    }

    std::vector<uint32_t> truth(const float* q, const std::function<bool(size_t)>& keep, size_t k) const {
        std::vector<std::pair<float, uint32_t>> all;
        for (size_t i = 0; i < n; ++i)
            if (keep(i)) all.push_back({squared_l2(q, vectors.data() + i * dim, dim), uint32_t(i)});
        std::sort(all.begin(), all.end());
        std::vector<uint32_t> ids;
        for (size_t i = 0; i < std::min(k, all.size()); ++i) ids.push_back(all[i].second);
        return ids;
    }
};

VectorIndex& shared_index() {
    static VectorIndex index;
    return index;
}

struct Outcome {
    double recall = 0;
    size_t short_results = 0;  // queries that returned fewer than min(k, matches) hits
    size_t wrong = 0;          // hits outside the filter
};

Outcome run(const std::string& where, const std::function<bool(size_t)>& keep, size_t complexity, double share) {
    VectorIndex& v = shared_index();
    Index index = Index::open(v.path);
    search::OracleSource oracle(v.vectors.data(), v.n, v.dim);
    SearchOptions options;
    options.top_k = 10;
    options.complexity = complexity;
    options.recompute_share = share;
    options.filter.where = where;
    size_t matches = 0;
    for (size_t i = 0; i < v.n; ++i) matches += keep(i) ? 1 : 0;
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.f, 1.f);
    Outcome out;
    const size_t queries = 40;
    for (size_t q = 0; q < queries; ++q) {
        std::vector<float> query(v.dim);
        const float* base = v.vectors.data() + (rng() % v.n) * v.dim;
        for (size_t d = 0; d < v.dim; ++d) query[d] = base[d] + 0.3f * normal(rng);
        const SearchResult r = detail::IndexInternals::search(index, query, options, &oracle, false);
        const std::vector<uint32_t> truth = v.truth(query.data(), keep, options.top_k);
        size_t found = 0;
        for (const Hit& h : r.hits) {
            if (!keep(h.node)) ++out.wrong;
            found += std::count(truth.begin(), truth.end(), h.node) ? 1 : 0;
        }
        if (r.hits.size() < std::min<size_t>(options.top_k, matches)) ++out.short_results;
        out.recall += truth.empty() ? 1.0 : double(found) / double(truth.size());
    }
    out.recall /= double(queries);
    std::printf("filtered search: where %s, %zu of %zu match, complexity %zu, share %.1f: recall@10 %.3f\n",
                where.empty() ? "(none)" : where.c_str(), matches, v.n, complexity, share, out.recall);
    return out;
}

TEST(FilteredSearch, MatchingNodesAreWhatTheFilterSays) {
    VectorIndex& v = shared_index();
    Index index = Index::open(v.path);
    Filter f;
    f.where = R"({"$or":[{"bucket":{"$lt":3}},{"bucket":{"$in":[500,501]}}],"colour":"red"})";
    std::vector<uint32_t> expected;
    for (uint32_t i = 0; i < v.n; ++i) {
        const size_t b = (i * 7919) % 1000;
        if ((b < 3 || b == 500 || b == 501) && i % 2) expected.push_back(i);
    }
    EXPECT_EQ(index.matching(f), expected);
}

TEST(FilteredSearch, SelectiveFilterPointOnePercentReturnsEveryMatchExactly) {
    // bucket == 0: 10 of 10,000 chunks (0.1%); k = 10 so every one must come back, in exact order.
    const Outcome o = run(R"({"bucket":0})", [](size_t i) { return (i * 7919) % 1000 == 0; }, 0, 0);
    EXPECT_EQ(o.short_results, 0u);
    EXPECT_EQ(o.wrong, 0u);
    EXPECT_DOUBLE_EQ(o.recall, 1.0);
}

TEST(FilteredSearch, TenPercentWalkAndScanKeepUnfilteredRecall) {
    auto keep = [](size_t i) { return (i * 7919) % 1000 < 100; };
    const Outcome unfiltered_walk = run("", [](size_t) { return true; }, 64, 0);
    for (size_t complexity : {size_t(64), size_t(0)}) {  // 64: the filtered walk; 0 (800): the direct scan
        const Outcome o = run(R"({"bucket":{"$lt":100}})", keep, complexity, 0);
        EXPECT_EQ(o.short_results, 0u) << complexity;
        EXPECT_EQ(o.wrong, 0u) << complexity;
        EXPECT_GE(o.recall, std::min(0.95, unfiltered_walk.recall - 0.03)) << complexity;
        EXPECT_GE(o.recall, 0.9) << complexity;
    }
    // The interleaved two-level search (share > 0) filters the same way.
    const Outcome interleaved = run(R"({"bucket":{"$lt":100}})", keep, 64, 0.3);
    EXPECT_EQ(interleaved.short_results, 0u);
    EXPECT_EQ(interleaved.wrong, 0u);
    EXPECT_GE(interleaved.recall, 0.9);
}

TEST(FilteredSearch, NinetyPercentMatchesUnfilteredRecall) {
    auto keep = [](size_t i) { return (i * 7919) % 1000 >= 100; };
    const Outcome unfiltered = run("", [](size_t) { return true; }, 64, 0);
    const Outcome o = run(R"({"bucket":{"$gte":100}})", keep, 64, 0);
    EXPECT_EQ(o.short_results, 0u);
    EXPECT_EQ(o.wrong, 0u);
    EXPECT_GE(o.recall, unfiltered.recall - 0.03);
    EXPECT_GE(o.recall, 0.9);
}

TEST(FilteredSearch, NoMatchGivesNoResultsAndBadFieldsAreNamed) {
    VectorIndex& v = shared_index();
    Index index = Index::open(v.path);
    search::OracleSource oracle(v.vectors.data(), v.n, v.dim);
    SearchOptions options;
    options.filter.where = R"({"bucket":{"$gt":5000}})";
    const std::vector<float> q(v.dim, 0.f);
    EXPECT_TRUE(detail::IndexInternals::search(index, q, options, &oracle, false).hits.empty());
    options.filter.where = R"({"buckt":1})";
    const std::string unknown = error_of([&] { detail::IndexInternals::search(index, q, options, &oracle, false); });
    EXPECT_NE(unknown.find("unknown field 'buckt'"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("bucket"), std::string::npos) << unknown;  // lists the fields there are
    options.filter.where = R"({"colour":{"$gt":3}})";
    const std::string kind = error_of([&] { detail::IndexInternals::search(index, q, options, &oracle, false); });
    EXPECT_NE(kind.find("'colour' holds strings"), std::string::npos) << kind;
    // A number given where the field holds numbers as text still matches (FIELD=VALUE from a command line).
    Filter f;
    f.where = R"({"colour":{"$in":["red"]}})";
    EXPECT_EQ(index.matching(f).size(), v.n / 2);
    f.types = {"pdf"};
    EXPECT_NE(error_of([&] { index.matching(f); }).find("type 'pdf'"), std::string::npos);
}

// ---- deleted records, and filters over files ----

fs::path tiny_model_dir() {
    return fs::path(LEANN_TEST_DATA_DIR) / "golden" / "embeddings" / "tiny_models" / "tiny-cls-norm";
}

TEST(FilteredSearch, DeletedRecordsNeverMatch) {
    testing::TempDir dir;
    auto encoder = std::shared_ptr<Encoder>(Encoder::load(tiny_model_dir()));
    const fs::path path = dir.path() / "index.leann";
    std::vector<Document> docs;
    for (int i = 0; i < 60; ++i)
        docs.push_back({"d" + std::to_string(i), "note number " + std::to_string(i) + " about apples",
                        json{{"group", i % 3 == 0 ? "keep" : "other"}}.dump()});
    {
        IndexWriter writer(path, encoder);
        writer.upsert(docs);
        const std::vector<std::string> gone = {"d0", "d3", "d6", "d9"};
        writer.remove(gone);
    }
    Index index = Index::open(path);
    index.attach_encoder(encoder);
    Filter f;
    f.where = R"({"group":"keep"})";
    const std::vector<uint32_t> nodes = index.matching(f);
    EXPECT_EQ(nodes.size(), 20u - 4u);
    for (uint32_t v : nodes) EXPECT_TRUE(index.live(v));
    SearchOptions options;
    options.top_k = 50;
    options.filter = f;
    const SearchResult r = index.search("apples", options);
    EXPECT_EQ(r.hits.size(), 16u);
    for (const Hit& h : r.hits) {
        EXPECT_EQ(json::parse(h.metadata)["group"], "keep");
        EXPECT_NE(h.id, "d0");
        EXPECT_NE(h.id, "d3");
    }
}

TEST(FilteredSearch, PathTypeLanguageAndTimeOverFiles) {
    testing::TempDir dir;
    const fs::path tree = dir.path() / "tree";
    auto write = [&](const std::string& rel, const std::string& text, int64_t mtime_s) {
        fs::create_directories((tree / rel).parent_path());
        std::ofstream(tree / rel) << text;
        const auto t = fs::file_time_type::clock::now() +
                       std::chrono::seconds(mtime_s - std::chrono::duration_cast<std::chrono::seconds>(
                                                          std::chrono::system_clock::now().time_since_epoch())
                                                          .count());
        fs::last_write_time(tree / rel, t);
    };
    write("src/app/main.py", "def main():\n    print('hello')\n", 1600000000);
    write("src/app/util.py", "def util():\n    return 1\n", 1700000000);
    write("src/lib.cpp", "int lib() { return 2; }\n", 1700000000);
    write("docs/guide.md", "# Guide\n\nHow to use the app.\n", 1710000000);
    write("notes.txt", "plain notes about the app\n", 1720000000);
    auto encoder = std::shared_ptr<Encoder>(Encoder::load(tiny_model_dir()));
    const fs::path path = dir.path() / "idx" / "index.leann";
    {
        IndexWriter writer(path, encoder);
        const fs::path roots[] = {tree};
        writer.sync(roots, SyncOptions{});
    }
    Index index = Index::open(path);
    index.attach_encoder(encoder);
    auto sources = [&](const Filter& f) {
        std::set<std::string> out;
        for (uint32_t v : index.matching(f))
            out.insert(fs::path(json::parse(index.document(v).metadata)["source"].get<std::string>()).filename());
        return out;
    };
    Filter f;
    f.paths = {"src/**/*.py"};
    EXPECT_EQ(sources(f), (std::set<std::string>{"main.py", "util.py"}));
    f.paths = {"src/**"};
    f.exclude_paths = {"*.cpp", "main.*"};
    EXPECT_EQ(sources(f), (std::set<std::string>{"util.py"}));
    f = {};
    f.types = {"code"};
    EXPECT_EQ(sources(f), (std::set<std::string>{"main.py", "util.py", "lib.cpp"}));
    f.languages = {"CPP"};
    EXPECT_EQ(sources(f), (std::set<std::string>{"lib.cpp"}));
    f = {};
    f.modified_after = 1700000000;
    f.modified_before = 1715000000;
    EXPECT_EQ(sources(f), (std::set<std::string>{"util.py", "lib.cpp", "guide.md"}));
    f = {};
    f.where = R"({"type":{"$in":["markdown","text"]}})";
    EXPECT_EQ(sources(f), (std::set<std::string>{"guide.md", "notes.txt"}));
    // Search: never fewer than k when k chunks match.
    SearchOptions options;
    options.top_k = 2;
    options.filter.paths = {"*.py"};
    const SearchResult r = index.search("hello", options);
    ASSERT_EQ(r.hits.size(), 2u);
    for (const Hit& h : r.hits) EXPECT_NE(h.id.find(".py"), std::string::npos);
}

}  // namespace
}  // namespace leann
