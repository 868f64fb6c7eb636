// The MCP server's protocol layer in-process, one line at a time: JSON-RPC framing and error objects, the
// session lifecycle, version negotiation, tools/list schemas, tools/call protocol errors, notifications, batches,
// and hostile input (bad UTF-8, deep nesting, oversized lines).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "leann/version.h"
#include "test_mcp_support.h"

namespace leann {
namespace {

using nlohmann::json;
using testing::error_code;
using testing::McpSession;

TEST(McpProtocol, ParseErrorsAnswerWithNullId) {
    McpSession s;
    for (const char* line : {"{bad json", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"", "1e999", "nul"}) {
        const json reply = s.send_line(line);
        EXPECT_EQ(error_code(reply), -32700) << line << " -> " << reply;
        EXPECT_TRUE(reply["id"].is_null()) << reply;
        EXPECT_EQ(reply["jsonrpc"], "2.0");
    }
}

TEST(McpProtocol, InvalidRequestsKeepTheIdWhenItCanBeRead) {
    McpSession s;
    struct Case {
        const char* line;
        json id;
    };
    const Case cases[] = {
        {R"("just a string")", nullptr},
        {R"(42)", nullptr},
        {R"({"jsonrpc":"1.0","id":3,"method":"ping"})", 3},
        {R"({"id":"a","method":"ping"})", "a"},
        {R"({"jsonrpc":"2.0","id":4,"method":5})", 4},
        {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", nullptr},  // MCP: ids are never null
        {R"({"jsonrpc":"2.0","id":{"x":1},"method":"ping"})", nullptr},
        {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", nullptr},
        {R"({"jsonrpc":"2.0","id":true,"method":"ping"})", nullptr},
        {R"({"jsonrpc":"2.0","id":5})", 5},  // neither a request nor a response
        {R"({"jsonrpc":"2.0","id":6,"method":"ping","params":"x"})", 6},
    };
    for (const Case& c : cases) {
        const json reply = s.send_line(c.line);
        EXPECT_EQ(error_code(reply), -32600) << c.line << " -> " << reply;
        EXPECT_EQ(reply["id"], c.id) << c.line;
        EXPECT_FALSE(reply["error"].value("message", "").empty());
    }
    // By-position params are JSON-RPC but no MCP method takes them.
    EXPECT_EQ(error_code(s.send_line(R"({"jsonrpc":"2.0","id":7,"method":"ping","params":[1]})")), -32602);
}

TEST(McpProtocol, UnknownMethodsAreMethodNotFoundInEveryState) {
    McpSession s;
    const json before = s.send_line(R"({"jsonrpc":"2.0","id":"x-1","method":"resources/list"})");
    EXPECT_EQ(error_code(before), -32601) << before;
    EXPECT_EQ(before["id"], "x-1");  // string ids come back as strings
    s.initialize();
    const json after = s.request(2, "prompts/list");
    EXPECT_EQ(error_code(after), -32601) << after;
    EXPECT_NE(after["error"]["message"].get<std::string>().find("prompts/list"), std::string::npos);
    EXPECT_EQ(error_code(s.request(3, "server/discover")), -32601);
}

TEST(McpProtocol, OnlyPingAndInitializeBeforeInitialize) {
    McpSession s;
    const json ping = s.request(1, "ping");
    EXPECT_EQ(ping["result"], json::object()) << ping;
    const json list = s.request(2, "tools/list");
    EXPECT_EQ(error_code(list), -32600) << list;
    EXPECT_NE(list["error"]["message"].get<std::string>().find("initialize"), std::string::npos);
    const json call = s.request(3, "tools/call", {{"name", "leann_list"}});
    EXPECT_EQ(error_code(call), -32600) << call;
    EXPECT_EQ(s.server.protocol_version(), "");

    s.initialize();
    EXPECT_TRUE(s.server.client_ready());
    EXPECT_TRUE(s.request(4, "tools/list")["result"]["tools"].is_array());
    // A second initialize is refused and does not change the negotiated revision.
    const json again = s.request(5, "initialize", {{"protocolVersion", "2024-11-05"}});
    EXPECT_EQ(error_code(again), -32600) << again;
    EXPECT_EQ(s.server.protocol_version(), "2025-11-25");
}

TEST(McpProtocol, VersionNegotiation) {
    for (const char* version : {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}) {
        McpSession s;
        const json result = s.initialize(version);
        EXPECT_EQ(result["protocolVersion"], version);
        EXPECT_EQ(s.server.protocol_version(), version);
        EXPECT_EQ(result["serverInfo"]["name"], "leann");
        EXPECT_EQ(result["serverInfo"]["version"], std::string(leann::version()));
        EXPECT_TRUE(result["capabilities"]["tools"].is_object()) << result;
        EXPECT_FALSE(result["capabilities"].contains("resources"));  // we offer tools only
    }
    for (const char* unknown : {"1999-01-01", "2026-07-28", ""}) {
        McpSession s;
        EXPECT_EQ(s.initialize(unknown)["protocolVersion"], "2025-11-25") << unknown;
    }
    McpSession s;
    EXPECT_EQ(error_code(s.request(1, "initialize", {{"capabilities", json::object()}})), -32602);
    EXPECT_EQ(error_code(s.request(2, "initialize", {{"protocolVersion", 20250618}})), -32602);
    EXPECT_EQ(error_code(s.request(3, "initialize")), -32602);
    EXPECT_EQ(s.server.protocol_version(), "");  // failed attempts leave the session uninitialized
}

TEST(McpProtocol, NotificationsAndResponsesGetNoReply) {
    McpSession s;
    EXPECT_TRUE(s.send_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").is_null());
    EXPECT_FALSE(s.server.client_ready());  // initialized before initialize means nothing
    s.initialize();
    for (const char* line : {R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})",
                             R"({"jsonrpc":"2.0","method":"notifications/whatever"})",
                             R"({"jsonrpc":"2.0","method":"tools/list"})",  // a request without an id is a notification
                             R"({"jsonrpc":"2.0","id":99,"result":{}})",    // a response to a request we never sent
                             R"({"jsonrpc":"2.0","id":98,"error":{"code":1,"message":"x"}})", "", "   ", "\r"})
        EXPECT_TRUE(s.send_line(line).is_null()) << line;
    // A notification method sent with an id is a mistake worth telling the client about.
    EXPECT_EQ(error_code(s.request(5, "notifications/initialized")), -32600);
}

TEST(McpProtocol, ToolsListSchemasFollowTheRevision) {
    McpSession s;
    s.initialize("2025-11-25");
    const json tools = s.request(1, "tools/list")["result"]["tools"];
    ASSERT_EQ(tools.size(), 4u) << tools;
    std::map<std::string, json> by_name;
    for (const auto& t : tools) by_name[t["name"]] = t;
    ASSERT_TRUE(by_name.count("leann_search") && by_name.count("leann_grep") && by_name.count("leann_list") &&
                by_name.count("leann_stats"));
    const json search = by_name["leann_search"];
    EXPECT_FALSE(search["description"].get<std::string>().empty());
    const json in = search["inputSchema"];
    EXPECT_EQ(in["type"], "object");
    EXPECT_EQ(in["required"], json({"index_name", "query"}));
    EXPECT_EQ(in["properties"]["top_k"]["type"], "integer");
    EXPECT_EQ(in["properties"]["top_k"]["default"], 5);
    EXPECT_EQ(in["properties"]["top_k"]["maximum"], 100);
    EXPECT_EQ(in["properties"]["complexity"]["type"], "integer");
    EXPECT_EQ(in["additionalProperties"], false);
    EXPECT_EQ(search["outputSchema"]["properties"]["results"]["items"]["properties"]["line"]["type"], "integer");
    EXPECT_EQ(search["annotations"]["readOnlyHint"], true);
    EXPECT_EQ(by_name["leann_stats"]["inputSchema"]["required"], json({"index_name"}));
    EXPECT_EQ(by_name["leann_list"]["inputSchema"]["type"], "object");
    for (const auto& t : tools) EXPECT_EQ(t["outputSchema"]["type"], "object") << t["name"];

    // 2025-03-26 has annotations but no outputSchema/title; 2024-11-05 has neither.
    McpSession old;
    old.initialize("2025-03-26");
    const json t0326 = old.request(1, "tools/list")["result"]["tools"][0];
    EXPECT_TRUE(t0326.contains("annotations"));
    EXPECT_FALSE(t0326.contains("outputSchema"));
    EXPECT_FALSE(t0326.contains("title"));
    McpSession oldest;
    oldest.initialize("2024-11-05");
    const json t1105 = oldest.request(1, "tools/list")["result"]["tools"][0];
    EXPECT_FALSE(t1105.contains("annotations"));
    EXPECT_TRUE(t1105.contains("inputSchema"));
}

TEST(McpProtocol, ToolsCallProtocolErrors) {
    McpSession s;
    s.initialize();
    const json unknown = s.request(1, "tools/call", {{"name", "rm_rf"}, {"arguments", json::object()}});
    EXPECT_EQ(error_code(unknown), -32602) << unknown;
    EXPECT_NE(unknown["error"]["message"].get<std::string>().find("rm_rf"), std::string::npos);
    EXPECT_EQ(error_code(s.request(2, "tools/call", {{"arguments", json::object()}})), -32602);
    EXPECT_EQ(error_code(s.request(3, "tools/call", {{"name", 7}})), -32602);
    EXPECT_EQ(error_code(s.request(4, "tools/call", {{"name", "leann_list"}, {"arguments", "x"}})), -32602);
    EXPECT_EQ(error_code(s.request(5, "tools/call", {{"name", "leann_list"}, {"arguments", json::array()}})), -32602);
    EXPECT_EQ(error_code(s.request(6, "tools/call")), -32602);
    // Absent arguments are an empty object: leann_list takes none.
    const json list = s.request(7, "tools/call", {{"name", "leann_list"}});
    EXPECT_FALSE(list["result"].value("isError", false)) << list;
}

TEST(McpProtocol, BatchesOnlyUnder20250326) {
    McpSession before;
    const json early = before.send_line(
        R"([{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26"}}])");
    EXPECT_EQ(error_code(early), -32600) << early;  // initialize must not be batched
    EXPECT_EQ(before.server.protocol_version(), "");

