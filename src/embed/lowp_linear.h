// The one door to oneDNN: the encoder's linear layers in bfloat16 or int8 (leann::Precision). Weights are
// converted once at model load; activations are converted (bf16) or quantised per row (int8) tile by tile as the
// layer runs, and oneDNN picks its kernels for the CPU at run time (AVX2, AVX-512, VNNI, AVX512-BF16, AMX).
// Without oneDNN at build time (LEANN_WITH_DNNL unset) only fp32 is supported and nothing here is constructed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "leann/encoder.h"

namespace leann::lowp {

/// Whether this build and CPU run `precision` natively (bf16: AVX512-BF16 or AMX; int8: AVX2 or better).
bool supported(Precision precision);

/// "oneDNN 2.6.3 (isa: avx512_core_bf16)", or why the low-precision paths are unavailable.
std::string describe();

/// Per-thread working memory for LinearLayer::forward (converted activation tiles, oneDNN scratchpad, stream).
/// One per worker slot; never shared between threads running at the same time.
class Workspace {
public:
    Workspace();
    ~Workspace();
    Workspace(Workspace&&) noexcept;
    Workspace& operator=(Workspace&&) noexcept;

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// A layer's input rows (k values apart): float32, converted tile by tile, or already bfloat16 (bf16 layers only;
/// read in place).
struct Input {
    const float* f32 = nullptr;
    const uint16_t* bf16 = nullptr;
};

/// One weight matrix W (n x k, row-major float32, PyTorch's Linear layout) in bf16 or int8 (per output channel
/// scales), split into `pieces` column ranges (multiples of 16 columns) so that few rows can be spread over
/// threads by columns. forward() is thread-safe for distinct workspaces and disjoint outputs.
class LinearLayer {
public:
    LinearLayer(Precision precision, const float* w, size_t n, size_t k, size_t pieces);
    /// The same with W's rows given as blocks stacked in order (e.g. Q, K and V, each read in place), together n
    /// rows; each block holds whole rows of k values.
    LinearLayer(Precision precision, std::span<const std::span<const float>> blocks, size_t n, size_t k, size_t pieces);
    ~LinearLayer();
    LinearLayer(LinearLayer&&) noexcept;
    LinearLayer& operator=(LinearLayer&&) noexcept;

    size_t pieces() const;
    /// Output columns [first, second) of `piece`.
    std::pair<size_t, size_t> piece_columns(size_t piece) const;

    /// y[r][c] = x[r] . W[c] + bias[c] for rows [0, rows) of x (row stride k values) and the columns of pieces
    /// [piece_begin, piece_end); y has row stride ldy, which must be n floats.
    void forward(Input x, size_t rows, const float* bias, float* y, size_t ldy, size_t piece_begin, size_t piece_end,
                 Workspace& workspace) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace leann::lowp
