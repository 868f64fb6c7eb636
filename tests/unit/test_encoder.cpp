// The encoder against a plain double-precision BERT written out in the test, on random-weight models.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "leann/encoder.h"
#include "leann/error.h"
#include "tiny_model.h"

namespace leann {
namespace {

using testing::TensorMap;
using testing::TinyModelSpec;

// Straightforward reference: one sequence, double precision, no fusion, no packing.
std::vector<double> reference_embedding(const TensorMap& w, const TinyModelSpec& s, const std::vector<int32_t>& ids) {
    const size_t h = s.hidden, L = ids.size(), heads = s.heads, d = h / heads, inter = s.intermediate;
    auto W = [&](const std::string& n) -> const std::vector<float>& { return w.at(n).second; };
    auto layer_norm = [&](std::vector<double>& x, const std::string& p) {
        for (size_t t = 0; t < L; ++t) {
            double mean = 0, var = 0;
            for (size_t c = 0; c < h; ++c) mean += x[t * h + c];
            mean /= h;
            for (size_t c = 0; c < h; ++c) var += (x[t * h + c] - mean) * (x[t * h + c] - mean);
            var /= h;
            for (size_t c = 0; c < h; ++c)
                x[t * h + c] = (x[t * h + c] - mean) / std::sqrt(var + 1e-12) * W(p + ".weight")[c] + W(p + ".bias")[c];
        }
    };
    auto dense = [&](const std::vector<double>& x, size_t in, const std::string& p, size_t out) {
        std::vector<double> y(L * out);
        for (size_t t = 0; t < L; ++t)
            for (size_t o = 0; o < out; ++o) {
                double acc = W(p + ".bias")[o];
                for (size_t k = 0; k < in; ++k) acc += x[t * in + k] * W(p + ".weight")[o * in + k];
                y[t * out + o] = acc;
            }
        return y;
    };
    std::vector<double> x(L * h);
    for (size_t t = 0; t < L; ++t)
        for (size_t c = 0; c < h; ++c)
            x[t * h + c] = W("embeddings.word_embeddings.weight")[ids[t] * h + c] +
                           W("embeddings.position_embeddings.weight")[t * h + c] +
                           W("embeddings.token_type_embeddings.weight")[c];
    layer_norm(x, "embeddings.LayerNorm");
    for (size_t l = 0; l < s.layers; ++l) {
        const std::string p = "encoder.layer." + std::to_string(l) + ".";
        auto q = dense(x, h, p + "attention.self.query", h), k = dense(x, h, p + "attention.self.key", h),
             v = dense(x, h, p + "attention.self.value", h);
        std::vector<double> ctx(L * h, 0.0);
        for (size_t hd = 0; hd < heads; ++hd)
            for (size_t i = 0; i < L; ++i) {
                std::vector<double> sc(L);
                double mx = -1e300, sum = 0;
                for (size_t j = 0; j < L; ++j) {
                    double dot = 0;
                    for (size_t e = 0; e < d; ++e) dot += q[i * h + hd * d + e] * k[j * h + hd * d + e];
                    sc[j] = dot / std::sqrt(double(d));
                    mx = std::max(mx, sc[j]);
                }
                for (auto& e : sc) sum += (e = std::exp(e - mx));
                for (size_t j = 0; j < L; ++j)
                    for (size_t e = 0; e < d; ++e) ctx[i * h + hd * d + e] += sc[j] / sum * v[j * h + hd * d + e];
            }
        auto attn = dense(ctx, h, p + "attention.output.dense", h);
        for (size_t i = 0; i < x.size(); ++i) x[i] += attn[i];
        layer_norm(x, p + "attention.output.LayerNorm");
        auto mid = dense(x, h, p + "intermediate.dense", inter);
        for (auto& e : mid) e = s.hidden_act == "gelu" ? 0.5 * e * (1 + std::erf(e / std::sqrt(2.0)))
                                                       : 0.5 * e * (1 + std::tanh(std::sqrt(2 / M_PI) * (e + 0.044715 * e * e * e)));
        auto out = dense(mid, inter, p + "output.dense", h);
        for (size_t i = 0; i < x.size(); ++i) x[i] += out[i];
        layer_norm(x, p + "output.LayerNorm");
    }
    std::vector<double> pooled(h, 0.0);
    for (size_t c = 0; c < h; ++c) {
        if (s.pooling == "cls") {
            pooled[c] = x[c];
        } else if (s.pooling == "max") {
            pooled[c] = x[c];
            for (size_t t = 1; t < L; ++t) pooled[c] = std::max(pooled[c], x[t * h + c]);
        } else {
            for (size_t t = 0; t < L; ++t) pooled[c] += x[t * h + c];
            pooled[c] /= s.pooling == "mean" ? double(L) : std::sqrt(double(L));
        }
    }
    if (s.normalize) {
        double n = 0;
        for (double e : pooled) n += e * e;
        for (double& e : pooled) e /= std::sqrt(n);
    }
    return pooled;
}

const std::vector<std::string> texts = {"the quick brown fox jumps over the lazy dog", "", "search",
                                        "graph index query passage, the dog!", "zzzz qqqq xyz (1=2)",
                                        "the the the the the the the the the the the the the the the the the the "
                                        "the the the the the the the the the the the the the the the the the the "
                                        "the the the the the the the the the the the the the the the the the"};

void expect_matches_reference(const TinyModelSpec& spec, size_t threads, size_t batch) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path(), spec);
    auto encoder = Encoder::load(dir.path(), {threads, batch, Precision::fp32});  // the fp32 reference path
    ASSERT_EQ(encoder->dims(), spec.hidden);
    auto got = encoder->encode(texts);
    const TensorMap weights = testing::tiny_weights(spec);
    for (size_t i = 0; i < texts.size(); ++i) {
        auto ids = encoder->tokenizer().encode(texts[i], spec.max_seq_length);
        ASSERT_LE(ids.size(), spec.max_seq_length);
        auto ref = reference_embedding(weights, spec, ids);
        double max_err = 0, scale = 0;
        for (size_t c = 0; c < spec.hidden; ++c) {
            max_err = std::max(max_err, std::abs(got[i * spec.hidden + c] - ref[c]));
            scale = std::max(scale, std::abs(ref[c]));
        }
        EXPECT_LT(max_err, 1e-4 * std::max(1.0, scale)) << "text " << i << " pooling " << spec.pooling;
    }
}

