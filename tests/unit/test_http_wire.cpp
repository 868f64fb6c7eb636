// The HTTP request parser of `leann serve` (apps/server/http_wire.h): framing, limits, and what it refuses.
#include "http_wire.h"

#include <gtest/gtest.h>

#include <string>

namespace leann::server {
namespace {

using State = RequestParser::State;

// Feeds `bytes` in pieces of `step` bytes, as a slow network would deliver them; returns the bytes not consumed.
std::string feed_in_pieces(RequestParser& p, const std::string& bytes, size_t step) {
    std::string pending;
    for (size_t i = 0; i < bytes.size(); i += step) {
        pending += bytes.substr(i, step);
        for (;;) {
            const size_t used = p.feed(pending);
            pending.erase(0, used);
            if (used == 0 || pending.empty() || p.state() == State::done || p.state() == State::error) break;
        }
        if (p.state() == State::done || p.state() == State::error) {
            return pending + (i + step < bytes.size() ? bytes.substr(i + step) : "");
        }
    }
    return pending;
}

TEST(HttpWire, ParsesAHeadAndAContentLengthBodyArrivingByteByByte) {
    const std::string second = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string req =
        "POST /sea%72ch?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 5\r\nX-Odd:  spaced \r\n\r\nhello" +
        second;
    for (size_t step : {size_t(1), size_t(3), req.size()}) {
        RequestParser p;
        const std::string rest = feed_in_pieces(p, req, step);
        ASSERT_EQ(p.state(), State::done) << "step " << step << ": " << p.error_message();
        EXPECT_EQ(p.head().method, "POST");
        EXPECT_EQ(p.head().path, "/search");
        EXPECT_EQ(p.head().header("host"), "127.0.0.1:8080");
        EXPECT_EQ(p.head().header("x-odd"), "spaced");
        EXPECT_TRUE(p.head().keep_alive);
        EXPECT_EQ(p.body(), "hello");
        EXPECT_EQ(rest, second) << "the pipelined request is left for the next parse";
        p.reset();
        EXPECT_EQ(p.feed(rest), rest.size());
        EXPECT_EQ(p.state(), State::done);
        EXPECT_EQ(p.head().path, "/health");
    }
}

TEST(HttpWire, StopsAfterTheHeadSoTheBodyCanWait) {
    RequestParser p;
    const std::string head = "POST /search HTTP/1.1\r\nHost: h\r\nContent-Length: 900\r\nExpect: 100-continue\r\n\r\n";
    EXPECT_EQ(p.feed(head + "{\"a\""), head.size());
    EXPECT_EQ(p.state(), State::body);
    EXPECT_TRUE(p.head().expect_continue);
    EXPECT_TRUE(p.body().empty());
}

TEST(HttpWire, DecodesChunkedBodiesWithExtensionsAndTrailers) {
    const std::string req =
        "POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n5;name=v\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n"
        "Trailer-A: 1\r\n\r\n";
    for (size_t step : {size_t(1), size_t(7), req.size()}) {
        RequestParser p;
        EXPECT_EQ(feed_in_pieces(p, req, step), "");
        ASSERT_EQ(p.state(), State::done) << p.error_message();
        EXPECT_EQ(p.body(), "hello world");
    }
}

TEST(HttpWire, ChunkedBodyOverTheLimitFailsOnTheChunkSizeBeforeAnyDataArrives) {
    RequestParser p(WireLimits{16 * 1024, 100, 1024});
    feed_in_pieces(p, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n", 1000);
    ASSERT_EQ(p.state(), State::body);  // 512 bytes announced: fine so far
    RequestParser q(WireLimits{16 * 1024, 100, 1024});
    feed_in_pieces(q, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n300\r\n" + std::string(0x300, 'a') +
                          "\r\n300\r\n", 100000);
    EXPECT_EQ(q.state(), State::error);
    EXPECT_EQ(q.error_status(), 413);
    EXPECT_LE(q.body().size(), 1024u);
    // A chunk size too long to fit in 64 bits is the same 413, not an overflow.
    RequestParser r(WireLimits{16 * 1024, 100, 1024});
    feed_in_pieces(r, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n", 1000);
    EXPECT_EQ(r.error_status(), 413);
}

TEST(HttpWire, ContentLengthOverTheLimitFailsOnTheHead) {
    RequestParser p(WireLimits{16 * 1024, 100, 1024});
    feed_in_pieces(p, "POST /x HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 1000);
    EXPECT_EQ(p.state(), State::error);
    EXPECT_EQ(p.error_status(), 413);
    EXPECT_NE(p.error_message().find("--max-body-kb"), std::string::npos);
}

TEST(HttpWire, HeadsOverTheLimitFailWithoutWaitingForTheirEnd) {
    {
        RequestParser p(WireLimits{4096, 100, 1024});
        const std::string endless = "GET / HTTP/1.1\r\nX-Flood: " + std::string(1 << 20, 'a');  // never ends
        const size_t used = p.feed(endless);
        EXPECT_EQ(p.state(), State::error);
        EXPECT_EQ(p.error_status(), 431);
        EXPECT_LT(used, 4096u + 8) << "the parser holds no more than the limit";
    }
    {
        RequestParser p(WireLimits{4096, 100, 1024});
        p.feed("GET /" + std::string(5000, 'a'));
        EXPECT_EQ(p.error_status(), 414);
    }
    {
        RequestParser p(WireLimits{16 * 1024, 10, 1024});
        std::string req = "GET / HTTP/1.1\r\n";
        for (int i = 0; i < 11; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
        p.feed(req + "\r\n");
        EXPECT_EQ(p.error_status(), 431);
    }
}

TEST(HttpWire, RefusesAmbiguousOrUnsupportedFraming) {
    const std::pair<std::string, int> cases[] = {
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"GET / FTP/1.1\r\n\r\n", 400},
        {"GET  / HTTP/1.1\r\n\r\n", 400},
        {"GET http://evil/ HTTP/1.1\r\n\r\n", 400},
        {"GET /%zz HTTP/1.1\r\n\r\n", 400},
        {"GET /a%00b HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 400},
        {"POST / HTTP/1.1\r\nExpect: something\r\n\r\n", 417},
    };
    for (const auto& [req, status] : cases) {
        RequestParser p;
        p.feed(req);
        if (p.state() == State::body) p.feed(req.substr(req.find("\r\n\r\n") + 4));
        EXPECT_EQ(p.state(), State::error) << req;
        EXPECT_EQ(p.error_status(), status) << req << " -> " << p.error_message();
    }
}

TEST(HttpWire, ConnectionPersistenceFollowsTheVersionAndHeader) {
    auto keep = [](const std::string& req) {
        RequestParser p;
        p.feed(req);
        EXPECT_EQ(p.state(), State::done) << req;
        return p.head().keep_alive;
    };
    EXPECT_TRUE(keep("GET / HTTP/1.1\r\n\r\n"));
    EXPECT_FALSE(keep("GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n"));
    EXPECT_FALSE(keep("GET / HTTP/1.0\r\n\r\n"));
    EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    EXPECT_TRUE(keep("\r\n\r\nGET / HTTP/1.1\n\n")) << "leading empty lines and bare LF are accepted";
}

TEST(HttpWire, SerializesResponsesWithoutHeaderInjection) {
    ApiResponse r;
    r.status = 404;
    r.body = "{}";
    r.headers.emplace_back("X-A", "v\r\nSet-Cookie: evil");
    const std::string s = serialize_response(r, true, false);
    EXPECT_EQ(s.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
    EXPECT_NE(s.find("Content-Length: 2\r\n"), std::string::npos);
    EXPECT_NE(s.find("Connection: keep-alive\r\n"), std::string::npos);
    EXPECT_EQ(s.find("\r\nSet-Cookie"), std::string::npos);
    EXPECT_EQ(s.substr(s.size() - 6), "\r\n\r\n{}");
    const std::string head = serialize_response(r, false, true);
    EXPECT_NE(head.find("Content-Length: 2\r\n"), std::string::npos);
    EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace leann::server
