#include "ingest/chunker.h"

#include <algorithm>
#include <numeric>

#include "leann/error.h"

namespace leann::ingest {

namespace {

/// A piece of the source that is never split further unless it alone exceeds the budget.
struct Unit {
    size_t begin, end;         // byte range in the source, trimmed
    size_t tokens;             // word pieces, no specials
    bool starts_block = false;  // first unit of a paragraph (prose) or of a blank-line block (code)
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Splitter {
public:
    Splitter(std::string_view text, const Tokenizer& tokenizer, size_t budget, bool code)
        : text_(text), tokenizer_(tokenizer), budget_(budget), code_(code) {}

    /// Sentences (prose) or lines (code), longer ones cut at words and then bytes; the first unit of each
    /// paragraph or blank-line block is marked so packing can prefer to end chunks there.
    std::vector<Unit> units() {
        for (auto [b, e] : blocks()) {
            const size_t first = units_.size();
            add(b, e, 0);
            if (units_.size() > first) units_[first].starts_block = true;
        }
        return std::move(units_);
    }

private:
    size_t count(size_t b, size_t e) const {
        const size_t ids = tokenizer_.encode(text_.substr(b, e - b)).size();
        return ids >= 2 ? ids - 2 : 0;
    }

    /// Adds [b, e) trimmed as units: level 0 is a paragraph or code block (split into sentences or lines),
    /// 1 a sentence or line (kept whole if it fits, else cut at words), 2 a run of words (else cut at bytes).
    void add(size_t b, size_t e, int level) {
        while (b < e && is_space(text_[b])) ++b;
        while (e > b && is_space(text_[e - 1])) --e;
        if (b == e) return;
        if (level == 0) {  // a paragraph or block: its sentences or lines are the units
            for (auto [pb, pe] : code_ ? lines(b, e) : sentences(b, e)) add(pb, pe, 1);
            return;
        }
        const size_t tokens = count(b, e);
        if (tokens == 0) return;  // nothing the model sees (control characters, dropped code points)
        // Over 64 bytes per token is a blob WordPiece sees as a few [UNK]s: cut it too, to keep chunks bounded.
        if (tokens <= budget_ && e - b <= budget_ * 64) {
            units_.push_back({b, e, tokens});
            return;
        }
        if (level >= 2) return split_bytes(b, e);
        const auto parts = words(b, e);
        if (parts.size() <= 1) return add(b, e, level + 1);
        pack(parts, level + 1);
    }

    /// Re-joins consecutive words greedily while they fit, so a long sentence becomes a few word runs rather
    /// than one unit per word; a word too long on its own is cut at bytes.
    void pack(const std::vector<std::pair<size_t, size_t>>& parts, int level) {
        size_t start = parts.front().first, end = start, tokens = 0;
        for (auto [b, e] : parts) {
            const size_t t = count(b, e);
            if (tokens > 0 && tokens + t > budget_) {
                add(start, end, level);
                start = b;
                tokens = 0;
            }
            end = e;
            tokens += t;
        }
        if (tokens > 0) add(start, end, level);
    }

    /// A piece with no break inside (an enormous word, a base64 blob, CJK text without spaces): cut at UTF-8
    /// character boundaries, each piece as long as fits. A window of 64 bytes per token bounds the work per piece
    /// (and the size of a piece the model sees as a few [UNK] tokens).
    void split_bytes(size_t b, size_t e) {
        std::vector<size_t> cuts;  // character boundaries in (b, window end]
        while (b < e) {
            const size_t window = std::min(e, b + budget_ * 64);
            cuts.clear();
            for (size_t i = b + 1; i <= window; ++i)
                if (i == window || (static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) cuts.push_back(i);
            // Largest cut whose piece fits; the first cut (one character) always counts as fitting.
            size_t lo = 0, hi = cuts.size() - 1;
            while (lo < hi) {
                const size_t mid = lo + (hi - lo + 1) / 2;
                if (count(b, cuts[mid]) <= budget_)
                    lo = mid;
                else
                    hi = mid - 1;
            }
            const size_t cut = cuts[lo];
            const size_t tokens = count(b, cut);
            if (tokens > 0) units_.push_back({b, cut, tokens});
            b = cut;
        }
    }

    std::vector<std::pair<size_t, size_t>> blocks() const {
        std::vector<std::pair<size_t, size_t>> out;
        size_t pos = 0, block_start = std::string_view::npos;
        while (pos <= text_.size()) {
            size_t eol = text_.find('\n', pos);
            if (eol == std::string_view::npos) eol = text_.size();
            const std::string_view line = text_.substr(pos, eol - pos);
            const bool blank = std::all_of(line.begin(), line.end(), is_space);
            if (blank && block_start != std::string_view::npos) {
                out.emplace_back(block_start, pos);
                block_start = std::string_view::npos;
            } else if (!blank && block_start == std::string_view::npos) {
                block_start = pos;
            }
            pos = eol + 1;
        }
        if (block_start != std::string_view::npos) out.emplace_back(block_start, text_.size());
        return out;
    }

    std::vector<std::pair<size_t, size_t>> lines(size_t b, size_t e) const {
        std::vector<std::pair<size_t, size_t>> out;
        while (b < e) {
            size_t eol = text_.find('\n', b);
            if (eol == std::string_view::npos || eol > e) eol = e;
            out.emplace_back(b, eol);
            b = eol + 1;
        }
        return out;
    }

    /// Sentence ends: '.', '!' or '?' (and the CJK full stops) followed by white space, or a line break.
    std::vector<std::pair<size_t, size_t>> sentences(size_t b, size_t e) const {
        std::vector<std::pair<size_t, size_t>> out;
        size_t start = b;
        for (size_t i = b; i < e; ++i) {
            const char c = text_[i];
            bool end = false;
            if ((c == '.' || c == '!' || c == '?') && i + 1 < e && is_space(text_[i + 1])) end = true;
            if (c == '\n') end = true;
            // U+3002 and U+FF01/FF1F in UTF-8: E3 80 82, EF BC 81, EF BC 9F
            if (i + 2 < e && ((text_.substr(i, 3) == "\xE3\x80\x82") || text_.substr(i, 3) == "\xEF\xBC\x81" ||
                              text_.substr(i, 3) == "\xEF\xBC\x9F")) {
                i += 2;
                end = true;
            }
            if (end) {
                out.emplace_back(start, i + 1);
                start = i + 1;
            }
        }
        if (start < e) out.emplace_back(start, e);
        return out;
    }

    std::vector<std::pair<size_t, size_t>> words(size_t b, size_t e) const {
        std::vector<std::pair<size_t, size_t>> out;
        size_t i = b;
        while (i < e) {
            while (i < e && is_space(text_[i])) ++i;
            const size_t start = i;
            while (i < e && !is_space(text_[i])) ++i;
            if (i > start) out.emplace_back(start, i);
        }
        return out;
    }

    std::string_view text_;
    const Tokenizer& tokenizer_;
    size_t budget_;
    bool code_;
    std::vector<Unit> units_;
};

}  // namespace

std::vector<TextChunk> chunk_text(std::string_view text, const Tokenizer& tokenizer, const ChunkOptions& options) {
    if (options.max_tokens < 8) throw Error("chunk size must be at least 8 tokens");
    const size_t budget = options.max_tokens - 2;  // [CLS] and [SEP]
    const size_t overlap = std::min(options.overlap_tokens, budget / 2);
    const std::vector<Unit> units = Splitter(text, tokenizer, budget, options.code).units();

    std::vector<size_t> line_starts = {0};
    for (size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n') line_starts.push_back(i + 1);
    auto line_of = [&](size_t offset) {
        return size_t(std::upper_bound(line_starts.begin(), line_starts.end(), offset) - line_starts.begin());
    };

    std::vector<TextChunk> chunks;
    size_t i = 0;
    while (i < units.size()) {
        size_t j = i, tokens = 0;
        while (j < units.size() && tokens + units[j].tokens <= budget &&
               units[j].end - units[i].begin <= budget * 64)  // bytes bounded too (see Splitter::add)
            tokens += units[j++].tokens;
        if (j == i) ++j;  // cannot happen (units fit the budget), but never loop forever
        // Prefer to end at a paragraph or block boundary when that keeps the chunk at least half full.
        if (j < units.size() && !units[j].starts_block) {
            size_t filled = tokens;
            for (size_t b = j - 1; b > i; --b) {
                filled -= units[b].tokens;
                if (filled * 2 < budget) break;
                if (units[b].starts_block) {
                    j = b;
                    break;
                }
            }
        }
        TextChunk chunk;
        chunk.text = std::string(text.substr(units[i].begin, units[j - 1].end - units[i].begin));
        chunk.tokens = tokenizer.encode(chunk.text).size();
        // Word pieces add up across white space, so the sum is exact; the check guards the rare case where
        // joining changes the count (a unit boundary inside a run of punctuation).
        while (chunk.tokens > options.max_tokens && j > i + 1) {
            --j;
            chunk.text = std::string(text.substr(units[i].begin, units[j - 1].end - units[i].begin));
            chunk.tokens = tokenizer.encode(chunk.text).size();
        }
        chunk.first_line = line_of(units[i].begin);
        chunk.last_line = line_of(units[j - 1].end - 1);
        chunks.push_back(std::move(chunk));
        if (j >= units.size()) break;
        // The next chunk starts with the last whole units of this one that fit in the overlap.
        size_t k = j, carried = 0;
        while (k > i + 1 && carried + units[k - 1].tokens <= overlap) carried += units[--k].tokens;
        i = k;
    }
    return chunks;
}

}  // namespace leann::ingest
