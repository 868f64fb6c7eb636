// Server-sent events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html), as OpenAI-compatible
// servers stream chat completions: "data: {...}" lines, a blank line ends an event, ":" lines are comments
// (keep-alives). Bytes arrive in arbitrary pieces, so lines and events are reassembled across feed() calls.
//
// Not thread-safe; one parser per response.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace leann::rag {

class SseParser {
public:
    /// Called once per event that carried data: its data lines joined by '\n'.
    using EventHandler = std::function<void(std::string_view data)>;

    /// `max_event_bytes` bounds one line and one event's data; a server that exceeds it gets leann::Error (a
    /// misbehaving endpoint must not make us buffer without end).
    explicit SseParser(EventHandler on_event, size_t max_event_bytes = 16u << 20);

    void feed(std::string_view bytes);
    /// End of the stream: a last event not followed by a blank line is still delivered.
    void finish();

    size_t events() const { return events_; }

private:
    void line(std::string_view text);
    void dispatch();

    EventHandler on_event_;
    size_t max_event_bytes_;
    std::string partial_line_;
    std::string data_;
    bool has_data_ = false;
    bool skip_lf_ = false;  // the last byte was '\r': a following '\n' belongs to the same line break
    size_t events_ = 0;
};

}  // namespace leann::rag
