// What an OpenAI-compatible server sends back to `leann ask` (apps/rag/chat_reply.h, sse.h): a streamed (SSE) or
// whole JSON reply, arriving in pieces whose size the first byte chooses; and the error text of a failed request.
#include <string>

#include "chat_reply.h"
#include "fuzz_support.h"
#include "leann/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const size_t piece = size_t(data[0]) * 7 + 1;
    std::string_view input = leann::fuzz::as_text(data + 1, size - 1);
    (void)leann::rag::server_error_message(input);
    size_t streamed = 0;
    leann::rag::ChatReplyDecoder decoder([&](std::string_view text) { streamed += text.size(); });
    try {
        while (!input.empty()) {
            const size_t n = std::min(piece, input.size());
            decoder.feed(input.substr(0, n));
            input.remove_prefix(n);
        }
        const leann::rag::ChatReply reply = decoder.finish();
        if (reply.streamed && reply.content.size() != streamed) std::abort();
    } catch (const leann::Error&) {
    }
    return 0;
}
