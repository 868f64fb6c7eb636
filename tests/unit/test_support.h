// Helpers shared by the unit tests: where the test model lives.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace leann::testing {

/// The model the tests run against: $LEANN_TEST_MODEL_DIR, else $LEANN_HOME/models/all-MiniLM-L6-v2, else
/// ${XDG_DATA_HOME:-$HOME/.local/share}/leann/models/all-MiniLM-L6-v2. The folder may not exist: tests that need
/// it fail with model_missing_message() rather than skip.
inline std::filesystem::path default_model_dir() {
    const auto env = [](const char* name) -> std::string {
        const char* value = std::getenv(name);
        return value ? std::string(value) : std::string();
    };
    if (std::string dir = env("LEANN_TEST_MODEL_DIR"); !dir.empty()) return dir;
    if (std::string home = env("LEANN_HOME"); !home.empty())
        return std::filesystem::path(home) / "models" / "all-MiniLM-L6-v2";
    std::filesystem::path data = env("XDG_DATA_HOME");
    if (data.empty()) data = std::filesystem::path(env("HOME")) / ".local" / "share";
    return data / "leann" / "models" / "all-MiniLM-L6-v2";
}

inline std::string model_missing_message(const std::filesystem::path& dir) {
    return "the test model is not installed at " + dir.string() +
           ": run scripts/fetch_model.sh (or point LEANN_TEST_MODEL_DIR at a copy of all-MiniLM-L6-v2)";
}

}  // namespace leann::testing
