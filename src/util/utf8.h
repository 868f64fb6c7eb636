// UTF-8 decoding that never fails: invalid bytes become U+FFFD, so messy input text is repaired, not fatal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace leann::utf8 {

inline constexpr char32_t replacement_char = 0xFFFD;

/// Decodes `text` into code points. Each maximal invalid subsequence (overlong forms, surrogates, code points
/// above U+10FFFF, truncated sequences, stray continuation bytes) becomes one U+FFFD, as WHATWG and Python's
/// errors="replace" do.
std::u32string decode(std::string_view text);

/// Appends the UTF-8 encoding of `cp` (which must be a valid scalar value) to `out`.
void append(std::string& out, char32_t cp);

std::string encode(std::u32string_view text);

/// Returns `text` with invalid sequences replaced by U+FFFD (unchanged when it is already valid).
std::string repair(std::string_view text);

bool is_valid(std::string_view text);

}  // namespace leann::utf8
