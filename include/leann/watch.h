// Following folders for changes (`leann watch`, `leann serve --watch`): inotify on Linux, recursive (folders created
// later are watched too), with a polling fallback where inotify is unavailable or its watch limit is reached.
// Bursts are debounced: editors save by writing a temporary file and renaming it over the original, and
// `git checkout` touches hundreds of files at once; one batch comes out once the tree has been quiet for
// `debounce` (or `max_delay` after the first event of a burst, so a tree that never stops changing is still
// followed). The watcher only says *that* something changed and where; the caller re-synchronises the index.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace leann {

struct WatchOptions {
    std::chrono::milliseconds debounce{300};       // quiet time that ends a burst
    std::chrono::milliseconds max_delay{3000};     // a batch comes out at the latest this long after its first event
    std::chrono::milliseconds poll_interval{1000}; // polling mode: time between two scans of the trees
    bool force_polling = false;                    // never use inotify (tests, network file systems)
    size_t max_watches = 0;                        // at most this many inotify watches (0: the system's limit,
                                                   // fs.inotify.max_user_watches); past it, poll
    bool include_hidden = false;                   // events under hidden entries (".name") count too
    std::vector<std::filesystem::path> skip_folders;  // never watched (leann's own data folder)
};

/// What changed during one burst.
struct WatchBatch {
    std::vector<std::filesystem::path> paths;  // files and folders events named (deduplicated, sorted); may be
                                               // incomplete: see `rescan`
    bool rescan = false;                       // events were lost (queue overflow, a watched root replaced, a
                                               // polling pass): the caller should re-walk the whole trees
    size_t events = 0;                         // raw events folded into this batch
};

/// Thread-safety: wait() from one thread at a time; stop() from any thread (not from a signal handler).
class Watcher {
public:
    /// Starts watching `roots` (folders or single files). Throws leann::Error when a root does not exist.
    Watcher(std::vector<std::filesystem::path> roots, WatchOptions options = {});
    ~Watcher();
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;

    /// Blocks until a burst has settled and returns it, or returns nullopt after `timeout` with nothing settled (a
    /// burst still in progress stays pending for the next call), or at once after stop().
    std::optional<WatchBatch> wait(std::chrono::milliseconds timeout);
    void stop();

    /// True when polling (inotify unavailable, its limit reached, or force_polling).
    bool polling() const;
    /// One line saying how the trees are followed ("inotify, 1,204 folders" / "polling every 1 s: inotify watch
    /// limit reached (fs.inotify.max_user_watches = 8192)").
    std::string describe() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace leann
