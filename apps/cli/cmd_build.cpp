// leann build: JSONL records -> an index under $LEANN_HOME/indexes/NAME (or --index PATH).
#include <cstdio>
#include <filesystem>

#include "args.h"
#include "commands.h"
#include "index_args.h"
#include "leann/encoder.h"
#include "leann/error.h"
#include "leann/ingest.h"
#include "leann/model.h"

namespace leann::cli {
namespace {

constexpr const char* build_usage = R"(Usage: leann build NAME --docs FILE.jsonl [options]
       leann build --index PATH --docs FILE.jsonl [options]

Embeds every record of FILE.jsonl and writes an index that keeps a pruned graph, PQ codes and the passages, but no
embeddings. Records: "text" (required), "id" or "_id" (default: the line number), "title" (prepended to the
text), any other field is kept as metadata. Bad lines are skipped with a warning. An existing index of the same
name is replaced only when the new one is complete.

Options:
  --docs FILE            the JSONL records (several --docs are not supported yet; concatenate the files)
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
               "pruned-degree", "hub-degree", "hub-fraction", "pq-bytes", "hub-cache-mb"},
              {"help", "h", "no-prune"});
    if (args.has("help") || args.has("h")) {
        std::fputs(build_usage, stdout);
        return 0;
    }
    size_t shift = 0;
    const std::filesystem::path path = index_path(args, shift);
    if (args.positionals().size() > shift) throw Error("unexpected argument '" + args.positionals()[shift] + "'");
    if (!args.has("docs")) throw Error("--docs FILE.jsonl is required");
    const std::filesystem::path docs = args.get("docs");
    if (std::filesystem::is_directory(docs))
        throw Error(docs.string() + " is a folder; this version indexes JSONL records (--docs FILE.jsonl)");

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
    options.chunking = R"({"input":"jsonl records","chunking":"none: one record = one chunk"})";

    const double start = now_seconds();
    ReadReport report;
    std::vector<Document> documents = read_jsonl_documents(docs, report);
    for (const auto& w : report.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    if (documents.empty()) throw Error(docs.string() + ": no records with text to index");

    EncoderOptions encoder_options;
    encoder_options.threads = options.threads;
    auto encoder = Encoder::load(resolve_model(args.get("model", std::string(default_model_name))), encoder_options);

    Progress progress;
    options.progress = [&](std::string_view stage, size_t done, size_t total) { progress(stage, done, total); };
    Index::build(path, documents, *encoder, options);
    progress.finish();

    const IndexStats stats = Index::open(path).stats();
    std::fprintf(stderr, "built %s: %zu chunks (%zu lines skipped), %s on disk for %s of text, %.1fs\n",
                 path.string().c_str(), stats.chunks, report.skipped, human_bytes(double(stats.file_bytes)).c_str(),
                 human_bytes(double(stats.raw_text_bytes)).c_str(), now_seconds() - start);
    return 0;
}

}  // namespace leann::cli
