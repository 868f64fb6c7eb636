// Self-attention of one head over one sequence with bfloat16 products (AVX512-BF16 dot products, float32
// accumulation and softmax): the encoder's attention when it runs in bf16. Chosen at run time; fp32 (OpenBLAS)
// stays the reference and the path of every other precision.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace leann::kernels {

/// Per-thread working memory of attention_bf16 (converted and packed Q, K, V, the scores, the probabilities).
struct AttentionScratch {
    std::vector<uint16_t> q, k, v, p;
    std::vector<float> s, row_scale;
};

/// Whether attention_bf16 runs on this CPU (AVX512-BF16) for heads of `head_dim` values (a multiple of 16, at
/// most 128).
bool attention_bf16_supported(size_t head_dim);

/// ctx[i] = sum_j softmax_j(scale * q_i . k_j) v_j for i, j < len: q, k and v rows `ld` floats apart, head_dim
/// values each; ctx rows `ldc` floats apart. Q, K, V and the probabilities are rounded to bfloat16; the scores,
/// the softmax and the sums are float32. Requires attention_bf16_supported(head_dim).
void attention_bf16(const float* q, const float* k, const float* v, size_t ld, size_t len, size_t head_dim, float scale,
                    float* ctx, size_t ldc, AttentionScratch& scratch);

}  // namespace leann::kernels
