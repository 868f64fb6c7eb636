// Runs the leann program (built next to the tests) through the shell and captures standard output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <nlohmann/json.hpp>
#include <cstdio>
#include <string>

namespace leann::testing {

struct CliRun {
    int status;
    std::string out;
};

/// Runs a shell command line and captures its standard output.
inline CliRun run_shell(const std::string& command) {
    FILE* pipe = ::popen(command.c_str(), "r");
    CliRun result{-1, ""};
    if (pipe == nullptr) return result;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), n);
    const int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

/// `leann ARGS` (shell syntax: redirections allowed).
inline CliRun run_cli(const std::string& args) { return run_shell(std::string(LEANN_CLI_PATH) + " " + args); }

/// The last non-empty line of `out` parsed as JSON (the machine-readable summary commands print last);
/// a JSON null when it is not JSON.
inline nlohmann::json last_json_line(const std::string& out) {
    size_t end = out.find_last_not_of("\n");
    if (end == std::string::npos) return nullptr;
    const size_t begin = out.rfind('\n', end);
    const std::string line = out.substr(begin == std::string::npos ? 0 : begin + 1, end + 1 - (begin == std::string::npos ? 0 : begin + 1));
    auto j = nlohmann::json::parse(line, nullptr, false);
    return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

}  // namespace leann::testing
