// index room: the index writer (leann/writer.h). Plans what an update changes — which files are new, changed,
// removed or untouched, which chunks are new text, moved text or gone — embeds only the new text, and hands the
// plan to generation.cpp, or builds from scratch when the index cannot be updated in place.
#include "leann/writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include <xxhash.h>

#include "index/build.h"
#include "index/generation.h"
#include "index/index_impl.h"
#include "index/index_target.h"
#include "index/manifest.h"
#include "ingest/discovery.h"
#include "leann/log.h"
#include "store/index_file.h"

namespace leann {
namespace {

using IndexImpl = detail::IndexInternals::Impl;

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool is_records_file(const std::filesystem::path& p) {
    std::error_code ec;
    return p.extension() == ".jsonl" && std::filesystem::is_regular_file(p, ec);
}

/// Size, times and inode of a file, as discovery reports them; nullopt when it cannot be stat'ed.
std::optional<SourceFile> stat_file(const std::filesystem::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return std::nullopt;
    return SourceFile{p, uint64_t(st.st_size), int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                      int64_t(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec, uint64_t(st.st_ino)};
}

/// xxh3-64 of a file's bytes; nullopt when it cannot be read.
std::optional<uint64_t> hash_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state{XXH3_createState(), &XXH3_freeState};
    XXH3_64bits_reset(state.get());
    std::vector<char> buffer(1 << 16);
    while (in) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        if (in.gcount() > 0) XXH3_64bits_update(state.get(), buffer.data(), size_t(in.gcount()));
    }
    if (in.bad()) return std::nullopt;
    return XXH3_64bits_digest(state.get());
}

bool same_stamps(const index::SourceEntry& e, const SourceFile& f) {
    return e.bytes == f.bytes && e.mtime_ns == f.mtime_ns && e.ctime_ns == f.ctime_ns && e.inode == f.inode;
}

index::SourceEntry entry_of(const SourceFile& f, uint64_t hash, bool records) {
    index::SourceEntry e;
    e.bytes = f.bytes;
    e.mtime_ns = f.mtime_ns;
    e.ctime_ns = f.ctime_ns;
    e.inode = f.inode;
    e.hash = hash;
    e.records = records;
    return e;
}

nlohmann::json index_settings(const BuildOptions& o) {
    return {{"graph", {o.graph.max_degree, o.graph.ef_construction, o.graph.prune, o.graph.hub_degree,
                       o.graph.pruned_degree, o.graph.hub_fraction}},
            {"pq_bytes", o.pq_bytes},
            {"hub_cache_bytes", o.hub_cache_bytes},
            {"metric", o.metric ? std::string(metric_name(*o.metric)) : std::string("model")}};
}

/// The first top-level key whose value differs, for the "settings changed" message.
std::string changed_setting(const nlohmann::json& before, const nlohmann::json& now) {
    for (const auto& [key, value] : now.items())
        if (!before.contains(key) || before[key] != value) return key;
    for (const auto& [key, value] : before.items())
        if (!now.contains(key)) return key;
    return "settings";
}

/// Where a chunk of the new plan ends up: an existing node kept, a move (index into Change::moves) or an insert.
struct Placement {
    enum class Kind { kept, moved, inserted } kind;
    uint32_t index;
};

}  // namespace

struct IndexWriter::Impl {
    std::filesystem::path path;
    std::shared_ptr<Encoder> encoder;
    WriterOptions options;
    int lock_fd = -1;
    std::function<void(std::string_view, size_t, size_t)> progress;
    std::map<std::string, double> stage_seconds;
    double stage_start = 0;
    std::string stage;

    void on_progress(std::string_view name, size_t done, size_t total) {
        const double t = now_seconds();
        if (name != stage) {
            if (!stage.empty()) stage_seconds[stage] += t - stage_start;
            stage = std::string(name);
            stage_start = t;
        }
        if (progress) progress(name, done, total);
    }
    void end_stages(UpdateStats& stats) {
        if (!stage.empty()) stage_seconds[stage] += now_seconds() - stage_start;
        stage.clear();
        stats.stage_seconds = std::move(stage_seconds);
        stage_seconds.clear();
    }
    BuildOptions build_options() {
        BuildOptions b = options.build;
        b.progress = [this](std::string_view s, size_t d, size_t t) { on_progress(s, d, t); };
        return b;
    }
    Metric metric() const { return options.build.metric.value_or(encoder->info().similarity); }

