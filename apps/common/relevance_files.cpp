#include "relevance_files.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "leann/error.h"
#include "util/json_limits.h"

namespace leann::apps {
namespace {

constexpr size_t max_line_bytes = size_t(1) << 20;
constexpr size_t max_entries = 10'000'000;

/// Lines of a file, each bounded: a longer one is an error naming FILE:LINE rather than a huge allocation.
class LineReader {
public:
    explicit LineReader(const std::filesystem::path& path) : path_(path), in_(path, std::ios::binary) {
        if (!in_) throw Error(path.string() + ": cannot open: " + std::strerror(errno));
    }

    bool next(std::string& line) {
        line.clear();
        int c;
        bool any = false;
        while ((c = in_.get()) != EOF) {
            any = true;
            if (c == '\n') break;
            if (line.size() == max_line_bytes) {
                ++line_no_;
                fail("line longer than " + std::to_string(max_line_bytes) + " bytes");
            }
            line.push_back(static_cast<char>(c));
        }
        if (!any) {
            if (in_.bad()) throw Error(path_.string() + ": read error: " + std::strerror(errno));
            return false;
        }
        ++line_no_;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(path_.string() + ":" + std::to_string(line_no_) + ": " + what);
    }
    size_t line_no() const { return line_no_; }

private:
    std::filesystem::path path_;
    std::ifstream in_;
    size_t line_no_ = 0;
};

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

std::string_view trim(std::string_view s) {
    const size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    const size_t e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

std::vector<std::string_view> split_whitespace(std::string_view s) {
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        const size_t start = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
        if (i > start) fields.push_back(s.substr(start, i - start));
    }
    return fields;
}

std::vector<std::string_view> split_tabs(std::string_view s) {
    std::vector<std::string_view> fields;
    size_t start = 0;
    for (;;) {
        const size_t tab = s.find('\t', start);
        fields.push_back(trim(s.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start)));
        if (tab == std::string_view::npos) break;
        start = tab + 1;
    }
    return fields;
}

std::string id_text(const nlohmann::json& id) {
    if (id.is_string()) return id.get<std::string>();
    if (id.is_number_integer() || id.is_number_unsigned()) return id.dump();
    return {};
}

}  // namespace

std::vector<Query> read_queries(const std::filesystem::path& path) {
    LineReader reader(path);
    std::vector<Query> queries;
    std::set<std::string> seen;
    std::string line;
    int jsonl = -1;  // unknown until the first non-blank line
    while (reader.next(line)) {
        if (blank(line)) continue;
        if (jsonl < 0) jsonl = trim(line).substr(0, 1) == "{" ? 1 : 0;
        Query q;
        if (jsonl == 1) {
            std::string why;
            const nlohmann::json record = json_limits::parse_or_discarded(line, &why);
            if (record.is_discarded()) reader.fail(why);
            if (!record.is_object()) reader.fail("not a JSON object");
            auto id = record.find("_id");
            if (id == record.end()) id = record.find("id");
            if (id == record.end()) reader.fail("no \"_id\" field");
            q.id = id_text(*id);
            if (q.id.empty()) reader.fail("\"_id\" is not a non-empty string or an integer");
            auto text = record.find("text");
            if (text == record.end() || !text->is_string()) reader.fail("no \"text\" string field");
            q.text = text->get<std::string>();
        } else {
            const size_t tab = line.find('\t');
            if (tab == std::string::npos) reader.fail("expected qid<TAB>text");
            q.id = std::string(trim(std::string_view(line).substr(0, tab)));
            q.text = line.substr(tab + 1);
            if (q.id.empty()) reader.fail("empty query id");
        }
        if (blank(q.text)) reader.fail("empty query text for query " + q.id);
        if (!seen.insert(q.id).second) reader.fail("query id " + q.id + " given twice");
        if (queries.size() == max_entries) reader.fail("more than " + std::to_string(max_entries) + " queries");
        queries.push_back(std::move(q));
    }
    return queries;
}

std::map<std::string, Judgements> read_qrels(const std::filesystem::path& path) {
    LineReader reader(path);
    std::map<std::string, Judgements> qrels;
    std::map<std::pair<std::string, std::string>, size_t> first_line;
    std::string line;
    size_t entries = 0;
    bool first = true;
    while (reader.next(line)) {
        if (blank(line) || trim(line).substr(0, 1) == "#") continue;
        const bool header = first && trim(line).substr(0, 8) == "query-id";
        first = false;
        if (header) continue;
        std::vector<std::string_view> fields =
            line.find('\t') != std::string::npos && split_tabs(line).size() == 3 ? split_tabs(line) : split_whitespace(line);
        std::string_view qid, doc, grade_text;
        if (fields.size() == 4) {
            qid = fields[0];
            doc = fields[2];
            grade_text = fields[3];
        } else if (fields.size() == 3) {
            qid = fields[0];
            doc = fields[1];
            grade_text = fields[2];
        } else {
            reader.fail("expected \"qid iteration docid grade\" (TREC) or \"query-id<TAB>corpus-id<TAB>score\" (BEIR), "
                        "got " + std::to_string(fields.size()) + " fields");
        }
        if (qid.empty() || doc.empty()) reader.fail("empty query or document id");
        int grade = 0;
        const auto [end, ec] = std::from_chars(grade_text.data(), grade_text.data() + grade_text.size(), grade);
        if (ec != std::errc() || end != grade_text.data() + grade_text.size())
            reader.fail("grade '" + std::string(grade_text) + "' is not an integer");
        auto [it, fresh] = first_line.emplace(std::make_pair(std::string(qid), std::string(doc)), reader.line_no());
        Judgements& judged = qrels[std::string(qid)];
        if (!fresh) {
            if (judged.at(std::string(doc)) != grade)
                reader.fail("document " + std::string(doc) + " judged again for query " + std::string(qid) +
                            " with another grade (first at line " + std::to_string(it->second) + ")");
            continue;
        }
        if (++entries > max_entries) reader.fail("more than " + std::to_string(max_entries) + " judgements");
        judged.emplace(std::string(doc), grade);
    }
    return qrels;
}

}  // namespace leann::apps
