// leann grep: literal or regular-expression search over an index's stored passages, printed like ripgrep.
#include <unistd.h>

#include <cstdio>
#include <string_view>
#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "filter_args.h"
#include "index_args.h"
#include "leann/error.h"
#include "leann/grep.h"

namespace leann::cli {
namespace {

constexpr const char* grep_usage = R"(Usage: leann grep NAME PATTERN [options]      (--index PATH in place of NAME)

Searches the passages stored in the index (no model needed) and prints matching lines as path:line:text, with the
source file's line numbers. PATTERN is an RE2 regular expression (linear time: no backreferences or look-around).
Exit status: 0 when a line matched, 1 when none did, 2 on an error.

Options:
  -F, --fixed-strings    PATTERN is literal text
  -i, --ignore-case      case-insensitive
  -s, --case-sensitive   case-sensitive (the default)
  -S, --smart-case       case-insensitive unless PATTERN has an upper-case letter
  -w, --word-regexp      only whole-word matches
  -v, --invert-match     lines that do not match
  -A N, --after-context N    N lines after each match
  -B N, --before-context N   N lines before each match
  -C N, --context N          N lines before and after
  -m N, --max-count N    at most N matching lines per file
  -l, --files-with-matches   only the paths of files with a match
  -c, --count            per file: path:count
  --json                 one JSON object per matching line: {"path", "line", "text", "submatches": [{"match",
                         "start", "end"}], "before": [{"line", "text"}], "after": [...]} (+ "page" / "record")
  --color WHEN           auto (default: on a terminal), always, never
)";

std::string display_path(const GrepFile& f) {
    return f.page ? f.path + "#page=" + std::to_string(f.page) : f.path;
}

}  // namespace

int run_grep(const std::vector<std::string>& raw_argv) {
    // ripgrep's attached forms: -C2, -A3, -m1 (a number glued to the short option).
    std::vector<std::string> argv;
    for (const std::string& a : raw_argv) {
        if (a.size() > 2 && a[0] == '-' && std::string_view("ABCm").find(a[1]) != std::string_view::npos &&
            a.find_first_not_of("0123456789", 2) == std::string::npos) {
            argv.push_back(a.substr(0, 2));
            argv.push_back(a.substr(2));
        } else {
            argv.push_back(a);
        }
    }
    std::set<std::string> options = {"index", "A", "after-context", "B", "before-context", "C", "context",
                                     "m", "max-count", "color"};
    options.merge(filter_option_names());
    Args args(argv, options,
              {"help", "h", "F", "fixed-strings", "i", "ignore-case", "s", "case-sensitive", "S", "smart-case", "w",
               "word-regexp", "v", "invert-match", "l", "files-with-matches", "c", "count", "json"});
    if (args.has("help") || args.has("h")) {
        std::fputs(grep_usage, stdout);
        std::fputs(filter_usage, stdout);
        return 0;
    }
    size_t shift = 0;
    const std::filesystem::path path = index_path(args, shift);
    const auto& pos = args.positionals();
    if (pos.size() != shift + 1) throw Error("give one PATTERN (quote it; use -- before a pattern starting with '-')");
    auto either = [&](const char* a, const char* b) { return args.has(a) || args.has(b); };
    auto size_of = [&](const char* a, const char* b, size_t fallback) {
        return args.has(a) ? args.get_size(a, fallback) : args.get_size(b, fallback);
    };
    GrepOptions o;
    o.pattern = pos[shift];
    o.fixed_strings = either("F", "fixed-strings");
    o.case_mode = either("i", "ignore-case")    ? GrepCase::insensitive
                  : either("S", "smart-case")   ? GrepCase::smart
                                                : GrepCase::sensitive;
    o.word = either("w", "word-regexp");
    o.invert = either("v", "invert-match");
    const size_t context = size_of("C", "context", 0);
    o.before = size_of("B", "before-context", context);
    o.after = size_of("A", "after-context", context);
    o.max_count = size_of("m", "max-count", 0);
    o.filter = filter_from_args(args);
    const bool json = args.has("json"), list = either("l", "files-with-matches"), count = either("c", "count");
    const std::string color_when = args.get("color", "auto");
    if (color_when != "auto" && color_when != "always" && color_when != "never")
        throw Error("--color must be auto, always or never, got '" + color_when + "'");
    const bool color = color_when == "always" || (color_when == "auto" && isatty(STDOUT_FILENO) != 0);
    const char* path_on = color ? "\x1b[35m" : "";
    const char* line_on = color ? "\x1b[32m" : "";
    const char* match_on = color ? "\x1b[1;31m" : "";
    const char* off = color ? "\x1b[0m" : "";

    const Index index = open_index(args, path, false);
    bool first_block = true;
    const GrepStats stats = grep(index, o, [&](const GrepFile& f) {
        const std::string where = display_path(f);
        if (list) {
            std::printf("%s%s%s\n", path_on, where.c_str(), off);
        } else if (count) {
            std::printf("%s%s%s:%zu\n", path_on, where.c_str(), off, f.matches);
        } else if (json) {
            for (size_t i = 0; i < f.lines.size(); ++i) {
                const GrepLine& l = f.lines[i];
                if (!l.match) continue;
                nlohmann::json m = {{"path", f.path}, {"line", l.line}, {"text", l.text}};
                if (f.page) m["page"] = f.page;
                if (f.record) m["record"] = true;
                nlohmann::json subs = nlohmann::json::array();
                for (auto [s, e] : l.spans) subs.push_back({{"match", l.text.substr(s, e - s)}, {"start", s}, {"end", e}});
                m["submatches"] = subs;
                nlohmann::json before = nlohmann::json::array(), after = nlohmann::json::array();
                for (size_t k = i; k > 0 && l.line - f.lines[k - 1].line <= o.before &&
                                   f.lines[k - 1].line + (i - k + 1) == l.line;
                     --k)
                    before.insert(before.begin(),
                                  nlohmann::json::object({{"line", f.lines[k - 1].line}, {"text", f.lines[k - 1].text}}));
                for (size_t k = i + 1; k < f.lines.size() && f.lines[k].line - l.line <= o.after &&
                                       f.lines[k].line == l.line + (k - i);
                     ++k)
                    after.push_back(nlohmann::json::object({{"line", f.lines[k].line}, {"text", f.lines[k].text}}));
                m["before"] = before;
                m["after"] = after;
                std::printf("%s\n", m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
            }
        } else {
            const bool context_on = o.before > 0 || o.after > 0;
            for (size_t i = 0; i < f.lines.size(); ++i) {
                const GrepLine& l = f.lines[i];
                const bool gap = i == 0 ? !first_block : f.lines[i - 1].line + 1 != l.line;
                if (context_on && gap) std::printf("--\n");
                std::string text;
                size_t at = 0;
                for (auto [s, e] : l.spans) {
                    text += l.text.substr(at, s - at) + match_on + l.text.substr(s, e - s) + off;
                    at = e;
                }
                text += l.text.substr(at);
                const char sep = l.match ? ':' : '-';
                std::printf("%s%s%s%c%s%zu%s%c%s\n", path_on, where.c_str(), off, sep, line_on, l.line, off, sep,
                            text.c_str());
            }
        }
        first_block = false;
        return true;
    });
    std::fflush(stdout);
    if (stats.truncated) std::fprintf(stderr, "leann grep: stopped after %zu matches\n", stats.matches);
    return stats.matches > 0 ? 0 : 1;
}

}  // namespace leann::cli
