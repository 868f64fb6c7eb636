// index room: grep over the stored passages (leann/grep.h). Sources are put back together from their chunks by
// line number, in batches of nodes so that each passage block is decompressed about once, and searched with RE2.
#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "index/index_impl.h"
#include "leann/error.h"
#include "util/json_limits.h"
#include "leann/grep.h"

namespace leann {

namespace {

constexpr size_t kMaxPatternBytes = 4096;
constexpr size_t kMaxContext = 1000;
constexpr int64_t kRe2MaxMemory = int64_t{64} << 20;
constexpr size_t kBatchNodes = 4096;

/// One unit of output: a source file's chunks merged by line (file), or a single chunk (record, PDF or HTML chunk).
struct Group {
    uint32_t first_node;
    uint32_t file;                // ChunkTable index, or kNone
    bool merged;                  // chunks placed by their start_line
    std::vector<uint32_t> nodes;
};

bool has_upper(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {  // escapes like \S or \W are not letters of the text
            ++i;
            continue;
        }
        if (s[i] >= 'A' && s[i] <= 'Z') return true;
    }
    return false;
}

std::unique_ptr<RE2> compile(const GrepOptions& o) {
    if (o.pattern.size() > kMaxPatternBytes) throw Error("grep: the pattern is longer than 4096 bytes");
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(kRe2MaxMemory);
    options.set_encoding(RE2::Options::EncodingUTF8);
    const bool insensitive =
        o.case_mode == GrepCase::insensitive || (o.case_mode == GrepCase::smart && !has_upper(o.pattern));
    options.set_case_sensitive(!insensitive);
    std::string pattern = o.fixed_strings ? RE2::QuoteMeta(o.pattern) : o.pattern;
    if (o.word) pattern = "\\b(?:" + pattern + ")\\b";
    auto re = std::make_unique<RE2>(pattern, options);
    if (!re->ok()) {
        std::string why = re->error();
        if (re->error_code() == RE2::ErrorPatternTooLarge)
            why = "the pattern is too large to run in bounded memory (64 MiB); simplify it";
        else if (o.pattern.find("\\1") != std::string::npos || o.pattern.find("(?=") != std::string::npos ||
                 o.pattern.find("(?!") != std::string::npos || o.pattern.find("(?<") != std::string::npos)
            why += " (backreferences and look-around are not supported: RE2 syntax, linear-time matching)";
        throw Error("grep: invalid pattern '" + o.pattern.substr(0, 80) + "': " + why);
    }
    return re;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(start, nl - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        start = nl + 1;
    }
    return lines;
}

}  // namespace

