// `leann serve`'s request parser (apps/server/http_wire.h) over arbitrary bytes, delivered in pieces whose size
// the first byte chooses, with pipelined requests parsed one after the other. Checks the parser's own promises:
// it never holds more than its limits, and every request it completes is consistent with its framing.
#include <cstdlib>
#include <string>

#include "fuzz_support.h"
#include "http_wire.h"

using leann::server::RequestParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const size_t piece = size_t(data[0] % 32) + 1;
    std::string_view input = leann::fuzz::as_text(data + 1, size - 1);
    const leann::server::WireLimits limits{512, 16, 256};
    RequestParser parser(limits);
    std::string pending;
    size_t requests = 0;
    while ((!input.empty() || !pending.empty()) && requests < 64) {
        if (!input.empty()) {
            const size_t n = std::min(piece, input.size());
            pending.append(input.substr(0, n));
            input.remove_prefix(n);
        }
        const size_t used = parser.feed(pending);
        if (used > pending.size()) std::abort();
        pending.erase(0, used);
        if (parser.body().size() > limits.max_body_bytes) std::abort();
        const auto state = parser.state();
        if (state == RequestParser::State::error) {
            if (parser.error_status() < 400 || parser.error_status() > 599 || parser.error_message().empty())
                std::abort();
            break;  // the server closes the connection here
        }
        if (state == RequestParser::State::done) {
            const auto& head = parser.head();
            if (head.path.empty() || head.path[0] != '/') std::abort();
            if (!head.chunked && parser.body().size() != head.content_length) std::abort();
            leann::server::ApiResponse r;
            r.body = parser.body();
            r.headers.emplace_back(head.method, std::string(head.header("host")));
            const std::string wire = leann::server::serialize_response(r, head.keep_alive, head.method == "HEAD");
            if (wire.find("\r\n\r\n") == std::string::npos) std::abort();
            parser.reset();
            ++requests;
            continue;
        }
        if (used == 0 && input.empty()) break;  // waiting for bytes that will never come
    }
    return 0;
}
