// The catalog the servers hold: indexes opened once with a shared model, reopened when rebuilt on disk, clear
// errors for bad and unknown names, and list rows that survive a corrupt index.
#include <gtest/gtest.h>

#include <fstream>

#include "leann/catalog.h"
#include "test_mcp_support.h"

namespace leann {
namespace {

CatalogOptions tiny_options(const std::filesystem::path& model_dir) {
    CatalogOptions options;
    options.model_dir = model_dir;
    options.encoder.threads = 1;
    return options;
}

void build_named(const std::string& name, const std::filesystem::path& model_dir, const std::vector<std::string>& texts) {
    auto encoder = Encoder::load(model_dir, {.threads = 1});
    std::vector<Document> docs;
    for (size_t i = 0; i < texts.size(); ++i) docs.push_back({name + "-" + std::to_string(i), texts[i]});
    BuildOptions options;
    options.threads = 1;
    Index::build(index_path_for_name(name), docs, *encoder, options);
}

TEST(Catalog, OpensOnceSharesTheModelAndReopensARebuiltIndex) {
    testing::LeannHome home;
    build_named("notes", home.model_dir(), {"the quick brown fox", "a lazy dog", "search the index"});
    build_named("code", home.model_dir(), {"int main", "return zero"});
    Catalog catalog(tiny_options(home.model_dir()));

    const auto notes = catalog.open("notes");
    EXPECT_EQ(notes->size(), 3u);
    EXPECT_EQ(catalog.open("notes"), notes) << "opened once";
    const auto code = catalog.open("code");
    EXPECT_EQ(&notes->encoder(), &code->encoder()) << "one model folder, one encoder";
    EXPECT_EQ(catalog.open_names(), (std::vector<std::string>{"code", "notes"}));
    EXPECT_FALSE(notes->search("quick fox", {.top_k = 2}).hits.empty());

    // A rebuild while serving (a new file renamed over the old: another inode): the next open sees the new file;
    // the old handle stays usable.
    build_named("notes", home.model_dir(), {"one", "two", "three", "four", "five"});
    const auto rebuilt = catalog.open("notes");
    EXPECT_NE(rebuilt, notes);
    EXPECT_EQ(rebuilt->size(), 5u);
    EXPECT_EQ(notes->search("quick fox", {.top_k = 1}).hits.size(), 1u);
}

TEST(Catalog, BadAndUnknownNamesAreDifferentErrors) {
    testing::LeannHome home;
    Catalog catalog(tiny_options(home.model_dir()));
    EXPECT_THROW(catalog.open("missing"), NotFoundError);
    for (const char* bad : {"../etc", ".hidden", "a/b", ""}) {
        try {
            catalog.open(bad);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const NotFoundError&) {
            ADD_FAILURE() << bad << " should be an invalid name, not an unknown one";
        } catch (const Error&) {
        }
    }
}

TEST(Catalog, ListKeepsGoingPastACorruptIndex) {
    testing::LeannHome home;
    build_named("good", home.model_dir(), {"alpha beta", "gamma delta"});
    std::filesystem::create_directories(index_root() / "broken");
    std::ofstream(index_root() / "broken" / "index.leann") << "not an index";
    const auto rows = list_indexes();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].name, "broken");
    EXPECT_FALSE(rows[0].error.empty());
    EXPECT_EQ(rows[1].name, "good");
    EXPECT_TRUE(rows[1].error.empty());
    EXPECT_EQ(rows[1].chunks, 2u);
    EXPECT_EQ(rows[1].model, "tiny");

    Catalog catalog(tiny_options(home.model_dir()));
    const auto errors = catalog.preload();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_TRUE(errors.count("broken"));
    EXPECT_EQ(catalog.open_names(), (std::vector<std::string>{"good"}));
}


TEST(Catalog, OpensFilesByPathReloadsAChangedModelAndKeepsABoundedNumberOpen) {
    testing::LeannHome home;
    build_named("notes", home.model_dir(), {"the quick brown fox", "a lazy dog", "search the index"});
    build_named("code", home.model_dir(), {"int main", "return zero"});
    CatalogOptions options = tiny_options(home.model_dir());
    options.max_open_indexes = 1;
    Catalog catalog(options);

    const auto notes = catalog.open_file(index_path_for_name("notes"));
    EXPECT_EQ(catalog.open_file(index_path_for_name("notes")), notes) << "opened once";
    EXPECT_THROW(catalog.open_file(home.root() / "nothing.leann"), NotFoundError);
    EXPECT_EQ(catalog.counters().index_opens, 1u);
    EXPECT_EQ(catalog.counters().model_loads, 1u);

    // One index open at a time: opening another closes the least recently used.
    catalog.open_file(index_path_for_name("code"));
    EXPECT_EQ(catalog.open_names(), (std::vector<std::string>{index_path_for_name("code").string()}));
    EXPECT_NE(catalog.open_file(index_path_for_name("notes")), notes);
    EXPECT_EQ(catalog.counters().index_opens, 3u);
    EXPECT_EQ(catalog.counters().model_loads, 1u) << "the model stays while an index uses it";

    // Other weights in the model folder: the model is loaded again, and an index built with the old weights is
    // refused as a one-shot search would refuse it, never searched with the wrong model.
    testing::TinyModelSpec other;
    other.seed = 7;
    testing::write_tiny_model(home.model_dir(), other);
    EXPECT_THROW(catalog.open_file(index_path_for_name("notes")), Error);
    EXPECT_EQ(catalog.counters().model_loads, 2u);
    build_named("notes", home.model_dir(), {"one", "two", "three"});
    EXPECT_EQ(catalog.open_file(index_path_for_name("notes"))->size(), 3u);
    EXPECT_EQ(catalog.counters().model_loads, 2u);
}

}  // namespace
}  // namespace leann
