// leann build on real-world mess, through the program: every kind of bad input is a warning naming the file and
// the reason, counted in the closing summary, while every good file (text, Markdown, code, HTML, PDF, Latin-1,
// UTF-16, invalid UTF-8) ends up searchable. Also: an unchanged tree is recognised without rebuilding, and a
// file that vanishes during the scan is a warning, not a failure. Tiny random-weight model: fast.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli_runner.h"
#include "leann/encoder.h"
#include "leann/ingest.h"
#include "tiny_model.h"

namespace leann {
namespace {

namespace fs = std::filesystem;
using testing::last_json_line;
using testing::run_cli;

void write(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
}

/// Runs a shell command, true when it exits 0 (for the PDF tools).
bool sh(const std::string& command) { return std::system(command.c_str()) == 0; }

/// A text PDF made by Debian's groff from text we did not write (the GPL's preamble), then an encrypted copy
/// (qpdf, user password) and a truncated copy.
void make_pdfs(const fs::path& good, const fs::path& encrypted, const fs::path& broken) {
    const fs::path source = good.parent_path() / "preamble.roff";
    std::ifstream gpl("/usr/share/common-licenses/GPL-3");
    std::string text((std::istreambuf_iterator<char>(gpl)), {});
    ASSERT_GT(text.size(), 4000u) << "/usr/share/common-licenses/GPL-3 missing";
    write(source, text.substr(0, 4000));
    ASSERT_TRUE(sh("groff -Tpdf -k " + source.string() + " > " + good.string() + " 2>/dev/null"))
        << "groff -Tpdf failed (scripts/setup.sh installs groff)";
    fs::remove(source);
    ASSERT_TRUE(sh("qpdf --encrypt secret owner 256 -- " + good.string() + " " + encrypted.string()))
        << "qpdf failed (scripts/setup.sh installs qpdf)";
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    write(broken, bytes.substr(0, bytes.size() / 3));
}

struct MessyTree {
    testing::TempDir dir;
    fs::path root, tiny, index;
    std::set<std::string> good;  // files that must be searchable
    std::string as_user;         // prefix that runs the program as an unprivileged user when we are root

    MessyTree() {
        root = dir.path() / "tree";
        tiny = dir.path() / "tiny";
        index = dir.path() / "out" / "idx";
        testing::write_tiny_model(tiny, {});
        auto add_good = [&](const std::string& name, const std::string& bytes) {
            write(root / name, bytes);
            good.insert((root / name).string());
        };
        add_good("notes/fox.md", "# Fox\n\nthe quick brown fox jumps over the lazy dog\n");
        add_good("notes/latin1.txt", "the lazy dog caf\xe9 na\xefve\n");
        add_good("notes/utf16.txt", std::string("\xff\xfe" "d\0o\0g\0 \0i\0n\0d\0e\0x\0", 20));
        add_good("notes/invalid-utf8.txt", "a valid line about search, and a long one, so that the bad byte is rare\n"
                                           "with one bad byte \xff here and more text that is valid UTF-8 again\n");
        add_good("src/tool.py", "def search(index, query):\n    return index.search(query)\n");
        add_good("web/page.html", "<html><head><title>Page</title><script>var x;</script></head>\n"
                                  "<body><p>the quick fox</p></body></html>\n");
        make_pdfs(root / "pdf" / "gpl.pdf", root / "pdf" / "encrypted.pdf", root / "pdf" / "broken.pdf");
        good.insert((root / "pdf" / "gpl.pdf").string());

        write(root / "bad" / "empty.txt", "");
        write(root / "bad" / "binary.txt", std::string("the\0\x01\x02quick", 11));
        write(root / "bad" / "huge.txt", std::string(1536 * 1024, 'x') + "\n");  // over --max-file-mb 1
        write(root / "bad" / "noaccess.txt", "secret words\n");
        fs::permissions(root / "bad" / "noaccess.txt", fs::perms::none);
        fs::create_directories(root / "bad" / "locked");
        write(root / "bad" / "locked" / "inside.txt", "never seen\n");
        fs::permissions(root / "bad" / "locked", fs::perms::none);
        fs::create_symlink(root / "bad" / "was-here.txt", root / "bad" / "vanished.txt");  // target gone
        write(root / "bad" / "picture.png", "\x89PNG\r\n\x1a\n");

        if (::geteuid() == 0) {
            // Root reads everything; permission errors need an ordinary user. Let it reach the tree and write out.
            fs::permissions(dir.path(), fs::perms::all);  // a private temporary folder (0700) otherwise
            fs::create_directories(index.parent_path());
            fs::permissions(index.parent_path(), fs::perms::all);
            as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
        }
    }

