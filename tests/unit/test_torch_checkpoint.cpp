// PyTorch zip checkpoints (pytorch_model.bin): tensors, shapes, dtypes and values against fixtures written by
// tests/golden/torch_checkpoint/make_fixtures.py, and refusal (never a crash) of compressed, truncated, legacy,
// non-contiguous and corrupted files.
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "embed/tensor_file.h"
#include "leann/error.h"
#include "util/mapped_file.h"

namespace leann {
namespace {

const std::filesystem::path fixtures = std::filesystem::path(LEANN_TEST_DATA_DIR) / "golden" / "torch_checkpoint";

std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

nlohmann::json read_json(const std::filesystem::path& path) { return nlohmann::json::parse(read_bytes(path)); }

// A scratch folder per test, unique across concurrently running test processes.
class TorchCheckpointFiles : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               ("leann_torch_ckpt_" + std::to_string(::getpid()) + "_" + info->name());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path write(const std::string& name, std::string_view bytes) {
        auto path = dir_ / name;
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        return path;
    }
    std::filesystem::path dir_;
};

// The ModelError message from opening `path`, or "" when it opened.
std::string open_error(const std::filesystem::path& path) {
    try {
        TensorFile::open(path);
    } catch (const ModelError& e) {
        return e.what();
    }
    return "";
}

void expect_matches(const TensorFile& file, const nlohmann::json& expected) {
    MappedFile raw(file.path());
    EXPECT_EQ(file.tensors().size(), expected.size());
    for (const auto& [name, want] : expected.items()) {
        SCOPED_TRACE(name);
        ASSERT_TRUE(file.has(name));
        const TensorInfo& info = file.tensors().at(name);
        const auto shape = want["shape"].get<std::vector<int64_t>>();
        EXPECT_EQ(info.shape, shape);
        EXPECT_EQ(info.dtype_name, want["dtype"].get<std::string>());
        const auto& values = want["values"];
        ASSERT_EQ(info.numel(), static_cast<int64_t>(values.size()));
        ASSERT_LE(info.offset + info.bytes, raw.size());
        const std::byte* data = raw.bytes().data() + info.offset;
        switch (info.dtype) {
            case DType::f32: case DType::f16: case DType::bf16: case DType::f64: {
                const std::vector<float> got = file.read_f32(name, shape);
                ASSERT_EQ(got.size(), values.size());
                for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], values[i].get<float>()) << "element " << i;
                break;
            }
            case DType::i64: {
                EXPECT_EQ(info.bytes, values.size() * 8);
                for (size_t i = 0; i < values.size(); ++i) {
                    int64_t v;
                    std::memcpy(&v, data + 8 * i, 8);
                    EXPECT_EQ(v, values[i].get<int64_t>());
                }
                EXPECT_THROW(file.read_f32(name, shape), ModelError);
                break;
            }
            case DType::i32: {
                EXPECT_EQ(info.bytes, values.size() * 4);
                for (size_t i = 0; i < values.size(); ++i) {
                    int32_t v;
                    std::memcpy(&v, data + 4 * i, 4);
                    EXPECT_EQ(v, values[i].get<int32_t>());
                }
                break;
            }
            case DType::other: {  // uint16, through _rebuild_tensor_v3 and an UntypedStorage
                EXPECT_EQ(info.bytes, values.size() * 2);
                for (size_t i = 0; i < values.size(); ++i) {
                    uint16_t v;
                    std::memcpy(&v, data + 2 * i, 2);
                    EXPECT_EQ(v, values[i].get<uint16_t>());
                }
                EXPECT_THROW(file.read_f32(name, shape), ModelError);
                break;
            }
        }
    }
}

