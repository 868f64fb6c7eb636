// Element-wise kernels of the encoder, fused so each pass over the activations does as much as it can.
// Vectorised by the compiler and dispatched at run time by CPU features (AVX-512, AVX2+FMA, baseline).
// All matrices are row-major float32; `ld` is the distance in floats between rows.
#pragma once

#include <cstddef>

namespace leann::kernels {

/// x[r][c] = gelu(x[r][c]) for rows x cols. gelu is 0.5*x*(1+erf(x/sqrt 2)) ("gelu"), or its tanh
/// approximation when `tanh_approx` ("gelu_new", "gelu_pytorch_tanh").
void gelu(float* x, size_t rows, size_t cols, bool tanh_approx);

/// x[r] = LayerNorm(x[r] + y[r]) * gamma + beta for each of `rows` rows of `cols` floats (x, y contiguous).
/// y may be null (plain LayerNorm).
void add_layer_norm(float* x, const float* y, const float* gamma, const float* beta, size_t rows, size_t cols,
                    float eps);

/// s[r] = softmax(scale * s[r]) over the first `cols` entries of each row.
void softmax(float* s, size_t rows, size_t cols, size_t ld, float scale);

/// y[r] = bias for each of `rows` rows of `cols` floats (so a GEMM with beta = 1 adds the bias).
void fill_rows(float* y, const float* bias, size_t rows, size_t cols);

/// The vectorisable approximations used above, exposed for tests: erf and exp over n floats, in place.
void erf_inplace(float* x, size_t n);
void exp_inplace(float* x, size_t n);

}  // namespace leann::kernels