    /// The index as it is now, or nullopt when there is none; `why` says why it cannot be updated in place.
    std::optional<Index> open_current(std::string& why) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
            why = "new index";
            return std::nullopt;
        }
        try {
            Index index = Index::open(path);
            const IndexImpl& x = detail::IndexInternals::of(index);
            if (x.file.format_version() < 2 || x.chunk_hashes.size() != x.info.nodes || !x.file.has(index::kSources))
                why = "the index predates updates in place (format version " +
                      std::to_string(x.file.format_version()) + "): building it again once";
            else if (x.model.content_hash != encoder->info().content_hash)
                why = "the model changed";
            return index;
        } catch (const std::exception& e) {
            why = std::string("the index cannot be read (") + e.what() + ")";
            return std::nullopt;
        }
    }

    uint32_t next_generation(const std::optional<Index>& current) const {
        return current ? detail::IndexInternals::of(*current).file.generation() + 1 : 1;
    }

    void finish(UpdateStats& stats, double start) {
        end_stages(stats);
        const Index after = Index::open(path);
        const IndexStats s = after.stats();
        stats.live_chunks = s.chunks - s.deleted;
        stats.index_bytes = s.file_bytes;
        stats.generation = detail::IndexInternals::of(after).file.generation();
        stats.seconds = now_seconds() - start;
    }

    /// Compacts when tombstones or dead bytes pass the thresholds.
    void maybe_compact(UpdateStats& stats) {
        if (!options.auto_compact) return;
        const Index index = Index::open(path);
        const IndexImpl& x = detail::IndexInternals::of(index);
        const double deleted = x.info.nodes ? double(x.info.deleted) / double(x.info.nodes) : 0;
        const double garbage = 1.0 - double(x.file.live_bytes()) / double(std::max<uint64_t>(1, x.file.file_size()));
        if (deleted <= options.compact_deleted && garbage <= options.compact_garbage) return;
        if (x.info.deleted == x.info.nodes) return;  // nothing live to keep: the next update rebuilds
        const index::Manifest manifest = index::Manifest::decode(x.file.section(index::kSources), path.string());
        const auto g = index::compact_index(path, index, manifest,
                                            [this](std::string_view s, size_t d, size_t t) { on_progress(s, d, t); });
        stats.bytes_written += g.bytes_written;
        stats.compacted = true;
    }

    UpdateStats full_build(std::span<const std::filesystem::path> roots, const SyncOptions& options_in,
                           const nlohmann::json& settings, const nlohmann::json& origin, const std::string& reason,
                           const std::optional<Index>& current);
    UpdateStats apply(const Index& current, index::Change change, UpdateStats stats, double start);
};

IndexWriter::IndexWriter(const std::filesystem::path& path, std::shared_ptr<Encoder> encoder, WriterOptions options)
    : impl_(std::make_unique<Impl>()) {
    if (!encoder) throw Error("index writer: no encoder");
    impl_->path = index_path_for_argument(path);
    impl_->encoder = std::move(encoder);
    impl_->options = std::move(options);
    const std::filesystem::path dir = impl_->path.has_parent_path() ? impl_->path.parent_path() : ".";
    index::create_private_directories(dir);
    index::check_replaceable(impl_->path, impl_->options.replace_foreign);
    index::check_writable(dir);
    // The lock lives in its own file: the index file itself is replaced by renames (builds, compaction).
    std::filesystem::path lock_path = impl_->path;
    lock_path += ".lock";
    impl_->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (impl_->lock_fd < 0)
        throw Error(lock_path.string() + ": cannot open the writer lock: " + std::strerror(errno) +
                    " (is the index folder writable?)");
    if (::flock(impl_->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) throw Error(lock_path.string() + ": cannot lock: " + std::strerror(errno));
        char holder[32] = {};
        [[maybe_unused]] ssize_t got = ::pread(impl_->lock_fd, holder, sizeof holder - 1, 0);
        const std::string who = holder[0] ? std::string(" (process ") + holder + ")" : "";
        if (!impl_->options.wait) {
            ::close(impl_->lock_fd);
            impl_->lock_fd = -1;
            throw IndexLockedError(impl_->path.string() + " is being updated by another leann" + who +
                                   "; try again when it is done, or pass --wait");
        }
        log(LogLevel::info, impl_->path.string() + " is being updated by another leann" + who + "; waiting");
        while (::flock(impl_->lock_fd, LOCK_EX) != 0)
            if (errno != EINTR) throw Error(lock_path.string() + ": cannot lock: " + std::strerror(errno));
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(impl_->lock_fd, 0) == 0) [[maybe_unused]] ssize_t w = ::pwrite(impl_->lock_fd, pid.data(), pid.size(), 0);
}

