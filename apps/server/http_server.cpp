#include "http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http_auth.h"
#include "http_wire.h"
#include "leann/error.h"

// One I/O thread reads every connection (epoll, non-blocking) until it holds a whole request, checking the head
// (Origin, Host, token) before any body byte is read; only then does a request go to a pool thread, which answers
// it and hands the connection back. A slow or silent client therefore costs a socket and a bounded buffer, never
// a thread, and it is cut at its deadline (--read-timeout-s for the whole request, not per read).
namespace leann::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kKeepAliveIdle = std::chrono::seconds(5);   // an idle keep-alive connection is closed after this
constexpr auto kWriteDeadline = std::chrono::seconds(10);  // to send one whole answer
constexpr auto kDrainDeadline = std::chrono::seconds(2);   // to swallow an unread body after refusing it
constexpr size_t kDrainMaxBytes = 1 << 20;
constexpr size_t kMaxRequestsPerConnection = 1000;
constexpr size_t kReadBytes = 64 << 10;
constexpr int kSweepMs = 100;  // deadlines are checked this often

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

struct Connection {
    int fd = -1;
    std::string client;  // the peer's address, for per-client limits and the log
    RequestParser parser;
    std::string pending;  // bytes read but not parsed yet (a pipelined request while this one is answered)
    Clock::time_point since;     // when the current request (or the idle wait) began
    Clock::time_point deadline;  // when the I/O thread gives up on it
    bool head_checked = false;   // admit() passed for the current request
    bool busy = false;           // with a pool thread: the I/O thread does not touch it
    bool draining = false;       // answered and closing: reading and dropping what the client still sends
    size_t served = 0;
    size_t drained = 0;
    // Set by the I/O thread for the pool thread:
    ApiRequest request;
    std::optional<ApiResponse> ready;  // an answer decided without the routes (refusal, parse error)
    bool head_only = false;
    bool keep_alive = false;
    bool unread_body = false;  // bytes of this request may still be coming: drain before closing
    // Set by the pool thread:
    bool keep_open = false;
};

ApiRequest request_from_head(const RequestHead& head) {
    ApiRequest a;
    a.method = head.method == "HEAD" ? "GET" : head.method;
    a.path = head.path;
    a.authorization = std::string(head.header("authorization"));
    a.host = std::string(head.header("host"));
    a.origin = std::string(head.header("origin"));
    return a;
}

void finish_response(ApiResponse& r) {
    bool cache_set = false;
    for (const auto& [name, value] : r.headers) cache_set = cache_set || name == "Cache-Control";
    if (!cache_set) r.headers.emplace_back("Cache-Control", "no-store");  // answers change with the index
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
}

// Sends all of `bytes` before `deadline`; false when the client is gone or too slow.
bool send_all(int fd, std::string_view bytes, Clock::time_point deadline) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(size_t(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) return false;
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, int(std::min<long long>(left, 1000))) < 0 && errno != EINTR) return false;
            continue;
        }
        return false;
    }
    return true;
}

// A short answer from the I/O thread itself, without waiting: the socket's send buffer is empty at that point.
void send_now(int fd, const ApiResponse& r) {
    ApiResponse copy = r;
    finish_response(copy);
    const std::string bytes = serialize_response(copy, false, false);
    (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

std::string peer_address(const sockaddr_storage& addr) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, buf, sizeof buf);
    else if (addr.ss_family == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, buf, sizeof buf);
    return buf;
}

}  // namespace

void check_serve_options(const ServeOptions& options) {
    if (!options.api.token.empty()) check_token(options.api.token);
    if (options.api.token.empty() && !is_loopback_address(options.host))
        throw Error("refusing to listen on " + options.host +
                    " without a token: anyone who can reach it could query your indexes. Give --token T (or set "
                    "LEANN_TOKEN), or listen on 127.0.0.1");
    if (options.port < 0 || options.port > 65535) throw Error("--port must be between 0 and 65535");
    const Limits& l = options.api.limits;
    if (!(l.timeout_s > 0)) throw Error("--timeout-s must be positive");
    if (!(l.read_timeout_s > 0) || l.read_timeout_s > 3600) throw Error("--read-timeout-s must be in (0, 3600]");
    if (l.queue == 0) throw Error("--queue must be at least 1");
    if (l.workers == 0) throw Error("--threads must be at least 1");
    if (l.max_body_bytes == 0) throw Error("--max-body-kb must be at least 1");
    if (l.max_header_bytes < 1024) throw Error("--max-header-kb must be at least 1");
    if (l.max_connections == 0) throw Error("--max-connections must be at least 1");
    if (l.max_client_connections == 0) throw Error("--max-client-connections must be at least 1");
}

