#include "store/passage_store.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>

#include <zstd.h>

#include "util/check.h"
#include "util/fault_guard.h"

// Blocks are read in place from the mapped PSGI section as host structs.
static_assert(std::endian::native == std::endian::little, "the index format is little-endian");

namespace leann::store {
namespace {

constexpr size_t kBlockEntryBytes = 16;

template <class T>
void put_le(std::string& out, T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.append(b, sizeof(T));
}

template <class T>
void put_le(std::vector<std::byte>& out, T v) {
    std::byte b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
}

uint32_t load_u32(const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

void check_node(const std::string& path, uint32_t node, size_t count) {
    if (node >= count)
        throw Error(path + ": passage store: node " + std::to_string(node) + " is out of range (" +
                    std::to_string(count) + " passages)");
}

ZSTD_DCtx* thread_dctx() {
    // One per thread: a DCtx is not thread-safe, and creating one per call costs more than small blocks take.
    thread_local std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx{ZSTD_createDCtx(), &ZSTD_freeDCtx};
    LEANN_CHECK(ctx != nullptr, "ZSTD_createDCtx failed");
    return ctx.get();
}

// A decompressed block: u32 count, count u32 end offsets (relative to the record area), then the records.
class BlockView {
public:
    BlockView(std::string raw, size_t expected_records, const std::string& path, size_t block)
        : raw_(std::move(raw)), path_(path), block_(block) {
        if (raw_.size() < 4) corrupt("block is " + std::to_string(raw_.size()) + " bytes, too short for its count");
        count_ = load_u32(raw_.data());
        if (count_ != expected_records)
            corrupt("holds " + std::to_string(count_) + " records, the block table says " +
                    std::to_string(expected_records));
        records_start_ = 4 + uint64_t{count_} * 4;
        if (records_start_ > raw_.size()) corrupt("record offsets run past the end of the block");
        uint32_t prev = 0;
        for (uint32_t i = 0; i < count_; ++i) {
            uint32_t end = load_u32(raw_.data() + 4 + size_t{i} * 4);
            if (end < prev) corrupt("record offsets decrease at record " + std::to_string(i));
            prev = end;
        }
        if (prev != raw_.size() - records_start_) corrupt("record offsets do not cover the block exactly");
    }

    uint32_t count() const { return count_; }

    // Record: id, text, metadata, each as u32 length + bytes, filling its span exactly. Views into this block.
    std::array<std::string_view, 3> fields(uint32_t i) const {
        const char* base = raw_.data() + records_start_;
        uint32_t begin = i == 0 ? 0 : load_u32(raw_.data() + 4 + size_t{i - 1} * 4);
        uint32_t end = load_u32(raw_.data() + 4 + size_t{i} * 4);
        std::string_view rest(base + begin, end - begin);
        std::array<std::string_view, 3> out;
        for (std::string_view& field : out) {
            if (rest.size() < 4) corrupt("record " + std::to_string(i) + " is cut short");
            uint32_t len = load_u32(rest.data());
            rest.remove_prefix(4);
            if (len > rest.size()) corrupt("record " + std::to_string(i) + " has a field longer than the record");
            field = rest.substr(0, len);
            rest.remove_prefix(len);
        }
        if (!rest.empty()) corrupt("record " + std::to_string(i) + " has trailing bytes");
        return out;
    }
    Passage record(uint32_t i) const {
        const auto [id, text, metadata] = fields(i);
        return Passage{std::string(id), std::string(text), std::string(metadata)};
    }

private:
    [[noreturn]] void corrupt(const std::string& what) const {
        throw FormatError(path_ + ": section PSGD: block " + std::to_string(block_) + ": " + what +
                          " (file is corrupt)");
    }

    std::string raw_;
    const std::string& path_;
    size_t block_;
    uint32_t count_ = 0;
    uint64_t records_start_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Writer

struct PassageStoreWriter::Impl {
    size_t block_bytes;
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx{ZSTD_createCCtx(), &ZSTD_freeCCtx};
    std::vector<std::byte> data;   // PSGD so far: only compressed bytes are kept
    std::vector<std::byte> index;  // PSGI so far
    std::vector<std::byte> frame;  // scratch for one compressed block
    std::string records;           // the open block's records
    std::vector<uint32_t> ends;    // and their end offsets
    uint32_t block_first = 0;
    uint32_t count = 0;
    uint64_t raw_text = 0;
    uint64_t offset_base = 0;      // PSGD bytes of the earlier segments (continue_after)

    size_t open_block_bytes() const { return 4 + 4 * ends.size() + records.size(); }

    void close_block() {
        if (ends.empty()) return;
        std::string raw;
        raw.reserve(open_block_bytes());
        put_le<uint32_t>(raw, static_cast<uint32_t>(ends.size()));
        for (uint32_t e : ends) put_le<uint32_t>(raw, e);
        raw += records;

        // Through a scratch buffer so `data` grows only by what the frame really takes (amortised, no worst-case
        // compressBound slack per block).
        frame.resize(ZSTD_compressBound(raw.size()));
        size_t n = ZSTD_compress2(cctx.get(), frame.data(), frame.size(), raw.data(), raw.size());
        LEANN_CHECK(!ZSTD_isError(n), ZSTD_getErrorName(n));
        LEANN_CHECK(n <= std::numeric_limits<uint32_t>::max());
        const uint64_t offset = offset_base + data.size();
        data.insert(data.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n));

        put_le<uint64_t>(index, offset);
        put_le<uint32_t>(index, static_cast<uint32_t>(n));
        put_le<uint32_t>(index, block_first);
        block_first = count;
        records.clear();
        ends.clear();
    }
};

PassageStoreWriter::PassageStoreWriter(size_t block_bytes, int zstd_level) : impl_(std::make_unique<Impl>()) {
    impl_->block_bytes = block_bytes;
    LEANN_CHECK(impl_->cctx != nullptr, "ZSTD_createCCtx failed");
    // zstd clamps levels silently; refuse instead so a typo does not pass unnoticed.
    if (zstd_level < ZSTD_minCLevel() || zstd_level > ZSTD_maxCLevel() ||
        ZSTD_isError(ZSTD_CCtx_setParameter(impl_->cctx.get(), ZSTD_c_compressionLevel, zstd_level)))
        throw Error("passage store: zstd level " + std::to_string(zstd_level) + " is out of range [" +
                    std::to_string(ZSTD_minCLevel()) + ", " + std::to_string(ZSTD_maxCLevel()) + "]");
    // Every frame carries its content size (readers bound their allocation by it) and a content checksum.
    LEANN_CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(impl_->cctx.get(), ZSTD_c_checksumFlag, 1)));
    LEANN_CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(impl_->cctx.get(), ZSTD_c_contentSizeFlag, 1)));
}

