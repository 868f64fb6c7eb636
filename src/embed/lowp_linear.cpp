#include "embed/lowp_linear.h"

#include "leann/error.h"

#ifdef LEANN_WITH_DNNL

#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "embed/kernels.h"

namespace leann::lowp {
namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

// Rows per oneDNN call. Every call's row count is one of a few values (full tiles, and partial tiles rounded up
// to a multiple of 32, or to 8 or 16 for a query's few tokens), so each layer creates at most ~10 primitives
// (JIT kernels) however the batches are made up; the padded rows are zeros in the workspace and never written.
constexpr size_t tile_rows = 256;

size_t bucket_rows(size_t rows) {
    if (rows <= 8) return 8;
    if (rows <= 16) return 16;
    return (rows + 31) / 32 * 32;
}

const dnnl::engine& cpu_engine() {
    static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

// oneDNN's threads come from OpenMP; the encoder's own pool already runs one task per core, so every call into
// oneDNN runs on the calling thread only (the OpenMP thread count is a per-thread setting).
void single_threaded_here() {
    thread_local const bool done = [] {
        omp_set_num_threads(1);
        return true;
    }();
    (void)done;
}

dnnl::cpu_isa isa() {
    static const dnnl::cpu_isa value = [] {
        try {
            return dnnl::get_effective_cpu_isa();
        } catch (const dnnl::error&) {
            return dnnl::cpu_isa::all;
        }
    }();
    return value;
}

const char* isa_name(dnnl::cpu_isa i) {
    switch (i) {
        case dnnl::cpu_isa::sse41:
            return "sse41";
        case dnnl::cpu_isa::avx:
            return "avx";
        case dnnl::cpu_isa::avx2:
            return "avx2";
        case dnnl::cpu_isa::avx2_vnni:
            return "avx2_vnni";
        case dnnl::cpu_isa::avx512_core:
            return "avx512_core";
        case dnnl::cpu_isa::avx512_core_vnni:
            return "avx512_core_vnni";
        case dnnl::cpu_isa::avx512_core_bf16:
            return "avx512_core_bf16";
        case dnnl::cpu_isa::avx512_core_amx:
            return "avx512_core_amx";
        default:
            return "unknown";
    }
}

}  // namespace

bool supported(Precision precision) {
    const dnnl::cpu_isa i = isa();
    switch (precision) {
        case Precision::automatic:
        case Precision::fp32:
            return true;
        // Only native bf16 dot products: oneDNN emulates bf16 on plain AVX-512, slower than fp32.
        case Precision::bf16:
            return i == dnnl::cpu_isa::avx512_core_bf16 || i == dnnl::cpu_isa::avx512_core_amx;
        case Precision::int8:
            return i == dnnl::cpu_isa::avx2 || i == dnnl::cpu_isa::avx2_vnni || i == dnnl::cpu_isa::avx512_core ||
                   i == dnnl::cpu_isa::avx512_core_vnni || i == dnnl::cpu_isa::avx512_core_bf16 ||
                   i == dnnl::cpu_isa::avx512_core_amx;
    }
    return false;
}

std::string describe() {
    const dnnl_version_t* v = dnnl::version();
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
           " (isa: " + isa_name(isa()) + ")";
}

struct Workspace::Impl {
    dnnl::stream stream{cpu_engine()};
    std::vector<uint8_t> source;      // the tile's activations, converted (bucket rows x k)
    std::vector<float> row_scale;     // int8: the tile's per-row scales
    std::vector<float> tail;          // output rows of a padded tile (bucket rows x piece columns)
    std::vector<uint8_t> scratchpad;  // oneDNN's own scratch for the largest primitive run so far
};

Workspace::Workspace() : impl_(std::make_unique<Impl>()) {}
Workspace::~Workspace() = default;
Workspace::Workspace(Workspace&&) noexcept = default;
Workspace& Workspace::operator=(Workspace&&) noexcept = default;

struct LinearLayer::Impl {
    struct Primitive {
        dnnl::matmul matmul;
        size_t scratchpad_bytes = 0;
    };
    struct Piece {
        size_t c0 = 0, c1 = 0;
        dnnl::memory::desc weights_desc;
        dnnl::memory weights;
        std::vector<float> column_scale;  // int8: max|W[c]| / 127
        dnnl::memory column_scale_mem;
        mutable std::map<size_t, Primitive> primitives;  // by row count (a tile_rows or bucket_rows value)
    };

