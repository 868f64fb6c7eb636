// The low-precision encoder paths (issue 12): bf16 and int8 linear layers against the fp32 reference on the
// golden parity texts, the conversion kernels, and the selection API. Paths the CPU cannot run are skipped with
// a message; fp32 is tested everywhere.
#include <gtest/gtest.h>
#include <array>

#include <bit>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "embed/attention_bf16.h"
#include "embed/kernels.h"
#include "embed/lowp_linear.h"
#include "leann/encoder.h"
#include "leann/error.h"
#include "test_support.h"
#include "tiny_model.h"

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

double cosine(const float* a, const float* b, size_t n) {
    double dot = 0, na = 0, nb = 0;
    for (size_t c = 0; c < n; ++c) {
        dot += double(a[c]) * b[c];
        na += double(a[c]) * a[c];
        nb += double(b[c]) * b[c];
    }
    return dot / std::sqrt(na * nb);
}

// The worst cosine between `precision` and fp32 embeddings of the golden texts, with `threads` threads (2 threads
// and single texts also exercise the few-rows path that splits a layer by output columns).
double worst_cosine_to_fp32(const fs::path& model_dir, Precision precision, size_t threads, size_t batch) {
    const auto texts = golden_texts();
    EXPECT_GE(texts.size(), 50u);
    auto reference = Encoder::load(model_dir, {threads, batch, Precision::fp32});
    auto lowp = Encoder::load(model_dir, {threads, batch, precision});
    EXPECT_EQ(reference->precision(), Precision::fp32);
    EXPECT_EQ(lowp->precision(), precision);
    const auto a = reference->encode(texts);
    const auto b = lowp->encode(texts);
    const size_t dims = reference->dims();
    double worst = 1.0;
    for (size_t i = 0; i < texts.size(); ++i) {
        const double c = cosine(a.data() + i * dims, b.data() + i * dims, dims);
        EXPECT_TRUE(std::isfinite(c)) << "text " << i;
        worst = std::min(worst, c);
    }
    std::printf("%s, %s, %zu threads, batch %zu: worst cosine to fp32 %.6f over %zu texts\n",
                model_dir.filename().c_str(), precision_name(precision), threads, batch, worst, texts.size());
    return worst;
}

#define SKIP_UNLESS_SUPPORTED(p)                                                                        \
    if (!precision_supported(p))                                                                        \
    GTEST_SKIP() << precision_name(p) << " is not available on this CPU/build (" << precision_backend() \
                 << "); fp32 is tested elsewhere"

TEST(Precision, NamesRoundTripAndUnknownIsAnError) {
    for (Precision p : {Precision::automatic, Precision::fp32, Precision::bf16, Precision::int8})
        EXPECT_EQ(parse_precision(precision_name(p)), p);
    EXPECT_THROW(parse_precision("fp16"), Error);
    EXPECT_THROW(parse_precision(""), Error);
    EXPECT_TRUE(precision_supported(Precision::fp32));
    EXPECT_TRUE(precision_supported(Precision::automatic));
    EXPECT_NE(default_precision(), Precision::automatic);
    EXPECT_TRUE(precision_supported(default_precision()));
}

TEST(Precision, AutomaticResolvesToTheDefaultAndFp32IsAlwaysThere) {
    const fs::path model = golden_dir / "tiny_models" / "tiny-cls-norm";
    EXPECT_EQ(Encoder::load(model, {1, 4})->precision(), default_precision());
    EXPECT_EQ(Encoder::load(model, {1, 4, Precision::fp32})->precision(), Precision::fp32);
}

TEST(Precision, UnsupportedExplicitPrecisionIsAClearError) {
    const fs::path model = golden_dir / "tiny_models" / "tiny-cls-norm";
    for (Precision p : {Precision::bf16, Precision::int8}) {
        if (precision_supported(p)) continue;
        try {
            Encoder::load(model, {1, 4, p});
            ADD_FAILURE() << precision_name(p) << " loaded on a CPU that cannot run it";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(precision_name(p)), std::string::npos) << e.what();
        }
    }
}

