#include "pq/kmeans.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>

#include "leann/error.h"
#include "util/check.h"
#include "util/thread_pool.h"

// The kernels use GCC vector extensions, so they vectorise at any -O level; each is cloned per instruction set and
// picked at load time like util/distance.cpp (not under clang or ASan, which do not handle target_clones well).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define LEANN_PQ_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LEANN_PQ_CLONES
#endif

namespace leann::pq {
namespace {

constexpr size_t kLanes = 8;
// Blocks of 8 centroids are scored 4 at a time: four independent FMA chains hide the FMA latency for small dim.
constexpr size_t kBlocksPerGroup = 4;

using f32x8 = float __attribute__((vector_size(kLanes * sizeof(float))));
using i32x8 = int32_t __attribute__((vector_size(kLanes * sizeof(int32_t))));

// Macros rather than functions: a function taking or returning a 32-byte vector changes ABI between the clones.
#define LEANN_LOAD8(dst, src) std::memcpy(&(dst), (src), sizeof(f32x8))
#define LEANN_STORE8(dst, src) std::memcpy((dst), &(src), sizeof(f32x8))

// Keeps, per lane, the lower of the running best and a new block of distances (strict <: among equal distances
// the lower index, which came first, stays).
#define LEANN_KEEP_LOWER(acc, best, best_index, index) \
    do {                                               \
        const i32x8 less = (acc) < (best);             \
        best = less ? (acc) : (best);                  \
        best_index = less ? (index) : (best_index);    \
    } while (0)

// Lane-wise minima of one point reduced to its label (and squared distance, if wanted).
inline void finish_point(const float* lane_best, const int32_t* lane_index, const float* x, size_t dim, uint32_t* label,
                         float* squared_distance) {
    float best = lane_best[0];
    int32_t index = lane_index[0];
    for (size_t lane = 1; lane < kLanes; ++lane) {
        if (lane_best[lane] < best || (lane_best[lane] == best && lane_index[lane] < index)) {
            best = lane_best[lane];
            index = lane_index[lane];
        }
    }
    *label = static_cast<uint32_t>(index);
    if (squared_distance) {
        float norm = 0;
        for (size_t d = 0; d < dim; ++d) norm += x[d] * x[d];
        *squared_distance = std::max(0.0f, best + norm);
    }
}

// Two points at a time: every centroid load feeds two FMAs, and the eight independent accumulators hide the FMA
// latency even for dim 8 (the kernel runs at about half the time of the one-point version).
LEANN_PQ_CLONES
void nearest_kernel(const float* scaled, const float* norms, size_t groups, size_t dim, const float* x, size_t n,
                    size_t stride, uint32_t* labels, float* squared_distances) {
    const float inf = std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < n; i += 2) {
        const float* xa = x + i * stride;
        const float* xb = i + 1 < n ? xa + stride : xa;  // an odd last point is scored twice
        f32x8 best_a = {inf, inf, inf, inf, inf, inf, inf, inf}, best_b = best_a;
        i32x8 index_a = {}, index_b = {};
        i32x8 index = {0, 1, 2, 3, 4, 5, 6, 7};
        const float* block = scaled;
        for (size_t g = 0; g < groups; ++g, block += kBlocksPerGroup * dim * kLanes) {
            f32x8 a0, a1, a2, a3;
            LEANN_LOAD8(a0, norms + (g * kBlocksPerGroup + 0) * kLanes);
            LEANN_LOAD8(a1, norms + (g * kBlocksPerGroup + 1) * kLanes);
            LEANN_LOAD8(a2, norms + (g * kBlocksPerGroup + 2) * kLanes);
            LEANN_LOAD8(a3, norms + (g * kBlocksPerGroup + 3) * kLanes);
            f32x8 b0 = a0, b1 = a1, b2 = a2, b3 = a3;
            const float* c0 = block;
            const float* c1 = c0 + dim * kLanes;
            const float* c2 = c1 + dim * kLanes;
            const float* c3 = c2 + dim * kLanes;
            for (size_t d = 0; d < dim; ++d) {
                const float xa_d = xa[d], xb_d = xb[d];
                f32x8 v0, v1, v2, v3;
                LEANN_LOAD8(v0, c0 + d * kLanes);
                LEANN_LOAD8(v1, c1 + d * kLanes);
                LEANN_LOAD8(v2, c2 + d * kLanes);
                LEANN_LOAD8(v3, c3 + d * kLanes);
                a0 += xa_d * v0;
                a1 += xa_d * v1;
                a2 += xa_d * v2;
                a3 += xa_d * v3;
                b0 += xb_d * v0;
                b1 += xb_d * v1;
                b2 += xb_d * v2;
                b3 += xb_d * v3;
            }
            LEANN_KEEP_LOWER(a0, best_a, index_a, index);
            LEANN_KEEP_LOWER(b0, best_b, index_b, index);
            index += static_cast<int32_t>(kLanes);
            LEANN_KEEP_LOWER(a1, best_a, index_a, index);
            LEANN_KEEP_LOWER(b1, best_b, index_b, index);
            index += static_cast<int32_t>(kLanes);
            LEANN_KEEP_LOWER(a2, best_a, index_a, index);
            LEANN_KEEP_LOWER(b2, best_b, index_b, index);
            index += static_cast<int32_t>(kLanes);
            LEANN_KEEP_LOWER(a3, best_a, index_a, index);
            LEANN_KEEP_LOWER(b3, best_b, index_b, index);
            index += static_cast<int32_t>(kLanes);
        }
        float lane_best[kLanes];
        int32_t lane_index[kLanes];
        std::memcpy(lane_best, &best_a, sizeof lane_best);
        std::memcpy(lane_index, &index_a, sizeof lane_index);
        finish_point(lane_best, lane_index, xa, dim, labels + i, squared_distances ? squared_distances + i : nullptr);
        if (i + 1 < n) {
            std::memcpy(lane_best, &best_b, sizeof lane_best);
            std::memcpy(lane_index, &index_b, sizeof lane_index);
            finish_point(lane_best, lane_index, xb, dim, labels + i + 1,
                         squared_distances ? squared_distances + i + 1 : nullptr);
        }
    }
}

#undef LEANN_KEEP_LOWER

// out[c] for the 32 * groups centroids: ||x - c||^2 or -dot(x, c). The table holds s = -2c, so -0.5 * s is c
// exactly and x + 0.5 * s rounds like x - c.
LEANN_PQ_CLONES
void score_all_kernel(const float* scaled, size_t groups, size_t dim, const float* x, bool squared_l2, float* out) {
    const float* block = scaled;
    for (size_t g = 0; g < groups; ++g, block += kBlocksPerGroup * dim * kLanes, out += kBlocksPerGroup * kLanes) {
        f32x8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
        const float* c0 = block;
        const float* c1 = c0 + dim * kLanes;
        const float* c2 = c1 + dim * kLanes;
        const float* c3 = c2 + dim * kLanes;
        for (size_t d = 0; d < dim; ++d) {
            const float xd = x[d];
            f32x8 v0, v1, v2, v3;
            LEANN_LOAD8(v0, c0 + d * kLanes);
            LEANN_LOAD8(v1, c1 + d * kLanes);
            LEANN_LOAD8(v2, c2 + d * kLanes);
            LEANN_LOAD8(v3, c3 + d * kLanes);
            if (squared_l2) {
                v0 = xd + 0.5f * v0;
                v1 = xd + 0.5f * v1;
                v2 = xd + 0.5f * v2;
                v3 = xd + 0.5f * v3;
                a0 += v0 * v0;
                a1 += v1 * v1;
                a2 += v2 * v2;
                a3 += v3 * v3;
            } else {
                a0 += xd * v0;
                a1 += xd * v1;
                a2 += xd * v2;
                a3 += xd * v3;
            }
        }
        if (!squared_l2) {
            a0 *= 0.5f;
            a1 *= 0.5f;
            a2 *= 0.5f;
            a3 *= 0.5f;
        }
        LEANN_STORE8(out, a0);
        LEANN_STORE8(out + kLanes, a1);
        LEANN_STORE8(out + 2 * kLanes, a2);
        LEANN_STORE8(out + 3 * kLanes, a3);
    }
}

// k-means++ step: min_distances[i] = min(min_distances[i], ||x_i - centroid||^2) over points stored dimension-major
// (points_t[d * padded + i]), and block_sums[b] = sum of min_distances over points [8b, 8b + 8), so that sampling
// the next centroid scans n / 8 sums instead of n distances. Padding points must have min_distances 0.
LEANN_PQ_CLONES
void lower_min_distances(const float* points_t, size_t padded, size_t dim, const float* centroid, float* min_distances,
                         float* block_sums) {
    for (size_t i = 0; i < padded; i += kLanes) {
        f32x8 acc = {};
        for (size_t d = 0; d < dim; ++d) {
            f32x8 v;
            LEANN_LOAD8(v, points_t + d * padded + i);
            v -= centroid[d];
            acc += v * v;
        }
        f32x8 current;
        LEANN_LOAD8(current, min_distances + i);
        current = acc < current ? acc : current;
        LEANN_STORE8(min_distances + i, current);
        float sum = 0;
        for (size_t lane = 0; lane < kLanes; ++lane) sum += current[lane];
        block_sums[i / kLanes] = sum;
    }
}

#undef LEANN_LOAD8
#undef LEANN_STORE8

// k points, each drawn with probability proportional to its squared distance to the nearest point drawn so far
// (so distinct while the data has distinct points left; then uniformly).
std::vector<float> init_plus_plus(const float* x, size_t n, size_t dim, size_t k, SeededRandom& rng) {
    const size_t padded = (n + kLanes - 1) / kLanes * kLanes;
    std::vector<float> points_t(padded * dim, 0.0f);
    for (size_t i = 0; i < n; ++i)
        for (size_t d = 0; d < dim; ++d) points_t[d * padded + i] = x[i * dim + d];
    std::vector<float> min_distances(padded, 0.0f);
    std::fill(min_distances.begin(), min_distances.begin() + n, std::numeric_limits<float>::infinity());
    std::vector<float> block_sums(padded / kLanes);

    std::vector<float> centroids(k * dim);
    size_t chosen = rng.below(n);
    for (size_t j = 0;; ++j) {
        std::copy_n(x + chosen * dim, dim, centroids.data() + j * dim);
        if (j + 1 == k) break;
        lower_min_distances(points_t.data(), padded, dim, centroids.data() + j * dim, min_distances.data(),
                            block_sums.data());
        double total = 0;
        for (float s : block_sums) total += s;
        if (!(total > 0)) {  // every point coincides with a centroid already (or the data holds NaN): any point
            chosen = rng.below(n);
            continue;
        }
        const double target = rng.unit() * total;
        double acc = 0;
        chosen = n;
        for (size_t b = 0; b < block_sums.size() && chosen == n; ++b) {
            if (acc + block_sums[b] <= target) {
                acc += block_sums[b];
                continue;
            }
            // Float block sums and double running sums can disagree in the last bits; the fallback below covers it.
            for (size_t i = b * kLanes; i < std::min(n, (b + 1) * kLanes); ++i) {
                acc += min_distances[i];
                if (acc > target && min_distances[i] > 0) {
                    chosen = i;
                    break;
                }
            }
        }
        if (chosen == n) {  // rounding pushed the target past the end: take the last point with weight
            chosen = n - 1;
            while (chosen > 0 && !(min_distances[chosen] > 0)) --chosen;
        }
    }
    return centroids;
}

std::vector<float> init_random(const float* x, size_t n, size_t dim, size_t k, SeededRandom& rng) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::vector<float> centroids(k * dim);
    for (size_t j = 0; j < k; ++j) {
        std::swap(order[j], order[j + rng.below(n - j)]);
        std::copy_n(x + order[j] * dim, dim, centroids.data() + j * dim);
    }
    return centroids;
}

