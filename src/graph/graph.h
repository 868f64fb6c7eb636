// graph room: the proximity graph. Built once over temporary exact vectors (HNSW construction), then pruned
// with the paper's high-degree-preserving rule (hubs keep up to M edges, other nodes m < M), and stored as CSR.
// Node ids are dense 0..n-1 and stable: they index the PQ codes and the passage store too.
//
// Layers: layer 0 holds every node; upper layers (HNSW levels >= 1) hold a shrinking sample and are only used to
// pick a good entry into layer 0. Search walks the upper layers with PQ distances (no recomputation).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "leann/metric.h"

namespace leann::graph {

/// One layer's adjacency in compressed sparse rows: the neighbours of row r are
/// neighbors[offsets[r] .. offsets[r+1]). Offsets are 32-bit: an index holds at most 2^32-1 edges per layer.
struct Csr {
    std::vector<uint32_t> offsets;    // rows + 1 entries, offsets[0] == 0, non-decreasing
    std::vector<uint32_t> neighbors;  // global node ids

    size_t rows() const { return offsets.empty() ? 0 : offsets.size() - 1; }
    std::span<const uint32_t> row(size_t r) const {
        return {neighbors.data() + offsets[r], neighbors.data() + offsets[r + 1]};
    }
};

/// Read-only view of a Csr (over owned vectors or over a memory-mapped index section).
struct CsrView {
    std::span<const uint32_t> offsets;
    std::span<const uint32_t> neighbors;

    CsrView() = default;
    CsrView(const Csr& csr) : offsets(csr.offsets), neighbors(csr.neighbors) {}  // NOLINT: implicit by design
    CsrView(std::span<const uint32_t> o, std::span<const uint32_t> n) : offsets(o), neighbors(n) {}
    size_t rows() const { return offsets.empty() ? 0 : offsets.size() - 1; }
    std::span<const uint32_t> row(size_t r) const { return neighbors.subspan(offsets[r], offsets[r + 1] - offsets[r]); }
};

/// The whole graph. upper_nodes[l] lists (ascending) the global ids present on layer l+1, and upper[l] has one row
/// per entry of upper_nodes[l], in that order, whose neighbours are global ids also on layer l+1.
struct Graph {
    uint32_t nodes = 0;
    uint32_t entry_point = 0;  // a node on the top layer (or any node when there are no upper layers)
    Csr base;                  // layer 0, rows == nodes
    std::vector<std::vector<uint32_t>> upper_nodes;
    std::vector<Csr> upper;

    size_t edges() const;  // layer-0 edges
};

struct GraphView {
    uint32_t nodes = 0;
    uint32_t entry_point = 0;
    CsrView base;
    std::vector<std::span<const uint32_t>> upper_nodes;
    std::vector<CsrView> upper;

    GraphView() = default;
    explicit GraphView(const Graph& g);
    /// Row of global node `node` on layer `layer` (>= 1); empty if the node is not on that layer.
    std::span<const uint32_t> upper_row(size_t layer, uint32_t node) const;
};

using Progress = std::function<void(size_t done, size_t total)>;

struct BuildParams {
    uint32_t max_degree = 32;        // M: upper layers keep M, layer 0 keeps up to 2*M during construction
    uint32_t ef_construction = 128;  // candidate list size while inserting
    uint64_t seed = 42;              // level assignment
    size_t threads = 0;              // 0: all hardware threads
};

/// HNSW construction over n row-major vectors of `dim` floats (normalised already when metric is cosine).
/// Multi-threaded and deterministic for threads == 1. Memory: n * (2M + 1) * 4 bytes for layer 0 (plus the upper
/// layers, ~1/M of that) while building, then the CSR copy; scratch is 2 bytes per node per thread (visited tags).
Graph build_hnsw(const float* vectors, size_t n, size_t dim, Metric metric, const BuildParams& params,
                 const Progress& progress = {});

struct PruneParams {
    uint32_t hub_degree = 32;    // M: out-edges kept by hubs, and the cap on any node's degree after reverse edges
    uint32_t degree = 12;        // m < M: out-edges kept by every other node
    double hub_fraction = 0.02;  // share of nodes, by layer-0 degree in the unpruned graph, that are hubs
    uint32_t ef = 64;            // candidate list size of the per-node search in the unpruned graph
    size_t threads = 0;
};

/// Paper Alg. 3 (high-degree-preserving pruning) on layer 0, plus a repair pass that links any node the pruned layer 0
/// no longer reaches from the entry point; upper layers are pruned to `degree` by the same neighbour heuristic.
/// Returns a new graph; `g` is unchanged. Deterministic for any thread count.
Graph prune(const Graph& g, const float* vectors, size_t dim, Metric metric, const PruneParams& params,
            const Progress& progress = {});

/// Structural invariants: offsets monotone and in range, neighbour ids < nodes, no self loops, no duplicate
/// neighbours in a row, upper layers sorted and consistent, entry point valid. Empty string when valid, else a
/// message naming the layer and row.
std::string check(const GraphView& g);

/// Node ids ordered by layer-0 degree, highest first (ties by id): hub-cache candidates.
std::vector<uint32_t> nodes_by_degree(const GraphView& g);

}  // namespace leann::graph
