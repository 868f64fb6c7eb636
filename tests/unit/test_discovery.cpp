#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ingest/discovery.h"
#include "ingest/ignore_rules.h"

namespace leann::ingest {
namespace {

namespace fs = std::filesystem;

// ---- glob matcher and ignore rules ----

TEST(GlobMatch, StarsQuestionMarksAndClasses) {
    EXPECT_TRUE(glob_match("*.md", "notes.md"));
    EXPECT_FALSE(glob_match("*.md", "a/notes.md"));  // '*' stops at '/'
    EXPECT_TRUE(glob_match("a?c", "abc"));
    EXPECT_FALSE(glob_match("a?c", "a/c"));
    EXPECT_TRUE(glob_match("file[0-9].txt", "file7.txt"));
    EXPECT_FALSE(glob_match("file[0-9].txt", "filex.txt"));
    EXPECT_TRUE(glob_match("file[!0-9].txt", "filex.txt"));
    EXPECT_TRUE(glob_match("file[^0-9].txt", "filex.txt"));
    EXPECT_FALSE(glob_match("a[/]b", "a/b"));  // classes never match '/'
    EXPECT_TRUE(glob_match("[]x]", "]"));      // ']' first is literal
    EXPECT_TRUE(glob_match("a[b", "a[b"));     // unclosed class: literal '['
    EXPECT_TRUE(glob_match("\\*star", "*star"));
    EXPECT_FALSE(glob_match("\\*star", "xstar"));
    EXPECT_TRUE(glob_match("**/x", "x"));
    EXPECT_TRUE(glob_match("**/x", "a/b/x"));
    EXPECT_TRUE(glob_match("a/**", "a/b/c"));
    EXPECT_FALSE(glob_match("a/**", "a"));
    EXPECT_TRUE(glob_match("a/**/b", "a/b"));
    EXPECT_TRUE(glob_match("a/**/b", "a/x/y/b"));
    EXPECT_FALSE(glob_match("a/**/b", "a/x/y/c"));
    EXPECT_TRUE(glob_match("a**b", "axxb"));  // not a whole segment: acts as '*'
    EXPECT_FALSE(glob_match("a**b", "a/b"));
    EXPECT_TRUE(glob_match("", ""));
}

TEST(GlobMatch, PathologicalPatternFinishesQuickly) {
    // Exponential without memoisation; this must return at once.
    const std::string glob = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    EXPECT_FALSE(glob_match(glob, std::string(200, 'a')));
    EXPECT_FALSE(glob_match("**/**/**/**/**/**/**/**/**/z", std::string(100, 'a') + "/" + std::string(100, 'b')));
}

TEST(IgnoreRules, CommentsBlankLinesAndNegation) {
    auto rules = IgnoreRules::parse("# comment\n\n*.log\n!keep.log\n");
    EXPECT_EQ(rules.size(), 2u);
    EXPECT_EQ(rules.match("debug.log", false), std::optional<bool>(true));
    EXPECT_EQ(rules.match("sub/debug.log", false), std::optional<bool>(true));
    EXPECT_EQ(rules.match("keep.log", false), std::optional<bool>(false));
    EXPECT_EQ(rules.match("notes.md", false), std::nullopt);
    // The last matching pattern wins, so a later positive pattern undoes an earlier '!'.
    auto again = IgnoreRules::parse("!a.txt\na.txt\n");
    EXPECT_EQ(again.match("a.txt", false), std::optional<bool>(true));
}

TEST(IgnoreRules, DirectoryOnlyPatterns) {
    auto rules = IgnoreRules::parse("logs/\n");
    EXPECT_EQ(rules.match("logs", true), std::optional<bool>(true));
    EXPECT_EQ(rules.match("a/logs", true), std::optional<bool>(true));  // trailing '/' alone does not anchor
    EXPECT_EQ(rules.match("logs", false), std::nullopt);
}

TEST(IgnoreRules, AnchoredAndUnanchored) {
    auto rules = IgnoreRules::parse("/root.txt\ndoc/frotz\nany.txt\n");
    EXPECT_EQ(rules.match("root.txt", false), std::optional<bool>(true));
    EXPECT_EQ(rules.match("sub/root.txt", false), std::nullopt);
    EXPECT_EQ(rules.match("doc/frotz", true), std::optional<bool>(true));
    EXPECT_EQ(rules.match("a/doc/frotz", true), std::nullopt);  // middle '/' anchors too
    EXPECT_EQ(rules.match("any.txt", false), std::optional<bool>(true));
    EXPECT_EQ(rules.match("x/y/any.txt", false), std::optional<bool>(true));
}

TEST(IgnoreRules, DoubleStar) {
    auto rules = IgnoreRules::parse("**/cache\nout/**\na/**/z.txt\n");
    EXPECT_EQ(rules.match("cache", true), std::optional<bool>(true));
    EXPECT_EQ(rules.match("deep/er/cache", false), std::optional<bool>(true));
    EXPECT_EQ(rules.match("out/x/y.bin", false), std::optional<bool>(true));
    EXPECT_EQ(rules.match("out", true), std::nullopt);
    EXPECT_EQ(rules.match("a/z.txt", false), std::optional<bool>(true));
    EXPECT_EQ(rules.match("a/b/c/z.txt", false), std::optional<bool>(true));
    EXPECT_EQ(rules.match("b/a/z.txt", false), std::nullopt);
}

TEST(IgnoreRules, CharacterClasses) {
    auto rules = IgnoreRules::parse("*.[oa]\nv[0-9]/\n");
    EXPECT_EQ(rules.match("x.o", false), std::optional<bool>(true));
    EXPECT_EQ(rules.match("x.a", false), std::optional<bool>(true));
    EXPECT_EQ(rules.match("x.c", false), std::nullopt);
    EXPECT_EQ(rules.match("v2", true), std::optional<bool>(true));
    EXPECT_EQ(rules.match("vx", true), std::nullopt);
}

TEST(IgnoreRules, EscapesAndTrailingSpaces) {
    auto rules = IgnoreRules::parse("\\#hash\n\\!bang\ntrail   \nspace\\ \r\n");
    EXPECT_EQ(rules.size(), 4u);
    EXPECT_EQ(rules.match("#hash", false), std::optional<bool>(true));  // not a comment
    EXPECT_EQ(rules.match("!bang", false), std::optional<bool>(true));  // not a negation
    EXPECT_EQ(rules.match("bang", false), std::nullopt);
    EXPECT_EQ(rules.match("trail", false), std::optional<bool>(true));  // trailing spaces trimmed
    EXPECT_EQ(rules.match("trail ", false), std::nullopt);
    EXPECT_EQ(rules.match("space ", false), std::optional<bool>(true));  // escaped space kept
    EXPECT_EQ(rules.match("space", false), std::nullopt);
}

TEST(IgnoreRules, EmptyAndDegenerateLines) {
    auto rules = IgnoreRules::parse("   \n!\n/\n#only\n");
    EXPECT_TRUE(rules.empty());
    EXPECT_EQ(rules.match("anything", false), std::nullopt);
}

// ---- discovery over real trees ----

class Discovery : public ::testing::Test {
protected:
    void SetUp() override {
        std::string templ = (fs::temp_directory_path() / "leann-discovery-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        root_ = templ;
    }

    void TearDown() override {
        for (const auto& dir : locked_) ::chmod(dir.c_str(), 0755);
        std::error_code ec;
        fs::remove_all(root_, ec);
    }

    void write(const std::string& relative, const std::string& text = "text\n") {
        const fs::path path = root_ / relative;
        fs::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary) << text;
    }

