// Admission and deadlines for the work requests (searches, embeddings, index stats): at most `capacity` of them
// are admitted at once, `workers` of them run at once, each caller waits at most its timeout. What is over the
// capacity is shed at once (HTTP 503 + Retry-After) instead of piling up in memory; a caller whose deadline
// passes gets 504 while its job, if already running, finishes in the background and still counts against the
// capacity until it does (so timed-out work cannot accumulate unbounded either).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "http_api.h"

namespace leann::server {

struct Limits {
    size_t max_body_bytes = 1 << 20;  // request bodies, in any transfer encoding (413 above)
    size_t max_header_bytes = 16 << 10;  // request line + headers (431 above)
    double read_timeout_s = 10;          // to receive one whole request, head and body, however it trickles (408)
    size_t max_connections = 512;        // open connections in all (the least useful one is closed past it)
    size_t max_client_connections = 64;  // open connections from one client address (likewise)
    double timeout_s = 30;            // per work request, from admission to answer (504 after)
    size_t queue = 64;                // work requests admitted at once: running + waiting for a worker (503 above)
    size_t workers = 4;               // work requests running at once
};

struct WorkCounters {
    size_t in_flight = 0;  // admitted and not finished (running, waiting, or timed out but still running)
    size_t running = 0;
    uint64_t completed = 0;  // finished: answered, or dropped unstarted after their caller timed out
    uint64_t shed = 0;       // refused because the queue was full
    uint64_t timed_out = 0;  // callers answered 504
};

/// Thread-safe. The destructor finishes the jobs already running, drops the ones nobody waits for any more, and
/// joins the workers.
class WorkQueue {
public:
    WorkQueue(size_t workers, size_t capacity);
    ~WorkQueue();
    WorkQueue(const WorkQueue&) = delete;
    WorkQueue& operator=(const WorkQueue&) = delete;

    enum class Outcome { done, shed, timed_out };

    /// Runs `job` on a worker and waits for it up to `timeout`. On `done`, `out` holds the job's response (an
    /// exception from the job is rethrown here instead). `job` must own everything it touches: after a timeout
    /// it may still run while the caller is gone.
    Outcome run(std::function<ApiResponse()> job, std::chrono::steady_clock::duration timeout, ApiResponse& out);

    WorkCounters counters() const;
    size_t capacity() const { return capacity_; }
    size_t workers() const { return threads_.size(); }

private:
    struct Job;
    void worker_loop();

    const size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> pending_;
    WorkCounters counters_;
    bool stop_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace leann::server
