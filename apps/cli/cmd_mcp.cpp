// leann mcp: the Model Context Protocol server on stdin/stdout, for Claude Code and other MCP clients
// (docs/mcp.md). One process, one Catalog: each index is opened once and its model loaded once.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "index_args.h"
#include "leann/catalog.h"
#include "leann/error.h"
#include "leann/model.h"
#include "leann/version.h"
#include "mcp_server.h"

namespace leann::cli {
namespace {

constexpr const char* mcp_usage = R"(Usage: leann mcp [options]

Serves the indexes under $LEANN_HOME/indexes to an MCP client over stdio (JSON-RPC, one message per
line): tools leann_search, leann_list, leann_stats. Logs go to stderr. Ends when stdin closes.
Add it to Claude Code with:  claude mcp add leann -- leann mcp      (see docs/mcp.md)

Options:
  --model PATH     use this model folder for every index (must be the model they were built with)
  --threads N      encoder threads (default: all cores)
  --preload        open every index and load its model now, not on the first search
)";

}  // namespace

int run_mcp(const std::vector<std::string>& argv) {
    Args args(argv, {"model", "threads"}, {"help", "h", "preload"});
    if (args.has("help") || args.has("h")) {
        std::fputs(mcp_usage, stdout);
        return 0;
    }
    if (!args.positionals().empty()) throw Error("leann mcp takes no positional arguments (see leann mcp --help)");

    // stdout belongs to the protocol: keep a private handle on it and point fd 1 at stderr, so that a stray
    // print anywhere in the process lands in the log instead of corrupting the message stream.
    const int protocol_fd = ::dup(STDOUT_FILENO);
    if (protocol_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) throw Error("leann mcp: cannot set up stdout");
    FILE* protocol_out = ::fdopen(protocol_fd, "w");
    if (protocol_out == nullptr) throw Error("leann mcp: cannot open the protocol stream");
    // A client that exits without closing our stdin first must not kill us with SIGPIPE mid-write: the write
    // fails instead and we end normally.
    std::signal(SIGPIPE, SIG_IGN);
    std::ios_base::sync_with_stdio(false);  // std::cin reads in blocks instead of a getc per byte

    CatalogOptions options;
    options.encoder.threads = thread_arg(args);
    if (args.has("model")) options.model_dir = resolve_model(args.get("model"));
    Catalog catalog(options);
    if (args.has("preload"))
        for (const auto& [name, error] : catalog.preload())
            std::fprintf(stderr, "leann mcp: index %s cannot be used: %s\n", name.c_str(), error.c_str());
    std::fprintf(stderr, "leann mcp %s: serving the indexes in %s over stdio\n", std::string(version()).c_str(),
                 index_root().string().c_str());

    mcp::Server server(catalog);
    server.serve(std::cin, [&](std::string_view reply) {
        return std::fwrite(reply.data(), 1, reply.size(), protocol_out) == reply.size() &&
               std::fputc('\n', protocol_out) != EOF && std::fflush(protocol_out) == 0;
    });
    std::fclose(protocol_out);
    return 0;  // stdin closed (or the client went away): the normal end of an MCP stdio session
}

}  // namespace leann::cli
