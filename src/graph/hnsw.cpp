// HNSW construction (Malkov & Yashunin 2018) over caller-owned exact vectors.
//
// While building, every row lives in a fixed-capacity slot ([count, ids...]): layer 0 holds 2*M ids, upper layers M.
// Threads insert nodes concurrently; a row is read or written only under its node's lock (striped), and no thread
// ever holds two node locks at once, so there is no lock order to get wrong. The result is converted to CSR at the
// end.
#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>

#include "graph/graph.h"
#include "graph/layer_search.h"
#include "leann/error.h"
#include "util/thread_pool.h"

namespace leann::graph {
namespace {

using detail::Candidate;
using detail::Scratch;
using detail::Vectors;

constexpr size_t kLockStripes = size_t{1} << 14;
constexpr int kMaxLevel = 32;               // reached with probability ~M^-32: a guard, not a tuning knob
constexpr uint32_t kMaxDegreeLimit = 1024;  // keeps 2*M and the row slots far from overflow
constexpr size_t kInsertsPerProgress = 4096;

// Levels come from one seeded stream, drawn before any insert, so they do not depend on thread scheduling.
std::vector<uint8_t> draw_levels(size_t n, uint32_t max_degree, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const double mult = 1.0 / std::log(static_cast<double>(max_degree));
    std::vector<uint8_t> levels(n);
    for (auto& level : levels) {
        // Built from raw bits rather than uniform_real_distribution, whose output differs between standard libraries.
        const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
        level = static_cast<uint8_t>(std::min<double>(kMaxLevel, std::floor(-std::log1p(-u) * mult)));
    }
    return levels;
}

class HnswBuilder {
public:
    HnswBuilder(Vectors vectors, size_t n, const BuildParams& params)
        : vectors_(vectors),
          n_(n),
          max_degree_(params.max_degree),
          base_cap_(2 * params.max_degree),
          ef_(std::max(params.ef_construction, params.max_degree)),
          levels_(draw_levels(n, params.max_degree, params.seed)),
          locks_(std::make_unique<std::mutex[]>(std::min(n, kLockStripes))),
          lock_count_(std::min(n, kLockStripes)) {
        base_links_.assign(n * (base_cap_ + 1), 0);
        upper_start_.resize(n + 1);
        size_t total = 0;
        for (size_t i = 0; i < n; ++i) {
            upper_start_[i] = total;
            total += levels_[i] * (max_degree_ + size_t{1});
        }
        upper_start_[n] = total;
        upper_links_.assign(total, 0);
        // The first node is the whole graph; every later insert starts from it.
        entry_ = 0;
        top_level_ = levels_[0];
    }

    void insert(uint32_t node, Scratch& s);
    Graph finish() const;

private:
    const uint32_t* slot(uint32_t node, int level) const {
        return level == 0 ? &base_links_[node * (base_cap_ + 1)]
                          : &upper_links_[upper_start_[node] + (level - 1) * (max_degree_ + 1)];
    }
    uint32_t* slot(uint32_t node, int level) { return const_cast<uint32_t*>(std::as_const(*this).slot(node, level)); }
    size_t cap(int level) const { return level == 0 ? base_cap_ : max_degree_; }
    std::mutex& lock_of(uint32_t node) { return locks_[node % lock_count_]; }

    // Row reader for search_layer/greedy_closest: copies the row under its lock.
    auto locked_row(int level) {
        return [this, level](uint32_t node, std::vector<uint32_t>& buffer) -> std::span<const uint32_t> {
            std::lock_guard guard(lock_of(node));
            const uint32_t* row = slot(node, level);
            buffer.assign(row + 1, row + 1 + row[0]);
            return buffer;
        };
    }

    void link(uint32_t target, Candidate added, int level, Scratch& s);
    Csr layer_csr(int level, std::span<const uint32_t> nodes) const;

