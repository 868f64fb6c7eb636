// The one logging facility of the library. Apps choose the level and the sink; the library never prints.
// Thread-safe: log() may be called from any thread.
#pragma once

#include <functional>
#include <string_view>

namespace leann {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

using LogSink = std::function<void(LogLevel, std::string_view)>;

/// Messages below `level` are dropped. Default: warn.
void set_log_level(LogLevel level);
LogLevel log_level();
/// Replaces the sink (default: one line to stderr, prefixed with the level). Pass nullptr to restore it.
void set_log_sink(LogSink sink);
void log(LogLevel level, std::string_view message);

}  // namespace leann
