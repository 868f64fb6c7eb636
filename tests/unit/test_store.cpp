// store room: the index container (index_file.h) and the passage store (passage_store.h), including hand-crafted
// corrupt files for every header field. Offsets used here are the ones docs/format.md specifies.
#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/index_file.h"
#include "store/passage_store.h"

namespace leann::store {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

constexpr uint32_t kMeta = fourcc("META");
constexpr uint32_t kEmpty = fourcc("EMPT");
constexpr uint32_t kBig = fourcc("BIG1");
constexpr uint32_t kGraph = fourcc("GRPH");

class ScratchDir {
public:
    ScratchDir() {
        std::string templ = (fs::temp_directory_path() / "leann-store-XXXXXX").string();
        path_ = ::mkdtemp(templ.data());
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    fs::path operator/(const std::string& name) const { return path_ / name; }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

using Bytes = std::vector<std::byte>;

Bytes random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes out(n);
    for (auto& b : out) b = std::byte(rng() & 0xFF);
    return out;
}

Bytes as_bytes(std::string_view s) {
    auto span = std::as_bytes(std::span(s.data(), s.size()));
    return {span.begin(), span.end()};
}

Bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return as_bytes(s);
}

void write_file(const fs::path& path, std::span<const std::byte> bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

template <class T>
T get_le(const Bytes& b, size_t at) {
    T v;
    std::memcpy(&v, b.data() + at, sizeof(T));
    return v;
}

template <class T>
void set_le(Bytes& b, size_t at, T v) {
    std::memcpy(b.data() + at, &v, sizeof(T));
}

// Header fields (docs/format.md).
constexpr size_t kVersionAt = 8, kFlagsAt = 12, kCountAt = 16, kTableOffsetAt = 24, kTableSizeAt = 32, kFileSizeAt = 40,
                 kTableSumAt = 48, kHeaderSumAt = 56;

// After editing the table or header on purpose, make the checksums agree again so the edit itself is what the
// reader has to catch.
void refresh_checksums(Bytes& b) {
    uint64_t table_offset = get_le<uint64_t>(b, kTableOffsetAt), table_size = get_le<uint64_t>(b, kTableSizeAt);
    set_le<uint64_t>(b, kTableSumAt, XXH3_64bits(b.data() + table_offset, table_size));
    set_le<uint64_t>(b, kHeaderSumAt, XXH3_64bits(b.data(), 56));
}

size_t entry_at(const Bytes& b, size_t i) {
    return get_le<uint64_t>(b, kTableOffsetAt) + 32 * i;
}

// The message of the FormatError that f throws ("" and a test failure when it throws something else or nothing).
std::string format_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const FormatError& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected leann::FormatError, got: " << e.what();
        return {};
    }
    ADD_FAILURE() << "expected leann::FormatError, nothing thrown";
    return {};
}

#define EXPECT_HAS(message, part) EXPECT_NE((message).find(part), std::string::npos) << (message)

// A small file with three sections: META (text), GRPH (1000 u32), EMPT (empty).
void write_small(const fs::path& path) {
    IndexFileWriter w(path);
    w.add_section(kMeta, as_bytes(R"({"model":"tiny"})"));
    std::vector<uint32_t> graph(1000);
    for (uint32_t i = 0; i < graph.size(); ++i) graph[i] = i * 7;
    w.add_array<uint32_t>(kGraph, graph);
    w.add_section(kEmpty, {});
    w.commit();
}

TEST(IndexFile, TagName) {
    EXPECT_EQ(tag_name(fourcc("GRPH")), "GRPH");
    EXPECT_EQ(tag_name(0x01020304u), "0x01020304");
    EXPECT_EQ(fourcc("ABCD"), 0x44434241u);  // first character in the lowest byte: "ABCD" on disk
}

