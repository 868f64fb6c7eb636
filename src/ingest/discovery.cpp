// ingest room: the folder walk behind `leann build --docs`. POSIX calls (not std::filesystem iterators) so that
// every failing entry turns into a SkippedPath with errno's reason instead of aborting the walk.
#include "ingest/discovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "ingest/ignore_rules.h"

namespace leann::ingest {

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 3> vcs_folders = {".git", ".hg", ".svn"};
constexpr std::array<std::string_view, 12> output_folders = {"node_modules", "__pycache__",   ".venv",  "venv",
                                                             "build",        "dist",          "target", ".tox",
                                                             ".mypy_cache",  ".pytest_cache", ".cache", "CMakeFiles"};

bool is_skipped_folder_name(std::string_view name) {
    return std::find(vcs_folders.begin(), vcs_folders.end(), name) != vcs_folders.end() ||
           std::find(output_folders.begin(), output_folders.end(), name) != output_folders.end();
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// The extension as std::filesystem sees it: ".bashrc" has none, "a.tar.gz" has "gz".
std::string extension_of(std::string_view name) {
    const size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return {};
    return lower(name.substr(dot + 1));
}

int64_t mtime_ns_of(const struct stat& st) {
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + static_cast<int64_t>(st.st_mtim.tv_nsec);
}

std::string errno_reason(const char* what, int err) {
    return std::string(what) + ": " + std::strerror(err);
}

// One ignore file in force while walking below its folder.
struct ScopedRules {
    size_t prefix_size;  // length of the folder's relative path plus its '/' ("" for the root)
    IgnoreRules rules;
};

class Walker {
public:
    Walker(const DiscoveryOptions& options, std::vector<DiscoveredFile>& found, std::vector<SkippedPath>& skipped)
        : options_(options), found_(found), skipped_(skipped) {
        for (const auto& glob : options.include) {
            if (GlobPattern p = parse_glob(glob); !p.glob.empty()) include_.push_back(std::move(p));
        }
        for (const auto& glob : options.exclude) {
            if (GlobPattern p = parse_glob(glob); !p.glob.empty()) exclude_.push_back(std::move(p));
        }
        for (const auto& type : options.file_types) {
            std::string_view t = type;
            if (t.starts_with('.')) t.remove_prefix(1);  // tolerate ".md"
            if (!t.empty()) file_types_.push_back(lower(t));
        }
        for (const auto& folder : options.skip_folders) {
            struct stat st {};
            if (::stat(folder.c_str(), &st) == 0) skip_folders_.insert({st.st_dev, st.st_ino});
        }
    }

    void walk_root(const fs::path& root) {
        struct stat st {};
        if (::stat(root.c_str(), &st) != 0) {
            const int err = errno;
            struct stat link {};
            const bool dangling = ::lstat(root.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
            skip(root, dangling ? errno_reason("broken symlink", err) : errno_reason("cannot open root", err));
            return;
        }
        if (S_ISDIR(st.st_mode)) {
            if (!visited_.insert({st.st_dev, st.st_ino}).second) {
                skip(root, "folder already walked (given twice, or reached from another root)");
                return;
            }
            rules_.clear();
            walk_folder(root, "");
            return;
        }
        // The user named this file: no hidden/ignore/glob filters, only what makes it unreadable or too big.
        take_file(root, root.filename().string(), st);
    }

private:
    void skip(const fs::path& path, std::string reason) { skipped_.push_back({path, std::move(reason)}); }

    // The verdict of the ignore files in force, deepest first, as git does.
    bool ignored_by_rules(const std::string& relative, bool is_dir) const {
        for (auto it = rules_.rbegin(); it != rules_.rend(); ++it) {
            if (auto verdict = it->rules.match(std::string_view(relative).substr(it->prefix_size), is_dir)) {
                return *verdict;
            }
        }
        return false;
    }

    bool excluded(const std::string& relative, bool is_dir) const {
        return std::any_of(exclude_.begin(), exclude_.end(),
                           [&](const GlobPattern& p) { return p.matches(relative, is_dir); });
    }

    bool wanted_file(const std::string& relative, std::string_view name) const {
        if (!include_.empty() && std::none_of(include_.begin(), include_.end(),
                                              [&](const GlobPattern& p) { return p.matches(relative, false); })) {
            return false;
        }
        if (!file_types_.empty() &&
            std::find(file_types_.begin(), file_types_.end(), extension_of(name)) == file_types_.end()) {
            return false;
        }
        return true;
    }

    void load_rules(const fs::path& folder, size_t prefix_size, const char* file_name) {
        const fs::path path = folder / file_name;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;  // absent: the common case
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            skip(path, errno_reason("cannot read ignore file", errno));
            return;
        }
        std::ostringstream text;
        text << in.rdbuf();
        IgnoreRules rules = IgnoreRules::parse(text.str());
        if (!rules.empty()) rules_.push_back({prefix_size, std::move(rules)});
    }

    void walk_folder(const fs::path& folder, const std::string& relative) {
        DIR* dir = ::opendir(folder.c_str());
        if (dir == nullptr) {
            skip(folder, errno_reason("cannot open folder", errno));
            return;
        }
        std::vector<std::string> names;
        errno = 0;
        while (const dirent* entry = ::readdir(dir)) {
            std::string_view name = entry->d_name;
            if (name != "." && name != "..") names.emplace_back(name);
            errno = 0;
        }
        const int read_err = errno;
        ::closedir(dir);
        if (read_err != 0) skip(folder, errno_reason("error while listing folder", read_err));
        std::sort(names.begin(), names.end());

        const size_t rules_before = rules_.size();
        const size_t prefix_size = relative.empty() ? 0 : relative.size() + 1;
        load_rules(folder, prefix_size, ".gitignore");
        load_rules(folder, prefix_size, ".leannignore");  // after: wins over the .gitignore beside it
        for (const std::string& name : names) {
            visit(folder / name, relative.empty() ? name : relative + "/" + name, name);
        }
        rules_.resize(rules_before);
    }

    void visit(const fs::path& path, const std::string& relative, const std::string& name) {
        struct stat link_st {};
        if (::lstat(path.c_str(), &link_st) != 0) {
            skip(path, errno_reason("cannot stat", errno));  // e.g. vanished since the listing
            return;
        }
        if (!options_.include_hidden && name.front() == '.') return;
        struct stat st = link_st;
        std::optional<int> broken_link;  // errno of the failed stat() through a symlink
        if (S_ISLNK(link_st.st_mode) && ::stat(path.c_str(), &st) != 0) broken_link = errno;
        // git judges a symlink as a non-folder; judging by the target lets "docs/" patterns cover linked folders.
        const bool is_dir = !broken_link && S_ISDIR(st.st_mode);
        if (is_dir && is_skipped_folder_name(name)) return;
        if (ignored_by_rules(relative, is_dir) || excluded(relative, is_dir)) return;
        if (broken_link) {
            skip(path, errno_reason("broken symlink", *broken_link));
            return;
        }
        if (is_dir) {
            if (skip_folders_.count({st.st_dev, st.st_ino}) != 0) return;
            if (!visited_.insert({st.st_dev, st.st_ino}).second) {
                skip(path, "folder already walked (symlink loop or second link to it)");
                return;
            }
            walk_folder(path, relative);
            return;
        }
        if (!wanted_file(relative, name)) return;
        take_file(path, relative, st);
    }

    void take_file(const fs::path& path, std::string relative, const struct stat& st) {
        if (!S_ISREG(st.st_mode)) {
            skip(path, "not a regular file");  // FIFOs would block the reader; devices and sockets are not text
            return;
        }
        const uint64_t bytes = static_cast<uint64_t>(st.st_size);
        if (bytes > options_.max_file_bytes) {
            skip(path, "larger than the limit (" + std::to_string(bytes) + " > " +
                           std::to_string(options_.max_file_bytes) + " bytes)");
            return;
        }
        // Checked here so that the reader does not fail later, one file at a time, with a less clear message.
        if (::faccessat(AT_FDCWD, path.c_str(), R_OK, AT_EACCESS) != 0) {
            skip(path, errno_reason("cannot read", errno));
            return;
        }
        const int64_t ctime_ns =
            static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + static_cast<int64_t>(st.st_ctim.tv_nsec);
        found_.push_back({path, std::move(relative), bytes, mtime_ns_of(st), ctime_ns, static_cast<uint64_t>(st.st_ino)});
    }

    const DiscoveryOptions& options_;
    std::vector<DiscoveredFile>& found_;
    std::vector<SkippedPath>& skipped_;
    std::vector<GlobPattern> include_;
    std::vector<GlobPattern> exclude_;
    std::vector<std::string> file_types_;
    std::vector<ScopedRules> rules_;
    std::set<std::pair<dev_t, ino_t>> visited_;
    std::set<std::pair<dev_t, ino_t>> skip_folders_;
};

}  // namespace

std::vector<DiscoveredFile> discover(std::span<const std::filesystem::path> roots, const DiscoveryOptions& options,
                                     std::vector<SkippedPath>& skipped) {
    std::vector<DiscoveredFile> found;
    Walker walker(options, found, skipped);
    for (const auto& root : roots) walker.walk_root(root);
    return found;
}

}  // namespace leann::ingest
