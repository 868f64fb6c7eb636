#include "store/index_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include <xxhash.h>

#include "util/check.h"
#include "util/fault_guard.h"

// Every multi-byte field is written and read as little-endian by copying host integers; big-endian hosts would need
// byte swapping everywhere and are not supported yet.
static_assert(std::endian::native == std::endian::little,
              "the index format is little-endian; big-endian hosts are not supported yet");

namespace leann::store {
namespace {

constexpr char kMagic[8] = {'L', 'E', 'A', 'N', 'N', 'I', 'D', 'X'};
constexpr uint64_t kHeaderBytes = 64;       // one header slot
constexpr uint64_t kHeaderAreaBytes = 128;  // version 2: two slots before the first section
constexpr uint64_t kEntryBytes = 32;
constexpr uint64_t kAlign = 64;
constexpr uint32_t kKnownFlags = 0;  // version 1 defines no flags
constexpr size_t kWriteBufferBytes = 1 << 20;

// Header field offsets (docs/format.md, "Header").
constexpr size_t kOffVersion = 8, kOffFlags = 12, kOffCount = 16, kOffGeneration = 20, kOffTableOffset = 24,
                 kOffTableSize = 32,
                 kOffFileSize = 40, kOffTableChecksum = 48, kOffHeaderChecksum = 56;

template <class T>
T load(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

template <class T>
void store_le(std::byte* p, T v) {
    std::memcpy(p, &v, sizeof(T));
}

uint64_t align_up(uint64_t x) {
    return (x + kAlign - 1) / kAlign * kAlign;
}

uint64_t xxh3(std::span<const std::byte> bytes) {
    return XXH3_64bits(bytes.data(), bytes.size());
}

std::string errno_text(int err) {
    return std::strerror(err);
}

}  // namespace

std::string tag_name(uint32_t tag) {
    std::string name;
    for (int i = 0; i < 4; ++i) {
        auto c = static_cast<unsigned char>(tag >> (8 * i));
        if (c < 0x20 || c > 0x7e) {
            char hex[16];
            std::snprintf(hex, sizeof(hex), "0x%08x", tag);
            return hex;
        }
        name += static_cast<char>(c);
    }
    return name;
}

// ---------------------------------------------------------------------------------------------------------------
// Writer

struct IndexFileWriter::Impl {
    std::filesystem::path path;
    std::filesystem::path tmp_path;  // new file: where it is written; append: empty
    bool append = false;
    int fd = -1;
    bool committed = false;
    uint64_t start = 0;  // append: the committed end this writer started from
    uint64_t pos = 0;    // bytes written or buffered so far (file offset)
    uint64_t written = 0;
    uint32_t generation = 1;
    int slot = 0;        // header slot this writer fills
    std::vector<std::byte> buffer;
    std::vector<SectionInfo> committed_sections;  // append: the previous generation's table
    std::vector<SectionInfo> sections;
    bool in_section = false;
    std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> hash{XXH3_createState(), &XXH3_freeState};

    const std::filesystem::path& target() const { return append ? path : tmp_path; }
    [[noreturn]] void fail(const std::string& what, int err) const {
        std::string message = target().string() + ": " + what + ": " + errno_text(err);
        if (err == ENOSPC || err == EDQUOT || err == EFBIG)
            message += append ? " (the index is unchanged: its previous generation is intact)"
                              : " (nothing was replaced: an older index there is intact)";
        throw Error(message);
    }

    void write_all(const std::byte* p, size_t n) {
        while (n > 0) {
            ssize_t w = ::write(fd, p, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                fail("cannot write", errno);
            }
            p += w;
            n -= static_cast<size_t>(w);
            written += static_cast<uint64_t>(w);
        }
    }

    void flush() {
        write_all(buffer.data(), buffer.size());
        buffer.clear();
    }

    void put(const std::byte* p, size_t n) {
        if (buffer.size() + n > kWriteBufferBytes) {
            flush();
            if (n >= kWriteBufferBytes) {  // large appends skip the buffer
                write_all(p, n);
                pos += n;
                return;
            }
        }
        buffer.insert(buffer.end(), p, p + n);
        pos += n;
    }

    void pad_to_alignment() {
        static constexpr std::byte zeros[kAlign] = {};
        put(zeros, align_up(pos) - pos);
    }