TEST(IndexFile, RoundTripSections) {
    ScratchDir dir;
    const fs::path path = dir / "a.leann";
    const Bytes meta = as_bytes("hello");
    const Bytes big = random_bytes(3'000'001, 1);   // streamed in uneven pieces, crosses the write buffer
    const Bytes big2 = random_bytes(1'500'000, 2);  // one append
    std::vector<uint64_t> ids = {1, 2, 3, 5, 8, 13};
    {
        IndexFileWriter w(path);
        w.add_section(kMeta, meta);
        w.add_section(kEmpty, {});
        w.begin_section(kBig);
        for (size_t at = 0; at < big.size();) {
            size_t n = std::min<size_t>(big.size() - at, 1 + at % 700'001);
            w.append(std::span(big).subspan(at, n));
            at += n;
        }
        w.end_section();
        w.add_section(fourcc("BIG2"), big2);
        w.add_array<uint64_t>(fourcc("IDS "), ids);
        w.commit();
    }
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1) << "temp file left";

    IndexFile f = IndexFile::open(path);
    EXPECT_EQ(f.format_version(), kFormatVersion);
    EXPECT_EQ(f.file_size(), fs::file_size(path));
    ASSERT_EQ(f.sections().size(), 5u);
    for (const auto& s : f.sections()) {
        EXPECT_EQ(s.offset % 64, 0u) << tag_name(s.tag);
        EXPECT_GE(s.offset, 64u);
        EXPECT_LE(s.offset + s.size, f.file_size());
    }
    auto same = [](std::span<const std::byte> a, const Bytes& b) {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
    };
    EXPECT_TRUE(same(f.section(kMeta), meta));
    EXPECT_TRUE(f.has(kEmpty));
    EXPECT_TRUE(f.section(kEmpty).empty());
    EXPECT_TRUE(same(f.section(kBig), big));
    EXPECT_TRUE(same(f.section(fourcc("BIG2")), big2));
    auto arr = f.array<uint64_t>(fourcc("IDS "), ids.size());
    EXPECT_TRUE(std::equal(arr.begin(), arr.end(), ids.begin(), ids.end()));
    EXPECT_NO_THROW(f.verify());

    EXPECT_FALSE(f.has(kGraph));
    std::string m = format_error([&] { f.section(kGraph); });
    EXPECT_HAS(m, path.string());
    EXPECT_HAS(m, "GRPH");
    m = format_error([&] { f.array<uint32_t>(kMeta); });  // 5 bytes
    EXPECT_HAS(m, "META");
    m = format_error([&] { f.array<uint64_t>(fourcc("IDS "), 7); });
    EXPECT_HAS(m, "IDS ");

    // Copies share the mapping: the bytes stay valid after the original is gone.
    auto copy = std::make_unique<IndexFile>(f);
    f = IndexFile{};
    EXPECT_TRUE(same(copy->section(kBig), big));
}

TEST(IndexFile, NoSections) {
    ScratchDir dir;
    IndexFileWriter w(dir / "empty.leann");
    w.commit();
    IndexFile f = IndexFile::open(dir / "empty.leann");
    EXPECT_TRUE(f.sections().empty());
    EXPECT_EQ(f.file_size(), 128u);
}

TEST(IndexFile, DuplicateTagIsASegment) {
    ScratchDir dir;
    {
        IndexFileWriter w(dir / "dup.leann");
        w.add_section(kMeta, as_bytes("a"));
        w.add_section(kMeta, as_bytes("bc"));
        w.commit();
    }
    IndexFile f = IndexFile::open(dir / "dup.leann");
    const auto segments = f.segments(kMeta);
    ASSERT_EQ(segments.size(), 2u);
    EXPECT_EQ(segments[0].size(), 1u);
    EXPECT_EQ(segments[1].size(), 2u);
    const std::string m = format_error([&] { f.section(kMeta); });
    EXPECT_HAS(m, "META");
    EXPECT_HAS(m, "more than once");
}

