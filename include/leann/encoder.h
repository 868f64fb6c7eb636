// The text encoder: a BERT-family transformer run in-process, giving the same vectors as sentence-transformers
// for the same model folder (cosine >= 0.9999, see tests/golden/embeddings).
//
// Thread-safety: one Encoder may be shared. One forward pass runs at a time (each uses all the encoder's
// threads); concurrent encode()/encode_tokens() calls are batched across callers: a call that finds a pass
// running queues its texts, and when the pass ends one waiting caller runs the oldest queued call together with
// the next ones that fit in its last forward pass of batch_size texts (each tokenised with its own role), then
// each caller gets its own rows. Small calls (queries) share passes; large ones run first come, first served. A row depends only on its text
// up to GEMM rounding (cosine >= 0.9999 against a call made alone). Construction is the expensive part (weights
// are read once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "leann/model.h"
#include "leann/tokenizer.h"

namespace leann {

/// Which prompt prefix of the model to apply (e5-style models embed "query: ..." and "passage: ...").
enum class TextRole { plain, query, passage };

/// What the cross-call batching did (see the thread-safety note above), since the encoder was loaded.
struct EncoderCounters {
    uint64_t passes = 0;           // batches run (each one or more forward passes of batch_size texts)
    uint64_t requests = 0;         // encode()/encode_tokens() calls served
    uint64_t merged_requests = 0;  // calls that shared their batch with at least one other call
    uint64_t texts = 0;            // texts embedded
};

/// The arithmetic of the encoder's linear layers (the other layers always run in float32).
/// - fp32: float32 GEMM (OpenBLAS); the reference, available everywhere.
/// - bf16: weights converted once to bfloat16, activations rounded to bfloat16 per GEMM, float32 accumulation
///   (oneDNN). Needs native bf16 dot products: AVX512-BF16 or AMX.
/// - int8: weights quantised once per output channel, activations quantised per row at run time (symmetric,
///   int8 x int8 -> int32, oneDNN) in the attention output and FFN input layers; Q/K/V and the FFN output,
///   which int8 hurts most, run in bf16 (fp32 without native bf16). Runs on AVX2 and up; fastest with AVX-512
///   VNNI, AVX-VNNI or AMX. Cosine to fp32 >= 0.99; bf16 >= 0.999.
/// - automatic: the measured default for this CPU (bench/README.md, "Encoder precision"), see
///   default_precision().
enum class Precision { automatic, fp32, bf16, int8 };

/// "auto", "fp32", "bf16", "int8".
const char* precision_name(Precision precision);
/// Parses a precision_name(); throws leann::Error listing the valid names otherwise.
Precision parse_precision(std::string_view name);
/// Whether this build and this CPU can run `precision` (automatic and fp32: always).
bool precision_supported(Precision precision);
/// What `automatic` resolves to on this CPU (never automatic itself).
Precision default_precision();
/// The CPU features the low-precision paths see, e.g. "oneDNN 2.6.3, isa avx512_core_bf16" or why none.
std::string precision_backend();

struct EncoderOptions {
    size_t threads = 0;      // worker threads, the caller included; 0 = every core this process may use
    /// A forward pass holds up to batch_size texts of the model's full length (max_seq_length tokens each), or
    /// as many shorter texts as fit in that many tokens.
    size_t batch_size = 16;
    /// Linear-layer arithmetic. An explicit precision the CPU cannot run makes load() throw leann::Error.
    Precision precision = Precision::automatic;
};

class Encoder {
public:
    /// Loads the model folder `model_dir` (see leann/model.h for what it must hold). Throws leann::ModelError
    /// naming the file and what is wrong when a file is missing, truncated or disagrees with config.json.
    static std::unique_ptr<Encoder> load(const std::filesystem::path& model_dir, const EncoderOptions& options = {});

    ~Encoder();
    Encoder(const Encoder&) = delete;
    Encoder& operator=(const Encoder&) = delete;

    const ModelInfo& info() const;
    const Tokenizer& tokenizer() const;
    size_t dims() const;
    size_t threads() const;
    /// The precision the linear layers run in (resolved: never automatic).
    Precision precision() const;

    /// Embeds `texts` into `out`, which must hold texts.size() * dims() floats: row i is the embedding of text
    /// i (pooled and, if the model says so, L2-normalised). Texts are truncated to the model's max_seq_length
    /// tokens; invalid UTF-8 is repaired. Padding costs nothing: a batch's sequences are packed end to end.
    void encode(std::span<const std::string_view> texts, std::span<float> out, TextRole role = TextRole::plain);

    /// Convenience form returning a row-major texts.size() x dims() matrix.
    std::vector<float> encode(std::span<const std::string> texts, TextRole role = TextRole::plain);

    /// A snapshot of the batching counters. Thread-safe.
    EncoderCounters counters() const;

    /// Embeds already tokenised sequences (each framed by [CLS]/[SEP], at most max_seq_length ids).
    void encode_tokens(std::span<const std::vector<int32_t>> sequences, std::span<float> out);

private:
    struct Impl;
    explicit Encoder(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace leann
