// Filter, the search modes and their parsers (leann/filter.h, leann/search_options.h): metadata filters run in
// the library, during the search, so a selective filter still returns the top-k of the matching chunks.
#include <leann/filter.h>
#include <leann/search_options.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"

namespace leann::python {

void bind_filter(nb::module_& m) {
    nb::enum_<SearchMode>(m, "SearchMode",
                          "What ranks the hits: the embedding, BM25 over the keyword index, or both fused.")
        .value("vector", SearchMode::vector)
        .value("keyword", SearchMode::keyword)
        .value("hybrid", SearchMode::hybrid);
    nb::enum_<HybridFusion>(m, "HybridFusion", "How hybrid search fuses its two ranked lists.")
        .value("rrf", HybridFusion::rrf, "Reciprocal rank fusion.")
        .value("convex", HybridFusion::convex, "Weighted sum of the scores normalised over the candidates.");

    nb::class_<Filter>(m, "Filter",
                       "Which chunks a search may return; every part is optional and the parts are ANDed "
                       "(leann/filter.h). A filtered search returns the top-k of the matching chunks, never fewer "
                       "than k when at least k match.")
        .def(nb::init<>())
        .def(
            "__init__",
            [](Filter* self, std::vector<std::string> paths, std::vector<std::string> exclude_paths,
               std::vector<std::string> types, std::vector<std::string> languages,
               std::optional<int64_t> modified_after, std::optional<int64_t> modified_before, std::string where) {
                new (self) Filter{std::move(paths), std::move(exclude_paths), std::move(types), std::move(languages),
                                  modified_after,   modified_before,          std::move(where)};
            },
            nb::kw_only(), nb::arg("paths") = std::vector<std::string>(),
            nb::arg("exclude_paths") = std::vector<std::string>(), nb::arg("types") = std::vector<std::string>(),
            nb::arg("languages") = std::vector<std::string>(), nb::arg("modified_after") = nb::none(),
            nb::arg("modified_before") = nb::none(), nb::arg("where") = "")
        .def_rw("paths", &Filter::paths, "Path globs; a chunk matches when its source path matches any of them.")
        .def_rw("exclude_paths", &Filter::exclude_paths, "Path globs; a chunk whose source matches never matches.")
        .def_rw("types", &Filter::types, "File types as ingest records them (code, markdown, text, html, pdf, jsonl).")
        .def_rw("languages", &Filter::languages, "Languages of code files (python, cpp, ...).")
        .def_rw("modified_after", &Filter::modified_after, "Source modification time, unix seconds, inclusive.")
        .def_rw("modified_before", &Filter::modified_before, "Source modification time, unix seconds, exclusive.")
        .def_rw("where", &Filter::where,
                "A Chroma-style where object over the chunks' metadata, as JSON text ('' = none). A field no "
                "chunk has raises FilterError.")
        .def("empty", &Filter::empty)
        .def(
            "check", [](const Filter& f) { check_filter(f); },
            "Checks the syntax (globs, where operators and operand types) without an index; raises FilterError.")
        .def("__repr__", [](const Filter& f) {
            return std::string("<Filter ") + (f.empty() ? "empty" : f.where.empty() ? "paths/types" : f.where) + ">";
        });

    m.def("where_from_expression", &where_from_expression, nb::arg("expression"),
          "The command line's short form (FIELD=VALUE, FIELD!=VALUE, FIELD>=N, FIELD=A|B ...) as where JSON text.");
    m.def(
        "where_from_expressions",
        [](const std::vector<std::string>& expressions) { return where_from_expressions(expressions); },
        nb::arg("expressions"), "Several short-form expressions ANDed; [] gives ''.");
    m.def(
        "filter_from_json",
        [](std::string_view json_object, std::optional<int64_t> now_s) {
            return filter_from_json(json_object, now_s ? *now_s : static_cast<int64_t>(std::time(nullptr)));
        },
        nb::arg("json_object"), nb::arg("now_s") = nb::none(),
        "A Filter from the HTTP API's JSON object ({\"path\": ..., \"type\": ..., \"where\": {...}}); ages such as "
        "\"7d\" count back from now_s (default: now). Raises FilterError naming the key.");
    m.def("glob_match", &glob_match, nb::arg("glob"), nb::arg("path"), "Path glob match (leann/filter.h syntax).");
}

}  // namespace leann::python
