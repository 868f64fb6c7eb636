// Keeping an index current from a long-running command: `leann watch` and `leann serve --watch`.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "leann/encoder.h"
#include "leann/watch.h"
#include "leann/writer.h"

namespace leann::cli {

struct FollowOptions {
    WatchOptions watch;
    size_t threads = 0;
    std::function<bool()> stop;                                  // polled between waits; true ends the loop
    std::function<void()> check;                                 // called during an update; may throw to abandon it
    std::function<void(const UpdateStats&)> on_update;
    std::function<void(const std::string&)> on_message;          // start-up line and errors
};

/// Follows the sources recorded in the index at `path` (roots taken relative to `base`, the folder the build ran
/// in): one update to catch up, then one after each burst of changes, until options.stop() is true. Each update
/// takes the writer lock only while it runs (waiting for another writer). An update that fails is reported and
/// the loop goes on; a locked-out or interrupted one ends it (the exception propagates).
void follow_index(const std::filesystem::path& path, std::shared_ptr<Encoder> encoder, const FollowOptions& options);

}  // namespace leann::cli