TEST(IndexFile, AppendedGenerationsKeepOldBytesAndCutTails) {
    ScratchDir dir;
    const fs::path path = dir / "gen.leann";
    {
        IndexFileWriter w(path);
        w.add_section(kMeta, as_bytes("first"));
        w.add_section(kGraph, as_bytes("graph"));
        w.commit();
    }
    const uint64_t first_size = fs::file_size(path);
    IndexFile before = IndexFile::open(path);  // a reader of generation 1 keeps it
    {
        IndexFileWriter w = IndexFileWriter::append_to(path);
        for (const auto& s : w.committed_sections())
            if (s.tag == kGraph) w.keep_section(s);
        w.add_section(kMeta, as_bytes("second"));
        w.commit();
        EXPECT_LT(w.bytes_written(), 512u);
    }
    IndexFile after = IndexFile::open(path);
    EXPECT_EQ(after.generation(), 2u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(after.section(kMeta).data()), 6), "second");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(before.section(kMeta).data()), 5), "first");
    EXPECT_EQ(before.generation(), 1u);
    EXPECT_GT(fs::file_size(path), first_size);
    // An abandoned append (an exception, a full disk) leaves generation 2 and no tail.
    {
        IndexFileWriter w = IndexFileWriter::append_to(path);
        w.add_section(kMeta, as_bytes(std::string(10000, 'x')));
    }
    EXPECT_EQ(IndexFile::open(path).generation(), 2u);
    EXPECT_EQ(fs::file_size(path), after.committed_size());
    // A killed writer's tail (bytes past the committed end) is ignored, then cut by the next writer.
    Bytes bytes = read_file(path);
    bytes.resize(bytes.size() + 4096, std::byte{0x5a});
    write_file(path, bytes);
    EXPECT_EQ(IndexFile::open(path).generation(), 2u);
    {
        IndexFileWriter w = IndexFileWriter::append_to(path);
        for (const auto& s : w.committed_sections()) w.keep_section(s);
        w.commit();
    }
    IndexFile third = IndexFile::open(path);
    EXPECT_EQ(third.generation(), 3u);
    EXPECT_EQ(fs::file_size(path), third.committed_size());
    // A torn newer slot (its checksum fails) falls back to the older generation.
    bytes = read_file(path);
    const size_t newer_slot = (get_le<uint32_t>(bytes, 20) == 3) ? 0 : 64;
    bytes[newer_slot + 30] ^= std::byte{1};
    write_file(path, bytes);
    EXPECT_EQ(IndexFile::open(path).generation(), 2u);
}

TEST(IndexFile, WriterErrorNamesThePath) {
    ScratchDir dir;
    const fs::path path = dir / "missing-dir" / "x.leann";
    try {
        IndexFileWriter w(path);
        FAIL() << "no exception";
    } catch (const Error& e) {
        EXPECT_HAS(std::string(e.what()), path.string());
        EXPECT_HAS(std::string(e.what()), std::strerror(ENOENT));
    }
}

TEST(IndexFile, AbortedWriteLeavesOldFileAndNoTemp) {
    ScratchDir dir;
    const fs::path path = dir / "idx.leann";
    write_small(path);
    const Bytes before = read_file(path);
    {
        IndexFileWriter w(path);
        w.add_section(kMeta, as_bytes("new contents that never land"));
        w.begin_section(kBig);
        w.append(random_bytes(100'000, 3));
        // destroyed without commit, mid-section, as when an exception unwinds a build
    }
    EXPECT_EQ(read_file(path), before);
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(dir.path())) left.push_back(e.path().filename().string());
    EXPECT_EQ(left, std::vector<std::string>{"idx.leann"});
    EXPECT_NO_THROW(IndexFile::open(path).verify());
}

TEST(IndexFile, CommitReplacesOldFile) {
    ScratchDir dir;
    const fs::path path = dir / "idx.leann";
    write_small(path);
    {
        IndexFileWriter w(path);
        EXPECT_TRUE(fs::exists(path.string() + ".tmp-" + std::to_string(::getpid())));
        w.add_section(kMeta, as_bytes("v2"));
        w.commit();
    }
    IndexFile f = IndexFile::open(path);
    EXPECT_EQ(f.sections().size(), 1u);
    EXPECT_EQ(f.section(kMeta).size(), 2u);
}

TEST(IndexFile, TruncatedAtEveryLength) {
    ScratchDir dir;
    const fs::path good = dir / "good.leann", cut = dir / "cut.leann";
    write_small(good);
    const Bytes bytes = read_file(good);
    for (size_t len = 0; len < bytes.size(); ++len) {
        write_file(cut, std::span(bytes).first(len));
        std::string m = format_error([&] { IndexFile::open(cut); });
        EXPECT_HAS(m, cut.string()) << " at length " << len;
        EXPECT_HAS(m, "truncated") << " at length " << len;
    }
}

TEST(IndexFile, ExtendedFile) {
    ScratchDir dir;
    const fs::path path = dir / "x.leann";
    write_small(path);
    Bytes bytes = read_file(path);
    bytes.push_back(std::byte{0});
    write_file(path, bytes);
    // Version 2: bytes past the committed end are an interrupted update's tail, ignored.
    IndexFile f = IndexFile::open(path);
    EXPECT_EQ(f.committed_size() + 1, f.file_size());
}

TEST(IndexFile, ForeignFiles) {
    ScratchDir dir;
    const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                 0,    0,   1,   0,   0,    0,    1,    0,    8, 6, 0, 0,  0,   0,   0,   0};
    Bytes png_bytes(reinterpret_cast<const std::byte*>(png), reinterpret_cast<const std::byte*>(png) + sizeof(png));
    png_bytes.resize(4096);
    write_file(dir / "image.png", png_bytes);
    write_file(dir / "notes.txt", as_bytes("just some text\nthat is long enough to fill a header and more\n"
                                           "......................................................\n"));
    write_file(dir / "short.txt", as_bytes("hi"));
    for (const char* name : {"image.png", "notes.txt", "short.txt"}) {
        std::string m = format_error([&] { IndexFile::open(dir / name); });
        EXPECT_HAS(m, (dir / name).string());
        EXPECT_HAS(m, "not a LEANN index file");
    }

    write_small(dir / "m.leann");
    Bytes bytes = read_file(dir / "m.leann");
    bytes[3] ^= std::byte{0x20};  // "LEAnNIDX"
    write_file(dir / "m.leann", bytes);
    EXPECT_HAS(format_error([&] { IndexFile::open(dir / "m.leann"); }), "not a LEANN index file");
}

