#include "index/layout.h"

#include <string>

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

}  // namespace leann::index
