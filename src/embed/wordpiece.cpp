#include "embed/wordpiece.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <utility>

#include "leann/error.h"

namespace leann {

void Vocab::reserve(size_t tokens) {
    entries_.reserve(tokens);
    if (slots_.size() < 2 * tokens) rehash(std::bit_ceil(std::max<size_t>(16, 2 * tokens)));
}

uint64_t Vocab::hash_of(std::string_view token) {
    // FNV-1a, then a final mix so that the low bits (the slot index) depend on every byte.
    uint64_t h = 0xcbf29ce484222325ull;
    for (char c : token) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    return h ^ (h >> 32);
}

void Vocab::rehash(size_t slot_count) {
    slots_.assign(slot_count, 0);
    const size_t mask = slot_count - 1;
    for (size_t i = 0; i < entries_.size(); ++i) {
        size_t slot = entries_[i].hash & mask;
        while (slots_[slot] != 0) slot = (slot + 1) & mask;
        slots_[slot] = static_cast<uint32_t>(i + 1);
    }
}

void Vocab::add(std::string_view token, int32_t id) {
    if (id < 0) throw ModelError("vocabulary id " + std::to_string(id) + " is negative");
    if (arena_.size() + token.size() > std::numeric_limits<uint32_t>::max() ||
        entries_.size() >= std::numeric_limits<uint32_t>::max() / 4)
        throw ModelError("vocabulary too large");
    if (2 * (entries_.size() + 1) > slots_.size()) rehash(std::max<size_t>(16, 2 * slots_.size()));
    const uint64_t h = hash_of(token);
    const size_t mask = slots_.size() - 1;
    size_t slot = h & mask;
    for (; slots_[slot] != 0; slot = (slot + 1) & mask) {
        Entry& e = entries_[slots_[slot] - 1];
        if (e.hash == h && text_of(e) == token) {
            e.id = id;
            break;
        }
    }
    uint32_t index;
    if (slots_[slot] != 0) {
        index = slots_[slot] - 1;
    } else {
        index = static_cast<uint32_t>(entries_.size());
        entries_.push_back({h, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(token.size()), id});
        arena_.append(token);
        slots_[slot] = index + 1;
        max_token_bytes_ = std::max(max_token_bytes_, token.size());
    }
    if (static_cast<size_t>(id) >= by_id_.size()) by_id_.resize(static_cast<size_t>(id) + 1, 0);
    if (by_id_[id] == 0) by_id_[id] = index + 1;
    max_id_ = std::max(max_id_, id);
}

int32_t Vocab::find(std::string_view token) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash_of(token);
    const size_t mask = slots_.size() - 1;
    for (size_t slot = h & mask; slots_[slot] != 0; slot = (slot + 1) & mask) {
        const Entry& e = entries_[slots_[slot] - 1];
        if (e.hash == h && text_of(e) == token) return e.id;
    }
    return -1;
}

std::string_view Vocab::token(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= by_id_.size() || by_id_[id] == 0) return {};
    return text_of(entries_[by_id_[id] - 1]);
}

WordPiece::WordPiece(Vocab vocab, WordPieceOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)), unk_id_(vocab_.find(options_.unk_token)) {
    if (unk_id_ < 0) throw ModelError("unknown token \"" + options_.unk_token + "\" is not in the vocabulary");
}

void WordPiece::tokenize_word(std::string_view word, size_t char_count, std::vector<int32_t>& ids,
                              std::string& scratch) const {
    if (char_count > options_.max_input_chars_per_word) {
        ids.push_back(unk_id_);
        return;
    }
    const auto is_continuation_byte = [&](size_t i) { return (static_cast<unsigned char>(word[i]) & 0xC0) == 0x80; };
    const std::string_view prefix = options_.continuing_subword_prefix;
    const size_t max_bytes = vocab_.max_token_bytes();
    const size_t first_piece_size = ids.size();
    size_t start = 0;
    while (start < word.size()) {
        // No piece is longer than the longest token, so candidates start at that length (on a char boundary)
        // rather than at the whole rest of the word; the greedy result is the same.
        const size_t budget = start == 0 ? max_bytes : (max_bytes > prefix.size() ? max_bytes - prefix.size() : 0);
        size_t end = word.size();
        if (end - start > budget) {
            end = start + budget;
            while (end > start && is_continuation_byte(end)) --end;
        }
        if (start > 0) {
            scratch.assign(prefix);
            scratch.append(word.substr(start, end - start));
        }
        int32_t id = -1;
        while (end > start) {
            const std::string_view candidate =
                start == 0 ? word.substr(0, end) : std::string_view(scratch).substr(0, prefix.size() + end - start);
            id = vocab_.find(candidate);
            if (id >= 0) break;
            do {
                --end;
            } while (end > start && is_continuation_byte(end));
        }
        if (id < 0) {
            ids.resize(first_piece_size);
            ids.push_back(unk_id_);
            return;
        }
        ids.push_back(id);
        start = end;
    }
}

}  // namespace leann
