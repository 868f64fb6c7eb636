// ingest room: the glob matcher and .gitignore parsing (semantics follow git's wildmatch.c and dir.c).
#include "ingest/ignore_rules.h"

#include <cstdint>

namespace leann::ingest {

namespace {

// Parses the class starting at glob[i] == '['. Returns the index just past ']', or npos when the class is not
// closed (git then treats '[' as a literal). `matched` says whether `c` is in the class.
size_t match_class(std::string_view glob, size_t i, unsigned char c, bool& matched) {
    size_t j = i + 1;
    bool negate = false;
    if (j < glob.size() && (glob[j] == '!' || glob[j] == '^')) {
        negate = true;
        ++j;
    }
    bool found = false;
    bool first = true;
    while (j < glob.size() && (first || glob[j] != ']')) {
        first = false;
        unsigned char lo = static_cast<unsigned char>(glob[j]);
        if (lo == '\\' && j + 1 < glob.size()) lo = static_cast<unsigned char>(glob[++j]);
        ++j;
        unsigned char hi = lo;
        if (j + 1 < glob.size() && glob[j] == '-' && glob[j + 1] != ']') {
            hi = static_cast<unsigned char>(glob[j + 1]);
            j += 2;
            if (hi == '\\' && j < glob.size()) hi = static_cast<unsigned char>(glob[j++]);
        }
        if (lo <= c && c <= hi) found = true;
    }
    if (j >= glob.size()) return std::string_view::npos;
    matched = found != negate;
    return j + 1;
}

class Matcher {
public:
    Matcher(std::string_view glob, std::string_view path)
        : glob_(glob), path_(path), failed_((glob.size() + 1) * (path.size() + 1), 0) {}

    bool at(size_t gi, size_t pi) {
        // Remember dead ends: without this, patterns like "*a*a*a*b" backtrack exponentially.
        uint8_t& seen = failed_[gi * (path_.size() + 1) + pi];
        if (seen) return false;
        bool ok = run(gi, pi);
        if (!ok) seen = 1;
        return ok;
    }

private:
    bool run(size_t gi, size_t pi) {
        while (gi < glob_.size()) {
            const char g = glob_[gi];
            if (g == '*') {
                const bool segment_start = gi == 0 || glob_[gi - 1] == '/';
                const bool double_star = gi + 1 < glob_.size() && glob_[gi + 1] == '*';
                const bool segment_end = gi + 2 == glob_.size() || (gi + 2 < glob_.size() && glob_[gi + 2] == '/');
                if (double_star && segment_start && segment_end) {
                    if (gi + 2 == glob_.size()) return true;  // trailing "/**": everything below
                    // "**/": zero or more whole folders, then the rest.
                    for (size_t k = pi;;) {
                        if (at(gi + 3, k)) return true;
                        const size_t slash = path_.find('/', k);
                        if (slash == std::string_view::npos) return false;
                        k = slash + 1;
                    }
                }
                while (gi < glob_.size() && glob_[gi] == '*') ++gi;
                if (gi == glob_.size()) return path_.find('/', pi) == std::string_view::npos;
                for (size_t k = pi;; ++k) {
                    if (at(gi, k)) return true;
                    if (k == path_.size() || path_[k] == '/') return false;
                }
            }
            if (pi == path_.size()) return false;
            const char p = path_[pi];
            if (g == '?') {
                if (p == '/') return false;
            } else if (g == '[') {
                bool in_class = false;
                const size_t next = match_class(glob_, gi, static_cast<unsigned char>(p), in_class);
                if (next != std::string_view::npos) {
                    if (p == '/' || !in_class) return false;
                    gi = next;
                    ++pi;
                    continue;
                }
                if (p != '[') return false;  // unclosed class: a literal '['
            } else if (g == '\\' && gi + 1 < glob_.size()) {
                if (p != glob_[++gi]) return false;
            } else if (g != p) {
                return false;
            }
            ++gi;
            ++pi;
        }
        return pi == path_.size();
    }

    std::string_view glob_;
    std::string_view path_;
    std::vector<uint8_t> failed_;
};

// Number of backslashes immediately before position `end` in `text`.
size_t backslashes_before(std::string_view text, size_t end) {
    size_t n = 0;
    while (n < end && text[end - 1 - n] == '\\') ++n;
    return n;
}

}  // namespace

bool glob_match(std::string_view glob, std::string_view path) {
    return Matcher(glob, path).at(0, 0);
}

bool GlobPattern::matches(std::string_view relative, bool is_dir) const {
    if (glob.empty() || (dir_only && !is_dir)) return false;
    if (!anchored) {
        const size_t slash = relative.rfind('/');
        if (slash != std::string_view::npos) relative.remove_prefix(slash + 1);
    }
    return glob_match(glob, relative);
}

GlobPattern parse_glob(std::string_view text) {
    GlobPattern pattern;
    if (!text.empty() && text.back() == '/' && backslashes_before(text, text.size() - 1) % 2 == 0) {
        pattern.dir_only = true;
        text.remove_suffix(1);
    }
    // git: a separator anywhere but at the end ties the pattern to the ignore file's folder.
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\') {
            ++i;
        } else if (text[i] == '/') {
            pattern.anchored = true;
            break;
        }
    }
    if (!text.empty() && text.front() == '/') text.remove_prefix(1);
    pattern.glob = std::string(text);
    return pattern;
}

IgnoreRules IgnoreRules::parse(std::string_view text) {
    IgnoreRules rules;
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // git skips a UTF-8 BOM too
    while (!text.empty()) {
        const size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        // Trailing spaces go unless escaped ("foo\ " keeps one space).
        while (!line.empty() && line.back() == ' ' && backslashes_before(line, line.size() - 1) % 2 == 0) {
            line.remove_suffix(1);
        }
        bool negated = false;
        if (!line.empty() && line.front() == '!') {
            negated = true;
            line.remove_prefix(1);
        }
        GlobPattern pattern = parse_glob(line);
        if (pattern.glob.empty()) continue;
        pattern.negated = negated;
        rules.patterns_.push_back(std::move(pattern));
    }
    return rules;
}

std::optional<bool> IgnoreRules::match(std::string_view relative, bool is_dir) const {
    for (auto it = patterns_.rbegin(); it != patterns_.rend(); ++it) {
        if (it->matches(relative, is_dir)) return !it->negated;
    }
    return std::nullopt;
}

}  // namespace leann::ingest
