#include "embed/bert_model.h"

#include <sys/stat.h>

#include <algorithm>
#include <new>
#include <cmath>
#include <cstring>
#include <optional>

#include "embed/blas.h"
#include "embed/kernels.h"
#include "embed/tensor_file.h"
#include "leann/error.h"
#include "util/check.h"
#include "util/fault_guard.h"

namespace leann {
namespace {

// Rows per GEMM piece below which splitting a linear layer by output columns beats splitting by rows: with few
// rows every thread would stream the whole weight matrix for little work.
constexpr size_t min_rows_per_piece = 32;

struct Names {
    const TensorFile& file;
    std::string prefix;

    std::string find(const std::string& name) const {
        std::string full = prefix + name;
        if (file.has(full)) return full;
        // Old TF-converted checkpoints call LayerNorm parameters gamma and beta.
        for (auto [now, old] : {std::pair{".weight", ".gamma"}, std::pair{".bias", ".beta"}}) {
            if (full.ends_with(now) && full.find("LayerNorm") != std::string::npos) {
                std::string alt = full.substr(0, full.size() - std::strlen(now)) + old;
                if (file.has(alt)) return alt;
            }
        }
        return full;  // read_f32 reports it missing, by this name
    }
    std::vector<float> read(const std::string& name, std::initializer_list<int64_t> shape) const {
        return file.read_f32(find(name), std::vector<int64_t>(shape));
    }
    // The tensor in the map (shape checked), or empty when it is not stored as aligned float32.
    std::span<const float> view(const std::string& name, std::initializer_list<int64_t> shape) const {
        return file.view_f32(find(name), std::vector<int64_t>(shape));
    }
};

std::vector<float> concat(std::initializer_list<const std::vector<float>*> parts) {
    std::vector<float> out;
    for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
    return out;
}

}  // namespace

namespace {

std::optional<BertWeights::Stamp> stamp_of(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return BertWeights::Stamp{uint64_t(st.st_ino), uint64_t(st.st_size),
                              int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                              int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
}

}  // namespace

bool BertWeights::any_layer_viewed() const {
    return std::any_of(layers.begin(), layers.end(), [](const BertLayerWeights& l) { return l.viewed(); });
}

void BertWeights::drop_layer_views() {
    if (!any_layer_viewed()) return;
    for (BertLayerWeights& layer : layers) layer.views = {};
    if (!file) return;
    // The map's pages the views faulted in leave the resident set; the map itself stays only for a viewed word table.
    file->release_pages();
    if (!word_embeddings_copy.empty()) file.reset();
}

void BertWeights::check_file() const {
    if (!file) return;
    const auto now = stamp_of(file->path());
    if (now && now->inode == stamp.inode && !(*now == stamp))
        throw ModelError(file->path().string() + ": the weights file was rewritten while the model was in use; load "
                         "the model again (replace model files by renaming a new copy into place)");
}

BertWeights BertWeights::load(std::shared_ptr<const TensorFile> mapped, const ModelInfo& info, bool for_packing) {
    const TensorFile& file = *mapped;
    Names names{file, ""};
    for (const char* prefix : {"", "bert.", "model."}) {
        if (file.has(std::string(prefix) + "embeddings.word_embeddings.weight")) {
            names.prefix = prefix;
            break;
        }
    }
    const auto h = static_cast<int64_t>(info.hidden_size), i = static_cast<int64_t>(info.intermediate_size);
    BertWeights w;
    const std::string word_name = names.find("embeddings.word_embeddings.weight");
    const std::vector<int64_t> word_shape = {static_cast<int64_t>(info.vocab_size), h};
    w.word_embeddings = file.view_f32(word_name, word_shape);
    if (w.word_embeddings.empty()) {
        w.word_embeddings_copy = file.read_f32(word_name, word_shape);
        w.word_embeddings = w.word_embeddings_copy;
    }
    w.position_embeddings =
        names.read("embeddings.position_embeddings.weight", {static_cast<int64_t>(info.max_position_embeddings), h});
    auto types = names.read("embeddings.token_type_embeddings.weight", {static_cast<int64_t>(info.type_vocab_size), h});
    w.token_type0.assign(types.begin(), types.begin() + h);
    w.emb_ln_g = names.read("embeddings.LayerNorm.weight", {h});
    w.emb_ln_b = names.read("embeddings.LayerNorm.bias", {h});
    for (size_t l = 0; l < info.num_layers; ++l) {
        const std::string p = "encoder.layer." + std::to_string(l) + ".";
        BertLayerWeights layer;
        const std::string q_name = p + "attention.self.query.weight", k_name = p + "attention.self.key.weight",
                          v_name = p + "attention.self.value.weight", out_name = p + "attention.output.dense.weight",
                          in_name = p + "intermediate.dense.weight", ffn_out_name = p + "output.dense.weight";
        if (for_packing) {
            BertLayerWeights::Views v{names.view(q_name, {h, h}),  names.view(k_name, {h, h}),
                                      names.view(v_name, {h, h}),  names.view(out_name, {h, h}),
                                      names.view(in_name, {i, h}), names.view(ffn_out_name, {h, i})};
            if (!v.q.empty() && !v.k.empty() && !v.v.empty() && !v.out.empty() && !v.ffn_in.empty() &&
                !v.ffn_out.empty())
                layer.views = v;
        }
        if (!layer.viewed()) {
            auto qw = names.read(q_name, {h, h});
            auto kw = names.read(k_name, {h, h});
            auto vw = names.read(v_name, {h, h});
            layer.qkv_w = concat({&qw, &kw, &vw});
            layer.out_w = names.read(out_name, {h, h});
            layer.ffn_in_w = names.read(in_name, {i, h});
            layer.ffn_out_w = names.read(ffn_out_name, {h, i});
        }
        auto qb = names.read(p + "attention.self.query.bias", {h});
        auto kb = names.read(p + "attention.self.key.bias", {h});
        auto vb = names.read(p + "attention.self.value.bias", {h});
        layer.qkv_b = concat({&qb, &kb, &vb});
        layer.out_b = names.read(p + "attention.output.dense.bias", {h});
        layer.ln1_g = names.read(p + "attention.output.LayerNorm.weight", {h});
        layer.ln1_b = names.read(p + "attention.output.LayerNorm.bias", {h});
        layer.ffn_in_b = names.read(p + "intermediate.dense.bias", {i});
        layer.ffn_out_b = names.read(p + "output.dense.bias", {h});
        layer.ln2_g = names.read(p + "output.LayerNorm.weight", {h});
        layer.ln2_b = names.read(p + "output.LayerNorm.bias", {h});
        w.layers.push_back(std::move(layer));
    }
    const bool layers_viewed = w.any_layer_viewed();
    if (w.word_embeddings_copy.empty() || layers_viewed) {
        // The views need the map; the pages read above for the other tensors (now copied) leave the resident set
        // (those of viewed matrices do once they are packed).
        w.file = std::move(mapped);
        w.stamp = stamp_of(w.file->path()).value_or(Stamp{});
        if (!layers_viewed) w.file->release_pages();
    }
    return w;
}

BertModel::BertModel(ModelInfo info, BertWeights weights, ThreadPool& pool, Precision precision)
    : info_(std::move(info)), weights_(std::move(weights)), pool_(pool), scores_(pool.size()) {
    // Weights viewed for packing (BertWeights::load's for_packing) need a precision that packs them.
    LEANN_CHECK(precision == Precision::bf16 || precision == Precision::int8 || !weights_.any_layer_viewed(),
                "weights loaded for packing given to a float32 model");
    if (precision != Precision::bf16 && precision != Precision::int8) return;
    const size_t h = info_.hidden_size, inter = info_.intermediate_size, pieces = pool_.size();
    // bf16: LayerNorm and GELU write the next layer's input rows in bfloat16 as well (no conversion pass).
    bf16_rows_ = precision == Precision::bf16;
    // A matrix's float32 rows: its copy, or its blocks viewed in the file (Q, K and V stacked).
    using Blocks = std::vector<std::span<const float>>;
    auto pack = [&](std::vector<float>& w, const Blocks& viewed, size_t n, size_t k, Precision p) {
        std::optional<lowp::LinearLayer> packed;
        if (p == Precision::fp32) {
            if (w.empty())  // viewed, but this one stays float32 (int8 without native bf16): copied after all
                for (const auto& block : viewed) w.insert(w.end(), block.begin(), block.end());
            return packed;
        }
        packed.emplace(p, w.empty() ? viewed : Blocks{std::span<const float>(w)}, n, k, pieces);
        std::vector<float>().swap(w);  // the float32 copy is no longer used
        return packed;
    };
    // int8 runs the attention output and FFN input layers in int8 and keeps Q/K/V and the FFN output in bf16 (fp32
    // without native bf16): Q/K/V errors are amplified by the softmax, and the FFN output's input (after GELU) has
    // a few channels far larger than the rest, so one int8 scale per row loses the small ones. Measured on the
    // golden texts (worst cosine to fp32): all four in int8 0.981, Q/K/V kept 0.990, FFN output kept 0.988, both
    // kept 0.996 (bench/README.md, "Encoder precision").
    const Precision sensitive = precision == Precision::int8
                                    ? (lowp::supported(Precision::bf16) ? Precision::bf16 : Precision::fp32)
                                    : precision;
    // The matrices are packed on every pool thread (a one-shot search waits for this).
    packed_.resize(weights_.layers.size());
    pool_.for_each_task(4 * weights_.layers.size(), [&](size_t task, size_t) {
        BertLayerWeights& layer = weights_.layers[task / 4];
        const BertLayerWeights::Views& v = layer.views;
        PackedLayer& packed = packed_[task / 4];
        switch (task % 4) {
            case 0:
                packed.qkv = pack(layer.qkv_w, layer.viewed() ? Blocks{v.q, v.k, v.v} : Blocks{}, 3 * h, h, sensitive);
                break;
            case 1:
                packed.out = pack(layer.out_w, Blocks{v.out}, h, h, precision);
                break;
            case 2:
                packed.ffn_in = pack(layer.ffn_in_w, Blocks{v.ffn_in}, inter, h, precision);
                break;
            default:
                packed.ffn_out = pack(layer.ffn_out_w, Blocks{v.ffn_out}, h, inter, sensitive);
                break;
        }
    });
    weights_.drop_layer_views();
    workspaces_.resize(pool_.size());
    // Attention's two products in bf16 too where the CPU has the dot product (the scores and softmax stay fp32).
    attention_bf16_ = bf16_rows_ && kernels::attention_bf16_supported(h / info_.num_heads);
    if (attention_bf16_) scratch_.resize(pool_.size());
}

void BertModel::linear(lowp::Input x, size_t rows, size_t k, const std::vector<float>& w,
                       const lowp::LinearLayer* packed, const std::vector<float>& b, size_t n, float* y,
                       const Epilogue& epilogue) {
    if (rows == 0) return;
    const size_t threads = pool_.size();
    if (packed != nullptr) {
        const auto rows_from = [&](size_t begin) {
            return x.bf16 != nullptr ? lowp::Input{nullptr, x.bf16 + begin * k} : lowp::Input{x.f32 + begin * k};
        };
        if (threads == 1 || rows >= min_rows_per_piece * threads) {
            pool_.parallel_for(rows, threads, [&](size_t slot, size_t begin, size_t end) {
                if (begin == end) return;
                packed->forward(rows_from(begin), end - begin, b.data(), y + begin * n, n, 0, packed->pieces(),
                                workspaces_[slot]);
                if (epilogue) epilogue(begin, end);
            });
            return;
        }
        // Few rows: each thread computes its own column piece of every row.
        pool_.parallel_for(packed->pieces(), std::min(threads, packed->pieces()),
                           [&](size_t slot, size_t begin, size_t end) {
                               if (begin < end) packed->forward(x, rows, b.data(), y, n, begin, end, workspaces_[slot]);
                           });
        if (epilogue) {
            pool_.parallel_for(rows, threads, [&](size_t, size_t begin, size_t end) {
                if (begin < end) epilogue(begin, end);
            });
        }
        return;
    }
    LEANN_CHECK(x.f32 != nullptr, "float32 input to a float32 layer");
    const float* xf = x.f32;
    if (threads == 1 || rows >= min_rows_per_piece * threads) {
        pool_.parallel_for(rows, threads, [&](size_t, size_t begin, size_t end) {
            if (begin == end) return;
            kernels::fill_rows(y + begin * n, b.data(), end - begin, n);
            blas::sgemm(false, true, static_cast<int>(end - begin), static_cast<int>(n), static_cast<int>(k), 1.0f,
                        xf + begin * k, static_cast<int>(k), w.data(), static_cast<int>(k), 1.0f, y + begin * n,
                        static_cast<int>(n));
            if (epilogue) epilogue(begin, end);
        });
        return;
    }
    // Few rows: split the output columns, so each thread streams only its share of the weights. Pieces are
    // multiples of 16 columns to keep the GEMM kernels on full vectors.
    const size_t blocks = (n + 15) / 16;
    pool_.parallel_for(blocks, threads, [&](size_t, size_t begin, size_t end) {
        const size_t c0 = begin * 16, c1 = std::min(n, end * 16);
        if (c0 >= c1) return;
        for (size_t r = 0; r < rows; ++r) std::memcpy(y + r * n + c0, b.data() + c0, (c1 - c0) * sizeof(float));
        blas::sgemm(false, true, static_cast<int>(rows), static_cast<int>(c1 - c0), static_cast<int>(k), 1.0f, xf,
                    static_cast<int>(k), w.data() + c0 * k, static_cast<int>(k), 1.0f, y + c0, static_cast<int>(n));
    });
    if (epilogue) {
        pool_.parallel_for(rows, threads, [&](size_t, size_t begin, size_t end) {
            if (begin < end) epilogue(begin, end);
        });
    }
}

void BertModel::attention(std::span<const size_t> offsets, const float* qkv, float* ctx) {
    const size_t h = info_.hidden_size, heads = info_.num_heads, d = h / heads, ld = 3 * h;
    const size_t sequences = offsets.size() - 1;
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    // Longest sequences first so the dynamic hand-out of tasks balances the threads.
    std::vector<size_t> order(sequences);
    for (size_t s = 0; s < sequences; ++s) order[s] = s;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return offsets[a + 1] - offsets[a] > offsets[b + 1] - offsets[b]; });
    pool_.for_each_task(sequences * heads, [&](size_t task, size_t slot) {
        const size_t s = order[task / heads], head = task % heads;
        const size_t begin = offsets[s], len = offsets[s + 1] - begin;
        if (attention_bf16_) {
            const float* q = qkv + begin * ld + head * d;
            kernels::attention_bf16(q, q + h, q + 2 * h, ld, len, d, scale, ctx + begin * h + head * d, h,
                                    scratch_[slot]);
            return;
        }
        auto& scores = scores_[slot];
        if (scores.size() < len * len) scores.resize(len * len);
        const float* q = qkv + begin * ld + head * d;
        const float* key = q + h;
        const float* v = q + 2 * h;
        const int n = static_cast<int>(len), di = static_cast<int>(d), ldi = static_cast<int>(ld);
        blas::sgemm(false, true, n, n, di, 1.0f, q, ldi, key, ldi, 0.0f, scores.data(), n);
        kernels::softmax(scores.data(), len, len, len, scale);
        blas::sgemm(false, false, n, di, n, 1.0f, scores.data(), n, v, ldi, 0.0f,
                    ctx + begin * h + head * d, static_cast<int>(h));
    });
}