    void sync(const char* what) {
        if (::fdatasync(fd) != 0) fail(what, errno);
    }
};

namespace {

/// Removes "<path>.tmp-<pid>" files left by writers that were killed (their process is gone), so interrupted
/// builds do not pile up next to the index.
void remove_stale_temporaries(const std::filesystem::path& path) {
    std::error_code ec;
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    const std::string prefix = path.filename().string() + ".tmp-";
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        const std::string pid = name.substr(prefix.size());
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
        if (std::filesystem::exists("/proc/" + pid, ec)) continue;  // a live writer (or a reused pid): leave it
        std::filesystem::remove(entry.path(), ec);
    }
}

/// One header slot (docs/format.md, "Header"): 64 bytes describing a generation's table.
void encode_slot(std::byte* header, uint32_t generation, std::span<const std::byte> table, uint64_t table_offset,
                 uint64_t end, size_t sections) {
    std::memset(header, 0, kHeaderBytes);
    std::memcpy(header, kMagic, sizeof(kMagic));
    store_le<uint32_t>(header + kOffVersion, kFormatVersion);
    store_le<uint32_t>(header + kOffFlags, 0);
    store_le<uint32_t>(header + kOffCount, static_cast<uint32_t>(sections));
    store_le<uint32_t>(header + kOffGeneration, generation);
    store_le<uint64_t>(header + kOffTableOffset, table_offset);
    store_le<uint64_t>(header + kOffTableSize, table.size());
    store_le<uint64_t>(header + kOffFileSize, end);
    store_le<uint64_t>(header + kOffTableChecksum, xxh3(table));
    store_le<uint64_t>(header + kOffHeaderChecksum, xxh3({header, kOffHeaderChecksum}));
}

}  // namespace

IndexFileWriter::IndexFileWriter(std::filesystem::path path) : impl_(std::make_unique<Impl>()) {
    remove_stale_temporaries(path);
    impl_->path = std::move(path);
    impl_->tmp_path = impl_->path;
    impl_->tmp_path += ".tmp-" + std::to_string(::getpid());
    LEANN_CHECK(impl_->hash != nullptr, "XXH3_createState failed");
    // User-only by default: an index holds the text of its sources, which may be private. A file that replaces an
    // index keeps that index's permissions (a user who opened it up keeps it open).
    impl_->fd = ::open(impl_->tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (impl_->fd < 0) impl_->fail("cannot create", errno);
    if (struct stat old {}; ::stat(impl_->path.c_str(), &old) == 0 && S_ISREG(old.st_mode))
        [[maybe_unused]] int ignored = ::fchmod(impl_->fd, old.st_mode & 0777);
    // The header slots are written last; reserve their place (zeros) so the first section lands at offset 128.
    std::byte header[kHeaderAreaBytes] = {};
    impl_->put(header, kHeaderAreaBytes);
}

IndexFileWriter IndexFileWriter::append_to(const std::filesystem::path& path) {
    const IndexFile current = IndexFile::open(path, {}, /*check_sections=*/false);
    if (current.format_version() < 2)
        throw FormatError(path.string() + ": format version " + std::to_string(current.format_version()) +
                          " cannot take generations in place (rewrite it)");
    IndexFileWriter w;
    w.impl_ = std::make_unique<Impl>();
    Impl& x = *w.impl_;
    LEANN_CHECK(x.hash != nullptr, "XXH3_createState failed");
    x.path = path;
    x.append = true;
    x.committed_sections = current.sections();
    x.generation = current.generation() + 1;
    x.slot = current.slot_ == 0 ? 1 : 0;
    x.start = x.pos = current.committed_size();
    x.fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (x.fd < 0) x.fail("cannot open for writing", errno);
    // Bytes past the committed end belong to no generation (an interrupted writer's): drop them.
    if (::ftruncate(x.fd, static_cast<off_t>(x.start)) != 0) x.fail("cannot truncate", errno);
    if (::lseek(x.fd, static_cast<off_t>(x.start), SEEK_SET) < 0) x.fail("cannot seek", errno);
    return w;
}

IndexFileWriter::IndexFileWriter(IndexFileWriter&&) noexcept = default;

IndexFileWriter::~IndexFileWriter() {
    if (!impl_) return;
    if (impl_->append && !impl_->committed && impl_->fd >= 0) {
        // Nothing of the committed generation was touched; cut the partial generation off (best effort: a later
        // writer does it too).
        [[maybe_unused]] int rc = ::ftruncate(impl_->fd, static_cast<off_t>(impl_->start));
    }
    if (impl_->fd >= 0) ::close(impl_->fd);
    if (!impl_->append && !impl_->committed) ::unlink(impl_->tmp_path.c_str());
}

const std::vector<SectionInfo>& IndexFileWriter::committed_sections() const { return impl_->committed_sections; }

void IndexFileWriter::keep_section(const SectionInfo& section) {
    LEANN_CHECK(impl_->append, "keep_section on a new file");
    LEANN_CHECK(std::any_of(impl_->committed_sections.begin(), impl_->committed_sections.end(),
                            [&](const SectionInfo& s) { return s.offset == section.offset && s.tag == section.tag; }),
                "keep_section: not a section of the committed generation");
    impl_->sections.push_back(section);
}

uint32_t IndexFileWriter::generation() const { return impl_->generation; }
void IndexFileWriter::set_generation(uint32_t generation) { impl_->generation = std::max<uint32_t>(1, generation); }
uint64_t IndexFileWriter::bytes_written() const { return impl_->written + impl_->buffer.size(); }

void IndexFileWriter::begin_section(uint32_t tag) {
    LEANN_CHECK(!impl_->committed, "begin_section after commit");
    LEANN_CHECK(!impl_->in_section, "begin_section inside section " + tag_name(impl_->sections.back().tag));
    impl_->pad_to_alignment();
    impl_->sections.push_back({tag, impl_->pos, 0, 0});
    XXH3_64bits_reset(impl_->hash.get());
    impl_->in_section = true;
}

void IndexFileWriter::append(std::span<const std::byte> bytes) {
    LEANN_CHECK(impl_->in_section, "append outside a section");
    if (bytes.empty()) return;
    XXH3_64bits_update(impl_->hash.get(), bytes.data(), bytes.size());
    impl_->put(bytes.data(), bytes.size());
}

void IndexFileWriter::end_section() {
    LEANN_CHECK(impl_->in_section, "end_section without begin_section");
    auto& s = impl_->sections.back();
    s.size = impl_->pos - s.offset;
    s.checksum = XXH3_64bits_digest(impl_->hash.get());
    impl_->in_section = false;
}

void IndexFileWriter::add_section(uint32_t tag, std::span<const std::byte> bytes) {
    begin_section(tag);
    append(bytes);
    end_section();
}

void IndexFileWriter::commit() {
    auto& w = *impl_;
    LEANN_CHECK(!w.committed, "commit called twice");
    LEANN_CHECK(!w.in_section, "commit inside section " + tag_name(w.sections.back().tag));
    LEANN_CHECK(w.sections.size() <= std::numeric_limits<uint32_t>::max());

    w.pad_to_alignment();
    const uint64_t table_offset = w.pos;
    std::vector<std::byte> table(w.sections.size() * kEntryBytes);
    for (size_t i = 0; i < w.sections.size(); ++i) {
        std::byte* e = table.data() + i * kEntryBytes;
        const auto& s = w.sections[i];
        store_le<uint32_t>(e + 0, s.tag);
        store_le<uint32_t>(e + 4, 0);
        store_le<uint64_t>(e + 8, s.offset);
        store_le<uint64_t>(e + 16, s.size);
        store_le<uint64_t>(e + 24, s.checksum);
    }
    w.put(table.data(), table.size());
    w.flush();
    // The generation's bytes are durable before the header slot that makes them current is written.
    w.sync("cannot fsync");

    std::byte header[kHeaderBytes];
    encode_slot(header, w.generation, table, table_offset, w.pos, w.sections.size());
    const uint64_t slot_offset = uint64_t(w.slot) * kHeaderBytes;
    for (size_t done = 0; done < kHeaderBytes;) {
        ssize_t n = ::pwrite(w.fd, header + done, kHeaderBytes - done, static_cast<off_t>(slot_offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            w.fail("cannot write header", errno);
        }
        done += static_cast<size_t>(n);
        w.written += static_cast<uint64_t>(n);
    }
    w.sync("cannot fsync");
    if (w.append) {
        w.committed = true;
        return;
    }

    int fd = std::exchange(w.fd, -1);
    if (::close(fd) != 0) w.fail("cannot close", errno);
    if (::rename(w.tmp_path.c_str(), w.path.c_str()) != 0) w.fail("cannot rename to " + w.path.string(), errno);
    w.committed = true;

    // Make the rename itself durable.
    std::filesystem::path dir = w.path.parent_path();
    if (dir.empty()) dir = ".";
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) throw Error(dir.string() + ": cannot open directory to fsync: " + errno_text(errno));
    int rc = ::fsync(dfd);
    int err = errno;
    ::close(dfd);
    if (rc != 0) throw Error(dir.string() + ": cannot fsync directory: " + errno_text(err));
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

namespace {

// An open index file as a reader holds it: an anonymous mapping the size of the file into which open() reads
// (pread) the header, the table and the sections it checks, plus, for the lazy sections, a read-only shared mapping
// of the file itself. Untouched pages of the anonymous mapping cost no memory.
class Snapshot {
public:
    explicit Snapshot(const std::filesystem::path& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw Error(path.string() + ": cannot open: " + errno_text(errno));
        struct stat st {};
        if (::fstat(fd_, &st) != 0) throw Error(path.string() + ": cannot stat: " + errno_text(errno));
        if (!S_ISREG(st.st_mode)) throw Error(path.string() + ": not a regular file");
        size_ = static_cast<uint64_t>(st.st_size);
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p == MAP_FAILED) throw Error(path.string() + ": cannot map: " + errno_text(errno));
            memory_ = static_cast<std::byte*>(p);
        }
    }
    ~Snapshot() {
        if (memory_) ::munmap(memory_, size_);
        if (fd_ >= 0) ::close(fd_);
    }
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;

    const std::byte* data() const { return memory_; }
    uint64_t size() const { return size_; }

    /// Reads [offset, offset + bytes) of the file into the snapshot (the caller checked the range is in the file).
    void load(uint64_t offset, uint64_t bytes) {
        while (bytes > 0) {
            const ssize_t n = ::pread(fd_, memory_ + offset, size_t(std::min<uint64_t>(bytes, 1 << 30)), off_t(offset));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw Error(path_.string() + ": read error: " + errno_text(errno));
            if (n == 0) throw FormatError(path_.string() + ": " + kChangedUnderUs);
            offset += uint64_t(n);
            bytes -= uint64_t(n);
        }
    }
    /// Maps the whole file read-only (for the lazy sections); the descriptor is closed after.
    const std::byte* map_file() {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
        if (p == MAP_FAILED) throw Error(path_.string() + ": cannot map: " + errno_text(errno));
        file_ = std::shared_ptr<void>(p, [size = size_](void* q) { ::munmap(q, size); });
        ::close(fd_);
        fd_ = -1;
        return static_cast<const std::byte*>(p);
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    uint64_t size_ = 0;
    std::byte* memory_ = nullptr;
    std::shared_ptr<void> file_;
};

class Validator {
public:
    explicit Validator(const std::filesystem::path& path) : path_(path.string()) {}
    [[noreturn]] void fail(const std::string& what) const { throw FormatError(path_ + ": " + what); }
    [[noreturn]] void fail(uint32_t tag, const std::string& what) const {
        throw FormatError(path_ + ": section " + tag_name(tag) + ": " + what);
    }

private:
    std::string path_;
};

}  // namespace

IndexFile IndexFile::open(const std::filesystem::path& path, std::span<const uint32_t> lazy_tags,
                          bool check_sections) {
    Validator v(path);
    // Everything open() checks, and every section but the lazy ones, is read into private memory (docs/
    // architecture.md, "Files changed under a reader"): a program rewriting or truncating the file in place later
    // cannot change or remove bytes that were checked. Lazy sections stay file-backed (memory-mapped) and are read
    // only through fault-guarded copies (PassageStore::read_block, verify()).
    auto storage = std::make_shared<Snapshot>(path);
    const std::byte* data = storage->data();
    const uint64_t size = storage->size();
    storage->load(0, std::min<uint64_t>(size, kHeaderAreaBytes));

    // Magic first (over as many bytes as there are), so a short foreign file is called foreign, not truncated.
    if (size > 0 && std::memcmp(data, kMagic, std::min<uint64_t>(size, sizeof(kMagic))) != 0)
        v.fail("not a LEANN index file (bad magic)");
    if (size < kHeaderBytes)
        v.fail("truncated: " + std::to_string(size) + " bytes, the header alone is " + std::to_string(kHeaderBytes));

    // Version before the header checksum: another version may lay out (and checksum) its header differently.
    const uint32_t version = load<uint32_t>(data + kOffVersion);
    if (version > kFormatVersion)
        v.fail("format version " + std::to_string(version) + " is newer than this build reads (version " +
               std::to_string(kFormatVersion) + "): upgrade leann");
    if (version < kOldestFormatVersion)
        v.fail("format version " + std::to_string(version) + " is older than this build reads (version " +
               std::to_string(kFormatVersion) + ", and version " + std::to_string(kOldestFormatVersion) +
               "): rebuild the index");

    // Version 1: one header. Version 2: two slots; the valid one with the higher generation is current (the other
    // is the previous generation, or being rewritten by a writer right now, or never written).
    int slot = 0;
    uint32_t generation = 1;
    uint32_t file_version = version;  // of the current slot
    uint64_t data_start = kHeaderBytes;
    if (version == 1) {
        if (xxh3({data, kOffHeaderChecksum}) != load<uint64_t>(data + kOffHeaderChecksum))
            v.fail("header checksum mismatch (file is corrupt)");
    } else {
        if (size < kHeaderAreaBytes)
            v.fail("truncated: " + std::to_string(size) + " bytes, the header slots alone are " +
                   std::to_string(kHeaderAreaBytes));
        slot = -1;
        for (int i = 0; i < 2; ++i) {
            const std::byte* h = data + i * kHeaderBytes;
            // Slots of versions 2 and 3 share a layout: a version-3 update of a version-2 file leaves a version-2 slot.
            const uint32_t slot_version = load<uint32_t>(h + kOffVersion);
            if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0 || slot_version < 2 ||
                xxh3({h, kOffHeaderChecksum}) != load<uint64_t>(h + kOffHeaderChecksum))
                continue;
            if (slot_version > kFormatVersion)
                v.fail("format version " + std::to_string(slot_version) + " is newer than this build reads (version " +
                       std::to_string(kFormatVersion) + "): upgrade leann");
            const uint32_t g = load<uint32_t>(h + kOffGeneration);
            if (slot < 0 || g > generation) {
                slot = i;
                generation = g;
                file_version = slot_version;
            }
        }
        if (slot < 0) v.fail("header checksum mismatch (file is corrupt)");
        data_start = kHeaderAreaBytes;
    }
    const std::byte* header = data + slot * kHeaderBytes;

    const uint32_t flags = load<uint32_t>(header + kOffFlags);
    if ((flags & ~kKnownFlags) != 0) {
        char hex[16];
        std::snprintf(hex, sizeof(hex), "0x%08x", flags);
        v.fail(std::string("unknown header flags ") + hex + " (written by a newer leann?)");
    }
    // Version 1 files end exactly at the table. A version-2 file may hold bytes past its committed end: a
    // generation that an interrupted writer did not finish (ignored here; the next writer cuts them off).
    const uint64_t declared_size = load<uint64_t>(header + kOffFileSize);
    if (version == 1 ? declared_size != size : declared_size > size)
        v.fail("file is " + std::to_string(size) + " bytes but its header says " + std::to_string(declared_size) +
               (size < declared_size ? " (truncated)" : " (extended)"));

    const uint32_t count = load<uint32_t>(header + kOffCount);
    const uint64_t table_offset = load<uint64_t>(header + kOffTableOffset);
    const uint64_t table_size = load<uint64_t>(header + kOffTableSize);
    if (table_size != uint64_t{count} * kEntryBytes)
        v.fail("section table size " + std::to_string(table_size) + " does not match " + std::to_string(count) +
               " sections of " + std::to_string(kEntryBytes) + " bytes");
    if (table_offset < data_start || table_offset % kAlign != 0 || table_offset > declared_size ||
        table_size != declared_size - table_offset)
        v.fail("section table (offset " + std::to_string(table_offset) + ", " + std::to_string(table_size) +
               " bytes) does not end the file (" + std::to_string(declared_size) + " bytes) or is misaligned");
    storage->load(table_offset, table_size);
    if (xxh3({data + table_offset, table_size}) != load<uint64_t>(header + kOffTableChecksum))
        v.fail("section table checksum mismatch (file is corrupt)");

    IndexFile f;
    f.sections_.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        const std::byte* e = data + table_offset + uint64_t{i} * kEntryBytes;
        SectionInfo s{load<uint32_t>(e), load<uint64_t>(e + 8), load<uint64_t>(e + 16), load<uint64_t>(e + 24)};
        if (s.offset % kAlign != 0) v.fail(s.tag, "offset " + std::to_string(s.offset) + " is not 64-byte aligned");
        // Sections live between the header and the table.
        if (s.offset < data_start || s.offset > table_offset || s.size > table_offset - s.offset)
            v.fail(s.tag, "offset " + std::to_string(s.offset) + " + size " + std::to_string(s.size) +
                              " lies outside the data area [" + std::to_string(data_start) + ", " +
                              std::to_string(table_offset) + ")");
        // Version 2 allows a tag more than once (segments, read in table order); version 1 does not.
        if (version == 1)
            for (const auto& other : f.sections_)
                if (other.tag == s.tag) v.fail(s.tag, "appears twice in the section table");
        f.sections_.push_back(s);
    }
    std::vector<SectionInfo> by_offset = f.sections_;
    std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
    for (size_t i = 1; i < by_offset.size(); ++i)
        if (by_offset[i - 1].offset + by_offset[i - 1].size > by_offset[i].offset)
            v.fail(by_offset[i].tag, "overlaps section " + tag_name(by_offset[i - 1].tag));

