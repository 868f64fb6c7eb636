#include "http_wire.h"

#include <algorithm>
#include <cctype>

namespace leann::server {
namespace {

constexpr size_t kMaxChunkLineBytes = 1024;  // "1a2b;ext=..." of one chunk

bool is_tchar(unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool lists_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const size_t comma = value.find(',');
        if (lower(trim(value.substr(0, comma))) == token) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

std::string_view RequestHead::header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers)
        if (name == lower_name) return value;
    return {};
}

RequestParser::RequestParser(WireLimits limits) : limits_(limits) {}

void RequestParser::reset() {
    state_ = State::head;
    step_ = BodyStep::data;
    head_ = RequestHead{};
    head_buf_.clear();
    line_.clear();
    body_.clear();
    remaining_ = 0;
    trailer_bytes_ = 0;
    started_ = false;
    error_status_ = 0;
    error_message_.clear();
}

bool RequestParser::fail(int status, std::string message) {
    state_ = State::error;
    error_status_ = status;
    error_message_ = std::move(message);
    return false;
}

size_t RequestParser::feed(std::string_view data) {
    if (state_ == State::head) return feed_head(data);
    if (state_ == State::body) return feed_body(data);
    return 0;
}

size_t RequestParser::feed_head(std::string_view data) {
    size_t used = 0;
    // Empty lines before a request line are ignored (RFC 9112 2.2): a client may send CRLF after a body.
    if (head_buf_.empty()) {
        while (used < data.size() && (data[used] == '\r' || data[used] == '\n')) ++used;
        data.remove_prefix(used);
        if (data.empty()) return used;
    }
    started_ = true;
    // The end of the head is the first empty line; look for it from just before the bytes already held.
    const size_t before = head_buf_.size();
    const size_t room = limits_.max_head_bytes + 4 - before;  // the terminator itself may pass the limit
    head_buf_.append(data.substr(0, std::min(data.size(), room)));
    size_t end = std::string::npos, term = 0;
    for (size_t i = before >= 3 ? before - 3 : 0; i < head_buf_.size(); ++i) {
        if (head_buf_[i] != '\n') continue;
        if (i + 1 < head_buf_.size() && head_buf_[i + 1] == '\n') {
            end = i, term = 2;
            break;
        }
        if (i + 2 < head_buf_.size() && head_buf_[i + 1] == '\r' && head_buf_[i + 2] == '\n') {
            end = i, term = 3;
            break;
        }
    }
    if (end == std::string::npos) {
        if (head_buf_.size() > limits_.max_head_bytes) {
            const bool in_request_line = head_buf_.find('\n') == std::string::npos;
            fail(in_request_line ? 414 : 431,
                 std::string(in_request_line ? "the request line" : "the request headers") + " are longer than " +
                     std::to_string(limits_.max_head_bytes) + " bytes");
        }
        return used + (head_buf_.size() - before);
    }
    const size_t head_size = end + term;  // through the empty line
    if (end > limits_.max_head_bytes)
        return fail(431, "the request headers are longer than " + std::to_string(limits_.max_head_bytes) + " bytes"),
               used + (head_buf_.size() - before);
    head_buf_.resize(end + 1);  // keep the last header line's LF
    used += head_size - before;
    if (!parse_head()) return used;
    head_buf_.clear();
    head_buf_.shrink_to_fit();
    if (head_.chunked) {
        step_ = BodyStep::chunk_size;
        state_ = State::body;
    } else if (head_.content_length > 0) {
        step_ = BodyStep::data;
        remaining_ = head_.content_length;
        state_ = State::body;
    } else {
        state_ = State::done;
    }
    return used;
}

bool RequestParser::parse_head() {
    std::vector<std::string_view> lines;
    std::string_view rest(head_buf_);
    while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    }
    if (lines.empty()) return fail(400, "malformed HTTP request: no request line");
    if (lines.size() - 1 > limits_.max_headers)
        return fail(431, "more than " + std::to_string(limits_.max_headers) + " request headers");

