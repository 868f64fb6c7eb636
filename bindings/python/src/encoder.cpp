// Encoder and models: leann.Encoder (embeddings as numpy arrays), the model cache, model information.
#include <leann/encoder.h>
#include <leann/error.h>
#include <leann/metric.h>
#include <leann/model.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <nanobind/ndarray.h>
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"

namespace leann::python {

namespace {

TextRole parse_role(const std::string& role) {
    if (role == "plain") return TextRole::plain;
    if (role == "query") return TextRole::query;
    if (role == "passage") return TextRole::passage;
    throw Error("role: expected 'plain', 'query' or 'passage', got '" + role + "'");
}

}  // namespace

nb::ndarray<nb::numpy, float, nb::ndim<2>> matrix_to_numpy(std::vector<float>&& values, size_t rows, size_t cols) {
    // The array owns the vector's buffer: no copy on the way out.
    auto* owned = new std::vector<float>(std::move(values));
    nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<float>*>(p); });
    return nb::ndarray<nb::numpy, float, nb::ndim<2>>(owned->data(), {rows, cols}, owner);
}

void bind_encoder(nb::module_& m) {
    nb::enum_<Metric>(m, "Metric", "How embeddings are compared; scores are higher-is-better.")
        .value("inner_product", Metric::inner_product)
        .value("cosine", Metric::cosine)
        .value("l2", Metric::l2);

    nb::class_<ModelInfo>(m, "ModelInfo", "What a model folder's configuration says (no weights loaded).")
        .def_ro("name", &ModelInfo::name)
        .def_ro("dir", &ModelInfo::dir)
        .def_ro("architecture", &ModelInfo::architecture)
        .def_ro("dims", &ModelInfo::hidden_size, "Embedding dimension.")
        .def_ro("num_layers", &ModelInfo::num_layers)
        .def_ro("max_seq_length", &ModelInfo::max_seq_length, "Tokens per text after truncation.")
        .def_ro("normalize", &ModelInfo::normalize)
        .def_ro("query_prompt", &ModelInfo::query_prompt)
        .def_ro("passage_prompt", &ModelInfo::passage_prompt)
        .def_ro("similarity", &ModelInfo::similarity)
        .def_ro("parameter_count", &ModelInfo::parameter_count)
        .def_ro("content_hash", &ModelInfo::content_hash)
        .def("__repr__", [](const ModelInfo& info) {
            return "<ModelInfo " + info.name + " dims=" + std::to_string(info.hidden_size) + ">";
        });

    m.def("leann_home", &leann_home, "$LEANN_HOME, else $XDG_DATA_HOME/leann, else ~/.local/share/leann.");
    m.def("model_cache_dir", &model_cache_dir, "The folder holding installed models.");
    m.def("installed_models", &installed_models, "Names of the installed models, sorted.");
    m.def(
        "resolve_model", [](const std::string& name) { return resolve_model(name); }, nb::arg("name_or_path"),
        "The model folder for a path, an installed name or 'org/name'; raises ModelError listing the installed "
        "models when nothing matches.");
    m.def(
        "read_model_info",
        [](const std::filesystem::path& dir) {
            nb::gil_scoped_release unlocked;  // hashes the weights
            return read_model_info(dir);
        },
        nb::arg("model_dir"), "Reads a model folder's configuration; raises ModelError naming the file and field.");
    m.attr("default_model_name") = std::string(default_model_name);

    nb::class_<Encoder>(m, "Encoder",
                        "A BERT-family sentence encoder run in-process. Thread-safe: concurrent encode() calls "
                        "share forward passes. Load with Encoder.load().")
        .def_static(
            "load",
            [](const std::filesystem::path& model_dir, size_t threads, size_t batch_size) {
                EncoderOptions options;
                options.threads = threads;
                options.batch_size = batch_size;
                nb::gil_scoped_release unlocked;
                return std::shared_ptr<Encoder>(Encoder::load(model_dir, options));
            },
            nb::arg("model_dir"), nb::arg("threads") = 0, nb::arg("batch_size") = 16,
            "Loads a model folder (see resolve_model). threads=0 uses every core this process may use.")
        .def_prop_ro("info", &Encoder::info, nb::rv_policy::reference_internal)
        .def_prop_ro("dims", &Encoder::dims)
        .def_prop_ro("threads", &Encoder::threads)
        .def(
            "encode",
            [](Encoder& encoder, const std::vector<std::string>& texts, const std::string& role) {
                TextRole text_role = parse_role(role);
                std::vector<float> out;
                {
                    nb::gil_scoped_release unlocked;
                    out = encoder.encode(texts, text_role);
                }
                return matrix_to_numpy(std::move(out), texts.size(), encoder.dims());
            },
            nb::arg("texts"), nb::arg("role") = "plain",
            "Embeds texts into a float32 array of shape (len(texts), dims). role: 'plain', 'query' (the "
            "model's query prompt) or 'passage'. The GIL is released while it runs.");
}

}  // namespace leann::python
