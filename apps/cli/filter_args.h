// The filter flags shared by `leann search` and `leann grep`: --where, --path, --exclude-path, --type, --lang,
// --modified-after, --modified-before (leann/filter.h).
#pragma once

#include <set>
#include <string>

#include "args.h"
#include "leann/filter.h"

namespace leann::cli {

/// The option names, for Args.
std::set<std::string> filter_option_names();
/// The usage lines.
extern const char* const filter_usage;
/// The filter the flags describe (empty when none is given). Throws leann::Error naming the flag.
Filter filter_from_args(const Args& args);

}  // namespace leann::cli
