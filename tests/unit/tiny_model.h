// Writes small random-weight BERT models to a temporary folder, for encoder tests that need no download.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace leann::testing {

struct TinyModelSpec {
    size_t hidden = 32, layers = 2, heads = 4, intermediate = 64, max_position = 64;
    std::string pooling = "mean";  // mean | cls | max | mean_sqrt_len
    bool normalize = true;
    std::string hidden_act = "gelu";
    size_t max_seq_length = 48;
    uint32_t seed = 1;
};

inline const std::vector<std::string>& tiny_vocab() {
    static const std::vector<std::string> vocab = [] {
        std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
        for (char c = 'a'; c <= 'z'; ++c) v.push_back(std::string(1, c));
        for (char c = 'a'; c <= 'z'; ++c) v.push_back("##" + std::string(1, c));
        for (const char* w : {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "search", "index",
                              "graph", "query", "passage", ".", ",", "!", "?", "(", ")", "=", ":", "0", "1", "2"})
            v.push_back(w);
        return v;
    }();
    return vocab;
}

class TempDir {
public:
    TempDir() {
        std::string templ = (std::filesystem::temp_directory_path() / "leann-test-XXXXXX").string();
        path_ = ::mkdtemp(templ.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

using TensorMap = std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>>;

inline void write_safetensors(const std::filesystem::path& file, const TensorMap& tensors) {
    nlohmann::json header = nlohmann::json::object();
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        uint64_t bytes = t.second.size() * 4;
        header[name] = {{"dtype", "F32"}, {"shape", t.first}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string text = header.dump();
    while ((8 + text.size()) % 8) text += ' ';
    std::ofstream out(file, std::ios::binary);
    uint64_t len = text.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, t] : tensors)
        out.write(reinterpret_cast<const char*>(t.second.data()), static_cast<std::streamsize>(t.second.size() * 4));
}

inline TensorMap tiny_weights(const TinyModelSpec& s) {
    std::mt19937 rng(s.seed);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    TensorMap m;
    auto add = [&](const std::string& name, std::vector<int64_t> shape, float base = 0.0f, float scale = 1.0f) {
        size_t n = 1;
        for (auto d : shape) n *= static_cast<size_t>(d);
        std::vector<float> v(n);
        for (auto& x : v) x = base + scale * normal(rng);
        m[name] = {shape, v};
    };
    const auto h = static_cast<int64_t>(s.hidden), i = static_cast<int64_t>(s.intermediate);
    add("embeddings.word_embeddings.weight", {static_cast<int64_t>(tiny_vocab().size()), h}, 0, 3);
    add("embeddings.position_embeddings.weight", {static_cast<int64_t>(s.max_position), h});
    add("embeddings.token_type_embeddings.weight", {2, h});
    add("embeddings.LayerNorm.weight", {h}, 1.0f, 0.2f);
    add("embeddings.LayerNorm.bias", {h});
    for (size_t l = 0; l < s.layers; ++l) {
        std::string p = "encoder.layer." + std::to_string(l) + ".";
        for (const char* qkv : {"query", "key", "value"}) {
            add(p + "attention.self." + qkv + ".weight", {h, h});
            add(p + "attention.self." + qkv + ".bias", {h});
        }
        add(p + "attention.output.dense.weight", {h, h});
        add(p + "attention.output.dense.bias", {h});
        add(p + "attention.output.LayerNorm.weight", {h}, 1.0f, 0.2f);
        add(p + "attention.output.LayerNorm.bias", {h});
        add(p + "intermediate.dense.weight", {i, h});
        add(p + "intermediate.dense.bias", {i});
        add(p + "output.dense.weight", {h, i});
        add(p + "output.dense.bias", {h});
        add(p + "output.LayerNorm.weight", {h}, 1.0f, 0.2f);
        add(p + "output.LayerNorm.bias", {h});
    }
    return m;
}

/// Writes a complete sentence-transformers folder for `spec` into `dir`.
inline void write_tiny_model(const std::filesystem::path& dir, const TinyModelSpec& s) {
    std::filesystem::create_directories(dir / "1_Pooling");
    auto write = [&](const std::filesystem::path& file, const nlohmann::json& j) { std::ofstream(file) << j.dump(2); };
    write(dir / "config.json", {{"model_type", "bert"},
                                {"architectures", {"BertModel"}},
                                {"hidden_size", s.hidden},
                                {"num_hidden_layers", s.layers},
                                {"num_attention_heads", s.heads},
                                {"intermediate_size", s.intermediate},
                                {"vocab_size", tiny_vocab().size()},
                                {"max_position_embeddings", s.max_position},
                                {"type_vocab_size", 2},
                                {"layer_norm_eps", 1e-12},
                                {"hidden_act", s.hidden_act}});
    nlohmann::json modules = {
        {{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
        {{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}}};
    if (s.normalize)
        modules.push_back({{"idx", 2}, {"name", "2"}, {"path", "2_Normalize"},
                           {"type", "sentence_transformers.models.Normalize"}});
    write(dir / "modules.json", modules);
    write(dir / "1_Pooling" / "config.json", {{"word_embedding_dimension", s.hidden},
                                              {"pooling_mode_cls_token", s.pooling == "cls"},
                                              {"pooling_mode_mean_tokens", s.pooling == "mean"},
                                              {"pooling_mode_max_tokens", s.pooling == "max"},
                                              {"pooling_mode_mean_sqrt_len_tokens", s.pooling == "mean_sqrt_len"}});
    write(dir / "sentence_bert_config.json", {{"max_seq_length", s.max_seq_length}, {"do_lower_case", false}});
    write(dir / "tokenizer_config.json", {{"do_lower_case", true}});
    std::ofstream vocab(dir / "vocab.txt");
    for (const auto& t : tiny_vocab()) vocab << t << "\n";
    vocab.close();
    write_safetensors(dir / "model.safetensors", tiny_weights(s));
}

}  // namespace leann::testing
