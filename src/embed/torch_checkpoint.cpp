// Reading PyTorch's zip checkpoints (torch.save since PyTorch 1.6): a minimal zip reader for STORED entries and a
// minimal pickle machine. The pickle machine never imports or calls anything: it recognises by name the few globals
// torch.save emits for a state dict (OrderedDict, _rebuild_tensor_v2/v3, _rebuild_parameter, storage types) and
// turns every other global into an opaque value. Memory use is linear in the size of data.pkl.
#include <cstring>
#include <deque>
#include <string_view>
#include <unordered_map>

#include "embed/tensor_file.h"
#include "leann/error.h"

namespace leann {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
    throw ModelError(path.string() + ": " + what);
}

template <typename T>
T load_le(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;  // x86-64 and aarch64 are little-endian, as zip and pickle are
}

std::string hex(uint64_t v) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    do {
        s.insert(s.begin(), digits[v & 0xF]);
        v >>= 4;
    } while (v != 0);
    return "0x" + s;
}

// ---------------------------------------------------------------------------------------------------------------
// Zip

struct ZipEntry {
    uint64_t local_header = 0;
    uint64_t size = 0;  // uncompressed
    uint64_t compressed_size = 0;
    uint16_t method = 0;
    uint16_t flags = 0;
};

struct EntryData {
    uint64_t offset = 0;  // absolute, in the file
    uint64_t size = 0;
};

class ZipArchive {
public:
    explicit ZipArchive(const MappedFile& file);
    const std::map<std::string, ZipEntry>& entries() const { return entries_; }
    bool has(const std::string& name) const { return entries_.count(name) != 0; }
    /// Where the bytes of the STORED entry `name` lie. Throws naming the entry when it is missing, compressed,
    /// encrypted or outside the file.
    EntryData data(const std::string& name) const;

private:
    uint16_t u16(uint64_t pos) const { return load_le<uint16_t>(bytes_.data() + pos); }
    uint32_t u32(uint64_t pos) const { return load_le<uint32_t>(bytes_.data() + pos); }
    uint64_t u64(uint64_t pos) const { return load_le<uint64_t>(bytes_.data() + pos); }
    [[noreturn]] void error(const std::string& what) const { fail(path_, what); }

    std::filesystem::path path_;
    std::span<const std::byte> bytes_;
    std::map<std::string, ZipEntry> entries_;
};

