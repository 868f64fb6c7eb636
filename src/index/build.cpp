// index room: building an index. Embed (or take) the vectors, build the HNSW graph, prune it, train PQ and encode
// every node, choose the hub cache, then write every section and rename the file into place. The vectors are
// dropped at the end: the file holds no embedding matrix (only the optional, budgeted hub cache).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include <xxhash.h>

#include "index/build.h"
#include "index/layout.h"
#include "keyword/keyword_index.h"
#include "leann/error.h"
#include "leann/index.h"
#include "leann/log.h"
#include "leann/version.h"
#include "pq/error_profile.h"
#include "pq/product_quantizer.h"
#include "store/passage_store.h"
#include "util/distance.h"
#include "util/json_limits.h"

namespace leann {

namespace {

using json = nlohmann::json;

}  // namespace

std::string index::utc_now() {
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

namespace {

template <class T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
    return std::as_bytes(std::span<const T>(v));
}

}  // namespace

namespace index {

uint64_t text_hash(std::string_view text) {
    return XXH3_64bits(text.data(), text.size());
}

size_t default_pq_bytes(size_t dim, std::span<const Document> documents) {
    // A recomputation costs in proportion to the passage's tokens, while the code's share of the index shrinks as
    // the passage's text grows: long passages get the finer code (on the Python docs tree, 256-token chunks, dims/4
    // halves the exact vectors a search needs at a higher recall for +48 bytes a chunk), short ones keep dims/8.
    uint64_t text_bytes = 0;
    for (const Document& d : documents) text_bytes += d.text.size();
    const bool long_passages = !documents.empty() && text_bytes >= kLongPassageBytes * documents.size();
    return std::max<size_t>(1, long_passages ? dim / 4 : dim / 8);
}

double quantization_error(const pq::ProductQuantizer& quantizer, const float* vectors, size_t n, size_t dim) {
    if (n == 0) return 0;
    const size_t step = std::max<size_t>(1, n / 4096);
    std::vector<uint8_t> code(quantizer.code_size());
    std::vector<float> back(dim);
    double sum = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i += step) {
        const float* x = vectors + i * dim;
        quantizer.encode(x, 1, code.data(), 1);
        quantizer.decode(code.data(), back.data());
        double err = 0, norm = 0;
        for (size_t j = 0; j < dim; ++j) {
            err += double(x[j] - back[j]) * double(x[j] - back[j]);
            norm += double(x[j]) * double(x[j]);
        }
        if (norm > 0) {
            sum += err / norm;
            ++count;
        }
    }
    return count ? sum / double(count) : 0;
}

std::vector<float> embed_documents(std::span<const Document> documents, Encoder& encoder, Metric metric,
                                   const BuildOptions& options) {
    const size_t n = documents.size(), dim = encoder.dims();
    std::vector<float> vectors(n * dim);
    const size_t batch = std::max<size_t>(1, options.encode_batch);
    // A call holds at least `batch` full-length chunks (a 256-token chunk of prose or code is 1-1.5 KiB, under
    // kCallBytesPerText) and at most 16 x batch texts: short records go by the hundred, so the encoder packs
    // dozens into each forward pass (with the passes by tokens, 2,000 WordNet glosses built 8-15% faster), while a call,
    // its progress report and interrupt check still come every second or so.
    constexpr size_t kCallBytesPerText = 2048;
    const size_t byte_budget = batch * kCallBytesPerText, max_texts = batch * 16;
    std::vector<std::string_view> texts;
    if (options.progress) options.progress("embed", 0, n);  // the stage starts now, not when the first call ends
    for (size_t begin = 0, end = 0; begin < n; begin = end) {
        size_t bytes = 0;
        for (end = begin;
             end < n && end - begin < max_texts && (end == begin || bytes + documents[end].text.size() <= byte_budget);
             ++end)
            bytes += documents[end].text.size();
        texts.clear();
        for (size_t i = begin; i < end; ++i) texts.emplace_back(documents[i].text);
        encoder.encode(texts, std::span<float>(vectors.data() + begin * dim, (end - begin) * dim), TextRole::passage);
        if (options.progress) options.progress("embed", end, n);
    }
    if (metric == Metric::cosine)
        for (size_t i = 0; i < n; ++i) normalize(vectors.data() + i * dim, dim);
    return vectors;
}

/// Writes the index for normalised (when cosine) vectors; `vectors` is n x dims.
void write_index(const std::filesystem::path& path, std::span<const Document> documents, const float* vectors,
                 const IndexModel& model, Metric metric, const BuildOptions& options, const BuildRecord& record) {
    const size_t n = documents.size(), dim = model.dims;
    if (n >= UINT32_MAX) throw Error("too many chunks for one index (at most 4294967294)");
    auto progress = [&](std::string_view stage) {
        return [&options, stage](size_t done, size_t total) {
            if (options.progress) options.progress(stage, done, total);
        };
    };

    graph::BuildParams hnsw;
    hnsw.max_degree = options.graph.max_degree;
    hnsw.ef_construction = options.graph.ef_construction;
    hnsw.threads = options.threads;
    graph::Graph g = graph::build_hnsw(vectors, n, dim, metric, hnsw, progress("graph"));
    const size_t edges_before = g.edges();
    if (options.graph.prune) {
        graph::PruneParams prune;
        prune.hub_degree = options.graph.hub_degree;
        prune.degree = options.graph.pruned_degree;
        prune.hub_fraction = options.graph.hub_fraction;
        prune.threads = options.threads;
        g = graph::prune(g, vectors, dim, metric, prune, progress("prune"));
    }

    pq::TrainParams train;
    train.code_bytes = options.pq_bytes ? options.pq_bytes : default_pq_bytes(dim, documents);
    train.threads = options.threads;
    if (options.progress) options.progress("pq", 0, 1);
    const pq::ProductQuantizer quantizer = pq::ProductQuantizer::train(vectors, n, dim, train);
    std::vector<uint8_t> codes(n * quantizer.code_size());
    quantizer.encode(vectors, n, codes.data(), options.threads);
    pq::ErrorProfileParams profile_params;
    profile_params.threads = options.threads;
    const pq::ErrorProfile profile =
        pq::ErrorProfile::measure(quantizer, codes.data(), vectors, n, dim, metric, profile_params);
    if (options.progress) options.progress("pq", 1, 1);

    // Hub cache: exact vectors of the highest-degree nodes, as many as the budget allows.
    const graph::GraphView view(g);
    std::vector<uint32_t> hubs = graph::nodes_by_degree(view);
    hubs.resize(std::min(hubs.size(), options.hub_cache_bytes / (dim * sizeof(float) + sizeof(uint32_t))));
    std::sort(hubs.begin(), hubs.end());
    std::vector<float> hub_vectors(hubs.size() * dim);
    for (size_t i = 0; i < hubs.size(); ++i)
        std::copy_n(vectors + size_t(hubs[i]) * dim, dim, hub_vectors.begin() + i * dim);

    store::PassageStoreWriter passages;
    std::vector<uint64_t> hashes;
    keyword::SegmentBuilder keywords(0);
    hashes.reserve(n);
    for (const Document& d : documents) {
        passages.add(d.id, d.text, d.metadata);
        hashes.push_back(text_hash(d.text));
        keywords.add_passage(d.text, d.metadata);
    }

    index::Info info;
    info.nodes = uint32_t(n);
    info.dim = uint32_t(dim);
    info.metric = uint32_t(metric);
    info.subquantizers = uint32_t(quantizer.subquantizers());
    info.upper_layers = uint32_t(g.upper.size());
    info.entry_point = g.entry_point;
    info.hubs = uint32_t(hubs.size());
    info.edges = g.edges();
    info.raw_text_bytes = passages.raw_text_bytes();

    json chunking = json_limits::parse_or_discarded(options.chunking);
    if (chunking.is_discarded() || !chunking.is_object())
        throw Error("build: chunking parameters must be a JSON object");
    const json meta = {
        {"format", "leann-index"},
        {"program_version", std::string(version())},
        {"created", utc_now()},
        {"model",
         {{"name", model.name},
          {"content_hash", model.content_hash},
          {"dims", dim},
          {"precision", model.precision.empty() ? "fp32" : model.precision}}},
        {"metric", std::string(metric_name(metric))},
        {"graph",
         {{"max_degree", options.graph.max_degree},
          {"ef_construction", options.graph.ef_construction},
          {"pruned", options.graph.prune},
          {"hub_degree", options.graph.hub_degree},
          {"pruned_degree", options.graph.pruned_degree},
          {"hub_fraction", options.graph.hub_fraction},
          {"edges_before_pruning", edges_before},
          {"edges", g.edges()},
          {"upper_layers", g.upper.size()}}},
        {"pq",
         {{"subquantizers", quantizer.subquantizers()},
          {"bits", 8},
          {"code_bytes", quantizer.code_size()},
          {"error", quantization_error(quantizer, vectors, n, dim)},
          {"rerank_margins", profile.points()}}},
        {"hub_cache", {{"budget_bytes", options.hub_cache_bytes}, {"nodes", hubs.size()}}},
        {"chunking", chunking},
        {"counts", {{"chunks", n}, {"raw_text_bytes", passages.raw_text_bytes()}}},
    };
    const std::string meta_text = meta.dump(2);

    if (options.progress) options.progress("write", 0, 1);
    std::filesystem::create_directories(path.parent_path().empty() ? "." : path.parent_path());
    store::IndexFileWriter out(path);
    out.set_generation(record.generation);
    out.add_section(index::kInfo, std::as_bytes(std::span<const index::Info>(&info, 1)));
    out.add_section(index::kMeta, std::as_bytes(std::span<const char>(meta_text.data(), meta_text.size())));
    out.add_section(index::kGraphOffsets, bytes_of(g.base.offsets));
    out.add_section(index::kGraphNeighbors, bytes_of(g.base.neighbors));
    out.add_section(index::kGraphUpper, bytes_of(index::encode_upper(g)));
    out.add_section(index::kPqCentroids, std::as_bytes(quantizer.centroids()));
    out.add_section(index::kPqCodes, bytes_of(codes));
    out.add_section(index::kHubIds, bytes_of(hubs));
    out.add_section(index::kHubVectors, bytes_of(hub_vectors));
    out.add_section(index::kTombstones, bytes_of(std::vector<uint8_t>((n + 7) / 8, 0)));
    out.add_section(index::kChunkHashes, bytes_of(hashes));
    out.add_section(keyword::kKeywordSection, keywords.encode());
    const std::string& sources = record.manifest.empty() ? options.sources : record.manifest;
    if (!sources.empty())
        out.add_section(index::kSources, std::as_bytes(std::span<const char>(sources.data(), sources.size())));
    passages.write(out);
    out.commit();
    if (options.progress) options.progress("write", 1, 1);
}

}  // namespace index