TEST(TorchCheckpoint, ReadsNamesShapesDtypesAndValues) {
    const TensorFile file = TensorFile::open(fixtures / "tensors.bin");
    expect_matches(file, read_json(fixtures / "expected.json"));
    EXPECT_EQ(file.tensors().at("half").dtype, DType::f16);
    EXPECT_EQ(file.tensors().at("bf16").dtype, DType::bf16);
    EXPECT_EQ(file.tensors().at("position_ids").dtype, DType::i64);
    EXPECT_EQ(file.tensors().at("token_type").dtype, DType::i32);
    EXPECT_EQ(file.tensors().at("uint16").dtype, DType::other);
}

// view_f32: float32 tensors are viewed in place (the same values read_f32 copies), other dtypes are not, and the
// checks are read_f32's.
TEST(TorchCheckpoint, Float32TensorsAreViewedInPlace) {
    const TensorFile file = TensorFile::open(fixtures / "tensors.bin");
    for (const char* name : {"matrix", "shared.row1", "half", "bf16"}) {
        const TensorInfo& info = file.tensors().at(name);
        const auto view = file.view_f32(name, info.shape);
        const auto copy = file.read_f32(name, info.shape);
        if (info.dtype == DType::f32) {
            EXPECT_EQ(std::vector<float>(view.begin(), view.end()), copy) << name;
        } else {
            EXPECT_TRUE(view.empty()) << name;
        }
    }
    const std::vector<int64_t> wrong{7};
    EXPECT_THROW(file.view_f32("matrix", wrong), ModelError);
    EXPECT_THROW(file.view_f32("no such tensor", wrong), ModelError);
}

TEST(TorchCheckpoint, ScalarEmptyAndSharedStorage) {
    const TensorFile file = TensorFile::open(fixtures / "tensors.bin");
    const auto& t = file.tensors();
    EXPECT_TRUE(t.at("scalar").shape.empty());
    EXPECT_EQ(t.at("scalar").numel(), 1);
    EXPECT_EQ(file.read_f32("scalar", {}), std::vector<float>{1.5f});
    EXPECT_EQ(t.at("empty").bytes, 0u);
    const std::vector<int64_t> empty_shape{0, 3};
    EXPECT_TRUE(file.read_f32("empty", empty_shape).empty());
    // torch aligns each storage record to 64 bytes; the view starts 3 floats into the same record
    EXPECT_EQ(t.at("shared.full").offset % 64, 0u);
    EXPECT_EQ(t.at("shared.row1").offset, t.at("shared.full").offset + 3 * sizeof(float));
    EXPECT_EQ(t.at("shared.row1").bytes, 3 * sizeof(float));
    // every float tensor counts: scalar 1, vector 5, matrix 12, cube 24, half 5, bf16 6, double 3, shared 6+3, param 4
    EXPECT_EQ(file.parameter_count(), 1u + 5 + 12 + 24 + 5 + 6 + 3 + 6 + 3 + 4);
}

TEST(TorchCheckpoint, Zip64ArchiveReadsTheSame) {
    const TensorFile file = TensorFile::open(fixtures / "zip64.bin");
    expect_matches(file, read_json(fixtures / "expected.json"));
    EXPECT_EQ(file.tensors().at("vector").offset % 64, 0u);
}

TEST(TorchCheckpoint, TinyBertMatchesSafetensors) {
    const TensorFile bin = TensorFile::open(fixtures / "bert_tiny.bin");
    const TensorFile reference = TensorFile::open(fixtures / "bert_tiny.safetensors");
    ASSERT_EQ(bin.tensors().size(), reference.tensors().size());
    EXPECT_TRUE(bin.has("embeddings.word_embeddings.weight"));
    EXPECT_TRUE(bin.has("encoder.layer.1.attention.self.query.weight"));
    for (const auto& [name, want] : reference.tensors()) {
        SCOPED_TRACE(name);
        ASSERT_TRUE(bin.has(name));
        const TensorInfo& got = bin.tensors().at(name);
        EXPECT_EQ(got.shape, want.shape);
        EXPECT_EQ(got.dtype, want.dtype);
        EXPECT_EQ(got.bytes, want.bytes);
        if (want.dtype == DType::f32) {
            EXPECT_EQ(bin.read_f32(name, want.shape), reference.read_f32(name, want.shape));
        }
    }
    EXPECT_EQ(bin.parameter_count(), reference.parameter_count());
}

