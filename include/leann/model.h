// Models: where they live, what they are. A model is a Hugging Face / sentence-transformers style folder
// (config.json, tokenizer.json or vocab.txt, model.safetensors or pytorch_model.bin, modules.json,
// 1_Pooling/config.json, sentence_bert_config.json). Nothing here touches the network.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "leann/metric.h"

namespace leann {

enum class Pooling { mean, cls, max, mean_sqrt_len };

std::string_view pooling_name(Pooling pooling);

/// Everything about a model that the encoder and the index need, read from its folder's configuration.
struct ModelInfo {
    std::string name;             // folder name, e.g. "all-MiniLM-L6-v2"
    std::filesystem::path dir;    // the model folder
    std::string architecture;     // config.json model_type, e.g. "bert"
    size_t hidden_size = 0;       // embedding dimension
    size_t num_layers = 0;
    size_t num_heads = 0;
    size_t intermediate_size = 0;
    size_t vocab_size = 0;
    size_t max_position_embeddings = 0;
    size_t type_vocab_size = 0;
    float layer_norm_eps = 1e-12f;
    std::string hidden_act;       // "gelu" (erf) or "gelu_new"/"gelu_pytorch_tanh" (tanh approximation)
    size_t max_seq_length = 0;    // tokens per text after truncation, specials included
    Pooling pooling = Pooling::mean;
    bool normalize = false;       // L2-normalise the pooled vector
    std::string query_prompt;     // prefix for queries (e5: "query: "), from config_sentence_transformers.json
    std::string passage_prompt;   // prefix for passages (e5: "passage: ")
    Metric similarity = Metric::cosine;  // similarity_fn_name of config_sentence_transformers.json (default cosine)
    std::filesystem::path weights_file;  // model.safetensors or pytorch_model.bin
    uint64_t parameter_count = 0;        // weights in the file (floating-point elements)
    std::string content_hash;            // xxh3-128 of the weights and tokenizer files, hex; indexes record it
};

/// $LEANN_HOME, else $XDG_DATA_HOME/leann, else ~/.local/share/leann.
std::filesystem::path leann_home();
/// leann_home()/models
std::filesystem::path model_cache_dir();

/// The name of the model used when none is given.
inline constexpr std::string_view default_model_name = "all-MiniLM-L6-v2";

/// Finds a model by folder path, by name in the cache, or by "org/name" (the cache holds it as "name").
/// Throws leann::ModelError listing the installed models when nothing matches.
std::filesystem::path resolve_model(std::string_view name_or_path);

/// Names of the model folders in the cache, sorted.
std::vector<std::string> installed_models();

/// Reads the configuration of the model folder `dir` (no weights loaded; the weights header is read to count
/// parameters, and the weights and tokenizer are hashed). Throws leann::ModelError naming the file and field
/// when something is missing or wrong, and refuses architectures other than the BERT family by name.
ModelInfo read_model_info(const std::filesystem::path& dir);

}  // namespace leann