    Precision precision;
    size_t n = 0, k = 0;
    std::vector<Piece> pieces;
    mutable std::mutex mutex;  // guards Piece::primitives (created on first use of a row count)

    dt source_type() const { return precision == Precision::bf16 ? dt::bf16 : dt::s8; }
    size_t source_bytes() const { return precision == Precision::bf16 ? 2 : 1; }

    dnnl::matmul::primitive_desc describe_matmul(size_t rows, const Piece& piece,
                                                 const dnnl::memory::desc& weights_desc) const {
        const auto m = static_cast<dnnl::memory::dim>(rows), kk = static_cast<dnnl::memory::dim>(k),
                   nn = static_cast<dnnl::memory::dim>(piece.c1 - piece.c0);
        dnnl::memory::desc source({m, kk}, source_type(), dims{kk, 1});
        // Output rows are the layer's full rows (n floats apart), of which this piece writes its columns.
        dnnl::memory::desc dest({m, nn}, dt::f32, dims{static_cast<dnnl::memory::dim>(n), 1});
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        if (precision == Precision::int8) attr.set_output_scales(2, {DNNL_RUNTIME_F32_VAL});
        return dnnl::matmul::primitive_desc(dnnl::matmul::desc(source, weights_desc, dest), attr, cpu_engine());
    }

    const Primitive& primitive(size_t rows, const Piece& piece) const {
        std::lock_guard lock(mutex);
        auto it = piece.primitives.find(rows);
        if (it == piece.primitives.end()) {
            auto pd = describe_matmul(rows, piece, piece.weights_desc);
            it = piece.primitives.emplace(rows, Primitive{dnnl::matmul(pd), pd.scratchpad_desc().get_size()}).first;
        }
        return it->second;
    }

    // dest: the piece's first column in rows n floats apart (the layer's output, or the workspace's tail buffer).
    void run(const Primitive& p, const Piece& piece, size_t rows, const void* source, float* dest,
             Workspace::Impl& ws) const {
        const auto m = static_cast<dnnl::memory::dim>(rows), kk = static_cast<dnnl::memory::dim>(k),
                   nn = static_cast<dnnl::memory::dim>(piece.c1 - piece.c0);
        if (ws.scratchpad.size() < p.scratchpad_bytes) ws.scratchpad.resize(p.scratchpad_bytes);
        const auto& engine = cpu_engine();
        dnnl::memory src({{m, kk}, source_type(), dims{kk, 1}}, engine, const_cast<void*>(source));
        dnnl::memory dst({{m, nn}, dt::f32, dims{static_cast<dnnl::memory::dim>(n), 1}}, engine, dest);
        dnnl::memory pad({{static_cast<dnnl::memory::dim>(p.scratchpad_bytes)}, dt::u8, dims{1}}, engine,
                         ws.scratchpad.data());
        std::unordered_map<int, dnnl::memory> args{
            {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, piece.weights}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, pad}};
        if (precision == Precision::int8) args.emplace(DNNL_ARG_ATTR_OUTPUT_SCALES, piece.column_scale_mem);
        p.matmul.execute(ws.stream, args);
        ws.stream.wait();
    }
};

LinearLayer::LinearLayer(Precision precision, const float* w, size_t n, size_t k, size_t pieces)
    : LinearLayer(precision, std::array{std::span<const float>(w, n * k)}, n, k, pieces) {}

