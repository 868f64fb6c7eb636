// leann stats / leann verify: what an index holds, and whether it is intact (and, with --recall, how good).
#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>

#include "args.h"
#include "fusion_args.h"
#include "commands.h"
#include "index_args.h"
#include "json_output.h"
#include "terminal_text.h"
#include "leann/error.h"

namespace leann::cli {
namespace {

constexpr const char* stats_usage = R"(Usage: leann stats NAME [--json]     (or --index PATH)

Sizes of every section of the index file, bytes per chunk, share of the raw text, counts and the recorded build
configuration. The index holds no embedding matrix: the largest sections are the passages and the graph.
)";

constexpr const char* verify_usage = R"(Usage: leann verify NAME [--recall N] [options]     (or --index PATH)

Checks every section checksum, every passage block and the graph's invariants. With --recall N, also measures
recall@k of the vector search against exact search on N queries taken from the passages themselves (their first
words; sampled by chunk id, so an index updated in place and a fresh build of the same files get the same
queries); exact search needs every passage embedded again, so this takes as long as the build's embedding.

Options:
  --recall N             sample N queries (default: off)
  --top-k K              k of recall@k (default: 3)
  --complexity L, --rerank N|auto, --recompute-share A    as for leann search; --rerank also takes a list
                         (--rerank auto,8,16,64): the same queries are measured once per value
  --seed S               query sample seed (default: 1)
  --threads N, --model PATH, --precision P (encoder arithmetic, as for search)
)";

bool is_index_structure(const std::string& tag) { return tag != "PSGD" && tag != "HUBV" && tag != "META"; }

}  // namespace

int run_stats(const std::vector<std::string>& argv) {
    Args args(argv, {"index"}, {"help", "h", "json"});
    if (args.has("help") || args.has("h")) {
        std::fputs(stats_usage, stdout);
        return 0;
    }
    size_t shift = 0;
    const std::filesystem::path path = index_path(args, shift);
    const Index index = open_index(args, path, false);
    const IndexStats s = index.stats();
    const double chunks = std::max<double>(1, double(s.chunks));
    uint64_t structure = 0;
    for (const auto& sec : s.sections)
        if (is_index_structure(sec.tag)) structure += sec.bytes;
    if (args.has("json")) {
        std::printf("%s\n", apps::dump(apps::stats_json(s), 2).c_str());
        return 0;
    }
    std::printf("index      %s (format %u, generation %u)\n", apps::escape_controls(s.path.string()).c_str(),
                s.format_version,
                s.generation);
    std::printf("chunks     %zu live, %zu deleted (tombstones)   edges %zu (%.1f per chunk)   hub cache %zu nodes\n",
                s.chunks - s.deleted, s.deleted, s.edges, double(s.edges) / chunks, s.hubs);
    if (s.pq_error > 0)
        std::printf("PQ error   %.4f at build%s; re-rank %s\n", s.pq_error,
                    s.pq_added ? (", " + std::to_string(s.pq_added) + " chunks added since: " +
                                  std::to_string(s.pq_added_error))
                                     .c_str()
                               : "",
                    s.adaptive_rerank ? "adaptive" : "fixed 64");
    std::printf("raw text   %s\n", human_bytes(double(s.raw_text_bytes)).c_str());
    std::printf("file       %s (%.1f%% of the raw text; %s only older generations use)\n",
                human_bytes(double(s.file_bytes)).c_str(),
                100.0 * double(s.file_bytes) / std::max<double>(1, double(s.raw_text_bytes)),
                human_bytes(double(s.reclaimable_bytes)).c_str());
    for (const auto& line : s.advice) std::printf("advice     %s\n", apps::escape_controls(line).c_str());
    std::printf("\n");
    std::printf("%-6s %12s %10s  %s\n", "tag", "bytes", "per chunk", "what");
    for (const auto& sec : s.sections)
        std::printf("%-6s %12llu %10.1f  %s\n", sec.tag.c_str(), static_cast<unsigned long long>(sec.bytes),
                    double(sec.bytes) / chunks, sec.what.c_str());
    std::printf("\ngraph + PQ + id map (no passages, no hub vectors): %.1f bytes per chunk, %.2f%% of the raw text\n",
                double(structure) / chunks, 100.0 * double(structure) / std::max<double>(1, double(s.raw_text_bytes)));
    if (s.keyword_bytes > 0)
        std::printf("keyword index: %.1f bytes per chunk, %.1f%% of the compressed passages (budget 25%%)\n",
                    double(s.keyword_bytes) / chunks, 100.0 * double(s.keyword_bytes) / std::max<double>(1, double(s.passage_bytes)));
    else
        std::printf("keyword index: none (written before format version 3; the next update adds one)\n");
    std::printf("embedding matrix: none stored\n\nbuild configuration:\n%s\n",
                apps::escape_controls(s.config_json, apps::Newlines::keep).c_str());
    return 0;
}

