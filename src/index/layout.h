// index room: which sections an index file holds and how the index-level ones are laid out (docs/format.md,
// "Sections of an index"). The container itself is store/index_file.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "store/index_file.h"

namespace leann::index {

using store::fourcc;

constexpr uint32_t kInfo = fourcc("INFO");           // fixed-width counts and parameters the code relies on
constexpr uint32_t kMeta = fourcc("META");           // the build configuration, JSON (descriptive)
constexpr uint32_t kGraphOffsets = fourcc("G0OF");   // layer 0 CSR offsets, u32 x (nodes + 1)
constexpr uint32_t kGraphNeighbors = fourcc("G0NB"); // layer 0 CSR neighbours, u32 x edges
constexpr uint32_t kGraphUpper = fourcc("GUPR");     // upper layers, u32 stream (see encode_upper)
constexpr uint32_t kPqCentroids = fourcc("PQCB");    // f32 [subquantizers][256][dim / subquantizers]
constexpr uint32_t kPqCodes = fourcc("PQCD");        // u8 [nodes][subquantizers]
constexpr uint32_t kHubIds = fourcc("HUBI");         // u32 ascending node ids with stored exact vectors
constexpr uint32_t kHubVectors = fourcc("HUBV");     // f32 [hubs][dim]
constexpr uint32_t kTombstones = fourcc("TOMB");     // bit per node: deleted (read by search; all zero at build)
constexpr uint32_t kSources = fourcc("SRCS");        // optional: the source manifest (for updates), index/manifest.h
// Version 2: sections an update appends (segmented tags may appear several times, read in table order).
constexpr uint32_t kGraphPatch = fourcc("G0PT");     // segmented: layer-0 rows replaced or added by an update
constexpr uint32_t kChunkHashes = fourcc("CHSH");    // segmented: u64 xxh3-64 of each node's text, by node id
// PQCD and PSGD are segmented too: an update appends the codes and passages of the nodes it adds.

constexpr uint32_t kInfoVersion = 1;

/// INFO: 64 bytes, little-endian.
struct Info {
    uint32_t info_version = kInfoVersion;
    uint32_t nodes = 0;
    uint32_t dim = 0;
    uint32_t metric = 0;           // leann::Metric
    uint32_t subquantizers = 0;
    uint32_t upper_layers = 0;
    uint32_t entry_point = 0;
    uint32_t hubs = 0;
    uint64_t edges = 0;            // layer 0
    uint64_t raw_text_bytes = 0;
    uint32_t deleted = 0;
    uint32_t reserved[3] = {};
};
static_assert(sizeof(Info) == 64);

/// GUPR: u32 layers, then per layer: u32 count, u32 edges, ids[count], offsets[count + 1], neighbours[edges].
std::vector<uint32_t> encode_upper(const graph::Graph& g);
/// Parses GUPR into views over `words` (which must outlive them); FormatError naming GUPR when inconsistent.
void decode_upper(std::span<const uint32_t> words, graph::GraphView& view, const std::string& file);

/// G0PT: u32 count, ids[count] (strictly ascending node ids), offsets[count + 1] ([0] = 0, last = edges),
/// neighbours[edges]: row i replaces the layer-0 row of ids[i].
struct GraphPatch {
    std::span<const uint32_t> ids;
    graph::CsrView rows;
};
std::vector<uint32_t> encode_patch(std::span<const uint32_t> ids, const std::vector<std::vector<uint32_t>>& rows);
/// FormatError naming G0PT when inconsistent (ids must be < nodes).
GraphPatch decode_patch(std::span<const uint32_t> words, uint32_t nodes, const std::string& file);

}  // namespace leann::index
