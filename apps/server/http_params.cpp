#include "http_params.h"

#include <ctime>
#include <optional>

#include "http_api.h"
#include "util/json_limits.h"
#include "leann/filter.h"
#include "util/utf8.h"

namespace leann::server {
namespace {

[[noreturn]] void bad_field(const std::string& field, const std::string& message) {
    throw HttpError(400, "invalid_field", "'" + field + "' " + message);
}

void refuse_unknown_fields(const nlohmann::json& body, std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : body.items()) {
        bool ok = false;
        for (std::string_view k : known) ok = ok || key == k;
        if (!ok) {
            std::string list;
            for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
            throw HttpError(400, "unknown_field", "unknown field '" + key + "' (known: " + list + ")");
        }
    }
}

// An integer field in [min, max], or `fallback` when absent.
size_t integer_field(const nlohmann::json& body, const std::string& field, size_t fallback, size_t min, size_t max) {
    const auto it = body.find(field);
    if (it == body.end() || it->is_null()) return fallback;
    const std::string range = "between " + std::to_string(min) + " and " + std::to_string(max);
    if (!it->is_number_integer()) bad_field(field, "must be an integer " + range);
    if (it->is_number_unsigned()) {
        const auto v = it->get<uint64_t>();
        if (v < min || v > max) bad_field(field, "must be " + range + ", got " + std::to_string(v));
        return static_cast<size_t>(v);
    }
    const auto v = it->get<int64_t>();
    if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max)
        bad_field(field, "must be " + range + ", got " + std::to_string(v));
    return static_cast<size_t>(v);
}

std::string required_string(const nlohmann::json& body, const std::string& field) {
    const auto it = body.find(field);
    if (it == body.end() || it->is_null()) throw HttpError(400, "missing_field", "missing field '" + field + "'");
    if (!it->is_string()) bad_field(field, "must be a string");
    return it->get<std::string>();
}

bool blank(std::string_view text) {
    return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

// Request bodies nest a few levels (an object of strings and numbers, an array of inputs); a body of 1 MiB of "["
// would make a parser build a million nested values (issue 14: ~1.3 GB across threads), so the bounded parse
// refuses anything deeper than this before building a thing.
constexpr size_t kMaxBodyDepth = 64;

}  // namespace

nlohmann::json parse_json_object(std::string_view body) {
    // nlohmann would refuse bad UTF-8 too, but as a generic parse error; say what is wrong instead.
    if (!utf8::is_valid(body)) throw HttpError(400, "invalid_utf8", "the request body is not valid UTF-8");
    std::string why;
    const nlohmann::json j = json_limits::parse_or_discarded(body, &why, kMaxBodyDepth);
    if (j.is_discarded()) throw HttpError(400, "invalid_json", "the request body: " + why);
    if (!j.is_object()) throw HttpError(400, "invalid_request", "the request body must be a JSON object");
    return j;
}

Filter parse_filter(const nlohmann::json& body) {
    nlohmann::json fields = nlohmann::json::object();
    for (const char* key : {"where", "path", "exclude_path", "type", "language", "modified_after", "modified_before"})
        if (auto it = body.find(key); it != body.end()) fields[key] = *it;
    if (fields.empty()) return {};
    try {
        return filter_from_json(fields.dump(), int64_t(std::time(nullptr)));
    } catch (const FilterError& e) {
        throw HttpError(400, "invalid_filter", e.what());
    }
}