PassageStoreWriter::~PassageStoreWriter() = default;

uint32_t PassageStoreWriter::add(std::string_view id, std::string_view text, std::string_view metadata) {
    auto& w = *impl_;
    if (w.count == std::numeric_limits<uint32_t>::max()) throw Error("passage store: more than 2^32-1 passages");
    const size_t record_bytes = 12 + id.size() + text.size() + metadata.size();
    if (id.size() > kMaxBlockBytes || text.size() > kMaxBlockBytes || metadata.size() > kMaxBlockBytes ||
        8 + record_bytes > kMaxBlockBytes)
        throw Error("passage store: passage " + std::to_string(w.count) + " is " + std::to_string(record_bytes) +
                    " bytes; at most " + std::to_string(kMaxBlockBytes - 8) + " fit in a block");
    if (w.open_block_bytes() + 4 + record_bytes > kMaxBlockBytes) w.close_block();

    for (std::string_view field : {id, text, metadata}) {
        put_le<uint32_t>(w.records, static_cast<uint32_t>(field.size()));
        w.records.append(field);
    }
    w.ends.push_back(static_cast<uint32_t>(w.records.size()));
    w.raw_text += text.size();
    const uint32_t node = w.count++;
    if (w.open_block_bytes() >= w.block_bytes) w.close_block();
    return node;
}

size_t PassageStoreWriter::size() const {
    return impl_->count;
}
uint64_t PassageStoreWriter::raw_text_bytes() const {
    return impl_->raw_text;
}
uint64_t PassageStoreWriter::compressed_bytes() const {
    return impl_->data.size();
}
size_t PassageStoreWriter::block_count() const {
    return impl_->index.size() / kBlockEntryBytes;
}

