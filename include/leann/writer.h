// The index writer: builds an index and keeps it current. What `leann build`, `leann watch`, the servers and the
// Python binding call to change an index; Index (leann/index.h) is the read side.
//
// One writer at a time per index: the constructor takes an OS lock (flock on "<index>.lock", released when the
// process ends, even by kill -9); a second writer gets IndexLockedError, or waits when asked to. Readers need no
// lock: each update appends a new generation to the file and switches to it with one header write, so a reader
// keeps the generation it opened and sees the new one when it opens the index again (docs/format.md,
// "Generations"). A failed or interrupted update (an exception, Ctrl-C, kill -9, a full disk) leaves the previous
// generation in place.
//
// Updates embed only what is new: a source file whose size, mtime, ctime and inode are unchanged is not read; a
// changed file is re-chunked and only chunks whose text is not already in the index are embedded (a chunk whose
// text moved, within the file or to another file, keeps its vector and PQ code). The graph is maintained in place
// (graph/update.h). Tombstoned nodes and older generations' bytes are reclaimed by compact(), which runs on its
// own when they pass a threshold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "leann/encoder.h"
#include "leann/error.h"
#include "leann/index.h"
#include "leann/ingest.h"

namespace leann {

/// Another writer holds the index's lock.
class IndexLockedError : public Error {
public:
    using Error::Error;
};

struct WriterOptions {
    BuildOptions build;          // used by full builds; graph degrees and threads also by updates
    bool wait = false;           // wait for another writer's lock instead of throwing IndexLockedError
    bool replace_foreign = false;   // replace a file at the index path that is not a leann index (`--force`);
                                    // anything that is not a regular file is never replaced
    bool auto_compact = true;    // compact after an update once deleted nodes or dead bytes pass the thresholds
    double compact_deleted = 0.25;  // share of nodes tombstoned
    double compact_garbage = 0.5;   // share of the file that older generations no longer use
};

struct SyncOptions {
    FileOptions files;           // discovery and chunking (every field that shapes chunks is a setting)
    bool rehash = false;         // hash every file instead of trusting unchanged size/mtime/ctime/inode
    bool force = false;          // rebuild from scratch (re-embeds everything)
};

/// What an update did. Chunks: added = embedded and inserted; changed = same text under a new id, place or
/// metadata (not embedded again); removed; kept = untouched.
struct UpdateStats {
    bool up_to_date = false;     // nothing changed: nothing was written
    bool rebuilt = false;        // a full build (new index, --force, changed settings, or an index that cannot be
                                 // updated in place)
    std::string rebuild_reason;  // why, when rebuilt
    bool compacted = false;
    size_t files_added = 0, files_changed = 0, files_removed = 0, files_kept = 0;
    size_t files_unreadable = 0;  // could not be read this time: their chunks stay as they were
    size_t chunks_added = 0, chunks_changed = 0, chunks_removed = 0, chunks_kept = 0;
    size_t embedded = 0;         // chunks embedded by this run
    size_t live_chunks = 0;      // after the update
    uint64_t bytes_written = 0;  // to the index file
    uint64_t index_bytes = 0;    // file size after the update
    uint32_t generation = 0;
    double seconds = 0;
    std::map<std::string, double> stage_seconds;  // read, embed, graph, write, compact ...
    ReadReport report;           // files read, skipped (with reasons) and warnings
};

/// How an index's sources were last synchronised (from its manifest): what `leann watch` follows.
struct SyncRecipe {
    std::vector<std::filesystem::path> roots;  // as given to the build
    std::filesystem::path cwd;                 // the folder relative roots were given in
    SyncOptions sync;                          // discovery and chunking options (rehash and force off)
    BuildOptions build;                        // graph and PQ options
};
/// Throws leann::Error when the index has no manifest of a sync (built from records, or by an old version).
SyncRecipe recorded_sync(const Index& index);

class IndexWriter {
public:
    /// Locks the index at `path` for writing (creating its folder, user-only). The encoder embeds new chunks; it must
    /// be the index's model (content hash) unless the next call rebuilds. Throws IndexLockedError when another writer
    /// holds the lock and options.wait is false. Throws leann::Error before any work when the folder is not writable,
    /// when something other than a regular file is at `path`, or when a file there is not a leann index (no magic
    /// bytes) and options.replace_foreign is false: a careless --index never destroys another file.
    IndexWriter(const std::filesystem::path& path, std::shared_ptr<Encoder> encoder, WriterOptions options = {});
    ~IndexWriter();
    IndexWriter(const IndexWriter&) = delete;
    IndexWriter& operator=(const IndexWriter&) = delete;

    /// Brings the index in line with `roots`: folders and files (discovery rules of FileOptions), and .jsonl files
    /// of records (one record = one chunk, updated by id and text). A new index, or one whose settings (model,
    /// roots, chunking, graph and PQ options) differ, is built from scratch and says why.
    UpdateStats sync(std::span<const std::filesystem::path> roots, const SyncOptions& options);
    /// Records by id, outside any file: a new id is added, a known id whose text changed is re-embedded, one whose
    /// metadata alone changed keeps its vector. Creates the index when it does not exist (from these records).
    UpdateStats upsert(std::span<const Document> documents);
    /// Removes records by id (ids not present are ignored; the count removed is in chunks_removed).
    UpdateStats remove(std::span<const std::string> ids);
    /// Rewrites the file with live nodes only (renumbered; nothing is embedded).
    UpdateStats compact();

    /// Called between steps with (stage, done, total); may throw to abandon the update (Ctrl-C): the previous
    /// generation stays.
    void set_progress(std::function<void(std::string_view stage, size_t done, size_t total)> progress);
    const std::filesystem::path& path() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace leann
