// leann grep (leann/grep.h): matches reported at the source file's line numbers with context, every line once
// although chunks overlap, case options, fixed strings, limits, filters, records under their ids, and patterns
// that would backtrack catastrophically in a backtracking engine (run in linear time) or that RE2 cannot run
// (refused with a message).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "leann/error.h"
#include "leann/grep.h"
#include "leann/index.h"
#include "leann/writer.h"
#include "tiny_model.h"

namespace leann {
namespace {

namespace fs = std::filesystem;

struct GrepTree {
    testing::TempDir dir;
    fs::path tree = dir.path() / "tree";
    fs::path path = dir.path() / "idx" / "index.leann";
    std::map<std::string, std::vector<std::string>> files;  // name -> lines

    GrepTree() {
        std::vector<std::string> long_lines;
        for (int i = 1; i <= 400; ++i)
            long_lines.push_back("line " + std::to_string(i) + (i % 50 == 0 ? " Needle here" : " hay stack words"));
        files["src/long.txt"] = long_lines;
        files["src/code.py"] = {"def alpha():", "    return NEEDLE", "", "def beta():", "    return 2"};
        files["docs/readme.md"] = {"# Title", "", "a needle in the docs", "end"};
        for (const auto& [name, lines] : files) {
            fs::create_directories((tree / name).parent_path());
            std::ofstream out(tree / name);
            for (const auto& l : lines) out << l << "\n";
        }
        auto encoder = std::shared_ptr<Encoder>(Encoder::load(
            fs::path(LEANN_TEST_DATA_DIR) / "golden" / "embeddings" / "tiny_models" / "tiny-cls-norm"));
        IndexWriter writer(path, encoder);
        const fs::path roots[] = {tree};
        writer.sync(roots, SyncOptions{});
    }
};

std::vector<GrepFile> run(const Index& index, const GrepOptions& o, GrepStats* stats = nullptr) {
    std::vector<GrepFile> out;
    const GrepStats s = grep(index, o, [&](const GrepFile& f) {
        out.push_back(f);
        return true;
    });
    if (stats) *stats = s;
    return out;
}

std::string name_of(const GrepFile& f) { return fs::path(f.path).filename().string(); }

TEST(Grep, LinesAreTheFilesLinesEachOnceAcrossOverlappingChunks) {
    GrepTree t;
    const Index index = Index::open(t.path);
    ASSERT_GT(index.size(), 3u);  // the long file is several (overlapping) chunks
    GrepOptions o;
    o.pattern = "^line \\d+ ";
    GrepStats stats;
    const auto files = run(index, o, &stats);
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(name_of(files[0]), "long.txt");
    ASSERT_EQ(files[0].lines.size(), 400u);
    for (const GrepLine& l : files[0].lines) {
        EXPECT_TRUE(l.match);
        EXPECT_EQ(l.text, t.files["src/long.txt"][l.line - 1]) << l.line;
    }
    EXPECT_EQ(stats.matches, 400u);
    EXPECT_EQ(stats.files, 1u);
}

TEST(Grep, CaseModesContextAndSpans) {
    GrepTree t;
    const Index index = Index::open(t.path);
    GrepOptions o;
    o.pattern = "needle";
    auto count = [&](const GrepOptions& opt) {
        size_t n = 0;
        for (const auto& f : run(index, opt)) n += f.matches;
        return n;
    };
    EXPECT_EQ(count(o), 1u);  // case-sensitive: only the docs line
    o.case_mode = GrepCase::insensitive;
    EXPECT_EQ(count(o), 8u + 1u + 1u);
    o.case_mode = GrepCase::smart;
    EXPECT_EQ(count(o), 10u);  // lower-case pattern: insensitive
    o.pattern = "Needle";
    EXPECT_EQ(count(o), 8u);  // an upper-case letter: sensitive
    o.pattern = "NEEDLE";
    o.case_mode = GrepCase::sensitive;
    o.before = 1;
    o.after = 2;
    const auto files = run(index, o);
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(name_of(files[0]), "code.py");
    ASSERT_EQ(files[0].lines.size(), 4u);  // line 1 (before), 2 (match), 3 and 4 (after)
    EXPECT_EQ(files[0].lines[0].line, 1u);
    EXPECT_FALSE(files[0].lines[0].match);
    EXPECT_EQ(files[0].lines[1].line, 2u);
    EXPECT_TRUE(files[0].lines[1].match);
    ASSERT_EQ(files[0].lines[1].spans.size(), 1u);
    EXPECT_EQ(files[0].lines[1].spans[0], (std::pair<size_t, size_t>{11, 17}));
    EXPECT_EQ(files[0].lines[3].text, "def beta():");
}

TEST(Grep, FixedStringsLimitsAndFilters) {
    GrepTree t;
    const Index index = Index::open(t.path);
    GrepOptions o;
    o.pattern = "line 1 hay.";
    o.fixed_strings = true;
    EXPECT_EQ(run(index, o).size(), 0u);  // '.' is literal: "line 1 hay stack" does not have "hay."
    o.fixed_strings = false;
    EXPECT_EQ(run(index, o).at(0).matches, 1u);
    o = {};
    o.pattern = "hay";
    o.max_count = 5;
    EXPECT_EQ(run(index, o).at(0).matches, 5u);
    o.max_count = 0;
    o.max_total = 7;
    GrepStats stats;
    run(index, o, &stats);
    EXPECT_EQ(stats.matches, 7u);
    EXPECT_TRUE(stats.truncated);
    o = {};
    o.pattern = "(?i)needle";
    o.filter.paths = {"*.md"};
    const auto md = run(index, o);
    ASSERT_EQ(md.size(), 1u);
    EXPECT_EQ(name_of(md[0]), "readme.md");
    EXPECT_EQ(md[0].lines.at(0).line, 3u);
    o.filter = {};
    o.filter.exclude_paths = {"src/**"};
    EXPECT_EQ(run(index, o).size(), 1u);
}

TEST(Grep, CostlyPatternsRunInLinearTimeOrAreRefused) {
    GrepTree t;
    const Index index = Index::open(t.path);
    GrepOptions o;
    o.pattern = "(a+)+$";  // exponential for a backtracking engine on "aaaa...b"; linear for RE2
    EXPECT_NO_THROW(run(index, o));
    o.pattern = "(\\w+)\\s\\1";
    try {
        run(index, o);
        FAIL() << "a backreference was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("backreferences"), std::string::npos) << e.what();
    }
    o.pattern = "((((a{1,100}){1,100}){1,100}){1,100})";
    try {
        run(index, o);
        FAIL() << "a pattern over the memory bound was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("invalid pattern"), std::string::npos) << e.what();
    }
    o.pattern = "";
    EXPECT_THROW(run(index, o), Error);
}

TEST(Grep, RecordsAreReportedUnderTheirIds) {
    testing::TempDir dir;
    const fs::path path = dir.path() / "index.leann";
    auto encoder = std::shared_ptr<Encoder>(Encoder::load(
        fs::path(LEANN_TEST_DATA_DIR) / "golden" / "embeddings" / "tiny_models" / "tiny-cls-norm"));
    {
        IndexWriter writer(path, encoder);
        const std::vector<Document> docs = {{"rec-1", "first line\nthe target word\n", "{}"},
                                            {"rec-2", "nothing here", "{}"},
                                            {"rec-3", "target again", "{}"}};
        writer.upsert(docs);
        const std::vector<std::string> gone = {"rec-3"};
        writer.remove(gone);  // deleted records are never reported
    }
    const Index index = Index::open(path);
    GrepOptions o;
    o.pattern = "target";
    const auto files = run(index, o);
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].path, "rec-1");
    EXPECT_TRUE(files[0].record);
    EXPECT_EQ(files[0].lines.at(0).line, 2u);
}

}  // namespace
}  // namespace leann