void PassageStoreWriter::continue_after(const PassageStore& previous) {
    auto& w = *impl_;
    LEANN_CHECK(w.count == 0 && w.index.empty(), "continue_after on a writer that already holds passages");
    w.count = w.block_first = static_cast<uint32_t>(previous.size());
    w.offset_base = previous.compressed_bytes();
    const auto table = previous.block_table();
    w.index.assign(table.begin(), table.end());
}

void PassageStoreWriter::write(IndexFileWriter& out) {
    impl_->close_block();
    out.add_section(kPassageData, impl_->data);
    out.add_section(kPassageIndex, impl_->index);
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

PassageStore::PassageStore(const IndexFile& file, size_t expected_count)
    : segments_(file.segments(kPassageData)), count_(expected_count), path_(file.path().string()) {
    static_assert(sizeof(Block) == kBlockEntryBytes && offsetof(Block, size) == 8 && offsetof(Block, first_node) == 12);
    blocks_ = file.array<Block>(kPassageIndex);
    auto fail = [&](const std::string& what) {
        throw FormatError(path_ + ": section PSGI: " + what + " (file is corrupt)");
    };
    if (expected_count > std::numeric_limits<uint32_t>::max())
        fail("the index declares " + std::to_string(expected_count) + " passages, more than node ids can name");
    if (expected_count == 0 && !blocks_.empty())
        fail(std::to_string(blocks_.size()) + " blocks for an index without passages");
    if (expected_count > 0 && blocks_.empty()) fail("no blocks for " + std::to_string(expected_count) + " passages");
    if (segments_.empty()) throw FormatError(path_ + ": section PSGD is missing");
    // PSGD may come in segments (one per generation that added passages): offsets run over their concatenation,
    // and no frame crosses from one segment into the next.
    uint64_t total = 0;
    for (const auto& seg : segments_) {
        segment_starts_.push_back(total);
        total += seg.size();
    }
    total_bytes_ = total;

    uint64_t next_offset = 0;
    for (size_t b = 0; b < blocks_.size(); ++b) {
        const Block& block = blocks_[b];
        const std::string where = "block " + std::to_string(b) + ": ";
        if (b == 0 && block.first_node != 0)
            fail(where + "first node is " + std::to_string(block.first_node) + ", expected 0");
        if (b > 0 && block.first_node <= blocks_[b - 1].first_node)
            fail(where + "first node " + std::to_string(block.first_node) + " does not follow " +
                 std::to_string(blocks_[b - 1].first_node));
        if (block.first_node >= expected_count)
            fail(where + "first node " + std::to_string(block.first_node) + " is past the " +
                 std::to_string(expected_count) + " passages");
        // Frames are packed back to back from the start of PSGD, so every offset is known before it is used.
        if (block.offset != next_offset)
            fail(where + "offset " + std::to_string(block.offset) + ", expected " + std::to_string(next_offset));
        if (block.size == 0 || block.size > total_bytes_ - next_offset)
            fail(where + "size " + std::to_string(block.size) + " runs past the end of PSGD (" +
                 std::to_string(total_bytes_) + " bytes)");
        const size_t seg = segment_of(block.offset);
        if (block.offset + block.size > segment_starts_[seg] + segments_[seg].size())
            fail(where + "frame crosses the end of PSGD segment " + std::to_string(seg));
        next_offset += block.size;
    }
    if (next_offset != total_bytes_)
        fail("blocks cover " + std::to_string(next_offset) + " of the " + std::to_string(total_bytes_) +
             " bytes of PSGD");
}

size_t PassageStore::segment_of(uint64_t offset) const {
    auto it = std::upper_bound(segment_starts_.begin(), segment_starts_.end(), offset);
    return static_cast<size_t>(it - segment_starts_.begin()) - 1;  // segment_starts_[0] == 0
}

std::span<const std::byte> PassageStore::block_table() const {
    return std::as_bytes(blocks_);
}

size_t PassageStore::block_of(uint32_t node) const {
    auto it = std::upper_bound(blocks_.begin(), blocks_.end(), node,
                               [](uint32_t n, const Block& b) { return n < b.first_node; });
    return static_cast<size_t>(it - blocks_.begin()) - 1;  // blocks_[0].first_node == 0, so it > begin
}

std::string PassageStore::read_block(size_t b) const {
    auto corrupt = [&](const std::string& what) {
        throw FormatError(path_ + ": section PSGD: block " + std::to_string(b) + ": " + what + " (file is corrupt)");
    };
    const size_t seg = segment_of(blocks_[b].offset);
    const auto mapped = segments_[seg].subspan(blocks_[b].offset - segment_starts_[seg], blocks_[b].size);
    // PSGD is read straight from the file (it is not part of open()'s private snapshot): copy the frame out under
    // a SIGBUS guard, so a file truncated under us is an error here, and check the copy (a rewritten file fails
    // the frame's checksum instead of changing under the decoder).
    if (mapped.size() > ZSTD_COMPRESSBOUND(kMaxBlockBytes))
        corrupt("frame of " + std::to_string(mapped.size()) + " bytes, more than a block can compress to");
    std::vector<std::byte> copy(mapped.size());
    if (!copy_fault_guarded(copy.data(), mapped.data(), mapped.size()))
        throw FormatError(path_ + ": section PSGD: block " + std::to_string(b) + ": " + kChangedUnderUs);
    const std::span<const std::byte> frame(copy);
    // RFC 8878: magic 0xFD2FB528, then the frame header descriptor whose bit 2 is the content checksum flag.
    if (frame.size() < 6 || load_u32(reinterpret_cast<const char*>(frame.data())) != ZSTD_MAGICNUMBER ||
        (std::to_integer<unsigned>(frame[4]) & 0x04u) == 0)
        corrupt("not a zstd frame with a content checksum");
    const size_t frame_bytes = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
    if (ZSTD_isError(frame_bytes) || frame_bytes != frame.size()) corrupt("not exactly one zstd frame");
    const unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN)
        corrupt("zstd frame without a content size");
    if (content > kMaxBlockBytes)
        corrupt("declares " + std::to_string(content) + " bytes, more than the limit of " +
                std::to_string(kMaxBlockBytes));
    std::string raw(static_cast<size_t>(content), '\0');
    const size_t got = ZSTD_decompressDCtx(thread_dctx(), raw.data(), raw.size(), frame.data(), frame.size());
    if (ZSTD_isError(got)) corrupt(std::string("zstd: ") + ZSTD_getErrorName(got));
    if (got != raw.size())
        corrupt("decompressed to " + std::to_string(got) + " bytes, the frame declares " + std::to_string(content));
    return raw;
}

