#include "ingest/html_reader.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "util/utf8.h"

namespace leann::ingest {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

/// Appends the decoding of the entity starting at html[i] == '&' and returns its length (0: not an entity).
size_t decode_entity(std::string_view html, size_t i, std::string& out) {
    static const std::unordered_map<std::string, char32_t> named = {
        {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
        {"nbsp", 0xA0},    {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122}, {"hellip", 0x2026},
        {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},
        {"rdquo", 0x201D}, {"para", 0xB6},    {"sect", 0xA7},    {"middot", 0xB7},  {"laquo", 0xAB},
        {"raquo", 0xBB},   {"times", 0xD7},   {"deg", 0xB0},     {"rarr", 0x2192},  {"larr", 0x2190}};
    const size_t semi = html.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) return 0;
    const std::string_view name = html.substr(i + 1, semi - i - 1);
    char32_t cp = 0;
    if (!name.empty() && name[0] == '#') {
        const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
        const std::string digits(name.substr(hex ? 2 : 1));
        if (digits.empty() || digits.size() > 7) return 0;
        for (char c : digits)
            if (!(hex ? std::isxdigit(static_cast<unsigned char>(c)) : std::isdigit(static_cast<unsigned char>(c))))
                return 0;
        cp = char32_t(std::stoul(digits, nullptr, hex ? 16 : 10));
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = utf8::replacement_char;
    } else {
        auto it = named.find(std::string(name));
        if (it == named.end()) return 0;
        cp = it->second;
    }
    utf8::append(out, cp == 0xA0 ? char32_t(' ') : cp);
    return semi - i + 1;
}

/// The value of attribute `name` in a tag's text (lowercased), or "" when absent.
std::string attribute(std::string_view tag, std::string_view name) {
    const std::string t = lower(tag);
    for (size_t at = t.find(name); at != std::string::npos; at = t.find(name, at + 1)) {
        if (at == 0 || !std::isspace(static_cast<unsigned char>(t[at - 1]))) continue;
        size_t v = at + name.size();
        while (v < t.size() && t[v] == ' ') ++v;
        if (v >= t.size() || t[v] != '=') continue;
        ++v;
        while (v < t.size() && t[v] == ' ') ++v;
        if (v < t.size() && (t[v] == '"' || t[v] == '\'')) {
            const size_t end = t.find(t[v], v + 1);
            return t.substr(v + 1, (end == std::string::npos ? t.size() : end) - v - 1);
        }
        size_t end = v;
        while (end < t.size() && !std::isspace(static_cast<unsigned char>(t[end])) && t[end] != '/') ++end;
        return t.substr(v, end - v);
    }
    return {};
}

/// Site chrome, not content: navigation bars, sidebars, search boxes and footers (Sphinx, MkDocs and most
/// generators mark them with these roles), which would otherwise open every chunk of every page.
bool is_chrome(std::string_view name, std::string_view tag) {
    if (name == "nav") return true;
    const std::string role = attribute(tag, "role");
    return role == "navigation" || role == "search" || role == "contentinfo" || role == "banner";
}

}  // namespace

HtmlText html_to_text(std::string_view html) {
    static const std::unordered_set<std::string> skipped = {"script", "style",  "noscript", "template",
                                                            "svg",    "iframe", "object",   "canvas"};
    static const std::unordered_set<std::string> blocks = {
        "p",       "div",     "br",     "li",   "ul",       "ol",     "tr",    "td",  "th",     "table",
        "h1",      "h2",      "h3",     "h4",   "h5",       "h6",     "pre",   "dt",  "dd",     "dl",
        "section", "article", "header", "footer", "blockquote", "hr", "main",  "nav", "aside", "figure",
        "figcaption", "caption", "form", "title", "body",   "html",   "summary", "details"};
    HtmlText result;
    std::string body;
    std::vector<size_t> lines;  // source line of each output line of `body`
    size_t line = 1;            // current source line
    bool in_pre = false, pending_space = false;
    std::string skip_until;     // inside a skipped element: its closing tag name
    size_t skip_depth = 0;      // same-name elements opened inside it
    bool in_title = false;

    auto newline = [&] {
        if (!body.empty() && body.back() != '\n') body += '\n';
        pending_space = false;
    };
    auto emit = [&](std::string_view s, bool raw) {
        for (char c : s) {
            if (!raw && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
                pending_space = true;
                continue;
            }
            if (body.empty() || body.back() == '\n') lines.push_back(line);
            else if (pending_space) body += ' ';
            pending_space = false;
            body += c;
            if (raw && c == '\n') pending_space = false;
        }
    };

    size_t i = 0;
    while (i < html.size()) {
        const char c = html[i];
        if (c == '<') {
            if (html.compare(i, 4, "<!--") == 0) {  // comment
                size_t end = html.find("-->", i + 4);
                end = end == std::string_view::npos ? html.size() : end + 3;
                line += size_t(std::count(html.begin() + std::ptrdiff_t(i), html.begin() + std::ptrdiff_t(end), '\n'));
                i = end;
                continue;
            }
            size_t end = html.find('>', i + 1);
            if (end == std::string_view::npos) end = html.size();
            const std::string_view tag = html.substr(i + 1, end - i - 1);
            line += size_t(std::count(tag.begin(), tag.end(), '\n'));
            i = std::min(html.size(), end + 1);
            const bool closing = !tag.empty() && tag[0] == '/';
            size_t n = closing ? 1 : 0;
            while (n < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[n])) || tag[n] == '-')) ++n;
            const std::string name = lower(tag.substr(closing ? 1 : 0, n - (closing ? 1 : 0)));
            const bool self_closing = !tag.empty() && tag.back() == '/';
            if (!skip_until.empty()) {
                if (name == skip_until && !closing && !self_closing) ++skip_depth;
                if (name == skip_until && closing && skip_depth-- == 0) {
                    skip_until.clear();
                    skip_depth = 0;
                }
                continue;
            }
            if (name == "title") {
                in_title = !closing;
                continue;
            }
            if (!closing && !self_closing && (skipped.count(name) || is_chrome(name, tag))) {
                skip_until = name;
                skip_depth = 0;
                newline();
                continue;
            }
            if (name == "pre") in_pre = !closing;
            if (blocks.count(name)) newline();
            continue;
        }
        if (!skip_until.empty()) {
            if (c == '\n') ++line;
            ++i;
            continue;
        }
        std::string piece;
        size_t used = 1;
        if (c == '&') {
            used = decode_entity(html, i, piece);
            if (used == 0) {
                piece = "&";
                used = 1;
            }
        } else {
            piece = std::string(1, c);
        }
        if (in_title) {
            result.title += piece;
        } else {
            emit(piece, in_pre);
        }
        if (c == '\n') ++line;
        i += used;
    }
    // Title first, then the body; collapse the title's white space.
    std::string title;
    for (char c : result.title) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            if (!title.empty() && title.back() != ' ') title += ' ';
        } else {
            title += c;
        }
    }
    while (!title.empty() && title.back() == ' ') title.pop_back();
    result.title = title;
    if (!title.empty()) {
        result.text = title + "\n";
        result.source_line.push_back(1);
    }
    result.text += body;
    result.source_line.insert(result.source_line.end(), lines.begin(), lines.end());
    return result;
}

}  // namespace leann::ingest
