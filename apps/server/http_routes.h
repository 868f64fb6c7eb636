// The routes of `leann serve`: authentication and browser checks, then
//   GET  /                  the search page (and its files under /static/)
//   GET  /health            liveness, counters of the queue and of the encoder's cross-request batching
//   GET  /indexes           every index under $LEANN_HOME/indexes (rows as `leann list --json`)
//   GET  /indexes/{name}    one index's statistics (as `leann stats --json`)
//   POST /search            one query (result as `leann search --json`)
//   POST /v1/embeddings     OpenAI's embeddings API over our encoder
// Work routes (search, embeddings, stats) go through the WorkQueue: bounded, with a deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "http_api.h"
#include "http_limits.h"
#include "http_params.h"
#include "leann/catalog.h"

namespace leann::server {

struct ApiConfig {
    std::string token;  // empty: no authentication (loopback only; the server refuses otherwise)
    Limits limits;
    std::string default_model;    // what /v1/embeddings uses when the request names none
    bool model_override = false;  // the catalog serves one --model folder: only that model can be named
};

/// Thread-safe: handle() is called from many HTTP threads at once.
class Api {
public:
    Api(Catalog& catalog, ApiConfig config);

    /// Answers one request. Never throws: every failure becomes an error response.
    ApiResponse handle(const ApiRequest& request);
    /// The checks that need no body (Origin, Host, bearer token): the refusal to answer, or nothing when the
    /// request may go on. The server calls it on the head alone, so an unauthenticated body is never read;
    /// handle() applies it again.
    std::optional<ApiResponse> admit(const ApiRequest& head) const;

private:
    ApiResponse route(const ApiRequest& request);
    ApiResponse run_work(std::function<ApiResponse()> job);
    ApiResponse health();
    ApiResponse list_indexes_route();
    ApiResponse index_stats(const std::string& name);
    ApiResponse embeddings_job(const EmbeddingParams& params);
    std::shared_ptr<const Index> open_index(const std::string& name);
    std::shared_ptr<Encoder> embedding_encoder(const std::string& requested);

    Catalog& catalog_;
    const ApiConfig config_;
    const std::chrono::steady_clock::time_point started_;
    std::atomic<uint64_t> requests_{0};
    std::mutex encoders_mutex_;
    std::map<std::string, std::shared_ptr<Encoder>> embedding_encoders_;  // loaded for /v1/embeddings, by name
    WorkQueue work_;  // last: destroyed first, so no job outlives what it uses
};

}  // namespace leann::server
