// Graph containers: views, the structural check that loaders and tests rely on, and degree ranking.
#include "graph/graph.h"

#include <algorithm>
#include <numeric>

namespace leann::graph {

size_t Graph::edges() const {
    return base.neighbors.size();
}

GraphView::GraphView(const Graph& g) : nodes(g.nodes), entry_point(g.entry_point), base(g.base) {
    upper_nodes.reserve(g.upper_nodes.size());
    for (const auto& members : g.upper_nodes) upper_nodes.emplace_back(members);
    upper.reserve(g.upper.size());
    for (const auto& layer : g.upper) upper.emplace_back(layer);
}

std::span<const uint32_t> GraphView::upper_row(size_t layer, uint32_t node) const {
    if (layer == 0 || layer > upper.size() || layer > upper_nodes.size()) return {};
    const auto& members = upper_nodes[layer - 1];
    const auto it = std::lower_bound(members.begin(), members.end(), node);
    if (it == members.end() || *it != node) return {};
    return upper[layer - 1].row(static_cast<size_t>(it - members.begin()));
}

namespace {

std::string where(size_t layer, size_t row, uint32_t node) {
    return "layer " + std::to_string(layer) + " row " + std::to_string(row) + " (node " + std::to_string(node) + "): ";
}

// Shape of one layer's CSR: the offsets must be safe to index with before any row is looked at.
std::string check_offsets(size_t layer, const CsrView& csr, size_t rows) {
    const std::string name = "layer " + std::to_string(layer) + ": ";
    if (csr.offsets.empty()) {
        if (rows == 0 && csr.neighbors.empty()) return {};
        return name + "offsets are empty, expected " + std::to_string(rows + 1) + " entries";
    }
    if (csr.offsets.size() != rows + 1)
        return name + "offsets have " + std::to_string(csr.offsets.size()) + " entries, expected " +
               std::to_string(rows + 1);
    if (csr.offsets[0] != 0) return name + "offsets start at " + std::to_string(csr.offsets[0]) + ", expected 0";
    for (size_t r = 0; r < rows; ++r)
        if (csr.offsets[r + 1] < csr.offsets[r])
            return "layer " + std::to_string(layer) + " row " + std::to_string(r) + ": offsets decrease (" +
                   std::to_string(csr.offsets[r]) + " then " + std::to_string(csr.offsets[r + 1]) + ")";
    if (csr.offsets[rows] != csr.neighbors.size())
        return name + "offsets end at " + std::to_string(csr.offsets[rows]) + " but there are " +
               std::to_string(csr.neighbors.size()) + " neighbour ids";
    return {};
}

// Rows of one layer: ids in range and on the layer, no self loops, no duplicates. `stamp` (one entry per node) is
// shared across calls; `row_mark` grows so a stamp never repeats.
template <class NodeOf, class OnLayer>
std::string check_rows(size_t layer, const CsrView& csr, uint32_t nodes, NodeOf node_of, OnLayer on_layer,
                       std::vector<uint64_t>& stamp, uint64_t& row_mark) {
    for (size_t r = 0; r < csr.rows(); ++r) {
        const uint32_t node = node_of(r);
        ++row_mark;
        for (uint32_t next : csr.row(r)) {
            if (next >= nodes)
                return where(layer, r, node) + "neighbour " + std::to_string(next) +
                       " out of range (nodes = " + std::to_string(nodes) + ")";
            if (next == node) return where(layer, r, node) + "self loop";
            if (stamp[next] == row_mark) return where(layer, r, node) + "duplicate neighbour " + std::to_string(next);
            stamp[next] = row_mark;
            if (!on_layer(next))
                return where(layer, r, node) + "neighbour " + std::to_string(next) + " is not on layer " +
                       std::to_string(layer);
        }
    }
    return {};
}

}  // namespace

std::string check(const GraphView& g) {
    if (std::string error = check_offsets(0, g.base, g.nodes); !error.empty()) return error;
    if (g.upper_nodes.size() != g.upper.size())
        return "upper layers: " + std::to_string(g.upper_nodes.size()) + " node lists but " +
               std::to_string(g.upper.size()) + " adjacency layers";
    if (g.nodes == 0) {
        if (!g.upper.empty()) return "upper layers: present in a graph with no nodes";
        return {};
    }

    std::vector<uint64_t> stamp(g.nodes, 0);
    uint64_t row_mark = 0;
    if (std::string error = check_rows(
            0, g.base, g.nodes, [](size_t r) { return static_cast<uint32_t>(r); }, [](uint32_t) { return true; }, stamp,
            row_mark);
        !error.empty())
        return error;

    for (size_t l = 1; l <= g.upper.size(); ++l) {
        const std::string name = "layer " + std::to_string(l) + ": ";
        const auto members = g.upper_nodes[l - 1];
        if (members.empty()) return name + "no nodes";
        for (size_t i = 0; i < members.size(); ++i) {
            if (members[i] >= g.nodes)
                return name + "node " + std::to_string(members[i]) +
                       " out of range (nodes = " + std::to_string(g.nodes) + ")";
            if (i > 0 && members[i] <= members[i - 1])
                return name + "node list not strictly ascending at position " + std::to_string(i);
        }
        // Each layer's nodes are a subset of the layer below (layer 1's of layer 0, which holds every node).
        if (l >= 2) {
            const auto below = g.upper_nodes[l - 2];
            for (uint32_t node : members)
                if (!std::binary_search(below.begin(), below.end(), node))
                    return name + "node " + std::to_string(node) + " is not on layer " + std::to_string(l - 1);
        }
        if (std::string error = check_offsets(l, g.upper[l - 1], members.size()); !error.empty()) return error;
        if (std::string error = check_rows(
                l, g.upper[l - 1], g.nodes, [&](size_t r) { return members[r]; },
                [&](uint32_t id) { return std::binary_search(members.begin(), members.end(), id); }, stamp, row_mark);
            !error.empty())
            return error;
    }

    if (g.entry_point >= g.nodes)
        return "entry point " + std::to_string(g.entry_point) + " out of range (nodes = " + std::to_string(g.nodes) +
               ")";
    if (!g.upper.empty()) {
        const auto top = g.upper_nodes.back();
        if (!std::binary_search(top.begin(), top.end(), g.entry_point))
            return "entry point " + std::to_string(g.entry_point) + " is not on the top layer " +
                   std::to_string(g.upper.size());
    }
    return {};
}

std::vector<uint32_t> nodes_by_degree(const GraphView& g) {
    std::vector<uint32_t> order(g.base.rows());
    std::iota(order.begin(), order.end(), uint32_t{0});
    const auto degree = [&](uint32_t node) { return g.base.offsets[node + 1] - g.base.offsets[node]; };
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return degree(a) > degree(b); });
    return order;
}

}  // namespace leann::graph
