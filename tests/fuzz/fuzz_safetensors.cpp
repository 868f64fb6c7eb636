// model.safetensors as the encoder reads it (src/embed/tensor_file.cpp).
#include "fuzz_model_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    leann::fuzz::read_model_file("model.safetensors", data, size);
    return 0;
}
