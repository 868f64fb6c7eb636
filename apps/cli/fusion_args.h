// Search flags shared by the commands that search: the hybrid-fusion flags of `leann search` and `leann eval`
// (--fusion, --vector-weight, --keyword-candidates) and the value of --rerank (leann/search_options.h).
#pragma once

#include <set>
#include <string>

#include "args.h"
#include "leann/search_options.h"

namespace leann::cli {

/// The option names, for Args.
std::set<std::string> fusion_option_names();
/// Sets options.fusion, vector_weight and keyword_candidates from the flags given (the others keep their value).
/// Throws leann::Error naming the flag.
void apply_fusion_args(const Args& args, SearchOptions& options);
/// A --rerank value: "auto" (the adaptive re-rank, SearchOptions::rerank 0) or a fixed N in [1, 1000000].
/// Throws leann::Error naming the flag.
size_t parse_rerank(const std::string& value);

}  // namespace leann::cli
