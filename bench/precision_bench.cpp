// Encoder precision benchmark (issue 12): for each precision, the embedding throughput over a fixed set of
// passages and the retrieval quality of its vectors against fp32 on a set with relevance judgements.
// Not a test: nothing here asserts a number.
//
//   precision_bench --passages bench/data/wordnet/passages.jsonl --queries bench/data/wordnet/queries.tsv
//                   --qrels bench/data/wordnet/queries_source.tsv [--count 20000] [--precision fp32,bf16,int8]
//                   [--threads 2] [--batch-size 16] [--model NAME]
//
// Passages: the synsets the queries come from plus the first --count others. For each precision P (fp32 first,
// as the reference) it embeds every passage (passage role) and query (query role), then ranks the passages for
// each query by exact inner product (all-MiniLM-L6-v2 is normalised: cosine) and reports, as JSON lines:
// - chunks_per_s: passages embedded per second (the build's embedding stage);
// - recall_at_3: overlap of P's exact top-3 with fp32's exact top-3 (1 for fp32 itself);
// - ndcg_at_10: nDCG@10 against the judgements (each query's one relevant passage is its source synset's gloss);
// - min_cosine / mean_cosine: each passage's P vector against its fp32 vector.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "leann/encoder.h"
#include "leann/error.h"

namespace {

std::vector<std::pair<std::string, std::string>> read_tsv(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw leann::Error(path + ": cannot open (run bench/make_wordnet.py first)");
    std::vector<std::pair<std::string, std::string>> rows;
    for (std::string line; std::getline(in, line);) {
        const size_t tab = line.find('\t');
        if (tab != std::string::npos) rows.emplace_back(line.substr(0, tab), line.substr(tab + 1));
    }
    return rows;
}

std::vector<std::vector<uint32_t>> top_k(const std::vector<float>& passages, const std::vector<float>& queries,
                                         size_t dims, size_t k) {
    const size_t n = passages.size() / dims, q = queries.size() / dims;
    std::vector<std::vector<uint32_t>> out(q);
    std::vector<float> scores(n);
    std::vector<uint32_t> order(n);
    for (size_t i = 0; i < q; ++i) {
        const float* qv = queries.data() + i * dims;
        for (size_t j = 0; j < n; ++j) {
            const float* p = passages.data() + j * dims;
            float s = 0;
            for (size_t c = 0; c < dims; ++c) s += qv[c] * p[c];
            scores[j] = s;
        }
        std::iota(order.begin(), order.end(), 0u);
        std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(), [&](uint32_t a, uint32_t b) {
            return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
        });
        out[i].assign(order.begin(), order.begin() + std::ptrdiff_t(k));
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string model = std::string(leann::default_model_name), passages_file, queries_file, qrels_file,
                precision_list = "fp32,bf16,int8";
    size_t count = 20000, threads = 0, batch = 16;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--model")
            model = v;
        else if (k == "--passages")
            passages_file = v;
        else if (k == "--queries")
            queries_file = v;
        else if (k == "--qrels")
            qrels_file = v;
        else if (k == "--count")
            count = std::stoul(v);
        else if (k == "--precision")
            precision_list = v;
        else if (k == "--threads")
            threads = std::stoul(v);
        else if (k == "--batch-size")
            batch = std::stoul(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    try {
        const auto queries = read_tsv(queries_file);
        std::map<std::string, std::string> source;  // query id -> passage id
        for (const auto& [q, p] : read_tsv(qrels_file)) source[q] = p;
        std::set<std::string> wanted;
        for (const auto& [q, text] : queries) wanted.insert(source.at(q));
        std::vector<std::string> ids, texts;
        std::ifstream in(passages_file);
        if (!in) throw leann::Error(passages_file + ": cannot open (run bench/make_wordnet.py first)");
        size_t others = 0;
        for (std::string line; std::getline(in, line);) {
            auto j = nlohmann::json::parse(line);
            const std::string id = j.at("id");
            const bool judged = wanted.count(id) > 0;
            if (!judged && others >= count) continue;
            others += judged ? 0 : 1;
            ids.push_back(id);
            texts.push_back(j.at("text"));
        }
        std::map<std::string, uint32_t> row_of;
        for (size_t i = 0; i < ids.size(); ++i) row_of[ids[i]] = uint32_t(i);
        std::vector<std::string> query_texts;
        std::vector<uint32_t> relevant;
        for (const auto& [q, text] : queries) {
            query_texts.push_back(text);
            relevant.push_back(row_of.at(source.at(q)));
        }

        std::vector<float> reference;
        std::vector<std::vector<uint32_t>> reference_top;
        std::stringstream list(precision_list);
        for (std::string item; std::getline(list, item, ',');) {
            const leann::Precision precision = leann::parse_precision(item);
            if (!leann::precision_supported(precision)) {
                std::fprintf(stderr, "precision_bench: %s is not available here (%s)\n", item.c_str(),
                             leann::precision_backend().c_str());
                continue;
            }
            auto encoder = leann::Encoder::load(leann::resolve_model(model), {threads, batch, precision});
            const size_t dims = encoder->dims();
            const auto t0 = std::chrono::steady_clock::now();
            const auto vectors = encoder->encode(texts, leann::TextRole::passage);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            const auto qvectors = encoder->encode(query_texts, leann::TextRole::query);
            const auto top = top_k(vectors, qvectors, dims, 10);
            if (reference.empty()) {
                reference = vectors;
                reference_top = top;
            }
            double recall3 = 0, ndcg = 0, min_cos = 1, mean_cos = 0;
            for (size_t q = 0; q < top.size(); ++q) {
                size_t hits = 0;
                for (size_t a = 0; a < 3; ++a)
                    for (size_t b = 0; b < 3; ++b) hits += top[q][a] == reference_top[q][b];
                recall3 += double(hits) / 3.0;
                for (size_t r = 0; r < 10; ++r)
                    if (top[q][r] == relevant[q]) ndcg += 1.0 / std::log2(double(r) + 2.0);
            }
            for (size_t i = 0; i < texts.size(); ++i) {
                double dot = 0, na = 0, nb = 0;
                for (size_t c = 0; c < dims; ++c) {
                    const double a = vectors[i * dims + c], b = reference[i * dims + c];
                    dot += a * b, na += a * a, nb += b * b;
                }
                const double cos = dot / std::sqrt(na * nb);
                min_cos = std::min(min_cos, cos);
                mean_cos += cos;
            }
            const nlohmann::json row = {{"precision", leann::precision_name(encoder->precision())},
                                        {"threads", encoder->threads()},
                                        {"passages", texts.size()},
                                        {"queries", top.size()},
                                        {"chunks_per_s", double(texts.size()) / seconds},
                                        {"recall_at_3", recall3 / double(top.size())},
                                        {"ndcg_at_10", ndcg / double(top.size())},
                                        {"min_cosine", min_cos},
                                        {"mean_cosine", mean_cos / double(texts.size())},
                                        {"backend", leann::precision_backend()}};
            std::printf("%s\n", row.dump().c_str());
            std::fflush(stdout);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "precision_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
