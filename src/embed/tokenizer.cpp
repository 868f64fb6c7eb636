// Tokenizer: the loaders (tokenizer.json, or vocab.txt + tokenizer_config.json) and the encode pipeline
// (added tokens -> BertNormalizer -> BertPreTokenizer -> WordPiece -> [CLS] ... [SEP]).
#include "leann/tokenizer.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "embed/bert_normalizer.h"
#include "embed/unicode_tables.h"
#include "embed/wordpiece.h"
#include "leann/error.h"
#include "leann/log.h"
#include "util/json_limits.h"
#include "util/utf8.h"

namespace leann {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Ids index the embedding matrix; no real vocabulary comes near this, and it bounds what a hostile file can make us
// allocate.
constexpr int64_t max_token_id = int64_t{1} << 24;

[[noreturn]] void fail(const fs::path& file, const std::string& what) {
    throw ModelError(file.string() + ": " + what);
}

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(file, "cannot be opened");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) fail(file, "read error");
    return bytes;
}

json read_json(const fs::path& file, const json::parser_callback_t& callback = nullptr) {
    const std::string bytes = read_file(file);
    std::string why;
    json root = json_limits::parse_or_discarded(bytes, callback, &why);
    if (root.is_discarded()) fail(file, "malformed JSON: " + why);
    if (!root.is_object()) fail(file, "expected a JSON object at the top level");
    return root;
}

// Typed access to optional members; a member that is present with the wrong type is an error naming the field.
class JsonReader {
public:
    explicit JsonReader(fs::path file) : file_(std::move(file)) {}

    [[noreturn]] void fail_field(const std::string& field, const std::string& what) const {
        fail(file_, "field " + field + ": " + what);
    }

    // The member, or nullptr when it is absent or null.
    static const json* member(const json& object, const char* key) {
        if (!object.is_object()) return nullptr;
        auto it = object.find(key);
        return it == object.end() || it->is_null() ? nullptr : &*it;
    }
    bool boolean(const json& object, const char* key, const std::string& field, bool fallback) const {
        const json* v = member(object, key);
        if (!v) return fallback;
        if (!v->is_boolean()) fail_field(field, "expected true or false");
        return v->get<bool>();
    }
    std::optional<bool> optional_boolean(const json& object, const char* key, const std::string& field) const {
        if (!member(object, key)) return std::nullopt;
        return boolean(object, key, field, false);
    }
    std::string string(const json& object, const char* key, const std::string& field,
                       std::optional<std::string> fallback = std::nullopt) const {
        const json* v = member(object, key);
        if (!v) {
            if (!fallback) fail_field(field, "missing");
            return *fallback;
        }
        if (!v->is_string()) fail_field(field, "expected a string");
        return v->get<std::string>();
    }
    int64_t integer(const json& value, const std::string& field, int64_t min, int64_t max) const {
        if (!value.is_number_integer()) fail_field(field, "expected an integer");
        const int64_t i = value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{INT64_MAX}
                              ? INT64_MAX
                              : value.get<int64_t>();
        if (i < min || i > max)
            fail_field(field,
                       std::to_string(i) + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
        return i;
    }
    int32_t token_id(const json& value, const std::string& field) const {
        return static_cast<int32_t>(integer(value, field, 0, max_token_id - 1));
    }

private:
    fs::path file_;
};

struct AddedToken {
    std::u32string content;
    int32_t id = 0;
    bool lstrip = false;
    bool rstrip = false;
};

// Finds added tokens in text as the reference does (Aho-Corasick, leftmost-longest, non-overlapping): at the first
// position where any token matches, the longest one wins. lstrip/rstrip make the match swallow whitespace around it.
class AddedTokenSplitter {
public:
    void add(AddedToken token) {
        if (token.content.empty()) return;
        const char32_t first = token.content[0];
        if (first < 0x80) {
            ascii_first_[first / 64] |= uint64_t{1} << (first % 64);
        } else {
            other_first_.insert(std::lower_bound(other_first_.begin(), other_first_.end(), first), first);
        }
        tokens_.push_back(std::move(token));
    }
    bool empty() const { return tokens_.empty(); }
    const std::vector<AddedToken>& tokens() const { return tokens_; }