    void mkdir(const std::string& relative) { fs::create_directories(root_ / relative); }

    std::vector<std::string> run(const DiscoveryOptions& options = {}) {
        skipped_.clear();
        const fs::path roots[] = {root_};
        std::vector<std::string> relatives;
        for (const auto& file : discover(roots, options, skipped_)) relatives.push_back(file.relative);
        return relatives;
    }

    bool was_skipped(const fs::path& path, const std::string& reason_part) const {
        return std::any_of(skipped_.begin(), skipped_.end(), [&](const SkippedPath& s) {
            return s.path == path && s.reason.find(reason_part) != std::string::npos;
        });
    }

    fs::path root_;
    std::vector<fs::path> locked_;
    std::vector<SkippedPath> skipped_;
};

using Names = std::vector<std::string>;

TEST_F(Discovery, SortedDepthFirstAndDeterministic) {
    write("b.md");
    write("a.md");
    write("c/z.md");
    write("c/a.md");
    write("B.md");
    const Names expected = {"B.md", "a.md", "b.md", "c/a.md", "c/z.md"};
    EXPECT_EQ(run(), expected);
    EXPECT_EQ(run(), expected);
    EXPECT_TRUE(skipped_.empty());
}

TEST_F(Discovery, FileFieldsAreFilledIn) {
    write("a.md", "12345");
    const fs::path roots[] = {root_};
    auto files = discover(roots, {}, skipped_);
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].path, root_ / "a.md");
    EXPECT_EQ(files[0].bytes, 5u);
    struct stat st {};
    ASSERT_EQ(::stat((root_ / "a.md").c_str(), &st), 0);
    EXPECT_EQ(files[0].mtime_ns, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec);
}

