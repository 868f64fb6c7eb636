// Tokenizer tests: exact ids against the Hugging Face `tokenizers` golden file (tests/golden/tokenizer), the
// vocab.txt loading path, errors on bad model files, truncation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "embed/bert_normalizer.h"
#include "leann/error.h"
#include "leann/tokenizer.h"
#include "test_support.h"
#include "util/utf8.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using leann::Tokenizer;

// Normaliser variants of the golden file, as make_golden.py builds them from the model's tokenizer.json.
const std::map<std::string, json>& variant_overrides() {
    static const std::map<std::string, json> variants = {
        {"uncased", json::object()},
        {"cased", {{"lowercase", false}, {"strip_accents", false}}},
        {"raw_lower",
         {{"clean_text", false}, {"handle_chinese_chars", false}, {"strip_accents", false}, {"lowercase", true}}},
        {"strip_only",
         {{"clean_text", true}, {"handle_chinese_chars", false}, {"strip_accents", true}, {"lowercase", false}}},
    };
    return variants;
}

class ScratchDir {
public:
    ScratchDir() {
        std::random_device rd;
        do {
            path_ = fs::temp_directory_path() / ("leann-tok-test-" + std::to_string(rd()) + std::to_string(rd()));
        } while (!fs::create_directory(path_));
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_text(const fs::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary);
    out << text;
}

std::string hex_decode(const std::string& hex) {
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return bytes;
}

// Printable form of an input: ASCII as is, everything else as \xNN escapes, cut at 300 bytes.
std::string escaped(const std::string& text) {
    std::string out;
    for (unsigned char c : text.substr(0, 300)) {
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
        }
    }
    return text.size() > 300 ? out + "..." : out;
}

std::string ids_to_string(const std::vector<int32_t>& ids) {
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < ids.size(); ++i) out << (i ? ", " : "") << ids[i];
    out << "] (" << ids.size() << " ids)";
    return out.str();
}

struct GoldenCase {
    std::string name;
    std::string input;  // raw bytes, possibly invalid UTF-8
    json record;
};

std::vector<GoldenCase> read_golden() {
    const fs::path file = fs::path(LEANN_TEST_DATA_DIR) / "golden" / "tokenizer" / "golden.jsonl";
    std::ifstream in(file);
    std::vector<GoldenCase> cases;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        json record = json::parse(line);
        GoldenCase c;
        c.name = record.at("name").get<std::string>();
        c.input = record.contains("hex") ? hex_decode(record["hex"].get<std::string>())
                                         : record.at("text").get<std::string>();
        c.record = std::move(record);
        cases.push_back(std::move(c));
    }
    return cases;
}

std::vector<int32_t> expected_ids(const json& record, const std::string& key, const std::string& fallback) {
    return (record.contains(key) ? record[key] : record.at(fallback)).get<std::vector<int32_t>>();
}

// Compares `tokenizer` with the golden ids under `key` (or `fallback` when the record has no `key`) for every case;
// reports the first few mismatches with the input and both id lists. Returns the number of mismatches.
size_t compare_with_golden(const Tokenizer& tokenizer, const std::vector<GoldenCase>& cases, const std::string& key,
                           size_t max_tokens, const std::string& fallback) {
    size_t mismatches = 0;
    for (const GoldenCase& c : cases) {
        const std::vector<int32_t> want = expected_ids(c.record, key, fallback);
        const std::vector<int32_t> got = tokenizer.encode(c.input, max_tokens);
        if (got == want) continue;
        if (++mismatches <= 5) {
            ADD_FAILURE() << key << " / " << c.name << ": input \"" << escaped(c.input) << "\"\n  reference "
                          << ids_to_string(want) << "\n  leann     " << ids_to_string(got);
        }
    }
    return mismatches;
}

