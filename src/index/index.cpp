// index room: opening and searching an index. Open maps the file, checks every section but the passage data
// (whose zstd frames carry their own checksums and are checked when read, and by verify()), and builds views over
// the mapping: nothing is copied except the PQ centroids.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "graph/update.h"
#include "index/index_impl.h"
#include "index/layout.h"
#include "index/manifest.h"
#include "leann/error.h"
#include "leann/index.h"
#include "leann/log.h"
#include "leann/model.h"
#include "pq/error_profile.h"
#include "pq/product_quantizer.h"
#include "search/two_level_search.h"
#include "search/vector_source.h"
#include "store/passage_store.h"
#include "util/distance.h"
#include "util/json_limits.h"

namespace leann {

using json = nlohmann::json;

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::Index(Index&&) noexcept = default;
Index& Index::operator=(Index&&) noexcept = default;
Index::~Index() = default;

namespace {

size_t first_non_finite(std::span<const float> values) {
    for (size_t i = 0; i < values.size(); ++i)
        if (!std::isfinite(values[i])) return i;
    return values.size();
}

// A model recorded in META is looked up by name in the model cache; a name that is a path (absolute, with a
// separator, "." or "..") would load a model folder from wherever it points before the hash check refused it.
bool is_plain_model_name(std::string_view name) {
    if (name.empty() || name == "." || name == "..") return false;
    for (const char c : name)
        if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
}

// META pq.rerank_margins (since issue 12; older files have none): [[confidence, margin], ...] for the adaptive
// re-rank. Anything malformed is logged and ignored: the search then re-ranks a fixed number of candidates.
pq::ErrorProfile read_error_profile(const nlohmann::json& meta, const std::string& path) {
    const auto pq = meta.find("pq");
    if (pq == meta.end() || !pq->is_object()) return {};
    const auto margins = pq->find("rerank_margins");
    if (margins == pq->end()) return {};
    std::vector<std::pair<double, float>> points;
    bool ok = margins->is_array() && margins->size() <= 64;
    for (size_t i = 0; ok && i < margins->size(); ++i) {
        const auto& p = (*margins)[i];
        ok = p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number();
        // A margin outside float's range would be undefined behaviour to convert: malformed.
        ok = ok && std::abs(p[1].get<double>()) <= double(std::numeric_limits<float>::max());
        if (ok) points.emplace_back(p[0].get<double>(), float(p[1].get<double>()));
    }
    pq::ErrorProfile profile = ok ? pq::ErrorProfile::from_points(std::move(points)) : pq::ErrorProfile{};
    if (profile.empty() && !(margins->is_array() && margins->empty()))
        log(LogLevel::warn, path + ": META pq.rerank_margins is malformed; searches re-rank a fixed " +
                                std::to_string(search::kFallbackRerank) + " candidates");
    return profile;
}

}  // namespace

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
    if (info.deleted > info.nodes)
        x.fail(index::kInfo, "deleted count " + std::to_string(info.deleted) + " exceeds the node count " +
                                 std::to_string(info.nodes));
    if (info.hubs > info.nodes)
        x.fail(index::kInfo, "hub count " + std::to_string(info.hubs) + " exceeds the node count " +
                                 std::to_string(info.nodes));
    // Every node has a PQ code of at least one byte in the file, so a node count past the file size is a lie; it
    // would size the per-node tables below (a fuzzed file asked for 12 GB here).
    if (info.nodes > x.file.file_size())
        x.fail(index::kInfo, "declares " + std::to_string(info.nodes) + " nodes, more than a file of " +
                                 std::to_string(x.file.file_size()) + " bytes can hold");
    x.metric = Metric(info.metric);

