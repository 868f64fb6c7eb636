#include "embed/bert_normalizer.h"

#include <algorithm>
#include <iterator>

#include "embed/unicode_tables.h"
#include "util/check.h"

namespace leann {
namespace {

// Appends `c` (already through clean_text and handle_chinese_chars) as strip_accents and lowercase see it.
// `run_start` is where the trailing run of code points with a nonzero combining class begins in `out`: NFD sorts
// such a run by class (stably), and a starter (class 0) ends it, even one that strip_accents then drops.
// Lowercasing each code point as it is emitted equals lowercasing after the reordering because no code point with
// a nonzero combining class has a lowercase form (the table generator checks this).
void append_decomposed(char32_t c, const BertNormalizerOptions& options, std::u32string& out, size_t& run_start) {
    const auto append_lower = [&](char32_t d, unicode::CharProps props) {
        if (options.lowercase && props.has_lowercase()) {
            const std::u32string_view lower = unicode::lowercase_mapping(d);
            out.append(lower.data(), lower.size());
        } else {
            out.push_back(d);
        }
    };
    const unicode::CharProps props = unicode::char_props(c);
    if (!options.strip_accents) {
        append_lower(c, props);
        return;
    }
    char32_t decomposed[unicode::max_decomposition_length];
    size_t count = 1;
    decomposed[0] = c;
    if (props.decomposes()) count = unicode::canonical_decomposition(c, decomposed);
    for (size_t k = 0; k < count; ++k) {
        const char32_t d = decomposed[k];
        const unicode::CharProps d_props = props.decomposes() ? unicode::char_props(d) : props;
        const uint8_t klass = d_props.combining_class();
        if (klass == 0) {
            if (!d_props.is_nonspacing_mark()) append_lower(d, d_props);
            run_start = out.size();
        } else if (!d_props.is_nonspacing_mark()) {
            size_t i = out.size();
            out.push_back(d);
            while (i > run_start && unicode::char_props(out[i - 1]).combining_class() > klass) {
                out[i] = out[i - 1];
                --i;
            }
            out[i] = d;
        }
    }
}

// One input code point through every step.
void append_normalized(char32_t c, const BertNormalizerOptions& options, std::u32string& out, size_t& run_start) {
    const unicode::CharProps props = unicode::char_props(c);
    if (options.clean_text) {
        if (props.is_other()) return;  // gone before NFD sees the text: it does not end a run of marks
        if (props.is_clean_space()) c = U' ';
    }
    if (options.handle_chinese_chars && props.is_chinese()) {
        out.push_back(U' ');
        run_start = out.size();
        append_decomposed(c, options, out, run_start);
        out.push_back(U' ');
        run_start = out.size();
    } else {
        append_decomposed(c, options, out, run_start);
    }
}

}  // namespace

BertNormalizer::BertNormalizer(BertNormalizerOptions options) : options_(options) {
    std::u32string out;
    for (char32_t c = 0; c < 0x80; ++c) {
        out.clear();
        size_t run_start = 0;
        append_normalized(c, options_, out, run_start);
        LEANN_CHECK(out.size() <= 1 && (out.empty() || out[0] < 0x80), "ASCII must normalise to ASCII");
        ascii_[c] = out.empty() ? int8_t{-1} : static_cast<int8_t>(out[0]);
    }
}

void BertNormalizer::normalize(std::u32string_view text, std::u32string& out) const {
    out.reserve(out.size() + text.size() + text.size() / 8);
    size_t run_start = out.size();
    for (const char32_t c : text) {
        if (c < 0x80) {
            if (ascii_[c] >= 0) {
                out.push_back(static_cast<char32_t>(ascii_[c]));
                run_start = out.size();  // a starter
            }
        } else {
            append_normalized(c, options_, out, run_start);
        }
    }
}

void bert_pre_tokenize(std::u32string_view text, std::vector<WordSpan>& words) {
    constexpr size_t none = static_cast<size_t>(-1);
    size_t word_start = none;
    for (size_t i = 0; i < text.size(); ++i) {
        const unicode::CharProps props = unicode::char_props(text[i]);
        if (props.is_whitespace() || props.is_punctuation()) {
            if (word_start != none) words.push_back({word_start, i});
            word_start = none;
            if (props.is_punctuation()) words.push_back({i, i + 1});
        } else if (word_start == none) {
            word_start = i;
        }
    }
    if (word_start != none) words.push_back({word_start, text.size()});
}

}  // namespace leann
