// ingest room: cutting a document's text into chunks measured in the model's own tokens. Prose is cut at
// paragraph, then sentence, then word boundaries; code at blank lines, then lines, then words. A chunk never
// exceeds max_tokens (specials included), so the encoder never truncates it; consecutive chunks share up to
// overlap_tokens of whole units. Every chunk is a contiguous slice of the source (trimmed), with its lines.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "leann/tokenizer.h"

namespace leann::ingest {

struct ChunkOptions {
    size_t max_tokens = 256;     // per chunk, [CLS] and [SEP] included (at least 8)
    size_t overlap_tokens = 32;  // tokens of whole units repeated from the end of the previous chunk
    bool code = false;           // source code: blank-line blocks and lines instead of paragraphs and sentences
};

struct TextChunk {
    std::string text;
    size_t first_line = 1;  // 1-based, in the source text
    size_t last_line = 1;
    size_t tokens = 0;      // model tokens, specials included (<= max_tokens)
};

std::vector<TextChunk> chunk_text(std::string_view text, const Tokenizer& tokenizer, const ChunkOptions& options);

}  // namespace leann::ingest
