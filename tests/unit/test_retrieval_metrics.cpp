// Retrieval measures against hand-computed values (graded nDCG with log2 discount, recall, MRR, chunk -> document
// ranking with ties), and the test-set files of leann eval (TREC and BEIR qrels, JSONL and TSV queries, errors
// naming FILE:LINE).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "leann/error.h"
#include "relevance_files.h"
#include "retrieval_metrics.h"
#include "tiny_model.h"

namespace leann::apps {
namespace {

using Ranking = std::vector<std::string>;

TEST(RetrievalMetrics, GradedNdcgWithLog2Discount) {
    const Judgements judged = {{"a", 3}, {"b", 2}, {"c", 0}, {"d", 1}};
    // Ranking c, a, x, b: DCG = 0/log2(2) + 3/log2(3) + 0/log2(4) + 2/log2(5);
    // ideal a, b, d:       IDCG = 3/1 + 2/log2(3) + 1/log2(4) = 3 + 1.26186 + 0.5.
    const double dcg = 3 / std::log2(3.0) + 2 / std::log2(5.0);
    const double idcg = 3 + 2 / std::log2(3.0) + 0.5;
    EXPECT_NEAR(ndcg_at({"c", "a", "x", "b"}, judged, 10), dcg / idcg, 1e-12);
    EXPECT_NEAR(ndcg_at({"c", "a", "x", "b"}, judged, 10), 0.57838, 1e-5);
    // The ideal order scores 1; at k = 1 only the first rank counts (on both sides).
    EXPECT_DOUBLE_EQ(ndcg_at({"a", "b", "d"}, judged, 10), 1.0);
    EXPECT_DOUBLE_EQ(ndcg_at({"b", "a"}, judged, 1), 2.0 / 3.0);
    // Equal grades are interchangeable: swapping two grade-1 documents changes nothing.
    const Judgements ties = {{"p", 1}, {"q", 1}, {"r", 2}};
    EXPECT_DOUBLE_EQ(ndcg_at({"r", "p", "q"}, ties, 10), ndcg_at({"r", "q", "p"}, ties, 10));
    EXPECT_DOUBLE_EQ(ndcg_at({"r", "q", "p"}, ties, 10), 1.0);
    // Negative grades count as 0, not as a penalty; nothing retrieved scores 0.
    EXPECT_DOUBLE_EQ(ndcg_at({"n", "a"}, {{"n", -1}, {"a", 1}}, 10), 1 / std::log2(3.0));
    EXPECT_DOUBLE_EQ(ndcg_at({}, judged, 10), 0.0);
    // A relevant document past the cut-off is not seen.
    Ranking deep(10, "x");
    deep.push_back("a");
    EXPECT_DOUBLE_EQ(ndcg_at(deep, judged, 10), 0.0);
}

TEST(RetrievalMetrics, RecallAndReciprocalRank) {
    const Judgements judged = {{"a", 1}, {"b", 2}, {"c", 0}, {"d", 1}};
    const Ranking ranking = {"c", "x", "b", "y", "a"};
    EXPECT_EQ(relevant_count(judged), 3u);
    EXPECT_DOUBLE_EQ(recall_at(ranking, judged, 2), 0.0);
    EXPECT_DOUBLE_EQ(recall_at(ranking, judged, 3), 1.0 / 3);
    EXPECT_DOUBLE_EQ(recall_at(ranking, judged, 100), 2.0 / 3);
    EXPECT_DOUBLE_EQ(mrr_at(ranking, judged, 10), 1.0 / 3);
    EXPECT_DOUBLE_EQ(mrr_at(ranking, judged, 2), 0.0);
    // A query without relevant documents has no defined value; the functions give 0 (callers exclude it).
    EXPECT_EQ(relevant_count({{"c", 0}}), 0u);
    EXPECT_DOUBLE_EQ(recall_at(ranking, {{"c", 0}}, 10), 0.0);
}

TEST(RetrievalMetrics, ChunksBecomeDocumentsScoredByTheirBestChunk) {
    // Chunks of doc1 at 0.5 and 0.9, doc2 at 0.8, doc3 at 0.8 (a tie with doc2: doc2 was seen first).
    const std::vector<RankedItem> items = {{"doc2", 0.8f}, {"doc1", 0.5f}, {"doc3", 0.8f}, {"doc1", 0.9f}};
    EXPECT_EQ(rank_documents(items), (Ranking{"doc1", "doc2", "doc3"}));
    const std::vector<RankedItem> tied = {{"z", 0.5f}, {"y", 0.5f}, {"z", 0.1f}, {"x", 0.5f}};
    EXPECT_EQ(rank_documents(tied), (Ranking{"z", "y", "x"}));
    // Each document counts once: two relevant chunks of one document are one hit for recall.
    const Judgements judged = {{"doc1", 1}, {"doc4", 1}};
    EXPECT_DOUBLE_EQ(recall_at(rank_documents(items), judged, 10), 0.5);
}

struct Files {
    testing::TempDir dir;
    std::filesystem::path write(const std::string& name, const std::string& text) {
        const auto p = dir.path() / name;
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
};

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

TEST(RelevanceFiles, ReadsTrecAndBeirQrels) {
    Files f;
    const auto trec = read_qrels(f.write("trec.txt", "# comment\n1 0 doc-a 2\n1 0 doc-b 0\n\n2\t0\tdoc-c\t1\r\n3 Q0 d -1\n"));
    ASSERT_EQ(trec.size(), 3u);
    EXPECT_EQ(trec.at("1"), (Judgements{{"doc-a", 2}, {"doc-b", 0}}));
    EXPECT_EQ(trec.at("2").at("doc-c"), 1);
    EXPECT_EQ(trec.at("3").at("d"), -1);
    const auto beir = read_qrels(f.write("test.tsv", "query-id\tcorpus-id\tscore\nq1\t4983\t1\nq1\t5836\t2\nq2\t7\t1\n"));
    ASSERT_EQ(beir.size(), 2u);
    EXPECT_EQ(beir.at("q1"), (Judgements{{"4983", 1}, {"5836", 2}}));
    // The same judgement twice is harmless.
    EXPECT_EQ(read_qrels(f.write("dup.txt", "1 0 a 1\n1 0 a 1\n")).at("1").size(), 1u);
}

TEST(RelevanceFiles, MalformedQrelsNameFileAndLine) {
    Files f;
    const auto bad_grade = f.write("g.txt", "1 0 a 1\n1 0 b high\n");
    EXPECT_EQ(error_of([&] { read_qrels(bad_grade); }), bad_grade.string() + ":2: grade 'high' is not an integer");
    const auto short_line = f.write("s.txt", "1 0 a 1\n\n1 a\n");
    EXPECT_NE(error_of([&] { read_qrels(short_line); }).find(short_line.string() + ":3: expected"), std::string::npos);
    const auto header_late = f.write("h.tsv", "q1\td\t1\nquery-id\tcorpus-id\tscore\n");
    EXPECT_NE(error_of([&] { read_qrels(header_late); }).find(":2: grade 'score'"), std::string::npos);
    const auto conflict = f.write("c.txt", "1 0 a 1\n1 0 b 1\n1 0 a 2\n");
    EXPECT_NE(error_of([&] { read_qrels(conflict); }).find(":3: document a judged again for query 1"), std::string::npos);
    const auto overflow = f.write("o.txt", "1 0 a 99999999999\n");
    EXPECT_NE(error_of([&] { read_qrels(overflow); }).find(":1: grade"), std::string::npos);
    const auto long_line = f.write("l.txt", "1 0 a 1\n" + std::string((1 << 20) + 10, 'x') + "\n");
    EXPECT_NE(error_of([&] { read_qrels(long_line); }).find(":2: line longer than"), std::string::npos);
    EXPECT_NE(error_of([&] { read_qrels(f.dir.path() / "missing.txt"); }).find("cannot open"), std::string::npos);
}

TEST(RelevanceFiles, ReadsJsonlAndTsvQueries) {
    Files f;
    const auto jsonl = read_queries(f.write(
        "queries.jsonl", "{\"_id\": \"q1\", \"text\": \"what is bm25\", \"metadata\": {}}\n\n{\"_id\": 7, \"text\": \"x\"}\n"));
    ASSERT_EQ(jsonl.size(), 2u);
    EXPECT_EQ(jsonl[0].id, "q1");
    EXPECT_EQ(jsonl[0].text, "what is bm25");
    EXPECT_EQ(jsonl[1].id, "7");
    const auto tsv = read_queries(f.write("q.tsv", "a\tfirst query\r\nb\tsecond\twith a tab\n"));
    ASSERT_EQ(tsv.size(), 2u);
    EXPECT_EQ(tsv[0].text, "first query");
    EXPECT_EQ(tsv[1].text, "second\twith a tab");

    const auto no_tab = f.write("n.tsv", "a\tok\njust text\n");
    EXPECT_EQ(error_of([&] { read_queries(no_tab); }), no_tab.string() + ":2: expected qid<TAB>text");
    const auto twice = f.write("t.tsv", "a\tone\na\ttwo\n");
    EXPECT_EQ(error_of([&] { read_queries(twice); }), twice.string() + ":2: query id a given twice");
    const auto broken = f.write("b.jsonl", "{\"_id\": \"1\", \"text\": \"ok\"}\n{\"_id\": \"2\", \"text\": \n");
    EXPECT_EQ(error_of([&] { read_queries(broken); }).rfind(broken.string() + ":2: not valid JSON (", 0), 0u);
    const auto deep = f.write("d.jsonl", "{\"_id\": " + std::string(300, '[') + "\n");
    EXPECT_EQ(error_of([&] { read_queries(deep); }), deep.string() + ":1: JSON nests deeper than 256 levels");
    const auto no_text = f.write("x.jsonl", "{\"_id\": \"1\"}\n");
    EXPECT_EQ(error_of([&] { read_queries(no_text); }), no_text.string() + ":1: no \"text\" string field");
}

}  // namespace
}  // namespace leann::apps
