#include "util/utf8.h"

namespace leann::utf8 {
namespace {

// Decodes one code point at text[i]; returns the number of bytes consumed (>= 1). Invalid input yields
// U+FFFD and consumes the maximal invalid prefix, following the Unicode "substitution of maximal subparts".
size_t decode_one(std::string_view text, size_t i, char32_t& cp) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    size_t need;
    char32_t value;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
        value = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        value = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;  // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        value = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        cp = replacement_char;
        return 1;
    }
    size_t k = 1;
    for (; k <= need; ++k) {
        if (i + k >= text.size()) break;
        unsigned char b = byte(i + k);
        unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
        if (b < min || b > max) break;
        value = (value << 6) | (b & 0x3F);
    }
    if (k <= need) {
        cp = replacement_char;
        return k;
    }
    cp = value;
    return need + 1;
}

}  // namespace

std::u32string decode(std::string_view text) {
    std::u32string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        char32_t cp;
        i += decode_one(text, i, cp);
        out.push_back(cp);
    }
    return out;
}

void append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::string encode(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t cp : text) append(out, cp);
    return out;
}

bool is_valid(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
        char32_t cp;
        size_t n = decode_one(text, i, cp);
        if (cp == replacement_char && !(n == 3 && text.substr(i, 3) == "\xEF\xBF\xBD")) return false;
        i += n;
    }
    return true;
}

std::string repair(std::string_view text) {
    if (is_valid(text)) return std::string(text);
    return encode(decode(text));
}

}  // namespace leann::utf8
