#include "keyword/keyword_index.h"

#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "keyword/keyword_tokenizer.h"
#include "leann/error.h"
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

std::vector<std::byte> SegmentBuilder::encode(int zstd_level) const {
    std::vector<uint32_t> order(term_names_.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return term_names_[a] < term_names_[b]; });
    std::string head, dict, dfs, posts, tfs;
    put_u32(head, kSegmentVersion);
    put_u32(head, first_node_);
    put_u32(head, count());
    put_u32(head, uint32_t(order.size()));
    for (uint32_t len : lengths_) put_varint(head, len);
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
    const std::string payload = head + dict + dfs + posts + tfs;
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
                                std::span<const uint8_t> deleted, const std::string& file) {
    KeywordIndex k;
    k.file_ = file;
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
    std::vector<Posting> postings, live;
    const double avg = std::max(average_length_, 1e-9);
    for (const auto& [t, bits] : all) {
        live.clear();
        for (const auto& seg : segments_) {
            const size_t id = seg->find(t);
            if (id == std::string_view::npos) continue;
            postings_of(*seg, id, postings);
            st.postings += postings.size();
            for (const Posting& p : postings)
                if (!is_deleted(p.node)) live.push_back(p);
        }
        if (live.empty()) continue;
        ++st.terms;
        const double df = double(live.size()), n = double(live_);
        const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
        for (const Posting& p : live) {
            const double tf = p.tf;
            const double norm = kBm25K1 * (1.0 - kBm25B + kBm25B * double(lengths_[p.node]) / avg);
            out.score[p.node] += float(idf * tf * (kBm25K1 + 1.0) / (tf + norm));
            if (!touched[p.node]) {
                touched[p.node] = 1;
                touched_list.push_back(p.node);
            }
            if (bits) found[p.node] |= bits;
        }
    }
    std::sort(touched_list.begin(), touched_list.end());
    for (uint32_t v : touched_list)
        if (groups == 0 || (found[v] & need) == need) out.matches.push_back(v);
    st.matches = out.matches.size();
    if (stats) *stats = st;
    return out;
}

void KeywordIndex::verify() const {
    std::vector<Posting> postings;
    for (const auto& seg : segments_)
        for (size_t t = 0; t < seg->df.size(); ++t) postings_of(*seg, t, postings);
}

std::vector<std::byte> merge_segments(const std::vector<std::span<const std::byte>>& segments, uint32_t nodes,
                                      std::span<const uint8_t> deleted, const std::string& file) {
    const KeywordIndex k = KeywordIndex::load(segments, nodes, deleted, file);
    SegmentBuilder merged(0);
    auto is_deleted = [&](uint32_t v) { return k.is_deleted(v); };
    for (uint32_t v = 0; v < nodes; ++v) merged.add_node(is_deleted(v) ? 0 : k.lengths_[v]);
    std::vector<KeywordIndex::Posting> postings;
    for (const auto& seg : k.segments_)
        for (size_t t = 0; t < seg->df.size(); ++t) {
            k.postings_of(*seg, t, postings);
            const std::string name(seg->term(t));
            for (const auto& p : postings)
                if (!is_deleted(p.node)) merged.add_posting(name, p.node, p.tf);
        }
    return merged.encode();
}

}  // namespace leann::keyword
