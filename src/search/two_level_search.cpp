#include "search/two_level_search.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>

#include "leann/error.h"
#include "util/distance.h"

namespace leann::search {

namespace {

struct Candidate {
    float distance;
    uint32_t node;
};
struct Closer {  // min-heap order for std::priority_queue
    bool operator()(const Candidate& a, const Candidate& b) const {
        return a.distance > b.distance || (a.distance == b.distance && a.node > b.node);
    }
};
struct Farther {  // max-heap order
    bool operator()(const Candidate& a, const Candidate& b) const {
        return a.distance < b.distance || (a.distance == b.distance && a.node < b.node);
    }
};
// Distances enter the heaps only through this: a NaN (from a poisoned model or vector) sorts last instead of
// breaking the heaps' ordering, which would stall the loop below or lose every result.
inline float orderable(float d) { return std::isnan(d) ? INFINITY : d; }

using MinHeap = std::priority_queue<Candidate, std::vector<Candidate>, Closer>;
using MaxHeap = std::priority_queue<Candidate, std::vector<Candidate>, Farther>;

}  // namespace

Searcher::Searcher(const SearchContext& context) : ctx_(context), visited_(context.graph.nodes, 0) {
    if (ctx_.pq == nullptr) throw Error("search: no product quantizer");
    if (ctx_.codes.size() != size_t(ctx_.graph.nodes) * ctx_.pq->code_size())
        throw Error("search: PQ codes do not match the graph's node count");
    table_.resize(ctx_.pq->subquantizers() * pq::kCentroids);
}

bool Searcher::is_deleted(uint32_t node) const {
    return !ctx_.deleted.empty() && (ctx_.deleted[node >> 3] >> (node & 7) & 1);
}

namespace {

bool bit(std::span<const uint8_t> bits, uint32_t node) { return (bits[node >> 3] >> (node & 7)) & 1; }

bool hit_order(const Hit& a, const Hit& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.node < b.node);
}

}  // namespace

// Candidates of the PQ order kept for the re-rank: the fixed size, or the adaptive one's limit.
size_t Searcher::rerank_candidates(const SearchParams& params) const {
    if (!params.recompute) return params.top_k;
    if (params.rerank > 0) return std::max(params.rerank, params.top_k);
    if (ctx_.error_profile.empty()) return std::max(kFallbackRerank, params.top_k);
    return std::max(params.rerank_limit, params.top_k);
}

void Searcher::exact_distances(std::vector<Hit>& hits, std::span<const size_t> slots, VectorSource& source,
                               const float* query, SearchStats& stats) {
    if (slots.empty()) return;
    const size_t dim = ctx_.pq->dim();
    fetch_ids_.clear();
    for (size_t slot : slots) fetch_ids_.push_back(hits[slot].node);
    fetch_vectors_.resize(fetch_ids_.size() * dim);
    const FetchCounts counts = source.fetch(fetch_ids_, fetch_vectors_.data());
    stats.recomputed += counts.computed;
    stats.lru_hits += counts.lru_hits;
    stats.hub_hits += counts.hub_hits;
    stats.batches += counts.batches;
    for (size_t i = 0; i < slots.size(); ++i)
        hits[slots[i]].distance = orderable(distance(ctx_.metric, query, fetch_vectors_.data() + i * dim, dim));
}

void Searcher::append_extras(std::vector<Hit>& hits, size_t& own, std::span<const uint32_t> extras,
                             const NodeFilter* filter, bool take_from_own, SearchStats& stats) {
    if (extras.empty()) return;
    auto next_epoch = [&] {
        if (++epoch_ == 0) {  // wrapped: clear the marks
            std::fill(visited_.begin(), visited_.end(), 0);
            epoch_ = 1;
        }
        return epoch_;
    };
    auto valid = [&](uint32_t v) {
        return v < ctx_.graph.nodes && !is_deleted(v) && (filter == nullptr || bit(filter->allowed, v));
    };
    if (take_from_own) {
        // An extra among the search's own candidates leaves them, so that the re-rank computes it whatever it
        // decides for the candidates.
        const uint32_t mark = next_epoch();
        for (uint32_t v : extras)
            if (valid(v)) visited_[v] = mark;
        const auto end = std::remove_if(hits.begin(), hits.begin() + std::ptrdiff_t(own),
                                        [&](const Hit& h) { return visited_[h.node] == mark; });
        hits.erase(end, hits.begin() + std::ptrdiff_t(own));
        own = size_t(end - hits.begin());
    }
    const uint32_t mark = next_epoch();
    for (const Hit& h : hits) visited_[h.node] = mark;
    const size_t code_size = ctx_.pq->code_size();
    for (uint32_t v : extras)
        if (valid(v) && visited_[v] != mark) {
            visited_[v] = mark;
            hits.push_back({v, orderable(ctx_.pq->distance(table_.data(), ctx_.codes.data() + size_t(v) * code_size))});
            ++stats.pq_distances;
        }
}

