// Vector distances under the library's convention (include/leann/metric.h: lower is better). The loops are
// compiled for AVX-512, AVX2 and baseline and picked at load time (target_clones), like embed/kernels.
#pragma once

#include <cstddef>

#include "leann/metric.h"

namespace leann {

float dot(const float* a, const float* b, size_t dim);
float squared_l2(const float* a, const float* b, size_t dim);

/// -dot for inner_product and cosine (vectors already normalised), squared L2 for l2.
inline float distance(Metric metric, const float* a, const float* b, size_t dim) {
    return metric == Metric::l2 ? squared_l2(a, b, dim) : -dot(a, b, dim);
}

/// Scales v to unit length in place (a zero vector stays zero).
void normalize(float* v, size_t dim);

}  // namespace leann
