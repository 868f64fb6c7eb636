// search room: the public filter helpers (leann/filter.h): the short --where form, time bounds, filters from JSON,
// and syntax checks. Matching a filter against an index's chunks is the index room's (index/filter_match.cpp).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "leann/error.h"
#include "util/json_limits.h"
#include "leann/filter.h"
#include "search/glob.h"
#include "search/where.h"

namespace leann {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxExpressionBytes = 4096;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

json value_of(std::string_view text) {
    text = trim(text);
    if (text.size() >= 2 && ((text.front() == '"' && text.back() == '"') || (text.front() == '\'' && text.back() == '\'')))
        return std::string(text.substr(1, text.size() - 2));
    if (text == "true") return true;
    if (text == "false") return false;
    if (!text.empty()) {
        int64_t i = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
        if (ec == std::errc() && end == text.data() + text.size()) return i;
        double d = 0;
        auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
        if (dec == std::errc() && dend == text.data() + text.size() && std::isfinite(d)) return d;
    }
    return std::string(text);
}

}  // namespace

std::string where_from_expression(std::string_view expression) {
    const std::string shown(expression.substr(0, 80));
    if (expression.size() > kMaxExpressionBytes) throw FilterError("--where '" + shown + "...': longer than 4096 bytes");
    // The first operator character splits FIELD from VALUE: FIELD may not hold = ! < >.
    const size_t at = expression.find_first_of("=!<>");
    if (at == std::string_view::npos)
        throw FilterError("--where '" + shown + "': expected FIELD=VALUE (or !=, >, >=, <, <=)");
    const std::string field(trim(expression.substr(0, at)));
    if (field.empty()) throw FilterError("--where '" + shown + "': no field name before the operator");
    std::string_view op;
    for (std::string_view candidate : {"!=", ">=", "<=", "==", "=", ">", "<"}) {
        if (expression.substr(at, candidate.size()) == candidate) {
            op = candidate;
            break;
        }
    }
    const size_t rest = at + op.size();
    if (op.empty()) throw FilterError("--where '" + shown + "': '!' must be followed by '='");
    const std::string_view value_text = expression.substr(rest);
    if (trim(value_text).empty()) throw FilterError("--where '" + shown + "': no value after '" + std::string(op) + "'");
    json cond;
    if (op == "=" || op == "==" || op == "!=") {
        // A|B|C: membership (unless quoted).
        const std::string_view v = trim(value_text);
        const bool quoted = v.size() >= 2 && (v.front() == '"' || v.front() == '\'');
        if (!quoted && v.find('|') != std::string_view::npos) {
            json list = json::array();
            size_t start = 0;
            while (start <= v.size()) {
                const size_t bar = std::min(v.find('|', start), v.size());
                list.push_back(value_of(v.substr(start, bar - start)));
                start = bar + 1;
            }
            cond[op == "!=" ? "$nin" : "$in"] = list;
        } else {
            cond[op == "!=" ? "$ne" : "$eq"] = value_of(v);
        }
    } else {
        const json v = value_of(value_text);
        if (!v.is_number() && !v.is_string())
            throw FilterError("--where '" + shown + "': " + std::string(op) + " needs a number or a string");
        cond[op == ">" ? "$gt" : op == ">=" ? "$gte" : op == "<" ? "$lt" : "$lte"] = v;
    }
    return json{{field, cond}}.dump();
}

std::string where_from_expressions(std::span<const std::string> expressions) {
    if (expressions.empty()) return {};
    if (expressions.size() == 1) return where_from_expression(expressions[0]);
    json all = json::array();
    for (const std::string& e : expressions) all.push_back(json::parse(where_from_expression(e)));
    return json{{"$and", all}}.dump();
}

