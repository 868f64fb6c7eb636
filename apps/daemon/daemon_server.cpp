#include "daemon_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "daemon_paths.h"
#include "daemon_protocol.h"
#include "daemon_wire.h"
#include "leann/catalog.h"
#include "leann/error.h"

namespace leann::daemon {
namespace {

using nlohmann::json;

// A client sends its request at once; a search's answer is read at once. Slow peers are cut off.
constexpr auto request_deadline = std::chrono::seconds(10);
constexpr auto response_deadline = std::chrono::seconds(30);

volatile sig_atomic_t g_signalled = 0;
int g_wake_write_fd = -1;

void on_signal(int) {
    g_signalled = 1;
    if (g_wake_write_fd >= 0) {
        const char byte = 's';
        [[maybe_unused]] ssize_t n = ::write(g_wake_write_fd, &byte, 1);
    }
}

// One line to stderr (the log file when started by `leann search`), with the UTC time.
void note(const std::string& message) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::fprintf(stderr, "%s leann daemon[%ld]: %s\n", stamp, long(::getpid()), message.c_str());
    std::fflush(stderr);
}

std::string seconds_text(double seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", seconds);
    return buf;
}

uint64_t resident_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return uint64_t(std::strtoull(line.c_str() + 6, nullptr, 10)) * 1024;
    return 0;
}

json refusal(std::string_view kind, const std::string& message) {
    return {{"ok", false}, {"refused", kind}, {"message", message}};
}

class Server {
public:
    Server(const ServerOptions& options, RuntimePaths paths)
        : options_(options),
          paths_(std::move(paths)),
          build_(build_id()),
          env_(environment_fingerprint()),
          started_(Clock::now()),
          last_activity_(started_) {}

    int run(Fd listener);

private:
    void serve_connection(Fd fd);
    json handle(const json& request);
    json search(const json& request);
    DaemonStatus status() const;
    std::shared_ptr<Catalog> catalog_for(const std::optional<std::filesystem::path>& model, Precision precision);
    void wake() const {
        const char byte = 'w';
        [[maybe_unused]] ssize_t n = ::write(wake_write_.get(), &byte, 1);
    }

    ServerOptions options_;
    RuntimePaths paths_;
    std::string build_;
    std::string env_;
    Clock::time_point started_;
    Fd wake_read_, wake_write_;

    mutable std::mutex mutex_;  // guards the connection count, the idle clock and stopping_
    std::condition_variable done_;
    size_t active_ = 0;
    Clock::time_point last_activity_;
    bool stopping_ = false;

    std::atomic<uint64_t> served_{0}, refused_{0};

    struct CatalogSlot {
        std::shared_ptr<Catalog> catalog;
        uint64_t last_used = 0;
    };
    mutable std::mutex catalogs_mutex_;
    std::map<std::string, CatalogSlot> catalogs_;  // by model folder ("" = each index's recorded model) and precision
    uint64_t catalog_uses_ = 0;
};

std::shared_ptr<Catalog> Server::catalog_for(const std::optional<std::filesystem::path>& model, Precision precision) {
    const std::string key = (model ? model->string() : std::string()) + "\n" + precision_name(precision);
    std::lock_guard lock(catalogs_mutex_);
    auto it = catalogs_.find(key);
    if (it == catalogs_.end()) {
        if (catalogs_.size() >= options_.max_catalogs) {
            auto oldest = std::min_element(catalogs_.begin(), catalogs_.end(), [](const auto& a, const auto& b) {
                return a.second.last_used < b.second.last_used;
            });
            catalogs_.erase(oldest);  // searches holding it finish with it
        }
        CatalogOptions catalog_options;
        catalog_options.model_dir = model;
        catalog_options.encoder.threads = 0;  // every core, as a one-shot search without --threads
        catalog_options.encoder.precision = precision;
        catalog_options.precision_per_index = true;
        catalog_options.max_open_indexes = options_.max_open_indexes;
        it = catalogs_.emplace(key, CatalogSlot{std::make_shared<Catalog>(catalog_options), 0}).first;
    }
    it->second.last_used = ++catalog_uses_;
    return it->second.catalog;
}

