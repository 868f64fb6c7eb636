// `leann serve` end to end: the real program on a free port over a tiny-model index, driven with httplib's
// client. Every endpoint, every kind of bad request, tokens, the request queue, timeouts, client disconnects,
// concurrency and graceful shutdown.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "test_serve_support.h"

namespace leann {
namespace {

using nlohmann::json;
using testing::ServeHome;
using testing::ServeProcess;

httplib::Headers auth(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
}

json body_of(const httplib::Result& r) {
    if (!r) return json();
    return json::parse(r->body, nullptr, false);
}

// The error shape every failure must have; returns the code.
std::string error_code(const httplib::Result& r) {
    const json j = body_of(r);
    if (!j.is_object() || !j.contains("error") || !j["error"].contains("code") || !j["error"].contains("message"))
        return "<no error object in: " + (r ? r->body : std::string("no response")) + ">";
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    return j["error"]["code"];
}

// An embeddings request heavy enough for the tiny model to take a while (tens to hundreds of ms).
std::string heavy_embeddings_body(size_t texts = 2048) {
    json input = json::array();
    for (size_t i = 0; i < texts; ++i) {
        std::string t;
        for (int w = 0; w < 60; ++w) t += (w ? " " : "") + std::string(w % 3 ? "quick" : "fox");
        input.push_back(t + " " + std::to_string(i));
    }
    return json{{"input", input}}.dump();
}

class ServeApi : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        home_ = new ServeHome();
        server_ = new ServeProcess(*home_, {"--threads", "4"});
        ASSERT_GT(server_->port(), 0) << server_->stderr_text();
    }
    static void TearDownTestSuite() {
        delete server_;
        delete home_;
    }
    static httplib::Client client() {
        httplib::Client c("127.0.0.1", server_->port());
        c.set_read_timeout(30, 0);
        return c;
    }
    static httplib::Result search(const json& body) {
        return client().Post("/search", body.dump(), "application/json");
    }
    static inline ServeHome* home_ = nullptr;
    static inline ServeProcess* server_ = nullptr;
};

