// Search flags shared by several commands (fusion_args.h).
#include "fusion_args.h"

#include <cstdlib>

#include "leann/error.h"

namespace leann::cli {

std::set<std::string> fusion_option_names() { return {"fusion", "vector-weight", "keyword-candidates"}; }

void apply_fusion_args(const Args& args, SearchOptions& options) {
    if (args.has("fusion")) {
        const auto fusion = parse_fusion(args.get("fusion"));
        if (!fusion) throw Error("--fusion must be rrf or convex, not '" + args.get("fusion") + "'");
        options.fusion = *fusion;
    }
    options.vector_weight = args.get_double("vector-weight", options.vector_weight);
    if (!(options.vector_weight >= 0 && options.vector_weight <= 1)) throw Error("--vector-weight must be in [0, 1]");
    options.keyword_candidates = args.get_size("keyword-candidates", options.keyword_candidates);
    if (options.keyword_candidates > 10000) throw Error("--keyword-candidates must be at most 10000");
}

size_t parse_rerank(const std::string& value) {
    if (value == "auto") return 0;
    char* end = nullptr;
    const unsigned long long n = std::strtoull(value.c_str(), &end, 10);
    if (value.empty() || value[0] == '-' || *end != '\0' || n == 0 || n > 1000000)
        throw Error("--rerank expects auto or a number of candidates from 1 to 1000000, got '" + value + "'");
    return size_t(n);
}

}  // namespace leann::cli