LinearLayer::LinearLayer(Precision precision, std::span<const std::span<const float>> row_blocks, size_t n, size_t k,
                         size_t pieces)
    : impl_(std::make_unique<Impl>()) {
    if (precision != Precision::bf16 && precision != Precision::int8)
        throw Error("LinearLayer: only bf16 and int8 are packed");
    single_threaded_here();  // layers may be packed on several threads at once
    Impl& im = *impl_;
    im.precision = precision;
    im.n = n;
    im.k = k;
    // Pieces of whole 16-column blocks, as even as they come; never more pieces than blocks.
    const size_t blocks = (n + 15) / 16;
    pieces = std::clamp<size_t>(pieces, 1, blocks);
    size_t total = 0;
    for (const auto& block : row_blocks) {
        if (k == 0 || block.size() % k != 0) throw Error("LinearLayer: a block of weights is not whole rows");
        total += block.size() / k;
    }
    if (total != n)
        throw Error("LinearLayer: the blocks hold " + std::to_string(total) + " rows, not " + std::to_string(n));
    // Rows [c0, c1) of W: in place when one block holds them all, else gathered into `gathered`.
    std::vector<float> gathered;
    const auto rows_of = [&](size_t c0, size_t c1) -> const float* {
        size_t first = 0;
        for (const auto& block : row_blocks) {
            const size_t rows = block.size() / k;
            if (c0 >= first && c1 <= first + rows) return block.data() + (c0 - first) * k;
            first += rows;
        }
        gathered.resize((c1 - c0) * k);
        first = 0;
        for (const auto& block : row_blocks) {
            const size_t rows = block.size() / k, lo = std::max(c0, first), hi = std::min(c1, first + rows);
            if (lo < hi)
                std::memcpy(gathered.data() + (lo - c0) * k, block.data() + (lo - first) * k,
                            (hi - lo) * k * sizeof(float));
            first += rows;
        }
        return gathered.data();
    };
    const auto& engine = cpu_engine();
    dnnl::stream stream(engine);
    const auto kk = static_cast<dnnl::memory::dim>(k);
    try {
        for (size_t p = 0; p < pieces; ++p) {
            Impl::Piece piece;
            piece.c0 = std::min(n, blocks * p / pieces * 16);
            piece.c1 = std::min(n, blocks * (p + 1) / pieces * 16);
            const size_t cols = piece.c1 - piece.c0;
            const auto nn = static_cast<dnnl::memory::dim>(cols);
            // The layout oneDNN wants for these weights (asked for a full tile), used for every row count.
            dnnl::memory::desc any({kk, nn}, im.source_type(), dnnl::memory::format_tag::any);
            piece.weights_desc = im.describe_matmul(tile_rows, piece, any).weights_desc();
            piece.weights = dnnl::memory(piece.weights_desc, engine);
            // W's rows c0..c1 seen as a k x cols matrix (column-major: W is n x k row-major).
            const float* rows = rows_of(piece.c0, piece.c1);
            if (precision == Precision::bf16) {
                dnnl::memory plain({{kk, nn}, dt::f32, dims{1, kk}}, engine, const_cast<float*>(rows));
                dnnl::reorder(plain, piece.weights).execute(stream, plain, piece.weights);
            } else {
                std::vector<int8_t> q(cols * k);
                piece.column_scale.resize(cols);
                kernels::quantize_rows(rows, cols, k, k, q.data(), piece.column_scale.data());
                dnnl::memory plain({{kk, nn}, dt::s8, dims{1, kk}}, engine, q.data());
                dnnl::reorder(plain, piece.weights).execute(stream, plain, piece.weights);
                piece.column_scale_mem = dnnl::memory({{nn}, dt::f32, dims{1}}, engine, piece.column_scale.data());
            }
            stream.wait();
            im.pieces.push_back(std::move(piece));
        }
    } catch (const dnnl::error& e) {
        throw Error(std::string("oneDNN could not prepare a ") + precision_name(precision) + " linear layer (" +
                    std::to_string(n) + " x " + std::to_string(k) + "): " + e.what());
    }
}

LinearLayer::~LinearLayer() = default;
LinearLayer::LinearLayer(LinearLayer&&) noexcept = default;
LinearLayer& LinearLayer::operator=(LinearLayer&&) noexcept = default;

size_t LinearLayer::pieces() const {
    return impl_->pieces.size();
}

std::pair<size_t, size_t> LinearLayer::piece_columns(size_t piece) const {
    return {impl_->pieces[piece].c0, impl_->pieces[piece].c1};
}