ZipArchive::ZipArchive(const MappedFile& file) : path_(file.path()), bytes_(file.bytes()) {
    const uint64_t size = bytes_.size();
    if (size == 0) error("empty file, expected a PyTorch zip checkpoint");
    if (static_cast<uint8_t>(bytes_[0]) == 0x80)
        error("is a legacy (pre-1.6, non-zip) PyTorch checkpoint or a bare pickle; re-save it with a current "
              "PyTorch (torch.save(torch.load(path), path)) or convert it to safetensors");
    constexpr uint64_t eocd_len = 22, max_comment = 0xFFFF;
    uint64_t eocd = size;  // none found yet
    if (size >= eocd_len) {
        const uint64_t lowest = size > eocd_len + max_comment ? size - eocd_len - max_comment : 0;
        for (uint64_t pos = size - eocd_len;; --pos) {
            if (u32(pos) == 0x06054b50u && pos + eocd_len + u16(pos + 20) == size) {
                eocd = pos;
                break;
            }
            if (pos == lowest) break;
        }
    }
    if (eocd == size)
        error("not a zip archive (no end-of-central-directory record): the file is truncated, or not a checkpoint "
              "written by torch.save with PyTorch >= 1.6");
    uint64_t disk = u16(eocd + 4), cd_disk = u16(eocd + 6), count = u16(eocd + 10);
    uint64_t cd_size = u32(eocd + 12), cd_offset = u32(eocd + 16);
    if (eocd >= 20 && u32(eocd - 20) == 0x07064b50u) {  // ZIP64 locator right before the record
        const uint64_t z = u64(eocd - 20 + 8);
        if (z > eocd || eocd - z < 56 || u32(z) != 0x06064b50u)
            error("ZIP64 end-of-central-directory record at offset " + std::to_string(z) +
                  " is missing or outside the file");
        disk = u32(z + 16);
        cd_disk = u32(z + 20);
        count = u64(z + 32);
        cd_size = u64(z + 40);
        cd_offset = u64(z + 48);
    } else if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) {
        error("end-of-central-directory record needs a ZIP64 record, but there is none (truncated?)");
    }
    if (disk != 0 || cd_disk != 0) error("multi-disk zip archives are not supported");
    if (cd_offset > size || cd_size > size - cd_offset)
        error("central directory [" + std::to_string(cd_offset) + ", +" + std::to_string(cd_size) +
              ") lies outside the file of " + std::to_string(size) + " bytes (truncated?)");
    uint64_t pos = cd_offset;
    const uint64_t end = cd_offset + cd_size;
    for (uint64_t i = 0; i < count; ++i) {
        const std::string where = "central directory entry #" + std::to_string(i) + " at offset " + std::to_string(pos);
        if (end - pos < 46 || u32(pos) != 0x02014b50u) error(where + ": missing or malformed (truncated?)");
        ZipEntry e;
        e.flags = u16(pos + 8);
        e.method = u16(pos + 10);
        e.compressed_size = u32(pos + 20);
        e.size = u32(pos + 24);
        e.local_header = u32(pos + 42);
        const uint64_t name_len = u16(pos + 28), extra_len = u16(pos + 30), comment_len = u16(pos + 32);
        if (46 + name_len + extra_len + comment_len > end - pos) error(where + ": name or extra field overruns it");
        std::string name(reinterpret_cast<const char*>(bytes_.data() + pos + 46), name_len);
        uint64_t x = pos + 46 + name_len;
        const uint64_t x_end = x + extra_len;
        while (x_end - x >= 4) {
            const uint64_t id = u16(x), len = u16(x + 2);
            if (len > x_end - x - 4) error("zip entry '" + name + "': extra field overruns its central record");
            if (id == 0x0001) {  // ZIP64: the 64-bit values of the fields that read 0xFFFFFFFF, in this order
                uint64_t f = x + 4;
                auto take = [&](uint64_t& field) {
                    if (field != 0xFFFFFFFFu) return;
                    if (x + 4 + len - f < 8) error("zip entry '" + name + "': ZIP64 extra field is too short");
                    field = u64(f);
                    f += 8;
                };
                take(e.size);
                take(e.compressed_size);
                take(e.local_header);
            }
            x += 4 + len;
        }
        entries_.emplace(std::move(name), e);
        pos += 46 + name_len + extra_len + comment_len;
    }
}

EntryData ZipArchive::data(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) error("zip entry '" + name + "' is missing");
    const ZipEntry& e = it->second;
    const std::string where = "zip entry '" + name + "'";
    if (e.flags & 1) error(where + " is encrypted");
    if (e.method != 0)
        error(where + " is compressed (method " + std::to_string(e.method) +
              "); PyTorch writes checkpoints uncompressed: re-save it with torch.save, do not re-zip it");
    if (e.compressed_size != e.size)
        error(where + ": stored sizes disagree (" + std::to_string(e.compressed_size) + " vs " +
              std::to_string(e.size) + ")");
    const uint64_t size = bytes_.size(), lh = e.local_header;
    if (lh > size || size - lh < 30 || u32(lh) != 0x04034b50u)
        error(where + ": local header at offset " + std::to_string(lh) + " is missing or outside the file");
    const uint64_t start = lh + 30 + u16(lh + 26) + u16(lh + 28);
    if (start > size || e.size > size - start)
        error(where + ": data [" + std::to_string(start) + ", +" + std::to_string(e.size) +
              ") lies outside the file of " + std::to_string(size) + " bytes (truncated?)");
    return {start, e.size};
}

// ---------------------------------------------------------------------------------------------------------------
// Pickle

