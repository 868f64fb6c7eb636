// index room: opening and searching an index. Open maps the file, checks every section but the passage data
// (whose zstd frames carry their own checksums and are checked when read, and by verify()), and builds views over
// the mapping: nothing is copied except the PQ centroids.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "index/layout.h"
#include "leann/error.h"
#include "leann/index.h"
#include "leann/model.h"
#include "pq/product_quantizer.h"
#include "search/two_level_search.h"
#include "search/vector_source.h"
#include "store/passage_store.h"
#include "util/distance.h"

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

    std::shared_ptr<Encoder> encoder;
    std::unique_ptr<search::EncoderSource> encoder_source;
    std::unique_ptr<search::CachedSource> cached_source;
    size_t cache_capacity = 16384;  // 24 MiB of 384-d vectors

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

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::Index(Index&&) noexcept = default;
Index& Index::operator=(Index&&) noexcept = default;
Index::~Index() = default;

Index Index::open(const std::filesystem::path& path) {
    auto impl = std::make_unique<Impl>();
    Impl& x = *impl;
    const uint32_t lazy[] = {store::kPassageData};
    x.file = store::IndexFile::open(index_path_for_argument(path), lazy);
    const std::string file_name = x.file.path().string();

    auto info_bytes = x.file.section(index::kInfo);
    if (info_bytes.size() != sizeof(index::Info)) x.fail(index::kInfo, "size " + std::to_string(info_bytes.size()));
    std::memcpy(&x.info, info_bytes.data(), sizeof x.info);
    const index::Info& info = x.info;
    if (info.info_version != index::kInfoVersion)
        x.fail(index::kInfo, "version " + std::to_string(info.info_version) + " is not supported");
    if (info.metric > uint32_t(Metric::l2)) x.fail(index::kInfo, "unknown metric " + std::to_string(info.metric));
    if (info.dim == 0 || info.subquantizers == 0 || info.dim % info.subquantizers != 0)
        x.fail(index::kInfo, "dimension " + std::to_string(info.dim) + " and " + std::to_string(info.subquantizers) +
                                 " sub-quantizers are inconsistent");
    if (info.nodes > 0 && info.entry_point >= info.nodes) x.fail(index::kInfo, "entry point out of range");
    x.metric = Metric(info.metric);

    auto meta_bytes = x.file.section(index::kMeta);
    x.meta = json::parse(std::string_view(reinterpret_cast<const char*>(meta_bytes.data()), meta_bytes.size()),
                         nullptr, false);
    if (x.meta.is_discarded() || !x.meta.is_object() || !x.meta.contains("model") || !x.meta["model"].is_object())
        x.fail(index::kMeta, "not a JSON object with a model");
    x.model.name = x.meta["model"].value("name", "");
    x.model.content_hash = x.meta["model"].value("content_hash", "");
    x.model.dims = info.dim;

    auto& view = x.context.graph;
    view.nodes = info.nodes;
    view.entry_point = info.entry_point;
    view.base = graph::CsrView(x.file.array<uint32_t>(index::kGraphOffsets, size_t(info.nodes) + 1),
                               x.file.array<uint32_t>(index::kGraphNeighbors, size_t(info.edges)));
    index::decode_upper(x.file.array<uint32_t>(index::kGraphUpper), view, file_name);
    if (view.upper.size() != info.upper_layers) x.fail(index::kGraphUpper, "layer count disagrees with INFO");
    if (std::string problem = graph::check(view); !problem.empty()) x.fail(index::kGraphNeighbors, problem);

    const size_t sub_dim = info.dim / info.subquantizers;
    auto centroids = x.file.array<float>(index::kPqCentroids, size_t(info.subquantizers) * pq::kCentroids * sub_dim);
    x.quantizer = pq::ProductQuantizer::from_centroids(info.dim, info.subquantizers, centroids);
    x.context.pq = &x.quantizer;
    x.context.codes = x.file.array<uint8_t>(index::kPqCodes, size_t(info.nodes) * info.subquantizers);
    x.context.metric = x.metric;

    x.hub_ids = x.file.array<uint32_t>(index::kHubIds, info.hubs);
    x.hub_vectors = x.file.array<float>(index::kHubVectors, size_t(info.hubs) * info.dim);
    for (size_t i = 0; i < x.hub_ids.size(); ++i)
        if (x.hub_ids[i] >= info.nodes || (i > 0 && x.hub_ids[i] <= x.hub_ids[i - 1]))
            x.fail(index::kHubIds, "ids must be ascending node ids");
    x.context.deleted = x.file.array<uint8_t>(index::kTombstones, (size_t(info.nodes) + 7) / 8);
    x.passages = store::PassageStore(x.file, info.nodes);
    return Index(std::move(impl));
}

