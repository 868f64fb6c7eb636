#include "keyword/keyword_tokenizer.h"

#include <libstemmer.h>

#include <algorithm>
#include <array>
#include <memory>
#include <span>
#include <unordered_set>

#include "embed/unicode_tables.h"
#include "util/utf8.h"

namespace leann::keyword {
namespace {

enum class Kind { other, joiner, lower, upper, digit, ideograph, letter };

Kind kind_of(char32_t c) {
    if (c < 0x80) {
        if (c >= 'a' && c <= 'z') return Kind::lower;
        if (c >= 'A' && c <= 'Z') return Kind::upper;
        if (c >= '0' && c <= '9') return Kind::digit;
        if (c == '_' || c == '-') return Kind::joiner;
        return Kind::other;
    }
    const unicode::CharProps p = unicode::char_props(c);
    if (p.is_whitespace() || p.is_punctuation() || p.is_other() || p.is_clean_space()) return Kind::other;
    if (p.is_chinese()) return Kind::ideograph;
    if (p.has_lowercase()) return Kind::upper;
    return Kind::letter;  // lowercase and uncased letters, marks, other digits, symbols
}

bool is_lowerish(Kind k) { return k == Kind::lower || k == Kind::letter; }
bool is_alpha(Kind k) { return k == Kind::lower || k == Kind::upper || k == Kind::letter; }

void append_folded(std::string& out, std::u32string_view chars) {
    for (char32_t c : chars) {
        if (c < 0x80) {
            out.push_back(char(c >= 'A' && c <= 'Z' ? c + 32 : c));
            continue;
        }
        const std::u32string_view lower = unicode::lowercase_mapping(c);
        if (lower.empty())
            utf8::append(out, c);
        else
            for (char32_t l : lower) utf8::append(out, l);
    }
}

/// Calls word(chars, kinds) for every word of `text`.
template <class F>
void for_each_word(std::string_view text, F&& word) {
    const std::u32string cps = utf8::decode(text);
    std::vector<Kind> kinds(cps.size());
    for (size_t i = 0; i < cps.size(); ++i) kinds[i] = kind_of(cps[i]);
    size_t i = 0;
    while (i < cps.size()) {
        if (kinds[i] == Kind::ideograph) {
            word(std::u32string_view(cps).substr(i, 1), std::span<const Kind>(kinds).subspan(i, 1));
            ++i;
            continue;
        }
        if (kinds[i] == Kind::other || kinds[i] == Kind::joiner) {
            ++i;
            continue;
        }
        size_t end = i;
        while (end < cps.size() && kinds[end] != Kind::other && kinds[end] != Kind::ideograph) ++end;
        size_t last = end;
        while (last > i && kinds[last - 1] == Kind::joiner) --last;  // trailing joiners
        word(std::u32string_view(cps).substr(i, last - i), std::span<const Kind>(kinds).subspan(i, last - i));
        i = end;
    }
}

/// Part boundaries of one word: [begin, end) ranges.
void split_parts(std::span<const Kind> k, std::vector<std::pair<size_t, size_t>>& parts) {
    parts.clear();
    size_t start = 0;
    auto close = [&](size_t at) {
        if (at > start) parts.emplace_back(start, at);
    };
    for (size_t i = 0; i < k.size(); ++i) {
        if (k[i] == Kind::joiner) {
            close(i);
            start = i + 1;
            continue;
        }
        if (i == start) continue;
        const Kind prev = k[i - 1];
        const bool next_lower = i + 1 < k.size() && is_lowerish(k[i + 1]);
        const bool boundary = (k[i] == Kind::upper && is_lowerish(prev)) ||
                              (k[i] == Kind::upper && prev == Kind::upper && next_lower) ||
                              (k[i] == Kind::digit && is_alpha(prev)) || (is_alpha(k[i]) && prev == Kind::digit);
        if (boundary) {
            close(i);
            start = i;
        }
    }
    close(k.size());
}

const std::unordered_set<std::string_view>& stopwords() {
    static const std::unordered_set<std::string_view> set = {
        "a",    "an",   "and",  "are",   "as",    "at",    "be",   "but",  "by",   "for",  "if",
        "in",   "into", "is",   "it",    "no",    "not",   "of",   "on",   "or",   "such", "that",
        "the",  "their", "then", "there", "these", "they", "this", "to",   "was",  "will", "with"};
    return set;
}

bool is_ascii_letters(std::string_view folded) {
    return !folded.empty() &&
           std::all_of(folded.begin(), folded.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

/// One Snowball English stemmer per thread (a stemmer object is not thread-safe).
struct StemmerDeleter {
    void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
};

}  // namespace

std::string stem_term(std::string_view folded) {
    if (!is_ascii_letters(folded)) return {};
    thread_local std::unique_ptr<sb_stemmer, StemmerDeleter> stemmer(sb_stemmer_new("english", nullptr));
    std::string out(1, kStemMarker);
    const sb_symbol* stem = stemmer ? sb_stemmer_stem(stemmer.get(), reinterpret_cast<const sb_symbol*>(folded.data()),
                                                      int(folded.size()))
                                    : nullptr;
    if (!stem) {
        out.append(folded);  // no stemmer (out of memory): the word itself, still marked as a prose term
        return out;
    }
    out.append(reinterpret_cast<const char*>(stem), size_t(sb_stemmer_length(stemmer.get())));
    return out;
}

bool is_stopword(std::string_view folded) { return stopwords().count(folded) > 0; }

std::vector<std::string> index_terms(std::string_view text, TermStyle style) {
    std::vector<std::string> terms;
    std::vector<std::pair<size_t, size_t>> parts;
    std::string whole;
    for_each_word(text, [&](std::u32string_view chars, std::span<const Kind> kinds) {
        split_parts(kinds, parts);
        whole.clear();
        append_folded(whole, chars);
        if (parts.size() != 1 || parts[0].second - parts[0].first != chars.size()) {
            // A compound word: the whole is a term (even when it folds to a stopword-like string), then its parts.
            if (whole.size() <= kMaxTermBytes) terms.push_back(whole);
            for (const auto& [b, e] : parts) {
                std::string part;
                append_folded(part, chars.substr(b, e - b));
                if (part.size() <= kMaxTermBytes && !is_stopword(part)) terms.push_back(std::move(part));
            }
            return;
        }
        if (whole.size() > kMaxTermBytes || is_stopword(whole)) return;
        if (style == TermStyle::prose)
            if (std::string stem = stem_term(whole); !stem.empty()) {
                terms.push_back(std::move(stem));
                return;
            }
        terms.push_back(whole);
    });
    return terms;
}

std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    for_each_word(text, [&](std::u32string_view chars, std::span<const Kind>) {
        out.emplace_back();
        append_folded(out.back(), chars);
    });
    return out;
}

KeywordQuery parse_query(std::string_view query) {
    KeywordQuery q;
    std::unordered_set<std::string> seen;
    auto add_terms = [&](std::string_view part) {
        for (auto& t : index_terms(part)) {
            std::string stem = stem_term(t);  // empty for compounds' wholes, digits, non-ASCII words
            if (seen.insert(t).second) q.terms.push_back(std::move(t));
            if (!stem.empty() && seen.insert(stem).second) q.terms.push_back(std::move(stem));
        }
    };
    size_t pos = 0;
    while (pos < query.size()) {
        const size_t open = query.find('"', pos);
        add_terms(query.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos));
        if (open == std::string_view::npos) break;
        const size_t close = query.find('"', open + 1);
        const std::string_view phrase =
            query.substr(open + 1, close == std::string_view::npos ? std::string_view::npos : close - open - 1);
        add_terms(phrase);
        if (auto w = words(phrase); !w.empty()) q.phrases.push_back(std::move(w));
        if (close == std::string_view::npos) break;
        pos = close + 1;
    }
    return q;
}

bool contains_phrase(const std::vector<std::string>& text_words, const std::vector<std::string>& phrase) {
    if (phrase.empty()) return true;
    return std::search(text_words.begin(), text_words.end(), phrase.begin(), phrase.end()) != text_words.end();
}

}  // namespace leann::keyword
