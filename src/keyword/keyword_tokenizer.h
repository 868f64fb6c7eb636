// keyword room: the tokenizer of the keyword (BM25) index, made for prose and code alike.
//
// A *word* is a maximal run of letters, digits and marks, where '_' and '-' join runs (an identifier such as
// max_degree, getUserName or x86-64); leading and trailing joiners are dropped. Every word is case-folded with the
// Unicode lowercase mapping (the tables of src/embed/unicode_tables.h). A CJK ideograph is a word of its own.
// index_terms() emits, for each word, the whole folded word and, when it has several parts, each part: words are
// split at '_' and '-', between a lowercase letter and an uppercase one (getUser -> get, user), before the last
// capital of a capital run followed by a lowercase letter (HTTPServer -> http, server) and between letters and
// digits (utf8 -> utf, 8). The 33 English stopwords of Lucene's classic list are dropped as single terms (never a
// whole compound word), and so are terms over kMaxTermBytes.
// Prose is stemmed, code is not (bench/README.md, "Keyword search": stemming lifts keyword nDCG@10 on prose and
// lowers it on code): in TermStyle::prose a word of ASCII letters only is indexed as its English Snowball stem
// behind the marker kStemMarker ("promised" -> "~promis"); compound words, their parts and words with digits or
// other letters stay exact. A query looks up each such word both ways (parse_query), so prose chunks match by stem,
// code chunks by the exact word, and neither counts twice.
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace leann::keyword {

constexpr size_t kMaxTermBytes = 64;  // longer terms (hashes, base64, minified code) are not indexed
constexpr char kStemMarker = '~';     // first byte of a stemmed prose term (never part of an exact term)

/// How a chunk's words become terms: exactly (code), or with plain words stemmed (prose).
enum class TermStyle { exact, prose };

/// The terms of `text` in order of appearance, duplicates kept (a term's count is its frequency).
std::vector<std::string> index_terms(std::string_view text, TermStyle style = TermStyle::exact);

/// The stemmed term of a folded plain word ("promised" -> "~promis"); empty when `folded` is not made of ASCII
/// letters only (such words are never stemmed).
std::string stem_term(std::string_view folded);

/// The folded whole words of `text` in order, nothing dropped and nothing split: what phrase matching compares.
std::vector<std::string> words(std::string_view text);

/// True for a folded stopword ("the", "of", ...).
bool is_stopword(std::string_view folded);

/// A search query: the terms to score (distinct, in order of first appearance) and the quoted phrases, each as its
/// words. A phrase's words are scored terms too; a hit must contain every phrase.
struct KeywordQuery {
    std::vector<std::string> terms;
    std::vector<std::vector<std::string>> phrases;
    bool empty() const { return terms.empty(); }
};

/// Splits `query` into terms and "quoted phrases" (an unmatched quote quotes to the end). Terms are the exact terms
/// followed, for each plain word, by its stemmed term (stem_term) when that is new.
KeywordQuery parse_query(std::string_view query);

/// True when `text_words` (from words()) holds `phrase` as a contiguous run.
bool contains_phrase(const std::vector<std::string>& text_words, const std::vector<std::string>& phrase);

}  // namespace leann::keyword
