#include "sse.h"

#include "leann/error.h"

namespace leann::rag {

SseParser::SseParser(EventHandler on_event, size_t max_event_bytes)
    : on_event_(std::move(on_event)), max_event_bytes_(max_event_bytes) {}

void SseParser::feed(std::string_view bytes) {
    size_t start = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
        const char c = bytes[i];
        if (c != '\n' && c != '\r') {
            skip_lf_ = false;
            continue;
        }
        if (c == '\n' && skip_lf_) {  // the '\n' of a "\r\n" whose '\r' ended the line already
            skip_lf_ = false;
            start = i + 1;
            continue;
        }
        skip_lf_ = c == '\r';
        partial_line_.append(bytes.substr(start, i - start));
        line(partial_line_);
        partial_line_.clear();
        start = i + 1;
    }
    partial_line_.append(bytes.substr(start));
    if (partial_line_.size() > max_event_bytes_)
        throw Error("the LLM server sent a stream line over " + std::to_string(max_event_bytes_) + " bytes");
}

void SseParser::finish() {
    if (!partial_line_.empty()) {
        line(partial_line_);
        partial_line_.clear();
    }
    dispatch();
}

void SseParser::line(std::string_view text) {
    if (text.empty()) {
        dispatch();
        return;
    }
    if (text.front() == ':') return;  // a comment: servers send these as keep-alives
    const size_t colon = text.find(':');
    const std::string_view field = text.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    // "event", "id" and "retry" do not matter to a one-shot completion; unknown fields are ignored by the spec.
    if (field != "data") return;
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
    if (data_.size() > max_event_bytes_)
        throw Error("the LLM server sent a stream event over " + std::to_string(max_event_bytes_) + " bytes");
}

void SseParser::dispatch() {
    if (!has_data_) return;
    ++events_;
    // Reset before the call: the handler may throw (a server error event) and the parser must stay consistent.
    std::string data = std::move(data_);
    data_.clear();
    has_data_ = false;
    on_event_(data);
}

}  // namespace leann::rag