TEST(Precision, Bf16MiniLmWithinGate) {
    SKIP_UNLESS_SUPPORTED(Precision::bf16);
    const fs::path model = testing::default_model_dir();
    if (!fs::exists(model / "config.json")) GTEST_SKIP() << testing::model_missing_message(model);
    EXPECT_GE(worst_cosine_to_fp32(model, Precision::bf16, 2, 16), 0.999);
    EXPECT_GE(worst_cosine_to_fp32(model, Precision::bf16, 2, 1), 0.999);
}

TEST(Precision, Int8MiniLmWithinGate) {
    SKIP_UNLESS_SUPPORTED(Precision::int8);
    const fs::path model = testing::default_model_dir();
    if (!fs::exists(model / "config.json")) GTEST_SKIP() << testing::model_missing_message(model);
    EXPECT_GE(worst_cosine_to_fp32(model, Precision::int8, 2, 16), 0.99);
    EXPECT_GE(worst_cosine_to_fp32(model, Precision::int8, 2, 1), 0.99);
}

TEST(Precision, TinyModelsFollowFp32) {
    // Tiny random models (hidden 32-64): odd shapes, CLS / mean pooling, unnormalised output, one thread.
    for (const char* name : {"tiny-cls-norm", "tiny-mean-raw", "tiny-e5-prompts"}) {
        for (Precision p : {Precision::bf16, Precision::int8}) {
            if (!precision_supported(p)) continue;
            EXPECT_GE(worst_cosine_to_fp32(golden_dir / "tiny_models" / name, p, 1, 16), 0.99) << name;
        }
    }
}

TEST(Precision, RowsAreIndependentOfTheirBatch) {
    // A text's embedding must not depend on what it was batched with (row tiles, padded tails, column pieces).
    const fs::path model = golden_dir / "tiny_models" / "tiny-cls-norm";
    const auto texts = golden_texts();
    for (Precision p : {Precision::fp32, Precision::bf16, Precision::int8}) {
        if (!precision_supported(p)) continue;
        auto batched = Encoder::load(model, {2, 64, p});
        auto alone = Encoder::load(model, {2, 1, p});
        const auto a = batched->encode(texts);
        const auto b = alone->encode(texts);
        const size_t dims = batched->dims();
        for (size_t i = 0; i < texts.size(); ++i)
            EXPECT_GE(cosine(a.data() + i * dims, b.data() + i * dims, dims), 0.9999)
                << precision_name(p) << " text " << i;
    }
}

TEST(PrecisionKernels, Bf16RoundsToNearestEven) {
    const float x[] = {1.0f,        -2.5f, 1.00390625f /* 1 + 2^-8: a tie, stays 1 */, 1.01171875f /* tie, rounds up */,
                       3.14159265f, 0.0f};
    uint16_t out[6];
    kernels::to_bf16(x, 1, 6, 6, out);
    EXPECT_EQ(out[0], 0x3f80);
    EXPECT_EQ(out[1], 0xc020);
    EXPECT_EQ(out[2], 0x3f80);
    EXPECT_EQ(out[3], 0x3f82);
    EXPECT_EQ(out[4], 0x4049);
    EXPECT_EQ(out[5], 0x0000);
}

TEST(PrecisionKernels, QuantizeRowsIsSymmetricPerRow) {
    const float x[] = {0.5f,  -1.0f, 0.25f, 0.0f,  // row 0: max 1
                       0.0f,  0.0f,  0.0f,  0.0f,  // row 1: all zero
                       10.0f, 5.0f,  -2.5f, 0.04f};
    int8_t q[12];
    float scale[3];
    kernels::quantize_rows(x, 3, 4, 4, q, scale);
    EXPECT_FLOAT_EQ(scale[0], 1.0f / 127);
    EXPECT_EQ(q[0], 64);
    EXPECT_EQ(q[1], -127);
    EXPECT_EQ(q[2], 32);
    EXPECT_EQ(q[3], 0);
    EXPECT_FLOAT_EQ(scale[1], 1.0f);
    for (int i = 4; i < 8; ++i) EXPECT_EQ(q[i], 0);
    EXPECT_FLOAT_EQ(scale[2], 10.0f / 127);
    EXPECT_EQ(q[8], 127);
    EXPECT_EQ(q[9], 64);
    EXPECT_EQ(q[10], -32);
    EXPECT_EQ(q[11], 1);
}

