// ingest room: the visible text of an HTML page. Scripts, styles and other non-content elements are dropped,
// block elements become line breaks, entities are decoded, and the <title> is kept as the first line. Each
// output line remembers the source line it came from, so hits point into the HTML file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace leann::ingest {

struct HtmlText {
    std::string title;
    std::string text;                       // title first (when present), then the body text
    std::vector<size_t> source_line;        // source_line[i] = 1-based HTML line of output line i + 1
};

HtmlText html_to_text(std::string_view html);

}  // namespace leann::ingest
