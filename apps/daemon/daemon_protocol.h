// The messages between `leann search` and the daemon (framed by daemon_wire.h).
//
//   request  {"protocol": 1, "build": build_id(), "env": environment_fingerprint(), "op": "search"|"status"|"stop",
//             search: "index": absolute index file, "model": absolute model folder or null (the recorded one),
//                     "precision": "auto"|"fp32"|"bf16"|"int8", "query": text, "options": search_options_json()}
//   response {"ok": true, search: "result": search_result_json(); status: "status": status_json(); stop: "pid"}
//            {"ok": false, "refused": "stale"|"busy"|"error", "message": why}
//
// Every field of SearchOptions and SearchResult travels (a new field must be added here, and to the round-trip
// test in tests/unit/test_daemon.cpp). Decoding checks every type and bound and refuses unknown keys, so a search
// the daemon runs is exactly the one the command asked for.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "leann/index.h"
#include "leann/search_options.h"

namespace leann::daemon {

nlohmann::json search_options_json(const SearchOptions& options);
/// Throws leann::Error naming the field for a missing, unknown, mistyped or out-of-range one.
SearchOptions search_options_from_json(const nlohmann::json& j);

nlohmann::json search_result_json(const SearchResult& result);
/// Throws leann::Error naming the field; at most `max_hits` hits are accepted.
SearchResult search_result_from_json(const nlohmann::json& j, size_t max_hits);

/// What `leann daemon status` shows.
struct DaemonStatus {
    long pid = 0;
    double uptime_s = 0;
    double idle_timeout_s = 0;
    uint64_t requests_served = 0;   // searches answered with results
    uint64_t requests_refused = 0;  // connections answered "stale", "busy" or "error" (the command searched itself)
    uint64_t rss_bytes = 0;         // resident memory
    uint64_t model_loads = 0;
    uint64_t index_opens = 0;
    std::vector<std::string> indexes;  // index files open now
    std::string build;
    std::string socket;
};
nlohmann::json status_json(const DaemonStatus& status);
DaemonStatus status_from_json(const nlohmann::json& j);

}  // namespace leann::daemon
