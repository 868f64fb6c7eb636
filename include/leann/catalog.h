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
};

/// Thread-safe. Indexes are opened on first use and reopened when their file changes on disk (a rebuild while
/// serving); models are loaded once per content hash and shared by every index built with them.
class Catalog {
public:
    explicit Catalog(CatalogOptions options = {});

    /// The index NAME with its model attached. Throws Error for an invalid name (one that could escape the index
    /// folder), NotFoundError when there is no such index, FormatError/ModelError when it cannot be used.
    std::shared_ptr<const Index> open(std::string_view name);
    /// Opens every index now (errors are returned, not thrown: name -> message).
    std::map<std::string, std::string> preload();
    /// The model NAME (or the --model folder) loaded once: for callers that embed without an index.
    std::shared_ptr<Encoder> encoder(std::string_view model_name);
    /// Names of the indexes open right now.
    std::vector<std::string> open_names() const;

private:
    struct Entry {
        std::shared_ptr<const Index> index;
        std::filesystem::file_time_type mtime;
        uintmax_t size = 0;
    };
    std::shared_ptr<Encoder> encoder_locked(std::string_view model_name);

    CatalogOptions options_;
    mutable std::mutex mutex_;                                // guards both maps; loading happens under it
    std::map<std::string, Entry, std::less<>> indexes_;
    std::map<std::string, std::shared_ptr<Encoder>, std::less<>> encoders_;  // by model folder
};

}  // namespace leann