TEST_F(Discovery, GitignoreNegationAndDirOnly) {
    write(".gitignore", "*.log\n!keep.log\nlogs/\n");
    write("a.log");
    write("keep.log");
    write("logs/x.md");
    write("sub/logs");  // a file named like the dir-only pattern stays
    write("notes.md");
    EXPECT_EQ(run(), (Names{"keep.log", "notes.md", "sub/logs"}));
    EXPECT_TRUE(skipped_.empty());  // ignored files are silent
}

TEST_F(Discovery, AnchoredRulesAreRelativeToTheirFolder) {
    write("sub/.gitignore", "/only_here.md\n");
    write("only_here.md");
    write("sub/only_here.md");
    write("sub/deeper/only_here.md");
    EXPECT_EQ(run(), (Names{"only_here.md", "sub/deeper/only_here.md"}));
}

TEST_F(Discovery, DeeperGitignoreOverridesParent) {
    write(".gitignore", "*.txt\n");
    write("sub/.gitignore", "!important.txt\n");
    write("a.txt");
    write("important.txt");
    write("sub/important.txt");
    write("sub/other.txt");
    EXPECT_EQ(run(), (Names{"sub/important.txt"}));
}

TEST_F(Discovery, NegationCannotReincludeInsideIgnoredFolder) {
    write(".gitignore", "secret/\n!secret/keep.md\n");
    write("secret/keep.md");
    write("secret/.gitignore", "!keep.md\n");  // never read: git does not descend into an ignored folder
    write("public.md");
    EXPECT_EQ(run(), (Names{"public.md"}));
    // ...whereas "dir/**" ignores the contents, not the folder, so a '!' works.
    write(".gitignore", "open/**\n!open/keep.md\n");
    write("open/keep.md");
    write("open/drop.md");
    EXPECT_EQ(run(), (Names{"open/keep.md", "public.md", "secret/keep.md"}));
}

TEST_F(Discovery, LeannignoreAppliesAndWinsOverGitignore) {
    write(".gitignore", "!draft.md\n");
    write(".leannignore", "draft*.md\nprivate/\n");
    write("draft.md");
    write("draft2.md");
    write("private/a.md");
    write("final.md");
    EXPECT_EQ(run(), (Names{"final.md"}));
}

TEST_F(Discovery, HiddenEntriesSkippedUnlessAsked) {
    write(".hidden.md");
    write(".dotdir/a.md");
    write("visible.md");
    EXPECT_EQ(run(), (Names{"visible.md"}));
    DiscoveryOptions options;
    options.include_hidden = true;
    EXPECT_EQ(run(options), (Names{".dotdir/a.md", ".hidden.md", "visible.md"}));
}

TEST_F(Discovery, VcsAndBuildFoldersSkipped) {
    write(".git/config");
    write(".hg/x");
    write("node_modules/pkg/index.js");
    write("__pycache__/m.pyc");
    write("build/out.txt");
    write("src/target/x.rs");
    write("venv/lib.py");
    write("src/CMakeFiles/x.txt");
    write("src/main.py");
    write("notes/build");  // a file named "build" is not a build folder
    DiscoveryOptions options;
    options.include_hidden = true;  // VCS folders stay out even then
    EXPECT_EQ(run(options), (Names{"notes/build", "src/main.py"}));
}

TEST_F(Discovery, ExplicitHiddenOrIgnoredRootIsWalked) {
    write(".dotdir/a.md");
    write("node_modules/b.md");
    write(".hidden.md");
    const fs::path roots[] = {root_ / ".dotdir", root_ / "node_modules", root_ / ".hidden.md"};
    auto files = discover(roots, {}, skipped_);
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(files[0].relative, "a.md");
    EXPECT_EQ(files[1].relative, "b.md");
    EXPECT_EQ(files[2].relative, ".hidden.md");
    EXPECT_EQ(files[2].path, root_ / ".hidden.md");
    EXPECT_TRUE(skipped_.empty());
}

