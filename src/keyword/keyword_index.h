// keyword room: the BM25 keyword index stored in an index file (section KWIX, docs/format.md "Keyword index").
//
// The index is segmented like the passages: each segment covers a contiguous range of node ids (a build writes
// one for every node; an update appends one for the nodes it adds; compaction writes one again). A segment is
// one zstd frame holding the node lengths, a front-coded sorted term dictionary, the document frequencies, the
// postings' node gaps and their term frequencies, each a stream of varints. Deleted nodes stay in their segment and are
// skipped when scoring by the index's tombstones, so a deletion writes nothing here.
//
// Rare terms (df <= kRareDf in their segment; about half of a dictionary, and most of its bytes where chunks are
// short records) are stored more cheaply (segment version 3): not by name but by a short hash, and not by node
// but by *bucket*, a run of 2^shift consecutive nodes holding about kBucketTerms terms. A query term whose hash
// matches is resolved by reading that bucket's passages and tokenizing them (a passage reader given at load), which
// also drops hash collisions: scores are exactly those of a full posting list. Bench figures: bench/README.md,
// "Keyword search".
//
// Scoring is Okapi BM25 (k1 = 1.2, b = 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5))) over the live nodes: N,
// the average length and every df count live nodes only, so the scores are those of a fresh index of the live
// chunks. A loaded KeywordIndex is read-only and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "keyword/keyword_tokenizer.h"
#include "store/index_file.h"

namespace leann::store {
class PassageStore;
}

namespace leann::keyword {

constexpr uint32_t kKeywordSection = store::fourcc("KWIX");
/// Version 3: rare terms by hash and bucket. Version 2 (still read): every term by name and node; prose chunks'
/// plain words are stemmed terms (keyword_tokenizer.h). Version 1 (still read) has only exact terms. Queries look
/// up both forms, so segments of all versions mix in one index.
constexpr uint32_t kSegmentVersion = 3;
constexpr uint32_t kOldestSegmentVersion = 1;
constexpr uint64_t kMaxSegmentBytes = uint64_t{1} << 32;  // decompressed; a bound on what a corrupt header asks for
constexpr double kBm25K1 = 1.2;
constexpr double kBm25B = 0.75;
/// Terms in at most this many of a segment's nodes are rare (by hash and bucket). Chosen by measurement
/// (bench/README.md, "Keyword search"): 16 with 256-term buckets brings the real indexes under 25% of their
/// compressed passages at a p95 scoring time under 3 ms (8: 0.9-1.9 points more bytes; 32: p95 1.5-4.3 ms).
constexpr uint32_t kRareDf = 16;
/// A bucket holds about this many terms: the builder picks 2^shift nodes from the segment's average length.
constexpr double kBucketTerms = 256;
/// A node with more terms than this is long: all its terms are stored by name, and resolving a bucket skips it, so
/// a rare query term never makes a reader tokenize a huge record.
constexpr uint32_t kLongNodeTerms = 4096;
/// A query resolving more bucket ranges than this is refused (a writer gives each rare term at most kRareDf; only a
/// corrupt entry or an absurd query gets near it), which bounds what one query can make the reader do.
constexpr size_t kMaxBucketReads = size_t{1} << 20;
/// Hash bits beyond log2(rare terms): about 1 in 64 lookups of an absent term reads a bucket for nothing.
constexpr uint32_t kHashExtraBits = 6;

/// Hands `each` the text and metadata of every node in `nodes` (ascending, live or deleted): how the keyword index
/// resolves rare terms. Called from score(), possibly from several threads at once.
using PassageReader = std::function<void(std::span<const uint32_t> nodes,
                                         const std::function<void(uint32_t node, std::string_view text,
                                                                  std::string_view metadata)>& each)>;

/// A PassageReader over an index's passage store (which must outlive it): batches of nodes, each block read once.
PassageReader passage_reader(const store::PassageStore& passages);

/// The hash a rare term is stored under (XXH3-64 of its bytes), before it is cut to a segment's bits.
uint64_t term_hash(std::string_view term);

/// How a chunk is tokenized, from its metadata (a JSON object as text): exact for code (`"type": "code"`, which
/// ingest writes for source files and a record may carry), prose stemming for everything else.
TermStyle term_style(std::string_view metadata_json);

/// Collects the postings of a range of nodes and encodes one segment. Nodes are added in ascending order.
class SegmentBuilder {
public:
    explicit SegmentBuilder(uint32_t first_node) : first_node_(first_node) {}
    /// Node first_node + count(): its terms from index_terms(text, style). An empty text (a deleted node) matches
    /// nothing.
    void add_text(std::string_view text, TermStyle style);
    /// The same, the style chosen from the chunk's metadata (term_style).
    void add_passage(std::string_view text, std::string_view metadata_json) { add_text(text, term_style(metadata_json)); }
    /// Node first_node + count() with a known length; add its postings with add_posting.
    void add_node(uint32_t length);
    void add_posting(const std::string& term, uint32_t node, uint32_t tf);
    uint32_t count() const { return uint32_t(lengths_.size()); }
    /// The segment (a zstd frame), docs/format.md.
    /// Level 19: postings are near-incompressible varints, but the level gains 2-4% over 9 (bench/README.md,
    /// "Keyword search") for about 5 s per 100K chunks, paid by builds, compactions and segment joins.
    /// `rare_df` and `bucket_terms` (rare terms, format.md) are for benchmarks; readers take any.
    std::vector<std::byte> encode(int zstd_level = kZstdLevel, uint32_t rare_df = kRareDf,
                                  double bucket_terms = kBucketTerms) const;
    static constexpr int kZstdLevel = 19;

private:
    uint32_t first_node_;
    std::vector<uint32_t> lengths_;
    std::vector<std::string> term_names_;
    std::vector<std::vector<uint32_t>> postings_;  // per term id: node - first_node, tf, node, tf, ...
    std::unordered_map<std::string, uint32_t> term_ids_;
};

struct KeywordStats {
    size_t terms = 0;     // query terms found in the index
    size_t postings = 0;  // postings decoded
    size_t matches = 0;   // live nodes that match at least one term
    size_t passages_read = 0;  // passages tokenized to resolve rare terms
};

class KeywordIndex {
public:
    /// Decodes the segments (checking their layout; postings are checked as they are read) for an index of `nodes`
    /// nodes with tombstone bitmap `deleted`. FormatError naming `file` and KWIX when inconsistent. `passages`
    /// resolves rare terms; without one, a query that needs it is an Error.
    static KeywordIndex load(const std::vector<std::span<const std::byte>>& segments, uint32_t nodes,
                             std::span<const uint8_t> deleted, const std::string& file, PassageReader passages = {});

