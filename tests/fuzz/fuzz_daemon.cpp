// The search daemon's wire (apps/daemon): the input is the byte stream one side of the Unix socket receives. Frames
// are read with the request limit, and each JSON object is decoded as search options, a search result and a
// status, whichever keys it has. Decoding throws only leann::Error; whatever decodes encodes and decodes again to
// the same message (nothing is lost or invented on the way).
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "daemon_protocol.h"
#include "daemon_wire.h"
#include "fuzz_support.h"
#include "leann/error.h"

namespace {

template <typename Decode, typename Encode>
void check(const nlohmann::json& j, Decode decode, Encode encode) {
    try {
        const auto first = decode(j);
        const nlohmann::json encoded = encode(first);
        if (encode(decode(encoded)) != encoded) std::abort();
    } catch (const leann::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace leann::daemon;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 0;
    Fd reader(sv[0]), writer(sv[1]);
    // What fits in the socket buffer without a reader running at the same time.
    const size_t n = std::min<size_t>(size, 96 * 1024);
    if (::write(writer.get(), data, n) != ssize_t(n)) return 0;
    writer = Fd();  // end of stream after the input
    std::string why;
    for (int frames = 0; frames < 32; ++frames) {
        const auto message = read_frame(reader.get(), max_request_bytes, Clock::now() + std::chrono::seconds(1), why);
        if (!message) break;
        if (!message->is_object()) std::abort();
        if (auto it = message->find("options"); it != message->end())
            check(*it, search_options_from_json, search_options_json);
        if (auto it = message->find("result"); it != message->end())
            check(*it, [](const nlohmann::json& j) { return search_result_from_json(j, 10000); }, search_result_json);
        if (auto it = message->find("status"); it != message->end()) check(*it, status_from_json, status_json);
    }
    return 0;
}
