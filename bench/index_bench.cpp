// Index benchmark: build an index from cached embeddings (never re-embedding between runs), then sweep the search
// parameters with the oracle recompute path (stored vectors stand in for the encoder, so counts are exact and the
// time is the graph + PQ overhead) and, optionally, with the real encoder for end-to-end latency.
// Prints one JSON object per measurement. Not a test: nothing here asserts a figure.
//
//   index_bench --base B.npy --queries Q.npy [--gt GT.npy] [--docs passages.jsonl] [--query-texts Q.tsv]
//               [--metric ip|cosine|l2] [--limit N] [--label NAME] [--keep PATH]
//               [--graph-degree 32] [--ef-construction 128] [--no-prune] [--pruned-degree 12] [--hub-degree 32]
//               [--hub-fraction 0.02] [--pq-bytes 0] [--hub-cache-mb 0]
//               [--complexity 8,16,32,64,128] [--share 0] [--rerank 64] [--batch 64] [--no-recompute]
//               [--top-k 10] [--confidence 0.95] [--rerank-limit 128] [--dump-lists FILE]
//               [--encoder-queries 50] [--encoder-complexity 32]
// Lists (comma-separated) are swept. --rerank 0 is the adaptive re-rank, swept over --confidence; --dump-lists
// writes each query's PQ walk list (nodes and PQ distances, JSON lines) for studying re-rank policies offline.
// The encoder stage runs every --rerank value at each --encoder-complexity, with the first --top-k and
// --confidence.
// --gt is used only without --limit (it is the exact top-k over the whole base); otherwise brute force here.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "leann/error.h"
#include "leann/index.h"
#include "leann/model.h"
#include "npy.h"
#include "index/index_impl.h"
#include "search/vector_source.h"
#include "util/distance.h"
#include "util/thread_pool.h"

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

struct Options {
    std::map<std::string, std::string> values;
    bool has(const std::string& k) const { return values.count(k) != 0; }
    std::string get(const std::string& k, const std::string& d = "") const {
        auto it = values.find(k);
        return it == values.end() ? d : it->second;
    }
    double num(const std::string& k, double d) const { return has(k) ? std::stod(get(k)) : d; }
};

std::vector<double> list(const std::string& s) {
    std::vector<double> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) out.push_back(std::stod(item));
    return out;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))];
}

double peak_rss_mib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::vector<leann::Document> read_documents(const std::string& path, size_t limit) {
    std::vector<leann::Document> docs;
    std::ifstream in(path);
    if (!in) throw leann::Error(path + ": cannot open");
    std::string line;
    while (docs.size() < limit && std::getline(in, line)) {
        const json r = json::parse(line);
        std::string text = r.at("text").get<std::string>();
        if (r.contains("title") && r["title"].is_string() && !r["title"].get<std::string>().empty())
            text = r["title"].get<std::string>() + " " + text;
        docs.push_back({r.contains("id") ? r["id"].get<std::string>() : std::to_string(docs.size()), text, "{}"});
    }
    return docs;
}

std::vector<std::string> read_query_texts(const std::string& path) {
    std::vector<std::string> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        const auto tab = line.find('\t');
        out.push_back(tab == std::string::npos ? line : line.substr(tab + 1));
    }
    return out;
}

/// Exact top-`k` per query by brute force (both threads), when no ground truth file is given.
bench::Matrix<int32_t> brute_force(const bench::Matrix<float>& base, const bench::Matrix<float>& queries,
                                   leann::Metric metric, size_t k) {
    bench::Matrix<int32_t> gt;
    gt.rows = queries.rows;
    gt.cols = k;
    gt.data.resize(gt.rows * k);
    leann::ThreadPool pool(leann::hardware_threads());
    pool.for_each_task(queries.rows, [&](size_t q, size_t) {
        std::vector<std::pair<float, int32_t>> all(base.rows);
        for (size_t r = 0; r < base.rows; ++r)
            all[r] = {leann::distance(metric, queries.row(q), base.row(r), base.cols), int32_t(r)};
        std::partial_sort(all.begin(), all.begin() + std::ptrdiff_t(k), all.end());
        for (size_t i = 0; i < k; ++i) gt.data[q * k + i] = all[i].second;
    });
    return gt;
}

