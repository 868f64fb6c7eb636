// The files of a retrieval test set, as `leann eval` reads them: queries and relevance judgements (qrels).
//
// Queries:  JSON lines {"_id": ..., "text": ...} (BEIR's queries.jsonl; "id" is accepted for "_id"), or
//           tab-separated lines "qid<TAB>text". The format is told by the first non-blank character ('{': JSONL).
// Qrels:    TREC lines "qid iteration docid grade" (whitespace-separated; the iteration is ignored), or BEIR's TSV
//           "query-id<TAB>corpus-id<TAB>score" with that header line (optional), i.e. any line of 3 fields.
//           Grades are integers; <= 0 means judged not relevant.
// Blank lines and, in qrels, lines starting with '#' are skipped. Anything else that does not parse throws
// leann::Error "FILE:LINE: what was expected"; so does a query id given twice, or one document judged twice with
// different grades. Lines are bounded (1 MiB) and so is the number of entries (10 million).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "retrieval_metrics.h"

namespace leann::apps {

struct Query {
    std::string id;
    std::string text;
};

/// Queries in file order.
std::vector<Query> read_queries(const std::filesystem::path& path);
/// Query id -> its judged documents.
std::map<std::string, Judgements> read_qrels(const std::filesystem::path& path);

}  // namespace leann::apps