const IndexModel& Index::model() const { return impl_->model; }
Metric Index::metric() const { return impl_->metric; }
size_t Index::size() const { return impl_->info.nodes; }

void Index::attach_encoder(std::shared_ptr<Encoder> encoder) {
    const ModelInfo& m = encoder->info();
    if (m.content_hash != impl_->model.content_hash || m.hidden_size != impl_->model.dims)
        throw Error("index " + impl_->file.path().string() + " was built with model '" + impl_->model.name +
                    "' (content hash " + impl_->model.content_hash + ", " + std::to_string(impl_->model.dims) +
                    " dims), but model '" + m.name + "' has content hash " + m.content_hash + " and " +
                    std::to_string(m.hidden_size) +
                    " dims: results would be meaningless. Install the index's model or rebuild the index.");
    impl_->encoder = std::move(encoder);
    impl_->make_sources();
}

void Index::load_encoder(const std::optional<std::filesystem::path>& model_dir, const EncoderOptions& options) {
    const std::filesystem::path dir = model_dir ? *model_dir : resolve_model(impl_->model.name);
    attach_encoder(std::shared_ptr<Encoder>(Encoder::load(dir, options)));
}

Encoder& Index::encoder() const {
    if (!impl_->encoder) throw Error("no encoder attached to index " + impl_->file.path().string());
    return *impl_->encoder;
}

void Index::set_cache_capacity(size_t vectors) {
    impl_->cache_capacity = vectors;
    impl_->make_sources();
}

void Index::clear_cache() {
    if (impl_->cached_source) impl_->cached_source->clear_lru();
}

