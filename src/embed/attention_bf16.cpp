// Compiled for the baseline; the kernels carry their own target attribute and run only after the CPU check.
#include "embed/attention_bf16.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LEANN_ATTENTION_BF16 1
#endif

namespace leann::kernels {

#ifdef LEANN_ATTENTION_BF16
namespace {

#define LEANN_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

constexpr size_t kRows = 8;  // query rows per register block of the score product

// exp(x) as in kernels.cpp's fast_exp (x = n ln2 + r, degree-6 polynomial), 2^n by scalef.
LEANN_BF16_TARGET inline __m512 exp512(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.7f)), _mm512_set1_ps(-87.3f));
    const __m512 n =
        _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.3981999507e-3f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// 16 floats to 16 bfloat16 (round to nearest even).
LEANN_BF16_TARGET inline void store_bf16(uint16_t* out, __m512 x) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(x)));
}

LEANN_BF16_TARGET inline __m512bh pair_broadcast(const uint16_t* pair) {
    int32_t bits;
    std::memcpy(&bits, pair, sizeof(bits));
    return reinterpret_cast<__m512bh>(_mm512_set1_epi32(bits));
}

LEANN_BF16_TARGET inline __m512bh load_bh(const uint16_t* p) {
    return reinterpret_cast<__m512bh>(_mm512_loadu_si512(p));
}

// Scores of kRows query rows (q: rows d bf16 apart) against every key block: s[r][j], rows `lp` floats apart,
// and each row's largest score over the `len` real keys in max[r]. kp: per block of 16 keys, per pair of
// dimensions, the 16 keys' pairs (32 bf16).
LEANN_BF16_TARGET void score_rows(const uint16_t* q, const uint16_t* kp, size_t d, size_t blocks, size_t len, float* s,
                                  size_t lp, float* max) {
    const size_t pairs = d / 2;
    __m512 top[kRows];
    for (size_t r = 0; r < kRows; ++r) top[r] = _mm512_set1_ps(-INFINITY);
    for (size_t b = 0; b < blocks; ++b) {
        __m512 acc[kRows];
        for (size_t r = 0; r < kRows; ++r) acc[r] = _mm512_setzero_ps();
        const uint16_t* kb = kp + b * pairs * 32;
        for (size_t p = 0; p < pairs; ++p) {
            const __m512bh keys = load_bh(kb + p * 32);
            for (size_t r = 0; r < kRows; ++r)
                acc[r] = _mm512_dpbf16_ps(acc[r], pair_broadcast(q + r * d + 2 * p), keys);
        }
        const __mmask16 live = static_cast<__mmask16>((1u << std::min<size_t>(16, len - b * 16)) - 1);
        for (size_t r = 0; r < kRows; ++r) {
            _mm512_storeu_ps(s + r * lp + b * 16, acc[r]);
            top[r] = _mm512_mask_max_ps(top[r], live, top[r], acc[r]);
        }
    }
    for (size_t r = 0; r < kRows; ++r) max[r] = _mm512_reduce_max_ps(top[r]);
}

// ctx rows of NR query rows: sum over key pairs t of P[r][2t..2t+1] x V's pair rows (vp: per t, d columns' pairs).
template <size_t NR, size_t CB>
LEANN_BF16_TARGET void weigh_values(const uint16_t* p, size_t lp, const uint16_t* vp, const float* row_scale,
                                    size_t rows, float* ctx, size_t ldc) {
    constexpr size_t d = CB * 16;
    __m512 acc[NR][CB];
    for (size_t r = 0; r < NR; ++r)
        for (size_t c = 0; c < CB; ++c) acc[r][c] = _mm512_setzero_ps();
    for (size_t t = 0; t < lp / 2; ++t) {
        __m512bh values[CB];
        for (size_t c = 0; c < CB; ++c) values[c] = load_bh(vp + (t * d + c * 16) * 2);
        for (size_t r = 0; r < NR; ++r) {
            const __m512bh weights = pair_broadcast(p + r * lp + 2 * t);
            for (size_t c = 0; c < CB; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], weights, values[c]);
        }
    }
    for (size_t r = 0; r < NR && r < rows; ++r) {
        const __m512 scale = _mm512_set1_ps(row_scale[r]);
        for (size_t c = 0; c < CB; ++c) _mm512_storeu_ps(ctx + r * ldc + c * 16, _mm512_mul_ps(acc[r][c], scale));
    }
}

