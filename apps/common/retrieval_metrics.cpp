#include "retrieval_metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>

namespace leann::apps {

std::vector<std::string> rank_documents(const std::vector<RankedItem>& items) {
    struct Doc {
        std::string id;
        float score;
        size_t first;
    };
    std::vector<Doc> docs;
    std::unordered_map<std::string, size_t> where;
    for (const RankedItem& item : items) {
        auto [it, fresh] = where.emplace(item.doc_id, docs.size());
        if (fresh)
            docs.push_back({item.doc_id, item.score, docs.size()});
        else
            docs[it->second].score = std::max(docs[it->second].score, item.score);
    }
    std::stable_sort(docs.begin(), docs.end(), [](const Doc& a, const Doc& b) { return a.score > b.score; });
    std::vector<std::string> ranking;
    ranking.reserve(docs.size());
    for (Doc& d : docs) ranking.push_back(std::move(d.id));
    return ranking;
}

size_t relevant_count(const Judgements& judged) {
    return static_cast<size_t>(std::count_if(judged.begin(), judged.end(), [](const auto& j) { return j.second > 0; }));
}

namespace {

int grade_of(const Judgements& judged, const std::string& doc) {
    auto it = judged.find(doc);
    return it == judged.end() ? 0 : std::max(it->second, 0);
}

}  // namespace

double ndcg_at(const std::vector<std::string>& ranking, const Judgements& judged, size_t k) {
    double dcg = 0;
    for (size_t i = 0; i < std::min(k, ranking.size()); ++i)
        dcg += grade_of(judged, ranking[i]) / std::log2(static_cast<double>(i) + 2);
    std::vector<int> ideal;
    for (const auto& [doc, grade] : judged)
        if (grade > 0) ideal.push_back(grade);
    std::sort(ideal.begin(), ideal.end(), std::greater<>());
    double idcg = 0;
    for (size_t i = 0; i < std::min(k, ideal.size()); ++i) idcg += ideal[i] / std::log2(static_cast<double>(i) + 2);
    return idcg > 0 ? dcg / idcg : 0;
}

double recall_at(const std::vector<std::string>& ranking, const Judgements& judged, size_t k) {
    const size_t relevant = relevant_count(judged);
    if (relevant == 0) return 0;
    size_t found = 0;
    for (size_t i = 0; i < std::min(k, ranking.size()); ++i)
        if (grade_of(judged, ranking[i]) > 0) ++found;
    return static_cast<double>(found) / static_cast<double>(relevant);
}

double mrr_at(const std::vector<std::string>& ranking, const Judgements& judged, size_t k) {
    for (size_t i = 0; i < std::min(k, ranking.size()); ++i)
        if (grade_of(judged, ranking[i]) > 0) return 1.0 / static_cast<double>(i + 1);
    return 0;
}

}  // namespace leann::apps