void BertModel::pool(std::span<const size_t> offsets, const float* hidden, std::span<float> out) const {
    const size_t h = info_.hidden_size;
    for (size_t s = 0; s + 1 < offsets.size(); ++s) {
        const size_t begin = offsets[s], len = offsets[s + 1] - begin;
        float* v = out.data() + s * h;
        const float* rows = hidden + begin * h;
        switch (info_.pooling) {
            case Pooling::cls: std::memcpy(v, rows, h * sizeof(float)); break;
            case Pooling::max:
                std::memcpy(v, rows, h * sizeof(float));
                for (size_t t = 1; t < len; ++t)
                    for (size_t c = 0; c < h; ++c) v[c] = std::max(v[c], rows[t * h + c]);
                break;
            case Pooling::mean:
            case Pooling::mean_sqrt_len: {
                std::fill(v, v + h, 0.0f);
                for (size_t t = 0; t < len; ++t)
                    for (size_t c = 0; c < h; ++c) v[c] += rows[t * h + c];
                const float div = info_.pooling == Pooling::mean ? static_cast<float>(len)
                                                                 : std::sqrt(static_cast<float>(len));
                for (size_t c = 0; c < h; ++c) v[c] /= div;
                break;
            }
        }
        if (info_.normalize) {
            double norm = 0.0;
            for (size_t c = 0; c < h; ++c) norm += static_cast<double>(v[c]) * v[c];
            const float inv = 1.0f / static_cast<float>(std::max(std::sqrt(norm), 1e-12));
            for (size_t c = 0; c < h; ++c) v[c] *= inv;
        }
    }
}

