// leann build: folders, files and JSONL records -> an index under $LEANN_HOME/indexes/NAME (or --index PATH).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "index_args.h"
#include "interrupt.h"
#include "leann/catalog.h"
#include "leann/encoder.h"
#include "leann/error.h"
#include "leann/ingest.h"
#include "leann/model.h"
#include "leann/writer.h"
#include "terminal_text.h"

namespace leann::cli {
namespace {

constexpr const char* build_usage = R"(Usage: leann build NAME --docs PATH [PATH...] [options]
       leann build --index PATH --docs PATH [PATH...] [options]

Embeds the documents and writes an index that keeps a pruned graph, PQ codes and the passages, but no
embeddings. A PATH is a folder or file of plain text, Markdown, HTML or source code (chunked in the model's tokens;
.gitignore and .leannignore honoured; hidden files, VCS and build folders skipped), or a .jsonl file of records:
"text" (required), "id" or "_id" (default: the line number), "title" (prepended to the text), any other field
kept as metadata. Unreadable files and bad lines are skipped with a warning. Re-running the build on an
existing index updates it in place: only new and changed files are read, and only chunks whose text is new are
embedded (changed settings rebuild it from scratch, and say so). An unchanged tree only walks the folders.

Options:
  --docs PATH...         folders, files, or .jsonl record files (more paths may follow)
  --include GLOBS        only files matching these comma-separated globs (e.g. "*.md,src/**")
  --exclude GLOBS        skip files and folders matching these globs
  --file-types EXTS      only these extensions (e.g. "md,py,txt")
  --hidden               include hidden files and folders
  --max-file-mb N        skip files larger than N MiB (default: 32)
  --chunk-size N         prose chunk size in model tokens (default: 256, at most the model's max length)
  --chunk-overlap N      prose chunk overlap in tokens (default: 64)
  --code-chunk-size N    code chunk size in tokens (default: 256)
  --code-chunk-overlap N code chunk overlap in tokens (default: 32)
  --index PATH           write PATH (a file, or a folder that gets index.leann) instead of NAME
  --model NAME|PATH      embedding model (default: all-MiniLM-L6-v2)
  --metric M             cosine | ip | l2 (default: the model's similarity, usually cosine)
  --threads N            threads (default: all cores)
  --precision P          encoder arithmetic: auto (default: this CPU's measured best), fp32, bf16, int8;
                         recorded in the index
  --batch-size N         full-length chunks per encoder call (default: 32; shorter texts go more per call)
  --graph-degree M       HNSW M while building (default: 32)
  --ef-construction N    HNSW candidate list while building (default: 128)
  --pruned-degree m      edges kept per ordinary node after pruning (default: 4)
  --hub-degree M         edges kept per hub node, and the cap for every node (default: 16)
  --hub-fraction F       share of nodes that are hubs (default: 0.02)
  --no-prune             keep the unpruned HNSW graph (larger; for comparison)
  --pq-bytes N           PQ code bytes per chunk (default: dims/4 = 96 for 384-d when chunks average 512
                         bytes or more, else dims/8 = 48)
  --hub-cache-mb N       store exact vectors of the highest-degree nodes, up to N MiB (default: 0)
  --force                rebuild from scratch (re-embeds everything); also replaces a file at --index PATH that
                         is not a leann index (without it, such a file is never touched; a device, FIFO or
                         socket never is)
  --rehash               hash every file instead of trusting unchanged size, mtime, ctime and inode
  --wait                 wait for another leann updating the same index instead of stopping

On a terminal: progress bars and a closing summary on stderr. Otherwise: no progress, warnings on stderr, and one
JSON line on stdout: {"index", "up_to_date", "rebuilt", "rebuild_reason", "files" (read), "files_added",
"files_changed", "files_removed", "files_kept", "files_unreadable", "skipped", "skip_reasons", "repaired", "chunks"
(live), "chunks_added", "chunks_changed" (same text, new place: not embedded again), "chunks_removed",
"chunks_kept", "embedded" (chunks embedded by this run), "raw_bytes" (text read), "chunk_text_bytes",
"index_bytes", "bytes_written", "generation", "compacted", "seconds", "stage_seconds"}.
Ctrl-C stops cleanly: the index stays as it was before this run.
)";

const bool stderr_is_tty = isatty(STDERR_FILENO) != 0;

/// On a terminal: sentences on stderr. Otherwise: one JSON object on stdout (warnings stay on stderr, one per line).
void print_summary(const nlohmann::json& summary, const std::string& human) {
    if (stderr_is_tty || isatty(STDOUT_FILENO))
        std::fprintf(stderr, "%s", human.c_str());
    else
        std::printf("%s\n", summary.dump().c_str());
}

std::string plural(size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

void report(const std::filesystem::path& path, const UpdateStats& u) {
    const ReadReport& r = u.report;
    std::string human;
    if (u.up_to_date) {
        human = path.string() + " is up to date: " + plural(u.files_kept, "file", "files") + " unchanged (" +
                plural(u.live_chunks, "chunk", "chunks") + "); nothing to do (--force rebuilds)\n";
    } else if (u.rebuilt) {
        human = "indexed " + plural(u.files_added, "file", "files") + " (" + human_bytes(double(r.raw_bytes)) +
                " of text) into " + plural(u.live_chunks, "chunk", "chunks") + " in " + format_seconds(u.seconds) +
                (u.rebuild_reason == "new index" ? "" : " (built from scratch: " + u.rebuild_reason + ")") + "\n";
    } else {
        human = "updated " + path.string() + " in " + format_seconds(u.seconds) + ": files " +
                std::to_string(u.files_added) + " added, " + std::to_string(u.files_changed) + " changed, " +
                std::to_string(u.files_removed) + " removed, " + std::to_string(u.files_kept) + " unchanged; chunks " +
                std::to_string(u.chunks_added) + " added, " + std::to_string(u.chunks_changed) + " moved, " +
                std::to_string(u.chunks_removed) + " removed, " + std::to_string(u.chunks_kept) + " kept; " +
                plural(u.embedded, "chunk", "chunks") + " embedded, " + human_bytes(double(u.bytes_written)) +
                " written" + (u.compacted ? " (compacted)" : "") + "\n";
    }
    if (r.skipped > 0 && !u.up_to_date) {
        human += "skipped " + std::to_string(r.skipped) + ":";
        std::vector<std::pair<size_t, std::string>> reasons;
        for (const auto& [reason, n] : r.skip_reasons) reasons.push_back({n, reason});
        std::sort(reasons.rbegin(), reasons.rend());
        for (size_t i = 0; i < reasons.size(); ++i)
            human += (i ? ", " : " ") + std::to_string(reasons[i].first) + " " + reasons[i].second;
        human += " (the warnings above name each one)\n";
    }
    if (u.files_unreadable > 0)
        human += plural(u.files_unreadable, "file", "files") +
                 " could not be read this time; their chunks stay as they were\n";
    if (r.repaired > 0)
        human += "repaired " + plural(r.repaired, "file", "files") +
                 " with invalid UTF-8 (indexed with U+FFFD in place of the bad bytes)\n";
    if (!u.up_to_date)
        human += "index " + path.string() + ": " + human_bytes(double(u.index_bytes)) + " (" +
                 std::to_string(int(100.0 * double(u.index_bytes) / std::max<double>(1, double(r.raw_bytes)) + 0.5)) +
                 "% of the text read, passages included; no embeddings stored)\n";
    const IndexStats stats = Index::open(path).stats();
    print_summary({{"index", path.string()},
                   {"up_to_date", u.up_to_date},
                   {"rebuilt", u.rebuilt},
                   {"rebuild_reason", u.rebuild_reason},
                   {"files", r.files},
                   {"files_added", u.files_added},
                   {"files_changed", u.files_changed},
                   {"files_removed", u.files_removed},
                   {"files_kept", u.files_kept},
                   {"files_unreadable", u.files_unreadable},
                   {"skipped", r.skipped},
                   {"skip_reasons", r.skip_reasons},
                   {"repaired", r.repaired},
                   {"chunks", u.live_chunks},
                   {"chunks_added", u.chunks_added},
                   {"chunks_changed", u.chunks_changed},
                   {"chunks_removed", u.chunks_removed},
                   {"chunks_kept", u.chunks_kept},
                   {"embedded", u.embedded},
                   {"raw_bytes", r.raw_bytes},
                   {"chunk_text_bytes", stats.raw_text_bytes},
                   {"index_bytes", u.index_bytes},
                   {"bytes_written", u.bytes_written},
                   {"generation", u.generation},
                   {"compacted", u.compacted},
                   {"seconds", u.seconds},
                   {"stage_seconds", u.stage_seconds}},
                  human);
}

}  // namespace

SyncArgs parse_sync_args(const Args& args, const std::vector<std::string>& doc_args) {
    SyncArgs out;
    for (const auto& d : doc_args) out.roots.emplace_back(d);
    FileOptions& files = out.sync.files;
    auto globs = [&](const std::string& name) {
        std::vector<std::string> list;
        std::string value = args.get(name), item;
        for (std::istringstream in(value); std::getline(in, item, ',');)
            if (!item.empty()) list.push_back(item);
        return list;
    };
    files.include = globs("include");
    files.exclude = globs("exclude");
    files.file_types = globs("file-types");
    files.include_hidden = args.has("hidden");
    files.max_file_bytes = args.get_size("max-file-mb", 32) << 20;
    files.chunk_tokens = args.get_size("chunk-size", files.chunk_tokens);
    files.chunk_overlap = args.get_size("chunk-overlap", files.chunk_overlap);
    files.code_chunk_tokens = args.get_size("code-chunk-size", files.code_chunk_tokens);
    files.code_chunk_overlap = args.get_size("code-chunk-overlap", files.code_chunk_overlap);
    if (files.chunk_tokens < 16 || files.code_chunk_tokens < 16) throw Error("chunk sizes must be at least 16 tokens");
    files.skip_folders = {leann_home()};  // never index our own models and indexes
    out.sync.rehash = args.has("rehash");
    out.sync.force = args.has("force");

    BuildOptions& options = out.writer.build;
    options.threads = thread_arg(args);
    options.encode_batch = args.get_size("batch-size", options.encode_batch);
    options.graph.max_degree = uint32_t(args.get_size("graph-degree", options.graph.max_degree));
    options.graph.ef_construction = uint32_t(args.get_size("ef-construction", options.graph.ef_construction));
    options.graph.pruned_degree = uint32_t(args.get_size("pruned-degree", options.graph.pruned_degree));
    options.graph.hub_degree = uint32_t(args.get_size("hub-degree", options.graph.hub_degree));
    options.graph.hub_fraction = args.get_double("hub-fraction", options.graph.hub_fraction);
    options.graph.prune = !args.has("no-prune");
    options.pq_bytes = args.get_size("pq-bytes", 0);
    options.hub_cache_bytes = args.get_size("hub-cache-mb", 0) << 20;
    if (options.graph.max_degree < 2) throw Error("--graph-degree must be at least 2");
    if (options.graph.pruned_degree < 1 || options.graph.pruned_degree > options.graph.hub_degree)
        throw Error("--pruned-degree must be between 1 and --hub-degree");
    if (options.graph.hub_fraction < 0 || options.graph.hub_fraction > 1)
        throw Error("--hub-fraction must be between 0 and 1");
    if (args.has("metric")) {
        auto metric = parse_metric(args.get("metric"));
        if (!metric) throw Error("--metric must be cosine, ip or l2, not '" + args.get("metric") + "'");
        options.metric = metric;
    }
    out.writer.wait = args.has("wait");
    out.writer.replace_foreign = args.has("force");
    return out;
}

void print_update_warnings(const UpdateStats& u) {
    // Warnings name files and records: a file name with a newline or ESC in it is shown escaped.
    for (const auto& w : u.report.warnings) std::fprintf(stderr, "warning: %s\n", apps::escape_controls(w).c_str());
}

int run_build(const std::vector<std::string>& argv) {
    Args args(argv,
              {"docs", "index", "model", "metric", "threads", "precision", "batch-size", "graph-degree", "ef-construction",
               "pruned-degree", "hub-degree", "hub-fraction", "pq-bytes", "hub-cache-mb", "include", "exclude",
               "file-types", "max-file-mb", "chunk-size", "chunk-overlap", "code-chunk-size", "code-chunk-overlap"},
              {"help", "h", "no-prune", "hidden", "force", "rehash", "wait"});
    if (args.has("help") || args.has("h")) {
        std::fputs(build_usage, stdout);
        return 0;
    }
    size_t shift = 0;
    const std::filesystem::path path = index_path(args, shift);
    if (!args.has("docs")) throw Error("--docs PATH is required (folders, files or .jsonl records)");
    // --docs A B C: the option takes A; the rest arrive as positionals after NAME.
    std::vector<std::string> doc_args = {args.get("docs")};
    doc_args.insert(doc_args.end(), args.positionals().begin() + std::ptrdiff_t(shift), args.positionals().end());
    SyncArgs sync = parse_sync_args(args, doc_args);

    InterruptScope interrupts;
    EncoderOptions encoder_options;
    encoder_options.threads = sync.writer.build.threads;
    encoder_options.precision = precision_arg(args);
    const std::filesystem::path model_dir = resolve_model(args.get("model", std::string(default_model_name)));
    std::shared_ptr<Encoder> encoder = Encoder::load(model_dir, encoder_options);
    IndexWriter writer(path, encoder, sync.writer);
    Progress progress;
    writer.set_progress([&](std::string_view stage, size_t done, size_t total) {
        check_interrupt();
        progress(stage, done, total);
    });
    const UpdateStats u = writer.sync(sync.roots, sync.sync);
    progress.finish();
    if (!u.up_to_date) print_update_warnings(u);  // an unchanged tree was only walked: nothing new to say
    if (u.rebuilt && u.rebuild_reason != "new index" && stderr_is_tty)
        std::fprintf(stderr, "building from scratch: %s\n", u.rebuild_reason.c_str());
    report(path, u);
    return 0;
}

}  // namespace leann::cli