void Searcher::rerank(std::vector<Hit>& hits, size_t own, VectorSource& source, const float* query,
                      const SearchParams& params, SearchStats& stats, const RerankExtras* extras) {
    float* depth_distance = extras ? extras->depth_distance : nullptr;
    const size_t k = params.top_k;
    const bool adaptive = params.rerank == 0 && !ctx_.error_profile.empty();
    // Convex fusion with an adaptive re-rank: past the first batch, the walk's candidates and the extras alike are
    // embedded only while they could enter the fused top k (see RerankExtras). At vector weight 0 or 1 one side
    // alone decides: nothing to gain.
    const bool fused = adaptive && extras != nullptr && !extras->keyword_scores.empty() && extras->vector_weight > 0 &&
                       extras->vector_weight < 1;
    size_t done = adaptive ? std::min(own, std::max(k, fused ? kFusedFirstBatch : kAdaptiveStep)) : own;
    std::vector<size_t> slots;
    for (size_t i = 0; i < done; ++i) slots.push_back(i);
    double pq_sum = 0;  // PQ distances of the recomputed candidates, for the bias estimate
    for (size_t i = 0; i < done; ++i) pq_sum += hits[i].distance;
    if (fused) {
        rerank_fused(hits, done, own, source, query, *extras, k, pq_sum,
                     ctx_.error_profile.margin(params.rerank_confidence), stats);
        std::sort(hits.begin(), hits.end(), hit_order);
        return;
    }
    for (size_t i = own; i < hits.size(); ++i) slots.push_back(i);
    exact_distances(hits, slots, source, query, stats);
    // Fixed re-rank: the own candidates' largest exact distance stands for the depth.
    if (depth_distance != nullptr) {
        *depth_distance = NAN;
        for (size_t i = 0; i < done; ++i)
            if (!(hits[i].distance <= *depth_distance)) *depth_distance = hits[i].distance;
    }
    if (adaptive) {
        // The next candidate (the best remaining by PQ distance) is recomputed while its PQ distance, less the
        // query's PQ bias (estimated from the candidates recomputed so far) and the index's margin, is below the
        // k-th best exact distance so far (a max-heap of the k best): while it could still enter the top_k.
        const float margin = ctx_.error_profile.margin(params.rerank_confidence);
        double exact_sum = 0;
        for (size_t i = 0; i < done; ++i) exact_sum += hits[i].distance;
        std::vector<float> best;
        auto note = [&](float d) {
            if (best.size() < k) {
                best.push_back(d);
                std::push_heap(best.begin(), best.end());
            } else if (d < best.front()) {
                std::pop_heap(best.begin(), best.end());
                best.back() = d;
                std::push_heap(best.begin(), best.end());
            }
        };
        for (size_t slot : slots) note(hits[slot].distance);
        while (done < own) {
            const double bias = done > 0 ? (pq_sum - exact_sum) / double(done) : 0.0;
            const double bound = best.size() < k || !std::isfinite(bias) ? INFINITY : best.front() + bias + margin;
            slots.clear();
            for (size_t i = done; i < own && slots.size() < kAdaptiveStep && hits[i].distance < bound; ++i)
                slots.push_back(i);
            if (slots.empty()) break;
            for (size_t slot : slots) pq_sum += hits[slot].distance;
            exact_distances(hits, slots, source, query, stats);
            for (size_t slot : slots) {
                exact_sum += hits[slot].distance;
                note(hits[slot].distance);
            }
            done += slots.size();
        }
        // The largest exact distance found among the first kFusionDepth candidates, or the estimate (PQ distance
        // less the bias) of the one at that depth when the re-rank has not reached it.
        if (depth_distance != nullptr) {
            const double bias = done > 0 ? (pq_sum - exact_sum) / double(done) : 0.0;
            float worst = NAN;
            const size_t depth = std::min(own, kFusionDepth);
            for (size_t i = 0; i < std::min(done, depth); ++i)
                if (!(hits[i].distance <= worst)) worst = hits[i].distance;
            if (done < depth && std::isfinite(bias)) {
                const float estimate = float(double(hits[depth - 1].distance) - bias);
                if (!(estimate <= worst)) worst = estimate;
            }
            *depth_distance = worst;
        }
        // Drop the own candidates never recomputed (the extras follow them).
        hits.erase(hits.begin() + std::ptrdiff_t(done), hits.begin() + std::ptrdiff_t(own));
    }
    std::sort(hits.begin(), hits.end(), hit_order);
}