TEST(IndexFile, MissingFileIsAnError) {
    ScratchDir dir;
    EXPECT_THROW(IndexFile::open(dir / "nope.leann"), Error);
}

TEST(IndexFile, VersionMismatch) {
    ScratchDir dir;
    const fs::path path = dir / "v.leann";
    write_small(path);
    const Bytes good = read_file(path);
    for (uint32_t version : {kFormatVersion + 1, 0u}) {
        Bytes bytes = good;
        set_le<uint32_t>(bytes, kVersionAt, version);
        refresh_checksums(bytes);
        write_file(path, bytes);
        std::string m = format_error([&] { IndexFile::open(path); });
        EXPECT_HAS(m, path.string());
        EXPECT_HAS(m, "format version " + std::to_string(version));
        EXPECT_HAS(m, "version " + std::to_string(kFormatVersion));
        EXPECT_HAS(m, version > kFormatVersion ? "newer" : "older");
    }
}

// Each edit of a header or table field, with checksums made consistent again, and what the error must mention.
struct Mutation {
    const char* name;
    std::function<void(Bytes&)> edit;
    bool refresh;
    std::vector<std::string> expect;
};

TEST(IndexFile, CorruptHeaderAndTable) {
    ScratchDir dir;
    const fs::path path = dir / "c.leann";
    write_small(path);
    const Bytes good = read_file(path);
    // write_small's order: META (entry 0), GRPH (entry 1), EMPT (entry 2).
    const std::vector<Mutation> mutations = {
        {"reserved header byte", [](Bytes& b) { b[20] ^= std::byte{1}; }, false, {"header checksum"}},
        {"header checksum", [](Bytes& b) { b[kHeaderSumAt] ^= std::byte{1}; }, false, {"header checksum"}},
        {"flags", [](Bytes& b) { set_le<uint32_t>(b, kFlagsAt, 4); }, true, {"flags"}},
        {"declared file size", [](Bytes& b) { set_le<uint64_t>(b, kFileSizeAt, b.size() + 64); }, true, {"truncated"}},
        {"table byte", [](Bytes& b) { b[entry_at(b, 1) + 9] ^= std::byte{4}; }, false, {"section table checksum"}},
        {"table checksum", [](Bytes& b) { b[kTableSumAt] ^= std::byte{1}; }, false, {"header checksum"}},
        {"table checksum, header fixed",
         [](Bytes& b) {
             b[kTableSumAt] ^= std::byte{1};
             set_le<uint64_t>(b, kHeaderSumAt, XXH3_64bits(b.data(), 56));
         },
         false,
         {"section table checksum"}},
        {"no edit", [](Bytes&) {}, true, {}},
        {"section count", [](Bytes& b) { set_le<uint32_t>(b, kCountAt, 2); }, true, {"section table size"}},
        {"table offset past end",
         [](Bytes& b) { set_le<uint64_t>(b, kTableOffsetAt, b.size() + 64); },
         true,
         {"section table"}},
        {"table offset misaligned",
         [](Bytes& b) { set_le<uint64_t>(b, kTableOffsetAt, get_le<uint64_t>(b, kTableOffsetAt) - 32); },
         true,
         {"misaligned"}},
        {"section offset out of range",
         [](Bytes& b) { set_le<uint64_t>(b, entry_at(b, 1) + 8, uint64_t{1} << 40); },
         true,
         {"GRPH", "outside"}},
        {"section offset misaligned",
         [](Bytes& b) { set_le<uint64_t>(b, entry_at(b, 1) + 8, 65); },
         true,
         {"GRPH", "aligned"}},
        {"section offset inside header",
         [](Bytes& b) { set_le<uint64_t>(b, entry_at(b, 0) + 8, 0); },
         true,
         {"META", "outside"}},
        {"section size past end",
         [](Bytes& b) { set_le<uint64_t>(b, entry_at(b, 1) + 16, b.size()); },
         true,
         {"GRPH", "outside"}},
        {"section size huge",
         [](Bytes& b) { set_le<uint64_t>(b, entry_at(b, 1) + 16, ~uint64_t{0} - 8); },
         true,
         {"GRPH", "outside"}},
        {"sections overlap",
         [](Bytes& b) { set_le<uint64_t>(b, entry_at(b, 2) + 8, get_le<uint64_t>(b, entry_at(b, 1) + 8) + 64); },
         true,
         {"EMPT", "overlaps section GRPH"}},
        // Version 2 allows a tag twice (a segmented section); section() refuses it (DuplicateTagIsASegment).
        {"duplicate tag", [](Bytes& b) { set_le<uint32_t>(b, entry_at(b, 2), fourcc("GRPH")); }, true, {}},
        {"section checksum in table",
         [](Bytes& b) { b[entry_at(b, 1) + 24] ^= std::byte{1}; },
         true,
         {"GRPH", "checksum mismatch"}},
    };
    for (const auto& mutation : mutations) {
        Bytes bytes = good;
        mutation.edit(bytes);
        if (mutation.refresh) refresh_checksums(bytes);
        write_file(path, bytes);
        if (mutation.expect.empty()) {
            EXPECT_NO_THROW(IndexFile::open(path)) << mutation.name;
            continue;
        }
        std::string m = format_error([&] { IndexFile::open(path); });
        EXPECT_HAS(m, path.string()) << mutation.name;
        for (const auto& part : mutation.expect) EXPECT_HAS(m, part) << mutation.name;
    }
}

