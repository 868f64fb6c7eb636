#include "util/distance.h"

#include <cmath>

namespace leann {

#define LEANN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

LEANN_CLONES float dot(const float* a, const float* b, size_t dim) {
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (size_t i = 0; i < dim; ++i) sum += a[i] * b[i];
    return sum;
}

LEANN_CLONES float squared_l2(const float* a, const float* b, size_t dim) {
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (size_t i = 0; i < dim; ++i) {
        const float d = a[i] - b[i];
        sum += d * d;
    }
    return sum;
}

void normalize(float* v, size_t dim) {
    const float norm = std::sqrt(dot(v, v, dim));
    if (norm == 0.0f) return;
    const float inv = 1.0f / norm;
    for (size_t i = 0; i < dim; ++i) v[i] *= inv;
}

std::string_view metric_name(Metric metric) {
    switch (metric) {
        case Metric::inner_product: return "inner_product";
        case Metric::cosine: return "cosine";
        case Metric::l2: return "l2";
    }
    return "unknown";
}

std::optional<Metric> parse_metric(std::string_view name) {
    if (name == "ip" || name == "inner_product" || name == "dot") return Metric::inner_product;
    if (name == "cosine" || name == "cos") return Metric::cosine;
    if (name == "l2" || name == "euclidean") return Metric::l2;
    return std::nullopt;
}

}  // namespace leann
