// Reading files as text: encodings, binary detection, and file kinds by extension.
#include <gtest/gtest.h>

#include "ingest/html_reader.h"
#include "ingest/text_reader.h"

namespace leann::ingest {
namespace {

std::string decoded(std::string_view bytes, std::string* encoding = nullptr) {
    std::string why;
    auto t = decode_text(bytes, why);
    if (!t) return "<" + why + ">";
    if (encoding) *encoding = t->encoding;
    return t->text;
}

TEST(TextReader, Encodings) {
    std::string enc;
    EXPECT_EQ(decoded("plain ascii", &enc), "plain ascii");
    EXPECT_EQ(enc, "utf-8");
    EXPECT_EQ(decoded("\xEF\xBB\xBF" "caf\xC3\xA9", &enc), "caf\xC3\xA9");
    EXPECT_EQ(enc, "utf-8-bom");
    // UTF-16 LE and BE with a BOM, including a surrogate pair (U+1F600) and an unpaired surrogate.
    EXPECT_EQ(decoded(std::string("\xFF\xFE" "h\0i\0\x3D\xD8\x00\xDE", 10), &enc), "hi\xF0\x9F\x98\x80");
    EXPECT_EQ(enc, "utf-16le");
    EXPECT_EQ(decoded(std::string("\xFE\xFF\0h\0i\xD8\x3D", 8), &enc), "hi\xEF\xBF\xBD");
    EXPECT_EQ(enc, "utf-16be");
    // Mostly Latin-1 bytes: decoded as Latin-1; mostly UTF-8 with one stray byte: repaired.
    EXPECT_EQ(decoded("cr\xE8me br\xFBl\xE9" "e", &enc), "cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e");
    EXPECT_EQ(enc, "latin-1");
    const std::string long_text(500, 'a');
    EXPECT_EQ(decoded(long_text + "\xFF", &enc), long_text + "\xEF\xBF\xBD");
    EXPECT_EQ(enc, "utf-8 (repaired)");
}

TEST(TextReader, BinaryAndEmpty) {
    EXPECT_EQ(decoded(""), "<empty file>");
    EXPECT_EQ(decoded(std::string("ELF\0\x01\x02", 6)), "<binary file>");
    std::string why;
    EXPECT_FALSE(read_text("/nonexistent/file.txt", why));
    EXPECT_NE(why.find("cannot open"), std::string::npos);
}

TEST(TextReader, FileKinds) {
    EXPECT_EQ(file_kind("notes/a.md")->type, "markdown");
    EXPECT_EQ(file_kind("README")->type, "text");
    EXPECT_EQ(file_kind("x/Main.JAVA")->language, "java");
    EXPECT_EQ(file_kind("lib.rs")->language, "rust");
    EXPECT_EQ(file_kind("Makefile")->language, "make");
    EXPECT_EQ(file_kind("CMakeLists.txt")->language, "cmake");
    EXPECT_FALSE(file_kind("photo.png"));
    EXPECT_EQ(file_kind("page.HTML")->type, "html");
    EXPECT_EQ(file_kind("doc.PDF")->type, "pdf");
}

TEST(HtmlReader, VisibleTextTitleEntitiesAndLines) {
    const std::string page =
        "<!DOCTYPE html>\n<html><head><title> The  Page\n</title>\n"  // lines 1-3
        "<style>p { color: red }</style><script>var x = '<p>no</p>';</script></head>\n"  // line 4
        "<body><h1>Heading &amp; more</h1>\n"                                           // line 5
        "<!-- a comment\nover lines -->\n"                                              // lines 6-7
        "<p>First   paragraph\nwraps here &lt;b&gt; &#233;&#x4E2D; &nbsp;end.</p>\n"    // lines 8-9
        "<pre>code  line 1\n  code line 2</pre><p>After&unknown; x</p></body></html>\n";  // lines 10-11
    const HtmlText h = html_to_text(page);
    EXPECT_EQ(h.title, "The Page");
    EXPECT_EQ(h.text,
              "The Page\nHeading & more\nFirst paragraph wraps here <b> \xC3\xA9\xE4\xB8\xAD end.\n"
              "code  line 1\n  code line 2\nAfter&unknown; x\n");
    ASSERT_EQ(h.source_line.size(), 6u);
    EXPECT_EQ(h.source_line, (std::vector<size_t>{1, 5, 8, 10, 11, 11}));
    EXPECT_EQ(html_to_text("").text, "");
    EXPECT_EQ(html_to_text("<p>unclosed <b").text, "unclosed");
    EXPECT_EQ(html_to_text("<script>never closed").text, "");
}

}  // namespace
}  // namespace leann::ingest

namespace leann::ingest {
namespace {

TEST(HtmlReader, SiteNavigationIsNotContent) {
    // The shape of a Sphinx page: navigation bars and a sidebar (nested divs) around the body, a footer.
    const std::string page =
        "<html><head><title>glob</title></head><body>\n"
        "<div class=\"related\" role=\"navigation\"><h3>Navigation</h3><ul><li>index</li><li>next</li></ul></div>\n"
        "<div class=\"document\"><div class=\"body\" role=\"main\">\n"
        "<p>The glob module finds all the pathnames matching a pattern.</p>\n"
        "</div></div>\n"
        "<div class='sphinxsidebar' role='navigation'><div><div><h3>Table of Contents</h3></div></div>"
        "<p>Previous topic</p></div>\n"
        "<nav><a href=\"/\">Home</a></nav>\n"
        "<div class=\"footer\" role=\"contentinfo\">Copyright</div>\n"
        "<p>After the chrome.</p></body></html>\n";
    const HtmlText out = html_to_text(page);
    EXPECT_NE(out.text.find("The glob module finds all the pathnames"), std::string::npos) << out.text;
    EXPECT_NE(out.text.find("After the chrome."), std::string::npos) << out.text;
    for (const char* chrome : {"Navigation", "next", "Table of Contents", "Previous topic", "Home", "Copyright"})
        EXPECT_EQ(out.text.find(chrome), std::string::npos) << chrome << " in:\n" << out.text;
    // Lines still point into the page: the body paragraph is on source line 4.
    const size_t at = out.text.find("The glob module");
    const size_t line = size_t(std::count(out.text.begin(), out.text.begin() + std::ptrdiff_t(at), '\n'));
    ASSERT_LT(line, out.source_line.size());
    EXPECT_EQ(out.source_line[line], 4u);
}

}  // namespace
}  // namespace leann::ingest
