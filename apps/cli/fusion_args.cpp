// The hybrid-fusion flags (fusion_args.h).
#include "fusion_args.h"

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

}  // namespace leann::cli
