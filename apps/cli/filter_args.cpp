#include "filter_args.h"

#include <ctime>

#include "leann/error.h"

namespace leann::cli {

std::set<std::string> filter_option_names() {
    return {"where", "path", "exclude-path", "type", "lang", "modified-after", "modified-before"};
}

const char* const filter_usage = R"(Filters (repeatable; different flags are ANDed; results are the top-k of the matching chunks):
  --where EXPR           a metadata field: FIELD=VALUE, FIELD!=VALUE, FIELD>=N, FIELD>N, FIELD<=N, FIELD<N,
                         FIELD=A|B|C (any of); repeated --where flags are ANDed
  --path GLOB            source paths matching any of these globs ('src/**/*.py', '*.md')
  --exclude-path GLOB    not these paths
  --type T               file type: code, markdown, text, html, pdf, jsonl (comma-separated or repeated)
  --lang L               language of code files: python, cpp, rust, ... (comma-separated or repeated)
  --modified-after T     source file modified at or after T: 2024-05-01, 2024-05-01T12:00:00Z, unix seconds,
  --modified-before T    or an age (30m, 12h, 7d, 2w)
)";

namespace {

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
    std::vector<std::string> out;
    for (const std::string& v : values) {
        size_t start = 0;
        while (start <= v.size()) {
            const size_t comma = std::min(v.find(',', start), v.size());
            if (comma > start) out.push_back(v.substr(start, comma - start));
            start = comma + 1;
        }
    }
    return out;
}

}  // namespace

Filter filter_from_args(const Args& args) {
    Filter f;
    f.paths = args.get_all("path");
    f.exclude_paths = args.get_all("exclude-path");
    f.types = split_commas(args.get_all("type"));
    f.languages = split_commas(args.get_all("lang"));
    const int64_t now = int64_t(std::time(nullptr));
    if (args.has("modified-after"))
        f.modified_after = parse_time_bound(args.get("modified-after"), "--modified-after", now);
    if (args.has("modified-before"))
        f.modified_before = parse_time_bound(args.get("modified-before"), "--modified-before", now);
    const std::vector<std::string> where = args.get_all("where");
    f.where = where_from_expressions(where);
    check_filter(f);
    return f;
}

}  // namespace leann::cli
