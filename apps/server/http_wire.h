// HTTP/1.1 on the wire, without sockets: an incremental request parser with hard limits, and the response bytes.
// The parser stops after the head so the server can check who is asking before it reads a single byte of the
// body; every size an outsider controls is bounded (head bytes, header count, body bytes in both framings,
// chunk-size lines, trailers). It never allocates more than the limits allow and never throws on bad input: a bad
// request ends in state error with the status to answer (400, 413, 414, 431, 501, 505) and a message.
// Not thread-safe; one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http_api.h"

namespace leann::server {

struct WireLimits {
    size_t max_head_bytes = 16 * 1024;  // request line + headers (+ trailers of a chunked body): 431 above
    size_t max_headers = 100;           // header lines: 431 above
    size_t max_body_bytes = 1 << 20;    // decoded body, whatever the framing: 413 above
};

struct RequestHead {
    std::string method;   // as sent ("GET", "HEAD", "POST", ...)
    std::string path;     // the target's path, query string dropped, percent-decoded
    int minor_version = 1;  // HTTP/1.<minor>
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
    bool keep_alive = true;
    bool chunked = false;
    uint64_t content_length = 0;  // when not chunked
    bool expect_continue = false;

    /// The first header with this (lower-case) name, or "" when absent.
    std::string_view header(std::string_view lower_name) const;
};

class RequestParser {
public:
    enum class State {
        head,   // reading the request line and headers
        body,   // head complete (head() valid), body still to come
        done,   // a whole request: head() and body() valid
        error,  // error_status() and error_message() say why; the connection must be closed after answering
    };

    explicit RequestParser(WireLimits limits = {});

    /// Consumes bytes of the connection and returns how many it used. It stops at the end of the head (state goes
    /// from head to body or done) and at the end of the request (done), leaving what follows (a pipelined
    /// request) unconsumed; call again to go on. In done or error it consumes nothing.
    size_t feed(std::string_view data);
    /// Ready for the next request on the same connection.
    void reset();

    State state() const { return state_; }
    const RequestHead& head() const { return head_; }
    const std::string& body() const { return body_; }
    std::string take_body() { return std::move(body_); }
    int error_status() const { return error_status_; }
    const std::string& error_message() const { return error_message_; }
    /// Whether any byte of the current request has arrived (the connection is not idle between requests).
    bool started() const { return started_; }

private:
    enum class BodyStep { data, chunk_size, chunk_data, chunk_crlf, trailers };
    size_t feed_head(std::string_view data);
    size_t feed_body(std::string_view data);
    bool parse_head();
    bool fail(int status, std::string message);

    WireLimits limits_;
    State state_ = State::head;
    BodyStep step_ = BodyStep::data;
    RequestHead head_;
    std::string head_buf_;  // head bytes so far (bounded by max_head_bytes)
    std::string line_;      // a chunk-size or trailer line so far
    std::string body_;
    uint64_t remaining_ = 0;      // body bytes still expected (Content-Length or the current chunk)
    size_t trailer_bytes_ = 0;
    bool started_ = false;
    int error_status_ = 0;
    std::string error_message_;
};

/// The status line, headers and body of `response` ("Content-Length" always; the body left out when `head_only`).
/// Headers an ApiResponse carries are written as given; CR and LF in them are dropped.
std::string serialize_response(const ApiResponse& response, bool keep_alive, bool head_only);

/// "Not Found" for 404, ...; "Unknown" for a status this server never sends.
std::string_view reason_phrase(int status);

}  // namespace leann::server
