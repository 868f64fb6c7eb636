// Chunking in the model's own tokens (real all-MiniLM-L6-v2 tokenizer) on real text: the GPL-3 licence (prose)
// and stdio.h (code), plus degenerate inputs. Every chunk fits the model, is a slice of the source with the right
// lines, and together the chunks cover every non-blank byte.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "ingest/chunker.h"
#include "leann/error.h"
#include "test_support.h"

namespace leann::ingest {
namespace {

std::string read_file(const char* path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

const Tokenizer& tokenizer() {
    static const Tokenizer t = [] {
        const auto dir = testing::default_model_dir();
        if (!std::filesystem::exists(dir / "config.json")) throw std::runtime_error(testing::model_missing_message(dir));
        return Tokenizer::load(dir);
    }();
    return t;
}

/// Checks the invariants and returns, per chunk, its byte offset in the source.
std::vector<size_t> check_chunks(const std::string& source, const std::vector<TextChunk>& chunks,
                                 const ChunkOptions& options) {
    std::vector<size_t> offsets;
    std::vector<bool> covered(source.size(), false);
    size_t search_from = 0;
    for (const TextChunk& c : chunks) {
        EXPECT_FALSE(c.text.empty());
        EXPECT_EQ(c.tokens, tokenizer().encode(c.text).size());
        EXPECT_LE(c.tokens, options.max_tokens) << c.text.substr(0, 80);
        const size_t at = source.find(c.text, search_from);
        EXPECT_NE(at, std::string::npos) << "not a slice of the source: " << c.text.substr(0, 80);
        if (at == std::string::npos) continue;
        offsets.push_back(at);
        search_from = at + 1;
        const size_t first_line = 1 + size_t(std::count(source.begin(), source.begin() + std::ptrdiff_t(at), '\n'));
        const size_t last_line = first_line + size_t(std::count(c.text.begin(), c.text.end(), '\n'));
        EXPECT_EQ(c.first_line, first_line);
        EXPECT_EQ(c.last_line, last_line);
        for (size_t i = at; i < at + c.text.size(); ++i) covered[i] = true;
    }
    for (size_t i = 0; i < source.size(); ++i)
        if (!std::isspace(static_cast<unsigned char>(source[i])) && !covered[i]) {
            ADD_FAILURE() << "byte " << i << " is in no chunk: " << source.substr(i, 40);
            break;
        }
    return offsets;
}

TEST(Chunker, ProseAtParagraphAndSentenceBoundaries) {
    const std::string gpl = read_file("/usr/share/common-licenses/GPL-3");
    ASSERT_GT(gpl.size(), 30000u);
    ChunkOptions options;
    options.max_tokens = 256;
    options.overlap_tokens = 0;
    const auto chunks = chunk_text(gpl, tokenizer(), options);
    ASSERT_GT(chunks.size(), 20u);
    check_chunks(gpl, chunks, options);
    size_t total = 0;
    for (const auto& c : chunks) total += c.tokens;
    EXPECT_GT(double(total) / double(chunks.size()), 150.0) << "chunks should be filled, not one sentence each";
    // Cut at sentence or paragraph ends (the licence has no sentence over the limit): a chunk ends with a
    // sentence mark or at the end of a line, and most chunks end a paragraph.
    size_t paragraph_ends = 0;
    size_t from = 0;
    for (const auto& c : chunks) {
        const size_t at = gpl.find(c.text, from);
        from = at + 1;
        const size_t end = at + c.text.size();
        const char last = c.text.back();
        EXPECT_TRUE(end == gpl.size() || gpl[end] == '\n' || last == '.' || last == '?' || last == '!')
            << c.text.substr(c.text.size() > 60 ? c.text.size() - 60 : 0);
        if (end == gpl.size() || gpl.compare(end, 2, "\n\n") == 0) ++paragraph_ends;
    }
    EXPECT_GT(paragraph_ends * 2, chunks.size());
}

TEST(Chunker, OverlapRepeatsTheEndOfThePreviousChunk) {
    const std::string gpl = read_file("/usr/share/common-licenses/GPL-3");
    ChunkOptions options;
    options.max_tokens = 128;
    options.overlap_tokens = 48;
    const auto chunks = chunk_text(gpl, tokenizer(), options);
    const auto offsets = check_chunks(gpl, chunks, options);
    size_t overlapping = 0;
    for (size_t i = 1; i < offsets.size(); ++i)
        if (offsets[i] < offsets[i - 1] + chunks[i - 1].text.size()) ++overlapping;
    EXPECT_GT(overlapping, offsets.size() / 2);
    ChunkOptions none = options;
    none.overlap_tokens = 0;
    EXPECT_LT(chunk_text(gpl, tokenizer(), none).size(), chunks.size());
}

TEST(Chunker, CodeAtBlankLinesAndLines) {
    const std::string code = read_file("/usr/include/stdio.h");
    ASSERT_GT(code.size(), 10000u);
    ChunkOptions options;
    options.max_tokens = 200;
    options.overlap_tokens = 0;
    options.code = true;
    const auto chunks = chunk_text(code, tokenizer(), options);
    const auto offsets = check_chunks(code, chunks, options);
    for (size_t at : offsets) {  // code chunks start at the first non-blank character of a line
        size_t line_start = code.rfind('\n', at == 0 ? 0 : at - 1);
        line_start = line_start == std::string::npos || at == 0 ? 0 : line_start + 1;
        for (size_t i = line_start; i < at; ++i) EXPECT_TRUE(std::isspace(static_cast<unsigned char>(code[i])));
    }
}

TEST(Chunker, DegenerateInputs) {
    ChunkOptions options;
    options.max_tokens = 32;
    EXPECT_TRUE(chunk_text("", tokenizer(), options).empty());
    EXPECT_TRUE(chunk_text(" \n\n\t \n", tokenizer(), options).empty());
    const auto one = chunk_text("\n\nHello world.\nSecond line.\n", tokenizer(), options);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].text, "Hello world.\nSecond line.");
    EXPECT_EQ(one[0].first_line, 3u);
    EXPECT_EQ(one[0].last_line, 4u);
    // One enormous word (a base64 blob, a minified line; WordPiece makes any word over 100 characters one
    // [UNK]): cut inside it into bounded pieces, every piece within the limit.
    std::string blob(20000, 'q');
    uint32_t state = 12345;  // not periodic, so each piece occurs once in the blob
    for (char& c : blob) c = char('a' + (state = state * 1103515245u + 12345u) % 26);
    const auto pieces = chunk_text(blob, tokenizer(), options);
    EXPECT_GE(pieces.size(), 5u);
    check_chunks(blob, pieces, options);
    // Multi-byte characters are never cut in half.
    std::string cjk;
    for (int i = 0; i < 3000; ++i) cjk += "\xE6\xBC\xA2";  // 漢, no spaces
    options.overlap_tokens = 0;
    const auto cjk_chunks = chunk_text(cjk, tokenizer(), options);
    EXPECT_GE(cjk_chunks.size(), 3000u / 30);
    size_t bytes = 0;
    for (const auto& c : cjk_chunks) {
        EXPECT_EQ(c.text.size() % 3, 0u);
        EXPECT_LE(c.tokens, options.max_tokens);
        bytes += c.text.size();
    }
    EXPECT_EQ(bytes, cjk.size()) << "every character in exactly one chunk";
    options.max_tokens = 4;
    EXPECT_THROW(chunk_text("x", tokenizer(), options), Error);
}

}  // namespace
}  // namespace leann::ingest