// Centroids as the means of their clusters. An empty cluster takes the point of the largest cluster that lies
// farthest from that cluster's centroid, which splits the largest cluster; with n > k some cluster always has two
// points to give. Updates labels and distances for the moved points so that the next pass sees the split.
void update_centroids(const float* x, size_t n, size_t dim, size_t k, std::vector<uint32_t>& labels,
                      std::vector<float>& distances, std::vector<float>& centroids) {
    std::vector<double> sums(k * dim, 0.0);
    std::vector<size_t> counts(k, 0);
    for (size_t i = 0; i < n; ++i) {
        const size_t c = labels[i];
        ++counts[c];
        for (size_t d = 0; d < dim; ++d) sums[c * dim + d] += x[i * dim + d];
    }
    for (size_t empty = 0; empty < k; ++empty) {
        if (counts[empty] != 0) continue;
        const size_t largest = static_cast<size_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
        if (counts[largest] < 2) break;
        size_t farthest = n;
        for (size_t i = 0; i < n; ++i)
            if (labels[i] == largest && (farthest == n || distances[i] > distances[farthest])) farthest = i;
        for (size_t d = 0; d < dim; ++d) {
            sums[largest * dim + d] -= x[farthest * dim + d];
            sums[empty * dim + d] = x[farthest * dim + d];
        }
        --counts[largest];
        counts[empty] = 1;
        labels[farthest] = static_cast<uint32_t>(empty);
        distances[farthest] = 0;
    }
    for (size_t c = 0; c < k; ++c) {
        if (counts[c] == 0) continue;  // only when n <= k, which kmeans() handles before getting here
        const double inv = 1.0 / static_cast<double>(counts[c]);
        for (size_t d = 0; d < dim; ++d) centroids[c * dim + d] = static_cast<float>(sums[c * dim + d] * inv);
    }
}

}  // namespace

