// grep over an index's stored passages (`leann grep`, the MCP tool leann_grep): literal or regular-expression
// search, reported like ripgrep: source path, line number in the source file, the line, and context lines.
//
// Each source file's chunks are put back together by their line numbers (chunks overlap; a line is reported once),
// so matches and context lines read as in the file itself. A chunk without a source file (a JSONL record, a record
// added through the API) is reported under its id, with line numbers inside the passage. PDF chunks carry pages,
// not lines: their lines are numbered within the chunk, and `page` says where.
//
// The expression engine is RE2 (linear time in the text, no backtracking): a pattern it cannot run in bounded
// memory or that uses a feature it lacks (backreferences, look-around) is refused with leann::Error naming the
// problem, never run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "leann/filter.h"

namespace leann {

class Index;

enum class GrepCase { sensitive, insensitive, smart };  // smart: insensitive unless the pattern has an upper-case letter

struct GrepOptions {
    std::string pattern;                // RE2 syntax, or literal text with fixed_strings
    bool fixed_strings = false;         // -F
    GrepCase case_mode = GrepCase::sensitive;
    bool word = false;                  // -w: only matches at word boundaries
    bool invert = false;                // -v: lines that do not match
    size_t before = 0, after = 0;       // -B / -A context lines (at most 1000 each)
    size_t max_count = 0;               // per source: stop after this many matching lines (0: no limit)
    size_t max_total = 0;               // over everything: stop after this many matching lines (0: no limit)
    Filter filter;                      // only chunks matching it (path globs etc., leann/filter.h)
};

struct GrepLine {
    size_t line = 0;                    // 1-based, in the source file (or in the passage; see above)
    std::string text;                   // without the newline
    bool match = false;                 // false: a context line
    std::vector<std::pair<size_t, size_t>> spans;  // match byte ranges in `text` (empty for context / invert)
};

/// One source's matching lines and their context, in line order. Consecutive groups (separated by a gap) are
/// told apart by line numbers.
struct GrepFile {
    std::string path;                   // the source file, or the record id
    bool record = false;                // true: `path` is a record id, lines are within its passage
    uint32_t page = 0;                  // PDF chunks: the page the lines are on (0: none)
    std::vector<GrepLine> lines;
    size_t matches = 0;                 // matching lines
};

struct GrepStats {
    size_t chunks = 0;                  // passages read
    size_t files = 0;                   // sources with at least one match
    size_t matches = 0;                 // matching lines
    uint64_t bytes = 0;                 // passage text bytes searched
    bool truncated = false;             // max_total reached
};

/// Greps every live chunk of `index` that `options.filter` admits, calling `on_file` for each source with matches,
/// in index order (the order files were read at build). `on_file` may return false to stop. Throws leann::Error
/// for a bad pattern or filter. Thread-safe (reads only).
GrepStats grep(const Index& index, const GrepOptions& options, const std::function<bool(const GrepFile&)>& on_file);

}  // namespace leann