SearchResult Index::search(std::string_view query, const SearchOptions& options) const {
    const auto start = std::chrono::steady_clock::now();
    Encoder& enc = encoder();
    std::vector<float> q(enc.dims());
    const std::string_view texts[] = {query};
    enc.encode(texts, q, TextRole::query);
    SearchResult result = search_vector(q, options);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

SearchResult Index::search_vector(std::span<const float> query, const SearchOptions& options,
                                  search::VectorSource* source, bool with_passages) const {
    Impl& x = *impl_;
    const auto start = std::chrono::steady_clock::now();
    if (query.size() != x.info.dim)
        throw Error("query has " + std::to_string(query.size()) + " dims, the index " + std::to_string(x.info.dim));
    std::vector<float> q(query.begin(), query.end());
    if (x.metric == Metric::cosine) normalize(q.data(), q.size());

    // A caller's source (benchmarks) still gets the index's hub cache; no LRU so counts stay per query.
    std::unique_ptr<search::CachedSource> wrapped;
    search::OracleSource nothing(nullptr, 0, x.info.dim);
    search::VectorSource* use = nullptr;
    if (source) {
        wrapped = std::make_unique<search::CachedSource>(*source, x.hub_ids, x.hub_vectors, 0);
        use = wrapped.get();
    } else if (x.cached_source) {
        use = x.cached_source.get();
    } else if (!options.recompute) {
        use = &nothing;  // PQ-only search fetches nothing
    } else {
        throw Error("no encoder attached to index " + x.file.path().string());
    }

    SearchResult result;
    auto searcher = x.acquire();
    std::vector<search::Hit> hits;
    try {
        hits = searcher->search(q.data(), *use, options, &result.stats);
    } catch (...) {
        x.release(std::move(searcher));
        throw;
    }
    x.release(std::move(searcher));

    std::vector<uint32_t> nodes;
    for (const auto& h : hits) nodes.push_back(h.node);
    std::vector<store::Passage> passages;
    if (with_passages) passages = x.passages.get_many(nodes);
    for (size_t i = 0; i < hits.size(); ++i) {
        Hit hit;
        hit.node = hits[i].node;
        hit.score = score_of_distance(hits[i].distance);
        if (with_passages) {
            hit.id = std::move(passages[i].id);
            hit.text = std::move(passages[i].text);
            hit.metadata = std::move(passages[i].metadata);
        }
        result.hits.push_back(std::move(hit));
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

IndexStats Index::stats() const {
    const Impl& x = *impl_;
    IndexStats s;
    s.path = x.file.path();
    s.format_version = x.file.format_version();
    s.chunks = x.info.nodes;
    s.deleted = x.info.deleted;
    s.edges = x.info.edges;
    s.hubs = x.info.hubs;
    s.max_level = x.info.upper_layers;
    s.file_bytes = x.file.file_size();
    s.raw_text_bytes = x.info.raw_text_bytes;
    s.config_json = x.meta.dump(2);
    auto describe = [](uint32_t tag) -> std::string {
        switch (tag) {
            case index::kInfo: return "counts and parameters";
            case index::kMeta: return "build configuration (JSON)";
            case index::kGraphOffsets: return "graph layer 0: row offsets";
            case index::kGraphNeighbors: return "graph layer 0: neighbour ids";
            case index::kGraphUpper: return "graph upper layers";
            case index::kPqCentroids: return "PQ codebooks";
            case index::kPqCodes: return "PQ codes";
            case index::kHubIds: return "hub cache: node ids";
            case index::kHubVectors: return "hub cache: exact vectors";
            case index::kTombstones: return "deleted-node bitmap";
            case index::kSources: return "source files read at build (JSON)";
            case store::kPassageData: return "passages (zstd blocks)";
            case store::kPassageIndex: return "passage block table (node -> block)";
        }
        return "unknown";
    };
    for (const auto& sec : x.file.sections())
        s.sections.push_back({store::tag_name(sec.tag), describe(sec.tag), sec.size});
    return s;
}

void Index::verify() const {
    const Impl& x = *impl_;
    x.file.verify();
    if (std::string problem = graph::check(x.context.graph); !problem.empty()) x.fail(index::kGraphNeighbors, problem);
    x.passages.verify();
}

std::vector<uint32_t> Index::exact_search(std::span<const float> query, std::span<const float> vectors,
                                          size_t k) const {
    const size_t dim = impl_->info.dim, n = impl_->info.nodes;
    if (query.size() != dim || vectors.size() != n * dim) throw Error("exact_search: sizes do not match the index");
    std::vector<float> q(query.begin(), query.end());
    std::vector<uint32_t> ids;
    if (impl_->metric != Metric::cosine) {
        for (const auto& h : search::exact_top_k(q.data(), vectors.data(), n, dim, impl_->metric, k))
            ids.push_back(h.node);
        return ids;
    }
    // Cosine: divide by each row's norm instead of copying and normalising the whole matrix on every call.
    normalize(q.data(), dim);
    std::vector<std::pair<float, uint32_t>> scored(n);
    for (size_t i = 0; i < n; ++i) {
        const float* row = vectors.data() + i * dim;
        const float norm = std::sqrt(dot(row, row, dim));
        scored[i] = {norm > 0 ? -dot(q.data(), row, dim) / norm : 0.0f, uint32_t(i)};
    }
    k = std::min(k, n);
    std::partial_sort(scored.begin(), scored.begin() + std::ptrdiff_t(k), scored.end());
    for (size_t i = 0; i < k; ++i) ids.push_back(scored[i].second);
    return ids;
}

Document Index::document(uint32_t node) const {
    store::Passage p = impl_->passages.get(node);
    return {std::move(p.id), std::move(p.text), std::move(p.metadata)};
}

std::string Index::sources() const {
    if (!impl_->file.has(index::kSources)) return {};
    auto bytes = impl_->file.section(index::kSources);
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::filesystem::path index_root() { return leann_home() / "indexes"; }

std::filesystem::path index_path_for_name(std::string_view name) {
    const bool ok = !name.empty() && name.size() <= 128 && name.front() != '.' &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                               c == '.' || c == '_' || c == '-';
                    });
    if (!ok)
        throw Error("index name '" + std::string(name) +
                    "' is not allowed: use letters, digits, '.', '_' and '-' (not starting with '.'), or --index PATH");
    return index_root() / std::string(name) / "index.leann";
}

std::filesystem::path index_path_for_argument(const std::filesystem::path& path) {
    if (std::filesystem::is_directory(path)) return path / "index.leann";
    return path;
}

}  // namespace leann
