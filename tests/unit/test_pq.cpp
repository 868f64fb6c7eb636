#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "leann/error.h"
#include "pq/error_profile.h"
#include "pq/kmeans.h"
#include "pq/product_quantizer.h"
#include "util/distance.h"
#include "util/thread_pool.h"

namespace leann::pq {
namespace {

// n points around `clusters` random centres (unit Gaussian centres, noise of the given scale), row-major.
std::vector<float> clustered(size_t n, size_t dim, size_t clusters, float noise, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    std::vector<float> centres(clusters * dim);
    for (float& v : centres) v = normal(rng);
    std::vector<float> x(n * dim);
    for (size_t i = 0; i < n; ++i) {
        const size_t c = rng() % clusters;
        for (size_t d = 0; d < dim; ++d) x[i * dim + d] = centres[c * dim + d] + noise * normal(rng);
    }
    return x;
}

void normalize_rows(std::vector<float>& x, size_t dim) {
    for (size_t i = 0; i < x.size() / dim; ++i) normalize(x.data() + i * dim, dim);
}

std::vector<uint8_t> encode_all(const ProductQuantizer& pq, const std::vector<float>& x, size_t threads = 1) {
    const size_t n = x.size() / pq.dim();
    std::vector<uint8_t> codes(n * pq.code_size());
    pq.encode(x.data(), n, codes.data(), threads);
    return codes;
}

double reconstruction_mse(const ProductQuantizer& pq, const std::vector<float>& x) {
    const size_t dim = pq.dim(), n = x.size() / dim;
    const auto codes = encode_all(pq, x);
    std::vector<float> decoded(dim);
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
        pq.decode(codes.data() + i * pq.code_size(), decoded.data());
        total += squared_l2(x.data() + i * dim, decoded.data(), dim);
    }
    return total / static_cast<double>(n);
}

TrainParams params_with(size_t subquantizers, size_t iterations = 10, size_t threads = 1) {
    TrainParams params;
    params.subquantizers = subquantizers;
    params.iterations = iterations;
    params.threads = threads;
    return params;
}

TEST(ErrorProfile, PointsMustAscendAndMarginsInterpolate) {
    const ErrorProfile p = ErrorProfile::from_points({{0.5, 0.01f}, {0.9, 0.05f}, {1.0, 0.2f}});
    ASSERT_FALSE(p.empty());
    EXPECT_FLOAT_EQ(p.margin(0.5), 0.01f);
    EXPECT_FLOAT_EQ(p.margin(0.7), 0.03f);
    EXPECT_FLOAT_EQ(p.margin(0.95), 0.125f);
    EXPECT_FLOAT_EQ(p.margin(0.1), 0.01f);  // clamped to the stored levels
    EXPECT_FLOAT_EQ(p.margin(1.0), 0.2f);
    EXPECT_TRUE(ErrorProfile::from_points({{0.9, 0.05f}, {0.5, 0.01f}}).empty());      // levels not ascending
    EXPECT_TRUE(ErrorProfile::from_points({{0.5, 0.05f}, {0.9, 0.01f}}).empty());      // margins decreasing
    EXPECT_TRUE(ErrorProfile::from_points({{0.0, 0.05f}}).empty());                    // level out of (0, 1]
    EXPECT_TRUE(ErrorProfile::from_points({{0.5, float(NAN)}}).empty());               // not finite
    EXPECT_TRUE(ErrorProfile().empty());
    EXPECT_TRUE(std::isinf(ErrorProfile().margin(0.9)));
}

TEST(ErrorProfile, MarginsCoverTheDeviationOfNearNeighboursOfNewQueries) {
    // Measured on the data's own points; checked on queries that are not in the data: the PQ error of each
    // query's 16 nearest points, less the bias estimated from its 8 best PQ candidates, stays under m(c) for
    // about a share c of them.
    const size_t n = 4000, dim = 32;
    std::mt19937 rng(3);
    std::normal_distribution<float> normal;
    std::vector<float> centres(20 * dim), x(n * dim), queries(100 * dim);
    for (float& c : centres) c = normal(rng);
    auto fill = [&](std::vector<float>& out, size_t rows) {
        for (size_t i = 0; i < rows; ++i) {
            const size_t c = rng() % 20;
            for (size_t j = 0; j < dim; ++j) out[i * dim + j] = centres[c * dim + j] + 0.7f * normal(rng);
            normalize(out.data() + i * dim, dim);
        }
    };
    fill(x, n);
    fill(queries, 100);
    TrainParams train;
    train.subquantizers = 8;
    train.threads = 1;
    const ProductQuantizer pq = ProductQuantizer::train(x.data(), n, dim, train);
    std::vector<uint8_t> codes(n * pq.code_size());
    pq.encode(x.data(), n, codes.data(), 1);
    const ErrorProfile profile = ErrorProfile::measure(pq, codes.data(), x.data(), n, dim, Metric::inner_product,
                                                       {.threads = 1});
    ASSERT_FALSE(profile.empty());
    for (size_t i = 1; i < profile.points().size(); ++i)
        EXPECT_GE(profile.points()[i].second, profile.points()[i - 1].second);
    EXPECT_GT(profile.margin(0.99), profile.margin(0.5));

    size_t pairs = 0, under90 = 0, under99 = 0;
    std::vector<float> table(pq.subquantizers() * kCentroids);
    for (size_t qi = 0; qi < 100; ++qi) {
        const float* q = queries.data() + qi * dim;
        pq.distance_table(q, Metric::inner_product, table.data());
        std::vector<std::pair<float, uint32_t>> exact, approx;
        for (uint32_t v = 0; v < n; ++v) {
            exact.emplace_back(distance(Metric::inner_product, q, x.data() + size_t(v) * dim, dim), v);
            approx.emplace_back(pq.distance(table.data(), codes.data() + size_t(v) * pq.code_size()), v);
        }
        std::partial_sort(exact.begin(), exact.begin() + 16, exact.end());
        std::partial_sort(approx.begin(), approx.begin() + 8, approx.end());
        double bias = 0;
        for (size_t i = 0; i < 8; ++i)
            bias += approx[i].first - distance(Metric::inner_product, q, x.data() + size_t(approx[i].second) * dim, dim);
        bias /= 8;
        for (size_t i = 0; i < 16; ++i) {
            const float p = pq.distance(table.data(), codes.data() + size_t(exact[i].second) * pq.code_size());
            const double deviation = p - exact[i].first - bias;
            ++pairs;
            under90 += deviation <= profile.margin(0.9);
            under99 += deviation <= profile.margin(0.99);
        }
    }
    EXPECT_GE(double(under90) / double(pairs), 0.8);
    EXPECT_GE(double(under99) / double(pairs), 0.95);
}

TEST(Pq, ChooseSubquantizers) {
    EXPECT_EQ(choose_subquantizers(384, 32), 32u);
    EXPECT_EQ(choose_subquantizers(384, 24), 24u);
    EXPECT_EQ(choose_subquantizers(384, 20), 16u);
    EXPECT_EQ(choose_subquantizers(784, 32), 28u);
    EXPECT_EQ(choose_subquantizers(768, 0), 48u);
    EXPECT_EQ(choose_subquantizers(768, 32), 32u);
    EXPECT_EQ(choose_subquantizers(7, 3), 1u);
    EXPECT_EQ(choose_subquantizers(8, 0), 1u);     // 8 / 16 rounds to 0: at least 1
    EXPECT_EQ(choose_subquantizers(16, 64), 16u);  // never more than dim
}

TEST(Pq, AdcEqualsExactDistanceToDecodedVector) {
    const size_t dim = 48, n = 2000;
    auto x = clustered(n, dim, 20, 0.3f, 1);
    normalize_rows(x, dim);
    const auto pq = ProductQuantizer::train(x.data(), n, dim, params_with(12, 5));
    const auto codes = encode_all(pq, x);
    const auto queries = clustered(10, dim, 5, 0.5f, 2);
    std::vector<float> table(pq.subquantizers() * kCentroids), decoded(dim);
    for (Metric metric : {Metric::inner_product, Metric::cosine, Metric::l2}) {
        for (size_t q = 0; q < 10; ++q) {
            const float* query = queries.data() + q * dim;
            pq.distance_table(query, metric, table.data());
            for (size_t i = 0; i < n; i += 7) {
                const uint8_t* code = codes.data() + i * pq.code_size();
                pq.decode(code, decoded.data());
                const float exact = leann::distance(metric, query, decoded.data(), dim);
                ASSERT_NEAR(pq.distance(table.data(), code), exact, 1e-4) << metric_name(metric) << " row " << i;
            }
        }
    }
}

TEST(Pq, DistancesGatherMatchesDistance) {
    const size_t dim = 32, n = 1000;
    const auto x = clustered(n, dim, 10, 0.2f, 3);
    const auto pq = ProductQuantizer::train(x.data(), n, dim, params_with(8, 3));
    const auto codes = encode_all(pq, x);
    std::vector<float> table(pq.subquantizers() * kCentroids);
    pq.distance_table(x.data(), Metric::l2, table.data());
    const std::vector<uint32_t> ids = {999, 0, 5, 5, 17, 400, 3};  // 7: the 4-wide loop and the tail
    std::vector<float> out(ids.size());
    pq.distances(table.data(), codes.data(), ids, out.data());
    for (size_t i = 0; i < ids.size(); ++i)
        EXPECT_EQ(out[i], pq.distance(table.data(), codes.data() + size_t{ids[i]} * pq.code_size()));
    pq.distances(table.data(), codes.data(), {}, out.data());  // empty list: nothing to do
}

// The job PQ does in search: pick candidates that exact reranking then orders.
TEST(Pq, RerankedCandidatesRecallExactNeighbours) {
    const size_t dim = 64, n = 5000, queries = 50, k = 10, candidates = 100;
    auto x = clustered(n + queries, dim, 50, 0.4f, 4);
    normalize_rows(x, dim);
    const auto pq = ProductQuantizer::train(x.data(), n, dim, params_with(16, 10, 2));
    const auto codes = encode_all(pq, std::vector<float>(x.begin(), x.begin() + n * dim));
    std::vector<uint32_t> all(n);
    std::iota(all.begin(), all.end(), 0u);
    std::vector<float> table(pq.subquantizers() * kCentroids), approx(n);
    for (Metric metric : {Metric::inner_product, Metric::l2}) {
        size_t found = 0;
        for (size_t q = 0; q < queries; ++q) {
            const float* query = x.data() + (n + q) * dim;
            const auto exact_distance = [&](uint32_t i) { return distance(metric, query, x.data() + i * dim, dim); };
            const auto by_exact = [&](uint32_t a, uint32_t b) { return exact_distance(a) < exact_distance(b); };
            std::vector<uint32_t> truth = all;
            std::partial_sort(truth.begin(), truth.begin() + k, truth.end(), by_exact);

            pq.distance_table(query, metric, table.data());
            pq.distances(table.data(), codes.data(), all, approx.data());
            std::vector<uint32_t> shortlist = all;
            std::partial_sort(shortlist.begin(), shortlist.begin() + candidates, shortlist.end(),
                              [&](uint32_t a, uint32_t b) { return approx[a] < approx[b]; });
            shortlist.resize(candidates);
            std::partial_sort(shortlist.begin(), shortlist.begin() + k, shortlist.end(), by_exact);
            const std::set<uint32_t> top(truth.begin(), truth.begin() + k);
            for (size_t j = 0; j < k; ++j) found += top.count(shortlist[j]);
        }
        const double recall = static_cast<double>(found) / static_cast<double>(queries * k);
        EXPECT_GE(recall, 0.9) << metric_name(metric);
    }
}

TEST(Pq, MoreSubquantizersReconstructBetter) {
    const size_t dim = 64, n = 3000;
    const auto x = clustered(n, dim, 100, 0.5f, 5);
    double previous = INFINITY;
    for (size_t sq : {2, 4, 8, 16}) {
        const double mse = reconstruction_mse(ProductQuantizer::train(x.data(), n, dim, params_with(sq, 8)), x);
        EXPECT_LT(mse, previous) << sq << " subquantizers";
        previous = mse;
    }
}

TEST(Pq, DeterministicForSeedAndThreadCount) {
    const size_t dim = 32, n = 6000;
    const auto x = clustered(n, dim, 30, 0.3f, 6);
    // 8 subquantizers: with 2 threads k-means runs across subspaces; with 3, inside each k-means.
    const auto one = ProductQuantizer::train(x.data(), n, dim, params_with(8, 5, 1));
    for (size_t threads : {2, 3}) {
        const auto many = ProductQuantizer::train(x.data(), n, dim, params_with(8, 5, threads));
        ASSERT_TRUE(std::ranges::equal(one.centroids(), many.centroids())) << threads << " threads";
    }
    // n is large enough for encode to go parallel.
    EXPECT_EQ(encode_all(one, x, 1), encode_all(one, x, 2));

    TrainParams other = params_with(8, 5, 1);
    other.seed = 99;
    EXPECT_FALSE(std::ranges::equal(one.centroids(), ProductQuantizer::train(x.data(), n, dim, other).centroids()));
}

TEST(Pq, SampledTrainingUsesMaxTrain) {
    const size_t dim = 16, n = 4000;
    const auto x = clustered(n, dim, 20, 0.3f, 7);
    TrainParams sampled = params_with(4, 5);
    sampled.max_train = 1000;
    const auto a = ProductQuantizer::train(x.data(), n, dim, sampled);
    const auto b = ProductQuantizer::train(x.data(), n, dim, sampled);
    EXPECT_TRUE(std::ranges::equal(a.centroids(), b.centroids()));
    // A sample of 1000 clustered points still gives a codebook close in quality to the full one.
    const auto full = ProductQuantizer::train(x.data(), n, dim, params_with(4, 5));
    EXPECT_LT(reconstruction_mse(a, x), 1.5 * reconstruction_mse(full, x));
}

TEST(Pq, FewerPointsThanCentroidsReconstructExactly) {
    const size_t dim = 16, n = 100;
    const auto x = clustered(n, dim, 100, 0.1f, 8);
    const auto pq = ProductQuantizer::train(x.data(), n, dim, params_with(4));
    EXPECT_EQ(pq.centroids().size(), 4 * kCentroids * 4);
    EXPECT_EQ(reconstruction_mse(pq, x), 0.0);  // every training point is a centroid
}

TEST(Pq, SinglePoint) {
    const std::vector<float> x = {1.0f, -2.0f, 3.0f, 0.5f, 0.0f, 7.0f};
    TrainParams params;  // defaults: subquantizers from dim, all threads
    const auto pq = ProductQuantizer::train(x.data(), 1, 6, params);
    EXPECT_EQ(pq.subquantizers(), 1u);
    EXPECT_EQ(reconstruction_mse(pq, x), 0.0);
}

TEST(Pq, DuplicatePointsDoNotBreakTraining) {
    // 2000 points but only 10 distinct ones: k-means++ runs out of new points and empty clusters cannot split.
    const size_t dim = 8, n = 2000;
    const auto distinct = clustered(10, dim, 10, 0.0f, 9);
    std::vector<float> x(n * dim);
    for (size_t i = 0; i < n; ++i) std::copy_n(distinct.data() + (i % 10) * dim, dim, x.data() + i * dim);
    const auto pq = ProductQuantizer::train(x.data(), n, dim, params_with(2));
    EXPECT_EQ(reconstruction_mse(pq, x), 0.0);
}

TEST(Pq, TrainRejectsBadInput) {
    const std::vector<float> x(64, 1.0f);
    EXPECT_THROW(ProductQuantizer::train(x.data(), 0, 8, params_with(2)), Error);
    EXPECT_THROW(ProductQuantizer::train(x.data(), 8, 0, params_with(2)), Error);
    EXPECT_THROW(ProductQuantizer::train(x.data(), 8, 8, params_with(3)), Error);  // 3 does not divide 8
    EXPECT_THROW(ProductQuantizer::train(nullptr, 8, 8, params_with(2)), Error);
    uint8_t code[2];
    EXPECT_THROW(ProductQuantizer().encode(x.data(), 1, code), Error);
}

TEST(Pq, FromCentroidsRoundTripsAndChecksSizes) {
    const size_t dim = 24, n = 500;
    const auto x = clustered(n, dim, 10, 0.3f, 10);
    const auto trained = ProductQuantizer::train(x.data(), n, dim, params_with(6, 3));
    const auto loaded = ProductQuantizer::from_centroids(dim, 6, trained.centroids());
    EXPECT_EQ(loaded.code_size(), 6u);
    EXPECT_EQ(encode_all(trained, x), encode_all(loaded, x));

    const auto c = trained.centroids();
    EXPECT_THROW(ProductQuantizer::from_centroids(dim, 5, c), Error);  // 5 does not divide 24
    EXPECT_THROW(ProductQuantizer::from_centroids(dim, 0, c), Error);
    EXPECT_THROW(ProductQuantizer::from_centroids(0, 6, c), Error);
    EXPECT_THROW(ProductQuantizer::from_centroids(dim, 6, c.subspan(1)), Error);
    EXPECT_THROW(ProductQuantizer::from_centroids(dim + 6, 6, c), Error);
    EXPECT_THROW(ProductQuantizer::from_centroids(SIZE_MAX / 4, 1, c), Error);
    try {
        ProductQuantizer::from_centroids(dim, 6, c.subspan(1));
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("expected 6144"), std::string::npos) << e.what();
    }
}

