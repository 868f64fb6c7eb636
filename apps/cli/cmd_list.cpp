// leann list / leann remove: the indexes under $LEANN_HOME/indexes.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "index_args.h"
#include "json_output.h"
#include "terminal_text.h"
#include "leann/catalog.h"
#include "leann/error.h"

namespace leann::cli {
namespace {

constexpr const char* list_usage = R"(Usage: leann list [--json]

The indexes in $LEANN_HOME/indexes: name, chunks, size on disk, model, when built, and the paths they were
built from. An index that cannot be opened is listed with the reason.
)";

constexpr const char* remove_usage = R"(Usage: leann remove NAME [--yes]

Deletes the index NAME from $LEANN_HOME/indexes (asks first on a terminal; --yes skips the question, and is
required when standard input is not a terminal).
)";

}  // namespace

int run_list(const std::vector<std::string>& argv) {
    Args args(argv, {}, {"help", "h", "json"});
    if (args.has("help") || args.has("h")) {
        std::fputs(list_usage, stdout);
        return 0;
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const IndexSummary& row : list_indexes()) rows.push_back(apps::summary_json(row));
    if (args.has("json")) {
        std::printf("%s\n", rows.dump(2).c_str());
        return 0;
    }
    if (rows.empty()) {
        std::printf("no indexes in %s (build one with: leann build NAME --docs PATH)\n", index_root().c_str());
        return 0;
    }
    std::printf("%-20s %8s %10s  %-20s %-20s  %s\n", "NAME", "CHUNKS", "SIZE", "MODEL", "CREATED", "SOURCES");
    for (const auto& r : rows) {
        if (r.contains("error")) {
            std::printf("%-20s  unreadable: %s\n", apps::escape_controls(r["name"].get<std::string>()).c_str(),
                        apps::escape_controls(r["error"].get<std::string>()).c_str());
            continue;
        }
        std::string sources;
        for (const auto& s : r["sources"]) sources += (sources.empty() ? "" : " ") + s.get<std::string>();
        // Everything here but the counts was read from index files: control characters are shown escaped.
        std::printf("%-20s %8zu %10s  %-20s %-20s  %s\n", apps::escape_controls(r["name"].get<std::string>()).c_str(),
                    r["chunks"].get<size_t>(), human_bytes(r["bytes"].get<double>()).c_str(),
                    apps::escape_controls(r["model"].get<std::string>()).c_str(),
                    apps::escape_controls(r["created"].get<std::string>()).c_str(),
                    apps::escape_controls(sources).c_str());
    }
    return 0;
}

int run_remove(const std::vector<std::string>& argv) {
    Args args(argv, {}, {"help", "h", "yes", "y"});
    if (args.has("help") || args.has("h")) {
        std::fputs(remove_usage, stdout);
        return 0;
    }
    if (args.positionals().size() != 1) throw Error("give the NAME of one index to remove");
    const std::string& name = args.positionals()[0];
    const std::filesystem::path file = index_path_for_name(name);  // validates the name: no escaping the folder
    const std::filesystem::path dir = file.parent_path();
    if (!std::filesystem::exists(file)) throw Error("no index named '" + name + "' in " + index_root().string());
    if (!args.has("yes") && !args.has("y")) {
        if (!isatty(STDIN_FILENO)) throw Error("refusing to remove '" + name + "' without --yes (not a terminal)");
        std::fprintf(stderr, "Remove index '%s' (%s, %s)? [y/N] ", name.c_str(), dir.c_str(),
                     human_bytes(double(std::filesystem::file_size(file))).c_str());
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes") {
            std::fprintf(stderr, "kept\n");
            return 1;
        }
    }
    std::filesystem::remove_all(dir);
    std::fprintf(stderr, "removed %s\n", dir.c_str());
    return 0;
}

}  // namespace leann::cli
