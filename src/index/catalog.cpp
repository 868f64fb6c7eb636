#include "leann/catalog.h"

#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <system_error>

#include "leann/model.h"
#include "util/json_limits.h"

namespace leann {

IndexSummary summarize(std::string_view name, const Index& index) {
    const IndexStats s = index.stats();
    IndexSummary row;
    row.name = std::string(name);
    row.path = s.path;
    row.chunks = s.chunks - s.deleted;
    row.bytes = s.file_bytes;
    const auto config = json_limits::parse_or_discarded(s.config_json);
    if (config.is_object()) {
        if (auto m = config.find("model"); m != config.end() && m->is_object()) row.model = m->value("name", "");
        if (auto c = config.find("created"); c != config.end() && c->is_string()) row.created = c->get<std::string>();
        if (auto ch = config.find("chunking"); ch != config.end() && ch->is_object())
            if (auto src = ch->find("sources"); src != ch->end() && src->is_array())
                for (const auto& p : *src)
                    if (p.is_string()) row.sources.push_back(p.get<std::string>());
    }
    return row;
}

std::vector<IndexSummary> list_indexes() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(index_root(), ec))
        if (entry.is_directory(ec) && std::filesystem::exists(entry.path() / "index.leann", ec))
            names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    std::vector<IndexSummary> rows;
    for (const auto& name : names) {
        const auto path = index_root() / name / "index.leann";
        try {
            rows.push_back(summarize(name, Index::open(path)));
        } catch (const std::exception& e) {
            IndexSummary row;
            row.name = name;
            row.path = path;
            row.error = e.what();
            rows.push_back(std::move(row));
        }
    }
    return rows;
}

Catalog::Catalog(CatalogOptions options) : options_(std::move(options)) {}

namespace {

std::optional<Catalog::FileStamp> stamp_of(const std::filesystem::path& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return Catalog::FileStamp{uint64_t(st.st_dev), uint64_t(st.st_ino), uint64_t(st.st_size),
                              int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

// The files of a model folder that read_model_info and Encoder::load read (the folder and 1_Pooling), stamped.
// A folder has a dozen files: stat-ing them on every open is microseconds, hashing the weights is not.
std::vector<std::pair<std::string, Catalog::FileStamp>> model_stamps(const std::filesystem::path& dir) {
    std::vector<std::pair<std::string, Catalog::FileStamp>> files;
    for (const auto& folder : {dir, dir / "1_Pooling"}) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
            if (!entry.is_regular_file(ec)) continue;
            if (auto stamp = stamp_of(entry.path())) files.emplace_back(entry.path().string(), *stamp);
        }
    }
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return files;
}

}  // namespace

// Index::attach_encoder compares the content hash and names both sides when they differ.
std::shared_ptr<Encoder> Catalog::encoder_locked(std::string_view model_name, Precision precision) {
    const std::filesystem::path dir = options_.model_dir ? *options_.model_dir : resolve_model(model_name);
    const std::string key = dir.string() + "\n" + precision_name(precision);
    auto stamps = model_stamps(dir);  // before loading: a change during the load is seen by the next open
    if (auto it = encoders_.find(key); it != encoders_.end() && it->second.files == stamps)
        return it->second.encoder;
    EncoderOptions encoder_options = options_.encoder;
    encoder_options.precision = precision;
    std::shared_ptr<Encoder> encoder(Encoder::load(dir, encoder_options));
    ++counters_.model_loads;
    encoders_.insert_or_assign(key, LoadedModel{encoder, std::move(stamps)});
    return encoder;
}

std::shared_ptr<Encoder> Catalog::encoder(std::string_view model_name) {
    std::lock_guard lock(mutex_);
    return encoder_locked(model_name, options_.encoder.precision);
}

std::shared_ptr<const Index> Catalog::open(std::string_view name) {
    const std::filesystem::path path = index_path_for_name(name);  // throws for names that could escape
    const auto stamp = stamp_of(path);
    if (!stamp) throw NotFoundError("no index named '" + std::string(name) + "' in " + index_root().string());
    std::lock_guard lock(mutex_);
    return open_locked(std::string(name), path, *stamp);
}

std::shared_ptr<const Index> Catalog::open_file(const std::filesystem::path& path) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    const auto stamp = ec ? std::nullopt : stamp_of(absolute);
    if (!stamp) throw NotFoundError("no index at " + path.string());
    std::lock_guard lock(mutex_);
    return open_locked(absolute.string(), absolute, *stamp);
}

Precision Catalog::precision_for(const Index& index) const {
    const Precision asked = options_.encoder.precision;
    return asked == Precision::automatic && options_.precision_per_index ? index.automatic_precision() : asked;
}

std::shared_ptr<const Index> Catalog::open_locked(const std::string& key, const std::filesystem::path& path,
                                                  const FileStamp& stamp) {
    const uint64_t use = ++uses_;
    if (auto it = indexes_.find(key); it != indexes_.end() && it->second.stamp == stamp) {
        // The same file: still current unless its model folder changed since (then the index is reopened below).
        const Index& index = *it->second.index;
        if (encoder_locked(index.model().name, precision_for(index)) == it->second.encoder) {
            it->second.last_used = use;
            return it->second.index;
        }
    }
    // First use, the file was rebuilt or updated, or its model changed: open it afresh (searches still holding the
    // old one finish with it).
    auto index = std::make_shared<Index>(Index::open(path));
    if (options_.cache_vectors) index->set_cache_capacity(*options_.cache_vectors);
    auto encoder = encoder_locked(index->model().name, precision_for(*index));
    index->attach_encoder(encoder);
    ++counters_.index_opens;
    indexes_.insert_or_assign(key, Entry{index, stamp, std::move(encoder), use});
    evict_locked();
    return index;
}

void Catalog::evict_locked() {
    if (options_.max_open_indexes == 0) return;
    while (indexes_.size() > options_.max_open_indexes) {
        auto oldest = std::min_element(indexes_.begin(), indexes_.end(), [](const auto& a, const auto& b) {
            return a.second.last_used < b.second.last_used;
        });
        indexes_.erase(oldest);
    }
    // Models no open index uses go too (the entries hold the only other references the catalog keeps).
    for (auto it = encoders_.begin(); it != encoders_.end();) {
        const bool used = std::any_of(indexes_.begin(), indexes_.end(), [&](const auto& entry) {
            return entry.second.encoder == it->second.encoder;
        });
        it = used ? std::next(it) : encoders_.erase(it);
    }
}

std::map<std::string, std::string> Catalog::preload() {
    std::map<std::string, std::string> errors;
    for (const IndexSummary& row : list_indexes()) {
        try {
            open(row.name);
        } catch (const std::exception& e) {
            errors[row.name] = e.what();
        }
    }
    return errors;
}

CatalogCounters Catalog::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

std::vector<std::string> Catalog::open_names() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    for (const auto& [name, entry] : indexes_) names.push_back(name);
    return names;
}

}  // namespace leann
