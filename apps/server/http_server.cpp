#include "http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "http_auth.h"
#include "leann/error.h"

namespace leann::server {
namespace {

// Set when a request has been read, so the access log can say how long answering it took.
thread_local std::chrono::steady_clock::time_point request_started;

ApiRequest to_api_request(const httplib::Request& req) {
    ApiRequest a;
    a.method = req.method == "HEAD" ? "GET" : req.method;
    a.path = req.path;
    a.body = req.body;
    a.authorization = req.get_header_value("Authorization");
    a.host = req.get_header_value("Host");
    a.origin = req.get_header_value("Origin");
    return a;
}

void apply(const ApiResponse& r, httplib::Response& res) {
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
    bool cache_set = false;
    for (const auto& [name, value] : r.headers) {
        res.set_header(name.c_str(), value);
        cache_set = cache_set || name == "Cache-Control";
    }
    if (!cache_set) res.set_header("Cache-Control", "no-store");  // answers change with the index
    res.set_header("X-Content-Type-Options", "nosniff");
}

// The message for an error httplib produced itself, before any route saw the request.
std::string transport_error_message(int status, const Limits& limits) {
    switch (status) {
        case 413:
            return "the request body is larger than " + std::to_string(limits.max_body_bytes) +
                   " bytes (--max-body-kb)";
        case 414:
            return "the request line is too long";
        case 400:
            return "malformed HTTP request";
        default:
            return std::string(status_code_name(status));
    }
}

// httplib listens with a backlog of 5 (a compile-time constant of Debian's build): a burst of new connections
// beyond that would be dropped by the kernel before the server could even answer 503. Its listening socket is a
// protected member, so widen the backlog through a subclass (listen() again on a listening socket resizes it).
class Listener : public httplib::Server {
public:
    void widen_backlog() { ::listen(svr_sock_, SOMAXCONN); }
};

}  // namespace

void check_serve_options(const ServeOptions& options) {
    if (!options.api.token.empty()) check_token(options.api.token);
    if (options.api.token.empty() && !is_loopback_address(options.host))
        throw Error("refusing to listen on " + options.host +
                    " without a token: anyone who can reach it could query your indexes. Give --token T (or set "
                    "LEANN_TOKEN), or listen on 127.0.0.1");
    if (options.port < 0 || options.port > 65535) throw Error("--port must be between 0 and 65535");
    if (!(options.api.limits.timeout_s > 0)) throw Error("--timeout-s must be positive");
    if (options.api.limits.queue == 0) throw Error("--queue must be at least 1");
    if (options.api.limits.workers == 0) throw Error("--threads must be at least 1");
    if (options.api.limits.max_body_bytes == 0) throw Error("--max-body-kb must be at least 1");
}

struct HttpServer::Impl {
    Impl(Catalog& catalog, ServeOptions o) : options(std::move(o)), api(catalog, options.api) {}

    ServeOptions options;
    Api api;
    Listener http;
    std::mutex state_mutex;
    bool stop_requested = false;
    bool listening = false;  // run() is inside listen_after_bind()
};

HttpServer::HttpServer(Catalog& catalog, ServeOptions options) {
    check_serve_options(options);
    impl_ = std::make_unique<Impl>(catalog, std::move(options));
    Impl& s = *impl_;
    const Limits& limits = s.options.api.limits;

    // Enough HTTP threads that every admitted request and then some have one: requests past --queue must reach
    // the Api to be shed with a 503, rather than wait unseen in httplib's own unbounded connection queue.
    const size_t http_threads = std::min<size_t>(limits.queue + limits.workers + 4, 1024);
    s.http.new_task_queue = [http_threads] { return new httplib::ThreadPool(http_threads); };
    s.http.set_payload_max_length(limits.max_body_bytes);
    s.http.set_read_timeout(10, 0);  // a client that stops sending mid-request frees its thread after 10 s
    s.http.set_write_timeout(10, 0);
    s.http.set_keep_alive_max_count(1000);
    s.http.set_keep_alive_timeout(5);
    // Answers go out as headers then body; with Nagle's algorithm the body waits for the client's delayed ACK
    // (40 ms on Linux), which would dominate a warm search.
    s.http.set_tcp_nodelay(true);

    auto handler = [&s](const httplib::Request& req, httplib::Response& res) {
        apply(s.api.handle(to_api_request(req)), res);
    };
    // One catch-all route per method: the Api routes by itself, so it can tell 404 from 405 and answer both as JSON.
    s.http.Get(".*", handler);
    s.http.Post(".*", handler);
    s.http.Put(".*", handler);
    s.http.Patch(".*", handler);
    s.http.Delete(".*", handler);
    s.http.Options(".*", handler);

    s.http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
        request_started = std::chrono::steady_clock::now();
        return httplib::Server::HandlerResponse::Unhandled;
    });
    // Errors httplib raises itself (body over the limit, malformed request line) get the same JSON shape.
    s.http.set_error_handler(
        httplib::Server::HandlerWithResponse([&s](const httplib::Request&, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            apply(error_response(res.status, status_code_name(res.status),
                                 transport_error_message(res.status, s.options.api.limits)),
                  res);
            return httplib::Server::HandlerResponse::Handled;
        }));
    s.http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        apply(error_response(500, "internal_error", "the request failed"), res);
    });
    if (s.options.log_requests) {
        s.http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
            const double ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - request_started).count();
            std::fprintf(stderr, "%s %s %s %d %zuB %.1fms\n", req.remote_addr.c_str(), req.method.c_str(),
                         req.path.c_str(), res.status, res.body.size(), ms);
        });
    }
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
    Impl& s = *impl_;
    int port = s.options.port;
    if (port == 0) {
        port = s.http.bind_to_any_port(s.options.host);
        if (port < 0) port = 0;
    } else if (!s.http.bind_to_port(s.options.host, port)) {
        port = 0;
    }
    if (port == 0)
        throw Error("cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                    " (address in use, or not an address of this machine)");
    s.http.widen_backlog();
    return port;
}

void HttpServer::run() {
    Impl& s = *impl_;
    {
        std::lock_guard lock(s.state_mutex);
        if (s.stop_requested) return;
        s.listening = true;
    }
    s.http.listen_after_bind();
    std::lock_guard lock(s.state_mutex);
    s.listening = false;
}

void HttpServer::stop() {
    Impl& s = *impl_;
    std::unique_lock lock(s.state_mutex);
    s.stop_requested = true;
    // run() may be between setting `listening` and httplib marking itself running; httplib's stop() does nothing
    // before that, so wait for it (a few microseconds at most) rather than lose the stop.
    while (s.listening && !s.http.is_running()) {
        lock.unlock();
        std::this_thread::yield();
        lock.lock();
    }
    if (s.listening) s.http.stop();
}

}  // namespace leann::server