SearchParams parse_search(const nlohmann::json& body) {
    refuse_unknown_fields(body, {"index", "query", "top_k", "complexity", "rerank", "recompute", "query_id", "mode",
                                 "fusion", "vector_weight", "where", "path", "exclude_path", "type", "language",
                                 "modified_after", "modified_before"});
    SearchParams p;
    p.index = required_string(body, "index");
    p.query = required_string(body, "query");
    if (blank(p.query)) bad_field("query", "is empty");
    if (p.query.size() > ParamLimits::max_query_bytes)
        bad_field("query", "is longer than " + std::to_string(ParamLimits::max_query_bytes) + " bytes");
    p.options.top_k = integer_field(body, "top_k", 10, 1, ParamLimits::max_top_k);
    p.options.complexity = integer_field(body, "complexity", 0, 0, ParamLimits::max_complexity);
    // 0 (the default) is the adaptive re-rank; N recomputes exactly the best N candidates.
    p.options.rerank = integer_field(body, "rerank", p.options.rerank, 0, ParamLimits::max_rerank);
    if (auto it = body.find("recompute"); it != body.end() && !it->is_null()) {
        if (!it->is_boolean()) bad_field("recompute", "must be true or false");
        p.options.recompute = it->get<bool>();
    }
    if (auto it = body.find("mode"); it != body.end() && !it->is_null()) {
        const auto mode = it->is_string() ? parse_search_mode(it->get<std::string>()) : std::nullopt;
        if (!mode) bad_field("mode", "must be \"vector\", \"keyword\" or \"hybrid\"");
        p.options.mode = *mode;
    }
    if (auto it = body.find("fusion"); it != body.end() && !it->is_null()) {
        const auto fusion = it->is_string() ? parse_fusion(it->get<std::string>()) : std::nullopt;
        if (!fusion) bad_field("fusion", "must be \"rrf\" or \"convex\"");
        p.options.fusion = *fusion;
    }
    if (auto it = body.find("vector_weight"); it != body.end() && !it->is_null()) {
        if (!it->is_number() || !(it->get<double>() >= 0 && it->get<double>() <= 1))
            bad_field("vector_weight", "must be a number between 0 and 1");
        p.options.vector_weight = it->get<double>();
    }
    p.options.filter = parse_filter(body);
    if (auto it = body.find("query_id"); it != body.end()) {
        if (!it->is_string() && !it->is_number_integer() && !it->is_null())
            bad_field("query_id", "must be a string or an integer");
        p.query_id = *it;
    }
    return p;
}

EmbeddingParams parse_embeddings(const nlohmann::json& body) {
    refuse_unknown_fields(body, {"input", "model", "encoding_format", "dimensions", "user"});
    EmbeddingParams p;
    const auto input = body.find("input");
    if (input == body.end() || input->is_null()) throw HttpError(400, "missing_field", "missing field 'input'");
    auto add = [&](const nlohmann::json& item, const std::string& where) {
        if (!item.is_string()) bad_field(where, "must be a string (token-id input is not supported)");
        std::string text = item.get<std::string>();
        if (text.empty()) bad_field(where, "is empty");
        p.inputs.push_back(std::move(text));
    };
    if (input->is_array()) {
        if (input->empty()) bad_field("input", "is an empty array");
        if (input->size() > ParamLimits::max_embedding_inputs)
            bad_field("input", "holds " + std::to_string(input->size()) + " items; the most is " +
                                   std::to_string(ParamLimits::max_embedding_inputs));
        for (size_t i = 0; i < input->size(); ++i) add((*input)[i], "input[" + std::to_string(i) + "]");
    } else {
        add(*input, "input");
    }
    if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
        if (!it->is_string()) bad_field("model", "must be a string");
        p.model = it->get<std::string>();
    }
    if (auto it = body.find("encoding_format"); it != body.end() && !it->is_null()) {
        if (!it->is_string() || (*it != "float" && *it != "base64"))
            bad_field("encoding_format", "must be \"float\" or \"base64\"");
        p.base64 = *it == "base64";
    }
    if (auto it = body.find("dimensions"); it != body.end() && !it->is_null())
        p.dimensions = integer_field(body, "dimensions", 0, 1, 1 << 16);
    if (auto it = body.find("user"); it != body.end() && !it->is_null() && !it->is_string())
        bad_field("user", "must be a string");
    return p;
}

}  // namespace leann::server
