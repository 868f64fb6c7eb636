#include "search/glob.h"

#include "leann/error.h"
#include "leann/filter.h"

namespace leann::search {

namespace {

constexpr size_t kMaxGlobBytes = 1024;
constexpr size_t kMaxAlternatives = 64;

[[noreturn]] void bad(std::string_view glob, const std::string& why) {
    throw FilterError("path glob '" + std::string(glob) + "': " + why);
}

// Index just past the ']' closing the class that starts at glob[i] == '[' (npos if unclosed).
size_t class_end(std::string_view g, size_t i) {
    size_t j = i + 1;
    if (j < g.size() && (g[j] == '!' || g[j] == '^')) ++j;
    if (j < g.size() && g[j] == ']') ++j;  // a leading ']' is literal
    for (; j < g.size(); ++j)
        if (g[j] == ']') return j + 1;
    return std::string_view::npos;
}

void expand_braces(std::string_view whole, const std::string& g, std::vector<std::string>& out) {
    size_t open = std::string::npos;
    for (size_t i = 0; i < g.size(); ++i) {
        if (g[i] == '\\') {
            ++i;
        } else if (g[i] == '[') {
            const size_t e = class_end(g, i);
            if (e == std::string::npos) bad(whole, "unclosed '['");
            i = e - 1;
        } else if (g[i] == '{') {
            open = i;
            break;
        }
    }
    if (open == std::string::npos) {
        if (out.size() >= kMaxAlternatives) bad(whole, "more than 64 {..} alternatives");
        out.push_back(g);
        return;
    }
    std::vector<std::string> parts(1);
    int depth = 0;
    size_t close = std::string::npos;
    for (size_t i = open + 1; i < g.size() && close == std::string::npos; ++i) {
        const char c = g[i];
        if (c == '\\' && i + 1 < g.size()) {
            parts.back() += g.substr(i, 2);
            ++i;
        } else if (c == '{') {
            ++depth;
            parts.back() += c;
        } else if (c == '}' && depth > 0) {
            --depth;
            parts.back() += c;
        } else if (c == '}') {
            close = i;
        } else if (c == ',' && depth == 0) {
            parts.emplace_back();
        } else {
            parts.back() += c;
        }
    }
    if (close == std::string::npos) bad(whole, "unclosed '{'");
    const std::string head = g.substr(0, open), tail = g.substr(close + 1);
    for (const std::string& p : parts) expand_braces(whole, head + p + tail, out);
}

}  // namespace

Glob::Glob(std::string_view glob) : text_(glob) {
    if (glob.empty()) bad(glob, "empty");
    if (glob.size() > kMaxGlobBytes) bad(glob.substr(0, 40), "longer than 1024 bytes");
    std::string g(glob);
    while (g.rfind("./", 0) == 0) g.erase(0, 2);
    anchored_ = !g.empty() && g.front() == '/';
    if (anchored_) g.erase(0, 1);
    std::vector<std::string> expanded;
    expand_braces(glob, g, expanded);
    base_name_ = !anchored_;
    for (const std::string& alt : expanded)
        if (alt.find('/') != std::string::npos) base_name_ = false;
    for (const std::string& alt : expanded) {
        Pattern p;
        for (size_t i = 0; i < alt.size(); ++i) {
            const char c = alt[i];
            if (c == '\\') {
                if (i + 1 >= alt.size()) bad(glob, "ends with '\\'");
                p.emplace_back(Op::literal, alt[++i]);
            } else if (c == '?') {
                p.emplace_back(Op::any);
            } else if (c == '*') {
                if (i + 1 < alt.size() && alt[i + 1] == '*') {
                    ++i;
                    while (i + 1 < alt.size() && alt[i + 1] == '*') ++i;
                    if (i + 1 < alt.size() && alt[i + 1] == '/') {
                        ++i;
                        p.emplace_back(Op::globstar_dir);  // "**/": zero or more whole folders
                    } else {
                        p.emplace_back(Op::globstar);
                    }
                } else {
                    p.emplace_back(Op::star);
                }
            } else if (c == '[') {
                const size_t end = class_end(alt, i);
                if (end == std::string::npos) bad(glob, "unclosed '['");
                Token t(Op::klass);
                size_t j = i + 1;
                if (alt[j] == '!' || alt[j] == '^') {
                    t.negated = true;
                    ++j;
                }
                for (bool first = true; j < end - 1; ++j, first = false) {
                    const auto lo = static_cast<unsigned char>(alt[j]);
                    if (!first && alt[j] == ']') break;
                    if (j + 2 < end - 1 && alt[j + 1] == '-') {
                        const auto hi = static_cast<unsigned char>(alt[j + 2]);
                        if (hi < lo) bad(glob, "range out of order in '['");
                        t.ranges.push_back({lo, hi});
                        j += 2;
                    } else {
                        t.ranges.push_back({lo, lo});
                    }
                }
                p.push_back(std::move(t));
                i = end - 1;
            } else {
                p.emplace_back(Op::literal, c);
            }
        }
        alternatives_.push_back(std::move(p));
    }
}

bool Glob::match_one(const Pattern& p, std::string_view path, bool tails) const {
    // States are positions in p; `cur[i]` = the pattern up to i matched the path so far.
    const size_t m = p.size();
    std::vector<char> cur(m + 1, 0), next(m + 1, 0);
    auto close = [&](std::vector<char>& s) {  // epsilon moves: "**/" and "**" and "*" may match nothing
        for (size_t i = 0; i < m; ++i)
            if (s[i] && (p[i].op == Op::globstar_dir || p[i].op == Op::globstar || p[i].op == Op::star)) s[i + 1] = 1;
    };
    cur[0] = 1;
    close(cur);
    for (size_t k = 0; k < path.size(); ++k) {
        const char c = path[k];
        const auto uc = static_cast<unsigned char>(c);
        std::fill(next.begin(), next.end(), 0);
        bool any = false;
        for (size_t i = 0; i < m; ++i) {
            if (!cur[i]) continue;
            const Token& t = p[i];
            switch (t.op) {
                case Op::literal:
                    if (c == t.c) next[i + 1] = 1;
                    break;
                case Op::any:
                    if (c != '/') next[i + 1] = 1;
                    break;
                case Op::klass: {
                    bool in = false;
                    for (auto [lo, hi] : t.ranges) in = in || (uc >= lo && uc <= hi);
                    if (in != t.negated && c != '/') next[i + 1] = 1;
                    break;
                }
                case Op::star:
                    if (c != '/') next[i] = 1;
                    break;
                case Op::globstar:
                    next[i] = 1;
                    break;
                case Op::globstar_dir:
                    next[i] = 1;
                    if (c == '/') next[i + 1] = 1;
                    break;
            }
        }
        if (tails && c == '/') next[0] = 1;  // a tail of the path may start after any '/'
        close(next);
        for (char s : next) any = any || s;
        if (!any && !tails) return false;  // (with tails a later '/' starts a new attempt)
        cur.swap(next);
    }
    return cur[m] != 0;
}

bool Glob::matches(std::string_view path) const {
    while (path.size() >= 2 && path.substr(0, 2) == "./") path.remove_prefix(2);
    if (base_name_) {
        if (const size_t slash = path.rfind('/'); slash != std::string_view::npos) path.remove_prefix(slash + 1);
    } else if (anchored_) {
        if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    }
    const bool tails = !base_name_ && !anchored_;
    for (const Pattern& p : alternatives_)
        if (match_one(p, path, tails)) return true;
    return false;
}

}  // namespace leann::search