void Index::build(const std::filesystem::path& path, std::span<const Document> documents, Encoder& encoder,
                  const BuildOptions& options) {
    if (documents.empty()) throw Error("nothing to index: no documents");
    const Metric metric = options.metric.value_or(encoder.info().similarity);
    const std::vector<float> vectors = index::embed_documents(documents, encoder, metric, options);
    const IndexModel model{encoder.info().name, encoder.info().content_hash, encoder.dims(),
                           precision_name(encoder.precision())};
    index::write_index(path, documents, vectors.data(), model, metric, options, {});
}

void Index::build_from_vectors(const std::filesystem::path& path, std::span<const Document> documents,
                               std::span<const float> vectors, const IndexModel& model, Metric metric,
                               const BuildOptions& options) {
    if (documents.empty()) throw Error("nothing to index: no documents");
    if (model.dims == 0 || vectors.size() != documents.size() * model.dims)
        throw Error("build: " + std::to_string(vectors.size()) + " floats do not make " +
                    std::to_string(documents.size()) + " vectors of " + std::to_string(model.dims));
    if (metric != Metric::cosine) {
        index::write_index(path, documents, vectors.data(), model, metric, options, {});
        return;
    }
    std::vector<float> normalised(vectors.begin(), vectors.end());
    for (size_t i = 0; i < documents.size(); ++i) normalize(normalised.data() + i * model.dims, model.dims);
    index::write_index(path, documents, normalised.data(), model, metric, options, {});
}

}  // namespace leann