size_t PassageStore::block_records(size_t b) const {
    const size_t end = b + 1 < blocks_.size() ? blocks_[b + 1].first_node : count_;
    return end - blocks_[b].first_node;
}

Passage PassageStore::get(uint32_t node) const {
    check_node(path_, node, count_);
    const size_t b = block_of(node);
    BlockView view(read_block(b), block_records(b), path_, b);
    return view.record(node - blocks_[b].first_node);
}

std::string PassageStore::text(uint32_t node) const {
    return get(node).text;
}

std::vector<Passage> PassageStore::get_many(std::span<const uint32_t> nodes) const {
    std::vector<Passage> out(nodes.size());
    visit(nodes, [&](size_t i, std::string_view id, std::string_view text, std::string_view metadata) {
        out[i] = Passage{std::string(id), std::string(text), std::string(metadata)};
    });
    return out;
}

void PassageStore::visit(std::span<const uint32_t> nodes, const Visitor& each) const {
    for (uint32_t node : nodes) check_node(path_, node, count_);
    std::vector<size_t> order(nodes.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return nodes[a] < nodes[b]; });
    std::optional<BlockView> view;
    size_t current = std::numeric_limits<size_t>::max();
    for (size_t i : order) {
        const size_t b = block_of(nodes[i]);
        if (b != current) {
            view.emplace(read_block(b), block_records(b), path_, b);
            current = b;
        }
        const auto [id, text, metadata] = view->fields(nodes[i] - blocks_[b].first_node);
        each(i, id, text, metadata);
    }
}

void PassageStore::verify() const {
    for (size_t b = 0; b < blocks_.size(); ++b) {
        BlockView view(read_block(b), block_records(b), path_, b);
        for (uint32_t i = 0; i < view.count(); ++i) view.fields(i);
    }
}

}  // namespace leann::store
