// A read-only memory map of a whole file. Move-only; the bytes stay valid while the object lives.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

namespace leann {

class MappedFile {
public:
    /// Maps `path` read-only. Throws leann::Error naming the file when it cannot be opened or mapped.
    /// An empty file maps to an empty span.
    explicit MappedFile(const std::filesystem::path& path);
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }
    std::string_view text() const { return {static_cast<const char*>(data_), size_}; }
    size_t size() const { return size_; }
    const std::filesystem::path& path() const { return path_; }
    /// Drops this process's page mappings (the bytes stay readable: the next access maps them again from the page
    /// cache), so pages read once do not stay in the resident set of a long-lived map.
    void release_pages() const;

private:
    void release();
    std::filesystem::path path_;
    void* data_ = nullptr;
    size_t size_ = 0;
};

/// Reads a whole (small) file into a string. Throws leann::Error naming the file on failure.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace leann
