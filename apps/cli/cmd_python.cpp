// leann migrate / leann compare: commands that read a Chroma folder, which only the `chromadb` Python package can
// do. They run the Python package's modules (python -m leann.migrate / leann.compare) with the interpreter named
// by $LEANN_PYTHON, else `python3` on PATH, after checking that it has `leann` and `chromadb`: a missing piece is
// reported as one line saying what to install, never as a traceback.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "leann/error.h"

extern char** environ;

namespace leann::cli {
namespace {

constexpr const char* migrate_usage = R"(Usage: leann migrate chroma PATH [--collection NAME]
                     [--to NAME | --output FILE] [--model MODEL] [--json]

Migrates a Chroma collection (a chromadb persistent folder) to a LEANN index: ids, documents, metadata; Chroma's
stored embeddings are reused when they come from the index's model (checked on a sample), else every document is
embedded again. Verifies counts, ids, metadata and the top-10 overlap with Chroma's own results, and writes the
index under its name only when all of that passed.

  --collection NAME   the collection (default: the only one in the folder)
  --to NAME           the index name (default: the collection's name)
  --output FILE       an index file instead of a name
  --model MODEL       the embedding model (default: all-MiniLM-L6-v2, Chroma's default)
  --json              print the report as JSON

Runs the Python package (python -m leann.migrate) with $LEANN_PYTHON, else python3 on PATH; that Python needs
the leann and chromadb packages (pip install leann chromadb).
)";

constexpr const char* compare_usage = R"(Usage: leann compare chroma PATH --index NAME|PATH [--collection NAME]
                     [-k 10] [--queries N] [--json]

Compares a Chroma collection with a LEANN index of the same records (e.g. made by leann migrate), side by side:
size on disk, recall@k of the index's results against Chroma's own query results for sample queries (documents
of the collection, the same query embeddings on both sides), and p50/p95 query latency of each.

  --collection NAME   the collection (default: the only one in the folder)
  --index NAME|PATH   the LEANN index
  -k, --top-k K       results per query (default: 10)
  --queries N         sample queries (default: 50)
  --json              print the comparison as JSON

Runs the Python package (python -m leann.compare) with $LEANN_PYTHON, else python3 on PATH; that Python needs
the leann and chromadb packages (pip install leann chromadb).
)";

// Exits 0 when both packages import, 3 without leann, 4 without chromadb (the message on stderr).
constexpr const char* probe = R"(import importlib.util, sys
try:
    import leann
except Exception as error:
    print(error, file=sys.stderr)
    sys.exit(3)
sys.exit(0 if importlib.util.find_spec("chromadb") else 4))";

std::string python_interpreter() {
    const char* chosen = std::getenv("LEANN_PYTHON");
    return chosen != nullptr && *chosen != '\0' ? chosen : "python3";
}

// Runs `argv` (the first found on PATH when it has no '/'), with the terminal's Ctrl-C going to it alone: returns
// its exit status (128 + signal when a signal ended it), or -1 with errno when it could not be started.
int run_program(const std::vector<std::string>& argv, bool quiet) {
    std::vector<char*> pointers;
    for (const std::string& a : argv) pointers.push_back(const_cast<char*>(a.c_str()));
    pointers.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (quiet) posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);

    // The child decides what Ctrl-C means (Python removes its temporary files); this process waits for it.
    struct sigaction ignore = {};
    struct sigaction old_int = {};
    struct sigaction old_term = {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGTERM, &ignore, &old_term);
    pid_t pid = 0;
    const int spawned = posix_spawnp(&pid, pointers[0], &actions, &attributes, pointers.data(), environ);
    int status = 0;
    if (spawned == 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
        errno = spawned;
        return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

int run_python_module(const char* command, const char* module, const char* usage,
                      const std::vector<std::string>& args) {
    for (const std::string& a : args)
        if (a == "-h" || a == "--help") {
            std::fputs(usage, stdout);
            return 0;
        }
    if (args.empty() || args[0] != "chroma") {
        std::fprintf(stderr, "leann %s: expected 'chroma PATH' (the only source so far)\n\n%s", command, usage);
        return 2;
    }
    const std::string python = python_interpreter();
    const int checked = run_program({python, "-c", probe}, true);
    if (checked < 0) {
        std::fprintf(stderr,
                     "leann %s: cannot run Python '%s' (%s): this command needs Python 3 with the leann and chromadb "
                     "packages; install them (pip install leann chromadb) and set LEANN_PYTHON to that Python if it "
                     "is not python3 on PATH\n",
                     command, python.c_str(), std::strerror(errno));
        return 1;
    }
    if (checked == 3) {
        std::fprintf(stderr,
                     "leann %s: Python '%s' has no leann package (see the line above): install it into that "
                     "Python (pip install leann, or pip install . in this repository), or set LEANN_PYTHON to a "
                     "Python that has it\n",
                     command, python.c_str());
        return 1;
    }
    if (checked == 4) {
        std::fprintf(stderr,
                     "leann %s: Python '%s' has no chromadb package, which reads Chroma folders: install it into "
                     "that Python (pip install chromadb), or set LEANN_PYTHON to a Python that has it\n",
                     command, python.c_str());
        return 1;
    }
    if (checked != 0) {
        std::fprintf(stderr, "leann %s: Python '%s' failed to start (exit status %d)\n", command, python.c_str(),
                     checked);
        return 1;
    }
    std::vector<std::string> argv{python, "-m", module};
    argv.insert(argv.end(), args.begin(), args.end());
    const int status = run_program(argv, false);
    if (status < 0) throw Error("cannot run " + python + ": " + std::strerror(errno));
    return status;
}

}  // namespace

int run_migrate(const std::vector<std::string>& args) {
    return run_python_module("migrate", "leann.migrate", migrate_usage, args);
}

int run_compare(const std::vector<std::string>& args) {
    return run_python_module("compare", "leann.compare", compare_usage, args);
}

}  // namespace leann::cli
