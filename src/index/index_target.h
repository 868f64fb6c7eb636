// index room: the place an index is written to, checked before any source is read or embedded (the writer's
// constructor calls these in order).
#pragma once

#include <filesystem>

namespace leann::index {

/// Creates `dir` and missing parents user-only (0700): what is inside holds the sources' text. Throws leann::Error
/// naming the folder.
void create_private_directories(const std::filesystem::path& dir);
/// `leann build --index PATH` must not destroy what a typo points it at: a text file, the --docs JSONL itself, a
/// device. A leann index (magic bytes) or an empty file may be replaced; another regular file only with
/// `replace_foreign`; a non-regular file never.
void check_replaceable(const std::filesystem::path& path, bool replace_foreign);
/// Found before anything is read or embedded, not at the end when the index is written.
void check_writable(const std::filesystem::path& dir);

}  // namespace leann::index
