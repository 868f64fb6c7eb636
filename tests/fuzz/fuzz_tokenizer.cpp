// Tokenizer loading (src/embed/tokenizer.cpp): the input is a tokenizer.json, or (first byte odd) a vocab.txt with a
// fixed tokenizer_config.json; a loaded tokenizer then encodes fixed text and the input's own first bytes.
#include <filesystem>

#include "fuzz_support.h"
#include "leann/error.h"
#include "leann/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const bool vocab_txt = data[0] & 1;
    const std::string_view content = leann::fuzz::as_text(data + 1, size - 1);
    const auto dir = leann::fuzz::scratch_dir() / "model";
    std::filesystem::remove_all(dir);
    if (vocab_txt) {
        leann::fuzz::write_scratch("model/vocab.txt", content);
        leann::fuzz::write_scratch("model/tokenizer_config.json", R"({"do_lower_case": true})");
    } else {
        leann::fuzz::write_scratch("model/tokenizer.json", content);
    }
    try {
        const leann::Tokenizer t = leann::Tokenizer::load(dir);
        (void)t.encode("Hello, w\xc3\xb6rld! \xe6\xbc\xa2\xe5\xad\x97 the quick brown fox [MASK] ##ing", 32);
        (void)t.tokenize(content.substr(0, 256));
        (void)t.encode(content.substr(0, 256), 0);
    } catch (const leann::Error&) {
    }
    return 0;
}