void Searcher::rerank_fused(std::vector<Hit>& hits, size_t first, size_t own, VectorSource& source, const float* query,
                            const RerankExtras& extras, size_t k, double pq_sum, float margin, SearchStats& stats) {
    const double w = std::clamp(extras.vector_weight, 0.0, 1.0);
    const auto keyword = [&](uint32_t node) {
        return node < extras.keyword_scores.size() ? extras.keyword_scores[node] * extras.keyword_scale : 0.0f;
    };
    // hits[0, first): recomputed (the first batch). hits[first, end): deferred, the walk's own candidates
    // (before `own`) and the extras, with their PQ distances kept in pq.
    std::vector<float> pq;
    for (size_t i = first; i < hits.size(); ++i) pq.push_back(hits[i].distance);
    std::vector<uint8_t> computed(pq.size(), 0);
    {
        std::vector<size_t> slots;
        for (size_t i = 0; i < first; ++i) slots.push_back(i);
        exact_distances(hits, slots, source, query, stats);
    }
    double exact_sum = 0;  // over the walk's own candidates recomputed (the bias is theirs: extras lie further)
    size_t own_done = first;
    for (size_t i = 0; i < first; ++i) exact_sum += hits[i].distance;
    const auto is_computed = [&](size_t i) { return i < first || computed[i - first]; };
    const auto bias_now = [&] {
        const double b = own_done > 0 ? (pq_sum - exact_sum) / double(own_done) : 0.0;
        return std::isfinite(b) ? b : 0.0;
    };
    // The normalisation's lower reference as text search computes it: the walk's kFusionDepth-th candidate (its
    // exact distance, or its PQ distance less the bias) or any ranked distance beyond it.
    const auto reference_now = [&] {
        float worst = NAN;
        const size_t depth = std::min(own, kFusionDepth);
        const double bias = bias_now();
        for (size_t i = 0; i < depth; ++i) {
            // Candidates not recomputed count at their estimates (the walk's are embedded out of PQ order here).
            const float d = is_computed(i) ? hits[i].distance : float(double(pq[i - first]) - bias);
            if (!(d <= worst)) worst = d;
        }
        return worst;
    };
    std::vector<size_t> slots;
    std::vector<std::pair<double, size_t>> open;  // (fused score bound, hit index) of the deferred that could enter
    std::vector<double> fused;
    for (;;) {
        const double bias = bias_now();
        const float depth = reference_now();
        // The normalisation over what is ranked now: the best exact distance and the lower reference (the depth
        // and every ranked distance; left-out extras that may lie beyond it are embedded below so it is exact).
        float best = INFINITY, reference = std::isfinite(depth) ? depth : -INFINITY;
        for (size_t i = 0; i < hits.size(); ++i)
            if (is_computed(i) && std::isfinite(hits[i].distance)) {
                best = std::min(best, hits[i].distance);
                reference = std::max(reference, hits[i].distance);
            }
        fused.clear();
        for (size_t i = 0; i < hits.size(); ++i)
            if (is_computed(i))
                fused.push_back(convex_fused(w, hits[i].distance, best, reference, keyword(hits[i].node)));
        double kth = -INFINITY;
        if (fused.size() >= k && k > 0) {
            std::nth_element(fused.begin(), fused.begin() + std::ptrdiff_t(k - 1), fused.end(), std::greater<>());
            kth = fused[k - 1];
        }
        open.clear();
        bool beyond = false;  // some deferred candidate may lie beyond the reference
        for (size_t i = first; i < hits.size(); ++i) {
            if (computed[i - first]) continue;
            const float lowest = float(double(pq[i - first]) - bias - margin);  // its exact distance, bounded
            const float highest = float(double(pq[i - first]) - bias + margin);
            const double bound = convex_fused(w, lowest, best, reference, keyword(hits[i].node));
            const bool could_enter = !std::isfinite(best) || !std::isfinite(lowest) || !(bound < kth);
            const bool could_be_reference = i >= own && !(highest <= reference);
            if (could_be_reference) beyond = true;
            if (could_enter) open.push_back({std::isfinite(bound) ? bound : INFINITY, i});
        }
        slots.clear();
        // The most promising first, a step at a time, so that the k-th score rises before the rest is judged.
        std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) {
            return a.first > b.first || (a.first == b.first && a.second < b.second);
        });
        for (size_t j = 0; j < open.size() && j < kAdaptiveStep; ++j) slots.push_back(open[j].second);
        if (beyond && slots.size() < kAdaptiveStep) {
            // The extras that may lie beyond the reference are embedded so that the reference, and with it every
            // fused score, is exact: the furthest by PQ first (usually the one that sets it, after which the others
            // lie within), in a step that has room (one encoder pass fewer) or in one of its own.
            size_t furthest = hits.size();
            for (size_t i = own; i < hits.size(); ++i)
                if (!computed[i - first] && (furthest == hits.size() || pq[i - first] > pq[furthest - first]))
                    furthest = i;
            if (std::find(slots.begin(), slots.end(), furthest) == slots.end()) slots.push_back(furthest);
        }
        if (slots.empty()) break;
        exact_distances(hits, slots, source, query, stats);
        for (size_t slot : slots) {
            computed[slot - first] = 1;
            if (slot < own) {
                pq_sum += pq[slot - first];
                exact_sum += hits[slot].distance;
                ++own_done;
            }
        }
    }
    if (extras.depth_distance != nullptr) *extras.depth_distance = reference_now();
    // Drop what was never recomputed.
    size_t out = first;
    for (size_t i = first; i < hits.size(); ++i)
        if (computed[i - first]) hits[out++] = hits[i];
    hits.resize(out);
}

