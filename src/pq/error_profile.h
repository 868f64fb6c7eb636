// pq room: how far a PQ distance can overstate a near neighbour's exact distance, measured at build time.
//
// The adaptive re-rank (search/two_level_search.h) recomputes the walk's candidates best PQ distance first and
// stops when no remaining candidate can enter the top-k. PQ distances of a query's near neighbours are biased
// (for inner product, a vector's residual points away from its neighbours, so PQ overstates their distance) by
// an amount that varies from query to query, plus a per-candidate deviation. The search estimates the bias b
// from the candidates it has recomputed (mean PQ minus exact distance); the profile gives, for a confidence c,
// the margin m(c) that the deviation of a near neighbour exceeds in a share 1 - c of the measured pairs. A
// candidate with PQ distance p is then expected to have exact distance at least p - b - m(c): the search stops
// once the next candidate's p >= D_k + b + m(c), where D_k is the k-th best exact distance found.
//
// Measured on the index's own vectors: sampled nodes act as queries; b is estimated as a search would after its
// first batch (the `first_batch` best candidates by PQ distance), and the deviations are taken over each query's
// nearest other nodes by exact distance (the pairs whose order the re-rank must get right).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "leann/metric.h"
#include "pq/product_quantizer.h"

namespace leann::pq {

struct ErrorProfileParams {
    size_t queries = 256;        // sampled nodes used as queries (all nodes when fewer)
    size_t pool = 131072;        // nodes searched for their neighbours (a seeded sample when there are more)
    size_t neighbours = 16;      // nearest other nodes per query whose PQ error is recorded
    size_t first_batch = 8;      // candidates the bias is estimated from (the search's first batch)
    uint64_t seed = 4321;
    size_t threads = 0;          // 0: all hardware threads
};

class ErrorProfile {
public:
    /// The confidence levels stored in the index (META pq.rerank_margins), ascending.
    static constexpr double kLevels[] = {0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0};

    ErrorProfile() = default;
    /// From (level, margin) pairs; empty when they are not strictly ascending levels in (0, 1] with finite,
    /// non-decreasing margins (the caller falls back to a fixed re-rank).
    static ErrorProfile from_points(std::vector<std::pair<double, float>> points);
    /// Measures the profile of `quantizer` on n row-major vectors (normalised when the metric is cosine) and their
    /// codes (n * code_size() bytes).
    static ErrorProfile measure(const ProductQuantizer& quantizer, const uint8_t* codes, const float* vectors,
                                size_t n, size_t dim, Metric metric, const ErrorProfileParams& params = {});

    bool empty() const { return points_.empty(); }
    const std::vector<std::pair<double, float>>& points() const { return points_; }
    /// m(confidence), interpolated linearly between stored levels (clamped to the first and last).
    float margin(double confidence) const;

private:
    std::vector<std::pair<double, float>> points_;
};

}  // namespace leann::pq