uint64_t SeededRandom::next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

CentroidTable::CentroidTable(const float* centroids, size_t k, size_t dim) : k_(k), dim_(dim) {
    LEANN_CHECK(k > 0 && dim > 0, "centroid table needs k > 0 and dim > 0");
    constexpr size_t per_group = kLanes * kBlocksPerGroup;
    blocks_ = (k + per_group - 1) / per_group * kBlocksPerGroup;
    scaled_.assign(blocks_ * dim * kLanes, 0.0f);
    norms_.assign(blocks_ * kLanes, std::numeric_limits<float>::infinity());
    for (size_t c = 0; c < k; ++c) {
        const float* centroid = centroids + c * dim;
        const size_t block = c / kLanes, lane = c % kLanes;
        float norm = 0;
        for (size_t d = 0; d < dim; ++d) {
            norm += centroid[d] * centroid[d];
            scaled_[(block * dim + d) * kLanes + lane] = -2.0f * centroid[d];
        }
        norms_[c] = norm;
    }
}

void CentroidTable::nearest(const float* x, size_t n, size_t stride, uint32_t* labels, float* squared_distances) const {
    nearest_kernel(scaled_.data(), norms_.data(), blocks_ / kBlocksPerGroup, dim_, x, n, stride, labels,
                   squared_distances);
}

