// Text from documents, index files and servers on its way to a human (a terminal, or an MCP client's text content):
// control characters in it must not move the cursor, recolour the screen, or start a line that looks like ours.
#pragma once

#include <string>
#include <string_view>

namespace leann::apps {

enum class Newlines { escape, keep };

/// `text` with every control character made visible: C0 (U+0000..U+001F), DEL and C1 (U+0080..U+009F) become
/// "\n", "\r", "\t", "\e" or "\xHH" / "\u0085"; a backslash stays as it is. With Newlines::keep, newline and tab
/// pass through (for passage text that is folded or fenced afterwards). Bytes that are not valid UTF-8 become
/// U+FFFD first.
std::string escape_controls(std::string_view text, Newlines newlines = Newlines::escape);

}  // namespace leann::apps
