// Living indexes (leann/writer.h): updates in place embed only new text, keep moved text's vectors, leave the
// index equal to a fresh read of the tree after any sequence of edits, survive kill -9 at any step, lock out a
// second writer, and never disturb readers in other processes. Also: version-1 files still open.
#include <cmath>
#include <gtest/gtest.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "cli_runner.h"
#include "index/index_impl.h"
#include "leann/encoder.h"
#include "leann/index.h"
#include "leann/ingest.h"
#include "leann/writer.h"
#include "test_support.h"
#include "tiny_model.h"

namespace leann {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

/// The committed random-weight test model: fast, for tests that do not judge search quality.
fs::path tiny_model_dir() {
    return fs::path(LEANN_TEST_DATA_DIR) / "golden" / "embeddings" / "tiny_models" / "tiny-cls-norm";
}

std::shared_ptr<Encoder> minilm() {
    const fs::path dir = testing::default_model_dir();
    if (!fs::exists(dir)) throw Error(testing::model_missing_message(dir));
    return std::shared_ptr<Encoder>(Encoder::load(dir));
}

/// Every live chunk as (id, text, metadata).
std::multiset<std::tuple<std::string, std::string, std::string>> live_content(const Index& index) {
    std::multiset<std::tuple<std::string, std::string, std::string>> out;
    for (uint32_t v = 0; v < index.size(); ++v)
        if (index.live(v)) {
            const Document d = index.document(v);
            out.insert({d.id, d.text, d.metadata});
        }
    return out;
}

std::multiset<std::tuple<std::string, std::string, std::string>> fresh_content(const fs::path& root,
                                                                               const Encoder& encoder,
                                                                               const FileOptions& options) {
    ReadReport report;
    const fs::path roots[] = {root};
    std::multiset<std::tuple<std::string, std::string, std::string>> out;
    for (auto& d : read_file_documents(roots, encoder.tokenizer(), encoder.info().max_seq_length, options, report))
        out.insert({d.id, d.text, d.metadata});
    return out;
}

/// A sentence no other file holds, so search must find this file by it.
std::string note(int id, int version) {
    static const char* topics[] = {"lighthouse keepers", "sourdough starters", "glacier retreat", "chess openings",
                                   "beekeeping in winter", "tidal power", "medieval bridges", "violin varnish",
                                   "desert irrigation", "comet tails", "paper marbling", "reef restoration"};
    return "Note " + std::to_string(id) + " version " + std::to_string(version) + " is about " +
           topics[(id * 7 + version) % 12] + ".\n\nIt says that item" + std::to_string(id * 1000 + version) +
           " was recorded on page " + std::to_string(id + version) + ".\n";
}

TEST(LivingIndex, VersionOneFilesStillOpen) {
    const fs::path golden = fs::path(LEANN_TEST_DATA_DIR) / "golden" / "index_v1" / "v1.leann";
    const Index index = Index::open(golden);
    EXPECT_EQ(index.stats().format_version, 1u);
    EXPECT_EQ(index.stats().generation, 1u);
    EXPECT_EQ(index.size(), 4u);
    EXPECT_NO_THROW(index.verify());
    std::set<std::string> ids;
    for (uint32_t v = 0; v < index.size(); ++v) ids.insert(index.document(v).id);
    EXPECT_EQ(ids, (std::set<std::string>{"r1", "r2", "docs/a.md:1", "docs/b.py:1"}));
}

TEST(LivingIndex, VersionOneIndexIsBuiltAgainOnceThenUpdatedInPlace) {
    testing::TempDir dir;
    const fs::path golden = fs::path(LEANN_TEST_DATA_DIR) / "golden" / "index_v1";
    fs::copy(golden / "docs", dir.path() / "docs");
    fs::copy_file(golden / "v1.leann", dir.path() / "index.leann");
    auto encoder = std::shared_ptr<Encoder>(
        Encoder::load(tiny_model_dir()));
    IndexWriter writer(dir.path() / "index.leann", encoder);
    SyncOptions sync;
    const fs::path roots[] = {dir.path() / "docs"};
    const UpdateStats first = writer.sync(roots, sync);
    EXPECT_TRUE(first.rebuilt);
    EXPECT_NE(first.rebuild_reason.find("format version 1"), std::string::npos) << first.rebuild_reason;
    EXPECT_EQ(first.generation, 2u);
    EXPECT_EQ(Index::open(dir.path() / "index.leann").stats().format_version, 3u);
    const UpdateStats second = writer.sync(roots, sync);
    EXPECT_TRUE(second.up_to_date);
}

class Tree {
public:
    Tree() : root_(dir_.path() / "tree"), index_(dir_.path() / "idx" / "index.leann") {}
    const fs::path& root() const { return root_; }
    const fs::path& index() const { return index_; }
    fs::path dir() const { return dir_.path(); }

private:
    testing::TempDir dir_;
    fs::path root_, index_;
};

TEST(LivingIndex, EditsEmbedOnlyNewTextAndMovesKeepTheirVectors) {
    Tree t;
    auto encoder = minilm();
    for (int i = 0; i < 12; ++i) write(t.root() / ("n" + std::to_string(i) + ".md"), note(i, 0));
    IndexWriter writer(t.index(), encoder);
    SyncOptions sync;
    const fs::path roots[] = {t.root()};
    const UpdateStats built = writer.sync(roots, sync);
    ASSERT_TRUE(built.rebuilt);
    const size_t chunks = built.live_chunks;

    // One file edited, one renamed, one deleted, one added.
    write(t.root() / "n1.md", note(1, 1));
    fs::rename(t.root() / "n2.md", t.root() / "renamed.md");
    fs::remove(t.root() / "n3.md");
    write(t.root() / "sub" / "new.md", note(40, 0));
    const UpdateStats u = writer.sync(roots, sync);
    EXPECT_FALSE(u.rebuilt);
    EXPECT_EQ(u.files_changed, 1u);
    EXPECT_EQ(u.files_added, 2u);  // the renamed file and the new one
    EXPECT_EQ(u.files_removed, 2u);
    EXPECT_EQ(u.files_kept, 9u);
    // Only the edited note's text and the new note's text are embedded; the renamed note's chunk moves.
    EXPECT_EQ(u.embedded, 2u);
    EXPECT_EQ(u.chunks_added, 2u);
    EXPECT_EQ(u.chunks_changed, 1u);
    EXPECT_EQ(u.chunks_removed, 2u);  // the edited note's old text and the deleted note
    EXPECT_EQ(u.live_chunks, chunks);
    EXPECT_EQ(u.generation, 2u);
    EXPECT_LT(u.bytes_written, Index::open(t.index()).stats().file_bytes / 2);

    Index index = Index::open(t.index());
    index.attach_encoder(encoder);
    EXPECT_NO_THROW(index.verify());
    FileOptions files;
    EXPECT_EQ(live_content(index), fresh_content(t.root(), *encoder, files));
    SearchOptions options;
    options.top_k = 3;
    const SearchResult moved = index.search("glacier retreat item2000", options);
    ASSERT_FALSE(moved.hits.empty());
    EXPECT_NE(moved.hits[0].id.find("renamed.md"), std::string::npos) << moved.hits[0].id;

    // An edit that keeps size and mtime (as cp -p / touch -r do) is still found: ctime and inode change.
    const std::string before = note(5, 0), after = note(5, 9).substr(0, before.size());
    ASSERT_EQ(before.size(), after.size());
    const auto mtime = fs::last_write_time(t.root() / "n5.md");
    write(t.root() / "n5.md", after);
    fs::last_write_time(t.root() / "n5.md", mtime);
    const UpdateStats same_stamp = writer.sync(roots, sync);
    EXPECT_EQ(same_stamp.files_changed, 1u);
    EXPECT_EQ(same_stamp.embedded, 1u);

    // Nothing changed: nothing written.
    const UpdateStats idle = writer.sync(roots, sync);
    EXPECT_TRUE(idle.up_to_date);
    EXPECT_EQ(idle.bytes_written, 0u);

    // --rehash reads every file but finds nothing new.
    SyncOptions rehash = sync;
    rehash.rehash = true;
    const UpdateStats hashed = writer.sync(roots, rehash);
    EXPECT_EQ(hashed.embedded, 0u);
    EXPECT_EQ(hashed.files_changed, 0u);

    // Changed settings rebuild, and say so.
    SyncOptions other = sync;
    other.files.chunk_tokens = 64;
    const UpdateStats rebuilt = writer.sync(roots, other);
    EXPECT_TRUE(rebuilt.rebuilt);
    EXPECT_NE(rebuilt.rebuild_reason.find("settings changed"), std::string::npos) << rebuilt.rebuild_reason;
}

TEST(LivingIndex, RandomEditsConvergeToAFreshRead) {
    Tree t;
    auto encoder = minilm();
    std::mt19937 rng(20261202);
    std::map<std::string, int> files;  // relative path -> note id
    int next_id = 0;
    auto add = [&] {
        const std::string rel = (rng() % 3 == 0 ? "deep/er/" : "") + std::string("f") + std::to_string(next_id) + ".md";
        files[rel] = next_id;
        write(t.root() / rel, note(next_id, 0));
        ++next_id;
    };
    for (int i = 0; i < 10; ++i) add();
    WriterOptions wo;
    wo.compact_deleted = 0.3;
    IndexWriter writer(t.index(), encoder, wo);
    SyncOptions sync;
    const fs::path roots[] = {t.root()};
    writer.sync(roots, sync);
    bool compacted = false;
    for (int step = 0; step < 14; ++step) {
        const int ops = 1 + int(rng() % 3);
        for (int k = 0; k < ops; ++k) {
            auto it = files.begin();
            std::advance(it, rng() % files.size());
            switch (rng() % 4) {
                case 0: add(); break;
                case 1: write(t.root() / it->first, note(it->second, int(step + 1))); break;  // edit
                case 2: {  // rename
                    const std::string rel = "moved" + std::to_string(step) + "_" + std::to_string(k) + ".md";
                    fs::rename(t.root() / it->first, t.root() / rel);
                    files[rel] = it->second;
                    files.erase(it);
                    break;
                }
                default:
                    if (files.size() > 3) {
                        fs::remove(t.root() / it->first);
                        files.erase(it);
                    }
            }
        }
        const UpdateStats u = writer.sync(roots, sync);
        compacted |= u.compacted;
        Index index = Index::open(t.index());
        index.attach_encoder(encoder);
        ASSERT_NO_THROW(index.verify()) << "step " << step;
        FileOptions options;
        ASSERT_EQ(live_content(index), fresh_content(t.root(), *encoder, options)) << "step " << step;
        // Every current file is found by its unique sentence, with its current path.
        SearchOptions search;
        search.top_k = 3;
        for (const auto& [rel, id] : files) {
            std::ifstream in(t.root() / rel);
            std::string first;
            std::getline(in, first);
            const SearchResult r = index.search(first, search);
            ASSERT_FALSE(r.hits.empty());
            EXPECT_EQ(r.hits[0].id, (t.root() / rel).string() + ":1") << "step " << step << ": " << first;
        }
    }
    EXPECT_TRUE(compacted) << "14 rounds of churn should pass the compaction threshold";
}

TEST(LivingIndex, SecondWriterIsLockedOut) {
    Tree t;
    auto encoder = std::shared_ptr<Encoder>(
        Encoder::load(tiny_model_dir()));
    IndexWriter first(t.index(), encoder);
    try {
        IndexWriter second(t.index(), encoder);
        FAIL() << "a second writer got the lock";
    } catch (const IndexLockedError& e) {
        EXPECT_NE(std::string(e.what()).find("--wait"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(std::to_string(::getpid())), std::string::npos) << e.what();
    }
}

TEST(LivingIndex, RecordsUpsertAndRemoveById) {
    Tree t;
    auto encoder = minilm();
    IndexWriter writer(t.index(), encoder);
    std::vector<Document> docs;
    for (int i = 0; i < 8; ++i) docs.push_back({"r" + std::to_string(i), note(i, 0), "{}"});
    EXPECT_EQ(writer.upsert(docs).embedded, 8u);
    std::vector<Document> change = {{"r1", note(1, 0), "{\"tag\":\"x\"}"},  // metadata only: kept vector
                                    {"r2", note(2, 5), "{}"},               // new text
                                    {"r9", note(9, 0), "{}"}};              // new id
    const UpdateStats u = writer.upsert(change);
    EXPECT_EQ(u.embedded, 2u);
    EXPECT_EQ(u.chunks_changed, 1u);
    const std::string gone[] = {"r3", "nope"};
    EXPECT_EQ(writer.remove(gone).chunks_removed, 1u);
    const Index index = Index::open(t.index());
    EXPECT_NO_THROW(index.verify());
    std::map<std::string, Document> by_id;
    for (uint32_t v = 0; v < index.size(); ++v)
        if (index.live(v)) by_id[index.document(v).id] = index.document(v);
    EXPECT_EQ(by_id.size(), 8u);
    EXPECT_EQ(by_id.count("r3"), 0u);
    EXPECT_EQ(by_id["r1"].metadata, "{\"tag\":\"x\"}");
    EXPECT_EQ(by_id["r2"].text, note(2, 5));
}

// The hub cache follows updates: moved hubs keep their vector under the new id, deleted ones leave, freed room goes
// to inserted chunks. Checked against the encoder: every cached vector is its node's embedding.
TEST(LivingIndex, HubCacheFollowsUpdates) {
    Tree t;
    auto encoder = std::shared_ptr<Encoder>(Encoder::load(tiny_model_dir()));
    const size_t dim = encoder->dims();
    WriterOptions options;
    options.build.hub_cache_bytes = 6 * (dim * sizeof(float) + sizeof(uint32_t));
    options.auto_compact = false;
    IndexWriter writer(t.index(), encoder, options);
    const auto check = [&](const char* step) -> std::vector<std::string> {
        const Index index = Index::open(t.index());
        EXPECT_NO_THROW(index.verify()) << step;
        const auto& x = detail::IndexInternals::of(index);
        EXPECT_EQ(x.hub_ids.size(), index.stats().hubs) << step;
        std::vector<std::string> ids;
        std::vector<float> expected(dim);
        for (size_t i = 0; i < x.hub_ids.size(); ++i) {
            EXPECT_TRUE(index.live(x.hub_ids[i])) << step << ": hub " << x.hub_ids[i];
            const Document d = index.document(x.hub_ids[i]);
            const std::string_view texts[] = {d.text};
            encoder->encode(texts, expected, TextRole::passage);
            float dot = 0, norm = 0;
            for (size_t j = 0; j < dim; ++j) {
                dot += expected[j] * x.hub_vectors[i * dim + j];
                norm += expected[j] * expected[j];
            }
            EXPECT_GT(dot / std::sqrt(norm), 0.9999f) << step << ": hub " << x.hub_ids[i] << " (" << d.id << ")";
            ids.push_back(d.id);
        }
        return ids;
    };
    std::vector<Document> docs;
    for (int i = 0; i < 20; ++i) docs.push_back({"d" + std::to_string(i), note(i, 0), "{}"});
    writer.upsert(docs);
    const std::vector<std::string> built = check("build");
    ASSERT_EQ(built.size(), 6u);

    std::vector<Document> retagged;  // same text, new metadata: moved to new nodes, nothing embedded
    for (const std::string& id : built) retagged.push_back({id, note(std::stoi(id.substr(1)), 0), "{\"tag\":1}"});
    EXPECT_EQ(writer.upsert(retagged).embedded, 0u);
    EXPECT_EQ(check("moved"), built);

    const std::vector<std::string> gone(built.begin(), built.begin() + 3);
    writer.remove(gone);
    EXPECT_EQ(check("removed").size(), 3u);

    std::vector<Document> more;
    for (int i = 20; i < 30; ++i) more.push_back({"d" + std::to_string(i), note(i, 0), "{}"});
    writer.upsert(more);
    const std::vector<std::string> after = check("inserted");
    EXPECT_EQ(after.size(), 6u);  // the freed room went to new chunks
    EXPECT_GE(std::count_if(after.begin(), after.end(), [](const std::string& id) { return std::stoi(id.substr(1)) >= 20; }), 3);
}

/// Runs `body` in a child process; returns its wait status.
template <class F>
int in_child(F&& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        int code = 0;
        try {
            body();
        } catch (...) {
            code = 3;
        }
        ::_exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

TEST(LivingIndex, KillDuringAnUpdateKeepsThePreviousGeneration) {
    Tree t;
    const fs::path model = tiny_model_dir();
    for (int i = 0; i < 30; ++i) write(t.root() / ("n" + std::to_string(i) + ".md"), note(i, 0));
    const fs::path roots[] = {t.root()};
    {
        IndexWriter writer(t.index(), std::shared_ptr<Encoder>(Encoder::load(model)));
        writer.sync(roots, {});
    }
    // Kill the writer at its k-th progress event (reading, embedding, graph, writing), for every k it reaches, each
    // time after a new edit; then the index must open, verify and search as the previous generation.
    int kills = 0;
    for (int round = 0; round < 30 && kills < 24; ++round) {
        write(t.root() / ("n" + std::to_string(round % 30) + ".md"), note(round % 30, round + 1));
        if (round % 4 == 0) fs::remove(t.root() / ("n" + std::to_string((round + 7) % 30) + ".md"));
        const uint32_t before = Index::open(t.index()).stats().generation;
        const int kill_at = round % 8;
        const int status = in_child([&] {
            IndexWriter writer(t.index(), std::shared_ptr<Encoder>(Encoder::load(model)));
            int events = 0;
            writer.set_progress([&](std::string_view, size_t, size_t) {
                if (events++ == kill_at) ::raise(SIGKILL);
            });
            writer.sync(roots, {});
        });
        const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        kills += killed;
        Index index = Index::open(t.index());
        ASSERT_NO_THROW(index.verify()) << "round " << round;
        index.load_encoder(model);
        SearchOptions options;
        EXPECT_FALSE(index.search("lighthouse keepers", options).hits.empty());
        if (killed) {
            EXPECT_EQ(index.stats().generation, before) << "round " << round;
        }
    }
    EXPECT_GE(kills, 15);
    // The next writer cleans up after the killed ones and brings the index up to date.
    IndexWriter writer(t.index(), std::shared_ptr<Encoder>(Encoder::load(model)));
    writer.sync(roots, {});
    const Index index = Index::open(t.index());
    EXPECT_NO_THROW(index.verify());
    EXPECT_EQ(index.stats().file_bytes, fs::file_size(t.index())) << "no uncommitted tail is left";
}

TEST(LivingIndex, ReadersInOtherProcessesNeverFailDuringUpdates) {
    Tree t;
    const fs::path model = tiny_model_dir();
    for (int i = 0; i < 20; ++i) write(t.root() / ("n" + std::to_string(i) + ".md"), note(i, 0));
    const fs::path roots[] = {t.root()};
    IndexWriter writer(t.index(), std::shared_ptr<Encoder>(Encoder::load(model)));
    writer.sync(roots, {});
    const fs::path stop = t.dir() / "stop";
    const pid_t reader = ::fork();
    if (reader == 0) {
        int failures = 0, opened = 0;
        auto encoder = std::shared_ptr<Encoder>(Encoder::load(model));
        while (!fs::exists(stop) || opened < 5) {
            try {
                Index index = Index::open(t.index());
                index.attach_encoder(encoder);
                index.verify();
                if (index.search("note", {}).hits.empty()) ++failures;
                ++opened;
            } catch (...) {
                ++failures;
            }
        }
        ::_exit(failures == 0 ? 0 : 1);
    }
    for (int round = 0; round < 15; ++round) {
        write(t.root() / ("n" + std::to_string(round) + ".md"), note(round, round + 1));
        write(t.root() / ("extra" + std::to_string(round) + ".md"), note(100 + round, 0));
        writer.sync(roots, {});
    }
    write(stop, "");
    int status = 0;
    ::waitpid(reader, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a reader failed while the index was updated";
}


TEST(LivingIndex, AFullDiskLeavesThePreviousGeneration) {
    Tree t;
    const fs::path model = tiny_model_dir();
    for (int i = 0; i < 30; ++i) write(t.root() / ("n" + std::to_string(i) + ".md"), note(i, 0));
    const fs::path roots[] = {t.root()};
    {
        IndexWriter writer(t.index(), std::shared_ptr<Encoder>(Encoder::load(model)));
        writer.sync(roots, {});
    }
    for (int i = 0; i < 30; ++i) write(t.root() / ("n" + std::to_string(i) + ".md"), note(i, 1));
    const uint64_t size = fs::file_size(t.index());
    const fs::path message = t.dir() / "message";
    // The file may grow by 2 KiB only: the write fails part-way (EFBIG stands in for ENOSPC).
    const int status = in_child([&] {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{size + 2048, size + 2048};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        IndexWriter writer(t.index(), std::shared_ptr<Encoder>(Encoder::load(model)));
        try {
            writer.sync(roots, {});
        } catch (const Error& e) {
            std::ofstream(message) << e.what();
            throw;
        }
    });
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << "the update should fail";
    std::string text;
    std::getline(std::ifstream(message), text);
    EXPECT_NE(text.find(t.index().string()), std::string::npos) << text;
    EXPECT_NE(text.find("previous generation is intact"), std::string::npos) << text;
    const Index index = Index::open(t.index());
    EXPECT_EQ(index.stats().generation, 1u);
    EXPECT_EQ(fs::file_size(t.index()), size) << "the partial generation is cut off";
    EXPECT_NO_THROW(index.verify());
}

TEST(LivingIndex, ConcurrentBuildIsRefusedNotLost) {
    Tree t;
    const fs::path model = tiny_model_dir();
    write(t.root() / "a.md", note(1, 0));
    fs::create_directories(t.index().parent_path());
    // Another writer holds the lock (as a running `leann build` or `leann watch` update does).
    const std::string lock = t.index().string() + ".lock";
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    const auto refused = testing::run_cli("build --index " + t.index().string() + " --docs " + t.root().string() +
                                          " --model " + model.string() + " 2>&1 < /dev/null");
    EXPECT_EQ(refused.status, 1) << refused.out;
    EXPECT_NE(refused.out.find("being updated by another leann"), std::string::npos) << refused.out;
    EXPECT_FALSE(fs::exists(t.index()));
    ::close(fd);
    EXPECT_EQ(testing::run_cli("build --index " + t.index().string() + " --docs " + t.root().string() + " --model " +
                               model.string() + " < /dev/null > /dev/null").status,
              0);
}

TEST(LivingIndex, ChurnOverNearDuplicateVectorsKeepsEveryChunkReachable) {
    // The tiny model maps these made-up words to [UNK]: hundreds of nearly equal vectors, where repairs that
    // replace edges used to cut nodes off (a few live chunks unreachable after three rounds, before the fix).
    Tree t;
    const fs::path model = tiny_model_dir();
    std::mt19937 rng(1);
    auto words = [&](size_t n) {
        std::string text;
        for (size_t i = 0; i < n; ++i) text += "w" + std::to_string(rng() % 5000) + " ";
        return text + "\n";
    };
    auto numbers = [&](size_t n) {
        std::string text;
        for (size_t i = 0; i < n; ++i) text += "0." + std::to_string(rng()) + " ";
        return text + "\n";
    };
    for (int i = 0; i < 600; ++i) write(t.root() / ("f" + std::to_string(i) + ".md"), words(40));
    WriterOptions wo;
    wo.auto_compact = false;
    IndexWriter writer(t.index(), std::shared_ptr<Encoder>(Encoder::load(model)), wo);
    SyncOptions sync;
    sync.files.chunk_tokens = 48;
    const fs::path roots[] = {t.root()};
    writer.sync(roots, sync);
    for (int round = 0; round < 3; ++round) {
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(t.root())) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        std::shuffle(files.begin(), files.end(), rng);
        for (size_t i = 0; i < files.size() / 10; ++i) fs::remove(files[i]);
        for (int i = 0; i < 60; ++i)
            write(t.root() / ("n" + std::to_string(round) + "_" + std::to_string(i) + ".md"), numbers(30));
        writer.sync(roots, sync);
        ASSERT_NO_THROW(Index::open(t.index()).verify()) << "round " << round;
    }
}

/// `leann watch` as a child process with its stdout on a pipe.
class WatchProcess {
public:
    explicit WatchProcess(const std::vector<std::string>& args) {
        int fds[2];
        if (::pipe(fds) != 0) throw Error("pipe");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(fds[1], 1);
            ::close(fds[0]);
            ::close(fds[1]);
            std::vector<char*> argv;
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        fd_ = fds[0];
    }
    ~WatchProcess() {
        if (pid_ > 0) {
            ::kill(pid_, SIGINT);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        ::close(fd_);
    }
    /// The next line of output, or nullopt when none comes within `timeout_ms`.
    std::optional<std::string> next_line(int timeout_ms) {
        for (;;) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
            char chunk[4096];
            const ssize_t n = ::read(fd_, chunk, sizeof chunk);
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, size_t(n));
        }
    }
    int stop() {
        ::kill(pid_, SIGINT);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return status;
    }

private:
    pid_t pid_ = -1;
    int fd_ = -1;
    std::string buffer_;
};

TEST(LivingIndex, WatchFollowsAnEditedTreeToTheSameContentAsAFreshRead) {
    Tree t;
    const fs::path model = tiny_model_dir();
    for (int i = 0; i < 10; ++i) write(t.root() / ("n" + std::to_string(i) + ".md"), note(i, 0));
    const std::string index = t.index().string();
    ASSERT_EQ(testing::run_cli("build --index " + index + " --docs " + t.root().string() + " --model " +
                               model.string() + " < /dev/null").status,
              0);
    for (const auto& mode : {std::string("inotify"), std::string("poll")}) {
        std::vector<std::string> args = {LEANN_CLI_PATH, "watch", "--index", index, "--json", "--model",
                                         model.string(), "--debounce-ms", "100", "--poll-ms", "100"};
        if (mode == "poll") args.push_back("--poll");
        WatchProcess watch(args);
        ASSERT_TRUE(watch.next_line(20000)) << mode << ": no catch-up line";
        const auto encoder = Encoder::load(model);
        FileOptions files;
        // Waits for update lines until the index holds exactly what a fresh read of the tree gives.
        auto converges = [&](const std::string& what) {
            for (int lines = 0; lines < 50; ++lines) {
                const Index idx = Index::open(t.index());
                if (live_content(idx) == fresh_content(t.root(), *encoder, files)) {
                    EXPECT_NO_THROW(idx.verify()) << mode << ": " << what;
                    return true;
                }
                if (!watch.next_line(20000)) break;
            }
            ADD_FAILURE() << mode << ": the index did not converge after " << what;
            return false;
        };
        const std::string tag = mode == "poll" ? "p" : "i";
        // An editor's save: write a temporary file, rename it over the original.
        write(t.root() / "n1.md.swp", note(1, mode == "poll" ? 3 : 2));
        fs::rename(t.root() / "n1.md.swp", t.root() / "n1.md");
        if (!converges("a rename-over save")) return;
        fs::create_directories(t.root() / ("new" + tag) / "deeper");
        write(t.root() / ("new" + tag) / "deeper" / "x.md", note(50, mode == "poll"));
        if (!converges("a new folder")) return;
        fs::remove(t.root() / ("n" + std::to_string(mode == "poll" ? 3 : 2) + ".md"));
        if (!converges("a deletion")) return;
        write(t.root() / ".gitignore", "n4.md\nn5.md\n");
        if (!converges("a .gitignore edit")) return;
        for (int i = 0; i < 500; ++i)
            write(t.root() / ("burst" + tag) / ("b" + std::to_string(i) + ".md"), note(1000 + i, mode == "poll"));
        if (!converges("a burst of 500 files")) return;
        const int status = watch.stop();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << mode << ": Ctrl-C should stop it cleanly";
    }
}

}  // namespace
}  // namespace leann
