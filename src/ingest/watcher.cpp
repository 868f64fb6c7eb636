// ingest room: following folders for changes (leann/watch.h). One inotify watch per folder, added as folders
// appear; a polling fallback that diffs snapshots of the trees; and the debounce that turns bursts into batches.
// POSIX calls throughout (as in discovery.cpp) so that a folder that vanishes or cannot be read mid-walk is skipped
// instead of aborting anything.
#include "leann/watch.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "leann/error.h"

namespace leann {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t max_pending_paths = 100'000;  // beyond this a batch only says "rescan" (bounded memory)
constexpr uint32_t watch_mask = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE |
                                IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR;

// The folders discovery never walks (ingest/discovery.cpp keeps its list private; keep the two in step).
constexpr std::array<std::string_view, 15> never_walked_folders = {
    ".git", ".hg",    ".svn", "node_modules", "__pycache__",   ".venv",  "venv",      "build",
    "dist", "target", ".tox", ".mypy_cache",  ".pytest_cache", ".cache", "CMakeFiles"};

// True when `path` is `folder` or lies below it.
bool is_within(const fs::path& path, const fs::path& folder) {
    const std::string& p = path.native();
    const std::string& f = folder.native();
    return p.size() >= f.size() && p.compare(0, f.size(), f) == 0 &&
           (p.size() == f.size() || p[f.size()] == '/' || (!f.empty() && f.back() == '/'));
}

class FileDescriptor {
public:
    explicit FileDescriptor(int fd = -1) : fd_(fd) {}
    ~FileDescriptor() { reset(); }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

// What polling compares between two scans. Folders compare by inode only: their mtime moves with every file created
// inside, which the file's own entry reports already.
struct EntryState {
    uint64_t bytes = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    ino_t inode = 0;
    bool is_folder = false;
    bool operator==(const EntryState&) const = default;
};

int64_t to_ns(const timespec& t) {
    return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

EntryState state_of(const struct stat& st) {
    if (S_ISDIR(st.st_mode)) return {0, 0, 0, st.st_ino, true};
    return {static_cast<uint64_t>(st.st_size), to_ns(st.st_mtim), to_ns(st.st_ctim), st.st_ino, false};
}

std::string with_thousands(size_t n) {
    const std::string digits = std::to_string(n);
    std::string text;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
        text += digits[i];
    }
    return text;
}

std::string interval_text(std::chrono::milliseconds interval) {
    if (interval.count() % 1000 == 0) return std::to_string(interval.count() / 1000) + " s";
    return std::to_string(interval.count()) + " ms";
}

std::string watch_limit_reason(size_t max_watches) {
    std::string reason = "inotify watch limit reached";
    if (max_watches > 0) return reason + " (max_watches = " + std::to_string(max_watches) + ")";
    std::ifstream in("/proc/sys/fs/inotify/max_user_watches");
    if (long long limit = 0; in >> limit) reason += " (fs.inotify.max_user_watches = " + std::to_string(limit) + ")";
    return reason;
}

// poll()'s timeout for the time left until `until`, rounded up so that a wake-up is never early.
int poll_timeout_ms(Clock::time_point until) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
}

}  // namespace

struct Watcher::Impl {
    struct Root {
        fs::path path;
        bool is_folder = true;
    };
    // One inotify watch. The parent folder of a root that is a file is watched for that file's name only, so that
    // an editor's rename over the file is seen.
    struct Watch {
        fs::path folder;
        bool whole = false;           // every entry counts (otherwise only `files`)
        std::set<std::string> files;  // names of file roots in this folder
        bool root = false;            // a root folder, or the parent of a file root
    };
    using Visited = std::set<std::pair<dev_t, ino_t>>;
    using Snapshot = std::map<fs::path, EntryState>;

