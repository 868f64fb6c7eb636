#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "embed/blas.h"
#include "embed/kernels.h"
#include "util/thread_pool.h"

extern "C" int openblas_get_num_threads(void);

namespace leann {
namespace {

std::vector<float> range(float lo, float hi, size_t n) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
    return v;
}

TEST(Kernels, ErfMatchesLibm) {
    auto x = range(-6.0f, 6.0f, 100001);
    auto y = x;
    kernels::erf_inplace(y.data(), y.size());
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(y[i]) - std::erf(double(x[i]))));
    EXPECT_LT(worst, 1e-6);
}

TEST(Kernels, ExpMatchesLibmRelative) {
    auto x = range(-87.0f, 88.0f, 100001);
    auto y = x;
    kernels::exp_inplace(y.data(), y.size());
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        double ref = std::exp(double(x[i]));
        worst = std::max(worst, std::abs(double(y[i]) - ref) / ref);
    }
    EXPECT_LT(worst, 1e-6);
}

TEST(Kernels, GeluExactAndTanh) {
    auto x = range(-8.0f, 8.0f, 4001);
    auto exact = x, tanh = x;
    kernels::gelu(exact.data(), 1, exact.size(), false);
    kernels::gelu(tanh.data(), 1, tanh.size(), true);
    for (size_t i = 0; i < x.size(); ++i) {
        double v = x[i];
        double ref = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
        double ref_tanh = 0.5 * v * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
        ASSERT_NEAR(exact[i], ref, 2e-6) << "x=" << v;
        ASSERT_NEAR(tanh[i], ref_tanh, 2e-6) << "x=" << v;
    }
}

TEST(Kernels, SoftmaxRowsSumToOneAndMatchReference) {
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 4.0f);
    const size_t rows = 5, cols = 37, ld = 40;
    std::vector<float> s(rows * ld, 1234.0f);
    for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c) s[r * ld + c] = dist(rng);
    auto ref = s;
    kernels::softmax(s.data(), rows, cols, ld, 0.25f);
    for (size_t r = 0; r < rows; ++r) {
        double max = -1e30, sum = 0;
        for (size_t c = 0; c < cols; ++c) max = std::max(max, 0.25 * ref[r * ld + c]);
        for (size_t c = 0; c < cols; ++c) sum += std::exp(0.25 * ref[r * ld + c] - max);
        double total = 0;
        for (size_t c = 0; c < cols; ++c) {
            double expect = std::exp(0.25 * ref[r * ld + c] - max) / sum;
            EXPECT_NEAR(s[r * ld + c], expect, 1e-6);
            total += s[r * ld + c];
        }
        EXPECT_NEAR(total, 1.0, 1e-5);
        for (size_t c = cols; c < ld; ++c) EXPECT_EQ(s[r * ld + c], 1234.0f) << "padding touched";
    }
}

TEST(Kernels, AddLayerNormMatchesReference) {
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(1.0f, 3.0f);
    const size_t rows = 3, cols = 384;
    std::vector<float> x(rows * cols), y(rows * cols), g(cols), b(cols);
    for (auto* v : {&x, &y, &g, &b})
        for (auto& e : *v) e = dist(rng);
    auto out = x;
    kernels::add_layer_norm(out.data(), y.data(), g.data(), b.data(), rows, cols, 1e-12f);
    for (size_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (size_t c = 0; c < cols; ++c) mean += double(x[r * cols + c]) + y[r * cols + c];
        mean /= cols;
        for (size_t c = 0; c < cols; ++c) {
            double d = double(x[r * cols + c]) + y[r * cols + c] - mean;
            var += d * d;
        }
        var /= cols;
        for (size_t c = 0; c < cols; ++c) {
            double expect = (double(x[r * cols + c]) + y[r * cols + c] - mean) / std::sqrt(var + 1e-12) * g[c] + b[c];
            ASSERT_NEAR(out[r * cols + c], expect, 1e-4 * (1 + std::abs(expect)));
        }
    }
}

TEST(Blas, StopThreadsLeavesOneThatStillComputes) {
    // ctest runs each test in a new process, where OpenBLAS starts with a thread per core; stop_threads (what the CLI
    // calls first, and Encoder::load through init) leaves one, and BLAS still computes.
    const int before = openblas_get_num_threads();
    blas::stop_threads();
    EXPECT_EQ(openblas_get_num_threads(), 1);
    blas::stop_threads();  // idempotent
    EXPECT_EQ(openblas_get_num_threads(), 1);
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1}, c[4] = {};
    blas::sgemm(false, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    EXPECT_FLOAT_EQ(c[1], 2.0f);
    EXPECT_FLOAT_EQ(c[2], 3.0f);
    if (before == 1 && hardware_threads() > 1)
        GTEST_SKIP() << "OpenBLAS had one thread already (an earlier test in this process, or OPENBLAS_NUM_THREADS): "
                        "the change was not seen";
}

}  // namespace
}  // namespace leann
