#include "index/chunk_table.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "leann/error.h"
#include "util/json_limits.h"
#include "leann/filter.h"
#include "search/glob.h"
#include "search/where.h"

namespace leann::index {

using json = nlohmann::json;

namespace {

bool is_deleted(std::span<const uint8_t> deleted, uint32_t node) {
    return !deleted.empty() && ((deleted[node >> 3] >> (node & 7)) & 1);
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

std::optional<MetaFields> scan_meta(std::string_view j) {
    for (char c : j)
        if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
    size_t i = 0;
    auto ws = [&] {
        while (i < j.size() && (j[i] == ' ' || j[i] == '\t' || j[i] == '\n' || j[i] == '\r')) ++i;
    };
    // A string at i (at its quote); `plain`: no escapes allowed (its contents are returned as they are). Escapes
    // other than the two-character ones (\u...) are left to the full parser.
    auto string_at = [&](bool plain) -> std::optional<std::string_view> {
        const size_t start = ++i;
        for (; i < j.size() && j[i] != '"'; ++i) {
            if (static_cast<unsigned char>(j[i]) < 0x20) return std::nullopt;
            if (j[i] == '\\') {
                if (plain || ++i == j.size()) return std::nullopt;
                if (std::string_view("\"\\/bfnrt").find(j[i]) == std::string_view::npos) return std::nullopt;
            }
        }
        if (i == j.size()) return std::nullopt;
        return j.substr(start, i++ - start);
    };
    // A scalar at i: a string, a number in JSON's grammar, true, false or null. Objects and arrays: nullopt.
    auto scalar_at = [&]() -> std::optional<std::string_view> {
        if (i == j.size()) return std::nullopt;
        if (j[i] == '"') return string_at(false);
        const size_t start = i;
        auto digits = [&] {
            const size_t d = i;
            while (i < j.size() && j[i] >= '0' && j[i] <= '9') ++i;
            return i > d;
        };
        if (j[i] == '-' || (j[i] >= '0' && j[i] <= '9')) {
            if (j[i] == '-') ++i;
            if (i < j.size() && j[i] == '0') {
                ++i;
            } else if (!digits()) {
                return std::nullopt;
            }
            if (i < j.size() && j[i] == '.' && (++i, !digits())) return std::nullopt;
            if (i < j.size() && (j[i] == 'e' || j[i] == 'E')) {
                ++i;
                if (i < j.size() && (j[i] == '+' || j[i] == '-')) ++i;
                if (!digits()) return std::nullopt;
            }
            const std::string_view number = j.substr(start, i - start);
            // The full parser refuses a number that overflows a double (1e400): so does this reader, deferring to it.
            if (number.size() > 64) return std::nullopt;
            if (number.find_first_of(".eE") != std::string_view::npos &&
                !std::isfinite(std::strtod(std::string(number).c_str(), nullptr)))
                return std::nullopt;
            return number;
        }
        for (std::string_view word : {"true", "false", "null"})
            if (j.substr(i, word.size()) == word) {
                i += word.size();
                return word;
            }
        return std::nullopt;
    };
    MetaFields out;
    ws();
    if (i == j.size() || j[i] != '{') return std::nullopt;
    ++i;
    ws();
    if (i < j.size() && j[i] == '}') {
        ++i;
    } else {
        for (;;) {
            ws();
            if (i == j.size() || j[i] != '"') return std::nullopt;
            const auto key = string_at(true);
            if (!key) return std::nullopt;
            ws();
            if (i == j.size() || j[i] != ':') return std::nullopt;
            ++i;
            ws();
            const bool quoted = i < j.size() && j[i] == '"';
            const auto value = scalar_at();
            if (!value) return std::nullopt;
            // Later duplicates replace earlier ones, as in a full parse.
            if (std::optional<std::string>* kept = *key == "source" ? &out.source : *key == "type" ? &out.type
                                                  : *key == "language" ? &out.language : nullptr) {
                kept->reset();
                if (quoted) {
                    if (value->find('\\') != std::string_view::npos) return std::nullopt;  // escapes: full parse
                    *kept = std::string(*value);
                }
            } else if (*key == "start_line") {
                out.start_line.reset();
                // Digits only: an unsigned integer (up to 19 digits; longer ones may overflow: full parse).
                if (!quoted && std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; })) {
                    if (value->size() > 19) return std::nullopt;
                    uint64_t v = 0;
                    for (char c : *value) v = v * 10 + uint64_t(c - '0');
                    out.start_line = v;
                }
            }
            ws();
            if (i < j.size() && j[i] == ',') {
                ++i;
                continue;
            }
            if (i < j.size() && j[i] == '}') {
                ++i;
                break;
            }
            return std::nullopt;
        }
    }
    ws();
    if (i != j.size()) return std::nullopt;
    return out;
}

/// The fields, by the fast reader or else a full parse (what is not a JSON object has none).
MetaFields meta_fields(std::string_view metadata) {
    if (auto fast = scan_meta(metadata)) return *fast;
    MetaFields out;
    const json meta = json_limits::parse_or_discarded(metadata);
    if (!meta.is_object()) return out;
    if (auto s = meta.find("source"); s != meta.end() && s->is_string()) out.source = s->get<std::string>();
    if (auto s = meta.find("type"); s != meta.end() && s->is_string()) out.type = s->get<std::string>();
    if (auto s = meta.find("language"); s != meta.end() && s->is_string()) out.language = s->get<std::string>();
    if (auto s = meta.find("start_line"); s != meta.end() && s->is_number_unsigned()) out.start_line = s->get<uint64_t>();
    return out;
}


ChunkTable build_chunk_table(const store::PassageStore& passages, std::span<const uint8_t> deleted,
                             const Manifest* manifest) {
    ChunkTable t;
    const size_t n = passages.size();
    t.file_of.assign(n, ChunkTable::kNone);
    t.type_of.assign(n, ChunkTable::kNone);
    t.language_of.assign(n, ChunkTable::kNone);
    t.line_of.assign(n, 0);
    t.metadata.resize(n);
    std::unordered_map<std::string, uint32_t> file_ids, name_ids;
    std::vector<uint8_t> records_file;
    auto intern_file = [&](const std::string& path, int64_t mtime_s, bool records) {
        auto [it, added] = file_ids.try_emplace(path, uint32_t(t.files.size()));
        if (added) {
            t.files.push_back(path);
            t.file_mtime_s.push_back(mtime_s);
            records_file.push_back(records ? 1 : 0);
        }
        return it->second;
    };
    auto intern_name = [&](const std::string& name) {
        auto [it, added] = name_ids.try_emplace(name, uint32_t(t.names.size()));
        if (added) t.names.push_back(name);
        return it->second;
    };
    if (manifest != nullptr) {
        for (const auto& [path, entry] : manifest->files) {
            const uint32_t f = intern_file(path, floor_div(entry.mtime_ns, 1000000000), entry.records);
            for (uint32_t node : entry.nodes)
                if (node < n) t.file_of[node] = f;
        }
    }
    std::vector<uint32_t> live;
    for (uint32_t v = 0; v < n; ++v)
        if (!is_deleted(deleted, v)) live.push_back(v);
    passages.visit(live, [&](size_t i, std::string_view, std::string_view, std::string_view metadata) {
        const uint32_t v = live[i];
        const MetaFields meta = meta_fields(metadata);
        if (t.file_of[v] == ChunkTable::kNone && meta.source)
            t.file_of[v] = intern_file(*meta.source, std::numeric_limits<int64_t>::min(), false);
        if (meta.type) t.type_of[v] = intern_name(*meta.type);
        if (meta.language) t.language_of[v] = intern_name(*meta.language);
        if (meta.start_line) t.line_of[v] = uint32_t(std::min<uint64_t>(*meta.start_line, UINT32_MAX));
        // Records of a JSON lines file carry no type of their own.
        if (t.type_of[v] == ChunkTable::kNone && t.file_of[v] != ChunkTable::kNone && records_file[t.file_of[v]])
            t.type_of[v] = intern_name("jsonl");
        t.metadata[v] = std::string(metadata);
    });
    return t;
}

std::vector<uint8_t> match_filter(const ChunkTable& t, std::span<const uint8_t> deleted, const Filter& filter,
                                  size_t& count) {
    const size_t n = t.file_of.size();
    std::vector<uint8_t> bits((n + 7) / 8, 0);
    // Per file first (globs and times are about files), then per node.
    std::vector<search::Glob> include, exclude;
    for (const auto& g : filter.paths) include.emplace_back(g);
    for (const auto& g : filter.exclude_paths) exclude.emplace_back(g);
    const bool by_file = !include.empty() || !exclude.empty() || filter.modified_after || filter.modified_before;
    std::vector<uint8_t> file_ok(t.files.size(), 1);
    for (size_t f = 0; f < t.files.size() && by_file; ++f) {
        const std::string& path = t.files[f];
        bool ok = include.empty() || std::any_of(include.begin(), include.end(),
                                                 [&](const search::Glob& g) { return g.matches(path); });
        ok = ok && std::none_of(exclude.begin(), exclude.end(), [&](const search::Glob& g) { return g.matches(path); });
        const int64_t mtime = t.file_mtime_s[f];
        if (filter.modified_after || filter.modified_before) {
            const bool known = mtime != std::numeric_limits<int64_t>::min();
            ok = ok && known && (!filter.modified_after || mtime >= *filter.modified_after) &&
                 (!filter.modified_before || mtime < *filter.modified_before);
        }
        file_ok[f] = ok ? 1 : 0;
    }
    // Types and languages compare case-insensitively; one the index does not hold is an error, not an empty result.
    auto name_set = [&](const std::vector<std::string>& wanted, const std::vector<uint32_t>& per_node,
                        const char* what) {
        std::vector<uint8_t> used(t.names.size(), 0), ok(t.names.size(), 0);
        for (uint32_t v = 0; v < n && !wanted.empty(); ++v)
            if (per_node[v] != ChunkTable::kNone && !is_deleted(deleted, v)) used[per_node[v]] = 1;
        auto same = [](const std::string& a, const std::string& b) {
            return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                       return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
                   });
        };
        for (const auto& w : wanted) {
            bool found = false;
            for (size_t i = 0; i < t.names.size(); ++i)
                if (used[i] && same(t.names[i], w)) ok[i] = 1, found = true;
            if (!found) {
                std::string known;
                for (size_t i = 0; i < t.names.size(); ++i)
                    if (used[i]) known += (known.empty() ? "" : ", ") + t.names[i];
                throw FilterError(std::string("filter: ") + what + " '" + w + "': no chunk in this index has it (" + what +
                            "s here: " + (known.empty() ? "none" : known) + ")");
            }
        }
        return ok;
    };
    const std::vector<uint8_t> type_ok = name_set(filter.types, t.type_of, "type");
    const std::vector<uint8_t> language_ok = name_set(filter.languages, t.language_of, "language");
    std::optional<search::WhereClause> where;
    if (!filter.where.empty()) {
        const json w = json_limits::parse_or_discarded(filter.where);
        if (w.is_discarded()) throw FilterError("where: not valid JSON");
        where.emplace(w);
    }
    std::set<std::string> fields_seen;
    count = 0;
    for (uint32_t v = 0; v < n; ++v) {
        if (is_deleted(deleted, v)) continue;
        bool ok = true;
        if (by_file && (t.file_of[v] == ChunkTable::kNone || !file_ok[t.file_of[v]])) ok = false;
        if (!filter.types.empty() && (t.type_of[v] == ChunkTable::kNone || !type_ok[t.type_of[v]])) ok = false;
        if (!filter.languages.empty() && (t.language_of[v] == ChunkTable::kNone || !language_ok[t.language_of[v]]))
            ok = false;
        if (where) {
            // Every live chunk is read, even one the other parts exclude: the field check below sees the whole index.
            const json meta = json_limits::parse_or_discarded(t.metadata[v]);
            if (!meta.is_object()) continue;
            if (fields_seen.size() < 64)
                for (auto it = meta.begin(); it != meta.end(); ++it) fields_seen.insert(it.key());
            ok = where->matches(meta) && ok;
        }
        if (!ok) continue;
        bits[v >> 3] |= uint8_t(1u << (v & 7));
        ++count;
    }
    if (where) where->check_fields(std::vector<std::string>(fields_seen.begin(), fields_seen.end()));
    return bits;
}

}  // namespace leann::index