    explicit Impl(WatchOptions opts) : options(std::move(opts)), wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
        if (wake.get() < 0) throw Error(std::string("watch: cannot create an eventfd: ") + std::strerror(errno));
    }

    void start(const std::vector<fs::path>& given) {
        if (given.empty()) throw Error("watch: no folder or file to watch");
        for (const fs::path& root : given) {
            struct stat st {};
            if (::stat(root.c_str(), &st) != 0) {
                throw Error("watch: cannot watch " + root.string() + ": " + std::strerror(errno));
            }
            roots.push_back({root, S_ISDIR(st.st_mode)});
        }
        for (const fs::path& folder : options.skip_folders) {
            if (struct stat st{}; ::stat(folder.c_str(), &st) == 0) skip_folders.insert({st.st_dev, st.st_ino});
        }
        if (options.force_polling) return start_polling("force_polling is set");
        inotify.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (inotify.get() < 0) return start_polling(std::string("inotify unavailable: ") + std::strerror(errno));
        watch_roots();
        if (limit_reached) start_polling(watch_limit_reason(options.max_watches));
    }

    // ---- which entries count (the rules of discovery, by name) ----

    // Ignore files are hidden, but discovery reads them: an edit changes which files belong to the index.
    bool takes_name(std::string_view name) const {
        return options.include_hidden || !name.starts_with('.') || name == ".gitignore" || name == ".leannignore";
    }

    bool follows_folder(std::string_view name, const struct stat& st) const {
        return (options.include_hidden || !name.starts_with('.')) &&
               std::find(never_walked_folders.begin(), never_walked_folders.end(), name) ==
                   never_walked_folders.end() &&
               skip_folders.count({st.st_dev, st.st_ino}) == 0;
    }

    // Walks `top` and the folders below it that are followed: on_folder(path) for each folder (false = do not
    // descend), on_entry(path, st) for each other entry taken. `visited` (device, inode) stops symlink loops.
    template <class OnFolder, class OnEntry>
    void walk(const fs::path& top, Visited& visited, OnFolder on_folder, OnEntry on_entry) const {
        std::vector<fs::path> stack{top};
        while (!stack.empty()) {
            const fs::path folder = std::move(stack.back());
            stack.pop_back();
            struct stat st {};
            if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
            if (!visited.insert({st.st_dev, st.st_ino}).second || !on_folder(folder, st)) continue;
            DIR* dir = ::opendir(folder.c_str());
            if (dir == nullptr) continue;  // vanished or unreadable since: nothing to follow there
            std::vector<std::string> names;
            while (const dirent* entry = ::readdir(dir)) {
                std::string_view name = entry->d_name;
                if (name != "." && name != "..") names.emplace_back(name);
            }
            ::closedir(dir);
            for (const std::string& name : names) {
                fs::path path = folder / name;
                struct stat entry_st {};
                if (::stat(path.c_str(), &entry_st) != 0) continue;  // vanished, or a broken symlink
                if (S_ISDIR(entry_st.st_mode)) {
                    if (follows_folder(name, entry_st)) stack.push_back(std::move(path));
                } else if (takes_name(name)) {
                    on_entry(path, entry_st);
                }
            }
        }
    }

    // ---- inotify ----

    bool add_watch(const fs::path& folder, const std::string* only_file, bool root) {
        if (limit_reached) return false;
        if (options.max_watches > 0 && watches.size() >= options.max_watches) {
            limit_reached = true;
            return false;
        }
        const int wd = ::inotify_add_watch(inotify.get(), folder.empty() ? "." : folder.c_str(), watch_mask);
        if (wd < 0) {
            if (errno == ENOSPC) limit_reached = true;
            return false;  // ENOENT, EACCES, ENOTDIR: the folder went away or cannot be read; nothing to follow
        }
        Watch& watch = watches[wd];  // the same wd again when the folder is already watched (moved, or a rescan)
        watch.folder = folder;
        watch.root = watch.root || root;
        if (only_file != nullptr) {
            watch.files.insert(*only_file);
        } else {
            watch.whole = true;
        }
        watched_folders = watches.size();
        return true;
    }

    // Watches `top` and every folder below it; with `report`, everything found inside counts as changed (a folder
    // created or moved in: its files may have been written before its watch existed).
    void watch_tree(const fs::path& top, bool report, bool root) {
        Visited visited;
        walk(
            top, visited,
            [&](const fs::path& folder, const struct stat&) {
                const bool added = add_watch(folder, nullptr, root && folder == top);
                if (added && report && folder != top) record(folder, true);
                return added;
            },
            [&](const fs::path& path, const struct stat&) {
                if (report) record(path, true);
            });
    }

    void watch_roots() {
        for (const Root& root : roots) {
            if (root.is_folder) {
                watch_tree(root.path, false, true);
            } else {
                const std::string name = root.path.filename().string();
                add_watch(root.path.parent_path(), &name, true);
            }
        }
    }

    // After a folder moved away: its watches (and those below) would go on naming the old paths.
    void unwatch_tree(const fs::path& top) {
        for (auto it = watches.begin(); it != watches.end();) {
            if (!it->second.root && is_within(it->second.folder, top)) {
                ::inotify_rm_watch(inotify.get(), it->first);
                it = watches.erase(it);
            } else {
                ++it;
            }
        }
        watched_folders = watches.size();
    }

    void handle_event(int wd, uint32_t mask, std::string_view name) {
        if (mask & IN_Q_OVERFLOW) {
            touch();
            rescan = true;
            watch_roots();  // folders created during the lost events need their watches
            return;
        }
        const auto it = watches.find(wd);
        if (it == watches.end()) return;  // a watch removed already (its folder moved away)
        if (mask & IN_IGNORED) {
            watches.erase(it);
            watched_folders = watches.size();
            return;
        }
        const Watch& watch = it->second;
        if (name.empty()) {  // the watched folder itself; its parent's watch reports the rest
            if (watch.root && (mask & (IN_DELETE_SELF | IN_MOVE_SELF))) {
                touch();
                rescan = true;
                record(watch.folder, false);
            }
            return;
        }
        const fs::path path = watch.folder / name;  // a copy: `watch` may dangle once watch_tree adds watches
        const bool is_folder = (mask & IN_ISDIR) != 0;
        if (watch.files.count(std::string(name)) == 0) {
            if (!watch.whole) return;
            struct stat st {};  // a deleted folder has no inode to check against skip_folders
            if (is_folder && ::stat(path.c_str(), &st) != 0) st = {};
            if (is_folder ? !follows_folder(name, st) : !takes_name(name)) return;
        }
        touch();
        record(path, (mask & IN_CREATE) != 0);
        if (is_folder && (mask & IN_MOVED_FROM)) unwatch_tree(path);
        if (is_folder && (mask & (IN_CREATE | IN_MOVED_TO))) watch_tree(path, true, false);
    }

    // One read per call, so that a tree that never stops changing cannot keep wait() from its deadlines.
    void read_events() {
        alignas(inotify_event) std::array<char, 64 * 1024> buffer;
        const ssize_t got = ::read(inotify.get(), buffer.data(), buffer.size());
        if (got <= 0) return;  // EAGAIN (drained) or EINTR: poll() comes back here
        const size_t size = static_cast<size_t>(got);
        for (size_t offset = 0; offset + sizeof(inotify_event) <= size && !polling;) {
            inotify_event event;
            std::memcpy(&event, buffer.data() + offset, sizeof(event));
            const size_t name_at = offset + sizeof(inotify_event);
            const size_t name_len = std::min<size_t>(event.len, size - name_at);
            const char* name = buffer.data() + name_at;
            handle_event(event.wd, event.mask, std::string_view(name, ::strnlen(name, name_len)));
            offset = name_at + event.len;
        }
        if (limit_reached && !polling) {  // a new folder could not be watched: from now on, poll
            start_polling(watch_limit_reason(options.max_watches));
            touch();
            rescan = true;
        }
    }

    // ---- polling ----

    void start_polling(std::string reason) {
        inotify.reset();
        watches.clear();
        watched_folders = 0;
        {
            std::lock_guard lock(reason_mutex);
            polling_reason = std::move(reason);
        }
        polling = true;
        snapshot = scan();
        next_poll = Clock::now() + options.poll_interval;
    }

    Snapshot scan() const {
        Snapshot found;
        Visited visited;
        for (const Root& root : roots) {
            if (root.is_folder) {
                walk(
                    root.path, visited,
                    [&](const fs::path& folder, const struct stat& st) {
                        found[folder] = state_of(st);
                        return true;
                    },
                    [&](const fs::path& path, const struct stat& st) { found[path] = state_of(st); });
            } else if (struct stat st{}; ::stat(root.path.c_str(), &st) == 0) {
                found[root.path] = state_of(st);
            }
        }
        return found;
    }

    void poll_trees() {
        Snapshot next = scan();
        const auto changed = [&](const fs::path& path, bool born) {
            touch();
            rescan = true;
            record(path, born);
        };
        auto before = snapshot.begin();
        auto now = next.begin();
        while (before != snapshot.end() || now != next.end()) {
            if (now == next.end() || (before != snapshot.end() && before->first < now->first)) {
                changed((before++)->first, false);
            } else if (before == snapshot.end() || now->first < before->first) {
                changed((now++)->first, true);
            } else {
                if (!(before->second == now->second)) changed(now->first, false);
                ++before;
                ++now;
            }
        }
        snapshot = std::move(next);
        next_poll = Clock::now() + options.poll_interval;
    }

    // ---- the burst ----

    void touch() {
        const auto now = Clock::now();
        if (events == 0) first_event = now;
        last_event = now;
        ++events;
    }

    // `born`: the path did not exist before this burst, so if it is gone when the burst settles (an editor's
    // temporary file) nobody needs to hear of it.
    void record(const fs::path& path, bool born) {
        if (pending.count(path) != 0) return;
        if (pending.size() >= max_pending_paths) {
            rescan = true;
            return;
        }
        pending.emplace(path, born);
    }

    std::optional<WatchBatch> take_batch() {
        WatchBatch batch;
        batch.rescan = rescan;
        batch.events = events;
        for (const auto& [path, born] : pending) {
            struct stat st {};
            if (born && ::lstat(path.c_str(), &st) != 0) continue;
            batch.paths.push_back(path);
        }
        pending.clear();
        rescan = false;
        events = 0;
        if (batch.paths.empty() && !batch.rescan) return std::nullopt;
        return batch;
    }

    std::optional<WatchBatch> wait(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (!stopped) {
            const auto now = Clock::now();
            auto wake_at = deadline;
            if (events > 0) {
                const auto settled = std::min(last_event + options.debounce, first_event + options.max_delay);
                if (now >= settled) {
                    if (auto batch = take_batch()) return batch;
                    continue;
                }
                wake_at = std::min(wake_at, settled);
            }
            if (polling) {
                if (now >= next_poll) {
                    poll_trees();
                    continue;
                }
                wake_at = std::min(wake_at, next_poll);
            }
            if (now >= deadline) return std::nullopt;
            std::array<pollfd, 2> fds{{{wake.get(), POLLIN, 0}, {inotify.get(), POLLIN, 0}}};
            const nfds_t count = polling ? 1 : 2;
            if (::poll(fds.data(), count, poll_timeout_ms(wake_at)) > 0 && count == 2 && (fds[1].revents & POLLIN)) {
                read_events();
            }
        }
        return std::nullopt;
    }

    WatchOptions options;
    std::vector<Root> roots;
    std::set<std::pair<dev_t, ino_t>> skip_folders;
    FileDescriptor wake;     // eventfd: stop() makes it readable
    FileDescriptor inotify;  // closed when polling
    std::unordered_map<int, Watch> watches;
    bool limit_reached = false;
    Snapshot snapshot;
    Clock::time_point next_poll;

    std::map<fs::path, bool> pending;  // path -> born in this burst
    bool rescan = false;
    size_t events = 0;
    Clock::time_point first_event;
    Clock::time_point last_event;

    // Read by polling()/describe() from any thread.
    std::atomic<bool> stopped{false};
    std::atomic<bool> polling{false};
    std::atomic<size_t> watched_folders{0};
    mutable std::mutex reason_mutex;
    std::string polling_reason;
};

Watcher::Watcher(std::vector<std::filesystem::path> roots, WatchOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
    impl_->start(roots);
}

Watcher::~Watcher() = default;

std::optional<WatchBatch> Watcher::wait(std::chrono::milliseconds timeout) {
    return impl_->wait(timeout);
}

void Watcher::stop() {
    impl_->stopped = true;
    const uint64_t one = 1;
    const ssize_t written = ::write(impl_->wake.get(), &one, sizeof(one));  // EAGAIN: it is readable already
    (void)written;
}

bool Watcher::polling() const {
    return impl_->polling;
}

std::string Watcher::describe() const {
    if (!impl_->polling) {
        const size_t folders = impl_->watched_folders;
        return "inotify, " + with_thousands(folders) + (folders == 1 ? " folder" : " folders");
    }
    std::lock_guard lock(impl_->reason_mutex);
    return "polling every " + interval_text(impl_->options.poll_interval) + ": " + impl_->polling_reason;
}

}  // namespace leann