class TokenizerGolden : public ::testing::Test {
protected:
    void SetUp() override {
        model_dir_ = leann::testing::default_model_dir();
        if (!fs::exists(model_dir_ / "tokenizer.json"))
            GTEST_FAIL() << leann::testing::model_missing_message(model_dir_);
        cases_ = read_golden();
        ASSERT_GE(cases_.size(), 250u) << "golden file missing or short: run tests/golden/tokenizer/make_golden.py";
    }

    // A folder holding the model's tokenizer.json with its normaliser edited as in make_golden.py.
    void write_variant(const fs::path& dir, const json& overrides) const {
        json config = json::parse(read_text(model_dir_ / "tokenizer.json"));
        config["normalizer"].update(overrides);
        write_text(dir / "tokenizer.json", config.dump());
    }

    fs::path model_dir_;
    std::vector<GoldenCase> cases_;
};

TEST_F(TokenizerGolden, MatchesReferenceOnEveryInput) {
    for (const auto& [variant, overrides] : variant_overrides()) {
        ScratchDir dir;
        write_variant(dir.path(), overrides);
        const Tokenizer tokenizer = Tokenizer::load(dir.path());
        EXPECT_EQ(compare_with_golden(tokenizer, cases_, variant, 0, variant), 0u)
            << "variant " << variant << ", " << cases_.size() << " inputs";
    }
}

TEST_F(TokenizerGolden, TruncatesAsSentenceTransformers) {
    const Tokenizer tokenizer = Tokenizer::load(model_dir_);
    size_t cut = 0;
    for (const GoldenCase& c : cases_) cut += c.record.contains("uncased_256");
    EXPECT_GE(cut, 5u) << "the golden file should hold inputs longer than 256 ids";
    EXPECT_EQ(compare_with_golden(tokenizer, cases_, "uncased_256", 256, "uncased"), 0u);
    EXPECT_EQ(compare_with_golden(tokenizer, cases_, "uncased_512", 512, "uncased"), 0u);
}

TEST_F(TokenizerGolden, VocabTxtPathMatchesTokenizerJson) {
    ScratchDir dir;
    fs::copy_file(model_dir_ / "vocab.txt", dir.path() / "vocab.txt");
    fs::copy_file(model_dir_ / "tokenizer_config.json", dir.path() / "tokenizer_config.json");
    const Tokenizer uncased = Tokenizer::load(dir.path());
    EXPECT_EQ(uncased.vocab_size(), 30522u);
    EXPECT_EQ(compare_with_golden(uncased, cases_, "uncased", 0, "uncased"), 0u);

    // do_lower_case=false leaves strip_accents null, so accents stay: the "cased" variant.
    json config = json::parse(read_text(model_dir_ / "tokenizer_config.json"));
    config["do_lower_case"] = false;
    write_text(dir.path() / "tokenizer_config.json", config.dump());
    const Tokenizer cased = Tokenizer::load(dir.path());
    EXPECT_EQ(compare_with_golden(cased, cases_, "cased", 0, "cased"), 0u);

    // Without tokenizer_config.json, BertTokenizer's defaults apply (lowercase, accents stripped).
    fs::remove(dir.path() / "tokenizer_config.json");
    EXPECT_EQ(compare_with_golden(Tokenizer::load(dir.path()), cases_, "uncased", 0, "uncased"), 0u);
}

TEST_F(TokenizerGolden, VocabTxtWithCrlfLineEnds) {
    ScratchDir dir;
    const std::string vocab = read_text(model_dir_ / "vocab.txt");
    std::string crlf;
    for (char c : vocab) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    write_text(dir.path() / "vocab.txt", crlf);
    const Tokenizer from_json = Tokenizer::load(model_dir_);
    const Tokenizer from_txt = Tokenizer::load(dir.path());
    EXPECT_EQ(from_txt.vocab_size(), from_json.vocab_size());
    for (const GoldenCase& c : cases_) EXPECT_EQ(from_txt.encode(c.input), from_json.encode(c.input)) << c.name;
}

