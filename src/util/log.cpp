#include "leann/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace leann {
namespace {

std::atomic<LogLevel> g_level{LogLevel::warn};
std::mutex g_mutex;
LogSink g_sink;

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warning";
        case LogLevel::error: return "error";
        case LogLevel::off: break;
    }
    return "";
}

}  // namespace

void set_log_level(LogLevel level) { g_level.store(level); }
LogLevel log_level() { return g_level.load(); }

void set_log_sink(LogSink sink) {
    std::lock_guard lock(g_mutex);
    g_sink = std::move(sink);
}

void log(LogLevel level, std::string_view message) {
    if (level < g_level.load() || level == LogLevel::off) return;
    std::lock_guard lock(g_mutex);
    if (g_sink) {
        g_sink(level, message);
        return;
    }
    std::string line = std::string("leann: ") + level_name(level) + ": " + std::string(message) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace leann
