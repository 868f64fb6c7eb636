#include "util/json_limits.h"

#include "leann/error.h"

namespace leann::json_limits {

std::optional<std::string> nesting_error(std::string_view text, size_t limit) {
    size_t depth = 0;
    bool in_string = false, escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return "JSON nests deeper than " + std::to_string(limit) + " levels";
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return std::nullopt;
}

namespace {

// nlohmann's message starts with "[json.exception.parse_error.101] "; the rest says where and why.
std::string reason(const nlohmann::json::exception& e) {
    std::string why = e.what();
    if (auto bracket = why.find("] "); why.rfind("[json.exception", 0) == 0 && bracket != std::string::npos)
        why.erase(0, bracket + 2);
    return "not valid JSON (" + why + ")";  // the reason before " (" is what skip counts group by
}

}  // namespace

nlohmann::json parse_or_discarded(std::string_view text, std::string* why, size_t limit) {
    return parse_or_discarded(text, nullptr, why, limit);
}

nlohmann::json parse_or_discarded(std::string_view text, const nlohmann::json::parser_callback_t& callback,
                                  std::string* why, size_t limit) {
    if (auto deep = nesting_error(text, limit)) {
        if (why != nullptr) *why = std::move(*deep);
        return nlohmann::json(nlohmann::json::value_t::discarded);
    }
    try {
        return nlohmann::json::parse(text, callback);
    } catch (const nlohmann::json::exception& e) {
        if (why != nullptr) *why = reason(e);
        return nlohmann::json(nlohmann::json::value_t::discarded);
    }
}

nlohmann::json parse(std::string_view text, std::string_view where, size_t limit) {
    std::string why;
    nlohmann::json j = parse_or_discarded(text, &why, limit);
    if (j.is_discarded()) throw Error(std::string(where) + ": " + why);
    return j;
}

}  // namespace leann::json_limits
