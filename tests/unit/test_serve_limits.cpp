// `leann serve` before authentication: what an outsider can make the server hold (headers, bodies in any framing,
// slow requests, connections) is bounded, and a body is never read before the token is checked. Raw sockets, so
// each test controls exactly which bytes arrive and when.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "test_serve_support.h"

namespace leann {
namespace {

using testing::ServeHome;
using testing::ServeProcess;
using Clock = std::chrono::steady_clock;

class Socket {
public:
    explicit Socket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(uint16_t(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    bool connected() const { return connected_; }
    bool send(const std::string& bytes) {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size());
    }
    /// Whether the server has sent something (or closed) within `timeout`.
    bool readable(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, int(timeout.count())) > 0;
    }
    /// Reads until the server closes, `until` appears, or `timeout` passes.
    std::string read(std::chrono::milliseconds timeout, const std::string& until = "") {
        std::string out;
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            if (!until.empty() && out.find(until) != std::string::npos) break;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (!readable(left)) break;
            char buf[4096];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                closed_ = true;
                break;
            }
            out.append(buf, size_t(n));
        }
        return out;
    }
    bool closed() const { return closed_; }

private:
    int fd_;
    bool connected_ = false;
    bool closed_ = false;
};

int status_of(const std::string& response) {
    if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
    return std::stoi(response.substr(9, 3));
}

// One whole GET /health on a fresh connection; the status, 0 when no answer came.
int health_status(int port) {
    Socket s(port);
    if (!s.connected() || !s.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) return 0;
    return status_of(s.read(std::chrono::seconds(30)));
}

class ServeLimitsTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { home_ = std::make_unique<ServeHome>(); }
    static void TearDownTestSuite() { home_.reset(); }
    static inline std::unique_ptr<ServeHome> home_;
};

