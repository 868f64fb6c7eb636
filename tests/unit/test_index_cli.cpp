// The index commands of the leann program on a tiny random-weight model: build from JSONL (bad lines skipped),
// search (text, --json, --queries), stats, verify (--recall), and the errors a user meets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli_runner.h"
#include "tiny_model.h"

namespace leann {
namespace {

using testing::last_json_line;
using testing::run_cli;

struct CliIndex {
    testing::TempDir dir;
    std::string model, index, docs;

    CliIndex() {
        testing::write_tiny_model(dir.path() / "tiny", {});
        model = " --model " + (dir.path() / "tiny").string();
        index = " --index " + (dir.path() / "idx").string();
        docs = (dir.path() / "docs.jsonl").string();
        std::ofstream out(docs);
        const char* words[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "search", "index"};
        for (int i = 0; i < 300; ++i) {
            std::string text;
            for (int j = 0; j < 6; ++j) text += std::string(j ? " " : "") + words[(i * 7 + j * j * 3 + i / 10) % 10];
            out << nlohmann::json{{"id", "d" + std::to_string(i)}, {"text", text}, {"source", "test"}}.dump() << "\n";
        }
        out << "this line is not json\n";
        out << R"({"title": "only a title"})" << "\n";
    }
};

TEST(IndexCli, BuildSearchStatsVerify) {
    CliIndex t;
    auto build = run_cli("build" + t.index + " --docs " + t.docs + t.model + " --threads 1 2>&1");
    ASSERT_EQ(build.status, 0) << build.out;
    EXPECT_NE(build.out.find("docs.jsonl:301: skipped: not valid JSON"), std::string::npos) << build.out;
    EXPECT_NE(build.out.find("docs.jsonl:302: skipped"), std::string::npos) << build.out;
    // Not a terminal: the closing summary is one JSON line on stdout (the last line here).
    const auto summary = last_json_line(build.out);
    EXPECT_EQ(summary["chunks"], 300) << build.out;
    EXPECT_EQ(summary["skipped"], 2);
    EXPECT_EQ(summary["skip_reasons"]["not valid JSON"], 1);
    EXPECT_EQ(summary["up_to_date"], false);

    auto search = run_cli("search" + t.index + " \"quick brown fox\" --top-k 4 --json" + t.model);
    ASSERT_EQ(search.status, 0) << search.out;
    const auto result = nlohmann::json::parse(search.out);
    ASSERT_EQ(result["results"].size(), 4u);
    EXPECT_EQ(result["results"][0]["metadata"]["source"], "test");
    EXPECT_GE(result["results"][0]["score"].get<double>(), result["results"][3]["score"].get<double>());
    EXPECT_GT(result["stats"]["recomputed"].get<int>(), 0);

    auto text = run_cli("search" + t.index + " \"lazy dog\" --top-k 2" + t.model + " 2>/dev/null");
    ASSERT_EQ(text.status, 0);
    EXPECT_EQ(text.out.rfind("1. [", 0), 0u) << text.out;

    const auto queries = t.dir.path() / "q.tsv";
    std::ofstream(queries) << "a\tquick fox\nlazy dog\n\n";
    auto batch = run_cli("search" + t.index + " --queries " + queries.string() + " --top-k 3 --json" + t.model);
    ASSERT_EQ(batch.status, 0) << batch.out;
    std::istringstream lines(batch.out);
    std::string line;
    std::vector<nlohmann::json> rows;
    while (std::getline(lines, line)) rows.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0]["query_id"], "a");
    EXPECT_EQ(rows[1]["query_id"], "2");
    EXPECT_EQ(rows[1]["results"].size(), 3u);

    auto stats = run_cli("stats" + t.index + " --json");
    ASSERT_EQ(stats.status, 0) << stats.out;
    const auto s = nlohmann::json::parse(stats.out);
    EXPECT_EQ(s["chunks"], 300);
    EXPECT_EQ(s["config"]["model"]["name"], "tiny");
    auto plain = run_cli("stats" + t.index);
    EXPECT_NE(plain.out.find("embedding matrix: none stored"), std::string::npos) << plain.out;

    auto verify = run_cli("verify" + t.index + " --recall 10" + t.model + " 2>/dev/null");
    ASSERT_EQ(verify.status, 0) << verify.out;
    EXPECT_NE(verify.out.find("recall@3"), std::string::npos) << verify.out;
}