struct DTypeSpec {
    const char* name;
    DType dtype;
    uint32_t elem_size;
    bool is_storage;  // a storage class (torch.FloatStorage) rather than a dtype (torch.float32)
};

constexpr DTypeSpec dtype_specs[] = {
    {"FloatStorage", DType::f32, 4, true},        {"DoubleStorage", DType::f64, 8, true},
    {"HalfStorage", DType::f16, 2, true},         {"BFloat16Storage", DType::bf16, 2, true},
    {"LongStorage", DType::i64, 8, true},         {"IntStorage", DType::i32, 4, true},
    {"ShortStorage", DType::other, 2, true},      {"CharStorage", DType::other, 1, true},
    {"ByteStorage", DType::other, 1, true},       {"BoolStorage", DType::other, 1, true},
    {"ComplexFloatStorage", DType::other, 8, true}, {"ComplexDoubleStorage", DType::other, 16, true},
    {"QInt8Storage", DType::other, 1, true},      {"QUInt8Storage", DType::other, 1, true},
    {"QInt32Storage", DType::other, 4, true},     {"UntypedStorage", DType::other, 1, true},
    {"float32", DType::f32, 4, false},            {"float", DType::f32, 4, false},
    {"float64", DType::f64, 8, false},            {"double", DType::f64, 8, false},
    {"float16", DType::f16, 2, false},            {"half", DType::f16, 2, false},
    {"bfloat16", DType::bf16, 2, false},          {"int64", DType::i64, 8, false},
    {"long", DType::i64, 8, false},               {"int32", DType::i32, 4, false},
    {"int", DType::i32, 4, false},                {"int16", DType::other, 2, false},
    {"int8", DType::other, 1, false},             {"uint8", DType::other, 1, false},
    {"bool", DType::other, 1, false},             {"uint16", DType::other, 2, false},
    {"uint32", DType::other, 4, false},           {"uint64", DType::other, 8, false},
    {"float8_e4m3fn", DType::other, 1, false},    {"float8_e5m2", DType::other, 1, false},
    {"float8_e4m3fnuz", DType::other, 1, false},  {"float8_e5m2fnuz", DType::other, 1, false},
    {"float8_e8m0fnu", DType::other, 1, false},   {"complex32", DType::other, 4, false},
    {"complex64", DType::other, 8, false},        {"complex128", DType::other, 16, false},
};

struct Value {
    enum class Kind { none, boolean, integer, floating, text, tuple, list, dict, global, storage, tensor, opaque };
    Kind kind = Kind::opaque;
    int64_t integer = 0;          // integer, boolean
    std::string text;             // text (str or bytes); global: "module.name"; storage: its record key
    std::vector<Value*> items;    // tuple, list; dict: key, value, key, value, ...
    const DTypeSpec* dtype = nullptr;  // global: the storage type or dtype it names; storage; tensor (v3 only)
    uint64_t storage_numel = 0;   // storage: in elements of its dtype
    Value* storage = nullptr;     // tensor
    int64_t storage_offset = 0;   // tensor: in elements of the tensor's dtype
    std::vector<int64_t> shape, stride;
    bool view_bits = false;       // tensor: conj/neg bits set in its metadata
};

const char* kind_name(Value::Kind k) {
    switch (k) {
        case Value::Kind::none: return "None";
        case Value::Kind::boolean: return "a bool";
        case Value::Kind::integer: return "an int";
        case Value::Kind::floating: return "a float";
        case Value::Kind::text: return "a string";
        case Value::Kind::tuple: return "a tuple";
        case Value::Kind::list: return "a list";
        case Value::Kind::dict: return "a dict";
        case Value::Kind::global: return "a class or function";
        case Value::Kind::storage: return "a storage";
        case Value::Kind::tensor: return "a tensor";
        case Value::Kind::opaque: break;
    }
    return "an object of an unsupported class";
}

