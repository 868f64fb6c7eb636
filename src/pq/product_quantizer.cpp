#include "pq/product_quantizer.h"

#include <algorithm>
#include <limits>
#include <string>

#include "leann/error.h"
#include "pq/kmeans.h"
#include "util/thread_pool.h"

namespace leann::pq {
namespace {

// Below this many rows per thread, starting threads costs more than encoding.
constexpr size_t kMinRowsPerThread = 2048;
// Rows encoded per subspace pass: small enough for the labels to stay on the stack, large enough that each
// subspace's centroid table is reused many times while it sits in L1.
constexpr size_t kEncodeChunk = 256;
// How many ids ahead distances() prefetches codes.
constexpr size_t kPrefetchAhead = 16;

std::string sizes(size_t dim, size_t subquantizers) {
    return "dim " + std::to_string(dim) + ", subquantizers " + std::to_string(subquantizers);
}

// A uniform sample of m of n rows (m <= n), ascending so that gathering reads x front to back: selection
// sampling (Knuth's algorithm S) keeps row i with probability (rows still needed) / (rows left).
std::vector<size_t> sample_rows(size_t n, size_t m, uint64_t seed) {
    std::vector<size_t> rows;
    rows.reserve(m);
    SeededRandom rng(seed);
    for (size_t i = 0; i < n && rows.size() < m; ++i)
        if (rng.below(n - i) < m - rows.size()) rows.push_back(i);
    return rows;
}

}  // namespace

size_t choose_subquantizers(size_t dim, size_t code_bytes) {
    if (code_bytes == 0) code_bytes = std::max<size_t>(1, dim / 16);
    for (size_t m = std::min(dim, code_bytes); m > 1; --m)
        if (dim % m == 0) return m;
    return 1;
}

ProductQuantizer ProductQuantizer::train(const float* x, size_t n, size_t dim, const TrainParams& params) {
    if (n == 0) throw Error("pq: cannot train on 0 vectors");
    if (dim == 0) throw Error("pq: cannot train on vectors of dimension 0");
    if (x == nullptr) throw Error("pq: training vectors are null");
    const size_t sq = params.subquantizers != 0 ? params.subquantizers : choose_subquantizers(dim, params.code_bytes);
    if (dim % sq != 0) throw Error("pq: subquantizers must divide dim (" + sizes(dim, sq) + ")");

    ProductQuantizer pq;
    pq.dim_ = dim;
    pq.sq_ = sq;
    pq.dsub_ = dim / sq;
    pq.centroids_.resize(sq * kCentroids * pq.dsub_);

    const size_t m = params.max_train == 0 ? n : std::min(n, params.max_train);
    const std::vector<size_t> rows = m < n ? sample_rows(n, m, params.seed) : std::vector<size_t>();

    // Parallel over subspaces when they share out evenly (each k-means then runs on one thread), otherwise inside
    // each k-means. Either way every point is assigned by the same code, so the codebook does not depend on it.
    size_t threads = params.threads != 0 ? params.threads : hardware_threads();
    const bool across_subspaces = sq % threads == 0 || sq >= 4 * threads;
    if (!across_subspaces) threads = std::min(threads, std::max<size_t>(1, m / kMinRowsPerThread));
    ThreadPool pool(threads);

    const auto train_subspace = [&](size_t s) {
        const size_t dsub = pq.dsub_;
        std::vector<float> sub(m * dsub);
        for (size_t i = 0; i < m; ++i) {
            const size_t row = rows.empty() ? i : rows[i];
            std::copy_n(x + row * dim + s * dsub, dsub, sub.data() + i * dsub);
        }
        KMeansParams kp;
        kp.k = kCentroids;
        kp.iterations = params.iterations;
        kp.seed = SeededRandom(params.seed ^ (0x9e3779b97f4a7c15ULL * (s + 1))).next();
        KMeansResult result = kmeans(sub.data(), m, dsub, kp, across_subspaces ? nullptr : &pool);
        std::copy(result.centroids.begin(), result.centroids.end(), pq.centroids_.begin() + s * kCentroids * dsub);
    };
    if (across_subspaces) {
        pool.for_each_task(sq, [&](size_t s, size_t) { train_subspace(s); });
    } else {
        for (size_t s = 0; s < sq; ++s) train_subspace(s);
    }
    pq.build_tables();
    return pq;
}

ProductQuantizer ProductQuantizer::from_centroids(size_t dim, size_t subquantizers, std::span<const float> centroids) {
    if (dim == 0) throw Error("pq: codebook dim must be at least 1");
    if (subquantizers == 0) throw Error("pq: codebook subquantizers must be at least 1");
    if (dim % subquantizers != 0)
        throw Error("pq: codebook subquantizers must divide dim (" + sizes(dim, subquantizers) + ")");
    if (dim > std::numeric_limits<size_t>::max() / kCentroids)
        throw Error("pq: codebook dim " + std::to_string(dim) + " is too large");
    const size_t expected = kCentroids * dim;  // subquantizers * 256 * (dim / subquantizers)
    if (centroids.size() != expected)
        throw Error("pq: codebook has " + std::to_string(centroids.size()) + " centroid floats, expected " +
                    std::to_string(expected) + " (256 centroids, " + sizes(dim, subquantizers) + ")");
    ProductQuantizer pq;
    pq.dim_ = dim;
    pq.sq_ = subquantizers;
    pq.dsub_ = dim / subquantizers;
    pq.centroids_.assign(centroids.begin(), centroids.end());
    pq.build_tables();
    return pq;
}

void ProductQuantizer::build_tables() {
    tables_.clear();
    tables_.reserve(sq_);
    for (size_t s = 0; s < sq_; ++s)
        tables_.emplace_back(centroids_.data() + s * kCentroids * dsub_, kCentroids, dsub_);
}

void ProductQuantizer::encode(const float* x, size_t n, uint8_t* codes, size_t threads) const {
    if (sq_ == 0) throw Error("pq: encode on an untrained quantizer");
    if (n == 0) return;
    const auto encode_rows = [&](size_t, size_t begin, size_t end) {
        uint32_t labels[kEncodeChunk];
        for (size_t row = begin; row < end; row += kEncodeChunk) {
            const size_t count = std::min(kEncodeChunk, end - row);
            for (size_t s = 0; s < sq_; ++s) {
                tables_[s].nearest(x + row * dim_ + s * dsub_, count, dim_, labels, nullptr);
                uint8_t* out = codes + row * sq_ + s;
                for (size_t r = 0; r < count; ++r) out[r * sq_] = static_cast<uint8_t>(labels[r]);
            }
        }
    };
    if (threads == 0) threads = hardware_threads();
    threads = std::min(threads, std::max<size_t>(1, n / kMinRowsPerThread));
    if (threads <= 1) {
        encode_rows(0, 0, n);
        return;
    }
    ThreadPool pool(threads);
    pool.parallel_for(n, pool.size(), encode_rows);
}

void ProductQuantizer::decode(const uint8_t* code, float* out) const {
    for (size_t s = 0; s < sq_; ++s)
        std::copy_n(centroids_.data() + (s * kCentroids + code[s]) * dsub_, dsub_, out + s * dsub_);
}

void ProductQuantizer::distance_table(const float* query, Metric metric, float* table) const {
    for (size_t s = 0; s < sq_; ++s) {
        if (metric == Metric::l2) {
            tables_[s].squared_distances(query + s * dsub_, table + s * kCentroids);
        } else {
            tables_[s].negative_dots(query + s * dsub_, table + s * kCentroids);
        }
    }
}

float ProductQuantizer::distance(const float* table, const uint8_t* code) const {
    float sum = 0;
    for (size_t s = 0; s < sq_; ++s, table += kCentroids) sum += table[code[s]];
    return sum;
}

void ProductQuantizer::distances(const float* table, const uint8_t* codes, std::span<const uint32_t> ids,
                                 float* out) const {
    // Four codes at a time give four independent add chains; each sum runs in the same order as distance(), so
    // the results are bit-identical to it.
    const size_t sq = sq_, count = ids.size();
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        // Ids are scattered over the code array; fetching a few rows ahead overlaps the cache misses of large
        // indexes (measured: about a quarter less time on 150 MB of codes, none lost when they fit in cache).
        if (i + kPrefetchAhead + 4 <= count) {
            for (size_t j = 0; j < 4; ++j) __builtin_prefetch(codes + size_t{ids[i + kPrefetchAhead + j]} * sq);
        }
        const uint8_t* c0 = codes + size_t{ids[i]} * sq;
        const uint8_t* c1 = codes + size_t{ids[i + 1]} * sq;
        const uint8_t* c2 = codes + size_t{ids[i + 2]} * sq;
        const uint8_t* c3 = codes + size_t{ids[i + 3]} * sq;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const float* t = table;
        for (size_t s = 0; s < sq; ++s, t += kCentroids) {
            s0 += t[c0[s]];
            s1 += t[c1[s]];
            s2 += t[c2[s]];
            s3 += t[c3[s]];
        }
        out[i] = s0;
        out[i + 1] = s1;
        out[i + 2] = s2;
        out[i + 3] = s3;
    }
    for (; i < count; ++i) out[i] = distance(table, codes + size_t{ids[i]} * sq);
}

}  // namespace leann::pq
