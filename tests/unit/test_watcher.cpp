// leann::Watcher: inotify and polling modes over a temporary tree. wait() with a generous timeout is the only
// synchronisation; "nothing more comes" is checked with a wait() well past the debounce.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "leann/error.h"
#include "leann/watch.h"

namespace leann {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds settle_timeout{5000};  // a batch must come out well within this
constexpr milliseconds quiet_check{600};      // three debounces: nothing more may come out within this

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good()) << path;
}

bool contains(const WatchBatch& batch, const fs::path& path) {
    return std::find(batch.paths.begin(), batch.paths.end(), path) != batch.paths.end();
}

std::string listing(const WatchBatch& batch) {
    std::string text;
    for (const auto& path : batch.paths) text += path.string() + "\n";
    return text;
}

class TempTree {
public:
    TempTree() {
        std::string templ = (fs::temp_directory_path() / "leann-watch-XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        root_ = templ;
    }
    ~TempTree() {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }
    const fs::path& root() const { return root_; }

private:
    fs::path root_;
};

// Parameter: true = force_polling.
class WatcherModes : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override {
        write_file(tree_.root() / "notes.md", "first\n");
        write_file(tree_.root() / ".gitignore", "*.log\n");
        fs::create_directories(tree_.root() / "docs");
        fs::create_directories(tree_.root() / ".hidden");
        fs::create_directories(tree_.root() / "node_modules" / "pkg");
    }

    WatchOptions options() const {
        WatchOptions opts;
        opts.debounce = milliseconds(200);
        opts.max_delay = milliseconds(4000);
        opts.poll_interval = milliseconds(100);
        opts.force_polling = GetParam();
        return opts;
    }

    std::unique_ptr<Watcher> start(WatchOptions opts) {
        auto watcher = std::make_unique<Watcher>(std::vector<fs::path>{tree_.root()}, opts);
        EXPECT_EQ(watcher->polling(), GetParam()) << watcher->describe();
        return watcher;
    }

    // Waits for batches until every path in `wanted` was named; returns the batches seen.
    static std::vector<WatchBatch> collect(Watcher& watcher, const std::vector<fs::path>& wanted) {
        std::vector<WatchBatch> batches;
        std::set<fs::path> missing(wanted.begin(), wanted.end());
        while (!missing.empty()) {
            std::optional<WatchBatch> batch = watcher.wait(settle_timeout);
            if (!batch) break;
            for (const auto& path : batch->paths) missing.erase(path);
            batches.push_back(std::move(*batch));
        }
        EXPECT_TRUE(missing.empty()) << missing.size() << " paths never reported, e.g. " << missing.begin()->string();
        return batches;
    }

    TempTree tree_;
};

TEST_P(WatcherModes, QuietTreeGivesNothing) {
    auto watcher = start(options());
    EXPECT_FALSE(watcher->wait(milliseconds(300)).has_value());
}

TEST_P(WatcherModes, WrittenFileIsNamed) {
    auto watcher = start(options());
    const fs::path file = tree_.root() / "docs" / "new.txt";
    write_file(file, "hello\n");
    // Far shorter than the debounce: nothing can have settled, and what is pending stays for the next call.
    EXPECT_FALSE(watcher->wait(milliseconds(20)).has_value());
    std::optional<WatchBatch> batch = watcher->wait(settle_timeout);
    ASSERT_TRUE(batch.has_value());
    EXPECT_TRUE(contains(*batch, file)) << listing(*batch);
    EXPECT_GT(batch->events, 0u);
    EXPECT_TRUE(std::is_sorted(batch->paths.begin(), batch->paths.end()));
}

TEST_P(WatcherModes, EditorSaveIsOneBatchNamingTheOriginal) {
    auto watcher = start(options());
    const fs::path original = tree_.root() / "notes.md";
    const fs::path temporary = tree_.root() / "notes.md.tmp";
    write_file(temporary, "second version, longer\n");
    fs::rename(temporary, original);
    std::optional<WatchBatch> batch = watcher->wait(settle_timeout);
    ASSERT_TRUE(batch.has_value());
    EXPECT_TRUE(contains(*batch, original)) << listing(*batch);
    EXPECT_FALSE(contains(*batch, temporary)) << "came and went within the burst: " << listing(*batch);
    EXPECT_FALSE(watcher->wait(quiet_check).has_value()) << "the save was split into several batches";
}