    auto meta_bytes = x.file.section(index::kMeta);
    std::string why;
    x.meta = json_limits::parse_or_discarded(
        std::string_view(reinterpret_cast<const char*>(meta_bytes.data()), meta_bytes.size()), &why);
    if (x.meta.is_discarded()) x.fail(index::kMeta, why);
    if (!x.meta.is_object() || !x.meta.contains("model") || !x.meta["model"].is_object())
        x.fail(index::kMeta, "not a JSON object with a model");
    // META.model fields are strings; anything else is a FormatError naming the field (not nlohmann's type_error).
    auto meta_string = [&x](const char* field) {
        const json& model = x.meta["model"];
        const auto it = model.find(field);
        if (it == model.end()) return std::string();
        if (!it->is_string()) x.fail(index::kMeta, std::string("model.") + field + " is not a string");
        return it->get<std::string>();
    };
    x.model.name = meta_string("name");
    x.model.content_hash = meta_string("content_hash");
    // The name picks a folder in the model cache (load_encoder): it must not be a path that leads elsewhere.
    if (!is_plain_model_name(x.model.name)) {
        std::string shown = x.model.name.substr(0, 200);  // for the message: no control characters, bounded
        for (char& c : shown)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
        x.fail(index::kMeta, "model.name '" + shown + "' is not a plain model name (a path or empty)");
    }
    if (auto p = x.meta["model"].find("precision"); p != x.meta["model"].end() && p->is_string())
        x.model.precision = p->get<std::string>();
    x.model.dims = info.dim;

    auto& view = x.context.graph;
    view.nodes = info.nodes;
    view.entry_point = info.entry_point;
    auto base_offsets = x.file.array<uint32_t>(index::kGraphOffsets);
    if (base_offsets.empty() || base_offsets.size() - 1 > info.nodes)
        x.fail(index::kGraphOffsets, "holds " + std::to_string(base_offsets.size()) + " offsets for " +
                                         std::to_string(info.nodes) + " nodes");
    auto base_neighbors = x.file.array<uint32_t>(index::kGraphNeighbors);
    const size_t base_rows = base_offsets.size() - 1;
    if (base_offsets.front() != 0 || base_offsets.back() != base_neighbors.size())
        x.fail(index::kGraphOffsets, "offsets do not cover the neighbours");
    const auto patches = x.file.segments(index::kGraphPatch);
    if (patches.empty() && base_rows == info.nodes) {
        view.base = graph::CsrView(base_offsets, base_neighbors);
    } else {
        // After updates: rows from the base CSR, replaced by the patches in table order (later wins); nodes past
        // the base that no patch names have no edges.
        std::vector<std::span<const uint32_t>> rows(info.nodes);
        for (size_t r = 1; r < base_offsets.size(); ++r)
            if (base_offsets[r] < base_offsets[r - 1]) x.fail(index::kGraphOffsets, "offsets decrease");
        const graph::CsrView base(base_offsets, base_neighbors);
        for (size_t r = 0; r < base_rows; ++r) rows[r] = base.row(r);
        for (const auto& bytes : patches) {
            if (bytes.size() % 4 != 0) x.fail(index::kGraphPatch, "size is not a multiple of 4");
            const auto words = std::span<const uint32_t>(reinterpret_cast<const uint32_t*>(bytes.data()),
                                                         bytes.size() / 4);
            const index::GraphPatch patch = index::decode_patch(words, info.nodes, file_name);
            for (size_t i = 0; i < patch.ids.size(); ++i) rows[patch.ids[i]] = patch.rows.row(i);
        }
        graph::Csr& merged = x.merged_graph;
        merged.offsets.assign(1, 0);
        for (const auto& row : rows) {
            merged.neighbors.insert(merged.neighbors.end(), row.begin(), row.end());
            if (merged.neighbors.size() > UINT32_MAX) x.fail(index::kGraphPatch, "more than 2^32-1 edges");
            merged.offsets.push_back(uint32_t(merged.neighbors.size()));
        }
        view.base = graph::CsrView(merged);
    }
    if (view.base.neighbors.size() != info.edges)
        x.fail(index::kGraphNeighbors, "holds " + std::to_string(view.base.neighbors.size()) + " edges, INFO says " +
                                           std::to_string(info.edges));
    index::decode_upper(x.file.array<uint32_t>(index::kGraphUpper), view, file_name);
    if (view.upper.size() != info.upper_layers) x.fail(index::kGraphUpper, "layer count disagrees with INFO");
    if (std::string problem = graph::check(view); !problem.empty()) x.fail(index::kGraphNeighbors, problem);

