// What leann ask reads from an LLM server (apps/rag/sse.h, chat_reply.h, chat_client.h's URL parsing): SSE framing
// across arbitrary read boundaries, comments and [DONE], malformed and hostile replies, error bodies.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat_client.h"
#include "chat_reply.h"
#include "leann/error.h"
#include "sse.h"
#include "util/utf8.h"

namespace leann::rag {
namespace {

std::vector<std::string> events_of(const std::vector<std::string>& pieces) {
    std::vector<std::string> events;
    SseParser parser([&](std::string_view data) { events.emplace_back(data); });
    for (const auto& p : pieces) parser.feed(p);
    parser.finish();
    return events;
}

std::vector<std::string> bytewise(const std::string& s) {
    std::vector<std::string> out;
    for (char c : s) out.emplace_back(1, c);
    return out;
}

TEST(AskSse, ReassemblesEventsSplitAnywhere) {
    const std::string stream = "data: {\"a\":1}\r\n\r\n: keep-alive\r\n\r\ndata: second\r\n\r\n";
    const std::vector<std::string> expected = {"{\"a\":1}", "second"};
    EXPECT_EQ(events_of({stream}), expected);
    EXPECT_EQ(events_of(bytewise(stream)), expected);
    // Every two-piece split, including between the '\r' and '\n' of one line break.
    for (size_t cut = 0; cut <= stream.size(); ++cut)
        EXPECT_EQ(events_of({stream.substr(0, cut), stream.substr(cut)}), expected) << "cut at " << cut;
}

TEST(AskSse, HandlesEveryLineEndingCommentsAndFields) {
    EXPECT_EQ(events_of({"data: x\n\ndata: y\r\rdata: z\r\n\r\n"}), (std::vector<std::string>{"x", "y", "z"}));
    // Multi-line data joins with '\n'; "data:" without a space keeps the value whole; other fields are ignored.
    EXPECT_EQ(events_of({"event: message\nid: 7\nretry: 100\ndata: one\ndata:two\n\n"}),
              (std::vector<std::string>{"one\ntwo"}));
    // Comments and events without data deliver nothing.
    EXPECT_TRUE(events_of({": ping\n\n:\n\nevent: x\n\n\n\n"}).empty());
    // Lines that are not "field: value" are ignored, not fatal.
    EXPECT_EQ(events_of({"garbage line\n{not sse}\ndata: ok\n\n"}), (std::vector<std::string>{"ok"}));
    // The last event counts even when the stream ends without a blank line.
    EXPECT_EQ(events_of({"data: a\n\ndata: [DONE]"}), (std::vector<std::string>{"a", "[DONE]"}));
}

TEST(AskSse, BoundsLinesAndEvents) {
    SseParser parser([](std::string_view) {}, 64);
    EXPECT_THROW(parser.feed("data: " + std::string(100, 'x')), Error);
    SseParser many([](std::string_view) {}, 64);
    EXPECT_THROW(
        {
            for (int i = 0; i < 20; ++i) many.feed("data: 0123456789\n");
        },
        Error);
}

std::string chunk(const std::string& delta_json, const std::string& finish = "null") {
    return "data: {\"model\":\"m1\",\"choices\":[{\"index\":0,\"delta\":" + delta_json +
           ",\"finish_reason\":" + finish + "}]}\n\n";
}

TEST(AskReply, DecodesAStreamOfDeltas) {
    const std::string stream = ": keep-alive\n\n" + chunk(R"({"role":"assistant","content":""})") +
                               chunk(R"({"content":"Foxes "})") + chunk(R"({"content":"are \"quick\" [1]."})") +
                               chunk("{}", "\"stop\"") + "data: [DONE]\n\n" + chunk(R"({"content":"after done"})");
    std::vector<std::string> tokens;
    ChatReplyDecoder decoder([&](std::string_view t) { tokens.emplace_back(t); });
    for (size_t i = 0; i < stream.size(); i += 7) decoder.feed(std::string_view(stream).substr(i, 7));
    const ChatReply reply = decoder.finish();
    EXPECT_EQ(tokens, (std::vector<std::string>{"Foxes ", "are \"quick\" [1]."}));
    EXPECT_EQ(reply.content, "Foxes are \"quick\" [1].");
    EXPECT_EQ(reply.model, "m1");
    EXPECT_EQ(reply.finish_reason, "stop");
    EXPECT_TRUE(reply.streamed);
}

TEST(AskReply, AcceptsAWholeJsonReplyToAStreamRequest) {
    const std::string body =
        R"(  {"model":"m2","choices":[{"index":0,"message":{"role":"assistant","content":"All at once."},)"
        R"("finish_reason":"length"}]})";
    std::vector<std::string> tokens;
    ChatReplyDecoder decoder([&](std::string_view t) { tokens.emplace_back(t); });
    decoder.feed(body.substr(0, 10));
    decoder.feed(body.substr(10));
    const ChatReply reply = decoder.finish();
    EXPECT_FALSE(reply.streamed);
    EXPECT_EQ(reply.content, "All at once.");
    EXPECT_EQ(tokens, (std::vector<std::string>{"All at once."}));
    EXPECT_EQ(reply.model, "m2");
    EXPECT_EQ(reply.finish_reason, "length");
}

TEST(AskReply, SkipsMalformedEventsButFailsWhenNothingIsReadable) {
    ChatReplyDecoder some([](std::string_view) {});
    some.feed("data: {broken json\n\n" + chunk(R"({"content":"fine"})") + "data: [1,2]\n\ndata: [DONE]\n\n");
    EXPECT_EQ(some.finish().content, "fine");

    ChatReplyDecoder none([](std::string_view) {});
    none.feed("data: {broken json\n\ndata: also broken\n\n");
    try {
        none.finish();
        FAIL() << "no readable event must be an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("2 malformed event(s)"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("{broken json"), std::string::npos) << e.what();
    }
    ChatReplyDecoder empty([](std::string_view) {});
    empty.feed("\r\n  ");
    EXPECT_THROW(empty.finish(), Error);
    ChatReplyDecoder no_choices([](std::string_view) {});
    no_choices.feed(R"({"id": "x"})");
    EXPECT_THROW(no_choices.finish(), Error);
    ChatReplyDecoder odd_choices([](std::string_view) {});
    odd_choices.feed("data: {\"choices\": [7, 8]}\n\ndata: {\"choices\": \"no\"}\n\n");
    EXPECT_THROW(odd_choices.finish(), Error);
}

TEST(AskReply, ReportsAnErrorEventInTheStream) {
    ChatReplyDecoder decoder([](std::string_view) {});
    decoder.feed(chunk(R"({"content":"partial"})"));
    try {
        decoder.feed("data: {\"error\": {\"message\": \"model crashed\", \"type\": \"server_error\"}}\n\n");
        FAIL() << "an error event must throw";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("model crashed"), std::string::npos) << e.what();
    }
}

TEST(AskReply, RepairsBytesThatAreNotUtf8) {
    std::string answer;
    ChatReplyDecoder decoder([&](std::string_view t) {
        EXPECT_TRUE(utf8::is_valid(t));
        answer += t;
    });
    decoder.feed("data: {\"choices\":[{\"delta\":{\"content\":\"ok \xFF\xFE\xC3\"}}]}\n\n");
    decoder.feed("data: {\"choices\":[{\"delta\":{\"content\":\"caf\xC3\xA9\"}}]}\n\n");
    const ChatReply reply = decoder.finish();
    EXPECT_TRUE(utf8::is_valid(reply.content));
    EXPECT_NE(reply.content.find("\xEF\xBF\xBD"), std::string::npos) << "U+FFFD marks the repaired bytes";
    EXPECT_NE(reply.content.find("caf\xC3\xA9"), std::string::npos);
    EXPECT_EQ(answer, reply.content);
}

TEST(AskReply, FindsTheServersErrorMessage) {
    EXPECT_EQ(server_error_message(R"({"error": {"message": "Incorrect API key provided", "type": "x"}})"),
              "Incorrect API key provided");
    EXPECT_EQ(server_error_message(R"({"error": "model 'llama9' not found"})"), "model 'llama9' not found");
    EXPECT_EQ(server_error_message(R"({"object": "error", "message": "The model `x` does not exist."})"),
              "The model `x` does not exist.");
    EXPECT_EQ(server_error_message(R"({"detail": "Not Found"})"), "Not Found");
    EXPECT_EQ(server_error_message("<html>\n<body>Bad Gateway</body>\n</html>"),
              "<html> <body>Bad Gateway</body> </html>");
    EXPECT_EQ(server_error_message(""), "");
    const std::string huge = server_error_message(std::string(5000, 'e') + "\xFF");
    EXPECT_LE(huge.size(), 310u);
    EXPECT_TRUE(utf8::is_valid(huge));
}

TEST(AskReply, KeepsOnlyWhatItIsToldAndBoundsTheReply) {
    // 4 MB streamed in 64 KiB deltas: every byte reaches the handler, only the first 1000 are kept.
    size_t handed = 0;
    ChatReplyDecoder decoder([&](std::string_view t) { handed += t.size(); }, 1000);
    const std::string delta = "data: {\"choices\": [{\"delta\": {\"content\": \"" + std::string(65536, 'a') +
                              "\"}}]}\n\n";
    for (int i = 0; i < 64; ++i) decoder.feed(delta);
    const ChatReply reply = decoder.finish();
    EXPECT_EQ(handed, 64u * 65536);
    EXPECT_EQ(reply.content.size(), 1000u);
    EXPECT_TRUE(reply.content_cut);

    // Past max_reply_bytes in all, a stream is refused (what was handed on stays printed).
    ChatReplyDecoder flood([](std::string_view) {});
    EXPECT_THROW(
        {
            for (size_t sent = 0; sent <= max_reply_bytes; sent += delta.size()) flood.feed(delta);
        },
        Error);
    ChatReplyDecoder whole([](std::string_view) {});
    EXPECT_THROW(
        {
            whole.feed("{\"choices\": \"");
            for (size_t sent = 0; sent <= max_reply_bytes; sent += 1u << 20) whole.feed(std::string(1u << 20, 'x'));
        },
        Error);
}

TEST(AskUrl, ParsesBaseUrls) {
    BaseUrl b = parse_base_url("localhost:11434");
    EXPECT_EQ(b.scheme, "http");
    EXPECT_EQ(b.host, "localhost");
    EXPECT_EQ(b.port, 11434);
    EXPECT_EQ(b.path, "/v1");
    EXPECT_EQ(b.str(), "http://localhost:11434/v1");
    b = parse_base_url("https://api.openai.com/v1/");
    EXPECT_EQ(b.port, 443);
    EXPECT_EQ(b.str(), "https://api.openai.com/v1");
    EXPECT_EQ(parse_base_url("http://h:8080/v1/chat/completions").path, "/v1");
    EXPECT_EQ(parse_base_url("http://h:8000/openai/v1/models?x=1").path, "/openai/v1");
    b = parse_base_url("http://[::1]:8080/v1");
    EXPECT_EQ(b.host, "::1");
    EXPECT_EQ(b.origin(), "http://[::1]:8080");
    EXPECT_THROW(parse_base_url("ftp://h/v1"), Error);
    EXPECT_THROW(parse_base_url("http://h:99999/v1"), Error);
    EXPECT_THROW(parse_base_url("http://h:80x/v1"), Error);
    EXPECT_THROW(parse_base_url("http:///v1"), Error);
    EXPECT_THROW(parse_base_url("http://user:pw@h/v1"), Error);
}

}  // namespace
}  // namespace leann::rag