TEST_P(WatcherModes, NewFoldersAreWatched) {
    auto watcher = start(options());
    const fs::path sub = tree_.root() / "new" / "sub";
    fs::create_directories(sub);
    const fs::path early = sub / "early.md";  // written before the watcher can have seen the folders
    write_file(early, "early\n");
    collect(*watcher, {early});

    const fs::path later = sub / "later.md";
    write_file(later, "later\n");
    std::vector<WatchBatch> batches = collect(*watcher, {later});
    ASSERT_FALSE(batches.empty());
    EXPECT_TRUE(contains(batches.back(), later));
}

TEST_P(WatcherModes, FolderMovedInIsWatched) {
    TempTree outside;  // same file system (both under the temp folder), so the move is a rename
    fs::create_directories(outside.root() / "album" / "inner");
    write_file(outside.root() / "album" / "inner" / "old.md", "old\n");
    auto watcher = start(options());
    const fs::path album = tree_.root() / "album";
    fs::rename(outside.root() / "album", album);
    collect(*watcher, {album / "inner" / "old.md"});  // files already inside count as changed

    const fs::path later = album / "inner" / "later.md";
    write_file(later, "later\n");
    collect(*watcher, {later});
}

TEST_P(WatcherModes, RenamedFolderReportsItsNewPaths) {
    write_file(tree_.root() / "docs" / "a.md", "a\n");
    auto watcher = start(options());
    const fs::path renamed = tree_.root() / "papers";
    fs::rename(tree_.root() / "docs", renamed);
    collect(*watcher, {tree_.root() / "docs", renamed});

    const fs::path file = renamed / "a.md";
    write_file(file, "a, edited\n");
    std::optional<WatchBatch> batch = watcher->wait(settle_timeout);
    ASSERT_TRUE(batch.has_value());
    EXPECT_TRUE(contains(*batch, file)) << listing(*batch);
    EXPECT_FALSE(contains(*batch, tree_.root() / "docs" / "a.md")) << listing(*batch);
}

TEST_P(WatcherModes, DeletedFileIsNamed) {
    auto watcher = start(options());
    const fs::path file = tree_.root() / "notes.md";
    ASSERT_TRUE(fs::remove(file));
    std::optional<WatchBatch> batch = watcher->wait(settle_timeout);
    ASSERT_TRUE(batch.has_value());
    EXPECT_TRUE(contains(*batch, file)) << listing(*batch);
}

TEST_P(WatcherModes, IgnoreFileEditIsNamed) {
    auto watcher = start(options());
    const fs::path file = tree_.root() / ".gitignore";
    write_file(file, "*.log\nbuild-output/\n");
    std::optional<WatchBatch> batch = watcher->wait(settle_timeout);
    ASSERT_TRUE(batch.has_value());
    EXPECT_TRUE(contains(*batch, file)) << listing(*batch);
}

TEST_P(WatcherModes, BurstComesOutInFewBatches) {
    auto watcher = start(options());
    const fs::path folder = tree_.root() / "docs";
    std::vector<fs::path> files;
    for (int i = 0; i < 500; ++i) files.push_back(folder / ("file" + std::to_string(i) + ".txt"));
    // Written while wait() runs, so that the debounce (not one read of a full queue) has to hold the burst together.
    std::future<void> writer = std::async(std::launch::async, [&] {
        for (size_t i = 0; i < files.size(); ++i) write_file(files[i], "text " + std::to_string(i) + "\n");
    });
    std::vector<WatchBatch> batches = collect(*watcher, files);
    writer.get();
    EXPECT_LE(batches.size(), 3u);
    size_t events = 0;
    for (const auto& batch : batches) events += batch.events;
    EXPECT_GE(events, GetParam() ? 500u : 1000u);  // inotify: at least a create and a close per file
}

