// `leann mcp`: a Model Context Protocol server (https://modelcontextprotocol.io/specification) over the stdio
// transport: one JSON-RPC message per line on stdin, one reply per line on stdout, nothing else on stdout.
//
// The session: initialize (version negotiation: the client's revision when we speak it, else our latest),
// the client's notifications/initialized, then tools/list and tools/call; ping at any time. Requests other than
// initialize and ping before initialize are refused with -32600. Batches are accepted only when the negotiated
// revision is 2025-03-26, the one revision that has them. Requests are answered one at a time, in order.
#pragma once

#include <functional>
#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "leann/catalog.h"
#include "mcp_protocol.h"
#include "mcp_tools.h"

namespace leann::mcp {

/// The name the server gives in initialize's serverInfo.
inline constexpr std::string_view server_name = "leann";

/// One MCP session. Not thread-safe: one reader feeds it lines in order.
class Server {
public:
    explicit Server(Catalog& catalog) : tools_(catalog) {}

    /// Handles one line from the client and returns the line to send back (JSON, without the newline), or
    /// nothing: for notifications, for responses, for blank lines, and for a batch of notifications only.
    /// Never throws: a failure inside a handler becomes an internal-error response.
    std::optional<std::string> handle_line(std::string_view line);

    /// Reads lines from `in` until it ends (the client closed stdin) and passes each reply to `write` (which
    /// appends the newline and flushes). Returns early when `write` returns false (the client went away).
    void serve(std::istream& in, const std::function<bool(std::string_view)>& write);

    /// The negotiated revision, empty before initialize.
    std::string protocol_version() const { return features_ ? features_->version : std::string(); }
    /// Whether the client has sent notifications/initialized.
    bool client_ready() const { return client_ready_; }

private:
    std::optional<nlohmann::json> handle_value(const nlohmann::json& value);
    std::optional<nlohmann::json> handle_batch(const nlohmann::json& batch);
    nlohmann::json dispatch(const Message& request);
    void notify(const Message& notification);
    nlohmann::json initialize(const nlohmann::json& params);
    nlohmann::json call_tool(const nlohmann::json& params);

    Tools tools_;
    std::optional<ProtocolFeatures> features_;  // set by a successful initialize
    bool client_ready_ = false;
};

}  // namespace leann::mcp
