// Retrieval quality of a ranked list against relevance judgements (qrels): nDCG@k, recall@k, MRR@k, the measures
// BEIR and trec_eval report, for `leann eval`.
//
// Conventions (those of trec_eval / pytrec_eval, so that figures compare with published ones):
//   - a document is relevant when its grade is > 0; grades <= 0 and unjudged documents count as 0;
//   - nDCG uses linear gain with a log2 discount: DCG@k = sum over ranks i = 1..k of grade_i / log2(i + 1), divided
//     by the DCG@k of the ideal ranking (all judged grades, highest first);
//   - recall@k = relevant documents in the top k / all relevant documents of the query;
//   - MRR@k = 1 / rank of the first relevant document in the top k (0 when none);
//   - a query without any relevant document has no defined value: callers exclude it from averages (and count it).
// Thread-safe: pure functions.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace leann::apps {

/// Judged documents of one query: document id -> grade.
using Judgements = std::map<std::string, int>;

/// One retrieved item (a chunk) with the document it belongs to.
struct RankedItem {
    std::string doc_id;
    float score = 0;
};

/// Chunks -> documents: each document once, scored by its best chunk, ordered by that score (highest first). Equal
/// scores keep the order in which the documents first appear in `items` (the search's own order).
std::vector<std::string> rank_documents(const std::vector<RankedItem>& items);

/// Number of documents with grade > 0.
size_t relevant_count(const Judgements& judged);

double ndcg_at(const std::vector<std::string>& ranking, const Judgements& judged, size_t k);
double recall_at(const std::vector<std::string>& ranking, const Judgements& judged, size_t k);
double mrr_at(const std::vector<std::string>& ranking, const Judgements& judged, size_t k);

}  // namespace leann::apps