IndexWriter::~IndexWriter() {
    if (impl_ && impl_->lock_fd >= 0) ::close(impl_->lock_fd);  // releases the flock
}

void IndexWriter::set_progress(std::function<void(std::string_view, size_t, size_t)> progress) {
    impl_->progress = std::move(progress);
}

const std::filesystem::path& IndexWriter::path() const { return impl_->path; }

UpdateStats IndexWriter::Impl::full_build(std::span<const std::filesystem::path> roots, const SyncOptions& sync,
                                          const nlohmann::json& settings, const nlohmann::json& origin,
                                          const std::string& reason,
                                          const std::optional<Index>& current) {
    const double start = now_seconds();
    UpdateStats stats;
    stats.rebuilt = true;
    stats.rebuild_reason = reason;
    index::Manifest manifest;
    manifest.settings = settings;
    manifest.origin = origin;
    std::vector<Document> documents;
    std::vector<std::filesystem::path> folders;
    for (const auto& r : roots)
        if (!is_records_file(r)) folders.push_back(r);
    const std::vector<SourceFile> found =
        folders.empty() ? std::vector<SourceFile>{} : list_source_files(folders, sync.files, stats.report);
    std::vector<std::pair<SourceFile, bool>> files;  // (file, records)
    for (const auto& r : roots)
        if (is_records_file(r)) {
            if (auto f = stat_file(r)) files.push_back({*f, true});
            else stats.report.skip(r.string(), std::string("cannot stat (") + std::strerror(errno) + ")");
        }
    for (const auto& f : found) files.push_back({f, false});

    FileOptions file_options = sync.files;
    file_options.progress = nullptr;
    const size_t max_tokens = encoder->info().max_seq_length;
    for (size_t i = 0; i < files.size(); ++i) {
        on_progress("read", i, files.size());
        const auto& [file, records] = files[i];
        const std::optional<uint64_t> hash = hash_file(file.path);
        const size_t skipped_before = stats.report.skipped;
        std::vector<Document> chunks;
        if (!hash) {
            stats.report.skip(file.path.string(), std::string("cannot read (") + std::strerror(errno) + ")");
        } else if (records) {
            try {
                chunks = read_jsonl_documents(file.path, stats.report);
                ++stats.report.files;
            } catch (const Error& e) {
                stats.report.skip(file.path.string(), e.what());
            }
        } else {
            chunks = read_file_documents(std::span<const SourceFile>(&file, 1), encoder->tokenizer(), max_tokens,
                                         file_options, stats.report);
        }
        if (!hash) {
            // Unreadable now: recorded without nodes and with stamps that never match, so the next update tries again.
            manifest.files[file.path.string()] = entry_of(file, 0, records);
            manifest.files[file.path.string()].bytes = ~uint64_t{0};
            continue;
        }
        if (chunks.empty() && stats.report.skipped > skipped_before && !records) {
            // Skipped for its content (binary, empty, encrypted PDF): looked at again only when it changes.
            manifest.files[file.path.string()] = entry_of(file, *hash, records);
            continue;
        }
        index::SourceEntry e = entry_of(file, *hash, records);
        for (auto& c : chunks) {
            e.nodes.push_back(uint32_t(documents.size()));
            documents.push_back(std::move(c));
        }
        manifest.files[file.path.string()] = std::move(e);
    }
    on_progress("read", files.size(), files.size());
    if (documents.empty()) throw Error("nothing to index: no readable text in the paths given");
    stats.files_added = files.size();
    stats.chunks_added = stats.embedded = documents.size();

    BuildOptions build = build_options();
    const size_t max_len = encoder->info().max_seq_length;
    build.chunking = nlohmann::json{{"chunk_size", std::min(sync.files.chunk_tokens, max_len)},
                                    {"chunk_overlap", sync.files.chunk_overlap},
                                    {"code_chunk_size", std::min(sync.files.code_chunk_tokens, max_len)},
                                    {"code_chunk_overlap", sync.files.code_chunk_overlap},
                                    {"unit", "model tokens"},
                                    {"jsonl", "one record = one chunk"},
                                    {"sources", settings["roots"]}}
                         .dump();
    const std::vector<float> vectors = index::embed_documents(documents, *encoder, metric(), build);
    const IndexModel model{encoder->info().name, encoder->info().content_hash, encoder->dims(),
                           precision_name(encoder->precision())};
    index::write_index(path, documents, vectors.data(), model, metric(), build,
                       {manifest.encode(), next_generation(current)});
    stats.bytes_written = std::filesystem::file_size(path);
    finish(stats, start);
    return stats;
}