TEST(PrecisionKernels, ScaleRowsAddBias) {
    float y[] = {1, 2, 3, 4, 5, 6};
    const float bias[] = {10, 20};
    const float row_scale[] = {2, 3};
    kernels::scale_rows_add_bias(y, 2, 2, 3, row_scale, bias);  // two rows of two columns, stride 3
    EXPECT_FLOAT_EQ(y[0], 12);
    EXPECT_FLOAT_EQ(y[1], 24);
    EXPECT_FLOAT_EQ(y[2], 3);
    EXPECT_FLOAT_EQ(y[3], 22);
    EXPECT_FLOAT_EQ(y[4], 35);
    kernels::scale_rows_add_bias(y, 1, 2, 3, nullptr, bias);
    EXPECT_FLOAT_EQ(y[0], 22);
    EXPECT_FLOAT_EQ(y[1], 44);
}

}  // namespace
}  // namespace leann

namespace leann {
namespace {

// A linear layer's weights (n x k, small) and bias, drawn from `rng`.
std::pair<std::vector<float>, std::vector<float>> random_layer(size_t n, size_t k, std::mt19937& rng) {
    std::normal_distribution<float> normal;
    std::vector<float> w(n * k), bias(n);
    for (float& v : w) v = normal(rng) * 0.1f;
    for (float& v : bias) v = normal(rng);
    return {std::move(w), std::move(bias)};
}

// One LinearLayer against a double-precision reference: every piece count, row counts that hit full tiles,
// padded tails and the few-rows buckets, run from one thread and from two at once (disjoint rows).
TEST(PrecisionLinear, MatchesReferenceForEveryPieceAndRowCount) {
    for (Precision p : {Precision::bf16, Precision::int8}) {
        if (!precision_supported(p)) continue;
        const size_t n = 80, k = 48;
        std::mt19937 rng(7);
        std::normal_distribution<float> normal;
        const auto drawn = random_layer(n, k, rng);  // not a structured binding: the thread below captures it
        const std::vector<float>& w = drawn.first;
        const std::vector<float>& bias = drawn.second;
        for (size_t pieces : {1, 2, 3}) {
            lowp::LinearLayer layer(p, w.data(), n, k, pieces);
            for (size_t rows : {1, 9, 40, 256, 300, 600}) {
                std::vector<float> x(rows * k), y(rows * n, -99.0f);
                for (float& v : x) v = normal(rng);
                std::vector<lowp::Workspace> ws(2);
                const size_t half = rows / 2;
                std::thread other([&] {
                    layer.forward({x.data() + half * k}, rows - half, bias.data(), y.data() + half * n, n, 0,
                                  layer.pieces(), ws[1]);
                });
                if (half > 0) layer.forward({x.data()}, half, bias.data(), y.data(), n, 0, layer.pieces(), ws[0]);
                other.join();
                double worst = 0;
                for (size_t r = 0; r < rows; ++r)
                    for (size_t c = 0; c < n; ++c) {
                        double ref = bias[c];
                        for (size_t i = 0; i < k; ++i) ref += double(x[r * k + i]) * w[c * k + i];
                        worst = std::max(worst, std::abs(ref - y[r * n + c]));
                    }
                EXPECT_LT(worst, p == Precision::bf16 ? 0.05 : 0.08)
                    << precision_name(p) << " pieces " << pieces << " rows " << rows;
            }
        }
    }
}

}  // namespace
}  // namespace leann

