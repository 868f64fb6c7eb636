// The HTTP API without the HTTP library: a request as the routes see it, the response they give back, and the
// one error shape every failure carries ({"error": {"code", "message"}}). Only http_server.cpp speaks httplib;
// everything else works on these plain types, so the routes compile fast and can be tested without sockets.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leann::server {

struct ApiRequest {
    std::string method;  // "GET", "POST", ... ("HEAD" arrives as "GET": httplib drops the body itself)
    std::string path;    // without the query string, percent-decoded
    std::string body;
    std::string authorization;  // the Authorization header, as sent
    std::string host;           // the Host header
    std::string origin;         // the Origin header (browsers send it on cross-origin requests)
};

struct ApiResponse {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
};

/// A request the client got wrong (or one the server refuses): the status, a stable machine-readable code and a
/// message naming the field. Thrown by validation, turned into an error response at the handler boundary.
class HttpError : public std::runtime_error {
public:
    HttpError(int status, std::string code, const std::string& message)
        : std::runtime_error(message), status_(status), code_(std::move(code)) {}
    int status() const { return status_; }
    const std::string& code() const { return code_; }

private:
    int status_;
    std::string code_;
};

/// {"error": {"code": code, "message": message}} with `status`.
ApiResponse error_response(int status, std::string_view code, std::string_view message);
/// `body` serialised (bytes that are not UTF-8, e.g. from passages, become U+FFFD).
ApiResponse json_response(int status, const nlohmann::json& body);

/// The reason phrase's slug for the statuses the server produces ("not_found" for 404...), used as the error
/// code when httplib itself rejects a request before any route sees it.
std::string_view status_code_name(int status);

}  // namespace leann::server
