// store room: the on-disk container (docs/format.md). One file = fixed header + sections + section table.
// Every section is 64-byte aligned, carries an xxh3-64 checksum, and is addressed by a four-character tag.
// Writing goes to "<path>.tmp-<pid>" and is renamed over <path> only after fsync, so a crash never leaves a half
// file under the real name. Reading memory-maps the file and checks header, table and bounds before anything is
// used; errors are leann::FormatError naming the file and the section.
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

/// A corrupt, truncated, foreign or incompatible index file.
class FormatError : public Error {
public:
    using Error::Error;
};

namespace store {

constexpr uint32_t fourcc(const char (&s)[5]) {
    return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
           uint32_t(uint8_t(s[3])) << 24;
}
std::string tag_name(uint32_t tag);  // "GRPH", or hex when not printable

constexpr uint32_t kFormatVersion = 1;

struct SectionInfo {
    uint32_t tag = 0;
    uint64_t offset = 0;    // from the start of the file, multiple of 64
    uint64_t size = 0;      // bytes
    uint64_t checksum = 0;  // xxh3-64 of the bytes
};

class IndexFileWriter {
public:
    /// Creates the temporary file next to `path`. Throws leann::Error if it cannot.
    explicit IndexFileWriter(std::filesystem::path path);
    ~IndexFileWriter();  // removes the temporary file unless commit() succeeded
    IndexFileWriter(const IndexFileWriter&) = delete;
    IndexFileWriter& operator=(const IndexFileWriter&) = delete;

    /// Sections are streamed: begin, any number of appends, end. Tags must be unique in a file.
    void begin_section(uint32_t tag);
    void append(std::span<const std::byte> bytes);
    void end_section();
    /// Shorthand: a whole section at once.
    void add_section(uint32_t tag, std::span<const std::byte> bytes);
    template <class T>
    void add_array(uint32_t tag, std::span<const T> items) {
        add_section(tag, std::as_bytes(items));
    }

    /// Writes the table and header, fsyncs, renames over the final path (and fsyncs the directory).
    void commit();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class IndexFile {
public:
    /// Maps and validates header and section table (magic, version, table bounds, section bounds and alignment,
    /// duplicate tags). Section checksums are checked here for every section whose tag is not in `lazy_tags`;
    /// lazy ones (large, e.g. passage data) are checked by verify().
    static IndexFile open(const std::filesystem::path& path, std::span<const uint32_t> lazy_tags = {});

    const std::filesystem::path& path() const { return path_; }
    uint32_t format_version() const { return version_; }
    const std::vector<SectionInfo>& sections() const { return sections_; }
    bool has(uint32_t tag) const;
    /// The bytes of a section; throws FormatError naming the section if it is missing.
    std::span<const std::byte> section(uint32_t tag) const;
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
    uint64_t file_size() const;

private:
    void check_array(uint32_t tag, size_t bytes, size_t item, std::optional<size_t> expected) const;

    std::filesystem::path path_;
    std::shared_ptr<const void> map_;  // keeps the mapping alive; copies share it
    const std::byte* data_ = nullptr;
    uint64_t size_ = 0;
    uint32_t version_ = 0;
    std::vector<SectionInfo> sections_;
};

}  // namespace store
}  // namespace leann