int run_verify(const std::vector<std::string>& argv) {
    Args args(argv, {"index", "recall", "top-k", "complexity", "rerank", "recompute-share", "seed", "threads", "model",
                     "precision"},
              {"help", "h"});
    if (args.has("help") || args.has("h")) {
        std::fputs(verify_usage, stdout);
        return 0;
    }
    size_t shift = 0;
    const std::filesystem::path path = index_path(args, shift);
    const size_t samples = args.get_size("recall", 0);
    Index index = open_index(args, path, samples > 0);
    index.verify();
    const IndexStats st = index.stats();
    std::printf("%s: checksums, passages, graph invariants and source manifest OK (%zu live chunks, %zu deleted, "
                "generation %u)\n",
                path.string().c_str(), st.chunks - st.deleted, st.deleted, st.generation);
    if (samples == 0) return 0;

    SearchOptions options;
    options.mode = SearchMode::vector;  // the recall of the graph + PQ + re-rank, against exact vector search
    options.top_k = args.get_size("top-k", 3);
    options.complexity = args.get_size("complexity", options.complexity);
    std::vector<size_t> reranks;
    {
        std::istringstream list(args.get("rerank", "auto"));
        for (std::string value; std::getline(list, value, ',');) {
            if (reranks.size() >= 64) throw Error("--rerank takes a list of at most 64 values");
            reranks.push_back(parse_rerank(value));
        }
    }
    options.recompute_share = args.get_double("recompute-share", options.recompute_share);
    index.set_cache_capacity(0);  // honest recomputation counts

    // Exact search needs every live passage's embedding: recompute them all once (deleted rows stay zero and
    // exact_search ignores them).
    Encoder& encoder = index.encoder();
    const size_t n = index.size(), dim = encoder.dims();
    std::vector<float> matrix(n * dim);
    std::vector<uint32_t> live;
    for (uint32_t v = 0; v < n; ++v)
        if (index.live(v)) live.push_back(v);
    Progress progress;
    std::vector<std::string> texts;
    std::vector<float> batch;
    // Live nodes by chunk id: the query sample below depends on which chunks the index holds, not on their node
    // numbers, so an index updated in place and a fresh build of the same files are measured on the same queries.
    std::vector<std::pair<std::string, uint32_t>> by_id;
    by_id.reserve(live.size());
    for (size_t begin = 0; begin < live.size(); begin += 64) {
        const size_t end = std::min(live.size(), begin + 64);
        texts.clear();
        for (size_t i = begin; i < end; ++i) {
            Document doc = index.document(live[i]);
            by_id.emplace_back(std::move(doc.id), live[i]);
            texts.push_back(std::move(doc.text));
        }
        std::vector<std::string_view> views(texts.begin(), texts.end());
        batch.resize(views.size() * dim);
        encoder.encode(views, batch, TextRole::passage);
        for (size_t i = begin; i < end; ++i)
            std::copy_n(batch.data() + (i - begin) * dim, dim, matrix.data() + size_t(live[i]) * dim);
        progress("embed", end, live.size());
    }
    progress.finish();
    if (live.empty()) throw Error("verify --recall: the index has no live chunks");
    std::sort(by_id.begin(), by_id.end());

    // The queries and their exact answers, once for every --rerank value.
    std::mt19937_64 rng(args.get_size("seed", 1));
    const size_t k = options.top_k;
    std::vector<std::string> queries;
    std::vector<std::vector<uint32_t>> truths;
    for (size_t q = 0; q < samples; ++q) {
        const Document doc = index.document(by_id[rng() % by_id.size()].second);
        std::istringstream words(doc.text);
        std::string query, word;
        for (int w = 0; w < 12 && words >> word; ++w) query += (w ? " " : "") + word;
        std::vector<float> qv(dim);
        const std::string_view qs[] = {query};
        encoder.encode(qs, qv, TextRole::query);
        truths.push_back(index.exact_search(qv, matrix, k));
        queries.push_back(std::move(query));
    }
    const std::string complexity = options.complexity ? std::to_string(options.complexity) : std::string("auto");
    for (const size_t rerank : reranks) {
        options.rerank = rerank;
        double hits = 0, recomputed = 0, seconds = 0;
        for (size_t q = 0; q < samples; ++q) {
            const SearchResult r = index.search(queries[q], options);
            for (const Hit& h : r.hits) hits += double(std::count(truths[q].begin(), truths[q].end(), h.node));
            recomputed += double(r.stats.recomputed);
            seconds += r.seconds;
        }
        const std::string policy = rerank ? std::to_string(rerank) : std::string("auto");
        std::printf("recall@%zu %.3f over %zu sampled queries (complexity %s, rerank %s): %.1f recomputations and "
                    "%.3fs per query\n",
                    k, hits / double(samples * k), samples, complexity.c_str(), policy.c_str(),
                    recomputed / double(samples), seconds / double(samples));
    }
    return 0;
}

}  // namespace leann::cli
