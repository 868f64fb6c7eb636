// End to end on real text with the real model: `leann build` over WordNet glosses (Debian wordnet-base, text no
// one here wrote), then `leann search --queries --json` with WordNet's own lemma lists as queries, and recall@3
// against exact brute-force search over the same model's embeddings. Fails below 0.90.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "cli_runner.h"
#include "leann/encoder.h"
#include "leann/index.h"
#include "test_support.h"
#include "tiny_model.h"

namespace leann {
namespace {

struct Synset {
    std::string id, words, gloss;
};

/// Synsets of data.noun/data.verb: "offset lexfile pos w_cnt word lex_id ... | gloss".
std::vector<Synset> read_wordnet(const std::filesystem::path& file, size_t limit) {
    std::ifstream in(file);
    std::vector<Synset> out;
    std::string line;
    while (out.size() < limit && std::getline(in, line)) {
        if (line.rfind("  ", 0) == 0) continue;  // licence header
        const auto bar = line.find(" | ");
        if (bar == std::string::npos) continue;
        std::istringstream fields(line.substr(0, bar));
        std::string offset, lexfile, pos, count_hex;
        fields >> offset >> lexfile >> pos >> count_hex;
        const unsigned count = std::stoul(count_hex, nullptr, 16);
        Synset s{pos + ":" + offset, "", line.substr(bar + 3)};
        while (!s.gloss.empty() && s.gloss.back() == ' ') s.gloss.pop_back();
        for (unsigned i = 0; i < count; ++i) {
            std::string word, lex_id;
            fields >> word >> lex_id;
            std::replace(word.begin(), word.end(), '_', ' ');
            s.words += (i ? ", " : "") + word;
        }
        out.push_back(std::move(s));
    }
    return out;
}

TEST(IndexEndToEnd, WordNetGlossesRecallAt3AgainstExactSearch) {
    const auto model_dir = testing::default_model_dir();
    ASSERT_TRUE(std::filesystem::exists(model_dir / "config.json")) << testing::model_missing_message(model_dir);
    const std::filesystem::path noun = "/usr/share/wordnet/data.noun";
    ASSERT_TRUE(std::filesystem::exists(noun)) << "install Debian's wordnet-base (scripts/setup.sh does)";

    // 4000 noun glosses are the corpus; queries are the lemma lists of 100 of them, sampled with a fixed seed.
    const std::vector<Synset> synsets = read_wordnet(noun, 4000);
    ASSERT_EQ(synsets.size(), 4000u);
    testing::TempDir dir;
    const auto docs = dir.path() / "glosses.jsonl";
    {
        std::ofstream out(docs);
        for (const auto& s : synsets)
            out << nlohmann::json{{"id", s.id}, {"text", s.gloss}, {"words", s.words}}.dump() << "\n";
    }
    std::mt19937 rng(11);
    std::vector<std::string> queries;
    {
        std::ofstream out(dir.path() / "queries.tsv");
        for (int q = 0; q < 100; ++q) {
            queries.push_back(synsets[rng() % synsets.size()].words);
            out << "q" << q << "\t" << queries.back() << "\n";
        }
    }
    const std::string model = " --model " + model_dir.string();
    const std::string index = " --index " + (dir.path() / "wordnet").string();
    auto build = testing::run_cli("build" + index + " --docs " + docs.string() + model + " 2>&1");
    ASSERT_EQ(build.status, 0) << build.out;

    auto search = testing::run_cli("search" + index + " --queries " + (dir.path() / "queries.tsv").string() +
                                   " --top-k 3 --json --mode vector" + model);  // recall of the vector search itself
    ASSERT_EQ(search.status, 0) << search.out;

    // Ground truth: the same model's embeddings of every gloss, brute force.
    auto encoder = Encoder::load(model_dir);
    std::vector<std::string> texts;
    for (const auto& s : synsets) texts.push_back(s.gloss);
    const std::vector<float> vectors = encoder->encode(texts, TextRole::passage);
    const Index opened = Index::open(dir.path() / "wordnet");

    std::istringstream lines(search.out);
    std::string line;
    size_t q = 0, found = 0, recomputed = 0;
    while (std::getline(lines, line)) {
        const auto result = nlohmann::json::parse(line);
        ASSERT_LT(q, queries.size());
        EXPECT_EQ(result["query_id"], "q" + std::to_string(q));
        const std::vector<float> qv = encoder->encode(std::vector<std::string>{queries[q]}, TextRole::query);
        std::vector<std::string> truth;
        for (uint32_t node : opened.exact_search(qv, vectors, 3)) truth.push_back(synsets[node].id);
        ASSERT_EQ(result["results"].size(), 3u);
        for (const auto& hit : result["results"]) {
            found += std::count(truth.begin(), truth.end(), hit["id"].get<std::string>());
            EXPECT_TRUE(hit["metadata"].contains("words"));
        }
        recomputed += result["stats"]["recomputed"].get<size_t>();
        ++q;
    }
    ASSERT_EQ(q, queries.size());
    const double recall = double(found) / double(3 * queries.size());
    std::printf("recall@3 %.3f, %.1f recomputations per query on %zu glosses\n", recall,
                double(recomputed) / double(q), synsets.size());
    EXPECT_GE(recall, 0.90);
    EXPECT_LT(double(recomputed) / double(q), double(synsets.size()) / 4) << "search should not embed everything";

    auto stats = testing::run_cli("stats" + index + " --json");
    ASSERT_EQ(stats.status, 0);
    const auto s = nlohmann::json::parse(stats.out);
    EXPECT_EQ(s["chunks"], 4000);
    EXPECT_EQ(s["config"]["model"]["name"], "all-MiniLM-L6-v2");
    EXPECT_EQ(testing::run_cli("verify" + index).status, 0);
}

}  // namespace
}  // namespace leann
