// store room: the passage store. The text, external id and metadata (a JSON object, as text) of every node, in
// zstd-compressed blocks of ~block_bytes of records, with random access by node id. Two sections: PSGD (the
// compressed frames, each with zstd's content checksum) and PSGI (the block table). See docs/format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/index_file.h"

namespace leann::store {

constexpr uint32_t kPassageData = fourcc("PSGD");
constexpr uint32_t kPassageIndex = fourcc("PSGI");
/// Upper bound on one block's decompressed size, so a corrupt frame header cannot make a reader allocate without
/// limit. Hence one passage (id + text + metadata) holds at most ~64 MiB; add() refuses larger ones.
constexpr size_t kMaxBlockBytes = size_t{64} << 20;

struct Passage {
    std::string id;        // the external id, as given (or the line number)
    std::string text;      // exactly what was embedded
    std::string metadata;  // a JSON object as text ("{}" when none)
};

class PassageStore;

/// Collects passages in node order and writes them as the two sections.
class PassageStoreWriter {
public:
    /// block_bytes: a block is closed (compressed) once its decompressed size reaches this. Throws leann::Error
    /// for a zstd level out of range.
    explicit PassageStoreWriter(size_t block_bytes = 16384, int zstd_level = 3);
    ~PassageStoreWriter();
    /// Returns the node id (0, 1, 2, ...). Compresses full blocks as it goes. Throws leann::Error for a passage
    /// over kMaxBlockBytes.
    uint32_t add(std::string_view id, std::string_view text, std::string_view metadata);
    size_t size() const;
    uint64_t raw_text_bytes() const;  // sum of text sizes, for stats
    /// Compressed bytes (the PSGD size) and blocks so far; final once write() has run. For stats.
    uint64_t compressed_bytes() const;
    size_t block_count() const;
    /// Continues an existing store (an update): node ids start at previous.size(), and write() emits a new PSGD
    /// segment with the new blocks and a whole PSGI (the previous block table plus the new entries). Call before add().
    void continue_after(const PassageStore& previous);
    /// Writes PSGD (a segment, after continue_after) and PSGI into the file.
    void write(IndexFileWriter& out);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Reads passages out of an open IndexFile (which must outlive it). Thread-safe.
class PassageStore {
public:
    PassageStore() = default;
    /// Validates the block table against the data section and `expected_count` nodes (FormatError naming the
    /// section otherwise).
    PassageStore(const IndexFile& file, size_t expected_count);

    size_t size() const { return count_; }
    /// Throws FormatError naming PSGD and the block if a frame is corrupt, leann::Error if node >= size().
    Passage get(uint32_t node) const;
    std::string text(uint32_t node) const;
    /// Many at once, in the order of `nodes` (repeats allowed): each block is decompressed once however many of its
    /// records are asked for.
    std::vector<Passage> get_many(std::span<const uint32_t> nodes) const;
    /// The same without copies: `each(i, id, text, metadata)` for nodes[i], in node order (each block decompressed
    /// once); the views last only for the call.
    using Visitor = std::function<void(size_t index, std::string_view id, std::string_view text, std::string_view metadata)>;
    void visit(std::span<const uint32_t> nodes, const Visitor& each) const;
    /// Decompresses and checks every block (for `leann verify`).
    void verify() const;

    uint64_t compressed_bytes() const { return total_bytes_; }  // PSGD size (all segments), for stats
    size_t block_count() const { return blocks_.size(); }
    /// The block table as stored (PSGI bytes), for a writer that continues this store.
    std::span<const std::byte> block_table() const;

private:
    struct Block {            // one PSGI entry, exactly as on disk (16 bytes, little-endian)
        uint64_t offset;      // in PSGD
        uint32_t size;        // compressed bytes
        uint32_t first_node;  // first node id in the block
    };
    std::string read_block(size_t b) const;  // decompressed bytes of block b
    size_t block_of(uint32_t node) const;
    size_t block_records(size_t b) const;  // records in block b, by the block table
    size_t segment_of(uint64_t offset) const;

    std::vector<std::span<const std::byte>> segments_;  // PSGD segments, in table order
    std::vector<uint64_t> segment_starts_;              // offset of each in their concatenation
    uint64_t total_bytes_ = 0;
    std::span<const Block> blocks_;
    size_t count_ = 0;
    std::string path_;
};

}  // namespace leann::store