TEST(KMeans, CentroidTableMatchesBruteForce) {
    const size_t dim = 5, k = 37, n = 500;  // k not a multiple of the 8-wide blocks
    const auto centroids = clustered(k, dim, k, 0.0f, 11);
    const auto x = clustered(n, dim, 5, 1.0f, 12);
    const CentroidTable table(centroids.data(), k, dim);
    std::vector<uint32_t> labels(n);
    std::vector<float> distances(n);
    table.nearest(x.data(), n, dim, labels.data(), distances.data());
    for (size_t i = 0; i < n; ++i) {
        float best = INFINITY;
        for (size_t c = 0; c < k; ++c)
            best = std::min(best, squared_l2(x.data() + i * dim, centroids.data() + c * dim, dim));
        ASSERT_LT(labels[i], k);
        EXPECT_NEAR(squared_l2(x.data() + i * dim, centroids.data() + labels[i] * dim, dim), best, 1e-4f);
        EXPECT_NEAR(distances[i], best, 1e-4f);
    }
    const float nan_point[dim] = {NAN, 0, 0, 0, 0};  // garbage in must still give a valid label
    table.nearest(nan_point, 1, dim, labels.data(), nullptr);
    EXPECT_LT(labels[0], k);
}

TEST(KMeans, RecoversSeparatedBlobs) {
    const size_t dim = 4, n = 2000;
    const float centres[4][4] = {{10, 0, 0, 0}, {0, 10, 0, 0}, {0, 0, 10, 0}, {0, 0, 0, 10}};
    std::mt19937 rng(13);
    std::normal_distribution<float> noise(0.0f, 0.1f);
    std::vector<float> x(n * dim);
    for (size_t i = 0; i < n; ++i)
        for (size_t d = 0; d < dim; ++d) x[i * dim + d] = centres[i % 4][d] + noise(rng);
    // k-means++ finds all four (random init puts two seeds in one blob about nine times in ten).
    KMeansParams params;
    params.k = 4;
    ThreadPool pool(2);
    const auto result = kmeans(x.data(), n, dim, params, &pool);
    std::set<size_t> matched;
    for (size_t c = 0; c < 4; ++c) {
        for (size_t b = 0; b < 4; ++b)
            if (squared_l2(result.centroids.data() + c * dim, centres[b], dim) < 0.01f) matched.insert(b);
    }
    EXPECT_EQ(matched.size(), 4u);
    EXPECT_LT(result.objective, n * dim * 0.02);
}

