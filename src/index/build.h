// index room, internal: the pieces of a full build that the writer (writer.cpp) reuses.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "leann/index.h"

namespace leann::pq {
class ProductQuantizer;
}

namespace leann::index {

/// Now, as ISO-8601 UTC ("2026-12-02T10:00:00Z").
std::string utc_now();

/// Embeds `documents` (passage role) in batches of options.encode_batch, normalised when the metric is cosine;
/// options.progress gets ("embed", done, total) after each batch (and may throw to stop). n x dims floats.
std::vector<float> embed_documents(std::span<const Document> documents, Encoder& encoder, Metric metric,
                                   const BuildOptions& options);

/// What a full build records besides the index itself.
struct BuildRecord {
    std::string manifest;     // SRCS bytes (empty: no SRCS section)
    uint32_t generation = 1;  // generation number of the new file (an old index's + 1 when replacing it)
};

/// Writes a whole new index file (temporary name, then rename) from ready vectors (normalised when cosine).
void write_index(const std::filesystem::path& path, std::span<const Document> documents, const float* vectors,
                 const IndexModel& model, Metric metric, const BuildOptions& options, const BuildRecord& record);

/// Passages of at least this many bytes on average (half of a full 256-token chunk) count as long.
inline constexpr size_t kLongPassageBytes = 512;

/// The PQ code bytes when BuildOptions::pq_bytes is 0: dims / 4 when the passages average kLongPassageBytes or
/// more, dims / 8 otherwise (at least 1).
size_t default_pq_bytes(size_t dim, std::span<const Document> documents);

/// xxh3-64 of a chunk's text: how an update recognises text it has embedded before (section CHSH).
uint64_t text_hash(std::string_view text);

/// Mean of |x - decode(encode(x))|^2 / |x|^2 over (up to 4,096 of) the rows: how well the codebook fits them.
double quantization_error(const pq::ProductQuantizer& quantizer, const float* vectors, size_t n, size_t dim);

}  // namespace leann::index