struct HttpServer::Impl {
    Impl(Catalog& catalog, ServeOptions o) : options(std::move(o)), api(catalog, options.api) {}
    ~Impl() {
        if (listen_fd >= 0) ::close(listen_fd);
        if (wake_fd >= 0) ::close(wake_fd);
    }

    ServeOptions options;
    Api api;
    int listen_fd = -1;
    int wake_fd = -1;  // eventfd: stop() and pool threads wake the I/O thread
    std::atomic<bool> stop_requested{false};

    // I/O thread only.
    int epoll_fd = -1;
    std::unordered_map<int, std::unique_ptr<Connection>> connections;
    std::unordered_map<std::string, size_t> per_client;
    size_t busy = 0;
    bool listener_paused = false;

    // Shared with the pool threads.
    std::mutex mutex;
    std::condition_variable work_ready;
    std::deque<Connection*> tasks;     // requests to answer
    std::deque<Connection*> returned;  // answered, back to the I/O thread
    bool pool_stop = false;

    void serve();
    void accept_all();
    bool make_room(const std::string& client);
    void on_readable(Connection& c);
    void advance(Connection& c);
    void dispatch(Connection& c);
    void on_returned(Connection* c);
    void sweep(Clock::time_point now);
    void watch(Connection& c);
    void close_connection(Connection& c);
    void pool_loop();
    void wake() {
        const uint64_t one = 1;
        (void)!::write(wake_fd, &one, sizeof one);
    }
};

HttpServer::HttpServer(Catalog& catalog, ServeOptions options) {
    check_serve_options(options);
    impl_ = std::make_unique<Impl>(catalog, std::move(options));
    impl_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (impl_->wake_fd < 0) throw Error(std::string("cannot create an eventfd: ") + std::strerror(errno));
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
    Impl& s = *impl_;
    const std::string where = s.options.host + ":" + std::to_string(s.options.port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(s.options.port);
    if (::getaddrinfo(s.options.host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr)
        throw Error("cannot listen on " + where + " (not an address of this machine)");
    int fd = -1;
    int last_errno = 0;
    for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        const int yes = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
            last_errno = errno;
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    if (fd < 0)
        throw Error("cannot listen on " + where + " (" +
                    (last_errno == EADDRINUSE ? std::string("address in use") : std::strerror(last_errno)) + ")");
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    const int bound_port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(bound).sin6_port)
                                                       : ntohs(reinterpret_cast<sockaddr_in&>(bound).sin_port);
    if (s.listen_fd >= 0) ::close(s.listen_fd);
    s.listen_fd = fd;
    return bound_port;
}

void HttpServer::run() {
    Impl& s = *impl_;
    if (s.listen_fd < 0) throw Error("HttpServer::run() before bind()");
    if (s.stop_requested) return;
    s.serve();
}

void HttpServer::stop() {
    impl_->stop_requested = true;
    impl_->wake();
}

void HttpServer::Impl::serve() {
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) throw Error(std::string("cannot create an epoll instance: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
    ev.data.fd = wake_fd;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);

    // Enough pool threads that every admitted request and then some have one: requests past --queue must reach
    // the Api to be shed with a 503 rather than wait unseen.
    const Limits& limits = options.api.limits;
    const size_t pool_size = std::min<size_t>(limits.queue + limits.workers + 4, 1024);
    {
        std::lock_guard lock(mutex);
        pool_stop = false;
    }
    std::vector<std::thread> pool;
    pool.reserve(pool_size);
    for (size_t i = 0; i < pool_size; ++i) pool.emplace_back([this] { pool_loop(); });

    std::vector<epoll_event> events(256);
    auto next_sweep = Clock::now();
    bool listening = true;
    for (;;) {
        if (stop_requested && listening) {
            // Stop taking connections; close the ones not being answered; finish the ones that are.
            ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
            ::close(listen_fd);
            listen_fd = -1;
            listening = false;
            std::vector<Connection*> idle;
            for (auto& [fd, c] : connections)
                if (!c->busy) idle.push_back(c.get());
            for (Connection* c : idle) close_connection(*c);
        }
        if (!listening && busy == 0) break;
        const int n = ::epoll_wait(epoll_fd, events.data(), int(events.size()), kSweepMs);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == listen_fd) {
                accept_all();
            } else if (fd == wake_fd) {
                uint64_t count;
                (void)!::read(wake_fd, &count, sizeof count);
                std::deque<Connection*> back;
                {
                    std::lock_guard lock(mutex);
                    back.swap(returned);
                }
                for (Connection* c : back) on_returned(c);
            } else if (auto it = connections.find(fd); it != connections.end() && !it->second->busy) {
                on_readable(*it->second);
            }
        }
        const auto now = Clock::now();
        if (now >= next_sweep) {
            sweep(now);
            next_sweep = now + std::chrono::milliseconds(kSweepMs);
        }
    }

    {
        std::lock_guard lock(mutex);
        pool_stop = true;
    }
    work_ready.notify_all();
    for (auto& t : pool) t.join();
    ::close(epoll_fd);
    epoll_fd = -1;
}

