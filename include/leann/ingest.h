// ingest room (public part): turning input files into Documents.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "leann/index.h"

namespace leann {

/// What reading skipped, and why (each warning names the file and line).
struct ReadReport {
    size_t records = 0;   // documents produced
    size_t skipped = 0;
    std::vector<std::string> warnings;
};

/// JSON lines, one record per line: "text" (required, string), "id" or "_id" (string or number; default the line
/// number), "title" (prepended to the text with a space, and kept in the metadata), every other field kept in the
/// metadata object. Bad lines (invalid JSON, no text, empty text) are skipped with a warning; invalid UTF-8 is
/// repaired. Throws leann::Error only when the file cannot be read at all.
std::vector<Document> read_jsonl_documents(const std::filesystem::path& path, ReadReport& report);

}  // namespace leann