TEST(TorchCheckpoint, StateDictNestedOneLevel) {
    const TensorFile file = TensorFile::open(fixtures / "nested.bin");
    expect_matches(file, read_json(fixtures / "nested_expected.json"));
    EXPECT_FALSE(file.has("step"));
}

TEST(TorchCheckpoint, RefusesNonContiguousTensor) {
    const std::string message = open_error(fixtures / "transposed.bin");
    EXPECT_NE(message.find("transposed.bin"), std::string::npos) << message;
    EXPECT_NE(message.find("'weight'"), std::string::npos) << message;
    EXPECT_NE(message.find("not contiguous"), std::string::npos) << message;
}

TEST(TorchCheckpoint, RefusesCompressedEntry) {
    const std::string message = open_error(fixtures / "deflated.bin");
    EXPECT_NE(message.find("tensors/data.pkl"), std::string::npos) << message;
    EXPECT_NE(message.find("compressed"), std::string::npos) << message;
}

TEST(TorchCheckpoint, RefusesLegacyFormat) {
    const std::string message = open_error(fixtures / "legacy.bin");
    EXPECT_NE(message.find("legacy"), std::string::npos) << message;
    EXPECT_NE(message.find("re-save"), std::string::npos) << message;
}

TEST_F(TorchCheckpointFiles, RefusesNonZipAndGarbage) {
    EXPECT_NE(open_error(write("empty.bin", "")), "");
    EXPECT_NE(open_error(write("text.bin", "this is not a checkpoint\n")).find("not a zip"), std::string::npos);
    std::mt19937 rng(42);
    for (int round = 0; round < 50; ++round) {
        std::string garbage(1 + rng() % 4096, '\0');
        for (char& c : garbage) c = static_cast<char>(rng());
        EXPECT_NE(open_error(write("garbage.bin", garbage)), "") << "round " << round;
    }
    // a valid, empty zip: no data.pkl
    const std::string empty_zip("PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
    EXPECT_NE(open_error(write("empty_zip.bin", empty_zip)).find("data.pkl"), std::string::npos);
    // a bare pickle
    EXPECT_NE(open_error(write("pickle.bin", "\x80\x02}q\x00.")).find("legacy"), std::string::npos);
}

// ---- hand-made archives: a stored zip holding a pickle we write opcode by opcode

void put_le(std::string& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// A zip of STORED entries (crc left 0: the reader does not check it).
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string out, central;
    for (const auto& [name, data] : entries) {
        const size_t offset = out.size();
        put_le(out, 0x04034b50, 4);
        for (int v : {20, 0, 0, 0, 0}) put_le(out, v, 2);  // version, flags, method, time, date
        put_le(out, 0, 4);
        put_le(out, data.size(), 4);
        put_le(out, data.size(), 4);
        put_le(out, name.size(), 2);
        put_le(out, 0, 2);
        out += name + data;
        put_le(central, 0x02014b50, 4);
        for (int v : {20, 20, 0, 0, 0, 0}) put_le(central, v, 2);  // made, needed, flags, method, time, date
        put_le(central, 0, 4);
        put_le(central, data.size(), 4);
        put_le(central, data.size(), 4);
        for (uint64_t v : {name.size(), size_t{0}, size_t{0}, size_t{0}, size_t{0}}) put_le(central, v, 2);
        put_le(central, 0, 4);
        put_le(central, offset, 4);
        central += name;
    }
    const size_t cd_offset = out.size();
    out += central;
    put_le(out, 0x06054b50, 4);
    for (uint64_t v : {size_t{0}, size_t{0}, entries.size(), entries.size()}) put_le(out, v, 2);
    put_le(out, central.size(), 4);
    put_le(out, cd_offset, 4);
    put_le(out, 0, 2);
    return out;
}

struct Pickle {
    std::string bytes = std::string("\x80\x02", 2);  // PROTO 2
    Pickle& op(char c) { bytes += c; return *this; }
    Pickle& str(std::string_view text) {
        bytes += 'X';
        put_le(bytes, text.size(), 4);
        bytes += text;
        return *this;
    }
    Pickle& int1(int v) { bytes += 'K'; bytes += static_cast<char>(v); return *this; }
    Pickle& global(std::string_view module, std::string_view name) {
        bytes += 'c';
        bytes += std::string(module) + "\n" + std::string(name) + "\n";
        return *this;
    }
    Pickle& ints(const std::vector<int>& v) {
        op('(');
        for (int x : v) int1(x);
        return op('t');
    }
};

// {"w": _rebuild_tensor_v2(('storage', torch.<type>, '0', 'cpu', numel), offset, size, stride, False, {})}
std::string tensor_pickle(const char* storage_type, int numel, int offset, const std::vector<int>& size,
                          const std::vector<int>& stride) {
    Pickle p;
    p.op('}').op('(').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(');
    p.op('(').str("storage").global("torch", storage_type).str("0").str("cpu").int1(numel).op('t').op('Q');
    p.int1(offset).ints(size).ints(stride).op('\x89').op('}').op('t').op('R').op('u').op('.');
    return p.bytes;
}

const std::string four_floats = [] {
    std::string s(16, '\0');
    const float v[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    std::memcpy(s.data(), v, 16);
    return s;
}();

TEST_F(TorchCheckpointFiles, HandMadeArchiveOpens) {
    const auto zip = make_zip({{"w/data.pkl", tensor_pickle("FloatStorage", 4, 0, {2, 2}, {2, 1})},
                               {"w/byteorder", "little"},
                               {"w/data/0", four_floats}});
    const TensorFile file = TensorFile::open(write("w.bin", zip));
    const std::vector<int64_t> shape{2, 2};
    EXPECT_EQ(file.read_f32("w", shape), (std::vector<float>{1, 2, 3, 4}));
}

TEST_F(TorchCheckpointFiles, RefusesInconsistentTensors) {
    auto error_for = [&](const std::string& pickle, const std::string& data, const std::string& order = "little") {
        return open_error(
            write("w.bin", make_zip({{"w/data.pkl", pickle}, {"w/byteorder", order}, {"w/data/0", data}})));
    };
    const std::string ok = tensor_pickle("FloatStorage", 4, 0, {2, 2}, {2, 1});
    EXPECT_NE(error_for(ok, four_floats.substr(0, 8)).find("holds 8 bytes"), std::string::npos);
    EXPECT_NE(error_for(tensor_pickle("FloatStorage", 4, 1, {2, 2}, {2, 1}), four_floats).find("outside its storage"),
              std::string::npos);
    EXPECT_NE(error_for(tensor_pickle("FloatStorage", 4, 0, {2, 2}, {1, 2}), four_floats).find("not contiguous"),
              std::string::npos);
    EXPECT_NE(error_for(tensor_pickle("os", 4, 0, {2, 2}, {2, 1}), four_floats).find("unsupported storage type"),
              std::string::npos);
    EXPECT_NE(error_for(ok, four_floats, "big").find("big-endian"), std::string::npos);
    const std::string missing = open_error(write("w.bin", make_zip({{"w/data.pkl", ok}})));
    EXPECT_NE(missing.find("'w/data/0' is missing"), std::string::npos) << missing;
}

TEST_F(TorchCheckpointFiles, RefusesMalformedPickles) {
    auto error_for = [&](const std::string& pickle) {
        return open_error(write("p.bin", make_zip({{"p/data.pkl", pickle}})));
    };
    const std::string unknown = error_for(std::string("\x80\x02I1\n.", 6));  // INT: a protocol-0 opcode
    EXPECT_NE(unknown.find("opcode 0x49"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("p/data.pkl offset 2"), std::string::npos) << unknown;
    EXPECT_NE(error_for(Pickle().op('R').op('.').bytes).find("underflow"), std::string::npos);
    EXPECT_NE(error_for(Pickle().op('t').op('.').bytes).find("MARK"), std::string::npos);
    EXPECT_NE(error_for(Pickle().op('h').op('\x05').op('.').bytes).find("memo key 5"), std::string::npos);
    EXPECT_NE(error_for(Pickle().str("abc").bytes.substr(0, 8)).find("truncated pickle"), std::string::npos);
    EXPECT_NE(error_for(Pickle().op('}').bytes).find("truncated pickle"), std::string::npos);  // no STOP
    // a list holding itself: no recursion, no leak, just "not a dict"
    EXPECT_NE(error_for(Pickle().op(']').op('q').op('\0').op('h').op('\0').op('a').op('.').bytes).find("holds a list"),
              std::string::npos);
    // globals are never called: os.system(...) becomes an opaque value, skipped like any non-tensor
    Pickle harmless;
    harmless.op('}').str("x").global("os", "system").str("touch /tmp/leann_pwned").op('\x85').op('R').op('s').op('.');
    const auto path = write("p.bin", make_zip({{"p/data.pkl", harmless.bytes}}));
    EXPECT_TRUE(TensorFile::open(path).tensors().empty());
}

// Cut at every length for one fixture; for the others, every length in the tail (central directory and end
// records, where the zip reader works hardest) and a sample elsewhere.
TEST_F(TorchCheckpointFiles, RefusesEveryTruncation) {
    for (const char* name : {"tensors.bin", "zip64.bin", "nested.bin"}) {
        const std::string bytes = read_bytes(fixtures / name);
        ASSERT_GT(bytes.size(), 1000u);
        const bool every = std::string_view(name) == "tensors.bin";
        for (size_t len = 0; len < bytes.size(); ++len) {
            if (!every && len + 400 < bytes.size() && len % 17 != 0) continue;
            const std::string message = open_error(write("cut.bin", std::string_view(bytes).substr(0, len)));
            EXPECT_NE(message, "") << name << " cut at " << len;
        }
    }
}

// Every single-byte corruption either opens (then every tensor lies in the file and reads) or gives a ModelError;
// anything else (another exception, a crash, a sanitizer report) fails. All bytes of tensors.bin; the ZIP64 headers
// and records at the end of zip64.bin.
TEST_F(TorchCheckpointFiles, CorruptedBytesNeverCrash) {
    for (const char* name : {"tensors.bin", "zip64.bin"}) {
        const std::string original = read_bytes(fixtures / name);
        const size_t first = std::string_view(name) == "tensors.bin" ? 0 : original.size() - 1200;
        size_t opened = 0, refused = 0;
        for (size_t pos = first; pos < original.size(); ++pos) {
            std::string bytes = original;
            bytes[pos] = static_cast<char>(static_cast<unsigned char>(bytes[pos]) ^ (pos % 2 ? 0xFFu : 0x01u));
            const auto path = write("corrupt.bin", bytes);
            try {
                const TensorFile file = TensorFile::open(path);
                ++opened;
                for (const auto& [tensor, info] : file.tensors()) {
                    ASSERT_LE(info.offset, bytes.size());
                    ASSERT_LE(info.bytes, bytes.size() - info.offset);
                    if (info.dtype == DType::f32 || info.dtype == DType::f16) file.read_f32(tensor, info.shape);
                }
            } catch (const ModelError&) {
                ++refused;
            }
        }
        EXPECT_GT(opened, 0u) << name;  // corrupted values and names still open: both paths were exercised
        EXPECT_GT(refused, 0u) << name;
    }
}

}  // namespace
}  // namespace leann