    for (const auto& s : f.sections_) {
        if (std::find(lazy_tags.begin(), lazy_tags.end(), s.tag) != lazy_tags.end()) {
            f.lazy_tags_.push_back(s.tag);
            continue;
        }
        storage->load(s.offset, s.size);
        if (check_sections && xxh3({data + s.offset, s.size}) != s.checksum)
            v.fail(s.tag, "checksum mismatch (file is corrupt)");
    }
    if (!f.lazy_tags_.empty()) f.lazy_data_ = storage->map_file();

    f.path_ = path;
    f.version_ = file_version;
    f.generation_ = generation;
    f.slot_ = slot;
    f.data_ = data;
    f.size_ = size;
    f.committed_ = declared_size;
    f.map_ = std::move(storage);
    return f;
}

bool IndexFile::has(uint32_t tag) const {
    return std::any_of(sections_.begin(), sections_.end(), [&](const auto& s) { return s.tag == tag; });
}

const std::byte* IndexFile::base_of(uint32_t tag) const {
    return std::find(lazy_tags_.begin(), lazy_tags_.end(), tag) != lazy_tags_.end() ? lazy_data_ : data_;
}

std::span<const std::byte> IndexFile::section(uint32_t tag) const {
    const SectionInfo* found = nullptr;
    for (const auto& s : sections_) {
        if (s.tag != tag) continue;
        if (found) throw FormatError(path_.string() + ": section " + tag_name(tag) + " appears more than once");
        found = &s;
    }
    if (!found) throw FormatError(path_.string() + ": section " + tag_name(tag) + " is missing");
    return {base_of(tag) + found->offset, found->size};
}

