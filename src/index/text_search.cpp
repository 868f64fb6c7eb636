// index room: keyword and hybrid search (SearchOptions::mode). Keyword mode ranks the live chunks by BM25 over
// the keyword index (no embedding). Hybrid mode runs the vector search with the best BM25 candidates added to its
// exact re-rank batch, so both lists are ranked by exact vector scores, and fuses the two rankings (reciprocal rank
// fusion or a convex combination of normalised scores). Quoted phrases restrict every hit to passages holding the
// phrase word for word (case-folded, punctuation between words ignored).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_map>

#include "index/index_impl.h"
#include "keyword/keyword_index.h"
#include "keyword/keyword_tokenizer.h"
#include "leann/error.h"
#include "util/distance.h"

namespace leann {

namespace {

constexpr size_t kMaxPhraseChecks = 4096;  // passages read to verify phrases, per query

struct Ranked {
    uint32_t node;
    float score;
};

/// The best `limit` matches by score (ties: lower node first).
std::vector<Ranked> best_matches(const keyword::KeywordIndex::Scores& s, size_t limit) {
    std::vector<Ranked> r;
    r.reserve(s.matches.size());
    for (uint32_t v : s.matches) r.push_back({v, s.score[v]});
    limit = std::min(limit, r.size());
    auto better = [](const Ranked& a, const Ranked& b) { return a.score > b.score || (a.score == b.score && a.node < b.node); };
    std::partial_sort(r.begin(), r.begin() + std::ptrdiff_t(limit), r.end(), better);
    r.resize(limit);
    return r;
}

bool holds_phrases(std::string_view text, const std::vector<std::vector<std::string>>& phrases) {
    if (phrases.empty()) return true;
    const std::vector<std::string> w = keyword::words(text);
    return std::all_of(phrases.begin(), phrases.end(), [&](const auto& p) { return keyword::contains_phrase(w, p); });
}

}  // namespace

std::string_view search_mode_name(SearchMode mode) {
    switch (mode) {
        case SearchMode::vector: return "vector";
        case SearchMode::keyword: return "keyword";
        case SearchMode::hybrid: return "hybrid";
    }
    return "vector";
}

std::optional<SearchMode> parse_search_mode(std::string_view name) {
    for (SearchMode m : {SearchMode::vector, SearchMode::keyword, SearchMode::hybrid})
        if (name == search_mode_name(m)) return m;
    return std::nullopt;
}

std::string_view fusion_name(HybridFusion fusion) { return fusion == HybridFusion::rrf ? "rrf" : "convex"; }

std::optional<HybridFusion> parse_fusion(std::string_view name) {
    if (name == "rrf") return HybridFusion::rrf;
    if (name == "convex") return HybridFusion::convex;
    return std::nullopt;
}

const keyword::KeywordIndex& Index::Impl::keywords() {
    std::lock_guard lock(keyword_mutex);
    if (!keyword_index) {
        if (!file.has(keyword::kKeywordSection))
            throw Error("index " + file.path().string() + " has no keyword index (it was written by an older leann, "
                        "format version " + std::to_string(file.format_version()) +
                        "): keyword and hybrid search need one; the next update adds it, or rebuild with "
                        "`leann build --force`");
        keyword_index = std::make_shared<const keyword::KeywordIndex>(keyword::KeywordIndex::load(
            file.segments(keyword::kKeywordSection), info.nodes, context.deleted, file.path().string(),
            keyword::passage_reader(passages)));
    }
    return *keyword_index;
}

SearchResult detail::IndexInternals::search_text(const Index& index, std::string_view query,
                                                 const SearchOptions& options) {
    Index::Impl& x = *index.impl_;
    const auto start = std::chrono::steady_clock::now();
    const keyword::KeywordQuery q = keyword::parse_query(query);
    auto by_vector = [&](std::string note) {
        SearchOptions vector_options = options;
        vector_options.mode = SearchMode::vector;
        SearchResult r = index.search(query, vector_options);
        r.notes.push_back(std::move(note));
        return r;
    };
    if (q.empty()) return by_vector("the query has no keyword terms (only stopwords or punctuation): searched by vector alone");
    // Hybrid is the default mode, so an index from before the keyword index still answers it (keyword mode, asked
    // for by name, says why it cannot).
    if (options.mode == SearchMode::hybrid && !x.file.has(keyword::kKeywordSection))
        return by_vector("this index has no keyword index (written by an older leann): searched by vector alone; its "
                         "next update adds one");
    const keyword::KeywordIndex& kw = x.keywords();
    // Each phrase word must be in a hit, exactly (code) or by its stem (prose).
    std::vector<std::vector<std::string>> required;
    for (const auto& phrase : q.phrases)
        for (const auto& w : phrase)
            if (!keyword::is_stopword(w) && w.size() <= keyword::kMaxTermBytes) {
                required.push_back({w});
                if (std::string stem = keyword::stem_term(w); !stem.empty()) required.back().push_back(std::move(stem));
            }
    keyword::KeywordStats ks;
    keyword::KeywordIndex::Scores scores = kw.score(q.terms, required, &ks);
    // A filter applies to both sides: keyword matches outside it are dropped before the top-k is taken (so there
    // are still k of them when k match), and the vector side walks with it.
    std::vector<uint8_t> allowed;
    search::NodeFilter node_filter;
    if (!options.filter.empty()) {
        allowed = index::match_filter(*x.chunks(), x.context.deleted, options.filter, node_filter.count);
        node_filter.allowed = allowed;
        std::erase_if(scores.matches, [&](uint32_t v) {
            const bool out = ((allowed[v >> 3] >> (v & 7)) & 1) == 0;
            if (out) scores.score[v] = 0;
            return out;
        });
    }

    SearchResult result;
    result.stats.keyword_terms = ks.terms;
    result.stats.keyword_postings = ks.postings;
    result.stats.keyword_matches = ks.matches;
    const bool hybrid = options.mode == SearchMode::hybrid;
    const size_t want = hybrid ? std::max(options.keyword_candidates ? options.keyword_candidates : size_t{16},
                                          options.top_k)
                               : options.top_k;

    // Keyword candidates, best first; with phrases, only those whose text holds them (read in batches).
    std::vector<Ranked> candidates;
    std::unordered_map<uint32_t, store::Passage> read;
    if (q.phrases.empty()) {
        candidates = best_matches(scores, want);
    } else {
        const std::vector<Ranked> ranked = best_matches(scores, kMaxPhraseChecks);
        for (size_t begin = 0; begin < ranked.size() && candidates.size() < want; begin += 64) {
            std::vector<uint32_t> nodes;
            for (size_t i = begin; i < std::min(ranked.size(), begin + 64); ++i) nodes.push_back(ranked[i].node);
            auto passages = x.passages.get_many(nodes);
            for (size_t i = 0; i < nodes.size() && candidates.size() < want; ++i)
                if (holds_phrases(passages[i].text, q.phrases)) {
                    candidates.push_back(ranked[begin + i]);
                    read.emplace(nodes[i], std::move(passages[i]));
                }
        }
        if (ranked.size() == kMaxPhraseChecks && candidates.size() < want)
            result.notes.push_back("phrase check stopped after the best " + std::to_string(kMaxPhraseChecks) +
                                   " keyword matches");
    }

    std::vector<Ranked> final_hits;
    if (!hybrid) {
        final_hits = std::move(candidates);
    } else {
        // Vector side, with the keyword candidates in the exact re-rank batch.
        Encoder& enc = index.encoder();
        std::vector<float> qv(enc.dims());
        const std::string_view texts[] = {query};
        enc.encode(texts, qv, TextRole::query);
        if (x.metric == Metric::cosine) normalize(qv.data(), qv.size());
        search::CachedSource* cached = nullptr;  // read under the lock the sources change under
        {
            std::lock_guard lock(x.encoder_mutex);
            cached = x.cached_source.get();
        }
        if (!cached) throw Error("no encoder attached to index " + x.file.path().string());
        std::vector<uint32_t> extra;
        for (const Ranked& c : candidates) extra.push_back(c.node);
        float depth_distance = NAN;
        search::RerankExtras extras;
        extras.nodes = extra;
        extras.keep_all = true;
        extras.depth_distance = &depth_distance;
        // Keyword scores normalised by the best candidate's (the best BM25 match: no other hit can score higher).
        float best_bm25 = 0;
        for (const Ranked& c : candidates) best_bm25 = std::max(best_bm25, c.score);
        if (!(best_bm25 > 0)) best_bm25 = 1.0f;
        // Convex fusion lets the re-rank leave out keyword candidates that cannot reach the fused top k. Phrases
        // drop vector hits after the search, which changes the normalisation: then every candidate is ranked.
        if (options.fusion == HybridFusion::convex && q.phrases.empty()) {
            extras.keyword_scores = scores.score;
            extras.keyword_scale = 1.0f / best_bm25;
            extras.vector_weight = options.vector_weight;
        }
        SearchOptions vector_options = options;
        vector_options.mode = SearchMode::vector;
        SearchStats vs;
        auto searcher = x.acquire();
        std::vector<search::Hit> ranked;
        try {
            ranked = searcher->search(qv.data(), *cached, vector_options, &vs, &extras,
                                      options.filter.empty() ? nullptr : &node_filter);
        } catch (...) {
            x.release(std::move(searcher));
            throw;
        }
        x.release(std::move(searcher));
        const SearchStats kstats = result.stats;
        result.stats = vs;
        result.stats.keyword_terms = kstats.keyword_terms;
        result.stats.keyword_postings = kstats.keyword_postings;
        result.stats.keyword_matches = kstats.keyword_matches;

        // Phrases hold for every hit: drop vector candidates without them.
        if (!q.phrases.empty()) {
            std::vector<uint32_t> unread;
            for (const auto& h : ranked)
                if (!read.count(h.node)) unread.push_back(h.node);
            auto passages = x.passages.get_many(unread);
            for (size_t i = 0; i < unread.size(); ++i) read.emplace(unread[i], std::move(passages[i]));
            std::erase_if(ranked, [&](const search::Hit& h) { return !holds_phrases(read.at(h.node).text, q.phrases); });
        }
        // Both rankings over the union (ranked holds it, by exact vector distance).
        const double w = std::clamp(options.vector_weight, 0.0, 1.0);
        std::vector<Ranked> by_keyword;
        for (const auto& h : ranked)
            if (scores.score[h.node] > 0) by_keyword.push_back({h.node, scores.score[h.node]});
        std::sort(by_keyword.begin(), by_keyword.end(), [](const Ranked& a, const Ranked& b) {
            return a.score > b.score || (a.score == b.score && a.node < b.node);
        });
        // With phrases no candidate may hold them while a vector hit does: normalise by the best ranked then.
        if (candidates.empty() && !by_keyword.empty()) best_bm25 = by_keyword.front().score;
        std::unordered_map<uint32_t, size_t> keyword_rank;
        for (size_t i = 0; i < by_keyword.size(); ++i) keyword_rank.emplace(by_keyword[i].node, i + 1);
        const float keyword_scale = 1.0f / best_bm25;  // as the re-rank scaled them
        // Vector distances normalised between the best ranked and a lower reference: the worst ranked, or the
        // vector ranking's distance at a fixed depth when further (however deep the adaptive re-rank went;
        // otherwise the depth would weigh the two sides per query). Keyword candidates the re-rank left out could
        // not have been further (search::RerankExtras). Non-finite distances (a poisoned vector) count in neither.
        float best_distance = INFINITY, reference = std::isfinite(depth_distance) ? depth_distance : -INFINITY;
        for (const auto& h : ranked)
            if (std::isfinite(h.distance)) {
                best_distance = std::min(best_distance, h.distance);
                reference = std::max(reference, h.distance);
            }
        for (size_t i = 0; i < ranked.size(); ++i) {
            const uint32_t v = ranked[i].node;
            double fused;
            if (options.fusion == HybridFusion::rrf) {
                const double k0 = double(options.rrf_k);
                fused = w / (k0 + double(i + 1));
                if (auto it = keyword_rank.find(v); it != keyword_rank.end()) fused += (1 - w) / (k0 + double(it->second));
            } else {
                fused = search::convex_fused(w, ranked[i].distance, best_distance, reference,
                                             scores.score[v] * keyword_scale);
            }
            final_hits.push_back({v, float(fused)});
        }
        std::stable_sort(final_hits.begin(), final_hits.end(),
                         [](const Ranked& a, const Ranked& b) { return a.score > b.score; });
    }
    if (final_hits.size() > options.top_k) final_hits.resize(options.top_k);

    std::vector<uint32_t> unread;
    for (const Ranked& h : final_hits)
        if (!read.count(h.node)) unread.push_back(h.node);
    auto passages = x.passages.get_many(unread);
    for (size_t i = 0; i < unread.size(); ++i) read.emplace(unread[i], std::move(passages[i]));
    for (const Ranked& h : final_hits) {
        store::Passage& p = read.at(h.node);
        Hit hit;
        hit.node = h.node;
        hit.score = h.score;
        hit.id = std::move(p.id);
        hit.text = std::move(p.text);
        hit.metadata = std::move(p.metadata);
        result.hits.push_back(std::move(hit));
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace leann
