// index room: the next generation of an index file, and compaction.
//
// An update appends, after the committed end of the file: the passages, PQ codes and text hashes of the nodes it
// adds (new segments of PSGD, PQCD and CHSH), the layer-0 rows it changed (a G0PT patch), and new copies of the
// small sections (INFO, META, TOMB, SRCS, PSGI, and GUPR when the upper layers changed); then a table listing the
// sections of the new generation, old and new, and finally the other header slot. Sections that did not change
// are listed again, not rewritten, so the bytes written follow the size of the change. When patches grow past a
// quarter of the base graph, layer 0 is written whole instead (a checkpoint); too many segments are joined.
#include "index/generation.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <nlohmann/json.hpp>

#include "graph/update.h"
#include "index/build.h"
#include "index/index_impl.h"
#include "index/layout.h"
#include "keyword/keyword_index.h"
#include "leann/error.h"
#include "leann/version.h"
#include "store/index_file.h"
#include "store/passage_store.h"
#include "util/distance.h"

namespace leann::index {
namespace {

using IndexImpl = detail::IndexInternals::Impl;

constexpr size_t kMaxSegments = 32;       // more segments of one tag than this: join them
constexpr double kCheckpointShare = 0.25;  // patched edges over base edges that trigger a whole layer 0

template <class T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
    return std::as_bytes(std::span<const T>(v));
}

/// Distances during an update: exact vectors for the inserted nodes, PQ reconstructions for the others (a moved
/// node has its source's code). Decoded on the fly, so it is thread-safe.
class PqDistances final : public graph::UpdateDistances {
public:
    PqDistances(const IndexImpl& x, const Change& change, std::span<const uint8_t> new_codes)
        : x_(x), dim_(x.info.dim), old_nodes_(x.info.nodes), moves_(change.moves.size()), change_(change),
          new_codes_(new_codes) {}

    float to(const float* vector, uint32_t id) const override {
        thread_local std::vector<float> a;
        return distance(x_.metric, vector, vector_of(id, a), dim_);
    }
    float between(uint32_t p, uint32_t q) const override {
        thread_local std::vector<float> a, b;
        return distance(x_.metric, vector_of(p, a), vector_of(q, b), dim_);
    }

private:
    const float* vector_of(uint32_t id, std::vector<float>& buffer) const {
        const size_t code_size = x_.quantizer.code_size();
        if (id >= old_nodes_ + moves_) return change_.vectors.data() + size_t(id - old_nodes_ - moves_) * dim_;
        const uint8_t* code = id < old_nodes_ ? x_.context.codes.data() + size_t(id) * code_size
                                              : new_codes_.data() + size_t(id - old_nodes_) * code_size;
        buffer.resize(dim_);
        x_.quantizer.decode(code, buffer.data());
        return buffer.data();
    }