    /// BM25 score of every node for `terms` (0 where none matches, and for deleted nodes), and the matching live
    /// nodes, ascending. With `required` (groups of alternative terms, e.g. a phrase word's exact and stemmed
    /// terms), only nodes holding a term of every group count as matches; groups past the 64th are not checked
    /// (a pre-filter: the caller verifies phrases on the text).
    struct Scores {
        std::vector<float> score;        // by node
        std::vector<uint32_t> matches;   // ascending
    };
    Scores score(std::span<const std::string> terms, std::span<const std::vector<std::string>> required = {},
                 KeywordStats* stats = nullptr) const;

    /// Decodes every posting (leann verify): FormatError when one is out of range, when a rare entry names a bucket
    /// with no passage holding a term of that hash, or when a live passage holds a term that is neither in the
    /// dictionary nor in its hash's entry with its bucket (every passage of such segments is read and tokenized).
    void verify() const;

    uint32_t nodes() const { return nodes_; }
    size_t live_nodes() const { return live_; }
    double average_length() const { return average_length_; }

private:
    struct Segment;
    struct Posting {
        uint32_t node, tf;
    };
    void postings_of(const Segment& s, size_t term, std::vector<Posting>& out) const;
    [[noreturn]] void fail(const std::string& what) const;
    bool is_deleted(uint32_t node) const { return (node >> 3) < deleted_.size() && (deleted_[node >> 3] >> (node & 7)) & 1; }
    void read_passages(std::span<const uint32_t> nodes,
                       const std::function<void(uint32_t, std::string_view, std::string_view)>& each) const;

    std::string file_;
    uint32_t nodes_ = 0;
    std::span<const uint8_t> deleted_;
    PassageReader passages_;
    std::vector<uint32_t> lengths_;  // by node
    std::vector<std::shared_ptr<const Segment>> segments_;
    size_t live_ = 0;
    double average_length_ = 0;
};

/// The node range a segment covers (first node, node count), from its header alone: FormatError naming `file` and
/// KWIX when the frame or header is bad.
std::pair<uint32_t, uint32_t> segment_nodes(std::span<const std::byte> segment, const std::string& file);

}  // namespace leann::keyword
