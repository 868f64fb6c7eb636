// Shared by the index commands: NAME or --index PATH, progress on a terminal.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "args.h"
#include "leann/index.h"
#include "leann/writer.h"

namespace leann::cli {

/// The index file for `leann CMD NAME ...` or `leann CMD --index PATH ...`; positional 0 is NAME when
/// --index is absent. `shift` is set to how many positionals were consumed (0 or 1).
std::filesystem::path index_path(const Args& args, size_t& shift);

/// --precision auto|fp32|bf16|int8 (default auto); a bad name is an error naming the flag.
Precision precision_arg(const Args& args);

/// Opens the index and, unless `with_encoder` is false, loads its recorded model (or --model PATH, which must
/// have the same content hash) in --precision (auto: the index's build precision where this CPU runs it).
Index open_index(const Args& args, const std::filesystem::path& path, bool with_encoder);

/// Stage progress on stderr when it is a terminal, a bar with count, rate and ETA:
///   "embed  [#########...........]  1200/5000  340/s  ETA 11s"; silent otherwise.
class Progress {
public:
    Progress();
    void operator()(std::string_view stage, size_t done, size_t total);
    void finish();
    /// Seconds spent in each stage so far (kept whether or not anything is printed).
    const std::map<std::string, double>& stage_seconds() const { return seconds_; }

private:
    bool tty_;
    std::map<std::string, double> seconds_;
    std::string stage_;
    double stage_start_ = 0;
    double last_print_ = 0;
    double last_event_ = 0;
};

/// The options of `leann build` that shape an index (files, chunking, graph, PQ, threads, --force/--rehash/--wait).
struct SyncArgs {
    std::vector<std::filesystem::path> roots;
    SyncOptions sync;
    WriterOptions writer;
};
SyncArgs parse_sync_args(const Args& args, const std::vector<std::string>& doc_args);
/// The read warnings of an update, one "warning: ..." line each on stderr.
void print_update_warnings(const UpdateStats& stats);

/// --threads N (0, all cores, when absent), clamped to the cores this process may use, with a note on stderr:
/// more threads than cores only slow things down, and thousands exhaust the machine's task limit.
size_t thread_arg(const Args& args);

double now_seconds();
/// "0.4s", "12.3s", "4m 05s", "1h 02m".
std::string format_seconds(double seconds);
std::string human_bytes(double bytes);

}  // namespace leann::cli