    const IndexImpl& x_;
    size_t dim_, old_nodes_, moves_;
    const Change& change_;
    std::span<const uint8_t> new_codes_;
};

std::vector<uint8_t> tomb_bits(const std::vector<uint8_t>& deleted) {
    std::vector<uint8_t> bits((deleted.size() + 7) / 8, 0);
    for (size_t n = 0; n < deleted.size(); ++n)
        if (deleted[n]) bits[n >> 3] |= uint8_t(1u << (n & 7));
    return bits;
}

graph::Csr rows_to_csr(const std::vector<std::vector<uint32_t>>& rows) {
    graph::Csr csr;
    csr.offsets.assign(1, 0);
    for (const auto& row : rows) {
        csr.neighbors.insert(csr.neighbors.end(), row.begin(), row.end());
        if (csr.neighbors.size() > UINT32_MAX) throw Error("graph: layer 0 has more than 2^32-1 edges");
        csr.offsets.push_back(uint32_t(csr.neighbors.size()));
    }
    return csr;
}

void add_text(store::IndexFileWriter& out, uint32_t tag, const std::string& text) {
    out.add_section(tag, std::as_bytes(std::span<const char>(text.data(), text.size())));
}


// The hub cache (exact vectors of high-degree nodes, within the build's budget) follows the graph: a moved hub keeps
// its vector under its new id, a deleted one leaves, and the room that frees (or that the budget never used) goes to
// the inserted chunks with the highest in-degree now, the only nodes whose exact vectors are at hand.
struct HubCache {
    std::vector<uint32_t> ids;
    std::vector<float> vectors;
    bool changed = false;
};

HubCache follow_hubs(const IndexImpl& x, const Change& change, const graph::MutableGraph& g, uint32_t first_move,
                     uint32_t first_insert) {
    const size_t dim = x.info.dim;
    const size_t budget = x.meta.contains("hub_cache") && x.meta["hub_cache"].is_object()
                              ? x.meta["hub_cache"].value("budget_bytes", size_t{0})
                              : 0;
    const size_t capacity = budget / (dim * sizeof(float) + sizeof(uint32_t));
    std::map<uint32_t, uint32_t> moved;
    for (size_t i = 0; i < change.moves.size(); ++i) moved[change.moves[i].from] = uint32_t(first_move + i);
    std::vector<std::pair<uint32_t, const float*>> entries;
    HubCache out;
    for (size_t i = 0; i < x.hub_ids.size(); ++i) {
        uint32_t id = x.hub_ids[i];
        if (const auto it = moved.find(id); it != moved.end()) {
            id = it->second;
            out.changed = true;
        } else if (g.deleted[id]) {
            out.changed = true;
            continue;
        }
        entries.emplace_back(id, x.hub_vectors.data() + i * dim);
    }
    if (entries.size() < capacity && !change.inserts.empty()) {
        std::vector<uint32_t> in_degree(change.inserts.size(), 0);
        for (uint32_t v = 0; v < g.nodes(); ++v)
            if (!g.deleted[v])
                for (uint32_t u : g.rows[v])
                    if (u >= first_insert) ++in_degree[u - first_insert];
        std::vector<uint32_t> order(change.inserts.size());
        std::iota(order.begin(), order.end(), 0u);
        std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return in_degree[a] > in_degree[b]; });
        for (uint32_t i : order) {
            if (entries.size() >= capacity || in_degree[i] == 0) break;
            entries.emplace_back(first_insert + i, change.vectors.data() + size_t(i) * dim);
            out.changed = true;
        }
    }
    if (!out.changed) return out;
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [id, vector] : entries) {
        out.ids.push_back(id);
        out.vectors.insert(out.vectors.end(), vector, vector + dim);
    }
    return out;
}
}  // namespace

