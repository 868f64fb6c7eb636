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
#include "build_manifest.h"
#include "commands.h"
#include "index_args.h"
#include "interrupt.h"
#include "leann/catalog.h"
#include "leann/encoder.h"
#include "leann/error.h"
#include "leann/ingest.h"
#include "leann/model.h"

namespace leann::cli {
namespace {

constexpr const char* build_usage = R"(Usage: leann build NAME --docs PATH [PATH...] [options]
       leann build --index PATH --docs PATH [PATH...] [options]

Embeds the documents and writes an index that keeps a pruned graph, PQ codes and the passages, but no
embeddings. A PATH is a folder or file of plain text, Markdown, HTML or source code (chunked in the model's tokens;
.gitignore and .leannignore honoured; hidden files, VCS and build folders skipped), or a .jsonl file of records:
"text" (required), "id" or "_id" (default: the line number), "title" (prepended to the text), any other field
kept as metadata. Unreadable files and bad lines are skipped with a warning. An existing index of the same
name is replaced only when the new one is complete; re-running the same build on an unchanged tree only walks
the folders and says so.

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
  --batch-size N         texts per encoder call (default: 32)
  --graph-degree M       HNSW M while building (default: 32)
  --ef-construction N    HNSW candidate list while building (default: 128)
  --pruned-degree m      edges kept per ordinary node after pruning (default: 4)
  --hub-degree M         edges kept per hub node, and the cap for every node (default: 16)
  --hub-fraction F       share of nodes that are hubs (default: 0.02)
  --no-prune             keep the unpruned HNSW graph (larger; for comparison)
  --pq-bytes N           PQ code bytes per chunk (default: dims/12, 32 for 384-d)
  --hub-cache-mb N       store exact vectors of the highest-degree nodes, up to N MiB (default: 0)
  --force                rebuild even when nothing changed since the last build

On a terminal: progress bars and a closing summary on stderr. Otherwise: no progress, warnings on stderr, and one
JSON line on stdout: {"index", "up_to_date", "files", "skipped", "skip_reasons", "repaired", "chunks",
"raw_bytes" (text read), "chunk_text_bytes" (overlaps counted twice), "index_bytes", "seconds"}.
Ctrl-C stops cleanly: no index is written (an older one stays as it was).
)";

const bool stderr_is_tty = isatty(STDERR_FILENO) != 0;

/// The options that shape the index beyond the chunks (a change means a rebuild).
nlohmann::json build_settings_json(const BuildOptions& o) {
    return {{"graph", {o.graph.max_degree, o.graph.ef_construction, o.graph.prune, o.graph.hub_degree,
                       o.graph.pruned_degree, o.graph.hub_fraction}},
            {"pq_bytes", o.pq_bytes},
            {"hub_cache_bytes", o.hub_cache_bytes},
            {"metric", o.metric ? std::string(metric_name(*o.metric)) : std::string("model")}};
}

int64_t file_mtime_ns(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

/// On a terminal: sentences on stderr. Otherwise: one JSON object on stdout (warnings stay on stderr, one per line).
void print_summary(const nlohmann::json& summary, const std::string& human) {
    if (stderr_is_tty || isatty(STDOUT_FILENO))
        std::fprintf(stderr, "%s", human.c_str());
    else
        std::printf("%s\n", summary.dump().c_str());
}

void report_up_to_date(const std::filesystem::path& path, size_t files, double seconds) {
    const IndexSummary s = summarize(path.parent_path().filename().string(), Index::open(path));
    char human[512];
    std::snprintf(human, sizeof human,
                  "%s is up to date: %zu files unchanged since the build of %s (%zu chunks); nothing to do "
                  "(--force rebuilds)\n",
                  path.string().c_str(), files, s.created.c_str(), s.chunks);
    print_summary({{"index", path.string()}, {"up_to_date", true}, {"files", files}, {"chunks", s.chunks},
                   {"index_bytes", s.bytes}, {"seconds", seconds}},
                  human);
}

void report_built(const std::filesystem::path& path, const ReadReport& report, size_t jsonl_files, double seconds,
                  const std::map<std::string, double>& stage_seconds) {
    const IndexStats stats = Index::open(path).stats();
    const size_t files = report.files + jsonl_files;
    std::string human = "indexed " + std::to_string(files) + (files == 1 ? " file" : " files") + " (" +
                        human_bytes(double(report.raw_bytes)) + " of text) into " + std::to_string(stats.chunks) +
                        " chunks in " + format_seconds(seconds) + "\n";
    if (report.skipped > 0) {
        human += "skipped " + std::to_string(report.skipped) + ":";
        std::vector<std::pair<size_t, std::string>> reasons;
        for (const auto& [reason, n] : report.skip_reasons) reasons.push_back({n, reason});
        std::sort(reasons.rbegin(), reasons.rend());
        for (size_t i = 0; i < reasons.size(); ++i)
            human += (i ? ", " : " ") + std::to_string(reasons[i].first) + " " + reasons[i].second;
        human += " (the warnings above name each one)\n";
    }
    if (report.repaired > 0)
        human += "repaired " + std::to_string(report.repaired) + (report.repaired == 1 ? " file" : " files") +
                 " with invalid UTF-8 (indexed with U+FFFD in place of the bad bytes)\n";
    human += "index " + path.string() + ": " + human_bytes(double(stats.file_bytes)) + " (" +
             std::to_string(int(100.0 * double(stats.file_bytes) / std::max<double>(1, double(report.raw_bytes)) +
                                0.5)) +
             "% of the text, passages included; no embeddings stored)\n";
    print_summary({{"index", path.string()},
                   {"up_to_date", false},
                   {"files", files},
                   {"skipped", report.skipped},
                   {"skip_reasons", report.skip_reasons},
                   {"repaired", report.repaired},
                   {"chunks", stats.chunks},
                   {"raw_bytes", report.raw_bytes},
                   {"chunk_text_bytes", stats.raw_text_bytes},
                   {"index_bytes", stats.file_bytes},
                   {"seconds", seconds},
                   {"stage_seconds", stage_seconds}},
                  human);
}

}  // namespace

int run_build(const std::vector<std::string>& argv) {
    Args args(argv,
              {"docs", "index", "model", "metric", "threads", "batch-size", "graph-degree", "ef-construction",
               "pruned-degree", "hub-degree", "hub-fraction", "pq-bytes", "hub-cache-mb", "include", "exclude",
               "file-types", "max-file-mb", "chunk-size", "chunk-overlap", "code-chunk-size", "code-chunk-overlap"},
              {"help", "h", "no-prune", "hidden", "force"});
    if (args.has("help") || args.has("h")) {
        std::fputs(build_usage, stdout);
        return 0;
    }
    size_t shift = 0;
    const std::filesystem::path path = index_path(args, shift);
    if (!args.has("docs")) throw Error("--docs PATH is required (folders, files or .jsonl records)");
    // --docs A B C: the option takes A; the rest arrive as positionals after NAME.
    std::vector<std::filesystem::path> jsonl_files, roots;
    std::vector<std::string> doc_args = {args.get("docs")};
    doc_args.insert(doc_args.end(), args.positionals().begin() + std::ptrdiff_t(shift), args.positionals().end());
    for (const auto& d : doc_args) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(d, ec) && std::filesystem::path(d).extension() == ".jsonl")
            jsonl_files.emplace_back(d);
        else
            roots.emplace_back(d);
    }
    FileOptions files;
    auto globs = [&](const std::string& name) {
        std::vector<std::string> out;
        std::string value = args.get(name), item;
        for (std::istringstream in(value); std::getline(in, item, ',');)
            if (!item.empty()) out.push_back(item);
        return out;
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

    BuildOptions options;
    options.threads = args.get_size("threads", 0);
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
    const double start = now_seconds();
    const std::string model_arg = args.get("model", std::string(default_model_name));
    const std::filesystem::path model_dir = resolve_model(model_arg);
    files.skip_folders = {leann_home()};  // never index our own models and indexes

    // What this build reads, recorded in the index: an unchanged tree is recognised from a directory walk alone.
    BuildManifest manifest;
    std::vector<std::string> sources;  // recorded as absolute paths, for `leann list` and later updates
    for (const auto& d : doc_args) sources.push_back(std::filesystem::absolute(d).lexically_normal().string());
    manifest.settings = {{"model", model_dir.string()},
                         {"docs", sources},
                         {"files", {{"include", files.include},
                                    {"exclude", files.exclude},
                                    {"file_types", files.file_types},
                                    {"hidden", files.include_hidden},
                                    {"max_file_bytes", files.max_file_bytes}}},
                         {"chunking", {files.chunk_tokens, files.chunk_overlap, files.code_chunk_tokens,
                                       files.code_chunk_overlap}},
                         {"index", build_settings_json(options)}};
    ReadReport report;  // the walk's skips count in the build's summary
    const std::vector<SourceFile> found = roots.empty() ? std::vector<SourceFile>{}
                                                        : list_source_files(roots, files, report);
    for (const auto& f : found) manifest.files[f.path.string()] = {f.bytes, f.mtime_ns};
    for (const auto& f : jsonl_files) {
        std::error_code ec;
        manifest.files[f.string()] = {std::filesystem::file_size(f, ec), file_mtime_ns(f)};
    }
    if (!args.has("force") && std::filesystem::exists(path)) {
        const BuildManifest before = [&] {
            try {
                return BuildManifest::parse(Index::open(path).sources());
            } catch (const std::exception&) {
                return BuildManifest{};  // unreadable: rebuild it
            }
        }();
        const ManifestDiff diff = compare(before, manifest);
        if (diff.same() && !before.files.empty()) {
            report_up_to_date(path, diff.unchanged, now_seconds() - start);
            return 0;
        }
        if (!before.files.empty() && stderr_is_tty)
            std::fprintf(stderr, "%s since the last build: rebuilding\n", diff.describe().c_str());
    }

    InterruptScope interrupts;
    EncoderOptions encoder_options;
    encoder_options.threads = options.threads;
    auto encoder = Encoder::load(model_dir, encoder_options);
    Progress progress;
    const size_t max_tokens = encoder->info().max_seq_length;
    options.chunking = nlohmann::json{{"chunk_size", std::min(files.chunk_tokens, max_tokens)},
                                      {"chunk_overlap", files.chunk_overlap},
                                      {"code_chunk_size", std::min(files.code_chunk_tokens, max_tokens)},
                                      {"code_chunk_overlap", files.code_chunk_overlap},
                                      {"unit", "model tokens"},
                                      {"jsonl", "one record = one chunk"},
                                      {"sources", sources}}
                           .dump();
    options.sources = manifest.to_json();

    std::vector<Document> documents;
    for (const auto& f : jsonl_files) {
        check_interrupt();
        auto records = read_jsonl_documents(f, report);
        std::move(records.begin(), records.end(), std::back_inserter(documents));
    }
    if (!roots.empty()) {
        files.progress = [&](size_t done, size_t total) {
            check_interrupt();
            progress("read", done, total);
        };
        auto chunks = read_file_documents(std::span<const SourceFile>(found), encoder->tokenizer(), max_tokens,
                                          files, report);
        std::move(chunks.begin(), chunks.end(), std::back_inserter(documents));
    }
    progress.finish();
    for (const auto& w : report.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    if (documents.empty()) throw Error("nothing to index: no readable text in the paths given");

    options.progress = [&](std::string_view stage, size_t done, size_t total) {
        // Stop between steps; once the file is being written it is finished (it is complete or nothing).
        if (stage != "write") check_interrupt();
        progress(stage, done, total);
    };
    Index::build(path, documents, *encoder, options);
    progress.finish();
    report_built(path, report, jsonl_files.size(), now_seconds() - start, progress.stage_seconds());
    return 0;
}

}  // namespace leann::cli