TEST_P(WatcherModes, TreeThatNeverSettlesStillGivesBatches) {
    WatchOptions opts = options();
    opts.max_delay = milliseconds(500);
    auto watcher = start(opts);
    std::atomic<bool> done{false};
    const fs::path file = tree_.root() / "docs" / "log.txt";
    std::future<void> writer = std::async(std::launch::async, [&] {
        // Load, not synchronisation: a change every 10 ms keeps the tree from ever being quiet for the debounce.
        for (int i = 0; !done; ++i) {
            write_file(file, std::string(static_cast<size_t>(i % 50 + 1), 'x'));
            std::this_thread::sleep_for(milliseconds(10));
        }
    });
    std::optional<WatchBatch> batch = watcher->wait(settle_timeout);
    done = true;
    writer.get();
    ASSERT_TRUE(batch.has_value()) << "max_delay did not cut the endless burst";
    EXPECT_TRUE(contains(*batch, file)) << listing(*batch);
}

TEST_P(WatcherModes, HiddenAndDependencyFoldersAreIgnored) {
    auto watcher = start(options());
    const fs::path hidden = tree_.root() / ".hidden" / "secret.md";
    const fs::path dot_file = tree_.root() / ".draft.md";
    const fs::path dependency = tree_.root() / "node_modules" / "pkg" / "index.js";
    write_file(hidden, "secret\n");
    write_file(dot_file, "draft\n");
    write_file(dependency, "module.exports = 1;\n");
    const fs::path visible = tree_.root() / "docs" / "visible.md";
    write_file(visible, "visible\n");  // last, so the others were seen already if they were going to be
    std::optional<WatchBatch> batch = watcher->wait(settle_timeout);
    ASSERT_TRUE(batch.has_value());
    EXPECT_TRUE(contains(*batch, visible)) << listing(*batch);
    for (const auto& path : batch->paths) {
        const std::string text = path.string();
        EXPECT_EQ(text.find(".hidden"), std::string::npos) << text;
        EXPECT_EQ(text.find(".draft"), std::string::npos) << text;
        EXPECT_EQ(text.find("node_modules"), std::string::npos) << text;
    }
}

TEST_P(WatcherModes, HiddenFoldersCountWhenAskedFor) {
    WatchOptions opts = options();
    opts.include_hidden = true;
    auto watcher = start(opts);
    const fs::path hidden = tree_.root() / ".hidden" / "secret.md";
    write_file(hidden, "secret\n");
    collect(*watcher, {hidden});
}

TEST_P(WatcherModes, SingleFileRootIgnoresItsNeighbours) {
    const fs::path file = tree_.root() / "notes.md";
    WatchOptions opts = options();
    Watcher watcher({file}, opts);
    write_file(tree_.root() / "neighbour.md", "not watched\n");
    write_file(file, "changed, and longer than before\n");
    std::optional<WatchBatch> batch = watcher.wait(settle_timeout);
    ASSERT_TRUE(batch.has_value());
    EXPECT_EQ(batch->paths, std::vector<fs::path>{file}) << listing(*batch);
}