    McpSession s;
    s.initialize("2025-03-26");
    const json replies = s.send_line(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},
        {"jsonrpc":"2.0","method":"notifications/whatever"},
        {"jsonrpc":"2.0","id":"two","method":"tools/list"},
        {"jsonrpc":"2.0","id":3,"method":"nope"},
        17,
        [{"jsonrpc":"2.0","id":4,"method":"ping"}]])");
    ASSERT_TRUE(replies.is_array()) << replies;
    ASSERT_EQ(replies.size(), 5u) << replies;  // the notification gets no reply
    EXPECT_EQ(replies[0]["id"], 1);
    EXPECT_EQ(replies[0]["result"], json::object());
    EXPECT_EQ(replies[1]["id"], "two");
    EXPECT_EQ(replies[1]["result"]["tools"].size(), 4u);
    EXPECT_EQ(error_code(replies[2]), -32601);
    EXPECT_EQ(error_code(replies[3]), -32600);
    EXPECT_EQ(error_code(replies[4]), -32600);
    EXPECT_EQ(error_code(s.send_line("[]")), -32600);
    EXPECT_TRUE(s.send_line(R"([{"jsonrpc":"2.0","method":"notifications/x"}])").is_null());

    McpSession modern;
    modern.initialize("2025-06-18");
    const json refused = modern.send_line(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])");
    ASSERT_TRUE(refused.is_object()) << refused;
    EXPECT_EQ(error_code(refused), -32600);
    EXPECT_NE(refused["error"]["message"].get<std::string>().find("batch"), std::string::npos);
}

