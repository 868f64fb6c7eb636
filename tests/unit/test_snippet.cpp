// Snippets shown with hits: the window with the most query terms, terms marked at word starts, UTF-8-safe cuts.
#include <gtest/gtest.h>

#include <string>

#include "snippet.h"
#include "util/utf8.h"

namespace leann::apps {
namespace {

TEST(Snippet, QueryTermsDropStopWordsAndRepeats) {
    EXPECT_EQ(query_terms("How do I read a File, line by line?"),
              (std::vector<std::string>{"read", "file", "line"}));
    EXPECT_TRUE(query_terms("the a of").empty());
}

TEST(Snippet, PicksTheWindowWithTheMostTermsAndMarksThem) {
    std::string text = "Introduction. ";
    for (int i = 0; i < 40; ++i) text += "filler words about nothing in particular. ";
    text += "To read a file line by line, loop over the file object.\n\nMore filler follows here.";
    for (int i = 0; i < 40; ++i) text += " filler words again.";
    const Snippet s = make_snippet(text, "read a file line by line", 120);
    EXPECT_LE(s.text.size(), 120u);
    EXPECT_TRUE(s.cut_before);
    EXPECT_TRUE(s.cut_after);
    EXPECT_NE(s.text.find("To read a file line by line"), std::string::npos) << s.text;
    // Every mark is a query term at a word start, case-insensitively.
    ASSERT_GE(s.marks.size(), 4u);
    for (const auto& [b, e] : s.marks) {
        const std::string word = s.text.substr(b, e - b);
        EXPECT_TRUE(word == "read" || word == "file" || word == "line") << word;
        EXPECT_TRUE(b == 0 || s.text[b - 1] == ' ') << s.text.substr(0, b);
    }
    const std::string shown = render_snippet(s, "[", "]");
    EXPECT_NE(shown.find("To [read] a [file] [line] by [line]"), std::string::npos) << shown;
    EXPECT_TRUE(shown.starts_with("...") && shown.ends_with("...")) << shown;
}

TEST(Snippet, PrefixMatchesAtWordStartsOnly) {
    const Snippet s = make_snippet("Files and profile: FILE, refile.", "file");
    EXPECT_EQ(render_snippet(s, "<", ">"), "<File>s and profile: <FILE>, refile.");
}

TEST(Snippet, FoldsWhitespaceAndNeverSplitsCharacters) {
    std::string text = "caf\xc3\xa9\n\n\tna\xc3\xafve   ";
    for (int i = 0; i < 100; ++i) text += "\xe6\x97\xa5\xe6\x9c\xac ";  // 3-byte characters
    for (size_t limit : {7u, 8u, 9u, 10u, 11u, 40u, 41u}) {
        const Snippet s = make_snippet(text, "na\xc3\xafve", limit);
        EXPECT_EQ(utf8::repair(s.text), s.text) << limit;  // valid UTF-8: no character cut in half
        EXPECT_EQ(s.text.find('\n'), std::string::npos);
        EXPECT_EQ(s.text.find("  "), std::string::npos);
    }
    const Snippet whole = make_snippet("short text", "nothing matches", 240);
    EXPECT_EQ(whole.text, "short text");
    EXPECT_FALSE(whole.cut_before);
    EXPECT_FALSE(whole.cut_after);
    EXPECT_TRUE(whole.marks.empty());
}

}  // namespace
}  // namespace leann::apps