TEST_F(ServeApi, HealthReportsQueueAndLimits) {
    auto r = client().Get("/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    const json h = body_of(r);
    EXPECT_EQ(h["status"], "ok");
    EXPECT_EQ(h["auth"], false);
    EXPECT_EQ(h["queue"]["capacity"], 64);
    EXPECT_EQ(h["queue"]["workers"], 4);
    EXPECT_EQ(h["limits"]["max_top_k"], 1000);
    EXPECT_TRUE(h["encoders"].is_array());
}

TEST_F(ServeApi, ListsAndDescribesIndexes) {
    auto r = client().Get("/indexes");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json list = body_of(r);
    ASSERT_EQ(list["indexes"].size(), 1u) << r->body;
    EXPECT_EQ(list["indexes"][0]["name"], "notes");
    EXPECT_EQ(list["indexes"][0]["model"], "tiny");
    const size_t chunks = list["indexes"][0]["chunks"];
    EXPECT_GT(chunks, 12u);

    auto stats = client().Get("/indexes/notes");
    ASSERT_TRUE(stats);
    ASSERT_EQ(stats->status, 200) << stats->body;
    const json s = body_of(stats);
    EXPECT_EQ(s["name"], "notes");
    EXPECT_EQ(s["chunks"], chunks);
    EXPECT_EQ(s["config"]["model"]["name"], "tiny");
    EXPECT_FALSE(s["sections"].empty());

    auto missing = client().Get("/indexes/nope");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(error_code(missing), "index_not_found");
    auto escape = client().Get("/indexes/..%2F..%2Fetc");
    ASSERT_TRUE(escape);
    EXPECT_EQ(escape->status, 400);
    EXPECT_EQ(error_code(escape), "invalid_index_name");
}

TEST_F(ServeApi, SearchAnswersAsTheCliDoes) {
    auto r = search({{"index", "notes"}, {"query", "quick brown fox"}, {"top_k", 4}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json served = body_of(r);
    ASSERT_EQ(served["results"].size(), 4u);
    EXPECT_EQ(served["query"], "quick brown fox");
    for (const auto& hit : served["results"]) {
        EXPECT_TRUE(hit["source"].get<std::string>().ends_with(".md")) << hit;
        EXPECT_GE(hit["line"].get<int>(), 1);
    }
    EXPECT_GE(served["results"][0]["score"].get<double>(), served["results"][3]["score"].get<double>());
    EXPECT_GT(served["stats"]["recomputed"].get<int>(), 0);

    // The same query through `leann search --json`: the same hits, in the same order, with the same scores.
    const auto cli =
        home_->cli("search notes \"quick brown fox\" --top-k 4 --json --model " + home_->model_dir().string());
    ASSERT_EQ(cli.status, 0) << cli.out;
    const json local = json::parse(cli.out);
    ASSERT_EQ(local["results"].size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(served["results"][i]["id"], local["results"][i]["id"]);
        EXPECT_NEAR(served["results"][i]["score"].get<double>(), local["results"][i]["score"].get<double>(), 1e-4);
    }
    auto echoed = search({{"index", "notes"}, {"query", "lazy dog"}, {"query_id", "q7"}, {"top_k", 1}});
    ASSERT_TRUE(echoed);
    EXPECT_EQ(body_of(echoed)["query_id"], "q7");
}

TEST_F(ServeApi, BadSearchRequestsGetClearErrors) {
    struct Case {
        std::string body;
        int status;
        std::string code;
        std::string mention;  // the message must name this (the field, usually)
    };
    const std::vector<Case> cases = {
        {R"({"index": "notes", "query": )", 400, "invalid_json", "JSON"},
        {R"([1, 2])", 400, "invalid_request", "object"},
        {R"({"query": "fox"})", 400, "missing_field", "index"},
        {R"({"index": "notes"})", 400, "missing_field", "query"},
        {R"({"index": "notes", "query": "   "})", 400, "invalid_field", "query"},
        {"{\"index\": \"notes\", \"query\": \"fox \xff\xfe\"}", 400, "invalid_utf8", "UTF-8"},
        {R"({"index": "notes", "query": "fox", "top_k": 100000000})", 400, "invalid_field", "top_k"},
        {R"({"index": "notes", "query": "fox", "top_k": 0})", 400, "invalid_field", "top_k"},
        {R"({"index": "notes", "query": "fox", "top_k": -3})", 400, "invalid_field", "top_k"},
        {R"({"index": "notes", "query": "fox", "top_k": "5"})", 400, "invalid_field", "top_k"},
        {R"({"index": "notes", "query": "fox", "top_k": 2.5})", 400, "invalid_field", "top_k"},
        {R"({"index": "notes", "query": "fox", "complexity": 99999999})", 400, "invalid_field", "complexity"},
        {R"({"index": "notes", "query": "fox", "rerank": -1})", 400, "invalid_field", "rerank"},
        {R"({"index": "notes", "query": "fox", "topk": 3})", 400, "unknown_field", "topk"},
        {R"({"index": 7, "query": "fox"})", 400, "invalid_field", "index"},
        {R"({"index": "../x", "query": "fox"})", 400, "invalid_index_name", "../x"},
        {R"({"index": ".hidden", "query": "fox"})", 400, "invalid_index_name", ".hidden"},
        {R"({"index": "nope", "query": "fox"})", 404, "index_not_found", "nope"},
        {R"({"index": "notes", "query": "fox", "where": [1]})", 400, "invalid_filter", "where"},
        {R"({"index": "notes", "query": "fox", "where": {"year": {"$gtx": 1}}})", 400, "invalid_filter", "$gtx"},
        {R"({"index": "notes", "query": "fox", "path": "src/[ab"})", 400, "invalid_filter", "src/[ab"},
        {R"({"index": "notes", "query": "fox", "modified_after": "someday"})", 400, "invalid_filter", "modified_after"},
        // Checked against the index: a field no chunk has, a type it does not hold.
        {R"({"index": "notes", "query": "fox", "where": {"year": 2020}})", 400, "invalid_filter", "'year'"},
        {R"({"index": "notes", "query": "fox", "type": "pdf"})", 400, "invalid_filter", "pdf"},
    };
    for (const Case& c : cases) {
        auto r = client().Post("/search", c.body, "application/json");
        ASSERT_TRUE(r) << c.body;
        EXPECT_EQ(r->status, c.status) << c.body << " -> " << r->body;
        EXPECT_EQ(error_code(r), c.code) << c.body;
        EXPECT_NE(r->body.find(c.mention), std::string::npos) << c.body << " -> " << r->body;
    }
    // The largest allowed top_k is served (the index is smaller: every chunk comes back).
    auto most = search({{"index", "notes"}, {"query", "fox"}, {"top_k", 1000}});
    ASSERT_TRUE(most);
    EXPECT_EQ(most->status, 200) << most->body;
}

TEST_F(ServeApi, FiltersReturnTopKOfTheMatchingChunks) {
    // fox3.md's chunks only, however the ranking would mix the files; as many as asked when enough match.
    auto r = search({{"index", "notes"}, {"query", "lazy dog"}, {"top_k", 3}, {"path", "**/fox3.md"}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json body = json::parse(r->body);
    ASSERT_FALSE(body["results"].empty()) << r->body;
    for (const json& hit : body["results"])
        EXPECT_NE(hit["source"].get<std::string>().find("fox3.md"), std::string::npos) << hit;
    auto w = search({{"index", "notes"}, {"query", "lazy dog"}, {"top_k", 5},
                     {"where", {{"type", "markdown"}, {"start_line", {{"$gte", 1}}}}},
                     {"exclude_path", {"*fox1*.md", "*fox2.md"}}});
    ASSERT_TRUE(w);
    ASSERT_EQ(w->status, 200) << w->body;
    const json wb = json::parse(w->body);
    EXPECT_EQ(wb["results"].size(), 5u) << w->body;
    for (const json& hit : wb["results"]) {
        EXPECT_EQ(hit["source"].get<std::string>().find("fox1"), std::string::npos) << hit;
        EXPECT_EQ(hit["source"].get<std::string>().find("fox2.md"), std::string::npos) << hit;
    }
}

TEST_F(ServeApi, UnknownRoutesAndWrongMethods) {
    auto r = client().Get("/nope");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(error_code(r), "not_found");
    auto get_search = client().Get("/search");
    ASSERT_TRUE(get_search);
    EXPECT_EQ(get_search->status, 405);
    EXPECT_EQ(get_search->get_header_value("Allow"), "POST");
    EXPECT_EQ(error_code(get_search), "method_not_allowed");
    auto delete_indexes = client().Delete("/indexes/notes");
    ASSERT_TRUE(delete_indexes);
    EXPECT_EQ(delete_indexes->status, 405);
    auto post_health = client().Post("/health", "{}", "application/json");
    ASSERT_TRUE(post_health);
    EXPECT_EQ(post_health->status, 405);
    EXPECT_EQ(post_health->get_header_value("Allow"), "GET");
}

TEST_F(ServeApi, OversizedBodyIs413) {
    const std::string big(2 << 20, 'a');  // 2 MiB, over the 1 MiB default
    auto r = client().Post("/search", big, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(error_code(r), "payload_too_large");
    auto after = client().Get("/health");
    ASSERT_TRUE(after);
    EXPECT_EQ(after->status, 200);
}

TEST_F(ServeApi, EmbeddingsSpeakOpenAisFormat) {
    auto one = client().Post("/v1/embeddings", R"({"input": "the quick fox"})", "application/json");
    ASSERT_TRUE(one);
    ASSERT_EQ(one->status, 200) << one->body;
    const json a = body_of(one);
    EXPECT_EQ(a["object"], "list");
    EXPECT_EQ(a["model"], "tiny");
    ASSERT_EQ(a["data"].size(), 1u);
    EXPECT_EQ(a["data"][0]["object"], "embedding");
    EXPECT_EQ(a["data"][0]["index"], 0);
    const std::vector<float> v = a["data"][0]["embedding"];
    ASSERT_EQ(v.size(), 32u);
    double norm = 0;
    for (float x : v) norm += double(x) * x;
    EXPECT_NEAR(norm, 1.0, 1e-4);               // the tiny model normalises
    EXPECT_EQ(a["usage"]["prompt_tokens"], 5);  // [CLS] the quick fox [SEP]
    EXPECT_EQ(a["usage"]["total_tokens"], 5);

    auto many = client().Post("/v1/embeddings", R"({"input": ["lazy dog", "the quick fox", "graph"], "model": "tiny"})",
                              "application/json");
    ASSERT_TRUE(many);
    ASSERT_EQ(many->status, 200) << many->body;
    const json b = body_of(many);
    ASSERT_EQ(b["data"].size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(b["data"][i]["index"], i);
    const std::vector<float> same = b["data"][1]["embedding"];
    for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], same[i], 1e-5);

    // base64: little-endian float32, the same numbers.
    auto b64 = client().Post("/v1/embeddings", R"({"input": "the quick fox", "encoding_format": "base64"})",
                             "application/json");
    ASSERT_TRUE(b64);
    ASSERT_EQ(b64->status, 200) << b64->body;
    const std::string text = body_of(b64)["data"][0]["embedding"];
    std::string bytes;
    auto sextet = [](char c) -> uint32_t {
        const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        return uint32_t(alphabet.find(c));
    };
    for (size_t i = 0; i + 3 < text.size(); i += 4) {
        const uint32_t n = sextet(text[i]) << 18 | sextet(text[i + 1]) << 12 |
                           (text[i + 2] == '=' ? 0 : sextet(text[i + 2]) << 6) |
                           (text[i + 3] == '=' ? 0 : sextet(text[i + 3]));
        bytes += char(n >> 16);
        if (text[i + 2] != '=') bytes += char(n >> 8 & 255);
        if (text[i + 3] != '=') bytes += char(n & 255);
    }
    ASSERT_EQ(bytes.size(), 32 * sizeof(float));
    std::vector<float> decoded(32);
    std::memcpy(decoded.data(), bytes.data(), bytes.size());
    for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], decoded[i], 1e-6);

    const std::vector<std::pair<std::string, std::string>> bad = {
        {R"({"input": []})", "invalid_field"},
        {R"({"input": [1, 2, 3]})", "invalid_field"},
        {R"({"input": ""})", "invalid_field"},
        {R"({"model": "tiny"})", "missing_field"},
        {R"({"input": "fox", "encoding_format": "int8"})", "invalid_field"},
        {R"({"input": "fox", "dimensions": 16})", "invalid_field"},
        {R"({"input": "fox", "model": "../../etc"})", "invalid_field"},
    };
    for (const auto& [body, code] : bad) {
        auto r = client().Post("/v1/embeddings", body, "application/json");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400) << body << " -> " << r->body;
        EXPECT_EQ(error_code(r), code) << body;
    }
    auto other_model =
        client().Post("/v1/embeddings", R"({"input": "fox", "model": "text-embedding-3-small"})", "application/json");
    ASSERT_TRUE(other_model);
    EXPECT_EQ(other_model->status, 404);
    EXPECT_EQ(error_code(other_model), "model_not_found");
}

TEST_F(ServeApi, ServesThePageWithAStrictPolicy) {
    auto page = client().Get("/");
    ASSERT_TRUE(page);
    ASSERT_EQ(page->status, 200);
    EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(page->body.find("<title>leann search</title>"), std::string::npos);
    EXPECT_NE(page->get_header_value("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
    auto js = client().Get("/static/app.js");
    ASSERT_TRUE(js);
    EXPECT_EQ(js->status, 200);
    EXPECT_EQ(js->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_NE(js->body.find("sessionStorage"), std::string::npos);
    auto css = client().Get("/static/style.css");
    ASSERT_TRUE(css);
    EXPECT_EQ(css->status, 200);
    auto missing = client().Get("/static/../index.html");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
}

TEST_F(ServeApi, RefusesOtherSitesAndRebindingHosts) {
    auto foreign = client().Get("/indexes", {{"Origin", "http://evil.example"}});
    ASSERT_TRUE(foreign);
    EXPECT_EQ(foreign->status, 403);
    EXPECT_EQ(error_code(foreign), "forbidden_origin");
    const std::string self = "http://127.0.0.1:" + std::to_string(server_->port());
    auto same = client().Get("/indexes", {{"Origin", self}});
    ASSERT_TRUE(same);
    EXPECT_EQ(same->status, 200);
    auto rebinding = client().Get("/indexes", {{"Host", "attacker.example:" + std::to_string(server_->port())}});
    ASSERT_TRUE(rebinding);
    EXPECT_EQ(rebinding->status, 403);
    EXPECT_EQ(error_code(rebinding), "forbidden_host");
}

TEST_F(ServeApi, ConcurrentSearchesMatchSerialOnes) {
    const std::vector<std::string> queries = {"quick fox",   "lazy dog", "search index",    "graph over",
                                              "brown jumps", "the fox",  "index graph dog", "quick lazy search"};
    std::vector<json> serial;
    for (const auto& q : queries) {
        auto r = search({{"index", "notes"}, {"query", q}, {"top_k", 5}});
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 200) << r->body;
        serial.push_back(body_of(r)["results"]);
    }
    constexpr size_t threads_n = 8, rounds = 3;
    std::atomic<size_t> mismatches{0}, failures{0};
    std::vector<std::thread> threads;
    for (size_t t = 0; t < threads_n; ++t)
        threads.emplace_back([&, t] {
            auto c = client();
            for (size_t round = 0; round < rounds; ++round)
                for (size_t k = 0; k < queries.size(); ++k) {
                    const size_t q = (k + t) % queries.size();  // threads ask different queries at the same time
                    auto r = c.Post("/search", json{{"index", "notes"}, {"query", queries[q]}, {"top_k", 5}}.dump(),
                                    "application/json");
                    if (!r || r->status != 200) {
                        ++failures;
                        continue;
                    }
                    const json got = body_of(r)["results"];
                    bool same = got.size() == serial[q].size();
                    for (size_t i = 0; same && i < got.size(); ++i) {
                        const double score = serial[q][i]["score"].get<double>();
                        // Two hits whose scores differ by float noise may swap; anything else must not move.
                        const bool tied =
                            (i > 0 && std::abs(serial[q][i - 1]["score"].get<double>() - score) < 1e-5) ||
                            (i + 1 < got.size() && std::abs(serial[q][i + 1]["score"].get<double>() - score) < 1e-5);
                        same = (tied || got[i]["id"] == serial[q][i]["id"]) &&
                               std::abs(got[i]["score"].get<double>() - score) < 1e-4;
                    }
                    if (!same && mismatches++ == 0)
                        ADD_FAILURE() << "query '" << queries[q] << "'\nserial: " << serial[q].dump()
                                      << "\nconcurrent: " << got.dump();
                }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0u);
    EXPECT_EQ(mismatches.load(), 0u);
    const json h = body_of(client().Get("/health"));
    ASSERT_FALSE(h["encoders"].empty());
    EXPECT_GE(h["encoders"][0]["requests"].get<size_t>(), threads_n * rounds * queries.size());
}

// Opens a TCP connection to the server and sends `bytes`, then closes it without reading the answer.
void send_and_hang_up(int port, const std::string& bytes) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size()));
    ::close(fd);
}

TEST_F(ServeApi, ClientsHangingUpMidRequestDoNotHurtOthers) {
    const int port = server_->port();
    const std::string heavy = heavy_embeddings_body(512);
    for (int i = 0; i < 4; ++i) {
        // Half a body: the server waits for the rest, then sees the connection closed.
        send_and_hang_up(port,
                         "POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: 400\r\n\r\n{\"index\": \"notes\", \"qu");
        // A whole request, abandoned before the answer: the server computes it and fails to write.
        send_and_hang_up(port,
                         "POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: " +
                             std::to_string(heavy.size()) + "\r\n\r\n" + heavy);
        // Half a request line.
        send_and_hang_up(port, "GET /hea");
    }
    auto r = search({{"index", "notes"}, {"query", "quick fox"}, {"top_k", 2}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    auto h = client().Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
}

TEST(ServeSecurity, TokenGuardsEverythingButHealthAndThePage) {
    ServeHome home;
    const std::string token = "s3cret-token-for-tests";
    for (bool from_env : {false, true}) {
        ServeProcess server(home, from_env ? std::vector<std::string>{} : std::vector<std::string>{"--token", token},
                            from_env ? std::vector<std::string>{"LEANN_TOKEN=" + token} : std::vector<std::string>{});
        ASSERT_GT(server.port(), 0) << server.stderr_text();
        EXPECT_NE(server.stdout_text().find("token required"), std::string::npos);
        httplib::Client c("127.0.0.1", server.port());
        auto health = c.Get("/health");
        ASSERT_TRUE(health);
        EXPECT_EQ(health->status, 200);
        EXPECT_EQ(body_of(health)["auth"], true);
        auto page = c.Get("/");
        ASSERT_TRUE(page);
        EXPECT_EQ(page->status, 200);

        auto none = c.Get("/indexes");
        ASSERT_TRUE(none);
        EXPECT_EQ(none->status, 401);
        EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
        EXPECT_EQ(error_code(none), "unauthorized");
        for (const std::string& wrong :
             {token + "x", token.substr(0, token.size() - 1), std::string("nope"), std::string()}) {
            auto r = c.Post("/search", auth(wrong), R"({"index": "notes", "query": "fox"})", "application/json");
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 401) << "token '" << wrong << "'";
        }
        auto basic = c.Get("/indexes", {{"Authorization", "Basic " + token}});
        ASSERT_TRUE(basic);
        EXPECT_EQ(basic->status, 401);
        auto unknown_route = c.Get("/secret-route");  // no route list for strangers either
        ASSERT_TRUE(unknown_route);
        EXPECT_EQ(unknown_route->status, 401);

        auto ok =
            c.Post("/search", auth(token), R"({"index": "notes", "query": "fox", "top_k": 2})", "application/json");
        ASSERT_TRUE(ok);
        EXPECT_EQ(ok->status, 200) << ok->body;
        auto lower_scheme = c.Get("/indexes", {{"Authorization", "bearer " + token}});
        ASSERT_TRUE(lower_scheme);
        EXPECT_EQ(lower_scheme->status, 200);
    }
}

TEST(ServeSecurity, RefusesToListenBeyondLoopbackWithoutAToken) {
    ServeHome home;
    ServeProcess refused(home, {"--host", "0.0.0.0"});
    EXPECT_EQ(refused.port(), 0);
    EXPECT_EQ(refused.wait(std::chrono::seconds(20)), std::optional<int>(1));
    EXPECT_NE(refused.stderr_text().find("without a token"), std::string::npos) << refused.stderr_text();

    // With a token it listens, and (being reachable by name) accepts any Host header.
    ServeProcess allowed(home, {"--host", "0.0.0.0", "--token", "another-test-token"});
    ASSERT_GT(allowed.port(), 0) << allowed.stderr_text();
    httplib::Client c("127.0.0.1", allowed.port());
    auto r = c.Get("/indexes", {{"Authorization", "Bearer another-test-token"}, {"Host", "my-box.lan"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
}

TEST(ServeLimits, AFloodBeyondTheQueueIsShedWhileTheRestIsServed) {
    ServeHome home;
    ServeProcess server(home, {"--queue", "2", "--threads", "1"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    const std::string heavy = heavy_embeddings_body(1024);
    constexpr size_t clients = 16;
    std::vector<int> statuses(clients, 0);
    std::vector<std::string> retry_after(clients);
    std::vector<std::string> codes(clients);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < clients; ++i)
        threads.emplace_back([&, i] {
            httplib::Client c("127.0.0.1", server.port());
            c.set_read_timeout(60, 0);
            auto r = c.Post("/v1/embeddings", heavy, "application/json");
            if (!r) {
                codes[i] = httplib::to_string(r.error());
                return;
            }
            statuses[i] = r->status;
            retry_after[i] = r->get_header_value("Retry-After");
            if (r->status != 200) codes[i] = error_code(r);
        });
    for (auto& t : threads) t.join();
    size_t ok = 0, shed = 0;
    for (size_t i = 0; i < clients; ++i) {
        if (statuses[i] == 200) ++ok;
        if (statuses[i] == 503) {
            ++shed;
            EXPECT_EQ(retry_after[i], "1");
            EXPECT_EQ(codes[i], "overloaded");
        }
        EXPECT_TRUE(statuses[i] == 200 || statuses[i] == 503)
            << "client " << i << " got " << statuses[i] << " " << codes[i];
    }
    EXPECT_GE(ok, 1u);
    EXPECT_GE(shed, 1u);
    httplib::Client c("127.0.0.1", server.port());
    const json h = body_of(c.Get("/health"));
    EXPECT_EQ(h["queue"]["shed"].get<size_t>(), shed);
    EXPECT_EQ(h["queue"]["completed"].get<size_t>(), ok);
    auto after = c.Post("/search", R"({"index": "notes", "query": "fox", "top_k": 2})", "application/json");
    ASSERT_TRUE(after);
    EXPECT_EQ(after->status, 200);
}

TEST(ServeLimits, SlowRequestsTimeOutWith504AndSmallBodyLimitsHold) {
    ServeHome home;
    ServeProcess server(home, {"--timeout-s", "0.001", "--max-body-kb", "1"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    httplib::Client c("127.0.0.1", server.port());
    auto slow = c.Post("/v1/embeddings", heavy_embeddings_body(30), "application/json");
    ASSERT_TRUE(slow);
    EXPECT_EQ(slow->status, 413);  // 30 long texts are over 1 KiB
    auto timed_out =
        c.Post("/search", R"({"index": "notes", "query": "quick brown fox", "top_k": 5})", "application/json");
    ASSERT_TRUE(timed_out);
    EXPECT_EQ(timed_out->status, 504) << timed_out->body;
    EXPECT_EQ(error_code(timed_out), "timeout");
    const json h = body_of(c.Get("/health"));
    EXPECT_GE(h["queue"]["timed_out"].get<int>(), 1);
}

TEST(ServeLifecycle, SigtermFinishesRequestsInFlightAndExitsZero) {
    ServeHome home;
    ServeProcess server(home, {"--threads", "1", "-v"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    const std::string heavy = heavy_embeddings_body(2048);
    constexpr size_t clients = 3;
    std::vector<int> statuses(clients, 0);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < clients; ++i)
        threads.emplace_back([&, i] {
            httplib::Client c("127.0.0.1", server.port());
            c.set_read_timeout(60, 0);
            auto r = c.Post("/v1/embeddings", heavy, "application/json");
            statuses[i] = r ? r->status : -1;
        });
    // Wait until all three are admitted (one running, two queued behind the single worker), then stop.
    httplib::Client c("127.0.0.1", server.port());
    bool all_in = false;
    for (int i = 0; i < 2000 && !all_in; ++i) {
        const json h = body_of(c.Get("/health"));
        all_in =
            h.is_object() && h["queue"]["in_flight"].get<size_t>() + h["queue"]["completed"].get<size_t>() == clients;
    }
    ASSERT_TRUE(all_in);
    ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
    for (auto& t : threads) t.join();
    EXPECT_EQ(server.wait(std::chrono::seconds(30)), std::optional<int>(0)) << server.stderr_text();
    for (size_t i = 0; i < clients; ++i) EXPECT_EQ(statuses[i], 200) << "client " << i;
    const std::string log = server.stderr_text();
    EXPECT_NE(log.find("terminated, finishing the requests in flight"), std::string::npos) << log;
    EXPECT_NE(log.find("POST /v1/embeddings 200"), std::string::npos) << log;  // -v: one line per request
    httplib::Client gone("127.0.0.1", server.port());
    EXPECT_FALSE(gone.Get("/health"));  // no longer listening
}

}  // namespace
}  // namespace leann
