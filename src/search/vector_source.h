// search room: where exact vectors come from at query time. Search asks a VectorSource for the exact vectors of a
// batch of node ids and does not know whether they are recomputed by the encoder from the passage text, served
// from a cache, or (in benchmarks) read from a stored matrix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "leann/encoder.h"
#include "leann/metric.h"

namespace leann::store {
class PassageStore;
}

namespace leann::search {

/// How a fetch was served: `computed` vectors came from the expensive path (the encoder), the rest from caches.
struct FetchCounts {
    size_t computed = 0;
    size_t lru_hits = 0;
    size_t hub_hits = 0;
    size_t batches = 0;  // calls that reached the expensive path
};

class VectorSource {
public:
    virtual ~VectorSource() = default;
    virtual size_t dim() const = 0;
    /// Writes nodes.size() rows of dim() floats to out (row i = node nodes[i]). Thread-safe.
    virtual FetchCounts fetch(std::span<const uint32_t> nodes, float* out) = 0;
};

/// Benchmarks: exact vectors from a matrix held in memory (normalised already where the metric needs it).
class OracleSource final : public VectorSource {
public:
    OracleSource(const float* matrix, size_t rows, size_t dim) : matrix_(matrix), rows_(rows), dim_(dim) {}
    size_t dim() const override { return dim_; }
    FetchCounts fetch(std::span<const uint32_t> nodes, float* out) override;

private:
    const float* matrix_;
    size_t rows_, dim_;
};

/// The product: recompute from passage text with the encoder (one encode call per fetch, so a batch of
/// selected candidates is one batched forward pass).
class EncoderSource final : public VectorSource {
public:
    EncoderSource(Encoder& encoder, const store::PassageStore& passages, bool normalize);
    size_t dim() const override;
    FetchCounts fetch(std::span<const uint32_t> nodes, float* out) override;

private:
    Encoder& encoder_;
    const store::PassageStore& passages_;
    bool normalize_;
};

/// Wraps another source with (1) a fixed hub cache: exact vectors of chosen nodes stored in the index at build time,
/// and (2) a bounded LRU cache of vectors recomputed earlier in this process. Only misses reach the inner source,
/// in one call.
class CachedSource final : public VectorSource {
public:
    /// hub_ids ascending; hub_vectors hub_ids.size() x dim (both must outlive this object). lru_capacity in vectors
    /// (0 disables the LRU cache).
    CachedSource(VectorSource& inner, std::span<const uint32_t> hub_ids, std::span<const float> hub_vectors,
                 size_t lru_capacity);
    size_t dim() const override { return inner_.dim(); }
    FetchCounts fetch(std::span<const uint32_t> nodes, float* out) override;
    void clear_lru();
    size_t lru_size() const;

private:
    const float* hub_row(uint32_t node) const;

    VectorSource& inner_;
    std::span<const uint32_t> hub_ids_;
    std::span<const float> hub_vectors_;
    size_t capacity_;
    mutable std::mutex mutex_;
    // LRU: most recent at the front; the map points into the list; vectors live in a slab reused on eviction.
    std::list<uint32_t> order_;
    struct Entry {
        std::list<uint32_t>::iterator pos;
        size_t slot;
    };
    std::unordered_map<uint32_t, Entry> entries_;
    std::vector<float> slab_;
    std::vector<size_t> free_slots_;
};

}  // namespace leann::search