TEST(IndexFile, FlippedSectionByteEagerAndLazy) {
    ScratchDir dir;
    const fs::path path = dir / "f.leann";
    write_small(path);
    IndexFile clean = IndexFile::open(path);
    const uint64_t graph_at = clean.sections()[1].offset;
    ASSERT_EQ(clean.sections()[1].tag, kGraph);
    clean = IndexFile{};

    Bytes bytes = read_file(path);
    bytes[graph_at + 1234] ^= std::byte{0x10};
    write_file(path, bytes);

    std::string m = format_error([&] { IndexFile::open(path); });
    EXPECT_HAS(m, path.string() + ": section GRPH: checksum mismatch");

    const uint32_t lazy[] = {kGraph};
    IndexFile f = IndexFile::open(path, lazy);  // not checked yet
    EXPECT_EQ(f.section(kGraph).size(), 4000u);
    m = format_error([&] { f.verify(); });
    EXPECT_HAS(m, path.string() + ": section GRPH: checksum mismatch");
}

// ---------------------------------------------------------------------------------------------------------------
// Passage store

std::string random_text(std::mt19937& rng, size_t n) {
    static const std::string alphabet = "abcdefghijklmnopqrstuvwxyz      .,\n";
    std::string s(n, ' ');
    for (auto& c : s) c = alphabet[rng() % alphabet.size()];
    return s;
}

void write_store(const fs::path& path, const std::vector<Passage>& passages, size_t block_bytes = 16384) {
    PassageStoreWriter pw(block_bytes);
    for (size_t i = 0; i < passages.size(); ++i)
        EXPECT_EQ(pw.add(passages[i].id, passages[i].text, passages[i].metadata), i);
    EXPECT_EQ(pw.size(), passages.size());
    IndexFileWriter w(path);
    w.add_section(kMeta, as_bytes("{}"));
    pw.write(w);
    w.commit();
}