TEST_F(TokenizerGolden, ConcurrentEncodesAgree) {
    const Tokenizer tokenizer = Tokenizer::load(model_dir_);
    std::vector<std::vector<int32_t>> want;
    for (const GoldenCase& c : cases_) want.push_back(tokenizer.encode(c.input, 256));
    std::vector<size_t> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < mismatches.size(); ++t) {
        threads.emplace_back([&, t] {
            for (size_t i = 0; i < cases_.size(); ++i)
                mismatches[t] += tokenizer.encode(cases_[i].input, 256) != want[i];
        });
    }
    for (std::thread& thread : threads) thread.join();
    for (size_t m : mismatches) EXPECT_EQ(m, 0u);
}

// The normaliser and pre-tokeniser alone against the reference's strings (normalizer.jsonl), in 8 settings.
TEST(TokenizerNormalizer, MatchesReferenceStrings) {
    const fs::path file = fs::path(LEANN_TEST_DATA_DIR) / "golden" / "tokenizer" / "normalizer.jsonl";
    std::ifstream in(file);
    std::string line;
    size_t records = 0, mismatches = 0;
    while (std::getline(in, line)) {
        const json record = json::parse(line);
        const std::string text = record.at("text").get<std::string>();
        const std::u32string code_points = leann::utf8::decode(text);
        ++records;
        for (int bits = 0; bits < 16; ++bits) {
            const bool clean = bits & 8, chinese = bits & 4, strip = bits & 2, lower = bits & 1;
            if (clean != chinese) continue;  // the file holds clean_text == handle_chinese_chars only
            const std::string key = std::string("c") + (clean ? "1" : "0") + "h" + (chinese ? "1" : "0") + "s" +
                                    (strip ? "1" : "0") + "l" + (lower ? "1" : "0");
            const std::string want = record.contains(key) ? record[key].get<std::string>() : text;
            std::u32string got;
            leann::BertNormalizer({clean, chinese, strip, lower}).normalize(code_points, got);
            if (leann::utf8::encode(got) != want && ++mismatches <= 5) {
                ADD_FAILURE() << record["name"] << " " << key << ": input \"" << escaped(text) << "\"\n  reference \""
                              << escaped(want) << "\"\n  leann     \"" << escaped(leann::utf8::encode(got)) << "\"";
            }
        }
        std::vector<leann::WordSpan> spans;
        leann::bert_pre_tokenize(code_points, spans);
        std::vector<std::string> words;
        for (const leann::WordSpan& w : spans)
            words.push_back(leann::utf8::encode(std::u32string_view(code_points).substr(w.begin, w.end - w.begin)));
        EXPECT_EQ(words, record.at("words").get<std::vector<std::string>>()) << record["name"];
    }
    EXPECT_GE(records, 300u) << file << " missing or short: run tests/golden/tokenizer/make_golden.py";
    EXPECT_EQ(mismatches, 0u);
}

class TokenizerModel : public ::testing::Test {
protected:
    void SetUp() override {
        model_dir_ = leann::testing::default_model_dir();
        if (!fs::exists(model_dir_ / "tokenizer.json"))
            GTEST_FAIL() << leann::testing::model_missing_message(model_dir_);
    }

    json tokenizer_json() const { return json::parse(read_text(model_dir_ / "tokenizer.json")); }

    // Expects Tokenizer::load(dir) to throw leann::ModelError whose message holds every one of `parts`.
    static void expect_model_error(const fs::path& dir, const std::vector<std::string>& parts) {
        try {
            Tokenizer::load(dir);
            ADD_FAILURE() << "no ModelError for " << dir;
        } catch (const leann::ModelError& e) {
            const std::string message = e.what();
            for (const std::string& part : parts)
                EXPECT_NE(message.find(part), std::string::npos) << "\"" << part << "\" not in: " << message;
        }
    }

    fs::path model_dir_;
};

