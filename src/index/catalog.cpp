#include "leann/catalog.h"

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

// Index::attach_encoder compares the content hash and names both sides when they differ.
std::shared_ptr<Encoder> Catalog::encoder_locked(std::string_view model_name) {
    const std::filesystem::path dir = options_.model_dir ? *options_.model_dir : resolve_model(model_name);
    const std::string key = dir.string();
    if (auto it = encoders_.find(key); it != encoders_.end()) return it->second;
    std::shared_ptr<Encoder> encoder(Encoder::load(dir, options_.encoder));
    encoders_.emplace(key, encoder);
    return encoder;
}

std::shared_ptr<Encoder> Catalog::encoder(std::string_view model_name) {
    std::lock_guard lock(mutex_);
    return encoder_locked(model_name);
}

std::shared_ptr<const Index> Catalog::open(std::string_view name) {
    const std::filesystem::path path = index_path_for_name(name);  // throws for names that could escape
    std::error_code ec;
    const auto mtime = std::filesystem::last_write_time(path, ec);
    if (ec) throw NotFoundError("no index named '" + std::string(name) + "' in " + index_root().string());
    const uintmax_t size = std::filesystem::file_size(path, ec);
    std::lock_guard lock(mutex_);
    if (auto it = indexes_.find(name); it != indexes_.end() && it->second.mtime == mtime && it->second.size == size)
        return it->second.index;
    // First use, or the file was rebuilt: open it afresh (searches still holding the old one finish with it).
    auto index = std::make_shared<Index>(Index::open(path));
    if (options_.cache_vectors) index->set_cache_capacity(*options_.cache_vectors);
    index->attach_encoder(encoder_locked(index->model().name));
    Entry entry{index, mtime, size};
    indexes_.insert_or_assign(std::string(name), std::move(entry));
    return index;
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

std::vector<std::string> Catalog::open_names() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    for (const auto& [name, entry] : indexes_) names.push_back(name);
    return names;
}

}  // namespace leann