class Unpickler {
public:
    Unpickler(std::filesystem::path path, std::string entry, std::span<const std::byte> pickle)
        : path_(std::move(path)), entry_(std::move(entry)), pickle_(pickle) {}
    /// Runs to STOP and returns the pickled object. The values live as long as the Unpickler.
    Value* run();

private:
    [[noreturn]] void error(const std::string& what) const {
        fail(path_, entry_ + " offset " + std::to_string(op_pos_) + ": " + what);
    }
    std::span<const std::byte> take(uint64_t n) {
        if (n > pickle_.size() - pos_) error("truncated pickle: needs " + std::to_string(n) + " more bytes");
        auto s = pickle_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    uint64_t read_uint(size_t n) {  // n <= 8, little-endian
        uint64_t v = 0;
        std::memcpy(&v, take(n).data(), n);
        return v;
    }
    std::string read_line() {
        const std::byte* begin = pickle_.data() + pos_;
        const void* nl = std::memchr(begin, '\n', pickle_.size() - pos_);
        if (nl == nullptr) error("truncated pickle: GLOBAL name has no newline");
        auto len = static_cast<uint64_t>(static_cast<const std::byte*>(nl) - begin);
        auto s = take(len + 1);
        return std::string(reinterpret_cast<const char*>(s.data()), len);
    }
    Value* make(Value::Kind kind) {
        Value& v = arena_.emplace_back();
        v.kind = kind;
        return &v;
    }
    Value* make_text(uint64_t len) {
        Value* v = make(Value::Kind::text);
        auto s = take(len);
        v->text.assign(reinterpret_cast<const char*>(s.data()), s.size());
        return v;
    }
    Value* make_int(int64_t i, Value::Kind kind = Value::Kind::integer) {
        Value* v = make(kind);
        v->integer = i;
        return v;
    }
    Value* make_global(const std::string& module, const std::string& name);
    size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
    Value* pop() {
        if (stack_.size() <= floor()) error("pickle stack underflow");
        Value* v = stack_.back();
        stack_.pop_back();
        return v;
    }
    Value* top() {
        if (stack_.size() <= floor()) error("pickle stack underflow");
        return stack_.back();
    }
    std::vector<Value*> pop_mark() {
        if (marks_.empty()) error("pickle has no MARK to pop to");
        std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
        stack_.resize(marks_.back());
        marks_.pop_back();
        return items;
    }
    void set_items(Value* dict, const std::vector<Value*>& items) {
        if (items.size() % 2 != 0) error("odd number of items for a dict");
        if (dict->kind == Value::Kind::dict) dict->items.insert(dict->items.end(), items.begin(), items.end());
    }
    void append_items(Value* list, const std::vector<Value*>& items) {
        if (list->kind == Value::Kind::list) list->items.insert(list->items.end(), items.begin(), items.end());
    }
    void memo_put(uint64_t index) { memo_[index] = top(); }
    Value* memo_get(uint64_t index) {
        auto it = memo_.find(index);
        if (it == memo_.end()) error("memo key " + std::to_string(index) + " is not defined");
        return it->second;
    }
    std::vector<int64_t> int_tuple(const Value* v, const char* field) {
        if (v->kind != Value::Kind::tuple) error(std::string("tensor ") + field + " is not a tuple");
        // bounded so that a memoised huge tuple reused by many tensors cannot blow up memory
        if (v->items.size() > 64) error(std::string("tensor ") + field + " has more than 64 dimensions");
        std::vector<int64_t> out;
        for (const Value* d : v->items) {
            if (d->kind != Value::Kind::integer) error(std::string("tensor ") + field + " holds a non-integer");
            out.push_back(d->integer);
        }
        return out;
    }
    Value* reduce(Value* callable, Value* args);
    Value* persistent_load(Value* pid);

    std::filesystem::path path_;
    std::string entry_;
    std::span<const std::byte> pickle_;
    uint64_t pos_ = 0, op_pos_ = 0;
    std::deque<Value> arena_;  // owns every value; references are plain pointers (pickles may hold cycles)
    std::vector<Value*> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, Value*> memo_;
};

Value* Unpickler::make_global(const std::string& module, const std::string& name) {
    Value* v = make(Value::Kind::global);
    v->text = module + "." + name;
    if (module == "torch" || module == "torch.cuda" || module == "torch.storage")
        for (const DTypeSpec& spec : dtype_specs)
            if (name == spec.name) v->dtype = &spec;
    return v;
}

Value* Unpickler::persistent_load(Value* pid) {
    const auto& it = pid->items;
    if (pid->kind != Value::Kind::tuple || it.size() != 5 || it[0]->kind != Value::Kind::text ||
        it[0]->text != "storage" || it[2]->kind != Value::Kind::text || it[4]->kind != Value::Kind::integer)
        error("persistent id is not ('storage', storage_type, key, location, numel)");
    if (it[1]->kind != Value::Kind::global || it[1]->dtype == nullptr || !it[1]->dtype->is_storage)
        error("persistent id names an unsupported storage type" +
              (it[1]->kind == Value::Kind::global ? " '" + it[1]->text + "'" : std::string()));
    if (it[4]->integer < 0) error("persistent id has a negative storage size");
    Value* storage = make(Value::Kind::storage);
    storage->dtype = it[1]->dtype;
    storage->text = it[2]->text;
    storage->storage_numel = static_cast<uint64_t>(it[4]->integer);
    return storage;
}

Value* Unpickler::reduce(Value* callable, Value* args) {
    if (callable->kind != Value::Kind::global) return make(Value::Kind::opaque);
    const std::string& name = callable->text;
    if (name == "collections.OrderedDict") return make(Value::Kind::dict);
    const auto& a = args->items;
    const bool tuple = args->kind == Value::Kind::tuple;
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
        if (!tuple || a.empty()) error("malformed arguments to " + name);
        return a[0];
    }
    const bool v1 = name == "torch._utils._rebuild_tensor", v2 = name == "torch._utils._rebuild_tensor_v2",
               v3 = name == "torch._utils._rebuild_tensor_v3";
    if (!v1 && !v2 && !v3) return make(Value::Kind::opaque);
    // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, dtype (v3)][, metadata]])
    const size_t fixed = v1 ? 4 : v2 ? 6 : 7;
    if (!tuple || a.size() < fixed || a.size() > fixed + (v1 ? 0 : 1) || a[0]->kind != Value::Kind::storage ||
        a[1]->kind != Value::Kind::integer)
        error("malformed arguments to " + name);
    Value* t = make(Value::Kind::tensor);
    t->storage = a[0];
    t->storage_offset = a[1]->integer;
    t->shape = int_tuple(a[2], "size");
    t->stride = int_tuple(a[3], "stride");
    if (t->shape.size() != t->stride.size()) error("tensor size and stride have different lengths");
    if (v3) {
        if (a[6]->kind != Value::Kind::global || a[6]->dtype == nullptr || a[6]->dtype->is_storage)
            error("_rebuild_tensor_v3 names an unsupported dtype" +
                  (a[6]->kind == Value::Kind::global ? " '" + a[6]->text + "'" : std::string()));
        t->dtype = a[6]->dtype;
    }
    if (a.size() > fixed && a[fixed]->kind == Value::Kind::dict)  // metadata: {"conj": True} / {"neg": True}
        for (size_t i = 1; i < a[fixed]->items.size(); i += 2)
            if (a[fixed]->items[i]->kind == Value::Kind::boolean && a[fixed]->items[i]->integer != 0)
                t->view_bits = true;
    return t;
}