    // Request line: METHOD SP target SP HTTP/1.x
    const std::string_view request_line = lines[0];
    const size_t sp1 = request_line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos)
        return fail(400, "malformed HTTP request line");
    const std::string_view method = request_line.substr(0, sp1);
    const std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = request_line.substr(sp2 + 1);
    for (unsigned char c : method)
        if (!is_tchar(c)) return fail(400, "malformed HTTP method");
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/") return fail(400, "malformed HTTP version");
    if (version[5] != '1' || version[6] != '.' || (version[7] != '0' && version[7] != '1'))
        return fail(505, "only HTTP/1.0 and HTTP/1.1 are supported");
    head_.method = std::string(method);
    head_.minor_version = version[7] - '0';

    // Origin-form target only ("/path?query"); the query is not used by any route.
    if (target.empty() || target.front() != '/') return fail(400, "the request target must be a path");
    std::string_view raw_path = target.substr(0, target.find_first_of("?#"));
    head_.path.reserve(raw_path.size());
    for (size_t i = 0; i < raw_path.size(); ++i) {
        const unsigned char c = raw_path[i];
        if (c <= 0x20 || c == 0x7f) return fail(400, "the request target holds a control byte");
        if (c != '%') {
            head_.path += char(c);
            continue;
        }
        const int hi = i + 2 < raw_path.size() ? hex_value(raw_path[i + 1]) : -1;
        const int lo = hi >= 0 ? hex_value(raw_path[i + 2]) : -1;
        if (lo < 0) return fail(400, "malformed percent-escape in the request target");
        if (hi == 0 && lo == 0) return fail(400, "the request target holds a NUL byte");
        head_.path += char(hi * 16 + lo);
        i += 2;
    }

    bool saw_length = false, saw_encoding = false;
    std::string connection;
    for (size_t i = 1; i < lines.size(); ++i) {
        const std::string_view line = lines[i];
        if (line.empty()) return fail(400, "malformed HTTP headers");
        if (line.front() == ' ' || line.front() == '\t') return fail(400, "folded header lines are not accepted");
        const size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) return fail(400, "malformed header line");
        const std::string_view name = line.substr(0, colon);
        for (unsigned char c : name)
            if (!is_tchar(c)) return fail(400, "malformed header name");
        const std::string_view value = trim(line.substr(colon + 1));
        for (unsigned char c : value)
            if ((c < 0x20 && c != '\t') || c == 0x7f) return fail(400, "a header value holds a control byte");
        std::string lname = lower(name);
        if (lname == "content-length") {
            uint64_t n = 0;
            if (value.empty()) return fail(400, "malformed Content-Length");
            for (char c : value) {
                if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) return fail(400, "malformed Content-Length");
                n = n * 10 + uint64_t(c - '0');
            }
            if (saw_length && n != head_.content_length) return fail(400, "conflicting Content-Length headers");
            saw_length = true;
            head_.content_length = n;
        } else if (lname == "transfer-encoding") {
            // Only "chunked" alone: anything else (gzip, chunked twice, a list) is a smuggling risk or unsupported.
            if (saw_encoding || lower(value) != "chunked")
                return fail(501, "only 'Transfer-Encoding: chunked' is supported");
            saw_encoding = true;
            head_.chunked = true;
        } else if (lname == "connection") {
            connection += std::string(value) + ",";
        } else if (lname == "expect") {
            if (lower(value) != "100-continue") return fail(417, "only 'Expect: 100-continue' is supported");
            head_.expect_continue = true;
        }
        head_.headers.emplace_back(std::move(lname), std::string(value));
    }
    if (saw_length && saw_encoding) return fail(400, "both Content-Length and Transfer-Encoding");
    if (head_.content_length > limits_.max_body_bytes)
        return fail(413, "the request body is larger than " + std::to_string(limits_.max_body_bytes) +
                             " bytes (--max-body-kb)");
    head_.keep_alive =
        head_.minor_version == 1 ? !lists_token(connection, "close") : lists_token(connection, "keep-alive");
    return true;
}