    const size_t sub_dim = info.dim / info.subquantizers;
    auto centroids = x.file.array<float>(index::kPqCentroids, size_t(info.subquantizers) * pq::kCentroids * sub_dim);
    // A NaN or infinite centroid poisons every PQ distance (searches that order by them would stall or return
    // nothing): refused here, where it costs 256 x dim floats.
    if (size_t at = first_non_finite(centroids); at != centroids.size())
        x.fail(index::kPqCentroids, "value " + std::to_string(at) + " is not a finite number");
    x.quantizer = pq::ProductQuantizer::from_centroids(info.dim, info.subquantizers, centroids);
    x.context.pq = &x.quantizer;
    x.context.error_profile = read_error_profile(x.meta, x.file.path().string());
    const size_t code_bytes = size_t(info.nodes) * info.subquantizers;
    const auto code_segments = x.file.segments(index::kPqCodes);
    if (code_segments.size() == 1) {
        x.context.codes = x.file.array<uint8_t>(index::kPqCodes, code_bytes);
    } else {
        for (const auto& seg : code_segments) {
            const auto* p = reinterpret_cast<const uint8_t*>(seg.data());
            x.joined_codes.insert(x.joined_codes.end(), p, p + seg.size());
        }
        if (x.joined_codes.size() != code_bytes)
            x.fail(index::kPqCodes, "segments hold " + std::to_string(x.joined_codes.size()) + " bytes, expected " +
                                        std::to_string(code_bytes));
        x.context.codes = x.joined_codes;
    }
    x.context.metric = x.metric;
    for (const auto& seg : x.file.segments(index::kChunkHashes)) {
        if (seg.size() % 8 != 0) x.fail(index::kChunkHashes, "size is not a multiple of 8");
        const size_t before = x.chunk_hashes.size();
        x.chunk_hashes.resize(before + seg.size() / 8);
        if (!seg.empty()) std::memcpy(x.chunk_hashes.data() + before, seg.data(), seg.size());  // no null memcpy
    }
    if (x.file.has(index::kChunkHashes) && x.chunk_hashes.size() != info.nodes)
        x.fail(index::kChunkHashes, "holds " + std::to_string(x.chunk_hashes.size()) + " hashes for " +
                                        std::to_string(info.nodes) + " nodes");

    x.hub_ids = x.file.array<uint32_t>(index::kHubIds, info.hubs);
    x.hub_vectors = x.file.array<float>(index::kHubVectors, size_t(info.hubs) * info.dim);
    for (size_t i = 0; i < x.hub_ids.size(); ++i)
        if (x.hub_ids[i] >= info.nodes || (i > 0 && x.hub_ids[i] <= x.hub_ids[i - 1]))
            x.fail(index::kHubIds, "ids must be ascending node ids");
    if (size_t at = first_non_finite(x.hub_vectors); at != x.hub_vectors.size())
        x.fail(index::kHubVectors, "value " + std::to_string(at) + " (hub " + std::to_string(at / info.dim) +
                                       ") is not a finite number");
    x.context.deleted = x.file.array<uint8_t>(index::kTombstones, (size_t(info.nodes) + 7) / 8);
    size_t deleted = 0;
    for (uint8_t byte : x.context.deleted) deleted += size_t(std::popcount(byte));
    if (const size_t tail = info.nodes % 8; tail != 0 && !x.context.deleted.empty() &&
                                            (x.context.deleted.back() >> tail) != 0)
        x.fail(index::kTombstones, "bits set past the last node");
    if (deleted != info.deleted)
        x.fail(index::kTombstones, std::to_string(deleted) + " nodes marked deleted, INFO says " +
                                       std::to_string(info.deleted));
    x.passages = store::PassageStore(x.file, info.nodes);
    return Index(std::move(impl));
}

const IndexModel& Index::model() const { return impl_->model; }
Metric Index::metric() const { return impl_->metric; }
size_t Index::size() const { return impl_->info.nodes; }