UpdateStats IndexWriter::Impl::apply(const Index& current, index::Change change, UpdateStats stats, double start) {
    if (!change.inserts.empty()) {
        BuildOptions build = build_options();
        change.vectors = index::embed_documents(change.inserts, *encoder, detail::IndexInternals::of(current).metric,
                                                build);
    }
    stats.embedded = change.inserts.size();
    const auto g = index::append_generation(path, current, change, options.build.graph,
                                            options.build.threads ? options.build.threads : 1,
                                            [this](std::string_view s, size_t d, size_t t) { on_progress(s, d, t); });
    stats.bytes_written = g.bytes_written;
    maybe_compact(stats);
    finish(stats, start);
    return stats;
}

UpdateStats IndexWriter::sync(std::span<const std::filesystem::path> roots, const SyncOptions& options) {
    Impl& w = *impl_;
    const double start = now_seconds();
    nlohmann::json settings = {
        {"model", w.encoder->info().content_hash},
        {"roots", nlohmann::json::array()},
        {"files",
         {{"include", options.files.include},
          {"exclude", options.files.exclude},
          {"file_types", options.files.file_types},
          {"hidden", options.files.include_hidden},
          {"max_file_bytes", options.files.max_file_bytes}}},
        {"chunking",
         {options.files.chunk_tokens, options.files.chunk_overlap, options.files.code_chunk_tokens,
          options.files.code_chunk_overlap}},
        {"index", index_settings(w.options.build)}};
    for (const auto& r : roots) settings["roots"].push_back(std::filesystem::absolute(r).lexically_normal().string());

    std::error_code cwd_error;
    nlohmann::json origin = {{"cwd", std::filesystem::current_path(cwd_error).string()},
                             {"roots", nlohmann::json::array()}};
    for (const auto& r : roots) origin["roots"].push_back(r.string());

    std::string why;
    std::optional<Index> current = w.open_current(why);
    if (!current || !why.empty()) return w.full_build(roots, options, settings, origin, why, current);
    const IndexImpl& x = detail::IndexInternals::of(*current);
    const index::Manifest before = index::Manifest::decode(x.file.section(index::kSources), w.path.string());
    if (options.force) return w.full_build(roots, options, settings, origin, "--force", current);
    if (!before.has_nodes) return w.full_build(roots, options, settings, origin, "the index has no chunk map", current);
    if (before.settings != settings)
        return w.full_build(roots, options, settings, origin,
                            "the build settings changed (" + changed_setting(before.settings, settings) + ")", current);

    // Discovery: what is there now, and what could not be looked at (kept as it was).
    UpdateStats stats;
    std::vector<std::filesystem::path> folders;
    std::vector<std::pair<SourceFile, bool>> now;  // (file, records)
    for (const auto& r : roots)
        if (is_records_file(r)) {
            if (auto f = stat_file(r)) now.push_back({*f, true});
        } else {
            folders.push_back(r);
        }
    ingest::DiscoveryOptions discovery;
    discovery.include = options.files.include;
    discovery.exclude = options.files.exclude;
    discovery.file_types = options.files.file_types;
    discovery.include_hidden = options.files.include_hidden;
    discovery.max_file_bytes = options.files.max_file_bytes;
    discovery.skip_folders = options.files.skip_folders;
    std::vector<ingest::SkippedPath> skipped;
    for (const auto& f : ingest::discover(folders, discovery, skipped))
        now.push_back({{f.path, f.bytes, f.mtime_ns, f.ctime_ns, f.inode}, false});
    std::vector<std::string> unreachable;  // paths (files or folders) that exist but could not be looked at
    for (const auto& s : skipped) {
        stats.report.skip(s.path.string(), s.reason);
        if (s.reason.rfind("cannot", 0) == 0 || s.reason.rfind("error", 0) == 0) unreachable.push_back(s.path.string());
    }
    auto is_unreachable = [&](const std::string& p) {
        for (const auto& u : unreachable)
            if (p == u || (p.size() > u.size() && p.compare(0, u.size(), u) == 0 && p[u.size()] == '/')) return true;
        return false;
    };

    index::Change change;
    change.manifest = before;
    change.manifest.origin = origin;
    std::map<std::string, bool> seen;
    std::vector<std::pair<SourceFile, bool>> to_read;
    for (const auto& [file, records] : now) {
        const std::string key = file.path.string();
        seen[key] = true;
        auto it = before.files.find(key);
        if (it != before.files.end() && !options.rehash && same_stamps(it->second, file)) {
            ++stats.files_kept;
            stats.chunks_kept += it->second.nodes.size();
        } else {
            to_read.push_back({file, records});
        }
    }
    std::vector<std::string> removed;
    for (const auto& [key, entry] : before.files) {
        if (seen.count(key)) continue;
        if (is_unreachable(key)) {
            ++stats.files_unreadable;
            continue;
        }
        removed.push_back(key);
    }

    // Read what may have changed. A file whose bytes hash as before only had its stamps touched.
    struct NewFile {
        std::string key;
        index::SourceEntry entry;
        std::vector<Document> chunks;
        std::vector<Placement> placed;
    };
    std::vector<NewFile> changed;
    FileOptions file_options = options.files;
    file_options.progress = nullptr;
    const size_t max_tokens = w.encoder->info().max_seq_length;
    for (size_t i = 0; i < to_read.size(); ++i) {
        w.on_progress("read", i, to_read.size());
        const auto& [file, records] = to_read[i];
        const std::string key = file.path.string();
        auto old = before.files.find(key);
        const std::optional<uint64_t> hash = hash_file(file.path);
        if (!hash) {
            std::error_code ec;
            if (!std::filesystem::exists(file.path, ec)) {
                if (old != before.files.end()) removed.push_back(key);  // vanished during the update
            } else {
                stats.report.skip(key, std::string("cannot read (") + std::strerror(errno) + ")");
                ++stats.files_unreadable;  // its old chunks (if any) stay
            }
            continue;
        }
        if (old != before.files.end() && old->second.hash == *hash && old->second.bytes == file.bytes) {
            index::SourceEntry e = entry_of(file, *hash, records);
            e.nodes = old->second.nodes;
            stats.chunks_kept += e.nodes.size();
            change.manifest.files[key] = std::move(e);
            ++stats.files_kept;
            continue;
        }
        NewFile nf{key, entry_of(file, *hash, records), {}, {}};
        const size_t skipped_before = stats.report.skipped;
        if (records) {
            try {
                nf.chunks = read_jsonl_documents(file.path, stats.report);
                ++stats.report.files;
            } catch (const Error& e) {
                stats.report.skip(key, e.what());
                ++stats.files_unreadable;
                continue;
            }
        } else {
            nf.chunks = read_file_documents(std::span<const SourceFile>(&file, 1), w.encoder->tokenizer(), max_tokens,
                                            file_options, stats.report);
            if (nf.chunks.empty() && stats.report.skipped > skipped_before) {
                std::error_code ec;
                if (!std::filesystem::exists(file.path, ec) && old != before.files.end()) {
                    removed.push_back(key);
                } else if (old != before.files.end()) {
                    ++stats.files_unreadable;  // e.g. became binary or unreadable: keep what we had
                } else {
                    change.manifest.files[key] = nf.entry;  // recorded without chunks: read again when it changes
                }
                continue;
            }
        }
        (old == before.files.end() ? stats.files_added : stats.files_changed) += 1;
        changed.push_back(std::move(nf));
    }
    w.on_progress("read", to_read.size(), to_read.size());
    stats.files_removed = removed.size();

    // Old chunks that may go: those of changed and removed files, by text hash (a moved or renamed chunk's text
    // finds its old node and keeps its vector).
    std::unordered_map<uint64_t, std::vector<uint32_t>> pool;
    std::vector<uint32_t> pooled;
    auto add_pool = [&](const std::string& key) {
        auto it = before.files.find(key);
        if (it == before.files.end()) return;
        for (uint32_t node : it->second.nodes) {
            pool[x.chunk_hashes[node]].push_back(node);
            pooled.push_back(node);
        }
    };
    for (const auto& nf : changed) add_pool(nf.key);
    for (const auto& key : removed) {
        add_pool(key);
        change.manifest.files.erase(key);
    }
    for (auto& [h, nodes] : pool) std::reverse(nodes.begin(), nodes.end());  // pop_back takes them in file order

    std::vector<std::pair<uint32_t, std::pair<size_t, size_t>>> matched;  // old node -> (file, chunk)
    for (size_t f = 0; f < changed.size(); ++f)
        for (size_t c = 0; c < changed[f].chunks.size(); ++c) {
            auto it = pool.find(index::text_hash(changed[f].chunks[c].text));
            if (it != pool.end() && !it->second.empty()) {
                matched.push_back({it->second.back(), {f, c}});
                it->second.pop_back();
                changed[f].placed.push_back({Placement::Kind::kept, 0});  // settled below
            } else {
                changed[f].placed.push_back({Placement::Kind::inserted, uint32_t(change.inserts.size())});
                change.inserts.push_back(changed[f].chunks[c]);
            }
        }
    std::vector<uint32_t> matched_nodes;
    for (const auto& m : matched) matched_nodes.push_back(m.first);
    const std::vector<store::Passage> old_passages = x.passages.get_many(matched_nodes);
    std::vector<uint8_t> keep(x.info.nodes, 0);  // stays as it is, or moves: not deleted
    for (size_t i = 0; i < matched.size(); ++i) {
        const auto [f, c] = matched[i].second;
        const Document& d = changed[f].chunks[c];
        const uint32_t node = matched[i].first;
        if (old_passages[i].text == d.text && old_passages[i].id == d.id && old_passages[i].metadata == d.metadata) {
            changed[f].placed[c] = {Placement::Kind::kept, node};
            keep[node] = 1;
        } else {
            changed[f].placed[c] = {Placement::Kind::moved, uint32_t(change.moves.size())};
            change.moves.push_back({node, d});
            keep[node] = 1;
        }
    }
    for (uint32_t node : pooled)
        if (!keep[node]) change.deletes.push_back(node);

    // New node ids: moves first, then inserts (generation.h).
    const uint32_t n = x.info.nodes, first_insert = uint32_t(n + change.moves.size());
    for (auto& nf : changed) {
        for (const Placement& p : nf.placed) {
            const uint32_t node = p.kind == Placement::Kind::kept    ? p.index
                                  : p.kind == Placement::Kind::moved ? n + p.index
                                                                     : first_insert + p.index;
            nf.entry.nodes.push_back(node);
            (p.kind == Placement::Kind::kept ? stats.chunks_kept : p.kind == Placement::Kind::moved
                                                                       ? stats.chunks_changed
                                                                       : stats.chunks_added) += 1;
        }
        change.manifest.files[nf.key] = std::move(nf.entry);
    }
    stats.chunks_removed = change.deletes.size();

    if (change.manifest.json_text() == before.json_text() && change.deletes.empty() && change.moves.empty() &&
        change.inserts.empty()) {
        stats.up_to_date = true;
        w.end_stages(stats);
        stats.live_chunks = x.info.nodes - x.info.deleted;
        stats.index_bytes = x.file.file_size();
        stats.generation = x.file.generation();
        stats.seconds = now_seconds() - start;
        return stats;
    }
    if (x.info.nodes - x.info.deleted + change.inserts.size() == change.deletes.size())
        throw Error("nothing to index: no readable text is left in the paths given (the index is unchanged; "
                    "`leann remove` deletes it)");
    return w.apply(*current, std::move(change), std::move(stats), start);
}

