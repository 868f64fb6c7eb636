// index room: what filters and grep read about every chunk, gathered once per open index (on the first filtered
// search or grep) from the source manifest and the passages' metadata: its source file (path, modification time),
// its type and language, and its metadata text for `where` clauses. Matching a Filter gives a node bitmap.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "index/manifest.h"
#include "leann/filter.h"
#include "store/passage_store.h"

namespace leann::index {

struct ChunkTable {
    static constexpr uint32_t kNone = 0xffffffffu;
    std::vector<std::string> files;      // source paths (manifest keys, or metadata "source")
    std::vector<int64_t> file_mtime_s;   // per file; INT64_MIN when unknown (not in the manifest)
    std::vector<uint32_t> file_of;       // per node: index into files, or kNone (a record without a file)
    std::vector<std::string> names;      // interned type and language names
    std::vector<uint32_t> type_of;       // per node: index into names, or kNone
    std::vector<uint32_t> language_of;   // per node: index into names, or kNone
    std::vector<uint32_t> line_of;       // per node: metadata start_line (0: none)
    std::vector<std::string> metadata;   // per node: metadata JSON text ("" for deleted nodes)
};

/// The fields the table keeps from one chunk's metadata.
struct MetaFields {
    std::optional<std::string> source, type, language;
    std::optional<uint64_t> start_line;  // a non-negative integer only (as nlohmann's is_number_unsigned)
};
/// The fields, by scan_meta or else a full parse (what is not a JSON object has none).
MetaFields meta_fields(std::string_view metadata);
/// The fast reader alone, for the common case: a flat ASCII JSON object of scalars, as leann's writers produce. It
/// gives exactly the full parse's fields, or nullopt (then the caller parses fully) for anything else: non-ASCII
/// bytes, objects or arrays as values, \u escapes, escapes in keys or kept values, malformed text.
std::optional<MetaFields> scan_meta(std::string_view metadata);

/// Reads every live node's metadata (each passage block decompressed once). `manifest` may be null (no SRCS).
ChunkTable build_chunk_table(const store::PassageStore& passages, std::span<const uint8_t> deleted,
                             const Manifest* manifest);

/// Bit per node: live and matching `filter`; `count` = bits set. Throws leann::Error naming the field for a
/// malformed filter, or a `where` field no chunk has / whose values never have the compared kind.
std::vector<uint8_t> match_filter(const ChunkTable& table, std::span<const uint8_t> deleted, const Filter& filter,
                                  size_t& count);

}  // namespace leann::index