    testing::CliRun build(const std::string& extra = "") const {
        return run_cli_as(as_user, "build --index " + index.string() + " --docs " + root.string() +
                                       " --model " + tiny.string() + " --max-file-mb 1 --threads 1" + extra + " 2>&1");
    }

    static testing::CliRun run_cli_as(const std::string& prefix, const std::string& args) {
        return testing::run_shell(prefix + LEANN_CLI_PATH + " " + args);
    }
};

TEST(BuildMessyTree, BadInputIsWarnedAboutCountedAndGoodFilesAreSearchable) {
    MessyTree t;
    const auto build = t.build();
    ASSERT_EQ(build.status, 0) << build.out;
    auto warned = [&](const std::string& file, const std::string& reason) {
        return build.out.find(file + ": skipped: " + reason) != std::string::npos;
    };
    EXPECT_TRUE(warned("bad/empty.txt", "empty file")) << build.out;
    EXPECT_TRUE(warned("bad/binary.txt", "binary file")) << build.out;
    EXPECT_TRUE(warned("bad/huge.txt", "larger than the limit")) << build.out;
    EXPECT_TRUE(warned("bad/noaccess.txt", "cannot read: Permission denied")) << build.out;
    EXPECT_TRUE(warned("bad/locked", "cannot open folder: Permission denied")) << build.out;
    EXPECT_TRUE(warned("bad/vanished.txt", "broken symlink")) << build.out;
    EXPECT_TRUE(warned("bad/picture.png", "unsupported file type")) << build.out;
    EXPECT_TRUE(warned("pdf/encrypted.pdf", "encrypted PDF (needs a password)")) << build.out;
    EXPECT_TRUE(warned("pdf/broken.pdf", "broken PDF")) << build.out;
    EXPECT_NE(build.out.find("notes/invalid-utf8.txt: invalid UTF-8 bytes replaced"), std::string::npos) << build.out;

    const auto summary = last_json_line(build.out);
    ASSERT_TRUE(summary.is_object()) << build.out;
    EXPECT_EQ(summary["files"], t.good.size());
    EXPECT_EQ(summary["skipped"], 9);
    EXPECT_EQ(summary["repaired"], 1);
    const auto& reasons = summary["skip_reasons"];
    for (const char* r : {"empty file", "binary file", "larger than the limit", "cannot read: Permission denied",
                          "cannot open folder: Permission denied", "unsupported file type", "encrypted PDF",
                          "broken PDF"})
        EXPECT_EQ(reasons.value(r, 0), 1) << r << " in " << reasons.dump();
    EXPECT_GT(summary["index_bytes"].get<uint64_t>(), 0u);
    EXPECT_GT(summary["raw_bytes"].get<uint64_t>(), 0u);

    // Every good file is searchable: ask for more hits than there are chunks and collect the sources.
    const auto search = run_cli("search --index " + t.index.string() + " \"the quick fox\" --top-k 500 --json --model " +
                                t.tiny.string());
    ASSERT_EQ(search.status, 0) << search.out;
    std::set<std::string> sources;
    bool pdf_page = false, pdf_title = false;
    const auto found = nlohmann::json::parse(search.out);
    for (const auto& hit : found["results"]) {
        sources.insert(hit["source"].get<std::string>());
        if (hit["id"].get<std::string>().find("gpl.pdf#page=1") != std::string::npos) {
            pdf_page = hit["page"] == 1 && hit["metadata"]["type"] == "pdf";
            pdf_title |= hit["text"].get<std::string>().find("GNU GENERAL PUBLIC LICENSE") != std::string::npos;
        }
    }
    EXPECT_EQ(sources, t.good) << search.out;
    EXPECT_TRUE(pdf_page) << search.out;
    EXPECT_TRUE(pdf_title) << "the PDF's first line is in some chunk of page 1";
}

TEST(BuildMessyTree, UnchangedTreeIsRecognisedAndChangesRebuild) {
    MessyTree t;
    ASSERT_EQ(t.build().status, 0);
    const auto again = t.build();
    ASSERT_EQ(again.status, 0) << again.out;
    const auto same = last_json_line(again.out);
    EXPECT_EQ(same["up_to_date"], true) << again.out;
    EXPECT_EQ(again.out.find("skipped:"), std::string::npos) << "an up-to-date check reads no file: " << again.out;

    write(t.root / "notes" / "new.md", "a new note about foxes\n");
    const auto changed = t.build();
    ASSERT_EQ(changed.status, 0) << changed.out;
    EXPECT_EQ(last_json_line(changed.out)["up_to_date"], false);
    // An update: only the new file is read and embedded; everything else is kept.
    EXPECT_EQ(last_json_line(changed.out)["files"], 1) << changed.out;
    EXPECT_EQ(last_json_line(changed.out)["files_added"], 1) << changed.out;
    EXPECT_EQ(last_json_line(changed.out)["embedded"], 1) << changed.out;
    EXPECT_EQ(last_json_line(changed.out)["chunks_removed"], 0) << changed.out;

    const auto other_settings = t.build(" --chunk-size 64");
    EXPECT_EQ(last_json_line(other_settings.out)["up_to_date"], false) << other_settings.out;
    const auto forced = t.build(" --chunk-size 64 --force");
    EXPECT_EQ(last_json_line(forced.out)["up_to_date"], false) << forced.out;
}

TEST(BuildMessyTree, FileVanishingDuringTheScanIsAWarning) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path() / "tiny", {});
    const auto encoder = Encoder::load(dir.path() / "tiny");
    for (int i = 0; i < 4; ++i) write(dir.path() / "docs" / ("f" + std::to_string(i) + ".txt"), "text number " + std::to_string(i) + "\n");
    FileOptions options;
    // After the first file is read, the third disappears (as when an editor or a build removes it mid-scan).
    options.progress = [&](size_t done, size_t) {
        if (done == 1) fs::remove(dir.path() / "docs" / "f2.txt");
    };
    ReadReport report;
    const fs::path roots[] = {dir.path() / "docs"};
    const auto docs = read_file_documents(roots, encoder->tokenizer(), 64, options, report);
    EXPECT_EQ(report.files, 3u);
    EXPECT_EQ(docs.size(), 3u);
    ASSERT_EQ(report.warnings.size(), 1u);
    EXPECT_NE(report.warnings[0].find("f2.txt: skipped: cannot open: No such file or directory"), std::string::npos)
        << report.warnings[0];
}

