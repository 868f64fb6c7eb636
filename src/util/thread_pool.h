// A fixed pool of worker threads, sized once. parallel_for splits an index range into contiguous pieces and
// runs them on the workers and the calling thread. Not re-entrant: a task must not call parallel_for on the same
// pool. One caller at a time (callers serialise on an internal mutex).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace leann {

class ThreadPool {
public:
    /// `threads` counts the calling thread too: ThreadPool(1) runs everything on the caller.
    explicit ThreadPool(size_t threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    size_t size() const { return workers_.size() + 1; }

    /// Calls fn(piece, begin, end) for `pieces` contiguous pieces of [0, n) (pieces <= size()), in parallel, and
    /// returns when all are done. An exception from any piece is rethrown here (the first one).
    void parallel_for(size_t n, size_t pieces, const std::function<void(size_t, size_t, size_t)>& fn);

    /// Runs fn(task) for task in [0, tasks), handing tasks out dynamically (for uneven work such as attention
    /// over sequences of different lengths). fn receives the worker slot in [0, size()) as its second argument.
    void for_each_task(size_t tasks, const std::function<void(size_t task, size_t slot)>& fn);

private:
    void worker_loop(size_t slot);
    void run_slot(size_t slot);

    // Hand-offs first spin for a short while (kSpin in thread_pool.cpp) on the atomics below, then block on the
    // condition variables: an encoder pass runs ~40 parallel sections back to back, and waking a blocked thread
    // costs ~70 us on a VM, more than a short query's whole section.
    std::vector<std::thread> workers_;
    std::mutex call_mutex_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    const std::function<void(size_t)>* job_ = nullptr;  // job for the current generation (set under mutex_)
    std::atomic<size_t> generation_{0};                 // raised under mutex_ when a job is posted
    std::atomic<size_t> pending_{0};                    // workers still running the current job
    std::atomic<bool> stop_{false};
    std::exception_ptr error_;  // under mutex_
};

/// The number of hardware threads available to this process (at least 1).
size_t hardware_threads();

}  // namespace leann
