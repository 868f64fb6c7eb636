// Missing, truncated, mismatched and foreign model files: one clear ModelError naming the file, never a crash.
#include <gtest/gtest.h>

#include <fstream>

#include "embed/tensor_file.h"
#include "leann/encoder.h"
#include "leann/error.h"
#include "tiny_model.h"

namespace leann {
namespace {

namespace fs = std::filesystem;

// Loads the model and returns the ModelError message ("" when it loaded).
std::string load_error(const fs::path& dir) {
    try {
        Encoder::load(dir, {1, 4});
    } catch (const ModelError& e) {
        return e.what();
    }
    return "";
}

void edit_json(const fs::path& file, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(std::ifstream(file));
    edit(j);
    std::ofstream(file) << j.dump();
}

struct ModelFiles : ::testing::Test {
    void SetUp() override { testing::write_tiny_model(dir.path(), {}); }
    testing::TempDir dir;
};

TEST_F(ModelFiles, TinyModelLoadsAndDescribesItself) {
    ModelInfo info = read_model_info(dir.path());
    EXPECT_EQ(info.hidden_size, 32u);
    EXPECT_EQ(info.pooling, Pooling::mean);
    EXPECT_TRUE(info.normalize);
    EXPECT_EQ(info.max_seq_length, 48u);
    EXPECT_EQ(info.content_hash.size(), 32u);
    uint64_t params = 0;
    for (const auto& [name, t] : testing::tiny_weights({})) params += t.second.size();
    EXPECT_EQ(info.parameter_count, params);
    EXPECT_EQ(load_error(dir.path()), "");
}

TEST_F(ModelFiles, ContentHashFollowsWeightsAndTokenizer) {
    std::string before = read_model_info(dir.path()).content_hash;
    testing::TinyModelSpec other;
    other.seed = 99;
    testing::write_safetensors(dir.path() / "model.safetensors", testing::tiny_weights(other));
    std::string after_weights = read_model_info(dir.path()).content_hash;
    EXPECT_NE(before, after_weights);
    std::ofstream(dir.path() / "vocab.txt", std::ios::app) << "extra\n";
    EXPECT_NE(after_weights, read_model_info(dir.path()).content_hash);
}

TEST_F(ModelFiles, MissingConfigIsNamed) {
    fs::remove(dir.path() / "config.json");
    EXPECT_NE(load_error(dir.path()).find("config.json: missing"), std::string::npos) << load_error(dir.path());
}

TEST_F(ModelFiles, MalformedConfigIsNamed) {
    std::ofstream(dir.path() / "config.json") << "{\"hidden_size\": 32,";
    EXPECT_NE(load_error(dir.path()).find("config.json: not valid JSON"), std::string::npos);
}

TEST_F(ModelFiles, UnknownArchitectureIsRefusedByName) {
    edit_json(dir.path() / "config.json", [](auto& j) {
        j["model_type"] = "xlm-roberta";
        j["architectures"] = {"XLMRobertaModel"};
    });
    std::string err = load_error(dir.path());
    EXPECT_NE(err.find("'xlm-roberta'"), std::string::npos) << err;
    EXPECT_NE(err.find("XLMRobertaModel"), std::string::npos) << err;
}

TEST_F(ModelFiles, MissingFieldIsNamed) {
    edit_json(dir.path() / "config.json", [](auto& j) { j.erase("num_attention_heads"); });
    EXPECT_NE(load_error(dir.path()).find("missing field 'num_attention_heads'"), std::string::npos);
}

TEST_F(ModelFiles, ShapeMismatchNamesTensorAndConfig) {
    edit_json(dir.path() / "config.json", [](auto& j) { j["intermediate_size"] = 48; });
    std::string err = load_error(dir.path());
    EXPECT_NE(err.find("model.safetensors"), std::string::npos) << err;
    EXPECT_NE(err.find("intermediate.dense.weight' has shape [64, 32], expected [48, 32]"), std::string::npos) << err;
}

TEST_F(ModelFiles, MissingWeightsAreNamed) {
    fs::remove(dir.path() / "model.safetensors");
    EXPECT_NE(load_error(dir.path()).find("model.safetensors: missing"), std::string::npos);
}

TEST_F(ModelFiles, MissingTokenizerIsNamed) {
    fs::remove(dir.path() / "vocab.txt");
    EXPECT_NE(load_error(dir.path()).find("tokenizer.json: missing"), std::string::npos) << load_error(dir.path());
}

TEST_F(ModelFiles, MissingTensorIsNamed) {
    auto weights = testing::tiny_weights({});
    weights.erase("encoder.layer.1.output.dense.bias");
    testing::write_safetensors(dir.path() / "model.safetensors", weights);
    EXPECT_NE(load_error(dir.path()).find("tensor 'encoder.layer.1.output.dense.bias' is missing"), std::string::npos);
}

TEST_F(ModelFiles, TruncatedWeightsAtEveryLengthGiveAClearError) {
    const fs::path weights = dir.path() / "model.safetensors";
    std::string bytes;
    {
        std::ifstream in(weights, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    for (size_t cut : {size_t{0}, size_t{4}, size_t{8}, size_t{9}, size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
        std::ofstream(weights, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(cut));
        std::string err = load_error(dir.path());
        EXPECT_NE(err.find("model.safetensors"), std::string::npos) << "cut at " << cut << ": " << err;
    }
}

TEST_F(ModelFiles, ForeignFileAsWeightsIsRefused) {
    std::ofstream(dir.path() / "model.safetensors", std::ios::binary) << "PK\x03\x04 this is not a safetensors file";
    std::string err = load_error(dir.path());
    EXPECT_NE(err.find("model.safetensors"), std::string::npos) << err;
}

TEST_F(ModelFiles, HeaderPointingOutsideTheFileIsRefused) {
    const fs::path weights = dir.path() / "model.safetensors";
    std::string header = R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16000]}})";
    uint64_t len = header.size();
    std::ofstream out(weights, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&len), 8);
    out << header << "0123456789abcdef";
    out.close();
    try {
        TensorFile::open(weights);
        FAIL() << "expected ModelError";
    } catch (const ModelError& e) {
        EXPECT_NE(std::string(e.what()).find("tensor 'x': data_offsets [0, 16000)"), std::string::npos) << e.what();
    }
}