void Index::Impl::attach(std::shared_ptr<Encoder> e) {
    const ModelInfo& m = e->info();
    if (m.content_hash != model.content_hash || m.hidden_size != model.dims)
        throw Error("index " + file.path().string() + " was built with model '" + model.name + "' (content hash " +
                    model.content_hash + ", " + std::to_string(model.dims) + " dims), but model '" + m.name +
                    "' has content hash " + m.content_hash + " and " + std::to_string(m.hidden_size) +
                    " dims: results would be meaningless. Install the index's model or rebuild the index.");
    encoder = std::move(e);
    make_sources();
}

void Index::attach_encoder(std::shared_ptr<Encoder> encoder) {
    std::lock_guard lock(impl_->encoder_mutex);
    impl_->pending_encoder = nullptr;
    impl_->attach(std::move(encoder));
}

void Index::load_encoder(const std::optional<std::filesystem::path>& model_dir, const EncoderOptions& options) {
    const std::filesystem::path dir = model_dir ? *model_dir : resolve_model(impl_->model.name);
    EncoderOptions resolved = options;
    if (resolved.precision == Precision::automatic) resolved.precision = automatic_precision();
    attach_encoder(std::shared_ptr<Encoder>(Encoder::load(dir, resolved)));
}

Precision Index::automatic_precision() const {
    // The build's precision where this CPU runs it (an unrecorded one is an older, fp32 build); else fp32,
    // which every precision approximates.
    Precision built = Precision::fp32;
    try {
        if (!impl_->model.precision.empty()) built = parse_precision(impl_->model.precision);
    } catch (const Error&) {
        log(LogLevel::warn, impl_->file.path().string() + ": META model.precision \"" + impl_->model.precision +
                                "\" is unknown; searching in fp32");
    }
    return built != Precision::automatic && precision_supported(built) ? built : Precision::fp32;
}

void Index::load_encoder_when_needed(const std::optional<std::filesystem::path>& model_dir,
                                     const EncoderOptions& options) {
    EncoderOptions resolved = options;
    if (resolved.precision == Precision::automatic) resolved.precision = automatic_precision();
    std::lock_guard lock(impl_->encoder_mutex);
    Impl* x = impl_.get();  // stays put when the Index is moved
    // The model is looked up when needed too: a keyword search works without it installed.
    impl_->pending_encoder = [x, model_dir, resolved] {
        const std::filesystem::path dir = model_dir ? *model_dir : resolve_model(x->model.name);
        x->attach(std::shared_ptr<Encoder>(Encoder::load(dir, resolved)));
    };
}

Encoder& Index::encoder() const {
    impl_->ensure_encoder();
    if (!impl_->encoder) throw Error("no encoder attached to index " + impl_->file.path().string());
    return *impl_->encoder;
}

void Index::set_cache_capacity(size_t vectors) {
    impl_->cache_capacity = vectors;
    std::lock_guard lock(impl_->encoder_mutex);  // the sources change under the lock that loads the encoder
    impl_->make_sources();
}

void Index::clear_cache() {
    std::lock_guard lock(impl_->encoder_mutex);  // a lazy load may be creating the sources
    if (impl_->cached_source) impl_->cached_source->clear_lru();
}

