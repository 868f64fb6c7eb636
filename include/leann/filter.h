// Metadata filters for search (and grep): which chunks may be returned. A search with a filter returns the top-k
// of the matching chunks, never fewer than k when at least k chunks match (docs/cli.md, "Filters").
//
// Every part is optional and the parts are ANDed:
//   paths            path globs; a chunk matches when its source path matches any of them
//   exclude_paths    path globs; a chunk whose source path matches any of them never matches
//   types            file types as ingest records them ("code", "markdown", "text", "html", "pdf"; "jsonl" for
//                    records): any of them
//   languages        languages of code files ("python", "cpp", ...): any of them
//   modified_after   the source file's modification time (from the index's source manifest), unix seconds,
//   modified_before  inclusive / exclusive
//   where            a Chroma-style `where` object over the chunk's metadata fields (JSONL record fields, or the
//                    fields ingest writes for files: source, type, language, start_line, ...), as JSON text:
//                      {"field": value}                     equality (shorthand for {"field": {"$eq": value}})
//                      {"field": {"$eq"|"$ne": value}}      string, number or boolean
//                      {"field": {"$gt"|"$gte"|"$lt"|"$lte": value}}   numbers (or strings, compared bytewise)
//                      {"field": {"$in"|"$nin": [values]}}
//                      {"$and": [where...]}, {"$or": [where...]}; several keys in one object are ANDed
//                    A field named in a comparison must exist in the index and hold values of the compared type
//                    somewhere, else the filter is refused (leann::FilterError naming the field): a typo never silently
//                    matches nothing.
//
// Globs: `*` any run of characters but '/', `**` any run including '/', `?` one character, `[abc]`/`[a-z]`/`[!x]`
// a class, `{a,b}` alternatives. A glob without '/' matches a path's file name ("*.py"); one with '/' matches
// the whole path or any tail of it that starts at a folder ("src/**/*.py" matches "/home/me/repo/src/a/b.py").
// Matching is linear in path length times glob length (no backtracking).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "leann/error.h"

namespace leann {

/// A filter that cannot be applied: malformed, or naming a field, type or language the index does not have. The
/// message names the field (front ends answer it as the caller's mistake, e.g. HTTP 400).
class FilterError : public Error {
public:
    using Error::Error;
};

struct Filter {
    std::vector<std::string> paths;
    std::vector<std::string> exclude_paths;
    std::vector<std::string> types;
    std::vector<std::string> languages;
    std::optional<int64_t> modified_after;   // unix seconds, inclusive
    std::optional<int64_t> modified_before;  // unix seconds, exclusive
    std::string where;                       // JSON object text; empty = none

    bool empty() const {
        return paths.empty() && exclude_paths.empty() && types.empty() && languages.empty() && !modified_after &&
               !modified_before && where.empty();
    }
};

/// The short command-line form, one expression: FIELD=VALUE, FIELD!=VALUE, FIELD>=N, FIELD>N, FIELD<=N, FIELD<N,
/// FIELD=A|B|C (membership). VALUE is a number when it parses as one, true/false as booleans, else a string
/// ("quotes" force a string). Returns the where object (JSON text). Throws leann::FilterError for a malformed expression.
std::string where_from_expression(std::string_view expression);
/// Several expressions ANDed (repeated --where flags); an empty list gives "".
std::string where_from_expressions(std::span<const std::string> expressions);

/// A time bound: unix seconds ("1700000000"), a date ("2024-05-01", UTC midnight), a date and time
/// ("2024-05-01T12:30:00Z" or with a space; UTC), or an age back from `now_s` ("30m", "12h", "7d", "2w").
/// Throws leann::FilterError naming `what` (the flag or field) when the text is none of these.
int64_t parse_time_bound(std::string_view text, std::string_view what, int64_t now_s);

/// A filter from a JSON object (HTTP API, MCP): {"path": glob or [globs], "exclude_path": ..., "type": ...,
/// "language": ..., "modified_after": seconds or time text, "modified_before": ..., "where": {...}}. Throws
/// leann::FilterError naming the key for an unknown key or a wrong type.
Filter filter_from_json(std::string_view json_object, int64_t now_s);

/// Checks the filter's syntax (globs, where operators and operand types) without an index: leann::FilterError naming
/// the field. Index::search checks this too, plus the fields against the index.
void check_filter(const Filter& filter);

/// Glob match (syntax above) of one path. Throws leann::FilterError for a malformed glob.
bool glob_match(std::string_view glob, std::string_view path);

}  // namespace leann