GenerationStats append_generation(const std::filesystem::path& path, const Index& index, const Change& change,
                                  const GraphOptions& graph_options, size_t threads, const StageProgress& progress) {
    const IndexImpl& x = detail::IndexInternals::of(index);
    const size_t n = x.info.nodes, dim = x.info.dim, code_size = x.quantizer.code_size();
    const size_t added = change.moves.size() + change.inserts.size();
    if (n + added >= UINT32_MAX) throw Error("too many chunks for one index (at most 4294967294)");
    if (change.vectors.size() != change.inserts.size() * dim)
        throw Error("update: " + std::to_string(change.vectors.size()) + " floats for " +
                    std::to_string(change.inserts.size()) + " new chunks of " + std::to_string(dim));
    const uint32_t first_move = uint32_t(n), first_insert = uint32_t(n + change.moves.size());

    // Codes and text hashes of the new nodes: a moved node keeps its source's; inserted ones are encoded.
    std::vector<uint8_t> new_codes(added * code_size);
    std::vector<uint64_t> new_hashes(added);
    for (size_t i = 0; i < change.moves.size(); ++i) {
        const uint32_t from = change.moves[i].from;
        if (from >= n) throw Error("update: moved node " + std::to_string(from) + " is out of range");
        std::memcpy(new_codes.data() + i * code_size, x.context.codes.data() + size_t(from) * code_size, code_size);
        new_hashes[i] = text_hash(change.moves[i].document.text);
    }
    if (!change.inserts.empty())
        x.quantizer.encode(change.vectors.data(), change.inserts.size(),
                           new_codes.data() + change.moves.size() * code_size, threads);
    for (size_t i = 0; i < change.inserts.size(); ++i)
        new_hashes[change.moves.size() + i] = text_hash(change.inserts[i].text);

    // The graph: moves, then deletions (so repairs never link to what goes), then insertions, then reachability.
    if (progress) progress("graph", 0, 1);
    graph::MutableGraph g = graph::MutableGraph::from_view(x.context.graph, x.context.deleted);
    const PqDistances distances(x, change, new_codes);
    graph::UpdateParams params;
    params.pruned_degree = graph_options.pruned_degree;
    params.hub_degree = graph_options.hub_degree;
    params.hub_fraction = graph_options.hub_fraction;
    params.threads = threads;
    // Rows are allocated just before they are filled: an empty row would count as a live node cut off from the
    // graph, and the repair inside delete_nodes would link it.
    g.resize(n + change.moves.size());
    for (size_t i = 0; i < change.moves.size(); ++i) graph::move_node(g, change.moves[i].from, uint32_t(first_move + i));
    graph::delete_nodes(g, change.deletes, distances, params);
    g.resize(n + added);
    if (!change.inserts.empty())
        graph::insert_nodes(g, first_insert, change.inserts.size(), change.vectors.data(), dim, distances, params);
    graph::promote_hubs(g, distances, params);
    graph::repair_reachability(g, distances, params);
    if (progress) progress("graph", 1, 1);

    const HubCache hubs = follow_hubs(x, change, g, first_move, first_insert);

    // Sections.
    if (progress) progress("write", 0, 1);
    store::IndexFileWriter out = store::IndexFileWriter::append_to(path);
    const auto& committed = out.committed_sections();
    uint64_t base_edges = 0, patched_edges = 0;
    size_t patches = 0;
    std::map<uint32_t, size_t> segment_count;
    for (const auto& s : committed) {
        if (s.tag == kGraphNeighbors) base_edges = s.size / 4;
        if (s.tag == kGraphPatch) {
            patched_edges += s.size / 4;
            ++patches;
        }
        ++segment_count[s.tag];
    }
    std::vector<uint32_t> dirty;
    for (uint32_t v = 0; v < g.nodes(); ++v)
        if (g.dirty[v]) dirty.push_back(v);
    std::vector<uint32_t> patch;
    if (!dirty.empty()) patch = encode_patch(dirty, g.rows);
    const bool checkpoint = patches + 1 > kMaxSegments ||
                            double(patched_edges + patch.size()) > kCheckpointShare * double(std::max<uint64_t>(base_edges, 1));
    const bool join_codes = segment_count[kPqCodes] + 1 > kMaxSegments;
    const bool join_hashes = segment_count[kChunkHashes] + 1 > kMaxSegments;
    // The keyword index: a segment for the new nodes; too many segments are merged; a file written before format
    // version 3 has none, and gets one for every node now (its passages are read once, nothing is embedded).
    const bool add_keywords = segment_count[keyword::kKeywordSection] == 0;
    const bool join_keywords = !add_keywords && segment_count[keyword::kKeywordSection] + 1 > kMaxSegments;
    // Joining keeps the first segment (the build's, usually nearly all nodes) and rewrites the rest as one.
    uint32_t keyword_tail_start = 0;
    if (join_keywords) {
        const auto [first, count] = keyword::segment_nodes(x.file.segments(keyword::kKeywordSection).front(), x.file.path().string());
        if (first != 0 || count > n)
            throw FormatError(x.file.path().string() + ": section KWIX: the first segment covers nodes " +
                              std::to_string(first) + ".." + std::to_string(uint64_t(first) + count) + " of " +
                              std::to_string(n) + " (file is corrupt)");
        keyword_tail_start = count;
    }
    bool kept_first_keywords = false;

    // Listed again as they are: everything this generation does not replace.
    for (const auto& s : committed) {
        switch (s.tag) {
            case kInfo: case kMeta: case kTombstones: case kSources: case store::kPassageIndex: continue;
            case kGraphOffsets: case kGraphNeighbors: case kGraphPatch: if (checkpoint) continue; break;
            case kGraphUpper: if (g.upper_changed) continue; break;
            case kPqCodes: if (join_codes) continue; break;
            case kChunkHashes: if (join_hashes) continue; break;
            case kHubIds: case kHubVectors: if (hubs.changed) continue; break;
            case keyword::kKeywordSection:
                if (join_keywords && kept_first_keywords) continue;
                kept_first_keywords = true;
                break;
            default: break;
        }
        out.keep_section(s);
    }

    const graph::Graph whole = g.to_graph();
    index::Info info = x.info;
    info.nodes = uint32_t(g.nodes());
    info.entry_point = whole.entry_point;
    info.upper_layers = uint32_t(whole.upper.size());
    info.edges = whole.edges();
    info.deleted = uint32_t(g.nodes() - g.live());
    info.hubs = uint32_t(hubs.ids.size());
    // Live text only: what goes out (deleted nodes, and the old copies of moved ones) comes off.
    std::vector<uint32_t> gone(change.deletes.begin(), change.deletes.end());
    for (const auto& m : change.moves) gone.push_back(m.from);
    for (const auto& p : x.passages.get_many(gone)) info.raw_text_bytes -= std::min<uint64_t>(info.raw_text_bytes, p.text.size());
    for (const auto& m : change.moves) info.raw_text_bytes += m.document.text.size();
    for (const auto& d : change.inserts) info.raw_text_bytes += d.text.size();

    json meta = x.meta;
    meta["updated"] = utc_now();
    meta["program_version"] = std::string(version());
    meta["counts"] = {{"chunks", g.live()}, {"nodes", g.nodes()}, {"deleted", info.deleted},
                      {"raw_text_bytes", info.raw_text_bytes}};
    meta["graph"]["edges"] = info.edges;
    meta["graph"]["upper_layers"] = info.upper_layers;
    if (hubs.changed) meta["hub_cache"]["nodes"] = hubs.ids.size();
    if (!change.inserts.empty()) {
        // How well the build's codebook fits what is added later: the drift `leann stats` reports.
        json& pq = meta["pq"];
        const double before = pq.value("added_error", 0.0);
        const size_t count = pq.value("added", size_t{0});
        const double now = quantization_error(x.quantizer, change.vectors.data(), change.inserts.size(), dim);
        pq["added"] = count + change.inserts.size();
        pq["added_error"] = (before * double(count) + now * double(change.inserts.size())) /
                            double(count + change.inserts.size());
    }
    const std::string meta_text = meta.dump(2);

    out.add_section(kInfo, std::as_bytes(std::span<const index::Info>(&info, 1)));
    add_text(out, kMeta, meta_text);
    if (checkpoint) {
        out.add_section(kGraphOffsets, bytes_of(whole.base.offsets));
        out.add_section(kGraphNeighbors, bytes_of(whole.base.neighbors));
    } else if (!patch.empty()) {
        out.add_section(kGraphPatch, bytes_of(patch));
    }
    if (g.upper_changed) out.add_section(kGraphUpper, bytes_of(encode_upper(whole)));
    if (hubs.changed) {
        out.add_section(kHubIds, bytes_of(hubs.ids));
        out.add_section(kHubVectors, bytes_of(hubs.vectors));
    }
    if (join_codes) {
        std::vector<uint8_t> all(x.context.codes.begin(), x.context.codes.end());
        all.insert(all.end(), new_codes.begin(), new_codes.end());
        out.add_section(kPqCodes, bytes_of(all));
    } else if (!new_codes.empty()) {
        out.add_section(kPqCodes, bytes_of(new_codes));
    }
    if (join_hashes) {
        std::vector<uint64_t> all = x.chunk_hashes;
        all.insert(all.end(), new_hashes.begin(), new_hashes.end());
        out.add_section(kChunkHashes, bytes_of(all));
    } else if (!new_hashes.empty()) {
        out.add_section(kChunkHashes, bytes_of(new_hashes));
    }
    {
        // A segment for the new nodes, written from the passages' text from `start` on: every node for a file that
        // had no keyword index, the nodes after the first segment when joining (rare terms are stored by hash, so
        // segments cannot be merged from their postings); deleted nodes keep their place with no terms.
        const uint32_t start = add_keywords ? 0 : join_keywords ? keyword_tail_start : uint32_t(n);
        keyword::SegmentBuilder fresh{start};
        std::vector<uint32_t> ids(n - start);
        std::iota(ids.begin(), ids.end(), start);
        x.passages.visit(ids, [&](size_t i, std::string_view, std::string_view text, std::string_view metadata) {
            fresh.add_passage(g.deleted[ids[i]] ? std::string_view{} : text, metadata);
        });
        for (const auto& m : change.moves) fresh.add_passage(m.document.text, m.document.metadata);
        for (const auto& d : change.inserts) fresh.add_passage(d.text, d.metadata);
        if (add_keywords || fresh.count() > 0) out.add_section(keyword::kKeywordSection, fresh.encode());
    }
    std::vector<uint8_t> deleted(g.deleted.begin(), g.deleted.end());
    out.add_section(kTombstones, bytes_of(tomb_bits(deleted)));
    add_text(out, kSources, change.manifest.encode());
    store::PassageStoreWriter passages;
    passages.continue_after(x.passages);
    for (const auto& m : change.moves) passages.add(m.document.id, m.document.text, m.document.metadata);
    for (const auto& d : change.inserts) passages.add(d.id, d.text, d.metadata);
    passages.write(out);  // a PSGD segment (possibly empty) and the whole PSGI
    out.commit();
    if (progress) progress("write", 1, 1);
    return {out.bytes_written(), out.generation(), checkpoint};
}

