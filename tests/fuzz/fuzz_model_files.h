// The model weight readers under fuzzing: open the file as the encoder does (TensorFile::open, by name), then read
// every tensor it lists, at most a few thousand elements each, as the model loader would.
#pragma once

#include "embed/tensor_file.h"
#include "fuzz_support.h"
#include "leann/error.h"

namespace leann::fuzz {

inline void read_model_file(const std::string& name, const uint8_t* data, size_t size) {
    const auto path = write_scratch(name, as_text(data, size));
    try {
        const TensorFile file = TensorFile::open(path);
        for (const auto& [tensor, info] : file.tensors()) {
            if (info.numel() > 4096) continue;
            try {
                (void)file.read_f32(tensor, info.shape);
            } catch (const Error&) {
            }
        }
        (void)file.parameter_count();
    } catch (const Error&) {
    }
}

}  // namespace leann::fuzz
