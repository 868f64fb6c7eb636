// The catalog: the indexes under $LEANN_HOME/indexes, and (for long-lived processes: the HTTP server, the MCP
// server) one place that opens each index once, loads each model once and shares it between indexes and
// threads. The CLI's one-shot commands use list_indexes(); the servers hold a Catalog.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "leann/encoder.h"
#include "leann/error.h"
#include "leann/index.h"

namespace leann {

/// No index of that name (a well-formed name that does not exist).
class NotFoundError : public Error {
public:
    using Error::Error;
};

/// One row of `leann list`: what the index file says about itself, or why it cannot be opened.
struct IndexSummary {
    std::string name;
    std::filesystem::path path;
    size_t chunks = 0;
    uint64_t bytes = 0;
    std::string model;
    std::string created;               // ISO-8601 UTC, as recorded at build
    std::vector<std::string> sources;  // the --docs paths recorded at build
    std::string error;                 // non-empty: the index could not be opened (the rest is unset)
};

/// Every index folder under index_root() holding an index.leann, sorted by name. Never throws for a bad index:
/// its row carries the error.
std::vector<IndexSummary> list_indexes();
/// The summary of one opened index.
IndexSummary summarize(std::string_view name, const Index& index);

struct CatalogOptions {
    std::optional<std::filesystem::path> model_dir;  // use this model folder instead of the recorded model name
    EncoderOptions encoder;
    std::optional<size_t> cache_vectors;             // per-index LRU of recomputed embeddings (default: Index's)
    /// What Precision::automatic in `encoder` means: false = this CPU's measured best for every index (leann serve,
    /// leann mcp); true = each index's own automatic precision (Index::automatic_precision(), what a one-shot
    /// `leann search` uses), so that results equal the one-shot command's (the search daemon).
    bool precision_per_index = false;
    /// At most this many indexes stay open; opening one more closes the least recently used (searches holding it
    /// finish with it) and drops the models no open index uses. 0 = no limit.
    size_t max_open_indexes = 0;
};

/// What the catalog has done since it was made (for status pages).
struct CatalogCounters {
    uint64_t index_opens = 0;    // index files opened (first use, or reopened after a change on disk)
    uint64_t model_loads = 0;    // model folders loaded (first use, or reloaded after their files changed)
};

/// Thread-safe. Indexes are opened on first use and reopened when their file changes on disk (a rebuild while
/// serving, an update: another inode, size or modification time); models are loaded once per folder and
/// precision and shared by every index built with them, and reloaded when a file of the folder changes (so the
/// content hash an index is checked against is always that of the files on disk).
class Catalog {
public:
    explicit Catalog(CatalogOptions options = {});

    /// The index NAME with its model attached. Throws Error for an invalid name (one that could escape the index
    /// folder), NotFoundError when there is no such index, FormatError/ModelError when it cannot be used.
    std::shared_ptr<const Index> open(std::string_view name);
    /// The index file at `path` (absolute, or relative to the working directory) with its model attached: for
    /// callers given paths rather than names (the search daemon). Same reopening rules; throws NotFoundError when
    /// there is no such file.
    std::shared_ptr<const Index> open_file(const std::filesystem::path& path);
    /// Opens every index now (errors are returned, not thrown: name -> message).
    std::map<std::string, std::string> preload();
    /// The model NAME (or the --model folder) loaded once: for callers that embed without an index.
    std::shared_ptr<Encoder> encoder(std::string_view model_name);
    /// Names of the indexes open right now (paths for those opened by open_file).
    std::vector<std::string> open_names() const;
    CatalogCounters counters() const;

    /// What identifies one version of a file: a rebuild renames a new inode over the path, an update grows it.
    struct FileStamp {
        uint64_t device = 0, inode = 0, size = 0;
        int64_t mtime_ns = 0;
        bool operator==(const FileStamp&) const = default;
    };

private:
    struct Entry {
        std::shared_ptr<const Index> index;
        FileStamp stamp;
        std::shared_ptr<Encoder> encoder;  // the one attached: a reloaded model reopens the index
        uint64_t last_used = 0;
    };
    struct LoadedModel {
        std::shared_ptr<Encoder> encoder;
        std::vector<std::pair<std::string, FileStamp>> files;  // the folder's files when it was loaded
    };
    std::shared_ptr<const Index> open_locked(const std::string& key, const std::filesystem::path& path,
                                             const FileStamp& stamp);
    std::shared_ptr<Encoder> encoder_locked(std::string_view model_name, Precision precision);
    void evict_locked();
    Precision precision_for(const Index& index) const;

    CatalogOptions options_;
    mutable std::mutex mutex_;                                // guards the maps; loading happens under it
    std::map<std::string, Entry, std::less<>> indexes_;
    std::map<std::string, LoadedModel, std::less<>> encoders_;  // by model folder and precision
    uint64_t uses_ = 0;
    CatalogCounters counters_;
};

}  // namespace leann
