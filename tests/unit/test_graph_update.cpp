// Graph room: in-place updates (insert, delete, move, repair) and the live-graph check.
// Small hand-made graphs pin down each rule; a churn test measures what repeated deletes and inserts, with only PQ
// reconstructions of the stored nodes, do to search quality compared with building the graph afresh.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <numeric>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "graph/update.h"
#include "leann/error.h"
#include "pq/product_quantizer.h"
#include "util/distance.h"

namespace leann::graph {
namespace {

// One vector per node id: exact ones, or PQ reconstructions standing in for the vectors an index no longer has.
class TableDistances : public UpdateDistances {
public:
    TableDistances(size_t dim, Metric metric) : dim_(dim), metric_(metric) {}
    float to(const float* vector, uint32_t id) const override { return distance(metric_, vector, at(id), dim_); }
    float between(uint32_t a, uint32_t b) const override { return distance(metric_, at(a), at(b), dim_); }

    const float* at(uint32_t id) const { return table.data() + static_cast<size_t>(id) * dim_; }
    std::vector<float> table;

private:
    size_t dim_;
    Metric metric_;
};

std::vector<uint8_t> tomb_bits(const MutableGraph& g) {
    std::vector<uint8_t> bits((g.nodes() + 7) / 8, 0);
    for (size_t v = 0; v < g.nodes(); ++v)
        if (g.deleted[v]) bits[v >> 3] |= static_cast<uint8_t>(1u << (v & 7));
    return bits;
}

// Both checks on the graph as it would be stored.
std::string problems(const MutableGraph& g) {
    const Graph stored = g.to_graph();
    if (std::string error = check(GraphView(stored)); !error.empty()) return error;
    return check_live(GraphView(stored), tomb_bits(g));
}

std::vector<uint32_t> row(const MutableGraph& g, uint32_t v) {
    return g.rows[v];
}
bool links(const MutableGraph& g, uint32_t from, uint32_t to) {
    return std::find(g.rows[from].begin(), g.rows[from].end(), to) != g.rows[from].end();
}

// Six points on a line, (i, 0), each linked to its neighbours; node 0 and 3 on layer 1, entry 0.
struct Line {
    TableDistances distances{2, Metric::l2};
    MutableGraph g;

    Line() {
        for (int i = 0; i < 6; ++i) distances.table.insert(distances.table.end(), {float(i), 0.0f});
        Graph graph;
        graph.nodes = 6;
        graph.entry_point = 0;
        graph.base.offsets = {0, 1, 3, 5, 7, 9, 10};
        graph.base.neighbors = {1, 0, 2, 1, 3, 2, 4, 3, 5, 4};
        graph.upper_nodes = {{0, 3}};
        graph.upper.push_back(Csr{{0, 1, 2}, {3, 0}});
        g = MutableGraph::from_view(GraphView(graph), {});
    }
    // Appends nodes at the given points; returns their vectors.
    std::vector<float> add(std::initializer_list<std::pair<float, float>> points) {
        std::vector<float> vectors;
        for (auto [x, y] : points) vectors.insert(vectors.end(), {x, y});
        distances.table.insert(distances.table.end(), vectors.begin(), vectors.end());
        g.resize(g.nodes() + points.size());
        return vectors;
    }
};

UpdateParams params(uint32_t pruned_degree, uint32_t hub_degree) {
    UpdateParams p;
    p.pruned_degree = pruned_degree;
    p.hub_degree = hub_degree;
    p.ef = 16;
    return p;
}

TEST(GraphUpdate, FromViewRoundTripsAndResizeMarksDirty) {
    Line line;
    EXPECT_EQ(line.g.nodes(), 6u);
    EXPECT_EQ(line.g.live(), 6u);
    EXPECT_EQ(problems(line.g), "");
    const Graph back = line.g.to_graph();
    EXPECT_EQ(back.base.neighbors, (std::vector<uint32_t>{1, 0, 2, 1, 3, 2, 4, 3, 5, 4}));
    EXPECT_EQ(back.upper_nodes, (std::vector<std::vector<uint32_t>>{{0, 3}}));
    EXPECT_FALSE(line.g.upper_changed);
    EXPECT_EQ(std::count(line.g.dirty.begin(), line.g.dirty.end(), 1), 0);

    line.g.resize(8);
    EXPECT_EQ(line.g.live(), 8u);
    EXPECT_EQ(line.g.dirty, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 1, 1}));
    EXPECT_TRUE(line.g.rows[7].empty());
    EXPECT_THROW(line.g.resize(7), Error);

