// Parity with sentence-transformers: every golden embedding (tests/golden/embeddings, made by make_golden.py)
// must have cosine >= 0.9999 to ours, for the default model and for tiny models that cover CLS pooling, no
// normalisation with a pytorch_model.bin, e5 prompts, and a cased vocab.txt-only tokenizer.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "leann/encoder.h"
#include "test_support.h"

namespace leann {
namespace {

namespace fs = std::filesystem;
const fs::path golden_dir = fs::path(LEANN_TEST_DATA_DIR) / "golden" / "embeddings";

std::vector<std::string> golden_texts() {
    std::ifstream in(golden_dir / "texts.jsonl");
    std::vector<std::string> texts;
    for (std::string line; std::getline(in, line);) texts.push_back(nlohmann::json::parse(line).at("text"));
    return texts;
}

struct Golden {
    nlohmann::json meta;
    std::vector<float> vectors;
    std::vector<std::vector<int32_t>> ids;
};

Golden read_golden(const std::string& stem) {
    Golden g;
    g.meta = nlohmann::json::parse(std::ifstream(golden_dir / (stem + ".json")));
    const size_t n = g.meta.at("count").get<size_t>() * g.meta.at("dims").get<size_t>();
    g.vectors.resize(n);
    std::ifstream in(golden_dir / (stem + ".f32"), std::ios::binary);
    in.read(reinterpret_cast<char*>(g.vectors.data()), static_cast<std::streamsize>(n * 4));
    EXPECT_TRUE(in.good()) << stem << ".f32 is shorter than its json says";
    std::ifstream tokens(golden_dir / (stem + ".tokens.jsonl"));
    for (std::string line; std::getline(tokens, line);)
        g.ids.push_back(nlohmann::json::parse(line).at("ids").get<std::vector<int32_t>>());
    return g;
}

void expect_parity(const fs::path& model_dir, const std::string& stem, TextRole role) {
    ASSERT_TRUE(fs::exists(model_dir / "config.json")) << testing::model_missing_message(model_dir);
    const auto texts = golden_texts();
    const Golden golden = read_golden(stem);
    ASSERT_EQ(golden.meta["count"].get<size_t>(), texts.size());
    ASSERT_GE(texts.size(), 50u);
    auto encoder = Encoder::load(model_dir, {2, 16, Precision::fp32});  // the reference path (bf16/int8: test_precision)
    const size_t dims = encoder->dims();
    ASSERT_EQ(dims, golden.meta["dims"].get<size_t>());
    ASSERT_EQ(encoder->info().normalize, golden.meta["normalized"].get<bool>());
    std::vector<std::string_view> views(texts.begin(), texts.end());
    std::vector<float> ours(texts.size() * dims);
    encoder->encode(views, ours, role);

    double worst = 1.0;
    size_t worst_row = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
        const float* a = ours.data() + i * dims;
        const float* b = golden.vectors.data() + i * dims;
        double dot = 0, na = 0, nb = 0;
        for (size_t c = 0; c < dims; ++c) {
            dot += double(a[c]) * b[c];
            na += double(a[c]) * a[c];
            nb += double(b[c]) * b[c];
        }
        const double cosine = dot / std::sqrt(na * nb);
        if (cosine < worst) worst = cosine, worst_row = i;
        EXPECT_GE(cosine, 0.9999) << stem << " text " << i << ": \"" << texts[i].substr(0, 60) << "\"";
        EXPECT_NEAR(std::sqrt(na), std::sqrt(nb), 1e-4 * std::sqrt(nb)) << stem << " text " << i << ": norm";
        if (i < golden.ids.size()) {
            const std::string prompt = role == TextRole::query     ? encoder->info().query_prompt
                                       : role == TextRole::passage ? encoder->info().passage_prompt
                                                                   : std::string();
            EXPECT_EQ(encoder->tokenizer().encode(prompt + texts[i], encoder->info().max_seq_length), golden.ids[i])
                << stem << " text " << i;
        }
    }
    ::testing::Test::RecordProperty("worst_cosine", std::to_string(worst));
    std::printf("%s: worst cosine %.7f (text %zu) over %zu texts\n", stem.c_str(), worst, worst_row, texts.size());
}

TEST(Parity, AllMiniLmL6V2) { expect_parity(testing::default_model_dir(), "minilm", TextRole::plain); }

TEST(Parity, TinyClsNormalisedSafetensors) {
    expect_parity(golden_dir / "tiny_models" / "tiny-cls-norm", "tiny-cls-norm", TextRole::plain);
}

TEST(Parity, TinyMeanUnnormalisedPytorchBin) {
    expect_parity(golden_dir / "tiny_models" / "tiny-mean-raw", "tiny-mean-raw", TextRole::plain);
}

TEST(Parity, TinyE5Prompts) {
    const fs::path dir = golden_dir / "tiny_models" / "tiny-e5-prompts";
    expect_parity(dir, "tiny-e5-prompts", TextRole::plain);
    expect_parity(dir, "tiny-e5-prompts.query", TextRole::query);
    expect_parity(dir, "tiny-e5-prompts.passage", TextRole::passage);
}

TEST(Parity, TinyCasedVocabTxtOnly) {
    expect_parity(golden_dir / "tiny_models" / "tiny-cased-vocabtxt", "tiny-cased-vocabtxt", TextRole::plain);
}

}  // namespace
}  // namespace leann
