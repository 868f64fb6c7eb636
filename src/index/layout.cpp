#include "index/layout.h"

#include <string>

#include "leann/error.h"

namespace leann::index {

std::vector<uint32_t> encode_upper(const graph::Graph& g) {
    std::vector<uint32_t> out;
    out.push_back(uint32_t(g.upper.size()));
    for (size_t l = 0; l < g.upper.size(); ++l) {
        const auto& ids = g.upper_nodes[l];
        const auto& csr = g.upper[l];
        out.push_back(uint32_t(ids.size()));
        out.push_back(uint32_t(csr.neighbors.size()));
        out.insert(out.end(), ids.begin(), ids.end());
        out.insert(out.end(), csr.offsets.begin(), csr.offsets.end());
        out.insert(out.end(), csr.neighbors.begin(), csr.neighbors.end());
    }
    return out;
}

void decode_upper(std::span<const uint32_t> words, graph::GraphView& view, const std::string& file) {
    auto fail = [&](const std::string& what) {
        throw FormatError(file + ": section GUPR: " + what + " (file is corrupt)");
    };
    size_t pos = 0;
    auto take = [&](size_t count) {
        if (count > words.size() - pos) fail("runs past the end of the section");
        auto s = words.subspan(pos, count);
        pos += count;
        return s;
    };
    if (words.empty()) fail("empty");
    const uint32_t layers = take(1)[0];
    if (layers > 64) fail("implausible layer count " + std::to_string(layers));
    view.upper_nodes.clear();
    view.upper.clear();
    for (uint32_t l = 0; l < layers; ++l) {
        auto head = take(2);
        const uint32_t count = head[0], edges = head[1];
        auto ids = take(count);
        auto offsets = take(size_t(count) + 1);
        auto neighbors = take(edges);
        if (offsets.front() != 0 || offsets.back() != edges) fail("layer " + std::to_string(l + 1) + " offsets");
        view.upper_nodes.push_back(ids);
        view.upper.emplace_back(offsets, neighbors);
    }
    if (pos != words.size()) fail("trailing bytes");
}

std::vector<uint32_t> encode_patch(std::span<const uint32_t> ids, const std::vector<std::vector<uint32_t>>& rows) {
    std::vector<uint32_t> out{uint32_t(ids.size())};
    out.insert(out.end(), ids.begin(), ids.end());
    uint64_t edges = 0;
    out.push_back(0);
    for (uint32_t id : ids) {
        edges += rows[id].size();
        if (edges > UINT32_MAX) throw Error("graph patch: more than 2^32-1 edges");
        out.push_back(uint32_t(edges));
    }
    for (uint32_t id : ids) out.insert(out.end(), rows[id].begin(), rows[id].end());
    return out;
}

GraphPatch decode_patch(std::span<const uint32_t> words, uint32_t nodes, const std::string& file) {
    auto fail = [&](const std::string& what) -> GraphPatch {
        throw FormatError(file + ": section G0PT: " + what + " (file is corrupt)");
    };
    if (words.empty()) return fail("empty");
    const size_t count = words[0];
    if (count > nodes || words.size() - 1 < 2 * count + 1) return fail("runs past the end of the section");
    GraphPatch p;
    p.ids = words.subspan(1, count);
    auto offsets = words.subspan(1 + count, count + 1);
    auto neighbors = words.subspan(2 + 2 * count);
    for (size_t i = 0; i < count; ++i) {
        if (p.ids[i] >= nodes || (i > 0 && p.ids[i] <= p.ids[i - 1])) return fail("ids must be ascending node ids");
        if (offsets[i + 1] < offsets[i]) return fail("offsets decrease");
    }
    if (offsets[0] != 0 || offsets[count] != neighbors.size()) return fail("offsets do not cover the neighbours");
    p.rows = graph::CsrView(offsets, neighbors);
    return p;
}

}  // namespace leann::index
