// Reading model weights: safetensors (the usual format) and PyTorch's pytorch_model.bin (a zip of pickled
// storages), into float32 tensors looked up by name. Every length and offset is checked against the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "util/mapped_file.h"

namespace leann {

enum class DType { f32, f16, bf16, f64, i64, i32, other };

struct TensorInfo {
    DType dtype = DType::other;
    std::string dtype_name;     // as the file spells it, for messages
    std::vector<int64_t> shape;  // row-major
    uint64_t offset = 0;         // absolute byte offset in the file
    uint64_t bytes = 0;

    int64_t numel() const;
};

/// The tensors of one weights file. The file stays mapped while the object lives.
class TensorFile {
public:
    /// Opens model.safetensors or pytorch_model.bin (chosen by the name). Throws leann::ModelError naming the file
    /// and the field when the header is malformed, a tensor lies outside the file, or sizes disagree.
    static TensorFile open(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return file_->path(); }
    const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
    bool has(const std::string& name) const { return tensors_.count(name) != 0; }

    /// The tensor converted to float32, checked to have `shape`. Throws ModelError naming the file and tensor
    /// when it is missing, has another shape, or a dtype we cannot convert.
    std::vector<float> read_f32(const std::string& name, std::span<const int64_t> shape) const;
    /// The tensor in place, when the file stores it as aligned float32 (no copy; valid while this object lives),
    /// else an empty span (then read_f32 converts it). The same checks and errors as read_f32.
    std::span<const float> view_f32(const std::string& name, std::span<const int64_t> shape) const;
    /// MappedFile::release_pages for the whole file.
    void release_pages() const { file_->release_pages(); }

    /// Sum of the element counts of all floating-point tensors.
    uint64_t parameter_count() const;

private:
    TensorFile(std::unique_ptr<MappedFile> file, std::map<std::string, TensorInfo> tensors);
    const TensorInfo& checked(const std::string& name, std::span<const int64_t> shape) const;
    std::unique_ptr<MappedFile> file_;
    std::map<std::string, TensorInfo> tensors_;
};

/// Parses the tensor table of a safetensors file (exposed for tests and fuzzing).
std::map<std::string, TensorInfo> parse_safetensors_header(const MappedFile& file);
/// Parses the tensor table of a PyTorch zip checkpoint (exposed for tests and fuzzing).
std::map<std::string, TensorInfo> parse_torch_checkpoint(const MappedFile& file);

}  // namespace leann