TEST_F(ModelFiles, AmbiguousPoolingIsRefused) {
    edit_json(dir.path() / "1_Pooling" / "config.json", [](auto& j) { j["pooling_mode_cls_token"] = true; });
    EXPECT_NE(load_error(dir.path()).find("expected exactly one pooling mode"), std::string::npos);
}

TEST_F(ModelFiles, PromptsAreRead) {
    std::ofstream(dir.path() / "config_sentence_transformers.json")
        << R"({"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": null})";
    ModelInfo info = read_model_info(dir.path());
    EXPECT_EQ(info.query_prompt, "query: ");
    EXPECT_EQ(info.passage_prompt, "passage: ");
}

TEST(ModelCache, ResolveNamesTheCacheAndTheInstalledModels) {
    testing::TempDir home;
    const char* old = std::getenv("LEANN_HOME");
    const std::string saved = old ? old : "";
    setenv("LEANN_HOME", home.path().c_str(), 1);
    testing::write_tiny_model(home.path() / "models" / "tiny", {});
    EXPECT_EQ(resolve_model("tiny"), home.path() / "models" / "tiny");
    EXPECT_EQ(resolve_model("someorg/tiny"), home.path() / "models" / "tiny");
    EXPECT_EQ(installed_models(), std::vector<std::string>{"tiny"});
    try {
        resolve_model("nope");
        FAIL();
    } catch (const ModelError& e) {
        EXPECT_NE(std::string(e.what()).find("installed: tiny"), std::string::npos) << e.what();
    }
    if (old) setenv("LEANN_HOME", saved.c_str(), 1);
    else unsetenv("LEANN_HOME");
}

}  // namespace
}  // namespace leann
