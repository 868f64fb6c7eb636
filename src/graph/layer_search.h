// Internal to the graph room: what HNSW construction (hnsw.cpp) and pruning (prune.cpp) share. A candidate type,
// per-thread visited tags, best-first search over one layer, greedy descent, and the neighbour-selection heuristic.
// Everything here works on exact vectors; the query-time search lives in the search room.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <vector>

#include "leann/metric.h"
#include "util/distance.h"

namespace leann::graph::detail {

struct Candidate {
    float distance;
    uint32_t id;

    // Ties broken by id so that results do not depend on the order candidates were found in.
    friend bool operator<(const Candidate& a, const Candidate& b) {
        return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
    }
    friend bool operator>(const Candidate& a, const Candidate& b) { return b < a; }
};

/// Row-major vectors owned by the caller, with the library's distance (lower is better, symmetric).
struct Vectors {
    const float* data;
    size_t dim;
    Metric metric;

    const float* at(uint32_t id) const { return data + static_cast<size_t>(id) * dim; }
    // A NaN (a poisoned model's vector) becomes +inf so that Candidate's order stays a strict weak order.
    float to(const float* query, uint32_t id) const { return orderable(distance(metric, query, at(id), dim)); }
    float between(uint32_t a, uint32_t b) const { return orderable(distance(metric, at(a), at(b), dim)); }
    static float orderable(float d) { return d != d ? std::numeric_limits<float>::infinity() : d; }
};

/// Visited marks for one search at a time over n nodes. Starting a search bumps an epoch instead of clearing
/// (2 bytes per node; a full clear happens once every 65535 searches).
class VisitedSet {
public:
    explicit VisitedSet(size_t n) : tags_(n, 0) {}

    void next_search() {
        if (++epoch_ == 0) {
            std::fill(tags_.begin(), tags_.end(), uint16_t{0});
            epoch_ = 1;
        }
    }
    /// True the first time `id` is seen in the current search.
    bool insert(uint32_t id) {
        if (tags_[id] == epoch_) return false;
        tags_[id] = epoch_;
        return true;
    }

private:
    std::vector<uint16_t> tags_;
    uint16_t epoch_ = 0;
};

/// One thread's reusable buffers.
struct Scratch {
    explicit Scratch(size_t n) : visited(n) {}

    VisitedSet visited;
    std::vector<Candidate> frontier;  // min-heap: nodes still to expand
    std::vector<Candidate> best;      // max-heap: the ef nearest seen so far
    std::vector<uint32_t> row;        // copy of the row being expanded (rows may change under other threads)
    std::vector<uint32_t> fresh;      // unvisited neighbours of that row
    std::vector<Candidate> found;     // results of the last layer search
    std::vector<Candidate> entries;   // where the next layer's search starts
    std::vector<Candidate> selected;  // the inserted node's chosen neighbours
    std::vector<Candidate> pool;      // candidates when a neighbour's row is re-selected
    std::vector<Candidate> kept;      // that re-selection
};

/// Best-first search for `query` over one layer, starting from `entries` (distances already computed). `row_of(node,
/// buffer)` returns the node's neighbours on this layer as a span (it may copy them into `buffer`, e.g. under a lock).
/// Leaves the up-to-`ef` nearest nodes seen in `out`, nearest first.
template <class RowOf>
void search_layer(const Vectors& vectors, const float* query, std::span<const Candidate> entries, size_t ef,
                  RowOf&& row_of, Scratch& s, std::vector<Candidate>& out) {
    s.visited.next_search();
    s.frontier.clear();
    s.best.clear();
    const auto nearer_first = std::greater<Candidate>();  // heap comparator giving a min-heap
    for (const Candidate& e : entries) {
        if (!s.visited.insert(e.id)) continue;
        s.frontier.push_back(e);
        s.best.push_back(e);
    }
    std::make_heap(s.frontier.begin(), s.frontier.end(), nearer_first);
    std::make_heap(s.best.begin(), s.best.end());
    while (s.best.size() > ef) {
        std::pop_heap(s.best.begin(), s.best.end());
        s.best.pop_back();
    }

    while (!s.frontier.empty()) {
        const Candidate current = s.frontier.front();
        if (s.best.size() >= ef && s.best.front() < current) break;  // nothing left can improve the results
        std::pop_heap(s.frontier.begin(), s.frontier.end(), nearer_first);
        s.frontier.pop_back();

        std::span<const uint32_t> row = row_of(current.id, s.row);
        s.fresh.clear();
        for (uint32_t next : row) {
            if (!s.visited.insert(next)) continue;
            __builtin_prefetch(vectors.at(next));  // vectors are read in graph order, i.e. at random
            s.fresh.push_back(next);
        }
        for (uint32_t next : s.fresh) {
            const Candidate c{vectors.to(query, next), next};
            if (s.best.size() < ef || c < s.best.front()) {
                s.frontier.push_back(c);
                std::push_heap(s.frontier.begin(), s.frontier.end(), nearer_first);
                s.best.push_back(c);
                std::push_heap(s.best.begin(), s.best.end());
                if (s.best.size() > ef) {
                    std::pop_heap(s.best.begin(), s.best.end());
                    s.best.pop_back();
                }
            }
        }
    }
    out.assign(s.best.begin(), s.best.end());
    std::sort(out.begin(), out.end());
}

/// Greedy walk on one layer: moves to the nearest neighbour while that gets closer to `query`.
template <class RowOf>
Candidate greedy_closest(const Vectors& vectors, const float* query, Candidate current, RowOf&& row_of,
                         std::vector<uint32_t>& buffer) {
    for (bool moved = true; moved;) {
        moved = false;
        for (uint32_t next : row_of(current.id, buffer)) {
            const Candidate c{vectors.to(query, next), next};
            if (c < current) {
                current = c;
                moved = true;
            }
        }
    }
    return current;
}

/// The HNSW neighbour heuristic (Malkov & Yashunin, Alg. 4 without extension): walk `sorted` (distances to the base
/// node, nearest first) and keep a candidate only if it is at least as close to the base as to every neighbour
/// already kept, until `cap` are kept. This spreads edges over directions instead of spending them all on one dense
/// cluster. `kept` may come in non-empty: those neighbours stay and count against the cap. `vectors` is anything with
/// `between(a, b)`: exact Vectors at build, PQ-backed graph::UpdateDistances during updates.
template <class Pairwise>
void select_diverse(const Pairwise& vectors, std::span<const Candidate> sorted, size_t cap,
                    std::vector<Candidate>& kept) {
    for (const Candidate& c : sorted) {
        if (kept.size() >= cap) break;
        bool diverse = true;
        for (const Candidate& k : kept) {
            if (k.id == c.id || vectors.between(c.id, k.id) < c.distance) {
                diverse = false;
                break;
            }
        }
        if (diverse) kept.push_back(c);
    }
}

}  // namespace leann::graph::detail
