// search room: path globs for filters (syntax in leann/filter.h). A glob is compiled once into a small automaton and
// matched by simulating every state at once, so a match costs O(path length x glob length) whatever the pattern
// (no backtracking an outsider could make exponential).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace leann::search {

class Glob {
public:
    /// Throws leann::Error naming the glob when it is malformed (unclosed '[' or '{', over 1024 bytes, more than 64
    /// brace alternatives).
    explicit Glob(std::string_view glob);
    bool matches(std::string_view path) const;
    const std::string& text() const { return text_; }

private:
    enum class Op { literal, any, klass, star, globstar, globstar_dir };
    struct Token {
        explicit Token(Op o, char ch = 0) : op(o), c(ch) {}
        Op op;
        char c = 0;
        bool negated = false;
        std::vector<std::pair<unsigned char, unsigned char>> ranges;  // for klass
    };
    using Pattern = std::vector<Token>;
    bool match_one(const Pattern& p, std::string_view path, bool tails) const;

    std::string text_;
    bool anchored_ = false;   // started with '/': the whole path only
    bool base_name_ = false;  // no '/': the file name only
    std::vector<Pattern> alternatives_;
};

}  // namespace leann::search