    // Calls on_text(view) for each stretch between matches and on_token(id) for each match, in order.
    template <class OnText, class OnToken>
    void split(std::u32string_view text, OnText&& on_text, OnToken&& on_token) const {
        size_t segment_start = 0;
        size_t i = 0;
        while (i < text.size()) {
            const AddedToken* best = nullptr;
            if (may_start_token(text[i])) {
                const std::u32string_view rest = text.substr(i);
                for (const AddedToken& t : tokens_) {
                    if ((!best || t.content.size() > best->content.size()) && rest.starts_with(t.content)) best = &t;
                }
            }
            if (!best) {
                ++i;
                continue;
            }
            size_t begin = i, end = i + best->content.size();
            if (best->lstrip) {
                while (begin > segment_start && unicode::char_props(text[begin - 1]).is_whitespace()) --begin;
            }
            if (best->rstrip) {
                while (end < text.size() && unicode::char_props(text[end]).is_whitespace()) ++end;
            }
            if (begin > segment_start) on_text(text.substr(segment_start, begin - segment_start));
            on_token(best->id);
            segment_start = i = end;
        }
        if (segment_start < text.size()) on_text(text.substr(segment_start));
    }

private:
    // The scan runs over every character of the text, so the common case (no token starts here) is one bit test.
    bool may_start_token(char32_t c) const {
        if (c < 0x80) return (ascii_first_[c / 64] >> (c % 64)) & 1;
        return !other_first_.empty() && std::binary_search(other_first_.begin(), other_first_.end(), c);
    }

    std::vector<AddedToken> tokens_;
    uint64_t ascii_first_[2] = {0, 0};   // bit c: some token starts with ASCII c
    std::vector<char32_t> other_first_;  // sorted first code points >= 0x80
};

// Per-call buffers of encode(), so that the words of a text reuse the same allocations.
struct EncodeScratch {
    std::u32string normalized;
    std::vector<WordSpan> words;
    std::string word;
    std::string piece;
};

// Everything a loaded tokenizer holds, and the encode pipeline over it.
struct Pipeline {
    static constexpr size_t chunk_code_points = 2048;

    Pipeline(BertNormalizer n, bool pre_tok, WordPiece m) : normalizer(n), pre_tokenize(pre_tok), model(std::move(m)) {}

    BertNormalizer normalizer;
    bool pre_tokenize;  // BertPreTokenizer; without it each text segment is one word
    WordPiece model;
    AddedTokenSplitter raw_added;         // matched in the text as given
    AddedTokenSplitter normalized_added;  // matched in the normalised text (contents normalised too)
    int32_t cls = 0, sep = 0, pad = 0;
    size_t vocab_size = 0;

    // Appends the piece ids of `text` to `ids`, stopping early once `ids` holds `limit` (later words cannot change
    // earlier pieces, so the cut is the same as cutting the full result).
    void append_pieces(std::u32string_view text, size_t limit, std::vector<int32_t>& ids, EncodeScratch& s) const {
        const auto push_token = [&](int32_t id) { ids.push_back(id); };
        raw_added.split(
            text,
            [&](std::u32string_view segment) {
                // With a limit, a long segment is normalised a chunk at a time so that truncation costs O(limit),
                // not O(text). A chunk ends just after an ASCII whitespace character: every setting keeps it and it
                // is a starter, so no NFD reordering crosses it, and the pre-tokeniser ends a word there. Without a
                // pre-tokeniser, or with added tokens matched after normalisation, the segment stays whole.
                const bool chunked =
                    limit != std::numeric_limits<size_t>::max() && pre_tokenize && normalized_added.empty();
                while (!segment.empty() && ids.size() < limit) {
                    size_t end = segment.size();
                    if (chunked && end > chunk_code_points) {
                        const size_t cut = segment.find_first_of(U" \t\n\r", chunk_code_points);
                        end = cut == std::u32string_view::npos ? end : cut + 1;
                    }
                    append_normalized(segment.substr(0, end), limit, ids, s);
                    segment.remove_prefix(end);
                }
            },
            push_token);
    }

    void append_normalized(std::u32string_view segment, size_t limit, std::vector<int32_t>& ids,
                           EncodeScratch& s) const {
        s.normalized.clear();
        normalizer.normalize(segment, s.normalized);
        if (normalized_added.empty()) {
            append_words(s.normalized, limit, ids, s);
        } else {
            normalized_added.split(
                s.normalized, [&](std::u32string_view part) { append_words(part, limit, ids, s); },
                [&](int32_t id) { ids.push_back(id); });
        }
    }

