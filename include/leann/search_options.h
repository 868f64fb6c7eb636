// Query-time knobs and counters, shared by the library facade (leann/index.h) and the search room.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "leann/filter.h"

namespace leann {

/// What ranks the hits: the embedding (graph + PQ + exact re-rank), BM25 over the keyword index, or both fused.
enum class SearchMode { vector, keyword, hybrid };
/// How hybrid search fuses its two ranked lists: reciprocal rank fusion, or a convex combination of the scores
/// normalised over the candidates (vector: min-max; keyword: divided by the best BM25 score).
enum class HybridFusion { rrf, convex };

struct SearchOptions {
    // The defaults every front end uses (they read SearchOptions{}): hybrid, convex, 0.6 were chosen by nDCG@10 on
    // three judged query sets and held on two others (bench/README.md, "Retrieval quality").
    SearchMode mode = SearchMode::hybrid;
    HybridFusion fusion = HybridFusion::convex;
    double vector_weight = 0.6;    // hybrid: weight of the vector side, the keyword side gets 1 - vector_weight
                                   // (rrf: w / (rrf_k + rank); convex: w * normalised score)
    size_t rrf_k = 60;             // the constant of reciprocal rank fusion
    size_t keyword_candidates = 0; // hybrid: best BM25 hits ranked by exact vector too (0 = auto: max(top_k, 16));
                                   // with convex fusion and the adaptive re-rank, only those that could still
                                   // reach the fused top k are embedded
    size_t top_k = 10;
    size_t complexity = 0;         // search list size L (at least top_k): larger = better recall, more work;
                                   // 0 = auto: 1600 for the PQ walk (PQ steps are cheap), 64 when recomputing
                                   // during the walk (bench/README.md)
    double recompute_share = 0.0;  // share of newly seen nodes recomputed during the walk, best PQ distance first
                                   // (1 = every visited node); 0 = walk on PQ distances and re-rank at the end
    size_t rerank = 0;             // with share 0: N > 0 recomputes the best N PQ candidates of the walk in one batch
                                   // and ranks them exactly; 0 = adaptive: recompute them best PQ distance first,
                                   // in small batches, until no remaining candidate can enter the top_k (by the
                                   // PQ error margin the index measured at build time; an index without one
                                   // re-ranks a fixed 64)
    double rerank_confidence = 0.95;  // adaptive: the share of near neighbours whose PQ error the margin covers
    size_t rerank_limit = 128;     // adaptive: at most this many candidates recomputed (at least top_k)
    size_t batch_size = 64;        // recompute requests gathered per encoder call; 1 = no batching
    bool recompute = true;         // false: no exact embeddings at all (PQ-ranked, approximate scores)
    Filter filter{};               // only chunks matching it are returned (leann/filter.h); empty = all
};

struct SearchStats {
    size_t expansions = 0;    // nodes whose neighbour lists were read
    size_t pq_distances = 0;  // approximate distances computed
    size_t recomputed = 0;    // exact embeddings computed (encoder calls' texts)
    size_t lru_hits = 0;      // served by the per-process cache
    size_t hub_hits = 0;      // served by the index's hub cache
    size_t batches = 0;       // encoder calls
    size_t keyword_terms = 0;     // query terms found in the keyword index
    size_t keyword_postings = 0;  // postings decoded
    size_t keyword_matches = 0;   // live chunks matching at least one term (every phrase term, with phrases)

    SearchStats& operator+=(const SearchStats& o) {
        expansions += o.expansions;
        pq_distances += o.pq_distances;
        recomputed += o.recomputed;
        lru_hits += o.lru_hits;
        hub_hits += o.hub_hits;
        batches += o.batches;
        keyword_terms += o.keyword_terms;
        keyword_postings += o.keyword_postings;
        keyword_matches += o.keyword_matches;
        return *this;
    }
};


/// "vector" / "keyword" / "hybrid" and back (nullopt for anything else): the spelling of every front end.
std::string_view search_mode_name(SearchMode mode);
std::optional<SearchMode> parse_search_mode(std::string_view name);
std::string_view fusion_name(HybridFusion fusion);
std::optional<HybridFusion> parse_fusion(std::string_view name);
}  // namespace leann
