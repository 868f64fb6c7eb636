#include "http_limits.h"

#include <algorithm>
#include <exception>

namespace leann::server {

struct WorkQueue::Job {
    std::function<ApiResponse()> fn;
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;
    bool abandoned = false;  // the caller stopped waiting: a job not started yet is skipped
    ApiResponse response;
    std::exception_ptr error;
};

WorkQueue::WorkQueue(size_t workers, size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {
    workers = std::max<size_t>(1, workers);
    threads_.reserve(workers);
    for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

WorkQueue::~WorkQueue() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
}

WorkQueue::Outcome WorkQueue::run(std::function<ApiResponse()> fn, std::chrono::steady_clock::duration timeout,
                                  ApiResponse& out) {
    auto job = std::make_shared<Job>();
    job->fn = std::move(fn);
    {
        std::lock_guard lock(mutex_);
        if (stop_ || counters_.in_flight >= capacity_) {
            ++counters_.shed;
            return Outcome::shed;
        }
        ++counters_.in_flight;
        pending_.push_back(job);
    }
    wake_.notify_one();

    std::unique_lock lock(job->mutex);
    if (!job->finished.wait_for(lock, timeout, [&] { return job->done; })) {
        job->abandoned = true;
        lock.unlock();
        std::lock_guard queue_lock(mutex_);
        ++counters_.timed_out;
        return Outcome::timed_out;
    }
    if (job->error) std::rethrow_exception(job->error);
    out = std::move(job->response);
    return Outcome::done;
}

void WorkQueue::worker_loop() {
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || !pending_.empty(); });
            if (pending_.empty()) return;  // stopping, and nothing left
            job = std::move(pending_.front());
            pending_.pop_front();
            ++counters_.running;
        }
        bool skip;
        {
            std::lock_guard lock(job->mutex);
            skip = job->abandoned;
        }
        ApiResponse response;
        std::exception_ptr error;
        if (!skip) {
            try {
                response = job->fn();
            } catch (...) {
                error = std::current_exception();
            }
        }
        job->fn = nullptr;  // release what the job captured before the caller (if any) wakes
        {
            // Counted before the caller wakes, so that whoever saw its answer also sees it counted.
            std::lock_guard lock(mutex_);
            --counters_.running;
            --counters_.in_flight;
            ++counters_.completed;
        }
        {
            std::lock_guard lock(job->mutex);
            job->response = std::move(response);
            job->error = error;
            job->done = true;
        }
        job->finished.notify_all();
    }
}

WorkCounters WorkQueue::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

}  // namespace leann::server