json Server::search(const json& request) {
    auto text = [&](const char* key) -> std::string {
        auto it = request.find(key);
        if (it == request.end() || !it->is_string()) throw Error(std::string("request.") + key + ": expected a string");
        return it->get<std::string>();
    };
    const std::filesystem::path index_file = text("index");
    if (!index_file.is_absolute()) throw Error("request.index: expected an absolute path");
    std::optional<std::filesystem::path> model;
    if (auto it = request.find("model"); it != request.end() && !it->is_null()) {
        model = text("model");
        if (!model->is_absolute()) throw Error("request.model: expected an absolute path or null");
    }
    const Precision precision = parse_precision(text("precision"));
    const std::string query = text("query");
    auto options_it = request.find("options");
    if (options_it == request.end()) throw Error("request.options: missing");
    const SearchOptions options = search_options_from_json(*options_it);
    const auto index = catalog_for(model, precision)->open_file(index_file);
    const SearchResult result = index->search(query, options);
    return {{"ok", true}, {"result", search_result_json(result)}};
}

DaemonStatus Server::status() const {
    DaemonStatus s;
    s.pid = long(::getpid());
    s.uptime_s = std::chrono::duration<double>(Clock::now() - started_).count();
    s.idle_timeout_s = options_.idle_timeout_s;
    s.requests_served = served_.load();
    s.requests_refused = refused_.load();
    s.rss_bytes = resident_bytes();
    s.build = build_;
    s.socket = paths_.socket.string();
    std::lock_guard lock(catalogs_mutex_);
    for (const auto& [key, slot] : catalogs_) {
        const CatalogCounters c = slot.catalog->counters();
        s.model_loads += c.model_loads;
        s.index_opens += c.index_opens;
        for (auto& name : slot.catalog->open_names()) s.indexes.push_back(std::move(name));
    }
    std::sort(s.indexes.begin(), s.indexes.end());
    return s;
}

json Server::handle(const json& request) {
    const auto op = request.find("op");
    if (op == request.end() || !op->is_string()) return refusal("error", "request.op: expected a string");
    const auto protocol = request.find("protocol");
    if (protocol == request.end() || *protocol != protocol_version)
        return refusal("stale", "protocol version " + (protocol == request.end() ? "none" : protocol->dump()) +
                                    ", this daemon speaks " + std::to_string(protocol_version));
    // Status and stop are answered whatever build asks: they are how a newer leann finds and replaces this one.
    if (*op == "status") return {{"ok", true}, {"status", status_json(status())}};
    if (*op == "stop") {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake();
        return {{"ok", true}, {"pid", long(::getpid())}};
    }
    if (*op != "search") return refusal("error", "unknown op " + op->dump());
    const auto build = request.find("build");
    const auto env = request.find("env");
    if (build == request.end() || *build != build_) {
        ++refused_;
        return refusal("stale", "this daemon runs another build of leann (" + build_ + ")");
    }
    if (env == request.end() || *env != env_) {
        ++refused_;
        return refusal("stale",
                       "this daemon was started with another environment (leann home, cores or BLAS "
                       "settings)");
    }
    try {
        json reply = search(request);
        ++served_;
        return reply;
    } catch (const std::exception& e) {
        // The command searches in-process and reports the error itself, in its own words.
        ++refused_;
        return refusal("error", e.what());
    }
}

void Server::serve_connection(Fd fd) {
    std::string why;
    if (auto request = read_frame(fd.get(), max_request_bytes, Clock::now() + request_deadline, why)) {
        json reply;
        try {
            reply = handle(*request);
        } catch (const std::exception& e) {
            reply = refusal("error", e.what());
        }
        if (!write_frame(fd.get(), reply, max_response_bytes, Clock::now() + response_deadline, why)) {
            // A reply that cannot be sent (over the limit, not UTF-8): say so, the command searches in-process.
            const json fallback = refusal("error", "the reply could not be sent: " + why);
            write_frame(fd.get(), fallback, max_response_bytes, Clock::now() + response_deadline, why);
        }
    }
    fd = Fd();
    // The main loop recomputes its idle deadline once woken; waking under the lock, after the count went down,
    // means it sees the new count, and that the pipe is still open (the loop waits on this lock before it ends).
    std::lock_guard lock(mutex_);
    --active_;
    last_activity_ = Clock::now();
    wake();
    done_.notify_all();
}