TEST_F(Discovery, IncludeExcludeAndFileTypes) {
    write("a.md");
    write("b.py");
    write("c.TXT");
    write("src/d.py");
    write("src/gen/e.py");
    write("docs/f.md");
    DiscoveryOptions options;
    options.include = {"*.md", "src/**"};
    EXPECT_EQ(run(options), (Names{"a.md", "docs/f.md", "src/d.py", "src/gen/e.py"}));

    options = {};
    options.exclude = {"gen/", "/a.md"};
    EXPECT_EQ(run(options), (Names{"b.py", "c.TXT", "docs/f.md", "src/d.py"}));

    options = {};
    options.file_types = {"py", ".txt"};
    EXPECT_EQ(run(options), (Names{"b.py", "c.TXT", "src/d.py", "src/gen/e.py"}));

    options.include = {"src/*"};
    options.exclude = {"d.py"};
    EXPECT_EQ(run(options), Names{});
    options.exclude.clear();
    EXPECT_EQ(run(options), (Names{"src/d.py"}));
}

TEST_F(Discovery, OversizedFileReported) {
    write("small.md", "ok");
    write("big.md", std::string(100, 'x'));
    DiscoveryOptions options;
    options.max_file_bytes = 10;
    EXPECT_EQ(run(options), (Names{"small.md"}));
    ASSERT_EQ(skipped_.size(), 1u);
    EXPECT_TRUE(was_skipped(root_ / "big.md", "larger than the limit"));
}

TEST_F(Discovery, SymlinkLoopTerminatesAndFilesAppearOnce) {
    write("a.md");
    write("sub/b.md");
    fs::create_directory_symlink("..", root_ / "sub" / "up");  // sub/up -> root: a loop
    fs::create_directory_symlink("sub", root_ / "alias");      // a second way into sub
    write("elsewhere/c.md");
    fs::create_symlink(root_ / "elsewhere" / "c.md", root_ / "sub" / "link.md");  // file links are followed
    const Names files = run();
    EXPECT_EQ(files, (Names{"a.md", "alias/b.md", "alias/link.md", "elsewhere/c.md"}));
    // "alias" sorts first, so sub is walked through it; the loop and the real "sub" are both seen as repeats.
    EXPECT_TRUE(was_skipped(root_ / "alias" / "up", "already walked"));
    EXPECT_TRUE(was_skipped(root_ / "sub", "already walked"));
}

TEST_F(Discovery, BrokenSymlinkReported) {
    write("a.md");
    fs::create_symlink(root_ / "nowhere.md", root_ / "dangling.md");
    EXPECT_EQ(run(), (Names{"a.md"}));
    EXPECT_TRUE(was_skipped(root_ / "dangling.md", "broken symlink"));
    // An ignored broken link is silent, like any ignored path.
    write(".gitignore", "dangling.md\n");
    EXPECT_EQ(run(), (Names{"a.md"}));
    EXPECT_TRUE(skipped_.empty());
}

TEST_F(Discovery, UnreadableFolderReported) {
    if (::geteuid() == 0) GTEST_SKIP() << "root can read a chmod 000 folder";
    write("a.md");
    write("locked/b.md");
    ASSERT_EQ(::chmod((root_ / "locked").c_str(), 0), 0);
    locked_.push_back(root_ / "locked");
    EXPECT_EQ(run(), (Names{"a.md"}));
    EXPECT_TRUE(was_skipped(root_ / "locked", "cannot open folder"));
}

TEST_F(Discovery, UnreadableFileReported) {
    if (::geteuid() == 0) GTEST_SKIP() << "root can read a chmod 000 file";
    write("a.md");
    write("locked.md");
    ASSERT_EQ(::chmod((root_ / "locked.md").c_str(), 0), 0);
    EXPECT_EQ(run(), (Names{"a.md"}));
    EXPECT_TRUE(was_skipped(root_ / "locked.md", "cannot read"));
}

TEST_F(Discovery, MissingRootReportedOthersStillWalked) {
    write("a.md");
    const fs::path roots[] = {root_ / "missing", root_};
    auto files = discover(roots, {}, skipped_);
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].relative, "a.md");
    ASSERT_EQ(skipped_.size(), 1u);
    EXPECT_TRUE(was_skipped(root_ / "missing", "No such file"));
}

TEST_F(Discovery, OverlappingRootsDoNotRepeatFiles) {
    write("a.md");
    write("sub/b.md");
    const fs::path roots[] = {root_, root_ / "sub"};
    auto files = discover(roots, {}, skipped_);
    ASSERT_EQ(files.size(), 2u);
    EXPECT_TRUE(was_skipped(root_ / "sub", "already walked"));
}

TEST_F(Discovery, NonRegularFileReported) {
    write("a.md");
    ASSERT_EQ(::mkfifo((root_ / "pipe").c_str(), 0600), 0);
    EXPECT_EQ(run(), (Names{"a.md"}));
    EXPECT_TRUE(was_skipped(root_ / "pipe", "not a regular file"));
}

}  // namespace
}  // namespace leann::ingest
