// store room: the on-disk container (docs/format.md). One file = header slots + sections + section table.
// Every section is 64-byte aligned, carries an xxh3-64 checksum, and is addressed by a four-character tag.
// A whole file is written to "<path>.tmp-<pid>" and renamed over <path> only after fsync, so a crash never leaves a
// half file under the real name. A later generation is appended in place: new sections and a new table after the
// committed end, fsync, then the header slot not in use (fsync again); until that slot is written, readers and a
// crash see the previous generation, whose bytes are never touched. Reading copies header, table and the checked
// sections into private memory (lazy sections stay memory-mapped) and checks them before anything is used; errors are leann::FormatError naming the file and the section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "leann/error.h"

namespace leann {

namespace store {

constexpr uint32_t fourcc(const char (&s)[5]) {
    return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
           uint32_t(uint8_t(s[3])) << 24;
}
std::string tag_name(uint32_t tag);  // "GRPH", or hex when not printable

constexpr uint32_t kFormatVersion = 3;  // 3: the keyword index (KWIX); a version-2 slot may precede a version-3 one
/// The error a reader gives when file-backed bytes vanished under it (an in-place writer truncated the file).
inline constexpr const char* kChangedUnderUs =
    "the file shrank while open (rewritten in place by another program?); open the index again";

constexpr uint32_t kOldestFormatVersion = 1;  // version 1 files still open (one header, no generations)

struct SectionInfo {
    uint32_t tag = 0;
    uint64_t offset = 0;    // from the start of the file, multiple of 64
    uint64_t size = 0;      // bytes
    uint64_t checksum = 0;  // xxh3-64 of the bytes
};

class IndexFileWriter {
public:
    /// Creates the temporary file next to `path` for a whole new file (generation 1 unless set_generation()).
    /// Throws leann::Error if it cannot.
    explicit IndexFileWriter(std::filesystem::path path);
    /// Appends a generation to the version-2 file at `path` (the caller holds the index's writer lock). Bytes past
    /// the committed end (left by an interrupted writer) are cut off first. The new table lists the sections passed
    /// to keep_section() plus the new ones.
    static IndexFileWriter append_to(const std::filesystem::path& path);
    IndexFileWriter(IndexFileWriter&&) noexcept;
    /// Removes the temporary file (new file) or cuts the file back to its committed end (append) unless commit()
    /// succeeded.
    ~IndexFileWriter();
    IndexFileWriter(const IndexFileWriter&) = delete;
    IndexFileWriter& operator=(const IndexFileWriter&) = delete;
    IndexFileWriter& operator=(IndexFileWriter&&) = delete;

    /// Sections are streamed: begin, any number of appends, end. A tag may appear more than once (a segmented
    /// section, docs/format.md); readers ask for such tags with IndexFile::segments().
    void begin_section(uint32_t tag);
    void append(std::span<const std::byte> bytes);
    void end_section();
    /// Shorthand: a whole section at once.
    void add_section(uint32_t tag, std::span<const std::byte> bytes);
    template <class T>
    void add_array(uint32_t tag, std::span<const T> items) {
        add_section(tag, std::as_bytes(items));
    }

    /// Append mode: the sections of the committed generation, and one of them to list again in the new table.
    const std::vector<SectionInfo>& committed_sections() const;
    void keep_section(const SectionInfo& section);
    /// The generation this writer commits (append: the committed one + 1).
    uint32_t generation() const;
    void set_generation(uint32_t generation);
    /// Bytes written to disk by this writer so far (sections, table, header), for update statistics.
    uint64_t bytes_written() const;

    /// Writes the table and header, fsyncs; a new file is renamed over the final path (and the directory fsynced).
    void commit();

private:
    IndexFileWriter() = default;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class IndexFile {
public:
    /// Maps and validates header and section table (magic, version, table bounds, section bounds and alignment,
    /// duplicate tags). Section checksums are checked here for every section whose tag is not in `lazy_tags`;
    /// lazy ones (large, e.g. passage data) are checked by verify().
    /// check_sections = false skips every section checksum (the writer reading the table it appends to).
    static IndexFile open(const std::filesystem::path& path, std::span<const uint32_t> lazy_tags = {},
                          bool check_sections = true);

    const std::filesystem::path& path() const { return path_; }
    uint32_t format_version() const { return version_; }
    uint32_t generation() const { return generation_; }  // 1 for version-1 files
    const std::vector<SectionInfo>& sections() const { return sections_; }
    bool has(uint32_t tag) const;
    /// The bytes of a section; throws FormatError naming the section if it is missing or appears more than once.
    std::span<const std::byte> section(uint32_t tag) const;
    /// Every section with this tag, in table order (empty when none): a segmented section.
    std::vector<std::span<const std::byte>> segments(uint32_t tag) const;
    /// A section as an array of T: throws FormatError naming the section if missing or its size is not a
    /// multiple of sizeof(T) (or, when expected_count is given, not exactly that many items).
    template <class T>
    std::span<const T> array(uint32_t tag, std::optional<size_t> expected_count = std::nullopt) const {
        // Sections start 64-byte aligned in a page-aligned mapping, so any such T may be viewed in place.
        static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= 64);
        auto bytes = section(tag);
        check_array(tag, bytes.size(), sizeof(T), expected_count);
        return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
    }
    /// Recomputes every checksum; throws FormatError naming the first bad section.
    void verify() const;
    uint64_t file_size() const;        // bytes on disk when opened
    uint64_t committed_size() const;   // end of this generation's table (bytes past it belong to no generation)
    uint64_t live_bytes() const;       // bytes of this generation's sections, table and header (the rest of the
                                       // file is older generations' garbage, reclaimed by compaction)

private:
    void check_array(uint32_t tag, size_t bytes, size_t item, std::optional<size_t> expected) const;

    std::filesystem::path path_;
    const std::byte* base_of(uint32_t tag) const;

    std::shared_ptr<const void> map_;  // keeps the snapshot and the file mapping alive; copies share them
    const std::byte* data_ = nullptr;  // the snapshot: header, table and every section not lazy, at file offsets
    const std::byte* lazy_data_ = nullptr;  // the file mapped read-only, for the lazy sections
    std::vector<uint32_t> lazy_tags_;       // lazy tags present in the file
    uint64_t size_ = 0;
    uint64_t committed_ = 0;
    uint32_t version_ = 0;
    uint32_t generation_ = 0;
    int slot_ = 0;  // header slot of this generation
    friend class IndexFileWriter;
    std::vector<SectionInfo> sections_;
};

}  // namespace store
}  // namespace leann
