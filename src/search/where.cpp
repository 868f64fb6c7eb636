#include "search/where.h"

#include <algorithm>

#include "leann/error.h"
#include "leann/filter.h"

namespace leann::search {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxDepth = 32;
constexpr size_t kMaxNodes = 4096;

enum Kind : uint8_t { kString = 1, kNumber = 2, kBool = 4, kOther = 8 };

uint8_t kind_of(const json& v) {
    if (v.is_string()) return kString;
    if (v.is_number()) return kNumber;
    if (v.is_boolean()) return kBool;
    return kOther;
}

std::string kind_names(uint8_t kinds) {
    std::string out;
    auto add = [&](uint8_t k, const char* name) {
        if (!(kinds & k)) return;
        if (!out.empty()) out += ", ";
        out += name;
    };
    add(kString, "strings");
    add(kNumber, "numbers");
    add(kBool, "booleans");
    add(kOther, "lists, objects or nulls");
    return out.empty() ? "nothing" : out;
}

// Number text as JSON writes it, so that FIELD=2020 also finds a field holding the string "2020".
std::string number_text(const json& v) { return v.dump(); }

}  // namespace

struct WhereClause::Node {
    enum class Op { all, any, eq, ne, gt, gte, lt, lte, in, nin } op;
    std::string field;
    std::string op_name;
    std::vector<json> values;  // one for comparisons, several for $in/$nin
    std::vector<std::unique_ptr<Node>> children;

    uint8_t accepted() const {  // kinds of field values the comparison can meet
        uint8_t k = 0;
        for (const json& v : values) {
            const uint8_t vk = kind_of(v);
            const bool ordered = op == Op::gt || op == Op::gte || op == Op::lt || op == Op::lte;
            k |= (!ordered && (vk & (kString | kNumber))) ? uint8_t(kString | kNumber) : vk;
        }
        return k;
    }
};

namespace {

using Node = WhereClause::Node;

bool equal(const json& field, const json& value) {
    if (field.is_array()) {
        for (const json& e : field)
            if (!e.is_array() && equal(e, value)) return true;
        return false;
    }
    if (field.is_number() && value.is_number()) return field.get<double>() == value.get<double>();
    if (field.is_string() && value.is_number()) return field.get_ref<const std::string&>() == number_text(value);
    if (field.is_number() && value.is_string()) return number_text(field) == value.get_ref<const std::string&>();
    return field == value;
}

// -1, 0, 1, or 2 when the two cannot be ordered.
int order(const json& field, const json& value) {
    if (field.is_number() && value.is_number()) {
        const double a = field.get<double>(), b = value.get<double>();
        return a < b ? -1 : a > b ? 1 : 0;
    }
    if (field.is_string() && value.is_string()) {
        const int c = field.get_ref<const std::string&>().compare(value.get_ref<const std::string&>());
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    return 2;
}

std::unique_ptr<Node> compile(const json& w, size_t depth, size_t& nodes, std::vector<const Node*>& leaves);

std::unique_ptr<Node> compile_field(const std::string& field, const json& cond, size_t depth, size_t& nodes,
                                    std::vector<const Node*>& leaves) {
    if (field.empty()) throw FilterError("where: empty field name");
    if (field.front() == '$') throw FilterError("where: unknown operator '" + field + "' (expected $and or $or here)");
    auto leaf = [&](Node::Op op, std::string op_name, std::vector<json> values) {
        if (++nodes > kMaxNodes) throw FilterError("where: more than 4096 conditions");
        auto n = std::make_unique<Node>();
        n->op = op;
        n->field = field;
        n->op_name = std::move(op_name);
        n->values = std::move(values);
        leaves.push_back(n.get());
        return n;
    };
    auto scalar = [&](const json& v, const std::string& op) {
        if (!(v.is_string() || v.is_number() || v.is_boolean()))
            throw FilterError("where: field '" + field + "': " + op + " needs a string, number or boolean, got " +
                        v.type_name());
    };
    if (!cond.is_object()) {
        scalar(cond, "equality");
        return leaf(Node::Op::eq, "$eq", {cond});
    }
    if (cond.empty()) throw FilterError("where: field '" + field + "': empty condition object");
    std::vector<std::unique_ptr<Node>> parts;
    for (auto it = cond.begin(); it != cond.end(); ++it) {
        const std::string& op = it.key();
        const json& v = it.value();
        if (op == "$eq" || op == "$ne") {
            scalar(v, op);
            parts.push_back(leaf(op == "$eq" ? Node::Op::eq : Node::Op::ne, op, {v}));
        } else if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
            if (!(v.is_number() || v.is_string()))
                throw FilterError("where: field '" + field + "': " + op + " needs a number (or a string), got " +
                            v.type_name());
            const Node::Op o = op == "$gt" ? Node::Op::gt : op == "$gte" ? Node::Op::gte
                               : op == "$lt" ? Node::Op::lt : Node::Op::lte;
            parts.push_back(leaf(o, op, {v}));
        } else if (op == "$in" || op == "$nin") {
            if (!v.is_array() || v.empty())
                throw FilterError("where: field '" + field + "': " + op + " needs a non-empty list of values");
            std::vector<json> values;
            for (const json& e : v) {
                scalar(e, op);
                values.push_back(e);
            }
            parts.push_back(leaf(op == "$in" ? Node::Op::in : Node::Op::nin, op, std::move(values)));
        } else {
            throw FilterError("where: field '" + field + "': unknown operator '" + op +
                        "' (use $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin)");
        }
    }
    (void)depth;
    if (parts.size() == 1) return std::move(parts.front());
    auto all = std::make_unique<Node>();
    all->op = Node::Op::all;
    all->children = std::move(parts);
    return all;
}

std::unique_ptr<Node> compile(const json& w, size_t depth, size_t& nodes, std::vector<const Node*>& leaves) {
    if (depth > kMaxDepth) throw FilterError("where: nested deeper than 32 levels");
    if (!w.is_object()) throw FilterError(std::string("where: expected an object, got ") + w.type_name());
    if (w.empty()) throw FilterError("where: empty object");
    auto all = std::make_unique<Node>();
    all->op = Node::Op::all;
    for (auto it = w.begin(); it != w.end(); ++it) {
        const std::string& key = it.key();
        if (key == "$and" || key == "$or") {
            if (!it.value().is_array() || it.value().empty())
                throw FilterError("where: " + key + " needs a non-empty list of where objects");
            auto group = std::make_unique<Node>();
            group->op = key == "$and" ? Node::Op::all : Node::Op::any;
            for (const json& sub : it.value()) group->children.push_back(compile(sub, depth + 1, nodes, leaves));
            all->children.push_back(std::move(group));
        } else {
            all->children.push_back(compile_field(key, it.value(), depth + 1, nodes, leaves));
        }
    }
    if (all->children.size() == 1) return std::move(all->children.front());
    return all;
}

const json* lookup(const json& metadata, const std::string& field) {
    if (auto it = metadata.find(field); it != metadata.end()) return &*it;
    // Dotted names reach into nested objects: "author.name".
    if (field.find('.') == std::string::npos) return nullptr;
    const json* at = &metadata;
    size_t start = 0;
    while (start <= field.size()) {
        const size_t dot = std::min(field.find('.', start), field.size());
        if (!at->is_object()) return nullptr;
        auto it = at->find(field.substr(start, dot - start));
        if (it == at->end()) return nullptr;
        at = &*it;
        start = dot + 1;
    }
    return at;
}

}  // namespace

