// leann: the command-line front end. Thin: parses arguments, calls the library, prints.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "embed/blas.h"
#include "interrupt.h"
#include "leann/error.h"
#include "leann/log.h"
#include "leann/version.h"

namespace {

constexpr const char* usage = R"(leann - local semantic search that stores no embeddings

Usage: leann <command> [options]

Commands:
  build NAME --docs PATH...  build an index from folders/files of text, Markdown, code, HTML, PDF, or JSONL
  watch NAME               keep an index current: follow its folders and update it as files change
  search NAME "query"      search an index (--top-k, --complexity, --json, --queries FILE; filters: --where,
                           --path, --exclude-path, --type, --lang, --modified-after/--modified-before);
                           served by a per-user daemon that keeps the model warm (--no-daemon: in-process)
  grep NAME PATTERN        regular-expression search over the stored passages, printed like ripgrep
                           (path:line:text; -F, -i, -S, -w, -A/-B/-C, -m, --json; the same filters)
  eval NAME --queries Q --qrels QRELS
                           retrieval quality on judged queries: nDCG@10, recall@k, MRR@10
  stats NAME               section sizes, bytes per chunk, build configuration
  verify NAME              check checksums and graph invariants (--recall N: recall vs exact search)
  list                     the indexes: chunks, size, model, created, sources
  remove NAME              delete an index (asks first; --yes)
  ask NAME ["question"]    answer from the index with an OpenAI-compatible LLM (interactive without a question)
  serve                    HTTP JSON API and a search page, model and indexes kept warm
  mcp                      Model Context Protocol server on stdio (for Claude Code and other MCP clients)
  daemon status|stop       the search daemon that `leann search` starts on first use
  embed [FILE]             embed texts (one per line, or JSONL with a "text" field) and print
                           one JSON line {"embedding": [...]} per text, or write a .npy file
  migrate chroma PATH      move a Chroma collection into an index (--collection, --to; verified, reported)
  compare chroma PATH --index NAME
                           size, recall@k against Chroma's results, and latency, side by side
                           (migrate and compare run the Python package: $LEANN_PYTHON or python3 with
                           the leann and chromadb packages)
  model list               list the models in the model cache
  model info NAME          show a model's dimensions, pooling, normalisation, max length,
                           parameter count and content hash

Global options:
  -h, --help               show this help (also: leann <command> --help)
  --version                print the version
  -v, --verbose            log progress to stderr

Indexes live in $LEANN_HOME/indexes/NAME (every NAME command also takes --index PATH instead);
models in $LEANN_HOME/models (LEANN_HOME defaults to ~/.local/share/leann);
install the default one with scripts/fetch_model.sh.
)";

}  // namespace

int main(int argc, char** argv) {
    // Before anything else: OpenBLAS's spinning threads would otherwise hold the second core while this command
    // waits for the daemon's answer (the daemon's encoder ran 1.4x slower beside them) or loads a model.
    leann::blas::stop_threads();
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<std::string> rest;
    for (const auto& a : args) {
        if (a == "-v" || a == "--verbose") {
            leann::set_log_level(leann::LogLevel::info);
        } else {
            rest.push_back(a);
        }
    }
    if (rest.empty() || rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help") {
        std::fputs(usage, rest.empty() ? stderr : stdout);
        return rest.empty() ? 2 : 0;
    }
    if (rest[0] == "--version" || rest[0] == "version") {
        std::printf("leann %.*s\n", static_cast<int>(leann::version().size()), leann::version().data());
        return 0;
    }
    const std::string command = rest[0];
    const std::vector<std::string> command_args(rest.begin() + 1, rest.end());
    try {
        if (command == "embed") return leann::cli::run_embed(command_args);
        if (command == "model") return leann::cli::run_model(command_args);
        if (command == "build") return leann::cli::run_build(command_args);
        if (command == "watch") return leann::cli::run_watch(command_args);
        if (command == "search") return leann::cli::run_search(command_args);
        if (command == "eval") return leann::cli::run_eval(command_args);
        if (command == "grep") return leann::cli::run_grep(command_args);
        if (command == "stats") return leann::cli::run_stats(command_args);
        if (command == "verify") return leann::cli::run_verify(command_args);
        if (command == "list") return leann::cli::run_list(command_args);
        if (command == "remove") return leann::cli::run_remove(command_args);
        if (command == "serve") return leann::cli::run_serve(command_args);
        if (command == "mcp") return leann::cli::run_mcp(command_args);
        if (command == "ask") return leann::cli::run_ask(command_args);
        if (command == "migrate") return leann::cli::run_migrate(command_args);
        if (command == "compare") return leann::cli::run_compare(command_args);
        if (command == "daemon") return leann::cli::run_daemon(command_args);
        std::fprintf(stderr, "leann: unknown command '%s' (see leann --help)\n", command.c_str());
        return 2;
    } catch (const leann::cli::Interrupted&) {
        std::fflush(stdout);
        std::fprintf(stderr, "leann %s: interrupted; nothing was written (an existing index is unchanged)\n",
                     command.c_str());
        return 130;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "leann %s: error: %s\n", command.c_str(), e.what());
        return command == "grep" ? 2 : 1;  // grep's 1 means "no match", as in grep and rg
    }
}
