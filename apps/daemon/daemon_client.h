// The command side of the daemon: `leann search` asks the daemon (starting it on first use) and gets nullopt
// whenever it should search in-process instead: no daemon can be started, the runtime folder or socket is not
// trusted, the daemon is of another build or environment (then it is asked to stop, and the next search starts
// a fresh one), it is busy, it answered an error, or it did not answer in time. The reason is logged at info
// level (shown with -v); nothing is printed otherwise.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "daemon_protocol.h"
#include "leann/encoder.h"
#include "leann/index.h"

namespace leann::daemon {

struct SearchRequest {
    std::filesystem::path index;                 // absolute index file
    std::optional<std::filesystem::path> model;  // absolute model folder (--model), or the index's recorded one
    Precision precision = Precision::automatic;
    std::string query;
    SearchOptions options;
};

/// The daemon's result for `request`, or nullopt: search in-process (see above).
std::optional<SearchResult> search(const SearchRequest& request);

/// The running daemon's status; nullopt (with `why`) when none answers.
std::optional<DaemonStatus> query_status(std::string& why);

/// Asks the running daemon to stop and waits for its process to exit (up to 30 s). Returns its pid, or nullopt
/// (with `why`) when none was running.
std::optional<long> stop(std::string& why);

}  // namespace leann::daemon