// The word-embedding table is read from the mapped weights file while the encoder lives: a file rewritten in place
// (`cp` over it) or truncated under a running encoder is a ModelError naming it, never a crash or silent mixing;
// a file replaced by renaming a new one into place leaves the encoder on the old one.
TEST(Encoder, AWeightsFileRewrittenUnderARunningEncoderIsAnError) {
    namespace fs = std::filesystem;
    testing::TempDir dir;
    testing::write_tiny_model(dir.path(), {});
    const auto weights = dir.path() / "model.safetensors";
    auto encoder = Encoder::load(dir.path(), {1, 16, Precision::fp32});
    const auto before = encoder->encode(texts);
    // Renamed into place: the old file stays mapped, results unchanged.
    fs::copy_file(weights, dir.path() / "new.safetensors");
    fs::rename(dir.path() / "new.safetensors", weights);
    EXPECT_EQ(encoder->encode(texts), before);
    // Rewritten in place (same inode: what the encoder maps now), then truncated.
    encoder = Encoder::load(dir.path(), {1, 16, Precision::fp32});
    EXPECT_EQ(encoder->encode(texts), before);
    {
        // Appended to (the size tells at once; an equal-size rewrite is told by its change time, whose clock can be
        // a few milliseconds coarse, too coarse for a test that writes right after loading).
        std::ofstream out(weights, std::ios::binary | std::ios::app);
        out.write("garbage!", 8);
    }
    EXPECT_THROW(encoder->encode(texts), ModelError);
    fs::resize_file(weights, 0);
    try {
        encoder->encode(texts);
        FAIL() << "expected ModelError";
    } catch (const ModelError& e) {
        EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
    }
}