SearchResult Index::search(std::string_view query, const SearchOptions& options) const {
    if (options.mode != SearchMode::vector) return detail::IndexInternals::search_text(*this, query, options);
    const auto start = std::chrono::steady_clock::now();
    Encoder& enc = encoder();
    std::vector<float> q(enc.dims());
    const std::string_view texts[] = {query};
    enc.encode(texts, q, TextRole::query);
    SearchResult result = search_vector(q, options);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

SearchResult Index::search_vector(std::span<const float> query, const SearchOptions& options) const {
    return detail::IndexInternals::search(*this, query, options, nullptr, true);
}

SearchResult detail::IndexInternals::search(const Index& index, std::span<const float> query,
                                            const SearchOptions& options, search::VectorSource* source,
                                            bool with_passages) {
    Index::Impl& x = *index.impl_;
    const auto start = std::chrono::steady_clock::now();
    if (!source && options.recompute) x.ensure_encoder();
    search::CachedSource* cached = nullptr;  // read under the lock a lazy load writes it under
    {
        std::lock_guard lock(x.encoder_mutex);
        cached = x.cached_source.get();
    }
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
    } else if (cached) {
        use = cached;
    } else if (!options.recompute) {
        use = &nothing;  // PQ-only search fetches nothing
    } else {
        throw Error("no encoder attached to index " + x.file.path().string());
    }

    std::vector<uint8_t> allowed;
    search::NodeFilter node_filter;
    if (!options.filter.empty()) {
        allowed = index::match_filter(*x.chunks(), x.context.deleted, options.filter, node_filter.count);
        node_filter.allowed = allowed;
    }

    SearchResult result;
    auto searcher = x.acquire();
    std::vector<search::Hit> hits;
    try {
        hits = searcher->search(q.data(), *use, options, &result.stats, nullptr,
                                options.filter.empty() ? nullptr : &node_filter);
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
    s.generation = x.file.generation();
    s.reclaimable_bytes = x.file.file_size() - std::min(x.file.file_size(), x.file.live_bytes());
    if (auto pq = x.meta.find("pq"); pq != x.meta.end() && pq->is_object()) {
        s.pq_error = pq->value("error", 0.0);
        s.pq_added = pq->value("added", size_t{0});
        s.pq_added_error = pq->value("added_error", 0.0);
    }
    s.adaptive_rerank = !x.context.error_profile.empty();
    if (!s.adaptive_rerank && x.info.nodes > search::kFallbackRerank)  // (smaller ones re-rank everything anyway)
        s.advice.push_back("built before leann measured its PQ error margins, so searches re-rank a fixed " +
                           std::to_string(search::kFallbackRerank) +
                           " candidates; a fresh build (leann build --force) lets them stop early");
    const size_t live = x.info.nodes - std::min(x.info.nodes, x.info.deleted);
    if (x.info.deleted > 0 && double(x.info.deleted) > 0.1 * double(x.info.nodes))
        s.advice.push_back(std::to_string(x.info.deleted) + " deleted chunks (" +
                           std::to_string(int(100.0 * x.info.deleted / std::max<uint32_t>(1, x.info.nodes))) +
                           "% of the nodes) still take room; they are compacted away at 25%");
    if (s.pq_added >= std::max<size_t>(100, live / 20) && s.pq_error > 0 && s.pq_added_error > 1.25 * s.pq_error)
        s.advice.push_back("chunks added since the build quantise " +
                           std::to_string(int(100.0 * (s.pq_added_error / s.pq_error - 1.0) + 0.5)) +
                           "% worse than the build's (PQ error " + std::to_string(s.pq_added_error) + " vs " +
                           std::to_string(s.pq_error) +
                           "): a fresh build (leann build --force) would retrain the codebook and pay off");
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
            case index::kSources: return "source manifest: files, stamps, chunk map (zstd JSON)";
            case index::kGraphPatch: return "graph layer 0: rows changed by updates";
            case index::kChunkHashes: return "text hash per chunk (finds unchanged text on update)";
            case store::kPassageData: return "passages (zstd blocks)";
            case store::kPassageIndex: return "passage block table (node -> block)";
            case keyword::kKeywordSection: return "keyword index: BM25 postings (zstd)";
        }
        return "unknown";
    };
    std::map<uint32_t, size_t> segments;
    for (const auto& sec : x.file.sections()) {
        if (sec.tag == keyword::kKeywordSection) s.keyword_bytes += sec.size;
        if (sec.tag == store::kPassageData) s.passage_bytes += sec.size;
        const std::string tag = store::tag_name(sec.tag);
        auto it = std::find_if(s.sections.begin(), s.sections.end(), [&](const SectionSize& t) { return t.tag == tag; });
        if (it == s.sections.end()) {
            s.sections.push_back({tag, describe(sec.tag), sec.size});
        } else {
            it->bytes += sec.size;
            it->what = describe(sec.tag) + " (" + std::to_string(++segments[sec.tag] + 1) + " segments)";
        }
    }
    return s;
}

