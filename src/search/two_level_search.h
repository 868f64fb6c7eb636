// search room: best-first search over the pruned graph with two queues (paper Alg. 2, with dynamic batching).
//
//   approximate queue  every node seen, ordered by its PQ distance (cheap: a table lookup per sub-quantiser)
//   exact queue        nodes whose exact vector was fetched (recomputed), ordered by exact distance; these are
//                      the nodes we expand, and the best `complexity` of them are the result list
//
// After each expansion, recompute_share of the newly seen nodes (the best of the approximate queue by PQ
// distance) are moved to a pending batch. The batch goes to the VectorSource when it holds batch_size nodes, or
// earlier when the search cannot go on without it, so the encoder runs full batches. Results are ranked by exact
// distance only.
//
// With share 0 the walk runs on PQ distances alone and its final list is re-ranked exactly: on our data this
// reaches the same recall with about half the recomputations (bench/README.md), so it is the default. The re-rank
// is adaptive by default: candidates are recomputed best PQ distance first, 8 at a time after a first batch of
// max(top_k, 8), until the next one's PQ distance is at least the k-th exact distance so far plus the index's
// PQ error margin (pq/error_profile.h) at `rerank_confidence`, or `rerank_limit` were recomputed. A fixed `rerank`
// N recomputes the best N in one batch. With recompute off nothing is recomputed (PQ scores).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "graph/graph.h"
#include "leann/metric.h"
#include "leann/search_options.h"
#include "pq/error_profile.h"
#include "pq/product_quantizer.h"
#include "search/vector_source.h"

namespace leann::search {

using SearchParams = SearchOptions;

struct Hit {
    uint32_t node;
    float distance;  // exact (or PQ with recompute off); lower is better
};

/// Everything a search reads; views must outlive the Searcher.
struct SearchContext {
    graph::GraphView graph;
    const pq::ProductQuantizer* pq = nullptr;
    std::span<const uint8_t> codes;  // nodes * pq->code_size()
    Metric metric = Metric::cosine;
    std::span<const uint8_t> deleted;  // optional tombstone bitmap (bit per node): never returned
    pq::ErrorProfile error_profile;    // for the adaptive re-rank; empty: a fixed kFallbackRerank instead
};

/// The re-rank size when the adaptive one cannot run (an index built before the error profile existed).
constexpr size_t kFallbackRerank = 64;
/// Adaptive re-rank: candidates recomputed per encoder batch after the first.
constexpr size_t kAdaptiveStep = 8;
/// The fused stop's first batch: max(top_k, this). Smaller than kAdaptiveStep because the fused rule judges the
/// rest by the k-th fused score at once (measured on pydoc 20K, bench/README.md "The fused stop").
constexpr size_t kFusedFirstBatch = 4;

/// Hybrid search: nodes to rank by exact distance together with the search's own candidates (in the same re-rank
/// batch when the walk is on PQ distances; in a batch of their own after an interleaved walk; by PQ distance with
/// recompute off), and whether to return every ranked node instead of the best top_k.
struct RerankExtras {
    std::span<const uint32_t> nodes;  // live node ids; repeats of the search's own candidates are ignored
    bool keep_all = false;
    /// Out, when set: the (estimated) exact distance of the walk's kFusionDepth-th candidate by PQ distance, for
    /// score normalisation that does not depend on how deep the re-rank went. The adaptive re-rank estimates it as
    /// PQ distance minus the query's PQ bias when it stopped before that candidate; otherwise it is the largest
    /// exact distance the re-rank computed for the search's own candidates; NaN when nothing was ranked.
    float* depth_distance = nullptr;
    /// Convex fusion (hybrid search's default), when not empty: every node's keyword score by node id (0 without
    /// a match), the factor that normalises it (1 / the best BM25 candidate's), and the vector side's weight. The
    /// adaptive re-rank then stops by the fused top k (Searcher::rerank_fused): past its first batch, the search's
    /// own candidates and the extras alike are recomputed only while they could still enter it, and the extras it
    /// leaves out are dropped from the hits. Fixed re-rank sizes, and vector weights 0 and 1, embed them all.
    std::span<const float> keyword_scores;
    float keyword_scale = 1;
    double vector_weight = 0;
};

/// Convex fusion of one hit: `vector_weight` x its vector score normalised between the reference distances (1 at
/// `best`, the best exact distance ranked; 0 at `reference`, the normalisation's lower end) + the rest x its
/// normalised keyword score. Distances, as everywhere in this room: lower is better.
inline double convex_fused(double vector_weight, float distance, float best, float reference, float keyword) {
    // A non-finite distance (a poisoned vector) scores 0 on the vector side.
    const double normalised = !std::isfinite(distance) ? 0.0
                              : reference > best       ? (double(reference) - distance) / (double(reference) - best)
                                                       : 1.0;
    return vector_weight * normalised + (1 - vector_weight) * double(keyword);
}

/// The depth of the vector ranking that hybrid search's score normalisation refers to (the fixed re-rank depth its
/// fusion weights were chosen with).
constexpr size_t kFusionDepth = 64;

/// The chunks a filtered search may return (leann/filter.h), as the index room computed them for one query.
/// Filtered searches return the best top_k of these: the walk routes through every node but admits only allowed
/// ones to the result list and goes on until it holds `complexity` of them (or the graph is exhausted); when few
/// nodes are allowed (allowed^2 <= complexity x nodes, or allowed <= 4 x complexity: a walk would visit about
/// complexity x nodes / allowed of them) they are scanned directly by PQ distance instead, then re-ranked exactly.
/// If a walk still returns fewer than min(top_k, allowed) hits, the direct scan runs: never fewer than k results
/// when k chunks match.
struct NodeFilter {
    std::span<const uint8_t> allowed;  // bit per node (deleted nodes already cleared)
    size_t count = 0;                  // bits set
};

/// Holds per-search scratch (visited marks, queues, buffers); one per thread.
class Searcher {
public:
    explicit Searcher(const SearchContext& context);