void expect_same(const Passage& a, const Passage& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.text, b.text);
    EXPECT_EQ(a.metadata, b.metadata);
}

std::vector<Passage> edge_case_passages() {
    std::mt19937 rng(7);
    std::string binary = "nul\0inside"s;
    return {
        {"doc-1", "The quick brown fox.", R"({"source":"a.txt"})"},
        {"", "empty id", "{}"},
        {"doc-3", "", "{}"},
        {"unicode", "naïve café — 日本語のテキスト 🙂 Ω≈ç√", R"({"lang":"mixed","emoji":"🙂"})"},
        {"big", random_text(rng, 100'000), "{}"},  // bigger than a block
        {"doc-6", binary, ""},
        {"last", "the end", "{}"},
    };
}

TEST(PassageStore, RoundTripEdgeCases) {
    ScratchDir dir;
    const fs::path path = dir / "p.leann";
    const auto passages = edge_case_passages();
    write_store(path, passages);

    IndexFile f = IndexFile::open(path);
    PassageStore store(f, passages.size());
    EXPECT_EQ(store.size(), passages.size());
    for (uint32_t i = 0; i < passages.size(); ++i) {
        expect_same(store.get(i), passages[i]);
        EXPECT_EQ(store.text(i), passages[i].text);
    }
    std::vector<uint32_t> nodes = {6, 0, 4, 4, 2, 0};
    auto many = store.get_many(nodes);
    ASSERT_EQ(many.size(), nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) expect_same(many[i], passages[nodes[i]]);
    EXPECT_TRUE(store.get_many({}).empty());
    EXPECT_NO_THROW(store.verify());
}

TEST(PassageStore, TenThousandRecordsRandomAccess) {
    ScratchDir dir;
    const fs::path path = dir / "p.leann";
    std::mt19937 rng(11);
    std::vector<Passage> passages(10'000);
    uint64_t raw_text = 0;
    for (size_t i = 0; i < passages.size(); ++i) {
        passages[i] = {"id-" + std::to_string(i), random_text(rng, 20 + rng() % 600),
                       R"({"n":)" + std::to_string(i) + "}"};
        raw_text += passages[i].text.size();
    }
    PassageStoreWriter pw(4096);
    for (const auto& p : passages) pw.add(p.id, p.text, p.metadata);
    EXPECT_EQ(pw.raw_text_bytes(), raw_text);
    {
        IndexFileWriter w(path);
        pw.write(w);
        w.commit();
    }
    EXPECT_GT(pw.block_count(), 100u);
    EXPECT_LT(pw.compressed_bytes(), raw_text);

    const uint32_t lazy[] = {kPassageData};
    IndexFile f = IndexFile::open(path, lazy);
    PassageStore store(f, passages.size());
    EXPECT_EQ(store.block_count(), pw.block_count());
    EXPECT_EQ(store.compressed_bytes(), pw.compressed_bytes());
    for (int i = 0; i < 2000; ++i) {
        uint32_t node = rng() % passages.size();
        expect_same(store.get(node), passages[node]);
    }
    std::vector<uint32_t> nodes(500);
    for (auto& n : nodes) n = rng() % passages.size();
    auto many = store.get_many(nodes);
    ASSERT_EQ(many.size(), nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
        expect_same(many[i], passages[nodes[i]]);
        expect_same(many[i], store.get(nodes[i]));
    }
    EXPECT_NO_THROW(store.verify());

    // Concurrent readers (each thread has its own decompression context).
    std::vector<std::thread> threads;
    std::vector<int> mismatches(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            std::mt19937 r(100 + t);
            for (int i = 0; i < 500; ++i) {
                uint32_t node = r() % passages.size();
                if (store.text(node) != passages[node].text) ++mismatches[t];
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(PassageStore, Empty) {
    ScratchDir dir;
    write_store(dir / "e.leann", {});
    IndexFile f = IndexFile::open(dir / "e.leann");
    PassageStore store(f, 0);
    EXPECT_EQ(store.size(), 0u);
    EXPECT_NO_THROW(store.verify());
    EXPECT_THROW(store.get(0), Error);
}

TEST(PassageStore, NodeOutOfRangeIsAnErrorNotAFormatError) {
    ScratchDir dir;
    write_store(dir / "p.leann", edge_case_passages());
    IndexFile f = IndexFile::open(dir / "p.leann");
    PassageStore store(f, 7);
    for (uint32_t node : {7u, 1000u, ~0u}) {
        try {
            store.get(node);
            ADD_FAILURE() << "no exception for node " << node;
        } catch (const FormatError& e) {
            ADD_FAILURE() << "a bad argument is not a corrupt file: " << e.what();
        } catch (const Error& e) {
            EXPECT_HAS(std::string(e.what()), std::to_string(node));
        }
    }
    const uint32_t nodes[] = {1, 7};
    EXPECT_THROW(store.get_many(nodes), Error);
}

TEST(PassageStore, WriterRejectsOversizedPassage) {
    PassageStoreWriter pw;
    pw.add("a", "small", "{}");
    EXPECT_THROW(pw.add("b", std::string(kMaxBlockBytes, 'x'), "{}"), Error);
    EXPECT_EQ(pw.size(), 1u);  // the refused passage took no node id
}

TEST(PassageStore, WriterRejectsBadLevel) {
    EXPECT_THROW(PassageStoreWriter(16384, 1000), Error);
}

TEST(PassageStore, CorruptDataByte) {
    ScratchDir dir;
    const fs::path path = dir / "p.leann";
    write_store(path, edge_case_passages());
    uint64_t data_at = 0;
    {
        IndexFile f = IndexFile::open(path);
        for (const auto& s : f.sections())
            if (s.tag == kPassageData) data_at = s.offset;
    }
    Bytes bytes = read_file(path);
    bytes[data_at + 20] ^= std::byte{0x01};
    write_file(path, bytes);

    // Eager: the container's checksum catches it.
    EXPECT_HAS(format_error([&] { IndexFile::open(path); }), "section PSGD: checksum mismatch");
    // Lazy: the store's own zstd checksum catches it, naming the block.
    const uint32_t lazy[] = {kPassageData};
    IndexFile f = IndexFile::open(path, lazy);
    PassageStore store(f, 7);
    std::string m = format_error([&] { store.get(0); });
    EXPECT_HAS(m, path.string() + ": section PSGD: block 0");
    m = format_error([&] { store.verify(); });
    EXPECT_HAS(m, path.string() + ": section PSGD: block 0");
    const uint32_t nodes[] = {0};
    EXPECT_HAS(format_error([&] { store.get_many(nodes); }), "PSGD");
}

// Rewrites the file with the same PSGD and an edited PSGI (checksums valid), so the store's checks are what fires.
struct Store {
    Bytes data;
    Bytes index;
};

Store store_sections(const fs::path& path) {
    IndexFile f = IndexFile::open(path);
    auto d = f.section(kPassageData), i = f.section(kPassageIndex);
    return {{d.begin(), d.end()}, {i.begin(), i.end()}};
}

void write_sections(const fs::path& path, const Bytes& data, const Bytes& index) {
    IndexFileWriter w(path);
    w.add_section(kPassageData, data);
    w.add_section(kPassageIndex, index);
    w.commit();
}

TEST(PassageStore, CorruptBlockTable) {
    ScratchDir dir;
    const fs::path path = dir / "p.leann";
    std::mt19937 rng(3);
    std::vector<Passage> passages(200);
    for (auto& p : passages) p = {"x", random_text(rng, 300), "{}"};
    write_store(path, passages, 2048);
    const Store good = store_sections(path);
    ASSERT_GE(good.index.size() / 16, 4u);

    // Entry b: offset u64 at 16b, size u32 at 16b+8, first_node u32 at 16b+12.
    struct Case {
        const char* name;
        std::function<void(Store&)> edit;
        size_t count;
    };
    const size_t n = passages.size();
    const std::vector<Case> cases = {
        {"size not a multiple of 16", [](Store& s) { s.index.erase(s.index.end() - 3, s.index.end()); }, n},
        {"first block does not start at node 0", [](Store& s) { set_le<uint32_t>(s.index, 12, 1); }, n},
        {"first nodes not increasing",
         [](Store& s) { set_le<uint32_t>(s.index, 32 + 12, get_le<uint32_t>(s.index, 16 + 12)); }, n},
        {"last block past the expected count", [](Store&) {}, 10},
        {"blocks but no passages", [](Store&) {}, 0},
        {"gap between blocks", [](Store& s) { set_le<uint64_t>(s.index, 16, get_le<uint64_t>(s.index, 16) + 1); }, n},
        {"offset past PSGD", [](Store& s) { set_le<uint64_t>(s.index, 16, uint64_t{1} << 50); }, n},
        {"size past PSGD",
         [](Store& s) {
             set_le<uint32_t>(s.index, s.index.size() - 8, get_le<uint32_t>(s.index, s.index.size() - 8) + 1);
         },
         n},
        {"PSGD longer than the blocks", [](Store& s) { s.data.push_back(std::byte{0}); }, n},
        {"no blocks", [](Store& s) { s.index.clear(); }, n},
    };
    for (const auto& c : cases) {
        Store s = good;
        c.edit(s);
        write_sections(path, s.data, s.index);
        IndexFile f = IndexFile::open(path);
        std::string m = format_error([&] { PassageStore store(f, c.count); });
        EXPECT_HAS(m, path.string() + ": section PSGI") << c.name;
    }
}

// A PSGD frame that decompresses fine (valid zstd checksum) but whose block layout is wrong.
Bytes frame_of(const std::string& raw, bool checksum = true) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
    Bytes out(ZSTD_compressBound(raw.size()));
    size_t n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
    ZSTD_freeCCtx(cctx);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

std::string u32s(std::initializer_list<uint32_t> values) {
    std::string s;
    for (uint32_t v : values) s.append(reinterpret_cast<const char*>(&v), 4);
    return s;
}

TEST(PassageStore, CorruptBlockContents) {
    ScratchDir dir;
    const fs::path path = dir / "b.leann";
    // One record "a","b","c" is 15 bytes: a valid block is count 1, end 15, record.
    const std::string record = u32s({1}) + "a" + u32s({1}) + "b" + u32s({1}) + "c";
    struct Case {
        const char* name;
        Bytes frame;
    };
    const std::vector<Case> cases = {
        {"count differs from the table", frame_of(u32s({2, 15, 15}) + record)},
        {"offsets past the block", frame_of(u32s({1, 16}) + record)},
        {"short block", frame_of("ab")},
        {"field longer than record", frame_of(u32s({1, 15}) + u32s({99}) + record.substr(4))},
        {"trailing bytes in record", frame_of(u32s({1, 16}) + record + "z")},
        {"no content checksum", frame_of(u32s({1, 15}) + record, false)},
        {"two frames",
         [&] {
             Bytes a = frame_of(u32s({1, 15}) + record);
             Bytes b = a;
             a.insert(a.end(), b.begin(), b.end());
             return a;
         }()},
    };
    {
        // The valid form reads back, so the cases above fail for the reason they name.
        Bytes index(16);
        Bytes frame = frame_of(u32s({1, 15}) + record);
        set_le<uint32_t>(index, 8, static_cast<uint32_t>(frame.size()));
        write_sections(path, frame, index);
        IndexFile f = IndexFile::open(path);
        expect_same(PassageStore(f, 1).get(0), Passage{"a", "b", "c"});
    }
    for (const auto& c : cases) {
        Bytes index(16);
        set_le<uint32_t>(index, 8, static_cast<uint32_t>(c.frame.size()));
        write_sections(path, c.frame, index);
        IndexFile f = IndexFile::open(path);
        PassageStore store(f, 1);
        std::string m = format_error([&] { store.get(0); });
        EXPECT_HAS(m, path.string() + ": section PSGD: block 0") << c.name;
        EXPECT_HAS(format_error([&] { store.verify(); }), "PSGD") << c.name;
    }
}

TEST(IndexFile, StaleTemporariesOfDeadWritersAreRemoved) {
    ScratchDir dir;
    const auto path = dir.path() / "index.leann";
    const auto stale = dir.path() / "index.leann.tmp-999999999";  // no such process
    const auto other = dir.path() / "notes.txt.tmp-999999999";    // not ours
    std::ofstream(stale) << "half an index";
    std::ofstream(other) << "x";
    IndexFileWriter writer(path);
    writer.add_section(fourcc("TEST"), std::as_bytes(std::span<const char>("abc", 3)));
    writer.commit();
    EXPECT_FALSE(std::filesystem::exists(stale));
    EXPECT_TRUE(std::filesystem::exists(other));
    EXPECT_TRUE(std::filesystem::exists(path));
}


}  // namespace
}  // namespace leann::store
