#include "pq/error_profile.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <thread>

#include "util/distance.h"
#include "util/thread_pool.h"

namespace leann::pq {

ErrorProfile ErrorProfile::from_points(std::vector<std::pair<double, float>> points) {
    ErrorProfile p;
    for (size_t i = 0; i < points.size(); ++i) {
        const auto [level, margin] = points[i];
        if (!(level > 0.0 && level <= 1.0) || !std::isfinite(margin)) return p;
        if (i > 0 && (level <= points[i - 1].first || margin < points[i - 1].second)) return p;
    }
    p.points_ = std::move(points);
    return p;
}

float ErrorProfile::margin(double confidence) const {
    if (points_.empty()) return INFINITY;
    if (confidence <= points_.front().first) return points_.front().second;
    for (size_t i = 1; i < points_.size(); ++i) {
        const auto [l1, m1] = points_[i];
        if (confidence <= l1) {
            const auto [l0, m0] = points_[i - 1];
            const double t = (confidence - l0) / (l1 - l0);
            return float(double(m0) + t * double(m1 - m0));
        }
    }
    return points_.back().second;
}

ErrorProfile ErrorProfile::measure(const ProductQuantizer& quantizer, const uint8_t* codes, const float* vectors,
                                   size_t n, size_t dim, Metric metric, const ErrorProfileParams& params) {
    if (n < 2 || params.neighbours == 0) return {};
    std::mt19937_64 rng(params.seed);
    auto sample = [&](size_t count) {
        std::vector<uint32_t> ids(n);
        std::iota(ids.begin(), ids.end(), 0u);
        if (count < n) {
            for (size_t i = 0; i < count; ++i) std::swap(ids[i], ids[i + rng() % (n - i)]);
            ids.resize(count);
            std::sort(ids.begin(), ids.end());
        }
        return ids;
    };
    const std::vector<uint32_t> queries = sample(std::min(n, params.queries));
    const std::vector<uint32_t> pool = sample(std::min(n, params.pool));
    const size_t keep = std::min(params.neighbours, pool.size() - 1);
    if (keep == 0) return {};

    const size_t threads = params.threads ? params.threads : std::max(1u, std::thread::hardware_concurrency());
    const size_t first = std::min(params.first_batch, pool.size() - 1);
    ThreadPool workers(std::min(threads, queries.size()));
    std::vector<std::vector<float>> over(queries.size());  // per query: deviations of its nearest neighbours
    workers.for_each_task(queries.size(), [&](size_t task, size_t) {
        const uint32_t self = queries[task];
        const float* q = vectors + size_t(self) * dim;
        std::vector<float> table(quantizer.subquantizers() * kCentroids);
        quantizer.distance_table(q, metric, table.data());
        // Max-heaps of (distance, node): the `keep` nearest by exact distance, the `first` nearest by PQ distance.
        std::vector<std::pair<float, uint32_t>> by_exact, by_pq;
        auto offer = [](std::vector<std::pair<float, uint32_t>>& heap, size_t size, float d, uint32_t v) {
            if (heap.size() < size) {
                heap.emplace_back(d, v);
                std::push_heap(heap.begin(), heap.end());
            } else if (d < heap.front().first) {
                std::pop_heap(heap.begin(), heap.end());
                heap.back() = {d, v};
                std::push_heap(heap.begin(), heap.end());
            }
        };
        for (uint32_t v : pool) {
            if (v == self) continue;
            const float d = distance(metric, q, vectors + size_t(v) * dim, dim);
            const float p = quantizer.distance(table.data(), codes + size_t(v) * quantizer.code_size());
            if (!std::isfinite(d) || !std::isfinite(p)) continue;
            offer(by_exact, keep, d, v);
            offer(by_pq, first, p, v);
        }
        if (by_pq.empty()) return;
        // The per-query bias a search can estimate after its first batch: mean PQ minus exact distance over the
        // best `first` candidates by PQ distance.
        double bias = 0;
        for (const auto& [p, v] : by_pq) bias += double(p) - double(distance(metric, q, vectors + size_t(v) * dim, dim));
        bias /= double(by_pq.size());
        for (const auto& [d, v] : by_exact) {
            const float p = quantizer.distance(table.data(), codes + size_t(v) * quantizer.code_size());
            over[task].push_back(float(double(p) - double(d) - bias));
        }
    });
    std::vector<float> all;
    for (const auto& o : over) all.insert(all.end(), o.begin(), o.end());
    if (all.empty()) return {};
    std::sort(all.begin(), all.end());
    std::vector<std::pair<double, float>> points;
    for (double level : kLevels) {
        const size_t rank = std::max<size_t>(1, size_t(std::ceil(level * double(all.size()))));
        const size_t at = std::min(all.size(), rank) - 1;
        points.emplace_back(level, all[at]);
    }
    return from_points(std::move(points));
}

}  // namespace leann::pq
