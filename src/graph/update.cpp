// In-place updates of a pruned graph (rules in update.h).
//
// Everything runs on the caller's thread and visits nodes in id order, so a result depends only on its inputs.
// Insert and delete end with the reachability repair, so the invariants of update.h hold after each call; its
// breadth-first walk makes every call O(nodes + edges) on top of the distance computations, which is small next to
// embedding the passages that caused the update.
#include "graph/update.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <utility>

#include "graph/layer_search.h"
#include "leann/error.h"
#include "leann/log.h"

namespace leann::graph {
namespace {

using detail::Candidate;
using Rows = std::vector<std::vector<uint32_t>>;

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
constexpr int kRepairRounds = 8;
constexpr size_t kRepairEf = 64;  // candidate list when looking for a parent for an unreachable node

std::string num(size_t v) {
    return std::to_string(v);
}

bool tombstoned(std::span<const uint8_t> bits, size_t node) {
    return (node >> 3) < bits.size() && ((bits[node >> 3] >> (node & 7)) & 1) != 0;
}

std::string bitmap_error(std::span<const uint8_t> bits, size_t nodes) {
    if (bits.empty() || bits.size() >= (nodes + 7) / 8) return {};
    return "TOMB bitmap has " + num(bits.size()) + " bytes, expected " + num((nodes + 7) / 8) + " for " + num(nodes) +
           " nodes";
}

bool contains(std::span<const uint32_t> row, uint32_t id) {
    return std::find(row.begin(), row.end(), id) != row.end();
}

// A NaN distance (from a broken vector) would break the strict ordering that sorting and heaps rely on: it counts as
// infinitely far instead.
class OrderedDistances final : public UpdateDistances {
public:
    explicit OrderedDistances(const UpdateDistances& d) : d_(d) {}
    float to(const float* vector, uint32_t id) const override { return ordered(d_.to(vector, id)); }
    float between(uint32_t a, uint32_t b) const override { return ordered(d_.between(a, b)); }

private:
    static float ordered(float x) { return std::isnan(x) ? std::numeric_limits<float>::infinity() : x; }
    const UpdateDistances& d_;
};

using detail::select_diverse;  // over UpdateDistances::between: stored nodes have no exact vectors

Rows unpack(const Csr& csr) {
    Rows rows(csr.rows());
    for (size_t r = 0; r < rows.size(); ++r) rows[r].assign(csr.row(r).begin(), csr.row(r).end());
    return rows;
}

Csr pack(const Rows& rows) {
    Csr csr;
    csr.offsets.reserve(rows.size() + 1);
    csr.offsets.push_back(0);
    size_t total = 0;
    for (const auto& row : rows) {
        total += row.size();
        if (total > UINT32_MAX) throw Error("graph update: a layer has more than 2^32-1 edges");
        csr.offsets.push_back(static_cast<uint32_t>(total));
    }
    csr.neighbors.reserve(total);
    for (const auto& row : rows) csr.neighbors.insert(csr.neighbors.end(), row.begin(), row.end());
    return csr;
}

// Index of `node` in a layer's member list, or kNone.
uint32_t member_index(std::span<const uint32_t> members, uint32_t node) {
    const auto it = std::lower_bound(members.begin(), members.end(), node);
    return it != members.end() && *it == node ? static_cast<uint32_t>(it - members.begin()) : kNone;
}

// The struct is public, so its shape is checked before any id in it is used as an index.
void validate(const MutableGraph& g, const char* op) {
    const std::string name = std::string("graph ") + op + ": ";
    const size_t n = g.rows.size();
    if (n >= kNone) throw Error(name + num(n) + " nodes; an index holds at most 2^32-2");
    if (g.deleted.size() != n || g.dirty.size() != n)
        throw Error(name + num(g.deleted.size()) + " deleted and " + num(g.dirty.size()) + " dirty flags for " +
                    num(n) + " nodes");
    if (n > 0 && g.entry_point >= n) throw Error(name + "entry point " + num(g.entry_point) + " out of range");
    for (size_t v = 0; v < n; ++v)
        for (uint32_t u : g.rows[v])
            if (u >= n) throw Error(name + "node " + num(v) + " links to " + num(u) + ", out of range");
    if (g.upper_nodes.size() != g.upper.size())
        throw Error(name + num(g.upper_nodes.size()) + " upper node lists but " + num(g.upper.size()) + " layers");
    for (size_t l = 0; l < g.upper.size(); ++l) {
        const auto& members = g.upper_nodes[l];
        const Csr& csr = g.upper[l];
        const std::string layer = name + "layer " + num(l + 1) + ": ";
        for (size_t i = 0; i < members.size(); ++i)
            if (members[i] >= n || (i > 0 && members[i] <= members[i - 1]))
                throw Error(layer + "node list out of range or not ascending at position " + num(i));
        if (csr.offsets.size() != members.size() + 1 || csr.offsets[0] != 0 ||
            csr.offsets.back() != csr.neighbors.size() || !std::is_sorted(csr.offsets.begin(), csr.offsets.end()))
            throw Error(layer + "offsets do not match its " + num(members.size()) + " nodes");
        for (uint32_t u : csr.neighbors)
            if (u >= n) throw Error(layer + "neighbour " + num(u) + " out of range");
    }
}

void validate(const UpdateParams& p, const char* op) {
    if (p.pruned_degree == 0 || p.pruned_degree > p.hub_degree)
        throw Error(std::string("graph ") + op + ": need 1 <= pruned_degree <= hub_degree, got " +
                    num(p.pruned_degree) + " and " + num(p.hub_degree));
    if (p.ef == 0) throw Error(std::string("graph ") + op + ": ef must be at least 1");
    if (!(p.hub_fraction >= 0.0 && p.hub_fraction <= 1.0))
        throw Error(std::string("graph ") + op + ": hub_fraction must be in [0, 1], got " + std::to_string(p.hub_fraction));
}

// A live node outside [skip_begin, skip_end) to enter the graph at: the one with the longest layer-0 row on the
// highest upper layer that still holds a live node, else on layer 0. kNone when there is none.
uint32_t choose_entry(const MutableGraph& g, size_t skip_begin = 0, size_t skip_end = 0) {
    const auto better = [&](uint32_t v, uint32_t best) {
        if (g.deleted[v] || (v >= skip_begin && v < skip_end)) return false;
        return best == kNone || g.rows[v].size() > g.rows[best].size();
    };
    for (size_t l = g.upper_nodes.size(); l-- > 0;) {
        uint32_t best = kNone;
        for (uint32_t v : g.upper_nodes[l])
            if (better(v, best)) best = v;
        if (best != kNone) return best;
    }
    uint32_t best = kNone;
    for (uint32_t v = 0; v < g.rows.size(); ++v)
        if (better(v, best)) best = v;
    return best;
}

// Makes the entry point a live node on the top layer (when any node is live).
void ensure_entry(MutableGraph& g) {
    if (g.rows.empty()) return;
    const bool on_top = g.upper.empty() || member_index(g.upper_nodes.back(), g.entry_point) != kNone;
    if (!g.deleted[g.entry_point] && on_top) return;
    const uint32_t entry = choose_entry(g);
    if (entry == kNone || entry == g.entry_point) return;
    g.entry_point = entry;
    g.upper_changed = true;
}

// Best-first search over the live part of layer 0 from `start`, for whatever `dist(id)` measures. Leaves the up-to-ef
// nearest live nodes seen in `out`, nearest first.
template <class Dist>
void search_base(const MutableGraph& g, Dist&& dist, Candidate start, size_t ef, detail::VisitedSet& visited,
                 std::vector<Candidate>& out) {
    const auto nearer_first = std::greater<Candidate>();
    visited.next_search();
    visited.insert(start.id);
    std::vector<Candidate> frontier{start}, best{start};
    while (!frontier.empty()) {
        const Candidate current = frontier.front();
        if (best.size() >= ef && best.front() < current) break;
        std::pop_heap(frontier.begin(), frontier.end(), nearer_first);
        frontier.pop_back();
        for (uint32_t next : g.rows[current.id]) {
            if (g.deleted[next] || !visited.insert(next)) continue;
            const Candidate c{dist(next), next};
            if (best.size() >= ef && !(c < best.front())) continue;
            frontier.push_back(c);
            std::push_heap(frontier.begin(), frontier.end(), nearer_first);
            best.push_back(c);
            std::push_heap(best.begin(), best.end());
            if (best.size() > ef) {
                std::pop_heap(best.begin(), best.end());
                best.pop_back();
            }
        }
    }
    out.assign(best.begin(), best.end());
    std::sort(out.begin(), out.end());
}

// Greedy walk down the upper layers (live nodes only) to the node from which the layer-0 search starts.
Candidate descend(const MutableGraph& g, const UpdateDistances& d, const float* query) {
    Candidate current{d.to(query, g.entry_point), g.entry_point};
    for (size_t l = g.upper.size(); l-- > 0;) {
        for (bool moved = true; moved;) {  // each move is to a strictly smaller candidate, so this ends
            moved = false;
            const uint32_t i = member_index(g.upper_nodes[l], current.id);
            if (i == kNone) break;
            for (uint32_t next : g.upper[l].row(i)) {
                if (g.deleted[next]) continue;
                const Candidate c{d.to(query, next), next};
                if (c < current) {
                    current = c;
                    moved = true;
                }
            }
        }
    }
    return current;
}

// Reverse edge u -> added.id: accepted while u's row has room, else u's row is re-selected with the newcomer among
// the candidates (which may drop it, or some of u's old neighbours).
void link(MutableGraph& g, const UpdateDistances& d, uint32_t u, Candidate added, size_t cap) {
    std::vector<uint32_t>& row = g.rows[u];
    if (contains(row, added.id)) return;
    g.dirty[u] = 1;
    if (row.size() < cap) {
        row.push_back(added.id);
        return;
    }
    std::vector<Candidate> pool, kept;
    for (uint32_t x : row) pool.push_back({d.between(u, x), x});
    pool.push_back(added);
    std::sort(pool.begin(), pool.end());
    select_diverse(d, pool, cap, kept);
    row.clear();
    for (const Candidate& c : kept) row.push_back(c.id);
}

// u's row without its deleted neighbours, offered the live out-neighbours of the dropped ones (through one more
// deleted node), which the heuristic adds up to `cap`; u's surviving neighbours all stay. `old_row(x)` is x's row as
// it was before this deletion.
template <class OldRow>
void patch_row(uint32_t u, std::vector<uint32_t>& row, OldRow&& old_row, const std::vector<uint8_t>& deleted,
               const UpdateDistances& d, size_t cap) {
    const size_t length_before = row.size();
    std::vector<Candidate> kept;
    std::vector<uint32_t> offered;
    for (uint32_t x : row) {
        if (!deleted[x]) {
            kept.push_back({0.0f, x});  // kept neighbours' own distances are never read by the heuristic
            continue;
        }
        for (uint32_t y : old_row(x)) {
            if (!deleted[y]) {
                offered.push_back(y);
                continue;
            }
            for (uint32_t z : old_row(y))
                if (!deleted[z]) offered.push_back(z);
        }
    }
    std::sort(offered.begin(), offered.end());
    offered.erase(std::unique(offered.begin(), offered.end()), offered.end());
    std::vector<Candidate> pool;
    for (uint32_t y : offered)
        if (y != u && !contains(row, y)) pool.push_back({d.between(u, y), y});
    std::sort(pool.begin(), pool.end());
    select_diverse(d, pool, cap, kept);
    // The heuristic on PQ distances keeps fewer than it would on exact ones; refill the row to the length it had
    // with the nearest offered nodes (IP-DiskANN keeps degrees up the same way), so deletions do not thin the graph.
    for (const Candidate& c : pool) {
        if (kept.size() >= std::min(length_before, cap)) break;
        if (std::none_of(kept.begin(), kept.end(), [&](const Candidate& k) { return k.id == c.id; })) kept.push_back(c);
    }
    row.clear();
    for (const Candidate& c : kept) row.push_back(c.id);
}

// Drops deleted nodes from the upper layers. Rows that lose a neighbour are patched like layer-0 rows, capped at
// the build's upper-layer degree; layers left empty go.
void clean_upper_layers(MutableGraph& g, const UpdateDistances& d, size_t cap) {
    for (size_t l = 0; l < g.upper.size(); ++l) {
        const std::vector<uint32_t>& members = g.upper_nodes[l];
        if (std::none_of(members.begin(), members.end(), [&](uint32_t v) { return g.deleted[v] != 0; })) continue;
        const Rows old_rows = unpack(g.upper[l]);
        const auto old_row = [&](uint32_t x) -> std::span<const uint32_t> {
            const uint32_t i = member_index(members, x);
            return i == kNone ? std::span<const uint32_t>{} : std::span<const uint32_t>(old_rows[i]);
        };
        Rows rows;
        std::vector<uint32_t> kept_members;
        for (size_t i = 0; i < members.size(); ++i) {
            if (g.deleted[members[i]]) continue;
            std::vector<uint32_t> row = old_rows[i];
            if (std::any_of(row.begin(), row.end(), [&](uint32_t x) { return g.deleted[x] != 0; }))
                patch_row(members[i], row, old_row, g.deleted, d, cap);
            rows.push_back(std::move(row));
            kept_members.push_back(members[i]);
        }
        g.upper[l] = pack(rows);
        g.upper_nodes[l] = std::move(kept_members);
        g.upper_changed = true;
    }
    for (size_t l = g.upper.size(); l-- > 0;) {
        if (!g.upper_nodes[l].empty()) continue;
        g.upper_nodes.erase(g.upper_nodes.begin() + static_cast<long>(l));
        g.upper.erase(g.upper.begin() + static_cast<long>(l));
    }
}

// Makes every live node reachable from the entry point, as the build's repair pass (prune.cpp) does: unreached nodes
// are linked from their nearest reachable node that has room, or that can replace an edge whose target keeps another
// way in. Rounds repeat because a replaced edge may cut something else off.
class ReachabilityRepair {
public:
    ReachabilityRepair(MutableGraph& g, const UpdateDistances& d, size_t cap)
        : g_(g), d_(d), cap_(cap), in_degree_(g.nodes(), 0), visited_(g.nodes()) {
        for (size_t v = 0; v < g_.nodes(); ++v)
            if (!g_.deleted[v])
                for (uint32_t u : g_.rows[v]) ++in_degree_[u];
    }

