#include "daemon_protocol.h"

#include <limits>
#include <set>

#include "leann/error.h"

namespace leann::daemon {
namespace {

using nlohmann::json;

constexpr size_t max_text_bytes = size_t(1) << 20;  // one string field of a request
constexpr size_t max_list_items = 1000;             // globs, types, languages

// A field reader over one JSON object: every key must be read once, and anything left over is an unknown key.
class Fields {
public:
    Fields(const json& j, std::string what) : j_(j), what_(std::move(what)) {
        if (!j_.is_object()) throw Error(what_ + ": expected an object");
    }
    const json& get(const std::string& key) {
        auto it = j_.find(key);
        if (it == j_.end()) throw Error(what_ + ": missing field '" + key + "'");
        read_.insert(key);
        return *it;
    }
    size_t size(const std::string& key, size_t max) {
        const json& v = get(key);
        if (!v.is_number_unsigned() || v.get<uint64_t>() > max)
            throw Error(what_ + "." + key + ": expected an integer in [0, " + std::to_string(max) + "]");
        return v.get<size_t>();
    }
    double number(const std::string& key, double lo, double hi) {
        const json& v = get(key);
        if (!v.is_number() || !(v.get<double>() >= lo && v.get<double>() <= hi))
            throw Error(what_ + "." + key + ": expected a number in [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "]");
        return v.get<double>();
    }
    std::string text(const std::string& key, size_t max = max_text_bytes) {
        const json& v = get(key);
        if (!v.is_string() || v.get_ref<const std::string&>().size() > max)
            throw Error(what_ + "." + key + ": expected a string of at most " + std::to_string(max) + " bytes");
        return v.get<std::string>();
    }
    bool boolean(const std::string& key) {
        const json& v = get(key);
        if (!v.is_boolean()) throw Error(what_ + "." + key + ": expected true or false");
        return v.get<bool>();
    }
    std::vector<std::string> texts(const std::string& key, size_t max_items = max_list_items) {
        const json& v = get(key);
        if (!v.is_array() || v.size() > max_items)
            throw Error(what_ + "." + key + ": expected an array of at most " + std::to_string(max_items) + " strings");
        std::vector<std::string> out;
        for (const json& s : v) {
            if (!s.is_string() || s.get_ref<const std::string&>().size() > max_text_bytes)
                throw Error(what_ + "." + key + ": expected strings");
            out.push_back(s.get<std::string>());
        }
        return out;
    }
    std::optional<int64_t> optional_int(const std::string& key) {
        const json& v = get(key);
        if (v.is_null()) return std::nullopt;
        if (!v.is_number_integer()) throw Error(what_ + "." + key + ": expected an integer or null");
        if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
            throw Error(what_ + "." + key + ": out of range");
        return v.get<int64_t>();
    }
    void done() const {
        for (auto it = j_.begin(); it != j_.end(); ++it)
            if (!read_.count(it.key())) throw Error(what_ + ": unknown field '" + it.key() + "'");
    }

private:
    const json& j_;
    std::string what_;
    std::set<std::string> read_;
};

json optional_json(const std::optional<int64_t>& v) {
    return v ? json(*v) : json(nullptr);
}

}  // namespace

json search_options_json(const SearchOptions& o) {
    const Filter& f = o.filter;
    return {{"mode", std::string(search_mode_name(o.mode))},
            {"fusion", std::string(fusion_name(o.fusion))},
            {"vector_weight", o.vector_weight},
            {"rrf_k", o.rrf_k},
            {"keyword_candidates", o.keyword_candidates},
            {"top_k", o.top_k},
            {"complexity", o.complexity},
            {"recompute_share", o.recompute_share},
            {"rerank", o.rerank},
            {"rerank_confidence", o.rerank_confidence},
            {"rerank_limit", o.rerank_limit},
            {"batch_size", o.batch_size},
            {"recompute", o.recompute},
            {"filter",
             {{"paths", f.paths},
              {"exclude_paths", f.exclude_paths},
              {"types", f.types},
              {"languages", f.languages},
              {"modified_after", optional_json(f.modified_after)},
              {"modified_before", optional_json(f.modified_before)},
              {"where", f.where}}}};
}

SearchOptions search_options_from_json(const json& j) {
    Fields in(j, "options");
    SearchOptions o;
    const std::string mode = in.text("mode", 16);
    const auto parsed_mode = parse_search_mode(mode);
    if (!parsed_mode) throw Error("options.mode: unknown mode '" + mode + "'");
    o.mode = *parsed_mode;
    const std::string fusion = in.text("fusion", 16);
    const auto parsed_fusion = parse_fusion(fusion);
    if (!parsed_fusion) throw Error("options.fusion: unknown fusion '" + fusion + "'");
    o.fusion = *parsed_fusion;
    o.vector_weight = in.number("vector_weight", 0, 1);
    o.rrf_k = in.size("rrf_k", 1000000);
    // The bounds of `leann search`'s own checks.
    o.keyword_candidates = in.size("keyword_candidates", 10000);
    o.top_k = in.size("top_k", 10000);
    if (o.top_k == 0) throw Error("options.top_k: must be at least 1");
    o.complexity = in.size("complexity", 100000);
    o.recompute_share = in.number("recompute_share", 0, 1);
    o.rerank = in.size("rerank", 1000000);
    o.rerank_confidence = in.number("rerank_confidence", 0, 1);
    o.rerank_limit = in.size("rerank_limit", 1000000);
    o.batch_size = in.size("batch_size", 1000000);
    o.recompute = in.boolean("recompute");
    Fields f(in.get("filter"), "options.filter");
    o.filter.paths = f.texts("paths");
    o.filter.exclude_paths = f.texts("exclude_paths");
    o.filter.types = f.texts("types");
    o.filter.languages = f.texts("languages");
    o.filter.modified_after = f.optional_int("modified_after");
    o.filter.modified_before = f.optional_int("modified_before");
    o.filter.where = f.text("where");
    f.done();
    in.done();
    return o;
}

json search_result_json(const SearchResult& r) {
    json hits = json::array();
    for (const Hit& h : r.hits)
        hits.push_back(
            {{"node", h.node}, {"id", h.id}, {"score", h.score}, {"text", h.text}, {"metadata", h.metadata}});
    const SearchStats& s = r.stats;
    return {{"hits", std::move(hits)},
            {"stats",
             {{"expansions", s.expansions},
              {"pq_distances", s.pq_distances},
              {"recomputed", s.recomputed},
              {"lru_hits", s.lru_hits},
              {"hub_hits", s.hub_hits},
              {"batches", s.batches},
              {"keyword_terms", s.keyword_terms},
              {"keyword_postings", s.keyword_postings},
              {"keyword_matches", s.keyword_matches}}},
            {"seconds", r.seconds},
            {"notes", r.notes}};
}

SearchResult search_result_from_json(const json& j, size_t max_hits) {
    constexpr size_t count_max = size_t(1) << 48;
    constexpr size_t passage_max = size_t(64) << 20;
    Fields in(j, "result");
    SearchResult r;
    const json& hits = in.get("hits");
    if (!hits.is_array() || hits.size() > max_hits)
        throw Error("result.hits: expected an array of at most " + std::to_string(max_hits) + " hits");
    for (const json& h : hits) {
        Fields hf(h, "result.hits[]");
        Hit hit;
        hit.node = uint32_t(hf.size("node", std::numeric_limits<uint32_t>::max()));
        hit.id = hf.text("id", passage_max);
        const json& score = hf.get("score");
        if (!score.is_number()) throw Error("result.hits[].score: expected a number");
        hit.score = score.get<float>();
        hit.text = hf.text("text", passage_max);
        hit.metadata = hf.text("metadata", passage_max);
        hf.done();
        r.hits.push_back(std::move(hit));
    }
    Fields s(in.get("stats"), "result.stats");
    r.stats.expansions = s.size("expansions", count_max);
    r.stats.pq_distances = s.size("pq_distances", count_max);
    r.stats.recomputed = s.size("recomputed", count_max);
    r.stats.lru_hits = s.size("lru_hits", count_max);
    r.stats.hub_hits = s.size("hub_hits", count_max);
    r.stats.batches = s.size("batches", count_max);
    r.stats.keyword_terms = s.size("keyword_terms", count_max);
    r.stats.keyword_postings = s.size("keyword_postings", count_max);
    r.stats.keyword_matches = s.size("keyword_matches", count_max);
    s.done();
    r.seconds = in.number("seconds", 0, 1e9);
    r.notes = in.texts("notes", 100);
    in.done();
    return r;
}

json status_json(const DaemonStatus& s) {
    return {{"pid", s.pid},
            {"uptime_s", s.uptime_s},
            {"idle_timeout_s", s.idle_timeout_s},
            {"requests_served", s.requests_served},
            {"requests_refused", s.requests_refused},
            {"rss_bytes", s.rss_bytes},
            {"model_loads", s.model_loads},
            {"index_opens", s.index_opens},
            {"indexes", s.indexes},
            {"build", s.build},
            {"socket", s.socket}};
}

DaemonStatus status_from_json(const json& j) {
    constexpr size_t count_max = size_t(1) << 48;
    Fields in(j, "status");
    DaemonStatus s;
    s.pid = long(in.size("pid", size_t(1) << 31));
    s.uptime_s = in.number("uptime_s", 0, 1e12);
    s.idle_timeout_s = in.number("idle_timeout_s", 0, 1e12);
    s.requests_served = in.size("requests_served", count_max);
    s.requests_refused = in.size("requests_refused", count_max);
    s.rss_bytes = in.size("rss_bytes", count_max);
    s.model_loads = in.size("model_loads", count_max);
    s.index_opens = in.size("index_opens", count_max);
    s.indexes = in.texts("indexes", 10000);
    s.build = in.text("build", 4096);
    s.socket = in.text("socket", 4096);
    in.done();
    return s;
}

}  // namespace leann::daemon
