// The search page in a real browser: Debian's headless Chromium loads http://127.0.0.1:PORT/?index=..&q=.. from
// `leann serve` and the DOM it ends with must show ranked hits (path:line, a highlighted query term), passages as
// text (never as markup), and the token prompt on a server that needs one. Fails, not skips, without Chromium.
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>

#include "test_serve_support.h"

namespace leann {
namespace {

using testing::ServeHome;
using testing::ServeProcess;

std::string chromium_path() {
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
        if (std::filesystem::exists(p)) return p;
    return "";
}

// The DOM after the page's scripts ran (virtual time lets its fetches finish without real waiting).
std::string dump_dom(const std::string& url, const std::filesystem::path& profile) {
    const std::string command =
        chromium_path() +
        " --headless=new --no-sandbox --disable-gpu --no-first-run --user-data-dir=" + profile.string() +
        " --virtual-time-budget=10000 --dump-dom '" + url + "' 2>/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return "";
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    ::pclose(pipe);
    return out;
}

size_t count(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

TEST(ServePage, HeadlessChromiumShowsHighlightedHitsFromTheUrl) {
    ASSERT_FALSE(chromium_path().empty())
        << "Chromium is not installed: run scripts/setup.sh (Debian package chromium)";
    // One passage tries to inject markup: the page must show it as text.
    ServeHome home(std::vector<std::pair<std::string, std::string>>{
        {"notes/evil.md", "fox <img src=x onerror=alert(1)> fox <b>bold</b> fox\n"}});
    ServeProcess server(home, {});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    const std::string base = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

    const std::string dom = dump_dom(base + "?index=notes&q=quick%20fox&k=50", home.root() / "chromium-profile");
    ASSERT_NE(dom.find("<ol id=\"results\">"), std::string::npos) << dom;
    const size_t hits = count(dom, "<li class=\"hit\"");
    EXPECT_GE(hits, 13u) << dom;  // 12 note files and evil.md
    // path:line of a file chunk, and the score next to it.
    const std::regex location(R"(<span class="loc">[^<]*notes/fox\d+\.md:\d+</span>)");
    EXPECT_TRUE(std::regex_search(dom, location)) << dom;
    EXPECT_TRUE(std::regex_search(dom, std::regex(R"(<span class="score"[^>]*>0\.\d{3}</span>)"))) << dom;
    EXPECT_NE(dom.find("<mark>fox</mark>"), std::string::npos) << dom;
    EXPECT_NE(dom.find("<mark>quick</mark>"), std::string::npos) << dom;
    EXPECT_NE(dom.find(std::to_string(hits) + " results in"), std::string::npos) << dom;
    EXPECT_NE(dom.find("<option value=\"notes\">notes ("), std::string::npos) << dom;
    // The injected markup is text in the page, not an element.
    EXPECT_NE(dom.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos) << dom;
    EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
    EXPECT_EQ(dom.find("<b>bold"), std::string::npos) << dom;

    // A link naming an index that does not exist says so instead of searching another one.
    const std::string missing = dump_dom(base + "?index=nope&q=fox", home.root() / "chromium-profile");
    EXPECT_NE(missing.find("no index named 'nope'"), std::string::npos) << missing;
    EXPECT_EQ(count(missing, "<li class=\"hit\""), 0u);
}

TEST(ServePage, AskForTheTokenWhenTheServerNeedsOne) {
    ASSERT_FALSE(chromium_path().empty())
        << "Chromium is not installed: run scripts/setup.sh (Debian package chromium)";
    ServeHome home;
    ServeProcess server(home, {"--token", "page-test-token"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    const std::string dom = dump_dom("http://127.0.0.1:" + std::to_string(server.port()) + "/?index=notes&q=fox",
                                     home.root() / "chromium-profile");
    // The page loaded (no token needed for it), the API refused, and the token form is shown.
    ASSERT_NE(dom.find("id=\"token-form\""), std::string::npos) << dom;
    EXPECT_EQ(dom.find("id=\"token-form\" hidden"), std::string::npos) << dom;
    EXPECT_NE(dom.find("this server needs 'Authorization: Bearer TOKEN'"), std::string::npos) << dom;
    EXPECT_EQ(count(dom, "<li class=\"hit\""), 0u);
}

}  // namespace
}  // namespace leann