    size_t run() {
        const size_t n = g_.nodes();
        size_t added = 0;
        if (n == 0) return 0;
        for (int round = 0; round <= kRepairRounds; ++round) {
            reached_.assign(n, 0);
            walk_from(g_.entry_point);
            size_t missing = 0;
            for (uint32_t v = 0; v < n; ++v) {
                if (reached_[v] || g_.deleted[v]) continue;
                ++missing;
                if (round == kRepairRounds) continue;  // the last round only counts
                // Replacing edges can cut off other nodes round after round (ties, crowded rows); the last rounds
                // let a row grow past the cap instead, since an unreachable chunk is worse than a long row.
                overflow_ = round + 2 >= kRepairRounds;
                const uint32_t parent = pick_parent(v);
                if (parent == kNone) continue;
                attach(parent, v);
                ++added;
                walk_from(v);
            }
            if (missing == 0) return added;
            if (round == kRepairRounds)
                log(LogLevel::warn, "graph update: " + num(missing) + " live nodes remain unreachable from the entry");
        }
        return added;
    }

private:
    void walk_from(uint32_t start) {
        if (reached_[start] || g_.deleted[start]) return;
        reached_[start] = 1;
        std::deque<uint32_t> queue{start};
        while (!queue.empty()) {
            const uint32_t v = queue.front();
            queue.pop_front();
            for (uint32_t u : g_.rows[v]) {
                if (reached_[u] || g_.deleted[u]) continue;
                reached_[u] = 1;
                queue.push_back(u);
            }
        }
    }

