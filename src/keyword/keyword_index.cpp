#include "keyword/keyword_index.h"

#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <set>

#include "keyword/keyword_tokenizer.h"
#include "leann/error.h"
#include "store/passage_store.h"
#include "util/json_limits.h"

namespace leann::keyword {
namespace {

void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(char(uint8_t(v) | 0x80));
        v >>= 7;
    }
    out.push_back(char(v));
}

void put_u32(std::string& out, uint32_t v) {
    char b[4];
    std::memcpy(b, &v, 4);
    out.append(b, 4);
}

/// Bounds-checked reading of a decoded segment; `ok` turns false (and stays) at the first overrun.
struct Cursor {
    const uint8_t* p;
    const uint8_t* end;
    bool ok = true;
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p == end) break;
            const uint8_t b = *p++;
            v |= uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        ok = false;
        return 0;
    }
    uint32_t u32() {
        if (end - p < 4) {
            ok = false;
            return 0;
        }
        uint32_t v;
        std::memcpy(&v, p, 4);
        p += 4;
        return v;
    }
};

}  // namespace

// ---- writing ----

TermStyle term_style(std::string_view metadata_json) {
    // Only a "type" key can make a chunk code; most metadata have none, and those skip the parse.
    if (metadata_json.find("\"type\"") == std::string_view::npos) return TermStyle::prose;
    const nlohmann::json meta = json_limits::parse_or_discarded(metadata_json);
    if (!meta.is_object()) return TermStyle::prose;
    const auto type = meta.find("type");
    return type != meta.end() && type->is_string() && type->get_ref<const std::string&>() == "code" ? TermStyle::exact
                                                                                                   : TermStyle::prose;
}

void SegmentBuilder::add_text(std::string_view text, TermStyle style) {
    std::vector<std::string> terms = index_terms(text, style);
    const uint32_t node = first_node_ + count();
    add_node(uint32_t(std::min<size_t>(terms.size(), UINT32_MAX)));
    std::sort(terms.begin(), terms.end());
    for (size_t i = 0; i < terms.size();) {
        size_t j = i + 1;
        while (j < terms.size() && terms[j] == terms[i]) ++j;
        add_posting(terms[i], node, uint32_t(j - i));
        i = j;
    }
}

void SegmentBuilder::add_node(uint32_t length) {
    if (uint64_t(first_node_) + lengths_.size() >= UINT32_MAX) throw Error("keyword index: too many nodes");
    lengths_.push_back(length);
}

void SegmentBuilder::add_posting(const std::string& term, uint32_t node, uint32_t tf) {
    auto [it, fresh] = term_ids_.try_emplace(term, uint32_t(term_names_.size()));
    if (fresh) {
        term_names_.push_back(term);
        postings_.emplace_back();
    }
    auto& list = postings_[it->second];
    list.push_back(node - first_node_);
    list.push_back(tf);
}

PassageReader passage_reader(const store::PassageStore& passages) {
    return [&passages](std::span<const uint32_t> nodes,
                       const std::function<void(uint32_t, std::string_view, std::string_view)>& each) {
        passages.visit(nodes, [&](size_t i, std::string_view, std::string_view text, std::string_view metadata) {
            each(nodes[i], text, metadata);
        });
    };
}

uint64_t term_hash(std::string_view term) { return XXH3_64bits(term.data(), term.size()); }

namespace {

/// Bucket size (as a shift) for a segment: about `bucket_terms` terms per bucket at its average length.
uint32_t bucket_shift(uint32_t nodes, uint64_t terms, double bucket_terms) {
    if (nodes == 0 || terms == 0) return 0;
    const double per_node = double(terms) / double(nodes);
    return uint32_t(std::clamp(std::lround(std::log2(std::max(bucket_terms, 1.0) / per_node)), 0L, 20L));
}

/// Bits a segment keeps of its rare terms' hashes: log2 of their number, rounded up, plus kHashExtraBits.
uint32_t hash_bits(size_t rare_terms) {
    return std::min<uint32_t>(64, uint32_t(std::bit_width(std::max<size_t>(rare_terms, 1) - 1)) + kHashExtraBits);
}

uint64_t cut_hash(uint64_t hash, uint32_t bits) { return bits >= 64 ? hash : hash >> (64 - bits); }

}  // namespace