void HttpServer::Impl::accept_all() {
    for (;;) {
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // Out of descriptors: stop watching the listener until the next sweep (it would stay readable and
                // spin); the backlog holds new connections meanwhile.
                ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
                listener_paused = true;
            }
            return;
        }
        std::string client = peer_address(addr);
        if (!make_room(client)) {
            send_now(fd, error_response(503, "too_many_connections",
                                        "too many open connections (--max-connections, --max-client-connections)"));
            ::close(fd);
            continue;
        }
        const int yes = 1;
        // Answers go out as one write, but without this a keep-alive client's next request can wait for a delayed ACK.
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
        auto c = std::make_unique<Connection>();
        c->fd = fd;
        c->client = std::move(client);
        c->parser = RequestParser(WireLimits{options.api.limits.max_header_bytes, 100, options.api.limits.max_body_bytes});
        c->since = Clock::now();
        c->deadline = c->since + seconds(options.api.limits.read_timeout_s);  // its first request, however slowly
        ++per_client[c->client];
        Connection& ref = *c;
        connections.emplace(fd, std::move(c));
        watch(ref);
    }
}

// Past a connection limit the least useful connection of that scope goes: the one that has been sending its request
// longest (a trickling client), else the longest-idle keep-alive one. Connections being answered are never cut, nor
// ones younger than a tenth of --read-timeout-s: an attacker reconnecting as fast as it can must not be able to
// churn through the slots and push out a fresh honest connection before its request has even been read. With no
// such connection, the new one is refused (503).
bool HttpServer::Impl::make_room(const std::string& client) {
    const Limits& limits = options.api.limits;
    const auto evictable_before = Clock::now() - seconds(limits.read_timeout_s / 10);
    for (int scope = 0; scope < 2; ++scope) {
        const bool per_client_scope = scope == 0;
        const size_t open = per_client_scope ? (per_client.count(client) ? per_client[client] : 0) : connections.size();
        const size_t cap = per_client_scope ? limits.max_client_connections : limits.max_connections;
        if (open < cap) continue;
        Connection* victim = nullptr;
        bool victim_reading = false;
        for (auto& [fd, c] : connections) {
            if (c->busy || c->since > evictable_before || (per_client_scope && c->client != client)) continue;
            const bool reading = c->draining || c->parser.started() || c->served == 0;
            if (!victim || (reading && !victim_reading) || (reading == victim_reading && c->since < victim->since)) {
                victim = c.get();
                victim_reading = reading;
            }
        }
        if (!victim) return false;
        close_connection(*victim);
    }
    return true;
}

void HttpServer::Impl::watch(Connection& c) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = c.fd;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c.fd, &ev);
}

void HttpServer::Impl::close_connection(Connection& c) {
    const int fd = c.fd;
    if (!c.busy) ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    if (auto it = per_client.find(c.client); it != per_client.end() && --it->second == 0) per_client.erase(it);
    ::close(fd);
    connections.erase(fd);  // destroys c
}

void HttpServer::Impl::on_readable(Connection& c) {
    // One read per wake-up (level-triggered): a fast client cannot starve the others.
    char buf[kReadBytes];
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        close_connection(c);
        return;
    }
    if (c.draining) {
        c.drained += size_t(n);
        if (c.drained > kDrainMaxBytes) close_connection(c);
        return;
    }
    c.pending.append(buf, size_t(n));
    advance(c);
}

