// Reading a model folder's configuration: config.json, modules.json, the pooling and sentence-bert configs.
#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "embed/model_files.h"
#include "embed/tensor_file.h"
#include "leann/error.h"
#include "leann/model.h"
#include "util/json_limits.h"
#include "util/mapped_file.h"

namespace leann {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const fs::path& file, const std::string& what) { throw ModelError(file.string() + ": " + what); }

json read_json(const fs::path& file) {
    std::string text;
    try {
        text = read_text_file(file);
    } catch (const Error& e) {
        throw ModelError(e.what());
    }
    std::string why;
    json j = json_limits::parse_or_discarded(text, &why);
    if (j.is_discarded()) fail(file, why);
    return j;
}

size_t get_size(const json& config, const fs::path& file, const char* field, bool required, size_t fallback = 0) {
    if (!config.contains(field)) {
        if (required) fail(file, std::string("missing field '") + field + "'");
        return fallback;
    }
    const json& v = config[field];
    if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 || v.get<uint64_t>() > (1u << 24))
        fail(file, std::string("field '") + field + "' must be a positive integer, got " + v.dump());
    return v.get<size_t>();
}

std::string hex(const XXH128_hash_t& h) {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return buf;
}

void read_pooling(ModelInfo& info, const fs::path& dir) {
    fs::path modules_file = dir / "modules.json";
    fs::path pooling_dir = dir / "1_Pooling";
    if (fs::exists(modules_file)) {
        json modules = read_json(modules_file);
        if (!modules.is_array()) fail(modules_file, "expected a JSON array of modules");
        bool has_pooling = false;
        for (const json& m : modules) {
            if (!m.is_object() || !m.contains("type") || !m["type"].is_string())
                fail(modules_file, "each module needs a string field 'type'");
            std::string type = m["type"].get<std::string>();
            std::string path = m.value("path", "");
            if (type.ends_with(".Normalize")) {
                info.normalize = true;
            } else if (type.ends_with(".Pooling")) {
                has_pooling = true;
                pooling_dir = dir / path;
            } else if (!type.ends_with(".Transformer")) {
                fail(modules_file, "module type '" + type +
                                       "' is not supported (supported: Transformer, Pooling, Normalize)");
            }
        }
        if (!has_pooling) fail(modules_file, "no Pooling module");
    }
    fs::path pooling_file = pooling_dir / "config.json";
    if (!fs::exists(pooling_file)) return;  // plain Hugging Face folder: sentence-transformers' default, mean
    json pooling = read_json(pooling_file);
    if (!pooling.is_object()) fail(pooling_file, "expected a JSON object");
    std::vector<Pooling> modes;
    if (pooling.value("pooling_mode_cls_token", false)) modes.push_back(Pooling::cls);
    if (pooling.value("pooling_mode_mean_tokens", false)) modes.push_back(Pooling::mean);
    if (pooling.value("pooling_mode_max_tokens", false)) modes.push_back(Pooling::max);
    if (pooling.value("pooling_mode_mean_sqrt_len_tokens", false)) modes.push_back(Pooling::mean_sqrt_len);
    for (const char* unsupported : {"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"})
        if (pooling.value(unsupported, false)) fail(pooling_file, std::string(unsupported) + " is not supported");
    if (modes.size() != 1)
        fail(pooling_file, "expected exactly one pooling mode (cls, mean, max or mean_sqrt_len), found " +
                               std::to_string(modes.size()));
    info.pooling = modes[0];
    if (pooling.contains("word_embedding_dimension") &&
        pooling["word_embedding_dimension"] != json(info.hidden_size))
        fail(pooling_file, "word_embedding_dimension " + pooling["word_embedding_dimension"].dump() +
                               " differs from hidden_size " + std::to_string(info.hidden_size) + " in config.json");
}

