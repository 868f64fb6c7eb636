// The WordPiece model: a vocabulary with fast lookup, and greedy longest-match-first splitting of one word, equal to
// Hugging Face `tokenizers`' WordPiece.
// Thread-safety: both classes are immutable once built; lookups may run on many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace leann {

/// Token -> id map over one string arena, with open addressing (linear probing, load <= 1/2). A token added twice
/// keeps its last id, as the reference's vocab.txt reader and Python dicts do.
class Vocab {
public:
    void reserve(size_t tokens);
    void add(std::string_view token, int32_t id);

    /// Id of `token`, or -1. O(length of token).
    int32_t find(std::string_view token) const;
    /// A token whose id is `id` (the first added with it), or an empty view when none has it.
    std::string_view token(int32_t id) const;

    /// Number of distinct tokens.
    size_t size() const { return entries_.size(); }
    /// Largest id, or -1 when empty.
    int32_t max_id() const { return max_id_; }
    /// Length in bytes of the longest token.
    size_t max_token_bytes() const { return max_token_bytes_; }

private:
    struct Entry {
        uint64_t hash;
        uint32_t offset;  // into arena_
        uint32_t length;
        int32_t id;
    };
    static uint64_t hash_of(std::string_view token);
    std::string_view text_of(const Entry& e) const { return std::string_view(arena_).substr(e.offset, e.length); }
    void rehash(size_t slot_count);

    std::string arena_;
    std::vector<Entry> entries_;
    std::vector<uint32_t> slots_;  // entry index + 1; 0 is empty
    std::vector<uint32_t> by_id_;  // entry index + 1 per id; 0 when no token has the id
    int32_t max_id_ = -1;
    size_t max_token_bytes_ = 0;
};

struct WordPieceOptions {
    std::string unk_token = "[UNK]";
    std::string continuing_subword_prefix = "##";
    size_t max_input_chars_per_word = 100;
};

class WordPiece {
public:
    /// Throws leann::ModelError when the unknown token is not in `vocab` (the caller adds the file name).
    WordPiece(Vocab vocab, WordPieceOptions options);

    /// Appends the ids of the pieces of `word` (valid UTF-8 of `char_count` code points, no whitespace) to `ids`:
    /// greedy longest-match-first, pieces after the first carry the continuing prefix. A word longer than
    /// max_input_chars_per_word, or one with a part that matches nothing, becomes the single unknown id.
    /// `scratch` is a buffer the caller reuses between calls.
    void tokenize_word(std::string_view word, size_t char_count, std::vector<int32_t>& ids, std::string& scratch) const;

    const Vocab& vocab() const { return vocab_; }
    int32_t unk_id() const { return unk_id_; }
    const WordPieceOptions& options() const { return options_; }

private:
    Vocab vocab_;
    WordPieceOptions options_;
    int32_t unk_id_;
};

}  // namespace leann
