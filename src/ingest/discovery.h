// ingest room: finding the files under the folders given to `leann build --docs`, with git's ignore rules.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace leann::ingest {

struct DiscoveryOptions {
    /// Globs on the path relative to the root given (e.g. "*.md", "src/**"); empty = all. Read like .gitignore
    /// lines: a glob without '/' matches the file name at any depth, one with '/' the whole relative path.
    std::vector<std::string> include;
    std::vector<std::string> exclude;     // same globs; a match skips the file or the whole folder
    std::vector<std::string> file_types;  // extensions without dot ("md", "py"), case-insensitive; empty = all
    bool include_hidden = false;          // dot files and dot folders (VCS folders stay skipped)
    uint64_t max_file_bytes = 32ull << 20;
    std::vector<std::filesystem::path> skip_folders;  // never walked (leann's own data folder), silently
};

struct DiscoveredFile {
    std::filesystem::path path;  // as opened (root joined with the names walked, symlinks not resolved)
    std::string relative;        // relative to the root it was found under, '/'-separated (for display and globs)
    uint64_t bytes = 0;
    int64_t mtime_ns = 0;  // modification time, nanoseconds since the Unix epoch
    int64_t ctime_ns = 0;  // status change time (cannot be set back by cp -p, rsync -a or touch -r)
    uint64_t inode = 0;
};

struct SkippedPath {
    std::filesystem::path path;
    std::string reason;
};

/// Walks every root (a file or a folder; several allowed), roots in the order given and each folder's entries
/// sorted by name (bytewise), depth first, so the result is deterministic. Honours .gitignore files at every
/// level from the root down (rules of a deeper file take precedence, as git does), a .leannignore with the same
/// syntax (over the .gitignore of the same folder), and always skips: hidden entries (unless include_hidden),
/// VCS folders (.git .hg .svn), and build/dependency outputs (node_modules, __pycache__, .venv, venv, build, dist,
/// target, .tox, .mypy_cache, .pytest_cache, .cache, CMakeFiles). Ignore files above a root are not read.
/// A root named explicitly is taken even when hidden or ignored; a file root also bypasses include/exclude/
/// file_types (only the size limit applies).
/// Symlinks to files are followed; symlinks to folders are followed once (a folder reached twice by (device,
/// inode), across all roots, is not walked again, so no loop). Unreadable folders/files, broken symlinks, files
/// over max_file_bytes, non-regular files, folders already walked, and roots that do not exist are reported in
/// `skipped` with a reason; never an exception for those. Ignored files are skipped silently.
/// Binary detection is not done here (the readers do it). Not thread-safe against changes to the tree: a file
/// that vanishes mid-walk is reported, not fatal.
std::vector<DiscoveredFile> discover(std::span<const std::filesystem::path> roots, const DiscoveryOptions& options,
                                     std::vector<SkippedPath>& skipped);

}  // namespace leann::ingest
