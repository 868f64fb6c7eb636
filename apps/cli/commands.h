// The `leann` subcommands. Each takes the arguments after its name and returns the process exit code; errors
// are thrown as leann::Error and reported by main().
#pragma once

#include <string>
#include <vector>

namespace leann::cli {

int run_model(const std::vector<std::string>& args);
int run_embed(const std::vector<std::string>& args);
int run_build(const std::vector<std::string>& args);
int run_watch(const std::vector<std::string>& args);
int run_search(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_grep(const std::vector<std::string>& args);
int run_stats(const std::vector<std::string>& args);
int run_verify(const std::vector<std::string>& args);
int run_list(const std::vector<std::string>& args);
int run_remove(const std::vector<std::string>& args);
int run_serve(const std::vector<std::string>& args);
int run_mcp(const std::vector<std::string>& args);
int run_ask(const std::vector<std::string>& args);
int run_migrate(const std::vector<std::string>& args);  // cmd_python.cpp: runs the Python package
int run_compare(const std::vector<std::string>& args);
int run_daemon(const std::vector<std::string>& args);

}  // namespace leann::cli
