#include "terminal_text.h"

#include <cstdio>

#include "util/utf8.h"

namespace leann::apps {

std::string escape_controls(std::string_view raw, Newlines newlines) {
    const std::string repaired = utf8::is_valid(raw) ? std::string() : utf8::repair(raw);
    const std::string_view text = repaired.empty() ? raw : std::string_view(repaired);
    std::string out;
    out.reserve(text.size());
    char buf[8];
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
            // U+0080..U+009F: C1 controls (0x9B is a one-character CSI on many terminals). Valid UTF-8 here, so the
            // next byte is a continuation byte 0x80..0x9F.
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(text[i + 1])));
            out += buf;
            ++i;
            continue;
        }
        if (c >= 0x20 && c != 0x7f) {
            out += char(c);
            continue;
        }
        if (newlines == Newlines::keep && (c == '\n' || c == '\t')) {
            out += char(c);
            continue;
        }
        switch (c) {
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case 0x1b: out += "\\e"; break;
            default:
                std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
                out += buf;
        }
    }
    return out;
}

}  // namespace leann::apps
