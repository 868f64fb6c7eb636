// graph room: maintaining a pruned graph in place as nodes come and go (living indexes).
//
// The exact vectors of the nodes already in the index are gone (that is the point of LEANN), so updates work with
// the distances an `UpdateDistances` gives: exact between new vectors, approximate (PQ reconstructions) for nodes
// already stored. The rules are those of the build (graph/prune.cpp):
//   insert  best-first search from the entry for the new vector, own edges chosen by the HNSW heuristic
//           (pruned_degree of them), then reverse edges offered to those neighbours, accepted while a row holds
//           fewer than hub_degree, else re-selected by the heuristic with the new node among the candidates.
//   delete  tombstone, then every live in-neighbour u of a deleted node d drops d and is offered d's live
//           out-neighbours (IP-DiskANN style), re-selected by the heuristic up to the cap; d's own row is cleared.
//           Deleted nodes on the upper layers are dropped from them; a deleted entry point is replaced.
//   move    a node whose passage changed but whose text (hence vector) did not: a new id takes over its row and
//           every edge into it, the old id becomes a deleted node with an empty row.
//   hubs    hub status follows degree: a live node whose in-degree now ranks in the top hub_fraction (the build's
//           hubs) and that gained in-edges in this update is offered its two-hop neighbourhood, which the heuristic
//           adds to its row up to hub_degree (the own-edge count of a hub at build). Edges are only added, so a node
//           whose in-degree falls keeps its row (bounded by the cap) and reachability is never lost.
//   repair  a breadth-first walk from the entry point over live nodes; any live node it misses is linked from its
//           nearest reachable live node (as the build's repair pass does).
// After any sequence of these: no row holds a deleted node, deleted rows are empty, every live node is reachable
// from the entry point, no row is longer than hub_degree (rows may be shorter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace leann::graph {

/// Distances during an update (lower is better, as everywhere in the graph room).
class UpdateDistances {
public:
    virtual ~UpdateDistances() = default;
    /// From a full vector (a new node's exact vector, normalised when the metric is cosine) to node `id`.
    virtual float to(const float* vector, uint32_t id) const = 0;
    /// Between two nodes; symmetric.
    virtual float between(uint32_t a, uint32_t b) const = 0;
};

/// A graph being updated in memory. Layer 0 is one row per node; upper layers are as in Graph.
struct MutableGraph {
    std::vector<std::vector<uint32_t>> rows;         // layer 0, one row per node (deleted nodes: empty)
    uint32_t entry_point = 0;                        // a live node (when any node is live)
    std::vector<std::vector<uint32_t>> upper_nodes;  // as Graph::upper_nodes (ascending ids per layer)
    std::vector<Csr> upper;                          // as Graph::upper
    std::vector<uint8_t> deleted;                    // one per node: 1 = tombstoned
    std::vector<uint8_t> dirty;                      // one per node: 1 = its layer-0 row changed since loaded
    bool upper_changed = false;                      // upper layers or the entry point changed since loaded

    /// Copies a graph view; `deleted_bits` is the TOMB bitmap (bit n & 7 of byte n >> 3), may be empty.
    static MutableGraph from_view(const GraphView& view, std::span<const uint8_t> deleted_bits);
    size_t nodes() const { return rows.size(); }
    size_t live() const;
    /// The whole graph as CSR (every node, deleted ones with empty rows).
    Graph to_graph() const;
    /// Grows to `n` nodes (new rows empty, not deleted, marked dirty).
    void resize(size_t n);
};

struct UpdateParams {
    uint32_t pruned_degree = 4;  // own edges of a new node (the build's m)
    uint32_t hub_degree = 16;    // cap on any row (the build's M)
    double hub_fraction = 0.02;  // share of live nodes that are hubs, by in-degree (the build's, by degree)
    size_t ef = 64;              // candidate list of the insertion search
    size_t threads = 1;          // for the candidate searches (results do not depend on it); unused for now: updates
                                 // run on the caller's thread
};

/// Links nodes first .. first+count-1 (already allocated by resize(), rows empty) into the graph. `vectors` holds
/// their exact vectors, count x dim, row i = node first+i; `distances` must answer for them too.
/// Ends with the reachability repair, as delete_nodes does, so the invariants above hold after the call: each call
/// costs O(nodes + edges) besides its distances. Not thread-safe: one update of a MutableGraph at a time.
void insert_nodes(MutableGraph& g, uint32_t first, size_t count, const float* vectors, size_t dim,
                  const UpdateDistances& distances, const UpdateParams& params);

/// Tombstones `nodes` (ids < g.nodes(); already-deleted ones are ignored) and repairs the graph around them.
void delete_nodes(MutableGraph& g, std::span<const uint32_t> nodes, const UpdateDistances& distances,
                  const UpdateParams& params);

/// Node `to` (a fresh id, row empty) takes over `from`'s row and in-edges (upper layers included); `from` becomes a
/// deleted node with an empty row.
void move_node(MutableGraph& g, uint32_t from, uint32_t to);

/// Hub promotion (see the top of this file) among the nodes that appear in rows changed since the graph was loaded
/// (`dirty`). Returns the edges added. O(nodes + edges) plus two-hop distances of the promoted nodes.
size_t promote_hubs(MutableGraph& g, const UpdateDistances& distances, const UpdateParams& params);

/// Links every live node the entry point does not reach. Returns the edges added.
size_t repair_reachability(MutableGraph& g, const UpdateDistances& distances, const UpdateParams& params);

/// The invariants listed at the top of this file, on a stored graph and its TOMB bitmap (used by `leann verify`):
/// no edge into a deleted node, deleted rows empty, every live node reachable from the entry point over layer 0
/// (the entry itself live when any node is), no upper-layer node deleted. Empty string when they hold, else a
/// message naming the node. O(nodes + edges).
std::string check_live(const GraphView& g, std::span<const uint8_t> deleted_bits);

}  // namespace leann::graph
