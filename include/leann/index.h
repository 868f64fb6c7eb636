// The index facade: build an index from documents, open it, search it, describe and check it. This is what the
// apps (CLI, server) call; the rooms behind it (graph, pq, search, store) are internal.
//
// An index is one file (docs/format.md) holding the pruned graph, PQ codes, the passages and the build
// configuration, but no embedding matrix: search recomputes the few exact embeddings it needs with the encoder
// recorded in the file (name and content hash; another model is refused).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "leann/encoder.h"
#include "leann/metric.h"
#include "leann/search_options.h"

namespace leann {

/// One chunk to index. `text` is exactly what gets embedded and returned.
struct Document {
    std::string id;               // external id, returned with hits
    std::string text;
    std::string metadata = "{}";  // a JSON object, as text
};

struct GraphOptions {
    uint32_t max_degree = 32;        // M of the HNSW construction (layer 0 holds up to 2M while building)
    uint32_t ef_construction = 128;
    bool prune = true;               // high-degree-preserving pruning (paper Alg. 3)
    uint32_t hub_degree = 16;        // edges kept by hubs, and every node's cap after reverse edges
    uint32_t pruned_degree = 4;      // edges kept by the other nodes (defaults: bench/README.md, "Choosing")
    double hub_fraction = 0.02;      // share of nodes that are hubs (by unpruned degree)
};

struct BuildOptions {
    GraphOptions graph;
    size_t pq_bytes = 0;             // PQ code bytes per chunk (0: dims / 4 when the passages average 512 bytes
                                     // or more, e.g. 96 for 384-d; dims / 8 otherwise, 48)
    size_t hub_cache_bytes = 0;      // exact vectors of the highest-degree nodes kept in the index (0: none)
    std::optional<Metric> metric;    // default: the model's similarity (cosine unless its config says otherwise)
    size_t threads = 0;              // 0: every core
    size_t encode_batch = 32;        // full-length texts per encoder call while embedding (up to 2 KiB each);
                                     // shorter texts go up to 16x as many per call
    std::string chunking = "{}";     // the chunking parameters that made the documents (JSON object), recorded
    std::string sources;             // the source files read (JSON, written by the apps; empty: none), recorded
                                     // so that a rebuild can tell an unchanged tree (section SRCS)
    /// Called with a stage ("embed", "graph", "prune", "pq", "write") and progress within it.
    std::function<void(std::string_view stage, size_t done, size_t total)> progress;
};

/// A model as the index records it.
struct IndexModel {
    std::string name;
    std::string content_hash;
    size_t dims = 0;
    /// The encoder precision the build embedded with ("fp32", "bf16", "int8"); empty when not recorded (indexes
    /// built before precisions existed, which were fp32).
    std::string precision;
};

struct SectionSize {
    std::string tag;
    std::string what;
    uint64_t bytes = 0;
};

struct IndexStats {
    std::filesystem::path path;
    uint32_t format_version = 0;
    uint32_t generation = 0;     // 1 when built; +1 per update or compaction
    size_t chunks = 0;           // nodes, deleted ones included
    size_t deleted = 0;          // tombstoned nodes (live chunks = chunks - deleted)
    size_t edges = 0;
    size_t hubs = 0;             // hub-cache entries
    size_t max_level = 0;
    uint64_t file_bytes = 0;
    uint64_t reclaimable_bytes = 0;  // bytes only older generations use (compaction gives them back)
    uint64_t raw_text_bytes = 0;
    double pq_error = 0;             // mean relative squared PQ error of the build's vectors
    size_t pq_added = 0;             // chunks embedded by updates since the build
    double pq_added_error = 0;       // the same error over those: drift of the corpus away from the codebook
    bool adaptive_rerank = false;    // the build measured the PQ error profile (META pq.rerank_margins), so
                                     // searches re-rank adaptively; false: a fixed 64
    std::vector<std::string> advice; // "compact", "rebuild" recommendations, in sentences
    std::vector<SectionSize> sections;  // segments of one tag summed
    uint64_t keyword_bytes = 0;  // the keyword index (section KWIX; 0 when the file has none)
    uint64_t passage_bytes = 0;  // the compressed passages (PSGD), what the keyword budget is measured against
    std::string config_json;     // the recorded build configuration (META)
};

struct Hit {
    uint32_t node = 0;
    std::string id;
    float score = 0;            // higher is better (see leann/metric.h)
    std::string text;
    std::string metadata;       // JSON object text
};

struct SearchResult {
    std::vector<Hit> hits;
    SearchStats stats;
    double seconds = 0;         // query embedding + search + passage reads
    std::vector<std::string> notes;  // what the caller should know (e.g. a keyword query fell back to vector search)
};

namespace detail {
struct IndexInternals;  // the library's own access to an open index (the writer builds on it)
}

class Index {
public:
    /// Embeds `documents` with `encoder` and writes the index to `path` (temporary file, then rename).
    static void build(const std::filesystem::path& path, std::span<const Document> documents, Encoder& encoder,
                      const BuildOptions& options);
    /// Same from vectors computed elsewhere (benchmarks reuse cached embeddings): documents.size() x dims rows.
    static void build_from_vectors(const std::filesystem::path& path, std::span<const Document> documents,
                                   std::span<const float> vectors, const IndexModel& model, Metric metric,
                                   const BuildOptions& options);