    /// query: dim floats (normalised when the metric is cosine). Returns up to top_k hits, best first.
    std::vector<Hit> search(const float* query, VectorSource& source, const SearchParams& params,
                            SearchStats* stats = nullptr, const RerankExtras* extras = nullptr,
                            const NodeFilter* filter = nullptr);

private:
    bool is_deleted(uint32_t node) const;
    std::vector<Hit> scan(const NodeFilter& filter, VectorSource& source, const float* query,
                          const SearchParams& params, SearchStats& stats, const RerankExtras* extras);
    size_t rerank_candidates(const SearchParams& params) const;
    /// Appends the extras (hybrid search's keyword candidates; deleted, filtered-out and repeated ones skipped) to
    /// hits with their PQ distances. take_from_own: extras among hits[0, own) move out of them (own shrinks), so
    /// that the re-rank computes them; otherwise they stay where they are.
    void append_extras(std::vector<Hit>& hits, size_t& own, std::span<const uint32_t> extras, const NodeFilter* filter,
                       bool take_from_own, SearchStats& stats);
    /// hits[0, own): the search's candidates by PQ distance, best first; hits[own, end): extras (any distance).
    /// Computes exact distances for the extras and for the candidates the re-rank policy picks (fixed or adaptive,
    /// at least top_k), drops the other candidates, and sorts by exact distance.
    void rerank(std::vector<Hit>& hits, size_t own, VectorSource& source, const float* query,
                const SearchParams& params, SearchStats& stats, const RerankExtras* extras);
    /// The adaptive re-rank under convex fusion (hybrid search). hits[0, first): the first batch, recomputed here;
    /// hits[first, own): the walk's other candidates; hits[own, end): the extras. Past the first batch every
    /// candidate is embedded only while its fused score, with the exact distance bounded below by PQ distance less
    /// the query's bias and `margin`, could reach the k-th fused score computed (most promising first, a step at a
    /// time), and the extras that may lie beyond the normalisation's lower reference are embedded so that it is
    /// exact; the rest are dropped. `pq_sum`: the first batch's PQ distances (the bias estimate starts there).
    void rerank_fused(std::vector<Hit>& hits, size_t first, size_t own, VectorSource& source, const float* query,
                      const RerankExtras& extras, size_t k, double pq_sum, float margin, SearchStats& stats);
    /// Writes the exact distance of hits[slots[i]] for every i, in one fetch (one encoder batch).
    void exact_distances(std::vector<Hit>& hits, std::span<const size_t> slots, VectorSource& source,
                         const float* query, SearchStats& stats);

    const SearchContext& ctx_;
    std::vector<uint32_t> visited_;
    uint32_t epoch_ = 0;
    std::vector<float> table_;
    std::vector<uint32_t> fetch_ids_;
    std::vector<float> fetch_vectors_;
};

/// Exact top-k by brute force over a row-major matrix (ground truth for recall).
std::vector<Hit> exact_top_k(const float* query, const float* matrix, size_t rows, size_t dim, Metric metric,
                             size_t k);

}  // namespace leann::search