    void append_words(std::u32string_view text, size_t limit, std::vector<int32_t>& ids, EncodeScratch& s) const {
        s.words.clear();
        if (pre_tokenize) {
            bert_pre_tokenize(text, s.words);
        } else if (!text.empty()) {
            s.words.push_back({0, text.size()});
        }
        for (const WordSpan& w : s.words) {
            if (ids.size() >= limit) return;
            s.word.clear();
            for (size_t i = w.begin; i < w.end; ++i) {
                if (text[i] < 0x80) {
                    s.word.push_back(static_cast<char>(text[i]));
                } else {
                    utf8::append(s.word, text[i]);
                }
            }
            model.tokenize_word(s.word, w.end - w.begin, ids, s.piece);
        }
    }

    std::string token_text(int32_t id) const {
        for (const AddedTokenSplitter* added : {&raw_added, &normalized_added}) {
            for (const AddedToken& t : added->tokens()) {
                if (t.id == id) return utf8::encode(t.content);
            }
        }
        return std::string(model.vocab().token(id));
    }
};

// The special tokens of a template: "single" must be [SpecialToken, Sequence A, SpecialToken], each special
// token mapping to one id.
std::pair<int32_t, int32_t> template_specials(const JsonReader& r, const json& processor) {
    const json* single = JsonReader::member(processor, "single");
    const json* specials = JsonReader::member(processor, "special_tokens");
    if (!single || !single->is_array() || single->size() != 3 || !(*single)[0].contains("SpecialToken") ||
        !(*single)[1].contains("Sequence") || !(*single)[2].contains("SpecialToken"))
        r.fail_field("post_processor.single", "only the template [CLS] $A [SEP] is supported");
    if (!specials || !specials->is_object()) r.fail_field("post_processor.special_tokens", "missing");
    const auto id_of = [&](const json& piece, const char* which) {
        const std::string name = r.string(piece["SpecialToken"], "id", std::string("post_processor.single.") + which);
        const std::string field = "post_processor.special_tokens." + name;
        const json* entry = JsonReader::member(*specials, name.c_str());
        if (!entry) r.fail_field(field, "missing");
        const json* ids = JsonReader::member(*entry, "ids");
        if (!ids || !ids->is_array() || ids->size() != 1) r.fail_field(field + ".ids", "expected exactly one id");
        return r.token_id((*ids)[0], field + ".ids");
    };
    return {id_of((*single)[0], "cls"), id_of((*single)[2], "sep")};
}

// Id of a special token given by name: an added token first, then the vocabulary.
std::optional<int32_t> find_special(const Pipeline& impl, std::string_view name) {
    const std::u32string content = utf8::decode(name);
    for (const AddedTokenSplitter* added : {&impl.raw_added, &impl.normalized_added}) {
        for (const AddedToken& t : added->tokens()) {
            if (t.content == content) return t.id;
        }
    }
    const int32_t id = impl.model.vocab().find(name);
    return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
}

// model.vocab's members (token, id) in file order, taken as the parser reads them and left out of the document:
// building tens of thousands of them into it (a std::map of json values) and tearing it down was most of the
// tokenizer's load time, which a one-shot search waits for.
struct VocabTaker {
    std::vector<std::pair<std::string, json>> entries;
    std::string top_key, model_key;      // the last keys read in the root object and in its "model" object
    std::optional<std::string> pending;  // a vocabulary token whose value comes next

    bool in_vocab() const { return top_key == "model" && model_key == "vocab"; }
    bool operator()(int depth, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::key:
                if (depth == 1) {
                    top_key = parsed.get<std::string>();
                    // A repeated key replaces the earlier value in the document: so it does here.
                    if (top_key == "model") entries.clear();
                }
                if (depth == 2 && top_key == "model") {
                    model_key = parsed.get<std::string>();
                    if (model_key == "vocab") entries.clear();
                }
                if (depth == 3 && in_vocab()) {
                    pending = parsed.get<std::string>();
                    return false;  // neither the key nor its value enter the document
                }
                return true;
            case json::parse_event_t::value:
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start:
                if (depth == 3 && pending) {
                    // A nested value is not an id: kept as null, which the id check refuses by name.
                    entries.emplace_back(std::move(*pending), event == json::parse_event_t::value ? parsed : json());
                    pending.reset();
                    return false;
                }
                return true;
            default:
                return true;
        }
    }
};

