#include "util/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace leann {

namespace {

// How long a hand-off spins before it blocks: longer than the gaps inside an encoder pass (a LayerNorm, a
// bookkeeping step), far shorter than the gaps between passes or searches, where the threads sleep.
constexpr auto kSpin = std::chrono::microseconds(100);

void relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
}

// Spins until done() or kSpin has passed; whether done() held. Every few rounds it yields the core, so that
// with more runnable threads than cores (a pool larger than the machine, or a busy machine) the thread that will
// make done() true gets to run instead of waiting behind the spinners.
template <typename Done>
bool spin_until(Done&& done) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (unsigned i = 1;; ++i) {
        if (done()) return true;
        if (i % 16 == 0) {
            if (std::chrono::steady_clock::now() >= until) return false;
            std::this_thread::yield();
        } else {
            relax();
        }
    }
}

}  // namespace

size_t hardware_threads() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return static_cast<size_t>(n);
    }
    return std::max<size_t>(1, std::thread::hardware_concurrency());
}

ThreadPool::ThreadPool(size_t threads) {
    threads = std::max<size_t>(1, threads);
    workers_.reserve(threads - 1);
    for (size_t slot = 1; slot < threads; ++slot) workers_.emplace_back([this, slot] { worker_loop(slot); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(mutex_);
        stop_.store(true);
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
}

void ThreadPool::run_slot(size_t slot) {
    try {
        (*job_)(slot);
    } catch (...) {
        std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();
    }
}

void ThreadPool::worker_loop(size_t slot) {
    size_t seen = 0;
    const auto posted = [&] { return stop_.load() || generation_.load() != seen; };
    for (;;) {
        if (!spin_until(posted)) {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, posted);
        }
        if (stop_.load()) return;
        seen = generation_.load();
        run_slot(slot);
        if (pending_.fetch_sub(1) == 1) {
            std::lock_guard lock(mutex_);  // the caller may be between its check and its wait
            done_.notify_one();
        }
    }
}

void ThreadPool::for_each_task(size_t tasks, const std::function<void(size_t, size_t)>& fn) {
    if (tasks == 0) return;
    std::lock_guard call_lock(call_mutex_);
    if (workers_.empty() || tasks == 1) {
        for (size_t t = 0; t < tasks; ++t) fn(t, 0);
        return;
    }
    std::atomic<size_t> next{0};
    std::function<void(size_t)> job = [&](size_t slot) {
        for (size_t t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) fn(t, slot);
    };
    {
        std::lock_guard lock(mutex_);
        job_ = &job;
        error_ = nullptr;
        pending_.store(workers_.size());
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    run_slot(0);
    const auto finished = [&] { return pending_.load() == 0; };
    if (!spin_until(finished)) {
        std::unique_lock lock(mutex_);
        done_.wait(lock, finished);
    }
    std::lock_guard lock(mutex_);
    job_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void ThreadPool::parallel_for(size_t n, size_t pieces, const std::function<void(size_t, size_t, size_t)>& fn) {
    pieces = std::clamp<size_t>(pieces, 1, std::max<size_t>(1, std::min(n, size())));
    for_each_task(pieces, [&](size_t piece, size_t) {
        size_t begin = n * piece / pieces, end = n * (piece + 1) / pieces;
        fn(piece, begin, end);
    });
}

}  // namespace leann