void HttpServer::Impl::advance(Connection& c) {
    const Limits& limits = options.api.limits;
    while (!c.pending.empty()) {
        const bool was_started = c.parser.started();
        const size_t used = c.parser.feed(c.pending);
        c.pending.erase(0, used);
        if (!was_started && c.parser.started()) {
            // The first byte of a request: from now on it has --read-timeout-s to arrive whole.
            c.since = Clock::now();
            c.deadline = c.since + seconds(limits.read_timeout_s);
        }
        const auto state = c.parser.state();
        if (state == RequestParser::State::error) {
            const int status = c.parser.error_status();
            c.ready = error_response(status, status_code_name(status), c.parser.error_message());
            c.keep_alive = false;
            c.unread_body = true;
            c.head_only = false;
            dispatch(c);
            return;
        }
        if (state == RequestParser::State::head) return;  // everything consumed; wait for more
        if (!c.head_checked) {
            c.request = request_from_head(c.parser.head());
            c.head_only = c.parser.head().method == "HEAD";
            c.keep_alive = c.parser.head().keep_alive;
            if (auto refused = api.admit(c.request)) {
                // Refused on its head: the body (if any) is never read.
                c.ready = std::move(*refused);
                c.keep_alive = false;
                c.unread_body = state == RequestParser::State::body;
                dispatch(c);
                return;
            }
            c.head_checked = true;
            if (state == RequestParser::State::body && c.parser.head().expect_continue)
                (void)!::send(c.fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        if (state == RequestParser::State::done) {
            c.request.body = c.parser.take_body();
            c.unread_body = false;
            dispatch(c);
            return;
        }
    }
}

void HttpServer::Impl::dispatch(Connection& c) {
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
    c.busy = true;
    ++busy;
    {
        std::lock_guard lock(mutex);
        tasks.push_back(&c);
    }
    work_ready.notify_one();
}

void HttpServer::Impl::pool_loop() {
    for (;;) {
        Connection* c = nullptr;
        {
            std::unique_lock lock(mutex);
            work_ready.wait(lock, [&] { return pool_stop || !tasks.empty(); });
            if (tasks.empty()) return;
            c = tasks.front();
            tasks.pop_front();
        }
        const auto started = Clock::now();
        ApiResponse response;
        try {
            response = c->ready ? std::move(*c->ready) : api.handle(c->request);
        } catch (...) {
            response = error_response(500, "internal_error", "the request failed");
        }
        finish_response(response);
        const bool keep = c->keep_alive && !stop_requested && c->served + 1 < kMaxRequestsPerConnection;
        const std::string bytes = serialize_response(response, keep, c->head_only);
        const bool sent = send_all(c->fd, bytes, Clock::now() + kWriteDeadline);
        if (options.log_requests) {
            const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
            std::fprintf(stderr, "%s %s %s %d %zuB %.1fms\n", c->client.c_str(),
                         c->parser.state() == RequestParser::State::error ? "-" : c->parser.head().method.c_str(),
                         c->request.path.c_str(), response.status, response.body.size(), ms);
        }
        c->keep_open = sent && keep;
        c->draining = sent && !keep && c->unread_body;
        {
            std::lock_guard lock(mutex);
            returned.push_back(c);
        }
        wake();
    }
}

void HttpServer::Impl::on_returned(Connection* c) {
    c->busy = false;
    --busy;
    ++c->served;
    c->ready.reset();
    c->request = ApiRequest{};
    c->head_checked = false;
    if (stop_requested || (!c->keep_open && !c->draining)) {
        close_connection(*c);
        return;
    }
    if (c->draining) {
        // Half-close so the client sees the answer, then swallow what it still sends for a moment: closing with
        // unread bytes would reset the connection and could destroy the answer in flight.
        ::shutdown(c->fd, SHUT_WR);
        c->pending.clear();
        c->since = Clock::now();
        c->deadline = c->since + kDrainDeadline;
        watch(*c);
        return;
    }
    c->parser.reset();
    c->since = Clock::now();
    c->deadline = c->since + kKeepAliveIdle;
    watch(*c);
    advance(*c);  // a pipelined request may already be here
}

void HttpServer::Impl::sweep(Clock::time_point now) {
    if (listener_paused && listen_fd >= 0) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = listen_fd;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
        listener_paused = false;
    }
    std::vector<Connection*> expired;
    for (auto& [fd, c] : connections)
        if (!c->busy && now >= c->deadline) expired.push_back(c.get());
    for (Connection* c : expired) {
        if (!c->draining && c->parser.started())
            send_now(c->fd, error_response(408, "request_timeout",
                                           "the request did not arrive whole within --read-timeout-s"));
        close_connection(*c);
    }
}

}  // namespace leann::server
