// `leann mcp` as a process: an index built by `leann build` from real files with the tiny model, then (1) raw
// JSON lines piped into the program (stdout carries protocol messages only, EOF ends it with status 0) and
// (2) the official MCP Python SDK as the client (tests/mcp/sdk_client_check.py).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <fstream>
#include <sstream>

#include "cli_runner.h"
#include "test_mcp_support.h"

namespace leann {
namespace {

using nlohmann::json;
using testing::run_cli;
using testing::run_shell;

std::string sh_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// A folder of notes, several paragraphs per file so that chunks start on different lines; built as "notes".
struct NotesIndex {
    testing::LeannHome home;
    std::filesystem::path docs = home.root() / "docs";

    NotesIndex() {
        std::filesystem::create_directories(docs / "sub");
        const char* words[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "search", "index"};
        int n = 0;
        for (const char* file : {"fox.md", "dog.txt", "sub/graph.md"}) {
            std::ofstream out(docs / file);
            out << "# " << file << "\n\n";
            for (int p = 0; p < 12; ++p) {
                for (int line = 0; line < 3; ++line, ++n) {
                    for (int w = 0; w < 8; ++w) out << (w ? " " : "") << words[(n * 7 + w * w * 3 + p) % 10];
                    out << "\n";
                }
                out << "\n";
            }
        }
        const auto build = run_cli("build notes --docs " + sh_quote(docs.string()) + " --model " +
                                   sh_quote(home.model_dir().string()) + " --threads 1 2>&1");
        EXPECT_EQ(build.status, 0) << build.out;
    }
    std::string model() const { return home.model_dir().string(); }
};

TEST(McpE2e, StdoutCarriesOnlyProtocolMessagesAndEofExitsZero) {
    NotesIndex t;
    const auto in = t.home.root() / "in.jsonl";
    const auto err = t.home.root() / "err.txt";
    {
        std::ofstream f(in, std::ios::binary);
        f << R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
             R"("capabilities":{},"clientInfo":{"name":"sh","version":"0"}}})"
             "\n";
        f << R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
             "\n";
        f << "{oops\n";
        f << R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"leann_search",)"
             R"("arguments":{"index_name":"notes","query":"quick brown fox","top_k":4}}})"
             "\n";
        f << std::string("\xff\xfe\x00garbage\n", 11);
        f << R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"leann_list","arguments":{}}})"
             "\n";
    }
    const auto run = run_cli("mcp --model " + sh_quote(t.model()) + " --threads 1 < " + sh_quote(in.string()) + " 2> " +
                             sh_quote(err.string()));
    EXPECT_EQ(run.status, 0) << run.out;
    std::istringstream lines(run.out);
    std::string line;
    std::vector<json> replies;
    while (std::getline(lines, line)) {
        const json j = json::parse(line, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << "not a JSON-RPC message on stdout: " << line;
        EXPECT_EQ(j["jsonrpc"], "2.0") << line;
        replies.push_back(j);
    }
    ASSERT_EQ(replies.size(), 5u) << run.out;  // the notification is not answered
    EXPECT_EQ(replies[0]["result"]["protocolVersion"], "2025-06-18");
    EXPECT_EQ(replies[1]["error"]["code"], -32700);
    EXPECT_EQ(replies[2]["id"], 2);
    const json hits = replies[2]["result"]["structuredContent"]["results"];
    ASSERT_EQ(hits.size(), 4u) << replies[2];
    const std::string text = replies[2]["result"]["content"][0]["text"];
    for (const auto& hit : hits) {
        const std::string source = hit["source"];
        EXPECT_EQ(source.rfind(t.docs.string(), 0), 0u) << hit;
        EXPECT_GE(hit["line"].get<int>(), 1);
        EXPECT_NE(text.find(source + ":" + std::to_string(hit["line"].get<int>()) + " ("), std::string::npos);
    }
    EXPECT_EQ(replies[3]["error"]["code"], -32700);
    EXPECT_EQ(replies[4]["result"]["structuredContent"]["indexes"][0]["name"], "notes");

    std::ifstream log(err);
    const std::string logged((std::istreambuf_iterator<char>(log)), {});
    EXPECT_NE(logged.find("leann mcp"), std::string::npos) << "the startup line goes to stderr: " << logged;
}

TEST(McpE2e, OfficialPythonSdkClient) {
    const std::filesystem::path python = LEANN_TEST_PYTHON;
    // Fail, not skip: without the SDK this test would prove nothing, and CI must notice.
    ASSERT_TRUE(std::filesystem::exists(python))
        << python << " is missing: run scripts/setup.sh (it makes <build>/pyenv with the `mcp` package), or "
        << "configure with -DLEANN_TEST_PYTHON=/path/to/python";
    NotesIndex t;
    const std::string script = std::string(LEANN_TEST_DATA_DIR) + "/mcp/sdk_client_check.py";
    const auto run = run_shell("LEANN_CLI=" + sh_quote(LEANN_CLI_PATH) + " LEANN_MODEL=" + sh_quote(t.model()) +
                               " MCP_INDEX=notes MCP_DOCS=" + sh_quote(t.docs.string()) + " " +
                               sh_quote(python.string()) + " " + sh_quote(script) + " 2>&1");
    EXPECT_EQ(run.status, 0) << run.out;
    EXPECT_NE(run.out.find("all checks passed"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace leann