TEST(KMeans, LloydIterationsLowerTheObjective) {
    const size_t dim = 8, n = 3000;
    const auto x = clustered(n, dim, 40, 0.5f, 15);
    for (KMeansInit init : {KMeansInit::plus_plus, KMeansInit::random}) {
        KMeansParams params;
        params.k = 32;
        params.init = init;
        params.iterations = 1;
        const double first = kmeans(x.data(), n, dim, params).objective;
        params.iterations = 20;
        const auto result = kmeans(x.data(), n, dim, params);
        EXPECT_GT(result.iterations, 1u);
        EXPECT_LT(result.objective, 0.9 * first) << (init == KMeansInit::random ? "random" : "k-means++");
    }
}

TEST(KMeans, EmptyClustersAreRefilled) {
    // Every point twice: random init almost surely draws both copies of some point, and the duplicate centroid's
    // cluster is empty after the first assignment (ties go to the lower index). Repair must move it elsewhere.
    const size_t dim = 2, n = 300, k = 64;
    const auto distinct = clustered(n / 2, dim, 1, 1.0f, 14);
    std::vector<float> x(distinct);
    x.insert(x.end(), distinct.begin(), distinct.end());
    KMeansParams params;
    params.k = k;
    params.init = KMeansInit::random;
    const auto result = kmeans(x.data(), n, dim, params);
    std::set<std::pair<float, float>> unique;
    for (size_t c = 0; c < k; ++c) unique.emplace(result.centroids[c * dim], result.centroids[c * dim + 1]);
    EXPECT_EQ(unique.size(), k);
    const CentroidTable table(result.centroids.data(), k, dim);
    std::vector<uint32_t> labels(n);
    table.nearest(x.data(), n, dim, labels.data(), nullptr);
    EXPECT_EQ(std::set<uint32_t>(labels.begin(), labels.end()).size(), k);
}

TEST(KMeans, RejectsEmptyInput) {
    const float x[2] = {0, 0};
    EXPECT_THROW(kmeans(x, 0, 2, KMeansParams{}), Error);
    KMeansParams no_clusters;
    no_clusters.k = 0;
    EXPECT_THROW(kmeans(x, 1, 2, no_clusters), Error);
}

}  // namespace
}  // namespace leann::pq
