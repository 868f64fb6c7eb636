// leann daemon status|stop (and run, the daemon itself, which `leann search` starts on first use).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "daemon_client.h"
#include "daemon_paths.h"
#include "daemon_server.h"
#include "index_args.h"
#include "leann/error.h"

namespace leann::cli {
namespace {

constexpr const char* daemon_usage = R"(Usage: leann daemon status [--json]
       leann daemon stop

The search daemon keeps models and indexes loaded between `leann search` commands (and the embeddings they
recomputed), so a repeated search skips the model load. The first `leann search` starts it; it exits after
10 minutes without a request. `leann search --no-daemon` or LEANN_NO_DAEMON=1 searches in-process instead.

  status    pid, uptime, searches served and refused, resident memory, the indexes it holds (exit status 3: none runs)
  stop      stop it (searches go on in-process until the next one starts it again)
  run       the daemon itself, in the foreground (--idle-timeout SECONDS, default 600); `leann search` starts
            it detached with LEANN_DAEMON_IDLE_TIMEOUT as its idle timeout when that is set

Its socket is $XDG_RUNTIME_DIR/leann/daemon.sock, or $LEANN_HOME/run/daemon.sock without XDG_RUNTIME_DIR; its
log is daemon.log next to it.
)";

int daemon_status(const Args& args) {
    std::string why;
    const auto status = daemon::query_status(why);
    const std::string socket = daemon::runtime_paths().socket.string();
    if (args.has("json")) {
        nlohmann::json out = status ? daemon::status_json(*status) : nlohmann::json{{"socket", socket}, {"why", why}};
        out["running"] = status.has_value();
        if (status) out["current_build"] = status->build == daemon::build_id();
        std::printf("%s\n", out.dump().c_str());
        return status ? 0 : 3;
    }
    if (!status) {
        std::printf("leann daemon: not running (%s)\n", why.c_str());
        return 3;
    }
    std::printf("leann daemon: running, pid %ld, up %s, idle timeout %s\n", status->pid,
                format_seconds(status->uptime_s).c_str(), format_seconds(status->idle_timeout_s).c_str());
    if (status->build != daemon::build_id())
        std::printf("  started by another build of leann (%s): the next search replaces it\n", status->build.c_str());
    std::printf("  socket:   %s\n", status->socket.c_str());
    std::printf("  searches: %llu served, %llu refused (searched in-process)\n",
                static_cast<unsigned long long>(status->requests_served),
                static_cast<unsigned long long>(status->requests_refused));
    std::printf("  memory:   %s resident; %llu model loads, %llu index opens\n",
                human_bytes(double(status->rss_bytes)).c_str(), static_cast<unsigned long long>(status->model_loads),
                static_cast<unsigned long long>(status->index_opens));
    std::printf("  indexes:  %zu open\n", status->indexes.size());
    for (const auto& index : status->indexes) std::printf("    %s\n", index.c_str());
    return 0;
}

}  // namespace

int run_daemon(const std::vector<std::string>& argv) {
    Args args(argv, {"idle-timeout", "ready-fd"}, {"help", "h", "json"});
    const auto& pos = args.positionals();
    if (args.has("help") || args.has("h") || pos.empty()) {
        std::fputs(daemon_usage, pos.empty() && !args.has("help") && !args.has("h") ? stderr : stdout);
        return pos.empty() && !args.has("help") && !args.has("h") ? 2 : 0;
    }
    if (pos.size() != 1) throw Error("leann daemon takes one of status, stop, run");
    if (pos[0] == "status") return daemon_status(args);
    if (pos[0] == "stop") {
        std::string why;
        if (!daemon::query_status(why)) {
            std::printf("leann daemon: not running (%s)\n", why.c_str());
            return 0;
        }
        const auto pid = daemon::stop(why);
        if (!pid) throw Error("the daemon did not stop: " + why);
        std::printf("leann daemon: stopped (pid %ld)\n", *pid);
        return 0;
    }
    if (pos[0] == "run") {
        daemon::ServerOptions options;
        options.idle_timeout_s = args.get_double("idle-timeout", options.idle_timeout_s);
        if (!(options.idle_timeout_s > 0 && options.idle_timeout_s <= 7 * 86400.0))
            throw Error("--idle-timeout must be a number of seconds in (0, 604800]");
        if (args.has("ready-fd")) options.ready_fd = int(args.get_size("ready-fd", 0));
        return daemon::run_server(options);
    }
    throw Error("unknown daemon command '" + pos[0] + "' (status, stop or run)");
}

}  // namespace leann::cli
