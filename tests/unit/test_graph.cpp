// Graph room: HNSW construction, high-degree-preserving pruning, the structural check.
// Quality is measured the way the index will use the graph: a best-first search from the entry point (written here,
// independent of the library's search) against brute force, on Gaussian and clustered data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "leann/error.h"
#include "leann/log.h"
#include "util/distance.h"

namespace leann::graph {
namespace {

struct Dataset {
    size_t n;
    size_t dim;
    std::vector<float> data;
    const float* row(size_t i) const { return data.data() + i * dim; }
};

Dataset gaussian(size_t n, size_t dim, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    Dataset d{n, dim, std::vector<float>(n * dim)};
    for (float& x : d.data) x = normal(rng);
    return d;
}

// Tight clusters around random centres: many near-duplicates, the case where HNSW graphs fall apart into islands.
Dataset clustered(size_t n, size_t dim, size_t clusters, float spread, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    std::vector<float> centres(clusters * dim);
    for (float& x : centres) x = normal(rng);
    Dataset d{n, dim, std::vector<float>(n * dim)};
    for (size_t i = 0; i < n; ++i) {
        const size_t c = rng() % clusters;
        for (size_t j = 0; j < dim; ++j) d.data[i * dim + j] = centres[c * dim + j] + spread * normal(rng);
    }
    return d;
}

// The last `count` rows of d, removed from it: queries from the same distribution (same cluster centres).
Dataset split_off(Dataset& d, size_t count) {
    Dataset tail{count, d.dim, std::vector<float>(d.data.end() - static_cast<long>(count * d.dim), d.data.end())};
    d.n -= count;
    d.data.resize(d.n * d.dim);
    return tail;
}

Dataset normalized(Dataset d) {
    for (size_t i = 0; i < d.n; ++i) normalize(d.data.data() + i * d.dim, d.dim);
    return d;
}

std::vector<uint32_t> brute_force(const Dataset& d, Metric metric, const float* query, size_t k) {
    std::vector<std::pair<float, uint32_t>> all(d.n);
    for (size_t i = 0; i < d.n; ++i) all[i] = {distance(metric, query, d.row(i), d.dim), static_cast<uint32_t>(i)};
    k = std::min(k, d.n);
    std::partial_sort(all.begin(), all.begin() + static_cast<long>(k), all.end());
    std::vector<uint32_t> ids(k);
    for (size_t i = 0; i < k; ++i) ids[i] = all[i].second;
    return ids;
}

// Greedy descent through the upper layers, then best-first search with a result list of ef on layer 0.
std::vector<uint32_t> graph_search(const GraphView& g, const Dataset& d, Metric metric, const float* query, size_t k,
                                   size_t ef) {
    if (g.nodes == 0) return {};
    using Item = std::pair<float, uint32_t>;
    const auto dist = [&](uint32_t id) { return distance(metric, query, d.row(id), d.dim); };
    Item current{dist(g.entry_point), g.entry_point};
    for (size_t l = g.upper.size(); l >= 1; --l) {
        for (bool moved = true; moved;) {
            moved = false;
            for (uint32_t u : g.upper_row(l, current.second)) {
                const Item c{dist(u), u};
                if (c < current) current = c, moved = true;
            }
        }
    }
    std::vector<char> visited(g.nodes, 0);
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> frontier;
    std::priority_queue<Item> best;
    visited[current.second] = 1;
    frontier.push(current);
    best.push(current);
    while (!frontier.empty()) {
        const Item c = frontier.top();
        if (best.size() >= ef && best.top() < c) break;
        frontier.pop();
        for (uint32_t u : g.base.row(c.second)) {
            if (visited[u]) continue;
            visited[u] = 1;
            const Item next{dist(u), u};
            if (best.size() < ef || next < best.top()) {
                frontier.push(next);
                best.push(next);
                if (best.size() > ef) best.pop();
            }
        }
    }
    std::vector<Item> results;
    for (; !best.empty(); best.pop()) results.push_back(best.top());
    std::sort(results.begin(), results.end());
    std::vector<uint32_t> ids;
    for (size_t i = 0; i < std::min(k, results.size()); ++i) ids.push_back(results[i].second);
    return ids;
}

// Mean recall@k over queries drawn from the same distribution as the data (not members of it).
double recall_at(const GraphView& g, const Dataset& d, const Dataset& queries, Metric metric, size_t k, size_t ef) {
    size_t hits = 0;
    for (size_t q = 0; q < queries.n; ++q) {
        const auto truth = brute_force(d, metric, queries.row(q), k);
        const auto found = graph_search(g, d, metric, queries.row(q), k, ef);
        for (uint32_t id : found) hits += std::count(truth.begin(), truth.end(), id);
    }
    return static_cast<double>(hits) / static_cast<double>(queries.n * k);
}

size_t reachable_from_entry(const GraphView& g) {
    if (g.nodes == 0) return 0;
    std::vector<char> seen(g.nodes, 0);
    std::vector<uint32_t> stack{g.entry_point};
    seen[g.entry_point] = 1;
    size_t count = 1;
    while (!stack.empty()) {
        const uint32_t v = stack.back();
        stack.pop_back();
        for (uint32_t u : g.base.row(v)) {
            if (seen[u]) continue;
            seen[u] = 1;
            ++count;
            stack.push_back(u);
        }
    }
    return count;
}

size_t max_degree(const CsrView& csr) {
    size_t most = 0;
    for (size_t r = 0; r < csr.rows(); ++r) most = std::max(most, csr.row(r).size());
    return most;
}

double average_degree(const Graph& g) {
    return static_cast<double>(g.edges()) / g.nodes;
}

bool same_graph(const Graph& a, const Graph& b) {
    if (a.nodes != b.nodes || a.entry_point != b.entry_point || a.base.offsets != b.base.offsets ||
        a.base.neighbors != b.base.neighbors || a.upper_nodes != b.upper_nodes || a.upper.size() != b.upper.size())
        return false;
    for (size_t l = 0; l < a.upper.size(); ++l)
        if (a.upper[l].offsets != b.upper[l].offsets || a.upper[l].neighbors != b.upper[l].neighbors) return false;
    return true;
}

BuildParams build_params(size_t threads) {
    BuildParams p;
    p.max_degree = 16;
    p.ef_construction = 100;
    p.threads = threads;
    return p;
}

PruneParams prune_params(size_t threads) {
    PruneParams p;
    p.hub_degree = 16;
    p.degree = 5;
    p.hub_fraction = 0.02;
    p.ef = 64;
    p.threads = threads;
    return p;
}

// Built once and shared by the quality tests: 4000 clustered unit vectors under inner product.
struct ClusteredFixture {
    Dataset data = normalized(clustered(4200, 32, 40, 0.25f, 7));
    Dataset queries = split_off(data, 200);
    Graph full = build_hnsw(data.data.data(), data.n, data.dim, Metric::inner_product, build_params(2));
    Graph pruned = prune(full, data.data.data(), data.dim, Metric::inner_product, prune_params(2));
};

const ClusteredFixture& clustered_fixture() {
    static const ClusteredFixture fixture;
    return fixture;
}

TEST(GraphBuild, RecallOnGaussianL2) {
    const Dataset data = gaussian(3000, 24, 1);
    const Dataset queries = gaussian(200, 24, 2);
    const BuildParams params = build_params(2);
    const Graph g = build_hnsw(data.data.data(), data.n, data.dim, Metric::l2, params);
    EXPECT_EQ(check(GraphView(g)), "");
    EXPECT_EQ(g.nodes, data.n);
    EXPECT_LE(max_degree(g.base), 2 * params.max_degree);
    for (const Csr& layer : g.upper) EXPECT_LE(max_degree(layer), params.max_degree);
    EXPECT_FALSE(g.upper.empty());
    EXPECT_GE(recall_at(GraphView(g), data, queries, Metric::l2, 10, 64), 0.95);
}

TEST(GraphBuild, RecallOnClusteredInnerProduct) {
    const auto& f = clustered_fixture();
    EXPECT_EQ(check(GraphView(f.full)), "");
    EXPECT_LE(max_degree(f.full.base), 32u);
    EXPECT_GE(recall_at(GraphView(f.full), f.data, f.queries, Metric::inner_product, 10, 64), 0.95);
}

TEST(GraphBuild, DeterministicWithOneThread) {
    const Dataset data = gaussian(1500, 16, 3);
    const Graph a = build_hnsw(data.data.data(), data.n, data.dim, Metric::l2, build_params(1));
    const Graph b = build_hnsw(data.data.data(), data.n, data.dim, Metric::l2, build_params(1));
    EXPECT_TRUE(same_graph(a, b));
    BuildParams other_seed = build_params(1);
    other_seed.seed = 43;
    const Graph c = build_hnsw(data.data.data(), data.n, data.dim, Metric::l2, other_seed);
    EXPECT_FALSE(same_graph(a, c));
}

TEST(GraphBuild, ReportsProgressUpToTotal) {
    const Dataset data = gaussian(5000, 8, 4);
    std::vector<size_t> seen;
    build_hnsw(data.data.data(), data.n, data.dim, Metric::l2, build_params(2), [&](size_t done, size_t total) {
        EXPECT_EQ(total, data.n);
        seen.push_back(done);
    });
    ASSERT_FALSE(seen.empty());
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(seen.back(), data.n);
}

TEST(GraphBuild, TinyGraphs) {
    const Graph empty = build_hnsw(nullptr, 0, 8, Metric::l2, build_params(2));
    EXPECT_EQ(empty.nodes, 0u);
    EXPECT_EQ(empty.edges(), 0u);
    EXPECT_EQ(check(GraphView(empty)), "");
    EXPECT_TRUE(nodes_by_degree(GraphView(empty)).empty());
    const Graph empty_pruned = prune(empty, nullptr, 8, Metric::l2, prune_params(2));
    EXPECT_EQ(empty_pruned.nodes, 0u);
    EXPECT_EQ(check(GraphView(empty_pruned)), "");

    const Dataset two = gaussian(2, 8, 5);
    for (size_t n : {1, 2}) {
        const Graph g = build_hnsw(two.data.data(), n, two.dim, Metric::l2, build_params(2));
        EXPECT_EQ(check(GraphView(g)), "") << "n = " << n;
        EXPECT_EQ(g.nodes, n);
        EXPECT_EQ(g.edges(), n == 1 ? 0u : 2u);  // the two nodes link to each other
        EXPECT_LT(g.entry_point, n);
        const Graph p = prune(g, two.data.data(), two.dim, Metric::l2, prune_params(2));
        EXPECT_EQ(check(GraphView(p)), "") << "n = " << n;
        EXPECT_EQ(p.edges(), g.edges());
        EXPECT_EQ(reachable_from_entry(GraphView(p)), n);
    }
}

TEST(GraphBuild, RejectsBadParameters) {
    const Dataset data = gaussian(10, 4, 6);
    BuildParams p = build_params(1);
    p.max_degree = 1;
    EXPECT_THROW(build_hnsw(data.data.data(), data.n, data.dim, Metric::l2, p), Error);
    EXPECT_THROW(build_hnsw(nullptr, data.n, data.dim, Metric::l2, build_params(1)), Error);
    EXPECT_THROW(build_hnsw(data.data.data(), data.n, 0, Metric::l2, build_params(1)), Error);

    const Graph g = build_hnsw(data.data.data(), data.n, data.dim, Metric::l2, build_params(1));
    PruneParams q = prune_params(1);
    q.degree = q.hub_degree + 1;
    EXPECT_THROW(prune(g, data.data.data(), data.dim, Metric::l2, q), Error);
    q = prune_params(1);
    q.hub_fraction = 1.5;
    EXPECT_THROW(prune(g, data.data.data(), data.dim, Metric::l2, q), Error);
    Graph broken = g;
    broken.base.neighbors[0] = 99;
    EXPECT_THROW(prune(broken, data.data.data(), data.dim, Metric::l2, prune_params(1)), Error);
}

TEST(GraphPrune, HalvesEdgesAndKeepsRecall) {
    const auto& f = clustered_fixture();
    EXPECT_EQ(check(GraphView(f.pruned)), "");
    EXPECT_EQ(f.pruned.nodes, f.full.nodes);
    EXPECT_EQ(f.pruned.entry_point, f.full.entry_point);
    EXPECT_LT(average_degree(f.pruned), 0.6 * average_degree(f.full));
    EXPECT_LE(max_degree(f.pruned.base), prune_params(1).hub_degree);
    for (const Csr& layer : f.pruned.upper) EXPECT_LE(max_degree(layer), prune_params(1).degree);
    EXPECT_GE(recall_at(GraphView(f.pruned), f.data, f.queries, Metric::inner_product, 10, 96), 0.9);
}

TEST(GraphPrune, HubsKeepMoreEdges) {
    const auto& f = clustered_fixture();
    const std::vector<uint32_t> ranked = nodes_by_degree(GraphView(f.full));
    const size_t hubs = static_cast<size_t>(std::ceil(0.02 * f.full.nodes));
    double hub_sum = 0, other_sum = 0;
    for (size_t i = 0; i < ranked.size(); ++i)
        (i < hubs ? hub_sum : other_sum) += static_cast<double>(f.pruned.base.row(ranked[i]).size());
    EXPECT_GT(hub_sum / hubs, 1.2 * other_sum / (ranked.size() - hubs));
}

TEST(GraphPrune, EveryNodeReachableFromEntry) {
    const auto& f = clustered_fixture();
    EXPECT_EQ(reachable_from_entry(GraphView(f.pruned)), f.pruned.nodes);

    // Aggressive pruning on very tight clusters, where reverse edges are most often out-competed.
    const Dataset tight = normalized(clustered(3000, 16, 60, 0.05f, 11));
    const Graph g = build_hnsw(tight.data.data(), tight.n, tight.dim, Metric::inner_product, build_params(2));
    PruneParams p = prune_params(2);
    p.degree = 2;
    p.hub_degree = 6;
    // The repair pass reports on the debug log how many edges it had to add; capture it to see that it ran.
    std::vector<std::string> messages;
    const LogLevel level = log_level();
    set_log_level(LogLevel::debug);
    set_log_sink([&](LogLevel, std::string_view m) { messages.emplace_back(m); });
    const Graph pruned = prune(g, tight.data.data(), tight.dim, Metric::inner_product, p);
    set_log_sink(nullptr);
    set_log_level(level);
    EXPECT_TRUE(std::any_of(messages.begin(), messages.end(),
                            [](const std::string& m) { return m.find("to reach every node") != std::string::npos; }));
    EXPECT_EQ(check(GraphView(pruned)), "");
    EXPECT_LE(max_degree(pruned.base), 6u);
    EXPECT_EQ(reachable_from_entry(GraphView(pruned)), pruned.nodes);
}

TEST(GraphPrune, TighterDegreesStillReachEverything) {
    const auto& f = clustered_fixture();
    PruneParams p = prune_params(2);
    p.hub_degree = 6;
    p.degree = 3;
    const Graph pruned = prune(f.full, f.data.data.data(), f.data.dim, Metric::inner_product, p);
    EXPECT_EQ(check(GraphView(pruned)), "");
    EXPECT_EQ(pruned.upper_nodes, f.full.upper_nodes);
    for (const Csr& layer : pruned.upper) EXPECT_LE(max_degree(layer), 3u);
    EXPECT_LE(max_degree(pruned.base), 6u);
    EXPECT_EQ(reachable_from_entry(GraphView(pruned)), pruned.nodes);
    EXPECT_LT(average_degree(pruned), average_degree(f.pruned));
}

TEST(GraphPrune, ManyDuplicateVectors) {
    // Repeated passages embed to identical vectors: 400 copies of one point among 1600 others.
    Dataset data = gaussian(2000, 16, 12);
    for (size_t i = 1; i < data.n; i += 5)
        std::copy(data.row(0), data.row(0) + data.dim, data.data.begin() + i * data.dim);
    const Graph g = build_hnsw(data.data.data(), data.n, data.dim, Metric::l2, build_params(2));
    EXPECT_EQ(check(GraphView(g)), "");
    const Graph pruned = prune(g, data.data.data(), data.dim, Metric::l2, prune_params(2));
    EXPECT_EQ(check(GraphView(pruned)), "");
    EXPECT_EQ(reachable_from_entry(GraphView(pruned)), pruned.nodes);
}

TEST(GraphPrune, GaussianL2) {
    const Dataset data = gaussian(3000, 24, 8);
    const Dataset queries = gaussian(200, 24, 9);
    const Graph g = build_hnsw(data.data.data(), data.n, data.dim, Metric::l2, build_params(2));
    const Graph pruned = prune(g, data.data.data(), data.dim, Metric::l2, prune_params(2));
    EXPECT_EQ(check(GraphView(pruned)), "");
    EXPECT_LT(average_degree(pruned), average_degree(g));
    EXPECT_EQ(reachable_from_entry(GraphView(pruned)), pruned.nodes);
    EXPECT_GE(recall_at(GraphView(pruned), data, queries, Metric::l2, 10, 128), 0.9);
}

TEST(GraphPrune, SameResultForAnyThreadCount) {
    const Dataset data = gaussian(1500, 16, 10);
    const Graph g = build_hnsw(data.data.data(), data.n, data.dim, Metric::l2, build_params(2));
    const Graph one = prune(g, data.data.data(), data.dim, Metric::l2, prune_params(1));
    const Graph two = prune(g, data.data.data(), data.dim, Metric::l2, prune_params(2));
    EXPECT_TRUE(same_graph(one, two));
}

// A valid hand-made graph: 4 nodes, node 2 on layer 1 with node 0.
Graph small_graph() {
    Graph g;
    g.nodes = 4;
    g.entry_point = 2;
    g.base.offsets = {0, 2, 4, 5, 6};
    g.base.neighbors = {1, 2, 0, 3, 0, 1};
    g.upper_nodes = {{0, 2}};
    g.upper.push_back(Csr{{0, 1, 2}, {2, 0}});
    return g;
}

TEST(GraphCheck, AcceptsValidGraph) {
    const Graph g = small_graph();
    EXPECT_EQ(check(GraphView(g)), "");
}

TEST(GraphCheck, NamesLayerAndRowOfBrokenGraphs) {
    const auto message = [](const std::function<void(Graph&)>& breakit) {
        Graph g = small_graph();
        breakit(g);
        return check(GraphView(g));
    };
    EXPECT_EQ(message([](Graph& g) { g.base.neighbors[3] = 7; }),
              "layer 0 row 1 (node 1): neighbour 7 out of range (nodes = 4)");
    EXPECT_EQ(message([](Graph& g) { g.base.neighbors[4] = 2; }), "layer 0 row 2 (node 2): self loop");
    EXPECT_EQ(message([](Graph& g) { g.base.neighbors[1] = 1; }), "layer 0 row 0 (node 0): duplicate neighbour 1");
    EXPECT_EQ(message([](Graph& g) {
                  g.base.offsets = {0, 2, 1, 5, 6};
              }),
              "layer 0 row 1: offsets decrease (2 then 1)");
    EXPECT_EQ(message([](Graph& g) { g.base.offsets = {0, 2, 4, 5}; }), "layer 0: offsets have 4 entries, expected 5");
    EXPECT_EQ(message([](Graph& g) { g.base.offsets.back() = 5; }),
              "layer 0: offsets end at 5 but there are 6 neighbour ids");
    EXPECT_EQ(message([](Graph& g) { g.upper[0].neighbors[0] = 3; }),
              "layer 1 row 0 (node 0): neighbour 3 is not on layer 1");
    EXPECT_EQ(message([](Graph& g) {
                  g.upper_nodes[0] = {2, 0};
              }),
              "layer 1: node list not strictly ascending at position 1");
    EXPECT_EQ(message([](Graph& g) { g.entry_point = 1; }), "entry point 1 is not on the top layer 1");
    EXPECT_EQ(message([](Graph& g) { g.entry_point = 9; }), "entry point 9 out of range (nodes = 4)");
    EXPECT_EQ(message([](Graph& g) { g.upper.clear(); }), "upper layers: 1 node lists but 0 adjacency layers");
    EXPECT_EQ(message([](Graph& g) {
                  g.upper_nodes.push_back({1});
                  g.upper.push_back(Csr{{0, 0}, {}});
              }),
              "layer 2: node 1 is not on layer 1");
}

TEST(GraphViewer, UpperRowsAndDegreeOrder) {
    const Graph g = small_graph();
    const GraphView view(g);
    EXPECT_EQ(std::vector<uint32_t>(view.upper_row(1, 2).begin(), view.upper_row(1, 2).end()),
              std::vector<uint32_t>{0});
    EXPECT_TRUE(view.upper_row(1, 1).empty());  // node 1 is not on layer 1
    EXPECT_TRUE(view.upper_row(2, 2).empty());  // there is no layer 2
    EXPECT_EQ(g.edges(), 6u);
    // Degrees 2, 2, 1, 1: ties keep id order.
    EXPECT_EQ(nodes_by_degree(view), (std::vector<uint32_t>{0, 1, 2, 3}));
    Graph skewed = g;
    skewed.base.offsets = {0, 1, 4, 5, 6};
    skewed.base.neighbors = {1, 0, 2, 3, 0, 1};
    EXPECT_EQ(nodes_by_degree(GraphView(skewed)), (std::vector<uint32_t>{1, 0, 2, 3}));
}

}  // namespace
}  // namespace leann::graph