size_t RequestParser::feed_body(std::string_view data) {
    size_t used = 0;
    auto too_large = [&] {
        fail(413, "the request body is larger than " + std::to_string(limits_.max_body_bytes) +
                      " bytes (--max-body-kb)");
        return used;
    };
    while (used < data.size() && state_ == State::body) {
        const std::string_view rest = data.substr(used);
        switch (step_) {
            case BodyStep::data:
            case BodyStep::chunk_data: {
                const size_t n = size_t(std::min<uint64_t>(remaining_, rest.size()));
                body_.append(rest.substr(0, n));
                used += n;
                remaining_ -= n;
                if (remaining_ == 0) {
                    if (step_ == BodyStep::data) state_ = State::done;
                    else step_ = BodyStep::chunk_crlf;
                }
                break;
            }
            case BodyStep::chunk_crlf:
            case BodyStep::chunk_size:
            case BodyStep::trailers: {
                const size_t nl = rest.find('\n');
                const size_t take = nl == std::string_view::npos ? rest.size() : nl + 1;
                const size_t bound = step_ == BodyStep::trailers ? limits_.max_head_bytes : kMaxChunkLineBytes;
                if (line_.size() + take > bound + 1) {
                    if (step_ == BodyStep::trailers)
                        fail(431, "the chunked body's trailers are longer than " +
                                      std::to_string(limits_.max_head_bytes) + " bytes");
                    else
                        fail(400, "malformed chunked body: a chunk-size line is too long");
                    return used;
                }
                line_.append(rest.substr(0, take));
                used += take;
                if (nl == std::string_view::npos) break;  // the line goes on in the next read
                std::string_view line(line_);
                line.remove_suffix(1);
                if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
                if (step_ == BodyStep::chunk_crlf) {
                    if (!line.empty()) return fail(400, "malformed chunked body: no CRLF after a chunk"), used;
                    step_ = BodyStep::chunk_size;
                } else if (step_ == BodyStep::chunk_size) {
                    const std::string_view digits = trim(line.substr(0, line.find(';')));
                    if (digits.empty()) return fail(400, "malformed chunked body: empty chunk size"), used;
                    uint64_t size = 0;
                    for (char c : digits) {
                        const int v = hex_value(c);
                        if (v < 0) return fail(400, "malformed chunked body: bad chunk size"), used;
                        if (size > (limits_.max_body_bytes >> 4) + 1) return too_large();
                        size = size * 16 + uint64_t(v);
                    }
                    if (size > limits_.max_body_bytes - body_.size()) return too_large();
                    if (size == 0) {
                        step_ = BodyStep::trailers;
                    } else {
                        remaining_ = size;
                        step_ = BodyStep::chunk_data;
                    }
                } else {  // trailers: read and dropped, up to the empty line
                    trailer_bytes_ += line_.size();
                    if (trailer_bytes_ > limits_.max_head_bytes)
                        return fail(431, "the chunked body's trailers are longer than " +
                                             std::to_string(limits_.max_head_bytes) + " bytes"),
                               used;
                    if (line.empty()) state_ = State::done;
                }
                line_.clear();
                break;
            }
        }
    }
    return used;
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 204: return "No Content";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 417: return "Expectation Failed";
        case 422: return "Unprocessable Content";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
    }
}

std::string serialize_response(const ApiResponse& response, bool keep_alive, bool head_only) {
    auto clean = [](std::string_view s) {
        std::string out;
        for (char c : s)
            if (c != '\r' && c != '\n') out += c;
        return out;
    };
    std::string out;
    out.reserve(256 + (head_only ? 0 : response.body.size()));
    out += "HTTP/1.1 " + std::to_string(response.status) + " " + std::string(reason_phrase(response.status)) + "\r\n";
    out += "Content-Type: " + clean(response.content_type) + "\r\n";
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    for (const auto& [name, value] : response.headers) out += clean(name) + ": " + clean(value) + "\r\n";
    out += "\r\n";
    if (!head_only) out += response.body;
    return out;
}

}  // namespace leann::server
