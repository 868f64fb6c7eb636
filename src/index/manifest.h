// index room: the source manifest (section SRCS). What an index was built from, so that an update can tell what
// changed: the settings that shape the chunks, every source file with the stamps that show an edit (size, mtime,
// ctime, inode) and its content hash, and the nodes (chunks) each file produced; records added through the API
// by id. docs/format.md, "SRCS".
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace leann::index {

struct SourceEntry {
    uint64_t bytes = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    uint64_t inode = 0;
    uint64_t hash = 0;            // xxh3-64 of the file's bytes
    bool records = false;         // a JSON lines file (one record = one chunk)
    std::vector<uint32_t> nodes;  // the file's chunks, in file order
};

struct Manifest {
    nlohmann::json settings = nlohmann::json::object();  // compared on every sync: a change means a rebuild
    nlohmann::json origin = nlohmann::json::object();    // not compared: the roots as given and the folder they
                                                         // were given in ("roots", "cwd"), for `leann watch`
    std::map<std::string, SourceEntry> files;          // by path, as discovery names it
    std::map<std::string, uint32_t> records;           // records added by id through the API (no file)
    bool has_nodes = true;                             // false: a version-1 SRCS (no node lists, no hashes)

    /// SRCS bytes: a zstd frame holding the JSON (version 2).
    std::string encode() const;
    /// From SRCS bytes: version 2 (zstd JSON) or version 1 (plain JSON, no node lists). Throws FormatError naming
    /// `file` when the bytes are not a manifest.
    static Manifest decode(std::span<const std::byte> bytes, const std::string& file);
    /// The manifest's JSON (for tools and `leann list`), as text.
    std::string json_text() const;

    /// Node -> 1 for every node the manifest lists (size `nodes`); throws FormatError when a node is listed twice
    /// or is out of range.
    std::vector<uint8_t> listed_nodes(size_t nodes, const std::string& file) const;
    /// Renumbers every node through `old_to_new` (kNoNode entries are dropped): compaction.
    void remap(std::span<const uint32_t> old_to_new);
};

constexpr uint32_t kNoNode = 0xffffffffu;

}  // namespace leann::index
