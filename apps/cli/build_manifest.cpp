#include "build_manifest.h"

namespace leann::cli {

std::string BuildManifest::to_json() const {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& [path, stamp] : files) rows.push_back({path, stamp.first, stamp.second});
    return nlohmann::json{{"version", 1}, {"settings", settings}, {"files", std::move(rows)}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

BuildManifest BuildManifest::parse(const std::string& text) {
    BuildManifest m;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || j.value("version", 0) != 1) return m;
    if (auto s = j.find("settings"); s != j.end() && s->is_object()) m.settings = *s;
    if (auto f = j.find("files"); f != j.end() && f->is_array())
        for (const auto& row : *f)
            if (row.is_array() && row.size() == 3 && row[0].is_string() && row[1].is_number() && row[2].is_number())
                m.files[row[0].get<std::string>()] = {row[1].get<uint64_t>(), row[2].get<int64_t>()};
    return m;
}

std::string ManifestDiff::describe() const {
    if (settings_changed) return "the build settings changed";
    std::string out;
    auto part = [&](size_t n, const char* what) {
        if (n == 0) return;
        out += (out.empty() ? "" : ", ") + std::to_string(n) + (n == 1 ? " file " : " files ") + what;
    };
    part(changed, "changed");
    part(added, "added");
    part(removed, "removed");
    return out.empty() ? "nothing changed" : out;
}

ManifestDiff compare(const BuildManifest& before, const BuildManifest& now) {
    ManifestDiff d;
    d.settings_changed = before.settings != now.settings;
    for (const auto& [path, stamp] : now.files) {
        auto it = before.files.find(path);
        if (it == before.files.end())
            ++d.added;
        else if (it->second != stamp)
            ++d.changed;
        else
            ++d.unchanged;
    }
    for (const auto& [path, stamp] : before.files)
        if (now.files.count(path) == 0) ++d.removed;
    return d;
}

}  // namespace leann::cli
