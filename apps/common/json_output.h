// The JSON shapes every app prints or serves (leann search --json, leann list --json, leann stats --json, the
// HTTP API, the MCP tools): one definition, so a script written against one works against the others.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "leann/catalog.h"
#include "leann/index.h"

namespace leann::apps {

/// A stored metadata text as JSON (an unparsable one comes back as a string; it never throws).
nlohmann::json metadata_json(const std::string& text);
/// {"id", "score", "text", "metadata", "source", "line"}; source/line come from the metadata of file chunks
/// (absent for JSONL records).
nlohmann::json hit_json(const Hit& hit);
/// {"query_id", "query", "results": [...], "stats": {seconds, recomputed, cache_hits, expansions, encoder_batches}}
nlohmann::json result_json(const nlohmann::json& query_id, std::string_view query, const SearchResult& result);
/// {"name", "path", "chunks", "bytes", "model", "created", "sources"} or {"name", "path", "error"}.
nlohmann::json summary_json(const IndexSummary& summary);
/// Section sizes, counts and the recorded configuration (leann stats --json).
nlohmann::json stats_json(const IndexStats& stats);
/// Bytes that are not UTF-8 (passages are never trusted) become U+FFFD instead of an error.
std::string dump(const nlohmann::json& j, int indent = -1);

}  // namespace leann::apps