    // A tombstoned node with an empty row, read from the TOMB bitmap.
    Graph graph = back;
    graph.base.offsets = {0, 1, 3, 5, 7, 8, 8};
    graph.base.neighbors = {1, 0, 2, 1, 3, 2, 4, 3};
    const std::vector<uint8_t> bits{0x20};
    const MutableGraph g = MutableGraph::from_view(GraphView(graph), bits);
    EXPECT_EQ(g.deleted, (std::vector<uint8_t>{0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(g.live(), 5u);
    EXPECT_EQ(problems(g), "");

    Graph broken = back;
    broken.base.neighbors[0] = 42;
    EXPECT_THROW(MutableGraph::from_view(GraphView(broken), {}), Error);
    const std::vector<uint8_t> no_bytes;
    EXPECT_NO_THROW(MutableGraph::from_view(GraphView(back), no_bytes));
    Graph big = back;  // 9 nodes need a 2-byte bitmap
    big.nodes = 9;
    big.base.offsets = {0, 1, 3, 5, 7, 9, 10, 10, 10, 10};
    EXPECT_THROW(MutableGraph::from_view(GraphView(big), bits), Error);
}

TEST(GraphUpdate, InsertLinksBothWays) {
    Line line;
    const auto v = line.add({{2.6f, 0.1f}});
    insert_nodes(line.g, 6, 1, v.data(), 2, line.distances, params(4, 4));
    // Nearest is 3, then 2 lies in another direction; 4 and beyond are shadowed by 3.
    EXPECT_EQ(row(line.g, 6), (std::vector<uint32_t>{3, 2}));
    EXPECT_TRUE(links(line.g, 3, 6));
    EXPECT_TRUE(links(line.g, 2, 6));
    EXPECT_EQ(line.g.dirty, (std::vector<uint8_t>{0, 0, 1, 1, 0, 0, 1}));
    EXPECT_FALSE(line.g.upper_changed);  // new nodes stay on layer 0
    EXPECT_EQ(line.g.upper_nodes[0], (std::vector<uint32_t>{0, 3}));
    EXPECT_EQ(problems(line.g), "");
}

TEST(GraphUpdate, FullRowsAreReselectedAndCapped) {
    Line line;
    const auto v = line.add({{2.6f, 0.1f}});
    insert_nodes(line.g, 6, 1, v.data(), 2, line.distances, params(2, 2));
    // Row 3 was {2, 4}: with 6 offered, 2 is now shadowed by 6 and drops out.
    EXPECT_EQ(row(line.g, 3), (std::vector<uint32_t>{6, 4}));
    EXPECT_EQ(row(line.g, 2), (std::vector<uint32_t>{6, 1}));
    for (const auto& r : line.g.rows) EXPECT_LE(r.size(), 2u);
    EXPECT_EQ(problems(line.g), "");
}

TEST(GraphUpdate, NodesInsertedTogetherFindEachOther) {
    Line line;
    const auto v = line.add({{50.0f, 0.0f}, {50.5f, 0.0f}, {51.0f, 0.0f}});
    insert_nodes(line.g, 6, 3, v.data(), 2, line.distances, params(2, 4));
    EXPECT_TRUE(links(line.g, 7, 6));
    EXPECT_TRUE(links(line.g, 8, 7));
    EXPECT_TRUE(links(line.g, 6, 7));
    EXPECT_EQ(problems(line.g), "");
}

TEST(GraphUpdate, InsertIntoEmptyGraph) {
    MutableGraph g;
    EXPECT_EQ(problems(g), "");
    TableDistances d(2, Metric::l2);
    d.table = {0, 0, 1, 0, 0, 1};
    g.resize(3);
    insert_nodes(g, 0, 3, d.table.data(), 2, d, params(2, 4));
    EXPECT_EQ(g.entry_point, 0u);
    EXPECT_EQ(g.live(), 3u);
    EXPECT_EQ(problems(g), "");
    EXPECT_EQ(g.to_graph().edges(), 4u);  // 1 -> 0, 2 -> 0 (2 -> 1 is shadowed by 0), and the reverse edges
}

TEST(GraphUpdate, DeleteOffersOutNeighboursToInNeighbours) {
    Line line;
    const std::vector<uint32_t> two{2};
    delete_nodes(line.g, two, line.distances, params(2, 4));
    EXPECT_TRUE(line.g.deleted[2]);
    EXPECT_TRUE(line.g.rows[2].empty());
    EXPECT_EQ(row(line.g, 1), (std::vector<uint32_t>{0, 3}));
    EXPECT_EQ(row(line.g, 3), (std::vector<uint32_t>{4, 1}));
    EXPECT_EQ(line.g.dirty, (std::vector<uint8_t>{0, 1, 1, 1, 0, 0}));
    EXPECT_EQ(line.g.live(), 5u);
    EXPECT_EQ(problems(line.g), "");

    // 3 and 4 at once: 1 reaches 5 through both (3 -> 4 -> 5 is one level through a node deleted in the same call).
    const std::vector<uint32_t> more{3, 4, 2};  // 2 is deleted already: ignored
    delete_nodes(line.g, more, line.distances, params(2, 4));
    EXPECT_EQ(row(line.g, 1), (std::vector<uint32_t>{0, 5}));
    EXPECT_EQ(row(line.g, 5), (std::vector<uint32_t>{1}));
    EXPECT_EQ(line.g.live(), 3u);
    EXPECT_EQ(line.g.upper_nodes[0], (std::vector<uint32_t>{0}));
    EXPECT_EQ(problems(line.g), "");
}

TEST(GraphUpdate, DeletedEntryPointIsReplaced) {
    Line line;
    const std::vector<uint32_t> zero{0};
    delete_nodes(line.g, zero, line.distances, params(2, 4));
    EXPECT_EQ(line.g.entry_point, 3u);  // the remaining node of the top layer
    EXPECT_EQ(line.g.upper_nodes, (std::vector<std::vector<uint32_t>>{{3}}));
    EXPECT_TRUE(line.g.upper_changed);
    EXPECT_EQ(problems(line.g), "");

    // The last upper-layer node goes: the layer goes, and the live node with the longest row takes over.
    const std::vector<uint32_t> three{3};
    delete_nodes(line.g, three, line.distances, params(2, 4));
    EXPECT_TRUE(line.g.upper_nodes.empty());
    EXPECT_TRUE(line.g.upper.empty());
    EXPECT_FALSE(line.g.deleted[line.g.entry_point]);
    EXPECT_EQ(problems(line.g), "");
}

TEST(GraphUpdate, DeleteEverythingThenInsertAgain) {
    Line line;
    std::vector<uint32_t> all(6);
    std::iota(all.begin(), all.end(), 0u);
    delete_nodes(line.g, all, line.distances, params(2, 4));
    EXPECT_EQ(line.g.live(), 0u);
    EXPECT_TRUE(line.g.upper.empty());
    EXPECT_EQ(line.g.to_graph().edges(), 0u);
    EXPECT_EQ(problems(line.g), "");

    const auto v = line.add({{0.0f, 1.0f}, {0.0f, 2.0f}});
    insert_nodes(line.g, 6, 2, v.data(), 2, line.distances, params(2, 4));
    // Node 7 drew an upper level (P = 1/4 at M = 4), so it heads a layer grown again from nothing, and the entry
    // moved onto it; the entry is live and on the top layer either way.
    ASSERT_EQ(line.g.upper_nodes.size(), 1u);
    EXPECT_EQ(line.g.upper_nodes[0], std::vector<uint32_t>{7});
    EXPECT_EQ(line.g.entry_point, 7u);
    EXPECT_EQ(row(line.g, 7), (std::vector<uint32_t>{6}));
    EXPECT_EQ(row(line.g, 6), (std::vector<uint32_t>{7}));
    EXPECT_EQ(problems(line.g), "");
}

TEST(GraphUpdate, MoveRedirectsEveryEdge) {
    Line line;
    line.g.resize(7);  // a fresh node is live from resize() on: it must be linked (moved to or inserted) to be found
    move_node(line.g, 3, 6);
    EXPECT_TRUE(line.g.deleted[3]);
    EXPECT_TRUE(line.g.rows[3].empty());
    EXPECT_EQ(row(line.g, 6), (std::vector<uint32_t>{2, 4}));
    EXPECT_EQ(row(line.g, 2), (std::vector<uint32_t>{1, 6}));
    EXPECT_EQ(row(line.g, 4), (std::vector<uint32_t>{6, 5}));
    EXPECT_EQ(line.g.upper_nodes[0], (std::vector<uint32_t>{0, 6}));
    EXPECT_EQ(line.g.to_graph().upper[0].neighbors, (std::vector<uint32_t>{6, 0}));
    EXPECT_EQ(line.g.entry_point, 0u);
    EXPECT_EQ(problems(line.g), "");

    line.g.resize(8);
    move_node(line.g, 0, 7);  // the entry point: it follows, and 7 sorts after 6 on layer 1
    EXPECT_EQ(line.g.entry_point, 7u);
    EXPECT_EQ(line.g.upper_nodes[0], (std::vector<uint32_t>{6, 7}));
    EXPECT_EQ(line.g.to_graph().upper[0].neighbors, (std::vector<uint32_t>{7, 6}));
    EXPECT_EQ(row(line.g, 1), (std::vector<uint32_t>{7, 2}));
    EXPECT_TRUE(line.g.upper_changed);
    EXPECT_EQ(line.g.live(), 6u);
    EXPECT_EQ(problems(line.g), "");

    EXPECT_THROW(move_node(line.g, 0, 5), Error);  // 0 is deleted
    EXPECT_THROW(move_node(line.g, 1, 2), Error);  // 2 has a row
    EXPECT_THROW(move_node(line.g, 1, 8), Error);  // out of range
    EXPECT_THROW(move_node(line.g, 1, 1), Error);
}

// Node 0 at the origin with one out-edge; four nodes around it (90 degrees apart) all point to it, and to their two
// ring neighbours. With one hub among five nodes, 0 (in-degree 4) is the hub: once rows pointing to it changed, it is
// offered its two-hop neighbourhood and keeps the diverse ones, up to hub_degree.
struct Star {
    TableDistances distances{2, Metric::l2};
    MutableGraph g;
    Star() {
        distances.table = {0, 0, 1, 0, 0, 1, -1, 0, 0, -1};
        g.rows = {{1}, {0, 2, 4}, {0, 1, 3}, {0, 2, 4}, {0, 3, 1}};
        g.deleted.assign(5, 0);
        g.dirty.assign(5, 0);
        g.entry_point = 0;
    }
};

TEST(GraphUpdate, HubStatusFollowsInDegree) {
    UpdateParams p = params(2, 4);
    p.hub_fraction = 0.2;  // one hub among five nodes
    {
        Star star;  // nothing changed in this update: nobody is promoted
        EXPECT_EQ(promote_hubs(star.g, star.distances, p), 0u);
        EXPECT_EQ(row(star.g, 0), (std::vector<uint32_t>{1}));
    }
    {
        Star star;
        star.g.dirty[3] = 1;  // a row pointing to 0 changed in this update
        EXPECT_EQ(promote_hubs(star.g, star.distances, p), 2u);
        // Two hops through 1 offer 2 and 4, both diverse from 1 and each other (3 is not two hops away).
        EXPECT_EQ(row(star.g, 0), (std::vector<uint32_t>{1, 2, 4}));
        EXPECT_TRUE(star.g.dirty[0]);
        EXPECT_EQ(row(star.g, 1), (std::vector<uint32_t>{0, 2, 4}));  // only the hub's row grows
        EXPECT_EQ(problems(star.g), "");
        // Again (the next update): 3 is now two hops away through 2, and diverse; then nothing is left to offer.
        EXPECT_EQ(promote_hubs(star.g, star.distances, p), 1u);
        EXPECT_EQ(row(star.g, 0), (std::vector<uint32_t>{1, 2, 4, 3}));
        EXPECT_EQ(promote_hubs(star.g, star.distances, p), 0u);
    }
    {
        Star star;
        star.g.dirty[3] = 1;
        p.hub_degree = 2;  // the cap holds: one edge added
        EXPECT_EQ(promote_hubs(star.g, star.distances, p), 1u);
        EXPECT_EQ(row(star.g, 0).size(), 2u);
    }
    {
        Star star;
        star.g.dirty[3] = 1;
        star.g.deleted[4] = 1;  // deleted nodes count for nothing and are never offered
        star.g.rows[4].clear();
        for (uint32_t v : {1u, 3u}) std::erase(star.g.rows[v], 4u);
        p.hub_degree = 4;
        promote_hubs(star.g, star.distances, p);
        EXPECT_FALSE(links(star.g, 0, 4));
        EXPECT_TRUE(links(star.g, 0, 2));
    }
    p.hub_fraction = 1.5;
    Star star;
    EXPECT_THROW(promote_hubs(star.g, star.distances, p), Error);
}

TEST(GraphUpdate, RepairLinksUnreachableNodes) {
    Line line;
    line.g.rows[4] = {3};  // nothing leads to 5 any more
    EXPECT_NE(problems(line.g).find("node 5 is live but not reachable"), std::string::npos);
    EXPECT_EQ(repair_reachability(line.g, line.distances, params(2, 4)), 1u);
    EXPECT_TRUE(links(line.g, 4, 5));  // its nearest reachable node, which has room
    EXPECT_TRUE(line.g.dirty[4]);
    EXPECT_EQ(problems(line.g), "");
    EXPECT_EQ(repair_reachability(line.g, line.distances, params(2, 4)), 0u);

    // No room (rows capped at 1): 4's edge to 3, which 2 also links to, gives way.
    line.g.rows[4] = {3};
    EXPECT_EQ(repair_reachability(line.g, line.distances, params(1, 1)), 1u);
    EXPECT_EQ(row(line.g, 4), (std::vector<uint32_t>{5}));
    EXPECT_EQ(problems(line.g), "");
}

TEST(GraphUpdate, CheckLiveNamesTheNode) {
    Line line;
    const Graph g = line.g.to_graph();
    const GraphView view(g);
    EXPECT_EQ(check_live(view, {}), "");
    const std::vector<uint8_t> five{0x20}, three{0x08}, zero{0x01}, short_bits{};
    EXPECT_EQ(check_live(view, five), "node 4 links to deleted node 5");  // rows are checked in node order
    EXPECT_EQ(check_live(view, three), "node 2 links to deleted node 3");

    Graph cut = g;  // 0 and 5 deleted and unlinked, 1 cut off: 0:{} 1:{2} 2:{3} 3:{2,4} 4:{3} 5:{}
    cut.base.offsets = {0, 0, 1, 2, 4, 5, 5};
    cut.base.neighbors = {2, 3, 2, 4, 3};
    const std::vector<uint8_t> zero_five{0x21};
    EXPECT_EQ(check_live(GraphView(cut), zero_five), "layer 1: node 0 is deleted");
    cut.upper_nodes = {{3}};
    cut.upper[0] = Csr{{0, 0}, {}};
    cut.entry_point = 3;
    EXPECT_EQ(check_live(GraphView(cut), zero_five),
              "node 1 is live but not reachable from the entry point 3 (1 live nodes unreached)");
    cut.entry_point = 0;
    cut.upper.clear();
    cut.upper_nodes.clear();
    EXPECT_EQ(check_live(GraphView(cut), zero_five), "entry point 0 is deleted");
    cut.entry_point = 1;
    EXPECT_EQ(check_live(GraphView(cut), zero_five), "");
    Graph nine = g;
    nine.nodes = 9;
    nine.base.offsets = {0, 1, 3, 5, 7, 9, 10, 10, 10, 10};
    EXPECT_EQ(check_live(GraphView(nine), zero), "TOMB bitmap has 1 bytes, expected 2 for 9 nodes");
    nine.upper_nodes[0] = {0, 3, 9};
    EXPECT_NE(check_live(GraphView(nine), short_bits), "");  // structural errors come first
}

TEST(GraphUpdate, NanDistancesCountAsFar) {
    Line line;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const auto v = line.add({{nan, nan}, {2.5f, 0.1f}, {nan, 0.0f}});
    insert_nodes(line.g, 6, 3, v.data(), 2, line.distances, params(2, 4));
    EXPECT_EQ(problems(line.g), "");  // linked by the repair, from wherever
    EXPECT_EQ(row(line.g, 7), (std::vector<uint32_t>{2, 3}));
    const std::vector<uint32_t> gone{2, 6};
    delete_nodes(line.g, gone, line.distances, params(2, 4));
    EXPECT_EQ(problems(line.g), "");
}

TEST(GraphUpdate, RejectsBadArguments) {
    Line line;
    const auto v = line.add({{9.0f, 9.0f}});
    const std::vector<uint32_t> out_of_range{6, 7};
    EXPECT_THROW(delete_nodes(line.g, out_of_range, line.distances, params(2, 4)), Error);
    EXPECT_EQ(line.g.live(), 7u);  // nothing happened
    EXPECT_THROW(insert_nodes(line.g, 6, 2, v.data(), 2, line.distances, params(2, 4)), Error);
    EXPECT_THROW(insert_nodes(line.g, 5, 1, v.data(), 2, line.distances, params(2, 4)), Error);  // 5 has a row
    EXPECT_THROW(insert_nodes(line.g, 6, 1, nullptr, 2, line.distances, params(2, 4)), Error);
    EXPECT_THROW(insert_nodes(line.g, 6, 1, v.data(), 2, line.distances, params(5, 4)), Error);
    EXPECT_THROW(insert_nodes(line.g, 6, 1, v.data(), 2, line.distances, params(0, 4)), Error);
    MutableGraph broken = line.g;
    broken.rows[1].push_back(99);
    EXPECT_THROW(repair_reachability(broken, line.distances, params(2, 4)), Error);
    broken = line.g;
    broken.dirty.pop_back();
    EXPECT_THROW(insert_nodes(broken, 6, 1, v.data(), 2, line.distances, params(2, 4)), Error);
    broken = line.g;
    broken.upper[0].neighbors[0] = 77;
    EXPECT_THROW(broken.to_graph(), Error);
    insert_nodes(line.g, 6, 1, v.data(), 2, line.distances, params(2, 4));
    EXPECT_EQ(problems(line.g), "");
}

// Random sequences of every operation on a small graph with tight degrees, including deleting everything and
// starting over: the invariants hold after each step and no row outgrows the cap.
TEST(GraphUpdate, RandomOperationsKeepInvariants) {
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<float> coord(0.0f, 10.0f);
    TableDistances d(2, Metric::l2);
    for (int i = 0; i < 120; ++i) d.table.insert(d.table.end(), {coord(rng), coord(rng)});
    BuildParams b;
    b.max_degree = 4;
    b.threads = 1;
    PruneParams p;
    p.hub_degree = 4;
    p.degree = 2;
    p.threads = 1;
    const Graph built = prune(build_hnsw(d.table.data(), 120, 2, Metric::l2, b), d.table.data(), 2, Metric::l2, p);
    MutableGraph g = MutableGraph::from_view(GraphView(built), {});
    const UpdateParams up = params(2, 4);
    for (int step = 0; step < 1000; ++step) {
        const auto pick = [&] { return static_cast<uint32_t>(rng() % g.nodes()); };
        if (step == 500) {
            std::vector<uint32_t> all(g.nodes());
            std::iota(all.begin(), all.end(), 0u);
            delete_nodes(g, all, d, up);
            ASSERT_EQ(g.live(), 0u);
        }
        switch (rng() % 5) {
            case 0:
            case 1: {
                std::vector<uint32_t> gone(rng() % 12);  // may repeat, may hit deleted nodes
                for (uint32_t& v : gone) v = pick();
                delete_nodes(g, gone, d, up);
                break;
            }
            case 2:
            case 3: {
                const size_t count = 1 + rng() % 8;
                std::vector<float> added;
                for (size_t i = 0; i < 2 * count; ++i) added.push_back(coord(rng));
                d.table.insert(d.table.end(), added.begin(), added.end());
                const auto first = static_cast<uint32_t>(g.nodes());
                g.resize(first + count);
                insert_nodes(g, first, count, added.data(), 2, d, up);
                break;
            }
            default: {
                const uint32_t from = pick();
                if (g.deleted[from]) break;
                const auto to = static_cast<uint32_t>(g.nodes());
                d.table.insert(d.table.end(), d.at(from), d.at(from) + 2);
                g.resize(to + 1);
                move_node(g, from, to);
                EXPECT_EQ(repair_reachability(g, d, up), 0u);
            }
        }
        ASSERT_EQ(problems(g), "") << "step " << step;
        for (const auto& r : g.rows) ASSERT_LE(r.size(), up.hub_degree) << "step " << step;
    }
    EXPECT_GT(g.live(), 0u);
}

// ---- churn: deletes and inserts with PQ reconstructions standing in for stored vectors ----

constexpr size_t kDim = 32;
constexpr Metric kMetric = Metric::l2;

// Tight clusters around shared random centres, drawn in one stream so that later rows come from the same clusters.
std::vector<float> clustered(size_t n, size_t clusters, float spread, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    std::vector<float> centres(clusters * kDim);
    for (float& x : centres) x = normal(rng);
    std::vector<float> out(n * kDim);
    for (size_t i = 0; i < n; ++i) {
        const size_t c = rng() % clusters;
        for (size_t j = 0; j < kDim; ++j) out[i * kDim + j] = centres[c * kDim + j] + spread * normal(rng);
    }
    return out;
}

// Greedy descent over the upper layers, then best-first search on layer 0 with exact distances.
std::vector<uint32_t> graph_search(const GraphView& g, const std::vector<float>& vectors, const float* query, size_t k,
                                   size_t ef) {
    using Item = std::pair<float, uint32_t>;
    const auto dist = [&](uint32_t id) { return distance(kMetric, query, vectors.data() + id * kDim, kDim); };
    Item current{dist(g.entry_point), g.entry_point};
    for (size_t l = g.upper.size(); l >= 1; --l)
        for (bool moved = true; moved;) {
            moved = false;
            for (uint32_t u : g.upper_row(l, current.second))
                if (const Item c{dist(u), u}; c < current) current = c, moved = true;
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

// Recall@k of a search with result list `ef`, against brute force over the nodes in `members` (ids into `vectors`).
double recall(const GraphView& g, const std::vector<float>& vectors, const std::vector<uint32_t>& members,
              const std::vector<float>& queries, size_t k, size_t ef) {
    size_t hits = 0, total = 0;
    for (size_t q = 0; q * kDim < queries.size(); ++q) {
        const float* query = queries.data() + q * kDim;
        std::vector<std::pair<float, uint32_t>> all;
        for (uint32_t id : members) all.push_back({distance(kMetric, query, vectors.data() + id * kDim, kDim), id});
        std::partial_sort(all.begin(), all.begin() + static_cast<long>(k), all.end());
        const auto found = graph_search(g, vectors, query, k, ef);
        for (size_t i = 0; i < k; ++i) hits += std::count(found.begin(), found.end(), all[i].second);
        total += k;
    }
    return static_cast<double>(hits) / static_cast<double>(total);
}

Graph build_pruned(const std::vector<float>& vectors) {
    BuildParams b;
    b.max_degree = 16;
    b.ef_construction = 100;
    b.threads = 1;
    PruneParams p;
    p.hub_degree = 16;
    p.degree = 4;
    p.ef = 64;
    p.threads = 2;
    const Graph full = build_hnsw(vectors.data(), vectors.size() / kDim, kDim, kMetric, b);
    return prune(full, vectors.data(), kDim, kMetric, p);
}

TEST(GraphUpdate, ChurnKeepsRecallCloseToFreshBuild) {
    constexpr size_t kInitial = 3000, kRounds = 3, kPerRound = 300, kQueries = 200;
    const std::vector<float> all = clustered(kInitial + kRounds * kPerRound + kQueries, 40, 0.3f, 21);
    std::vector<float> exact(all.begin(), all.begin() + kInitial * kDim);  // by node id
    const std::vector<float> queries(all.end() - kQueries * kDim, all.end());

    pq::TrainParams tp;
    tp.subquantizers = 8;  // 4 dims per byte
    tp.threads = 2;
    const auto quantizer = pq::ProductQuantizer::train(exact.data(), kInitial, kDim, tp);
    const Graph initial = build_pruned(exact);
    MutableGraph g = MutableGraph::from_view(GraphView(initial), {});

    std::mt19937_64 rng(5);
    UpdateParams up;  // pruned_degree 4, hub_degree 16, ef 64
    for (size_t round = 0; round < kRounds; ++round) {
        // What the index holds for the nodes already in it: their PQ reconstructions.
        TableDistances distances(kDim, kMetric);
        distances.table.resize(exact.size());
        std::vector<uint8_t> codes(g.nodes() * quantizer.code_size());
        quantizer.encode(exact.data(), g.nodes(), codes.data(), 2);
        for (size_t v = 0; v < g.nodes(); ++v)
            quantizer.decode(codes.data() + v * quantizer.code_size(), distances.table.data() + v * kDim);

        std::vector<uint32_t> live;
        for (uint32_t v = 0; v < g.nodes(); ++v)
            if (!g.deleted[v]) live.push_back(v);
        std::shuffle(live.begin(), live.end(), rng);
        live.resize(kPerRound);
        delete_nodes(g, live, distances, up);
        ASSERT_EQ(problems(g), "") << "after deleting, round " << round;

        const auto first = static_cast<uint32_t>(g.nodes());
        const auto fresh = all.begin() + static_cast<long>((kInitial + round * kPerRound) * kDim);
        exact.insert(exact.end(), fresh, fresh + kPerRound * kDim);
        distances.table.insert(distances.table.end(), fresh, fresh + kPerRound * kDim);  // new nodes: exact
        g.resize(first + kPerRound);
        insert_nodes(g, first, kPerRound, exact.data() + first * kDim, kDim, distances, up);
        promote_hubs(g, distances, up);  // as an index update does
        ASSERT_EQ(problems(g), "") << "after inserting, round " << round;
        ASSERT_EQ(g.live(), kInitial);
    }

    // Rows that changed since loading are all marked dirty (the index rewrites only those).
    for (uint32_t v = 0; v < kInitial; ++v) {
        const auto before = initial.base.row(v);
        if (!std::equal(before.begin(), before.end(), g.rows[v].begin(), g.rows[v].end())) {
            ASSERT_TRUE(g.dirty[v]) << "node " << v;
        }
    }
    size_t longest = 0;
    for (const auto& r : g.rows) longest = std::max(longest, r.size());
    EXPECT_LE(longest, up.hub_degree);
    // Inserted nodes join the upper layers as the build would have placed them, so churn does not thin them: 27% of
    // the nodes were replaced, and layer 1 keeps about its size (without joining: 0.9^3 = 73% of it).
    ASSERT_FALSE(initial.upper_nodes.empty());
    ASSERT_FALSE(g.upper_nodes.empty());
    size_t live_on_1 = 0, new_on_1 = 0;
    for (uint32_t v : g.upper_nodes[0]) {
        live_on_1 += !g.deleted[v];
        new_on_1 += v >= kInitial;
    }
    std::printf("graph churn: layer 1 live members %zu (initially %zu), %zu of them inserted\n", live_on_1,
                initial.upper_nodes[0].size(), new_on_1);
    EXPECT_GT(double(live_on_1), 0.85 * double(initial.upper_nodes[0].size()));
    EXPECT_GT(new_on_1, 0u);

    const Graph churned = g.to_graph();
    std::vector<uint32_t> members;
    std::vector<float> compact;
    for (uint32_t v = 0; v < g.nodes(); ++v) {
        if (g.deleted[v]) continue;
        members.push_back(v);
        compact.insert(compact.end(), exact.begin() + v * kDim, exact.begin() + (v + 1) * kDim);
    }
    const Graph rebuilt = build_pruned(compact);
    std::vector<uint32_t> dense(members.size());
    std::iota(dense.begin(), dense.end(), 0u);
    const double churned_degree = static_cast<double>(churned.edges()) / static_cast<double>(members.size());
    const double fresh_degree = static_cast<double>(rebuilt.edges()) / static_cast<double>(members.size());
    std::printf("graph churn: mean degree churned %.2f fresh %.2f\n", churned_degree, fresh_degree);
    EXPECT_LT(churned_degree, 1.2 * fresh_degree);  // repairs must not let rows grow without bound
    EXPECT_GT(churned_degree, 0.8 * fresh_degree);
    // At ef 64 both are near 1. The narrow search shows the cost of choosing edges with PQ distances: with exact
    // distances for the stored nodes the two agree within a point; with 8-byte PQ codes, churn loses ~3-6 points.
    for (const auto& [ef, margin] : {std::pair<size_t, double>{64, 0.03}, {16, 0.08}}) {
        const double churned_recall = recall(GraphView(churned), exact, members, queries, 10, ef);
        const double fresh_recall = recall(GraphView(rebuilt), compact, dense, queries, 10, ef);
        std::printf("graph churn: recall@10 at ef %zu: churned %.4f fresh %.4f\n", ef, churned_recall, fresh_recall);
        RecordProperty("churned_recall_ef" + std::to_string(ef), std::to_string(churned_recall));
        RecordProperty("fresh_recall_ef" + std::to_string(ef), std::to_string(fresh_recall));
        EXPECT_GE(churned_recall, fresh_recall - margin) << "ef " << ef;
    }
}

}  // namespace
}  // namespace leann::graph
