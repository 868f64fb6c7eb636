// index room, internal: what an open Index holds. Shared by the reader (index.cpp) and the writer (writer.cpp),
// which builds the next generation from the one it opened.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "index/chunk_table.h"
#include "index/layout.h"
#include "keyword/keyword_index.h"
#include "leann/index.h"
#include "pq/product_quantizer.h"
#include "search/two_level_search.h"
#include "search/vector_source.h"
#include "store/index_file.h"
#include "store/passage_store.h"

namespace leann {

using json = nlohmann::json;

struct Index::Impl {
    store::IndexFile file;
    index::Info info;
    json meta;
    IndexModel model;
    Metric metric = Metric::cosine;
    pq::ProductQuantizer quantizer;
    std::span<const uint32_t> hub_ids;
    std::span<const float> hub_vectors;
    store::PassageStore passages;
    search::SearchContext context;
    // Version 2 after updates: layer 0 merged from the base CSR and the patches, and the PQ code segments joined,
    // in memory (a freshly built or compacted index is viewed in place).
    graph::Csr merged_graph;
    std::vector<uint8_t> joined_codes;
    std::vector<uint64_t> chunk_hashes;  // CHSH joined (empty for version-1 files)

    std::shared_ptr<Encoder> encoder;
    // Index::load_encoder_when_needed: loads and attaches the encoder; run once, under encoder_mutex, by
    // ensure_encoder(), which every path that uses the encoder calls first. The sources below change only under
    // encoder_mutex, and a path that did not call ensure_encoder reads them under it.
    std::function<void()> pending_encoder;
    std::mutex encoder_mutex;
    void ensure_encoder() {
        std::lock_guard lock(encoder_mutex);
        if (pending_encoder) {
            pending_encoder();  // a failure leaves it pending: the next call reports the same error
            pending_encoder = nullptr;
        }
    }
    /// Checks the model's content hash and dims against the index's, then uses it (sources rebuilt).
    void attach(std::shared_ptr<Encoder> e);
    std::unique_ptr<search::EncoderSource> encoder_source;
    std::unique_ptr<search::CachedSource> cached_source;
    size_t cache_capacity = 16384;  // 24 MiB of 384-d vectors

    // The keyword index, decoded at the first keyword or hybrid search (index/text_search.cpp).
    std::mutex keyword_mutex;
    std::shared_ptr<const keyword::KeywordIndex> keyword_index;
    /// The keyword index (loaded once); leann::Error when the file has none (written before format version 3).
    const keyword::KeywordIndex& keywords();
    mutable std::mutex chunk_table_mutex;
    mutable std::shared_ptr<const index::ChunkTable> chunk_table;  // built on the first filtered search or grep

    std::mutex searchers_mutex;
    std::vector<std::unique_ptr<search::Searcher>> idle_searchers;

    [[noreturn]] void fail(uint32_t tag, const std::string& what) const {
        throw FormatError(file.path().string() + ": section " + store::tag_name(tag) + ": " + what);
    }
    void make_sources() {
        cached_source.reset();
        encoder_source.reset();
        if (!encoder) return;
        encoder_source = std::make_unique<search::EncoderSource>(*encoder, passages, metric == Metric::cosine);
        cached_source =
            std::make_unique<search::CachedSource>(*encoder_source, hub_ids, hub_vectors, cache_capacity);
    }
    /// The per-node facts filters and grep read (index/chunk_table.h), built once. Thread-safe.
    std::shared_ptr<const index::ChunkTable> chunks() const;
    std::unique_ptr<search::Searcher> acquire() {
        std::lock_guard lock(searchers_mutex);
        if (idle_searchers.empty()) return std::make_unique<search::Searcher>(context);
        auto s = std::move(idle_searchers.back());
        idle_searchers.pop_back();
        return s;
    }
    void release(std::unique_ptr<search::Searcher> s) {
        std::lock_guard lock(searchers_mutex);
        idle_searchers.push_back(std::move(s));
    }
};

namespace detail {
struct IndexInternals {
    using Impl = Index::Impl;
    static const Impl& of(const Index& index) { return *index.impl_; }
    /// Index::search_vector with the recompute path replaced by `source` (benchmarks plug an oracle; the index's
    /// hub cache stays in front of it, without the LRU, so counts stay per query).
    static SearchResult search(const Index& index, std::span<const float> query, const SearchOptions& options,
                               search::VectorSource* source, bool with_passages);
    /// Index::search in keyword and hybrid mode (index/text_search.cpp).
    static SearchResult search_text(const Index& index, std::string_view query, const SearchOptions& options);
};
}  // namespace detail

}  // namespace leann
