// pq room: product quantisation. The vector is split into `subquantizers` contiguous sub-vectors of dim/sq
// floats; each is replaced by the id (one byte) of its nearest of 256 centroids learned by k-means. Search compares
// a query against codes with a per-query distance table (asymmetric distance computation, ADC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "leann/metric.h"
#include "pq/kmeans.h"

namespace leann::pq {

constexpr size_t kCentroids = 256;  // 8-bit codes

struct TrainParams {
    size_t subquantizers = 0;  // 0: choose_subquantizers(dim, code_bytes)
    size_t code_bytes = 0;     // storage budget per vector when subquantizers == 0 (0: dim / 16)
    size_t max_train = 65536;  // k-means sample (uniform, seeded; 0: all rows)
    size_t iterations = 20;
    uint64_t seed = 1234;
    size_t threads = 0;  // 0: all hardware threads
};

/// The largest divisor of dim that is <= code_bytes (at least 1). For 384-d and 32 bytes: 32; for 768: 32 -> 32.
size_t choose_subquantizers(size_t dim, size_t code_bytes);

/// Immutable once built by train() or from_centroids(): the const methods may be called from many threads at once.
class ProductQuantizer {
public:
    ProductQuantizer() = default;
    /// Learns centroids on (a sample of) n row-major vectors. Works for any n >= 1 (fewer than 256 distinct
    /// points: unused centroids are copies). Deterministic for a seed and thread count.
    static ProductQuantizer train(const float* x, size_t n, size_t dim, const TrainParams& params);
    /// From stored centroids (subquantizers * 256 * (dim / subquantizers) floats); throws leann::Error on a size
    /// mismatch.
    static ProductQuantizer from_centroids(size_t dim, size_t subquantizers, std::span<const float> centroids);

    size_t dim() const { return dim_; }
    size_t subquantizers() const { return sq_; }
    size_t code_size() const { return sq_; }  // bytes per vector
    std::span<const float> centroids() const { return centroids_; }

    /// codes: n * code_size() bytes. Multi-threaded for large n.
    void encode(const float* x, size_t n, uint8_t* codes, size_t threads = 0) const;
    void decode(const uint8_t* code, float* out) const;

    /// table: subquantizers * 256 floats; entry [s][c] is the distance contribution of centroid c of sub-space s
    /// under `metric` (-dot for inner_product/cosine, squared L2 for l2), so that
    /// distance(table, code) approximates leann::distance(metric, query, x).
    void distance_table(const float* query, Metric metric, float* table) const;
    float distance(const float* table, const uint8_t* code) const;
    /// out[i] = distance(table, codes + ids[i] * code_size()).
    void distances(const float* table, const uint8_t* codes, std::span<const uint32_t> ids, float* out) const;

private:
    size_t dim_ = 0, sq_ = 0, dsub_ = 0;
    void build_tables();

    std::vector<float> centroids_;       // [sq][256][dsub]
    std::vector<CentroidTable> tables_;  // one per subspace, for encode and distance_table
};

}  // namespace leann::pq