void read_prompts(ModelInfo& info, const fs::path& dir) {
    fs::path file = dir / "config_sentence_transformers.json";
    if (!fs::exists(file)) return;
    json config = read_json(file);
    if (!config.is_object()) return;
    // sentence-transformers' similarity_fn_name picks the metric indexes use (its default is cosine).
    if (config.contains("similarity_fn_name") && config["similarity_fn_name"].is_string()) {
        const std::string name = config["similarity_fn_name"].get<std::string>();
        if (name == "dot") info.similarity = Metric::inner_product;
        else if (name == "euclidean") info.similarity = Metric::l2;
        else if (name == "cosine") info.similarity = Metric::cosine;
        else fail(file, "similarity_fn_name '" + name + "' is not supported (cosine, dot, euclidean)");
    }
    if (!config.contains("prompts")) return;
    const json& prompts = config["prompts"];
    if (!prompts.is_object()) fail(file, "field 'prompts' must be an object");
    auto prompt = [&](std::initializer_list<const char*> keys) -> std::string {
        for (const char* key : keys)
            if (prompts.contains(key) && prompts[key].is_string()) return prompts[key].get<std::string>();
        return "";
    };
    info.query_prompt = prompt({"query"});
    info.passage_prompt = prompt({"passage", "document", "corpus"});
}

}  // namespace

std::string_view pooling_name(Pooling pooling) {
    switch (pooling) {
        case Pooling::mean: return "mean";
        case Pooling::cls: return "cls";
        case Pooling::max: return "max";
        case Pooling::mean_sqrt_len: return "mean_sqrt_len";
    }
    return "unknown";
}

fs::path leann_home() {
    if (const char* home = std::getenv("LEANN_HOME"); home && *home) return home;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return fs::path(xdg) / "leann";
    if (const char* user_home = std::getenv("HOME"); user_home && *user_home)
        return fs::path(user_home) / ".local" / "share" / "leann";
    return fs::path(".leann");
}

fs::path model_cache_dir() { return leann_home() / "models"; }