template <size_t CB>
LEANN_BF16_TARGET void weigh_all(const uint16_t* p, size_t lp, const uint16_t* vp, const float* row_scale, size_t len,
                                 float* ctx, size_t ldc) {
    constexpr size_t nr = 16 / CB;  // NR x CB accumulators: 16 of the 32 vector registers
    for (size_t i = 0; i < len; i += nr)
        weigh_values<nr, CB>(p + i * lp, lp, vp, row_scale + i, len - i, ctx + i * ldc, ldc);
}

LEANN_BF16_TARGET void attention_avx512bf16(const float* q, const float* k, const float* v, size_t ld, size_t len,
                                            size_t d, float scale, float* ctx, size_t ldc, AttentionScratch& w) {
    const size_t blocks = (len + 15) / 16, lp = blocks * 16;  // keys padded to whole blocks of 16
    const size_t rows = (len + kRows - 1) / kRows * kRows;    // query rows padded to whole register blocks
    const size_t pairs = d / 2;
    // Every buffer is written in full below, except the padding, which is zeroed here: query rows past len (Q,
    // and P, of which weigh_all reads whole register blocks of up to 16 rows) and value pairs past len.
    const size_t p_rows = std::max(rows, lp);
    w.q.resize(rows * d);
    std::fill(w.q.begin() + std::ptrdiff_t(len * d), w.q.end(), uint16_t{0});
    w.k.resize(blocks * pairs * 32);
    w.v.resize(std::max(lp, len) * d);
    w.p.resize(p_rows * lp);
    std::fill(w.p.begin() + std::ptrdiff_t(len * lp), w.p.end(), uint16_t{0});
    w.s.resize(rows * lp);
    w.row_scale.resize(p_rows + rows);  // 1 / sum per query row, then the rows' largest scores
    // Q and K rows in bf16 (K as rows first, in v's buffer, then packed by pairs of dimensions per block of 16).
    for (size_t i = 0; i < len; ++i)
        for (size_t c = 0; c < d; c += 16) store_bf16(w.q.data() + i * d + c, _mm512_loadu_ps(q + i * ld + c));
    uint16_t* krows = w.v.data();
    for (size_t j = 0; j < len; ++j)
        for (size_t c = 0; c < d; c += 16) store_bf16(krows + j * d + c, _mm512_loadu_ps(k + j * ld + c));
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (size_t b = 0; b < blocks; ++b) {
        const size_t valid = std::min<size_t>(16, len - b * 16);
        const __mmask16 live = static_cast<__mmask16>((1u << valid) - 1);
        // Pair p of key j is the 32-bit word j * pairs + p of the bf16 rows.
        const __m512i base =
            _mm512_mullo_epi32(_mm512_add_epi32(lanes, _mm512_set1_epi32(int(b * 16))), _mm512_set1_epi32(int(pairs)));
        for (size_t p = 0; p < pairs; ++p) {
            const __m512i words = _mm512_mask_i32gather_epi32(
                _mm512_setzero_si512(), live, _mm512_add_epi32(base, _mm512_set1_epi32(int(p))), krows, 4);
            _mm512_storeu_si512(w.k.data() + (b * pairs + p) * 32, words);
        }
    }
    // V by pairs of keys: for each pair t and column c, (v[2t][c], v[2t + 1][c]); keys past len are zeros.
    std::fill(w.v.begin() + std::ptrdiff_t((len + 1) / 2 * 2 * d), w.v.end(), uint16_t{0});
    __m512i interleave;
    {
        alignas(64) uint16_t idx[32];
        for (int i = 0; i < 16; ++i) {
            idx[2 * i] = uint16_t(i);
            idx[2 * i + 1] = uint16_t(16 + i);
        }
        interleave = _mm512_load_si512(idx);
    }
    for (size_t t = 0; 2 * t < len; ++t) {
        const float* even = v + 2 * t * ld;
        const float* odd = 2 * t + 1 < len ? v + (2 * t + 1) * ld : nullptr;
        for (size_t c = 0; c < d; c += 16) {
            const __m256i a = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(even + c)));
            const __m256i bvals = odd != nullptr
                                      ? reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(odd + c)))
                                      : _mm256_setzero_si256();
            const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(a), bvals, 1);
            _mm512_storeu_si512(w.v.data() + (t * d + c) * 2, _mm512_permutexvar_epi16(interleave, both));
        }
    }
    // Scores and each row's largest, then per row exp and sum; the probabilities stay unnormalised in bf16 and
    // 1/sum scales the output.
    float* top = w.row_scale.data() + p_rows;
    for (size_t i = 0; i < rows; i += kRows)
        score_rows(w.q.data() + i * d, w.k.data(), d, blocks, len, w.s.data() + i * lp, lp, top + i);
    const __m512 scaled = _mm512_set1_ps(scale);
    for (size_t i = 0; i < len; ++i) {
        const float* s = w.s.data() + i * lp;
        const __m512 shift = _mm512_set1_ps(-top[i] * scale);  // exp(scale * (s - max)) = exp(s * scale + shift)
        __m512 sum = _mm512_setzero_ps();
        uint16_t* prob = w.p.data() + i * lp;
        for (size_t b = 0; b < blocks; ++b) {
            const __mmask16 live = static_cast<__mmask16>((1u << std::min<size_t>(16, len - b * 16)) - 1);
            const __m512 e =
                _mm512_maskz_mov_ps(live, exp512(_mm512_fmadd_ps(_mm512_loadu_ps(s + b * 16), scaled, shift)));
            sum = _mm512_add_ps(sum, e);
            store_bf16(prob + b * 16, e);
        }
        w.row_scale[i] = 1.0f / _mm512_reduce_add_ps(sum);
    }
    switch (d / 16) {
        case 1:
            weigh_all<1>(w.p.data(), lp, w.v.data(), w.row_scale.data(), len, ctx, ldc);
            break;
        case 2:
            weigh_all<2>(w.p.data(), lp, w.v.data(), w.row_scale.data(), len, ctx, ldc);
            break;
        case 4:
            weigh_all<4>(w.p.data(), lp, w.v.data(), w.row_scale.data(), len, ctx, ldc);
            break;
        case 8:
            weigh_all<8>(w.p.data(), lp, w.v.data(), w.row_scale.data(), len, ctx, ldc);
            break;
        default:
            break;  // excluded by attention_bf16_supported
    }
}

}  // namespace
#endif

bool attention_bf16_supported(size_t head_dim) {
#ifdef LEANN_ATTENTION_BF16
    static const bool cpu = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    return cpu && (head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128);
#else
    (void)head_dim;
    return false;
#endif
}

void attention_bf16(const float* q, const float* k, const float* v, size_t ld, size_t len, size_t head_dim, float scale,
                    float* ctx, size_t ldc, AttentionScratch& scratch) {
#ifdef LEANN_ATTENTION_BF16
    if (len == 0) return;
    attention_avx512bf16(q, k, v, ld, len, head_dim, scale, ctx, ldc, scratch);
#else
    (void)q, (void)k, (void)v, (void)ld, (void)len, (void)head_dim, (void)scale, (void)ctx, (void)ldc, (void)scratch;
#endif
}

}  // namespace leann::kernels
