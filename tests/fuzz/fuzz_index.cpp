// An index file (docs/format.md) as `leann search` opens it, then what a reader does with it: stats, a search
// without the encoder (PQ-ranked: the fuzzer's index names no model we have), a keyword search, passage reads,
// verify. Before the bytes are written, every checksum the input's own header and table point at is recomputed
// ("resealed"), so a mutation reaches the structure checks behind the checksums instead of stopping at the first
// mismatch.
#include <xxhash.h>

#include <cstring>
#include <random>
#include <string>

#include "fuzz_support.h"
#include "leann/error.h"
#include "leann/index.h"

namespace {

uint64_t get64(const std::string& s, size_t at) {
    uint64_t v = 0;
    if (at + 8 <= s.size()) std::memcpy(&v, s.data() + at, 8);
    return v;
}
uint32_t get32(const std::string& s, size_t at) {
    uint32_t v = 0;
    if (at + 4 <= s.size()) std::memcpy(&v, s.data() + at, 4);
    return v;
}
void put64(std::string& s, size_t at, uint64_t v) {
    if (at + 8 <= s.size()) std::memcpy(s.data() + at, &v, 8);
}

// Header slot (64 bytes): magic, version u32 @8, ..., table offset u64 @24, table size u64 @32, table checksum @48,
// header checksum @56 over bytes [0, 56). Table entries (32 bytes): tag u32, offset u64 @8, size u64 @16,
// checksum u64 @24. Version 1 has one slot, version 2 two.
void reseal(std::string& f) {
    if (f.size() < 64) return;
    const int slots = get32(f, 8) >= 2 && f.size() >= 128 ? 2 : 1;
    for (int slot = 0; slot < slots; ++slot) {
        const size_t h = size_t(slot) * 64;
        const uint64_t table = get64(f, h + 24), table_size = get64(f, h + 32);
        if (table <= f.size() && table_size <= f.size() - table) {
            for (uint64_t e = table; e + 32 <= table + table_size; e += 32) {
                const uint64_t off = get64(f, e + 8), size = get64(f, e + 16);
                if (off <= f.size() && size <= f.size() - off) put64(f, e + 24, XXH3_64bits(f.data() + off, size));
            }
            put64(f, h + 48, XXH3_64bits(f.data() + table, table_size));
        }
        put64(f, h + 56, XXH3_64bits(f.data() + h, 56));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    reseal(bytes);
    const auto path = leann::fuzz::write_scratch("index.leann", bytes);
    try {
        const leann::Index index = leann::Index::open(path);
        (void)index.stats();
        const size_t dims = index.model().dims;
        if (dims > 0 && dims <= 4096 && index.size() > 0) {
            std::mt19937 rng{static_cast<uint32_t>(size)};
            std::normal_distribution<float> normal;
            std::vector<float> query(dims);
            for (float& q : query) q = normal(rng);
            leann::SearchOptions options;
            options.top_k = 3;
            options.complexity = 16;
            options.recompute = false;
            try {
                for (const auto& hit : index.search_vector(query, options).hits)
                    if (hit.node >= index.size()) std::abort();
            } catch (const leann::Error&) {
            }
        }
        if (index.size() > 0) {
            // Keyword mode embeds nothing: the keyword index (its rare terms read their buckets' passages).
            leann::SearchOptions options;
            options.top_k = 3;
            options.mode = leann::SearchMode::keyword;
            try {
                for (const auto& hit : index.search("apples lighthouse quick add", options).hits)
                    if (hit.node >= index.size()) std::abort();
            } catch (const leann::Error&) {
            }
        }
        for (uint32_t node = 0; node < index.size() && node < 3; ++node) {
            try {
                (void)index.document(node);
            } catch (const leann::Error&) {
            }
        }
        index.verify();
    } catch (const leann::Error&) {
    }
    return 0;
}
