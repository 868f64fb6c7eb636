// Element-wise kernels of the encoder, fused so each pass over the activations does as much as it can.
// Vectorised by the compiler and dispatched at run time by CPU features (AVX-512, AVX2+FMA, baseline).
// All matrices are row-major float32; `ld` is the distance in floats between rows.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leann::kernels {

/// x[r][c] = gelu(x[r][c]) for rows x cols. gelu is 0.5*x*(1+erf(x/sqrt 2)) ("gelu"), or its tanh
/// approximation when `tanh_approx` ("gelu_new", "gelu_pytorch_tanh"). With `bf16`, the result goes there as
/// bfloat16 instead (rows contiguous; x unchanged): the next bf16 layer's input.
void gelu(float* x, size_t rows, size_t cols, bool tanh_approx, uint16_t* bf16 = nullptr);

/// x[r] = LayerNorm(x[r] + y[r]) * gamma + beta for each of `rows` rows of `cols` floats (x, y contiguous).
/// y may be null (plain LayerNorm). When bf16 is given, the result is also written there as bfloat16 (rounded as
/// to_bf16 rounds, rows contiguous): the next bf16 layer's input without a pass of its own.
void add_layer_norm(float* x, const float* y, const float* gamma, const float* beta, size_t rows, size_t cols,
                    float eps, uint16_t* bf16 = nullptr);

/// s[r] = softmax(scale * s[r]) over the first `cols` entries of each row.
void softmax(float* s, size_t rows, size_t cols, size_t ld, float scale);

/// y[r] = bias for each of `rows` rows of `cols` floats (so a GEMM with beta = 1 adds the bias).
void fill_rows(float* y, const float* bias, size_t rows, size_t cols);

/// out[r][c] = bfloat16(x[r][c]) (round to nearest even) for rows x cols; x has row stride ld floats, out is
/// contiguous. Inputs are finite activations (no NaN handling).
void to_bf16(const float* x, size_t rows, size_t cols, size_t ld, uint16_t* out);

/// Symmetric per-row int8 quantisation: scale[r] = max|x[r]| / 127 (1 for an all-zero row),
/// out[r][c] = round(x[r][c] / scale[r]) in [-127, 127]. x has row stride ld floats, out is contiguous.
void quantize_rows(const float* x, size_t rows, size_t cols, size_t ld, int8_t* out, float* scale);

/// y[r][c] = y[r][c] * row_scale[r] + bias[c] (row_scale may be null: y += bias) for rows x cols, row stride ld.
void scale_rows_add_bias(float* y, size_t rows, size_t cols, size_t ld, const float* row_scale, const float* bias);

/// The vectorisable approximations used above, exposed for tests: erf and exp over n floats, in place.
void erf_inplace(float* x, size_t n);
void exp_inplace(float* x, size_t n);

}  // namespace leann::kernels