SyncRecipe recorded_sync(const Index& index) {
    const IndexImpl& x = detail::IndexInternals::of(index);
    const std::string file = x.file.path().string();
    if (!x.file.has(index::kSources)) throw Error(file + ": the index records no sources (built from records?)");
    const index::Manifest m = index::Manifest::decode(x.file.section(index::kSources), file);
    const auto& s = m.settings;
    if (!m.origin.contains("roots") || !s.contains("files") || !s.contains("chunking") || !s.contains("index"))
        throw Error(file + ": the index's manifest does not say how it was built; run `leann build` once");
    try {
        SyncRecipe r;
        for (const auto& root : m.origin.at("roots")) r.roots.emplace_back(root.get<std::string>());
        r.cwd = m.origin.value("cwd", std::string("."));
        const auto& f = s.at("files");
        r.sync.files.include = f.at("include").get<std::vector<std::string>>();
        r.sync.files.exclude = f.at("exclude").get<std::vector<std::string>>();
        r.sync.files.file_types = f.at("file_types").get<std::vector<std::string>>();
        r.sync.files.include_hidden = f.at("hidden").get<bool>();
        r.sync.files.max_file_bytes = f.at("max_file_bytes").get<uint64_t>();
        const auto& c = s.at("chunking");
        r.sync.files.chunk_tokens = c.at(0).get<size_t>();
        r.sync.files.chunk_overlap = c.at(1).get<size_t>();
        r.sync.files.code_chunk_tokens = c.at(2).get<size_t>();
        r.sync.files.code_chunk_overlap = c.at(3).get<size_t>();
        const auto& i = s.at("index");
        const auto& g = i.at("graph");
        r.build.graph.max_degree = g.at(0).get<uint32_t>();
        r.build.graph.ef_construction = g.at(1).get<uint32_t>();
        r.build.graph.prune = g.at(2).get<bool>();
        r.build.graph.hub_degree = g.at(3).get<uint32_t>();
        r.build.graph.pruned_degree = g.at(4).get<uint32_t>();
        r.build.graph.hub_fraction = g.at(5).get<double>();
        r.build.pq_bytes = i.at("pq_bytes").get<size_t>();
        r.build.hub_cache_bytes = i.at("hub_cache_bytes").get<size_t>();
        const std::string metric = i.at("metric").get<std::string>();
        if (metric != "model") r.build.metric = parse_metric(metric);
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw Error(file + ": section SRCS: the build settings are malformed (" + e.what() + ")");
    }
}