GrepStats grep(const Index& index, const GrepOptions& o, const std::function<bool(const GrepFile&)>& on_file) {
    if (o.pattern.empty() && !o.invert) throw Error("grep: empty pattern");
    if (o.before > kMaxContext || o.after > kMaxContext) throw Error("grep: context is limited to 1000 lines");
    const std::unique_ptr<RE2> re = compile(o);
    const detail::IndexInternals::Impl& x = detail::IndexInternals::of(index);
    const std::shared_ptr<const index::ChunkTable> table = x.chunks();
    const index::ChunkTable& t = *table;
    const size_t n = x.info.nodes;
    std::vector<uint8_t> allowed;
    if (!o.filter.empty()) {
        size_t count = 0;
        allowed = index::match_filter(t, x.context.deleted, o.filter, count);
    }
    auto admitted = [&](uint32_t v) {
        if (!allowed.empty()) return bool((allowed[v >> 3] >> (v & 7)) & 1);
        return !((x.context.deleted[v >> 3] >> (v & 7)) & 1);
    };
    auto kind = [&](uint32_t v) -> std::string_view {
        return t.type_of[v] == index::ChunkTable::kNone ? std::string_view() : std::string_view(t.names[t.type_of[v]]);
    };

    // Groups, in index order.
    std::vector<Group> groups;
    std::vector<uint32_t> file_group(t.files.size(), index::ChunkTable::kNone);
    for (uint32_t v = 0; v < n; ++v) {
        if (!admitted(v)) continue;
        const uint32_t f = t.file_of[v];
        const bool merged = f != index::ChunkTable::kNone && t.line_of[v] > 0 && kind(v) != "html" && kind(v) != "pdf";
        if (merged) {
            if (file_group[f] == index::ChunkTable::kNone) {
                file_group[f] = uint32_t(groups.size());
                groups.push_back({v, f, true, {}});
            }
            groups[file_group[f]].nodes.push_back(v);
        } else {
            groups.push_back({v, f, false, {v}});
        }
    }

    GrepStats stats;
    bool stop = false;
    GrepFile out;
    std::vector<std::pair<size_t, std::string_view>> lines;  // (line number, text) of one group, ascending
    for (size_t g0 = 0; g0 < groups.size() && !stop;) {
        // A batch of groups whose passages are fetched together.
        size_t g1 = g0, batch_nodes = 0;
        while (g1 < groups.size() && (g1 == g0 || batch_nodes + groups[g1].nodes.size() <= kBatchNodes))
            batch_nodes += groups[g1++].nodes.size();
        std::vector<uint32_t> wanted;
        for (size_t g = g0; g < g1; ++g) wanted.insert(wanted.end(), groups[g].nodes.begin(), groups[g].nodes.end());
        const std::vector<store::Passage> passages = x.passages.get_many(wanted);
        size_t at = 0;
        for (size_t g = g0; g < g1 && !stop; ++g) {
            const Group& group = groups[g];
            out = GrepFile{};
            lines.clear();
            if (group.merged) {
                // Chunks are trimmed slices of the file that overlap, and a line longer than a chunk is cut at a
                // word: a chunk's first and last lines may be partial. A line is taken from a chunk that holds it in
                // its interior when one does, else the longest copy.
                std::map<size_t, std::pair<std::string_view, bool>> by_line;  // line -> (text, interior)
                for (size_t i = 0; i < group.nodes.size(); ++i) {
                    const store::Passage& p = passages[at + i];
                    const size_t first = t.line_of[group.nodes[i]];
                    const auto chunk_lines = split_lines(p.text);
                    for (size_t k = 0; k < chunk_lines.size(); ++k) {
                        const bool interior = k > 0 && k + 1 < chunk_lines.size();
                        auto [it, added] = by_line.try_emplace(first + k, chunk_lines[k], interior);
                        auto& [text, whole] = it->second;
                        if (!added && ((interior && !whole) ||
                                       (interior == whole && chunk_lines[k].size() > text.size()))) {
                            text = chunk_lines[k];
                            whole = interior;
                        }
                    }
                    stats.bytes += p.text.size();
                }
                for (const auto& [number, copy] : by_line) lines.push_back({number, copy.first});
                out.path = t.files[group.file];
            } else {
                const uint32_t v = group.nodes.front();
                const store::Passage& p = passages[at];
                stats.bytes += p.text.size();
                const auto chunk_lines = split_lines(p.text);
                for (size_t k = 0; k < chunk_lines.size(); ++k) lines.push_back({k + 1, chunk_lines[k]});
                if (group.file != index::ChunkTable::kNone && (kind(v) == "pdf" || kind(v) == "html")) {
                    out.path = t.files[group.file];
                    const auto meta = json_limits::parse_or_discarded(t.metadata[v]);
                    if (meta.is_object())
                        if (auto page = meta.find("page"); page != meta.end() && page->is_number_unsigned())
                            out.page = uint32_t(std::min<uint64_t>(page->get<uint64_t>(), UINT32_MAX));
                    if (out.page == 0 && t.line_of[v] > 0)  // HTML: number from the chunk's first source line
                        for (auto& l : lines) l.first += t.line_of[v] - 1;
                } else {
                    out.path = p.id;
                    out.record = true;
                }
            }
            stats.chunks += group.nodes.size();
            at += group.nodes.size();

            // Matching lines, then each with its context (consecutive line numbers only).
            std::vector<size_t> hits;  // indexes into `lines`
            for (size_t i = 0; i < lines.size(); ++i) {
                if (RE2::PartialMatch(lines[i].second, *re) != o.invert) {
                    hits.push_back(i);
                    if (o.max_count && hits.size() >= o.max_count) break;
                    if (o.max_total && stats.matches + hits.size() >= o.max_total) {
                        stats.truncated = true;
                        stop = true;
                        break;
                    }
                }
            }
            if (hits.empty()) continue;
            std::vector<uint8_t> shown(lines.size(), 0);  // 1 context, 2 match
            for (size_t h : hits) {
                shown[h] = 2;
                for (size_t k = 1; k <= o.before && h >= k && lines[h - k].first + k == lines[h].first; ++k)
                    if (!shown[h - k]) shown[h - k] = 1;
                for (size_t k = 1; k <= o.after && h + k < lines.size() && lines[h].first + k == lines[h + k].first;
                     ++k)
                    if (!shown[h + k]) shown[h + k] = 1;
            }
            for (size_t i = 0; i < lines.size(); ++i) {
                if (!shown[i]) continue;
                GrepLine line;
                line.line = lines[i].first;
                line.text = std::string(lines[i].second);
                line.match = shown[i] == 2;
                if (line.match && !o.invert) {
                    const std::string_view text = lines[i].second;
                    const re2::StringPiece whole(text.data(), text.size());
                    re2::StringPiece m;
                    for (size_t pos = 0; pos <= text.size() && line.spans.size() < 1000 &&
                                         re->Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1);) {
                        const size_t s = size_t(m.data() - text.data()), e = s + m.size();
                        line.spans.push_back({s, e});
                        pos = e > s ? e : e + 1;  // an empty match moves on by one byte
                    }
                }
                out.lines.push_back(std::move(line));
            }
            out.matches = hits.size();
            stats.matches += hits.size();
            ++stats.files;
            if (!on_file(out)) stop = true;
        }
        g0 = g1;
    }
    return stats;
}

}  // namespace leann
