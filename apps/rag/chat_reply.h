// Decoding what an OpenAI-compatible server sends back from POST /chat/completions: a stream of SSE events with
// `choices[0].delta.content` pieces, or (when the server ignores "stream": true, or we asked for no stream) one JSON
// object with `choices[0].message.content`. Everything from the server is untrusted: bytes that are not UTF-8 are
// repaired to U+FFFD, malformed events are skipped and counted, and sizes are bounded.
//
// Not thread-safe; one decoder per response.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "sse.h"

namespace leann::rag {

/// Bounds on what a server may send (docs/ask.md): the reply's bytes in all, streamed or whole.
inline constexpr size_t max_reply_bytes = 64u << 20;

struct ChatReply {
    std::string content;        // the answer (valid UTF-8), its first `keep_bytes` bytes (see ChatReplyDecoder)
    bool content_cut = false;   // the answer was longer than what was kept (all of it went to the token handler)
    std::string model;          // the model the server says answered (may be empty)
    std::string finish_reason;  // "stop", "length", ... (may be empty)
    bool streamed = false;      // the reply came as server-sent events
};

class ChatReplyDecoder {
public:
    /// Called with each piece of answer text as it arrives (valid UTF-8, never empty).
    using TokenHandler = std::function<void(std::string_view text)>;

    /// `keep_bytes`: how much of the answer ChatReply::content keeps. What was handed to `on_token` (printed) need
    /// not be kept: a long streamed answer then costs no memory.
    explicit ChatReplyDecoder(TokenHandler on_token, size_t keep_bytes = max_reply_bytes);

    /// Throws leann::Error when the stream carries an error object, or the reply grows past max_reply_bytes.
    void feed(std::string_view bytes);
    /// Throws leann::Error when the body held no reply at all (empty, not JSON, no choices, only malformed events).
    ChatReply finish();

private:
    enum class Mode { undecided, sse, json };
    void event(std::string_view data);

    void keep(std::string_view piece);

    TokenHandler on_token_;
    size_t keep_bytes_;
    size_t received_ = 0;  // bytes of the reply so far
    Mode mode_ = Mode::undecided;
    SseParser sse_;
    std::string body_;  // the JSON body, or the first malformed event (for the error message)
    ChatReply reply_;
    bool done_ = false;  // "[DONE]" seen: what follows is ignored
    bool saw_choice_ = false;
    size_t malformed_ = 0;
};

/// The error text of a failed request's body: `error.message`, `error` (a string), `message` or `detail`, else the
/// start of the body as text (cleaned of control characters). Empty for an empty body.
std::string server_error_message(std::string_view body);

}  // namespace leann::rag