TEST_F(TokenizerModel, SpecialIdsAndPieces) {
    const Tokenizer tokenizer = Tokenizer::load(model_dir_);
    EXPECT_EQ(tokenizer.cls_id(), 101);
    EXPECT_EQ(tokenizer.sep_id(), 102);
    EXPECT_EQ(tokenizer.pad_id(), 0);
    EXPECT_EQ(tokenizer.unk_id(), 100);
    EXPECT_EQ(tokenizer.vocab_size(), 30522u);
    const std::vector<std::string> pieces = {
        "hello", ",", "world", "!", "una", "##ffa", "##ble", "naive", "\xE6\x9D\xB1", "\xE4\xBA\xAC", "[MASK]"};
    EXPECT_EQ(tokenizer.tokenize("Hello, world! Unaffable na\xC3\xAFve \xE6\x9D\xB1\xE4\xBA\xAC [MASK]"), pieces);
    EXPECT_EQ(tokenizer.encode("Hello, world!"), (std::vector<int32_t>{101, 7592, 1010, 2088, 999, 102}));
    EXPECT_EQ(tokenizer.encode(""), (std::vector<int32_t>{101, 102}));
    EXPECT_EQ(tokenizer.tokenize(" \t\n"), std::vector<std::string>{});
}

TEST_F(TokenizerModel, TruncationLengths) {
    const Tokenizer tokenizer = Tokenizer::load(model_dir_);
    std::string text;
    for (int i = 0; i < 400; ++i) text += "word unaffable ";  // 4 pieces a repeat
    const std::vector<int32_t> full = tokenizer.encode(text);
    ASSERT_EQ(full.size(), 1602u);
    for (size_t limit : {2u, 3u, 4u, 5u, 128u, 256u, 257u, 512u, 1601u}) {
        const std::vector<int32_t> cut = tokenizer.encode(text, limit);
        ASSERT_EQ(cut.size(), limit);
        EXPECT_EQ(cut.front(), 101);
        EXPECT_EQ(cut.back(), 102);
        EXPECT_TRUE(std::equal(cut.begin(), cut.end() - 1, full.begin())) << "limit " << limit;
    }
    EXPECT_EQ(tokenizer.encode(text, 1602), full);
    EXPECT_EQ(tokenizer.encode(text, 5000), full);
    EXPECT_EQ(tokenizer.encode("short text", 256), tokenizer.encode("short text"));
    EXPECT_EQ(tokenizer.encode("", 2), (std::vector<int32_t>{101, 102}));
    EXPECT_THROW(tokenizer.encode(text, 1), leann::Error);
}

