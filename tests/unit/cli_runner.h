// Runs the leann program (built next to the tests) through the shell and captures standard output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace leann::testing {

struct CliRun {
    int status;
    std::string out;
};

inline CliRun run_cli(const std::string& args) {
    const std::string command = std::string(LEANN_CLI_PATH) + " " + args;
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

}  // namespace leann::testing
