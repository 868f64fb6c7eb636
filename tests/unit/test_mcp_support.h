// Shared by the MCP tests: an isolated LEANN_HOME with a tiny random-weight model, and a way to talk to an
// in-process mcp::Server one JSON line at a time.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "leann/catalog.h"
#include "mcp_server.h"
#include "tiny_model.h"

namespace leann::testing {

/// Points LEANN_HOME at a fresh temporary folder for the life of the object (children inherit it).
class LeannHome {
public:
    LeannHome() : had_(std::getenv("LEANN_HOME") != nullptr) {
        if (had_) old_ = std::getenv("LEANN_HOME");
        ::setenv("LEANN_HOME", (dir_.path() / "home").c_str(), 1);
        testing::write_tiny_model(model_dir(), {});
    }
    ~LeannHome() { had_ ? ::setenv("LEANN_HOME", old_.c_str(), 1) : ::unsetenv("LEANN_HOME"); }
    LeannHome(const LeannHome&) = delete;
    LeannHome& operator=(const LeannHome&) = delete;

    std::filesystem::path root() const { return dir_.path(); }
    std::filesystem::path home() const { return dir_.path() / "home"; }
    std::filesystem::path model_dir() const { return dir_.path() / "tiny"; }

private:
    TempDir dir_;
    bool had_;
    std::string old_;
};

inline CatalogOptions tiny_model_options(const LeannHome& home) {
    CatalogOptions options;
    options.model_dir = home.model_dir();
    options.encoder.threads = 1;
    return options;
}

/// An in-process server over a Catalog that uses the tiny model for every index.
struct McpSession {
    LeannHome home;
    Catalog catalog{tiny_model_options(home)};
    mcp::Server server{catalog};

    /// Sends one raw line; the parsed reply, or null when the server sent nothing.
    nlohmann::json send_line(const std::string& line) {
        const std::optional<std::string> reply = server.handle_line(line);
        if (!reply) return nullptr;
        EXPECT_EQ(reply->find('\n'), std::string::npos) << "a reply must be one line";
        return nlohmann::json::parse(*reply);
    }
    nlohmann::json send(const nlohmann::json& message) { return send_line(message.dump()); }
    nlohmann::json request(int id, const std::string& method, const nlohmann::json& params = nullptr) {
        nlohmann::json m = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
        if (!params.is_null()) m["params"] = params;
        return send(m);
    }
    /// initialize + notifications/initialized; returns the initialize result.
    nlohmann::json initialize(const std::string& version = "2025-11-25") {
        const auto reply = request(0, "initialize",
                                   {{"protocolVersion", version},
                                    {"capabilities", nlohmann::json::object()},
                                    {"clientInfo", {{"name", "gtest"}, {"version", "1"}}}});
        EXPECT_TRUE(send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}).is_null());
        return reply.value("result", nlohmann::json());
    }
    /// tools/call; returns the CallToolResult (or the error response when there is no result).
    nlohmann::json call_tool(const std::string& name, const nlohmann::json& arguments, int id = 9) {
        const auto reply = request(id, "tools/call", {{"name", name}, {"arguments", arguments}});
        return reply.contains("result") ? reply["result"] : reply;
    }
};

inline int error_code(const nlohmann::json& reply) {
    return reply.contains("error") ? reply["error"].value("code", 0) : 0;
}

inline std::string tool_text(const nlohmann::json& result) {
    if (!result.contains("content") || result["content"].empty()) return "";
    return result["content"][0].value("text", "");
}

}  // namespace leann::testing
