// The worker pool every parallel stage runs on (util/thread_pool.h): hand-offs spin briefly, then block, so
// these tests run many calls back to back (the spinning path), calls whose pieces run long enough that the
// others block (the sleeping path), and exceptions on either.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "util/thread_pool.h"

namespace leann {
namespace {

// Work that takes milliseconds (far past the hand-off's spin) without sleeping; the result defeats the optimiser.
uint64_t burn(uint64_t seed) {
    uint64_t x = seed | 1;
    for (int i = 0; i < 4'000'000; ++i) x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
}

TEST(ThreadPool, BackToBackCallsSeeEveryPieceOnce) {
    ThreadPool pool(3);
    for (int call = 0; call < 20000; ++call) {
        std::vector<int> seen(7, 0);
        pool.parallel_for(7, 3, [&](size_t, size_t begin, size_t end) {
            for (size_t i = begin; i < end; ++i) ++seen[i];
        });
        ASSERT_EQ(std::accumulate(seen.begin(), seen.end(), 0), 7) << "call " << call;
        ASSERT_EQ(*std::min_element(seen.begin(), seen.end()), 1) << "call " << call;
        std::atomic<size_t> tasks{0};
        pool.for_each_task(5, [&](size_t, size_t slot) {
            ASSERT_LT(slot, pool.size());
            tasks.fetch_add(1);
        });
        ASSERT_EQ(tasks.load(), 5u) << "call " << call;
    }
}

TEST(ThreadPool, LongPiecesAndIdleWorkersStillHandOff) {
    ThreadPool pool(2);
    for (int call = 0; call < 6; ++call) {
        std::vector<uint64_t> out(2, 0);
        // One piece is long (the other thread blocks waiting for it), then the pool idles while the caller burns.
        pool.parallel_for(
            2, 2, [&](size_t piece, size_t, size_t) { out[piece] = piece == size_t(call % 2) ? burn(piece) : 1; });
        EXPECT_NE(out[0], 0u);
        EXPECT_NE(out[1], 0u);
        EXPECT_NE(burn(uint64_t(call)), 0u);
    }
}

TEST(ThreadPool, ExceptionsReachTheCallerAndThePoolGoesOn) {
    ThreadPool pool(2);
    for (int call = 0; call < 2000; ++call) {
        const size_t thrower = size_t(call % 2);
        EXPECT_THROW(pool.parallel_for(2, 2,
                                       [&](size_t piece, size_t, size_t) {
                                           if (piece == thrower) throw std::runtime_error("piece");
                                       }),
                     std::runtime_error);
        int ran = 0;
        pool.parallel_for(1, 1, [&](size_t, size_t, size_t) { ++ran; });
        ASSERT_EQ(ran, 1);
    }
}

}  // namespace
}  // namespace leann
