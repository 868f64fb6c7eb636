// The wire layer of `leann mcp`: JSON-RPC 2.0 messages framed one per line (the MCP stdio transport), the
// standard error objects, and the MCP protocol revisions this server speaks with what each one allows.
//
// Everything here treats its input as untrusted: a line may be any bytes, of any length, nested any depth.
// Nothing throws out of this layer for bad input; it becomes a JSON-RPC error object instead.
#pragma once

#include <cstddef>
#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace leann::mcp {

/// JSON-RPC 2.0 error codes (https://www.jsonrpc.org/specification#error_object).
enum class ErrorCode : int {
    parse_error = -32700,
    invalid_request = -32600,
    method_not_found = -32601,
    invalid_params = -32602,
    internal_error = -32603,
};

/// Thrown by method handlers for a protocol-level failure; the dispatcher turns it into an error response.
class RpcError : public std::runtime_error {
public:
    RpcError(ErrorCode code, const std::string& message, nlohmann::json data = nullptr)
        : std::runtime_error(message), code_(code), data_(std::move(data)) {}
    ErrorCode code() const { return code_; }
    const nlohmann::json& data() const { return data_; }

private:
    ErrorCode code_;
    nlohmann::json data_;
};

/// {"jsonrpc": "2.0", "id": id, "error": {"code", "message"[, "data"]}}. `id` is null when the request's id could
/// not be read (parse errors, invalid requests), as JSON-RPC requires.
nlohmann::json error_response(const nlohmann::json& id, ErrorCode code, std::string_view message,
                              const nlohmann::json& data = nullptr);
nlohmann::json result_response(const nlohmann::json& id, nlohmann::json result);

/// One message object, checked against JSON-RPC 2.0 and MCP's stricter rules (ids are strings or integers, never
/// null; params, when present, are an object).
struct Message {
    enum class Kind { request, notification, response };
    Kind kind = Kind::request;
    nlohmann::json id;      // requests and responses
    std::string method;     // requests and notifications
    nlohmann::json params;  // an object, or null when absent
};

/// A message that breaks the rules; `id()` is its id when that was readable (so the reply can carry it), else null.
class MessageError : public RpcError {
public:
    MessageError(ErrorCode code, const std::string& message, nlohmann::json id)
        : RpcError(code, message), id_(std::move(id)) {}
    const nlohmann::json& id() const { return id_; }

private:
    nlohmann::json id_;
};

/// Classifies one element of the wire (a whole line, or one element of a batch). Throws MessageError naming what
/// is wrong: invalid_request, or invalid_params for params that are not an object.
Message read_message(const nlohmann::json& j);

/// Limits on what a client may send, so a hostile or broken client cannot exhaust memory or the stack.
inline constexpr size_t max_message_bytes = size_t(4) << 20;  // tool arguments are a query and a few numbers
inline constexpr size_t max_nesting_depth = 64;               // MCP messages nest about 5 deep
inline constexpr size_t max_batch_messages = 256;

/// Parses one line. Invalid UTF-8 is repaired to U+FFFD first (as the CLI repairs queries), so a stray byte in a
/// query still gets its answer under its own id. Throws RpcError: parse_error for text that is not JSON,
/// invalid_request for JSON nested deeper than max_nesting_depth (checked before parsing).
nlohmann::json parse_line(std::string_view line);

/// Reads newline-delimited messages with a size cap. A line longer than `max_bytes` is consumed to its end and
/// reported as oversized instead of being kept in memory.
class LineReader {
public:
    explicit LineReader(std::istream& in, size_t max_bytes = max_message_bytes) : in_(in), max_bytes_(max_bytes) {}

    struct Line {
        std::string text;        // without the newline (and without a trailing '\r')
        size_t bytes = 0;        // the full length, also when oversized
        bool oversized = false;  // text is empty then
    };
    /// The next line, or nothing at end of input. A last line without a newline still counts.
    std::optional<Line> next();

private:
    std::istream& in_;
    size_t max_bytes_;
};

/// The MCP revisions this server negotiates, newest first.
inline constexpr std::string_view protocol_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
inline constexpr std::string_view latest_protocol_version = protocol_versions[0];

/// What the negotiated revision allows in our messages.
struct ProtocolFeatures {
    std::string version;
    bool batches = false;             // JSON-RPC batches: 2025-03-26 only (added there, removed in 2025-06-18)
    bool tool_annotations = false;    // readOnlyHint & co.: 2025-03-26 on
    bool structured_content = false;  // outputSchema, structuredContent, tool titles: 2025-06-18 on
};

/// The revision to answer an initialize with: the client's when we speak it, else our latest (the spec's rule).
std::string negotiate_version(std::string_view requested);
/// Features of a revision returned by negotiate_version().
ProtocolFeatures features_of(std::string_view version);

}  // namespace leann::mcp
