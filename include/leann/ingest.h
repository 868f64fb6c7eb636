// ingest room (public part): turning input files into Documents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
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
    uint64_t raw_bytes = 0;  // text read (after decoding and HTML/PDF extraction, before chunking)
    std::vector<std::string> warnings;
    std::map<std::string, size_t> skip_reasons;  // short reason ("binary file", "encrypted PDF") -> count
    size_t repaired = 0;  // files read with invalid UTF-8 bytes replaced (each with a warning)

    /// Counts a skipped file or line: a warning "WHAT: skipped: REASON" and the reason's tally (the reason up to
    /// any " (" detail).
    void skip(const std::string& what, const std::string& reason);
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
    std::vector<std::filesystem::path> skip_folders;  // never walked, silently (leann's own data folder)
    size_t chunk_tokens = 256;            // prose chunks, model tokens (clamped to the model's max length)
    size_t chunk_overlap = 64;           // (defaults measured: bench/README.md, "Chunk size")
    size_t code_chunk_tokens = 256;       // code chunks
    size_t code_chunk_overlap = 32;
    /// Called after each file (files done, files found); may throw to stop the read (Ctrl-C).
    std::function<void(size_t done, size_t total)> progress;
};

/// A file discovery found (before reading it).
struct SourceFile {
    std::filesystem::path path;
    uint64_t bytes = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;  // status change: catches edits that restore size and mtime (cp -p, rsync -a, touch -r)
    uint64_t inode = 0;
};

/// Discovery only: the files read_file_documents would read, with size and modification time; nothing is opened
/// but folders and ignore files (so it is quick: an unchanged tree can be recognised without reading it). Paths
/// skipped while walking are counted in `report`.
std::vector<SourceFile> list_source_files(std::span<const std::filesystem::path> roots, const FileOptions& options,
                                          ReadReport& report);

/// Files and folders -> chunked Documents: discovery with .gitignore/.leannignore, plain text, Markdown, source
/// code (language from the extension), HTML (visible text) and PDF (text per page, through poppler), any encoding
/// the text reader knows. Each chunk's id is "path:line" ("path#page=N" for PDFs) and its metadata holds source,
/// type, language, start_line, end_line (or page, end_page) and encoding (the file's mtime and content hash live in
/// the index's source manifest, so that an edit elsewhere in a file leaves its other chunks as they were).
/// Files that cannot be read (binary, empty, unsupported type, too large, permission, vanished, encrypted or
/// broken PDF) are warnings.
std::vector<Document> read_file_documents(std::span<const std::filesystem::path> roots, const Tokenizer& tokenizer,
                                          size_t model_max_tokens, const FileOptions& options, ReadReport& report);
/// The same over files listed already (by list_source_files: a caller that needs the list, such as the build's
/// unchanged-tree check, walks the folders once).
std::vector<Document> read_file_documents(std::span<const SourceFile> files, const Tokenizer& tokenizer,
                                          size_t model_max_tokens, const FileOptions& options, ReadReport& report);

}  // namespace leann