std::unique_ptr<Pipeline> load_tokenizer_json(const fs::path& file) {
    VocabTaker taken;
    const json root = read_json(
        file, [&taken](int depth, json::parse_event_t event, json& parsed) { return taken(depth, event, parsed); });
    const JsonReader r(file);

    const json* model = JsonReader::member(root, "model");
    if (!model || !model->is_object()) r.fail_field("model", "missing or not an object");
    std::string type = r.string(*model, "type", "model.type", "");
    if (type.empty() && model->contains("continuing_subword_prefix") && !model->contains("merges")) type = "WordPiece";
    if (type != "WordPiece")
        fail(file, "model type \"" + (type.empty() ? std::string("(none)") : type) +
                       "\" is not supported: leann needs a WordPiece (BERT) tokenizer");

    const json* vocab_json = JsonReader::member(*model, "vocab");
    if (!vocab_json || !vocab_json->is_object() || taken.entries.empty())
        r.fail_field("model.vocab", "missing, empty or not an object");
    const auto build_vocab = [&](const std::vector<bool>* keep) {
        Vocab vocab;
        vocab.reserve(taken.entries.size());
        for (size_t e = 0; e < taken.entries.size(); ++e) {
            if (keep && !(*keep)[e]) continue;
            const auto& [token, id] = taken.entries[e];
            if (!utf8::is_valid(token)) r.fail_field("model.vocab", "a token is not valid UTF-8");
            vocab.add(token, r.token_id(id, "model.vocab[\"" + token + "\"]"));
        }
        return vocab;
    };
    Vocab vocab = build_vocab(nullptr);
    if (vocab.size() != taken.entries.size()) {
        // A token given twice: as in the document, only its last value counts (its earlier ids claim nothing).
        std::unordered_map<std::string_view, size_t> last;
        for (size_t e = 0; e < taken.entries.size(); ++e) last[taken.entries[e].first] = e;
        std::vector<bool> keep(taken.entries.size());
        for (const auto& [token, e] : last) keep[e] = true;
        vocab = build_vocab(&keep);
    }
    WordPieceOptions wp;
    wp.unk_token = r.string(*model, "unk_token", "model.unk_token");
    wp.continuing_subword_prefix =
        r.string(*model, "continuing_subword_prefix", "model.continuing_subword_prefix", "##");
    if (const json* v = JsonReader::member(*model, "max_input_chars_per_word"))
        wp.max_input_chars_per_word =
            static_cast<size_t>(r.integer(*v, "model.max_input_chars_per_word", 0, INT32_MAX));
    if (vocab.find(wp.unk_token) < 0) r.fail_field("model.unk_token", "\"" + wp.unk_token + "\" is not in model.vocab");

    BertNormalizerOptions norm{false, false, false, false};
    if (const json* n = JsonReader::member(root, "normalizer")) {
        const std::string n_type = r.string(*n, "type", "normalizer.type");
        if (n_type != "BertNormalizer")
            r.fail_field("normalizer.type", "\"" + n_type + "\" is not supported (expected BertNormalizer)");
        norm.clean_text = r.boolean(*n, "clean_text", "normalizer.clean_text", true);
        norm.handle_chinese_chars = r.boolean(*n, "handle_chinese_chars", "normalizer.handle_chinese_chars", true);
        norm.lowercase = r.boolean(*n, "lowercase", "normalizer.lowercase", true);
        norm.strip_accents =
            r.optional_boolean(*n, "strip_accents", "normalizer.strip_accents").value_or(norm.lowercase);
    }
    bool pre_tokenize = false;
    if (const json* p = JsonReader::member(root, "pre_tokenizer")) {
        const std::string p_type = r.string(*p, "type", "pre_tokenizer.type");
        if (p_type != "BertPreTokenizer")
            r.fail_field("pre_tokenizer.type", "\"" + p_type + "\" is not supported (expected BertPreTokenizer)");
        pre_tokenize = true;
    }

    std::unique_ptr<Pipeline> impl;
    try {
        impl = std::make_unique<Pipeline>(BertNormalizer(norm), pre_tokenize, WordPiece(std::move(vocab), wp));
    } catch (const ModelError& e) {
        fail(file, e.what());
    }
    int64_t max_id = impl->model.vocab().max_id();

    if (const json* added = JsonReader::member(root, "added_tokens")) {
        if (!added->is_array()) r.fail_field("added_tokens", "expected an array");
        for (size_t i = 0; i < added->size(); ++i) {
            const json& a = (*added)[i];
            const std::string field = "added_tokens[" + std::to_string(i) + "]";
            const json* id = JsonReader::member(a, "id");
            if (!id) r.fail_field(field + ".id", "missing");
            AddedToken token;
            token.id = r.token_id(*id, field + ".id");
            const std::string content = r.string(a, "content", field + ".content");
            if (!utf8::is_valid(content)) r.fail_field(field + ".content", "not valid UTF-8");
            token.lstrip = r.boolean(a, "lstrip", field + ".lstrip", false);
            token.rstrip = r.boolean(a, "rstrip", field + ".rstrip", false);
            const bool special = r.boolean(a, "special", field + ".special", false);
            const bool normalized = r.boolean(a, "normalized", field + ".normalized", !special);
            if (r.boolean(a, "single_word", field + ".single_word", false))
                log(LogLevel::warn, file.string() + ": " + field + " (\"" + content +
                                        "\") asks for single_word matching, which leann does not do");
            max_id = std::max<int64_t>(max_id, token.id);
            if (normalized) {
                impl->normalizer.normalize(utf8::decode(content), token.content);
                impl->normalized_added.add(std::move(token));
            } else {
                token.content = utf8::decode(content);
                impl->raw_added.add(std::move(token));
            }
        }
    }

    const json* processor = JsonReader::member(root, "post_processor");
    const std::string processor_type = processor ? r.string(*processor, "type", "post_processor.type") : "";
    if (processor_type == "TemplateProcessing") {
        std::tie(impl->cls, impl->sep) = template_specials(r, *processor);
    } else if (processor_type == "BertProcessing") {
        const auto id_of = [&](const char* key) {
            const json* pair = JsonReader::member(*processor, key);
            const std::string field = std::string("post_processor.") + key;
            if (!pair || !pair->is_array() || pair->size() != 2) r.fail_field(field, "expected [token, id]");
            return r.token_id((*pair)[1], field);
        };
        impl->cls = id_of("cls");
        impl->sep = id_of("sep");
    } else if (processor_type.empty()) {
        const auto id_of = [&](const char* name) {
            const std::optional<int32_t> id = find_special(*impl, name);
            if (!id) r.fail_field("post_processor", std::string("null, and ") + name + " is not in the vocabulary");
            return *id;
        };
        impl->cls = id_of("[CLS]");
        impl->sep = id_of("[SEP]");
    } else {
        r.fail_field("post_processor.type",
                     "\"" + processor_type + "\" is not supported (expected TemplateProcessing)");
    }
    if (const json* padding = JsonReader::member(root, "padding"); padding && JsonReader::member(*padding, "pad_id")) {
        impl->pad = r.token_id((*padding)["pad_id"], "padding.pad_id");
    } else {
        impl->pad = find_special(*impl, "[PAD]").value_or(0);
    }
    impl->vocab_size = static_cast<size_t>(std::max<int64_t>({max_id, impl->cls, impl->sep, impl->pad})) + 1;
    return impl;
}

