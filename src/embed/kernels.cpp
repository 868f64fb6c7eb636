// Compiled with -O3 -fopenmp-simd (see src/CMakeLists.txt). Each public kernel is cloned for several
// instruction sets and the loader picks the best one for the CPU, so the binary runs everywhere.
#include "embed/kernels.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define LEANN_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LEANN_MULTIVERSION
#endif

namespace leann::kernels {
namespace {

// Plain comparisons, not std::fmin/fmax: those keep IEEE NaN rules that GCC only honours through a libm call,
// which stops the loops from vectorising (it cost ~20% of encoder time before this was found with perf).
inline float clamp(float x, float lo, float hi) {
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}

// exp(x) for x in float range: x = n*ln2 + r with |r| <= ln2/2, exp(r) by a degree-6 polynomial, 2^n by
// building the exponent bits. Relative error ~2 ulp; branch-free so loops over it vectorise.
inline float fast_exp(float x) {
    x = clamp(x, -87.3f, 88.7f);
    float n = std::nearbyint(x * 1.44269504088896341f);
    float r = std::fma(n, -0.693359375f, x);
    r = std::fma(n, 2.12194440e-4f, r);
    float p = 1.3981999507e-3f;
    p = std::fma(p, r, 8.3334519073e-3f);
    p = std::fma(p, r, 4.1665795894e-2f);
    p = std::fma(p, r, 1.6666665459e-1f);
    p = std::fma(p, r, 5.0000001201e-1f);
    p = std::fma(p, r * r, r);
    p += 1.0f;
    int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    return p * std::bit_cast<float>(bits);
}

// erf(x) as x * P(x^2) / Q(x^2) on [-4, 4] (erf is +-1 in float beyond), the rational form Eigen and XNNPACK use.
inline float fast_erf(float x) {
    x = clamp(x, -4.0f, 4.0f);
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = std::fma(p, x2, 2.77068142495902e-08f);
    p = std::fma(p, x2, -2.10102402082508e-06f);
    p = std::fma(p, x2, -5.69250639462346e-05f);
    p = std::fma(p, x2, -7.34990630326855e-04f);
    p = std::fma(p, x2, -2.95459980854025e-03f);
    p = std::fma(p, x2, -1.60960333262415e-02f);
    float q = -1.45660718464996e-05f;
    q = std::fma(q, x2, -2.13374055278905e-04f);
    q = std::fma(q, x2, -1.68282697438203e-03f);
    q = std::fma(q, x2, -7.37332916720468e-03f);
    q = std::fma(q, x2, -1.42647390514189e-02f);
    return x * p / q;
}

// bfloat16 of a finite float, rounded to nearest even.
inline uint16_t bf16_bits(float x) {
    const uint32_t bits = std::bit_cast<uint32_t>(x);
    return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

inline float fast_tanh(float x) {
    // tanh(x) = 1 - 2 / (exp(2x) + 1); fine in float over the clamped exp range.
    return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f);
}

}  // namespace

LEANN_MULTIVERSION
void erf_inplace(float* x, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; ++i) x[i] = fast_erf(x[i]);
}

LEANN_MULTIVERSION
void exp_inplace(float* x, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; ++i) x[i] = fast_exp(x[i]);
}

LEANN_MULTIVERSION
void gelu(float* x, size_t rows, size_t cols, bool tanh_approx, uint16_t* bf16) {
    const size_t n = rows * cols;
    if (bf16 != nullptr) {  // written as bfloat16 only (x is left as it was)
        if (tanh_approx) {
#pragma omp simd
            for (size_t i = 0; i < n; ++i) {
                const float v = x[i];
                bf16[i] = bf16_bits(0.5f * v * (1.0f + fast_tanh(0.7978845608028654f * (v + 0.044715f * v * v * v))));
            }
        } else {
#pragma omp simd
            for (size_t i = 0; i < n; ++i) {
                const float v = x[i];
                bf16[i] = bf16_bits(0.5f * v * (1.0f + fast_erf(v * 0.70710678118654752f)));
            }
        }
        return;
    }
    if (tanh_approx) {
#pragma omp simd
        for (size_t i = 0; i < n; ++i) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + fast_tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        }
    } else {
#pragma omp simd
        for (size_t i = 0; i < n; ++i) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + fast_erf(v * 0.70710678118654752f));
        }
    }
}