void BertModel::reserve_tokens(size_t tokens) {
    // Bounded: address space is cheap, not free (a batch of 1,000 texts would otherwise ask for gigabytes).
    constexpr size_t max_reserved = 8192;
    reserved_tokens_ = std::max(reserved_tokens_, std::min(tokens, max_reserved));
}

void BertModel::ensure_activations(size_t tokens) {
    if (tokens < reserved_tokens_) {
        try {
            size_activations(reserved_tokens_);
            return;
        } catch (const std::bad_alloc&) {
            reserved_tokens_ = 0;  // address space refused (strict overcommit): size by the pass after all
        }
    }
    size_activations(tokens);
}

void BertModel::size_activations(size_t t) {
    const size_t h = info_.hidden_size, inter = info_.intermediate_size;
    hidden_.reserve(t * h);
    qkv_.reserve(t * 3 * h);
    ctx_.reserve(t * h);
    proj_.reserve(t * h);
    inter_.reserve(t * inter);
    if (bf16_rows_) {
        hidden_bf16_.reserve(t * h);
        inter_bf16_.reserve(t * inter);
    }
}

void BertModel::forward(std::span<const std::vector<int32_t>> sequences, std::span<float> out) {
    const size_t h = info_.hidden_size, inter = info_.intermediate_size;
    LEANN_CHECK(out.size() == sequences.size() * h, "output buffer size");
    std::vector<size_t> offsets{0};
    for (const auto& seq : sequences) {
        LEANN_CHECK(!seq.empty() && seq.size() <= info_.max_position_embeddings, "sequence length");
        offsets.push_back(offsets.back() + seq.size());
    }
    const size_t tokens = offsets.back();
    ensure_activations(tokens);

    // Embeddings: word + position + token type 0, then LayerNorm. The word rows may be read from the mapped weights
    // file: gathered in one pass with SIGBUS caught (a file truncated under us is an error, not a crash).
    weights_.check_file();
    for (const auto& seq : sequences)
        for (const int32_t id : seq)
            if (id < 0 || static_cast<size_t>(id) >= info_.vocab_size)
                throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " +
                            std::to_string(info_.vocab_size) + " (tokenizer and config.json disagree)");
    struct Gather {
        std::span<const std::vector<int32_t>> sequences;
        const float* table;
        float* out;
        size_t h;
    } gather{sequences, weights_.word_embeddings.data(), hidden_.data(), h};
    const auto gather_rows = [](void* arg) {  // plain code: runs under the fault guard
        const auto& g = *static_cast<const Gather*>(arg);
        float* row = g.out;
        for (const auto& seq : g.sequences)
            for (const int32_t id : seq) {
                std::memcpy(row, g.table + static_cast<size_t>(id) * g.h, g.h * sizeof(float));
                row += g.h;
            }
    };
    if (!run_fault_guarded(gather_rows, &gather))
        throw ModelError((weights_.file ? weights_.file->path().string() : std::string("model weights")) +
                         ": the weights file was truncated while the model was in use; load the model again");
    for (size_t s = 0; s < sequences.size(); ++s)
        for (size_t t = 0; t < sequences[s].size(); ++t) {
            float* row = hidden_.data() + (offsets[s] + t) * h;
            const float* pos = weights_.position_embeddings.data() + t * h;
            for (size_t c = 0; c < h; ++c) row[c] += pos[c] + weights_.token_type0[c];
        }
    const float eps = info_.layer_norm_eps;
    const bool tanh_gelu = info_.hidden_act != "gelu";
    // bf16: every LayerNorm also writes its rows in bfloat16, the input of the next layer.
    const auto bf16_rows = [&](size_t begin) { return bf16_rows_ ? hidden_bf16_.data() + begin * h : nullptr; };
    const lowp::Input hidden_in = bf16_rows_ ? lowp::Input{nullptr, hidden_bf16_.data()} : lowp::Input{hidden_.data()};
    pool_.parallel_for(tokens, pool_.size(), [&](size_t, size_t b, size_t e) {
        kernels::add_layer_norm(hidden_.data() + b * h, nullptr, weights_.emb_ln_g.data(), weights_.emb_ln_b.data(),
                                e - b, h, eps, bf16_rows(b));
    });

    for (size_t l = 0; l < weights_.layers.size(); ++l) {
        const BertLayerWeights& layer = weights_.layers[l];
        const PackedLayer* packed = packed_.empty() ? nullptr : &packed_[l];
        auto low = [&](const std::optional<lowp::LinearLayer> PackedLayer::*m) -> const lowp::LinearLayer* {
            return packed != nullptr && (packed->*m) ? &*(packed->*m) : nullptr;
        };
        linear(hidden_in, tokens, h, layer.qkv_w, low(&PackedLayer::qkv), layer.qkv_b, 3 * h, qkv_.data(), nullptr);
        attention(offsets, qkv_.data(), ctx_.data());
        linear(lowp::Input{ctx_.data()}, tokens, h, layer.out_w, low(&PackedLayer::out), layer.out_b, h, proj_.data(),
               [&](size_t b, size_t e) {
                   kernels::add_layer_norm(hidden_.data() + b * h, proj_.data() + b * h, layer.ln1_g.data(),
                                           layer.ln1_b.data(), e - b, h, eps, bf16_rows(b));
               });
        linear(hidden_in, tokens, h, layer.ffn_in_w, low(&PackedLayer::ffn_in), layer.ffn_in_b, inter, inter_.data(),
               [&](size_t b, size_t e) {
                   kernels::gelu(inter_.data() + b * inter, e - b, inter, tanh_gelu,
                                 bf16_rows_ ? inter_bf16_.data() + b * inter : nullptr);
               });
        const lowp::Input inter_in = bf16_rows_ ? lowp::Input{nullptr, inter_bf16_.data()} : lowp::Input{inter_.data()};
        linear(inter_in, tokens, inter, layer.ffn_out_w, low(&PackedLayer::ffn_out), layer.ffn_out_b, h, proj_.data(),
               [&](size_t b, size_t e) {
                   kernels::add_layer_norm(hidden_.data() + b * h, proj_.data() + b * h, layer.ln2_g.data(),
                                           layer.ln2_b.data(), e - b, h, eps, bf16_rows(b));
               });
    }
    pool(offsets, hidden_.data(), out);
}

}  // namespace leann
