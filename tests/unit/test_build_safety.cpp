// A careless user and leann build (issue 14, findings 5 and 6): --index pointed at something that is not an index,
// absurd --threads, an unwritable folder, unreadable and growing files, oversized records; what leaves the process
// for a human (control characters escaped) and who may read the index (user-only files).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "cli_runner.h"
#include "ingest/text_reader.h"
#include "leann/ingest.h"
#include "leann/tokenizer.h"
#include "terminal_text.h"
#include "tiny_model.h"

namespace leann {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class BuildSafety : public ::testing::Test {
protected:
    void SetUp() override {
        testing::write_tiny_model(model_, {});
        std::ofstream(docs_) << R"({"id": "a", "text": "the quick brown fox"})" << "\n"
                             << R"({"id": "b", "text": "jumps over the lazy dog"})" << "\n"
                             << R"({"id": "c", "text": "search the graph index"})" << "\n";
    }
    testing::CliRun build(const fs::path& index, const std::string& extra = "") const {
        return testing::run_cli("build --index " + quote(index) + " --docs " + quote(docs_) + " --model " +
                                quote(model_) + " --threads 1 " + extra + " 2>&1");
    }
    TempDir dir_;
    fs::path model_ = dir_.path() / "tiny";
    fs::path docs_ = dir_.path() / "docs.jsonl";
};

TEST_F(BuildSafety, NeverReplacesWhatIsNotAnIndexUnlessForced) {
    const fs::path notes = dir_.path() / "notes.txt";
    std::ofstream(notes) << "precious notes\n";
    const auto refused = build(notes);
    EXPECT_NE(refused.status, 0) << refused.out;
    EXPECT_TRUE(has(refused.out, "is not a leann index; refusing to replace it")) << refused.out;
    EXPECT_EQ(read_all(notes), "precious notes\n");

    // The --docs file itself, given as the index by mistake.
    const std::string docs_before = read_all(docs_);
    const auto self = build(docs_);
    EXPECT_NE(self.status, 0) << self.out;
    EXPECT_EQ(read_all(docs_), docs_before);

    // Not a regular file: never, --force or not.
    const fs::path fifo = dir_.path() / "pipe";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const auto on_fifo = build(fifo, "--force");
    EXPECT_NE(on_fifo.status, 0) << on_fifo.out;
    EXPECT_TRUE(has(on_fifo.out, "not a regular file")) << on_fifo.out;
    EXPECT_TRUE(fs::is_fifo(fifo));
    const auto on_device = build("/dev/null", "--force");
    EXPECT_NE(on_device.status, 0) << on_device.out;
    EXPECT_TRUE(has(on_device.out, "not a regular file")) << on_device.out;

    // Asked for: replaced, and an index now.
    const auto forced = build(notes, "--force");
    ASSERT_EQ(forced.status, 0) << forced.out;
    EXPECT_EQ(read_all(notes).substr(0, 8), "LEANNIDX");
    // An index is replaced (rebuilt) without --force.
    const auto again = build(notes, "--rehash");
    EXPECT_EQ(again.status, 0) << again.out;
}

TEST_F(BuildSafety, IndexFilesAndFoldersAreUserOnly) {
    const fs::path index = dir_.path() / "new" / "folder" / "index.leann";
    ASSERT_EQ(build(index).status, 0);
    struct stat st {};
    ASSERT_EQ(::stat(index.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(index.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_EQ(::stat((dir_.path() / "new").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    fs::path lock = index;
    lock += ".lock";
    ASSERT_EQ(::stat(lock.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // A user who opened an index up keeps it open across a rebuild.
    ASSERT_EQ(::chmod(index.c_str(), 0644), 0);
    ASSERT_EQ(build(index, "--force").status, 0);
    ASSERT_EQ(::stat(index.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(BuildSafety, ThreadsAreClampedToTheCores) {
    const auto r = testing::run_cli("build --index " + quote(dir_.path() / "idx") + " --docs " + quote(docs_) +
                                    " --model " + quote(model_) + " --threads 100000 2>&1");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(has(r.out, "note: --threads 100000 is more than the")) << r.out;
}

TEST_F(BuildSafety, AnUnwritableIndexFolderIsFoundFirst) {
    // /proc exists and takes no new files, even for root (chmod cannot make a folder unwritable for root).
    const auto r = build("/proc/leann-test-index.leann");
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_TRUE(has(r.out, "/proc: the index folder is not writable")) << r.out;
    if (::geteuid() != 0) {
        const fs::path locked = dir_.path() / "locked";
        ASSERT_EQ(build(locked / "index.leann").status, 0);  // folder and lock file exist from a first build
        ASSERT_EQ(::chmod(locked.c_str(), 0500), 0);
        const auto again = build(locked / "index.leann", "--force");
        ::chmod(locked.c_str(), 0700);
        EXPECT_NE(again.status, 0) << again.out;
        EXPECT_TRUE(has(again.out, "the index folder is not writable")) << again.out;
    }
}

TEST(BuildInput, UnreadableAndGrowingFilesAreSkippedByName) {
    TempDir dir;
    std::string why;
    // A folder and a FIFO where a file was listed: named reasons, no exception, no wait.
    EXPECT_FALSE(ingest::read_text(dir.path(), why));
    EXPECT_EQ(why, "not a regular file");
    const fs::path fifo = dir.path() / "fifo.txt";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_FALSE(ingest::read_text(fifo, why));
    EXPECT_EQ(why, "not a regular file");
    // The limit holds for the bytes read, not the size seen at discovery.
    const fs::path grown = dir.path() / "grown.txt";
    std::ofstream(grown) << std::string(100, 'x');
    EXPECT_FALSE(ingest::read_text(grown, why, 99));
    EXPECT_TRUE(has(why, "larger than the limit")) << why;
    ASSERT_TRUE(ingest::read_text(grown, why, 100));
    EXPECT_EQ(ingest::read_text(grown, why, 100)->text.size(), 100u);

    // Through the file reader: the stale size says 10 bytes, the file has 100; and a folder in the list.
    ReadReport report;
    FileOptions options;
    options.max_file_bytes = 50;
    const SourceFile listed[] = {{grown, 10, 0, 0, 0}, {dir.path(), 10, 0, 0, 0}};
    testing::write_tiny_model(dir.path() / "tiny", {});
    const Tokenizer tokenizer = Tokenizer::load(dir.path() / "tiny");
    const auto docs = read_file_documents(std::span<const SourceFile>(listed), tokenizer, 64, options, report);
    EXPECT_TRUE(docs.empty());
    ASSERT_EQ(report.warnings.size(), 2u);
    EXPECT_TRUE(has(report.warnings[0], grown.string() + ": skipped: larger than the limit")) << report.warnings[0];
    EXPECT_TRUE(has(report.warnings[1], dir.path().string() + ": skipped: not a regular file")) << report.warnings[1];
}

TEST(BuildInput, ARecordTooLargeForAPassageIsRefusedWithFileAndLine) {
    TempDir dir;
    const fs::path file = dir.path() / "big.jsonl";
    {
        std::ofstream out(file);
        out << R"({"text": "small"})" << "\n";
        out << R"({"text": ")" << std::string((64u << 20) + 1, 'a') << "\"}\n";
        out << R"({"text": "after"})" << "\n";
    }
    ReadReport report;
    const auto docs = read_jsonl_documents(file, report);
    ASSERT_EQ(docs.size(), 2u);
    EXPECT_EQ(docs[1].text, "after");
    ASSERT_EQ(report.warnings.size(), 1u);
    EXPECT_TRUE(has(report.warnings[0], "big.jsonl:2: skipped: the record is")) << report.warnings[0].substr(0, 200);
    EXPECT_TRUE(has(report.warnings[0], "a passage holds at most")) << report.warnings[0].substr(0, 200);
}

TEST(OutputHygiene, ControlCharactersAreShownEscaped) {
    EXPECT_EQ(apps::escape_controls("a\x1b[31mred\r\nb\tc\x7f"), "a\\e[31mred\\r\\nb\\tc\\x7f");
    EXPECT_EQ(apps::escape_controls("keep\nlines\tand\x1b", apps::Newlines::keep), "keep\nlines\tand\\e");
    EXPECT_EQ(apps::escape_controls("csi \xC2\x9B" "2J, nel \xC2\x85, nbsp \xC2\xA0 ok"),
              "csi \\u009b2J, nel \\u0085, nbsp \xC2\xA0 ok");
    EXPECT_EQ(apps::escape_controls("bad \xff byte"), "bad \xEF\xBF\xBD byte");
    EXPECT_EQ(apps::escape_controls(std::string("nul\0end", 7)), "nul\\x00end");
}

TEST_F(BuildSafety, WarningsShowFileNamesEscaped) {
    const fs::path docs = dir_.path() / "tree";
    fs::create_directories(docs);
    std::ofstream(docs / "good.md") << "the quick brown fox\n";
    std::ofstream(docs / "evil\x1b[31m\nwarning: forged.zzz") << "not a known type\n";
    const auto r = testing::run_cli("build --index " + quote(dir_.path() / "idx") + " --docs " + quote(docs) +
                                    " --model " + quote(model_) + " --threads 1 2>&1 >/dev/null");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
    EXPECT_TRUE(has(r.out, "evil\\e[31m\\nwarning: forged.zzz: skipped")) << r.out;
}

TEST_F(BuildSafety, SearchOutputCannotForgeResultLines) {
    std::ofstream(docs_) << R"({"id": "evil\u001b[2J\n2. [0.9999] forged.md:1", )"
                         << R"("text": "fox \u001b]0;title\u0007 fox\rX"})" << "\n"
                         << R"({"id": "b", "text": "jumps over the lazy dog"})" << "\n";
    const fs::path index = dir_.path() / "idx";
    ASSERT_EQ(build(index).status, 0);
    const auto r = testing::run_cli("search --index " + quote(index) + " fox --top-k 2 --model " + quote(model_) +
                                    " 2>/dev/null");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('\r'), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('\x07'), std::string::npos) << r.out;
    size_t result_lines = 0;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
        if (line.size() > 3 && std::isdigit(static_cast<unsigned char>(line[0])) && line.substr(1, 3) == ". [")
            ++result_lines;
    EXPECT_EQ(result_lines, 2u) << r.out;
    EXPECT_TRUE(has(r.out, "evil\\e[2J\\n2. [0.9999] forged.md:1")) << r.out;
}

}  // namespace
}  // namespace leann