std::vector<Hit> Searcher::scan(const NodeFilter& filter, VectorSource& source, const float* query,
                                const SearchParams& params, SearchStats& stats, const RerankExtras* extras) {
    // PQ distance of every allowed node, the best max(rerank, top_k) kept (top_k without recomputation), then the
    // exact re-rank: the filtered analogue of the PQ walk, without the walk's misses. The extras (hybrid search's
    // keyword candidates) that the filter allows join the re-rank, as in the walk.
    const size_t keep = rerank_candidates(params);
    ctx_.pq->distance_table(query, ctx_.metric, table_.data());
    const size_t code_size = ctx_.pq->code_size();
    MaxHeap best;
    for (uint32_t v = 0; v < ctx_.graph.nodes; ++v) {
        if (!bit(filter.allowed, v) || is_deleted(v)) continue;
        const float d = orderable(ctx_.pq->distance(table_.data(), ctx_.codes.data() + size_t(v) * code_size));
        ++stats.pq_distances;
        if (best.size() < keep) {
            best.push({d, v});
        } else if (d < best.top().distance) {
            best.pop();
            best.push({d, v});
        }
    }
    std::vector<Hit> hits;
    for (; !best.empty(); best.pop()) hits.push_back({best.top().node, best.top().distance});
    std::reverse(hits.begin(), hits.end());
    size_t own = hits.size();
    if (extras != nullptr) append_extras(hits, own, extras->nodes, &filter, params.recompute, stats);
    if (params.recompute)
        rerank(hits, own, source, query, params, stats, extras);
    else
        std::sort(hits.begin(), hits.end(), hit_order);
    if (!(extras && extras->keep_all) && hits.size() > params.top_k) hits.resize(params.top_k);
    return hits;
}

