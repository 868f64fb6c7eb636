// leann search: one query, or a file of queries with the model and index loaded once.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "daemon_client.h"
#include "daemon_paths.h"
#include "filter_args.h"
#include "fusion_args.h"
#include "index_args.h"
#include "json_output.h"
#include "snippet.h"
#include "terminal_text.h"
#include "leann/error.h"
#include "leann/log.h"
#include "leann/model.h"
#include "util/utf8.h"

namespace leann::cli {
namespace {

constexpr const char* search_usage = R"(Usage: leann search NAME "query" [options]
       leann search NAME --queries FILE [options]      (one JSON line per query)
       (--index PATH in place of NAME)

Options:
  --top-k K              results per query (default: 5)
  --mode M               vector (the embedding), keyword (BM25 over the keyword index: exact names and
                         identifiers, no embedding) or hybrid (both, fused) (default: hybrid). "Quoted
                         phrases" in keyword and hybrid queries must appear word for word in every hit
  --fusion F             hybrid: rrf (reciprocal rank fusion) or convex (weighted normalised scores)
                         (default: convex)
  --vector-weight W      hybrid: weight of the vector ranking in [0, 1]; keyword gets 1 - W (default: 0.6)
  --keyword-candidates N hybrid: best BM25 hits ranked by their exact vectors too (default: max(16, top-k));
                         with convex fusion and --rerank auto only those that could still reach the top k are
                         embedded
  --complexity L         search list size; larger finds more, costs more (default: 1600, or 64
                         with --recompute-share)
  --rerank N|auto        how many candidates of the PQ-guided walk are recomputed and ranked exactly (the
                         embeddings a query computes): auto (default) recomputes them best first and stops
                         when none left can enter the top k (by the PQ error the index measured at build; in
                         hybrid mode with convex fusion, the fused top k); N recomputes exactly the best N
  --recompute-share A    instead recompute this share of the candidates seen during the walk, best first
                         (the paper's interleaved two-level search; 1 = every visited node; default: 0 = off)
  --batch-size B         with --recompute-share: candidates gathered per encoder call (default: 64)
  --no-recompute         rank by PQ codes only: fast, approximate (for comparison)
  --json                 JSON output: {"query_id", "query", "results": [{"id", "score", "text", "metadata"}]}
  --queries FILE         lines "id<TAB>text" or plain lines (id = line number)
  --model PATH           use this model folder (must be the model the index was built with)
  --threads N            encoder threads (default: all cores)
  --precision P          encoder arithmetic: auto (default: the index's build precision where this CPU
                         runs it, else fp32), fp32, bf16, int8
  --no-daemon            search in this process (also: LEANN_NO_DAEMON=1). By default a single query goes to the
                         per-user search daemon, started on first use, which keeps the model and index loaded
                         (leann daemon --help); whenever it cannot serve, the search runs here, with the same output
)";

/// Ranked hits: "1. [score] path:line" and a snippet. On a terminal the query's terms are highlighted.
void print_text(const SearchResult& r, std::string_view query) {
    const bool tty = isatty(STDOUT_FILENO) != 0;
    const std::string_view mark_on = tty ? "\x1b[1;33m" : "", mark_off = tty ? "\x1b[0m" : "";
    const std::string_view id_on = tty ? "\x1b[1m" : "", id_off = tty ? "\x1b[0m" : "";
    if (r.hits.empty()) std::printf("no results\n");
    for (size_t i = 0; i < r.hits.size(); ++i) {
        const Hit& h = r.hits[i];
        // Chunks of files show where they are: path:line (their id); records show their id.
        // Ids and passages come from documents: their control characters are shown escaped, never sent raw.
        const std::string text = apps::escape_controls(h.text, apps::Newlines::keep);
        const std::string snippet = apps::render_snippet(apps::make_snippet(text, query), mark_on, mark_off);
        std::printf("%zu. [%.4f] %.*s%s%.*s\n   %s\n", i + 1, h.score, int(id_on.size()), id_on.data(),
                    apps::escape_controls(h.id).c_str(),
                    int(id_off.size()), id_off.data(), snippet.c_str());
    }
    std::fflush(stdout);
    for (const auto& note : r.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
    std::fprintf(stderr, "%.3fs, %zu embeddings recomputed, %zu from cache\n", r.seconds, r.stats.recomputed,
                 r.stats.lru_hits + r.stats.hub_hits);
}

/// The daemon's answer to the one query, or nullopt: search in-process. A search with --threads runs here (the
/// daemon's encoder uses every core, as a search without it does).
std::optional<SearchResult> search_by_daemon(const Args& args, const std::filesystem::path& path,
                                             const std::string& query, const SearchOptions& options) {
    if (args.has("no-daemon") || daemon::disabled_by_environment()) {
        log(LogLevel::info, "searching in-process: --no-daemon or LEANN_NO_DAEMON");
        return std::nullopt;
    }
    if (args.has("threads")) {
        log(LogLevel::info, "searching in-process: --threads is not served by the daemon");
        return std::nullopt;
    }
    daemon::SearchRequest request;
    try {
        // Whatever fails here fails again in-process, which reports it in its own words.
        request.index = std::filesystem::absolute(path);
        if (args.has("model")) request.model = std::filesystem::absolute(resolve_model(args.get("model")));
        request.precision = precision_arg(args);
    } catch (const std::exception& e) {
        log(LogLevel::info, std::string("searching in-process: ") + e.what());
        return std::nullopt;
    }
    request.query = query;
    request.options = options;
    return daemon::search(request);
}

}  // namespace

int run_search(const std::vector<std::string>& argv) {
    std::set<std::string> option_names = {"index",   "top-k",  "complexity",  "rerank",        "recompute-share",
                                          "batch-size", "queries", "model", "threads",  "mode", "precision"};
    option_names.merge(filter_option_names());
    option_names.merge(fusion_option_names());
    Args args(argv, option_names, {"help", "h", "json", "no-recompute", "no-daemon"});
    if (args.has("help") || args.has("h")) {
        std::fputs(search_usage, stdout);
        std::fputs(filter_usage, stdout);
        return 0;
    }
    size_t shift = 0;
    const std::filesystem::path path = index_path(args, shift);
    const auto& pos = args.positionals();
    SearchOptions options;
    options.top_k = args.get_size("top-k", 5);
    options.complexity = args.get_size("complexity", options.complexity);
    if (args.has("rerank")) options.rerank = parse_rerank(args.get("rerank"));
    options.recompute_share = args.get_double("recompute-share", options.recompute_share);
    options.batch_size = args.get_size("batch-size", options.batch_size);
    options.recompute = !args.has("no-recompute");
    if (args.has("mode")) {
        const auto mode = parse_search_mode(args.get("mode"));
        if (!mode) throw Error("--mode must be vector, keyword or hybrid, not '" + args.get("mode") + "'");
        options.mode = *mode;
    }
    apply_fusion_args(args, options);
    options.filter = filter_from_args(args);
    if (options.top_k == 0 || options.top_k > 10000) throw Error("--top-k must be between 1 and 10000");
    if (options.complexity > 100000) throw Error("--complexity must be at most 100000");
    if (!(options.recompute_share >= 0 && options.recompute_share <= 1))
        throw Error("--recompute-share must be in [0, 1]");
    const bool json = args.has("json");

    if (!args.has("queries")) {
        if (pos.size() != shift + 1) throw Error("give one query (quote it), or --queries FILE");
        const std::string query = utf8::repair(pos[shift]);
        std::optional<SearchResult> served = search_by_daemon(args, path, query, options);
        const SearchResult r = served ? std::move(*served) : open_index(args, path, true).search(query, options);
        if (json)
            std::printf("%s\n", apps::dump(apps::result_json(nullptr, query, r)).c_str());
        else
            print_text(r, query);
        return 0;
    }
    if (pos.size() != shift) throw Error("--queries FILE and a query argument exclude each other");
    const std::string file = args.get("queries");
    std::ifstream in_file;
    if (file != "-") {
        in_file.open(file);
        if (!in_file) throw Error(file + ": cannot open");
    }
    std::istream& in = file == "-" ? std::cin : in_file;
    const Index index = open_index(args, path, true);
    std::string line;
    size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        line = utf8::repair(line);
        nlohmann::json query_id = std::to_string(line_no);
        std::string query = line;
        if (auto tab = line.find('\t'); tab != std::string::npos) {
            query_id = line.substr(0, tab);
            query = line.substr(tab + 1);
        }
        if (query.find_first_not_of(" \t") == std::string::npos) continue;
        const SearchResult r = index.search(query, options);
        if (json) {
            std::printf("%s\n", apps::dump(apps::result_json(query_id, query, r)).c_str());
        } else {
            std::printf("# %s\t%s\n", apps::escape_controls(query_id.get<std::string>()).c_str(),
                        apps::escape_controls(query).c_str());
            print_text(r, query);
        }
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace leann::cli
