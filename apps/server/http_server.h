// `leann serve`'s HTTP server: binds, serves the Api on a pool of HTTP threads, and stops gracefully. The one
// file that includes httplib (slow to compile) is http_server.cpp.
#pragma once

#include <memory>
#include <string>

#include "http_routes.h"
#include "leann/catalog.h"

namespace leann::server {

struct ServeOptions {
    std::string host = "127.0.0.1";
    int port = 8080;            // 0: any free port (bind() says which)
    ApiConfig api;              // token, limits, default model
    bool log_requests = false;  // one line per request on stderr
};

/// Refuses (leann::Error) a non-loopback host without a token and a token that cannot travel in a header.
void check_serve_options(const ServeOptions& options);

class HttpServer {
public:
    /// Checks the options (check_serve_options) and sets up the routes; `catalog` must outlive the server.
    HttpServer(Catalog& catalog, ServeOptions options);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Binds the listening socket and returns its port. Throws leann::Error when the address cannot be bound.
    int bind();
    /// Serves until stop(); returns after the requests in flight are answered.
    void run();
    /// Stops accepting connections and makes run() return once the requests in flight are answered. Thread-safe,
    /// callable before run() starts; not async-signal-safe (call it from a thread that waited for the signal).
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace leann::server
