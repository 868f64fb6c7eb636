#include "index/manifest.h"

#include <zstd.h>

#include <cstdio>
#include <cstring>

#include "store/index_file.h"
#include "util/json_limits.h"

namespace leann::index {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxManifestBytes = size_t{1} << 30;  // a decompressed manifest larger than this is refused

// Node lists as runs: [first, count, first, count, ...] (a file's chunks are mostly consecutive node ids).
json encode_runs(const std::vector<uint32_t>& nodes) {
    json runs = json::array();
    for (size_t i = 0; i < nodes.size();) {
        size_t j = i + 1;
        while (j < nodes.size() && nodes[j] == nodes[j - 1] + 1) ++j;
        runs.push_back(nodes[i]);
        runs.push_back(j - i);
        i = j;
    }
    return runs;
}

std::string hex64(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

std::string Manifest::json_text() const {
    json files_json = json::array();
    for (const auto& [path, e] : files)
        files_json.push_back({path, e.bytes, e.mtime_ns, e.ctime_ns, e.inode, hex64(e.hash), e.records ? 1 : 0,
                              encode_runs(e.nodes)});
    json records_json = json::array();
    for (const auto& [id, node] : records) records_json.push_back({id, node});
    return json{{"version", 2}, {"settings", settings}, {"origin", origin}, {"files", std::move(files_json)},
                {"records", std::move(records_json)}}
        .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Manifest::encode() const {
    const std::string text = json_text();
    std::string out(ZSTD_compressBound(text.size()), '\0');
    const size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
    if (ZSTD_isError(n)) throw Error(std::string("source manifest: zstd: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

Manifest Manifest::decode(std::span<const std::byte> bytes, const std::string& file) {
    auto fail = [&](const std::string& what) -> Manifest {
        throw FormatError(file + ": section SRCS: " + what);
    };
    std::string text;
    const bool compressed = bytes.size() >= 4 && std::memcmp(bytes.data(), "\x28\xb5\x2f\xfd", 4) == 0;
    if (compressed) {
        const unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
        if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxManifestBytes)
            return fail("not a zstd frame with a content size under 1 GiB");
        text.resize(static_cast<size_t>(size));
        const size_t got = ZSTD_decompress(text.data(), text.size(), bytes.data(), bytes.size());
        if (ZSTD_isError(got) || got != text.size()) return fail("corrupt zstd frame");
    } else {
        text.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    std::string why;
    const json j = json_limits::parse_or_discarded(text, &why);
    if (j.is_discarded()) return fail(why);
    if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer())
        return fail("not a JSON object with a version");
    Manifest m;
    if (auto s = j.find("settings"); s != j.end() && s->is_object()) m.settings = *s;
    if (auto o = j.find("origin"); o != j.end() && o->is_object()) m.origin = *o;
    const int version = j["version"].get<int>();
    if (version == 1) {
        // Written by version-1 builds: path, size and mtime only. Enough to say "unchanged", not to update.
        m.has_nodes = false;
        if (auto f = j.find("files"); f != j.end() && f->is_array())
            for (const auto& row : *f)
                if (row.is_array() && row.size() == 3 && row[0].is_string() && row[1].is_number_unsigned() &&
                    row[2].is_number_integer())
                    m.files[row[0].get<std::string>()] = {row[1].get<uint64_t>(), row[2].get<int64_t>(), 0, 0, 0,
                                                          false, {}};
        return m;
    }
    if (version != 2) return fail("manifest version " + std::to_string(version) + " is not known");
    const json* rows = j.contains("files") && j["files"].is_array() ? &j["files"] : nullptr;
    if (!rows) return fail("no file list");
    for (const auto& row : *rows) {
        if (!row.is_array() || row.size() != 8 || !row[0].is_string() || !row[1].is_number_unsigned() ||
            !row[2].is_number_integer() || !row[3].is_number_integer() || !row[4].is_number_unsigned() ||
            !row[5].is_string() || !row[6].is_number_integer() || !row[7].is_array() || row[7].size() % 2 != 0)
            return fail("malformed file entry");
        SourceEntry e;
        e.bytes = row[1].get<uint64_t>();
        e.mtime_ns = row[2].get<int64_t>();
        e.ctime_ns = row[3].get<int64_t>();
        e.inode = row[4].get<uint64_t>();
        const std::string hash = row[5].get<std::string>();
        char* end = nullptr;
        e.hash = std::strtoull(hash.c_str(), &end, 16);
        if (hash.size() != 16 || end != hash.c_str() + 16) return fail("malformed hash " + hash);
        e.records = row[6].get<int>() != 0;
        const json& runs = row[7];
        for (size_t i = 0; i < runs.size(); i += 2) {
            if (!runs[i].is_number_unsigned() || !runs[i + 1].is_number_unsigned()) return fail("malformed node run");
            const uint64_t first = runs[i].get<uint64_t>(), count = runs[i + 1].get<uint64_t>();
            if (first + count > kNoNode || count > (uint64_t{1} << 32)) return fail("node run out of range");
            for (uint64_t k = 0; k < count; ++k) e.nodes.push_back(static_cast<uint32_t>(first + k));
        }
        m.files[row[0].get<std::string>()] = std::move(e);
    }
    if (auto r = j.find("records"); r != j.end() && r->is_array())
        for (const auto& row : *r) {
            if (!row.is_array() || row.size() != 2 || !row[0].is_string() || !row[1].is_number_unsigned() ||
                row[1].get<uint64_t>() >= kNoNode)
                return fail("malformed record entry");
            m.records[row[0].get<std::string>()] = row[1].get<uint32_t>();
        }
    return m;
}

std::vector<uint8_t> Manifest::listed_nodes(size_t nodes, const std::string& file) const {
    std::vector<uint8_t> listed(nodes, 0);
    auto mark = [&](uint32_t node, const std::string& owner) {
        if (node >= nodes)
            throw FormatError(file + ": section SRCS: " + owner + " lists node " + std::to_string(node) +
                              ", past the " + std::to_string(nodes) + " nodes");
        if (listed[node])
            throw FormatError(file + ": section SRCS: node " + std::to_string(node) + " is listed twice (again by " +
                              owner + ")");
        listed[node] = 1;
    };
    for (const auto& [path, e] : files)
        for (uint32_t n : e.nodes) mark(n, path);
    for (const auto& [id, n] : records) mark(n, "record " + id);
    return listed;
}

void Manifest::remap(std::span<const uint32_t> old_to_new) {
    auto map = [&](uint32_t n) { return n < old_to_new.size() ? old_to_new[n] : kNoNode; };
    for (auto& [path, e] : files) {
        std::vector<uint32_t> kept;
        for (uint32_t n : e.nodes)
            if (map(n) != kNoNode) kept.push_back(map(n));
        e.nodes = std::move(kept);
    }
    for (auto it = records.begin(); it != records.end();) {
        if (map(it->second) == kNoNode) {
            it = records.erase(it);
        } else {
            it->second = map(it->second);
            ++it;
        }
    }
}

}  // namespace leann::index