TEST(IndexCli, BuildsFromAMessyFolder) {
    CliIndex t;
    const auto root = t.dir.path() / "tree";
    std::filesystem::create_directories(root / "notes");
    std::filesystem::create_directories(root / "src");
    std::filesystem::create_directories(root / ".git");
    std::filesystem::create_directories(root / "node_modules" / "pkg");
    auto write = [](const std::filesystem::path& p, const std::string& bytes) {
        std::ofstream(p, std::ios::binary) << bytes;
    };
    write(root / "notes" / "fox.md", "# Fox\n\nthe quick brown fox jumps over the lazy dog\n");
    write(root / "notes" / "latin1.txt", "the lazy dog caf\xe9\n");
    write(root / "notes" / "utf16.txt", std::string("\xff\xfe" "d\0o\0g\0 \0i\0n\0d\0e\0x\0", 20));
    write(root / "notes" / "empty.txt", "");
    write(root / "notes" / "binary.txt", std::string("the\0\x01\x02quick", 11));
    write(root / "notes" / "picture.png", "\x89PNG\r\n");
    write(root / "src" / "search.py", "def search(index):\n    return index\n\n\ndef fox():\n    pass\n");
    write(root / ".git" / "config", "the quick fox");
    write(root / "node_modules" / "pkg" / "index.js", "quick fox");
    write(root / ".gitignore", "ignored.md\n");
    write(root / "ignored.md", "the quick fox");

    auto build = run_cli("build" + t.index + " --docs " + root.string() + t.model + " --threads 1 2>&1");
    ASSERT_EQ(build.status, 0) << build.out;
    EXPECT_NE(build.out.find("empty.txt: skipped: empty file"), std::string::npos) << build.out;
    EXPECT_NE(build.out.find("binary.txt: skipped: binary file"), std::string::npos) << build.out;
    EXPECT_NE(build.out.find("picture.png: skipped: unsupported file type"), std::string::npos) << build.out;
    const auto summary = last_json_line(build.out);
    EXPECT_EQ(summary["files"], 4) << build.out;
    EXPECT_EQ(summary["skipped"], 3);

    auto search = run_cli("search" + t.index + " \"quick fox\" --top-k 20 --json" + t.model);
    ASSERT_EQ(search.status, 0) << search.out;
    std::set<std::string> sources;
    const auto found = nlohmann::json::parse(search.out);
    for (const auto& hit : found["results"]) {
        const std::string source = hit["metadata"]["source"];
        sources.insert(std::filesystem::path(source).filename().string());
        EXPECT_EQ(hit["id"], source + ":" + std::to_string(hit["metadata"]["start_line"].get<int>()));
    }
    EXPECT_EQ(sources, (std::set<std::string>{"fox.md", "latin1.txt", "utf16.txt", "search.py"}));

    // Text output, piped: "N. [score] path:line" and a plain snippet (highlighting is for terminals only).
    auto text = run_cli("search" + t.index + " \"quick fox\" --top-k 3" + t.model + " 2>/dev/null");
    ASSERT_EQ(text.status, 0) << text.out;
    EXPECT_NE(text.out.find("1. ["), std::string::npos) << text.out;
    EXPECT_NE(text.out.find((root / "notes").string()), std::string::npos) << text.out;
    EXPECT_EQ(text.out.find('\x1b'), std::string::npos) << "no escape codes when piped";
}

TEST(IndexCli, ListAndRemoveUnderLeannHome) {
    CliIndex t;
    // The child inherits LEANN_HOME; restored when the test ends.
    struct HomeGuard {
        std::string old;
        bool had;
        explicit HomeGuard(const std::string& value) : had(std::getenv("LEANN_HOME") != nullptr) {
            if (had) old = std::getenv("LEANN_HOME");
            ::setenv("LEANN_HOME", value.c_str(), 1);
        }
        ~HomeGuard() { had ? ::setenv("LEANN_HOME", old.c_str(), 1) : ::unsetenv("LEANN_HOME"); }
    } guard((t.dir.path() / "home").string());
    auto empty = run_cli("list");
    EXPECT_EQ(empty.status, 0);
    EXPECT_NE(empty.out.find("no indexes"), std::string::npos) << empty.out;
    ASSERT_EQ(run_cli("build notes --docs " + t.docs + t.model + " 2>/dev/null").status, 0);
    auto list = run_cli("list --json");
    ASSERT_EQ(list.status, 0) << list.out;
    const auto rows = nlohmann::json::parse(list.out);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0]["name"], "notes");
    EXPECT_EQ(rows[0]["chunks"], 300);
    EXPECT_EQ(rows[0]["model"], "tiny");
    EXPECT_EQ(rows[0]["sources"][0], t.docs);
    EXPECT_EQ(run_cli("search notes \"fox\" --json" + t.model).status, 0);
    auto refused = run_cli("remove notes 2>&1 </dev/null");
    EXPECT_EQ(refused.status, 1);
    EXPECT_NE(refused.out.find("--yes"), std::string::npos) << refused.out;
    EXPECT_EQ(run_cli("remove ../notes --yes 2>/dev/null").status, 1);
    EXPECT_EQ(run_cli("remove notes --yes 2>/dev/null").status, 0);
    EXPECT_EQ(nlohmann::json::parse(run_cli("list --json").out).size(), 0u);
    EXPECT_EQ(run_cli("remove notes --yes 2>/dev/null").status, 1);
}

