// The search daemon (`leann daemon run`): one process per user that keeps models and indexes loaded, with their
// caches of recomputed embeddings, for the one-shot `leann search` commands that connect to it.
//
// It takes the lock file (a second daemon exits at once), binds the socket in the runtime folder
// (daemon_paths.h), and answers each connection on its own thread (at most max_connections at once; more are
// answered "busy"). A search runs Index::search on indexes opened through a Catalog per (model folder,
// precision), which reopens an index whose file changed and reloads a model whose files changed. Requests from
// another build or environment are refused as "stale". It exits after idle_timeout with no request, on
// "stop", or on SIGTERM/SIGINT, removing its socket.
#pragma once

#include <cstddef>

namespace leann::daemon {

struct ServerOptions {
    double idle_timeout_s = 600;
    int ready_fd = -1;  // written one byte once the socket listens (or closed on failure), then closed
    size_t max_connections = 8;
    size_t max_catalogs = 4;      // distinct (model folder, precision) pairs held at once
    size_t max_open_indexes = 8;  // per catalog
};

/// Runs until idle, stopped or signalled; returns the process exit code (0; 3 when another daemon holds the lock).
/// Throws leann::Error when the runtime folder cannot be trusted or the socket cannot be bound.
int run_server(const ServerOptions& options);

}  // namespace leann::daemon
