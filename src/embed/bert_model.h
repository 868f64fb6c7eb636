// The BERT encoder stack: weights (read once, float32, Q/K/V fused) and the forward pass over a packed batch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "embed/attention_bf16.h"
#include "embed/lowp_linear.h"
#include "leann/encoder.h"
#include "leann/model.h"
#include "util/thread_pool.h"

namespace leann {

class TensorFile;

struct BertLayerWeights {
    std::vector<float> qkv_w;  // (3H, H): query, key, value rows stacked
    std::vector<float> qkv_b;  // (3H)
    std::vector<float> out_w;  // (H, H)
    std::vector<float> out_b;
    std::vector<float> ln1_g, ln1_b;            // (H)
    std::vector<float> ffn_in_w, ffn_in_b;      // (I, H), (I)
    std::vector<float> ffn_out_w, ffn_out_b;    // (H, I), (H)
    std::vector<float> ln2_g, ln2_b;            // (H)
    // Loaded for packing (bf16, int8) from a file that stores float32: the four matrices are not copied (the
    // vectors above stay empty) but viewed in the mapped file, until BertModel has packed them.
    struct Views {
        std::span<const float> q, k, v, out, ffn_in, ffn_out;
    } views;
    bool viewed() const { return !views.q.empty(); }
};

struct BertWeights {
    // (vocab, H): most of the model's bytes (47 MB of MiniLM's 91 MB), read a few rows per text, so viewed in the
    // mapped weights file when it stores float32 (a query maps a few pages, not the table), else a converted copy.
    std::span<const float> word_embeddings;
    std::vector<float> word_embeddings_copy;   // when the file's dtype is not float32
    std::shared_ptr<const TensorFile> file;    // keeps the views' map alive
    // The weights file as it was when viewed (inode, size, modification and change times): the view reads it for
    // as long as the model lives, so check_file() refuses to go on once it was rewritten in place (`cp` over it).
    struct Stamp {
        uint64_t inode = 0, size = 0;
        int64_t mtime_ns = 0, ctime_ns = 0;
        bool operator==(const Stamp&) const = default;
    } stamp;
    /// ModelError naming the file when the viewed weights file was rewritten in place since it was loaded (a file
    /// replaced by rename is fine: the map holds the old one). Nothing to check when the table is a copy.
    void check_file() const;
    /// Whether some layer's matrices are views into the file (loaded for packing), and forgetting them once
    /// packed or copied.
    bool any_layer_viewed() const;
    void drop_layer_views();
    std::vector<float> position_embeddings;  // (max_position, H)
    std::vector<float> token_type0;          // (H): row 0 of the token type table (single-segment input)
    std::vector<float> emb_ln_g, emb_ln_b;   // (H)
    std::vector<BertLayerWeights> layers;

    BertWeights() = default;
    BertWeights(BertWeights&&) = default;  // the view stays valid: it points into the map or the moved copy's buffer
    BertWeights& operator=(BertWeights&&) = default;
    BertWeights(const BertWeights&) = delete;
    BertWeights& operator=(const BertWeights&) = delete;

    /// Reads every tensor, checking shapes against `info`. Names with a "bert." or "model." prefix and the old
    /// LayerNorm gamma/beta names are accepted. `file` stays mapped while the weights live. `for_packing`: the
    /// linear layers' matrices will be packed (bf16, int8), so they are viewed, not copied, where the file allows.
    static BertWeights load(std::shared_ptr<const TensorFile> file, const ModelInfo& info, bool for_packing = false);
};

/// Runs the encoder on packed sequences. Not thread-safe: one forward at a time per BertModel (it owns scratch).
class BertModel {
public:
    /// `precision` (fp32, bf16 or int8; resolved by the caller and supported by this CPU) is the arithmetic of
    /// the linear layers. For bf16 and int8 their float32 weights are converted here and then released.
    BertModel(ModelInfo info, BertWeights weights, ThreadPool& pool, Precision precision = Precision::fp32);

    /// `sequences`: token ids, each [CLS] ... [SEP], each length in [1, max_position_embeddings].
    /// `out`: sequences.size() x hidden rows, pooled (and normalised when the model says so).
    void forward(std::span<const std::vector<int32_t>> sequences, std::span<float> out);
    /// Sizes the activation buffers for passes of up to `tokens` tokens without touching them (address space only:
    /// pages become resident as a pass first writes them), so that a larger pass than the last one neither moves
    /// the buffers nor faults their pages in again. A pass beyond it still works (the buffers grow).
    void reserve_tokens(size_t tokens);

private:
    // Y(T x N) = X(T x K) * W(N x K)^T + b, split over the pool by rows or, for few rows, by columns. Then
    // epilogue(begin, end) runs on finished rows: in the same task right after its GEMM when split by rows, so the
    // element-wise work (GELU, residual + LayerNorm) finds the rows still in cache.
    using Epilogue = std::function<void(size_t begin, size_t end)>;
    // `packed`: the same weights in bf16/int8 (then `w` is empty and unused), or null for fp32 (then x is float32).
    void linear(lowp::Input x, size_t rows, size_t k, const std::vector<float>& w, const lowp::LinearLayer* packed,
                const std::vector<float>& b, size_t n, float* y, const Epilogue& epilogue);
    void attention(std::span<const size_t> offsets, const float* qkv, float* ctx);
    void pool(std::span<const size_t> offsets, const float* hidden, std::span<float> out) const;

    struct PackedLayer {
        std::optional<lowp::LinearLayer> qkv, out, ffn_in, ffn_out;  // absent: float32 (OpenBLAS)
    };

    ModelInfo info_;
    BertWeights weights_;
    ThreadPool& pool_;
    std::vector<PackedLayer> packed_;          // per layer, when the precision is bf16 or int8
    std::vector<lowp::Workspace> workspaces_;  // one per worker slot, for packed_
    // A pass's activations. Every pass writes each value before reading it, so growing one keeps nothing and
    // zero-fills nothing (a std::vector would copy the old rows and clear the new ones: a one-shot search's
    // growing passes spent ~10% of their time on that and the page faults it caused).
    template <typename T>
    class Activations {
    public:
        T* data() { return data_.get(); }
        void reserve(size_t n) {
            if (n <= capacity_) return;
            data_.reset();
            capacity_ = 0;          // stays so if the allocation below throws
            data_.reset(new T[n]);  // default-initialised: not zeroed
            capacity_ = n;
        }

    private:
        std::unique_ptr<T[]> data_;
        size_t capacity_ = 0;
    };
    void ensure_activations(size_t tokens);
    void size_activations(size_t tokens);
    size_t reserved_tokens_ = 0;
    Activations<float> hidden_, qkv_, ctx_, proj_, inter_;
    // bf16 precision: each LayerNorm and the GELU also write their rows as bfloat16 (hidden_bf16_, inter_bf16_),
    // the next layer's input, so no layer converts its input in a pass of its own.
    bool bf16_rows_ = false;
    Activations<uint16_t> hidden_bf16_, inter_bf16_;
    std::vector<std::vector<float>> scores_;  // one attention score buffer per worker slot
    bool attention_bf16_ = false;             // bf16 precision on a CPU with AVX512-BF16
    std::vector<kernels::AttentionScratch> scratch_;  // its buffers, one per worker slot
};

}  // namespace leann
