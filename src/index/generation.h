// index room, internal: turning an open index plus a planned change into the next generation of its file
// (appended in place), and compaction (a whole new file without deleted nodes). The writer (writer.cpp) plans
// what changes; this file does the graph, PQ, passage and section work. docs/format.md, "Generations".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "index/manifest.h"
#include "leann/index.h"

namespace leann::index {

/// A planned change. New nodes are numbered after the current ones: first the moves, in order, then the inserts.
struct Change {
    std::vector<uint32_t> deletes;  // live nodes to tombstone
    struct Move {
        uint32_t from;              // a live node whose text stays; it is tombstoned and
        Document document;          // this passage (same text, new id or metadata) takes over its vector
    };
    std::vector<Move> moves;
    std::vector<Document> inserts;  // new text, embedded
    std::vector<float> vectors;     // inserts.size() x dims, normalised when the metric is cosine
    Manifest manifest;              // the manifest after the change (new nodes by their new ids)
};

struct GenerationStats {
    uint64_t bytes_written = 0;
    uint32_t generation = 0;
    bool graph_checkpoint = false;  // layer 0 rewritten whole instead of patched
};

using StageProgress = std::function<void(std::string_view stage, size_t done, size_t total)>;

/// Appends the generation that applies `change` to `index` (opened from `path`; the caller holds the writer lock).
GenerationStats append_generation(const std::filesystem::path& path, const Index& index, const Change& change,
                                  const GraphOptions& graph, size_t threads, const StageProgress& progress);

/// Writes `index` again without its deleted nodes (renumbered in order), as a new file renamed over `path`;
/// `manifest` is renumbered alike. Nothing is embedded.
GenerationStats compact_index(const std::filesystem::path& path, const Index& index, Manifest manifest,
                              const StageProgress& progress);

}  // namespace leann::index
