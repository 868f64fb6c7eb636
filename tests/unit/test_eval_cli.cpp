// leann eval on a tiny random-weight model: queries that are a record's exact text find it first (exact re-rank),
// so nDCG@10 and MRR@10 are known; chunks of one document count once (--doc-field); bad files name FILE:LINE.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "tiny_model.h"

namespace leann {
namespace {

using testing::run_cli;

struct EvalIndex {
    testing::TempDir dir;
    std::string model, index;
    std::vector<std::string> texts;

    EvalIndex() {
        testing::write_tiny_model(dir.path() / "tiny", {});
        model = " --model " + (dir.path() / "tiny").string();
        index = " --index " + (dir.path() / "idx").string();
        const auto docs = dir.path() / "docs.jsonl";
        std::ofstream out(docs);
        const char* words[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "search", "index"};
        for (int i = 0; i < 120; ++i) {
            // A letter name makes every text unique (the tiny vocabulary spells it letter by letter).
            std::string text = std::string(1, char('a' + i % 26)) + std::string(1, char('a' + i / 26));
            for (int j = 0; j < 5; ++j) text += std::string(" ") + words[(i * 7 + j * j * 3 + i / 10) % 10];
            texts.push_back(text);
            // Records r0..r119; two records per document ("doc": "D0".."D59").
            out << nlohmann::json{{"id", "r" + std::to_string(i)}, {"text", text}, {"doc", "D" + std::to_string(i / 2)}}
                       .dump()
                << "\n";
        }
        out.close();
        auto build = run_cli("build" + index + " --docs " + docs.string() + model + " --threads 1 2>&1");
        EXPECT_EQ(build.status, 0) << build.out;
    }
    std::filesystem::path write(const std::string& name, const std::string& text) const {
        const auto p = dir.path() / name;
        std::ofstream(p) << text;
        return p;
    }
};

TEST(EvalCli, ExactTextQueriesScoreOneAndUnjudgedQueriesAreCounted) {
    EvalIndex t;
    const auto queries = t.write("q.tsv", "q1\t" + t.texts[5] + "\nq2\t" + t.texts[40] + "\nq3\tlazy dog\n");
    // q1 and q2: their own record (grade 2); q3 has only a non-relevant judgement: left out and counted.
    const auto qrels = t.write("qrels.txt", "q1 0 r5 2\nq2 0 r40 1\nq3 0 r7 0\nq9 0 r1 1\n");
    auto run = run_cli("eval" + t.index + " --queries " + queries.string() + " --qrels " + qrels.string() +
                       " --json -k 5,20" + t.model + " --threads 1 2>/dev/null");
    ASSERT_EQ(run.status, 0) << run.out;
    const auto j = nlohmann::json::parse(run.out);
    EXPECT_EQ(j["mode"], "hybrid");  // the default mode
    EXPECT_EQ(j["fusion"], "convex");
    EXPECT_EQ(j["queries"], 2);
    EXPECT_EQ(j["queries_without_relevant"], 1);
    EXPECT_EQ(j["judged_queries_missing"], 1);
    EXPECT_DOUBLE_EQ(j["ndcg@10"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(j["mrr@10"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(j["recall@5"].get<double>(), 1.0);
    EXPECT_TRUE(j.contains("recall@20"));
    ASSERT_EQ(j["per_query"].size(), 2u);
    EXPECT_EQ(j["per_query"][0]["query_id"], "q1");
    EXPECT_EQ(j["per_query"][0]["top"][0], "r5");
    EXPECT_EQ(j["per_query"][0]["top"].size(), 10u);

    // Text output: one line per query, then the means.
    auto text = run_cli("eval" + t.index + " --queries " + queries.string() + " --qrels " + qrels.string() + t.model +
                        " --threads 1 2>/dev/null");
    ASSERT_EQ(text.status, 0) << text.out;
    EXPECT_NE(text.out.find("hybrid (convex, vector weight 0.6): 2 queries: nDCG@10 1.0000  MRR@10 1.0000  recall@10 1.0000"), std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("1 queries without a relevant document left out"), std::string::npos) << text.out;
}

TEST(EvalCli, DocumentFieldCountsEachDocumentOnce) {
    EvalIndex t;
    const auto queries = t.write("q.jsonl", "{\"_id\": \"a\", \"text\": \"" + t.texts[10] + "\"}\n");
    // Document D5 holds records r10 and r11; BEIR TSV qrels judge documents.
    const auto qrels = t.write("qrels.tsv", "query-id\tcorpus-id\tscore\na\tD5\t1\na\tD30\t1\n");
    auto run = run_cli("eval" + t.index + " --queries " + queries.string() + " --qrels " + qrels.string() +
                       " --doc-field doc --json" + t.model + " --threads 1 2>/dev/null");
    ASSERT_EQ(run.status, 0) << run.out;
    const auto j = nlohmann::json::parse(run.out);
    EXPECT_EQ(j["doc_field"], "doc");
    EXPECT_EQ(j["depth"], 300);
    const auto& top = j["per_query"][0]["top"];
    ASSERT_EQ(top.size(), 10u);
    EXPECT_EQ(top[0], "D5");
    std::set<std::string> unique;
    for (const auto& d : top) unique.insert(d.get<std::string>());
    EXPECT_EQ(unique.size(), top.size());
    EXPECT_DOUBLE_EQ(j["mrr@10"].get<double>(), 1.0);
    // Found 1 of the 2 relevant documents at least; nDCG below 1 unless D30 is second.
    EXPECT_GE(j["recall@100"].get<double>(), 0.5);
}

TEST(EvalCli, AllModesGiveOneObjectEach) {
    EvalIndex t;
    const auto queries = t.write("q.tsv", "q1\t" + t.texts[3] + "\n");
    const auto qrels = t.write("qrels.txt", "q1 0 r3 1\n");
    auto run = run_cli("eval" + t.index + " --queries " + queries.string() + " --qrels " + qrels.string() +
                       " --mode all --json -k 10" + t.model + " --threads 1 2>/dev/null");
    ASSERT_EQ(run.status, 0) << run.out;
    std::istringstream lines(run.out);
    std::string line;
    std::vector<std::string> modes;
    while (std::getline(lines, line)) modes.push_back(nlohmann::json::parse(line)["mode"]);
    EXPECT_EQ(modes, (std::vector<std::string>{"vector", "keyword", "hybrid"}));
}

TEST(EvalCli, FusionListsRunHybridOncePerPair) {
    EvalIndex t;
    const auto queries = t.write("q.tsv", "q1\t" + t.texts[3] + "\n");
    const auto qrels = t.write("qrels.txt", "q1 0 r3 1\n");
    auto run = run_cli("eval" + t.index + " --queries " + queries.string() + " --qrels " + qrels.string() +
                       " --mode hybrid --fusion rrf,convex --vector-weight 0.25,1 --json -k 10" + t.model +
                       " --threads 1 2>/dev/null");
    ASSERT_EQ(run.status, 0) << run.out;
    std::istringstream lines(run.out);
    std::string line;
    std::vector<std::string> seen;
    while (std::getline(lines, line)) {
        const auto j = nlohmann::json::parse(line);
        EXPECT_EQ(j["mode"], "hybrid");
        seen.push_back(j["fusion"].get<std::string>() + " " + std::to_string(j["vector_weight"].get<double>()));
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"rrf 0.250000", "rrf 1.000000", "convex 0.250000", "convex 1.000000"}));
    // A weight outside [0, 1] in the list is refused by name.
    run = run_cli("eval" + t.index + " --queries " + queries.string() + " --qrels " + qrels.string() +
                  " --mode hybrid --vector-weight 0.5,2" + t.model + " 2>&1");
    EXPECT_EQ(run.status, 1);
    EXPECT_NE(run.out.find("--vector-weight must be in [0, 1]"), std::string::npos) << run.out;
}

TEST(EvalCli, BadInputIsNamed) {
    EvalIndex t;
    const auto queries = t.write("q.tsv", "q1\tquick fox\n");
    const auto bad = t.write("bad.txt", "q1 0 r3 1\nq1 r4\n");
    auto run = run_cli("eval" + t.index + " --queries " + queries.string() + " --qrels " + bad.string() + t.model +
                       " 2>&1");
    EXPECT_EQ(run.status, 1);
    EXPECT_NE(run.out.find(bad.string() + ":2: expected"), std::string::npos) << run.out;

    const auto other = t.write("other.txt", "z1 0 r3 1\n");
    run = run_cli("eval" + t.index + " --queries " + queries.string() + " --qrels " + other.string() + t.model + " 2>&1");
    EXPECT_EQ(run.status, 1);
    EXPECT_NE(run.out.find("no query of"), std::string::npos) << run.out;

    run = run_cli("eval" + t.index + " --queries " + queries.string() + " --qrels " + other.string() +
                  " --mode fuzzy 2>&1");
    EXPECT_NE(run.out.find("--mode must be vector, keyword, hybrid or all"), std::string::npos) << run.out;
    run = run_cli("eval" + t.index + " --queries " + queries.string() + " --qrels " + other.string() + " -k 0 2>&1");
    EXPECT_NE(run.out.find("-k expects cut-offs"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace leann