void CentroidTable::squared_distances(const float* x, float* out) const {
    score_all(x, true, out);
}

void CentroidTable::negative_dots(const float* x, float* out) const {
    score_all(x, false, out);
}

void CentroidTable::score_all(const float* x, bool squared_l2, float* out) const {
    constexpr size_t per_group = kLanes * kBlocksPerGroup;
    const size_t full_groups = k_ / per_group;
    score_all_kernel(scaled_.data(), full_groups, dim_, x, squared_l2, out);
    if (full_groups * per_group == k_) return;
    float last[per_group];  // the padded tail group, of which only k % 32 entries are real
    score_all_kernel(scaled_.data() + full_groups * per_group * dim_, 1, dim_, x, squared_l2, last);
    std::copy_n(last, k_ - full_groups * per_group, out + full_groups * per_group);
}

KMeansResult kmeans(const float* x, size_t n, size_t dim, const KMeansParams& params, ThreadPool* pool) {
    if (n == 0) throw Error("k-means: no points to cluster");
    if (dim == 0) throw Error("k-means: dim must be at least 1");
    if (params.k == 0) throw Error("k-means: k must be at least 1");
    const size_t k = params.k;
    KMeansResult result;
    if (n <= k) {
        // Every point is its own cluster; the spare centroids repeat points so that any code decodes to data.
        result.centroids.resize(k * dim);
        for (size_t c = 0; c < k; ++c) std::copy_n(x + (c % n) * dim, dim, result.centroids.data() + c * dim);
        return result;
    }

    SeededRandom rng(params.seed);
    result.centroids =
        params.init == KMeansInit::plus_plus ? init_plus_plus(x, n, dim, k, rng) : init_random(x, n, dim, k, rng);
    std::vector<uint32_t> labels(n, std::numeric_limits<uint32_t>::max()), assigned(n);
    std::vector<float> distances(n);
    for (size_t iteration = 0; iteration < params.iterations; ++iteration) {
        const CentroidTable table(result.centroids.data(), k, dim);
        const auto assign = [&](size_t, size_t begin, size_t end) {
            table.nearest(x + begin * dim, end - begin, dim, assigned.data() + begin, distances.data() + begin);
        };
        if (pool && pool->size() > 1) {
            pool->parallel_for(n, pool->size(), assign);
        } else {
            assign(0, 0, n);
        }
        size_t changed = 0;
        double objective = 0;
        for (size_t i = 0; i < n; ++i) {
            changed += assigned[i] != labels[i];
            objective += distances[i];
        }
        labels.swap(assigned);
        result.objective = objective;
        result.iterations = iteration + 1;
        if (changed == 0) break;  // the means would come out the same
        update_centroids(x, n, dim, k, labels, distances, result.centroids);
    }
    return result;
}

}  // namespace leann::pq