TEST_P(WatcherModes, StopUnblocksAWaitingThread) {
    auto watcher = start(options());
    std::future<std::optional<WatchBatch>> waiting =
        std::async(std::launch::async, [&] { return watcher->wait(milliseconds(60'000)); });
    watcher->stop();
    ASSERT_EQ(waiting.wait_for(settle_timeout), std::future_status::ready) << "wait() still blocked after stop()";
    EXPECT_FALSE(waiting.get().has_value());
    EXPECT_FALSE(watcher->wait(milliseconds(60'000)).has_value());  // at once after stop()
}

INSTANTIATE_TEST_SUITE_P(Watcher, WatcherModes, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "polling" : "inotify"; });

TEST(WatcherTest, MissingRootThrowsNamingIt) {
    TempTree tree;
    const fs::path missing = tree.root() / "no-such-folder";
    try {
        Watcher watcher({tree.root(), missing});
        FAIL() << "no exception for a missing root";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
    }
}

TEST(WatcherTest, DescribeSaysHowTheTreesAreFollowed) {
    TempTree tree;
    fs::create_directories(tree.root() / "a" / "b");
    Watcher watcher({tree.root()});
    EXPECT_FALSE(watcher.polling());
    EXPECT_EQ(watcher.describe(), "inotify, 3 folders");

    WatchOptions opts;
    opts.force_polling = true;
    Watcher polling({tree.root()}, opts);
    EXPECT_TRUE(polling.polling());
    EXPECT_EQ(polling.describe(), "polling every 1 s: force_polling is set");
}

// The watch limit reached while watching (a tree larger than fs.inotify.max_user_watches, here a low max_watches):
// the watcher falls back to polling, says why, and still sees changes anywhere in the tree.
TEST(WatcherTest, WatchLimitFallsBackToPolling) {
    TempTree tree;
    for (const char* folder : {"a", "b", "c", "d", "e"}) fs::create_directories(tree.root() / folder);
    WatchOptions opts;
    opts.debounce = milliseconds(200);
    opts.poll_interval = milliseconds(100);
    opts.max_watches = 3;
    Watcher watcher({tree.root()}, opts);
    EXPECT_TRUE(watcher.polling());
    EXPECT_EQ(watcher.describe(), "polling every 100 ms: inotify watch limit reached (max_watches = 3)");
    std::set<fs::path> missing;
    for (const char* folder : {"a", "e"}) {
        write_file(tree.root() / folder / "note.md", "x\n");
        missing.insert(tree.root() / folder / "note.md");
    }
    while (!missing.empty()) {
        std::optional<WatchBatch> batch = watcher.wait(settle_timeout);
        ASSERT_TRUE(batch.has_value()) << missing.size() << " files never reported";
        for (const auto& path : batch->paths) missing.erase(path);
    }

    opts.max_watches = 6;  // room for the root and its five folders: inotify
    Watcher enough({tree.root()}, opts);
    EXPECT_FALSE(enough.polling()) << enough.describe();
}

// More events than the kernel queues while nobody reads (fs.inotify.max_queued_events): the batch says rescan,
// and folders created while events were lost are watched afterwards.
TEST(WatcherTest, QueueOverflowAsksForARescan) {
    size_t queued = 0;
    std::ifstream limit("/proc/sys/fs/inotify/max_queued_events");
    if (!(limit >> queued) || queued == 0 || queued > 65536)
        GTEST_SKIP() << "fs.inotify.max_queued_events unreadable or above 65536: overflowing it would take too long";
    TempTree tree;
    WatchOptions opts;
    opts.debounce = milliseconds(200);
    Watcher watcher({tree.root()}, opts);
    if (watcher.polling()) GTEST_SKIP() << "inotify unavailable here: " << watcher.describe();
    // Each new empty file is at least two events (create, close after write); nothing reads them meanwhile.
    for (size_t i = 0; i < queued / 2 + 1000; ++i) write_file(tree.root() / ("f" + std::to_string(i) + ".md"), "");
    fs::create_directories(tree.root() / "late");
    bool rescan = false;
    while (!rescan) {
        std::optional<WatchBatch> batch = watcher.wait(settle_timeout);
        ASSERT_TRUE(batch.has_value()) << "no batch reported the overflow";
        rescan = batch->rescan;
    }
    write_file(tree.root() / "late" / "note.md", "x\n");
    for (;;) {
        std::optional<WatchBatch> batch = watcher.wait(settle_timeout);
        ASSERT_TRUE(batch.has_value()) << "a file in a folder created during the overflow was never reported";
        if (contains(*batch, tree.root() / "late" / "note.md")) break;
    }
}

TEST(WatcherTest, SkipFoldersAreNotWatched) {
    TempTree tree;
    const fs::path data = tree.root() / "leann-data";
    fs::create_directories(data);
    WatchOptions opts;
    opts.debounce = milliseconds(200);
    opts.skip_folders = {data};
    Watcher watcher({tree.root()}, opts);
    write_file(data / "index.bin", "x");
    const fs::path visible = tree.root() / "visible.md";
    write_file(visible, "visible\n");
    std::optional<WatchBatch> batch = watcher.wait(settle_timeout);
    ASSERT_TRUE(batch.has_value());
    EXPECT_EQ(batch->paths, std::vector<fs::path>{visible}) << listing(*batch);
}

}  // namespace
}  // namespace leann