double recall(const std::vector<leann::Hit>& hits, const int32_t* truth, size_t k) {
    size_t found = 0;
    for (size_t i = 0; i < std::min(k, hits.size()); ++i)
        found += std::count(truth, truth + k, int32_t(hits[i].node));
    return double(found) / double(k);
}

int run(const Options& o) {
    const auto metric = leann::parse_metric(o.get("metric", "ip"));
    if (!metric) throw leann::Error("--metric must be ip, cosine or l2");
    bench::Matrix<float> base = bench::read_npy<float>(o.get("base"));
    bench::Matrix<float> queries = bench::read_npy<float>(o.get("queries"));
    const size_t full_rows = base.rows;
    const size_t limit = std::min(full_rows, size_t(o.num("limit", double(base.rows))));
    if (limit < base.rows) {
        base.rows = limit;
        base.data.resize(limit * base.cols);
    }
    if (*metric == leann::Metric::cosine) {
        for (size_t r = 0; r < base.rows; ++r) leann::normalize(base.data.data() + r * base.cols, base.cols);
        for (size_t r = 0; r < queries.rows; ++r) leann::normalize(queries.data.data() + r * queries.cols, queries.cols);
    }
    const size_t n = base.rows, dim = base.cols;
    bench::Matrix<int32_t> gt;
    if (o.has("gt") && limit == full_rows) {  // a ground-truth file is for the whole base
        gt = bench::read_npy<int32_t>(o.get("gt"));
    } else {
        gt = brute_force(base, queries, *metric, 10);
    }
    std::vector<leann::Document> docs;
    if (o.has("docs")) {
        docs = read_documents(o.get("docs"), n);
        if (docs.size() != n) throw leann::Error("--docs has fewer records than vectors");
    } else {
        for (size_t i = 0; i < n; ++i) docs.push_back({std::to_string(i), "", "{}"});
    }
    const double rss_inputs = peak_rss_mib();

    leann::BuildOptions build;
    build.graph.max_degree = uint32_t(o.num("graph-degree", 32));
    build.graph.ef_construction = uint32_t(o.num("ef-construction", 128));
    build.graph.prune = !o.has("no-prune");
    build.graph.pruned_degree = uint32_t(o.num("pruned-degree", build.graph.pruned_degree));
    build.graph.hub_degree = uint32_t(o.num("hub-degree", build.graph.hub_degree));
    build.graph.hub_fraction = o.num("hub-fraction", build.graph.hub_fraction);
    build.pq_bytes = size_t(o.num("pq-bytes", 0));
    build.hub_cache_bytes = size_t(o.num("hub-cache-mb", 0) * 1048576.0);
    leann::IndexModel model{o.get("model-name", "all-MiniLM-L6-v2"), o.get("model-hash", ""), dim};
    if (o.has("query-texts")) {  // the real encoder will be attached: record its hash
        const leann::ModelInfo info = leann::read_model_info(leann::resolve_model(model.name));
        model.content_hash = info.content_hash;
    }
    const std::string path = o.get("keep", "/tmp/leann-index-bench.leann");
    const auto build_start = clock_type::now();
    std::map<std::string, double> stage_seconds;
    auto stage_start = clock_type::now();
    std::string stage;
    build.progress = [&](std::string_view s, size_t, size_t) {
        if (s == stage) return;
        if (!stage.empty()) stage_seconds[stage] += seconds_since(stage_start);
        stage = s;
        stage_start = clock_type::now();
    };
    leann::Index::build_from_vectors(path, docs, base.data, model, *metric, build);
    if (!stage.empty()) stage_seconds[stage] += seconds_since(stage_start);
    const double build_seconds = seconds_since(build_start);
    const double rss_build = peak_rss_mib();
    docs.clear();
    docs.shrink_to_fit();

    leann::Index index = leann::Index::open(path);
    const leann::IndexStats stats = index.stats();
    json sections = json::object();
    uint64_t structure = 0;
    for (const auto& s : stats.sections) {
        sections[s.tag] = double(s.bytes) / double(n);
        if (s.tag != "PSGD" && s.tag != "HUBV" && s.tag != "META") structure += s.bytes;
    }
    const json common = {{"label", o.get("label", "")},
                         {"n", n},
                         {"dim", dim},
                         {"metric", std::string(leann::metric_name(*metric))},
                         {"graph", json::parse(stats.config_json)["graph"]},
                         {"pq_bytes", json::parse(stats.config_json)["pq"]["code_bytes"]},
                         {"hubs", stats.hubs}};
    json build_record = common;
    build_record["kind"] = "build";
    build_record["build_seconds"] = build_seconds;
    build_record["stage_seconds"] = stage_seconds;
    build_record["peak_rss_mib"] = rss_build;
    build_record["inputs_rss_mib"] = rss_inputs;
    build_record["vectors_mib"] = double(n * dim * 4) / 1048576.0;
    build_record["bytes_per_chunk"] = sections;
    build_record["structure_bytes_per_chunk"] = double(structure) / double(n);
    build_record["raw_text_bytes"] = stats.raw_text_bytes;
    build_record["file_bytes"] = stats.file_bytes;
    std::printf("%s\n", build_record.dump().c_str());
    std::fflush(stdout);

    leann::search::OracleSource oracle(base.data.data(), n, dim);
    if (o.has("dump-lists")) {  // the PQ walk's candidate list per query (for studying re-rank policies offline)
        std::ofstream out(o.get("dump-lists"));
        leann::SearchOptions s;
        s.mode = leann::SearchMode::vector;
        s.recompute = false;
        s.complexity = size_t(list(o.get("complexity", "800")).front());
        s.top_k = s.complexity;
        for (size_t q = 0; q < queries.rows; ++q) {
            const leann::SearchResult r =
                leann::detail::IndexInternals::search(index, {queries.row(q), dim}, s, nullptr, false);
            json nodes = json::array(), pq = json::array();
            for (const auto& h : r.hits) {
                nodes.push_back(h.node);
                pq.push_back(-h.score);
            }
            out << json{{"nodes", nodes}, {"pq", pq}}.dump() << "\n";
        }
    }
    const std::vector<double> shares = list(o.get("share", "0"));
    const std::vector<double> batches = list(o.get("batch", "64"));
    const std::vector<double> reranks = list(o.get("rerank", "64"));  // 0 = adaptive
    const std::vector<double> confidences = list(o.get("confidence", std::to_string(leann::SearchOptions{}.rerank_confidence)));  // for the adaptive re-rank
    const std::vector<double> top_ks = list(o.get("top-k", "10"));
    for (double share : shares) {
        for (double batch : batches) {
            for (double rerank : share > 0 ? std::vector<double>{0} : reranks) {
            for (double confidence : share == 0 && rerank == 0 ? confidences : std::vector<double>{leann::SearchOptions{}.rerank_confidence}) {
            for (double top_k : top_ks) {
            for (double complexity : list(o.get("complexity", "8,16,32,64,128"))) {
                if (share == 0 && complexity < rerank) continue;  // the re-rank takes from the list
                leann::SearchOptions s;
                s.mode = leann::SearchMode::vector;
                s.top_k = size_t(top_k);
                s.rerank_confidence = confidence;
                s.rerank_limit = size_t(o.num("rerank-limit", double(s.rerank_limit)));
                s.complexity = size_t(complexity);
                s.recompute_share = share;
                s.batch_size = size_t(batch);
                s.recompute = !o.has("no-recompute");
                s.rerank = size_t(rerank);
                double r3 = 0, r10 = 0;
                leann::SearchStats total;
                std::vector<double> times, recomputed;
                for (size_t q = 0; q < queries.rows; ++q) {
                    const auto t = clock_type::now();
                    const leann::SearchResult r =
                        leann::detail::IndexInternals::search(index, {queries.row(q), dim}, s, &oracle,
                                                             /*with_passages=*/false);
                    times.push_back(seconds_since(t));
                    r3 += recall(r.hits, gt.row(q), 3);
                    r10 += recall(r.hits, gt.row(q), 10);
                    total += r.stats;
                    recomputed.push_back(double(r.stats.recomputed));
                }
                const double nq = double(queries.rows);
                json rec = common;
                rec["kind"] = "search";
                rec["source"] = "oracle";
                rec["complexity"] = s.complexity;
                rec["share"] = share;
                rec["batch"] = s.batch_size;
                rec["recompute"] = s.recompute;
                rec["rerank"] = s.rerank;
                if (s.rerank == 0) {
                    rec["rerank_confidence"] = s.rerank_confidence;
                    rec["rerank_limit"] = s.rerank_limit;
                }
                rec["top_k"] = s.top_k;
                rec["recomputed_p50"] = percentile(recomputed, 0.5);
                rec["recomputed_p95"] = percentile(recomputed, 0.95);
                rec["recall@3"] = r3 / nq;
                rec["recall@10"] = r10 / nq;
                rec["recomputed_per_query"] = double(total.recomputed) / nq;
                rec["hub_hits_per_query"] = double(total.hub_hits) / nq;
                rec["batches_per_query"] = double(total.batches) / nq;
                rec["expansions_per_query"] = double(total.expansions) / nq;
                rec["pq_per_query"] = double(total.pq_distances) / nq;
                rec["p50_ms"] = 1000 * percentile(times, 0.5);
                rec["p95_ms"] = 1000 * percentile(times, 0.95);
                std::printf("%s\n", rec.dump().c_str());
                std::fflush(stdout);
            }
            }
            }
            }
        }
    }

    if (o.has("query-texts")) {  // end to end: encoder for the query and for every recomputation
        const std::vector<std::string> texts = read_query_texts(o.get("query-texts"));
        index.load_encoder();
        index.set_cache_capacity(0);  // every query pays its own recomputations
        const size_t count = std::min(texts.size(), size_t(o.num("encoder-queries", 50)));
        for (double complexity : list(o.get("encoder-complexity", "32"))) {
        for (double rerank : reranks) {  // alternating policies per complexity, so load affects them alike
            leann::SearchOptions s;
            s.mode = leann::SearchMode::vector;
            s.top_k = size_t(top_ks.front());
            s.complexity = size_t(complexity);
            s.recompute_share = shares.front();
            s.rerank = size_t(rerank);
            s.rerank_confidence = confidences.front();
            s.batch_size = size_t(batches.front());
            std::vector<double> times;
            double r3 = 0, recomputed = 0;
            index.search(texts[0], s);  // warm-up
            for (size_t q = 0; q < count; ++q) {
                const leann::SearchResult r = index.search(texts[q], s);
                times.push_back(r.seconds);
                r3 += recall(r.hits, gt.row(q), 3);
                recomputed += double(r.stats.recomputed);
            }
            json rec = common;
            rec["kind"] = "search";
            rec["source"] = "encoder";
            rec["complexity"] = s.complexity;
            rec["share"] = s.recompute_share;
            rec["rerank"] = s.rerank;
            rec["batch"] = s.batch_size;
            rec["queries"] = count;
            rec["recall@3"] = r3 / double(count);
            rec["recomputed_per_query"] = recomputed / double(count);
            rec["top_k"] = s.top_k;
            rec["p50_ms"] = 1000 * percentile(times, 0.5);
            rec["p95_ms"] = 1000 * percentile(times, 0.95);
            std::printf("%s\n", rec.dump().c_str());
            std::fflush(stdout);
        }
        }
    }
    if (!o.has("keep")) std::filesystem::remove(path);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0) {
            std::fprintf(stderr, "unexpected argument %s\n", argv[i]);
            return 2;
        }
        a = a.substr(2);
        const bool flag = a == "no-prune" || a == "no-recompute";
        if (flag) {
            o.values[a] = "1";
        } else if (i + 1 < argc) {
            o.values[a] = argv[++i];
        } else {
            std::fprintf(stderr, "--%s needs a value\n", a.c_str());
            return 2;
        }
    }
    if (!o.has("base") || !o.has("queries")) {
        std::fprintf(stderr, "usage: index_bench --base B.npy --queries Q.npy [options] (see the source header)\n");
        return 2;
    }
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "index_bench: %s\n", e.what());
        return 1;
    }
}
