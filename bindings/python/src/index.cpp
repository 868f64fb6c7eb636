// Index: build, open, search, describe and check (leann/index.h), with its options and results.
#include <leann/error.h>
#include <leann/index.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nanobind/ndarray.h>
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"

namespace leann::python {

namespace {

using Vector = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Matrix = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

void bind_options(nb::module_& m) {
    nb::class_<GraphOptions>(m, "GraphOptions", "Graph construction and pruning (docs/architecture.md).")
        .def(nb::init<>())
        .def_rw("max_degree", &GraphOptions::max_degree, "M of the HNSW construction.")
        .def_rw("ef_construction", &GraphOptions::ef_construction)
        .def_rw("prune", &GraphOptions::prune, "High-degree-preserving pruning.")
        .def_rw("hub_degree", &GraphOptions::hub_degree)
        .def_rw("pruned_degree", &GraphOptions::pruned_degree)
        .def_rw("hub_fraction", &GraphOptions::hub_fraction);

    nb::class_<BuildOptions>(m, "BuildOptions", "How an index is built.")
        .def(nb::init<>())
        .def_rw("graph", &BuildOptions::graph)
        .def_rw("pq_bytes", &BuildOptions::pq_bytes,
                "PQ code bytes per chunk (0: dims / 4 when the passages average 512 bytes or more, else dims / 8).")
        .def_rw("hub_cache_bytes", &BuildOptions::hub_cache_bytes)
        .def_rw("metric", &BuildOptions::metric, "None: the model's similarity.")
        .def_rw("threads", &BuildOptions::threads, "0: every core.")
        .def_rw("encode_batch", &BuildOptions::encode_batch)
        .def_rw("chunking", &BuildOptions::chunking, "Chunking parameters recorded in the index (JSON text).");

    nb::class_<SearchOptions>(m, "SearchOptions", "Query-time knobs (leann/search_options.h).")
        .def(nb::init<>())
        .def_rw("top_k", &SearchOptions::top_k)
        .def_rw("complexity", &SearchOptions::complexity, "Search list size; 0 = auto.")
        .def_rw("recompute_share", &SearchOptions::recompute_share)
        .def_rw("rerank", &SearchOptions::rerank)
        .def_rw("rerank_confidence", &SearchOptions::rerank_confidence)
        .def_rw("rerank_limit", &SearchOptions::rerank_limit)
        .def_rw("batch_size", &SearchOptions::batch_size)
        .def_rw("recompute", &SearchOptions::recompute, "False: PQ-ranked, approximate scores.")
        .def_rw("mode", &SearchOptions::mode, "SearchMode: vector (default), keyword (BM25) or hybrid.")
        .def_rw("fusion", &SearchOptions::fusion, "Hybrid: HybridFusion.rrf (default) or convex.")
        .def_rw("vector_weight", &SearchOptions::vector_weight,
                "Hybrid: weight of the vector side in [0, 1]; the keyword side gets 1 - vector_weight.")
        .def_rw("rrf_k", &SearchOptions::rrf_k, "The constant of reciprocal rank fusion.")
        .def_rw("keyword_candidates", &SearchOptions::keyword_candidates,
                "Hybrid: best BM25 hits recomputed with the vector side's re-rank batch (0 = max(top_k, 16)).")
        .def_rw("filter", &SearchOptions::filter,
                "Filter: only matching chunks are returned (the top-k of them); empty = all.");

    nb::class_<SearchStats>(m, "SearchStats")
        .def_ro("expansions", &SearchStats::expansions)
        .def_ro("pq_distances", &SearchStats::pq_distances)
        .def_ro("recomputed", &SearchStats::recomputed)
        .def_ro("lru_hits", &SearchStats::lru_hits)
        .def_ro("hub_hits", &SearchStats::hub_hits)
        .def_ro("batches", &SearchStats::batches)
        .def_ro("keyword_terms", &SearchStats::keyword_terms)
        .def_ro("keyword_postings", &SearchStats::keyword_postings)
        .def_ro("keyword_matches", &SearchStats::keyword_matches);
}

void bind_results(nb::module_& m) {
    nb::class_<Document>(m, "Document", "One chunk to index: id, text (what is embedded), metadata (JSON text).")
        .def(nb::init<std::string, std::string, std::string>(), nb::arg("id"), nb::arg("text"),
             nb::arg("metadata") = "{}")
        .def_rw("id", &Document::id)
        .def_rw("text", &Document::text)
        .def_rw("metadata", &Document::metadata)
        .def("__repr__", [](const Document& d) { return "<Document " + d.id + ">"; });

    nb::class_<Hit>(m, "Hit", "One search result; score is higher-is-better.")
        .def_ro("node", &Hit::node)
        .def_ro("id", &Hit::id)
        .def_ro("score", &Hit::score)
        .def_ro("text", &Hit::text)
        .def_ro("metadata", &Hit::metadata, "JSON object text.")
        .def("__repr__", [](const Hit& h) { return "<Hit " + h.id + " score=" + std::to_string(h.score) + ">"; });

    nb::class_<SearchResult>(m, "SearchResult")
        .def_ro("hits", &SearchResult::hits)
        .def_ro("stats", &SearchResult::stats)
        .def_ro("seconds", &SearchResult::seconds)
        .def_ro("notes", &SearchResult::notes,
                "What the caller should know (e.g. a keyword query searched by vector).");

    nb::class_<IndexModel>(m, "IndexModel", "The model an index records.")
        .def_ro("name", &IndexModel::name)
        .def_ro("content_hash", &IndexModel::content_hash)
        .def_ro("dims", &IndexModel::dims);

    nb::class_<IndexStats>(m, "IndexStats")
        .def_ro("path", &IndexStats::path)
        .def_ro("format_version", &IndexStats::format_version)
        .def_ro("generation", &IndexStats::generation)
        .def_ro("chunks", &IndexStats::chunks, "Nodes, deleted ones included.")
        .def_ro("deleted", &IndexStats::deleted)
        .def_ro("edges", &IndexStats::edges)
        .def_ro("file_bytes", &IndexStats::file_bytes)
        .def_ro("reclaimable_bytes", &IndexStats::reclaimable_bytes)
        .def_ro("raw_text_bytes", &IndexStats::raw_text_bytes)
        .def_ro("pq_error", &IndexStats::pq_error)
        .def_ro("adaptive_rerank", &IndexStats::adaptive_rerank)
        .def_ro("advice", &IndexStats::advice)
        .def_ro("config_json", &IndexStats::config_json)
        .def_prop_ro("sections", [](const IndexStats& s) {
            std::vector<std::tuple<std::string, std::string, uint64_t>> out;
            for (const auto& section : s.sections) out.emplace_back(section.tag, section.what, section.bytes);
            return out;
        }, "(tag, what, bytes) per section.");
}

std::span<const float> as_span(const Vector& v) { return {v.data(), v.shape(0)}; }

}  // namespace

void bind_index(nb::module_& m) {
    bind_options(m);
    bind_results(m);

    nb::class_<Index>(m, "Index",
                      "An open index file (read side). search() is thread-safe and runs without the GIL.")
        .def_static(
            "open",
            [](const std::filesystem::path& path) {
                nb::gil_scoped_release unlocked;
                return Index::open(path);
            },
            nb::arg("path"), "Maps and checks an index file; raises FormatError naming the file and section.")
        .def_static(
            "build",
            [](const std::filesystem::path& path, const std::vector<Document>& documents,
               std::shared_ptr<Encoder> encoder, const BuildOptions& options) {
                nb::gil_scoped_release unlocked;
                Index::build(path, documents, *encoder, options);
            },
            nb::arg("path"), nb::arg("documents"), nb::arg("encoder"), nb::arg("options") = BuildOptions(),
            "Embeds the documents and writes a new index file (temporary file, then rename).")
        .def_static(
            "build_from_vectors",
            [](const std::filesystem::path& path, const std::vector<Document>& documents, const Matrix& vectors,
               const std::string& model_name, const std::string& content_hash, Metric metric,
               const BuildOptions& options) {
                if (vectors.shape(0) != documents.size())
                    throw Error("build_from_vectors: " + std::to_string(vectors.shape(0)) + " vectors for " +
                                std::to_string(documents.size()) + " documents");
                IndexModel model{model_name, content_hash, vectors.shape(1)};
                std::span<const float> values(vectors.data(), vectors.shape(0) * vectors.shape(1));
                nb::gil_scoped_release unlocked;
                Index::build_from_vectors(path, documents, values, model, metric, options);
            },
            nb::arg("path"), nb::arg("documents"), nb::arg("vectors"), nb::arg("model_name"),
            nb::arg("content_hash"), nb::arg("metric"), nb::arg("options") = BuildOptions(),
            "Builds from vectors computed elsewhere: a (len(documents), dims) float32 array made by the model "
            "whose name and content hash are given (searching later needs that model).")
        .def_prop_ro("model", &Index::model)
        .def_prop_ro("metric", &Index::metric)
        .def("__len__", &Index::size, "Nodes, deleted ones included.")
        .def("attach_encoder", &Index::attach_encoder, nb::arg("encoder"),
             "Uses this encoder; refused (Error) when its content hash differs from the recorded one.")
        .def(
            "load_encoder",
            [](Index& index, std::optional<std::filesystem::path> model_dir) {
                nb::gil_scoped_release unlocked;
                index.load_encoder(model_dir);
            },
            nb::arg("model_dir") = nb::none(), "Loads the recorded model from the model cache (or model_dir).")
        .def(
            "search",
            [](const Index& index, const std::string& query, const SearchOptions& options) {
                nb::gil_scoped_release unlocked;
                return index.search(query, options);
            },
            nb::arg("query"), nb::arg("options") = SearchOptions(),
            "Embeds the query (vector and hybrid modes) and searches; FilterError for a bad options.filter.")
        .def(
            "search_vector",
            [](const Index& index, const Vector& query, const SearchOptions& options) {
                if (query.shape(0) != index.model().dims)
                    throw Error("search_vector: the query has " + std::to_string(query.shape(0)) +
                                " dims, the index's model " + std::to_string(index.model().dims));
                nb::gil_scoped_release unlocked;
                return index.search_vector(as_span(query), options);
            },
            nb::arg("query"), nb::arg("options") = SearchOptions(),
            "Searches with a query vector (float32, dims) from the index's model.")
        .def("set_cache_capacity", &Index::set_cache_capacity, nb::arg("vectors"))
        .def("clear_cache", &Index::clear_cache)
        .def("stats", [](const Index& index) {
            nb::gil_scoped_release unlocked;
            return index.stats();
        })
        .def("verify", [](const Index& index) {
            nb::gil_scoped_release unlocked;
            index.verify();
        }, "Checks every checksum and invariant; raises FormatError.")
        .def(
            "matching",
            [](const Index& index, const Filter& filter) {
                nb::gil_scoped_release unlocked;
                return index.matching(filter);
            },
            nb::arg("filter"),
            "Live nodes matching the filter, ascending (what a filtered search chooses from); FilterError for a "
            "bad filter.")
        .def("document", &Index::document, nb::arg("node"), "The passage of a node.")
        .def("live", &Index::live, nb::arg("node"), "False for a deleted node or one out of range.")
        .def(
            "documents",
            [](const Index& index) {
                std::vector<std::pair<uint32_t, Document>> out;
                nb::gil_scoped_release unlocked;
                for (uint32_t node = 0; node < index.size(); ++node)
                    if (index.live(node)) out.emplace_back(node, index.document(node));
                return out;
            },
            "Every live passage as (node, Document), in node order.")
        .def("sources", &Index::sources);

    m.def("index_path_for_name", &index_path_for_name, nb::arg("name"),
          "NAME -> $LEANN_HOME/indexes/NAME/index.leann (names: [A-Za-z0-9._-]).");
    m.def("index_path_for_argument", &index_path_for_argument, nb::arg("path"),
          "A directory means <dir>/index.leann.");
    m.def("index_root", &index_root);
}

}  // namespace leann::python
