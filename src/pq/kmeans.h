// k-means for the pq room: the codebooks are 256 centroids of low-dimensional (8-48 floats) sub-vectors, so the
// kernels here are tuned for small dim and k in the hundreds. Everything is deterministic for a seed: the parallel
// steps compute each point independently and every reduction runs in a fixed order, so the thread count does not
// change the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace leann {
class ThreadPool;
}

namespace leann::pq {

/// Centroids laid out for nearest-centroid search: blocks of 8 centroids stored dimension-major and scaled by -2,
/// plus their squared norms, so that ||x - c||^2 = ||x||^2 + (||c||^2 - 2 x.c) is 8 fused multiply-adds wide.
/// Immutable after construction; nearest() may be called from several threads at once.
class CentroidTable {
public:
    /// centroids: k * dim floats, row-major. k >= 1, dim >= 1.
    CentroidTable(const float* centroids, size_t k, size_t dim);

    size_t k() const { return k_; }
    size_t dim() const { return dim_; }

    /// For each of n vectors (row i starts at x + i * stride, dim floats) the index of its nearest centroid
    /// (squared L2; ties go to the lower index) in labels[i]. If squared_distances is not null it receives the
    /// squared distance, computed through the norm expansion above and clamped at 0.
    void nearest(const float* x, size_t n, size_t stride, uint32_t* labels, float* squared_distances) const;

    /// out[c] = ||x - c||^2 for all k centroids, from the differences (no norm expansion, so no cancellation).
    void squared_distances(const float* x, float* out) const;
    /// out[c] = -dot(x, c) for all k centroids.
    void negative_dots(const float* x, float* out) const;

private:
    void score_all(const float* x, bool squared_l2, float* out) const;

    size_t k_, dim_, blocks_;
    std::vector<float> scaled_;  // [blocks][dim][8]: -2 * centroid, zero in padding lanes
    std::vector<float> norms_;   // [blocks * 8]: squared norms, +inf in padding lanes so they never win
};

enum class KMeansInit {
    plus_plus,  // k-means++ (D^2 sampling): better codebooks, one extra pass over the data per centroid
    random,     // k distinct random points
};

struct KMeansParams {
    size_t k = 256;
    size_t iterations = 20;  // Lloyd iterations at most; stops early once no point changes cluster
    uint64_t seed = 1234;
    KMeansInit init = KMeansInit::plus_plus;
};

struct KMeansResult {
    std::vector<float> centroids;  // k * dim, row-major
    double objective = 0;          // sum of squared distances of the points to their centroids at the last assignment
    size_t iterations = 0;         // Lloyd iterations run
};

/// Clusters n row-major vectors of `dim` floats into params.k centroids. n <= k: the points themselves, repeated to
/// fill k (no iterations). Empty clusters are refilled by splitting the largest one. `pool` (may be null) runs the
/// assignment step; the result does not depend on its size. Throws leann::Error for n == 0, dim == 0 or k == 0.
KMeansResult kmeans(const float* x, size_t n, size_t dim, const KMeansParams& params, ThreadPool* pool = nullptr);

/// A small deterministic generator (splitmix64) whose output does not depend on the standard library, unlike
/// std::uniform_int_distribution, so a seed gives the same codebook everywhere.
class SeededRandom {
public:
    explicit SeededRandom(uint64_t seed) : state_(seed) {}
    uint64_t next();
    /// Uniform in [0, bound), bound >= 1 (the modulo bias, bound / 2^64, is negligible for row counts).
    uint64_t below(uint64_t bound) { return next() % bound; }
    /// Uniform in [0, 1).
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
    uint64_t state_;
};

}  // namespace leann::pq