// A special token named in tokenizer_config.json: a string, or an AddedToken object with "content".
std::string config_token(const JsonReader& r, const json& config, const char* key, const char* fallback) {
    const json* v = JsonReader::member(config, key);
    if (!v) return fallback;
    if (v->is_object()) return r.string(*v, "content", std::string(key) + ".content");
    return r.string(config, key, key);
}

std::unique_ptr<Pipeline> load_vocab_txt(const fs::path& dir) {
    const fs::path file = dir / "vocab.txt";
    const std::string bytes = read_file(file);
    // One token per line; "\n", "\r\n" and "\r" end a line, as Python's text mode reads it.
    Vocab vocab;
    vocab.reserve(static_cast<size_t>(std::count(bytes.begin(), bytes.end(), '\n')) + 1);
    size_t line = 0;
    for (size_t pos = 0; pos < bytes.size(); ++line) {
        size_t end = bytes.find_first_of("\r\n", pos);
        if (end == std::string::npos) end = bytes.size();
        const std::string_view token = std::string_view(bytes).substr(pos, end - pos);
        if (!utf8::is_valid(token)) fail(file, "line " + std::to_string(line + 1) + ": not valid UTF-8");
        if (static_cast<int64_t>(line) >= max_token_id) fail(file, "more than 2^24 tokens");
        vocab.add(token, static_cast<int32_t>(line));
        pos = end + (bytes.compare(end, 2, "\r\n") == 0 ? 2 : 1);
    }
    if (vocab.size() == 0) fail(file, "empty vocabulary");

    const fs::path config_file = dir / "tokenizer_config.json";
    const json config = fs::exists(config_file) ? read_json(config_file) : json::object();
    const JsonReader r(config_file);
    BertNormalizerOptions norm;
    norm.lowercase = r.boolean(config, "do_lower_case", "do_lower_case", true);
    norm.strip_accents = r.optional_boolean(config, "strip_accents", "strip_accents").value_or(norm.lowercase);
    norm.handle_chinese_chars = r.boolean(config, "tokenize_chinese_chars", "tokenize_chinese_chars", true);

    WordPieceOptions wp;
    wp.unk_token = config_token(r, config, "unk_token", "[UNK]");
    const std::string cls = config_token(r, config, "cls_token", "[CLS]");
    const std::string sep = config_token(r, config, "sep_token", "[SEP]");
    const std::string pad = config_token(r, config, "pad_token", "[PAD]");
    const std::string mask = config_token(r, config, "mask_token", "[MASK]");
    const auto require = [&](const std::string& token, const char* role) {
        const int32_t id = vocab.find(token);
        if (id < 0) fail(file, "\"" + token + "\" (" + role + ") is not in the vocabulary");
        return id;
    };
    const int32_t cls_id = require(cls, "cls_token");
    const int32_t sep_id = require(sep, "sep_token");
    require(wp.unk_token, "unk_token");
    std::vector<std::pair<std::string, int32_t>> specials;
    for (const std::string& token : {pad, wp.unk_token, cls, sep, mask}) {
        if (const int32_t id = vocab.find(token); id >= 0) specials.emplace_back(token, id);
    }
    const int32_t pad_id = std::max(0, vocab.find(pad));
    const int64_t max_id = vocab.max_id();

    auto impl = std::make_unique<Pipeline>(BertNormalizer(norm), true, WordPiece(std::move(vocab), wp));
    // The special tokens are added tokens matched in the raw text, as transformers' BertTokenizerFast sets them up.
    for (auto& [token, id] : specials) impl->raw_added.add({utf8::decode(token), id, false, false});
    impl->cls = cls_id;
    impl->sep = sep_id;
    impl->pad = pad_id;
    impl->vocab_size = static_cast<size_t>(max_id) + 1;
    return impl;
}

}  // namespace

