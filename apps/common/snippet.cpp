#include "snippet.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace leann::apps {
namespace {

bool is_word_byte(unsigned char c) { return c >= 0x80 || std::isalnum(c) != 0; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }
bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

const std::set<std::string, std::less<>>& stop_words() {
    static const std::set<std::string, std::less<>> words = {
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "if",
        "in", "is", "it", "its", "me", "my", "of", "on", "or", "so", "that", "the", "this", "to", "was", "we",
        "what", "when", "where", "which", "who", "why", "with", "you", "your"};
    return words;
}

std::string fold_whitespace(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

}  // namespace

std::vector<std::string> query_terms(std::string_view query) {
    std::vector<std::string> terms;
    for (size_t i = 0; i < query.size();) {
        if (!is_word_byte(static_cast<unsigned char>(query[i]))) {
            ++i;
            continue;
        }
        size_t j = i;
        std::string word;
        while (j < query.size() && is_word_byte(static_cast<unsigned char>(query[j]))) word += lower(query[j++]);
        i = j;
        if (word.size() < 2 || stop_words().count(word) != 0) continue;
        if (std::find(terms.begin(), terms.end(), word) == terms.end()) terms.push_back(std::move(word));
    }
    return terms;
}

Snippet make_snippet(std::string_view passage, std::string_view query, size_t max_bytes) {
    const std::string text = fold_whitespace(passage);
    const std::vector<std::string> terms = query_terms(query);
    // Every term occurrence at a word start: (begin, end, term index).
    struct Match {
        size_t begin, end, term;
    };
    std::vector<Match> matches;
    for (size_t i = 0; i < text.size(); ++i) {
        if (i > 0 && is_word_byte(static_cast<unsigned char>(text[i - 1]))) continue;
        for (size_t t = 0; t < terms.size(); ++t) {
            const std::string& term = terms[t];
            if (i + term.size() > text.size()) continue;
            bool same = true;
            for (size_t k = 0; k < term.size() && same; ++k) same = lower(text[i + k]) == term[k];
            if (same) {
                matches.push_back({i, i + term.size(), t});
                break;
            }
        }
    }
    // The window start (at a match, or 0) that covers the most distinct terms, then the most matches.
    size_t best_start = 0, best_distinct = 0, best_count = 0;
    for (size_t m = 0; m < matches.size(); ++m) {
        std::vector<bool> seen(terms.size(), false);
        size_t distinct = 0, count = 0;
        for (size_t k = m; k < matches.size() && matches[k].end <= matches[m].begin + max_bytes; ++k) {
            if (!seen[matches[k].term]) ++distinct;
            seen[matches[k].term] = true;
            ++count;
        }
        if (distinct > best_distinct || (distinct == best_distinct && count > best_count)) {
            best_start = matches[m].begin;
            best_distinct = distinct;
            best_count = count;
        }
    }
    // Some context before the first term when the text is long: back up to a word start.
    size_t start = 0;
    if (text.size() > max_bytes && best_start > 0) {
        start = best_start > max_bytes / 4 ? best_start - max_bytes / 4 : 0;
        while (start > 0 && start < best_start && text[start - 1] != ' ') ++start;
    }
    size_t end = std::min(text.size(), start + max_bytes);
    if (end < text.size()) {
        const size_t space = text.rfind(' ', end);
        if (space != std::string::npos && space > start + max_bytes / 2) end = space;
        while (end > start && is_continuation(static_cast<unsigned char>(text[end]))) --end;
    }
    while (start < end && is_continuation(static_cast<unsigned char>(text[start]))) ++start;
    Snippet s;
    s.text = text.substr(start, end - start);
    s.cut_before = start > 0;
    s.cut_after = end < text.size();
    for (const Match& m : matches)
        if (m.begin >= start && m.end <= end) s.marks.emplace_back(m.begin - start, m.end - start);
    return s;
}

std::string render_snippet(const Snippet& s, std::string_view open, std::string_view close) {
    std::string out = s.cut_before ? "..." : "";
    size_t at = 0;
    for (const auto& [b, e] : s.marks) {
        out.append(s.text, at, b - at);
        out.append(open);
        out.append(s.text, b, e - b);
        out.append(close);
        at = e;
    }
    out.append(s.text, at, std::string::npos);
    if (s.cut_after) out += "...";
    return out;
}

}  // namespace leann::apps