UpdateStats IndexWriter::upsert(std::span<const Document> documents) {
    Impl& w = *impl_;
    const double start = now_seconds();
    std::string why;
    std::optional<Index> current = w.open_current(why);
    // Last one wins when an id repeats.
    std::map<std::string, const Document*> by_id;
    for (const auto& d : documents) by_id[d.id] = &d;
    if (!current || !why.empty()) {
        if (current && why.rfind("the model", 0) == 0) throw Error(w.path.string() + ": " + why + "; rebuild it");
        if (current) throw Error(w.path.string() + ": " + why);
        if (by_id.empty()) throw Error("nothing to index: no documents");
        UpdateStats stats;
        stats.rebuilt = true;
        stats.rebuild_reason = "new index";
        index::Manifest manifest;
        manifest.settings = {{"model", w.encoder->info().content_hash}, {"index", index_settings(w.options.build)}};
        std::vector<Document> docs;
        for (const auto& [id, d] : by_id) {
            manifest.records[id] = uint32_t(docs.size());
            docs.push_back(*d);
        }
        const BuildOptions build = w.build_options();
        const std::vector<float> vectors = index::embed_documents(docs, *w.encoder, w.metric(), build);
        const IndexModel model{w.encoder->info().name, w.encoder->info().content_hash, w.encoder->dims(),
                               precision_name(w.encoder->precision())};
        index::write_index(w.path, docs, vectors.data(), model, w.metric(), build, {manifest.encode(), 1});
        stats.chunks_added = stats.embedded = docs.size();
        stats.bytes_written = std::filesystem::file_size(w.path);
        w.finish(stats, start);
        return stats;
    }
    const IndexImpl& x = detail::IndexInternals::of(*current);
    index::Change change;
    change.manifest = index::Manifest::decode(x.file.section(index::kSources), w.path.string());
    UpdateStats stats;
    std::vector<std::pair<std::string, uint32_t>> known;  // id -> old node, for the ids that exist
    for (const auto& [id, d] : by_id) {
        auto it = change.manifest.records.find(id);
        if (it != change.manifest.records.end() && it->second < x.info.nodes) known.push_back({id, it->second});
    }
    std::vector<uint32_t> known_nodes;
    for (const auto& k : known) known_nodes.push_back(k.second);
    const auto old_passages = x.passages.get_many(known_nodes);
    std::map<std::string, size_t> known_at;
    for (size_t i = 0; i < known.size(); ++i) known_at[known[i].first] = i;
    std::vector<std::pair<std::string, size_t>> inserted;
    for (const auto& [id, d] : by_id) {
        auto k = known_at.find(id);
        if (k == known_at.end()) {
            inserted.push_back({id, change.inserts.size()});
            change.inserts.push_back(*d);
            continue;
        }
        const uint32_t node = known[k->second].second;
        const store::Passage& p = old_passages[k->second];
        if (p.text == d->text && p.metadata == d->metadata) {
            ++stats.chunks_kept;
        } else if (p.text == d->text) {
            change.manifest.records[id] = uint32_t(x.info.nodes + change.moves.size());
            change.moves.push_back({node, *d});
            ++stats.chunks_changed;
        } else {
            change.deletes.push_back(node);
            inserted.push_back({id, change.inserts.size()});
            change.inserts.push_back(*d);
        }
    }
    const uint32_t first_insert = uint32_t(x.info.nodes + change.moves.size());
    for (const auto& [id, i] : inserted) change.manifest.records[id] = first_insert + uint32_t(i);
    stats.chunks_added = change.inserts.size();
    if (change.inserts.empty() && change.moves.empty()) {
        stats.up_to_date = true;
        w.finish(stats, start);
        return stats;
    }
    return w.apply(*current, std::move(change), std::move(stats), start);
}

