// ingest room: reading a file as text. Detects binary files, decodes UTF-8 (with or without BOM), UTF-16 with a
// BOM, and falls back to Latin-1 for files that are mostly not UTF-8; stray invalid bytes in UTF-8 text are
// repaired (U+FFFD). Also names the file's kind (markdown, text, or a programming language) from its extension.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace leann::ingest {

struct TextFile {
    std::string text;      // UTF-8
    std::string encoding;  // "utf-8", "utf-8-bom", "utf-16le", "utf-16be", "latin-1", "utf-8 (repaired)"
};

/// The bytes of a regular file, at most `max_bytes` of them, or nullopt with `why` set: "not a regular file", "cannot
/// open: ...", "read error: ..." (EIO and the like), or "larger than the limit (...)" for a file that has more
/// bytes than `max_bytes` when read (it may have grown since it was listed). Never throws for I/O errors.
std::optional<std::string> read_file_bytes(const std::filesystem::path& path, uint64_t max_bytes, std::string& why);

/// The file as UTF-8 text, or nullopt with `why` set ("binary file", "empty file", an I/O error, ...). At most
/// `max_bytes` are read (see read_file_bytes).
std::optional<TextFile> read_text(const std::filesystem::path& path, std::string& why,
                                  uint64_t max_bytes = UINT64_MAX);
/// Decoding only (the bytes of a file).
std::optional<TextFile> decode_text(std::string_view bytes, std::string& why);

struct FileKind {
    std::string type;      // "markdown", "text", "html", "code"
    std::string language;  // for code: "python", "cpp", ...; empty otherwise
};
/// From the extension (case-insensitive) or a few well-known names (Makefile, Dockerfile, CMakeLists.txt);
/// nullopt for formats no reader handles yet (PDF, images, archives, ...).
std::optional<FileKind> file_kind(const std::filesystem::path& path);

}  // namespace leann::ingest
