// leann watch: keeps an index current. Follows the folders the index was built from (inotify, or polling) and
// runs the same update as `leann build` after each burst of changes, one line per update.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "follow.h"
#include "index_args.h"
#include "interrupt.h"
#include "leann/catalog.h"
#include "leann/model.h"
#include "leann/watch.h"
#include "leann/writer.h"
#include "terminal_text.h"

namespace leann::cli {
namespace {

constexpr const char* watch_usage = R"(Usage: leann watch NAME [options]     (or --index PATH)

Keeps the index current while it runs: follows the folders and files it was built from (recursively, new folders
included; inotify, or polling where inotify is unavailable or its watch limit is reached) and, after each burst of
changes settles, updates the index as `leann build` would: only new and changed files are read and only new text
is embedded. Prints one line per update. Searches, `leann serve` and `leann mcp` see each update as it lands.
Ctrl-C stops between updates, or abandons the one in progress: the index stays consistent either way.

Options:
  --debounce-ms N        quiet time that ends a burst of changes (default: 300)
  --poll                 poll instead of inotify
  --poll-ms N            time between two polls (default: 1000)
  --json                 one JSON object per update instead of a sentence
  --model PATH           the model folder (default: the index's recorded model)
  --threads N            threads (default: all cores)
)";

std::string clock_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    return buf;
}

void print_line(const UpdateStats& u, bool json) {
    if (json) {
        std::printf("%s\n", nlohmann::json{{"time", clock_now()},
                                           {"up_to_date", u.up_to_date},
                                           {"rebuilt", u.rebuilt},
                                           {"files_added", u.files_added},
                                           {"files_changed", u.files_changed},
                                           {"files_removed", u.files_removed},
                                           {"chunks_added", u.chunks_added},
                                           {"chunks_changed", u.chunks_changed},
                                           {"chunks_removed", u.chunks_removed},
                                           {"embedded", u.embedded},
                                           {"chunks", u.live_chunks},
                                           {"generation", u.generation},
                                           {"bytes_written", u.bytes_written},
                                           {"compacted", u.compacted},
                                           {"seconds", u.seconds}}
                                .dump()
                                .c_str());
    } else if (u.up_to_date) {
        std::printf("%s  no change (%zu chunks)\n", clock_now().c_str(), u.live_chunks);
    } else {
        std::printf("%s  %zu files (+%zu ~%zu -%zu), %zu chunks embedded, %zu removed, generation %u, %s%s\n",
                    clock_now().c_str(), u.files_added + u.files_changed + u.files_removed, u.files_added,
                    u.files_changed, u.files_removed, u.embedded, u.chunks_removed, u.generation,
                    format_seconds(u.seconds).c_str(), u.rebuilt ? (" (rebuilt: " + u.rebuild_reason + ")").c_str() : "");
    }
    std::fflush(stdout);
}

}  // namespace

int run_watch(const std::vector<std::string>& argv) {
    Args args(argv, {"index", "debounce-ms", "poll-ms", "model", "threads"}, {"help", "h", "poll", "json"});
    if (args.has("help") || args.has("h")) {
        std::fputs(watch_usage, stdout);
        return 0;
    }
    size_t shift = 0;
    const std::filesystem::path path = index_path(args, shift);
    if (!std::filesystem::exists(path))
        throw Error("no index at " + path.string() + " (build one first: leann build NAME --docs PATH...)");
    const std::string model_name = Index::open(path).model().name;
    // Relative roots name files relative to where the build ran: follow from there, so ids stay the same.
    const SyncRecipe recipe = [&] {
        const Index index = Index::open(path);
        return recorded_sync(index);
    }();
    std::error_code ec;
    std::filesystem::current_path(recipe.cwd, ec);
    if (ec) throw Error(recipe.cwd.string() + ": cannot enter the folder the index was built from: " + ec.message());
    FollowOptions follow;
    follow.threads = thread_arg(args);
    EncoderOptions encoder_options;
    encoder_options.threads = follow.threads;
    std::shared_ptr<Encoder> encoder = Encoder::load(resolve_model(args.get("model", model_name)), encoder_options);

    InterruptScope interrupts;
    const bool json = args.has("json");
    follow.watch.debounce = std::chrono::milliseconds(args.get_size("debounce-ms", 300));
    follow.watch.poll_interval = std::chrono::milliseconds(args.get_size("poll-ms", 1000));
    follow.watch.force_polling = args.has("poll");
    follow.stop = interrupt_requested;
    follow.check = check_interrupt;
    follow.on_update = [&](const UpdateStats& u) {
        if (!u.up_to_date)
            for (const auto& w : u.report.warnings)
                std::fprintf(stderr, "warning: %s\n", apps::escape_controls(w).c_str());
        print_line(u, json);
    };
    follow.on_message = [](const std::string& line) {
        std::fprintf(stderr, "%s\n", apps::escape_controls(line).c_str());
    };
    try {
        follow_index(path, encoder, follow);
    } catch (const Interrupted&) {
    }
    std::fprintf(stderr, "stopped; %s is consistent\n", path.string().c_str());
    return 0;
}

}  // namespace leann::cli
