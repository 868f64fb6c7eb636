// The one way untrusted JSON is parsed: records, index sections (META, passage metadata, SRCS), model
// config/tokenizer/safetensors headers, HTTP bodies, MCP messages, LLM replies.
//
// nlohmann's parser itself is iterative, but building, copying, printing and destroying a value nested a
// hundred thousand levels deep recurse that deep and overflow the stack. So the nesting depth is counted on
// the raw text first (one linear pass, no allocation) and anything deeper than the limit is refused before
// nlohmann builds a thing.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace leann::json_limits {

/// Deepest nesting of arrays/objects accepted anywhere (a real record or index section nests < 10 deep).
inline constexpr size_t max_depth = 256;

/// "JSON nests deeper than LIMIT levels" when `text` opens more than `limit` arrays/objects at once
/// (brackets inside strings do not count); nullopt otherwise. Does not validate the rest of the syntax.
std::optional<std::string> nesting_error(std::string_view text, size_t limit = max_depth);

/// Parses `text` as JSON, nesting bounded by `limit`. On failure returns a discarded value (is_discarded())
/// and, when `why` is given, stores the reason ("JSON nests deeper than 256 levels", "not valid JSON (...)").
/// Never throws for bad input.
nlohmann::json parse_or_discarded(std::string_view text, std::string* why = nullptr, size_t limit = max_depth);

/// As parse_or_discarded, with nlohmann's parser callback, which sees each value as it is read and may drop it
/// from the document (a large member taken out this way is never built into it).
nlohmann::json parse_or_discarded(std::string_view text, const nlohmann::json::parser_callback_t& callback,
                                  std::string* why = nullptr, size_t limit = max_depth);

/// As parse_or_discarded, but throws leann::Error("WHERE: REASON") on failure.
nlohmann::json parse(std::string_view text, std::string_view where, size_t limit = max_depth);

}  // namespace leann::json_limits
