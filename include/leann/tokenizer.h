// BERT WordPiece tokenizer, equal to the Hugging Face `tokenizers` BertNormalizer + BertPreTokenizer +
// WordPiece + [CLS]/[SEP] template on the models we support.
// Thread-safety: a loaded Tokenizer is immutable; encode() may be called from many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace leann {

class Tokenizer {
public:
    /// Loads `tokenizer.json` from `model_dir`, or else `vocab.txt` with `tokenizer_config.json` (do_lower_case,
    /// strip_accents, tokenize_chinese_chars). Throws leann::ModelError naming the file on a missing or malformed
    /// file, or on a tokenizer.json whose model is not WordPiece.
    static Tokenizer load(const std::filesystem::path& model_dir);

    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;
    ~Tokenizer();

    /// Token ids of `text` framed as [CLS] ... [SEP]. When `max_tokens` > 0 the word pieces are cut so that the
    /// whole sequence (specials included) has at most `max_tokens` ids, as sentence-transformers truncates.
    /// Invalid UTF-8 in `text` is repaired (each bad sequence becomes U+FFFD, which the normaliser drops).
    std::vector<int32_t> encode(std::string_view text, size_t max_tokens = 0) const;

    /// The word pieces of `text` (no special tokens), for inspection and tests.
    std::vector<std::string> tokenize(std::string_view text) const;

    size_t vocab_size() const;
    int32_t cls_id() const;
    int32_t sep_id() const;
    int32_t pad_id() const;
    int32_t unk_id() const;

private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace leann