std::vector<Hit> Searcher::search(const float* query, VectorSource& source, const SearchParams& params,
                                  SearchStats* stats_out, const RerankExtras* extras, const NodeFilter* filter) {
    SearchStats stats;
    const auto& g = ctx_.graph;
    if (g.nodes == 0 || params.top_k == 0) return {};
    if (filter != nullptr && filter->allowed.size() != (size_t(g.nodes) + 7) / 8)
        throw Error("search: filter bitmap does not match the graph's node count");
    if (filter != nullptr && filter->count == 0) {
        if (stats_out) *stats_out = stats;
        return {};
    }
    const std::span<const uint32_t> extra_nodes = extras ? extras->nodes : std::span<const uint32_t>{};

    // Walk on PQ distances alone when nothing is recomputed during the walk (share 0 or recompute off).
    const bool pq_walk = !params.recompute || params.recompute_share <= 0.0;
    const size_t batch_size = pq_walk ? 1 : std::max<size_t>(1, params.batch_size);
    const double share = pq_walk ? 1.0 : std::min(params.recompute_share, 1.0);
    const size_t L = std::max(params.complexity ? params.complexity : (pq_walk ? 1600 : 64), params.top_k);
    const size_t dim = ctx_.pq->dim();
    const size_t code_size = ctx_.pq->code_size();
    if (filter != nullptr) {
        const double m = double(filter->count);
        if (filter->count <= 4 * L || m * m <= double(L) * double(g.nodes)) {
            std::vector<Hit> hits = scan(*filter, source, query, params, stats, extras);
            if (stats_out) *stats_out = stats;
            return hits;
        }
    }
    // Whether a node may enter the results (deleted and filtered-out nodes are routed through, never kept).
    auto admitted = [&](uint32_t node) {
        return !is_deleted(node) && (filter == nullptr || bit(filter->allowed, node));
    };

    if (++epoch_ == 0) {  // wrapped: clear the marks once every 2^32 searches
        std::fill(visited_.begin(), visited_.end(), 0);
        epoch_ = 1;
    }
    ctx_.pq->distance_table(query, ctx_.metric, table_.data());
    auto pq_distance = [&](uint32_t node) {
        ++stats.pq_distances;
        return orderable(ctx_.pq->distance(table_.data(), ctx_.codes.data() + size_t(node) * code_size));
    };

    // Upper layers: greedy descent on PQ distances; they only choose where layer 0 starts.
    uint32_t current = g.entry_point;
    float current_distance = pq_distance(current);
    for (size_t layer = g.upper.size(); layer >= 1; --layer) {
        for (bool moved = true; moved;) {
            moved = false;
            for (uint32_t u : g.upper_row(layer, current)) {
                const float d = pq_distance(u);
                if (d < current_distance) {
                    current_distance = d;
                    current = u;
                    moved = true;
                }
            }
        }
    }

    MinHeap approximate;  // seen, not yet selected for recomputation
    MinHeap exact;        // recomputed, not yet expanded
    MaxHeap results;      // best L by exact distance (deleted nodes are routed through but never kept)
    std::vector<Candidate> pending;
    std::vector<float> vectors;
    std::vector<uint32_t> ids;
    std::vector<uint32_t> fresh;
    std::vector<float> fresh_distances;

    auto worst = [&] { return results.size() >= L ? results.top().distance : INFINITY; };
    // Exact distances of `ids` (one fetch: one encoder batch), written to distance_of(i).
    auto fetch_exact = [&](auto&& distance_of) {
        vectors.resize(ids.size() * dim);
        const FetchCounts counts = source.fetch(ids, vectors.data());
        stats.recomputed += counts.computed;
        stats.lru_hits += counts.lru_hits;
        stats.hub_hits += counts.hub_hits;
        stats.batches += counts.batches;
        for (size_t i = 0; i < ids.size(); ++i)
            distance_of(i) = orderable(distance(ctx_.metric, query, vectors.data() + i * dim, dim));
    };
    auto flush = [&] {
        if (pending.empty()) return;
        ids.clear();
        if (!pq_walk) {
            // Nodes a filter leaves out are only routed through: their PQ distance orders them, no encoder work.
            std::vector<size_t> slots;
            for (size_t i = 0; i < pending.size(); ++i)
                if (filter == nullptr || bit(filter->allowed, pending[i].node)) {
                    ids.push_back(pending[i].node);
                    slots.push_back(i);
                }
            if (!ids.empty()) fetch_exact([&](size_t i) -> float& { return pending[slots[i]].distance; });
        }
        for (const Candidate& c : pending) {
            exact.push(c);
            if (!admitted(c.node)) continue;
            if (results.size() < L || c.distance < worst()) {  // an infinite (NaN) distance still fills a place
                results.push(c);
                if (results.size() > L) results.pop();
            }
        }
        pending.clear();
    };

    visited_[current] = epoch_;
    pending.push_back({current_distance, current});
    double credit = 0.0;
    for (;;) {
        const bool exact_done = exact.empty() || exact.top().distance > worst();
        if (!pending.empty() && (pending.size() >= batch_size || exact_done)) {
            flush();
            continue;
        }
        if (exact_done) {
            // Nothing recomputed is left to expand: pull from the approximate queue while PQ says a node could
            // still enter the results (PQ can be optimistic or pessimistic; this bounds the miss).
            if (approximate.empty() || approximate.top().distance >= worst()) break;
            while (!approximate.empty() && pending.size() < batch_size && approximate.top().distance < worst()) {
                pending.push_back(approximate.top());
                approximate.pop();
            }
            if (pending.empty()) break;  // every path through the loop must make progress
            continue;
        }
        const uint32_t v = exact.top().node;
        exact.pop();
        ++stats.expansions;
        fresh.clear();
        for (uint32_t u : g.base.row(v)) {
            if (visited_[u] == epoch_) continue;
            visited_[u] = epoch_;
            fresh.push_back(u);
        }
        if (fresh.empty()) continue;
        fresh_distances.resize(fresh.size());
        ctx_.pq->distances(table_.data(), ctx_.codes.data(), fresh, fresh_distances.data());
        stats.pq_distances += fresh.size();
        for (size_t i = 0; i < fresh.size(); ++i) approximate.push({orderable(fresh_distances[i]), fresh[i]});
        credit += share * double(fresh.size());
        for (; credit >= 1.0 && !approximate.empty(); credit -= 1.0) {
            pending.push_back(approximate.top());
            approximate.pop();
        }
    }

    std::vector<Hit> hits;
    hits.reserve(results.size());
    for (; !results.empty(); results.pop()) hits.push_back({results.top().node, results.top().distance});
    std::reverse(hits.begin(), hits.end());
    const bool rerank_list = pq_walk && params.recompute;
    // The walk's candidates the re-rank may recompute (best PQ distance first), then the extras (hybrid search's
    // keyword candidates), which are always ranked.
    size_t own = rerank_list ? std::min(hits.size(), rerank_candidates(params)) : hits.size();
    hits.resize(own);
    append_extras(hits, own, extra_nodes, filter, rerank_list, stats);
    if (rerank_list && !hits.empty()) {
        // PQ navigated; now rank the best PQ candidates (and the extras) by exact distance: every hit returned is
        // ranked exactly.
        rerank(hits, own, source, query, params, stats, extras);
    } else if (hits.size() > own) {
        // Interleaved walk: the extras in a batch of their own; recompute off: their PQ distances.
        if (params.recompute) {
            std::vector<size_t> slots;
            for (size_t i = own; i < hits.size(); ++i) slots.push_back(i);
            exact_distances(hits, slots, source, query, stats);
        }
        std::sort(hits.begin(), hits.end(), hit_order);
    }
    if (!(extras && extras->keep_all) && hits.size() > params.top_k) hits.resize(params.top_k);
    if (filter != nullptr && hits.size() < std::min(params.top_k, filter->count)) {
        // The walk could not reach enough allowed nodes (a part of the graph cut off from the entry point): scan.
        hits = scan(*filter, source, query, params, stats, extras);
    }
    if (stats_out) *stats_out = stats;
    return hits;
}

std::vector<Hit> exact_top_k(const float* query, const float* matrix, size_t rows, size_t dim, Metric metric,
                             size_t k) {
    MaxHeap best;
    for (size_t r = 0; r < rows; ++r) {
        const float d = orderable(distance(metric, query, matrix + r * dim, dim));
        if (best.size() < k) {
            best.push({d, uint32_t(r)});
        } else if (d < best.top().distance) {
            best.pop();
            best.push({d, uint32_t(r)});
        }
    }
    std::vector<Hit> hits;
    for (; !best.empty(); best.pop()) hits.push_back({best.top().node, best.top().distance});
    std::reverse(hits.begin(), hits.end());
    return hits;
}

}  // namespace leann::search
