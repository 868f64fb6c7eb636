#include "mcp_protocol.h"

#include <algorithm>
#include <iterator>

#include "util/json_limits.h"
#include "util/utf8.h"

namespace leann::mcp {

nlohmann::json error_response(const nlohmann::json& id, ErrorCode code, std::string_view message,
                              const nlohmann::json& data) {
    nlohmann::json error = {{"code", static_cast<int>(code)}, {"message", std::string(message)}};
    if (!data.is_null()) error["data"] = data;
    return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

nlohmann::json result_response(const nlohmann::json& id, nlohmann::json result) {
    return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

namespace {

// MCP narrows JSON-RPC ids to strings and integers ("MUST NOT be null"); a fractional number is not an id either.
bool is_valid_id(const nlohmann::json& id) {
    return id.is_string() || id.is_number_integer() || id.is_number_unsigned();
}

// The depth limit is enforced on the raw text, before nlohmann builds anything (util/json_limits.h).
void check_nesting(std::string_view text) {
    if (auto deep = json_limits::nesting_error(text, max_nesting_depth))
        throw RpcError(ErrorCode::invalid_request, "Invalid Request: " + *deep);
}

}  // namespace

nlohmann::json parse_line(std::string_view line) {
    const std::string text = utf8::is_valid(line) ? std::string(line) : utf8::repair(line);
    check_nesting(text);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        // nlohmann's message starts with "[json.exception.parse_error.101] "; the rest says where and why.
        std::string why = e.what();
        if (auto bracket = why.find("] "); why.rfind("[json.exception", 0) == 0 && bracket != std::string::npos)
            why.erase(0, bracket + 2);
        const bool says_parse_error = why.rfind("parse error ", 0) == 0;  // do not say it twice
        std::string message = says_parse_error ? "Parse error " : "Parse error: ";
        message.append(why, says_parse_error ? 12 : 0);
        throw RpcError(ErrorCode::parse_error, message);
    }
}

Message read_message(const nlohmann::json& j) {
    if (!j.is_object()) throw MessageError(ErrorCode::invalid_request, "Invalid Request: not a JSON object", nullptr);
    // Read the id first, so that every later complaint can be addressed to it.
    nlohmann::json id = nullptr;
    const auto id_it = j.find("id");
    if (id_it != j.end()) {
        if (!is_valid_id(*id_it))
            throw MessageError(ErrorCode::invalid_request, "Invalid Request: \"id\" must be a string or an integer",
                               nullptr);
        id = *id_it;
    }
    const auto version = j.find("jsonrpc");
    if (version == j.end() || *version != "2.0")
        throw MessageError(ErrorCode::invalid_request, "Invalid Request: \"jsonrpc\" must be \"2.0\"", id);

    Message m;
    const auto method = j.find("method");
    if (method == j.end()) {
        // A response to a request of ours (we send none, but a client may still answer something).
        if (id_it != j.end() && (j.contains("result") || j.contains("error"))) {
            m.kind = Message::Kind::response;
            m.id = std::move(id);
            return m;
        }
        throw MessageError(ErrorCode::invalid_request, "Invalid Request: no \"method\"", id);
    }
    if (!method->is_string())
        throw MessageError(ErrorCode::invalid_request, "Invalid Request: \"method\" must be a string", id);
    m.kind = id_it == j.end() ? Message::Kind::notification : Message::Kind::request;
    m.id = std::move(id);
    m.method = method->get<std::string>();
    if (const auto params = j.find("params"); params != j.end() && !params->is_null()) {
        // JSON-RPC allows by-position params (arrays); no MCP method takes them.
        if (params->is_array())
            throw MessageError(ErrorCode::invalid_params, "Invalid params: MCP params are an object, not an array",
                               m.id);
        if (!params->is_object())
            throw MessageError(ErrorCode::invalid_request, "Invalid Request: \"params\" must be an object", m.id);
        m.params = *params;
    }
    return m;
}

std::optional<LineReader::Line> LineReader::next() {
    std::streambuf* buf = in_.rdbuf();
    if (buf == nullptr) return std::nullopt;
    Line line;
    bool any = false;
    for (;;) {
        const int c = buf->sbumpc();
        if (c == std::char_traits<char>::eof()) {
            if (!any) return std::nullopt;
            break;
        }
        any = true;
        if (c == '\n') break;
        ++line.bytes;
        if (line.bytes > max_bytes_) {
            if (!line.oversized) {
                line.oversized = true;
                std::string().swap(line.text);  // give the memory back now, not at the end of a huge line
            }
            continue;
        }
        line.text.push_back(static_cast<char>(c));
    }
    if (!line.oversized && !line.text.empty() && line.text.back() == '\r') line.text.pop_back();
    return line;
}

std::string negotiate_version(std::string_view requested) {
    for (const std::string_view v : protocol_versions)
        if (v == requested) return std::string(v);
    return std::string(latest_protocol_version);
}

ProtocolFeatures features_of(std::string_view version) {
    // protocol_versions is newest first: a revision "is at least X" when it comes no later in that list.
    const auto rank = [](std::string_view v) {
        return static_cast<size_t>(std::find(std::begin(protocol_versions), std::end(protocol_versions), v) -
                                   std::begin(protocol_versions));
    };
    const size_t r = rank(version);
    ProtocolFeatures f;
    f.version = std::string(version);
    f.batches = version == "2025-03-26";
    f.tool_annotations = r <= rank("2025-03-26");
    f.structured_content = r <= rank("2025-06-18");
    return f;
}

}  // namespace leann::mcp