    bool has_room(uint32_t w) const { return g_.rows[w].size() < (overflow_ ? 2 * cap_ : cap_); }

    // The farthest edge of w whose target keeps another way in, or kNone.
    uint32_t replaceable_slot(uint32_t w) const {
        const auto& row = g_.rows[w];
        float farthest = -std::numeric_limits<float>::infinity();
        uint32_t slot = kNone;
        for (size_t i = 0; i < row.size(); ++i) {
            if (in_degree_[row[i]] < 2) continue;
            const float dist = d_.between(w, row[i]);
            if (slot == kNone || dist > farthest) {
                farthest = dist;
                slot = static_cast<uint32_t>(i);
            }
        }
        return slot;
    }

    uint32_t first_usable(std::span<const Candidate> sorted) const {
        for (const Candidate& c : sorted)
            if (reached_[c.id] && has_room(c.id)) return c.id;
        for (const Candidate& c : sorted)
            if (reached_[c.id] && replaceable_slot(c.id) != kNone) return c.id;
        return kNone;
    }

    // v's own reachable neighbours first, then what a search of the reachable graph for v finds (every node it finds
    // is reachable: the search starts at the entry), then, rarely, any reachable node.
    uint32_t pick_parent(uint32_t v) {
        std::vector<Candidate> near;
        for (uint32_t u : g_.rows[v])
            if (reached_[u]) near.push_back({d_.between(v, u), u});
        std::sort(near.begin(), near.end());
        if (const uint32_t p = first_usable(near); p != kNone) return p;
        const auto dist = [&](uint32_t u) { return d_.between(v, u); };
        search_base(g_, dist, Candidate{dist(g_.entry_point), g_.entry_point}, std::max(kRepairEf, cap_), visited_,
                    near);
        if (const uint32_t p = first_usable(near); p != kNone) return p;
        near.clear();
        for (uint32_t w = 0; w < g_.nodes(); ++w)
            if (reached_[w] && w != v) near.push_back({d_.between(v, w), w});
        std::sort(near.begin(), near.end());
        return first_usable(near);
    }

