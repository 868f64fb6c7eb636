// The leann program end to end: embed on a random-weight model, JSON lines and .npy output, and errors.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include "leann/encoder.h"
#include "cli_runner.h"
#include "tiny_model.h"

namespace leann {
namespace {

using testing::CliRun;
using testing::run_cli;

TEST(Cli, VersionAndHelp) {
    EXPECT_EQ(run_cli("--version").out.rfind("leann ", 0), 0u);
    CliRun help = run_cli("--help");
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("embed"), std::string::npos);
    EXPECT_EQ(run_cli("frobnicate 2>/dev/null").status, 2);
}

TEST(Cli, EmbedWritesOneJsonLinePerTextMatchingTheLibrary) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path() / "model", {});
    std::ofstream(dir.path() / "in.txt") << "the quick fox\n\nlazy dog\xff\n";
    CliRun r = run_cli("embed " + (dir.path() / "in.txt").string() + " --model " + (dir.path() / "model").string() +
                " --threads 1 --batch-size 2");
    ASSERT_EQ(r.status, 0);
    std::vector<std::string> texts = {"the quick fox", "", "lazy dog\xff"};
    auto expect = Encoder::load(dir.path() / "model", {1, 2})->encode(texts);
    std::istringstream lines(r.out);
    std::string line;
    size_t row = 0;
    while (std::getline(lines, line)) {
        auto v = nlohmann::json::parse(line).at("embedding").get<std::vector<float>>();
        ASSERT_EQ(v.size(), 32u);
        for (size_t c = 0; c < v.size(); ++c) EXPECT_FLOAT_EQ(v[c], expect[row * 32 + c]);
        ++row;
    }
    EXPECT_EQ(row, 3u);
}

TEST(Cli, EmbedReadsJsonlAndWritesNpy) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path() / "model", {});
    std::ofstream(dir.path() / "in.jsonl") << R"({"text": "the quick fox", "id": 1})" << "\n"
                                           << R"({"text": "lazy dog"})" << "\n";
    const auto npy = dir.path() / "out.npy";
    CliRun r = run_cli("embed " + (dir.path() / "in.jsonl").string() + " --model " + (dir.path() / "model").string() +
                " --output " + npy.string());
    ASSERT_EQ(r.status, 0);
    std::ifstream in(npy, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    ASSERT_GE(bytes.size(), 10u);
    EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
    size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    EXPECT_EQ((10 + header_len) % 64, 0u);
    EXPECT_NE(bytes.find("'shape': (2, 32)"), std::string::npos);
    EXPECT_EQ(bytes.size(), 10 + header_len + 2 * 32 * 4);
}

TEST(Cli, BadModelGivesOneErrorAndNoOutput) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path() / "model", {});
    std::filesystem::resize_file(dir.path() / "model" / "model.safetensors", 1000);
    std::ofstream(dir.path() / "in.txt") << "text\n";
    CliRun r = run_cli("embed " + (dir.path() / "in.txt").string() + " --model " + (dir.path() / "model").string() +
                " 2>" + (dir.path() / "err.txt").string());
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    std::ifstream err(dir.path() / "err.txt");
    std::string message((std::istreambuf_iterator<char>(err)), {});
    EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
    EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1) << message;
}

TEST(Cli, JsonlWithoutTextFieldNamesTheLine) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path() / "model", {});
    std::ofstream(dir.path() / "in.jsonl") << R"({"text": "ok"})" << "\n" << R"({"body": "no"})" << "\n";
    CliRun r = run_cli("embed " + (dir.path() / "in.jsonl").string() + " --model " + (dir.path() / "model").string() +
                " 2>&1");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("in.jsonl:2"), std::string::npos) << r.out;
}

TEST(Cli, ModelInfoShowsTheModel) {
    testing::TempDir dir;
    testing::write_tiny_model(dir.path() / "model", {});
    CliRun r = run_cli("model info " + (dir.path() / "model").string() + " --json");
    ASSERT_EQ(r.status, 0);
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["dims"], 32);
    EXPECT_EQ(j["pooling"], "mean");
    EXPECT_EQ(j["normalize"], true);
    EXPECT_EQ(j["max_seq_length"], 48);
    EXPECT_EQ(j["content_hash"].get<std::string>().size(), 32u);
}

}  // namespace
}  // namespace leann
