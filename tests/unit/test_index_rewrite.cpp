// An open index whose file is changed under it by an in-place writer (`cp other.leann index.leann` truncates the
// file, then writes; `truncate -s 0`): searches and passage reads give the old data or a clear leann::Error,
// never SIGBUS. Without the snapshot and the guarded reads, each of these tests kills the test program.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "leann/error.h"
#include "leann/index.h"
#include "leann/ingest.h"
#include "tiny_model.h"

namespace leann {
namespace {

using testing::TempDir;

std::vector<Document> documents(size_t n, uint32_t seed) {
    const auto& vocab = testing::tiny_vocab();
    std::vector<std::string> words;
    for (const auto& w : vocab)
        if (w.size() > 2 && w[0] != '[' && w[0] != '#') words.push_back(w);
    std::mt19937 rng(seed);
    std::vector<Document> docs;
    for (size_t i = 0; i < n; ++i) {
        std::string text;
        // Long enough passages that PSGD spans many pages past the sections open() snapshots.
        for (size_t j = 0; j < 200; ++j) text += (j ? " " : "") + words[rng() % words.size()];
        docs.push_back({"doc-" + std::to_string(i), text, "{}"});
    }
    return docs;
}

class IndexRewrite : public ::testing::Test {
protected:
    void SetUp() override {
        testing::write_tiny_model(model_dir_, {});
        encoder_ = std::shared_ptr<Encoder>(Encoder::load(model_dir_, {.threads = 1}));
        BuildOptions options;
        options.threads = 1;
        Index::build(path_, documents(300, 3), *encoder_, options);
        Index::build(other_, documents(20, 9), *encoder_, options);
    }
    Index open() {
        Index index = Index::open(path_);
        index.attach_encoder(encoder_);
        return index;
    }
    // Every passage of `index` is either what it was or an error; returns how many errors.
    static size_t check_passages(const Index& index, const std::vector<Document>& before) {
        size_t errors = 0;
        for (uint32_t node = 0; node < before.size(); ++node) {
            try {
                EXPECT_EQ(index.document(node).text, before[node].text) << "node " << node;
            } catch (const Error& e) {
                ++errors;
                EXPECT_NE(std::string(e.what()).find(path_of(index)), std::string::npos) << e.what();
            }
        }
        return errors;
    }
    static std::string path_of(const Index&) { return "index.leann"; }

    TempDir dir_;
    std::filesystem::path model_dir_ = dir_.path() / "tiny";
    std::filesystem::path path_ = dir_.path() / "idx" / "index.leann";
    std::filesystem::path other_ = dir_.path() / "other" / "index.leann";
    std::shared_ptr<Encoder> encoder_;
};

TEST_F(IndexRewrite, TruncatedToZeroUnderAReader) {
    Index index = open();
    std::vector<Document> before;
    for (uint32_t node = 0; node < index.size(); ++node) before.push_back(index.document(node));
    SearchOptions options;
    options.top_k = 3;
    const auto hits_before = index.search("quick brown fox", options).hits;
    ASSERT_FALSE(hits_before.empty());

    std::filesystem::resize_file(path_, 0);

    // Passage data is read from the file on demand: every read is now a clear error naming the file.
    EXPECT_EQ(check_passages(index, before), before.size());
    try {
        index.document(0);
        ADD_FAILURE() << "a passage read from a truncated file succeeded";
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("shrank while open"), std::string::npos) << e.what();
    }
    // A search walks the snapshot (graph, codes) and then reads passages: an error, not a signal.
    EXPECT_THROW(index.search("quick brown fox", options), Error);
    EXPECT_THROW(index.verify(), FormatError);
    // Reopening the empty file is refused as usual.
    EXPECT_THROW(Index::open(path_), FormatError);
}

TEST_F(IndexRewrite, OverwrittenInPlaceByAnotherIndex) {
    Index index = open();
    std::vector<Document> before;
    for (uint32_t node = 0; node < index.size(); ++node) before.push_back(index.document(node));

    // What `cp other.leann index.leann` does: O_TRUNC on the same inode, then write.
    {
        std::ifstream in(other_, std::ios::binary);
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out << in.rdbuf();
    }
    ASSERT_LT(std::filesystem::file_size(path_), std::filesystem::file_size(other_) + 1);

    // Old passages, or errors (the other index's bytes fail the blocks' checksums; pages past its end are gone).
    EXPECT_GT(check_passages(index, before), 0u);
    SearchOptions options;
    options.top_k = 3;
    try {
        const auto hits = index.search("lazy dog", options).hits;
        for (const auto& h : hits) EXPECT_LT(h.node, before.size());
    } catch (const Error&) {
    }
    // The new file opens as the other index.
    Index reopened = Index::open(path_);
    EXPECT_EQ(reopened.size(), 20u);
}

TEST_F(IndexRewrite, TruncatedHalfwayAfterOpenLeavesEarlierPassagesReadable) {
    Index index = open();
    std::vector<Document> before;
    for (uint32_t node = 0; node < index.size(); ++node) before.push_back(index.document(node));
    // Cut the file in the middle of its passage data: the blocks before the cut still read back unchanged.
    std::filesystem::resize_file(path_, std::filesystem::file_size(path_) * 2 / 3);
    const size_t errors = check_passages(index, before);
    EXPECT_GT(errors, 0u);
    EXPECT_LT(errors, before.size());
}

}  // namespace
}  // namespace leann
