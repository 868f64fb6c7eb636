// What a build read, recorded in the index (section SRCS): the settings that shape the chunks and every source
// file's size and modification time. Re-running `leann build` on an unchanged tree compares a fresh directory
// walk (no file is read) with it and stops early; otherwise it says what changed.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace leann::cli {

struct BuildManifest {
    nlohmann::json settings = nlohmann::json::object();
    std::map<std::string, std::pair<uint64_t, int64_t>> files;  // path -> (bytes, mtime_ns)

    std::string to_json() const;
    /// nullopt-like: an empty manifest (no files, no settings) when `text` is empty or not a manifest.
    static BuildManifest parse(const std::string& text);
};

struct ManifestDiff {
    bool settings_changed = false;
    size_t added = 0, removed = 0, changed = 0, unchanged = 0;
    bool same() const { return !settings_changed && added == 0 && removed == 0 && changed == 0; }
    std::string describe() const;  // "2 files changed, 1 added, 0 removed" / "the build settings changed"
};

ManifestDiff compare(const BuildManifest& before, const BuildManifest& now);

}  // namespace leann::cli
