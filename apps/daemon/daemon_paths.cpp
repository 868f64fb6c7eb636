#include "daemon_paths.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "leann/error.h"
#include "leann/model.h"
#include "leann/version.h"
#include "util/thread_pool.h"

extern char** environ;

namespace leann::daemon {
namespace {

std::string mode_text(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", unsigned(mode & 07777));
    return buf;
}

}  // namespace

RuntimePaths runtime_paths() {
    RuntimePaths p;
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    p.dir = xdg != nullptr && *xdg == '/' ? std::filesystem::path(xdg) / "leann" : leann_home() / "run";
    p.socket = p.dir / "daemon.sock";
    p.lock = p.dir / "daemon.lock";
    p.log = p.dir / "daemon.log";
    return p;
}

RuntimePaths prepare_runtime_dir() {
    RuntimePaths p = runtime_paths();
    if (p.socket.string().size() >= sizeof(sockaddr_un{}.sun_path))
        throw Error("the socket path " + p.socket.string() + " is longer than a Unix socket address allows (" +
                    std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)");
    std::error_code ec;
    std::filesystem::create_directories(p.dir.parent_path(), ec);  // $LEANN_HOME may not exist yet
    if (::mkdir(p.dir.c_str(), 0700) != 0 && errno != EEXIST)
        throw Error(p.dir.string() + ": cannot create the daemon's folder: " + std::strerror(errno));
    struct stat st;
    if (::lstat(p.dir.c_str(), &st) != 0) throw Error(p.dir.string() + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) throw Error(p.dir.string() + ": not a directory (a symlink or a file is not trusted)");
    if (st.st_uid != ::getuid())
        throw Error(p.dir.string() + ": owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                    std::to_string(::getuid()) + ")");
    if ((st.st_mode & 077) != 0)
        throw Error(p.dir.string() + ": mode " + mode_text(st.st_mode) +
                    " lets other users in; the daemon's folder must be 0700");
    return p;
}

bool trusted_socket_present(const std::filesystem::path& socket) {
    struct stat st;
    if (::lstat(socket.c_str(), &st) != 0) {
        if (errno == ENOENT) return false;
        throw Error(socket.string() + ": " + std::strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode)) throw Error(socket.string() + ": not a socket");
    if (st.st_uid != ::getuid())
        throw Error(socket.string() + ": owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                    std::to_string(::getuid()) + ")");
    if ((st.st_mode & 077) != 0)
        throw Error(socket.string() + ": mode " + mode_text(st.st_mode) + " lets other users connect; expected 0600");
    return true;
}

std::string build_id() {
    std::string id = "leann " + std::string(version());
    struct stat st;
    // /proc/self/exe names the file this process runs, even after it was replaced on disk.
    if (::stat("/proc/self/exe", &st) == 0)
        id += " exe " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
              ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    return id;
}

std::string environment_fingerprint() {
    std::vector<std::string> settings;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view var(*e);
        for (std::string_view prefix : {"OPENBLAS_", "GOTO_", "OMP_", "ONEDNN_", "DNNL_"})
            if (var.substr(0, prefix.size()) == prefix) settings.emplace_back(var);
    }
    std::sort(settings.begin(), settings.end());
    std::string fingerprint = "home=" + leann_home().string() + "\ncores=" + std::to_string(hardware_threads());
    for (const auto& s : settings) fingerprint += "\n" + s;
    return fingerprint;
}

bool disabled_by_environment() {
    const char* v = std::getenv("LEANN_NO_DAEMON");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

}  // namespace leann::daemon