TEST_F(TokenizerModel, MissingOrMalformedFilesNameTheFile) {
    expect_model_error(model_dir_ / "no-such-folder", {"no-such-folder"});
    ScratchDir dir;
    expect_model_error(dir.path(), {"tokenizer.json", "vocab.txt"});

    write_text(dir.path() / "tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", ");
    expect_model_error(dir.path(), {"tokenizer.json", "malformed JSON"});
    write_text(dir.path() / "tokenizer.json", "[1, 2, 3]");
    expect_model_error(dir.path(), {"tokenizer.json", "object"});

    json config = tokenizer_json();
    config["model"].erase("vocab");
    write_text(dir.path() / "tokenizer.json", config.dump());
    expect_model_error(dir.path(), {"tokenizer.json", "model.vocab"});

    config = tokenizer_json();
    config["model"]["unk_token"] = "[NOPE]";
    write_text(dir.path() / "tokenizer.json", config.dump());
    expect_model_error(dir.path(), {"tokenizer.json", "model.unk_token", "[NOPE]"});

    config = tokenizer_json();
    config["model"]["vocab"]["hello"] = "7592";
    write_text(dir.path() / "tokenizer.json", config.dump());
    expect_model_error(dir.path(), {"tokenizer.json", "model.vocab[\"hello\"]", "integer"});

    config = tokenizer_json();
    config["model"]["vocab"]["hello"] = 1 << 30;
    write_text(dir.path() / "tokenizer.json", config.dump());
    expect_model_error(dir.path(), {"tokenizer.json", "model.vocab[\"hello\"]"});

    // model.vocab is taken from the parser's stream, not the document: the same checks hold for every shape.
    for (const json& bad : {json::array({"a", "b"}), json::object(), json("vocab"), json(nullptr)}) {
        config = tokenizer_json();
        config["model"]["vocab"] = bad;
        write_text(dir.path() / "tokenizer.json", config.dump());
        expect_model_error(dir.path(), {"tokenizer.json", "model.vocab"});
    }
    for (const json& nested : {json::object({{"id", 7592}}), json::array({7592})}) {
        config = tokenizer_json();
        config["model"]["vocab"]["hello"] = nested;
        write_text(dir.path() / "tokenizer.json", config.dump());
        expect_model_error(dir.path(), {"tokenizer.json", "model.vocab[\"hello\"]"});
    }

    config = tokenizer_json();
    config["normalizer"]["lowercase"] = "yes";
    write_text(dir.path() / "tokenizer.json", config.dump());
    expect_model_error(dir.path(), {"tokenizer.json", "normalizer.lowercase"});

    config = tokenizer_json();
    config["normalizer"] = {{"type", "Sequence"}, {"normalizers", json::array()}};
    write_text(dir.path() / "tokenizer.json", config.dump());
    expect_model_error(dir.path(), {"tokenizer.json", "normalizer.type", "Sequence"});

    config = tokenizer_json();
    config["post_processor"]["special_tokens"].erase("[SEP]");
    write_text(dir.path() / "tokenizer.json", config.dump());
    expect_model_error(dir.path(), {"tokenizer.json", "post_processor.special_tokens.[SEP]"});
}

// Only root.model.vocab is taken as the vocabulary: a "vocab" member elsewhere is left alone, and members after
// it in "model" are still read.
TEST_F(TokenizerModel, OnlyTheModelsVocabIsTaken) {
    ScratchDir dir;
    json config = tokenizer_json();
    config["decoder"] = {{"type", "WordPiece"}, {"vocab", {{"hello", 1}}}};
    nlohmann::ordered_json model;  // "vocab" written first, then the rest of the model's members
    model["vocab"] = config["model"]["vocab"];
    for (const auto& [key, value] : config["model"].items())
        if (key != "vocab") model[key] = value;
    config["model"] = "MODEL";
    std::string text = config.dump();
    text.replace(text.find("\"MODEL\""), 7, model.dump());
    ASSERT_LT(text.find("\"vocab\""), text.find("\"unk_token\""));
    write_text(dir.path() / "tokenizer.json", text);
    const Tokenizer tokenizer = Tokenizer::load(dir.path());
    EXPECT_EQ(tokenizer.encode("hello"), (std::vector<int32_t>{101, 7592, 102}));
    EXPECT_EQ(tokenizer.vocab_size(), Tokenizer::load(model_dir_).vocab_size());
}

// A repeated key counts once, with its last value, as in a JSON document: a token given a huge id first and a
// real one after does not stretch the vocabulary, and a second "vocab" or "model" replaces the first.
TEST_F(TokenizerModel, RepeatedVocabularyKeysKeepTheirLastValue) {
    ScratchDir dir;
    const size_t size = Tokenizer::load(model_dir_).vocab_size();
    json config = tokenizer_json();
    std::string text = config.dump();
    const std::string vocab_open = "\"vocab\":{";
    const size_t at = text.find(vocab_open);
    ASSERT_NE(at, std::string::npos);
    text.insert(at + vocab_open.size(), "\"hello\":999999,");  // then "hello": 7592 from the real vocabulary
    write_text(dir.path() / "tokenizer.json", text);
    Tokenizer tokenizer = Tokenizer::load(dir.path());
    EXPECT_EQ(tokenizer.vocab_size(), size);
    EXPECT_EQ(tokenizer.encode("hello"), (std::vector<int32_t>{101, 7592, 102}));

    text = config.dump();
    text.insert(text.find(vocab_open), "\"vocab\":{\"zzzzq\":5},");  // an earlier "vocab", replaced
    write_text(dir.path() / "tokenizer.json", text);
    EXPECT_EQ(Tokenizer::load(dir.path()).encode("zzzzq"), Tokenizer::load(model_dir_).encode("zzzzq"));
}

TEST_F(TokenizerModel, MissingSpecialTokensAreErrors) {
    ScratchDir dir;
    // No post-processor: [CLS] and [SEP] come from the vocabulary, so a vocabulary without [CLS] is refused.
    json config = tokenizer_json();
    config["post_processor"] = nullptr;
    write_text(dir.path() / "tokenizer.json", config.dump());
    EXPECT_EQ(Tokenizer::load(dir.path()).encode("hi"), (std::vector<int32_t>{101, 7632, 102}));
    config["model"]["vocab"].erase("[CLS]");
    json added = json::array();
    for (const json& a : config["added_tokens"])
        if (a["content"] != "[CLS]") added.push_back(a);
    config["added_tokens"] = added;
    write_text(dir.path() / "tokenizer.json", config.dump());
    expect_model_error(dir.path(), {"tokenizer.json", "[CLS]"});

    // vocab.txt without [SEP].
    fs::remove(dir.path() / "tokenizer.json");
    std::istringstream vocab(read_text(model_dir_ / "vocab.txt"));
    std::string kept, line;
    while (std::getline(vocab, line)) kept += (line == "[SEP]" ? std::string("[unused-sep]") : line) + "\n";
    write_text(dir.path() / "vocab.txt", kept);
    expect_model_error(dir.path(), {"vocab.txt", "[SEP]", "sep_token"});

    // A malformed tokenizer_config.json next to vocab.txt is named.
    fs::copy_file(model_dir_ / "vocab.txt", dir.path() / "vocab.txt", fs::copy_options::overwrite_existing);
    write_text(dir.path() / "tokenizer_config.json", "{\"do_lower_case\": tru");
    expect_model_error(dir.path(), {"tokenizer_config.json", "malformed JSON"});
    write_text(dir.path() / "tokenizer_config.json", "{\"do_lower_case\": \"yes\"}");
    expect_model_error(dir.path(), {"tokenizer_config.json", "do_lower_case"});
    write_text(dir.path() / "tokenizer_config.json", "{\"unk_token\": \"<unk>\"}");
    expect_model_error(dir.path(), {"vocab.txt", "<unk>", "unk_token"});

    // An empty vocab.txt.
    write_text(dir.path() / "tokenizer_config.json", "{}");
    write_text(dir.path() / "vocab.txt", "");
    expect_model_error(dir.path(), {"vocab.txt", "empty"});
}

TEST_F(TokenizerModel, RefusesOtherModelTypesByName) {
    ScratchDir dir;
    for (const char* type : {"BPE", "Unigram", "WordLevel"}) {
        json config = tokenizer_json();
        config["model"] = {{"type", type}, {"vocab", {{"a", 0}}}, {"merges", json::array()}};
        write_text(dir.path() / "tokenizer.json", config.dump());
        expect_model_error(dir.path(), {"tokenizer.json", std::string("\"") + type + "\"", "WordPiece"});
    }
    json config = tokenizer_json();
    config["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}};
    write_text(dir.path() / "tokenizer.json", config.dump());
    expect_model_error(dir.path(), {"tokenizer.json", "pre_tokenizer.type", "ByteLevel"});
    config = tokenizer_json();
    config["post_processor"] = {{"type", "RobertaProcessing"}};
    write_text(dir.path() / "tokenizer.json", config.dump());
    expect_model_error(dir.path(), {"tokenizer.json", "post_processor.type", "RobertaProcessing"});
}

}  // namespace
