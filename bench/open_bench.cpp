// What a reader pays for surviving in-place writers (docs/architecture.md, "Files changed under a reader"): the time
// to open an index (header, table and checked sections read into private memory) and to read passages (each zstd
// frame copied out of the mapping under a SIGBUS guard), and the memory held. Prints one JSON object.
// Not a test: nothing here asserts a figure.
//
//   open_bench --make PATH [--nodes 20000] [--dims 384] [--text-bytes 600]   build an index of random vectors
//   open_bench PATH [--opens 50] [--reads 20000]                           measure
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "leann/index.h"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

// Resident memory now (VmRSS), in MiB.
double rss_mib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

const char* arg(int argc, char** argv, const char* name, const char* fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: open_bench --make PATH [--nodes N] [--dims D] | open_bench PATH [--opens N]\n");
        return 2;
    }
    if (std::strcmp(argv[1], "--make") == 0 && argc >= 3) {
        const size_t nodes = std::stoul(arg(argc, argv, "--nodes", "20000"));
        const size_t dims = std::stoul(arg(argc, argv, "--dims", "384"));
        const size_t text_bytes = std::stoul(arg(argc, argv, "--text-bytes", "600"));
        std::mt19937 rng(7);
        std::normal_distribution<float> normal;
        std::vector<float> vectors(nodes * dims);
        for (float& v : vectors) v = normal(rng);
        static const char* words[] = {"graph", "index", "passage", "search", "query", "vector", "model", "recall"};
        std::vector<leann::Document> docs;
        for (size_t i = 0; i < nodes; ++i) {
            std::string text;
            while (text.size() < text_bytes) text += std::string(words[rng() % 8]) + " " + std::to_string(rng() % 997) + " ";
            docs.push_back({"doc-" + std::to_string(i), text, "{}"});
        }
        leann::BuildOptions options;
        leann::Index::build_from_vectors(argv[2], docs, vectors, {"random", "", dims}, leann::Metric::cosine, options);
        return 0;
    }
    const std::string path = argv[1];
    const int opens = std::stoi(arg(argc, argv, "--opens", "50"));
    const size_t reads = std::stoul(arg(argc, argv, "--reads", "20000"));
    const double rss_start = rss_mib();

    auto t = clock_type::now();
    for (int i = 0; i < opens; ++i) leann::Index::open(path);
    const double open_ms = seconds_since(t) * 1000.0 / opens;

    leann::Index index = leann::Index::open(path);
    const double rss_open = rss_mib();
    std::mt19937 rng(11);
    size_t bytes = 0;
    t = clock_type::now();
    for (size_t i = 0; i < reads; ++i) bytes += index.document(uint32_t(rng() % index.size())).text.size();
    const double read_us = seconds_since(t) * 1e6 / double(reads);
    const double rss_read = rss_mib();

    nlohmann::json out = {{"index", path},
                          {"nodes", index.size()},
                          {"open_ms", open_ms},
                          {"passage_read_us", read_us},
                          {"text_bytes_read", bytes},
                          {"rss_mib_start", rss_start},
                          {"rss_mib_after_open", rss_open},
                          {"rss_mib_after_reads", rss_read}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
}