int64_t parse_time_bound(std::string_view text, std::string_view what, int64_t now_s) {
    const std::string shown(text.substr(0, 64));
    auto fail = [&]() -> int64_t {
        throw FilterError(std::string(what) + ": '" + shown +
                    "' is not a time (use unix seconds, 2024-05-01, 2024-05-01T12:30:00Z, or an age: 30m, 12h, 7d, 2w)");
    };
    text = trim(text);
    if (text.empty() || text.size() > 64) return fail();
    int64_t n = 0;
    const char* b = text.data();
    const char* e = text.data() + text.size();
    auto [end, ec] = std::from_chars(b, e, n);
    if (ec == std::errc() && end == e) return n;
    // An age: digits and one unit.
    if (ec == std::errc() && end == e - 1 && n >= 0 && n <= 100000 * 366) {
        const int64_t unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400
                             : *end == 'w' ? 7 * 86400 : 0;
        if (unit == 0) return fail();
        return now_s - n * unit;
    }
    // A date, maybe with a time.
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    char sep = 0;
    int used = 0;
    const std::string t(text);
    if (std::sscanf(t.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10) return fail();
    if (t.size() > 10) {
        int used2 = 0;
        if (std::sscanf(t.c_str() + 10, "%c%2d:%2d%n", &sep, &h, &mi, &used2) != 3 || (sep != 'T' && sep != ' '))
            return fail();
        size_t pos = 10 + size_t(used2);
        if (pos < t.size() && t[pos] == ':') {
            int used3 = 0;
            if (std::sscanf(t.c_str() + pos, ":%2d%n", &s, &used3) != 1) return fail();
            pos += size_t(used3);
        }
        if (pos < t.size() && t[pos] == 'Z') ++pos;
        if (pos != t.size()) return fail();
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970) return fail();
    // Days from the civil date (UTC), without the local time zone.
    const int yy = y - (mo <= 2);
    const int era = yy / 400;
    const int yoe = yy - era * 400;
    const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const int64_t days = int64_t(era) * 146097 + doe - 719468;
    return days * 86400 + h * 3600 + mi * 60 + s;
}

Filter filter_from_json(std::string_view json_object, int64_t now_s) {
    const json j = json_limits::parse_or_discarded(json_object);
    if (j.is_discarded() || !j.is_object()) throw FilterError("filter: expected a JSON object");
    Filter f;
    auto strings = [&](const std::string& key, const json& v, std::vector<std::string>& out) {
        if (v.is_string()) {
            out.push_back(v.get<std::string>());
        } else if (v.is_array()) {
            if (v.size() > 256) throw FilterError("filter: '" + key + "' holds more than 256 entries");
            for (const json& e : v) {
                if (!e.is_string()) throw FilterError("filter: '" + key + "' must be a string or a list of strings");
                out.push_back(e.get<std::string>());
            }
        } else {
            throw FilterError("filter: '" + key + "' must be a string or a list of strings");
        }
    };
    auto time = [&](const std::string& key, const json& v) -> int64_t {
        if (v.is_number_integer()) return v.get<int64_t>();
        if (v.is_number()) return int64_t(std::floor(v.get<double>()));
        if (v.is_string()) return parse_time_bound(v.get<std::string>(), "filter: '" + key + "'", now_s);
        throw FilterError("filter: '" + key + "' must be unix seconds or a time text");
    };
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& key = it.key();
        const json& v = it.value();
        if (v.is_null()) continue;
        if (key == "path") {
            strings(key, v, f.paths);
        } else if (key == "exclude_path") {
            strings(key, v, f.exclude_paths);
        } else if (key == "type") {
            strings(key, v, f.types);
        } else if (key == "language") {
            strings(key, v, f.languages);
        } else if (key == "modified_after") {
            f.modified_after = time(key, v);
        } else if (key == "modified_before") {
            f.modified_before = time(key, v);
        } else if (key == "where") {
            if (!v.is_object()) throw FilterError("filter: 'where' must be a JSON object");
            if (!v.empty()) f.where = v.dump();
        } else {
            throw FilterError("filter: unknown key '" + key +
                        "' (expected path, exclude_path, type, language, modified_after, modified_before, where)");
        }
    }
    check_filter(f);
    return f;
}

void check_filter(const Filter& filter) {
    if (filter.paths.size() + filter.exclude_paths.size() > 256) throw FilterError("filter: more than 256 path globs");
    for (const auto& g : filter.paths) search::Glob{g};
    for (const auto& g : filter.exclude_paths) search::Glob{g};
    if (!filter.where.empty()) {
        const json w = json_limits::parse_or_discarded(filter.where);
        if (w.is_discarded()) throw FilterError("where: not valid JSON");
        search::WhereClause{w};
    }
}

bool glob_match(std::string_view glob, std::string_view path) { return search::Glob(glob).matches(path); }

}  // namespace leann
