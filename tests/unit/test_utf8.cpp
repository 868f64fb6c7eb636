#include <gtest/gtest.h>

#include "util/utf8.h"

namespace leann {
namespace {

TEST(Utf8, ValidTextRoundTrips) {
    std::string text = "plain, café, 東京, 😀, \t\n";
    EXPECT_TRUE(utf8::is_valid(text));
    EXPECT_EQ(utf8::encode(utf8::decode(text)), text);
    EXPECT_EQ(utf8::repair(text), text);
}

TEST(Utf8, InvalidSequencesBecomeReplacementCharacters) {
    const std::string fffd = "\xEF\xBF\xBD";
    struct Case {
        std::string in, out;
    } cases[] = {
        {"a\xFF" "b", "a" + fffd + "b"},                     // byte that never appears in UTF-8
        {"\xC3", fffd},                                      // truncated 2-byte sequence
        {"\xE6\x97", fffd},                                  // truncated 3-byte sequence: one replacement
        {"\xC0\xAF", fffd + fffd},                           // overlong encoding of '/'
        {"\xED\xA0\x80", fffd + fffd + fffd},                // surrogate U+D800
        {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},     // above U+10FFFF
        {"\x80\x80x", fffd + fffd + "x"},                    // stray continuation bytes
    };
    for (const auto& c : cases) {
        EXPECT_FALSE(utf8::is_valid(c.in));
        EXPECT_EQ(utf8::repair(c.in), c.out);
    }
    EXPECT_TRUE(utf8::is_valid(fffd));  // a real U+FFFD is valid text
}

}  // namespace
}  // namespace leann
