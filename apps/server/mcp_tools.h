// The tools `leann mcp` offers: leann_search, leann_list and leann_stats, over one Catalog (each index opened
// once, its model loaded once, shared by every call).
//
// Tool arguments come from a language model and are untrusted: every one is checked, and a failure the caller
// can act on (unknown index, empty query, out-of-range top_k, a broken index file) comes back as a tool result
// with isError: true and a message that says what to change, so the model can correct itself. Only an unknown
// tool name is a protocol error (the caller of call() checks has() first).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "leann/catalog.h"
#include "mcp_protocol.h"

namespace leann::mcp {

/// Argument limits, also published in the input schemas.
inline constexpr size_t default_top_k = 5;
inline constexpr size_t max_top_k = 100;
inline constexpr size_t default_grep_results = 100;  // leann_grep: matching lines per call
inline constexpr size_t max_grep_results = 2000;
inline constexpr size_t max_complexity = 10000;  // search list size; the cost of a query grows with it
inline constexpr size_t max_query_bytes = 8192;  // the encoder truncates far sooner; this bounds the work

/// Thread-safe when the Catalog is (it is); the server calls it from one thread.
class Tools {
public:
    explicit Tools(Catalog& catalog) : catalog_(catalog) {}

    /// The tool definitions for tools/list: name, description, inputSchema (JSON Schema), and what the revision
    /// allows beyond that (annotations from 2025-03-26; title and outputSchema from 2025-06-18).
    nlohmann::json definitions(const ProtocolFeatures& features) const;
    bool has(std::string_view name) const;
    /// Runs the tool `name` (has(name) must hold) and returns the CallToolResult: {"content": [{"type": "text",
    /// ...}], "structuredContent" (when the revision has it), "isError" (on failure)}. Never throws.
    nlohmann::json call(std::string_view name, const nlohmann::json& arguments, const ProtocolFeatures& features);

private:
    nlohmann::json search(const nlohmann::json& arguments, const ProtocolFeatures& features);
    nlohmann::json grep(const nlohmann::json& arguments, const ProtocolFeatures& features);
    nlohmann::json list(const nlohmann::json& arguments, const ProtocolFeatures& features);
    nlohmann::json stats(const nlohmann::json& arguments, const ProtocolFeatures& features);

    Catalog& catalog_;
};

}  // namespace leann::mcp
