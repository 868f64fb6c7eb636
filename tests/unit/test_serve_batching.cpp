// Cross-request batching in the encoder (what lets `leann serve` share forward passes between concurrent
// searches): calls that arrive while a pass runs are merged into the next one, each keeps its own role (prompt
// prefix), and every caller gets the rows a call made alone would give.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <thread>

#include "leann/encoder.h"
#include "tiny_model.h"

namespace leann {
namespace {

double cosine(const float* a, const float* b, size_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; ++i) {
        ab += double(a[i]) * b[i];
        aa += double(a[i]) * a[i];
        bb += double(b[i]) * b[i];
    }
    return ab / std::sqrt(aa * bb);
}

std::vector<std::string> texts_for(size_t caller, size_t count) {
    const char* words[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "search", "index", "graph"};
    std::vector<std::string> texts;
    for (size_t i = 0; i < count; ++i) {
        std::string t;
        for (size_t w = 0; w < 3 + (caller + i) % 9; ++w)
            t += std::string(w ? " " : "") + words[(caller * 5 + i * 3 + w * w) % 11];
        texts.push_back(t);
    }
    return texts;
}

// A tiny model whose query and passage prompts differ, so a merged batch that mixed up roles would show.
std::unique_ptr<Encoder> load_prompted_model(const std::filesystem::path& dir, size_t threads) {
    testing::write_tiny_model(dir, {});
    std::ofstream(dir / "config_sentence_transformers.json")
        << R"({"prompts": {"query": "query : ", "passage": "passage : "}})";
    return Encoder::load(dir, {threads, 16});
}

TEST(ServeBatching, ConcurrentCallsAreMergedAndMatchSerialCalls) {
    testing::TempDir dir;
    auto encoder = load_prompted_model(dir.path(), 2);
    ASSERT_EQ(encoder->info().query_prompt, "query : ");
    const size_t dims = encoder->dims();
    constexpr size_t callers = 8;
    const TextRole roles[] = {TextRole::query, TextRole::passage, TextRole::plain};

    // What each caller would get alone (the encoder has no other caller yet).
    std::vector<std::vector<std::string>> inputs;
    std::vector<std::vector<float>> serial;
    for (size_t c = 0; c < callers; ++c) {
        inputs.push_back(texts_for(c, 1 + c % 3));  // 8 small calls: 16 texts at most, one forward pass
        serial.push_back(encoder->encode(inputs.back(), roles[c % 3]));
    }
    const EncoderCounters before = encoder->counters();
    EXPECT_EQ(before.requests, callers);
    EXPECT_EQ(before.merged_requests, 0u);

    // A long call holds the encoder; the callers that start while it runs must queue and then share one pass.
    const std::vector<std::string> long_call = texts_for(99, 3000);
    std::thread holder([&] { encoder->encode(long_call, TextRole::passage); });
    while (encoder->counters().passes == before.passes) std::this_thread::yield();  // its pass has started

    std::vector<std::vector<float>> merged(callers);
    std::vector<std::thread> threads;
    for (size_t c = 0; c < callers; ++c)
        threads.emplace_back([&, c] { merged[c] = encoder->encode(inputs[c], roles[c % 3]); });
    for (auto& t : threads) t.join();
    holder.join();

    const EncoderCounters after = encoder->counters();
    EXPECT_EQ(after.requests - before.requests, callers + 1);
    // Every caller queued behind the long pass, so far fewer passes than calls ran, and calls shared them.
    EXPECT_LT(after.passes - before.passes, callers + 1);
    EXPECT_GE(after.merged_requests, 2u);
    EXPECT_EQ(after.texts - before.texts, [&] {
        size_t n = long_call.size();
        for (const auto& in : inputs) n += in.size();
        return n;
    }());

    for (size_t c = 0; c < callers; ++c) {
        ASSERT_EQ(merged[c].size(), inputs[c].size() * dims);
        for (size_t i = 0; i < inputs[c].size(); ++i) {
            const double cos = cosine(&merged[c][i * dims], &serial[c][i * dims], dims);
            EXPECT_GE(cos, 0.9999) << "caller " << c << " text " << i;
            for (size_t d = 0; d < dims; ++d) EXPECT_NEAR(merged[c][i * dims + d], serial[c][i * dims + d], 1e-5);
        }
    }
    // The roles really differ for this model: a batch that lost a caller's prompt would have failed above.
    const auto as_query = encoder->encode(std::vector<std::string>{"quick fox"}, TextRole::query);
    const auto as_passage = encoder->encode(std::vector<std::string>{"quick fox"}, TextRole::passage);
    EXPECT_LT(cosine(as_query.data(), as_passage.data(), dims), 0.9999);
}

TEST(ServeBatching, ManyThreadsHammeringOneEncoderGetTheirOwnRows) {
    testing::TempDir dir;
    auto encoder = load_prompted_model(dir.path(), 2);
    const size_t dims = encoder->dims();
    constexpr size_t threads_n = 12, rounds = 20;
    std::vector<std::vector<float>> expected;
    for (size_t c = 0; c < threads_n; ++c)
        expected.push_back(encoder->encode(texts_for(c, 2 + c % 4), TextRole::query));

    std::atomic<size_t> bad{0};
    std::vector<std::thread> threads;
    for (size_t c = 0; c < threads_n; ++c)
        threads.emplace_back([&, c] {
            const auto texts = texts_for(c, 2 + c % 4);
            for (size_t r = 0; r < rounds; ++r) {
                const auto got = encoder->encode(texts, TextRole::query);
                for (size_t i = 0; i < texts.size(); ++i)
                    if (cosine(&got[i * dims], &expected[c][i * dims], dims) < 0.9999) ++bad;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_EQ(encoder->counters().requests, threads_n * (rounds + 1));
}

TEST(ServeBatching, AFailingCallDoesNotFailTheCallsMergedWithIt) {
    testing::TempDir dir;
    auto encoder = load_prompted_model(dir.path(), 1);
    const size_t dims = encoder->dims();
    const auto alone = encoder->encode(std::vector<std::string>{"the lazy dog"}, TextRole::plain);

    // Hold the encoder so that the bad call and the good one queue together and share a batch.
    const std::vector<std::string> long_call = texts_for(7, 3000);
    const uint64_t passes = encoder->counters().passes;
    std::thread holder([&] { encoder->encode(long_call, TextRole::plain); });
    while (encoder->counters().passes == passes) std::this_thread::yield();

    // A token id outside the vocabulary makes the forward pass throw.
    std::vector<std::vector<int32_t>> bad = {{2, 100000, 3}};
    std::vector<float> bad_out(dims);
    bool bad_threw = false;
    std::vector<float> good;
    std::thread bad_caller([&] {
        try {
            encoder->encode_tokens(bad, bad_out);
        } catch (const std::exception&) {
            bad_threw = true;
        }
    });
    std::thread good_caller([&] { good = encoder->encode(std::vector<std::string>{"the lazy dog"}, TextRole::plain); });
    bad_caller.join();
    good_caller.join();
    holder.join();
    EXPECT_TRUE(bad_threw);
    ASSERT_EQ(good.size(), dims);
    EXPECT_GE(cosine(good.data(), alone.data(), dims), 0.9999);
    EXPECT_GE(encoder->counters().merged_requests, 2u) << "the two calls did not share a batch";
}

}  // namespace
}  // namespace leann