// The model's files are hashed and its tokenizer parsed beside the weights' conversion: the encoder records the
// same content hash as read_model_info, and a folder with broken files reports the one checked first, whichever
// thread found it: the weights' header (read with the configuration), then the tokenizer, then the tensors.
TEST(Encoder, LoadingInPartsKeepsTheHashAndTheOrderOfErrors) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path(), {});
    EXPECT_EQ(Encoder::load(dir.path(), {1, 16, Precision::fp32})->info().content_hash,
              read_model_info(dir.path()).content_hash);
    const auto expect_error_naming = [&](const std::string& file) {
        for (int i = 0; i < 5; ++i) {
            try {
                Encoder::load(dir.path(), {2, 16, Precision::fp32});
                ADD_FAILURE() << "expected ModelError naming " << file;
            } catch (const ModelError& e) {
                EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
            }
        }
    };
    // A weights file whose header reads but which lacks a layer: found while converting, on the loading thread,
    // with the tokenizer parsed at the same time.
    testing::TensorMap partial = testing::tiny_weights({});
    for (auto it = partial.begin(); it != partial.end();)
        it = it->first.find("layer.0.output.dense") != std::string::npos ? partial.erase(it) : std::next(it);
    testing::write_safetensors(dir.path() / "model.safetensors", partial);
    expect_error_naming("model.safetensors");
    // Both broken: the tokenizer is checked first, whichever thread finishes first.
    {
        std::ofstream out(dir.path() / "tokenizer.json", std::ios::trunc);
        out << "[1, 2, 3]";
    }
    expect_error_naming("tokenizer.json");
    // A weights file whose header does not read: found with the configuration, before anything else.
    {
        std::ofstream out(dir.path() / "model.safetensors", std::ios::binary | std::ios::trunc);
        out.write("not a safetensors file", 22);
    }
    expect_error_naming("model.safetensors");
}

TEST(Encoder, MeanPoolingNormalisedMatchesReference) { expect_matches_reference({}, 1, 16); }

TEST(Encoder, ClsPoolingMatchesReference) {
    TinyModelSpec spec;
    spec.pooling = "cls";
    expect_matches_reference(spec, 2, 3);
}

TEST(Encoder, MeanPoolingRawMatchesReference) {
    TinyModelSpec spec;
    spec.normalize = false;
    spec.seed = 5;
    expect_matches_reference(spec, 2, 16);
}

TEST(Encoder, MaxAndSqrtLenPoolingAndTanhGeluMatchReference) {
    TinyModelSpec spec;
    spec.pooling = "max";
    spec.hidden_act = "gelu_new";
    expect_matches_reference(spec, 2, 2);
    spec.pooling = "mean_sqrt_len";
    spec.normalize = false;
    expect_matches_reference(spec, 1, 1);
}

TEST(Encoder, BatchingAndThreadsDoNotChangeResults) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path(), {});
    auto one = Encoder::load(dir.path(), {1, 1})->encode(texts);
    auto many = Encoder::load(dir.path(), {2, 4})->encode(texts);
    ASSERT_EQ(one.size(), many.size());
    for (size_t i = 0; i < one.size(); ++i) EXPECT_NEAR(one[i], many[i], 1e-5);
}

TEST(Encoder, TruncatesToMaxSeqLength) {
    TinyModelSpec spec;
    spec.max_seq_length = 8;
    testing::TempDir dir;
    testing::write_tiny_model(dir.path(), spec);
    auto encoder = Encoder::load(dir.path(), {1, 4});
    EXPECT_EQ(encoder->info().max_seq_length, 8u);
    std::vector<std::string> long_text = {texts.back()}, cut = {"the the the the the the"};
    auto a = encoder->encode(long_text), b = encoder->encode(cut);
    for (size_t c = 0; c < spec.hidden; ++c) EXPECT_NEAR(a[c], b[c], 1e-6);
}

TEST(Encoder, InvalidUtf8IsRepairedNotFatal) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path(), {});
    auto encoder = Encoder::load(dir.path(), {1, 4});
    std::vector<std::string> bad = {std::string("the \xff\xfe quick \xc3 fox \xed\xa0\x80"), "the quick fox"};
    auto v = encoder->encode(bad);
    for (size_t c = 0; c < encoder->dims(); ++c) {
        EXPECT_TRUE(std::isfinite(v[c]));
        EXPECT_NEAR(v[c], v[encoder->dims() + c], 1e-6);  // the bad bytes are dropped by the normaliser
    }
}

TEST(Encoder, OutputSizeIsChecked) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path(), {});
    auto encoder = Encoder::load(dir.path(), {1, 4});
    std::vector<std::string_view> one = {"fox"};
    std::vector<float> out(3);
    EXPECT_THROW(encoder->encode(one, out), Error);
}

}  // namespace
}  // namespace leann
