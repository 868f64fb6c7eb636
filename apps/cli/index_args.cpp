#include "index_args.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "leann/error.h"
#include "leann/model.h"
#include "util/thread_pool.h"

namespace leann::cli {

std::filesystem::path index_path(const Args& args, size_t& shift) {
    if (args.has("index")) {
        shift = 0;
        return index_path_for_argument(args.get("index"));
    }
    if (args.positionals().empty()) throw Error("which index? give NAME or --index PATH");
    shift = 1;
    return index_path_for_name(args.positionals()[0]);
}

Precision precision_arg(const Args& args) {
    if (!args.has("precision")) return Precision::automatic;
    try {
        return parse_precision(args.get("precision"));
    } catch (const Error& e) {
        throw Error(std::string("--precision: ") + e.what());
    }
}

Index open_index(const Args& args, const std::filesystem::path& path, bool with_encoder) {
    if (!std::filesystem::exists(path))
        throw Error("no index at " + path.string() + " (build one with: leann build NAME --docs FILE.jsonl)");
    Index index = Index::open(path);
    if (with_encoder) {
        EncoderOptions options;
        options.threads = thread_arg(args);
        options.precision = precision_arg(args);
        std::optional<std::filesystem::path> model;
        if (args.has("model")) model = resolve_model(args.get("model"));
        index.load_encoder_when_needed(model, options);  // keyword searches never read the model
    }
    return index;
}

size_t thread_arg(const Args& args) {
    const size_t asked = args.get_size("threads", 0);
    const size_t cores = hardware_threads();
    if (asked <= cores) return asked;
    std::fprintf(stderr, "note: --threads %zu is more than the %zu cores here; using %zu\n", asked, cores, cores);
    return cores;
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    while (bytes >= 1024 && u + 1 < std::size(units)) {
        bytes /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return buf;
}

Progress::Progress() : tty_(isatty(STDERR_FILENO) != 0), last_event_(now_seconds()) {}

void Progress::operator()(std::string_view stage, size_t done, size_t total) {
    const double t = now_seconds();
    if (stage != stage_) {
        if (!stage_.empty() && tty_) std::fputs("\n", stderr);
        stage_ = stage;
        // A stage's first report comes after its first step: it began when the previous one last reported.
        stage_start_ = last_event_;
        last_print_ = 0;
    }
    last_event_ = t;
    seconds_[stage_] = t - stage_start_;
    if (!tty_) return;
    if (done < total && t - last_print_ < 0.2) return;
    last_print_ = t;
    const double elapsed = t - stage_start_;
    const double rate = elapsed > 0 ? double(done) / elapsed : 0;
    constexpr size_t width = 24;
    const size_t filled = total > 0 ? std::min(width, width * done / total) : width;
    std::fprintf(stderr, "\r%-6s [%s%s] %zu/%zu", stage_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), done, total);
    if (done >= total)
        std::fprintf(stderr, "  done in %s", format_seconds(elapsed).c_str());
    else if (rate > 0 && elapsed > 0.5)
        std::fprintf(stderr, "  %.0f/s  ETA %s", rate, format_seconds(double(total - done) / rate).c_str());
    std::fputs("\x1b[K", stderr);
    std::fflush(stderr);
}

std::string format_seconds(double seconds) {
    char buf[32];
    if (seconds < 60)
        std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    else if (seconds < 3600)
        std::snprintf(buf, sizeof buf, "%dm %02ds", int(seconds) / 60, int(seconds) % 60);
    else
        std::snprintf(buf, sizeof buf, "%dh %02dm", int(seconds) / 3600, int(seconds) % 3600 / 60);
    return buf;
}

void Progress::finish() {
    if (tty_ && !stage_.empty()) std::fputs("\n", stderr);
    stage_.clear();
}

}  // namespace leann::cli