GenerationStats compact_index(const std::filesystem::path& path, const Index& index, Manifest manifest,
                              const StageProgress& progress) {
    const IndexImpl& x = detail::IndexInternals::of(index);
    const size_t n = x.info.nodes, dim = x.info.dim, code_size = x.quantizer.code_size();
    auto is_deleted = [&](uint32_t v) { return (x.context.deleted[v >> 3] >> (v & 7)) & 1; };
    std::vector<uint32_t> old_to_new(n, kNoNode), live;
    for (uint32_t v = 0; v < n; ++v)
        if (!is_deleted(v)) {
            old_to_new[v] = uint32_t(live.size());
            live.push_back(v);
        }
    if (live.empty()) throw Error("compact: the index has no live chunks left (remove it or build it again)");
    if (progress) progress("compact", 0, live.size());

    const graph::GraphView& view = x.context.graph;
    graph::Graph g;
    g.nodes = uint32_t(live.size());
    std::vector<std::vector<uint32_t>> rows(live.size());
    for (size_t i = 0; i < live.size(); ++i)
        for (uint32_t u : view.base.row(live[i]))
            if (old_to_new[u] != kNoNode) rows[i].push_back(old_to_new[u]);
    g.base = rows_to_csr(rows);
    g.entry_point = old_to_new[view.entry_point] != kNoNode ? old_to_new[view.entry_point] : 0;
    for (size_t l = 0; l < view.upper.size(); ++l) {
        std::vector<uint32_t> ids;
        std::vector<std::vector<uint32_t>> layer_rows;
        for (size_t r = 0; r < view.upper_nodes[l].size(); ++r) {
            const uint32_t id = view.upper_nodes[l][r];
            if (old_to_new[id] == kNoNode) continue;
            ids.push_back(old_to_new[id]);
            layer_rows.emplace_back();
            for (uint32_t u : view.upper[l].row(r))
                if (old_to_new[u] != kNoNode) layer_rows.back().push_back(old_to_new[u]);
        }
        if (ids.empty()) break;
        g.upper_nodes.push_back(std::move(ids));
        g.upper.push_back(rows_to_csr(layer_rows));
    }
    if (!g.upper_nodes.empty() &&
        !std::binary_search(g.upper_nodes.back().begin(), g.upper_nodes.back().end(), g.entry_point))
        g.entry_point = g.upper_nodes.back().front();
    if (std::string problem = graph::check(graph::GraphView(g)); !problem.empty())
        throw Error("compact: " + problem);

    std::vector<uint8_t> codes(live.size() * code_size);
    std::vector<uint64_t> hashes(live.size());
    for (size_t i = 0; i < live.size(); ++i) {
        std::memcpy(codes.data() + i * code_size, x.context.codes.data() + size_t(live[i]) * code_size, code_size);
        hashes[i] = x.chunk_hashes.empty() ? 0 : x.chunk_hashes[live[i]];
    }
    std::vector<uint32_t> hubs;
    std::vector<float> hub_vectors;
    for (size_t i = 0; i < x.hub_ids.size(); ++i)
        if (old_to_new[x.hub_ids[i]] != kNoNode) {
            hubs.push_back(old_to_new[x.hub_ids[i]]);
            hub_vectors.insert(hub_vectors.end(), x.hub_vectors.begin() + std::ptrdiff_t(i * dim),
                               x.hub_vectors.begin() + std::ptrdiff_t((i + 1) * dim));
        }

    store::PassageStoreWriter passages;
    keyword::SegmentBuilder keywords(0);
    constexpr size_t kBatch = 4096;
    for (size_t begin = 0; begin < live.size(); begin += kBatch) {
        const size_t end = std::min(live.size(), begin + kBatch);
        const auto batch = x.passages.get_many(std::span<const uint32_t>(live).subspan(begin, end - begin));
        for (const auto& p : batch) {
            passages.add(p.id, p.text, p.metadata);
            keywords.add_passage(p.text, p.metadata);
            if (x.chunk_hashes.empty()) hashes[passages.size() - 1] = text_hash(p.text);
        }
        if (progress) progress("compact", end, live.size());
    }
    manifest.remap(old_to_new);

    index::Info info = x.info;
    info.nodes = g.nodes;
    info.entry_point = g.entry_point;
    info.upper_layers = uint32_t(g.upper.size());
    info.edges = g.edges();
    info.hubs = uint32_t(hubs.size());
    info.deleted = 0;
    info.raw_text_bytes = passages.raw_text_bytes();
    json meta = x.meta;
    meta["compacted"] = utc_now();
    meta["program_version"] = std::string(version());
    meta["counts"] = {{"chunks", g.nodes}, {"nodes", g.nodes}, {"deleted", 0}, {"raw_text_bytes", info.raw_text_bytes}};
    meta["graph"]["edges"] = info.edges;
    meta["graph"]["upper_layers"] = info.upper_layers;
    meta["hub_cache"]["nodes"] = hubs.size();
    const std::string meta_text = meta.dump(2);

    store::IndexFileWriter out(path);
    out.set_generation(x.file.generation() + 1);
    out.add_section(kInfo, std::as_bytes(std::span<const index::Info>(&info, 1)));
    add_text(out, kMeta, meta_text);
    out.add_section(kGraphOffsets, bytes_of(g.base.offsets));
    out.add_section(kGraphNeighbors, bytes_of(g.base.neighbors));
    out.add_section(kGraphUpper, bytes_of(encode_upper(g)));
    out.add_section(kPqCentroids, std::as_bytes(x.quantizer.centroids()));
    out.add_section(kPqCodes, bytes_of(codes));
    out.add_section(kHubIds, bytes_of(hubs));
    out.add_section(kHubVectors, bytes_of(hub_vectors));
    out.add_section(kTombstones, bytes_of(std::vector<uint8_t>((g.nodes + 7) / 8, 0)));
    out.add_section(kChunkHashes, bytes_of(hashes));
    out.add_section(keyword::kKeywordSection, keywords.encode());
    // A version-1 manifest has no chunk map: without SRCS the next update builds the index again, once.
    if (manifest.has_nodes) add_text(out, kSources, manifest.encode());
    passages.write(out);
    out.commit();
    return {out.bytes_written(), out.generation(), true};
}

}  // namespace leann::index