int Server::run(Fd listener) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
    wake_read_ = Fd(pipe_fds[0]);
    wake_write_ = Fd(pipe_fds[1]);
    g_wake_write_fd = wake_write_.get();
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);

    const auto idle =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.idle_timeout_s));
    std::string reason = "idle for " + seconds_text(options_.idle_timeout_s);
    for (;;) {
        int timeout_ms = -1;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) {
                reason = "asked to stop";
                break;
            }
            if (active_ == 0) {
                const auto left = last_activity_ + idle - Clock::now();
                if (left <= Clock::duration::zero()) break;
                timeout_ms = int(std::min<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1, 1 << 30));
            }
        }
        pollfd fds[2] = {{listener.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
        const int n = ::poll(fds, 2, timeout_ms);
        if (n < 0 && errno != EINTR) throw Error(std::string("poll: ") + std::strerror(errno));
        if (g_signalled) {
            reason = "signalled";
            break;
        }
        if (n <= 0) continue;
        if (fds[1].revents != 0) {
            char buf[64];
            while (::read(wake_read_.get(), buf, sizeof buf) > 0) {
            }
        }
        if ((fds[0].revents & POLLIN) == 0) continue;
        Fd client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!client) continue;
        if (peer_uid(client.get()) != long(::getuid())) {
            ++refused_;
            continue;  // another user: closed without a word
        }
        std::lock_guard lock(mutex_);
        if (active_ >= options_.max_connections) {
            ++refused_;
            std::string why;
            write_frame(client.get(), refusal("busy", "too many searches at once"), max_response_bytes,
                        Clock::now() + std::chrono::milliseconds(100), why);
            continue;
        }
        ++active_;
        last_activity_ = Clock::now();
        try {
            std::thread(&Server::serve_connection, this, std::move(client)).detach();
        } catch (const std::system_error&) {
            --active_;  // no thread to be had: the connection closes and the command searches in-process
        }
    }
    // No new connections. The socket file is ours to remove: no other daemon binds one without the lock we hold.
    ::unlink(paths_.socket.c_str());
    listener = Fd();
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return active_ == 0; });
    note("exiting: " + reason + "; " + std::to_string(served_.load()) + " searches served");
    g_wake_write_fd = -1;
    return 0;
}

}  // namespace

int run_server(const ServerOptions& options) {
    const RuntimePaths paths = prepare_runtime_dir();
    auto signal_ready = [&](bool ok) {
        if (options.ready_fd < 0) return;
        if (ok) {
            const char byte = 'r';
            [[maybe_unused]] ssize_t n = ::write(options.ready_fd, &byte, 1);
        }
        ::close(options.ready_fd);
    };
    Fd lock(::open(paths.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!lock) throw Error(paths.lock.string() + ": " + std::strerror(errno));
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
        signal_ready(false);
        return 3;  // another daemon runs (or is starting): it serves
    }
    // We hold the lock, so a socket file left here belongs to a daemon that died: replace it.
    ::umask(077);
    ::unlink(paths.socket.c_str());
    Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listener) throw Error(std::string("socket: ") + std::strerror(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = paths.socket.string();
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);  // length checked by prepare_runtime_dir
    if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        throw Error(path + ": bind: " + std::strerror(errno));
    ::chmod(path.c_str(), 0600);
    if (::listen(listener.get(), 64) != 0) throw Error(path + ": listen: " + std::strerror(errno));
    note("listening on " + path + " (idle timeout " + seconds_text(options.idle_timeout_s) + ")");
    signal_ready(true);
    Server server(options, paths);
    return server.run(std::move(listener));
}

}  // namespace leann::daemon