TEST_F(ServeLimitsTest, OversizedHeadersGet431BeforeTheHeadEnds) {
    ServeProcess server(*home_, {"--max-header-kb", "8"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    Socket s(server.port());
    ASSERT_TRUE(s.connected());
    // 9 KB of one header that never ends: the answer cannot wait for the end of the head.
    ASSERT_TRUE(s.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: " + std::string(9 * 1024, 'a')));
    const std::string r = s.read(std::chrono::seconds(30));
    EXPECT_EQ(status_of(r), 431) << r;
    EXPECT_NE(r.find("headers_too_large"), std::string::npos) << r;
    EXPECT_TRUE(s.closed());
    EXPECT_EQ(health_status(server.port()), 200);
}

TEST_F(ServeLimitsTest, ChunkedBodyOverTheLimitIs413BeforeItIsSent) {
    ServeProcess server(*home_, {"--max-body-kb", "1"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    Socket s(server.port());
    ASSERT_TRUE(s.connected());
    // A chunk of 1 MiB is announced; not one byte of it is sent. The 413 must come from the announcement alone.
    ASSERT_TRUE(s.send("POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "100000\r\n"));
    const std::string r = s.read(std::chrono::seconds(30), "}");
    EXPECT_EQ(status_of(r), 413) << r;
    EXPECT_NE(r.find("--max-body-kb"), std::string::npos) << r;

    // Small chunks adding up past the limit are refused too (a chunked body is counted as it is decoded).
    Socket t(server.port());
    ASSERT_TRUE(t.connected());
    std::string chunks = "POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 40; ++i) chunks += "40\r\n" + std::string(64, 'x') + "\r\n";
    ASSERT_TRUE(t.send(chunks));
    EXPECT_EQ(status_of(t.read(std::chrono::seconds(30), "}")), 413);

    // And a chunked body within the limit is decoded and answered.
    Socket u(server.port());
    ASSERT_TRUE(u.connected());
    const std::string body = R"({"index": "notes", "query": "quick fox", "top_k": 1})";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", body.size() - 10);
    ASSERT_TRUE(u.send("POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n" +
                       std::string(size) + "\r\n" + body.substr(0, body.size() - 10) + "\r\na\r\n" +
                       body.substr(body.size() - 10) + "\r\n0\r\n\r\n"));
    const std::string ok = u.read(std::chrono::seconds(60));
    EXPECT_EQ(status_of(ok), 200) << ok;
    EXPECT_NE(ok.find("\"results\""), std::string::npos) << ok;
}

TEST_F(ServeLimitsTest, TheTokenIsCheckedBeforeTheBodyIsRead) {
    ServeProcess server(*home_, {"--token", "tok-for-tests"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    Socket s(server.port());
    ASSERT_TRUE(s.connected());
    // A body of 900 KB (under --max-body-kb) is announced but never sent: only a server that answers on the head
    // alone can reply.
    ASSERT_TRUE(s.send("POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 921600\r\n\r\n{\"index\""));
    const std::string r = s.read(std::chrono::seconds(30), "}}");
    EXPECT_EQ(status_of(r), 401) << r;
    EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;

    // With the token and Expect: 100-continue, the server invites the body, then answers it.
    Socket t(server.port());
    ASSERT_TRUE(t.connected());
    const std::string body = R"({"index": "notes", "query": "fox", "top_k": 1})";
    ASSERT_TRUE(t.send("POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer tok-for-tests\r\n"
                       "Expect: 100-continue\r\nConnection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n"));
    EXPECT_EQ(t.read(std::chrono::seconds(30), "\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_TRUE(t.send(body));
    EXPECT_EQ(status_of(t.read(std::chrono::seconds(60))), 200);
}

TEST_F(ServeLimitsTest, ASlowClientIsCutAtTheWholeRequestDeadlineWhileOthersAreAnswered) {
    ServeProcess server(*home_, {"--read-timeout-s", "1"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    Socket slow(server.port());
    ASSERT_TRUE(slow.connected());
    // One byte every 100 ms: each read comes well within any per-read timeout, but the whole request would take
    // 30+ s. The server must give up on it after about a second (408), while answering an honest client meanwhile.
    const std::string request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + std::string(300, 'p') +
                                "\r\n\r\n";
    size_t sent = 0;
    std::string answer;
    int honest = 0;
    const auto give_up = Clock::now() + std::chrono::seconds(60);
    while (sent < request.size() && Clock::now() < give_up) {
        if (!slow.send(request.substr(sent, 1))) break;  // the server closed the connection
        ++sent;
        if (sent == 3) honest = health_status(server.port());
        if (slow.readable(std::chrono::milliseconds(100))) {  // paces the trickle; ends early on an answer
            answer = slow.read(std::chrono::seconds(5));
            break;
        }
    }
    EXPECT_EQ(honest, 200) << "an honest client is answered while a slow one trickles";
    EXPECT_LT(sent, request.size()) << "the slow request was never cut";
    EXPECT_EQ(status_of(answer), 408) << answer;
    EXPECT_NE(answer.find("--read-timeout-s"), std::string::npos) << answer;
}

TEST_F(ServeLimitsTest, ConnectionsPastTheClientCapCloseTheLongestWaitingOnes) {
    // Connections become evictable after a tenth of --read-timeout-s (here 0.5 s) and are cut at 5 s.
    ServeProcess server(*home_, {"--max-client-connections", "4", "--read-timeout-s", "5"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    std::vector<std::unique_ptr<Socket>> idle;
    for (int i = 0; i < 4; ++i) {
        idle.push_back(std::make_unique<Socket>(server.port()));
        ASSERT_TRUE(idle.back()->connected());
        ASSERT_TRUE(idle.back()->send("GET /he"));  // half a request line, then silence
    }
    // A fifth connection from the same address is refused while the four are fresh, then served once the oldest
    // silent one may make room (retried until it is, within the silent ones' 5 s).
    int status = 0, refused = 0;
    for (int attempt = 0; attempt < 200 && status != 200; ++attempt) {
        Socket probe(server.port());
        ASSERT_TRUE(probe.connected());
        ASSERT_TRUE(probe.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
        const std::string r = probe.read(std::chrono::seconds(30));
        status = status_of(r);
        if (status == 503) {
            ++refused;
            EXPECT_NE(r.find("--max-client-connections"), std::string::npos) << r;
            idle.front()->readable(std::chrono::milliseconds(50));  // paces the retries
        }
    }
    EXPECT_EQ(status, 200) << refused << " refusals";
    EXPECT_EQ(idle.front()->read(std::chrono::seconds(30)), "");
    EXPECT_TRUE(idle.front()->closed());
    // The newest of the silent ones is still open (the 200 took only one slot).
    EXPECT_FALSE(idle.back()->readable(std::chrono::milliseconds(0)));
}

TEST_F(ServeLimitsTest, DeeplyNestedBodiesAreRefusedBeforeParsing) {
    ServeProcess server(*home_, {});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    for (const std::string& body : {std::string(500000, '['), "{\"index\": " + std::string(65, '{')}) {
        Socket s(server.port());
        ASSERT_TRUE(s.connected());
        ASSERT_TRUE(s.send("POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body));
        const std::string r = s.read(std::chrono::seconds(30));
        EXPECT_EQ(status_of(r), 400) << r.substr(0, 300);
        EXPECT_NE(r.find("nests deeper than 64 levels"), std::string::npos) << r.substr(0, 300);
    }
    // Brackets inside strings do not count.
    Socket s(server.port());
    ASSERT_TRUE(s.connected());
    const std::string body = R"({"index": "notes", "query": ")" + std::string(100, '[') + R"( fox", "top_k": 1})";
    ASSERT_TRUE(s.send("POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body));
    EXPECT_EQ(status_of(s.read(std::chrono::seconds(60))), 200);
}

TEST_F(ServeLimitsTest, PipelinedAndHeadRequestsAreAnsweredInOrder) {
    ServeProcess server(*home_, {});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    Socket s(server.port());
    ASSERT_TRUE(s.connected());
    ASSERT_TRUE(s.send("HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                       "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                       "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    const std::string r = s.read(std::chrono::seconds(30));
    const size_t second = r.find("HTTP/1.1 404");
    const size_t third = r.find("HTTP/1.1 200", 1);
    ASSERT_EQ(status_of(r), 200) << r;
    ASSERT_NE(second, std::string::npos) << r;
    ASSERT_NE(third, std::string::npos) << r;
    EXPECT_LT(second, third);
    EXPECT_EQ(r.substr(0, second).find("\"status\""), std::string::npos) << "HEAD carries no body";
    EXPECT_NE(r.find("\"status\"", third), std::string::npos);
    EXPECT_TRUE(s.closed());
}

}  // namespace
}  // namespace leann