struct Tokenizer::Impl {
    Pipeline pipeline;
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir) {
    std::error_code ec;
    if (!fs::is_directory(model_dir, ec)) throw ModelError(model_dir.string() + ": model folder not found");
    std::unique_ptr<Pipeline> pipeline;
    if (fs::exists(model_dir / "tokenizer.json", ec)) {
        pipeline = load_tokenizer_json(model_dir / "tokenizer.json");
    } else if (fs::exists(model_dir / "vocab.txt", ec)) {
        pipeline = load_vocab_txt(model_dir);
    } else {
        throw ModelError((model_dir / "tokenizer.json").string() + ": missing, and there is no vocab.txt either");
    }
    return Tokenizer(std::make_unique<Impl>(Impl{std::move(*pipeline)}));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, size_t max_tokens) const {
    if (max_tokens == 1) throw Error("Tokenizer::encode: max_tokens must be 0 (no limit) or at least 2");
    const size_t limit = max_tokens == 0 ? std::numeric_limits<size_t>::max() : max_tokens - 1;  // [CLS] + pieces
    const std::u32string code_points = utf8::decode(text);
    EncodeScratch scratch;
    std::vector<int32_t> ids;
    ids.reserve(std::min(limit, code_points.size() / 3 + 8));
    ids.push_back(impl_->pipeline.cls);
    impl_->pipeline.append_pieces(code_points, limit, ids, scratch);
    if (ids.size() > limit) ids.resize(limit);
    ids.push_back(impl_->pipeline.sep);
    return ids;
}

std::vector<std::string> Tokenizer::tokenize(std::string_view text) const {
    EncodeScratch scratch;
    std::vector<int32_t> ids;
    impl_->pipeline.append_pieces(utf8::decode(text), std::numeric_limits<size_t>::max(), ids, scratch);
    std::vector<std::string> pieces;
    pieces.reserve(ids.size());
    for (int32_t id : ids) pieces.push_back(impl_->pipeline.token_text(id));
    return pieces;
}

size_t Tokenizer::vocab_size() const {
    return impl_->pipeline.vocab_size;
}
int32_t Tokenizer::cls_id() const {
    return impl_->pipeline.cls;
}
int32_t Tokenizer::sep_id() const {
    return impl_->pipeline.sep;
}
int32_t Tokenizer::pad_id() const {
    return impl_->pipeline.pad;
}
int32_t Tokenizer::unk_id() const {
    return impl_->pipeline.model.unk_id();
}

}  // namespace leann