std::vector<std::byte> SegmentBuilder::encode(int zstd_level, uint32_t rare_df, double bucket_terms) const {
    std::vector<uint32_t> order, rare;
    // Rare: in few nodes, none of them long (a long node's terms are all by name, so readers never tokenize it).
    auto is_rare = [&](uint32_t t) {
        if (postings_[t].size() / 2 > rare_df) return false;
        for (size_t i = 0; i < postings_[t].size(); i += 2)
            if (lengths_[postings_[t][i]] > kLongNodeTerms) return false;
        return true;
    };
    for (uint32_t t = 0; t < term_names_.size(); ++t) (is_rare(t) ? rare : order).push_back(t);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return term_names_[a] < term_names_[b]; });
    const uint32_t shift =
        bucket_shift(count(), std::accumulate(lengths_.begin(), lengths_.end(), uint64_t{0}), bucket_terms);
    const uint32_t bits = rare.empty() ? 0 : hash_bits(rare.size());
    // Rare terms by hash (terms whose cut hashes collide share an entry: the union of their buckets).
    std::map<uint64_t, std::set<uint32_t>> by_hash;
    for (uint32_t t : rare) {
        auto& buckets = by_hash[cut_hash(term_hash(term_names_[t]), bits)];
        for (size_t i = 0; i < postings_[t].size(); i += 2) buckets.insert(postings_[t][i] >> shift);
    }
    std::string head, dict, dfs, posts, tfs, hashes, bucket_counts, bucket_gaps;
    put_u32(head, kSegmentVersion);
    put_u32(head, first_node_);
    put_u32(head, count());
    put_u32(head, uint32_t(order.size()));
    put_u32(head, uint32_t(by_hash.size()));
    put_u32(head, shift);
    put_u32(head, bits);
    for (uint32_t len : lengths_) put_varint(head, len);
    uint64_t previous_hash = 0;
    for (const auto& [hash, buckets] : by_hash) {
        put_varint(hashes, hash - previous_hash);  // the first as is, then gaps (>= 1)
        previous_hash = hash;
        put_varint(bucket_counts, buckets.size());
        uint32_t last = 0;
        for (uint32_t b : buckets) {
            put_varint(bucket_gaps, b - last);
            last = b;
        }
    }
    std::string_view previous;
    for (uint32_t t : order) {
        const std::string& name = term_names_[t];
        size_t prefix = 0;
        while (prefix < previous.size() && prefix < name.size() && previous[prefix] == name[prefix]) ++prefix;
        const auto& list = postings_[t];
        uint32_t last = 0;
        for (size_t i = 0; i < list.size(); i += 2) {
            const uint32_t gap = list[i] - last;  // the first posting's gap is its local node id
            last = list[i];
            put_varint(posts, gap);
            put_varint(tfs, std::max<uint32_t>(1, list[i + 1]) - 1);  // mostly zeros: zstd all but removes them
        }
        put_varint(dict, prefix);
        put_varint(dict, name.size() - prefix);
        dict.append(name, prefix);
        put_varint(dfs, list.size() / 2);
        previous = name;
    }
    // Terms, document frequencies and postings as separate streams: zstd finds more to share in each alone.
    const std::string payload = head + dict + dfs + posts + tfs + hashes + bucket_counts + bucket_gaps;
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    if (!cctx) throw Error("keyword index: out of memory");
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, zstd_level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    std::vector<std::byte> out(ZSTD_compressBound(payload.size()));
    const size_t n = ZSTD_compress2(cctx, out.data(), out.size(), payload.data(), payload.size());
    ZSTD_freeCCtx(cctx);
    if (ZSTD_isError(n)) throw Error(std::string("keyword index: zstd: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

// ---- reading ----

struct KeywordIndex::Segment {
    uint32_t first = 0, count = 0;
    std::string payload;
    std::string terms;                   // the dictionary's terms, back to back
    std::vector<uint32_t> term_end;      // end of term i in `terms`
    std::vector<uint32_t> df;            // postings per term (deleted nodes included)
    std::vector<uint64_t> post_begin;    // term i's node gaps: payload[post_begin[i], post_begin[i+1])
    std::vector<uint64_t> tf_begin;      // term i's tf - 1 values: payload[tf_begin[i], tf_begin[i+1])
    // Rare terms (version 3): cut hashes, ascending; entry i's buckets are buckets[rare_end[i-1], rare_end[i]).
    uint32_t shift = 0, hash_bits = 0;
    std::vector<uint64_t> rare_hash;
    std::vector<uint32_t> rare_end;
    std::vector<uint32_t> buckets;

    /// The nodes [begin, end) of bucket b.
    std::pair<uint32_t, uint32_t> bucket_nodes(uint32_t b) const {
        const uint64_t begin = uint64_t(first) + (uint64_t(b) << shift);
        return {uint32_t(begin), uint32_t(std::min<uint64_t>(uint64_t(first) + count, begin + (uint64_t{1} << shift)))};
    }
    /// Index of the rare entry whose cut hash is that of `hash`, or npos.
    size_t find_rare(uint64_t hash) const {
        if (rare_hash.empty()) return std::string_view::npos;
        const uint64_t h = cut_hash(hash, hash_bits);
        const auto it = std::lower_bound(rare_hash.begin(), rare_hash.end(), h);
        return it != rare_hash.end() && *it == h ? size_t(it - rare_hash.begin()) : std::string_view::npos;
    }

    std::string_view term(size_t i) const {
        const uint32_t b = i ? term_end[i - 1] : 0;
        return std::string_view(terms).substr(b, term_end[i] - b);
    }
    /// Index of `t` in the sorted dictionary, or npos.
    size_t find(std::string_view t) const {
        size_t lo = 0, hi = df.size();
        while (lo < hi) {
            const size_t mid = (lo + hi) / 2;
            if (term(mid) < t)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < df.size() && term(lo) == t ? lo : std::string_view::npos;
    }
};

void KeywordIndex::fail(const std::string& what) const {
    throw FormatError(file_ + ": section KWIX: " + what + " (file is corrupt)");
}

KeywordIndex KeywordIndex::load(const std::vector<std::span<const std::byte>>& segments, uint32_t nodes,
                                std::span<const uint8_t> deleted, const std::string& file, PassageReader passages) {
    KeywordIndex k;
    k.file_ = file;
    k.passages_ = std::move(passages);
    k.nodes_ = nodes;
    k.deleted_ = deleted;
    k.lengths_.reserve(nodes);
    for (size_t si = 0; si < segments.size(); ++si) {
        const auto& bytes = segments[si];
        const std::string seg_name = "segment " + std::to_string(si + 1);
        const unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
        if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
            k.fail(seg_name + ": not a zstd frame with a content size");
        if (size > kMaxSegmentBytes || size > 64 * uint64_t(bytes.size()) + (uint64_t{1} << 24))
            k.fail(seg_name + ": implausible decompressed size " + std::to_string(size));
        auto s = std::make_shared<Segment>();
        s->payload.resize(size_t(size));
        const size_t got = ZSTD_decompress(s->payload.data(), s->payload.size(), bytes.data(), bytes.size());
        if (ZSTD_isError(got) || got != s->payload.size()) k.fail(seg_name + ": corrupt zstd frame");
        const auto* base = reinterpret_cast<const uint8_t*>(s->payload.data());
        Cursor c{base, base + s->payload.size()};
        const uint32_t version = c.u32();
        s->first = c.u32();
        s->count = c.u32();
        const uint32_t term_count = c.u32();
        if (!c.ok) k.fail(seg_name + ": truncated header");
        if (version < kOldestSegmentVersion || version > kSegmentVersion) k.fail(seg_name + ": unknown version " + std::to_string(version));
        uint32_t rare_count = 0;
        if (version >= 3) {
            rare_count = c.u32();
            s->shift = c.u32();
            s->hash_bits = c.u32();
            if (!c.ok) k.fail(seg_name + ": truncated header");
            if (s->shift > 31 || s->hash_bits > 64 || (rare_count > 0 && s->hash_bits == 0) ||
                rare_count > s->payload.size())
                k.fail(seg_name + ": implausible rare-term header (" + std::to_string(rare_count) + " entries, shift " +
                       std::to_string(s->shift) + ", " + std::to_string(s->hash_bits) + " hash bits)");
        }
        if (s->first != k.lengths_.size() || uint64_t(s->first) + s->count > nodes)
            k.fail(seg_name + ": covers nodes " + std::to_string(s->first) + ".." +
                   std::to_string(uint64_t(s->first) + s->count) + ", expected to start at " +
                   std::to_string(k.lengths_.size()) + " of " + std::to_string(nodes));
        if (term_count > s->payload.size()) k.fail(seg_name + ": implausible term count");
        for (uint32_t i = 0; i < s->count; ++i) {
            const uint64_t len = c.varint();
            if (len > UINT32_MAX) c.ok = false;
            k.lengths_.push_back(uint32_t(len));
        }
        if (!c.ok) k.fail(seg_name + ": node lengths run past the end");
        s->term_end.reserve(term_count);
        s->df.reserve(term_count);
        s->post_begin.reserve(size_t(term_count) + 1);
        s->tf_begin.reserve(size_t(term_count) + 1);
        std::string previous;
        for (uint32_t t = 0; t < term_count; ++t) {
            const uint64_t prefix = c.varint(), suffix = c.varint();
            if (!c.ok || prefix > previous.size() || suffix > uint64_t(c.end - c.p) || prefix + suffix == 0 ||
                prefix + suffix > kMaxTermBytes * 4)
                k.fail(seg_name + ": dictionary entry " + std::to_string(t) + " is malformed");
            std::string name = previous.substr(0, prefix);
            name.append(reinterpret_cast<const char*>(c.p), suffix);
            c.p += suffix;
            if (t > 0 && !(previous < name)) k.fail(seg_name + ": dictionary is not sorted");
            s->terms += name;
            s->term_end.push_back(uint32_t(s->terms.size()));
            previous = std::move(name);
        }
        for (uint32_t t = 0; t < term_count; ++t) {
            const uint64_t df = c.varint();
            if (!c.ok || df == 0 || df > s->count)
                k.fail(seg_name + ": document frequency of '" + std::string(s->term(t)) + "' is malformed");
            s->df.push_back(uint32_t(df));
        }
        // Where each term's postings start: found by reading them all once, which also checks every node id.
        for (uint32_t t = 0; t < term_count; ++t) {
            s->post_begin.push_back(uint64_t(c.p - base));
            uint64_t node = 0;
            for (uint32_t i = 0; i < s->df[t]; ++i) {
                const uint64_t gap = c.varint();
                if (i > 0 && gap == 0) c.ok = false;
                node += gap;
                if (!c.ok || node >= s->count)
                    k.fail(seg_name + ": postings of '" + std::string(s->term(t)) + "' are malformed");
            }
        }
        s->post_begin.push_back(uint64_t(c.p - base));
        for (uint32_t t = 0; t < term_count; ++t) {
            s->tf_begin.push_back(uint64_t(c.p - base));
            for (uint32_t i = 0; i < s->df[t]; ++i)
                if (c.varint() > UINT32_MAX - 1 || !c.ok)
                    k.fail(seg_name + ": term frequencies of '" + std::string(s->term(t)) + "' are malformed");
        }
        s->tf_begin.push_back(uint64_t(c.p - base));
        // Rare terms: hashes ascending and below 2^bits, then each one's bucket count, then the buckets ascending.
        const uint64_t bucket_total = s->count ? ((uint64_t(s->count) - 1) >> s->shift) + 1 : 0;
        s->rare_hash.reserve(rare_count);
        for (uint32_t r = 0; r < rare_count; ++r) {
            const uint64_t gap = c.varint();
            const uint64_t h = (r ? s->rare_hash.back() : 0) + gap;
            if (!c.ok || (r > 0 && (gap == 0 || h < gap)) || (s->hash_bits < 64 && (h >> s->hash_bits) != 0))
                k.fail(seg_name + ": rare-term hash " + std::to_string(r) + " is malformed");
            s->rare_hash.push_back(h);
        }
        s->rare_end.reserve(rare_count);
        uint64_t total_buckets = 0;
        for (uint32_t r = 0; r < rare_count; ++r) {
            const uint64_t n = c.varint();
            total_buckets += n;
            if (!c.ok || n == 0 || n > bucket_total || total_buckets > s->payload.size() || total_buckets >= UINT32_MAX)
                k.fail(seg_name + ": bucket count of rare-term entry " + std::to_string(r) + " is malformed");
            s->rare_end.push_back(uint32_t(total_buckets));
        }
        s->buckets.reserve(size_t(total_buckets));
        for (uint32_t r = 0; r < rare_count; ++r) {
            uint64_t b = 0;
            for (uint32_t i = r ? s->rare_end[r - 1] : 0; i < s->rare_end[r]; ++i) {
                const uint64_t gap = c.varint();
                if (i > (r ? s->rare_end[r - 1] : 0) && gap == 0) c.ok = false;
                b += gap;
                if (!c.ok || b >= bucket_total)
                    k.fail(seg_name + ": buckets of rare-term entry " + std::to_string(r) + " are malformed");
                s->buckets.push_back(uint32_t(b));
            }
        }
        if (c.p != c.end) k.fail(seg_name + ": " + std::to_string(c.end - c.p) + " bytes after the postings");
        k.segments_.push_back(std::move(s));
    }
    if (k.lengths_.size() != nodes)
        k.fail("segments cover " + std::to_string(k.lengths_.size()) + " nodes, the index has " +
               std::to_string(nodes));
    uint64_t total = 0;
    for (uint32_t v = 0; v < nodes; ++v)
        if (!k.is_deleted(v)) {
            ++k.live_;
            total += k.lengths_[v];
        }
    k.average_length_ = k.live_ ? double(total) / double(k.live_) : 0;
    return k;
}

void KeywordIndex::postings_of(const Segment& s, size_t term, std::vector<Posting>& out) const {
    const auto* base = reinterpret_cast<const uint8_t*>(s.payload.data());
    Cursor c{base + s.post_begin[term], base + s.post_begin[term + 1]};
    Cursor f{base + s.tf_begin[term], base + s.tf_begin[term + 1]};
    uint64_t node = 0;
    out.clear();
    for (uint32_t i = 0; i < s.df[term]; ++i) {
        const uint64_t gap = c.varint();
        node += gap;
        if (i > 0 && gap == 0) c.ok = false;
        const uint64_t tf = f.varint() + 1;
        if (!c.ok || !f.ok || node >= s.count || tf > UINT32_MAX)
            fail("segment starting at node " + std::to_string(s.first) + ": postings of '" + std::string(s.term(term)) +
                 "' are malformed");
        out.push_back({uint32_t(s.first + node), uint32_t(tf)});
    }
    if (c.p != c.end || f.p != f.end)
        fail("segment starting at node " + std::to_string(s.first) + ": postings of '" + std::string(s.term(term)) +
             "' have trailing bytes");
}

KeywordIndex::Scores KeywordIndex::score(std::span<const std::string> terms,
                                         std::span<const std::vector<std::string>> required, KeywordStats* stats) const {
    Scores out;
    out.score.assign(nodes_, 0.0f);
    KeywordStats st;
    // Every distinct term once, with the bit set of the required groups it satisfies.
    std::vector<std::pair<std::string_view, uint64_t>> all;
    auto add = [&](std::string_view t, uint64_t bits) {
        for (auto& [term, mask] : all)
            if (term == t) {
                mask |= bits;
                return;
            }
        all.emplace_back(t, bits);
    };
    for (const auto& t : terms) add(t, 0);
    const size_t groups = std::min<size_t>(required.size(), 64);
    const uint64_t need = groups == 64 ? ~uint64_t{0} : (uint64_t{1} << groups) - 1;
    for (size_t g = 0; g < groups; ++g)
        for (const auto& t : required[g]) add(t, uint64_t{1} << g);
    std::vector<uint64_t> found(groups ? nodes_ : 0, 0);
    std::vector<uint8_t> touched(nodes_, 0);
    std::vector<uint32_t> touched_list;
    // Each term's live postings: from the dictionaries, and from reading the buckets of its rare entries.
    std::vector<std::vector<Posting>> live(all.size());
    struct Pending {
        size_t term;
        uint32_t begin, end;  // nodes to read
    };
    std::vector<Pending> pending;
    std::vector<Posting> postings;
    for (size_t i = 0; i < all.size(); ++i) {
        const std::string_view t = all[i].first;
        const uint64_t hash = term_hash(t);
        for (const auto& seg : segments_) {
            // A segment holds a term by name or by hash, never both: a dictionary term whose cut hash collides
            // with a rare entry must not be counted again from that entry's buckets.
            if (const size_t id = seg->find(t); id != std::string_view::npos) {
                postings_of(*seg, id, postings);
                st.postings += postings.size();
                for (const Posting& p : postings)
                    if (!is_deleted(p.node)) live[i].push_back(p);
            } else if (const size_t r = seg->find_rare(hash); r != std::string_view::npos) {
                for (uint32_t j = r ? seg->rare_end[r - 1] : 0; j < seg->rare_end[r]; ++j) {
                    const auto [begin, end] = seg->bucket_nodes(seg->buckets[j]);
                    pending.push_back({i, begin, end});
                }
                if (pending.size() > kMaxBucketReads)
                    fail("a keyword query would read more than " + std::to_string(kMaxBucketReads) +
                         " buckets (rare-term entries naming implausibly many)");
            }
        }
    }
    if (!pending.empty()) {
        // Each node once, in order; for each, the terms whose buckets cover it (ranges of one term never
        // overlap, so at most one active range per term): linear in the nodes read and the query's terms.
        std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) { return a.begin < b.begin; });
        std::vector<uint32_t> read;  // the union of the ranges, ascending
        uint32_t covered = 0;
        for (const Pending& p : pending) {
            for (uint32_t v = std::max(p.begin, covered); v < p.end; ++v)
                if (!is_deleted(v) && lengths_[v] <= kLongNodeTerms) read.push_back(v);
            covered = std::max(covered, p.end);
        }
        size_t next = 0;
        std::vector<const Pending*> active;
        read_passages(read, [&](uint32_t v, std::string_view text, std::string_view metadata) {
            ++st.passages_read;
            std::erase_if(active, [&](const Pending* p) { return p->end <= v; });
            while (next < pending.size() && pending[next].begin <= v) {
                if (v < pending[next].end) active.push_back(&pending[next]);
                ++next;
            }
            if (active.empty()) return;
            const std::vector<std::string> terms = index_terms(text, term_style(metadata));
            for (const Pending* p : active) {
                const auto tf = std::count(terms.begin(), terms.end(), all[p->term].first);
                if (tf > 0) {
                    live[p->term].push_back({v, uint32_t(tf)});
                    ++st.postings;
                }
            }
        });
    }
    const double avg = std::max(average_length_, 1e-9);
    for (size_t i = 0; i < all.size(); ++i) {
        if (live[i].empty()) continue;
        ++st.terms;
        const double df = double(live[i].size()), n = double(live_);
        const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
        for (const Posting& p : live[i]) {
            const double tf = p.tf;
            const double norm = kBm25K1 * (1.0 - kBm25B + kBm25B * double(lengths_[p.node]) / avg);
            out.score[p.node] += float(idf * tf * (kBm25K1 + 1.0) / (tf + norm));
            if (!touched[p.node]) {
                touched[p.node] = 1;
                touched_list.push_back(p.node);
            }
            if (all[i].second) found[p.node] |= all[i].second;
        }
    }
    std::sort(touched_list.begin(), touched_list.end());
    for (uint32_t v : touched_list)
        if (groups == 0 || (found[v] & need) == need) out.matches.push_back(v);
    st.matches = out.matches.size();
    if (stats) *stats = st;
    return out;
}

void KeywordIndex::read_passages(std::span<const uint32_t> nodes,
                                 const std::function<void(uint32_t, std::string_view, std::string_view)>& each) const {
    if (nodes.empty()) return;
    if (!passages_) throw Error(file_ + ": the keyword index needs the passages to look up rare terms");
    passages_(nodes, each);
}

void KeywordIndex::verify() const {
    std::vector<Posting> postings;
    for (const auto& seg : segments_) {
        for (size_t t = 0; t < seg->df.size(); ++t) postings_of(*seg, t, postings);
        if (seg->rare_hash.empty()) continue;
        // The rare entries against the text: every term of a live node that is not in the dictionary must be in
        // the entry of its hash with the node's bucket (nothing lost), and every (entry, bucket) must come from
        // such a term of some node in the bucket (nothing invented; deleted nodes may still hold it). Only pairs
        // that are or should be entries are kept, so memory follows the rare postings, not the text.
        std::set<std::pair<size_t, uint32_t>> seen;  // (entry, bucket)
        std::vector<uint32_t> all(seg->count);
        std::iota(all.begin(), all.end(), seg->first);
        read_passages(all, [&](uint32_t v, std::string_view text, std::string_view metadata) {
            const uint32_t bucket = (v - seg->first) >> seg->shift;
            for (const auto& term : index_terms(text, term_style(metadata))) {
                if (seg->find(term) != std::string_view::npos) continue;
                const size_t r = seg->find_rare(term_hash(term));
                const uint32_t* b = r == std::string_view::npos ? nullptr : seg->buckets.data() + (r ? seg->rare_end[r - 1] : 0);
                const uint32_t* e = r == std::string_view::npos ? nullptr : seg->buckets.data() + seg->rare_end[r];
                if (r != std::string_view::npos && std::binary_search(b, e, bucket))
                    seen.insert({r, bucket});
                else if (!is_deleted(v))
                    fail("segment starting at node " + std::to_string(seg->first) + ": node " + std::to_string(v) +
                         " holds the term '" + term + "', which is neither in the dictionary nor in a rare-term entry "
                         "with its bucket (a changed tokenizer reads old text differently, see docs/format.md)");
            }
        });
        for (size_t r = 0; r < seg->rare_hash.size(); ++r)
            for (uint32_t j = r ? seg->rare_end[r - 1] : 0; j < seg->rare_end[r]; ++j)
                if (!seen.count({r, seg->buckets[j]}))
                    fail("segment starting at node " + std::to_string(seg->first) + ": rare-term entry " +
                         std::to_string(r) + " names bucket " + std::to_string(seg->buckets[j]) +
                         ", whose passages have no such term");
    }
}

std::pair<uint32_t, uint32_t> segment_nodes(std::span<const std::byte> segment, const std::string& file) {
    auto bad = [&](const std::string& what) -> std::pair<uint32_t, uint32_t> {
        throw FormatError(file + ": section KWIX: " + what + " (file is corrupt)");
    };
    // The header is the first 12 bytes of the frame's content: decompress just those.
    ZSTD_DStream* z = ZSTD_createDStream();
    if (!z) throw Error("keyword index: out of memory");
    uint8_t head[12];
    ZSTD_inBuffer in{segment.data(), segment.size(), 0};
    ZSTD_outBuffer out{head, sizeof head, 0};
    size_t rc = 0;
    while (out.pos < out.size && in.pos < in.size) {
        rc = ZSTD_decompressStream(z, &out, &in);
        if (ZSTD_isError(rc) || rc == 0) break;
    }
    ZSTD_freeDStream(z);
    if (ZSTD_isError(rc) || out.pos < out.size) return bad("segment header is unreadable");
    uint32_t first, count;
    std::memcpy(&first, head + 4, 4);
    std::memcpy(&count, head + 8, 4);
    return {first, count};
}

}  // namespace leann::keyword
