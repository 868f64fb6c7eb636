// leann build: JSONL records -> an index under $LEANN_HOME/indexes/NAME (or --index PATH).
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "index_args.h"
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
name is replaced only when the new one is complete.

Options:
  --docs PATH...         folders, files, or .jsonl record files (more paths may follow)
  --include GLOBS        only files matching these comma-separated globs (e.g. "*.md,src/**")
  --exclude GLOBS        skip files and folders matching these globs
  --file-types EXTS      only these extensions (e.g. "md,py,txt")
  --hidden               include hidden files and folders
  --max-file-mb N        skip files larger than N MiB (default: 32)
  --chunk-size N         prose chunk size in model tokens (default: 256, at most the model's max length)
  --chunk-overlap N      prose chunk overlap in tokens (default: 32)
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
)";

}  // namespace

int run_build(const std::vector<std::string>& argv) {
    Args args(argv,
              {"docs", "index", "model", "metric", "threads", "batch-size", "graph-degree", "ef-construction",
               "pruned-degree", "hub-degree", "hub-fraction", "pq-bytes", "hub-cache-mb", "include", "exclude",
               "file-types", "max-file-mb", "chunk-size", "chunk-overlap", "code-chunk-size", "code-chunk-overlap"},
              {"help", "h", "no-prune", "hidden"});
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
    EncoderOptions encoder_options;
    encoder_options.threads = options.threads;
    auto encoder = Encoder::load(resolve_model(args.get("model", std::string(default_model_name))), encoder_options);
    const size_t max_tokens = encoder->info().max_seq_length;
    std::vector<std::string> sources;  // recorded as absolute paths, for `leann list` and later updates
    for (const auto& d : doc_args) sources.push_back(std::filesystem::absolute(d).lexically_normal().string());
    options.chunking = nlohmann::json{{"chunk_size", std::min(files.chunk_tokens, max_tokens)},
                                      {"chunk_overlap", files.chunk_overlap},
                                      {"code_chunk_size", std::min(files.code_chunk_tokens, max_tokens)},
                                      {"code_chunk_overlap", files.code_chunk_overlap},
                                      {"unit", "model tokens"},
                                      {"jsonl", "one record = one chunk"},
                                      {"sources", sources}}
                           .dump();

    ReadReport report;
    std::vector<Document> documents;
    for (const auto& f : jsonl_files) {
        auto records = read_jsonl_documents(f, report);
        std::move(records.begin(), records.end(), std::back_inserter(documents));
    }
    if (!roots.empty()) {
        auto chunks = read_file_documents(roots, encoder->tokenizer(), max_tokens, files, report);
        std::move(chunks.begin(), chunks.end(), std::back_inserter(documents));
    }
    for (const auto& w : report.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    if (documents.empty()) throw Error("nothing to index: no readable text in the paths given");

    Progress progress;
    options.progress = [&](std::string_view stage, size_t done, size_t total) { progress(stage, done, total); };
    Index::build(path, documents, *encoder, options);
    progress.finish();

    const IndexStats stats = Index::open(path).stats();
    std::fprintf(stderr, "built %s: %zu chunks (%zu files read, %zu skipped), %s on disk for %s of text, %.1fs\n",
                 path.string().c_str(), stats.chunks, report.files + jsonl_files.size(), report.skipped,
                 human_bytes(double(stats.file_bytes)).c_str(),
                 human_bytes(double(stats.raw_text_bytes)).c_str(), now_seconds() - start);
    return 0;
}

}  // namespace leann::cli
