// BERT text normalisation and pre-tokenisation over code points, equal to Hugging Face `tokenizers`' BertNormalizer
// and BertPreTokenizer (the character tables in unicode_tables.h are measured from that reference).
// Thread-safety: a BertNormalizer is immutable; both functions may run on many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace leann {

struct BertNormalizerOptions {
    bool clean_text = true;            // drop control/format/private-use chars, NUL, U+FFFD; whitespace -> ' '
    bool handle_chinese_chars = true;  // put a space on each side of every CJK ideograph
    bool strip_accents = true;         // NFD, then drop nonspacing marks (the loader resolves null to `lowercase`)
    bool lowercase = true;             // per code point, possibly expanding (U+0130 -> "i\u0307")
};

class BertNormalizer {
public:
    explicit BertNormalizer(BertNormalizerOptions options = {});

    /// Appends the normalised form of `text` to `out`. The steps run in the reference's order: clean_text,
    /// handle_chinese_chars, strip_accents (NFD with canonical reordering of marks), lowercase.
    void normalize(std::u32string_view text, std::u32string& out) const;

    const BertNormalizerOptions& options() const { return options_; }

private:
    BertNormalizerOptions options_;
    // What the general path makes of each ASCII code point in these settings (one code point or nothing: -1),
    // computed by that path at construction. ASCII never decomposes and is a starter, so a table lookup is exact.
    int8_t ascii_[128];
};

/// A word of pre-tokenised text: code point offsets [begin, end).
struct WordSpan {
    size_t begin;
    size_t end;
};

/// Splits `text` as BertPreTokenizer does and appends the words to `words`: whitespace separates words and is
/// dropped, each punctuation character (ASCII punctuation or a Unicode P* category) is a word of its own.
void bert_pre_tokenize(std::u32string_view text, std::vector<WordSpan>& words);

}  // namespace leann
