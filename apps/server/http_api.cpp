#include "http_api.h"

#include "json_output.h"

namespace leann::server {

ApiResponse error_response(int status, std::string_view code, std::string_view message) {
    nlohmann::json body = {{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}};
    return json_response(status, body);
}

ApiResponse json_response(int status, const nlohmann::json& body) {
    ApiResponse response;
    response.status = status;
    response.body = apps::dump(body) + "\n";
    return response;
}

std::string_view status_code_name(int status) {
    switch (status) {
        case 400:
            return "bad_request";
        case 401:
            return "unauthorized";
        case 403:
            return "forbidden";
        case 404:
            return "not_found";
        case 405:
            return "method_not_allowed";
        case 408:
            return "request_timeout";
        case 413:
            return "payload_too_large";
        case 414:
            return "uri_too_long";
        case 415:
            return "unsupported_media_type";
        case 416:
            return "range_not_satisfiable";
        case 417:
            return "expectation_failed";
        case 429:
            return "too_many_requests";
        case 431:
            return "headers_too_large";
        case 500:
            return "internal_error";
        case 501:
            return "not_implemented";
        case 503:
            return "overloaded";
        case 504:
            return "timeout";
        case 505:
            return "http_version_not_supported";
        default:
            return status >= 500 ? "server_error" : "client_error";
    }
}

}  // namespace leann::server