TEST(McpProtocol, HostileLinesNeverCrash) {
    McpSession s;
    s.initialize();
    // Invalid UTF-8 inside a string is repaired, so the request is still answered under its id.
    const json repaired =
        s.send_line("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":{\"x\":\"caf\xe9\xff\"}}");
    EXPECT_EQ(repaired["id"], 7) << repaired;
    EXPECT_EQ(repaired["result"], json::object());
    EXPECT_EQ(error_code(s.send_line("\xff\xfe{\x80")), -32700);
    EXPECT_EQ(error_code(s.send_line(std::string("{\"a\":\0}", 7))), -32700);
    // Deep nesting is refused before parsing (nlohmann would recurse on copy and print).
    EXPECT_EQ(error_code(s.send_line(std::string(200000, '['))), -32600);
    EXPECT_EQ(error_code(s.send_line(std::string(100000, '{'))), -32600);
    // Brackets inside strings do not count towards the depth.
    const json deep_string =
        s.send_line(R"({"jsonrpc":"2.0","id":8,"method":"ping","params":{"q":")" + std::string(1000, '[') + R"("}})");
    EXPECT_EQ(deep_string["result"], json::object()) << deep_string.dump().substr(0, 200);
    EXPECT_EQ(s.request(9, "ping")["result"], json::object());  // still serving
}

TEST(McpProtocol, MutatedMessagesGetWellFormedReplies) {
    // Valid messages with random bytes flipped, inserted and cut: every reply is one JSON-RPC object (or batch
    // of them) addressed to a valid id or null, and the session keeps answering.
    McpSession s;
    s.initialize("2025-03-26");  // batches allowed, so mutated arrays reach the batch path too
    const std::string seeds[] = {
        R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"leann_search","arguments":{"index_name":"x","query":"q","top_k":3}}})",
        R"({"jsonrpc":"2.0","id":"a","method":"tools/list","params":{"cursor":"c"}})",
        R"([{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/cancelled"}])",
        R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"leann_stats","arguments":{"index_name":"n"}}})",
    };
    std::mt19937 rng(12345);
    const char alphabet[] = "{}[]\",:0123456789.-eE\\u\xff\x80 \t\x00nulltruefalse";
    size_t replies = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string line = seeds[rng() % std::size(seeds)];
        for (int edits = 1 + rng() % 4; edits > 0; --edits) {
            const size_t at = rng() % line.size();
            switch (rng() % 3) {
                case 0:
                    line[at] = alphabet[rng() % (sizeof alphabet - 1)];
                    break;
                case 1:
                    line.insert(at, 1, alphabet[rng() % (sizeof alphabet - 1)]);
                    break;
                default:
                    line.erase(at, 1 + rng() % 8);
                    break;
            }
            if (line.empty()) line = "{";
        }
        line.erase(std::remove(line.begin(), line.end(), '\n'), line.end());
        const std::optional<std::string> reply = s.server.handle_line(line);
        if (!reply) continue;
        ++replies;
        const json j = json::parse(*reply, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << line;
        for (const json& r : j.is_array() ? j : json::array({j})) {
            ASSERT_EQ(r["jsonrpc"], "2.0") << line;
            ASSERT_TRUE(r["id"].is_null() || r["id"].is_string() || r["id"].is_number_integer()) << line;
            ASSERT_NE(r.contains("result"), r.contains("error")) << line;
        }
    }
    EXPECT_GT(replies, 2000u);
    EXPECT_EQ(s.request(99, "ping")["result"], json::object());
}

