#include "search/vector_source.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "leann/error.h"
#include "store/passage_store.h"
#include "util/distance.h"

namespace leann::search {

FetchCounts OracleSource::fetch(std::span<const uint32_t> nodes, float* out) {
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (nodes[i] >= rows_) throw Error("oracle: node " + std::to_string(nodes[i]) + " out of range");
        std::memcpy(out + i * dim_, matrix_ + size_t(nodes[i]) * dim_, dim_ * sizeof(float));
    }
    return {.computed = nodes.size(), .batches = nodes.empty() ? 0u : 1u};
}

EncoderSource::EncoderSource(Encoder& encoder, const store::PassageStore& passages, bool normalize)
    : encoder_(encoder), passages_(passages), normalize_(normalize) {}

size_t EncoderSource::dim() const { return encoder_.dims(); }

FetchCounts EncoderSource::fetch(std::span<const uint32_t> nodes, float* out) {
    if (nodes.empty()) return {};
    std::vector<store::Passage> passages = passages_.get_many(nodes);
    std::vector<std::string_view> texts;
    texts.reserve(passages.size());
    for (const auto& p : passages) texts.emplace_back(p.text);
    const size_t d = encoder_.dims();
    encoder_.encode(texts, std::span<float>(out, nodes.size() * d), TextRole::passage);
    if (normalize_)
        for (size_t i = 0; i < nodes.size(); ++i) normalize(out + i * d, d);
    return {.computed = nodes.size(), .batches = 1};
}

CachedSource::CachedSource(VectorSource& inner, std::span<const uint32_t> hub_ids, std::span<const float> hub_vectors,
                           size_t lru_capacity)
    : inner_(inner), hub_ids_(hub_ids), hub_vectors_(hub_vectors), capacity_(lru_capacity) {
    if (hub_vectors_.size() != hub_ids_.size() * inner_.dim()) throw Error("hub cache: vectors do not match ids");
}

const float* CachedSource::hub_row(uint32_t node) const {
    auto it = std::lower_bound(hub_ids_.begin(), hub_ids_.end(), node);
    if (it == hub_ids_.end() || *it != node) return nullptr;
    return hub_vectors_.data() + size_t(it - hub_ids_.begin()) * inner_.dim();
}

FetchCounts CachedSource::fetch(std::span<const uint32_t> nodes, float* out) {
    const size_t d = inner_.dim();
    FetchCounts counts;
    std::vector<uint32_t> missing;
    std::vector<size_t> missing_rows;
    {
        std::lock_guard lock(mutex_);
        for (size_t i = 0; i < nodes.size(); ++i) {
            if (const float* hub = hub_row(nodes[i])) {
                std::memcpy(out + i * d, hub, d * sizeof(float));
                ++counts.hub_hits;
                continue;
            }
            auto it = entries_.find(nodes[i]);
            if (it != entries_.end()) {
                order_.splice(order_.begin(), order_, it->second.pos);
                std::memcpy(out + i * d, slab_.data() + it->second.slot * d, d * sizeof(float));
                ++counts.lru_hits;
                continue;
            }
            missing.push_back(nodes[i]);
            missing_rows.push_back(i);
        }
    }
    if (missing.empty()) return counts;
    std::vector<float> computed(missing.size() * d);
    FetchCounts inner = inner_.fetch(missing, computed.data());
    counts.computed = inner.computed;
    counts.batches = inner.batches;
    for (size_t j = 0; j < missing.size(); ++j)
        std::memcpy(out + missing_rows[j] * d, computed.data() + j * d, d * sizeof(float));
    if (capacity_ == 0) return counts;
    std::lock_guard lock(mutex_);
    for (size_t j = 0; j < missing.size(); ++j) {
        if (entries_.count(missing[j])) continue;  // another thread cached it meanwhile
        size_t slot;
        if (entries_.size() < capacity_) {
            if (free_slots_.empty()) {
                slot = slab_.size() / d;
                slab_.resize(slab_.size() + d);
            } else {
                slot = free_slots_.back();
                free_slots_.pop_back();
            }
        } else {  // evict the least recently used
            const uint32_t victim = order_.back();
            order_.pop_back();
            slot = entries_.at(victim).slot;
            entries_.erase(victim);
        }
        std::memcpy(slab_.data() + slot * d, computed.data() + j * d, d * sizeof(float));
        order_.push_front(missing[j]);
        entries_.emplace(missing[j], Entry{order_.begin(), slot});
    }
    return counts;
}

void CachedSource::clear_lru() {
    std::lock_guard lock(mutex_);
    order_.clear();
    entries_.clear();
    slab_.clear();
    free_slots_.clear();
}

size_t CachedSource::lru_size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace leann::search