LEANN_MULTIVERSION
void add_layer_norm(float* x, const float* y, const float* gamma, const float* beta, size_t rows, size_t cols,
                    float eps, uint16_t* bf16) {
    for (size_t r = 0; r < rows; ++r) {
        float* row = x + r * cols;
        if (y != nullptr) {
            const float* add = y + r * cols;
#pragma omp simd
            for (size_t c = 0; c < cols; ++c) row[c] += add[c];
        }
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (size_t c = 0; c < cols; ++c) sum += row[c];
        const float mean = sum / static_cast<float>(cols);
        float var = 0.0f;
#pragma omp simd reduction(+ : var)
        for (size_t c = 0; c < cols; ++c) {
            float d = row[c] - mean;
            var += d * d;
        }
        const float inv = 1.0f / std::sqrt(var / static_cast<float>(cols) + eps);
        if (bf16 == nullptr) {
#pragma omp simd
            for (size_t c = 0; c < cols; ++c) row[c] = (row[c] - mean) * inv * gamma[c] + beta[c];
            continue;
        }
        uint16_t* o = bf16 + r * cols;
#pragma omp simd
        for (size_t c = 0; c < cols; ++c) {
            const float v = (row[c] - mean) * inv * gamma[c] + beta[c];
            row[c] = v;
            o[c] = bf16_bits(v);
        }
    }
}

LEANN_MULTIVERSION
void softmax(float* s, size_t rows, size_t cols, size_t ld, float scale) {
    for (size_t r = 0; r < rows; ++r) {
        float* row = s + r * ld;
        float max = row[0];
#pragma omp simd reduction(max : max)
        for (size_t c = 0; c < cols; ++c) max = row[c] > max ? row[c] : max;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (size_t c = 0; c < cols; ++c) {
            float e = fast_exp((row[c] - max) * scale);
            row[c] = e;
            sum += e;
        }
        const float inv = 1.0f / sum;
#pragma omp simd
        for (size_t c = 0; c < cols; ++c) row[c] *= inv;
    }
}

LEANN_MULTIVERSION
void to_bf16(const float* x, size_t rows, size_t cols, size_t ld, uint16_t* out) {
    for (size_t r = 0; r < rows; ++r) {
        const float* row = x + r * ld;
        uint16_t* o = out + r * cols;
#pragma omp simd
        for (size_t c = 0; c < cols; ++c) o[c] = bf16_bits(row[c]);
    }
}

LEANN_MULTIVERSION
void quantize_rows(const float* x, size_t rows, size_t cols, size_t ld, int8_t* out, float* scale) {
    for (size_t r = 0; r < rows; ++r) {
        const float* row = x + r * ld;
        float amax = 0.0f;
#pragma omp simd reduction(max : amax)
        for (size_t c = 0; c < cols; ++c) {
            const float a = row[c] < 0.0f ? -row[c] : row[c];
            amax = a > amax ? a : amax;
        }
        scale[r] = amax > 0.0f ? amax / 127.0f : 1.0f;
        const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        int8_t* o = out + r * cols;
#pragma omp simd
        for (size_t c = 0; c < cols; ++c)
            o[c] = static_cast<int8_t>(clamp(std::nearbyint(row[c] * inv), -127.0f, 127.0f));
    }
}

LEANN_MULTIVERSION
void scale_rows_add_bias(float* y, size_t rows, size_t cols, size_t ld, const float* row_scale, const float* bias) {
    for (size_t r = 0; r < rows; ++r) {
        float* row = y + r * ld;
        const float s = row_scale != nullptr ? row_scale[r] : 1.0f;
#pragma omp simd
        for (size_t c = 0; c < cols; ++c) row[c] = row[c] * s + bias[c];
    }
}

void fill_rows(float* y, const float* bias, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; ++r) std::memcpy(y + r * cols, bias, cols * sizeof(float));
}

}  // namespace leann::kernels
