// leann eval: retrieval quality of an index against a test set's relevance judgements (nDCG@10, recall@k, MRR@10).
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "fusion_args.h"
#include "index_args.h"
#include "json_output.h"
#include "leann/error.h"
#include "relevance_files.h"
#include "retrieval_metrics.h"
#include "terminal_text.h"
#include "util/utf8.h"

namespace leann::cli {
namespace {

constexpr const char* eval_usage = R"(Usage: leann eval NAME --queries FILE --qrels FILE [options]
       (--index PATH in place of NAME)

Runs every judged query through the index and reports nDCG@10, recall@k and MRR@10 (trec_eval's definitions:
linear gain, log2 discount; grade > 0 is relevant), one line per query and the means. Queries without any relevant
document are left out of the means and counted.

Files:
  --queries FILE         BEIR queries.jsonl ({"_id", "text"} per line) or TSV lines "qid<TAB>text"
  --qrels FILE           TREC qrels "qid 0 docid grade" or BEIR TSV "query-id<TAB>corpus-id<TAB>score"

Options:
  --mode M               vector, keyword, hybrid, or all (each of the three in turn; default: hybrid)
  -k K[,K...]            cut-offs for recall (default: 10,100); nDCG and MRR are at 10
  --doc-field FIELD      a hit's document id is this metadata field (e.g. source for folders of files, or a JSONL
                         field shared by the records of one document); default: the hit's id (a JSONL record's
                         "id"). A document scores as its best chunk; each counts once.
  --depth N              hits retrieved per query (default: the largest k, x3 with --doc-field)
  --complexity L         search list size (as in leann search)
  --rerank N|auto        exact re-rank (as in leann search; at least the depth is re-ranked)
  --fusion F[,F...], --vector-weight W[,W...], --keyword-candidates N
                         hybrid fusion (as in leann search); lists run hybrid once per fusion and weight,
                         one object each with --json (keys "fusion", "vector_weight")
  --json                 one JSON object per mode: {"mode", "ndcg@10", "mrr@10", "recall@K"..., "queries",
                         "queries_without_relevant", "judged_queries_missing", "recomputed_per_query",
                         "exact_per_query" (exact vectors a query used, cached or not), "per_query": [...]}
  --model PATH           use this model folder (must be the model the index was built with)
  --threads N            encoder threads (default: all cores)
)";

std::vector<size_t> parse_cutoffs(const std::string& text) {
    std::vector<size_t> ks;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        size_t k = 0;
        try {
            size_t used = 0;
            k = std::stoul(part, &used);
            if (used != part.size()) k = 0;
        } catch (const std::exception&) {
            k = 0;
        }
        if (k == 0 || k > 10000) throw Error("-k expects cut-offs between 1 and 10000, like 10,100; got '" + text + "'");
        ks.push_back(k);
    }
    if (ks.empty()) throw Error("-k expects cut-offs between 1 and 10000, like 10,100");
    std::sort(ks.begin(), ks.end());
    ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
    return ks;
}

const char* mode_name(SearchMode mode) {
    switch (mode) {
        case SearchMode::vector: return "vector";
        case SearchMode::keyword: return "keyword";
        case SearchMode::hybrid: return "hybrid";
    }
    return "?";
}

std::vector<SearchMode> parse_modes(const std::string& text) {
    if (text == "vector") return {SearchMode::vector};
    if (text == "keyword") return {SearchMode::keyword};
    if (text == "hybrid") return {SearchMode::hybrid};
    if (text == "all") return {SearchMode::vector, SearchMode::keyword, SearchMode::hybrid};
    throw Error("--mode must be vector, keyword, hybrid or all, not '" + text + "'");
}

std::string document_id(const Hit& hit, const std::string& field) {
    if (field.empty()) return hit.id;
    const nlohmann::json meta = apps::metadata_json(hit.metadata);
    if (meta.is_object()) {
        auto it = meta.find(field);
        if (it != meta.end() && it->is_string()) return it->get<std::string>();
        if (it != meta.end() && (it->is_number_integer() || it->is_number_unsigned())) return it->dump();
    }
    return hit.id;
}

/// "a,b,c" -> {"a", "b", "c"} (empty parts dropped).
std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ','))
        if (!part.empty()) parts.push_back(part);
    return parts;
}