    /// Maps the file and checks everything but the passage data (checked on read and by verify()). Throws
    /// leann::FormatError naming the file and section.
    static Index open(const std::filesystem::path& path);
    Index(Index&&) noexcept;
    Index& operator=(Index&&) noexcept;
    ~Index();

    const IndexModel& model() const;
    Metric metric() const;
    size_t size() const;

    /// Uses `encoder` for queries and recomputation; refuses (leann::Error) a model whose content hash differs
    /// from the one recorded.
    void attach_encoder(std::shared_ptr<Encoder> encoder);
    /// Loads the recorded model from the model cache (or `model_dir`) and attaches it. Precision::automatic in
    /// `options` means automatic_precision().
    void load_encoder(const std::optional<std::filesystem::path>& model_dir = std::nullopt,
                      const EncoderOptions& options = {});
    /// As load_encoder, but the model is read by the first call that needs it (a vector or hybrid search,
    /// encoder()), and any error loading it comes from that call: a process that only runs keyword searches never
    /// pays for the model (about 0.15 s at the command line).
    void load_encoder_when_needed(const std::optional<std::filesystem::path>& model_dir = std::nullopt,
                                  const EncoderOptions& options = {});
    Encoder& encoder() const;
    /// What Precision::automatic means for this index: the precision it was built with when this CPU can run it,
    /// else fp32 (which every precision approximates). Never automatic.
    Precision automatic_precision() const;

    /// Searches in options.mode: vector (embeds the query, query role), keyword (BM25 over the keyword index, no
    /// embedding) or hybrid (both, fused; the default). Keyword search throws leann::Error on an index without a
    /// keyword index (format version < 3), hybrid searches it by vector with a note; a query without keyword terms
    /// is searched by vector with a note. Thread-safe (each call uses its own scratch).
    SearchResult search(std::string_view query, const SearchOptions& options) const;
    /// Searches with a ready query vector (dims floats, as the encoder gives them). Thread-safe.
    SearchResult search_vector(std::span<const float> query, const SearchOptions& options) const;

    /// Sets the per-process cache of recomputed embeddings (in vectors; 0 disables). Default 16384.
    /// Not thread-safe: call before searching.
    void set_cache_capacity(size_t vectors);
    void clear_cache();

    IndexStats stats() const;
    /// Checksums of every section, every passage block, the structural invariants, and after updates: no edge into a
    /// deleted node, every live node reachable from the entry point, the source manifest naming exactly the live
    /// nodes. Throws FormatError.
    void verify() const;
    /// Exact top-k live node ids by brute force over `vectors` (size() x dims, row = node, as the encoder gives
    /// them; normalised here when the metric is cosine; deleted nodes' rows are ignored): the ground truth for recall.
    std::vector<uint32_t> exact_search(std::span<const float> query, std::span<const float> vectors, size_t k) const;
    /// Live nodes matching `filter` (leann/filter.h), ascending: what a filtered search chooses from. The first call
    /// reads every chunk's metadata (kept for later filters). Throws leann::Error naming the field for a bad filter.
    std::vector<uint32_t> matching(const Filter& filter) const;
    /// The passage of a node (for tools and tests).
    Document document(uint32_t node) const;
    /// False for a deleted (tombstoned) node, or one out of range.
    bool live(uint32_t node) const;
    /// BuildOptions::sources as recorded (empty when the index has none).
    std::string sources() const;

private:
    friend struct detail::IndexInternals;
    struct Impl;
    explicit Index(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// $LEANN_HOME/indexes.
std::filesystem::path index_root();
/// NAME -> $LEANN_HOME/indexes/NAME/index.leann; names must be plain ([A-Za-z0-9._-], not starting with '.').
std::filesystem::path index_path_for_name(std::string_view name);
/// A --index argument: a directory means <dir>/index.leann.
std::filesystem::path index_path_for_argument(const std::filesystem::path& path);

}  // namespace leann
