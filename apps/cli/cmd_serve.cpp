// leann serve: the HTTP JSON API and the search page, with the models and indexes kept warm between requests.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <thread>

#include "args.h"
#include "commands.h"
#include "follow.h"
#include "interrupt.h"
#include "http_server.h"
#include "index_args.h"
#include "leann/catalog.h"
#include "leann/error.h"
#include "leann/log.h"
#include "leann/model.h"
#include "util/thread_pool.h"

namespace leann::cli {
namespace {

constexpr const char* serve_usage = R"(Usage: leann serve [options]

Serves the indexes under $LEANN_HOME/indexes over HTTP: a JSON API and a search page at /.
  POST /search          {"index", "query", "top_k"?, "complexity"?, "rerank"?}
  GET  /indexes         GET /indexes/NAME         GET /health
  POST /v1/embeddings   OpenAI's embeddings API over the local encoder
See docs/serve.md.

Options:
  --host H             address to listen on (default: 127.0.0.1); any address other than loopback
                       needs a token
  --port P             port (default: 8080; 0 picks a free one, printed at start)
  --token T            require "Authorization: Bearer T" on every request but GET /health and the page
                       (default: $LEANN_TOKEN; prefer the variable: arguments show in `ps`)
  --preload            open every index (and load its model) before listening
  --watch              keep every index current: follow its folders and update it as files change (as
                       `leann watch` does); searches switch to each new generation as it lands
  --model PATH         use this model folder for every index (must be the model they were built with)
  --threads N          requests worked on at once (default: max(4, cores))
  --encoder-threads N  threads of each encoder's forward pass (default: all cores)
  --precision P        encoder arithmetic: auto (default: this CPU's measured best), fp32, bf16, int8
  --cache N            recomputed embeddings kept per index, shared by all requests (default: 16384;
                       0: none)
  --queue N            requests admitted at once, running or waiting; more get 503 (default: 64)
  --timeout-s S        longest a request may take before it gets 504 (default: 30)
  --max-body-kb K      largest request body, in any transfer encoding (default: 1024)
  --max-header-kb K    largest request line + headers (default: 16)
  --read-timeout-s S   longest a client may take to send one whole request, however it trickles;
                       408 after (default: 10)
  --max-connections N  open connections in all (default: 512)
  --max-client-connections N
                       open connections from one client address (default: 64); past either cap the
                       connection that has been sending its request longest is closed
  -v                   log one line per request on stderr
)";

// The folder name of a model directory, as the Encoder names it ("/models/tiny/" -> "tiny").
std::string model_folder_name(const std::filesystem::path& dir) {
    return (dir / "").parent_path().filename().string();
}

// SIGINT/SIGTERM turned into bytes on a pipe that a normal thread reads: the handler may run on any thread (BLAS
// starts its own before main, so blocking the signals in our threads is not enough), and all it may safely do is
// write(2). The reading thread then stops the server like any other caller.
class StopSignals {
public:
    StopSignals() {
        if (::pipe2(fds_, O_CLOEXEC) != 0) throw Error("cannot create the signal pipe");
        write_fd_ = fds_[1];
        struct sigaction action {};
        action.sa_handler = [](int sig) {
            const int saved = errno;
            const unsigned char byte = static_cast<unsigned char>(sig);
            (void)!::write(write_fd_, &byte, 1);
            errno = saved;
        };
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        ::sigaction(SIGINT, &action, &old_int_);
        ::sigaction(SIGTERM, &action, &old_term_);
    }
    ~StopSignals() {
        ::sigaction(SIGINT, &old_int_, nullptr);
        ::sigaction(SIGTERM, &old_term_, nullptr);
        write_fd_ = -1;
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    /// Blocks until a signal arrives (returns its number) or finish() was called (returns 0).
    int wait() {
        unsigned char byte = 0;
        while (::read(fds_[0], &byte, 1) < 0 && errno == EINTR) {
        }
        return byte;
    }
    void finish() {
        const unsigned char zero = 0;
        (void)!::write(fds_[1], &zero, 1);
        (void)!::write(fds_[1], &zero, 1);  // the watcher may be waiting for a second signal by then
    }

private:
    static inline volatile int write_fd_ = -1;
    int fds_[2] = {-1, -1};
    struct sigaction old_int_ {
    }, old_term_{};
};

std::string url_host(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

int run_serve(const std::vector<std::string>& argv) {
    Args args(
        argv,
        {"host", "port", "token", "threads", "encoder-threads", "cache", "queue", "timeout-s", "max-body-kb", "model", "precision",
         "max-header-kb", "read-timeout-s", "max-connections", "max-client-connections"},
        {"help", "h", "preload", "watch"});
    if (args.has("help") || args.has("h")) {
        std::fputs(serve_usage, stdout);
        return 0;
    }
    if (!args.positionals().empty()) throw Error("leann serve takes no arguments (see --help)");

    server::ServeOptions options;
    options.host = args.get("host", "127.0.0.1");
    const size_t port = args.get_size("port", 8080);
    if (port > 65535) throw Error("--port must be between 0 and 65535");
    options.port = static_cast<int>(port);
    const char* env_token = std::getenv("LEANN_TOKEN");
    options.api.token = args.has("token") ? args.get("token") : (env_token ? env_token : "");
    if (args.has("token") && options.api.token.empty()) throw Error("--token is empty");
    options.api.limits.workers = args.get_size("threads", std::max<size_t>(4, hardware_threads()));
    options.api.limits.queue = args.get_size("queue", 64);
    options.api.limits.timeout_s = args.get_double("timeout-s", 30);
    const size_t body_kb = args.get_size("max-body-kb", 1024);
    if (body_kb > (size_t(1) << 22)) throw Error("--max-body-kb must be at most 4194304 (4 GiB)");
    options.api.limits.max_body_bytes = body_kb * 1024;
    const size_t header_kb = args.get_size("max-header-kb", 16);
    if (header_kb == 0 || header_kb > 1024) throw Error("--max-header-kb must be between 1 and 1024");
    options.api.limits.max_header_bytes = header_kb * 1024;
    options.api.limits.read_timeout_s = args.get_double("read-timeout-s", 10);
    options.api.limits.max_connections = args.get_size("max-connections", 512);
    options.api.limits.max_client_connections = args.get_size("max-client-connections", 64);
    options.log_requests = log_level() <= LogLevel::info;
    server::check_serve_options(options);  // before loading anything: a refused --host fails fast

    CatalogOptions catalog_options;
    catalog_options.encoder.threads = args.get_size("encoder-threads", 0);
    catalog_options.encoder.precision = precision_arg(args);
    if (args.has("cache")) catalog_options.cache_vectors = args.get_size("cache", 0);
    options.api.default_model = std::string(default_model_name);
    if (args.has("model")) {
        catalog_options.model_dir = resolve_model(args.get("model"));
        options.api.default_model = model_folder_name(*catalog_options.model_dir);
        options.api.model_override = true;
    }

    Catalog catalog(catalog_options);
    if (args.has("preload")) {
        for (const auto& [name, error] : catalog.preload())
            std::fprintf(stderr, "leann serve: index '%s' cannot be served: %s\n", name.c_str(), error.c_str());
    }
    server::HttpServer http(catalog, options);
    const int bound_port = http.bind();
    // From here on Ctrl-C means "stop serving" (before, while loading, it just ends the process).
    StopSignals stop_signals;
    std::printf("leann serve: listening on http://%s:%d/ (indexes in %s%s)\n", url_host(options.host).c_str(),
                bound_port, index_root().string().c_str(), options.api.token.empty() ? "" : "; token required");
    std::fflush(stdout);

    std::thread watcher([&] {
        const int sig = stop_signals.wait();
        if (sig == 0) return;  // the server ended by itself
        std::fprintf(stderr, "leann serve: %s, finishing the requests in flight\n",
                     sig == SIGINT ? "interrupted" : "terminated");
        http.stop();
        if (stop_signals.wait() != 0) {
            std::fputs("leann serve: second signal, exiting now\n", stderr);
            std::_Exit(130);
        }
    });
    // --watch: one follower per index; the catalog reopens an index when an update lands.
    std::atomic<bool> stopping{false};
    std::vector<std::thread> followers;
    if (args.has("watch")) {
        for (const IndexSummary& row : list_indexes()) {
            if (!row.error.empty()) continue;
            followers.emplace_back([&, row] {
                try {
                    FollowOptions follow;
                    follow.threads = 1;  // updates share the machine with the searches
                    follow.stop = [&] { return stopping.load(); };
                    follow.check = [&] {
                        if (stopping.load()) throw Interrupted();
                    };
                    follow.on_update = [name = row.name](const UpdateStats& u) {
                        if (!u.up_to_date)
                            std::fprintf(stderr, "leann serve: updated '%s': %zu chunks embedded, %zu removed, "
                                                 "generation %u, %.2fs\n",
                                         name.c_str(), u.embedded, u.chunks_removed, u.generation, u.seconds);
                    };
                    follow.on_message = [](const std::string& line) {
                        std::fprintf(stderr, "leann serve: %s\n", line.c_str());
                    };
                    follow_index(row.path, catalog.encoder(row.model), follow);
                } catch (const Interrupted&) {
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "leann serve: not following '%s': %s\n", row.name.c_str(), e.what());
                }
            });
        }
    }
    http.run();
    stopping = true;
    for (auto& t : followers) t.join();
    stop_signals.finish();
    watcher.join();
    return 0;
}

}  // namespace leann::cli