void LinearLayer::forward(Input x, size_t rows, const float* bias, float* y, size_t ldy, size_t piece_begin,
                          size_t piece_end, Workspace& workspace) const {
    single_threaded_here();
    const Impl& im = *impl_;
    Workspace::Impl& ws = *workspace.impl_;
    const size_t k = im.k;
    if (ldy != im.n) throw Error("LinearLayer::forward: output rows must be n floats apart");
    if ((x.f32 == nullptr) == (x.bf16 == nullptr)) throw Error("LinearLayer::forward: one input, float32 or bf16");
    if (x.bf16 != nullptr && im.precision != Precision::bf16)
        throw Error("LinearLayer::forward: bfloat16 input to a layer that is not bf16");
    try {
        for (size_t r0 = 0, r = 0; r0 < rows; r0 += r) {
            // A tile whose row count is not a bucket's runs as the largest bucket below it, written in place, and
            // the rest (under 32 rows) as a padded tile of its own: only those few rows pass through the tail.
            r = std::min(tile_rows, rows - r0);
            if (r > 32 && bucket_rows(r) != r) r = r / 32 * 32;
            const size_t m = r == tile_rows ? tile_rows : bucket_rows(r);
            const void* source = nullptr;
            if (x.bf16 != nullptr && m == r) {
                source = x.bf16 + r0 * k;  // converted already and no padded rows: read in place
            } else {
                const size_t need = m * k * im.source_bytes();
                if (ws.source.size() < need) ws.source.resize(need);
                source = ws.source.data();
                if (x.bf16 != nullptr) {
                    std::memcpy(ws.source.data(), x.bf16 + r0 * k, r * k * sizeof(uint16_t));
                } else if (im.precision == Precision::bf16) {
                    kernels::to_bf16(x.f32 + r0 * k, r, k, k, reinterpret_cast<uint16_t*>(ws.source.data()));
                } else {
                    if (ws.row_scale.size() < m) ws.row_scale.resize(m);
                    kernels::quantize_rows(x.f32 + r0 * k, r, k, k, reinterpret_cast<int8_t*>(ws.source.data()),
                                           ws.row_scale.data());
                }
                if (m > r)
                    std::memset(ws.source.data() + r * k * im.source_bytes(), 0, (m - r) * k * im.source_bytes());
            }
            const float* row_scale = im.precision == Precision::int8 ? ws.row_scale.data() : nullptr;
            for (size_t p = piece_begin; p < piece_end; ++p) {
                const Impl::Piece& piece = im.pieces[p];
                const size_t cols = piece.c1 - piece.c0;
                const Impl::Primitive& prim = im.primitive(m, piece);
                float* out = y + r0 * ldy + piece.c0;
                if (m == r) {
                    im.run(prim, piece, m, source, out, ws);
                    kernels::scale_rows_add_bias(out, r, cols, ldy, row_scale, bias + piece.c0);
                } else {
                    if (ws.tail.size() < m * im.n) ws.tail.resize(m * im.n);
                    im.run(prim, piece, m, source, ws.tail.data() + piece.c0, ws);
                    for (size_t i = 0; i < r; ++i)
                        std::memcpy(out + i * ldy, ws.tail.data() + i * im.n + piece.c0, cols * sizeof(float));
                    kernels::scale_rows_add_bias(out, r, cols, ldy, row_scale, bias + piece.c0);
                }
            }
        }
    } catch (const dnnl::error& e) {
        throw Error(std::string("oneDNN ") + precision_name(im.precision) + " matmul failed: " + e.what());
    }
}

}  // namespace leann::lowp

#else  // no oneDNN: fp32 only

namespace leann::lowp {

bool supported(Precision precision) {
    return precision == Precision::automatic || precision == Precision::fp32;
}

std::string describe() {
    return "built without oneDNN: fp32 only";
}

struct Workspace::Impl {};
Workspace::Workspace() = default;
Workspace::~Workspace() = default;
Workspace::Workspace(Workspace&&) noexcept = default;
Workspace& Workspace::operator=(Workspace&&) noexcept = default;

struct LinearLayer::Impl {};
LinearLayer::LinearLayer(Precision precision, const float*, size_t, size_t, size_t) {
    throw Error(std::string("precision ") + precision_name(precision) + " needs oneDNN (this build has none)");
}
LinearLayer::LinearLayer(Precision precision, std::span<const std::span<const float>>, size_t, size_t, size_t) {
    throw Error(std::string("precision ") + precision_name(precision) + " needs oneDNN (this build has none)");
}
LinearLayer::~LinearLayer() = default;
LinearLayer::LinearLayer(LinearLayer&&) noexcept = default;
LinearLayer& LinearLayer::operator=(LinearLayer&&) noexcept = default;
size_t LinearLayer::pieces() const {
    return 0;
}
std::pair<size_t, size_t> LinearLayer::piece_columns(size_t) const {
    return {0, 0};
}
void LinearLayer::forward(Input, size_t, const float*, float*, size_t, size_t, size_t, Workspace&) const {}

}  // namespace leann::lowp

#endif
