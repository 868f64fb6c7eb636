// Encoder benchmark: throughput on 256-token chunks and latency of one short query, at several thread counts.
// Prints one JSON object per measurement (the same shape as bench/st_encoder_bench.py prints), so
// bench/run_encoder_bench.sh can put both side by side. Not a test: nothing here asserts a time.
//
//   encoder_bench --chunks bench/data/chunks256.jsonl --queries bench/data/queries.jsonl [--model NAME]
//                 [--threads 1,2] [--precision fp32,bf16,int8] [--batch-size 16] [--repeat 3] [--count 128]
// --precision takes a list: each thread count runs every precision in turn (same process, alternating, so that
// the machine's load drifts over all of them alike); a precision the CPU cannot run is reported and skipped.
// Each (threads, precision) also reports load_ms: Encoder::load from the model folder (its files in the page cache).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "leann/encoder.h"
#include "leann/error.h"

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<std::string> read_texts(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw leann::Error(path + ": cannot open (run bench/make_bench_texts.py first)");
    std::vector<std::string> texts;
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) texts.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
    return texts;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]));
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    if (v.empty()) return 0;
    size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
    return v[i];
}

void emit(size_t threads, const char* metric, double value, const nlohmann::json& extra) {
    nlohmann::json j = {{"impl", "leann"}, {"threads", threads}, {"metric", metric}, {"value", value}};
    if (extra.contains("precision")) j["impl"] = "leann-" + extra["precision"].get<std::string>();
    j.update(extra);
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    std::string model = std::string(leann::default_model_name), chunks_file, queries_file, thread_list = "1,2",
                precision_list = "fp32";
    size_t batch = 16, repeat = 3, count = 128, query_calls = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--model")
            model = v;
        else if (k == "--chunks")
            chunks_file = v;
        else if (k == "--queries")
            queries_file = v;
        else if (k == "--threads")
            thread_list = v;
        else if (k == "--batch-size")
            batch = std::stoul(v);
        else if (k == "--precision")
            precision_list = v;
        else if (k == "--repeat")
            repeat = std::stoul(v);
        else if (k == "--count")
            count = std::stoul(v);
        else if (k == "--query-calls")
            query_calls = std::stoul(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    try {
        auto chunks = read_texts(chunks_file);
        auto queries = read_texts(queries_file);
        if (chunks.size() > count) chunks.resize(count);
        std::stringstream list(thread_list);
        std::vector<leann::Precision> precisions;
        std::stringstream plist(precision_list);
        for (std::string item; std::getline(plist, item, ',');) precisions.push_back(leann::parse_precision(item));
        for (std::string item; std::getline(list, item, ',');) {
            const size_t threads = std::stoul(item);
            for (const leann::Precision precision : precisions) {
                if (!leann::precision_supported(precision)) {
                    std::fprintf(stderr, "encoder_bench: %s is not available here (%s)\n",
                                 leann::precision_name(precision), leann::precision_backend().c_str());
                    continue;
                }
                const auto load_start = clock_type::now();
                auto encoder = leann::Encoder::load(leann::resolve_model(model), {threads, batch, precision});
                const double load_ms = std::chrono::duration<double, std::milli>(clock_type::now() - load_start).count();
                const std::string pname = leann::precision_name(encoder->precision());
                std::vector<float> out(chunks.size() * encoder->dims());
                std::vector<std::string_view> views(chunks.begin(), chunks.end());
                encoder->encode(std::span(views).subspan(0, std::min<size_t>(batch, views.size())),
                                std::span(out).subspan(0, std::min<size_t>(batch, views.size()) * encoder->dims()));
                std::vector<double> rates;
                for (size_t r = 0; r < repeat; ++r) {
                    auto t0 = clock_type::now();
                    encoder->encode(views, out);
                    double s = std::chrono::duration<double>(clock_type::now() - t0).count();
                    rates.push_back(static_cast<double>(chunks.size()) / s);
                }
                emit(threads, "load_ms", load_ms, {{"model", model}, {"precision", pname}});  // Encoder::load (weights in page cache)
                emit(threads, "chunks_per_s", median(rates),
                     {{"chunks", chunks.size()},
                      {"batch_size", batch},
                      {"repeat", repeat},
                      {"model", model},
                      {"precision", pname}});

                std::vector<float> qv(encoder->dims());
                for (size_t w = 0; w < 10; ++w) {
                    std::string_view q = queries[w % queries.size()];
                    encoder->encode(std::span(&q, 1), qv, leann::TextRole::query);
                }
                std::vector<double> ms;
                for (size_t c = 0; c < query_calls; ++c) {
                    std::string_view q = queries[c % queries.size()];
                    auto t0 = clock_type::now();
                    encoder->encode(std::span(&q, 1), qv, leann::TextRole::query);
                    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
                }
                emit(threads, "query_ms_p50", median(ms),
                     {{"calls", ms.size()}, {"model", model}, {"precision", pname}});
                emit(threads, "query_ms_p95", percentile(ms, 0.95),
                     {{"calls", ms.size()}, {"model", model}, {"precision", pname}});
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "encoder_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