UpdateStats IndexWriter::remove(std::span<const std::string> ids) {
    Impl& w = *impl_;
    const double start = now_seconds();
    std::string why;
    std::optional<Index> current = w.open_current(why);
    if (!current) throw Error(w.path.string() + ": no such index");
    const IndexImpl& x = detail::IndexInternals::of(*current);
    if (!x.file.has(index::kSources)) throw Error(w.path.string() + ": " + why);
    index::Change change;
    change.manifest = index::Manifest::decode(x.file.section(index::kSources), w.path.string());
    for (const auto& id : ids) {
        auto it = change.manifest.records.find(id);
        if (it == change.manifest.records.end()) continue;
        change.deletes.push_back(it->second);
        change.manifest.records.erase(it);
    }
    UpdateStats stats;
    stats.chunks_removed = change.deletes.size();
    if (change.deletes.empty()) {
        stats.up_to_date = true;
        w.finish(stats, start);
        return stats;
    }
    if (change.deletes.size() == x.info.nodes - x.info.deleted)
        throw Error(w.path.string() + ": removing every chunk would leave an empty index; remove the index instead");
    return w.apply(*current, std::move(change), std::move(stats), start);
}

UpdateStats IndexWriter::compact() {
    Impl& w = *impl_;
    const double start = now_seconds();
    const Index current = Index::open(w.path);
    const IndexImpl& x = detail::IndexInternals::of(current);
    index::Manifest manifest;
    if (x.file.has(index::kSources)) manifest = index::Manifest::decode(x.file.section(index::kSources), w.path.string());
    UpdateStats stats;
    const auto g = index::compact_index(w.path, current, std::move(manifest),
                                        [&w](std::string_view s, size_t d, size_t t) { w.on_progress(s, d, t); });
    stats.compacted = true;
    stats.bytes_written = g.bytes_written;
    w.finish(stats, start);
    return stats;
}

}  // namespace leann