std::vector<std::string> installed_models() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(model_cache_dir(), ec)) {
        if (entry.is_directory() && fs::exists(entry.path() / "config.json") &&
            !entry.path().filename().string().ends_with(".partial"))
            names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

fs::path resolve_model(std::string_view name_or_path) {
    fs::path as_path(name_or_path);
    if (fs::is_directory(as_path) && fs::exists(as_path / "config.json")) return as_path;
    std::string name(name_or_path);
    if (auto slash = name.rfind('/'); slash != std::string::npos && !fs::exists(as_path)) name = name.substr(slash + 1);
    fs::path cached = model_cache_dir() / name;
    if (fs::is_directory(cached)) return cached;
    std::string installed;
    for (const auto& n : installed_models()) installed += (installed.empty() ? "" : ", ") + n;
    throw ModelError("model '" + std::string(name_or_path) + "' not found: not a model folder and not in " +
                     model_cache_dir().string() + " (installed: " + (installed.empty() ? "none" : installed) +
                     "; install the default with scripts/fetch_model.sh)");
}

ModelInfo read_model_config(const fs::path& dir) {
    if (!fs::is_directory(dir)) throw ModelError(dir.string() + ": model folder does not exist");
    ModelInfo info;
    info.dir = dir;
    info.name = fs::path(dir).lexically_normal().filename().string();
    if (info.name.empty()) info.name = fs::path(dir).lexically_normal().parent_path().filename().string();

    fs::path config_file = dir / "config.json";
    if (!fs::exists(config_file)) fail(config_file, "missing (every model folder needs config.json)");
    json config = read_json(config_file);
    if (!config.is_object()) fail(config_file, "expected a JSON object");
    info.architecture = config.value("model_type", "");
    if (info.architecture != "bert") {
        std::string archs = config.contains("architectures") ? config["architectures"].dump() : "none";
        fail(config_file, "model_type '" + info.architecture + "' (architectures " + archs +
                              ") is not supported: leann runs BERT-family encoders (model_type 'bert')");
    }
    if (config.value("position_embedding_type", "absolute") != "absolute")
        fail(config_file, "position_embedding_type '" + config["position_embedding_type"].get<std::string>() +
                              "' is not supported (only 'absolute')");
    info.hidden_size = get_size(config, config_file, "hidden_size", true);
    info.num_layers = get_size(config, config_file, "num_hidden_layers", true);
    info.num_heads = get_size(config, config_file, "num_attention_heads", true);
    info.intermediate_size = get_size(config, config_file, "intermediate_size", true);
    info.vocab_size = get_size(config, config_file, "vocab_size", true);
    info.max_position_embeddings = get_size(config, config_file, "max_position_embeddings", true);
    info.type_vocab_size = get_size(config, config_file, "type_vocab_size", false, 2);
    if (info.hidden_size % info.num_heads != 0)
        fail(config_file, "hidden_size " + std::to_string(info.hidden_size) + " is not a multiple of num_attention_heads " +
                              std::to_string(info.num_heads));
    if (config.contains("layer_norm_eps")) {
        if (!config["layer_norm_eps"].is_number()) fail(config_file, "field 'layer_norm_eps' must be a number");
        info.layer_norm_eps = config["layer_norm_eps"].get<float>();
    }
    info.hidden_act = config.value("hidden_act", "gelu");
    if (info.hidden_act != "gelu" && info.hidden_act != "gelu_new" && info.hidden_act != "gelu_pytorch_tanh")
        fail(config_file, "hidden_act '" + info.hidden_act + "' is not supported (gelu, gelu_new, gelu_pytorch_tanh)");

    info.max_seq_length = info.max_position_embeddings;
    if (fs::path st_file = dir / "sentence_bert_config.json"; fs::exists(st_file)) {
        json st = read_json(st_file);
        if (st.is_object() && st.contains("max_seq_length"))
            info.max_seq_length = std::min(info.max_seq_length, get_size(st, st_file, "max_seq_length", true));
    } else if (fs::path tok_file = dir / "tokenizer_config.json"; fs::exists(tok_file)) {
        json tok = read_json(tok_file);
        if (tok.is_object() && tok.contains("model_max_length") && tok["model_max_length"].is_number_unsigned())
            info.max_seq_length = std::min<size_t>(info.max_seq_length, tok["model_max_length"].get<uint64_t>());
    }
    read_pooling(info, dir);
    read_prompts(info, dir);

    if (fs::exists(dir / "model.safetensors")) {
        info.weights_file = dir / "model.safetensors";
    } else if (fs::exists(dir / "pytorch_model.bin")) {
        info.weights_file = dir / "pytorch_model.bin";
    } else {
        fail(dir / "model.safetensors", "missing (and no pytorch_model.bin either): the model has no weights");
    }
    info.parameter_count = TensorFile::open(info.weights_file).parameter_count();
    if (!fs::exists(dir / "tokenizer.json") && !fs::exists(dir / "vocab.txt"))
        fail(dir / "tokenizer.json", "missing (and no vocab.txt either): the model has no tokenizer");
    return info;
}

// Hash of everything that decides the vectors: the weights and the tokenizer files.
std::string model_content_hash(const fs::path& dir, const fs::path& weights) {
    std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
    if (!state) throw Error("out of memory hashing the model files");
    XXH3_128bits_reset(state.get());
    // Read a block at a time, not mapped whole: the encoder maps the weights too, and a second map of the same
    // pages would count them twice in the resident set while both are held (a one-shot search hashes while it
    // packs the weights).
    std::vector<char> block(size_t(1) << 20);
    for (const fs::path& file : {weights, dir / "tokenizer.json", dir / "vocab.txt", dir / "tokenizer_config.json"}) {
        if (!fs::exists(file)) continue;
        std::ifstream in(file, std::ios::binary);
        if (!in) throw ModelError(file.string() + ": cannot be opened");
        std::string name = file.filename().string();
        XXH3_128bits_update(state.get(), name.data(), name.size() + 1);
        while (in) {
            in.read(block.data(), std::streamsize(block.size()));
            XXH3_128bits_update(state.get(), block.data(), size_t(in.gcount()));
        }
        if (in.bad()) throw ModelError(file.string() + ": read error");
    }
    return hex(XXH3_128bits_digest(state.get()));
}

ModelInfo read_model_info(const fs::path& dir) {
    ModelInfo info = read_model_config(dir);
    info.content_hash = model_content_hash(dir, info.weights_file);
    return info;
}

}  // namespace leann
