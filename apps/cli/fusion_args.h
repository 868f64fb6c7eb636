// The hybrid-fusion flags shared by `leann search` and `leann eval`: --fusion, --vector-weight,
// --keyword-candidates (leann/search_options.h).
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

}  // namespace leann::cli