TEST(McpProtocol, ServeReadsLinesUntilEofAndCapsTheirSize) {
    McpSession s;
    std::string input;
    input += R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})"
             "\r\n";
    input += R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
             "\n";
    input += "\n";
    input += R"({"jsonrpc":"2.0","id":2,"method":"ping","params":{"pad":")" + std::string(mcp::max_message_bytes, 'x') +
             "\"}}\n";
    input += R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})";  // the last line may lack its newline
    std::istringstream in(input);
    std::vector<json> out;
    s.server.serve(in, [&](std::string_view line) {
        EXPECT_EQ(line.find('\n'), std::string_view::npos);
        out.push_back(json::parse(line));
        return true;
    });
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0]["result"]["protocolVersion"], "2025-06-18");
    EXPECT_EQ(error_code(out[1]), -32600);  // the oversized line, answered and skipped
    EXPECT_NE(out[1]["error"]["message"].get<std::string>().find("limit"), std::string::npos);
    EXPECT_EQ(out[2]["id"], 3);
    EXPECT_EQ(out[2]["result"]["tools"].size(), 4u);

    // A writer that fails (the client went away) stops the loop at once.
    std::istringstream twice(R"({"jsonrpc":"2.0","id":1,"method":"ping"})"
                             "\n"
                             R"({"jsonrpc":"2.0","id":2,"method":"ping"})"
                             "\n");
    int writes = 0;
    mcp::Server fresh(s.catalog);
    fresh.serve(twice, [&](std::string_view) { return ++writes, false; });
    EXPECT_EQ(writes, 1);
}

}  // namespace
}  // namespace leann
