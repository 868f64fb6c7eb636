// Where the search daemon lives and how a client knows it may trust what it finds there.
//
// The runtime folder is $XDG_RUNTIME_DIR/leann when XDG_RUNTIME_DIR is set, else $LEANN_HOME/run. It holds
// daemon.sock (the Unix socket), daemon.lock (held by the running daemon for its whole life, so only one
// binds) and daemon.log (the daemon's stderr). The folder must be a real directory (not a symlink) owned by this
// user with no group or other access; the socket must be a socket owned by this user, mode 0600 or stricter.
// Anything else is refused with an Error naming the path and what is wrong, and callers search in-process.
#pragma once

#include <filesystem>
#include <string>

namespace leann::daemon {

struct RuntimePaths {
    std::filesystem::path dir;
    std::filesystem::path socket;
    std::filesystem::path lock;
    std::filesystem::path log;
};

/// The runtime folder's paths (nothing is checked or created).
RuntimePaths runtime_paths();

/// Creates the runtime folder (0700) when missing and checks it as above; throws leann::Error otherwise, and
/// when the socket path is too long for a Unix socket address.
RuntimePaths prepare_runtime_dir();

/// False when nothing is at `socket`; true when a socket that this user may trust is there; throws leann::Error
/// for anything else (another owner, group or other access, not a socket).
bool trusted_socket_present(const std::filesystem::path& socket);

/// Identifies the program: the version and the executable file (device, inode, size, modification time), so a
/// daemon started by another build of leann is told apart from ours even at the same version.
std::string build_id();

/// What else decides results and must match between a client and the daemon: the leann home (models are
/// resolved there), the cores this process may use (encoder threads), and the BLAS / oneDNN / OpenMP settings.
std::string environment_fingerprint();

/// LEANN_NO_DAEMON set to anything but "" or "0".
bool disabled_by_environment();

}  // namespace leann::daemon