TEST(IndexCli, ErrorsNameTheProblem) {
    CliIndex t;
    auto missing = run_cli("search" + t.index + " \"x\"" + t.model + " 2>&1");
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.out.find("no index at"), std::string::npos) << missing.out;
    auto bad_name = run_cli("stats ../etc 2>&1");
    EXPECT_EQ(bad_name.status, 1);
    EXPECT_NE(bad_name.out.find("not allowed"), std::string::npos) << bad_name.out;
    auto no_docs = run_cli("build" + t.index + t.model + " 2>&1");
    EXPECT_EQ(no_docs.status, 1);
    EXPECT_NE(no_docs.out.find("--docs"), std::string::npos);
    ASSERT_EQ(run_cli("build" + t.index + " --docs " + t.docs + t.model + " 2>/dev/null").status, 0);
    auto bad_k = run_cli("search" + t.index + " \"x\" --top-k 0" + t.model + " 2>&1");
    EXPECT_EQ(bad_k.status, 1);
    // A different model is refused.
    testing::TinyModelSpec other;
    other.seed = 5;
    testing::write_tiny_model(t.dir.path() / "other", other);
    auto wrong = run_cli("search" + t.index + " \"x\" --model " + (t.dir.path() / "other").string() + " 2>&1");
    EXPECT_EQ(wrong.status, 1);
    EXPECT_NE(wrong.out.find("built with model 'tiny'"), std::string::npos) << wrong.out;
    // A corrupt file names its section.
    const auto file = t.dir.path() / "idx";  // --index PATH names the file unless PATH is a folder
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x7f');
    f.close();
    auto corrupt = run_cli("verify" + t.index + " 2>&1");
    EXPECT_EQ(corrupt.status, 1);
    EXPECT_NE(corrupt.out.find("section"), std::string::npos) << corrupt.out;
}

}  // namespace
}  // namespace leann

namespace leann {
namespace {

// Filters and grep on the command line: --where (repeatable, ANDed), --path, errors naming the field; grep's
// path:line:text lines, --json, exit statuses.
TEST(IndexCli, SearchFiltersAndGrep) {
    CliIndex t;
    {
        std::ofstream out(t.docs);
        for (int i = 0; i < 200; ++i)
            out << nlohmann::json{{"id", "r" + std::to_string(i)},
                                  {"text", "record " + std::to_string(i) + " about foxes\nsecond line " +
                                               (i == 42 ? "Needle" : "hay")},
                                  {"year", 1900 + i},
                                  {"tag", i % 2 ? "odd" : "even"}}
                       .dump()
                << "\n";
    }
    ASSERT_EQ(run_cli("build" + t.index + " --docs " + t.docs + t.model + " --threads 1 2>&1").status, 0);
    auto s = run_cli("search" + t.index + " foxes --top-k 5 --json --where 'year>=2090' --where tag=even" + t.model);
    ASSERT_EQ(s.status, 0) << s.out;
    const auto results = last_json_line(s.out)["results"];
    ASSERT_EQ(results.size(), 5u) << s.out;  // 2090..2098 even: exactly five match
    for (const auto& hit : results) {
        EXPECT_GE(hit["metadata"]["year"].get<int>(), 2090) << hit;
        EXPECT_EQ(hit["metadata"]["tag"], "even") << hit;
    }
    auto bad = run_cli("search" + t.index + " foxes --where yeer=3" + t.model + " 2>&1");
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.out.find("unknown field 'yeer'"), std::string::npos) << bad.out;
    auto malformed = run_cli("search" + t.index + " foxes --where year" + t.model + " 2>&1");
    EXPECT_NE(malformed.out.find("expected FIELD=VALUE"), std::string::npos) << malformed.out;

    auto g = run_cli("grep" + t.index + " -i needle");
    EXPECT_EQ(g.status, 0) << g.out;
    EXPECT_EQ(g.out, "r42:2:second line Needle\n");
    auto gc = run_cli("grep" + t.index + " Needle -B1 --json");
    const auto m = last_json_line(gc.out);
    EXPECT_EQ(m["path"], "r42");
    EXPECT_EQ(m["line"], 2);
    EXPECT_EQ(m["before"][0]["text"], "record 42 about foxes");
    EXPECT_EQ(m["submatches"][0]["start"], 12);
    EXPECT_EQ(run_cli("grep" + t.index + " -F 'no such text'").status, 1);
    EXPECT_EQ(run_cli("grep" + t.index + " '(x)\\1' 2>/dev/null").status, 2);
    auto count = run_cli("grep" + t.index + " -c hay --where tag=odd");
    EXPECT_EQ(std::count(count.out.begin(), count.out.end(), '\n'), 100) << count.out.substr(0, 200);
}

}  // namespace
}  // namespace leann