WhereClause::WhereClause(const json& where) {
    size_t nodes = 0;
    root_ = compile(where, 0, nodes, comparisons_);
}
WhereClause::~WhereClause() = default;
WhereClause::WhereClause(WhereClause&&) noexcept = default;

bool WhereClause::matches(const json& metadata) {
    // Note every compared field's kinds first (all leaves, not only those short-circuit evaluation reaches).
    for (const Node* leaf : comparisons_) {
        if (const json* v = lookup(metadata, leaf->field)) {
            uint8_t k = 0;
            if (v->is_array())
                for (const json& e : *v) k |= kind_of(e);
            else
                k = kind_of(*v);
            kinds_seen_[leaf->field] |= k;
        }
    }
    auto eval = [&](auto&& self, const Node& n) -> bool {
        switch (n.op) {
            case Node::Op::all:
                return std::all_of(n.children.begin(), n.children.end(), [&](const auto& c) { return self(self, *c); });
            case Node::Op::any:
                return std::any_of(n.children.begin(), n.children.end(), [&](const auto& c) { return self(self, *c); });
            default: break;
        }
        const json* v = lookup(metadata, n.field);
        if (v == nullptr) return false;  // a chunk without the field matches no condition on it
        switch (n.op) {
            case Node::Op::eq: return equal(*v, n.values[0]);
            case Node::Op::ne: return !equal(*v, n.values[0]);
            case Node::Op::in:
                return std::any_of(n.values.begin(), n.values.end(), [&](const json& x) { return equal(*v, x); });
            case Node::Op::nin:
                return std::none_of(n.values.begin(), n.values.end(), [&](const json& x) { return equal(*v, x); });
            default: {
                const int c = order(*v, n.values[0]);
                if (c == 2) return false;
                return n.op == Node::Op::gt ? c > 0 : n.op == Node::Op::gte ? c >= 0 : n.op == Node::Op::lt ? c < 0
                                                                                                              : c <= 0;
            }
        }
    };
    return eval(eval, *root_);
}

void WhereClause::check_fields(const std::vector<std::string>& fields_seen) const {
    for (const Node* leaf : comparisons_) {
        auto it = kinds_seen_.find(leaf->field);
        if (it == kinds_seen_.end() || it->second == 0) {
            std::string known;
            for (size_t i = 0; i < fields_seen.size() && i < 30; ++i) known += (i ? ", " : "") + fields_seen[i];
            if (fields_seen.size() > 30) known += ", ...";
            throw FilterError("where: unknown field '" + leaf->field + "': no chunk in this index has it (fields: " +
                        (known.empty() ? "none" : known) + ")");
        }
        const uint8_t need = leaf->accepted();
        if ((it->second & need) == 0)
            throw FilterError("where: field '" + leaf->field + "' holds " + kind_names(it->second) + ", but " +
                        leaf->op_name + " compares it with " + kind_names(kind_of(leaf->values[0])));
    }
}

}  // namespace leann::search
