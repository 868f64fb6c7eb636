// ingest room (public part): turning input files into Documents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "leann/index.h"
#include "leann/tokenizer.h"

namespace leann {

/// What reading skipped, and why (each warning names the file and line).
struct ReadReport {
    size_t records = 0;   // documents produced
    size_t skipped = 0;   // lines or files skipped (each with a warning)
    size_t files = 0;     // files read
    uint64_t raw_bytes = 0;
    std::vector<std::string> warnings;
};

/// JSON lines, one record per line: "text" (required, string), "id" or "_id" (string or number; default the line
/// number), "title" (prepended to the text with a space, and kept in the metadata), every other field kept in the
/// metadata object. Bad lines (invalid JSON, no text, empty text) are skipped with a warning; invalid UTF-8 is
/// repaired. Throws leann::Error only when the file cannot be read at all.
std::vector<Document> read_jsonl_documents(const std::filesystem::path& path, ReadReport& report);

struct FileOptions {
    std::vector<std::string> include;     // globs on the path relative to its root; empty = all
    std::vector<std::string> exclude;
    std::vector<std::string> file_types;  // extensions ("md", "py"); empty = every supported type
    bool include_hidden = false;
    uint64_t max_file_bytes = 32ull << 20;
    size_t chunk_tokens = 256;            // prose chunks, model tokens (clamped to the model's max length)
    size_t chunk_overlap = 32;
    size_t code_chunk_tokens = 256;       // code chunks
    size_t code_chunk_overlap = 32;
};

/// Files and folders -> chunked Documents: discovery with .gitignore/.leannignore, plain text, Markdown and source
/// code (language from the extension), any encoding the text reader knows. Each chunk's id is "path:line" and its
/// metadata holds source, type, language, start_line, end_line, mtime (ns) and the file's xxh3-64 hash. Files
/// that cannot be read (binary, empty, unsupported type, too large, permission, vanished) are warnings.
std::vector<Document> read_file_documents(std::span<const std::filesystem::path> roots, const Tokenizer& tokenizer,
                                          size_t model_max_tokens, const FileOptions& options, ReadReport& report);

}  // namespace leann
