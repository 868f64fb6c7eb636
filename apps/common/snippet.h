// The snippet a hit is shown with: the stretch of the passage (at most `max_bytes`) that covers the most query
// terms, with the places of those terms so that a terminal can highlight them. Whitespace runs are folded into
// single spaces; cuts never split a UTF-8 character.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leann::apps {

struct Snippet {
    std::string text;
    std::vector<std::pair<size_t, size_t>> marks;  // [begin, end) byte ranges of query terms in `text`, ascending
    bool cut_before = false;                       // text precedes the snippet
    bool cut_after = false;                        // text follows it
};

/// The query's words worth highlighting: lowercased, at least 2 bytes, common English stop words left out.
std::vector<std::string> query_terms(std::string_view query);

/// A term matches at the start of a word, case-insensitively (ASCII), as a prefix ("file" marks "files").
Snippet make_snippet(std::string_view passage, std::string_view query, size_t max_bytes = 240);

/// The snippet for a terminal: terms between `open` and `close` (e.g. ANSI bold), "..." at cuts.
std::string render_snippet(const Snippet& s, std::string_view open, std::string_view close);

}  // namespace leann::apps
