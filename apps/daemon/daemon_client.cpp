#include "daemon_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "daemon_paths.h"
#include "daemon_wire.h"
#include "leann/error.h"
#include "leann/log.h"

namespace leann::daemon {
namespace {

using nlohmann::json;

constexpr auto connect_deadline = std::chrono::seconds(1);
constexpr auto start_deadline = std::chrono::seconds(10);
// The first search of a fresh daemon loads the model and the index (seconds on a busy machine); a search that runs
// longer than this is left to finish there and run again in-process.
constexpr auto search_deadline = std::chrono::seconds(120);
constexpr auto stop_deadline = std::chrono::seconds(30);

void in_process(const std::string& why) {
    log(LogLevel::info, "searching in-process: " + why);
}

json request_base(std::string_view op) {
    return {{"protocol", protocol_version}, {"build", build_id()}, {"env", environment_fingerprint()}, {"op", op}};
}

// Starts `leann daemon run` detached (its own session, stdin /dev/null, stdout and stderr to the log) and waits
// until it listens. False (with `why`) when it did not come up: another daemon was starting at the same moment
// (it holds the lock), or it failed (the log says why).
bool start_daemon(const RuntimePaths& paths, std::string& why) {
    std::vector<std::string> args = {"leann", "daemon", "run", "--ready-fd", "3"};
    if (const char* idle = std::getenv("LEANN_DAEMON_IDLE_TIMEOUT"); idle != nullptr && *idle != '\0') {
        char* end = nullptr;
        const double seconds = std::strtod(idle, &end);
        if (end == idle || *end != '\0' || !(seconds > 0 && seconds <= 7 * 86400.0)) {
            why =
                "LEANN_DAEMON_IDLE_TIMEOUT must be a number of seconds in (0, 604800], not '" + std::string(idle) + "'";
            return false;
        }
        args.insert(args.end(), {"--idle-timeout", idle});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    Fd log_fd(::open(paths.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
    Fd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    int ready[2];
    if (!log_fd || !null_fd || ::pipe2(ready, O_CLOEXEC) != 0) {
        why = paths.log.string() + ": " + std::strerror(errno);
        return false;
    }
    Fd ready_read(ready[0]);
    // Above the standard descriptors, so the child's dup2 calls below cannot overwrite it.
    Fd ready_write(::fcntl(ready[1], F_DUPFD_CLOEXEC, 10));
    ::close(ready[1]);
    if (!ready_write) {
        why = std::string("fcntl: ") + std::strerror(errno);
        return false;
    }
    // A log that grew past 1 MiB starts over (the daemon writes a few lines per start and stop).
    if (::lseek(log_fd.get(), 0, SEEK_END) > (1 << 20) && ::ftruncate(log_fd.get(), 0) != 0) {
        // A log that cannot be cut keeps growing; the daemon runs all the same.
    }

    const pid_t child = ::fork();
    if (child < 0) {
        why = std::string("fork: ") + std::strerror(errno);
        return false;
    }
    if (child == 0) {
        // Only async-signal-safe calls from here to exec. A second fork leaves the daemon to init, so it is never
        // a zombie of this command, and setsid detaches it from the terminal.
        ::setsid();
        if (::fork() != 0) ::_exit(0);
        ::dup2(null_fd.get(), 0);
        ::dup2(log_fd.get(), 1);
        ::dup2(log_fd.get(), 2);
        ::dup2(ready_write.get(), 3);
        ::close_range(4, ~0U, 0);  // nothing of the command's (its stdout pipe above all) may stay open in the daemon
        if (::chdir("/") != 0) ::_exit(126);
        ::execv("/proc/self/exe", argv.data());
        ::_exit(127);
    }
    ready_write = Fd();
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    const auto deadline = Clock::now() + start_deadline;
    for (;;) {
        pollfd p{ready_read.get(), POLLIN, 0};
        const int left = int(std::max<long long>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
        const int n = ::poll(&p, 1, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            why = "the daemon did not start within " + std::to_string(start_deadline.count()) + " s";
            return false;
        }
        char byte = 0;
        const ssize_t got = ::read(ready_read.get(), &byte, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got == 1) return true;
        why = "the daemon did not start (another one may be starting; see " + paths.log.string() + ")";
        return false;
    }
}

// One request, one reply. nullopt (with `why`) when the exchange failed.
std::optional<json> exchange(const std::filesystem::path& socket, const json& request,
                             std::chrono::seconds reply_deadline, std::string& why) {
    auto fd = connect_to(socket, Clock::now() + connect_deadline, why);
    if (!fd) return std::nullopt;
    if (!write_frame(fd->get(), request, max_request_bytes, Clock::now() + connect_deadline, why)) return std::nullopt;
    auto reply = read_frame(fd->get(), max_response_bytes, Clock::now() + reply_deadline, why);
    if (reply) {
        const auto ok = reply->find("ok");
        if (ok == reply->end() || !ok->is_boolean()) {
            why = "the daemon's reply has no \"ok\"";
            return std::nullopt;
        }
    }
    return reply;
}

std::string refusal_text(const json& reply) {
    const auto message = reply.find("message");
    return message != reply.end() && message->is_string() ? message->get<std::string>() : "refused";
}

}  // namespace

std::optional<SearchResult> search(const SearchRequest& request) {
    RuntimePaths paths;
    bool present = false;
    try {
        paths = prepare_runtime_dir();
        present = trusted_socket_present(paths.socket);
    } catch (const std::exception& e) {
        in_process(std::string("the daemon's socket is not trusted: ") + e.what());
        return std::nullopt;
    }
    json message = request_base("search");
    message["index"] = request.index.string();
    message["model"] = request.model ? json(request.model->string()) : json(nullptr);
    message["precision"] = precision_name(request.precision);
    message["query"] = request.query;
    message["options"] = search_options_json(request.options);

    std::string why;
    std::optional<json> reply;
    if (present) reply = exchange(paths.socket, message, search_deadline, why);
    if (!reply) {
        // No daemon, or a dead one's socket: start one and ask it.
        if (present) log(LogLevel::info, "the daemon did not answer (" + why + "); starting a new one");
        if (!start_daemon(paths, why)) {
            in_process(why);
            return std::nullopt;
        }
        try {
            if (!trusted_socket_present(paths.socket)) throw Error(paths.socket.string() + ": missing");
        } catch (const std::exception& e) {
            in_process(e.what());
            return std::nullopt;
        }
        reply = exchange(paths.socket, message, search_deadline, why);
        if (!reply) {
            in_process("the daemon did not answer: " + why);
            return std::nullopt;
        }
    }
    if (!(*reply)["ok"].get<bool>()) {
        const auto kind = reply->find("refused");
        if (kind != reply->end() && *kind == "stale") {
            // A daemon of another build or environment: it goes, and the next search starts ours.
            std::string ignored;
            exchange(paths.socket, request_base("stop"), connect_deadline, ignored);
            in_process("the daemon is stale (" + refusal_text(*reply) + "); it was asked to stop");
        } else {
            in_process("the daemon refused: " + refusal_text(*reply));
        }
        return std::nullopt;
    }
    try {
        const auto result = reply->find("result");
        if (result == reply->end()) throw Error("the reply has no result");
        SearchResult r = search_result_from_json(*result, request.options.top_k);
        log(LogLevel::info, "served by the leann daemon (" + paths.socket.string() + ")");
        return r;
    } catch (const std::exception& e) {
        in_process(std::string("the daemon's reply is malformed: ") + e.what());
        return std::nullopt;
    }
}

std::optional<DaemonStatus> query_status(std::string& why) {
    try {
        const RuntimePaths paths = prepare_runtime_dir();
        if (!trusted_socket_present(paths.socket)) {
            why = "no socket at " + paths.socket.string();
            return std::nullopt;
        }
        const auto reply = exchange(paths.socket, request_base("status"), connect_deadline * 10, why);
        if (!reply) return std::nullopt;
        const auto status = reply->find("status");
        if (!(*reply)["ok"].get<bool>() || status == reply->end()) {
            why = refusal_text(*reply);
            return std::nullopt;
        }
        return status_from_json(*status);
    } catch (const std::exception& e) {
        why = e.what();
        return std::nullopt;
    }
}

std::optional<long> stop(std::string& why) {
    const auto status = query_status(why);
    if (!status) return std::nullopt;
    // A handle on the process before asking, so its exit is seen even if its pid is reused at once.
    Fd pidfd(int(::syscall(SYS_pidfd_open, pid_t(status->pid), 0)));
    const auto reply = exchange(runtime_paths().socket, request_base("stop"), connect_deadline * 10, why);
    if (!reply || !(*reply)["ok"].get<bool>()) {
        if (reply) why = refusal_text(*reply);
        return std::nullopt;
    }
    if (pidfd) {
        pollfd p{pidfd.get(), POLLIN, 0};
        int n;
        do {
            n = ::poll(&p, 1, int(std::chrono::milliseconds(stop_deadline).count()));
        } while (n < 0 && errno == EINTR);
        if (n == 0) {
            why = "the daemon (pid " + std::to_string(status->pid) + ") was asked to stop but still runs after " +
                  std::to_string(stop_deadline.count()) + " s";
            return std::nullopt;
        }
    }
    return status->pid;
}

}  // namespace leann::daemon
