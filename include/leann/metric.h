// How two embeddings are compared. Inside the library every comparison is a *distance*, lower is better:
//   inner_product: -dot(a, b)
//   cosine:        -dot(a, b) over L2-normalised vectors (the index normalises vectors and queries first,
//                  so graph, PQ and search treat cosine exactly like inner_product)
//   l2:            squared Euclidean distance
// What users see is a *score*, higher is better: dot (inner_product, cosine) or -squared distance (l2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leann {

enum class Metric : uint32_t { inner_product = 0, cosine = 1, l2 = 2 };

std::string_view metric_name(Metric metric);
/// Accepts "ip"/"inner_product"/"dot", "cosine"/"cos", "l2"/"euclidean"; nullopt for anything else.
std::optional<Metric> parse_metric(std::string_view name);

/// The user-facing score of a library distance (see above).
inline float score_of_distance(float distance) { return -distance; }

}  // namespace leann
