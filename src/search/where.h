// search room: Chroma-style `where` clauses over chunk metadata (syntax in leann/filter.h), compiled once per query
// and evaluated per chunk. While evaluating, a clause records which value kinds each named field held, so that a
// filter on a field no chunk has, or with an operand of a kind the field never holds, is reported instead of
// silently matching nothing (check_fields).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace leann::search {

class WhereClause {
public:
    /// Throws leann::Error naming the field or operator for a malformed clause (depth over 32, more than 4096
    /// nodes, an unknown operator, an operand of the wrong shape).
    explicit WhereClause(const nlohmann::json& where);
    ~WhereClause();
    WhereClause(WhereClause&&) noexcept;

    /// Whether `metadata` (a JSON object) satisfies the clause; notes the kinds of the fields it reads.
    bool matches(const nlohmann::json& metadata);
    /// After matches() ran over every chunk: throws leann::Error naming a field that no chunk had, or one whose
    /// values never had the kind a comparison needs. `fields_seen` lists the index's fields for the message.
    void check_fields(const std::vector<std::string>& fields_seen) const;

    struct Node;

private:
    std::unique_ptr<Node> root_;
    std::map<std::string, uint8_t> kinds_seen_;  // field -> bitmask of the value kinds met (see where.cpp)
    std::vector<const Node*> comparisons_;       // every leaf, for check_fields
};

}  // namespace leann::search
