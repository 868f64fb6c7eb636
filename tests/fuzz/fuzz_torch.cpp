// pytorch_model.bin (a zip of pickles) as the encoder reads it (src/embed/torch_checkpoint.cpp).
#include "fuzz_model_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    leann::fuzz::read_model_file("pytorch_model.bin", data, size);
    return 0;
}