    Vectors vectors_;
    size_t n_;
    size_t max_degree_;
    size_t base_cap_;
    size_t ef_;
    std::vector<uint8_t> levels_;
    std::vector<uint32_t> base_links_;   // n * (2M + 1)
    std::vector<size_t> upper_start_;    // node -> first slot of its level-1 row in upper_links_
    std::vector<uint32_t> upper_links_;  // level(node) * (M + 1) per node
    std::unique_ptr<std::mutex[]> locks_;
    size_t lock_count_;
    std::mutex entry_mutex_;  // guards entry_ and top_level_
    uint32_t entry_ = 0;
    int top_level_ = 0;
};

void HnswBuilder::insert(uint32_t node, Scratch& s) {
    const int level = levels_[node];
    const float* query = vectors_.at(node);

    std::unique_lock entry_lock(entry_mutex_);
    const uint32_t entry = entry_;
    const int top = top_level_;
    // A node that raises the top level holds the entry lock until it is linked, so no other insert starts from a
    // top layer that it has not joined yet. That happens about log_M(n) times per build.
    if (level <= top) entry_lock.unlock();

    Candidate current{vectors_.to(query, entry), entry};
    for (int l = top; l > level; --l) current = detail::greedy_closest(vectors_, query, current, locked_row(l), s.row);

    s.entries.assign(1, current);
    for (int l = std::min(level, top); l >= 0; --l) {
        detail::search_layer(vectors_, query, s.entries, ef_, locked_row(l), s, s.found);
        std::erase_if(s.found, [node](const Candidate& c) { return c.id == node; });
        s.selected.clear();
        detail::select_diverse(vectors_, s.found, max_degree_, s.selected);
        {
            std::lock_guard guard(lock_of(node));
            uint32_t* row = slot(node, l);
            row[0] = static_cast<uint32_t>(s.selected.size());
            for (size_t i = 0; i < s.selected.size(); ++i) row[1 + i] = s.selected[i].id;
        }
        for (const Candidate& neighbor : s.selected) link(neighbor.id, Candidate{neighbor.distance, node}, l, s);
        s.entries.swap(s.found);
    }

    if (level > top) {
        entry_ = node;
        top_level_ = level;
    }
}

// Adds the reverse edge target -> added.id. A full row is re-selected with the heuristic over its members plus the
// newcomer, which keeps the row spread out (and may drop the newcomer).
void HnswBuilder::link(uint32_t target, Candidate added, int level, Scratch& s) {
    std::lock_guard guard(lock_of(target));
    uint32_t* row = slot(target, level);
    const size_t count = row[0];
    for (size_t i = 0; i < count; ++i)
        if (row[1 + i] == added.id) return;
    if (count < cap(level)) {
        row[1 + count] = added.id;
        row[0] = static_cast<uint32_t>(count + 1);
        return;
    }
    s.pool.clear();
    for (size_t i = 0; i < count; ++i) s.pool.push_back({vectors_.between(target, row[1 + i]), row[1 + i]});
    s.pool.push_back(added);
    std::sort(s.pool.begin(), s.pool.end());
    s.kept.clear();
    detail::select_diverse(vectors_, s.pool, cap(level), s.kept);
    row[0] = static_cast<uint32_t>(s.kept.size());
    for (size_t i = 0; i < s.kept.size(); ++i) row[1 + i] = s.kept[i].id;
}

Csr HnswBuilder::layer_csr(int level, std::span<const uint32_t> nodes) const {
    Csr csr;
    csr.offsets.resize(nodes.size() + 1);
    size_t total = 0;
    for (size_t r = 0; r < nodes.size(); ++r) {
        csr.offsets[r] = static_cast<uint32_t>(total);
        total += slot(nodes[r], level)[0];
        if (total > UINT32_MAX)
            throw Error("graph build: layer " + std::to_string(level) +
                        " has more than 2^32-1 edges; use a smaller max_degree or split the index");
    }
    csr.offsets[nodes.size()] = static_cast<uint32_t>(total);
    csr.neighbors.reserve(total);
    for (uint32_t node : nodes) {
        const uint32_t* row = slot(node, level);
        csr.neighbors.insert(csr.neighbors.end(), row + 1, row + 1 + row[0]);
    }
    return csr;
}

Graph HnswBuilder::finish() const {
    Graph g;
    g.nodes = static_cast<uint32_t>(n_);
    g.entry_point = entry_;
    std::vector<uint32_t> all(n_);
    for (size_t i = 0; i < n_; ++i) all[i] = static_cast<uint32_t>(i);
    g.base = layer_csr(0, all);
    for (int l = 1; l <= top_level_; ++l) {
        std::vector<uint32_t> members;
        for (uint32_t node : all)
            if (levels_[node] >= l) members.push_back(node);
        g.upper.push_back(layer_csr(l, members));
        g.upper_nodes.push_back(std::move(members));
    }
    return g;
}

}  // namespace

Graph build_hnsw(const float* vectors, size_t n, size_t dim, Metric metric, const BuildParams& params,
                 const Progress& progress) {
    if (params.max_degree < 2 || params.max_degree > kMaxDegreeLimit)
        throw Error("graph build: max_degree must be in [2, " + std::to_string(kMaxDegreeLimit) + "], got " +
                    std::to_string(params.max_degree));
    if (params.ef_construction == 0) throw Error("graph build: ef_construction must be at least 1");
    if (n >= UINT32_MAX)
        throw Error("graph build: " + std::to_string(n) + " vectors; an index holds at most 2^32-2 nodes");
    if (n > 0 && (vectors == nullptr || dim == 0))
        throw Error("graph build: " + std::to_string(n) + " vectors given with no data or dim 0");

    if (n == 0) {
        Graph empty;
        empty.base.offsets = {0};
        return empty;
    }

    HnswBuilder builder(Vectors{vectors, dim, metric}, n, params);
    ThreadPool pool(params.threads == 0 ? hardware_threads() : params.threads);
    std::vector<Scratch> scratch;
    scratch.reserve(pool.size());
    for (size_t i = 0; i < pool.size(); ++i) scratch.emplace_back(n);

    // Batches give the caller's thread a point to report progress from (the callback need not be thread-safe).
    for (size_t done = 1; done < n;) {
        const size_t batch = std::min(kInsertsPerProgress, n - done);
        pool.for_each_task(batch, [&, begin = done](size_t task, size_t slot) {
            builder.insert(static_cast<uint32_t>(begin + task), scratch[slot]);
        });
        done += batch;
        if (progress) progress(done, n);
    }
    if (progress && n == 1) progress(1, 1);
    return builder.finish();
}

}  // namespace leann::graph
