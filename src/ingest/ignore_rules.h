// ingest room: gitignore-style patterns, shared by .gitignore/.leannignore files and the --include/--exclude globs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leann::ingest {

/// Matches `path` ('/'-separated) against a glob with git's wildmatch rules: '*' and '?' never match '/',
/// '[...]' classes ('!' or '^' negates, ranges, ']' first is literal) never match '/', '\x' is a literal x, and
/// '**' as a whole path segment matches any number of folders ("**/x", "x/**", "x/**/y"); any other '**' acts as
/// '*'. Case-sensitive. Time O(|glob| * |path|^2) at worst (memoised), so hostile patterns cannot hang a walk.
bool glob_match(std::string_view glob, std::string_view path);

/// One pattern, parsed as a line of a .gitignore (after comment, negation and trailing-space handling).
struct GlobPattern {
    std::string glob;       // escapes kept; matched by glob_match
    bool anchored = false;  // had a '/' at the start or middle: matched against the whole relative path
    bool dir_only = false;  // had a trailing '/': matches folders only
    bool negated = false;   // had a leading '!' (only IgnoreRules sets it)

    /// Unanchored patterns match the last component of `relative` only, so "*.md" matches "a/b.md".
    bool matches(std::string_view relative, bool is_dir) const;
};

/// Parses a single glob with the anchoring and trailing-'/' rules of .gitignore (no '!', no comments). Used for
/// --include/--exclude so that they read the same way as ignore files. Returns an empty glob for "" or "/".
GlobPattern parse_glob(std::string_view text);

/// The patterns of one ignore file, relative to the folder holding it. Immutable once parsed; thread-safe to share.
class IgnoreRules {
public:
    /// Parses .gitignore syntax: blank lines and '#' comments, trailing-space trimming, '\' escapes, '!' negation,
    /// trailing '/' = directories only, a '/' at start or middle = anchored to the base folder, '*', '?', '[...]'
    /// classes, and '**' (leading "**/", trailing "/**", middle "/**/"). Never throws; odd lines match literally.
    static IgnoreRules parse(std::string_view text);

    /// nullopt when no pattern matches; otherwise true = ignored, false = re-included by a later '!' pattern (the
    /// last matching pattern wins). `relative` uses '/' separators and is relative to the ignore file's folder.
    /// Only the path itself is judged: a file inside an ignored folder is the walker's business (git never
    /// descends into an ignored folder, so a '!' cannot re-include what is inside it).
    std::optional<bool> match(std::string_view relative, bool is_dir) const;

    bool empty() const { return patterns_.empty(); }
    size_t size() const { return patterns_.size(); }

private:
    std::vector<GlobPattern> patterns_;
};

}  // namespace leann::ingest
