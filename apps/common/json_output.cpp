#include "json_output.h"

#include <algorithm>

#include "util/json_limits.h"

namespace leann::apps {

nlohmann::json metadata_json(const std::string& text) {
    auto j = json_limits::parse_or_discarded(text);
    if (j.is_discarded()) return text;
    return j;
}

nlohmann::json hit_json(const Hit& hit) {
    nlohmann::json meta = metadata_json(hit.metadata);
    nlohmann::json j = {{"id", hit.id}, {"score", hit.score}, {"text", hit.text}};
    if (meta.is_object()) {
        if (auto s = meta.find("source"); s != meta.end() && s->is_string()) j["source"] = *s;
        if (auto l = meta.find("start_line"); l != meta.end() && l->is_number_unsigned()) j["line"] = *l;
        if (auto p = meta.find("page"); p != meta.end() && p->is_number_unsigned()) j["page"] = *p;
    }
    j["metadata"] = std::move(meta);
    return j;
}

nlohmann::json result_json(const nlohmann::json& query_id, std::string_view query, const SearchResult& r) {
    nlohmann::json results = nlohmann::json::array();
    for (const Hit& h : r.hits) results.push_back(hit_json(h));
    nlohmann::json out = {{"query_id", query_id},
                          {"query", std::string(query)},
                          {"results", std::move(results)},
                          {"stats",
                           {{"seconds", r.seconds},
                            {"recomputed", r.stats.recomputed},
                            {"cache_hits", r.stats.lru_hits + r.stats.hub_hits},
                            {"expansions", r.stats.expansions},
                            {"encoder_batches", r.stats.batches},
                            {"keyword_matches", r.stats.keyword_matches}}}};
    if (!r.notes.empty()) out["notes"] = r.notes;
    return out;
}

nlohmann::json summary_json(const IndexSummary& s) {
    nlohmann::json row = {{"name", s.name}, {"path", s.path.string()}};
    if (!s.error.empty()) {
        row["error"] = s.error;
        return row;
    }
    row["chunks"] = s.chunks;
    row["bytes"] = s.bytes;
    row["model"] = s.model;
    row["created"] = s.created;
    row["sources"] = s.sources;
    return row;
}

namespace {
bool is_index_structure(const std::string& tag) { return tag != "PSGD" && tag != "HUBV" && tag != "META"; }
}  // namespace

nlohmann::json stats_json(const IndexStats& s) {
    const double chunks = std::max<double>(1, double(s.chunks));
    uint64_t structure = 0;
    nlohmann::json sections = nlohmann::json::array();
    for (const auto& sec : s.sections) {
        if (is_index_structure(sec.tag)) structure += sec.bytes;
        sections.push_back({{"tag", sec.tag}, {"what", sec.what}, {"bytes", sec.bytes},
                            {"bytes_per_chunk", double(sec.bytes) / chunks}});
    }
    return {{"path", s.path.string()},
            {"format_version", s.format_version},
            {"generation", s.generation},
            {"chunks", s.chunks - s.deleted},
            {"nodes", s.chunks},
            {"deleted", s.deleted},
            {"reclaimable_bytes", s.reclaimable_bytes},
            {"pq",
             {{"error", s.pq_error},
              {"added", s.pq_added},
              {"added_error", s.pq_added_error},
              {"adaptive_rerank", s.adaptive_rerank}}},
            {"advice", s.advice},
            {"edges", s.edges},
            {"hub_cache_nodes", s.hubs},
            {"file_bytes", s.file_bytes},
            {"raw_text_bytes", s.raw_text_bytes},
            {"keyword_bytes", s.keyword_bytes},
            {"keyword_bytes_per_chunk", double(s.keyword_bytes) / chunks},
            {"passage_bytes", s.passage_bytes},
            {"index_bytes_without_passages", structure},
            {"index_bytes_per_chunk", double(structure) / chunks},
            {"sections", sections},
            {"config", metadata_json(s.config_json)}};
}

std::string dump(const nlohmann::json& j, int indent) {
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace leann::apps