TEST(BuildMessyTree, CtrlCLeavesTheOldIndexAndNoTemporaryFile) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path() / "tiny", {});
    const fs::path index = dir.path() / "idx";
    const fs::path small = dir.path() / "small.jsonl", large = dir.path() / "large.jsonl";
    write(small, "{\"text\": \"the first index\"}\n");
    {
        std::ofstream out(large);
        for (int i = 0; i < 400000; ++i) out << "{\"text\": \"record " << i << " about foxes and dogs\"}\n";
    }
    const std::string program = LEANN_CLI_PATH;
    const std::string model = (dir.path() / "tiny").string();
    ASSERT_EQ(run_cli("build --index " + index.string() + " --docs " + small.string() + " --model " + model +
                      " >/dev/null 2>&1")
                  .status,
              0);
    const auto before = fs::file_size(index);

    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::execl(program.c_str(), program.c_str(), "build", "--index", index.c_str(), "--docs", large.c_str(),
                "--model", model.c_str(), "--threads", "1", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // reading and embedding by then
    ::kill(child, SIGINT);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 130) << "the build finished before the interrupt: make the input larger";
    EXPECT_EQ(fs::file_size(index), before);  // the old index, untouched
    for (const auto& e : fs::directory_iterator(dir.path()))
        EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace leann
