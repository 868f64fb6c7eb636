// embed room, internal: a model folder read in parts, so that Encoder::load can overlap them (hashing the files,
// parsing the tokenizer and converting the weights are independent).
#pragma once

#include <filesystem>
#include <string>

#include "leann/model.h"

namespace leann {

/// read_model_info without the content hash (left empty): the configuration, the weights file and its parameter
/// count. Throws leann::ModelError as read_model_info does.
ModelInfo read_model_config(const std::filesystem::path& dir);

/// The content hash read_model_info records: xxh3-128 of the weights and tokenizer files, hex.
std::string model_content_hash(const std::filesystem::path& dir, const std::filesystem::path& weights);

}  // namespace leann
