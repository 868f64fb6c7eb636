// Reading request bodies: JSON that must be an object, and the fields of each endpoint with their limits. Every
// failure is an HttpError (400) whose message names the field and what it must be.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "leann/search_options.h"

namespace leann::server {

/// Per-request caps on the work a client may ask for (the server's side of --top-k and --complexity). Past them a
/// request is refused (400 naming the field) instead of holding a worker for long.
struct ParamLimits {
    static constexpr size_t max_top_k = 1000;
    static constexpr size_t max_complexity = 10000;
    static constexpr size_t max_rerank = 1000;
    static constexpr size_t max_query_bytes = 16 * 1024;
    static constexpr size_t max_embedding_inputs = 2048;  // as OpenAI's endpoint
};

/// Parses `body` as a JSON object. Throws HttpError: 400 invalid_utf8 when the bytes are not UTF-8, 400
/// invalid_json when they are not JSON, 400 invalid_request when the JSON is not an object.
nlohmann::json parse_json_object(std::string_view body);

struct SearchParams {
    std::string index;
    std::string query;
    nlohmann::json query_id;  // echoed back (null when not given)
    SearchOptions options;
};

/// {"index": NAME, "query": TEXT, "top_k"?, "complexity"?, "rerank"?, "recompute"?, "query_id"?}; unknown fields
/// are refused so that a misspelt option is not silently ignored.
SearchParams parse_search(const nlohmann::json& body);
/// The filter fields of a search body (leann/filter.h): "where" (a Chroma-style object), "path" and "exclude_path"
/// (a glob or a list), "type", "language", "modified_after", "modified_before" (unix seconds or time text). Throws
/// HttpError 400 invalid_filter naming the field.
Filter parse_filter(const nlohmann::json& body);

struct EmbeddingParams {
    std::vector<std::string> inputs;
    std::string model;  // empty: the default model
    bool base64 = false;
    std::optional<size_t> dimensions;
};

/// OpenAI's embeddings request: {"input": TEXT | [TEXT...], "model"?, "encoding_format"?: "float" | "base64",
/// "dimensions"?, "user"?}. Token-id inputs are refused (we take text only).
EmbeddingParams parse_embeddings(const nlohmann::json& body);

}  // namespace leann::server
