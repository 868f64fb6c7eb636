#include "embed/tensor_file.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "leann/error.h"
#include "util/json_limits.h"

namespace leann {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
    throw ModelError(path.string() + ": " + what);
}

size_t dtype_size(DType t) {
    switch (t) {
        case DType::f32: case DType::i32: return 4;
        case DType::f16: case DType::bf16: return 2;
        case DType::f64: case DType::i64: return 8;
        case DType::other: break;
    }
    return 0;
}

DType dtype_from_safetensors(const std::string& s) {
    if (s == "F32") return DType::f32;
    if (s == "F16") return DType::f16;
    if (s == "BF16") return DType::bf16;
    if (s == "F64") return DType::f64;
    if (s == "I64") return DType::i64;
    if (s == "I32") return DType::i32;
    return DType::other;
}

float half_to_float(uint16_t h) {
    uint32_t sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do {
                ++e;
                mantissa <<= 1;
            } while ((mantissa & 0x400) == 0);
            bits = sign | ((127 - 15 - e) << 23) | ((mantissa & 0x3FF) << 13);
        }
    } else if (exponent == 31) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    return std::bit_cast<float>(bits);
}

template <typename T>
T load_le(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;  // x86-64 and aarch64 are little-endian, as the formats are
}

}  // namespace

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::map<std::string, TensorInfo> parse_safetensors_header(const MappedFile& file) {
    const auto& path = file.path();
    auto bytes = file.bytes();
    if (bytes.size() < 8) fail(path, "truncated: " + std::to_string(bytes.size()) + " bytes, no safetensors header");
    uint64_t header_len = load_le<uint64_t>(bytes.data());
    if (header_len > bytes.size() - 8 || header_len > (100u << 20))
        fail(path, "header length " + std::to_string(header_len) + " exceeds the file size " +
                       std::to_string(bytes.size()) + " (truncated or not a safetensors file)");
    uint64_t data_start = 8 + header_len, data_len = bytes.size() - data_start;
    std::string why;
    const nlohmann::json header = json_limits::parse_or_discarded(file.text().substr(8, header_len), &why);
    if (header.is_discarded()) fail(path, "header: " + why);
    if (!header.is_object()) fail(path, "header is not a JSON object");
    std::map<std::string, TensorInfo> tensors;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") continue;
        const std::string where = "tensor '" + name + "'";
        if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
            !entry.contains("data_offsets"))
            fail(path, where + ": expected an object with dtype, shape and data_offsets");
        const auto& offsets = entry["data_offsets"];
        const auto& shape = entry["shape"];
        if (!entry["dtype"].is_string() || !shape.is_array() || !offsets.is_array() || offsets.size() != 2 ||
            !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
            fail(path, where + ": malformed dtype, shape or data_offsets");
        TensorInfo info;
        info.dtype_name = entry["dtype"].get<std::string>();
        info.dtype = dtype_from_safetensors(info.dtype_name);
        uint64_t numel = 1;
        for (const auto& d : shape) {
            if (!d.is_number_unsigned()) fail(path, where + ": shape has a non-integer dimension");
            uint64_t dim = d.get<uint64_t>();
            if (dim != 0 && numel > std::numeric_limits<uint32_t>::max() / dim * 1024)
                fail(path, where + ": shape is implausibly large");
            numel *= dim;
            info.shape.push_back(static_cast<int64_t>(dim));
        }
        uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
        if (begin > end || end > data_len)
            fail(path, where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                           ") lie outside the data section of " + std::to_string(data_len) +
                           " bytes (file truncated?)");
        size_t elem = dtype_size(info.dtype);
        if (elem != 0 && end - begin != numel * elem)
            fail(path, where + ": " + std::to_string(end - begin) + " bytes of data for " + std::to_string(numel) +
                           " elements of " + info.dtype_name);
        info.offset = data_start + begin;
        info.bytes = end - begin;
        tensors.emplace(name, std::move(info));
    }
    return tensors;
}

TensorFile::TensorFile(std::unique_ptr<MappedFile> file, std::map<std::string, TensorInfo> tensors)
    : file_(std::move(file)), tensors_(std::move(tensors)) {}

TensorFile TensorFile::open(const std::filesystem::path& path) {
    std::unique_ptr<MappedFile> file;
    try {
        file = std::make_unique<MappedFile>(path);
    } catch (const Error& e) {
        throw ModelError(e.what());
    }
    auto tensors = path.extension() == ".safetensors" ? parse_safetensors_header(*file)
                                                       : parse_torch_checkpoint(*file);
    return TensorFile(std::move(file), std::move(tensors));
}

const TensorInfo& TensorFile::checked(const std::string& name, std::span<const int64_t> shape) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) fail(path(), "tensor '" + name + "' is missing");
    const TensorInfo& info = it->second;
    auto shape_text = [](std::span<const int64_t> s) {
        std::string t = "[";
        for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
        return t + "]";
    };
    if (!std::equal(info.shape.begin(), info.shape.end(), shape.begin(), shape.end()))
        fail(path(), "tensor '" + name + "' has shape " + shape_text(info.shape) + ", expected " + shape_text(shape) +
                         " from config.json");
    return info;
}

std::span<const float> TensorFile::view_f32(const std::string& name, std::span<const int64_t> shape) const {
    const TensorInfo& info = checked(name, shape);
    const std::byte* src = file_->bytes().data() + info.offset;
    // The file is little-endian float32, as is the host (checked at compile time); the map is page-aligned, so
    // the tensor's offset decides the alignment.
    static_assert(std::endian::native == std::endian::little, "tensor views need a little-endian host");
    if (info.dtype != DType::f32 || reinterpret_cast<uintptr_t>(src) % alignof(float) != 0) return {};
    return {reinterpret_cast<const float*>(src), static_cast<size_t>(info.numel())};
}

std::vector<float> TensorFile::read_f32(const std::string& name, std::span<const int64_t> shape) const {
    const TensorInfo& info = checked(name, shape);
    const size_t n = static_cast<size_t>(info.numel());
    std::vector<float> out(n);
    const std::byte* src = file_->bytes().data() + info.offset;
    switch (info.dtype) {
        case DType::f32:
            if (n != 0) std::memcpy(out.data(), src, n * 4);
            break;
        case DType::f16:
            for (size_t i = 0; i < n; ++i) out[i] = half_to_float(load_le<uint16_t>(src + 2 * i));
            break;
        case DType::bf16:
            for (size_t i = 0; i < n; ++i)
                out[i] = std::bit_cast<float>(static_cast<uint32_t>(load_le<uint16_t>(src + 2 * i)) << 16);
            break;
        case DType::f64:
            for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<double>(src + 8 * i));
            break;
        default: fail(path(), "tensor '" + name + "' has dtype " + info.dtype_name + ", expected a float type");
    }
    return out;
}

uint64_t TensorFile::parameter_count() const {
    uint64_t n = 0;
    for (const auto& [name, info] : tensors_)
        if (info.dtype == DType::f32 || info.dtype == DType::f16 || info.dtype == DType::bf16 ||
            info.dtype == DType::f64)
            n += static_cast<uint64_t>(info.numel());
    return n;
}

}  // namespace leann
