// Query-time knobs and counters, shared by the library facade (leann/index.h) and the search room.
#pragma once

#include <cstddef>

#include "leann/filter.h"

namespace leann {

struct SearchOptions {
    size_t top_k = 10;
    size_t complexity = 0;         // search list size L (at least top_k): larger = better recall, more work;
                                   // 0 = auto: 800 for the PQ walk (PQ steps are cheap), 64 when recomputing
                                   // during the walk (bench/README.md)
    double recompute_share = 0.0;  // share of newly seen nodes recomputed during the walk, best PQ distance first
                                   // (1 = every visited node); 0 = walk on PQ distances and re-rank at the end
    size_t rerank = 64;            // with share 0: recompute the best `rerank` PQ candidates, in one batch, and
                                   // rank them exactly
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

    SearchStats& operator+=(const SearchStats& o) {
        expansions += o.expansions;
        pq_distances += o.pq_distances;
        recomputed += o.recomputed;
        lru_hits += o.lru_hits;
        hub_hits += o.hub_hits;
        batches += o.batches;
        return *this;
    }
};

}  // namespace leann
