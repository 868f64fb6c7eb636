#include "chat_reply.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "leann/error.h"
#include "prompt.h"
#include "util/json_limits.h"
#include "util/utf8.h"

namespace leann::rag {
namespace {

constexpr size_t max_snippet_bytes = 300;

using nlohmann::json;

json parse_repaired(std::string_view text) {
    return json_limits::parse_or_discarded(utf8::repair(text));
}

std::string snippet(std::string_view text) {
    std::string s = truncate_utf8(text, max_snippet_bytes);
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

std::string string_field(const json& j, const char* key) {
    if (!j.is_object()) return {};
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string error_of(const json& j) {
    if (!j.is_object()) return {};
    if (auto e = j.find("error"); e != j.end()) {
        if (e->is_string()) return e->get<std::string>();
        if (std::string m = string_field(*e, "message"); !m.empty()) return m;
        if (e->is_object() || e->is_array()) return e->dump(-1, ' ', false, json::error_handler_t::replace);
    }
    if (string_field(j, "object") == "error" || !j.contains("choices")) {
        if (std::string m = string_field(j, "message"); !m.empty()) return m;
        if (std::string d = string_field(j, "detail"); !d.empty()) return d;
    }
    return {};
}

}  // namespace

std::string server_error_message(std::string_view body) {
    const json j = parse_repaired(body);
    if (std::string m = error_of(j); !m.empty()) return snippet(m);
    return snippet(body);
}

ChatReplyDecoder::ChatReplyDecoder(TokenHandler on_token, size_t keep_bytes)
    : on_token_(std::move(on_token)), keep_bytes_(keep_bytes), sse_([this](std::string_view data) { event(data); }) {}

void ChatReplyDecoder::keep(std::string_view piece) {
    const size_t room = keep_bytes_ - std::min(keep_bytes_, reply_.content.size());
    if (piece.size() <= room) {
        reply_.content += piece;
        return;
    }
    // Pieces are valid UTF-8: cut at the start of a character.
    size_t cut = room;
    while (cut > 0 && (static_cast<unsigned char>(piece[cut]) & 0xC0) == 0x80) --cut;
    reply_.content.append(piece.substr(0, cut));
    reply_.content_cut = true;
}

void ChatReplyDecoder::feed(std::string_view bytes) {
    received_ += bytes.size();
    if (received_ > max_reply_bytes)
        throw Error("the LLM server's reply is over " + std::to_string(max_reply_bytes >> 20) + " MiB");
    if (mode_ == Mode::undecided) {
        // The first byte that is not white space tells the two shapes apart: a JSON reply opens with '{', an event
        // stream with a field name or a ':' comment. Content-Type is not trusted (servers mislabel streams).
        const size_t first = bytes.find_first_not_of(" \t\r\n");
        if (first == std::string_view::npos) return;
        mode_ = bytes[first] == '{' ? Mode::json : Mode::sse;
        reply_.streamed = mode_ == Mode::sse;
        bytes.remove_prefix(first);
    }
    if (mode_ == Mode::sse) {
        sse_.feed(bytes);
        return;
    }
    body_.append(bytes);
}

void ChatReplyDecoder::event(std::string_view data) {
    if (done_) return;
    if (data == "[DONE]") {
        done_ = true;
        return;
    }
    const json j = parse_repaired(data);
    if (!j.is_object()) {
        if (malformed_++ == 0) body_ = std::string(data.substr(0, max_snippet_bytes));
        return;
    }
    if (std::string e = error_of(j); !e.empty()) throw Error("the LLM server reported an error: " + snippet(e));
    if (std::string m = string_field(j, "model"); !m.empty()) reply_.model = m;
    const auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array() || choices->empty()) return;  // e.g. a usage-only last event
    const json& choice = (*choices)[0];
    if (!choice.is_object()) return;
    saw_choice_ = true;
    if (std::string f = string_field(choice, "finish_reason"); !f.empty()) reply_.finish_reason = f;
    std::string piece = string_field(choice.value("delta", json::object()), "content");
    if (piece.empty()) piece = string_field(choice.value("message", json::object()), "content");  // a whole message
    if (piece.empty()) piece = string_field(choice, "text");  // servers that stream the legacy completions shape
    if (piece.empty()) return;
    keep(piece);
    on_token_(piece);
}

ChatReply ChatReplyDecoder::finish() {
    if (mode_ == Mode::undecided) throw Error("the LLM server sent an empty reply");
    if (mode_ == Mode::sse) {
        sse_.finish();
        if (!saw_choice_) {
            if (malformed_ > 0)
                throw Error("could not read the LLM server's stream: " + std::to_string(malformed_) +
                            " malformed event(s), the first: '" + snippet(body_) + "'");
            throw Error("the LLM server's stream held no answer (" + std::to_string(sse_.events()) + " event(s))");
        }
        return reply_;
    }
    const json j = parse_repaired(body_);
    if (!j.is_object()) throw Error("the LLM server's reply is not JSON: '" + snippet(body_) + "'");
    if (std::string e = error_of(j); !e.empty()) throw Error("the LLM server reported an error: " + snippet(e));
    const auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array() || choices->empty())
        throw Error("the LLM server's reply has no choices: '" + snippet(body_) + "'");
    const json& choice = (*choices)[0];
    if (!choice.is_object()) throw Error("the LLM server's reply has no choices: '" + snippet(body_) + "'");
    reply_.model = string_field(j, "model");
    reply_.finish_reason = string_field(choice, "finish_reason");
    std::string content = string_field(choice.value("message", json::object()), "content");
    if (content.empty()) content = string_field(choice, "text");
    body_.clear();
    body_.shrink_to_fit();
    keep(content);
    if (!content.empty()) on_token_(content);
    return reply_;
}

}  // namespace leann::rag