namespace leann {
namespace {

// The bf16 copies LayerNorm and GELU write for the next layer are exactly their float results, rounded.
TEST(PrecisionKernels, Bf16CopiesAreTheRoundedFloatResults) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    const size_t rows = 5, cols = 384;
    std::vector<float> x(rows * cols), y(rows * cols), g(cols), b(cols);
    for (auto* v : {&x, &y, &g, &b})
        for (float& e : *v) e = normal(rng);
    auto plain = x, copied = x;
    std::vector<uint16_t> copy(rows * cols), expect(rows * cols);
    kernels::add_layer_norm(plain.data(), y.data(), g.data(), b.data(), rows, cols, 1e-12f);
    kernels::add_layer_norm(copied.data(), y.data(), g.data(), b.data(), rows, cols, 1e-12f, copy.data());
    EXPECT_EQ(plain, copied);
    kernels::to_bf16(plain.data(), rows, cols, cols, expect.data());
    EXPECT_EQ(copy, expect);
    for (bool tanh : {false, true}) {
        auto activated = x, untouched = x;
        kernels::gelu(activated.data(), rows, cols, tanh);
        kernels::gelu(untouched.data(), rows, cols, tanh, copy.data());
        EXPECT_EQ(untouched, x) << "with a bf16 output the float rows are left as they were";
        kernels::to_bf16(activated.data(), rows, cols, cols, expect.data());
        EXPECT_EQ(copy, expect) << (tanh ? "tanh" : "erf");
    }
}

// A bf16 layer given its input already converted computes what it computes from the float rows (read in place on
// full tiles, copied for padded tails and the few-rows buckets).
TEST(PrecisionLinear, Bf16InputGivesTheSameRowsAsFloatInput) {
    SKIP_UNLESS_SUPPORTED(Precision::bf16);
    const size_t n = 48, k = 64;
    std::mt19937 rng(11);
    std::normal_distribution<float> normal;
    const auto drawn = random_layer(n, k, rng);
    const std::vector<float>& w = drawn.first;
    const std::vector<float>& bias = drawn.second;
    lowp::LinearLayer layer(Precision::bf16, w.data(), n, k, 2);
    lowp::Workspace ws;
    for (size_t rows : {1, 9, 256, 300}) {
        std::vector<float> x(rows * k), from_float(rows * n), from_bf16(rows * n);
        for (float& v : x) v = normal(rng);
        std::vector<uint16_t> converted(rows * k);
        kernels::to_bf16(x.data(), rows, k, k, converted.data());
        layer.forward({x.data()}, rows, bias.data(), from_float.data(), n, 0, layer.pieces(), ws);
        layer.forward({nullptr, converted.data()}, rows, bias.data(), from_bf16.data(), n, 0, layer.pieces(), ws);
        EXPECT_EQ(from_float, from_bf16) << "rows " << rows;
    }
    std::vector<float> y(n);
    EXPECT_THROW(layer.forward({}, 1, bias.data(), y.data(), n, 0, layer.pieces(), ws), Error);
}

// Weights given as stacked blocks (Q, K and V viewed in the model file) pack to the same layer as one matrix,
// whether a piece lies in one block or straddles several; blocks that are not whole rows are refused.
TEST(PrecisionLinear, StackedBlocksPackLikeOneMatrix) {
    for (Precision p : {Precision::bf16, Precision::int8}) {
        if (!precision_supported(p)) continue;
        const size_t n = 96, k = 32;
        std::mt19937 rng(5);
        std::normal_distribution<float> normal;
        const auto drawn = random_layer(n, k, rng);
        const std::vector<float>& w = drawn.first;
        const std::vector<float>& bias = drawn.second;
        // Blocks of 16, 48 and 32 rows, each in a buffer of its own: with 2 or 4 pieces of 48 or 32 rows some
        // pieces straddle a boundary.
        const std::vector<float> q(w.begin(), w.begin() + 16 * k), kk(w.begin() + 16 * k, w.begin() + 64 * k),
            v(w.begin() + 64 * k, w.end());
        const std::array blocks{std::span<const float>(q), std::span<const float>(kk), std::span<const float>(v)};
        for (size_t pieces : {1, 2, 3, 4}) {
            lowp::LinearLayer whole(p, w.data(), n, k, pieces), stacked(p, blocks, n, k, pieces);
            lowp::Workspace ws;
            const size_t rows = 40;
            std::vector<float> x(rows * k), a(rows * n), b(rows * n);
            for (float& v : x) v = normal(rng);
            whole.forward({x.data()}, rows, bias.data(), a.data(), n, 0, whole.pieces(), ws);
            stacked.forward({x.data()}, rows, bias.data(), b.data(), n, 0, stacked.pieces(), ws);
            EXPECT_EQ(a, b) << precision_name(p) << ", " << pieces << " pieces";
        }
        const std::array ragged{std::span<const float>(w.data(), 16 * k + 1),
                                std::span<const float>(w.data() + 16 * k + 1, 80 * k - 1)};
        EXPECT_THROW(lowp::LinearLayer(p, ragged, n, k, 2), Error);
        EXPECT_THROW(lowp::LinearLayer(p, std::span(blocks).first(2), n, k, 2), Error);
    }
}

// Attention in bf16 against a double-precision reference: lengths around the blocks of 16 keys and the register
// blocks of 8 query rows, every supported head size, scores large enough that the softmax is peaked.
TEST(PrecisionAttention, Bf16MatchesReferenceForEveryLengthAndHeadSize) {
    if (!kernels::attention_bf16_supported(32)) GTEST_SKIP() << "this CPU has no AVX512-BF16";
    EXPECT_FALSE(kernels::attention_bf16_supported(24));
    EXPECT_FALSE(kernels::attention_bf16_supported(256));
    std::mt19937 rng(13);
    std::normal_distribution<float> normal;
    kernels::AttentionScratch scratch;  // reused across shapes, as per thread in the encoder
    for (size_t d : {16, 32, 64, 128}) {
        const size_t heads = 3, h = heads * d, ld = 3 * h;
        for (size_t len : {256, 100, 33, 17, 16, 15, 8, 7, 2, 1}) {  // longest first: stale scratch
            std::vector<float> qkv(len * ld), ctx(len * h, -99.0f);
            for (float& v : qkv) v = normal(rng) * 1.5f;
            // The reference reads Q, K and V rounded to bf16 as the kernel does, so what is left is the rounding of
            // the probabilities and the order of the sums.
            std::vector<uint16_t> rounded(qkv.size());
            kernels::to_bf16(qkv.data(), 1, qkv.size(), qkv.size(), rounded.data());
            std::vector<float> r(qkv.size());
            for (size_t i = 0; i < r.size(); ++i) r[i] = std::bit_cast<float>(uint32_t(rounded[i]) << 16);
            const float* rq = r.data() + d;  // the head below
            const float scale = 1.0f / std::sqrt(float(d));
            const size_t head = 1;  // the middle head: neighbours' columns must be left alone
            const float* q = qkv.data() + head * d;
            kernels::attention_bf16(q, q + h, q + 2 * h, ld, len, d, scale, ctx.data() + head * d, h, scratch);
            double worst = 0;
            for (size_t i = 0; i < len; ++i) {
                std::vector<double> p(len);
                double top = -INFINITY, sum = 0;
                for (size_t j = 0; j < len; ++j) {
                    double dot = 0;
                    for (size_t c = 0; c < d; ++c) dot += double(rq[i * ld + c]) * rq[j * ld + h + c];
                    p[j] = dot * scale;
                    top = std::max(top, p[j]);
                }
                for (double& e : p) sum += (e = std::exp(e - top));
                for (size_t c = 0; c < d; ++c) {
                    double ref = 0;
                    for (size_t j = 0; j < len; ++j) ref += p[j] / sum * rq[j * ld + 2 * h + c];
                    worst = std::max(worst, std::abs(ref - ctx[i * h + head * d + c]));
                }
                for (size_t c = 0; c < h; ++c)
                    if (c / d != head) ASSERT_EQ(ctx[i * h + c], -99.0f) << "d " << d << " len " << len;
            }
            EXPECT_LT(worst, 0.01) << "d " << d << " len " << len;
        }
    }
}

}  // namespace
}  // namespace leann