void Index::verify() const {
    const Impl& x = *impl_;
    x.file.verify();
    if (std::string problem = graph::check(x.context.graph); !problem.empty()) x.fail(index::kGraphNeighbors, problem);
    if (std::string problem = graph::check_live(x.context.graph, x.context.deleted); !problem.empty())
        x.fail(x.file.has(index::kGraphPatch) ? index::kGraphPatch : index::kGraphNeighbors, problem);
    if (x.file.has(index::kSources)) {
        const auto manifest = index::Manifest::decode(x.file.section(index::kSources), x.file.path().string());
        if (manifest.has_nodes) {
            const std::vector<uint8_t> listed = manifest.listed_nodes(x.info.nodes, x.file.path().string());
            for (uint32_t v = 0; v < x.info.nodes; ++v)
                if (bool(listed[v]) != live(v))
                    x.fail(index::kSources, "node " + std::to_string(v) + (listed[v] ? " is deleted but listed"
                                                                                     : " is live but not listed") +
                                                " in the source manifest");
        }
    }
    x.passages.verify();
    if (x.file.has(keyword::kKeywordSection)) impl_->keywords().verify();
}

bool Index::live(uint32_t node) const {
    const Impl& x = *impl_;
    return node < x.info.nodes && !((x.context.deleted[node >> 3] >> (node & 7)) & 1);
}

std::vector<uint32_t> Index::exact_search(std::span<const float> query, std::span<const float> vectors,
                                          size_t k) const {
    const size_t dim = impl_->info.dim, n = impl_->info.nodes;
    if (query.size() != dim || vectors.size() != n * dim) throw Error("exact_search: sizes do not match the index");
    std::vector<float> q(query.begin(), query.end());
    std::vector<uint32_t> ids;
    if (impl_->metric != Metric::cosine) {
        for (const auto& h : search::exact_top_k(q.data(), vectors.data(), n, dim, impl_->metric, n))
            if (live(h.node) && ids.size() < k) ids.push_back(h.node);
        return ids;
    }
    // Cosine: divide by each row's norm instead of copying and normalising the whole matrix on every call.
    normalize(q.data(), dim);
    std::vector<std::pair<float, uint32_t>> scored(n);
    for (size_t i = 0; i < n; ++i) {
        const float* row = vectors.data() + i * dim;
        const float norm = std::sqrt(dot(row, row, dim));
        scored[i] = {!live(uint32_t(i)) ? std::numeric_limits<float>::infinity()
                     : norm > 0           ? -dot(q.data(), row, dim) / norm
                                          : 0.0f,
                     uint32_t(i)};
    }
    k = std::min(k, n);
    std::partial_sort(scored.begin(), scored.begin() + std::ptrdiff_t(k), scored.end());
    for (size_t i = 0; i < k; ++i)
        if (live(scored[i].second)) ids.push_back(scored[i].second);
    return ids;
}

std::shared_ptr<const index::ChunkTable> Index::Impl::chunks() const {
    std::lock_guard lock(chunk_table_mutex);
    if (!chunk_table) {
        std::optional<index::Manifest> manifest;
        if (file.has(index::kSources)) manifest = index::Manifest::decode(file.section(index::kSources), file.path().string());
        chunk_table = std::make_shared<const index::ChunkTable>(
            index::build_chunk_table(passages, context.deleted, manifest ? &*manifest : nullptr));
    }
    return chunk_table;
}

std::vector<uint32_t> Index::matching(const Filter& filter) const {
    size_t count = 0;
    const std::vector<uint8_t> bits = index::match_filter(*impl_->chunks(), impl_->context.deleted, filter, count);
    std::vector<uint32_t> nodes;
    nodes.reserve(count);
    for (uint32_t v = 0; v < impl_->info.nodes; ++v)
        if ((bits[v >> 3] >> (v & 7)) & 1) nodes.push_back(v);
    return nodes;
}

Document Index::document(uint32_t node) const {
    store::Passage p = impl_->passages.get(node);
    return {std::move(p.id), std::move(p.text), std::move(p.metadata)};
}

std::string Index::sources() const {
    if (!impl_->file.has(index::kSources)) return {};
    return index::Manifest::decode(impl_->file.section(index::kSources), impl_->file.path().string()).json_text();
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