    void attach(uint32_t w, uint32_t v) {
        auto& row = g_.rows[w];
        if (has_room(w)) {
            row.push_back(v);
        } else {
            uint32_t& target = row[replaceable_slot(w)];
            --in_degree_[target];
            target = v;
        }
        ++in_degree_[v];
        g_.dirty[w] = 1;
    }

    MutableGraph& g_;
    const UpdateDistances& d_;
    size_t cap_;
    bool overflow_ = false;
    std::vector<uint32_t> in_degree_;  // from live rows
    std::vector<uint8_t> reached_;
    detail::VisitedSet visited_;
};

}  // namespace

MutableGraph MutableGraph::from_view(const GraphView& view, std::span<const uint8_t> deleted_bits) {
    if (std::string error = check(view); !error.empty()) throw Error("graph update: invalid graph: " + error);
    if (std::string error = bitmap_error(deleted_bits, view.nodes); !error.empty())
        throw Error("graph update: " + error);
    MutableGraph g;
    g.entry_point = view.entry_point;
    g.rows.resize(view.nodes);
    g.deleted.resize(view.nodes);
    g.dirty.assign(view.nodes, 0);
    for (uint32_t v = 0; v < view.nodes; ++v) {
        const auto row = view.base.row(v);
        g.rows[v].assign(row.begin(), row.end());
        g.deleted[v] = tombstoned(deleted_bits, v) ? 1 : 0;
    }
    for (size_t l = 0; l < view.upper.size(); ++l) {
        g.upper_nodes.emplace_back(view.upper_nodes[l].begin(), view.upper_nodes[l].end());
        Csr csr;
        csr.offsets.assign(view.upper[l].offsets.begin(), view.upper[l].offsets.end());
        csr.neighbors.assign(view.upper[l].neighbors.begin(), view.upper[l].neighbors.end());
        g.upper.push_back(std::move(csr));
    }
    return g;
}

size_t MutableGraph::live() const {
    return static_cast<size_t>(std::count(deleted.begin(), deleted.end(), uint8_t{0}));
}

Graph MutableGraph::to_graph() const {
    validate(*this, "to_graph");
    Graph g;
    g.nodes = static_cast<uint32_t>(rows.size());
    g.entry_point = rows.empty() ? 0 : entry_point;
    g.base = pack(rows);
    g.upper_nodes = upper_nodes;
    g.upper = upper;
    return g;
}

void MutableGraph::resize(size_t n) {
    if (n < rows.size())
        throw Error("graph resize: cannot shrink from " + num(rows.size()) + " to " + num(n) + " nodes");
    if (n >= kNone) throw Error("graph resize: " + num(n) + " nodes; an index holds at most 2^32-2");
    rows.resize(n);
    deleted.resize(n, 0);
    dirty.resize(n, 1);
}

// The HNSW level of an inserted node, drawn as the build draws levels (P(level >= l) = M^-l), from a hash of its id
// so that an update gives the same graph every time.
size_t upper_level(uint32_t node, uint32_t hub_degree) {
    uint64_t z = (uint64_t{node} + 1) * 0x9e3779b97f4a7c15ULL;  // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    const double u = double(z >> 11) * 0x1.0p-53;  // [0, 1)
    const double mult = 1.0 / std::log(std::max(2.0, double(hub_degree)));
    return size_t(std::min(16.0, std::floor(-std::log1p(-u) * mult)));
}

// Adds `node` (larger than every member, so the member list stays sorted) to upper layer `l`: its row is the diverse
// nearest of the layer's live members, and each of those links back as on layer 0, rows capped at `cap`.
void join_upper_layer(MutableGraph& g, const UpdateDistances& d, size_t l, uint32_t node, const float* query,
                      size_t cap) {
    std::vector<uint32_t>& members = g.upper_nodes[l];
    if (!members.empty() && members.back() >= node) return;
    std::vector<Candidate> pool;
    for (uint32_t v : members)
        if (!g.deleted[v]) pool.push_back({d.to(query, v), v});
    std::sort(pool.begin(), pool.end());
    if (pool.size() > 4 * cap) pool.resize(4 * cap);
    std::vector<Candidate> selected;
    select_diverse(d, pool, cap, selected);
    Rows rows = unpack(g.upper[l]);
    std::vector<uint32_t> own;
    for (const Candidate& c : selected) {
        own.push_back(c.id);
        std::vector<uint32_t>& row = rows[member_index(members, c.id)];
        if (contains(row, node)) continue;
        if (row.size() < cap) {
            row.push_back(node);
            continue;
        }
        std::vector<Candidate> offered, kept;
        for (uint32_t x : row) offered.push_back({d.between(c.id, x), x});
        offered.push_back({c.distance, node});
        std::sort(offered.begin(), offered.end());
        select_diverse(d, offered, cap, kept);
        row.clear();
        for (const Candidate& k : kept) row.push_back(k.id);
    }
    members.push_back(node);
    rows.push_back(std::move(own));
    g.upper[l] = pack(rows);
    g.upper_changed = true;
}

void insert_nodes(MutableGraph& g, uint32_t first, size_t count, const float* vectors, size_t dim,
                  const UpdateDistances& given, const UpdateParams& params) {
    const OrderedDistances distances(given);
    validate(g, "insert");
    validate(params, "insert");
    if (count == 0) return;
    if (first > g.nodes() || count > g.nodes() - first)
        throw Error("graph insert: nodes " + num(first) + " .. " + num(first + count - 1) +
                    " out of range (nodes = " + num(g.nodes()) + "); resize() first");
    if (vectors == nullptr || dim == 0) throw Error("graph insert: " + num(count) + " nodes given with no vectors");
    const size_t end = first + count;
    for (size_t v = first; v < end; ++v)
        if (g.deleted[v] || !g.rows[v].empty())
            throw Error("graph insert: node " + num(v) + " is not fresh (deleted or has a row)");

    // A node being inserted must not be the entry before it is linked: take a live old node, or, in a graph with
    // none, the first new one (whatever upper layers remain hold only deleted nodes).
    const bool entry_ok = !g.deleted[g.entry_point] && (g.entry_point < first || g.entry_point >= end);
    size_t begin = first;
    if (!entry_ok) {
        uint32_t entry = choose_entry(g, first, end);
        if (entry == kNone) {
            entry = first;
            g.upper_nodes.clear();
            g.upper.clear();
            ++begin;
        }
        g.entry_point = entry;
        g.upper_changed = true;
    }

    detail::VisitedSet visited(g.nodes());
    std::vector<Candidate> found, selected;
    const size_t ef = std::max<size_t>(params.ef, params.pruned_degree);
    for (size_t v = begin; v < end; ++v) {
        const auto node = static_cast<uint32_t>(v);
        const float* query = vectors + (v - first) * dim;
        const auto dist = [&](uint32_t id) { return distances.to(query, id); };
        search_base(g, dist, descend(g, distances, query), ef, visited, found);
        std::erase_if(found, [&](const Candidate& c) { return c.id >= node && c.id < end; });
        selected.clear();
        select_diverse(distances, found, params.pruned_degree, selected);
        for (const Candidate& c : selected) g.rows[node].push_back(c.id);
        g.dirty[node] = 1;
        for (const Candidate& c : selected) link(g, distances, c.id, Candidate{c.distance, node}, params.hub_degree);
        // The upper layers it would have been on, among those that exist (a graph whose upper layers churn emptied
        // grows one again), so that deletions do not thin them over time. It does not raise the top layer.
        const size_t level = std::min(upper_level(node, params.hub_degree), std::max<size_t>(g.upper.size(), 1));
        if (level > 0 && g.upper.empty()) {
            g.upper_nodes.emplace_back();
            g.upper.push_back(pack(Rows{}));
        }
        for (size_t l = 0; l < level; ++l) join_upper_layer(g, distances, l, node, query, params.pruned_degree);
    }
    ensure_entry(g);  // a layer grown from nothing needs the entry on it
    ReachabilityRepair(g, distances, params.hub_degree).run();
}

void delete_nodes(MutableGraph& g, std::span<const uint32_t> nodes, const UpdateDistances& given,
                  const UpdateParams& params) {
    const OrderedDistances distances(given);
    validate(g, "delete");
    validate(params, "delete");
    for (uint32_t v : nodes)
        if (v >= g.nodes())
            throw Error("graph delete: node " + num(v) + " out of range (nodes = " + num(g.nodes()) + ")");
    bool any = false;
    for (uint32_t v : nodes) {
        if (g.deleted[v]) continue;
        g.deleted[v] = 1;
        any = true;
    }
    if (!any) return;

    // Deleted rows stay intact until every in-neighbour has been offered their contents.
    for (uint32_t u = 0; u < g.nodes(); ++u) {
        if (g.deleted[u]) continue;
        auto& row = g.rows[u];
        if (std::none_of(row.begin(), row.end(), [&](uint32_t x) { return g.deleted[x] != 0; })) continue;
        const auto old_row = [&](uint32_t x) -> std::span<const uint32_t> { return g.rows[x]; };
        patch_row(u, row, old_row, g.deleted, distances, params.hub_degree);
        g.dirty[u] = 1;
    }
    for (uint32_t v = 0; v < g.nodes(); ++v) {
        if (!g.deleted[v] || g.rows[v].empty()) continue;
        g.rows[v].clear();
        g.dirty[v] = 1;
    }
    clean_upper_layers(g, distances, params.pruned_degree);
    ensure_entry(g);
    ReachabilityRepair(g, distances, params.hub_degree).run();
}

void move_node(MutableGraph& g, uint32_t from, uint32_t to) {
    validate(g, "move");
    const std::string name = "graph move " + num(from) + " -> " + num(to) + ": ";
    if (from >= g.nodes() || to >= g.nodes()) throw Error(name + "out of range (nodes = " + num(g.nodes()) + ")");
    if (from == to) throw Error(name + "same node");
    if (g.deleted[from]) throw Error(name + "node " + num(from) + " is deleted");
    if (g.deleted[to] || !g.rows[to].empty()) throw Error(name + "node " + num(to) + " is not fresh");
    for (const auto& members : g.upper_nodes)
        if (member_index(members, to) != kNone) throw Error(name + "node " + num(to) + " is on an upper layer");

    // In a row, `from` becomes `to` unless that would make a self loop or a duplicate.
    const auto redirect = [&](std::vector<uint32_t>& row, uint32_t owner) {
        const auto it = std::find(row.begin(), row.end(), from);
        if (it == row.end()) return false;
        if (owner == to || contains(row, to))
            row.erase(it);
        else
            *it = to;
        return true;
    };
    g.rows[to] = std::move(g.rows[from]);
    g.rows[from].clear();
    g.deleted[from] = 1;
    g.dirty[from] = g.dirty[to] = 1;
    std::erase(g.rows[to], to);
    for (uint32_t v = 0; v < g.nodes(); ++v)
        if (!g.deleted[v] && redirect(g.rows[v], v)) g.dirty[v] = 1;

    for (size_t l = 0; l < g.upper.size(); ++l) {
        std::vector<uint32_t>& members = g.upper_nodes[l];
        const uint32_t i = member_index(members, from);
        if (i == kNone) continue;
        Rows rows = unpack(g.upper[l]);
        for (size_t r = 0; r < rows.size(); ++r) redirect(rows[r], r == i ? to : members[r]);
        std::vector<uint32_t> moved = std::move(rows[i]);
        members.erase(members.begin() + i);
        rows.erase(rows.begin() + i);
        const auto at = std::lower_bound(members.begin(), members.end(), to) - members.begin();
        members.insert(members.begin() + at, to);
        rows.insert(rows.begin() + at, std::move(moved));
        g.upper[l] = pack(rows);
        g.upper_changed = true;
    }
    if (g.entry_point == from) {
        g.entry_point = to;
        g.upper_changed = true;
    }
}

size_t promote_hubs(MutableGraph& g, const UpdateDistances& given, const UpdateParams& params) {
    const OrderedDistances distances(given);
    validate(g, "promote hubs");
    validate(params, "promote hubs");
    const size_t n = g.nodes();
    std::vector<uint32_t> in_degree(n, 0);
    std::vector<uint8_t> gained(n, 0);
    for (uint32_t v = 0; v < n; ++v) {
        if (g.deleted[v]) continue;
        for (uint32_t x : g.rows[v]) {
            ++in_degree[x];
            if (g.dirty[v]) gained[x] = 1;
        }
    }
    std::vector<uint32_t> degrees;
    for (uint32_t v = 0; v < n; ++v)
        if (!g.deleted[v]) degrees.push_back(in_degree[v]);
    const auto hubs = std::min(degrees.size(), size_t(std::ceil(params.hub_fraction * double(degrees.size()))));
    if (hubs == 0) return 0;
    std::nth_element(degrees.begin(), degrees.begin() + (hubs - 1), degrees.end(), std::greater<>());
    const uint32_t threshold = std::max<uint32_t>(1, degrees[hubs - 1]);

    size_t added = 0;
    std::vector<Candidate> kept, pool;
    std::vector<uint32_t> seen;
    for (uint32_t v = 0; v < n; ++v) {
        std::vector<uint32_t>& row = g.rows[v];
        if (g.deleted[v] || !gained[v] || in_degree[v] < threshold || row.size() >= params.hub_degree) continue;
        kept.clear();
        pool.clear();
        seen.assign(row.begin(), row.end());
        seen.push_back(v);
        for (uint32_t x : row) kept.push_back({distances.between(v, x), x});
        for (uint32_t x : row)
            for (uint32_t y : g.rows[x]) {
                if (g.deleted[y] || contains(seen, y)) continue;
                seen.push_back(y);
                pool.push_back({distances.between(v, y), y});
            }
        std::sort(pool.begin(), pool.end());
        const size_t before = kept.size();
        select_diverse(distances, pool, params.hub_degree, kept);
        for (size_t i = before; i < kept.size(); ++i) row.push_back(kept[i].id);
        if (kept.size() > before) g.dirty[v] = 1;
        added += kept.size() - before;
    }
    return added;
}

size_t repair_reachability(MutableGraph& g, const UpdateDistances& given, const UpdateParams& params) {
    const OrderedDistances distances(given);
    validate(g, "repair");
    validate(params, "repair");
    ensure_entry(g);
    if (g.nodes() == 0 || g.deleted[g.entry_point]) return 0;  // nothing live
    return ReachabilityRepair(g, distances, params.hub_degree).run();
}

std::string check_live(const GraphView& g, std::span<const uint8_t> deleted_bits) {
    if (std::string error = check(g); !error.empty()) return error;
    if (std::string error = bitmap_error(deleted_bits, g.nodes); !error.empty()) return error;
    const auto dead = [&](uint32_t v) { return tombstoned(deleted_bits, v); };
    size_t live = 0;
    for (uint32_t v = 0; v < g.nodes; ++v) {
        const auto row = g.base.row(v);
        if (dead(v)) {
            if (!row.empty()) return "node " + num(v) + " is deleted but its row holds " + num(row.size()) + " edges";
            continue;
        }
        ++live;
        for (uint32_t u : row)
            if (dead(u)) return "node " + num(v) + " links to deleted node " + num(u);
    }
    for (size_t l = 0; l < g.upper_nodes.size(); ++l)
        for (uint32_t v : g.upper_nodes[l])
            if (dead(v)) return "layer " + num(l + 1) + ": node " + num(v) + " is deleted";
    if (live == 0) return {};
    if (dead(g.entry_point)) return "entry point " + num(g.entry_point) + " is deleted";

    std::vector<uint8_t> reached(g.nodes, 0);
    std::vector<uint32_t> stack{g.entry_point};
    reached[g.entry_point] = 1;
    size_t count = 1;
    while (!stack.empty()) {
        const uint32_t v = stack.back();
        stack.pop_back();
        for (uint32_t u : g.base.row(v)) {
            if (reached[u]) continue;
            reached[u] = 1;
            ++count;
            stack.push_back(u);
        }
    }
    if (count == live) return {};
    for (uint32_t v = 0; v < g.nodes; ++v)
        if (!reached[v] && !dead(v))
            return "node " + num(v) + " is live but not reachable from the entry point " + num(g.entry_point) + " (" +
                   num(live - count) + " live nodes unreached)";
    return {};
}

}  // namespace leann::graph