std::string recall_key(size_t k) { return "recall@" + std::to_string(k); }

}  // namespace

int run_eval(const std::vector<std::string>& argv) {
    std::set<std::string> option_names = {"index", "queries",    "qrels",  "mode",  "k",      "doc-field",
                                          "depth", "complexity", "rerank", "model", "threads"};
    option_names.merge(fusion_option_names());
    Args args(argv, option_names, {"help", "h", "json"});
    if (args.has("help") || args.has("h")) {
        std::fputs(eval_usage, stdout);
        return 0;
    }
    size_t shift = 0;
    const std::filesystem::path path = index_path(args, shift);
    if (args.positionals().size() != shift) throw Error("unexpected argument '" + args.positionals()[shift] + "'");
    if (!args.has("queries") || !args.has("qrels")) throw Error("give --queries FILE and --qrels FILE");
    const std::vector<SearchMode> modes = parse_modes(args.get("mode", std::string(search_mode_name(SearchOptions{}.mode))));
    const std::vector<size_t> ks = parse_cutoffs(args.get("k", "10,100"));
    const std::string doc_field = args.get("doc-field");
    const bool json = args.has("json");

    const std::vector<apps::Query> queries = apps::read_queries(args.get("queries"));
    const std::map<std::string, apps::Judgements> qrels = apps::read_qrels(args.get("qrels"));

    // Which queries count: those with at least one relevant document. The others are reported, not averaged.
    std::vector<const apps::Query*> evaluated;
    size_t without_relevant = 0;
    for (const apps::Query& q : queries) {
        auto it = qrels.find(q.id);
        if (it == qrels.end() || apps::relevant_count(it->second) == 0)
            ++without_relevant;
        else
            evaluated.push_back(&q);
    }
    size_t judged_missing = 0;
    {
        std::set<std::string> ids;
        for (const apps::Query& q : queries) ids.insert(q.id);
        for (const auto& [qid, judged] : qrels)
            if (!ids.count(qid) && apps::relevant_count(judged) > 0) ++judged_missing;
    }
    if (evaluated.empty())
        throw Error("no query of " + args.get("queries") + " has a relevant document in " + args.get("qrels") +
                    " (do the query ids match?)");

    SearchOptions options;
    const size_t default_depth = std::max<size_t>(ks.back(), 10) * (doc_field.empty() ? 1 : 3);
    options.top_k = args.get_size("depth", std::min<size_t>(default_depth, 10000));
    if (options.top_k < 10 || options.top_k > 10000) throw Error("--depth must be between 10 and 10000");
    options.complexity = args.get_size("complexity", options.complexity);
    if (options.complexity > 100000) throw Error("--complexity must be at most 100000");
    if (args.has("rerank")) options.rerank = parse_rerank(args.get("rerank"));
    // Hybrid runs once per --fusion x --vector-weight pair (lists compare fusions in one process, sharing the
    // embedding cache); the other options of the pair are leann search's.
    std::vector<SearchOptions> runs;
    for (SearchMode mode : modes) {
        if (mode != SearchMode::hybrid) {
            runs.push_back(options);
            runs.back().mode = mode;
            continue;
        }
        for (const std::string& fusion : split_list(args.get("fusion", std::string(fusion_name(options.fusion)))))
            for (const std::string& weight : split_list(args.get("vector-weight", std::to_string(options.vector_weight)))) {
                Args one({"--fusion", fusion, "--vector-weight", weight}, fusion_option_names(), {});
                SearchOptions o = options;
                o.mode = mode;
                apply_fusion_args(one, o);
                o.keyword_candidates = args.get_size("keyword-candidates", o.keyword_candidates);
                if (o.keyword_candidates > 10000) throw Error("--keyword-candidates must be at most 10000");
                runs.push_back(o);
            }
    }

    const Index index = open_index(args, path, true);
    for (const SearchOptions& run : runs) {
        const SearchMode mode = run.mode;
        options = run;
        char weight[32];
        std::snprintf(weight, sizeof weight, "%g", options.vector_weight);
        const std::string label = mode != SearchMode::hybrid
                                      ? std::string(mode_name(mode))
                                      : std::string(mode_name(mode)) + " (" + std::string(fusion_name(options.fusion)) +
                                            ", vector weight " + weight + ")";
        double sum_ndcg = 0, sum_mrr = 0, seconds = 0, recomputed = 0, ranked = 0;
        std::vector<double> sum_recall(ks.size(), 0);
        nlohmann::json per_query = nlohmann::json::array();
        if (!json) {
            std::printf("# mode %s\n%-16s %8s %8s", label.c_str(), "query", "nDCG@10", "MRR@10");
            for (size_t k : ks) std::printf(" %10s", ("R@" + std::to_string(k)).c_str());
            std::printf(" %5s  %s\n", "rel", "text");
        }
        for (const apps::Query* q : evaluated) {
            const apps::Judgements& judged = qrels.at(q->id);
            const SearchResult r = index.search(utf8::repair(q->text), options);
            seconds += r.seconds;
            recomputed += double(r.stats.recomputed);
            ranked += double(r.stats.recomputed + r.stats.lru_hits + r.stats.hub_hits);
            std::vector<apps::RankedItem> items;
            items.reserve(r.hits.size());
            for (const Hit& h : r.hits) items.push_back({document_id(h, doc_field), h.score});
            const std::vector<std::string> ranking = apps::rank_documents(items);
            const double ndcg = apps::ndcg_at(ranking, judged, 10);
            const double mrr = apps::mrr_at(ranking, judged, 10);
            sum_ndcg += ndcg;
            sum_mrr += mrr;
            nlohmann::json row = {{"query_id", q->id}, {"query", q->text}, {"relevant", apps::relevant_count(judged)},
                                  {"ndcg@10", ndcg}, {"mrr@10", mrr}};
            for (size_t i = 0; i < ks.size(); ++i) {
                const double recall = apps::recall_at(ranking, judged, ks[i]);
                sum_recall[i] += recall;
                row[recall_key(ks[i])] = recall;
            }
            if (json) {
                row["top"] = std::vector<std::string>(ranking.begin(), ranking.begin() + std::min<size_t>(10, ranking.size()));
                per_query.push_back(std::move(row));
            } else {
                std::printf("%-16s %8.4f %8.4f", apps::escape_controls(q->id).c_str(), ndcg, mrr);
                for (size_t k : ks) std::printf(" %10.4f", row[recall_key(k)].get<double>());
                std::printf(" %5zu  %s\n", apps::relevant_count(judged), apps::escape_controls(utf8::repair(q->text)).c_str());
                std::fflush(stdout);
            }
        }
        const double n = static_cast<double>(evaluated.size());
        if (json) {
            nlohmann::json summary = {{"mode", mode_name(mode)},
                                      {"index", path.string()},
                                      {"ndcg@10", sum_ndcg / n},
                                      {"mrr@10", sum_mrr / n},
                                      {"queries", evaluated.size()},
                                      {"queries_without_relevant", without_relevant},
                                      {"judged_queries_missing", judged_missing},
                                      {"depth", options.top_k},
                                      {"doc_field", doc_field.empty() ? nlohmann::json(nullptr) : nlohmann::json(doc_field)},
                                      {"seconds", seconds},
                                      // exact vectors per query: computed, and computed or served by a cache
                                      {"recomputed_per_query", recomputed / n},
                                      {"exact_per_query", ranked / n}};
            for (size_t i = 0; i < ks.size(); ++i) summary[recall_key(ks[i])] = sum_recall[i] / n;
            if (mode == SearchMode::hybrid) {
                summary["fusion"] = fusion_name(options.fusion);
                summary["vector_weight"] = options.vector_weight;
                summary["keyword_candidates"] = options.keyword_candidates;
            }
            summary["per_query"] = std::move(per_query);
            std::printf("%s\n", apps::dump(summary).c_str());
        } else {
            std::printf("%s: %zu queries: nDCG@10 %.4f  MRR@10 %.4f", label.c_str(), evaluated.size(), sum_ndcg / n,
                        sum_mrr / n);
            for (size_t i = 0; i < ks.size(); ++i) std::printf("  recall@%zu %.4f", ks[i], sum_recall[i] / n);
            std::printf("\n");
            if (without_relevant)
                std::printf("%zu queries without a relevant document left out\n", without_relevant);
            if (judged_missing)
                std::printf("%zu judged queries are not in the queries file\n", judged_missing);
            std::fprintf(stderr, "%s: %.1fs searching (%.3fs per query)\n", label.c_str(), seconds, seconds / n);
        }
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace leann::cli