Value* Unpickler::run() {
    using K = Value::Kind;
    while (true) {
        op_pos_ = pos_;
        const auto op = static_cast<uint8_t>(take(1)[0]);
        switch (op) {
            case 0x80: read_uint(1); break;  // PROTO
            case 0x95: read_uint(8); break;  // FRAME: frames are transparent when reading sequentially
            case '.': {                      // STOP
                Value* result = pop();
                return result;
            }
            case '(': marks_.push_back(stack_.size()); break;  // MARK
            case '0':                                          // POP
                if (stack_.size() > floor()) stack_.pop_back();
                else pop_mark();
                break;
            case '1': pop_mark(); break;                 // POP_MARK
            case '2': stack_.push_back(top()); break;    // DUP
            case 'N': stack_.push_back(make(K::none)); break;
            case 0x88: stack_.push_back(make_int(1, K::boolean)); break;  // NEWTRUE
            case 0x89: stack_.push_back(make_int(0, K::boolean)); break;  // NEWFALSE
            case 'J': stack_.push_back(make_int(static_cast<int32_t>(read_uint(4)))); break;  // BININT
            case 'K': stack_.push_back(make_int(static_cast<int64_t>(read_uint(1)))); break;  // BININT1
            case 'M': stack_.push_back(make_int(static_cast<int64_t>(read_uint(2)))); break;  // BININT2
            case 0x8a:                                                                        // LONG1
            case 0x8b: {                                                                      // LONG4
                const uint64_t n = read_uint(op == 0x8a ? 1 : 4);
                if (n > 8) {  // beyond int64: keep it opaque
                    take(n);
                    stack_.push_back(make(K::opaque));
                    break;
                }
                uint64_t v = n == 0 ? 0 : read_uint(static_cast<size_t>(n));
                if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t{0} << (8 * n);  // sign-extend
                stack_.push_back(make_int(static_cast<int64_t>(v)));
                break;
            }
            case 'G': take(8); stack_.push_back(make(K::floating)); break;  // BINFLOAT
            case 'X': case 'B': stack_.push_back(make_text(read_uint(4))); break;  // BINUNICODE, BINBYTES
            case 0x8c: case 'U': case 'C':  // SHORT_BINUNICODE, SHORT_BINSTRING, SHORT_BINBYTES
                stack_.push_back(make_text(read_uint(1)));
                break;
            case 0x8d: case 0x8e: stack_.push_back(make_text(read_uint(8))); break;  // BINUNICODE8, BINBYTES8
            case 'T': {                                                              // BINSTRING
                const auto n = static_cast<int32_t>(read_uint(4));
                if (n < 0) error("BINSTRING has a negative length");
                stack_.push_back(make_text(static_cast<uint64_t>(n)));
                break;
            }
            case '}': stack_.push_back(make(K::dict)); break;    // EMPTY_DICT
            case ']': stack_.push_back(make(K::list)); break;    // EMPTY_LIST
            case ')': stack_.push_back(make(K::tuple)); break;   // EMPTY_TUPLE
            case 0x8f: stack_.push_back(make(K::opaque)); break;  // EMPTY_SET
            case 0x90: pop_mark(); top(); break;                  // ADDITEMS (to a set: ignored)
            case 0x91: pop_mark(); stack_.push_back(make(K::opaque)); break;  // FROZENSET
            case 't': case 'l': case 'd': {                                   // TUPLE, LIST, DICT
                Value* v = make(op == 't' ? K::tuple : op == 'l' ? K::list : K::dict);
                v->items = pop_mark();
                if (op == 'd' && v->items.size() % 2 != 0) error("odd number of items for DICT");
                stack_.push_back(v);
                break;
            }
            case 0x85: case 0x86: case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
                Value* v = make(K::tuple);
                v->items.resize(op - 0x84u);
                for (size_t i = v->items.size(); i-- > 0;) v->items[i] = pop();
                stack_.push_back(v);
                break;
            }
            case 'a': {  // APPEND
                Value* v = pop();
                append_items(top(), {v});
                break;
            }
            case 'e': {  // APPENDS
                auto items = pop_mark();
                append_items(top(), items);
                break;
            }
            case 's': {  // SETITEM
                Value* v = pop();
                Value* k = pop();
                set_items(top(), {k, v});
                break;
            }
            case 'u': {  // SETITEMS
                auto items = pop_mark();
                set_items(top(), items);
                break;
            }
            case 'q': memo_put(read_uint(1)); break;              // BINPUT
            case 'r': memo_put(read_uint(4)); break;              // LONG_BINPUT
            case 0x94: memo_put(memo_.size()); break;             // MEMOIZE
            case 'h': stack_.push_back(memo_get(read_uint(1))); break;  // BINGET
            case 'j': stack_.push_back(memo_get(read_uint(4))); break;  // LONG_BINGET
            case 'c': {                                                 // GLOBAL
                std::string module = read_line();
                std::string name = read_line();
                stack_.push_back(make_global(module, name));
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                Value* name = pop();
                Value* module = pop();
                if (name->kind != K::text || module->kind != K::text) error("STACK_GLOBAL needs two strings");
                stack_.push_back(make_global(module->text, name->text));
                break;
            }
            case 'R': {  // REDUCE
                Value* args = pop();
                Value* callable = pop();
                stack_.push_back(reduce(callable, args));
                break;
            }
            case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
                pop();
                Value* cls = pop();
                stack_.push_back(cls->kind == K::global && cls->text == "collections.OrderedDict" ? make(K::dict)
                                                                                                 : make(K::opaque));
                break;
            }
            case 0x92: pop(); pop(); pop(); stack_.push_back(make(K::opaque)); break;  // NEWOBJ_EX
            case 'b': pop(); top(); break;  // BUILD: object state (e.g. a state dict's _metadata) is ignored
            case 'Q': stack_.push_back(persistent_load(pop())); break;  // BINPERSID
            default: error("unsupported pickle opcode " + hex(op));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// From the pickled dict to the tensor table

size_t count_tensors(const Value* dict) {
    size_t n = 0;
    for (size_t i = 0; i + 1 < dict->items.size(); i += 2)
        if (dict->items[i]->kind == Value::Kind::text && dict->items[i + 1]->kind == Value::Kind::tensor) ++n;
    return n;
}

// The state dict itself, or the one nested one level down ({"state_dict": {...}, "epoch": 3, ...}).
const Value* find_state_dict(const Value* root) {
    if (count_tensors(root) != 0) return root;
    std::unordered_map<const Value*, size_t> counts;  // a dict may be referenced many times: count each once
    auto has_tensors = [&](const Value* v) {
        auto [it, fresh] = counts.try_emplace(v, 0);
        if (fresh) it->second = count_tensors(v);
        return it->second != 0;
    };
    const Value* only = nullptr;
    size_t candidates = 0;
    for (const char* preferred : {"state_dict", "model_state_dict", "model", "module", ""})
        for (size_t i = 0; i + 1 < root->items.size(); i += 2) {
            const Value *k = root->items[i], *v = root->items[i + 1];
            if (k->kind != Value::Kind::text || v->kind != Value::Kind::dict || !has_tensors(v)) continue;
            if (*preferred != '\0' && k->text == preferred) return v;
            if (*preferred == '\0' && only != v) {
                only = v;
                ++candidates;
            }
        }
    return candidates == 1 ? only : root;
}

std::string shape_text(const std::vector<int64_t>& s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

TensorInfo tensor_info(const std::filesystem::path& path, const ZipArchive& zip, const std::string& prefix,
                       const std::string& name, const Value& t) {
    const std::string where = "tensor '" + name + "'";
    const Value& storage = *t.storage;
    const DTypeSpec& spec = t.dtype ? *t.dtype : *storage.dtype;
    if (t.view_bits) fail(path, where + " has its conjugate or negative bit set; save t.resolve_conj().resolve_neg()");
    if (t.storage_offset < 0) fail(path, where + " has a negative storage offset");
    // numel, and the product of the non-zero dimensions (bounded so TensorInfo::numel() cannot overflow)
    uint64_t numel = 1, bound = 1;
    bool contiguous = true;
    for (size_t i = t.shape.size(); i-- > 0;) {
        const int64_t d = t.shape[i];
        if (d < 0) fail(path, where + " has a negative dimension in shape " + shape_text(t.shape));
        if (d != 1 && t.stride[i] != static_cast<int64_t>(bound)) contiguous = false;
        if (__builtin_mul_overflow(bound, static_cast<uint64_t>(d == 0 ? 1 : d), &bound) ||
            bound > (uint64_t{1} << 60))
            fail(path, where + " has an implausibly large shape " + shape_text(t.shape));
        numel = d == 0 ? 0 : numel * static_cast<uint64_t>(d);
    }
    if (numel != 0 && !contiguous)
        fail(path, where + " is not contiguous (shape " + shape_text(t.shape) + ", stride " + shape_text(t.stride) +
                       "); save t.contiguous() instead, or convert the checkpoint to safetensors");
    const std::string record = prefix + "data/" + storage.text;
    if (!zip.has(record)) fail(path, where + ": its storage record '" + record + "' is missing");
    const EntryData data = zip.data(record);
    uint64_t storage_bytes = 0, begin = 0, bytes = 0, end = 0;
    if (__builtin_mul_overflow(storage.storage_numel, uint64_t{storage.dtype->elem_size}, &storage_bytes) ||
        storage_bytes > data.size)
        fail(path, where + ": storage record '" + record + "' holds " + std::to_string(data.size) +
                       " bytes, the pickle says " + std::to_string(storage.storage_numel) + " elements of " +
                       storage.dtype->name);
    if (__builtin_mul_overflow(static_cast<uint64_t>(t.storage_offset), uint64_t{spec.elem_size}, &begin) ||
        __builtin_mul_overflow(numel, uint64_t{spec.elem_size}, &bytes) ||
        __builtin_add_overflow(begin, bytes, &end) || end > storage_bytes)
        fail(path, where + ": " + std::to_string(numel) + " elements at storage offset " +
                       std::to_string(t.storage_offset) + " lie outside its storage of " +
                       std::to_string(storage_bytes) + " bytes");
    TensorInfo info;
    info.dtype = spec.dtype;
    info.dtype_name = spec.name;
    info.shape = t.shape;
    info.offset = data.offset + begin;
    info.bytes = bytes;
    return info;
}

}  // namespace

std::map<std::string, TensorInfo> parse_torch_checkpoint(const MappedFile& file) {
    const auto& path = file.path();
    ZipArchive zip(file);
    // torch names the top folder after the file ("archive/" since 1.13); take the shortest */data.pkl
    std::string pickle_name;
    for (const auto& [name, entry] : zip.entries()) {
        const bool match = name == "data.pkl" || (name.size() > 9 && name.ends_with("/data.pkl"));
        if (match && (pickle_name.empty() || name.size() < pickle_name.size())) pickle_name = name;
    }
    if (pickle_name.empty())
        fail(path, "zip archive has no data.pkl entry: not a checkpoint written by torch.save");
    const std::string prefix = pickle_name.substr(0, pickle_name.size() - 8);
    const EntryData pickle = zip.data(pickle_name);
    if (zip.has(prefix + "byteorder")) {
        const EntryData order = zip.data(prefix + "byteorder");
        const std::string_view text = file.text().substr(order.offset, order.size);
        if (text == "big")
            fail(path, "checkpoint was written on a big-endian machine; re-save it on a little-endian one");
        if (text != "little") fail(path, "zip entry '" + prefix + "byteorder' is neither 'little' nor 'big'");
    }
    Unpickler unpickler(path, pickle_name, file.bytes().subspan(pickle.offset, pickle.size));
    const Value* root = unpickler.run();
    if (root->kind != Value::Kind::dict)
        fail(path, pickle_name + " holds " + std::string(kind_name(root->kind)) +
                       ", expected a dict of tensors (a state_dict); pickled modules and TorchScript archives are "
                       "not supported: save model.state_dict()");
    const Value* dict = find_state_dict(root);
    std::map<std::string, TensorInfo> tensors;
    for (size_t i = 0; i + 1 < dict->items.size(); i += 2) {
        const Value *k = dict->items[i], *v = dict->items[i + 1];
        if (k->kind == Value::Kind::text && v->kind == Value::Kind::tensor)
            tensors[k->text] = tensor_info(path, zip, prefix, k->text, *v);
    }
    return tensors;
}

}  // namespace leann