std::vector<std::span<const std::byte>> IndexFile::segments(uint32_t tag) const {
    std::vector<std::span<const std::byte>> out;
    for (const auto& s : sections_)
        if (s.tag == tag) out.push_back({base_of(tag) + s.offset, s.size});
    return out;
}

void IndexFile::verify() const {
    struct Hash {
        const std::byte* data;
        uint64_t size, result;
    };
    for (const auto& s : sections_) {
        // Lazy sections are still file-backed: hashing them must survive the file shrinking under us.
        Hash h{base_of(s.tag) + s.offset, s.size, 0};
        if (!run_fault_guarded([](void* p) {
                auto* h = static_cast<Hash*>(p);
                h->result = XXH3_64bits(h->data, h->size);
            }, &h))
            throw FormatError(path_.string() + ": section " + tag_name(s.tag) + ": " + kChangedUnderUs);
        if (h.result != s.checksum)
            throw FormatError(path_.string() + ": section " + tag_name(s.tag) +
                              ": checksum mismatch (file is corrupt)");
    }
}

uint64_t IndexFile::file_size() const {
    return size_;
}

uint64_t IndexFile::committed_size() const {
    return committed_;
}

uint64_t IndexFile::live_bytes() const {
    uint64_t bytes = (version_ == 1 ? kHeaderBytes : kHeaderAreaBytes) + sections_.size() * kEntryBytes;
    for (const auto& s : sections_) bytes += align_up(s.size);
    return bytes;
}

void IndexFile::check_array(uint32_t tag, size_t bytes, size_t item, std::optional<size_t> expected) const {
    const std::string where = path_.string() + ": section " + tag_name(tag) + ": ";
    if (bytes % item != 0)
        throw FormatError(where + "size " + std::to_string(bytes) + " is not a multiple of the item size " +
                          std::to_string(item));
    if (expected && bytes / item != *expected)
        throw FormatError(where + "holds " + std::to_string(bytes / item) + " items, expected " +
                          std::to_string(*expected));
}

}  // namespace leann::store
